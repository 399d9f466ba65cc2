"""``judge.segments``: Fine-Grained RLHF's dense factuality reward, one reward per sentence.

What it computes: the sentence-level factuality reward R2 of Fine-Grained RLHF (arXiv
2306.01693, QA-Feedback): each sentence of the answer gets ``+reward`` if it is factual
given the passages and ``-reward`` if not (0.5 in the paper), placed on the sentence's
last token. The paper's classifier is a trained Longformer; here a judge model labels
the sentences (a JSON list, one ``{"sentence": k, "factual": 0 or 1}`` per sentence,
checked to cover every sentence in order).

Value: the sum over sentences (what a sequence-level trainer sees); ``info["segments"]``
keeps the dense form, ``[{"end": character offset in the completion, "reward": r}]``, for
a trainer that places each reward on the token where its sentence ends (map the offset
through the tokenizer's offsets). ``parts["factual"]`` is the share of factual sentences.
Range: [-reward x max_sentences, reward x max_sentences].

The other terms of the paper need their trained classifiers: R1 (relevance, repetition,
coherence per sub-sentence, ±0.3) is ``rm.segments``, the paper's token classifier read at
each sub-sentence, with the same dense ``info["segments"]``; R3 (information
completeness, a sequence-level preference RM) is ``rm.score`` with that model, normalised
as the paper does with ``transform.affine``.

How it can be gamed (the paper's pitfall): fewer sentences make fewer errors, so short
answers minimise the penalty; the completeness term (R3) is what pays for saying enough.
Padding with true trivia adds +0.5 a sentence: bound it with ``max_sentences`` and a
length term. Degenerate completions get ``-reward`` from the pre-gate without a call, as
one non-factual sentence would: saying nothing never beats a wrong answer.

Paper: Fine-Grained Human Feedback Gives Better Rewards for Language Model Training
(arXiv 2306.01693).
"""

from __future__ import annotations

import functools
from typing import Any

from pydantic import Field

from rewardsmith.core import Paper, Sample, Score, register
from rewardsmith.judges.base import JudgeItem, completion_text, prompt_text
from rewardsmith.judges.core import Answer, Ask, JudgeParams
from rewardsmith.judges.faithfulness import documents_text
from rewardsmith.judges.sentences import sentence_spans, sentence_verdicts

__all__ = ["FINE_GRAINED", "JudgeSegments", "JudgeSegmentsParams"]

FINE_GRAINED = Paper(
    "Fine-Grained Human Feedback Gives Better Rewards for Language Model Training", "2306.01693"
)


class JudgeSegmentsParams(JudgeParams):
    """Parameters of ``judge.segments`` (the judge core's, and these)."""

    reward: float = Field(0.5, gt=0.0, le=10.0, allow_inf_nan=False)
    """+reward for a factual sentence, -reward for another (the paper's R2: 0.5)."""
    max_sentences: int = Field(40, ge=1, le=200)


@register(
    summary="a judge's factual/not label per sentence as dense +-0.5 rewards, summed",
    paper=FINE_GRAINED,
)
class JudgeSegments(JudgeItem):
    name = "judge.segments"
    template_name = "fgrlhf_factuality"

    def __init__(self, params: JudgeSegmentsParams, backend: Any = None) -> None:
        super().__init__(params, backend)
        self.reward = params.reward
        self.max_sentences = params.max_sentences

    @property
    def range(self) -> tuple[float, float]:
        bound = self.reward * self.max_sentences
        return (-bound, bound)

    @property
    def floor(self) -> float:
        """A degenerate completion scores as one non-factual sentence: never above a wrong
        answer (0, no sentence at all, would beat every answer with one error)."""
        return -self.reward

    def part_names(self) -> list[str]:
        return ["factual"]

    def ask_for(self, sample: Sample) -> Ask:
        spans = sentence_spans(completion_text(sample))
        if len(spans) > self.max_sentences:
            raise ValueError(
                f"judge.segments: {len(spans)} sentences, over max_sentences={self.max_sentences}"
            )
        numbered = "\n".join(f"{k}. {s}" for k, (s, _) in enumerate(spans, 1))
        messages = self.core.template.render(
            question=prompt_text(sample), documents=documents_text(sample), sentences=numbered
        )
        parse = functools.partial(sentence_verdicts, n=len(spans), keys=("factual",))
        return Ask(messages, functools.partial(_with_ends, parse=parse, ends=[e for _, e in spans]))

    def value(self, verdicts: list[Any]) -> float:
        dense = [self._dense(labels, ends) for labels, ends in verdicts]
        return sum(sum(r["reward"] for r in d) for d in dense) / len(dense)

    def _dense(self, labels: list[tuple[int, ...]], ends: list[int]) -> list[dict[str, float]]:
        return [
            {"end": end, "reward": self.reward if f else -self.reward}
            for (f,), end in zip(labels, ends, strict=True)
        ]

    def to_score(self, answer: Answer) -> Score:
        if answer.error is not None:
            return super().to_score(answer)
        value = self.value(answer.verdicts)
        shares = [sum(f for (f,) in labels) / len(labels) for labels, _ in answer.verdicts]
        factual = sum(shares) / len(shares)
        segments = self._dense(*answer.verdicts[0])
        info = {"judge": self.core.template.key, **answer.info(), "segments": segments}
        info["verdicts"] = [[f for (f,) in labels] for labels, _ in answer.verdicts]
        return Score(value, parts={"factual": factual}, info=info)


def _with_ends(text: str, parse: Any, ends: list[int]) -> tuple[list[tuple[int, ...]], list[int]]:
    """The sentence labels with the sentences' end offsets (the ask's, kept beside them)."""
    return parse(text), ends
