"""Opening text-to-SQL databases safely and running one query with limits.

The threat model: a reference (``{"sql", "db" | "schema", "rows", "engine"}``) may come
from any client of ``rewardsmith serve``, and the predicted query from the policy being
trained. What is protected, and how:

- **No writes, no host files.** SQLite files open through a ``file:...?mode=ro`` URI,
  with ``PRAGMA query_only=ON``, no attached databases allowed (``SQLITE_LIMIT_ATTACHED``
  = 0) and an authorizer that allows reads, selects, functions and recursive CTEs only:
  ``DROP``, ``DELETE``, ``UPDATE``, ``ATTACH``, ``PRAGMA``, transactions and
  ``load_extension`` fail at prepare time. DuckDB files open read-only without file
  access, extensions, secrets or spilling, the configuration locked (``duck``).
- **Inline databases are data, not code** (``inline``): a schema may create tables,
  indexes and views and insert rows; anything else (``ATTACH``, ``PRAGMA``, triggers,
  ``COPY``, ``INSTALL``, ``LOAD``, ``SET``, ``CALL``, ``EXPORT``, secrets, macros,
  ``DROP``...) makes the reference an error naming it, and is never run.
- **``db`` paths stay under the operator's roots.** A path is resolved
  (``os.path.realpath``: ``..`` and symlinks followed) and must lie under one of the
  roots in ``$REWARDSMITH_SQL_ROOTS`` (``os.pathsep``-separated; set but empty: no root,
  every ``db`` path is refused; unset: the current working directory, the default of the
  Python API). ``rewardsmith score --sql-root DIR`` and ``rewardsmith serve --sql-root
  DIR`` (repeatable) set it before any worker starts, so ``score --processes`` and
  ``serve --score-processes`` children inherit it; ``serve`` without ``--sql-root`` sets it
  empty (unless it is already set): over HTTP no ``db`` path is allowed by default. A
  refused path gets the same message whether or not the file exists.
- **Time.** SQLite: a progress handler aborts the statement after ``timeout`` seconds.
  DuckDB: each statement runs in a worker process that is interrupted at the timeout and
  ends itself shortly after if DuckDB does not stop (``duck``): ``status`` timeout.
- **Memory.** DuckDB: ``threads=1``, ``memory_limit``, and a cap on the worker's data
  segment; the scoring process never runs DuckDB. SQLite strings and blobs are capped at
  ``MAX_VALUE_BYTES``.
- **Size.** Rows are fetched in small chunks, at most ``max_rows`` + 1 of them; one more
  than ``max_rows``, or more than ``MAX_RESULT_BYTES`` of text and blobs in all, means
  the result is too large.
- **Messages.** An engine's error reaches ``info["reason"]`` (or the item's error) as its
  first line, control characters removed, quoted text over 40 characters shortened, at
  most ``MAX_REASON_CHARS`` in all (``common.reason_of``).

What is not protected: CPU time up to the limit; memory inside one SQLite query below
the length cap (a huge ``GROUP BY`` can still allocate: SQLite runs in the scoring
process); a ``db`` file swapped between the root check and its opening by someone who
can write under a root; data that a ``db`` file under a root holds (a query may read all
of it, and its errors may quote up to 40 characters of a value). Run untrusted workloads
under ``Isolated`` (a worker process) if that matters.
"""

from __future__ import annotations

import os
import sqlite3
import time
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from rewardsmith.verifiable.sql.common import (
    MAX_REASON_CHARS,
    MAX_RESULT_BYTES,
    MAX_VALUE_BYTES,
    QueryResult,
    SchemaRefused,
    fetch_rows,
    reason_of,
    to_result,
)
from rewardsmith.verifiable.sql.duck import DUCKDB_MEMORY_LIMIT, open_duckdb, run_duckdb
from rewardsmith.verifiable.sql.inline import SQLITE_DENIED_FUNCTIONS, inline_database

__all__ = [
    "DUCKDB_MEMORY_LIMIT",
    "MAX_REASON_CHARS",
    "MAX_RESULT_BYTES",
    "MAX_VALUE_BYTES",
    "SQL_ROOTS_ENV",
    "QueryResult",
    "SchemaRefused",
    "SqlReference",
    "confined_path",
    "inline_database",
    "open_duckdb",
    "open_sqlite",
    "parse_reference",
    "reason_of",
    "run_query",
    "set_sql_roots",
    "sql_roots",
]

Engine = Literal["sqlite", "duckdb"]
SQL_ROOTS_ENV = "REWARDSMITH_SQL_ROOTS"
_SQLITE_ALLOWED = frozenset(
    {sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION, sqlite3.SQLITE_RECURSIVE}
)


@dataclass(frozen=True, slots=True)
class SqlReference:
    """A parsed reference: the gold query, the engine and the database file (if any)."""

    gold: str | None
    engine: Engine
    path: str | None


def parse_reference(
    reference: Any, *, need_gold: bool = True, need_db: bool = True
) -> SqlReference:
    """Validate a reference; ValueError says what is wrong (not the completion's fault).

    Args:
        reference: ``{"sql": GOLD, "db": PATH, "engine": "sqlite"|"duckdb"}`` or
            ``{"sql": GOLD, "schema": DDL, "rows": {table: [[...], ...]}}``.
        need_gold: the ``sql`` key is required.
        need_db: a database (file or inline) is required.
    """
    if not isinstance(reference, Mapping):
        raise ValueError(f"SQL reference must be a dict, got {type(reference).__name__}")
    engine = reference.get("engine", "sqlite")
    if engine not in ("sqlite", "duckdb"):
        raise ValueError(f"engine must be 'sqlite' or 'duckdb', got {engine!r:.40}")
    gold = reference.get("sql")
    if gold is not None and (not isinstance(gold, str) or not gold.strip()):
        raise ValueError("reference 'sql' must be a non-empty string")
    if need_gold and gold is None:
        raise ValueError("reference has no gold 'sql'")
    path: str | None = None
    if reference.get("db") is not None:
        db = reference["db"]
        if not isinstance(db, str | os.PathLike):
            raise ValueError(f"reference 'db' must be a path, got {type(db).__name__}")
        path = confined_path(os.fspath(db))
    elif reference.get("schema") is not None:
        path = inline_database(engine, reference["schema"], reference.get("rows") or {})
    elif need_db:
        raise ValueError("reference has neither 'db' nor 'schema'")
    return SqlReference(gold, engine, path)


