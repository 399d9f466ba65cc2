"""Group and batch normalisation transforms for ``shape`` nodes.

What they do: put a reward on a common scale across the rollouts of one prompt (the
group, ``Sample.group``) or across the whole batch, before it is mixed with other terms.
With ``g`` the item's group, ``n`` its size after dropping None::

    transform.group_zscore   (v − mean_g) / (std_g + eps)        unbounded
    transform.group_minmax   (v − min_g) / (max_g − min_g)       [0, 1]
    transform.group_rank     2 · rank_g(v) / (n − 1) − 1         [−1, 1]
    transform.batch_zscore   (v − mean_B) / (std_B + eps)        unbounded

``std`` is the population std (``ddof=0``, an option) and ``eps`` is 1e-6 by default;
``rewardsmith.advantages.grpo`` defaults to the sample std (``ddof=1``, as TRL and verl
do), so pass ``ddof=1`` for the same numbers. The sums here are exactly rounded (``math.fsum``) so that the output does not depend on batch order. ``rank_g(v)`` is
the 0-based rank of ``v`` in its group, ties sharing their average rank, so the ranks of a
group are centred on 0 and a tie between two items at the top of three gives
``(−1, 0.5, 0.5)``.

Degenerate input, the same for all four:

- None passes through as None and is left out of every statistic;
- a sample with ``group`` None is a group of one (as in ``GroupReward``);
- a group of one, or a group whose values are all equal, gives 0.0 for each member,
  exactly (the minmax convention for "no spread" is 0.0, not 0.5);
- a value that is not finite, or beyond ±1e150 (where the squares would overflow), comes
  out as NaN and is left out of its group's statistics: NaN in, NaN out.

In a spec::

    shape:
      transform: transform.group_zscore
      reward: {use: math.answer}

Permuting the batch permutes the outputs: groups are found by id, not by position.

Papers: the z-scores are GRPO's normalisation (DeepSeekMath, arXiv 2402.03300); minmax
and rank are generic building blocks with no paper of their own.

Known failure modes: a z-score divides by a small std, so two near-equal values become
about ±1 (noise amplified to full size); minmax has the same effect and also hands 1.0 to
the best of a group of bad answers; rank throws away how far apart values are. Used as a
reward term (not as the advantage), a group-normalised value no longer says whether the
answer was right, only whether it beat its siblings.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Hashable, Sequence
from fractions import Fraction
from typing import Literal

from pydantic import Field

from rewardsmith.core import NoParams, Paper, Params, Sample, register
from rewardsmith.shaping.transforms.pointwise import GENERIC

__all__ = [
    "BatchZScore",
    "GroupMinMax",
    "GroupRank",
    "GroupZScore",
    "ZScoreParams",
    "group_keys",
    "minmax",
    "ranks",
    "zscores",
]

GRPO = Paper(
    "DeepSeekMath: Pushing the Limits of Mathematical Reasoning in Open Language Models (GRPO)",
    "2402.03300",
)
Range = tuple[float, float]
MAX_ABS = 1e150


def group_keys(samples: Sequence[Sample]) -> list[Hashable]:
    """One key per sample: its group, or a key of its own when the group is None."""
    return [(1, i) if s.group is None else (0, s.group) for i, s in enumerate(samples)]


def _usable(v: float | None) -> bool:
    return v is not None and math.isfinite(v) and abs(v) <= MAX_ABS


def zscores(xs: Sequence[float], eps: float = 1e-6, ddof: int = 0) -> list[float]:
    """``(x − mean) / (std + eps)``; all 0.0 for fewer than two values or no spread.

    The deviations ``x − mean`` are taken exactly (``Fraction``) and then rounded, so they
    sum to zero up to one rounding each, whatever the values' scale (1e6 and
    999999.9999999999 once gave z-scores summing to 1e-4); the result does not depend on
    the order of ``xs``, which is why ``advantages.grpo`` (numpy sums) is not reused here.
    """
    n = len(xs)
    if n < 2 or min(xs) == max(xs):
        return [0.0] * n
    exact = [Fraction(x) for x in xs]
    mean = sum(exact, Fraction(0)) / n
    devs = [float(x - mean) for x in exact]
    std = math.sqrt(math.fsum(d * d for d in devs) / (n - ddof))
    if std + eps == 0:  # a spread so small its square underflows
        return [0.0] * n
    return [d / (std + eps) for d in devs]


def minmax(xs: Sequence[float]) -> list[float]:
    """``(x − min) / (max − min)``; all 0.0 when the values are all equal."""
    lo, hi = min(xs), max(xs)
    return [0.0] * len(xs) if lo == hi else [(x - lo) / (hi - lo) for x in xs]


def ranks(xs: Sequence[float]) -> list[float]:
    """Centred average ranks in [−1, 1]: ``2 · rank / (n − 1) − 1``; 0.0 for ``n = 1``."""
    n = len(xs)
    if n < 2:
        return [0.0] * n
    order = sorted(xs)
    out = []
    for x in xs:
        below = bisect.bisect_left(order, x)
        ties = bisect.bisect_right(order, x) - below
        out.append((2 * below + ties - 1) / (n - 1) - 1)  # rank = below + (ties − 1) / 2
    return out


class _GroupWise:
    """Apply ``per_group`` to each group's usable values; the rest pass as None or NaN."""

    needs_group = True

    name = ""

    def per_group(self, xs: Sequence[float]) -> list[float]:
        raise NotImplementedError

    def keys(self, samples: Sequence[Sample]) -> list[Hashable]:
        return group_keys(samples)

    def apply(
        self, values: Sequence[float | None], samples: Sequence[Sample]
    ) -> list[float | None]:
        out: list[float | None] = [None if v is None else math.nan for v in values]
        members: dict[Hashable, list[int]] = {}
        for i, (v, key) in enumerate(zip(values, self.keys(samples), strict=True)):
            if _usable(v):
                members.setdefault(key, []).append(i)
        for idx in members.values():
            shaped = self.per_group([float(values[i]) for i in idx])  # type: ignore[arg-type]
            for i, y in zip(idx, shaped, strict=True):
                out[i] = y
        return out

    def out_range(self, child: Range) -> Range:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({getattr(self, 'params', '')!r})"


