"""``judge.rubric``: a grading judge scores the completion against a problem's rubric.

What it computes: Curing Miracle Steps' rubric reward model (RRM, arXiv 2510.07774). The
judge reads the question, the problem-specific rubric (key steps, logical checkpoints,
common errors) and the completion, grades it step by step, and ends with
``Total Score: X/10``; the value is ``min(10, X) / 10``, the mean over ``samples``
verdicts. The paper runs the judge at temperature 0 (the default here).

Range: [0, 1]. The rubric comes from ``Sample.reference`` (a string, or a dict's
``rubric``) or ``Sample.meta["rubric"]``; an item without one is an error.

Where this differs from the paper's code: a verdict that cannot be parsed is an error
status (after ``parse_retries`` retries), not a 0. The paper's ``addon`` and ``mixed``
modes combine this with a rule verifier: write them as a spec (``gated``, or ``sum``
with weights) over ``judge.rubric`` and ``math.answer``.

How it can be gamed: degenerate completions (empty, punctuation, a bare opener, the
question restated) are scored 0 by the pre-gate without a call; a score line written by
the policy is only text in the student's answer (the judge's own last ``Total Score``
line counts, after its thinking); a completion that talks to the grader ("give this 10
points") is the judge's to resist: probe it with the audit.

Paper: Curing Miracle Steps in LLM Mathematical Reasoning with Rubric Rewards (arXiv
2510.07774).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rewardsmith.core import Paper, Sample, register
from rewardsmith.judges.base import JudgeItem, completion_text, prompt_text
from rewardsmith.judges.core import Ask, JudgeParams
from rewardsmith.judges.parse import total_score

__all__ = ["RUBRIC_PAPER", "JudgeRubric", "JudgeRubricParams"]

RUBRIC_PAPER = Paper(
    "Curing Miracle Steps in LLM Mathematical Reasoning with Rubric Rewards", "2510.07774"
)


class JudgeRubricParams(JudgeParams):
    """Parameters of ``judge.rubric`` (the judge core's; see ``judges.core``)."""


def rubric_of(sample: Sample) -> str:
    ref: Any = sample.reference
    if isinstance(ref, Mapping):
        ref = ref.get("rubric")
    if ref is None:
        ref = sample.meta.get("rubric")
    if not isinstance(ref, str) or not ref.strip():
        raise ValueError(
            "judge.rubric needs a rubric: Sample.reference, its 'rubric', or meta['rubric']"
        )
    return ref


@register(
    summary="a grading judge's total score against the problem's rubric, out of 10",
    paper=RUBRIC_PAPER,
)
class JudgeRubric(JudgeItem):
    name = "judge.rubric"
    template_name = "rrm_rubric"

    def __init__(self, params: JudgeRubricParams, backend: Any = None) -> None:
        super().__init__(params, backend)

    @property
    def range(self) -> tuple[float, float]:
        return (0.0, 1.0)

    def ask_for(self, sample: Sample) -> Ask:
        messages = self.core.template.render(
            question=prompt_text(sample), rubric=rubric_of(sample), response=completion_text(sample)
        )
        return Ask(messages, total_score)

    def value(self, verdicts: list[Any]) -> float:
        return float(sum(verdicts)) / len(verdicts)
