"""DuckDB, run where a deadline can end it: queries and inline builds in worker processes.

Every DuckDB connection has ``threads=1``, ``memory_limit`` (``DUCKDB_MEMORY_LIMIT``), no
file access (``enable_external_access=False``: no file-reading table functions, no
``ATTACH``, ``COPY``, ``EXPORT`` or ``INSTALL``), no extension autoloading or
autoinstalling, no persistent secrets, no temporary directory (nothing spills to disk)
and a locked configuration (no ``SET`` back).

``memory_limit`` bounds DuckDB's buffer manager, not every allocation: ``repeat('x',
4e9)``, ``lpad``, ``range(4e8)`` or ``list_resize`` build one value outside it, and such
a function does not check for interrupts either (measured: 23 s and 7.7 GB against a 2 s
timeout and a 1 GB limit, in the scoring process). So each statement runs in a worker of
``rewardsmith.runtime.shared_executor``:

- a watchdog thread calls ``interrupt()`` at the timeout and, ``KILL_GRACE_S`` later, ends
  the worker if the statement is still running (``_EXIT_OVERRUN``): the item gets
  ``status`` timeout; pebble's own limit is a backstop;
- while the statement runs, the worker's data segment (``RLIMIT_DATA``) is capped at its
  current size + ``DUCKDB_DATA_HEADROOM``: a larger allocation fails as an out-of-memory
  error (the predicted query earns 0 with the reason);
- the scoring process never runs DuckDB, so its memory does not move.

Inside a worker already (a reward under ``Isolated``), statements run there, under the
same memory cap; that worker's own limit ends a runaway.

Inline schemas are split by DuckDB's own parser (``duckdb.extract_statements``); only
``CREATE TABLE``/``VIEW``/``INDEX``/``TYPE`` and ``INSERT`` run, one statement at a time.
The object kind of a ``CREATE`` is read past comments as DuckDB reads them (nested
``/* */``); anything unexpected there is refused.

Not protected: CPU time up to the limit; a worker that the kernel kills for memory
(another process using it all) is an error.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from pebble import ProcessExpired

from rewardsmith.errors import MissingExtraError
from rewardsmith.runtime.executor import STARTUP_GRACE_S, in_worker, preload, shared_executor
from rewardsmith.verifiable.sql.common import (
    BUILD_TIMEOUT_S,
    MAX_INLINE_BYTES,
    BuildFailed,
    QueryResult,
    SchemaRefused,
    fetch_rows,
    insert_rows,
    reason_of,
    to_result,
)

__all__ = [
    "DUCKDB_DATA_HEADROOM",
    "DUCKDB_MEMORY_LIMIT",
    "KILL_GRACE_S",
    "build_duckdb",
    "duckdb_statements",
    "open_duckdb",
    "run_duckdb",
]

DUCKDB_MEMORY_LIMIT = "1GB"
DUCKDB_DATA_HEADROOM = 2 * 1024**3
"""Bytes a DuckDB worker's data segment may grow by while one statement runs."""
KILL_GRACE_S = 0.5
"""After its timeout and interrupt, how long a DuckDB statement has before its worker ends."""
_EXIT_OVERRUN = 86
"""The exit code of a DuckDB worker that ends itself: its statement outlived the grace."""
_CREATABLE = frozenset({"TABLE", "VIEW", "INDEX", "TYPE"})
ALLOWED_SCHEMA = "only CREATE TABLE/INDEX/VIEW and INSERT are allowed in a schema"

preload("duckdb")  # workers start with DuckDB imported (skipped when it is not installed)


def duckdb_module() -> Any:
    """The duckdb module, or MissingExtraError naming the extra."""
    try:
        import duckdb
    except ImportError:
        raise MissingExtraError("duckdb", "sql") from None
    return duckdb


def _config() -> dict[str, Any]:
    return {
        "enable_external_access": False,
        "autoload_known_extensions": False,
        "autoinstall_known_extensions": False,
        "allow_community_extensions": False,
        "allow_persistent_secrets": False,
        "temp_directory": "",
        "threads": 1,
        "memory_limit": DUCKDB_MEMORY_LIMIT,
        "lock_configuration": True,
    }


def open_duckdb(path: str) -> Any:
    """A read-only DuckDB connection with the limits above (ValueError if unusable)."""
    duckdb = duckdb_module()
    try:
        return duckdb.connect(path, read_only=True, config=_config())
    except duckdb.Error as exc:
        raise ValueError(f"cannot open DuckDB database {path!r:.200}: {reason_of(exc)}") from None


# Running in a worker -----------------------------------------------------------------


class _Overran(Exception):
    """A DuckDB statement outlived its deadline and its worker was ended."""