class ZScoreParams(Params):
    eps: float = Field(default=1e-6, ge=0.0, allow_inf_nan=False)
    """Added to the std before dividing."""
    ddof: Literal[0, 1] = 0
    """0 for the population std (GRPO code), 1 for the sample std (``torch.std``)."""


class _ZScore(_GroupWise):
    def __init__(self, params: ZScoreParams) -> None:
        self.params = params

    def per_group(self, xs: Sequence[float]) -> list[float]:
        return zscores(xs, self.params.eps, self.params.ddof)

    def out_range(self, child: Range) -> Range:
        return (0.0, 0.0) if child[0] == child[1] else (-math.inf, math.inf)


@register(
    kind="transform",
    paper=GRPO,
    summary="(v - group mean) / (group std + eps); 0.0 for constant groups",
)
class GroupZScore(_ZScore):
    name = "transform.group_zscore"


@register(
    kind="transform",
    paper=GRPO,
    summary="(v - batch mean) / (batch std + eps); 0.0 for a constant batch",
)
class BatchZScore(_ZScore):
    name = "transform.batch_zscore"

    def keys(self, samples: Sequence[Sample]) -> list[Hashable]:
        return [0] * len(samples)


class _Fixed(_GroupWise):
    """A parameter-free group transform with a fixed output range."""

    bounds: Range = (0.0, 0.0)

    def __init__(self, params: NoParams | None = None) -> None:
        self.params = params

    def out_range(self, child: Range) -> Range:
        return (0.0, 0.0) if child[0] == child[1] else self.bounds


@register(
    kind="transform",
    paper=GENERIC,
    summary="(v - group min) / (group max - group min); 0.0 for constant groups",
)
class GroupMinMax(_Fixed):
    name = "transform.group_minmax"
    bounds = (0.0, 1.0)

    def per_group(self, xs: Sequence[float]) -> list[float]:
        return minmax(xs)


@register(
    kind="transform",
    paper=GENERIC,
    summary="centred average rank in the group, 2 * rank / (n - 1) - 1; ties share",
)
class GroupRank(_Fixed):
    name = "transform.group_rank"
    bounds = (-1.0, 1.0)

    def per_group(self, xs: Sequence[float]) -> list[float]:
        return ranks(xs)
