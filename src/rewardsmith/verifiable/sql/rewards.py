"""The four text-to-SQL rewards of Reasoning-SQL (arXiv 2503.23157), each in [0, 1].

- ``sql.execution``: 1 if the predicted query returns the gold query's rows (a multiset
  of normalised rows; a list when the gold query has a top-level ``ORDER BY``).
- ``sql.syntax``: 1 if the predicted SQL is one statement that parses and compiles.
- ``sql.schema_linking``: Jaccard of the tables and columns the two queries use.
- ``sql.ngram``: Jaccard of the two queries' token n-gram sets (n = 2 by default).

A reference that cannot be used (not a dict, no database, a failing gold query) raises
ValueError, which ``ItemReward`` records as an item error: never a wrong answer. The
package docstring (``rewardsmith.verifiable.sql``) holds the threat model, the known
failure modes and how each term is gamed.
"""

from __future__ import annotations

import math
import os
import threading
from collections import Counter, OrderedDict
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from pydantic import Field

from rewardsmith.core import ItemReward, Paper, Params, Sample, Score, register
from rewardsmith.verifiable.sql.database import (
    QueryResult,
    SqlReference,
    parse_reference,
    run_query,
)
from rewardsmith.verifiable.sql.extract import predicted_sql
from rewardsmith.verifiable.sql.parse import (
    Rejected,
    has_top_level_order,
    ngrams,
    parse_statement,
    require_sqlglot,
    schema_items,
    sql_tokens,
)

__all__ = [
    "REASONING_SQL",
    "ExecutionParams",
    "NgramParams",
    "QueryLimits",
    "jaccard",
    "normalize_rows",
    "results_match",
]

REASONING_SQL = Paper(
    "Reasoning-SQL: Reinforcement Learning with SQL Tailored Partial Rewards for "
    "Reasoning-Enhanced Text-to-SQL",
    "2503.23157",
)


class QueryLimits(Params):
    timeout: float = Field(default=2.0, gt=0, le=600)
    """Seconds one query may run before it is interrupted."""
    max_rows: int = Field(default=10_000, ge=1)
    """A result with more rows than this is too large (the predicted query earns 0)."""


class ExecutionParams(QueryLimits):
    float_digits: int = Field(default=6, ge=0, le=15)
    """Floats are rounded to this many decimal places before comparing."""
    respect_order: bool = True
    """Compare rows in order when the gold query has a top-level ORDER BY."""


class NgramParams(Params):
    n: int = Field(default=2, ge=1, le=8)
    """Length of the token n-grams (the paper gives none; 2 is this library's default)."""


def _dialect(ref: SqlReference) -> str:
    return ref.engine


def _predicted(sample: Sample) -> str | None:
    return predicted_sql(sample.text)


def _reject(reason: str, sql: str | None = None) -> Score:
    info: dict[str, Any] = {"reason": reason}
    if sql is not None:
        info["sql"] = sql[:500]
    return Score(0.0, info=info)


class _SqlReward(ItemReward):
    def __init__(self) -> None:
        require_sqlglot()  # a missing extra is a build-time error, not one per item


# Execution ---------------------------------------------------------------------------

_gold_lock = threading.Lock()
_gold_cache: OrderedDict[tuple[Any, ...], QueryResult] = OrderedDict()
_GOLD_CACHE_SIZE = 256


def _gold_result(ref: SqlReference, limits: QueryLimits) -> QueryResult:
    """The gold query's rows, cached per (database file state, query, limits)."""
    assert ref.path is not None and ref.gold is not None
    stat = os.stat(ref.path)
    key = (ref.engine, ref.path, stat.st_mtime_ns, stat.st_size, ref.gold, limits.max_rows)
    with _gold_lock:
        if key in _gold_cache:
            _gold_cache.move_to_end(key)
            return _gold_cache[key]
    result = run_query(ref, ref.gold, timeout=limits.timeout, max_rows=limits.max_rows)
    if result.status != "ok":
        raise ValueError(f"gold query failed ({result.status}): {result.error}")
    with _gold_lock:
        _gold_cache[key] = result
        while len(_gold_cache) > _GOLD_CACHE_SIZE:
            _gold_cache.popitem(last=False)
    return result


def _normalize_value(value: Any, digits: int) -> Any:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"  # NaN != NaN would make equal results differ
        return value if math.isinf(value) else round(value, digits) + 0.0  # -0.0 -> 0.0
    if isinstance(value, list | tuple):
        return tuple(_normalize_value(v, digits) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((str(k), _normalize_value(v, digits)) for k, v in value.items()))
    try:
        hash(value)
    except TypeError:
        return repr(value)
    return value


def normalize_rows(rows: Sequence[Sequence[Any]], digits: int = 6) -> list[tuple[Any, ...]]:
    """Rows as hashable tuples: floats rounded, ``Decimal`` as float, NaN as a marker."""
    return [tuple(_normalize_value(v, digits) for v in row) for row in rows]