def _call(fn: Callable[..., Any], timeout: float, *args: Any) -> Any:
    """``fn(*args, hard_stop)`` in a worker process, which ends itself when the statement
    outlives ``timeout`` + ``KILL_GRACE_S``: ``_Overran`` then. Inside a worker already,
    ``fn`` runs here without the hard stop. A worker that dies otherwise, or a pool that
    does not answer, is a RuntimeError (an item error, not the query's fault)."""
    if in_worker():
        return fn(*args, False)
    limit = timeout + KILL_GRACE_S
    future = shared_executor().submit(fn, limit + 1.0, *args, True)  # pebble's: a backstop
    try:
        return future.result(timeout=STARTUP_GRACE_S + limit + 5.0)
    except TimeoutError:
        if not future.done():
            future.cancel()
            raise RuntimeError("the DuckDB worker did not answer") from None
        raise _Overran from None
    except ProcessExpired as exc:
        if exc.exitcode == _EXIT_OVERRUN:
            raise _Overran from None
        raise RuntimeError(f"the DuckDB worker died (exit code {exc.exitcode})") from None


def _watchdog(
    conn: Any, timeout: float, hard_stop: bool, files: Sequence[str] = ()
) -> Callable[[], str]:
    """Interrupt ``conn`` after ``timeout`` seconds or when ``files`` outgrow
    ``MAX_INLINE_BYTES``; with ``hard_stop``, end the process ``KILL_GRACE_S`` later if the
    statement still runs. The returned function stops the watch and says why it fired
    ('' if it did not)."""
    done = threading.Event()
    why: list[str] = []
    deadline = time.monotonic() + timeout

    def watch() -> None:
        while not done.wait(0.02):
            if time.monotonic() > deadline:
                why.append(f"ran past {timeout:g}s")
            elif files and sum(_size(f) for f in files) > MAX_INLINE_BYTES:
                why.append(f"grew past {MAX_INLINE_BYTES} bytes")
            else:
                continue
            with contextlib.suppress(Exception):  # the statement may have ended meanwhile
                conn.interrupt()
            if not hard_stop or done.wait(KILL_GRACE_S):
                return
            os._exit(_EXIT_OVERRUN)  # from this thread: the main one is stuck in DuckDB

    threading.Thread(target=watch, daemon=True, name="rewardsmith-sql-watch").start()

    def stop() -> str:
        done.set()
        return why[0] if why else ""

    return stop


def _size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


@contextlib.contextmanager
def _memory_cap(headroom: int = DUCKDB_DATA_HEADROOM) -> Iterator[None]:
    """Cap this process's data segment at its current size + ``headroom`` for the block.

    For worker processes only: the limit holds for every thread of the process. Where
    the size cannot be read (no ``/proc``), nothing is capped.
    """
    try:
        import resource

        used = _data_bytes()
        soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
        cap = used + headroom
        for bound in (soft, hard):
            if bound != resource.RLIM_INFINITY:
                cap = min(cap, bound)
        resource.setrlimit(resource.RLIMIT_DATA, (cap, hard))
    except (ImportError, OSError, ValueError):
        yield
        return
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_DATA, (soft, hard))


def _data_bytes() -> int:
    """This process's data segment (``VmData``) in bytes; OSError where unknown."""
    with open("/proc/self/status", encoding="ascii", errors="replace") as status:
        for line in status:
            if line.startswith("VmData:"):
                return int(line.split()[1]) * 1024
    raise OSError("no VmData in /proc/self/status")


# Queries -----------------------------------------------------------------------------


def run_duckdb(
    path: str, sql: str, *, timeout: float, max_rows: int, max_bytes: int, explain: bool
) -> QueryResult:
    """Run one statement read-only in a worker; ValueError if the database cannot open."""
    start = time.monotonic()
    try:
        result = _call(_run, timeout, path, sql, timeout, max_rows, max_bytes, explain)
    except _Overran:
        elapsed = time.monotonic() - start
        return QueryResult("timeout", error=f"query ran past {timeout:g}s", seconds=elapsed)
    if isinstance(result, str):  # the database could not be opened
        raise ValueError(result)
    return result  # type: ignore[no-any-return]


def _run(
    path: str,
    sql: str,
    timeout: float,
    max_rows: int,
    max_bytes: int,
    explain: bool,
    hard_stop: bool,
) -> QueryResult | str:
    """In the worker: the result, or why the database cannot be opened."""
    duckdb = duckdb_module()
    try:
        conn = open_duckdb(path)
    except ValueError as exc:
        return str(exc)
    start = time.monotonic()
    stop = _watchdog(conn, timeout, hard_stop)
    try:
        with _memory_cap():
            cursor = conn.execute(sql)
            rows = cursor.fetchmany(1) if explain else fetch_rows(cursor, max_rows, max_bytes)
    except (duckdb.Error, MemoryError, RuntimeError, ValueError) as exc:
        elapsed = time.monotonic() - start
        if stop():
            return QueryResult("timeout", error=f"query ran past {timeout:g}s", seconds=elapsed)
        return QueryResult("error", error=reason_of(exc), seconds=elapsed)
    finally:
        stop()
        conn.close()
    return to_result(rows, time.monotonic() - start)


