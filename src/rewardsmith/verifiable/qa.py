"""Short-answer QA rewards: exact match, token F1 and cover exact match.

What they check: the model's answer (the last ``<answer>...</answer>`` block, or the whole
completion when ``require_tags`` is off and there is none) against one or several gold
answers after SQuAD v1.1 normalisation (lowercase, drop ASCII punctuation, drop the
articles a/an/the, collapse whitespace). The best match over the gold answers counts.

- ``qa.exact_match``: 1 if the normalised answer equals a normalised gold answer, else 0.
- ``qa.f1``: token-level F1 against the best gold answer, in [0, 1]; parts hold the
  precision and recall of that gold answer.
- ``qa.cover_em``: 1 if a normalised gold answer appears in the normalised answer as a
  whole-token span (SubEM), else 0.

Papers: SQuAD (Rajpurkar et al., arXiv 1606.05250) for the normalisation and F1;
Search-R1 (Jin et al., arXiv 2503.09516) for EM on the last ``<answer>`` block.

Two guards on SQuAD's normalisation, so that nothing is paid for nothing: a gold answer
that normalises to nothing (``A``, ``The``, ``?``: an option letter or a punctuation
answer) is compared as written (lowercased, spaces collapsed), so an empty answer never
matches it; and a decimal point between digits is kept, so ``1.5`` is not ``15``.

Known failure modes and how they are gamed: the normalisation is ASCII and English only
(CJK punctuation and non-English articles are kept). ``qa.cover_em`` is gamed by long
answers that list many candidates: pair it with a length term or use ``max_answer_tokens``
(answers longer than that earn 0). F1 rewards partially right spans, so a hedged
answer ("Paris or Lyon") earns 0.5 against "Paris".

The reference is a string, a list of accepted strings, or a dict with ``target`` /
``answers``/``answer``.
"""

from __future__ import annotations

import re
import string
from collections.abc import Sequence
from typing import Any

from rewardsmith.core import ItemReward, Paper, Params, Sample, Score, register
from rewardsmith.verifiable.extract import last_tag_block

__all__ = ["QAParams", "gold_forms", "golds", "matches_gold", "squad_normalize", "token_f1"]

SQUAD = Paper("SQuAD: 100,000+ Questions for Machine Comprehension of Text", "1606.05250")
SEARCH_R1 = Paper(
    "Search-R1: Training LLMs to Reason and Leverage Search Engines with RL", "2503.09516"
)

