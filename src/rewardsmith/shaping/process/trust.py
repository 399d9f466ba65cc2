"""Trust-GRPO's trust-weighted thinking reward (SophiaVL-R1): ``process.trust_think``.

What it computes, per GRPO group (``Sample.group``), from each rollout's answer score
``a`` (the outcome reward, in [0, 1]) and its thinking reward ``t`` (a thinking reward
model's score of the reasoning, in [0, 1])::

    if every a >= 0.9 or every a <= 0.1:  t̃ = 0 for the whole group (skipped)
    else:  t̃ = t where a >= 0.2, else 0  (the code queries the model only there)
    μ_c = mean t̃ over rollouts with a >= 0.5      (0 if none)
    μ_w = mean t̃ over rollouts with a < 0.5       (0 if none)
    γ   = 1                if μ_c >= μ_w or no rollout has a >= 0.5
          exp(μ_c − μ_w)   otherwise
    value = γ · t̃

Range [0, 1]. ``parts`` hold ``gamma`` and ``think`` (t̃); ``info`` holds ``mu_correct``
and ``mu_wrong``. γ < 1 says the thinking reward model prefers the reasoning of wrong
answers in this group, so its verdict is trusted less.

The paper's full reward is ``r = r_outcome + α · γ · exp(−step/T) · t̃`` with α = 0.3 and
T = 500. Compose it in a spec (the ``exponential`` schedule is the annealing)::

    sum:
      - {use: my.answer_reward}
      - schedule:
          reward: {use: process.trust_think}
          weight: {kind: exponential, start: 0.3, tau: 500}

Where the scores come from: ``Sample.meta[answer_key]`` (default ``"answer_score"``) for
every rollout, and ``Sample.meta[think_key]`` (default ``"think_score"``) where it is used
(a >= 0.2 in a group that is not skipped); the thinking model is queried in an earlier
pass. A missing or malformed score fails the whole group: γ depends on every member.

Paper: SophiaVL-R1: Reinforcing MLLMs Reasoning with Thinking Reward (arXiv 2505.17018).
Code: ``kxfan2002/SophiaVL-R1``, ``verl/workers/reward/custom.py``.

Known issues: the code logs ``gamma = exp(2Δ)`` but applies ``exp(Δ)``; the applied one
is implemented. The thresholds 0.9/0.1/0.5/0.2 are the code's and assume answer scores in
[0, 1]. How it can be gamed: through the thinking model, which is a learned judge; γ only
discounts it when it systematically prefers wrong answers' reasoning within a group.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from rewardsmith.core import GroupReward, Paper, Params, Sample, Score, register
from rewardsmith.shaping._meta import meta_number

__all__ = ["SOPHIAVL", "TrustParams", "TrustThink", "skipped_group", "trust_weight"]

SOPHIAVL = Paper("SophiaVL-R1: Reinforcing MLLMs Reasoning with Thinking Reward", "2505.17018")
SKIP_HIGH, SKIP_LOW, QUERY_MIN, CORRECT_MIN = 0.9, 0.1, 0.2, 0.5


def _mean(xs: Sequence[float]) -> float:
    return math.fsum(xs) / len(xs) if xs else 0.0


def trust_weight(answers: Sequence[float], thinks: Sequence[float]) -> tuple[float, float, float]:
    """γ and (μ_c, μ_w) for a group, from answer scores and the used thinking rewards t̃."""
    correct = [t for a, t in zip(answers, thinks, strict=True) if a >= CORRECT_MIN]
    wrong = [t for a, t in zip(answers, thinks, strict=True) if a < CORRECT_MIN]
    mu_c, mu_w = _mean(correct), _mean(wrong)
    gamma = 1.0 if mu_c >= mu_w or not correct else math.exp(mu_c - mu_w)
    return gamma, mu_c, mu_w


def skipped_group(answers: Sequence[float]) -> bool:
    """All answers right (>= 0.9) or all wrong (<= 0.1): no thinking reward for the group."""
    return all(a >= SKIP_HIGH for a in answers) or all(a <= SKIP_LOW for a in answers)


class TrustParams(Params):
    answer_key: str = "answer_score"
    """The ``meta`` key of the outcome reward in [0, 1]."""
    think_key: str = "think_score"
    """The ``meta`` key of the thinking reward model's score in [0, 1]."""


@register(
    paper=SOPHIAVL,
    summary="Trust-GRPO: thinking reward times gamma = exp(mu_c - mu_w) when the group's wrong answers think 'better'",
)
class TrustThink(GroupReward):
    name = "process.trust_think"

    def __init__(self, params: TrustParams) -> None:
        self.params = params

    def part_names(self) -> list[str]:
        return ["gamma", "think"]

    def score_group(self, samples: Sequence[Sample]) -> list[Score]:
        p = self.params
        answers = [meta_number(s, p.answer_key) for s in samples]
        if skipped_group(answers):
            thinks = [0.0] * len(samples)
        else:
            thinks = [
                meta_number(s, p.think_key) if a >= QUERY_MIN else 0.0
                for s, a in zip(samples, answers, strict=True)
            ]
        gamma, mu_c, mu_w = trust_weight(answers, thinks)
        info = {"mu_correct": mu_c, "mu_wrong": mu_w}
        return [Score.ok(gamma * t, info, gamma=gamma, think=t) for t in thinks]

    def __repr__(self) -> str:
        return f"TrustThink({self.params!r})"
