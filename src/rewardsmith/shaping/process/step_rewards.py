"""Clip and Delta: bounded returns from a process reward model's per-step scores.

What they check: nothing in the text. A process reward model (PRM) scores each step of a
solution; summing those scores lets a policy raise its return by repeating correct but
useless steps. Gao et al. bound the return of any trajectory in two ways. With
``r_1..r_K`` the PRM's scores of the K steps (each in [0, 1]):

- ``process.clip``: each step gets ``c_k = min(r_k − η, 0)``, so no step is rewarded
  positively and padding cannot help. The value is ``Σ_k c_k``. Range (−∞, 0]: each step
  adds at least ``−η``, and there is no bound on the number of steps.
- ``process.delta``: each step gets ``d_k = r_k − r_{k+1}`` for ``k < K``, and the last
  step gets no PRM term (crossed out in the paper's Fig. 2), so ``d_K = 0``. The value
  ``Σ_k d_k`` telescopes to ``r_1 − r_K``, and the return from step k to
  ``r_k − r_K``. Range [−1, 1]. With ``clip_eta`` set, Clip is applied first and Delta to
  the clipped scores (``Clip-Delta``, the combination the paper reports as best): the
  value is ``c_1 − c_K``, in ``[−η, η]``. ``keep_last: true`` keeps the last step's score
  as its term (``d_K = r_K``), so the sum telescopes to ``r_1`` (range [0, 1], or
  ``[−η, 0]`` with Clip); this is a variant, not the paper's figure.

Each returns the shaped total as its value, with parts ``sum`` (the same total, before
clamping to the range against rounding) and ``min`` (the smallest per-step term), and
``info["steps"]``, the per-step terms, for trainers that place them at step boundaries.

Where the step scores come from: ``Sample.meta["step_rewards"]``, a non-empty list of
floats in [0, 1], one per step, in order. A missing, empty or out-of-range list is an
error for that item (value None, status ``error``), never a made-up 0.

The paper's full reward is ``r_success + α · Σ_k (shaped step term)``: compose it as
``sum: [{use: math.answer}, {use: process.delta, with: {clip_eta: 0.5}, weight: α}]``.

In a spec::

    use: process.clip
    with: {eta: 0.5}

Formerly ``shape.clip`` and ``shape.delta``: they are process rewards, not transforms; the
old names still load (``rewardsmith.core.registry.ALIASES``).

Paper: On Designing Effective RL Reward at Training Time for LLM Reasoning (Gao et al.,
arXiv 2410.15115).

Known issues: the paper's values of η and α were not found, so ``eta`` is required and α
is a sum weight; the exact equations are the catalog's reconstruction from the paper's
figures. Clip works only when η matches the PRM's score distribution. Both depend on a
consistent step segmentation: how the trainer splits steps decides what a step is, and
any step-count-dependent shaping invites hacking (for ``process.clip``, fewer steps mean a
smaller penalty, so it rewards short solutions).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

from pydantic import Field

from rewardsmith.core import ItemReward, Paper, Params, Sample, Score, register
from rewardsmith.errors import InputError

__all__ = [
    "GAO",
    "Clip",
    "ClipParams",
    "Delta",
    "DeltaParams",
    "clip_steps",
    "delta_steps",
    "step_rewards",
]

GAO = Paper("On Designing Effective RL Reward at Training Time for LLM Reasoning", "2410.15115")
META_KEY = "step_rewards"


def step_rewards(sample: Sample) -> list[float]:
    """The PRM's per-step scores from ``meta``; InputError if missing or malformed."""
    raw: Any = sample.meta.get(META_KEY)
    if not isinstance(raw, list | tuple) or not raw:
        raise InputError(f"needs Sample.meta[{META_KEY!r}], a non-empty list of floats in [0, 1]")
    out = []
    for i, r in enumerate(raw):
        if isinstance(r, bool) or not isinstance(r, int | float) or not 0.0 <= r <= 1.0:
            raise InputError(f"{META_KEY}[{i}] must be a number in [0, 1], got {r!r:.40}")
        out.append(float(r))
    return out


def clip_steps(steps: Sequence[float], eta: float) -> list[float]:
    """Clip: ``min(r_k − η, 0)`` for each step."""
    return [min(r - eta, 0.0) for r in steps]


def delta_steps(steps: Sequence[float], keep_last: bool = False) -> list[float]:
    """Delta: ``r_k − r_{k+1}`` for ``k < K``; the last step 0 (or ``r_K`` with keep_last)."""
    diffs = [a - b for a, b in itertools.pairwise(steps)]
    return [*diffs, steps[-1] if keep_last else 0.0] if steps else []


class _StepReward(ItemReward):
    max_chars = None  # the text is never parsed

    def terms(self, steps: list[float]) -> list[float]:
        raise NotImplementedError

    def part_names(self) -> list[str]:
        return ["sum", "min"]

    def score_one(self, sample: Sample) -> Score:
        shaped = self.terms(step_rewards(sample))
        total = math.fsum(shaped)
        lo, hi = self.range
        # differences of rounded floats can land an ulp past the exact bound
        value = min(max(total, lo), hi)
        return Score.ok(value, {"steps": shaped}, sum=total, min=min(shaped))


class ClipParams(Params):
    eta: float = Field(ge=0.0, le=1.0, allow_inf_nan=False)
    """η: steps scored at or above it get 0, those below get ``r − η`` (not in the paper's text)."""


@register(
    paper=GAO,
    summary="sum over PRM steps of min(r_k - eta, 0) from meta['step_rewards']: never positive",
)
class Clip(_StepReward):
    name = "process.clip"

    def __init__(self, params: ClipParams) -> None:
        self.params = params

    @property
    def range(self) -> tuple[float, float]:
        return (-math.inf, 0.0)

    def terms(self, steps: list[float]) -> list[float]:
        return clip_steps(steps, self.params.eta)


class DeltaParams(Params):
    clip_eta: float | None = Field(default=None, ge=0.0, le=1.0, allow_inf_nan=False)
    """If set, Clip with this η first (Clip-Delta)."""
    keep_last: bool = False
    """Keep the last step's score as its term (sum telescopes to r_1) instead of 0."""


@register(
    paper=GAO,
    summary="sum over PRM steps of r_k - r_(k+1), last step 0: telescopes to r_1 - r_K; clip_eta for Clip-Delta",
)
class Delta(_StepReward):
    name = "process.delta"

    def __init__(self, params: DeltaParams) -> None:
        self.params = params

    @property
    def range(self) -> tuple[float, float]:
        eta, keep = self.params.clip_eta, self.params.keep_last
        if eta is None:
            return (0.0, 1.0) if keep else (-1.0, 1.0)
        return (-eta, 0.0) if keep else (-eta, eta)

    def terms(self, steps: list[float]) -> list[float]:
        if self.params.clip_eta is not None:
            steps = clip_steps(steps, self.params.clip_eta)
        return delta_steps(steps, self.params.keep_last)
