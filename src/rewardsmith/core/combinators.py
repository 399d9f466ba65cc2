"""Combinators: rewards built from other rewards.

``Sum`` (weighted; also built by ``+`` and scalar ``*``), ``Min``, ``Max``, ``Product``,
``Gate`` (if/then/otherwise), ``Shape`` (a transform over a sub-tree) and ``Schedule``
(a weight that follows the training step). Every child's value lands in
``Score.parts`` under its label, and its own parts under ``label/part``, so a user sees
exactly why a rollout got its number.

Failed children (value None) follow the node's ``on_error`` policy:

- ``propagate`` (default): the node's value is None, with the child's status and error;
- ``skip``: the child is left out of this item's aggregate (all left out: None);
- ``value``: the child counts as ``error_value``.

A node's status is the worst status among the children it used, so a timeout deep in
the tree stays visible at the root even when its floor value was used.

Example:
    >>> from rewardsmith import R
    >>> reward = R.gate(R.format.think_answer(), then=R.math.answer(), otherwise=-1.0)
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from rewardsmith.core.reward import Composable, Reward
from rewardsmith.core.tree import part_names
from rewardsmith.core.types import ItemError, Sample, Score, Status

__all__ = [
    "Combinator",
    "Constant",
    "Gate",
    "Max",
    "Min",
    "OnError",
    "Product",
    "Schedule",
    "Shape",
    "Sum",
    "Transform",
    "Used",
    "WeightFn",
    "as_reward",
    "child_part_names",
    "collect_info",
    "collect_parts",
]

OnError = Literal["propagate", "skip", "value"]
Range = tuple[float, float]


class Transform(Protocol):
    """A batch transform over values (``shape`` nodes); sees the samples for group context."""

    name: str

    def apply(
        self, values: Sequence[float | None], samples: Sequence[Sample]
    ) -> list[float | None]: ...

    def out_range(self, child: Range) -> Range: ...


class WeightFn(Protocol):
    """A weight as a function of the training step (``schedule`` nodes)."""

    def __call__(self, step: int) -> float: ...

    def bounds(self) -> Range: ...


class Constant(Composable):
    """A fixed value for every item (``otherwise: -1.0``)."""

    def __init__(self, value: float) -> None:
        self.value = float(value)
        self.name = f"{self.value:g}"

    @property
    def range(self) -> Range:
        return (self.value, self.value)

    def score(self, samples: Sequence[Sample]) -> list[Score]:
        return [Score(self.value) for _ in samples]

    async def ascore(self, samples: Sequence[Sample]) -> list[Score]:
        return self.score(samples)


def as_reward(x: Reward | float) -> Reward:
    return Constant(x) if isinstance(x, int | float) else x


@dataclass(slots=True)
class Used:
    """The child scores one item actually used, after the on_error policy."""

    values: list[float]
    weights: list[float]
    status: Status
    error: ItemError | None
    failed: bool


class Combinator(Composable):
    """Base for nodes with children: labels, the error policy, parts bookkeeping."""

    kind = "node"

    def __init__(
        self,
        children: Sequence[Reward | float],
        *,
        labels: Sequence[str | None] | None = None,
        label: str | None = None,
        on_error: OnError = "propagate",
        error_value: float = 0.0,
    ) -> None:
        self.children: list[Reward] = [as_reward(c) for c in children]
        self.labels = _unique_labels(self.children, labels)
        self._constants = frozenset(
            lb for lb, c in zip(self.labels, self.children, strict=True) if isinstance(c, Constant)
        )
        self.label = label
        self.on_error: OnError = on_error
        self.error_value = float(error_value)
        self.name = f"{self.kind}({', '.join(c.name for c in self.children)})"

    @property
    def range(self) -> Range:
        raise NotImplementedError

    def _child_range(self, child: Reward) -> Range:
        """``child``'s range as this node uses it: under ``on_error: value`` a failed child
        counts as ``error_value``, which may lie outside the child's own range."""
        lo, hi = child.range
        if self.on_error == "value" and not isinstance(child, Constant):
            return (min(lo, self.error_value), max(hi, self.error_value))
        return (lo, hi)

    def part_names(self) -> list[str]:
        """Each non-constant child's label, then the child's own part names under it."""
        return child_part_names(self.labels, self.children)

    def score(self, samples: Sequence[Sample]) -> list[Score]:
        return self._combine(samples, [c.score(samples) for c in self.children])

    async def ascore(self, samples: Sequence[Sample]) -> list[Score]:
        results = await asyncio.gather(*(c.ascore(samples) for c in self.children))
        return self._combine(samples, list(results))

    def _combine(self, samples: Sequence[Sample], columns: list[list[Score]]) -> list[Score]:
        rows = list(zip(*columns, strict=True)) if columns else [() for _ in samples]
        return [self._merge(self._aggregate, list(row), self.labels) for row in rows]

    def _aggregate(self, used: Used) -> float:
        raise NotImplementedError

    def _use(
        self,
        scores: Sequence[Score],
        weights: Sequence[float],
        labels: Sequence[str] | None = None,
    ) -> Used:
        """The scores one item uses under the ``on_error`` policy, with their weights, the
        worst status and the first error (named by its child's label: ``labels``, default
        this node's). ``failed`` when a child failed under ``propagate`` or none is left."""
        used = Used([], [], Status.OK, None, False)
        for label, s, w in zip(
            self.labels if labels is None else labels, scores, weights, strict=False
        ):
            if s.status.rank > used.status.rank:
                used.status = s.status
            if s.error is not None and used.error is None:
                used.error = ItemError(s.error.type, f"{label}: {s.error.message}")
            if s.value is None:
                if self.on_error == "propagate":
                    used.failed = True
                    continue
                if self.on_error == "skip":
                    continue
                used.values.append(self.error_value)
            else:
                used.values.append(s.value)
            used.weights.append(w)
        if not used.values:
            used.failed = True
        return used

    def _weights(self) -> Sequence[float]:
        return [1.0] * len(self.children)

    def _merge(
        self,
        aggregate: Callable[[Used], float],
        scores: list[Score],
        labels: Sequence[str],
    ) -> Score:
        used = self._use(scores, self._weights(), labels)
        value = None if used.failed else aggregate(used)
        parts = collect_parts(labels, scores, self._constants)
        info = collect_info(labels, scores, self._constants)
        return Score(value, used.status, parts, info, used.error)


