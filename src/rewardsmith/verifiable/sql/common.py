"""What the SQL modules share: a query's result, the size limits, and error messages
that repeat little of what an engine quotes."""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "BUILD_TIMEOUT_S",
    "MAX_INLINE_BYTES",
    "MAX_REASON_CHARS",
    "MAX_RESULT_BYTES",
    "MAX_VALUE_BYTES",
    "BuildFailed",
    "QueryResult",
    "SchemaRefused",
    "fetch_rows",
    "insert_rows",
    "reason_of",
    "remove_file",
    "to_result",
]

MAX_VALUE_BYTES = 10_000_000
"""SQLite strings and blobs are capped at this length."""
MAX_RESULT_BYTES = 64_000_000
"""More text and blobs than this in one result is too large."""
MAX_REASON_CHARS = 200
"""An engine's error message is cut to this length."""
MAX_INLINE_BYTES = 256 * 1024 * 1024
"""An inline database may not grow past this on disk (SQLite pages, DuckDB file + WAL)."""
BUILD_TIMEOUT_S = 10.0
"""Seconds an inline database may take to build."""
_FETCH_CHUNK = 256


@dataclass(frozen=True, slots=True)
class QueryResult:
    """What running one query gave: rows, or why there are none."""

    status: Literal["ok", "error", "timeout", "too_large"]
    rows: tuple[tuple[Any, ...], ...] = ()
    error: str = ""
    seconds: float = 0.0


class SchemaRefused(ValueError):
    """An inline schema holds a statement that may not run; the message names it."""


class BuildFailed(ValueError):
    """An inline database could not be built; the message is already a reason."""


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")
_LONG_QUOTE = re.compile(r"""(['"])([^'"]{40})[^'"]*\1""")


def reason_of(exc: BaseException) -> str:
    """``Type: first line`` of an error, control characters out, quoted text over 40
    characters cut, at most ``MAX_REASON_CHARS`` in all: an engine quoting data (a value
    it cannot convert, a line of a file) repeats at most 40 characters of it."""
    lines = str(exc).strip().splitlines()
    text = _CONTROL.sub(" ", lines[0] if lines else "")
    text = _LONG_QUOTE.sub(lambda m: f"{m[1]}{m[2]}…{m[1]}", text)
    text = f"{type(exc).__name__}: {text}"
    return text if len(text) <= MAX_REASON_CHARS else text[: MAX_REASON_CHARS - 1] + "…"


def fetch_rows(cursor: Any, max_rows: int, max_bytes: int) -> list[Any] | str:
    """Up to ``max_rows`` + 1 rows, or why the result is too large."""
    rows: list[Any] = []
    size = 0
    while len(rows) <= max_rows:
        chunk = cursor.fetchmany(min(_FETCH_CHUNK, max_rows + 1 - len(rows)))
        if not chunk:
            break
        rows.extend(chunk)
        size += sum(len(v) for row in chunk for v in row if isinstance(v, str | bytes))
        if size > max_bytes:
            return f"more than {max_bytes} bytes of text and blobs"
    return rows if len(rows) <= max_rows else f"more than {max_rows} rows"


def to_result(rows: list[Any] | str, seconds: float) -> QueryResult:
    """``fetch_rows``'s answer as a QueryResult."""
    if isinstance(rows, str):
        return QueryResult("too_large", error=rows, seconds=seconds)
    return QueryResult("ok", tuple(tuple(r) for r in rows), seconds=seconds)


def insert_rows(conn: Any, rows: Mapping[str, Any]) -> None:
    """Insert an inline reference's rows, as parameters (never as SQL text)."""
    for table, table_rows in rows.items():
        if not table_rows:
            continue
        width = len(table_rows[0])
        marks = ", ".join("?" * width)
        conn.executemany(f"INSERT INTO {_quote(table)} VALUES ({marks})", table_rows)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def remove_file(path: str) -> None:
    with contextlib.suppress(OSError):
        os.remove(path)
