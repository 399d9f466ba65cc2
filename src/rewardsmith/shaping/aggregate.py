"""``aggregate.*``: gated aggregations of scores the trainer put in ``Sample.meta``.

The same values as the ``gated`` and ``hierarchy`` combinators (``rewardsmith.core.gated``
and ``rewardsmith.core.hierarchy``, which hold the formulas), computed from numbers that
other judges or reward models already produced, so a spec can aggregate them without
re-scoring:

- ``aggregate.gated``: SearchLLM's gate, ``B_δ(must) · U(behaviour)``, from
  ``meta["bottom_line"]`` and ``meta["behaviour"]``, non-empty lists of numbers in [0, 1]
  (key names are parameters), with ``weights`` a parameter (default all 1; its length
  must match each item's behaviour list). Range [0, 1]; ``parts`` hold ``gate`` and
  ``utility``.
- ``aggregate.hierarchy``: the HRM-style hierarchy (our design), from ``meta["levels"]``,
  a non-empty list of at most 16 non-empty lists of numbers in [0, 1] (one list per
  level, plain mean inside a level); ``thresholds``, ``weights``, ``floor`` (in [0, 1])
  and ``combine`` (default ``mean``, range [0, 1]) are parameters. ``parts`` hold each
  unlocked level's score and ``unlocked``.

A missing or malformed input is an item error (value None), never a made-up 0.

Papers: Aligning LLMs with Searcher Preferences (SearchLLM, arXiv 2603.10473), Eqs. 1-3;
ChatShopBuddy (arXiv 2603.06065), whose gating equations were not found (see
``rewardsmith.core.hierarchy``).

Known failure modes: those of the formulas (a single near-zero must-pass score wipes out
the gate; a locked level gives no signal until the ones below are met), and those of
whatever produced the numbers: the judges behind the scores are the attack surface.
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import Field, field_validator

from rewardsmith.core import ItemReward, Paper, Params, Sample, Score, register
from rewardsmith.core.gated import DELTA, behaviour_utility, gated_value, soft_and
from rewardsmith.core.hierarchy import Combine, hierarchy_value, unlocked_levels
from rewardsmith.errors import InputError
from rewardsmith.shaping._meta import meta_numbers, usable_weights

__all__ = [
    "CHATSHOPBUDDY",
    "MAX_META_LEVELS",
    "SEARCHLLM",
    "GatedParams",
    "HierarchyParams",
    "MetaGated",
    "MetaHierarchy",
]

SEARCHLLM = Paper(
    "Aligning LLMs with Searcher Preferences (SearchLLM gated aggregation)", "2603.10473"
)
CHATSHOPBUDDY = Paper("ChatShopBuddy (HRM: hierarchical reward modeling; DCPO)", "2603.06065")
MAX_META_LEVELS = 16
"""The most levels ``aggregate.hierarchy`` reads from meta, so its part names are known."""


class GatedParams(Params):
    delta: float = Field(default=DELTA, gt=0.0, allow_inf_nan=False)
    """δ, the smoothing of the soft AND (the paper's 1e-2)."""
    weights: list[float] | None = None
    """``w_i`` for the behaviour scores, in order; None for equal weights."""
    must_key: str = "bottom_line"
    """The ``meta`` key of the must-pass scores."""
    behaviour_key: str = "behaviour"
    """The ``meta`` key of the behaviour scores."""

    @field_validator("weights")
    @classmethod
    def _usable(cls, w: list[float] | None) -> list[float] | None:
        return usable_weights(w)


@register(
    paper=SEARCHLLM,
    summary="SearchLLM gate: delta-smoothed geometric mean of meta must-pass scores times weighted mean of behaviour scores",
)
class MetaGated(ItemReward):
    name = "aggregate.gated"
    max_chars = None  # the text is never parsed

    def __init__(self, params: GatedParams) -> None:
        self.params = params

    def part_names(self) -> list[str]:
        return ["gate", "utility"]

    def score_one(self, sample: Sample) -> Score:
        p = self.params
        must = meta_numbers(sample, p.must_key)
        behaviour = meta_numbers(sample, p.behaviour_key)
        if p.weights is not None and len(p.weights) != len(behaviour):
            raise InputError(
                f"{len(p.weights)} weights for {len(behaviour)} scores in meta[{p.behaviour_key!r}]"
            )
        gate = soft_and(must, p.delta)
        utility = behaviour_utility(behaviour, p.weights)
        return Score.ok(
            gated_value(must, behaviour, p.weights, p.delta), gate=gate, utility=utility
        )


class HierarchyParams(Params):
    thresholds: float | list[float] = 1.0
    """Each level's pass threshold on its mean score (inclusive); one number for all."""
    weights: list[float] | None = None
    """Level weights, L1 first; None for all 1. Sets how many levels an item must have."""
    floor: float = Field(default=0.0, ge=0.0, le=1.0)
    """What a locked level counts as."""
    combine: Combine = "mean"
    """``mean`` (weighted mean of the levels, range [0, 1]) or ``sum`` (weighted sum)."""
    levels_key: str = "levels"
    """The ``meta`` key of the level scores."""

    @field_validator("weights")
    @classmethod
    def _usable(cls, w: list[float] | None) -> list[float] | None:
        return usable_weights(w)

    @field_validator("thresholds")
    @classmethod
    def _finite(cls, t: float | list[float]) -> float | list[float]:
        ts = t if isinstance(t, list) else [t]
        if not ts or not all(math.isfinite(x) for x in ts):
            raise ValueError("thresholds must be a finite number or a non-empty list of them")
        return t


@register(
    paper=CHATSHOPBUDDY,
    summary="HRM-style hierarchy (our design): meta level scores, each level counts only once every lower level meets its threshold",
)
class MetaHierarchy(ItemReward):
    name = "aggregate.hierarchy"
    max_chars = None  # the text is never parsed

    def __init__(self, params: HierarchyParams) -> None:
        self.params = params

    def part_names(self) -> list[str]:
        """``L1``... up to the level count ``weights`` or a ``thresholds`` list fixes (else
        ``MAX_META_LEVELS``), then ``unlocked``."""
        p = self.params
        n = MAX_META_LEVELS
        if p.weights is not None:
            n = len(p.weights)
        elif isinstance(p.thresholds, list):
            n = len(p.thresholds)
        return [*(f"L{i + 1}" for i in range(n)), "unlocked"]

    @property
    def range(self) -> tuple[float, float]:
        p = self.params
        if p.combine == "mean":
            return (0.0, 1.0)
        return (0.0, math.fsum(p.weights) if p.weights is not None else math.inf)

    def score_one(self, sample: Sample) -> Score:
        p = self.params
        levels = _meta_levels(sample, p.levels_key)
        n = len(levels)
        thresholds = p.thresholds if isinstance(p.thresholds, list) else [p.thresholds] * n
        for what, got in (("thresholds", thresholds), ("weights", p.weights)):
            if got is not None and len(got) != n:
                raise InputError(f"{len(got)} {what} for {n} levels in meta[{p.levels_key!r}]")
        scores = [math.fsum(lv) / len(lv) for lv in levels]
        k = unlocked_levels(scores, thresholds)
        value = hierarchy_value(scores, thresholds, p.weights, floor=p.floor, combine=p.combine)
        parts = {f"L{i + 1}": s for i, s in enumerate(scores[:k])}
        info = {"locked": [f"L{i + 1}" for i in range(k, n)]}
        return Score.ok(value, info, unlocked=float(k), **parts)


def _meta_levels(sample: Sample, key: str) -> list[list[float]]:
    raw: Any = sample.meta.get(key)
    if not isinstance(raw, list | tuple) or not raw:
        raise InputError(
            f"needs Sample.meta[{key!r}], a non-empty list of levels (lists of numbers in [0, 1])"
        )
    if len(raw) > MAX_META_LEVELS:
        raise InputError(f"{key} has {len(raw)} levels, more than {MAX_META_LEVELS}")
    out = []
    for i, level in enumerate(raw):
        if not isinstance(level, list | tuple) or not level:
            raise InputError(f"{key}[{i}] must be a non-empty list of numbers in [0, 1]")
        for j, x in enumerate(level):
            ok = isinstance(x, int | float) and not isinstance(x, bool) and 0 <= x <= 1
            if not ok:
                raise InputError(f"{key}[{i}][{j}] must be a number in [0, 1], got {x!r:.40}")
        out.append([float(x) for x in level])
    return out
