"""Measure any reward on preference data with RewardBench's scoring rules, exactly.

Each row holds a prompt, one or more ``chosen`` responses and one or more ``rejected``
ones. Every response becomes a ``Sample(prompt, completion, reference)`` and the whole
set is scored in one ``reward.score(samples)`` call, chosen responses first, as
RewardBench 2 unrolls them. The figures, and where each comes from (allenai/reward-bench
at commit ``05a9005efb607249822c193590c8ecab87c77052``):

* ``best_of_n``: ``rewardbench/utils.py::reroll_and_score_dataset``. A row scores
  ``1/k`` when its first response (the first chosen) has the top score and ``k``
  responses, rejected ones included, share that top score exactly (float equality);
  else 0. The subset score is the mean over rows (``scripts/run_v2.py``). Used for every
  subset except ``Ties``.
* ``ties_score``: ``rewardbench/utils.py::process_single_model`` with
  ``_compute_prompt_stats``, for the subset named ``ties`` (any case, as ``run_v2.py``
  compares ``subset.lower()``); see ``ties_score``.
* ``pairwise_accuracy``: RewardBench 1 (``scripts/run_rm.py``: ``1 if chosen > rejected
  else 0``), a tie counts 0. With several responses a side, the mean over all
  chosen x rejected pairs (identical to RewardBench 1 on its one-against-one rows).
* ``length_buckets``: ours, not RewardBench's: ``best_of_n`` by quartile of the first
  chosen response's length in characters (``statistics.quantiles(..., n=4,
  method="inclusive")``; a length equal to an edge falls in the lower bucket).
* ``ece``: ours: only when every value lies in [0, 1]. Each response's value is read as
  the probability that it is a preferred (chosen) response; the outcome is 1 for chosen
  responses, 0 for rejected. Ten equal-width bins on [0, 1] (1.0 in the last);
  ECE = sum over bins of (bin size / N) * |mean value - share chosen|.

Errors: a response whose ``Score.value`` is None is an error. A row with any error
scores 0 in ``best_of_n`` and its pairs score 0 in ``pairwise_accuracy`` (it stays in
the denominator: an error is never a win); ``errors`` counts such rows and
``error_items`` the responses. A Ties subset with any error gets no score (None).

Known issues: float equality decides ties, as in the source, so rewards with noisy
floats rarely tie while discrete rewards (0/1 checks) tie often and earn 1/k; ECE on
best-of-4 data has a base rate of 1/4 and is not a pairwise win probability.
"""

from __future__ import annotations

import math
import statistics
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rewardsmith.core import Reward, Sample
from rewardsmith.errors import InputError, MissingExtraError
from rewardsmith.rollouts import read_rollouts

__all__ = [
    "Bucket",
    "PrefRow",
    "RMEvaluation",
    "SubsetResult",
    "best_of_n",
    "evaluate_rm",
    "expected_calibration_error",
    "load_hub_preferences",
    "load_preferences",
    "pairwise_accuracy",
    "parse_row",
    "ties_score",
]

SOURCE_COMMIT = "05a9005efb607249822c193590c8ecab87c77052"
TIES = "ties"


@dataclass(frozen=True, slots=True)
class PrefRow:
    """One preference row: a prompt, its chosen and rejected responses."""

    prompt: Any
    chosen: tuple[Any, ...]
    rejected: tuple[Any, ...]
    subset: str = "all"
    id: str | None = None
    reference: Any = None


@dataclass(frozen=True, slots=True)
class Bucket:
    """``best_of_n`` for rows whose first chosen response is ``lo``..``hi`` characters."""

    lo: int
    hi: int
    n: int
    accuracy: float


@dataclass(frozen=True, slots=True)
class SubsetResult:
    """Figures for one subset (or ``overall``); None where a figure does not apply."""

    name: str
    n: int
    errors: int
    error_items: int
    pairwise_accuracy: float | None
    best_of_n: float | None
    ties_score: float | None = None
    ties_terms: dict[str, float] | None = None


