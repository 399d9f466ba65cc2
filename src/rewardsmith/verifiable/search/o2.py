"""O²-Searcher's rewards: exact match for closed-ended questions, bullet format for open ones.

What it checks: O²-Searcher trains one agent on closed-ended questions (a short answer)
and open-ended ones (a list of findings). Closed-ended: ``r = EM(answer, golds)`` in
{0, 1}, Search-R1's rule with format score 0. Open-ended::

    r = 0.5 · (1·R_fmt + 1·R_fact + 0.5·R_div) / 2.5        # in [0, 0.5]

``search.o2_format`` is R_fmt alone, in [0, 1], on the last ``<answer>`` block: lines must
start with "- "; f = 1 − bad lines / lines; c = min(bullets / 10, 1); d = max(0,
1 − s^1.5) with s = 0.5·(max pairwise TF-IDF cosine) + 0.3·(2·#pairs above 0.6 / #pairs)
+ 0.2·(mean pairwise cosine) over the bullets (1 for at most one bullet, 0.5 when no
bullet has a word of two characters, sklearn's fallback); dup = 1 − unique / bullets;
R_fmt = clip((0.5f + 0.3c + 0.5d) / 1.3 − 3·dup, 0, 1). The TF-IDF is sklearn's
``TfidfVectorizer`` defaults, re-implemented: lowercase, tokens ``\\b\\w\\w+\\b``,
idf = ln((1 + n) / (1 + df)) + 1, l2-normalised rows.

``search.o2_searcher`` scores closed-ended items (any reference ``qa.golds`` reads) with EM.
Open-ended items (a dict reference with ``findings``) need R_fact (all-MiniLM-L6-v2
embeddings, Hungarian matching at 0.75, F1) and R_div (embedding distances between the
queries): neither is implemented, so those items come back ``skipped`` rather than with a
made-up value; score them with ``search.o2_format`` plus your own fact and diversity terms.

Paper: O²-Searcher: A Searching-based Agent Model for Open-Domain Open-Ended Question
Answering (arXiv 2505.16582), code ``Acade-Mate/O2-Searcher``
``o2searcher/rewards/{__init__,rewards_format}.py``.

Departures: the code needs at least two ``<answer>`` blocks because the decoded text
includes the prompt's example; we read the response alone, so one suffices. Kept from
the code: an answer with no bullet at all scores 0 (its duplicate ratio is
1 − 0 / max(1, 0) = 1). Gaming: ten distinct, dissimilar bullets of anything earn full
R_fmt; it checks shape, not content.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from itertools import combinations

from rewardsmith.core import ItemReward, NoParams, Paper, Sample, Score, register
from rewardsmith.verifiable.extract import last_tag_block
from rewardsmith.verifiable.search._common import em, gold_answers, reference_field
from rewardsmith.verifiable.search.trajectory import as_text, read_trajectory

__all__ = ["O2_SEARCHER", "O2Format", "O2Searcher", "bullet_format_score", "tfidf_cosines"]

O2_SEARCHER = Paper(
    "O²-Searcher: A Searching-based Agent Model for Open-Domain Open-Ended Question Answering",
    "2505.16582",
)
_WORD = re.compile(r"(?u)\b\w\w+\b")


def tfidf_cosines(docs: list[str]) -> list[float] | None:
    """Cosines of every pair i < j (row-major), sklearn TF-IDF defaults; None: no words."""
    counts = [Counter(_WORD.findall(d.lower())) for d in docs]
    df: Counter[str] = Counter(w for c in counts for w in c)
    if not df:
        return None
    n = len(docs)
    idf = {w: math.log((1 + n) / (1 + k)) + 1 for w, k in df.items()}
    vecs = []
    for c in counts:
        v = {w: tf * idf[w] for w, tf in c.items()}
        norm = math.sqrt(sum(x * x for x in v.values())) or 1.0
        vecs.append({w: x / norm for w, x in v.items()})
    return [sum(x * b.get(w, 0.0) for w, x in a.items()) for a, b in combinations(vecs, 2)]


def _diversity(contents: list[str]) -> float:
    if len(contents) <= 1:
        return 1.0
    sims = tfidf_cosines(contents)
    if sims is None:
        return 0.5
    high = sum(s > 0.6 for s in sims)
    s = 0.5 * max(sims) + 0.3 * (2 * high / len(sims)) + 0.2 * sum(sims) / len(sims)
    return max(0.0, 1.0 - math.pow(max(s, 0.0), 1.5))


def bullet_format_score(answer: str) -> tuple[float, dict[str, float]]:
    """R_fmt of one answer and its weighted parts (as the code logs them)."""
    if not answer.strip() or answer.strip().lower() == "and":
        return 0.0, {}
    lines = [line.strip() for line in answer.split("\n") if line.strip()]
    contents = [line[2:].strip() for line in lines if line.startswith("- ") and line[2:].strip()]
    f = 1 - (len(lines) - len(contents)) / len(lines)
    c = min(len(contents) / 10, 1.0)
    d = _diversity(contents)
    dup = 1 - len(set(contents)) / max(1, len(contents))
    value = (0.5 * f + 0.3 * c + 0.5 * d) / 1.3 - 3 * dup
    parts = {"format": 0.5 * f, "completeness": 0.3 * c, "diversity": 0.5 * d}
    return min(max(value, 0.0), 1.0), {**parts, "duplicate_penalty": -3 * dup}


class O2Format(ItemReward):
    name = "search.o2_format"
    max_chars = 20_000  # pairwise TF-IDF is quadratic in the number of bullets

    def score_one(self, sample: Sample) -> Score:
        answer = last_tag_block(as_text(sample))
        if answer is None:
            return Score(0.0, info={"reason": "no <answer> block"})
        value, parts = bullet_format_score(answer.strip())
        return Score(value, parts=parts)


class O2Searcher(ItemReward):
    name = "search.o2_searcher"

    def score_one(self, sample: Sample) -> Score:
        if reference_field(sample.reference, "findings") is not None:
            return Score.skipped(
                "open-ended: R_fact and R_div need all-MiniLM-L6-v2 embeddings (not implemented)"
            )
        answers = gold_answers(sample.reference)
        answer = read_trajectory(sample).answer
        return Score(float(em(answer, answers)), info={"answer": (answer or "")[:200]})


@register(
    "search.o2_format",
    params=NoParams,
    paper=O2_SEARCHER,
    summary="O²-Searcher R_fmt: '- ' bullets, count, TF-IDF diversity, duplicate penalty",
)
def o2_format(params: NoParams) -> O2Format:
    return O2Format()


@register(
    "search.o2_searcher",
    params=NoParams,
    paper=O2_SEARCHER,
    summary="O²-Searcher closed-ended EM; open-ended items (findings) are skipped",
)
def o2_searcher(params: NoParams) -> O2Searcher:
    return O2Searcher()
