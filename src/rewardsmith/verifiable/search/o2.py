"""O²-Searcher's rewards: exact match for closed-ended questions; format, facts and query
diversity for open-ended ones.

What it checks: O²-Searcher trains one agent on closed-ended questions (a short answer)
and open-ended ones (a list of findings). Closed-ended: ``r = EM(answer, golds)`` in
{0, 1}, Search-R1's rule with format score 0. Open-ended (a dict reference with
``findings``, a list of reference findings)::

    r = 0.5 · (1·R_fmt + 1·R_fact + 0.5·R_div) / 2.5        # in [0, 0.5] (≤ 0.6, see R_div)

``search.o2_format`` is R_fmt alone, in [0, 1], on the last ``<answer>`` block: lines must
start with "- "; f = 1 − bad lines / lines; c = min(bullets / 10, 1); d = max(0,
1 − s^1.5) with s = 0.5·(max pairwise TF-IDF cosine) + 0.3·(2·#pairs above 0.6 / #pairs)
+ 0.2·(mean pairwise cosine) over the bullets (1 for at most one bullet, 0.5 when no
bullet has a word of two characters, sklearn's fallback); dup = 1 − unique / bullets;
R_fmt = clip((0.5f + 0.3c + 0.5d) / 1.3 − 3·dup, 0, 1). The TF-IDF is sklearn's
``TfidfVectorizer`` defaults, re-implemented: lowercase, tokens ``\\b\\w\\w+\\b``,
idf = ln((1 + n) / (1 + df)) + 1, l2-normalised rows.

R_fact (all-MiniLM-L6-v2, ``rewardsmith.models.embeddings``): the last ``<answer>`` is
split into findings on every "-" (``findings_split="hyphen"``, the code's rule; "bullets"
takes the lines that start with "- " instead); findings and reference findings are
embedded; in each reference column where several findings reach ``threshold`` (0.75,
what the training client sends; the server's default is 0.85) only the best is kept and
the rest of that column is zeroed; a one-to-one assignment maximising total similarity
(the Hungarian algorithm, as ``scipy.optimize.linear_sum_assignment`` on 1 − sim) is
taken, and its pairs at or above the threshold are the matches. P = matches / findings,
R = matches / reference findings, R_fact = F1. No findings or no reference findings: 0.

R_div over the queries issued (the first ``max_queries`` = 20; n < 2 gives 0): those of
each search call in chat; in tagged text the ``<query>`` elements of each ``<search>``
block (O²-Searcher's format, each one sent to the engine), else its ``##`` parts; lines
inside one query are not split (``split_query_lines=True`` splits them, as the code
does). For each query, the mean of (1 − cos) to the other n − 1, times w(n) (0.5 if
n ≤ 5; 0.5 + 0.05(n − 5) if n ≤ 15, so 1.0 at 15; else 0.9 − 0.02(n − 15)), times
clip(tokens / 8, 0.1, 1) with tokens counted by the model's tokenizer, special tokens
included; R_div is the mean over distinct queries. If every pair (diagonal included)
has cosine above 0.98, R_div = 0.5·0.2^(n − 1). Cosines can be negative, so
R_div can reach 2 and the open-ended total 0.6.

Paper: O²-Searcher: A Searching-based Agent Model for Open-Domain Open-Ended Question
Answering (arXiv 2505.16582), code ``Acade-Mate/O2-Searcher``
``o2searcher/rewards/{__init__,rewards_format,rewards_score}.py`` and
``o2searcher/rewards/metrics/{f1_reward,dv_reward}.py``.

Weights: the catalog only has the code's 0.5·(1, 1, 0.5)/2.5 (the paper's stated weights
were not found and may differ), so that is the default; ``weights`` and ``open_scale``
change it. Departures: the code needs at least two ``<answer>`` blocks because the decoded
text includes the prompt's example; we read the response alone, so one suffices. Chinese
text is not translated (the code asks an LLM, "doubao-32k"), so Chinese findings match
poorly with the English model. The code rounds per-query diversity scores to two
decimals; we do not. Only the first ``max_findings`` (64) findings are embedded; the rest
count as unmatched, and an open-ended answer over 20,000 characters earns 0 unparsed
(R_fmt's pairwise TF-IDF is quadratic). Kept from the code: an answer with no bullet at
all scores 0 R_fmt (its duplicate ratio is 1 − 0 / max(1, 0) = 1).

How it can be gamed, and the guards (each on by default; the code is
``shape_fact_floor=None, split_query_lines=True, query_relevance=None``): R_fmt checks shape, not content (ten
distinct, dissimilar bullets of anything earn it in full), and R_div pays for queries
that differ from each other, related to the question or not, up to 15 of them. In the
code both pay whatever the facts: ten unrelated bullets plus fifteen unrelated queries
packed as lines into one ``<search>`` earned 0.29-0.30 against 0.37 for the exact
reference findings. Guards: ``shape_fact_floor`` (0): R_fmt and R_div count only when
R_fact is above it, so an answer with no matching finding earns 0 (the unpaid values
are in ``info["unpaid"]``); queries are counted as issued (per call, ``<query>`` or
``##`` part), never one per line; ``query_relevance`` (0.3): a query counts toward R_div
only if its cosine with some reference finding reaches it, so the right findings padded
with fifteen unrelated queries earn no more than the findings alone (the code: 0.46
against 0.37). Still open: around one matching finding, padding with dissimilar bullets
still earns R_fmt (P falls, so it earns less than the exact findings);
``search.o2_format`` alone is a format reward and pays for
shape by design, so compose it with a content reward. With ``findings_split="hyphen"``
a hyphenated word ("state-of-the-art") splits one finding into several, which lowers P;
a model can learn to avoid hyphens. Open-ended items earn at most about half of a
closed-ended one in the same batch. The answer is read from the policy's text only
(never from a tool result).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from itertools import combinations
from typing import Any, Literal

from pydantic import Field, model_validator

from rewardsmith.core import ItemReward, Paper, Params, Sample, Score, register
from rewardsmith.models.embeddings import (
    DEFAULT_EMBEDDING_MODEL,
    Embedder,
    Prepared,
    SentenceEmbedder,
    Vectors,
    score_with_embeddings,
)
from rewardsmith.verifiable.extract import last_tag_block
from rewardsmith.verifiable.search._common import em, gold_answers, reference_field
from rewardsmith.verifiable.search.o2_open import fact_f1, findings, query_diversity
from rewardsmith.verifiable.search.trajectory import (
    DEFAULT_SEARCH_TOOLS,
    read_trajectory,
    retrieved,
)

__all__ = [
    "O2_SEARCHER",
    "O2Format",
    "O2Searcher",
    "O2SearcherParams",
    "bullet_format_score",
    "tfidf_cosines",
]

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


@register(
    paper=O2_SEARCHER,
    summary="O²-Searcher R_fmt: '- ' bullets, count, TF-IDF diversity, duplicate penalty",
)
class O2Format(ItemReward):
    name = "search.o2_format"
    max_chars = 20_000  # pairwise TF-IDF is quadratic in the number of bullets

    def part_names(self) -> list[str]:
        return ["format", "completeness", "diversity", "duplicate_penalty"]

    def score_one(self, sample: Sample) -> Score:
        answer = _answer(sample)
        if answer is None:
            return Score(0.0, info={"reason": "no <answer> block"})
        value, parts = bullet_format_score(answer.strip())
        return Score(value, parts=parts)


class O2SearcherParams(Params):
    threshold: float = Field(0.75, ge=-1.0, le=1.0)
    """The cosine a finding needs to match a reference finding (the code's server: 0.85)."""
    weights: tuple[float, float, float] = (1.0, 1.0, 0.5)
    """Weights of R_fmt, R_fact and R_div in the open-ended mean."""
    open_scale: float = Field(0.5, ge=0.0, le=1.0)
    """The open-ended total is this times the weighted mean."""
    findings_split: Literal["hyphen", "bullets"] = "hyphen"
    max_findings: int = Field(64, ge=1)
    max_queries: int = Field(20, ge=2)
    shape_fact_floor: float | None = Field(0.0, ge=0.0, le=1.0)
    """R_fmt and R_div count only when R_fact is above this; None: always (the code)."""
    split_query_lines: bool = False
    """Count each line of a query as a query (the code)."""
    query_relevance: float | None = Field(0.3, ge=-1.0, le=1.0)
    """A query counts toward R_div only if its cosine with some reference finding reaches
    this: unrelated queries are diverse, and padding with them paid. None: every query
    counts (the code)."""
    model: str = DEFAULT_EMBEDDING_MODEL
    device: str = "cpu"
    search_tools: frozenset[str] = DEFAULT_SEARCH_TOOLS

    @model_validator(mode="after")
    def _weights_ok(self) -> O2SearcherParams:
        if min(self.weights) < 0 or sum(self.weights) <= 0:
            raise ValueError("weights must be non-negative with a positive sum")
        return self


@register(
    paper=O2_SEARCHER,
    summary="O²-Searcher: closed EM; open 0.5·(format + fact F1 + 0.5·query diversity)/2.5",
)
class O2Searcher(ItemReward):
    """O²-Searcher's reward; open-ended items share one embedding call per batch.

    Args:
        params: the parameters (``O2SearcherParams``); default the code's.
        embedder: unit vectors and token counts; default the shared MiniLM for
            ``params.model`` on ``params.device``. Closed-ended items never use it.
    """

    name = "search.o2_searcher"
    work = "model"  # an embedding model
    max_chars = 100_000

    def __init__(
        self, params: O2SearcherParams | None = None, embedder: Embedder | None = None
    ) -> None:
        self.params = params or O2SearcherParams.model_validate({})
        self.embedder = embedder or SentenceEmbedder(self.params.model, self.params.device)

    @property
    def range(self) -> tuple[float, float]:
        wf, wa, wd = self.params.weights
        open_max = self.params.open_scale * (wf + wa + 2.0 * wd) / (wf + wa + wd)
        return (0.0, max(1.0, open_max))

    def part_names(self) -> list[str]:
        """Open-ended items only; a closed-ended one has no parts."""
        return ["format", "fact", "diversity"]

    def score(self, samples: Sequence[Sample]) -> list[Score]:
        return score_with_embeddings(
            samples, self._prepare, self.embedder, max_chars=self.max_chars, floor=self.floor
        )

    def score_one(self, sample: Sample) -> Score:
        return self.score([sample])[0]

    def _prepare(self, sample: Sample) -> Score | Prepared:
        refs = reference_field(sample.reference, "findings")
        if refs is None:
            answers = gold_answers(sample.reference)
            answer = read_trajectory(sample).answer
            return Score(float(em(answer, answers)), info={"answer": (answer or "")[:200]})
        return self._prepare_open(sample, _reference_findings(refs))

    def _prepare_open(self, sample: Sample, refs: list[str]) -> Score | Prepared:
        p = self.params
        block = _answer(sample)
        answer = "" if block is None else block.strip()
        if len(answer) > O2Format.max_chars:  # R_fmt's TF-IDF is quadratic in the bullets
            return Score(
                self.floor, info={"reason": f"answer over {O2Format.max_chars} characters"}
            )
        r_fmt, _ = bullet_format_score(answer) if answer else (0.0, {})
        found = findings(answer, p.findings_split)
        kept = found[: p.max_findings]
        searches = read_trajectory(sample, p.search_tools).searches
        queries = _queries(searches, p.max_queries, p.split_query_lines)

        def finish(vec: Vectors) -> Score:
            _, _, r_fact = fact_f1(vec(kept), vec(refs), p.threshold, len(found))
            relevant = _relevant(queries, vec, refs, p.query_relevance)
            tokens = self.embedder.count_tokens(relevant) if len(relevant) >= 2 else []
            r_div = query_diversity(relevant, vec(relevant), tokens)
            info: dict[str, object] = {"findings": len(found), "reference_findings": len(refs)}
            info["queries"] = len(queries)
            if len(relevant) < len(queries):
                info["unrelated_queries"] = len(queries) - len(relevant)
            fmt, div, floor = r_fmt, r_div, p.shape_fact_floor
            if floor is not None and r_fact <= floor and (fmt or div):
                info["unpaid"] = {"format": fmt, "diversity": div}
                info["reason"] = f"fact score {r_fact:.3g} is not above {floor}: shape unpaid"
                fmt, div = 0.0, 0.0
            wf, wa, wd = p.weights
            value = p.open_scale * (wf * fmt + wa * r_fact + wd * div) / (wf + wa + wd)
            parts = {"format": fmt, "fact": r_fact, "diversity": div}
            return Score(value, parts=parts, info=info)

        return [*kept, *refs, *queries], finish


def _relevant(
    queries: list[str], vec: Vectors, refs: list[str], threshold: float | None
) -> list[str]:
    """The queries close enough to some reference finding to count toward diversity."""
    if threshold is None or not queries or not refs:
        return queries
    closest = (vec(queries) @ vec(refs).T).max(axis=1)
    return [q for q, c in zip(queries, closest, strict=True) if float(c) >= threshold]


def _reference_findings(refs: Any) -> list[str]:
    if isinstance(refs, str) or not isinstance(refs, Sequence):
        raise ValueError(f"reference findings must be a list of strings, not {refs!r:.60}")
    return [str(r).strip() for r in refs if isinstance(r, str | int | float) and str(r).strip()]


def _queries(searches: Sequence[str], cap: int, split_lines: bool = False) -> list[str]:
    """The queries issued (``split_queries`` already took ``<query>`` elements or ``##``
    parts), the first ``cap``; each line a query with ``split_lines`` (the code)."""
    out: list[str] = []
    for search in searches:
        lines = search.split("\n") if split_lines else [" ".join(search.split())]
        out.extend(q.strip() for q in lines if q.strip())
        if len(out) >= cap:
            break
    return out[:cap]


def _answer(sample: Sample) -> str | None:
    """The last ``<answer>`` block of the policy's own text (not of a tool result)."""
    return last_tag_block(retrieved(sample).policy_text())