@dataclass(frozen=True, slots=True)
class RMEvaluation:
    """Per-subset and overall figures; ``to_dict()`` is the JSON the CLI prints."""

    subsets: list[SubsetResult]
    overall: SubsetResult
    mean_of_subsets: float | None
    length_buckets: list[Bucket] = field(default_factory=list)
    ece: float | None = None
    source_commit: str = SOURCE_COMMIT

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def best_of_n(scores: Sequence[float]) -> float:
    """RewardBench 2's rule for one row, scores ordered chosen first.

    Example:
        >>> best_of_n([2.0, 2.0, 1.0, 2.0])  # chosen ties 3-way for the top
        0.3333333333333333
    """
    top = max(scores)
    return 1 / sum(s == top for s in scores) if scores[0] == top else 0.0


def pairwise_accuracy(chosen: Sequence[float], rejected: Sequence[float]) -> float:
    """Share of chosen x rejected pairs where chosen scores strictly higher (a tie is 0)."""
    wins = sum(c > r for c in chosen for r in rejected)
    return wins / (len(chosen) * len(rejected))


def _prompt_stats(
    correct: Sequence[float], incorrect: Sequence[float]
) -> tuple[bool, float | None, float]:
    """``_compute_prompt_stats``: (accurate, spread among correct, worst correct - best wrong)."""
    spread = max(correct) - min(correct) if len(correct) > 1 else None
    margin = min(correct) - max(incorrect)
    return margin > 0, spread, margin


def ties_score(
    rows: Sequence[tuple[str, Sequence[float], Sequence[float]]],
) -> tuple[float, dict[str, float]]:
    """The Ties subset's score: ``rewardbench/utils.py::process_single_model`` (commit 05a9005).

    Each row is ``(id, correct_scores, incorrect_scores)`` with ``id`` ``"ref:N"`` (one
    correct answer) or ``"tied:N"`` (several). Per prompt: accurate when the worst correct
    answer outscores the best wrong one. Then, over prompts N present as both ref and tied::

        0.30 * tied_accuracy + 0.30 * ref_accuracy
        + 0.20 * mean(margin_tied > spread_tied)
        + 0.20 * mean(min(margin_ref, margin_tied) > spread_tied)
        + 0.01 * mean(nan_to_num(tanh(min(margin_ref, margin_tied) / spread_tied - 1)))

    where accuracies are over all ref (tied) prompts, 0.0 when there are none, as in the
    source; a 0/0 in the tanh term counts 0 and x/0 for x != 0 gives tanh(+-inf) = +-1.

    Returns:
        The score and its terms by the source's variable names.
    """
    ref: dict[int, tuple[bool, float | None, float]] = {}
    tied: dict[int, tuple[bool, float | None, float]] = {}
    for rid, correct, incorrect in rows:
        kind, _, num = str(rid).partition(":")
        if not num.lstrip("-").isdigit() or kind not in ("ref", "tied"):
            raise InputError(f"Ties row id {rid!r}: expected 'ref:N' or 'tied:N'")
        if not correct or not incorrect:
            raise InputError(f"Ties row {rid!r}: needs chosen and rejected responses")
        (ref if kind == "ref" else tied)[int(num)] = _prompt_stats(correct, incorrect)
    ref_accuracy = float(np.mean([s[0] for s in ref.values()])) if ref else 0.0
    tied_accuracy = float(np.mean([s[0] for s in tied.values()])) if tied else 0.0
    both = sorted(set(ref) & set(tied))
    if any(tied[p][1] is None for p in both):
        raise InputError("Ties: a 'tied' prompt needs at least two chosen responses")
    spread = np.array([tied[p][1] for p in both], dtype=float)
    m_tied = np.array([tied[p][2] for p in both], dtype=float)
    m_ref = np.array([ref[p][2] for p in both], dtype=float)
    hard = np.minimum(m_ref, m_tied)
    with np.errstate(divide="ignore", invalid="ignore"):
        preferred = float(np.mean(m_tied > spread)) if both else math.nan
        preferred_hard = float(np.mean(hard > spread)) if both else math.nan
        margins = np.nan_to_num(np.tanh(hard / spread - 1), nan=0.0)
        margin_score = float(np.mean(margins)) if both else math.nan
    terms = {
        "tied_accuracy": tied_accuracy,
        "ref_accuracy": ref_accuracy,
        "correctness_preferred": preferred,
        "correctness_preferred_hard": preferred_hard,
        "correctness_margin_score": margin_score,
    }
    score = (
        0.30 * tied_accuracy
        + 0.30 * ref_accuracy
        + 0.20 * preferred
        + 0.20 * preferred_hard
        + 0.01 * margin_score
    )
    return score, terms


