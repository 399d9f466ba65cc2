"""The ``Reward`` protocol and helpers for rewards that score one item or one group.

A reward is any object with a ``name``, a declared ``range`` and the two batch methods
``score`` and ``ascore``. Most rewards only know how to score one item; they subclass
``ItemReward`` and define ``score_one``. Rewards that need the whole GRPO group (majority
vote, group-relative length terms) subclass ``GroupReward`` and define ``score_group``.
Both helpers keep the rules of DESIGN.md: no exception escapes a batch (unless strict
mode is on, for debugging), an oversized completion earns the floor before any parsing.

Example:
    >>> class Shouting(ItemReward):
    ...     name = "demo.shouting"
    ...     def score_one(self, sample):
    ...         return float(sample.text.isupper())
    >>> [s.value for s in Shouting().score([Sample(completion="HI"), Sample(completion="hi")])]
    [1.0, 0.0]
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Protocol, TypeVar, runtime_checkable

from rewardsmith.core.tree import Work, set_step
from rewardsmith.core.types import Sample, Score

__all__ = [
    "Composable",
    "GroupReward",
    "ItemReward",
    "Reward",
    "group_indices",
    "guarded",
    "is_strict",
    "score_item",
    "set_step",
    "set_strict",
]

_strict = os.environ.get("REWARDSMITH_STRICT", "") not in ("", "0")
T = TypeVar("T")


def set_strict(on: bool) -> None:
    """In strict mode a reward's exception is re-raised instead of recorded (for debugging)."""
    global _strict
    _strict = on


def is_strict() -> bool:
    return _strict


@runtime_checkable
class Reward(Protocol):
    """Anything that scores a batch of samples."""

    name: str

    @property
    def range(self) -> tuple[float, float]:
        """The lowest and highest value the reward can give."""
        ...

    def score(self, samples: Sequence[Sample]) -> list[Score]:
        """One Score per sample, in order. Never raises for a bad item."""
        ...

    async def ascore(self, samples: Sequence[Sample]) -> list[Score]:
        """The same as ``score``, without blocking the event loop."""
        ...


class Composable:
    """The base of every built-in node: ``+``, ``-`` and scalar ``*`` build a weighted
    ``Sum``; ``part_names`` and ``work`` are what the node declares to ``core.tree``."""

    work: ClassVar[Work] = "cpu"
    """What the node spends its time on: ``cpu``, ``io`` or ``model`` (see ``core.tree``)."""
    needs_group: ClassVar[bool] = False
    """Whether the node reads the other rollouts of an item's group (see ``core.tree``)."""

    def part_names(self) -> Sequence[str]:
        """Every key this node's Scores can hold in ``parts`` (a leaf: none by default)."""
        return ()

    def __add__(self, other: Any) -> Any:
        from rewardsmith.core.combinators import Sum

        return Sum.join(self, other)  # type: ignore[arg-type]

    def __radd__(self, other: Any) -> Any:
        from rewardsmith.core.combinators import Sum

        return Sum.join(other, self)  # type: ignore[arg-type]

    def __mul__(self, k: Any) -> Any:
        from rewardsmith.core.combinators import Sum

        if isinstance(k, bool) or not isinstance(k, int | float):
            return NotImplemented
        return Sum([self], weights=[float(k)])  # type: ignore[list-item]

    __rmul__ = __mul__

    def __neg__(self) -> Any:
        return self * -1.0

    def __sub__(self, other: Any) -> Any:
        return self + (-other)


class ItemReward(Composable):
    """Base for rewards that score each item on its own: define ``score_one``.

    ``score_one`` returns a float (status ok) or a full ``Score``. An exception it raises
    becomes ``Score(value=None, status="error")`` for that item alone. A completion longer
    than ``max_chars`` gets ``floor`` without being parsed.
    """

    name: ClassVar[str] = ""
    max_chars: int | None = 100_000

    @property
    def range(self) -> tuple[float, float]:
        return (0.0, 1.0)

    @property
    def floor(self) -> float:
        """The value a completion earns when it cannot be checked (unparsable, too long)."""
        return self.range[0]

    def score_one(self, sample: Sample) -> Score | float:
        raise NotImplementedError

    def score(self, samples: Sequence[Sample]) -> list[Score]:
        return [score_item(self, s) for s in samples]

    async def ascore(self, samples: Sequence[Sample]) -> list[Score]:
        return await asyncio.to_thread(self.score, list(samples))

    def __repr__(self) -> str:
        params = getattr(self, "params", None)
        return f"{type(self).__name__}({params!r})" if params is not None else type(self).__name__


def score_item(reward: ItemReward, sample: Sample) -> Score:
    """Score one item with every safety rule applied: the size cap, errors as data."""
    result = guarded(reward.score_one, sample, reward.max_chars, reward.floor)
    return result if isinstance(result, Score) else Score(float(result))


def guarded(
    fn: Callable[[Sample], T], sample: Sample, max_chars: int | None, floor: float
) -> T | Score:
    """``fn(sample)`` under the rules every reward keeps: a completion over ``max_chars``
    earns ``floor`` unread, and an exception becomes a failed Score (re-raised in strict
    mode)."""
    try:
        if max_chars is not None and len(sample.text) > max_chars:
            return Score(floor, info={"reason": f"completion over {max_chars} characters"})
        return fn(sample)
    except Exception as exc:
        if _strict:
            raise
        return Score.failed(exc)


class GroupReward(Composable):
    """Base for rewards that need the whole group: define ``score_group``.

    Samples are grouped by ``Sample.group``; a sample with no group is a group of one.
    ``score_group`` gets the samples of one group in batch order and returns one float or
    Score each. An exception fails that group's items alone.
    """

    name: ClassVar[str] = ""
    needs_group: ClassVar[bool] = True

    @property
    def range(self) -> tuple[float, float]:
        return (0.0, 1.0)

    def score_group(self, samples: Sequence[Sample]) -> Sequence[Score | float]:
        raise NotImplementedError

    def score(self, samples: Sequence[Sample]) -> list[Score]:
        results: list[Score | None] = [None] * len(samples)
        for indices in group_indices(samples):
            members = [samples[i] for i in indices]
            try:
                scored = list(self.score_group(members))
                if len(scored) != len(members):
                    raise RuntimeError(
                        f"score_group returned {len(scored)} scores for {len(members)} samples"
                    )
            except Exception as exc:
                if _strict:
                    raise
                scored = [Score.failed(exc) for _ in members]
            for i, s in zip(indices, scored, strict=True):
                results[i] = s if isinstance(s, Score) else Score(float(s))
        return [s for s in results if s is not None]

    async def ascore(self, samples: Sequence[Sample]) -> list[Score]:
        return await asyncio.to_thread(self.score, list(samples))


def group_indices(samples: Sequence[Sample]) -> list[list[int]]:
    """The indices of each group in first-seen order; a sample with no group is alone."""
    by_key: dict[object, list[int]] = {}
    out: list[list[int]] = []
    for i, s in enumerate(samples):
        if s.group is None:
            out.append([i])
            continue
        if s.group not in by_key:
            by_key[s.group] = []
            out.append(by_key[s.group])
        by_key[s.group].append(i)
    return out
