"""Opening text-to-SQL databases safely and running one query with limits.

What is protected, and how:

- **No writes.** SQLite files open through a ``file:...?mode=ro`` URI, with ``PRAGMA
  query_only=ON``, no attached databases allowed (``SQLITE_LIMIT_ATTACHED`` = 0) and an
  authorizer that allows reads, selects, functions and recursive CTEs only: ``DROP``,
  ``DELETE``, ``UPDATE``, ``ATTACH``, ``PRAGMA`` and transactions fail at prepare time.
  DuckDB files open with ``read_only=True``, ``enable_external_access=False`` (no file
  reads, no ``ATTACH``, no ``COPY``), extension autoloading off and the configuration
  locked, so a query cannot ``SET`` its way back.
- **Time.** SQLite: a progress handler aborts the statement after ``timeout`` seconds.
  DuckDB: a ``threading.Timer`` calls ``conn.interrupt()``. Both are cooperative: the
  engine stops at its next check, normally within milliseconds.
- **Size.** Rows are fetched in small chunks, at most ``max_rows`` + 1 of them; one more
  than ``max_rows``, or more than ``MAX_RESULT_BYTES`` of text and blobs in all, means
  the result is too large. SQLite strings and blobs are capped at ``MAX_VALUE_BYTES``;
  DuckDB runs on one thread with a ``memory_limit``.

What is not protected: CPU time up to the limit, and memory inside one SQLite query
below the length cap (a huge ``GROUP BY`` can still allocate). Run untrusted workloads
under ``Isolated`` (a worker process) if that matters.

Inline databases (``{"schema": DDL, "rows": {table: [[...], ...]}}``) are written once
per distinct content (keyed by a SHA-256 of it) into a private temporary directory, one
per process and removed at exit, and then opened read-only like any file.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import os
import shutil
import sqlite3
import tempfile
import threading
import time
import urllib.parse
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import orjson

from rewardsmith.errors import MissingExtraError

__all__ = [
    "MAX_RESULT_BYTES",
    "MAX_VALUE_BYTES",
    "QueryResult",
    "SqlReference",
    "parse_reference",
    "run_query",
]

Engine = Literal["sqlite", "duckdb"]
MAX_VALUE_BYTES = 10_000_000
MAX_RESULT_BYTES = 64_000_000
_FETCH_CHUNK = 256
DUCKDB_MEMORY_LIMIT = "1GB"
_INLINE_CACHE_SIZE = 256
_SQLITE_ALLOWED = frozenset(
    {sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION, sqlite3.SQLITE_RECURSIVE}
)


@dataclass(frozen=True, slots=True)
class SqlReference:
    """A parsed reference: the gold query, the engine and the database file (if any)."""

    gold: str | None
    engine: Engine
    path: str | None


@dataclass(frozen=True, slots=True)
class QueryResult:
    """What running one query gave: rows, or why there are none."""

    status: Literal["ok", "error", "timeout", "too_large"]
    rows: tuple[tuple[Any, ...], ...] = ()
    error: str = ""
    seconds: float = 0.0


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
        path = os.fspath(db)
        if not os.path.isfile(path):
            raise ValueError(f"database not found: {path!r:.200}")
    elif reference.get("schema") is not None:
        path = inline_database(engine, reference["schema"], reference.get("rows") or {})
    elif need_db:
        raise ValueError("reference has neither 'db' nor 'schema'")
    return SqlReference(gold, engine, path)


# Inline databases --------------------------------------------------------------------

_inline_lock = threading.Lock()
_inline_paths: OrderedDict[str, str] = OrderedDict()
_inline_dir: str | None = None
_inline_pid = 0


def _inline_directory() -> str:
    """This process's directory (a forked child makes its own and never deletes ours)."""
    global _inline_dir, _inline_pid
    if _inline_dir is None or _inline_pid != os.getpid():
        _inline_dir, _inline_pid = tempfile.mkdtemp(prefix="rewardsmith-sql-"), os.getpid()
        _inline_paths.clear()
        atexit.register(_remove_directory, _inline_dir, _inline_pid)
    return _inline_dir


def _remove_directory(path: str, pid: int) -> None:
    if os.getpid() == pid:
        shutil.rmtree(path, ignore_errors=True)


def inline_database(engine: Engine, schema: Any, rows: Any) -> str:
    """The path of a read-only-ready file holding ``schema`` and ``rows`` (built once)."""
    if not isinstance(schema, str) or not schema.strip():
        raise ValueError("reference 'schema' must be a non-empty DDL string")
    if not isinstance(rows, Mapping) or not all(
        isinstance(t, str) and isinstance(r, Sequence) and not isinstance(r, str)
        for t, r in rows.items()
    ):
        raise ValueError("reference 'rows' must map table names to lists of rows")
    try:
        blob = orjson.dumps(
            {"engine": engine, "schema": schema, "rows": rows}, option=orjson.OPT_SORT_KEYS
        )
    except TypeError as exc:
        raise ValueError(f"reference 'rows' are not plain data: {exc}") from None
    key = hashlib.sha256(blob).hexdigest()
    with _inline_lock:
        directory = _inline_directory()
        if key in _inline_paths:
            _inline_paths.move_to_end(key)
            return _inline_paths[key]
        final = os.path.join(directory, f"{key[:32]}.{engine}")
        tmp = f"{final}.{threading.get_ident()}.tmp"
        try:
            _write_inline(engine, tmp, schema, rows)
        except Exception as exc:
            _remove(tmp)
            raise ValueError(f"inline database cannot be built: {exc}") from None
        os.replace(tmp, final)
        _inline_paths[key] = final
        while len(_inline_paths) > _INLINE_CACHE_SIZE:
            _remove(_inline_paths.popitem(last=False)[1])
        return final