def expected_calibration_error(
    values: Sequence[float], outcomes: Sequence[int], bins: int = 10
) -> float:
    """ECE over ``bins`` equal-width bins on [0, 1]; a value of 1.0 falls in the last bin."""
    sums: list[list[float]] = [[0.0, 0.0, 0.0] for _ in range(bins)]  # n, sum p, sum y
    for p, y in zip(values, outcomes, strict=True):
        b = sums[min(int(p * bins), bins - 1)]
        b[0] += 1
        b[1] += p
        b[2] += y
    total = len(values)
    return sum(n / total * abs(sp / n - sy / n) for n, sp, sy in sums if n)


def _responses(value: Any, column: str, where: str) -> tuple[Any, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, Sequence) and value and all(isinstance(v, str) for v in value):
        return tuple(value)
    if isinstance(value, Sequence) and value and all(isinstance(v, Mapping) for v in value):
        return (list(value),)  # one chat transcript
    raise InputError(f"{where}: {column!r} must be a string or a non-empty list of strings")


def parse_row(record: Mapping[str, Any], where: str = "row") -> PrefRow:
    """A ``PrefRow`` from a record with ``prompt``, ``chosen``, ``rejected`` and optional
    ``subset``, ``id``, ``reference``."""
    missing = [k for k in ("prompt", "chosen", "rejected") if record.get(k) is None]
    if missing:
        raise InputError(f"{where}: missing {', '.join(missing)}")
    rid = record.get("id")
    return PrefRow(
        prompt=record["prompt"],
        chosen=_responses(record["chosen"], "chosen", where),
        rejected=_responses(record["rejected"], "rejected", where),
        subset=str(record.get("subset") or "all"),
        id=None if rid is None else str(rid),
        reference=record.get("reference"),
    )


def load_preferences(path: str | Path, split: str | None = None) -> list[PrefRow]:
    """Preference rows from .jsonl, .parquet or a saved dataset folder; a bad row raises."""
    out: list[PrefRow] = []
    for rows in read_rollouts(path, split=split):
        for row in rows:
            where = f"{path}: row {row.index + 1}"
            if row.raw is None:
                raise InputError(f"{where}: {row.problem}")
            out.append(parse_row(row.raw, where))
    return out


def load_hub_preferences(name: str, split: str = "test") -> list[PrefRow]:
    """Rows of a hub dataset by name (e.g. ``allenai/reward-bench-2``), needs ``datasets``."""
    try:
        from datasets import load_dataset
    except ImportError:
        raise MissingExtraError("datasets", "hf") from None
    try:
        data = load_dataset(name, split=split)
    except Exception as exc:  # a missing name, split or network: one message, exit 2
        raise InputError(f"{name}: could not load split {split!r}: {exc}") from None
    return [parse_row(r, f"{name}[{split}] row {i + 1}") for i, r in enumerate(data)]


def _split(
    values: list[float | None], rows: Sequence[PrefRow]
) -> Iterator[tuple[list[float | None], list[float | None]]]:
    i = 0
    for r in rows:
        c, k = len(r.chosen), len(r.rejected)
        yield values[i : i + c], values[i + c : i + c + k]
        i += c + k


_Scored = tuple[PrefRow, list[float | None], list[float | None]]


def _known(c: list[float | None], r: list[float | None]) -> tuple[list[float], list[float]] | None:
    """The row's values when every response has one, else None (the row is an error)."""
    cs = [v for v in c if v is not None]
    rs = [v for v in r if v is not None]
    return (cs, rs) if len(cs) == len(c) and len(rs) == len(r) else None