_PUNCT = str.maketrans("", "", string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b")
_DECIMAL_POINT = re.compile(r"(?<=[0-9])\.(?=[0-9])")
_KEPT_POINT = "\u2024"  # one dot leader: survives punctuation stripping, restored after


def squad_normalize(s: str) -> str:
    """SQuAD v1.1 normalisation, in its order: lowercase, punctuation, articles, spaces;
    a decimal point between digits is kept (``1.5`` is not ``15``)."""
    s = _DECIMAL_POINT.sub(_KEPT_POINT, s.lower()).translate(_PUNCT).replace(_KEPT_POINT, ".")
    return " ".join(_ARTICLES.sub(" ", s).split())


def _as_written(s: str) -> str:
    return " ".join(s.lower().split())


def gold_forms(answers: Sequence[str]) -> list[tuple[str, bool]]:
    """Each gold answer as it is compared: normalised, or, when that leaves nothing
    (``A``, ``The``, ``?``), as written; the flag says which."""
    out = []
    for g in answers:
        normal = squad_normalize(g)
        out.append((normal, False) if normal else (_as_written(g), True))
    return [(text, raw) for text, raw in out if text]


def matches_gold(answer: str, answers: Sequence[str]) -> bool:
    """Exact match of ``answer`` against any gold answer, with the guards above: an answer
    that normalises to nothing matches nothing."""
    pred, raw = squad_normalize(answer), _as_written(answer)
    return any((raw if as_written else pred) == text for text, as_written in gold_forms(answers))


def golds(reference: Any) -> list[str]:
    """The accepted answers in a reference; an empty list means the reference is unusable."""
    if isinstance(reference, dict):
        for key in ("target", "answers", "answer", "ground_truth"):
            if key in reference:
                return golds(reference[key])
        return []
    if isinstance(reference, str):
        return [reference] if reference.strip() else []
    if isinstance(reference, int | float) and not isinstance(reference, bool):
        return [str(reference)]
    if isinstance(reference, list | tuple | Sequence):
        return [str(g) for g in reference if isinstance(g, str | int | float) and str(g).strip()]
    return []


class QAParams(Params):
    require_tags: bool = True
    """Only the last ``<answer>`` block counts; without one the answer is missing (0)."""
    max_answer_tokens: int | None = None
    """Answers with more normalised tokens than this earn 0 (a guard against listing)."""


class _QAReward(ItemReward):
    def __init__(self, params: QAParams) -> None:
        self.params = params

    def score_one(self, sample: Sample) -> Score:
        answers = golds(sample.reference)
        if not answers:
            raise ValueError(f"reference has no gold answer: {sample.reference!r:.80}")
        answer = last_tag_block(sample.text)
        if answer is not None:
            answer = answer.strip()
        elif not self.params.require_tags:
            answer = sample.text
        if answer is None:
            return Score(0.0, info={"reason": "no <answer> block"})
        pred = squad_normalize(answer)
        info = {"answer": answer[:200]}
        limit = self.params.max_answer_tokens
        if limit is not None and len(pred.split()) > limit:
            return Score(0.0, info={**info, "reason": f"answer over {limit} tokens"})
        forms = gold_forms(answers)
        if not pred and not any(raw for _, raw in forms):
            return Score(0.0, info={**info, "reason": "empty answer"})
        written = _as_written(answer)
        pairs = [(written if raw else pred, text) for text, raw in forms]
        return self.match(pairs, info)

    def match(self, pairs: list[tuple[str, str]], info: dict[str, Any]) -> Score:
        """Score (prediction, gold) pairs, each in the same form."""
        raise NotImplementedError


@register(
    paper=SEARCH_R1, summary="1 if the last <answer> equals a gold answer after SQuAD normalisation"
)
class ExactMatch(_QAReward):
    name = "qa.exact_match"

    def match(self, pairs: list[tuple[str, str]], info: dict[str, Any]) -> Score:
        return Score(float(any(p == g for p, g in pairs if p)), info=info)


@register(
    paper=SEARCH_R1,
    summary="1 if a normalised gold answer appears as a token span in the answer (SubEM)",
)
class CoverEM(_QAReward):
    name = "qa.cover_em"

    def match(self, pairs: list[tuple[str, str]], info: dict[str, Any]) -> Score:
        return Score(float(any(g and f" {g} " in f" {p} " for p, g in pairs)), info=info)


@register(paper=SQUAD, summary="token F1 of the last <answer> against the best gold answer (SQuAD)")
class F1(_QAReward):
    name = "qa.f1"

    def part_names(self) -> list[str]:
        return ["precision", "recall"]

    def match(self, pairs: list[tuple[str, str]], info: dict[str, Any]) -> Score:
        best = (0.0, 0.0, 0.0)
        for p, g in pairs:
            best = max(best, token_f1(p.split(), g.split()))
        f1, precision, recall = best
        return Score(f1, parts={"precision": precision, "recall": recall}, info=info)


def token_f1(pred: list[str], gold: list[str]) -> tuple[float, float, float]:
    """Precision, recall and F1 of the multiset overlap of two token lists (SQuAD)."""
    counts: dict[str, int] = {}
    for tok in gold:
        counts[tok] = counts.get(tok, 0) + 1
    same = 0
    for tok in pred:  # the size of the multiset intersection, without building Counters
        left = counts.get(tok, 0)
        if left:
            counts[tok] = left - 1
            same += 1
    if same == 0:
        return (0.0, 0.0, 0.0)
    p, r = same / len(pred), same / len(gold)
    return (2 * p * r / (p + r), p, r)