def _write_inline(engine: Engine, path: str, schema: str, rows: Mapping[str, Any]) -> None:
    conn: Any = _duckdb().connect(path) if engine == "duckdb" else sqlite3.connect(path)
    try:
        if engine == "duckdb":
            conn.execute(schema)
        else:
            conn.executescript(schema)
        for table, table_rows in rows.items():
            if not table_rows:
                continue
            width = len(table_rows[0])
            marks = ", ".join("?" * width)
            conn.executemany(f"INSERT INTO {_quote(table)} VALUES ({marks})", table_rows)
        if engine == "sqlite":
            conn.commit()
    finally:
        conn.close()


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _remove(path: str) -> None:
    with contextlib.suppress(OSError):
        os.remove(path)


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
        return _run_duckdb(ref.path, sql, timeout, max_rows, explain)
    return _run_sqlite(ref.path, sql, timeout, max_rows, explain)


def _authorize(action: int, *_: object) -> int:
    return sqlite3.SQLITE_OK if action in _SQLITE_ALLOWED else sqlite3.SQLITE_DENY


def open_sqlite(path: str) -> sqlite3.Connection:
    """A read-only connection that refuses anything but reading (ValueError if unusable)."""
    uri = "file:" + urllib.parse.quote(os.path.abspath(path)) + "?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None)
    except sqlite3.Error as exc:
        raise ValueError(f"cannot open SQLite database {path!r:.200}: {exc}") from None
    try:
        conn.execute("PRAGMA query_only = ON")
        conn.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
        conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_VALUE_BYTES)
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.Error as exc:
        conn.close()
        raise ValueError(f"cannot open SQLite database {path!r:.200}: {exc}") from None
    conn.set_authorizer(_authorize)
    return conn


def _run_sqlite(path: str, sql: str, timeout: float, max_rows: int, explain: bool) -> QueryResult:
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
        rows = cursor.fetchmany(1) if explain else _fetch(cursor, max_rows)
    except (sqlite3.Error, sqlite3.Warning, OverflowError, ValueError) as exc:
        elapsed = time.monotonic() - start
        if expired:
            return QueryResult("timeout", error=f"query ran past {timeout:g}s", seconds=elapsed)
        return QueryResult("error", error=f"{type(exc).__name__}: {exc}", seconds=elapsed)
    finally:
        conn.close()
    return _result(rows, time.monotonic() - start)


def _duckdb() -> Any:
    try:
        import duckdb
    except ImportError:
        raise MissingExtraError("duckdb", "sql") from None
    return duckdb


def open_duckdb(path: str) -> Any:
    """A read-only DuckDB connection with no file access and a locked configuration."""
    duckdb = _duckdb()
    config = {
        "enable_external_access": False,
        "autoload_known_extensions": False,
        "autoinstall_known_extensions": False,
        "threads": 1,
        "memory_limit": DUCKDB_MEMORY_LIMIT,
        "lock_configuration": True,
    }
    try:
        return duckdb.connect(path, read_only=True, config=config)
    except duckdb.Error as exc:
        raise ValueError(f"cannot open DuckDB database {path!r:.200}: {exc}") from None


def _run_duckdb(path: str, sql: str, timeout: float, max_rows: int, explain: bool) -> QueryResult:
    duckdb = _duckdb()
    conn = open_duckdb(path)
    expired = threading.Event()

    def interrupt() -> None:
        expired.set()
        with contextlib.suppress(Exception):  # the query may have closed it meanwhile
            conn.interrupt()

    timer = threading.Timer(timeout, interrupt)
    timer.daemon = True
    start = time.monotonic()
    timer.start()
    try:
        cursor = conn.execute(sql)
        rows = cursor.fetchmany(1) if explain else _fetch(cursor, max_rows)
    except (duckdb.Error, RuntimeError, ValueError) as exc:
        elapsed = time.monotonic() - start
        if expired.is_set():
            return QueryResult("timeout", error=f"query ran past {timeout:g}s", seconds=elapsed)
        return QueryResult("error", error=f"{type(exc).__name__}: {exc}", seconds=elapsed)
    finally:
        timer.cancel()
        conn.close()
    return _result(rows, time.monotonic() - start)


def _fetch(cursor: Any, max_rows: int) -> list[Any] | str:
    """Up to ``max_rows`` + 1 rows, or why the result is too large."""
    rows: list[Any] = []
    size = 0
    while len(rows) <= max_rows:
        chunk = cursor.fetchmany(min(_FETCH_CHUNK, max_rows + 1 - len(rows)))
        if not chunk:
            break
        rows.extend(chunk)
        size += sum(len(v) for row in chunk for v in row if isinstance(v, str | bytes))
        if size > MAX_RESULT_BYTES:
            return f"more than {MAX_RESULT_BYTES} bytes of text and blobs"
    return rows if len(rows) <= max_rows else f"more than {max_rows} rows"


def _result(rows: list[Any] | str, seconds: float) -> QueryResult:
    if isinstance(rows, str):
        return QueryResult("too_large", error=rows, seconds=seconds)
    return QueryResult("ok", tuple(tuple(r) for r in rows), seconds=seconds)
