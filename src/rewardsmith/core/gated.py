"""SearchLLM's gated aggregation: must-pass scores gate a weighted mean of behaviour scores.

What it computes: with bottom-line ("must-pass") scores ``s_1..s_m`` in [0, 1]
(hallucination, grounding, basic quality, format) and behaviour scores ``s′_1..s′_n`` in
[0, 1] with weights ``w_i`` (robustness, richness, conciseness, ...)::

    B_δ = exp( (1/m) Σ_i log((s_i + δ) / (1 + δ)) )     Eq. 1, a soft AND, δ = 1e-2
    U   = Σ_i w_i s′_i / Σ_i w_i                        Eq. 2
    R   = B_δ · U                                      Eq. 3

``B_δ`` is the geometric mean of the δ-smoothed scores: 1 when every must-pass score is
1, about ``δ/(1+δ)`` raised to ``1/m`` per failed one. Range [0, 1]. ``parts`` hold
``gate`` (B_δ) and ``utility`` (U).

``GatedAggregate`` combines child rewards, like ``Product``: each child's value lands in
``parts`` under its label. Children must declare a range within [0, 1]. In a spec it is
the ``gated`` node (behaviour children may carry ``weight``)::

    gated:
      must: [{use: format.think_answer}, {use: my.grounding_judge}]
      behaviour: [{use: my.richness, weight: 2}, {use: my.conciseness}]
      delta: 0.01

``aggregate.gated`` (``rewardsmith.shaping.aggregate``) computes the same value from
scores the trainer put in ``Sample.meta``.

Paper: Aligning LLMs with Searcher Preferences (SearchLLM, Wu, Zhou et al., arXiv
2603.10473), Eqs. 1-3.

Known failure modes: a single near-zero must-pass score wipes out the reward; δ sets how
hard (larger δ is softer). The judges behind the scores are the attack surface: a policy
that fools the hallucination judge passes the gate. Behaviour scores do not count until
the gate is near 1, which is the intent (no "seesaw" between objectives).

See also: ``rewardsmith.core.hierarchy``, a hierarchical gate in the spirit of
ChatShopBuddy's HRM (arXiv 2603.06065): lower levels unlock higher ones. Its formula is
our design (the paper's was not found).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from rewardsmith.core.combinators import Combinator, Used
from rewardsmith.core.reward import Reward
from rewardsmith.core.types import Score

__all__ = ["DELTA", "GatedAggregate", "behaviour_utility", "gated_value", "soft_and"]

DELTA = 1e-2
"""δ, the smoothing of the soft AND (the paper's 1e-2)."""


def soft_and(scores: Sequence[float], delta: float = DELTA) -> float:
    """Eq. 1: ``exp(mean log((s + δ) / (1 + δ)))``, the δ-smoothed geometric mean."""
    if not scores:
        raise ValueError("the gate needs at least one must-pass score")
    return math.exp(math.fsum(math.log((s + delta) / (1.0 + delta)) for s in scores) / len(scores))


def behaviour_utility(scores: Sequence[float], weights: Sequence[float] | None = None) -> float:
    """Eq. 2: the weighted mean ``Σ w s′ / Σ w`` (equal weights when None)."""
    if not scores:
        raise ValueError("the utility needs at least one behaviour score")
    w = [1.0] * len(scores) if weights is None else list(weights)
    if len(w) != len(scores):
        raise ValueError(f"{len(w)} weights for {len(scores)} behaviour scores")
    return math.fsum(a * b for a, b in zip(w, scores, strict=True)) / math.fsum(w)


def gated_value(
    must: Sequence[float],
    behaviour: Sequence[float],
    weights: Sequence[float] | None = None,
    delta: float = DELTA,
) -> float:
    """Eq. 3: ``B_δ · U``, clamped to [0, 1] against rounding."""
    return min(1.0, max(0.0, soft_and(must, delta) * behaviour_utility(behaviour, weights)))


class GatedAggregate(Combinator):
    """``B_δ(must) · U(behaviour)`` over child rewards (see the module docstring).

    Example:
        >>> from rewardsmith import R
        >>> reward = GatedAggregate(
        ...     [R.format.think_answer()], [R.length.cosine(max_tokens=512)], delta=0.01
        ... )
    """

    kind = "gated"

    def __init__(
        self,
        must: Sequence[Reward],
        behaviour: Sequence[Reward],
        weights: Sequence[float] | None = None,
        *,
        delta: float = DELTA,
        **kw: Any,
    ) -> None:
        if not must or not behaviour:
            raise ValueError("gated: needs at least one must-pass and one behaviour reward")
        if kw.get("on_error") == "skip":
            raise ValueError("gated: on_error 'skip' would drop a score from the gate")
        super().__init__([*must, *behaviour], **kw)
        if not 0.0 <= self.error_value <= 1.0:
            raise ValueError("gated: error_value must be within [0, 1]")
        self.n_must = len(must)
        self.weights = [1.0] * len(behaviour) if weights is None else [float(w) for w in weights]
        if len(self.weights) != len(behaviour) or any(w < 0 for w in self.weights):
            raise ValueError("gated: one non-negative weight per behaviour reward")
        if sum(self.weights) <= 0:
            raise ValueError("gated: the weights must not all be 0")
        if delta <= 0:
            raise ValueError("gated: delta must be > 0")
        self.delta = float(delta)
        for child in self.children:
            lo, hi = child.range
            if lo < 0.0 or hi > 1.0:
                raise ValueError(f"gated: {child.name} has range {child.range}, not within [0, 1]")

    def part_names(self) -> list[str]:
        return [*super().part_names(), "gate", "utility"]

    def _aggregate(self, used: Used) -> float:
        must, behaviour = used.values[: self.n_must], used.values[self.n_must :]
        return gated_value(must, behaviour, self.weights, self.delta)

    def _merge(self, aggregate: Any, scores: list[Score], labels: Sequence[str]) -> Score:
        merged = super()._merge(aggregate, scores, labels)
        if merged.value is None:
            return merged
        values = [s.value if s.value is not None else self.error_value for s in scores]
        gate = soft_and(values[: self.n_must], self.delta)
        utility = behaviour_utility(values[self.n_must :], self.weights)
        return merged.with_(parts={**merged.parts, "gate": gate, "utility": utility})

    @property
    def range(self) -> tuple[float, float]:
        return (0.0, 1.0)
