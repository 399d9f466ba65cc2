"""Inline databases: ``{"schema": DDL, "rows": {table: [[...], ...]}}`` built once, as data.

The schema runs under the predicted query's kind of restrictions, widened only to what
building tables needs:

- SQLite: an authorizer allows ``CREATE TABLE``/``INDEX``/``VIEW``, ``INSERT`` and the
  reads, selects, functions, recursive CTEs and transactions they use, and the engine's
  own updates of its catalog; ``ATTACH`` (and ``VACUUM INTO``, which attaches), ``PRAGMA``,
  triggers, virtual and temporary tables, ``DROP``, ``DELETE``, ``UPDATE``, ``ALTER`` and
  the ``load_extension`` function are refused. No database may be attached
  (``SQLITE_LIMIT_ATTACHED`` = 0), strings are capped, the file at ``MAX_INLINE_BYTES``
  (``max_page_count``), the time at ``BUILD_TIMEOUT_S``.
- DuckDB: see ``duck``: statements split by DuckDB's parser, only ``CREATE
  TABLE``/``VIEW``/``INDEX``/``TYPE`` and ``INSERT``, on a connection without file access,
  in a worker process, with the same time, size and memory limits.

A refused schema is a ``SchemaRefused`` (a ValueError: the reference is an item error)
naming the statement; it is never run (SQLite stops at it; DuckDB runs nothing). Rows
are inserted as parameters, never as SQL text.

Files are written once per distinct content (keyed by a SHA-256 of it) into a private
temporary directory (``rewardsmith-sql-*``, mode 0700), one per process, which goes
away with the process: at exit (``atexit``, and multiprocessing's finalizers in pool
workers, which end without ``atexit``) and on SIGTERM. The SIGTERM handler is installed
once per process when the directory is made from the main thread, over the default
action or a Python handler (never over ``SIG_IGN`` or a handler set from C): it removes
the directory, then calls the handler it replaced, or re-raises SIGTERM with the default
action. Not covered: a directory made from another thread (the program's own exit
handling removes it), a SIGKILL, or a SIGTERM that reaches a process stuck in C code
and then killed.
"""

from __future__ import annotations

import atexit
import hashlib
import multiprocessing.util
import os
import shutil
import signal
import sqlite3
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from types import FrameType
from typing import Any, Literal

import orjson

from rewardsmith.verifiable.sql.common import (
    BUILD_TIMEOUT_S,
    MAX_INLINE_BYTES,
    MAX_VALUE_BYTES,
    BuildFailed,
    SchemaRefused,
    insert_rows,
    reason_of,
    remove_file,
)
from rewardsmith.verifiable.sql.duck import ALLOWED_SCHEMA, build_duckdb, duckdb_statements

__all__ = ["inline_database"]

_INLINE_CACHE_SIZE = 256
_SQLITE_ALLOWED = frozenset(
    {
        sqlite3.SQLITE_CREATE_TABLE,
        sqlite3.SQLITE_CREATE_INDEX,
        sqlite3.SQLITE_CREATE_VIEW,
        sqlite3.SQLITE_INSERT,
        sqlite3.SQLITE_SELECT,
        sqlite3.SQLITE_READ,
        sqlite3.SQLITE_FUNCTION,
        sqlite3.SQLITE_RECURSIVE,
        sqlite3.SQLITE_REINDEX,  # asked for the index a CREATE INDEX builds
        sqlite3.SQLITE_TRANSACTION,
    }
)
_SQLITE_CATALOG = frozenset({"sqlite_master", "sqlite_schema"})
SQLITE_DENIED_FUNCTIONS = frozenset({"load_extension", "fts3_tokenizer"})
_SQLITE_ACTION_NAMES = (
    "ALTER_TABLE",
    "ANALYZE",
    "ATTACH",
    "CREATE_TEMP_INDEX",
    "CREATE_TEMP_TABLE",
    "CREATE_TEMP_TRIGGER",
    "CREATE_TEMP_VIEW",
    "CREATE_TRIGGER",
    "CREATE_VTABLE",
    "DELETE",
    "DETACH",
    "DROP_INDEX",
    "DROP_TABLE",
    "DROP_TEMP_INDEX",
    "DROP_TEMP_TABLE",
    "DROP_TEMP_TRIGGER",
    "DROP_TEMP_VIEW",
    "DROP_TRIGGER",
    "DROP_VIEW",
    "DROP_VTABLE",
    "PRAGMA",
    "SAVEPOINT",
    "UPDATE",
)
_SQLITE_ACTIONS = {
    getattr(sqlite3, f"SQLITE_{n}"): n.replace("_", " ") for n in _SQLITE_ACTION_NAMES
}

_lock = threading.Lock()
_paths: OrderedDict[str, str] = OrderedDict()
_directory: str | None = None
_directory_pid = 0
_sigterm_pid = 0
_previous_sigterm: Any = None


