"""Kimi k1.5's group-relative length reward: ``length.group_relative``.

What it checks: how long each rollout is compared with the other rollouts of its prompt
(``Sample.group``). With ``len_i`` the rollout's length and ``min_len``/``max_len`` the
shortest and longest in its group::

    λ_i = 0.5 − (len_i − min_len) / (max_len − min_len)
    reward_i = λ_i            if the answer is correct
               min(0, λ_i)    if it is wrong

So among correct answers the shortest earns +0.5 and the longest −0.5; a wrong answer is
never rewarded for being short, only penalised for being long. Range [−0.5, 0.5]. When
every rollout of a group has the same length (or the group has one rollout) λ is
undefined in the paper; here it is 0.0 for all of them.

Correctness: ``Sample.meta["correct"]``, a bool, set by the trainer or by a previous
scoring pass. This keeps the reward one group pass with no hidden checker; for
correctness from a reward in the same spec, score that reward first and put its verdict
in ``meta``. An item without a bool ``correct`` gets an error (value None), but its
length still counts towards its group's min and max.

Length: ``rewardsmith.shaping.length.completion_length``: the number of token ids in
``Sample.tokens`` if given, else ``ceil(len(text) / 4)``. ``info`` holds ``length``,
``length_source`` and ``lambda``.

The paper adds this term to the task reward and, because it slows training early on,
warms it up: no length term at first, then a constant weight for the rest of training.
Compose that as a ``schedule`` over it (the switch step is yours to choose)::

    sum:
      - {use: math.answer}
      - schedule:
          reward: {use: length.group_relative}
          weight: {kind: piecewise, boundaries: [200], values: [0.0, 1.0]}

Paper: Kimi k1.5: Scaling Reinforcement Learning with LLMs (arXiv 2501.12599).

Known failure modes and how it could be gamed: the value is relative, so a group of
uniformly long answers still hands +0.5 to its shortest; it is gamed by cutting
reasoning short whenever the answer is still right, which is the intent, and can cost
accuracy on hard prompts. Mixed length sources in one group (some rollouts with token ids,
some estimated) compare unlike numbers: pass token ids for all or none.
"""

from __future__ import annotations

from collections.abc import Sequence

from rewardsmith.core import (
    GroupReward,
    ItemError,
    NoParams,
    Paper,
    Sample,
    Score,
    Status,
    register,
)
from rewardsmith.shaping.length import completion_length

__all__ = ["KIMI", "GroupRelativeLength", "length_lambdas"]

KIMI = Paper("Kimi k1.5: Scaling Reinforcement Learning with LLMs", "2501.12599")
META_KEY = "correct"


def length_lambdas(lengths: Sequence[int]) -> list[float]:
    """``λ = 0.5 − (len − min) / (max − min)`` per rollout; all 0.0 when min == max."""
    lo, hi = min(lengths), max(lengths)
    if lo == hi:
        return [0.0] * len(lengths)
    return [0.5 - (n - lo) / (hi - lo) for n in lengths]


@register(
    paper=KIMI,
    summary="Kimi k1.5 length reward: 0.5 - (len - min)/(max - min) in the group; wrong answers min(0, .)",
)
class GroupRelativeLength(GroupReward):
    name = "length.group_relative"

    def __init__(self, params: NoParams | None = None) -> None:
        self.params = params

    @property
    def range(self) -> tuple[float, float]:
        return (-0.5, 0.5)

    def score_group(self, samples: Sequence[Sample]) -> list[Score]:
        measured = [completion_length(s) for s in samples]
        lambdas = length_lambdas([n for n, _ in measured])
        out = []
        for s, (n, source), lam in zip(samples, measured, lambdas, strict=True):
            info = {"length": n, "length_source": source, "lambda": lam}
            correct = s.meta.get(META_KEY)
            if not isinstance(correct, bool):
                message = f"needs Sample.meta[{META_KEY!r}] as a bool, got {correct!r:.40}"
                out.append(Score(None, Status.ERROR, {}, info, ItemError("InputError", message)))
                continue
            out.append(Score(lam if correct else min(0.0, lam), info=info))
        return out

    def __repr__(self) -> str:
        return "GroupRelativeLength()"
