"""``judge.sentences``: TRM's per-sentence faithfulness-then-correctness judgement.

What it computes: the thinking-supervised reward model of "From Faithfulness to
Correctness" (TRM, arXiv 2509.25409). The answer is split into sentences; for each, in
order, the judge decides whether it is supported by the documents (faithfulness), gives
a reason that weighs that against its own knowledge, and decides whether it is correct.
The judge answers with one JSON list, an object per sentence; the parser checks there is
exactly one per sentence, in order, with 0/1 scores.

Value: the share of sentences judged correct (``info["faithful"]`` keeps the share judged
faithful, ``parts`` both). The paper's aggregation of sentence scores was not found: the
share is rewardsmith's choice. Range [0, 1].

Sentences: split after ``.``, ``!``, ``?``, ``。``, ``！``, ``？`` and at line breaks; at
most ``max_sentences`` (an answer with more is an error: a judge cannot be trusted to
number hundreds of lines, and a policy must not dilute a wrong claim among filler). The
documents are read as ``judge.faithfulness`` reads them.

How it can be gamed (the paper's pitfall): a share of correct sentences rewards hedging
and short answers ("It depends.") unless it is paired with a usefulness reward, as TRM
is with an auxiliary RM; padding with true filler raises the share, which the sentence cap
and a length term bound. Degenerate completions get 0 from the pre-gate without a call.

Paper: From Faithfulness to Correctness: Generative Reward Models that Think Critically
(TRM, arXiv 2509.25409).
"""

from __future__ import annotations

import functools
import re
from typing import Any

from pydantic import Field

from rewardsmith.core import Paper, Sample, Score, register
from rewardsmith.judges.base import JudgeItem, completion_text, prompt_text
from rewardsmith.judges.core import Answer, Ask, JudgeParams
from rewardsmith.judges.faithfulness import documents_text
from rewardsmith.judges.parse import ParseError, json_object

__all__ = [
    "TRM",
    "JudgeSentences",
    "JudgeSentencesParams",
    "sentence_spans",
    "sentence_verdicts",
    "split_sentences",
]

TRM = Paper(
    "From Faithfulness to Correctness: Generative Reward Models that Think Critically", "2509.25409"
)
_SPLIT = re.compile(r"(?<=[.!?。！？])\s+|\n+|(?<=[。！？])")


class JudgeSentencesParams(JudgeParams):
    """Parameters of ``judge.sentences`` (the judge core's, and the sentence cap)."""

    max_sentences: int = Field(40, ge=1, le=200)


def split_sentences(text: str) -> list[str]:
    """The non-empty sentences of ``text``.

    Example:
        >>> split_sentences("Paris is the capital. It is in France!\\nThe end")
        ['Paris is the capital.', 'It is in France!', 'The end']
    """
    return [sentence for sentence, _ in sentence_spans(text)]


def sentence_spans(text: str) -> list[tuple[str, int]]:
    """Each non-empty sentence of ``text`` (stripped) and the character offset where it ends
    in ``text``: where a dense reward for it belongs.

    Example:
        >>> sentence_spans("It is 5. Yes.")
        [('It is 5.', 8), ('Yes.', 13)]
    """
    out, start = [], 0
    for cut in [*_SPLIT.finditer(text), None]:
        end = cut.start() if cut is not None else len(text)
        piece = text[start:end]
        if piece.strip():
            out.append((piece.strip(), start + len(piece.rstrip())))
        if cut is not None:
            start = cut.end()
    return out


def sentence_verdicts(
    text: str, n: int, keys: tuple[str, ...] = ("faithful", "correct")
) -> list[tuple[int, ...]]:
    """The 0/1 ``keys`` of sentences 1..n, in order, from the judge's JSON list."""
    data = json_object(text)
    if not isinstance(data, list) or len(data) != n:
        raise ParseError(f"a list of {n} sentence objects is needed")
    out = []
    for k, entry in enumerate(data, 1):
        if not isinstance(entry, dict) or entry.get("sentence") != k:
            raise ParseError(f'entry {k} must be an object with "sentence": {k}')
        scores = [entry.get(key) for key in keys]
        if any(isinstance(v, bool) or v not in (0, 1) for v in scores):
            raise ParseError(f"sentence {k}: {' and '.join(keys)} must be 0 or 1")
        out.append(tuple(int(v) for v in scores))  # type: ignore[arg-type]
    return out


@register(
    summary="a judge's per-sentence faithfulness then correctness; the share correct", paper=TRM
)
class JudgeSentences(JudgeItem):
    name = "judge.sentences"
    template_name = "trm_sentences"

    def __init__(self, params: JudgeSentencesParams, backend: Any = None) -> None:
        super().__init__(params, backend)

    @property
    def range(self) -> tuple[float, float]:
        return (0.0, 1.0)

    def part_names(self) -> list[str]:
        return ["faithful", "correct"]

    def ask_for(self, sample: Sample) -> Ask:
        sentences = split_sentences(completion_text(sample))
        limit = self.params.max_sentences  # type: ignore[attr-defined]
        if len(sentences) > limit:
            raise ValueError(
                f"judge.sentences: {len(sentences)} sentences, over max_sentences={limit}"
            )
        numbered = "\n".join(f"{k}. {s}" for k, s in enumerate(sentences, 1))
        messages = self.core.template.render(
            question=prompt_text(sample), documents=documents_text(sample), sentences=numbered
        )
        return Ask(messages, functools.partial(sentence_verdicts, n=len(sentences)))

    def value(self, verdicts: list[Any]) -> float:
        shares = [sum(c for _, c in v) / len(v) for v in verdicts]
        return float(sum(shares)) / len(shares)

    def to_score(self, answer: Answer) -> Score:
        score = super().to_score(answer)
        if answer.error is None and score.value is not None:
            faithful = [sum(f for f, _ in v) / len(v) for v in answer.verdicts]
            share = float(sum(faithful)) / len(faithful)
            return type(score)(
                score.value,
                parts={"faithful": share, "correct": score.value},
                info={**score.info, "faithful": share},
            )
        return score