def _first(used: Used) -> float:
    return used.values[0]


def child_part_names(labels: Iterable[str], nodes: Iterable[Reward]) -> list[str]:
    """The part names ``collect_parts`` can write for these children, in order."""
    out: list[str] = []
    for label, child in zip(labels, nodes, strict=True):
        if isinstance(child, Constant):
            continue
        out.append(label)
        out += [f"{label}/{p}" for p in part_names(child)]
    return out


def collect_parts(
    labels: Iterable[str], scores: Iterable[Score], skip: frozenset[str] = frozenset()
) -> dict[str, float]:
    """Each child's value under its label, and its own parts under ``label/part``.

    Constant children (``otherwise: -1.0``) are left out: their value says nothing new.
    """
    parts: dict[str, float] = {}
    for label, s in zip(labels, scores, strict=False):
        if label in skip:
            continue
        if s.value is not None:
            parts[label] = s.value
        for key, v in s.parts.items():
            parts[f"{label}/{key}"] = v
    return parts


def collect_info(
    labels: Iterable[str], scores: Iterable[Score], skip: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """Each child's ``info`` under its label (empty ones left out), so the root of a tree
    still says why a leaf scored what it did (``info["correct"]["reason"]``)."""
    return {
        label: s.info
        for label, s in zip(labels, scores, strict=False)
        if s.info and label not in skip
    }


def _unique_labels(children: Sequence[Reward], labels: Sequence[str | None] | None) -> list[str]:
    out: list[str] = []
    for i, child in enumerate(children):
        given = labels[i] if labels is not None and i < len(labels) else None
        base = given or getattr(child, "label", None) or _default_label(child)
        label, n = base, 1
        while label in out:
            n += 1
            label = f"{base}#{n}"
        out.append(label)
    return out


def _default_label(child: Reward) -> str:
    kind = getattr(child, "kind", None)
    return kind if isinstance(kind, str) and isinstance(child, Combinator) else child.name


class Sum(Combinator):
    """Weighted sum: ``value = Σ wᵢ·vᵢ``. Parts hold each child's unweighted value."""

    kind = "sum"

    def __init__(
        self,
        children: Sequence[Reward | float],
        weights: Sequence[float] | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(children, **kw)
        given = [1.0] * len(self.children) if weights is None else weights
        self.weights = [float(w) for w in given]
        if len(self.weights) != len(self.children):
            raise ValueError("sum: one weight per child")

    @classmethod
    def join(cls, a: Reward | float, b: Reward | float) -> Sum:
        children: list[Reward] = []
        weights: list[float] = []
        for x in (a, b):
            r = as_reward(x)
            if type(r) is Sum and r.label is None and r.on_error == "propagate":
                children += r.children
                weights += r.weights
            else:
                children.append(r)
                weights.append(1.0)
        return cls(children, weights)

    def _weights(self) -> Sequence[float]:
        return self.weights

    def _aggregate(self, used: Used) -> float:
        return math.fsum(w * v for w, v in zip(used.weights, used.values, strict=True))

    @property
    def range(self) -> Range:
        los, his = [], []
        for w, c in zip(self.weights, self.children, strict=True):
            ends = _products((w, w), self._child_range(c))
            los.append(min(ends))
            his.append(max(ends))
        if self.on_error != "skip":
            return (math.fsum(los), math.fsum(his))
        # a skipped child adds nothing, and one child at least is left (else None)
        neg, pos = [x for x in los if x < 0], [x for x in his if x > 0]
        return (
            math.fsum(neg) if neg else min(los, default=0.0),
            math.fsum(pos) if pos else max(his, default=0.0),
        )


class Min(Combinator):
    """The smallest child value (all must hold)."""

    kind = "min"

    def _aggregate(self, used: Used) -> float:
        return min(used.values)

    @property
    def range(self) -> Range:
        ranges = [self._child_range(c) for c in self.children]
        hi = max if self.on_error == "skip" else min  # skip: the min of any one child alone
        return (min(r[0] for r in ranges), hi(r[1] for r in ranges))


class Max(Combinator):
    """The largest child value (any may hold)."""

    kind = "max"

    def _aggregate(self, used: Used) -> float:
        return max(used.values)

    @property
    def range(self) -> Range:
        ranges = [self._child_range(c) for c in self.children]
        lo = min if self.on_error == "skip" else max  # skip: the max of any one child alone
        return (lo(r[0] for r in ranges), max(r[1] for r in ranges))


class Product(Combinator):
    """The product of child values (a soft AND of scores in [0, 1])."""

    kind = "product"

    def _aggregate(self, used: Used) -> float:
        return math.prod(used.values)

    @property
    def range(self) -> Range:
        ranges = [self._child_range(c) for c in self.children]
        lo, hi = ranges[0] if ranges else (1.0, 1.0)
        for r in ranges[1:]:
            ends = _products((lo, hi), r)
            if self.on_error == "skip":  # either factor may be left out, not both
                ends += [lo, hi, *r]
            lo, hi = min(ends), max(ends)
        return (lo, hi)


def _products(a: Range, b: Range) -> list[float]:
    """The corner products of two ranges, with 0 · inf as 0 (a zero factor is exact)."""
    return [0.0 if x == 0 or y == 0 else x * y for x in a for y in b]


class Gate(Combinator):
    """``then`` where ``if`` scores at least ``threshold``, ``otherwise`` elsewhere.

    Each branch scores only the items routed to it, so an expensive checker is not run on
    completions that failed a cheap format gate. Parts hold the condition's value and the
    chosen branch's value.
    """

    kind = "gate"

    def __init__(
        self,
        condition: Reward,
        then: Reward | float,
        otherwise: Reward | float = 0.0,
        *,
        threshold: float = 1.0,
        **kw: Any,
    ) -> None:
        super().__init__([condition, then, otherwise], **kw)
        self.threshold = float(threshold)

    def _route(self, conds: list[Score]) -> tuple[list[int], list[int]]:
        yes = [i for i, s in enumerate(conds) if s.value is not None and s.value >= self.threshold]
        no = [i for i, s in enumerate(conds) if s.value is not None and s.value < self.threshold]
        return yes, no

    def score(self, samples: Sequence[Sample]) -> list[Score]:
        cond, then, other = self.children
        conds = cond.score(samples)
        yes, no = self._route(conds)
        branch = dict(zip(yes, then.score([samples[i] for i in yes]), strict=True))
        branch.update(zip(no, other.score([samples[i] for i in no]), strict=True))
        return self._join_branches(conds, branch, set(yes))

    async def ascore(self, samples: Sequence[Sample]) -> list[Score]:
        cond, then, other = self.children
        conds = await cond.ascore(samples)
        yes, no = self._route(conds)
        a, b = await asyncio.gather(
            then.ascore([samples[i] for i in yes]), other.ascore([samples[i] for i in no])
        )
        branch = dict(zip(yes, a, strict=True))
        branch.update(zip(no, b, strict=True))
        return self._join_branches(conds, branch, set(yes))

    def _join_branches(
        self, conds: list[Score], branch: dict[int, Score], passed: set[int]
    ) -> list[Score]:
        out = []
        for i, c in enumerate(conds):
            if i not in branch:  # the condition itself failed
                out.append(self._merge(_first, [c], self.labels[:1]))
                continue
            labels = [self.labels[0], self.labels[1] if i in passed else self.labels[2]]
            out.append(self._merge(lambda u: u.values[-1], [c, branch[i]], labels))
        return out

    def _use(
        self,
        scores: Sequence[Score],
        weights: Sequence[float],
        labels: Sequence[str] | None = None,
    ) -> Used:
        used = super()._use(scores, weights, labels)
        if self.on_error == "skip" and len(scores) == 2 and scores[1].value is None:
            used.failed = True  # nothing to fall back on but the condition's value
        return used

    @property
    def range(self) -> Range:
        then, other = (self._child_range(c) for c in self.children[1:])
        lo, hi = min(then[0], other[0]), max(then[1], other[1])
        if self.on_error == "value":  # a failed condition gives error_value too
            return (min(lo, self.error_value), max(hi, self.error_value))
        return (lo, hi)


class Shape(Combinator):
    """A transform applied to a sub-tree's values over the batch (normalise, clip, ...)."""

    kind = "shape"

    def __init__(self, child: Reward, transform: Transform, **kw: Any) -> None:
        super().__init__([child], **kw)
        self.transform = transform
        self.name = f"shape[{transform.name}]({child.name})"

    @property
    def needs_group(self) -> bool:  # type: ignore[override]
        return bool(getattr(self.transform, "needs_group", False))

    def _combine(self, samples: Sequence[Sample], columns: list[list[Score]]) -> list[Score]:
        merged = [self._merge(_first, [s], self.labels) for s in columns[0]]
        shaped = self.transform.apply([m.value for m in merged], samples)
        return [self._shaped(m, v) for m, v in zip(merged, shaped, strict=True)]

    def _shaped(self, merged: Score, v: float | None) -> Score:
        if merged.value is None:
            return merged
        if v is None:  # the transform lacked an input it needs (PAR's references, ...)
            reason = f"{self.transform.name} gave no value for this item"
            worst = max(merged.status, Status.SKIPPED, key=lambda st: st.rank)
            return merged.with_(value=None, status=worst, info={**merged.info, "reason": reason})
        return merged.with_(value=float(v))

    @property
    def range(self) -> Range:
        return self.transform.out_range(self._child_range(self.children[0]))


class Schedule(Combinator):
    """``weight(step) · child``; the caller advances the step with ``set_step``."""

    kind = "schedule"

    def __init__(self, child: Reward, weight: WeightFn, **kw: Any) -> None:
        super().__init__([child], **kw)
        self.weight = weight
        self.step = 0

    def on_step(self, step: int) -> None:
        self.step = int(step)

    def part_names(self) -> list[str]:
        return [*super().part_names(), "weight"]

    def _combine(self, samples: Sequence[Sample], columns: list[list[Score]]) -> list[Score]:
        w = self.weight(self.step)
        out = []
        for s in columns[0]:
            merged = self._merge(lambda u: w * u.values[0], [s], self.labels)
            out.append(merged.with_(parts={**merged.parts, "weight": w}))
        return out

    @property
    def range(self) -> Range:
        ends = _products(self.weight.bounds(), self._child_range(self.children[0]))
        return (min(ends), max(ends))
