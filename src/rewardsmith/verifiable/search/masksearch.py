"""MaskSearch's answer reward: token recall of the filled masks against the gold spans.

What it checks: the agent fills each ``[mask]`` of a passage (the RAMP task) and answers
with the fillers in its last ``<answer>`` block (for chat trajectories, the answer that
``read_trajectory`` finds). The reward is token recall over all the gold spans together,
after SQuAD normalisation (``qa.squad_normalize``)::

    recall = |tok(answer) ∩ tok(gold spans)| / |tok(gold spans)|   (multiset intersection)

in [0, 1]; 0 with no answer. The reference is the list of gold spans, one per mask, or a
dict with ``masks`` (or any key ``qa.golds`` reads); every span is required, unlike QA
references where the list holds alternatives.

Paper: MaskSearch: A Universal Pre-Training Framework to Enhance Agentic Search Capability
(arXiv 2505.20285). Its code has no reward file; the catalog recalls token recall (the
evaluation metric), a length-penalised recall and an LLM judge, with the penalty's form
"not found". Our choice: with ``max_length_ratio`` = k, an answer longer than k × the
gold tokens is scaled by k·|gold| / |answer|. The paper's format reward is ``format.*``
or ``search.parallel``'s structure term, not this one.

How it can be gamed, and the guard (on by default; ``max_length_ratio=None`` is plain
recall, the paper's metric): recall alone is maximised by listing every candidate (or
echoing the passage), which earns 1. Guard: ``max_length_ratio`` (2): an answer over
twice the gold's tokens is scaled down in proportion. Still open: order is ignored, so
spans put in the wrong masks still earn full recall; within the ratio a few extra
guesses cost nothing.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from rewardsmith.core import ItemReward, Paper, Params, Sample, Score, register
from rewardsmith.verifiable.qa import golds, squad_normalize, token_f1
from rewardsmith.verifiable.search.trajectory import DEFAULT_SEARCH_TOOLS, read_trajectory

__all__ = ["MASKSEARCH", "MaskRecall", "MaskRecallParams"]

MASKSEARCH = Paper(
    "MaskSearch: A Universal Pre-Training Framework to Enhance Agentic Search Capability",
    "2505.20285",
)


class MaskRecallParams(Params):
    max_length_ratio: float | None = Field(2.0, gt=0.0)
    """Scale answers longer than this many times the gold tokens (not in the paper;
    None: plain recall)."""
    search_tools: frozenset[str] = DEFAULT_SEARCH_TOOLS


@register(
    paper=MASKSEARCH, summary="MaskSearch: token recall of the answer over all gold mask spans"
)
class MaskRecall(ItemReward):
    name = "search.masksearch_recall"

    def __init__(self, params: MaskRecallParams) -> None:
        self.params = params

    def part_names(self) -> list[str]:
        return ["recall"]

    def score_one(self, sample: Sample) -> Score:
        gold = squad_normalize(" ".join(_spans(sample.reference))).split()
        if not gold:
            raise ValueError(f"reference has no gold span: {sample.reference!r:.80}")
        answer = read_trajectory(sample, self.params.search_tools).answer
        if answer is None:
            return Score(0.0, info={"reason": "no answer"})
        pred = squad_normalize(answer).split()
        recall = token_f1(pred, gold)[2]
        value, k = recall, self.params.max_length_ratio
        if k is not None and len(pred) > k * len(gold):
            value *= k * len(gold) / len(pred)
        return Score(value, parts={"recall": recall}, info={"answer": answer[:200]})


def _spans(reference: Any) -> list[str]:
    if isinstance(reference, dict) and "masks" in reference:
        return golds(reference["masks"])
    return golds(reference)