# Database files under the operator's roots --------------------------------------------


def sql_roots() -> tuple[str, ...]:
    """The resolved directories ``db`` paths must lie in (see the module docstring)."""
    raw = os.environ.get(SQL_ROOTS_ENV)
    if raw is None:
        return (os.path.realpath(os.getcwd()),)
    return tuple(os.path.realpath(p) for p in raw.split(os.pathsep) if p.strip())


def set_sql_roots(
    roots: Sequence[str | os.PathLike[str]] | None, *, unset_means_none: bool
) -> None:
    """Set ``$REWARDSMITH_SQL_ROOTS`` for this process and the processes it starts (the
    CLI's ``--sql-root``). Without ``roots``, a value already in the environment stays;
    if there is none, ``unset_means_none`` sets it empty (no ``db`` path allowed: the
    server's default), else it stays unset (the working directory)."""
    if roots:
        os.environ[SQL_ROOTS_ENV] = os.pathsep.join(os.path.realpath(r) for r in roots)
    elif unset_means_none:
        os.environ.setdefault(SQL_ROOTS_ENV, "")


def _inside(path: str, root: str) -> bool:
    return os.path.commonpath([path, root]) == root


def confined_path(path: str) -> str:
    """The resolved ``path`` if it is a file under one of ``sql_roots()``, else ValueError.

    Outside the roots, whether the file exists is not said.
    """
    real = os.path.realpath(path)
    roots = sql_roots()
    if not roots:
        raise ValueError(
            f"database {path!r:.200} refused: 'db' paths are not allowed here "
            "(no SQL root; the operator names them with --sql-root)"
        )
    if not any(_inside(real, root) for root in roots):
        raise ValueError(
            f"database {path!r:.200} refused: outside the allowed SQL roots (--sql-root)"
        )
    if not os.path.isfile(real):
        raise ValueError(f"database not found: {path!r:.200}")
    return real


# Running queries ---------------------------------------------------------------------


def run_query(
    ref: SqlReference,
    sql: str,
    *,
    timeout: float,
    max_rows: int,
    explain: bool = False,
) -> QueryResult:
    """Run one statement read-only on the reference's database, within the limits.

    A fault of the query (it errors, runs too long, returns too many rows) comes back as a
    ``QueryResult``; a database that cannot be opened raises ValueError.

    Args:
        ref: the parsed reference; its ``path`` must be set.
        sql: a single statement (trailing semicolons are dropped).
        timeout: seconds before the query is interrupted.
        max_rows: more rows than this is ``too_large``.
        explain: compile the statement with ``EXPLAIN`` instead of running it.
    """
    if ref.path is None:
        raise ValueError("reference has no database to run the query on")
    sql = sql.strip().rstrip(";").strip()
    if explain:
        sql = f"EXPLAIN {sql}"
    if ref.engine == "duckdb":
        return run_duckdb(
            ref.path,
            sql,
            timeout=timeout,
            max_rows=max_rows,
            max_bytes=MAX_RESULT_BYTES,
            explain=explain,
        )
    return _run_sqlite(ref.path, sql, timeout, max_rows, explain, MAX_RESULT_BYTES)


def _authorize(action: int, arg1: str | None, arg2: str | None, *_: object) -> int:
    if action == sqlite3.SQLITE_FUNCTION and (arg2 or "").lower() in SQLITE_DENIED_FUNCTIONS:
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK if action in _SQLITE_ALLOWED else sqlite3.SQLITE_DENY


def open_sqlite(path: str) -> sqlite3.Connection:
    """A read-only connection that refuses anything but reading (ValueError if unusable)."""
    uri = "file:" + urllib.parse.quote(os.path.abspath(path)) + "?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None)
    except sqlite3.Error as exc:
        raise ValueError(f"cannot open SQLite database {path!r:.200}: {reason_of(exc)}") from None
    try:
        conn.execute("PRAGMA query_only = ON")
        conn.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
        conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_VALUE_BYTES)
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.Error as exc:
        conn.close()
        raise ValueError(f"cannot open SQLite database {path!r:.200}: {reason_of(exc)}") from None
    conn.set_authorizer(_authorize)
    return conn


def _run_sqlite(
    path: str, sql: str, timeout: float, max_rows: int, explain: bool, max_bytes: int
) -> QueryResult:
    conn = open_sqlite(path)
    start = time.monotonic()
    deadline = start + timeout
    expired = False

    def progress() -> int:
        nonlocal expired
        expired = time.monotonic() > deadline
        return int(expired)

    conn.set_progress_handler(progress, 1000)
    try:
        cursor = conn.execute(sql)
        rows = cursor.fetchmany(1) if explain else fetch_rows(cursor, max_rows, max_bytes)
    except (sqlite3.Error, sqlite3.Warning, OverflowError, ValueError) as exc:
        elapsed = time.monotonic() - start
        if expired:
            return QueryResult("timeout", error=f"query ran past {timeout:g}s", seconds=elapsed)
        return QueryResult("error", error=reason_of(exc), seconds=elapsed)
    finally:
        conn.close()
    return to_result(rows, time.monotonic() - start)
