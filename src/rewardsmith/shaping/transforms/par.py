"""Preference As Reward (PAR): a reward model's score as a win-rate against references.

What it does: ``transform.par`` is a transform for ``shape`` nodes. For a completion whose
child reward (usually a reward model's score) is ``r`` and whose prompt has ``M``
reference responses with reward-model scores ``r_ref_1..r_ref_M``::

    par                (default, the paper's definition)
        (1/M) Σ_m σ(k · (r − r_ref_m))           in (0, 1)
    tanh               (code ablation)
        (1/M) Σ_m tanh(k · (r − r_ref_m))        in (−1, 1)
    sigmoid_uncentred  (code ablation: no references)
        σ(k · r)                                 in (0, 1)
    centred            (code ablation: centring without the sigmoid)
        (1/M) Σ_m (r − r_ref_m) = r − mean(r_ref)  unbounded

``σ`` is the logistic function. The result is the reward model's implied probability
that the completion beats a reference response, so it is bounded and saturates once the
policy beats every reference by a wide margin.

Where the reference scores come from: ``Sample.meta["reference_rewards"]``, a list of
floats, the reward model's scores of ``M`` responses to the same prompt sampled offline
from the SFT/reference policy (the paper's dataset column ``sample_rewards``). Only the
first ``max_refs`` are used (the code's ``reward_maxref = 10``; the paper reports that
one reference is already enough). They must be on the same scale as the child's value:
score the references with the same reward model, and put ``transform.par`` directly over it.

In a spec::

    shape:
      transform: {use: transform.par, with: {k: 1.0}}
      reward: {use: my.reward_model}

Formerly ``shape.par``: it is a transform like the other ``transform.*``; the old name
still loads (``rewardsmith.core.registry.ALIASES``).

Defaults, from the released code (``trainers/reward_shaper.py``,
``calculate_relative_sigmoid``): ``k = sigmoid_k = 1``, ``max_refs = reward_maxref = 10``.
``k`` scales the difference in ``par``, ``tanh`` and ``sigmoid_uncentred``; ``centred``
is the raw difference (``k`` is a sigmoid slope and is not applied there).

Paper: Reward Shaping to Mitigate Reward Hacking in RLHF (Fu et al., arXiv 2502.18770).

Known failure modes and how it could be gamed:

- An item whose references are missing, empty, not numbers or not finite gets no value
  (None; the ``shape`` node marks it skipped): the win-rate against nothing is not 0.
  ``sigmoid_uncentred`` needs no references.
- In floating point σ rounds to exactly 0.0 or 1.0 once ``|k·(r − r_ref)|`` passes about
  37, so the bounds are (0, 1) in exact arithmetic and [0, 1] in floats.
- Saturation is the point (no incentive to keep exploiting the reward model) and also the
  cost: late in training the signal flattens. Fresh, stronger references help.
- Not included: the code's ``reward_penalize_length`` (0.01 per response token beyond
  300, subtracted from the raw score before the sigmoid). Compose it in the child, e.g.
  ``sum`` of the reward model and a length term, if you want it.
- The other code ablations (a fitted 5th-order polynomial) are not implemented; σ with
  ``k = 2`` or ``3`` is ``variant: par`` with that ``k``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import Field

from rewardsmith.core import Paper, Params, Sample, register
from rewardsmith.shaping.transforms.pointwise import sigmoid

__all__ = ["PAR", "Par", "ParParams", "par_value", "reference_rewards"]

PAR = Paper("Reward Shaping to Mitigate Reward Hacking in RLHF (PAR)", "2502.18770")
META_KEY = "reference_rewards"
Range = tuple[float, float]
Variant = Literal["par", "tanh", "sigmoid_uncentred", "centred"]


def reference_rewards(sample: Sample, max_refs: int | None = None) -> list[float] | None:
    """The first ``max_refs`` finite reference scores in ``meta``, or None if unusable."""
    raw: Any = sample.meta.get(META_KEY)
    if not isinstance(raw, list | tuple) or not raw:
        return None
    refs = list(raw[:max_refs] if max_refs is not None else raw)
    ok = all(
        isinstance(r, int | float) and not isinstance(r, bool) and math.isfinite(r) for r in refs
    )
    return [float(r) for r in refs] if ok else None


def par_value(r: float, refs: Sequence[float], k: float = 1.0, variant: Variant = "par") -> float:
    """One shaped value: ``r`` against the reference scores ``refs``."""
    if variant == "sigmoid_uncentred":
        return sigmoid(k * r)
    if not refs:
        raise ValueError("PAR needs at least one reference reward")
    m = len(refs)
    if variant == "par":
        return math.fsum(sigmoid(k * (r - x)) for x in refs) / m
    if variant == "tanh":
        return math.fsum(math.tanh(k * (r - x)) for x in refs) / m
    return math.fsum(r - x for x in refs) / m


class ParParams(Params):
    variant: Variant = "par"
    """``par`` (the paper), or a code ablation: ``tanh``, ``sigmoid_uncentred``, ``centred``."""
    k: float = Field(default=1.0, gt=0, allow_inf_nan=False)
    """The sigmoid slope (``sigmoid_k``)."""
    max_refs: int | None = Field(default=10, gt=0)
    """Use the first this many references (``reward_maxref``); None for all."""


@register(
    kind="transform",
    paper=PAR,
    summary="mean sigmoid(k * (r - r_ref)) over meta['reference_rewards']: a win-rate in (0, 1)",
)
class Par:
    """The ``transform.par`` transform (see the module docstring)."""

    name = "transform.par"

    def __init__(self, params: ParParams) -> None:
        self.params = params

    def apply(
        self, values: Sequence[float | None], samples: Sequence[Sample]
    ) -> list[float | None]:
        p = self.params
        out: list[float | None] = []
        for v, s in zip(values, samples, strict=True):
            if v is None:
                out.append(None)
                continue
            refs: list[float] | None = []
            if p.variant != "sigmoid_uncentred":
                refs = reference_rewards(s, p.max_refs)
            out.append(None if refs is None else par_value(v, refs, p.k, p.variant))
        return out

    def out_range(self, child: Range) -> Range:
        p = self.params
        if p.variant == "sigmoid_uncentred":
            return (sigmoid(p.k * child[0]), sigmoid(p.k * child[1]))
        if p.variant == "par":
            return (0.0, 1.0)
        if p.variant == "tanh":
            return (-1.0, 1.0)
        return (-math.inf, math.inf)  # centred: the references' scale is unknown at build

    def __repr__(self) -> str:
        return f"Par({self.params!r})"
