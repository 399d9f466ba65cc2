"""What the trainer adapters share: resolving a spec, splitting it into parts, part keys.

- ``resolve_reward``: a Reward as given, or a spec file / built-in spec name loaded once.
- ``top_parts``: the pieces a trainer can weigh itself. A top-level weighted ``sum`` splits
  into one part per child (its weight and label); any other top node is one part, the
  whole spec, with weight 1.
- ``part_columns``, ``part_means``, ``status_shares``: what a trainer logs of a batch's
  parts and statuses. The part names come from ``rewardsmith.core.tree.part_names``, the
  tree's own declaration; no adapter works them out itself.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rewardsmith.core import Reward, Score, Status
from rewardsmith.core.combinators import Combinator, Constant, Sum

__all__ = [
    "Part",
    "identifier",
    "part_columns",
    "part_means",
    "resolve_reward",
    "spec_label",
    "status_shares",
    "top_parts",
]

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


def part_columns(
    scores: Sequence[Score], names: Sequence[str], missing: float = 0.0
) -> dict[str, list[float]]:
    """Per-item columns for trainers that need the same keys on every item (verl, OpenRLHF).

    For each part name: the item's value, or ``missing`` where the item did not compute
    it (a gate branch not taken, a failed child); and ``computed/<name>``, 1.0 or 0.0. A
    trainer's mean of ``<name>`` divided by the mean of ``computed/<name>`` is the part's
    mean over the items that computed it (with ``missing`` 0.0).
    """
    columns: dict[str, list[float]] = {}
    for name in names:
        columns[name] = [float(s.parts.get(name, missing)) for s in scores]
    for name in names:
        columns[f"computed/{name}"] = [1.0 if name in s.parts else 0.0 for s in scores]
    return columns


def part_means(scores: Sequence[Score], names: Sequence[str]) -> dict[str, float]:
    """Each part's mean over the items that computed it (parts no item computed left out)."""
    means: dict[str, float] = {}
    for name in names:
        got = [s.parts[name] for s in scores if name in s.parts]
        if got:
            means[name] = math.fsum(got) / len(got)
    return means


def status_shares(scores: Sequence[Score]) -> dict[str, float]:
    """The share of items per outcome: ``unscored`` (no value), ``skipped``, ``error``,
    ``timeout`` (a timeout may still carry its floor value)."""
    n = len(scores) or 1
    return {
        "unscored": sum(s.value is None for s in scores) / n,
        "skipped": sum(s.status is Status.SKIPPED for s in scores) / n,
        "error": sum(s.status is Status.ERROR for s in scores) / n,
        "timeout": sum(s.status is Status.TIMEOUT for s in scores) / n,
    }