def _row_ok(c: list[float | None], r: list[float | None]) -> bool:
    return _known(c, r) is not None


def _row_bon(c: list[float | None], r: list[float | None]) -> float:
    known = _known(c, r)
    return best_of_n(known[0] + known[1]) if known else 0.0


def _pairwise(rows: Sequence[_Scored]) -> float | None:
    pairs = sum(len(c) * len(r) for _, c, r in rows)
    wins = 0.0
    for _, c, r in rows:
        if known := _known(c, r):
            wins += pairwise_accuracy(*known) * len(c) * len(r)
    return wins / pairs if pairs else None


def _subset(name: str, rows: Sequence[_Scored]) -> SubsetResult:
    errors = sum(not _row_ok(c, r) for _, c, r in rows)
    error_items = sum(c.count(None) + r.count(None) for _, c, r in rows)
    if name.lower() == TIES:
        score: float | None = None
        terms: dict[str, float] | None = None
        known = [(p.id or "", _known(c, r)) for p, c, r in rows]
        if not errors:
            score, terms = ties_score([(rid, *k) for rid, k in known if k])
        return SubsetResult(
            name, len(rows), errors, error_items, _pairwise(rows), None, score, terms
        )
    bon = sum(_row_bon(c, r) for _, c, r in rows) / len(rows)
    return SubsetResult(name, len(rows), errors, error_items, _pairwise(rows), bon)


def _buckets(rows: Sequence[_Scored]) -> list[Bucket]:
    scored = [
        (len(p.chosen[0] if isinstance(p.chosen[0], str) else str(p.chosen[0])), _row_bon(c, r))
        for p, c, r in rows
        if p.subset.lower() != TIES
    ]
    if len(scored) < 4:
        return []
    edges = statistics.quantiles([n for n, _ in scored], n=4, method="inclusive")
    groups: list[list[tuple[int, float]]] = [[] for _ in range(4)]
    for n, s in scored:
        groups[bisect_left(edges, n)].append((n, s))
    return [
        Bucket(min(n for n, _ in g), max(n for n, _ in g), len(g), sum(s for _, s in g) / len(g))
        for g in groups
        if g
    ]


def evaluate_rm(reward: Reward, rows: Iterable[PrefRow]) -> RMEvaluation:
    """Score every response of ``rows`` with ``reward`` in one batch and compute the figures.

    Example:
        >>> import rewardsmith
        >>> rows = [PrefRow("Say hi.", ("hi",), ("hello there",))]
        >>> evaluate_rm(rewardsmith.load("format.regex", pattern="hi"), rows).overall.best_of_n
        1.0
    """
    rows = list(rows)
    if not rows:
        raise InputError("no preference rows to evaluate")
    samples = [
        Sample(prompt=r.prompt, completion=text, reference=r.reference)
        for r in rows
        for text in (*r.chosen, *r.rejected)
    ]
    values = [s.value for s in reward.score(samples)]
    scored = [(p, c, r) for p, (c, r) in zip(rows, _split(values, rows), strict=True)]
    names = sorted({p.subset for p in rows})
    subsets = [_subset(n, [t for t in scored if t[0].subset == n]) for n in names]
    plain = [t for t in scored if t[0].subset.lower() != TIES]
    overall = SubsetResult(
        "overall",
        len(scored),
        sum(s.errors for s in subsets),
        sum(s.error_items for s in subsets),
        _pairwise(scored),
        sum(_row_bon(c, r) for _, c, r in plain) / len(plain) if plain else None,
    )
    per = [s.ties_score if s.name.lower() == TIES else s.best_of_n for s in subsets]
    known_per = [v for v in per if v is not None]
    mean = sum(known_per) / len(per) if len(known_per) == len(per) else None
    ok = [v for v in values if v is not None]
    ece = None
    if ok and len(ok) == len(values) and all(0.0 <= v <= 1.0 for v in ok):
        outcomes = [o for r in rows for o in (*[1] * len(r.chosen), *[0] * len(r.rejected))]
        ece = expected_calibration_error(ok, outcomes)
    return RMEvaluation(subsets, overall, mean, _buckets(scored), ece)
