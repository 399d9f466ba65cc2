"""ParallelSearch's reward: outcome and format, query decomposition, search-round count.

What it checks, as the released code computes it (the paper's symbolic form was not
found)::

    R = R_outcome+format + R_decomp + R_count

- R_outcome+format: Search-R1 exact match of the answer and the trajectory's structure
  (``read_trajectory``): correct and valid 1; correct and invalid 1 − s; wrong or no
  answer and valid s; wrong and invalid f (s = ``structure_format_score`` 0.1,
  f = ``final_format_score`` 0).
- R_decomp: 3·c_d when the first search splits into several sub-queries (``##`` in a
  ``<search>`` block, or several search calls in one message) and the question is
  parallelizable (type ``comparison``); c_d when it does not split and the question is
  not parallelizable (no search at all counts as not splitting); else 0. c_d = 0.15.
- R_count, with m the number of search rounds: c_s·(1 − |m − 1|) for ``comparison`` and
  ``na`` questions (one parallel round is best), c_s·(1 − |min(m, 2) − 2|) for others;
  c_s = 0.35. Clipped below at ``count_floor`` (−1 by default; the code has no floor).

Range with the defaults [−1, 1.8]. Paper: ParallelSearch: Train your LLMs to Decompose
Query and Search Sub-queries in Parallel with Reinforcement Learning (Zhao, Yu et al.,
arXiv 2508.09303), code ``Tree-Shu-Zhao/ParallelSearch``
``verl/utils/reward_score/qa_em_format.py::compute_score_em``.

The question type comes from ``reference["question_type"]`` (or ``"type"``), else
``sample.meta["question_type"]``, else ``default_question_type`` ("na").

Departures from the code, on purpose: only the response's searches count (the code
counts the prompt's tags and subtracts 2, which breaks for any other prompt); the
count term has a floor, because without one it falls without bound as searches grow,
and one runaway rollout then dominates a group's advantages.

How it can be gamed, and the guards (each on by default; the paper's code is
``shaping_needs_answer=False, count_needs_results=False``):

- Shape without an answer. In the code R_decomp and R_count do not look at the answer:
  one bare ``<search>a ## b</search>`` with no results and no answer earned 0.8 on a
  comparison question (a correct answer with no search earns 1.0), a lone ``<search>``
  earned more than a valid wrong answer with no search, and an empty completion or
  ``:`` earned 0.15 on an "na" question. Guard: ``shaping_needs_answer``: R_decomp, the
  positive part of R_count and a wrong answer's structure score s pay only when the
  trajectory is valid and its answer holds a letter or digit after normalisation
  (``<answer>.</answer>`` earns f, not s); their penalties always apply (so not answering
  never beats answering).
- Searches that returned nothing. R_count pays for the number of search rounds, and in
  tagged text a policy can type the ``<information>`` after its ``<search>`` itself.
  Guard: ``count_needs_results``: the positive part of R_count counts only rounds that
  got a non-empty result from the environment (chat ``tool`` messages, or
  ``meta["info_spans"]`` / ``meta["response_mask"]``; see ``search.trajectory``):
  R_count = min(c(rounds written), c(rounds answered)). In plain text without spans the rounds
  answered are unknown, so R_count is at most 0 there, with ``info["reason"]``;
  ``trust_information_tags`` takes ``<information>`` tags as the environment's instead.

Still open: a ``##`` in the first query earns the decomposition bonus whether or not the
parts are useful, and a wrong answer with a split search still earns 0.9 on a
comparison question (the code's weights; lower ``comp_score`` and ``count_score`` to
shrink it).
"""

from __future__ import annotations

from pydantic import Field

from rewardsmith.core import ItemReward, Paper, Params, Sample, Score, register
from rewardsmith.verifiable.search._common import em, gold_answers, has_answer, reference_field
from rewardsmith.verifiable.search.trajectory import (
    DEFAULT_SEARCH_TOOLS,
    answered_rounds,
    read_trajectory,
    retrieved,
)

__all__ = ["PARALLEL_SEARCH", "ParallelSearch", "ParallelSearchParams"]

