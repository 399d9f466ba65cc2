"""Reading rollout files in chunks: JSONL, Parquet, or a saved Hugging Face dataset.

Field names follow the trainers. The first field present wins:

- ``prompt``: ``prompt``, ``query``, ``question``;
- ``completion``: ``completion``, ``response``, ``solution_str``;
- ``reference``: ``reference``, ``ground_truth``, ``answer``, ``label``, ``solution``,
  ``reward_model.ground_truth`` (verl's data files);
- ``group``: ``group``, ``group_id``, ``prompt_id``, ``uid``; without one, rollouts with
  the same prompt share a group (the prompt itself is the group id);
- ``tokens``: ``tokens`` (a mapping with ``ids``, ``logprobs``, ``entropies``).

Every other field lands in ``Sample.meta`` (``data_source`` among them). A ``FieldMap``'s ``mapping``
overrides any of these (``{"completion": "my_field"}``; dotted paths reach into nested
records). Files are read ``chunk_size`` rows at a time (a JSONL chunk also ends at
``MAX_CHUNK_BYTES``), so memory stays flat however long the file is; a JSONL line over
``MAX_LINE_BYTES`` is skipped unread and its row is an error. A record that cannot be read (a malformed JSON line, or not an object)
becomes a ``Row`` with a ``problem``; one without a completion fails when it is turned
into a Sample. Either way the rest are read as usual.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from rewardsmith.core import Sample, Tokens
from rewardsmith.core.types import prompt_group
from rewardsmith.errors import InputError, MissingExtraError

__all__ = [
    "ALIASES",
    "FieldMap",
    "Row",
    "arrow_schema",
    "detect_format",
    "read_rollouts",
    "to_sample",
]

ALIASES: dict[str, tuple[str, ...]] = {
    "prompt": ("prompt", "query", "question"),
    "completion": ("completion", "response", "solution_str"),
    "reference": (
        "reference",
        "ground_truth",
        "answer",
        "label",
        "solution",
        "reward_model.ground_truth",
    ),
    "group": ("group", "group_id", "prompt_id", "uid"),
    "tokens": ("tokens",),
}
_MISSING = object()


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


class FieldMap:
    """Where each Sample field is read from: the aliases, or the user's ``mapping``."""

    def __init__(self, mapping: Mapping[str, str] | None = None) -> None:
        mapping = dict(mapping or {})
        unknown = set(mapping) - set(ALIASES)
        if unknown:
            raise InputError(
                f"--map: unknown field {', '.join(sorted(unknown))} (known: {', '.join(ALIASES)})"
            )
        self.paths = {
            name: [tuple(p.split(".")) for p in ((mapping[name],) if name in mapping else aliases)]
            for name, aliases in ALIASES.items()
        }

        # Records of one file share their keys: which aliases can match is decided once
        # per distinct key set, not once per record.
        self._plans: dict[tuple[str, ...], list[tuple[str, list[tuple[str, ...]]]]] = {}

    def _plan(self, keys: tuple[str, ...]) -> list[tuple[str, list[tuple[str, ...]]]]:
        plan = self._plans.get(keys)
        if plan is None:
            present = set(keys)
            plan = [(n, [p for p in paths if p[0] in present]) for n, paths in self.paths.items()]
            if len(self._plans) < 1024:
                self._plans[keys] = plan
        return plan

    def sample(self, record: Any) -> Sample:
        """The Sample for one record; InputError with the reason if it cannot be read."""
        if not isinstance(record, dict):
            raise InputError(f"expected a JSON object, got {type(record).__name__}")
        got: dict[str, Any] = {}
        used: set[str] = set()
        for name, paths in self._plan(tuple(record)):
            for path in paths:
                value: Any = record[path[0]]
                for part in path[1:]:
                    value = value.get(part, _MISSING) if isinstance(value, dict) else _MISSING
                if value is not _MISSING:
                    got[name] = value
                    used.add(path[0])
                    break
        completion = got.get("completion", _MISSING)
        if completion is _MISSING:
            looked = ", ".join(".".join(p) for p in self.paths["completion"])
            raise InputError(
                f"no completion field (looked for {looked}; use --map completion=FIELD)"
            )
        if not isinstance(completion, str | list):
            raise InputError(
                f"completion must be text or a list of messages, got {type(completion).__name__}"
            )
        prompt = got.get("prompt") or ""
        group = got.get("group")
        if group is None:
            group = prompt_group(prompt)
        return Sample(
            prompt=prompt,
            completion=completion,
            reference=got.get("reference"),
            group=group if isinstance(group, str | int) else str(group),
            meta={k: v for k, v in record.items() if k not in used},
            tokens=_tokens(got.get("tokens")),
        )


def to_sample(record: Any, mapping: Mapping[str, str] | None = None) -> Sample:
    """The Sample for one record (see ``FieldMap``)."""
    return FieldMap(mapping).sample(dict(record) if isinstance(record, Mapping) else record)


def _tokens(raw: Any) -> Tokens | None:
    if not isinstance(raw, Mapping):
        return None
    return Tokens(
        ids=list(raw.get("ids") or ()),
        logprobs=raw.get("logprobs"),
        entropies=raw.get("entropies"),
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
