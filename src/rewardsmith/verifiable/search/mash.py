"""Search-count penalties from Pay-Per-Search / MASH: OTC, OTC-strict, exponential, linear.

What it checks: a correct answer (Search-R1 exact match of the trajectory's answer against
the reference's gold answers, ``qa.golds``), discounted by how many searches it took
compared with the fewest any correct rollout of the same question needed::

    r = EM(answer, gold) * penalty(m, n*)        # a wrong or missing answer earns 0

``m`` is this rollout's number of searches: every query it issued (``count="queries"``,
the default: each search call, each query of a call that takes a list, each ``##`` part
of a ``<search>`` block; a search step whose queries cannot be read counts as one), or
its search rounds (``count="rounds"``: one per ``<search>`` block or per assistant
message that searches); ``n*`` is the minimum ``m`` over the correct rollouts of the
group, and of ``reference["best_searches"]`` when given. Penalties, with
``c = max_searches``:

- ``search.otc``: 1 if m = n* = 0; cos(m·π / (2m + c)) if n* = 0 < m; else
  sin(f·π / (2n*)) with f = 2·m·n* / (m + n*).
- ``search.otc_strict``: as OTC, except that n* = 0 < m gives 0.
- ``search.exp_penalty``: λ^(m − n*).
- ``search.linear_penalty``: max(1 − m / (c + 1), 0), the paper's baseline; it does not
  use n*.

Range [0, 1]. Paper: Pay-Per-Search Models are Abstention Models (Gul, Cardie, Goyal,
arXiv 2510.01152), code ``momergul/mash`` ``rule_based_rewards/reward_functions.py``.

Defaults: c = 5 and λ = 0.7 (the training yaml; the paper uses 0.5 on NQ and 0.8 on
HotpotQA/2Wiki). No format term by default, as in the paper; ``require_valid`` gives an
invalid trajectory 0.

How it can be gamed, and the guard: counting rounds, twenty parallel search calls in
one message, or ``q1 ## ... ## q6`` in one tag, cost one search, so a policy learns to
batch every query it wants into one round. Guard: ``count="queries"`` (the default)
prices each query; ``count="rounds"`` restores the round count. The count is of the
searches the policy asked for, not of results, so typing a fake ``<information>`` block
saves nothing. Wrong or empty answers earn 0 (an answer that normalises to nothing
matches no gold).

Known gaps and failure modes: the paper keeps a running minimum of n* over training;
this reward is stateless, so pass that minimum as ``reference["best_searches"]`` (the
caller owns the state, which keeps scores reproducible). One lucky zero-search rollout
sets n* = 0 for its whole group (and for ever, with a history), and OTC-strict then zeroes
every correct rollout that searched. A group of one sets n* to its own count, so without
a group or a history the OTC and exponential penalties are always 1 for a correct answer.
A reference with no gold answer makes that item an error, not a 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

from pydantic import Field

from rewardsmith.core import GroupReward, Paper, Params, Sample, Score, register
from rewardsmith.verifiable.search._common import em, gold_answers, reference_field
from rewardsmith.verifiable.search.trajectory import DEFAULT_SEARCH_TOOLS, read_trajectory

__all__ = ["MASH", "MashParams", "SearchCountPenalty", "penalty"]

MASH = Paper("Pay-Per-Search Models are Abstention Models", "2510.01152")
Kind = Literal["otc", "otc_strict", "exp", "linear"]


class MashParams(Params):
    max_searches: int = Field(5, ge=0)
    """c in the OTC and linear penalties."""
    lam: float = Field(0.7, gt=0.0, le=1.0)
    """λ of the exponential penalty (yaml default; 0.5 NQ, 0.8 HotpotQA in the paper)."""
    count: Literal["rounds", "queries"] = "queries"
    """What m counts: every query (parallel calls and ``##`` sub-queries each count), or
    search steps (one per ``<search>`` block or searching message)."""
    require_valid: bool = False
    """Give 0 to a trajectory whose structure is invalid (the paper has no format term)."""
    search_tools: frozenset[str] = DEFAULT_SEARCH_TOOLS
    """Tool names that count as a search in chat trajectories."""


def penalty(kind: Kind, m: int, best: int, c: int = 5, lam: float = 0.7) -> float:
    """The MASH penalty for m searches when the best correct rollout used ``best``.

    Example:
        >>> round(penalty("otc", 2, 1), 4), penalty("exp", 3, 1, lam=0.5)
        (0.866, 0.25)
    """
    if kind == "linear":
        return max(1.0 - m / (c + 1), 0.0)
    if kind == "exp":
        return float(lam ** max(m - best, 0))
    if m == 0 and best == 0:
        return 1.0
    if best == 0:
        return 0.0 if kind == "otc_strict" else math.cos(m * math.pi / (2 * m + c))
    f = 2 * m * best / (m + best)
    return max(math.sin(f * math.pi / (2 * best)), 0.0)


class SearchCountPenalty(GroupReward):
    """EM × penalty(m, n*), with n* the group's fewest searches among correct rollouts."""

    def __init__(self, name: str, kind: Kind, params: MashParams) -> None:
        self.name = name  # type: ignore[misc]
        self.kind: Kind = kind
        self.params = params

    def part_names(self) -> list[str]:
        return ["correct", "searches"]

    def score_group(self, samples: Sequence[Sample]) -> list[Score]:
        p = self.params
        rows: list[tuple[bool, int] | Exception] = []
        for s in samples:
            try:
                answers = gold_answers(s.reference)
                t = read_trajectory(s, p.search_tools)
                m = _searches(t.rounds) if p.count == "queries" else len(t.rounds)
                rows.append((em(t.answer, answers) and (t.valid or not p.require_valid), m))
            except Exception as exc:
                rows.append(exc)
        known = [_history(s.reference) for s in samples]
        best = min(
            [r[1] for r in rows if isinstance(r, tuple) and r[0]]
            + [h for h in known if h is not None],
            default=None,
        )
        out = []
        for row in rows:
            if isinstance(row, Exception):
                out.append(Score.failed(row))
                continue
            correct, m = row
            value = 0.0
            if correct and best is not None:
                value = penalty(self.kind, m, best, p.max_searches, p.lam)
            parts = {"correct": float(correct), "searches": float(m)}
            out.append(Score(value, parts=parts, info={"best_searches": best}))
        return out

    def __repr__(self) -> str:
        return f"SearchCountPenalty({self.name!r}, {self.params!r})"


def _searches(rounds: Sequence[Sequence[str]]) -> int:
    """Every query; a round whose queries cannot be read still counts as one."""
    return sum(max(1, len(r)) for r in rounds)


def _history(reference: object) -> int | None:
    value = reference_field(reference, "best_searches")
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None


_SUMMARY = "EM × {} search-count penalty against the group's fewest searches (MASH)"


@register("search.otc", params=MashParams, paper=MASH, summary=_SUMMARY.format("OTC"))
def otc(params: MashParams) -> SearchCountPenalty:
    return SearchCountPenalty("search.otc", "otc", params)


@register("search.otc_strict", params=MashParams, paper=MASH, summary=_SUMMARY.format("OTC-strict"))
def otc_strict(params: MashParams) -> SearchCountPenalty:
    return SearchCountPenalty("search.otc_strict", "otc_strict", params)


@register("search.exp_penalty", params=MashParams, paper=MASH, summary=_SUMMARY.format("λ^(m−n*)"))
def exp_penalty(params: MashParams) -> SearchCountPenalty:
    return SearchCountPenalty("search.exp_penalty", "exp", params)


@register(
    "search.linear_penalty",
    params=MashParams,
    paper=MASH,
    summary="EM × max(1 − m/(c+1), 0), MASH's linear search-count baseline",
)
def linear_penalty(params: MashParams) -> SearchCountPenalty:
    return SearchCountPenalty("search.linear_penalty", "linear", params)
