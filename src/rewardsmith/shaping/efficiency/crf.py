"""The Conciseness Reward Function (CRF): ``efficiency.crf``.

What it checks: nothing in the text. It combines a correctness verdict with a conciseness
score, so that conciseness only pays when the answer is right::

    R̂ = R° · [1 + α · c · (s + d_q)]

- ``R°``: the outcome reward, 0 or 1, from ``Sample.meta[correct_key]`` (default
  ``"correct"``; a bool, or the number 0 or 1);
- ``c``: the conciseness score of the reasoning path in [0, 1] (the paper's CRM gives
  [0.1, 1.0]), from ``Sample.meta[conciseness_key]`` (default ``"conciseness"``);
- ``s``: the training-stage annealing coefficient, the ``s`` parameter (>= 0);
- ``d_q``: the question's difficulty factor in [0, 1], from ``Sample.meta[difficulty_key]``
  (default ``"difficulty"``); with ``difficulty_key: null`` it is 0 for every item;
- ``α``: the ``alpha`` parameter (>= 0).

Range: 0 when wrong; ``[1, 1 + α·(s + 1)]`` when right, so ``[0, 1 + α·(s + 1)]``.
``parts`` hold ``correct``, ``conciseness`` and ``difficulty``.

Why every input comes from ``meta``: the conciseness score is a model's output (the
paper's 3B Conciseness Reward Model) and the verdict is another reward's; score them in
an earlier pass and put them in ``meta``, as ``length.group_relative`` does for
correctness. The catalog defines ``c`` by that model, not by length, so no length proxy is
offered here; use ``length.*`` rewards for length.

In a spec::

    use: efficiency.crf
    with: {alpha: 0.5, s: 1.0}

Paper: Efficient Reasoning via Reward Model (CRM + CRF; Wang et al., arXiv 2511.09158).

Known issues: the exact definitions of ``s`` and ``d_q`` and the value of ``α`` were not
found (the formula is quoted from an OpenReview review), so ``alpha`` and ``s`` are
required parameters and ``d_q`` is whatever the caller supplies in [0, 1]. To anneal
``s`` over training, rebuild the reward or compose ``R°·α·c`` terms under a ``schedule``.
How it can be gamed, and the guards: through the conciseness scorer; its biases
(favouring terse text, say) become the policy's, so ``c`` must come from a model the
policy cannot address (not from the completion). The correctness gate is the paper's own
guard: a wrong answer earns 0 however concise (an empty or evasive answer included), and
nothing is paid without ``meta`` inputs (a missing verdict or score is an error, not a
0). Parameters are bounded at build time: ``alpha`` and ``s`` must be finite and
``1 + α·(s + 1)``, the top of the range, must be a finite float (before, ``alpha = s =
1e200`` scored ``inf`` with status ok); within that bound every value is finite.
"""

from __future__ import annotations

import math

from pydantic import Field, model_validator

from rewardsmith.core import ItemReward, Paper, Params, Sample, Score, register
from rewardsmith.shaping._meta import meta_correct, meta_number

__all__ = ["CRF", "Crf", "CrfParams", "crf_value"]

CRF = Paper("Efficient Reasoning via Reward Model (CRM + CRF)", "2511.09158")


def crf_value(correct: bool, c: float, alpha: float, s: float, d_q: float = 0.0) -> float:
    """``R° · [1 + α · c · (s + d_q)]`` with ``R°`` = 1 for a correct answer, else 0."""
    return (1.0 + alpha * c * (s + d_q)) if correct else 0.0


class CrfParams(Params):
    alpha: float = Field(ge=0.0, allow_inf_nan=False)
    """α, the weight of the conciseness bonus (value not found in the catalog)."""
    s: float = Field(ge=0.0, allow_inf_nan=False)
    """The annealing coefficient for the current training stage (definition not found)."""
    correct_key: str = "correct"
    """The ``meta`` key of the 0/1 correctness verdict ``R°``."""
    conciseness_key: str = "conciseness"
    """The ``meta`` key of the conciseness score ``c`` in [0, 1]."""
    difficulty_key: str | None = "difficulty"
    """The ``meta`` key of the difficulty ``d_q`` in [0, 1]; None for ``d_q = 0``."""

    @model_validator(mode="after")
    def _finite_range(self) -> CrfParams:
        top = 1.0 + self.alpha * (self.s + 1.0)
        if not math.isfinite(top):
            raise ValueError(
                f"1 + alpha * (s + 1), the largest value, must be finite; got alpha "
                f"{self.alpha!r} and s {self.s!r}"
            )
        return self


@register(
    paper=CRF,
    summary="R_o * [1 + alpha * c * (s + d_q)]: conciseness c from meta pays only when correct",
)
class Crf(ItemReward):
    name = "efficiency.crf"
    max_chars = None  # the text is never parsed

    def __init__(self, params: CrfParams) -> None:
        self.params = params

    @property
    def range(self) -> tuple[float, float]:
        p = self.params
        return (0.0, 1.0 + p.alpha * (p.s + (1.0 if p.difficulty_key is not None else 0.0)))

    def part_names(self) -> list[str]:
        return ["correct", "conciseness", "difficulty"]

    def score_one(self, sample: Sample) -> Score:
        p = self.params
        correct = meta_correct(sample, p.correct_key)
        c = meta_number(sample, p.conciseness_key)
        d_q = meta_number(sample, p.difficulty_key) if p.difficulty_key is not None else 0.0
        value = crf_value(correct, c, p.alpha, p.s, d_q)
        return Score.ok(value, correct=float(correct), conciseness=c, difficulty=d_q)