PARALLEL_SEARCH = Paper(
    "ParallelSearch: Train your LLMs to Decompose Query and Search Sub-queries in "
    "Parallel with Reinforcement Learning",
    "2508.09303",
)


class ParallelSearchParams(Params):
    structure_format_score: float = 0.1
    final_format_score: float = 0.0
    comp_score: float = Field(0.15, ge=0.0)
    """c_d of the decomposition term."""
    count_score: float = Field(0.35, ge=0.0)
    """c_s of the search-count term."""
    count_floor: float = Field(-1.0, le=0.0)
    """Lowest value of the count term (not in the paper's code, which is unbounded)."""
    default_question_type: str = "na"
    search_tools: frozenset[str] = DEFAULT_SEARCH_TOOLS
    shaping_needs_answer: bool = True
    """R_decomp, R_count's positive part and a wrong answer's structure score s need a
    valid trajectory whose answer holds a letter or digit (the code pays them for any
    completion, and s for ``<answer>.</answer>``)."""
    count_needs_results: bool = True
    """R_count's positive part counts only rounds that got results from the environment
    (the code counts every ``<search>``)."""
    trust_information_tags: bool = False
    """With ``count_needs_results``: take ``<information>`` blocks in plain text as
    results when ``meta`` does not say where the environment's text is (a policy can
    write them itself)."""


@register(
    paper=PARALLEL_SEARCH,
    summary="ParallelSearch: EM+format, ## decomposition bonus, search-round count term",
)
class ParallelSearch(ItemReward):
    name = "search.parallel"

    def __init__(self, params: ParallelSearchParams) -> None:
        self.params = params

    @property
    def range(self) -> tuple[float, float]:
        p = self.params
        s, f = p.structure_format_score, p.final_format_score
        outcomes = (1.0, 1.0 - s, s, f)
        return (min(outcomes) + p.count_floor, max(outcomes) + 3 * p.comp_score + p.count_score)

    def part_names(self) -> list[str]:
        return ["outcome", "decomposition", "count"]

    def score_one(self, sample: Sample) -> Score:
        p = self.params
        answers = gold_answers(sample.reference)
        qtype = _question_type(sample, p.default_question_type)
        t = read_trajectory(sample, p.search_tools)
        correct = em(t.answer, answers)
        answered = t.valid and has_answer(t.answer)
        shaping = answered or not p.shaping_needs_answer
        if correct:
            outcome = 1.0 if t.valid else 1.0 - p.structure_format_score
        else:
            valid = t.valid and shaping
            outcome = p.structure_format_score if valid else p.final_format_score
        split = bool(t.rounds) and len(t.rounds[0]) > 1
        decomp = 0.0
        if shaping and split and qtype == "comparison":
            decomp = 3 * p.comp_score
        elif shaping and not split and qtype != "comparison":
            decomp = p.comp_score
        m = len(t.rounds)
        count = self._count(m, qtype)
        info: dict[str, object] = {"question_type": qtype, "rounds": m, "valid": t.valid}
        if not shaping:
            count = min(count, 0.0)
            info["reason"] = "no valid answer: decomposition and count terms unpaid"
        elif p.count_needs_results:
            env = retrieved(sample, p.trust_information_tags)
            real = answered_rounds(sample, env, frozenset(p.search_tools))
            info["answered_rounds"] = real
            if real is None:
                count = min(count, 0.0)
                info["reason"] = env.reason
            else:
                count = min(count, self._count(min(real, m), qtype))
        parts = {"outcome": outcome, "decomposition": decomp, "count": count}
        return Score(outcome + decomp + count, parts=parts, info=info)

    def _count(self, m: int, qtype: str) -> float:
        """R_count for m search rounds, clipped at ``count_floor``."""
        p = self.params
        if qtype in ("comparison", "na"):
            count = p.count_score * (1 - abs(m - 1))
        else:
            count = p.count_score * (1 - abs(min(m, 2) - 2))
        return max(count, p.count_floor)


def _question_type(sample: Sample, default: str) -> str:
    for value in (
        reference_field(sample.reference, "question_type"),
        reference_field(sample.reference, "type"),
        sample.meta.get("question_type"),
    ):
        if isinstance(value, str) and value:
            return value
    return default
