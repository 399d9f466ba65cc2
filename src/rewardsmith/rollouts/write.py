"""Writing scored rollouts: the input's fields plus ``value``, ``status``, ``parts``,
``info`` and ``error``, as JSONL or Parquet, one chunk at a time.

Parquet output keeps the input's column types when the input was Parquet or a saved
dataset. From JSONL input, text fields stay text and any other field is stored as its
JSON text (JSON rows need not share one type per field; Parquet columns must). The
columns are the fields of the first chunk: a field that first appears later is left out
of Parquet output (JSONL output keeps every field of every row).
``parts`` is a map of floats; ``info`` is JSON text; ``error`` is a struct of type and
message, or null. An input field named like an output column is overwritten.

An output is written under a temporary name beside it and renamed over the target only
when the writer closes without an error, so a failed run leaves any earlier output as it
was and a reader never sees half a file. An output that is the input (the same file by
any name or link) is refused before anything is written.
"""

from __future__ import annotations

import contextlib
import os
import sys
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import orjson

from rewardsmith.core import Score
from rewardsmith.errors import InputError
from rewardsmith.rollouts.read import Row

__all__ = ["OUTPUT_COLUMNS", "Renderer", "RolloutWriter"]

OUTPUT_COLUMNS = ("value", "status", "parts", "info", "error")
_JSON_OPTS = orjson.OPT_APPEND_NEWLINE | orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS


def _json(x: Any) -> bytes:
    return orjson.dumps(x, default=repr, option=_JSON_OPTS)


@dataclass(frozen=True, slots=True)
class Renderer:
    """Turns scored rows into output bytes (JSONL) or an Arrow table (Parquet).

    It holds no file, so it pickles: worker processes render their own chunks and the
    parent only writes what comes back.
    """

    format: str
    schema: Any = None
    typed: bool = False

    def __call__(self, rows: Sequence[Row], scores: Sequence[Score]) -> Any:
        if self.format == "jsonl":
            return b"".join(_json(_record(r, s)) for r, s in zip(rows, scores, strict=True))
        return self._table(rows, scores)

    def _table(self, rows: Sequence[Row], scores: Sequence[Score]) -> Any:
        import pyarrow as pa

        fields = [f.name for f in self.schema if f.name not in OUTPUT_COLUMNS]
        records = []
        for r, s in zip(rows, scores, strict=True):
            raw = r.raw or {}
            rec = {k: raw.get(k) if self.typed else _text(raw.get(k)) for k in fields}
            d = s.to_dict()
            d["info"] = _text(d["info"])
            d["parts"] = list(d["parts"].items())
            rec.update(d)
            records.append(rec)
        return pa.Table.from_pylist(records, schema=self.schema)


class RolloutWriter:
    """Write scored rows to ``path`` (``-`` for JSONL on stdout); use as a context manager.

    ``prepare(first_rows)`` fixes the Parquet schema (from the input's schema, or from the
    fields of the first rows); ``renderer`` then renders any chunk, here or in a worker,
    and ``write_rendered`` writes it. ``write(rows, scores)`` does all three.
    """

    def __init__(
        self, path: str | Path, input_schema: Any = None, *, source: str | Path | None = None
    ) -> None:
        self.path = str(path)
        if source is not None and self.path != "-":
            _refuse_same_file(Path(source), Path(self.path))
        self.format = "parquet" if self.path.lower().endswith((".parquet", ".pq")) else "jsonl"
        if (
            self.format == "jsonl"
            and self.path != "-"
            and not self.path.lower().endswith((".jsonl", ".json", ".ndjson"))
        ):
            raise InputError(f"{path}: output must end in .jsonl or .parquet")
        self.input_schema = input_schema
        self.renderer: Renderer | None = Renderer("jsonl") if self.format == "jsonl" else None
        self._file: IO[bytes] | None = None
        self._parquet: Any = None
        self._temp: str | None = None
        if self.path != "-":  # written here, renamed over the target on success
            target = Path(self.path).resolve()
            self._temp = str(target.parent / f".{target.name}.{uuid.uuid4().hex[:12]}.partial")

    def __enter__(self) -> RolloutWriter:
        if self.format == "jsonl":
            self._file = sys.stdout.buffer if self._temp is None else open(self._temp, "xb")
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._file is not None and self._temp is not None:
            self._file.close()
        elif self._file is not None:
            self._file.flush()
        if self._parquet is not None:
            self._parquet.close()
        if self._temp is not None:
            if et is None and os.path.exists(self._temp):
                os.chmod(self._temp, _mode(Path(self.path)))
                os.replace(self._temp, self.path)  # the whole output appears at once
            else:
                with contextlib.suppress(OSError):
                    os.unlink(self._temp)

    def prepare(self, rows: Sequence[Row]) -> Renderer:
        """The renderer for this output; the first call fixes a Parquet schema from ``rows``."""
        if self.renderer is None:
            import pyarrow.parquet as pq

            schema = _schema(rows, self.input_schema)
            self.renderer = Renderer("parquet", schema, self.input_schema is not None)
            self._parquet = pq.ParquetWriter(self._temp or self.path, schema)
        return self.renderer

    def write_rendered(self, rendered: Any) -> None:
        if self.format == "jsonl":
            assert self._file is not None, "use the writer as a context manager"
            self._file.write(rendered)
        else:
            self._parquet.write_table(rendered)

    def write(self, rows: Sequence[Row], scores: Sequence[Score]) -> None:
        self.write_rendered(self.prepare(rows)(rows, scores))


def _mode(target: Path) -> int:
    """The permissions the output should have: the old file's, else the umask's."""
    with contextlib.suppress(OSError):
        return target.stat().st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _refuse_same_file(source: Path, out: Path) -> None:
    """Writing the input while it is read loses rows silently: refuse it."""
    try:
        same = out.exists() and source.exists() and os.path.samefile(source, out)
    except OSError:
        same = False
    if same:
        raise InputError(
            f"{out}: the output is the same file as the input {source}; write elsewhere"
        )


def _record(row: Row, score: Score) -> dict[str, Any]:
    rec: dict[str, Any] = dict(row.raw) if row.raw is not None else {"row": row.index}
    rec.update(score.to_dict())
    return rec


def _text(x: Any) -> str | None:
    if x is None or isinstance(x, str):
        return x
    return orjson.dumps(x, default=repr, option=orjson.OPT_NON_STR_KEYS).decode()


def _schema(rows: Sequence[Row], input_schema: Any) -> Any:
    import pyarrow as pa

    if input_schema is not None:
        base = [f for f in input_schema if f.name not in OUTPUT_COLUMNS]
    else:
        names: dict[str, None] = {}
        for r in rows:
            names.update(dict.fromkeys(r.raw or {}))
        base = [pa.field(n, pa.string()) for n in names if n not in OUTPUT_COLUMNS]
    return pa.schema(
        [
            *base,
            pa.field("value", pa.float64()),
            pa.field("status", pa.string()),
            pa.field("parts", pa.map_(pa.string(), pa.float64())),
            pa.field("info", pa.string()),
            pa.field("error", pa.struct([("type", pa.string()), ("message", pa.string())])),
        ]
    )