# Inline schemas ----------------------------------------------------------------------

_WORD = re.compile(r"[A-Za-z_]+")


def _leading_words(sql: str, n: int) -> list[str]:
    """The first ``n`` keywords of ``sql``, uppercased, past whitespace and comments
    (``--`` lines, nested ``/* */`` as DuckDB reads them); fewer if something else comes."""
    words: list[str] = []
    i, end = 0, len(sql)
    while i < end and len(words) < n:
        if sql[i] in " \t\n\r\f\v":
            i += 1
        elif sql.startswith("--", i):
            newline = sql.find("\n", i)
            i = end if newline < 0 else newline + 1
        elif sql.startswith("/*", i):
            i = _comment_end(sql, i)
        else:
            match = _WORD.match(sql, i)
            if match is None:
                break
            words.append(match.group().upper())
            i = match.end()
    return words


def _comment_end(sql: str, i: int) -> int:
    """Where the (nested) block comment opening at ``i`` ends."""
    depth, i = 1, i + 2
    while i < len(sql) and depth:
        if sql.startswith("/*", i):
            depth, i = depth + 1, i + 2
        elif sql.startswith("*/", i):
            depth, i = depth - 1, i + 2
        else:
            i += 1
    return i


def _created_kind(query: str) -> str:
    """What a CREATE statement creates: TABLE, VIEW, INDEX, SECRET, MACRO..."""
    words = _leading_words(query, 8)[1:]  # past CREATE
    while words and words[0] in ("OR", "REPLACE", "UNIQUE", "PERSISTENT"):
        words.pop(0)
    if words and words[0] in ("TEMP", "TEMPORARY"):
        return "TEMP " + (words[1] if len(words) > 1 else "")
    return words[0] if words else "?"


def duckdb_statements(schema: str) -> list[Any]:
    """The schema's statements, split by DuckDB's own parser; SchemaRefused unless each is
    a CREATE TABLE/VIEW/INDEX/TYPE or an INSERT (ValueError if it does not parse)."""
    duckdb = duckdb_module()
    try:
        statements = list(duckdb.extract_statements(schema))
    except duckdb.Error as exc:
        raise ValueError(f"inline schema does not parse: {reason_of(exc)}") from None
    for statement in statements:
        kind = statement.type.name
        if kind == "CREATE":
            created = _created_kind(statement.query)
            if created not in _CREATABLE:
                raise SchemaRefused(f"inline schema refused: CREATE {created} ({ALLOWED_SCHEMA})")
        elif kind != "INSERT":
            first = " ".join(_leading_words(statement.query, 1)) or kind
            raise SchemaRefused(f"inline schema refused: {first} ({ALLOWED_SCHEMA})")
    return statements


def build_duckdb(path: str, schema: str, rows: Mapping[str, Any]) -> None:
    """Write the inline database to ``path`` in a worker: SchemaRefused, TimeoutError or
    BuildFailed if it cannot be built."""
    duckdb_statements(schema)  # a refusal needs no worker
    try:
        refused, why = _call(_build, BUILD_TIMEOUT_S, path, schema, dict(rows))
    except _Overran:
        raise TimeoutError(f"the schema ran past {BUILD_TIMEOUT_S:g}s") from None
    if refused:
        raise SchemaRefused(why)
    if why:
        raise BuildFailed(why)


def _build(path: str, schema: str, rows: Mapping[str, Any], hard_stop: bool) -> tuple[bool, str]:
    """In the worker: (refused, why); why is '' when the file was written."""
    duckdb = duckdb_module()
    try:
        statements = duckdb_statements(schema)
    except SchemaRefused as exc:
        return True, str(exc)
    except ValueError as exc:
        return False, str(exc)
    conn = duckdb.connect(path, config=_config())
    stop = _watchdog(conn, BUILD_TIMEOUT_S, hard_stop, (path, f"{path}.wal"))
    try:
        with _memory_cap():
            for statement in statements:  # the statements checked, not the text re-read
                conn.execute(statement)
            insert_rows(conn, rows)
            conn.execute("CHECKPOINT")
    except (duckdb.Error, MemoryError, ValueError, TypeError, RuntimeError) as exc:
        return False, stop() or reason_of(exc)
    finally:
        stop()
        conn.close()
    return False, ""
