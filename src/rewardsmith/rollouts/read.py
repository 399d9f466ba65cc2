"""Reading rollout files in chunks: JSONL, Parquet, or a saved Hugging Face dataset.

Each record becomes a ``Sample`` through the one field table, ``FieldMap`` in
``rewardsmith.rollouts.fields`` (the names each field is read from, ``--map`` overrides,
every other field into ``Sample.meta``). Files are read ``chunk_size`` rows at a time (a
JSONL chunk also ends at ``MAX_CHUNK_BYTES``), so memory stays flat however long the file
is; a JSONL line over ``MAX_LINE_BYTES`` is skipped unread and its row is an error. A
record that cannot be read (a malformed JSON line, or not an object) becomes a ``Row``
with a ``problem``; one without a completion fails when it is turned into a Sample. Either way the rest are read as usual.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from rewardsmith.errors import InputError, MissingExtraError

__all__ = ["Row", "arrow_schema", "detect_format", "read_rollouts"]


@dataclass(frozen=True, slots=True)
class Row:
    """One input record: its position and original fields, or why it could not be read."""

    index: int
    raw: dict[str, Any] | None
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class Block:
    """A chunk of input read but not parsed: JSONL lines, or records from a table.

    Parsing happens where the block is scored (``rows()``), so with worker processes the
    parent only reads bytes and the workers do the JSON work.
    """

    start: int
    linenos: list[int] = field(default_factory=list)
    lines: list[bytes] = field(default_factory=list)
    records: list[Any] | None = None

    def __len__(self) -> int:
        return len(self.records) if self.records is not None else len(self.lines)

    def rows(self) -> list[Row]:
        if self.records is not None:
            return [_row(self.start + i, r) for i, r in enumerate(self.records)]
        return [
            _parse_line(self.start + i, lineno, line)
            for i, (lineno, line) in enumerate(zip(self.linenos, self.lines, strict=True))
        ]


def detect_format(path: Path) -> str:
    """``jsonl``, ``parquet`` or ``hf`` (a folder written by ``Dataset.save_to_disk``)."""
    if path.is_dir():
        if (path / "dataset_info.json").exists() or (path / "dataset_dict.json").exists():
            return "hf"
        raise InputError(f"{path}: a folder, but not a saved Hugging Face dataset")
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".json", ".ndjson"):
        return "jsonl"
    if suffix in (".parquet", ".pq"):
        return "parquet"
    raise InputError(
        f"{path}: unknown file type {suffix!r} (expected .jsonl, .parquet or a dataset folder)"
    )


def _row(index: int, record: Any) -> Row:
    if isinstance(record, dict):
        return Row(index, record)
    return Row(index, None, f"row {index + 1}: expected a JSON object, got {type(record).__name__}")


def _parse_line(index: int, lineno: int, line: bytes) -> Row:
    if line is _SKIPPED or line == _SKIPPED:
        return Row(index, None, f"line {lineno}: over {MAX_LINE_BYTES:,} bytes, not read")
    try:
        return _row(index, orjson.loads(line))
    except orjson.JSONDecodeError as exc:
        return Row(index, None, f"line {lineno}: malformed JSON ({exc})")


MAX_LINE_BYTES = 64 * 1024**2
"""A JSONL line longer than this is not read: its row is an error (memory stays bounded)."""
MAX_CHUNK_BYTES = 256 * 1024**2
"""A chunk ends early once its lines hold this many bytes."""
_SKIPPED = b'"line over the byte cap"'  # stands in for an unread line; never valid JSON


def _lines(f: Any) -> Iterator[bytes]:
    """The file's lines, each read with a cap: a longer line is skipped in pieces (never
    held whole) and yields a marker instead."""
    while True:
        line = f.readline(MAX_LINE_BYTES + 1)
        if not line:
            return
        if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
            while True:  # drain the rest of the line without keeping it
                rest = f.readline(1024**2)
                if not rest or rest.endswith(b"\n"):
                    break
            yield _SKIPPED
        else:
            yield line


def _jsonl(path: Path, chunk_size: int) -> Iterator[Block]:
    block, held = Block(0), 0
    with path.open("rb") as f:
        for lineno, line in enumerate(_lines(f), 1):
            if not line.strip():
                continue
            block.linenos.append(lineno)
            block.lines.append(line)
            held += len(line)
            if len(block.lines) >= chunk_size or held >= MAX_CHUNK_BYTES:
                yield block
                block, held = Block(block.start + len(block.lines)), 0
    if block.lines:
        yield block


def _parquet(path: Path, chunk_size: int) -> Iterator[Block]:
    import pyarrow.parquet as pq

    index = 0
    for batch in pq.ParquetFile(path).iter_batches(batch_size=chunk_size):
        records = batch.to_pylist()
        yield Block(index, records=records)
        index += len(records)


def _open_hf(path: Path, split: str | None) -> Any:
    """The one dataset (split) of a ``save_to_disk`` folder."""
    try:
        import datasets
    except ImportError:
        raise MissingExtraError("datasets", "hf") from None
    ds = datasets.load_from_disk(str(path))
    if isinstance(ds, datasets.DatasetDict):
        if split is None and len(ds) == 1:
            split = next(iter(ds))
        if split not in ds:
            raise InputError(f"{path}: choose a split with --split ({', '.join(ds)})")
        ds = ds[split]
    return ds


def _hf(path: Path, chunk_size: int, split: str | None) -> Iterator[Block]:
    ds = _open_hf(path, split)
    index = 0
    for batch in ds.iter(batch_size=chunk_size):
        columns = list(batch)
        n = len(batch[columns[0]]) if columns else 0
        yield Block(index, records=[{c: batch[c][i] for c in columns} for i in range(n)])
        index += n


def read_blocks(
    path: str | Path, chunk_size: int = 4096, split: str | None = None
) -> Iterator[Block]:
    """Yield a rollout file as unparsed Blocks of ``chunk_size`` rows."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    fmt = detect_format(path)
    if fmt == "jsonl":
        return _jsonl(path, chunk_size)
    if fmt == "parquet":
        return _parquet(path, chunk_size)
    return _hf(path, chunk_size, split)


def read_rollouts(
    path: str | Path, chunk_size: int = 4096, split: str | None = None
) -> Iterator[list[Row]]:
    """Yield the rows of a rollout file, ``chunk_size`` at a time (turn them into Samples
    with ``FieldMap``)."""
    return (block.rows() for block in read_blocks(path, chunk_size, split))


def arrow_schema(path: str | Path, split: str | None = None) -> Any:
    """The Arrow schema of a Parquet file or saved dataset (to keep column types on output)."""
    path = Path(path)
    fmt = detect_format(path)
    if fmt == "parquet":
        import pyarrow.parquet as pq

        return pq.read_schema(path)
    if fmt == "hf":
        return _open_hf(path, split).data.schema
    return None