def inline_database(engine: Literal["sqlite", "duckdb"], schema: Any, rows: Any) -> str:
    """The path of a read-only-ready file holding ``schema`` and ``rows`` (built once).

    ValueError when the schema is refused (``SchemaRefused``, naming the statement),
    fails, or runs past ``BUILD_TIMEOUT_S`` or ``MAX_INLINE_BYTES``.
    """
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
    if engine == "duckdb":
        duckdb_statements(schema)  # refused before anything is made
    key = hashlib.sha256(blob).hexdigest()
    with _lock:
        directory = _this_process_directory()
        if key in _paths:
            _paths.move_to_end(key)
            return _paths[key]
    # Built outside the lock: a slow schema (up to BUILD_TIMEOUT_S) holds up no other.
    final = os.path.join(directory, f"{key[:32]}.{engine}")
    _build(engine, final, schema, rows)
    with _lock:
        _paths[key] = final
        _paths.move_to_end(key)
        while len(_paths) > _INLINE_CACHE_SIZE:
            remove_file(_paths.popitem(last=False)[1])
    return final


def _build(engine: str, final: str, schema: str, rows: Mapping[str, Any]) -> None:
    """Build into a temporary name, then rename: a failed build leaves nothing."""
    tmp = f"{final}.{threading.get_ident()}.tmp"
    try:
        if engine == "duckdb":
            build_duckdb(tmp, schema, rows)
        else:
            _build_sqlite(tmp, schema, rows)
        os.replace(tmp, final)
    except SchemaRefused:
        raise
    except Exception as exc:
        why = str(exc) if isinstance(exc, BuildFailed) else reason_of(exc)
        raise ValueError(f"inline database cannot be built: {why}") from None
    finally:
        remove_file(tmp)
        remove_file(f"{tmp}.wal")


# SQLite ------------------------------------------------------------------------------


def _schema_authorizer(refused: list[str]) -> Callable[..., int]:
    """Allows what CREATE TABLE/INDEX/VIEW and INSERT need; records what it refuses."""

    def authorize(action: int, arg1: str | None, arg2: str | None, *_: object) -> int:
        if action == sqlite3.SQLITE_FUNCTION and (arg2 or "").lower() in SQLITE_DENIED_FUNCTIONS:
            refused.append(f"function {(arg2 or '').lower()}")
            return sqlite3.SQLITE_DENY
        if action in _SQLITE_ALLOWED:
            return sqlite3.SQLITE_OK
        if action == sqlite3.SQLITE_UPDATE and arg1 in _SQLITE_CATALOG:
            return sqlite3.SQLITE_OK  # the engine recording a new table in its catalog
        if action == sqlite3.SQLITE_DELETE and arg1 in _SQLITE_CATALOG:
            refused.append("DROP")  # asked before DROP_* itself
        else:
            refused.append(_SQLITE_ACTIONS.get(action, f"action {action}"))
        return sqlite3.SQLITE_DENY

    return authorize


def _build_sqlite(path: str, schema: str, rows: Mapping[str, Any]) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    refused: list[str] = []
    deadline = time.monotonic() + BUILD_TIMEOUT_S
    try:
        conn.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
        conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_VALUE_BYTES)
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {MAX_INLINE_BYTES // page_size}")
        conn.set_authorizer(_schema_authorizer(refused))
        conn.set_progress_handler(lambda: int(time.monotonic() > deadline), 1000)
        try:
            conn.executescript(schema)
            if not conn.in_transaction:
                conn.execute("BEGIN")
            insert_rows(conn, rows)
            conn.execute("COMMIT")
        except sqlite3.Error:
            if refused:
                raise SchemaRefused(
                    f"inline schema refused: {refused[0]} ({ALLOWED_SCHEMA})"
                ) from None
            if time.monotonic() > deadline:
                raise TimeoutError(f"the schema ran past {BUILD_TIMEOUT_S:g}s") from None
            raise
    finally:
        conn.close()


# The directory and its removal -------------------------------------------------------


def _this_process_directory() -> str:
    """This process's directory (a forked child makes its own and never deletes ours)."""
    global _directory, _directory_pid
    if _directory is None or _directory_pid != os.getpid():
        _directory, _directory_pid = tempfile.mkdtemp(prefix="rewardsmith-sql-"), os.getpid()
        _paths.clear()
        atexit.register(_remove_directory, _directory, _directory_pid)
        # A multiprocessing child (a pool's worker) ends with os._exit: no atexit there,
        # but multiprocessing's finalizers run.
        multiprocessing.util.Finalize(
            None, _remove_directory, (_directory, _directory_pid), exitpriority=0
        )
        _install_sigterm_cleanup()
    return _directory


def _remove_directory(path: str, pid: int) -> None:
    if os.getpid() == pid:
        shutil.rmtree(path, ignore_errors=True)


def _install_sigterm_cleanup() -> None:
    """Remove the directory on SIGTERM too: once per process, from the main thread only,
    over the default action or a Python handler (which is then chained)."""
    global _sigterm_pid, _previous_sigterm
    if _sigterm_pid == os.getpid() or threading.current_thread() is not threading.main_thread():
        return
    previous = signal.getsignal(signal.SIGTERM)
    if previous is signal.SIG_IGN or previous is None:  # ignored, or a handler set from C
        return
    try:
        signal.signal(signal.SIGTERM, _on_sigterm)
    except ValueError:  # pragma: no cover - not the main interpreter
        return
    _sigterm_pid, _previous_sigterm = os.getpid(), previous


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    """Remove this process's inline databases, then do what SIGTERM did before."""
    global _directory
    directory, pid = _directory, _directory_pid
    if directory is not None and pid == os.getpid():
        _directory = None  # no lock (the main thread may hold it); a later build starts over
        _paths.clear()
        _remove_directory(directory, pid)
    previous = _previous_sigterm
    if callable(previous):
        previous(signum, frame)
        return
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGTERM)
