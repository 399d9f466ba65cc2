"""What the trainer adapters share: resolving a spec, splitting it into parts, part keys.

- ``resolve_reward``: a Reward as given, or a spec file / built-in spec name loaded once.
- ``top_parts``: the pieces a trainer can weigh itself. A top-level weighted ``sum`` splits
  into one part per child (its weight and label); any other top node is one part, the
  whole spec, with weight 1.
- ``part_paths``: every ``Score.parts`` key the combinators of a tree can produce, in a
  fixed order, for trainers that need the same keys on every item (verl).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rewardsmith.core import Reward, Score
from rewardsmith.core.combinators import Combinator, Constant, Schedule, Sum

__all__ = ["Part", "identifier", "part_paths", "resolve_reward", "spec_label", "top_parts"]

_loaded: dict[str, Reward] = {}
_load_lock = threading.Lock()


def resolve_reward(spec: Reward | str | Path) -> Reward:
    """``spec`` itself if it is a Reward; else the spec file or built-in spec it names.

    Loaded specs are kept per process, so a trainer that calls an adapter per item does
    not rebuild the tree each time.
    """
    if not isinstance(spec, str | Path):
        return spec
    key = str(spec)
    with _load_lock:
        if key not in _loaded:
            from rewardsmith.spec import load_spec

            _loaded[key] = load_spec(key)
        return _loaded[key]


def identifier(text: str) -> str:
    """A valid Python identifier made from a label: ``math.answer`` -> ``math_answer``."""
    name = re.sub(r"\W+", "_", text).strip("_") or "reward"
    return f"r_{name}" if name[0].isdigit() else name


def spec_label(reward: Reward) -> str:
    """A short name for a whole spec: its ``name:``, its label, or its kind."""
    for attr in ("spec_name", "label"):
        value = getattr(reward, attr, None)
        if isinstance(value, str) and value:
            return value
    kind = getattr(reward, "kind", None)
    if isinstance(reward, Combinator) and isinstance(kind, str):
        return kind
    return reward.name


@dataclass(frozen=True, slots=True)
class Part:
    """One piece of a spec's value that a trainer weighs itself.

    ``label`` is the key of the part in the top node's ``Score.parts`` (None: the whole
    spec's value). ``constant`` is set for a constant child of the sum (its value is not
    recorded in parts). ``error_value`` is what the sum counts a failed child as under
    ``on_error: value`` (None under ``propagate``/``skip``).
    """

    name: str
    weight: float
    label: str | None = None
    constant: float | None = None
    error_value: float | None = None

    def value(self, score: Score) -> float | None:
        """This part's unweighted value in ``score`` (the top node's Score), or None.

        None when the whole spec is unscored, so the trainer's weighted sum of the parts
        is unscored too rather than a sum of the parts that happened to succeed.
        """
        if score.value is None:
            return None
        if self.label is None:
            return score.value
        if self.constant is not None:
            return self.constant
        found = score.parts.get(self.label)
        return self.error_value if found is None else found


def top_parts(reward: Reward, split: bool = True) -> list[Part]:
    """The parts a trainer should see: one per child of a top-level ``Sum``, else one.

    The weighted sum of the parts' values, with the parts' weights, equals the spec's
    value on every item the spec scored.
    """
    if not split or type(reward) is not Sum:
        return [Part(identifier(spec_label(reward)), 1.0)]
    error_value = reward.error_value if reward.on_error == "value" else None
    names = _unique([identifier(label) for label in reward.labels])
    parts = []
    for name, label, weight, child in zip(
        names, reward.labels, reward.weights, reward.children, strict=True
    ):
        constant = child.value if isinstance(child, Constant) else None
        parts.append(Part(name, weight, label, constant, error_value))
    return parts


def _unique(names: Sequence[str]) -> list[str]:
    out: list[str] = []
    for name in names:
        candidate, n = name, 1
        while candidate in out:
            n += 1
            candidate = f"{name}_{n}"
        out.append(candidate)
    return out


def part_paths(reward: object) -> list[str]:
    """Every part key the combinators of ``reward`` can write, depth first, in order.

    A leaf reward's own parts (``qa.f1``'s precision and recall, ...) are not known before
    it runs and are not listed, unless the leaf declares them in a ``part_names`` tuple.
    """
    if isinstance(reward, Combinator):
        out: list[str] = []
        for label, child in zip(reward.labels, reward.children, strict=True):
            if isinstance(child, Constant):
                continue
            out.append(label)
            out += [f"{label}/{p}" for p in part_paths(child)]
        if isinstance(reward, Schedule):
            out.append("weight")
        if getattr(reward, "kind", None) == "gated":
            out += ["gate", "utility"]
        return out
    children: Sequence[object] = getattr(reward, "children", ())
    if len(children) == 1:  # runtime wrappers (Cached, Isolated, Threaded) pass parts through
        return part_paths(children[0])
    declared = getattr(reward, "part_names", ())
    return [str(p) for p in declared]
