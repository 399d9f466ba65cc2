"""CRAFT's deterministic rewards: ``craft.format`` and ``craft.answer``.

What they check, both in [0, 1] (Liu, Zhang et al., "CRAFT: Calibrated Reasoning with
Answer-Faithful Traces", arXiv 2602.01348):

- ``craft.format``: 1 if the completion is exactly the template's tag blocks in order
  (v1: ``<plan><gold_docs><reason><answer>``), whitespace between them, each tag once.
- ``craft.answer``: 1 if the format holds and the ``<answer>`` block equals a gold answer
  after SQuAD normalisation (the reference as ``qa.*`` reads it), else 0.

The catalog gives the tag sequence but not CRAFT's exact regex or normaliser (its code
was not read): both are our reconstruction; ``tags`` sets the template (``["answer"]``
for v5).

Known failure modes and how they are gamed: the format check looks only at the tags, so
empty or copied blocks (``<plan></plan>``) pass it; ``craft.answer`` inherits SQuAD
normalisation's blind spots (articles and punctuation are dropped, so "the Paris." is
"paris").
"""

from __future__ import annotations

import re

from pydantic import Field, field_validator

from rewardsmith.core import ItemReward, Paper, Params, Sample, Score, register
from rewardsmith.verifiable.extract import last_tag_block
from rewardsmith.verifiable.qa import golds, matches_gold

__all__ = ["CRAFT", "CraftAnswer", "CraftFormat", "CraftParams", "craft_format_ok"]

CRAFT = Paper("CRAFT: Calibrated Reasoning with Answer-Faithful Traces", "2602.01348")


class CraftParams(Params):
    tags: list[str] = Field(
        default_factory=lambda: ["plan", "gold_docs", "reason", "answer"], min_length=1
    )
    """The template's tags in order (CRAFT v1 by default; ``["answer"]`` for v5)."""

    @field_validator("tags")
    @classmethod
    def _names(cls, tags: list[str]) -> list[str]:
        for tag in tags:
            if not re.fullmatch(r"[A-Za-z_][\w-]*", tag):
                raise ValueError(f"not a tag name: {tag!r}")
        return tags


def craft_format_ok(text: str, tags: list[str]) -> bool:
    """The completion is exactly ``<t1>..</t1> <t2>..</t2> ...``, each tag once."""
    pattern = r"\s*" + r"\s*".join(rf"<{t}>.*?</{t}>" for t in tags) + r"\s*"
    if not re.fullmatch(pattern, text, re.DOTALL):
        return False
    return all(text.count(f"<{t}>") == 1 and text.count(f"</{t}>") == 1 for t in tags)


@register(
    paper=CRAFT,
    summary="1 if the completion is exactly CRAFT's tag template in order, each tag once",
)
class CraftFormat(ItemReward):
    name = "craft.format"

    def __init__(self, params: CraftParams) -> None:
        self.params = params

    def score_one(self, sample: Sample) -> Score:
        return Score(float(craft_format_ok(sample.text, self.params.tags)))


@register(
    paper=CRAFT,
    summary="1 if CRAFT's format holds and the <answer> matches a gold answer (normalised)",
)
class CraftAnswer(ItemReward):
    name = "craft.answer"

    def __init__(self, params: CraftParams) -> None:
        self.params = params

    def score_one(self, sample: Sample) -> Score:
        answers = golds(sample.reference)
        if not answers:
            raise ValueError(f"reference has no gold answer: {sample.reference!r:.80}")
        if not craft_format_ok(sample.text, self.params.tags):
            return Score(0.0, info={"reason": "format invalid"})
        block = last_tag_block(sample.text) or ""
        right = matches_gold(block, answers)  # an empty answer matches no gold, "A" included
        return Score(float(right), info={"answer": block.strip()[:200]})