def results_match(
    pred: Sequence[Sequence[Any]], gold: Sequence[Sequence[Any]], *, ordered: bool, digits: int = 6
) -> bool:
    """Equal as multisets of rows (as lists when ``ordered``); column names are ignored.

    Example:
        >>> results_match([(2,), (1,)], [(1,), (2,)], ordered=False)
        True
        >>> results_match([(2,), (1,)], [(1,), (2,)], ordered=True)
        False
    """
    p, g = normalize_rows(pred, digits), normalize_rows(gold, digits)
    return p == g if ordered else Counter(p) == Counter(g)


@register(
    paper=REASONING_SQL,
    summary="1 if the predicted SQL returns the gold query's rows (multiset; ordered if gold sorts)",
)
class Execution(_SqlReward):
    name = "sql.execution"
    work = "io"  # waits on the database

    def __init__(self, params: ExecutionParams) -> None:
        super().__init__()
        self.params = params

    def score_one(self, sample: Sample) -> Score:
        ref = parse_reference(sample.reference)
        gold = _gold_result(ref, self.params)
        sql = _predicted(sample)
        if sql is None:
            return _reject("no SQL in the completion")
        try:
            parse_statement(sql, _dialect(ref))
        except Rejected as exc:
            return _reject(str(exc), sql)
        ordered = False
        if self.params.respect_order:
            try:
                ordered = has_top_level_order(parse_statement(ref.gold or "", _dialect(ref)))
            except Rejected:  # sqlglot cannot read the gold: compare as multisets
                ordered = False
        result = run_query(ref, sql, timeout=self.params.timeout, max_rows=self.params.max_rows)
        info: dict[str, Any] = {"sql": sql[:500], "ordered": ordered}
        if result.status == "timeout":
            return Score.timed_out(0.0, str(result.error), info)
        if result.status != "ok":
            return Score(0.0, info={**info, "reason": result.error})
        same = results_match(
            result.rows, gold.rows, ordered=ordered, digits=self.params.float_digits
        )
        return Score(
            float(same), info={**info, "rows": len(result.rows), "gold_rows": len(gold.rows)}
        )


# Syntax ------------------------------------------------------------------------------


@register(
    paper=REASONING_SQL,
    summary="1 if the predicted SQL parses (sqlglot) and compiles on the database (EXPLAIN)",
)
class Syntax(_SqlReward):
    name = "sql.syntax"
    work = "io"  # waits on the database

    def __init__(self, params: QueryLimits) -> None:
        super().__init__()
        self.params = params

    def score_one(self, sample: Sample) -> Score:
        ref = parse_reference(sample.reference, need_gold=False, need_db=False)
        sql = _predicted(sample)
        if sql is None:
            return _reject("no SQL in the completion")
        try:
            parse_statement(sql, _dialect(ref))
        except Rejected as exc:
            return _reject(str(exc), sql)
        if ref.path is None:
            return Score(1.0, info={"sql": sql[:500], "checked": "parse"})
        result = run_query(
            ref, sql, timeout=self.params.timeout, max_rows=self.params.max_rows, explain=True
        )
        info = {"sql": sql[:500], "checked": "explain"}
        if result.status == "timeout":
            return Score.timed_out(0.0, str(result.error), info)
        if result.status != "ok":
            return Score(0.0, info={**info, "reason": result.error})
        return Score(1.0, info=info)


# Schema linking and n-grams ----------------------------------------------------------


def jaccard(a: set[Any], b: set[Any]) -> float:
    """|a ∩ b| / |a ∪ b|, and 1.0 for two empty sets."""
    union = a | b
    return len(a & b) / len(union) if union else 1.0


@register(
    paper=REASONING_SQL,
    summary="Jaccard of the tables and columns used by the predicted and gold SQL",
)
class SchemaLinking(_SqlReward):
    name = "sql.schema_linking"

    def score_one(self, sample: Sample) -> Score:
        ref = parse_reference(sample.reference, need_db=False)
        dialect = _dialect(ref)
        try:
            gold = schema_items(parse_statement(ref.gold or "", dialect))
        except Rejected as exc:
            raise ValueError(f"gold SQL: {exc}") from None
        sql = _predicted(sample)
        if sql is None:
            return _reject("no SQL in the completion")
        try:
            pred = schema_items(parse_statement(sql, dialect))
        except Rejected as exc:
            return _reject(str(exc), sql)
        info = {"sql": sql[:500], "predicted": sorted(pred)[:50], "gold": sorted(gold)[:50]}
        return Score(jaccard(pred, gold), info=info)


@register(
    paper=REASONING_SQL,
    summary="Jaccard of the token n-gram sets (n=2) of the predicted and gold SQL",
)
class Ngram(_SqlReward):
    name = "sql.ngram"

    def __init__(self, params: NgramParams) -> None:
        super().__init__()
        self.params = params

    def score_one(self, sample: Sample) -> Score:
        ref = parse_reference(sample.reference, need_db=False)
        dialect, n = _dialect(ref), self.params.n
        try:
            gold = ngrams(sql_tokens(ref.gold or "", dialect), n)
        except Rejected as exc:
            raise ValueError(f"gold SQL: {exc}") from None
        sql = _predicted(sample)
        if sql is None:
            return _reject("no SQL in the completion")
        try:
            pred = ngrams(sql_tokens(sql, dialect), n)
        except Rejected as exc:
            return _reject(str(exc), sql)
        return Score(jaccard(pred, gold), info={"sql": sql[:500], "n": n})
