"""A hierarchical conditional gate in the spirit of ChatShopBuddy's HRM.

What it computes: levels ``L1..Ln``, each a set of reward terms. A level's score ``s_i``
is the weighted mean of its terms. ``L1`` is always unlocked; ``L(i+1)`` is unlocked
only when every level below it is *met*, ``s_j >= threshold_j`` (inclusive; default 1.0,
as in ``gate``). With level weights ``w_i``::

    c_i   = s_i      if L_i is unlocked
          = floor    if L_i is locked             (floor defaults to 0)
    value = Σ_i w_i c_i                           combine = "sum" (default)
          = Σ_i w_i c_i / Σ_i w_i                 combine = "mean"

With terms in [0, 1], the default thresholds make each level an AND of its terms, and
``combine: mean`` keeps the value in [0, 1]. Process or efficiency terms that sit
outside the hierarchy (ChatShopBuddy's tool-use efficiency) go next to it in a ``sum``.

**This is our design, not the paper's formula.** ChatShopBuddy (Cheng, Mao, ... Dou,
arXiv 2603.06065) says only that rewards of mixed type are combined with conditional
gates following their logical dependencies: product correctness (L1) first, then
subjective quality and persuasiveness (L2), which count only once L1 is met, plus a
process reward for tool-use efficiency. Its gating equations, thresholds and weights
were not found (our catalog, entry 17, relies on the paper's description and a
third-party summary). The weighted mean inside a level, the inclusive threshold on it,
the floor for locked levels and the weighted sum across levels are our choices.

``Hierarchy`` combines child rewards. A level's terms are scored only on the items that
unlocked it, so an expensive judge never runs on a rollout that failed a cheap
correctness check (as with ``gate``). ``parts`` hold each unlocked level's score under
its name (``L1``, ``L2``, ... unless named), each scored term under ``level/label``, and
``unlocked`` (how many levels were unlocked); ``info["locked"]`` lists the locked
levels' names. In a spec it is the ``hierarchy`` node (terms may carry ``weight``)::

    hierarchy:
      levels:
        - terms: [{use: my.product_correct}]
        - terms: [{use: my.persuasive, weight: 2}, {use: my.depth}]
          threshold: 0.7
          weight: 0.5
      combine: sum
      floor: 0.0

``aggregate.hierarchy`` (``rewardsmith.shaping.aggregate``) computes the same value from
level scores the trainer put in ``Sample.meta``.

Errors: ``on_error`` works per term as in every combinator. Under ``propagate`` a failed
term makes the value None; its status (the worst status among the terms actually
scored) shows at the root. A level whose terms were all skipped, or whose remaining
weights are all 0, leaves the value None.

Known failure modes: a locked level contributes ``floor`` however good its terms would
have been, so the upper levels get no signal until the lower ones are reliably met (the
intent: no "seesaw"). Raising a lower level from fail to pass never lowers the value
when the level weights are >= 0 and the higher levels score >= ``floor``; with a floor
above what a higher level can score, unlocking it can lower the value. The gate is only
as good as the L1 checker: a policy that fools it is paid for the upper levels too.
Thresholds below 1 on a mean let a strong term carry a failed one, and a mean that
should equal the threshold can land one rounding step either side of it ((2·0.9 + 0.3)/3
is 0.7000000000000001), as with ``gate``: leave a margin. Under a parent combinator
``info["locked"]`` is kept under the hierarchy's label, and ``parts["unlocked"]`` says
how many levels were unlocked.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from rewardsmith.core.combinators import Combinator, child_part_names, collect_parts
from rewardsmith.core.reward import Reward
from rewardsmith.core.types import ItemError, Sample, Score, Status

__all__ = ["Combine", "Hierarchy", "Level", "hierarchy_value", "unlocked_levels"]

Combine = Literal["sum", "mean"]


def unlocked_levels(scores: Sequence[float], thresholds: Sequence[float]) -> int:
    """How many levels are unlocked: 1, plus one per consecutive met level from L1."""
    n = 1
    for s, t in zip(scores, thresholds[:-1], strict=False):
        if s < t:
            break
        n += 1
    return n


def hierarchy_value(
    scores: Sequence[float],
    thresholds: Sequence[float],
    weights: Sequence[float] | None = None,
    *,
    floor: float = 0.0,
    combine: Combine = "sum",
) -> float:
    """The value from level scores (L1 first); locked levels count as ``floor``.

    ``scores`` may stop at the last unlocked level (the scores of locked levels are
    never used); ``thresholds`` (and ``weights``, default all 1) give one entry per level.

    Example:
        >>> hierarchy_value([1.0, 0.5, 1.0], [1.0, 0.7, 1.0])  # L3 locked: 1 + 0.5 + 0
        1.5
    """
    n = len(thresholds)
    w = [1.0] * n if weights is None else list(weights)
    if not scores or len(scores) > n or len(w) != n:
        raise ValueError(f"{len(scores)} scores, {n} thresholds and {len(w)} weights")
    k = unlocked_levels(scores, thresholds)
    if k > len(scores):
        raise ValueError(f"{k} levels are unlocked but only {len(scores)} scores were given")
    total = math.fsum(w[i] * (scores[i] if i < k else floor) for i in range(n))
    return total / math.fsum(w) if combine == "mean" else total


@dataclass(frozen=True, slots=True)
class Level:
    """One level of a ``Hierarchy``.

    Args:
        terms: the rewards (or constants) of this level.
        term_weights: their weights in the level's weighted mean (>= 0; None for all 1).
        threshold: the level is met when its score is at least this (inclusive).
        weight: the level's weight across levels (>= 0).
        name: its name in ``parts`` and ``info["locked"]`` (default ``L1``, ``L2``, ...).
        labels: the terms' labels in ``parts`` (default each term's label or name).
    """

    terms: Sequence[Reward | float]
    term_weights: Sequence[float] | None = None
    threshold: float = 1.0
    weight: float = 1.0
    name: str | None = None
    labels: Sequence[str | None] = field(default_factory=tuple)


@dataclass(slots=True)
class _Item:
    """What one item has gathered so far, level by level."""

    scores: list[Score] = field(default_factory=list)
    levels: list[float] = field(default_factory=list)
    status: Status = Status.OK
    error: ItemError | None = None
    failed: bool = False


class Hierarchy(Combinator):
    """Levels of terms, each counted only once the levels below it are met (see the module).

    Example:
        >>> from rewardsmith import R
        >>> reward = Hierarchy(
        ...     [Level([R.format.think_answer()]), Level([R.length.cosine(max_tokens=512)])],
        ...     combine="mean",
        ... )
    """

    kind = "hierarchy"

    def __init__(
        self, levels: Sequence[Level], *, combine: Combine = "sum", floor: float = 0.0, **kw: Any
    ) -> None:
        if not levels:
            raise ValueError("hierarchy: needs at least one level")
        children = [t for lv in levels for t in lv.terms]
        labels = [lb for lv in levels for lb in _pad(lv.labels, len(lv.terms))]
        super().__init__(children, labels=labels, **kw)
        self.bounds: list[tuple[int, int]] = []
        self.term_weights: list[float] = []
        for i, lv in enumerate(levels):
            start = self.bounds[-1][1] if self.bounds else 0
            self.bounds.append((start, start + len(lv.terms)))
            self.term_weights += _check_level(i, lv)
        self.level_names = _level_names(levels)
        self.thresholds = [float(lv.threshold) for lv in levels]
        self.level_weights = [float(lv.weight) for lv in levels]
        if combine not in ("sum", "mean"):
            raise ValueError(f"hierarchy: combine must be 'sum' or 'mean', got {combine!r}")
        if combine == "mean" and sum(self.level_weights) <= 0:
            raise ValueError("hierarchy: combine 'mean' needs a level weight > 0")
        if not math.isfinite(floor):
            raise ValueError("hierarchy: floor must be finite")
        self.combine: Combine = combine
        self.floor = float(floor)

    def score(self, samples: Sequence[Sample]) -> list[Score]:
        items, active = [_Item() for _ in samples], list(range(len(samples)))
        for li, (lo, hi) in enumerate(self.bounds):
            if not active:
                break
            sub = [samples[i] for i in active]
            columns = [c.score(sub) for c in self.children[lo:hi]]
            active = self._advance(li, active, columns, items)
        return [self._finish(it) for it in items]

    async def ascore(self, samples: Sequence[Sample]) -> list[Score]:
        items, active = [_Item() for _ in samples], list(range(len(samples)))
        for li, (lo, hi) in enumerate(self.bounds):
            if not active:
                break
            sub = [samples[i] for i in active]
            columns = await asyncio.gather(*(c.ascore(sub) for c in self.children[lo:hi]))
            active = self._advance(li, active, list(columns), items)
        return [self._finish(it) for it in items]

    def _advance(
        self, li: int, active: list[int], columns: list[list[Score]], items: list[_Item]
    ) -> list[int]:
        """Record level ``li`` for the active items; those that met it go on to the next."""
        return [
            i for j, i in enumerate(active) if self._level(li, [c[j] for c in columns], items[i])
        ]

    def _level(self, li: int, row: list[Score], item: _Item) -> bool:
        """Record one level's term scores; True when the level is met (the next unlocks).

        The terms go through the combinators' error policy (``Combinator._use``); a level
        with no weight left (every term skipped, or only zero weights) fails the item."""
        lo, hi = self.bounds[li]
        item.scores += row
        used = self._use(row, self.term_weights[lo:hi], self.labels[lo:hi])
        if used.status.rank > item.status.rank:
            item.status = used.status
        if item.error is None:
            item.error = used.error
        if used.failed or math.fsum(used.weights) <= 0:
            item.failed = True
            return False
        pairs = zip(used.weights, used.values, strict=True)
        mean = math.fsum(w * v for w, v in pairs) / math.fsum(used.weights)
        item.levels.append(mean)
        return mean >= self.thresholds[li]

    def part_names(self) -> list[str]:
        """Each level's term parts under ``level/``, the level scores, ``unlocked``."""
        out: list[str] = []
        for name, (lo, hi) in zip(self.level_names, self.bounds, strict=True):
            terms = child_part_names(self.labels[lo:hi], self.children[lo:hi])
            out += [f"{name}/{p}" for p in terms]
        return [*out, *self.level_names, "unlocked"]

    def _finish(self, item: _Item) -> Score:
        parts: dict[str, float] = {}
        for name, (lo, hi) in zip(self.level_names, self.bounds, strict=True):
            got = collect_parts(self.labels[lo:hi], item.scores[lo:hi], self._constants)
            parts.update({f"{name}/{k}": v for k, v in got.items()})
        parts.update(zip(self.level_names, item.levels, strict=False))
        if item.failed:
            return Score(None, item.status, parts, {}, item.error)
        value = hierarchy_value(
            item.levels, self.thresholds, self.level_weights, floor=self.floor, combine=self.combine
        )
        parts["unlocked"] = float(len(item.levels))
        info = {"locked": self.level_names[len(item.levels) :]}
        return Score(value, item.status, parts, info, item.error)

    @property
    def range(self) -> tuple[float, float]:
        lo = hi = 0.0
        for i, (a, b) in enumerate(self.bounds):
            tw = self.term_weights[a:b]
            ends = [self._term_range(c) for c in self.children[a:b]]
            if self.on_error == "skip":  # the mean of the terms left: perhaps one alone
                used = [e for w, e in zip(tw, ends, strict=True) if w > 0]
                s_lo, s_hi = min(e[0] for e in used), max(e[1] for e in used)
            else:
                s_lo = math.fsum(w * e[0] for w, e in zip(tw, ends, strict=True)) / math.fsum(tw)
                s_hi = math.fsum(w * e[1] for w, e in zip(tw, ends, strict=True)) / math.fsum(tw)
            if i > 0:
                s_lo, s_hi = min(s_lo, self.floor), max(s_hi, self.floor)
            lo += self.level_weights[i] * s_lo
            hi += self.level_weights[i] * s_hi
        if self.combine == "mean":
            total = math.fsum(self.level_weights)
            return (lo / total, hi / total)
        return (lo, hi)

    def _term_range(self, child: Reward) -> tuple[float, float]:
        lo, hi = child.range
        if self.on_error == "value":
            return (min(lo, self.error_value), max(hi, self.error_value))
        return (lo, hi)


def _pad(labels: Sequence[str | None], n: int) -> list[str | None]:
    return [*labels[:n], *([None] * (n - len(labels)))]


def _check_level(i: int, level: Level) -> list[float]:
    where = f"hierarchy: levels[{i}]"
    if not level.terms:
        raise ValueError(f"{where}: needs at least one term")
    tw = (
        [1.0] * len(level.terms)
        if level.term_weights is None
        else [float(w) for w in level.term_weights]
    )
    if len(tw) != len(level.terms) or any(not 0 <= w < math.inf for w in tw) or sum(tw) <= 0:
        raise ValueError(f"{where}: one finite weight >= 0 per term, not all 0")
    if not math.isfinite(level.threshold):
        raise ValueError(f"{where}: threshold must be finite")
    if not 0 <= level.weight < math.inf:
        raise ValueError(f"{where}: weight must be finite and >= 0")
    return tw


def _level_names(levels: Sequence[Level]) -> list[str]:
    names = [lv.name or f"L{i + 1}" for i, lv in enumerate(levels)]
    if len(set(names)) != len(names):
        raise ValueError(f"hierarchy: level names must be unique, got {names}")
    return names
