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
and one runaway rollout then dominates a group's advantages. Gaming: a ``##`` in the
first query earns the decomposition bonus whether or not the parts are useful.
"""

from __future__ import annotations

from pydantic import Field

from rewardsmith.core import ItemReward, Paper, Params, Sample, Score, register
from rewardsmith.verifiable.search._common import em, gold_answers, reference_field
from rewardsmith.verifiable.search.trajectory import DEFAULT_SEARCH_TOOLS, read_trajectory

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

    def score_one(self, sample: Sample) -> Score:
        p = self.params
        answers = gold_answers(sample.reference)
        qtype = _question_type(sample, p.default_question_type)
        t = read_trajectory(sample, p.search_tools)
        correct = em(t.answer, answers)
        if correct:
            outcome = 1.0 if t.valid else 1.0 - p.structure_format_score
        else:
            outcome = p.structure_format_score if t.valid else p.final_format_score
        split = bool(t.rounds) and len(t.rounds[0]) > 1
        decomp = 0.0
        if split and qtype == "comparison":
            decomp = 3 * p.comp_score
        elif not split and qtype != "comparison":
            decomp = p.comp_score
        m = len(t.rounds)
        if qtype in ("comparison", "na"):
            count = p.count_score * (1 - abs(m - 1))
        else:
            count = p.count_score * (1 - abs(min(m, 2) - 2))
        count = max(count, p.count_floor)
        parts = {"outcome": outcome, "decomposition": decomp, "count": count}
        info = {"question_type": qtype, "rounds": m, "valid": t.valid}
        return Score(outcome + decomp + count, parts=parts, info=info)


def _question_type(sample: Sample, default: str) -> str:
    for value in (
        reference_field(sample.reference, "question_type"),
        reference_field(sample.reference, "type"),
        sample.meta.get("question_type"),
    ):
        if isinstance(value, str) and value:
            return value
    return default


@register(
    "search.parallel",
    params=ParallelSearchParams,
    paper=PARALLEL_SEARCH,
    range=(-1.0, 1.8),
    summary="ParallelSearch: EM+format, ## decomposition bonus, search-round count term",
)
def parallel(params: ParallelSearchParams) -> ParallelSearch:
    return ParallelSearch(params)
