"""Labelled texts for probing a reward model's representations (``probe-rm``), read in
MRMBench's format.

MRMBench (wangclnlp/MRMBench at commit ``4ad58deaf96b1f81aee755121edd20495a02d1a3``,
``data/README.md`` and ``TextDataset`` in ``src/task1_discriminant_rm_deepspeed_cate_2.py``)
ships one folder per preference dimension, ``mrm_easy/<dimension>/{train,test}.json`` and
``mrm_hard/<dimension>/...``; each file is a JSON array of ``{"input": prompt, "output":
response, "label": class}``, classes 0/1 in Easy and 0/1/2 in Hard. Three ways in:

* ``load_mrmbench(root, hard)``: a folder in that layout. Every folder under ``root`` that
  holds a ``train`` file (``.json`` array, ``.jsonl`` or ``.parquet``) is a dimension named
  after the folder, and needs a ``test`` file beside it. When some folders sit under a
  path naming ``easy`` or ``hard`` (``mrm_easy``), only those of the asked-for version
  count.
* ``load_label_files(train, test)``: two files whose rows hold ``input``, ``output`` and
  either a ``dimension`` and a ``label`` column (MRMBench's files concatenated) or one
  label column per dimension, named after it (None or absent: the row is not labelled
  for that dimension).
* ``load_hub_mrmbench(name, hard)``: a dataset repository on the hub, downloaded whole
  (``huggingface_hub.snapshot_download``) and read as a folder.

A row that cannot be read (not an object, no ``input`` or ``output`` text, a label that is
not a class number) stops the load with its file and row number.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from rewardsmith.errors import InputError, MissingExtraError, brief
from rewardsmith.rollouts import read_rollouts

__all__ = [
    "DIMENSIONS",
    "Dimension",
    "LabelledText",
    "load_hub_mrmbench",
    "load_label_files",
    "load_mrmbench",
]

DIMENSIONS = ("harmlessness", "helpfulness", "correctness", "coherence", "complexity", "verbosity")
"""MRMBench's six dimensions, in its tables' order."""
SUFFIXES = (".json", ".jsonl", ".parquet")
_VERSION = re.compile(r"(^|[^a-z])(easy|hard)([^a-z]|$)")


@dataclass(frozen=True, slots=True)
class LabelledText:
    """A prompt (``input``), a response (``output``) and its class for one dimension."""

    input: str
    output: str
    label: int


@dataclass(frozen=True, slots=True)
class Dimension:
    """One preference dimension: the probe is trained on ``train`` and scored on ``test``."""

    name: str
    train: tuple[LabelledText, ...]
    test: tuple[LabelledText, ...]


def _records(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(where, record)`` for each row: a ``.json`` file holding one array (MRMBench's
    files), else anything ``read_rollouts`` reads (JSONL, Parquet, a saved dataset)."""
    if path.suffix.lower() == ".json" and path.is_file():
        with path.open("rb") as f:
            head = f.read(64).lstrip()
        if head.startswith(b"["):
            try:
                data = orjson.loads(path.read_bytes())
            except orjson.JSONDecodeError as exc:
                raise InputError(f"{path}: malformed JSON ({exc})") from None
            for i, record in enumerate(data):
                where = f"{path}: row {i + 1}"
                if not isinstance(record, dict):
                    raise InputError(f"{where}: expected an object, got {type(record).__name__}")
                yield where, record
            return
    for rows in read_rollouts(path):
        for row in rows:
            where = f"{path}: row {row.index + 1}"
            if row.raw is None:
                raise InputError(f"{where}: {row.problem}")
            yield where, row.raw


def _label(value: Any, where: str) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int) and value >= 0:
        return value
    if isinstance(value, float) and value.is_integer() and value >= 0:
        return int(value)
    raise InputError(f"{where}: label {brief(value)} is not a class number (0, 1, ...)")


def _item(record: dict[str, Any], label: Any, where: str) -> LabelledText:
    for key in ("input", "output"):
        if not isinstance(record.get(key), str):
            raise InputError(f"{where}: {key!r} must be text, got {brief(record.get(key))}")
    return LabelledText(record["input"], record["output"], _label(label, where))


def _ordered(names: Sequence[str]) -> list[str]:
    """MRMBench's six first, in its order, then any others by name."""
    known = [d for d in DIMENSIONS if d in names]
    return known + sorted(set(names) - set(DIMENSIONS))


def _choose(available: Sequence[str], wanted: Sequence[str] | None, source: str) -> list[str]:
    if not wanted:
        return _ordered(available)
    unknown = [w for w in wanted if w not in available]
    if unknown:
        raise InputError(
            f"{source}: unknown dimension {', '.join(map(repr, unknown))}; "
            f"the data has {', '.join(_ordered(available)) or 'none'}"
        )
    return list(dict.fromkeys(wanted))


def _split_file(folder: Path, split: str) -> Path | None:
    found = [folder / f"{split}{s}" for s in SUFFIXES if (folder / f"{split}{s}").is_file()]
    return found[0] if found else None


def _version(relative: Path) -> str | None:
    """``easy`` or ``hard`` when a folder above the dimension's names one as a word
    (``mrm_hard``, ``MRMBench-Easy``; not ``hardware``)."""
    for part in reversed(relative.parts[:-1]):
        found = _VERSION.search(part.lower())
        if found:
            return found.group(2)
    return None


def load_mrmbench(
    root: str | Path, hard: bool = False, dimensions: Sequence[str] | None = None
) -> list[Dimension]:
    """The dimensions of a folder in MRMBench's layout (``mrm_easy/coherence/train.json``).

    Args:
        root: the folder (MRMBench's ``data``, ``data/mrm_easy``, or one dimension's).
        hard: read MRMBench-Hard's folders where both versions are present.
        dimensions: the dimensions to read (default: every one found).

    Example:
        >>> load_mrmbench("data", dimensions=["coherence"])  # doctest: +SKIP
        [Dimension(name='coherence', train=(...), test=(...))]
    """
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"{root}: no such folder")
    folders = sorted({p.parent for s in SUFFIXES for p in root.rglob(f"train{s}")})
    if not folders:
        raise InputError(
            f"{root}: no <dimension>/train.json (MRMBench's layout: "
            "mrm_easy/<dimension>/train.json and test.json)"
        )
    version = "hard" if hard else "easy"
    marked = {f: _version(f.relative_to(root.parent)) for f in folders}
    if any(marked.values()):
        folders = [f for f in folders if marked[f] == version]
        if not folders:
            raise InputError(f"{root}: no MRMBench-{version.title()} folders (mrm_{version})")
    by_name: dict[str, Path] = {}
    for folder in folders:
        if folder.name in by_name:
            raise InputError(f"{root}: dimension {folder.name!r} twice ({by_name[folder.name]})")
        by_name[folder.name] = folder
    out = []
    for name in _choose(list(by_name), dimensions, str(root)):
        folder = by_name[name]
        train = _split_file(folder, "train")
        test = _split_file(folder, "test")
        if train is None or test is None:
            raise InputError(f"{folder}: a train file but no test file (test.json)")
        out.append(Dimension(name, _read_plain(train), _read_plain(test)))
    return out


def _read_plain(path: Path) -> tuple[LabelledText, ...]:
    return tuple(_item(r, r.get("label"), where) for where, r in _records(path))


def _read_labelled(
    path: Path, dimensions: Sequence[str] | None
) -> tuple[dict[str, list[LabelledText]], set[str]]:
    """Items per dimension, and the columns seen in rows without a ``dimension``."""
    out: dict[str, list[LabelledText]] = {}
    columns: set[str] = set()
    for where, record in _records(path):
        if "dimension" in record and "label" in record:
            name = record["dimension"]
            if not isinstance(name, str) or not name:
                raise InputError(f"{where}: 'dimension' must be a name, got {brief(name)}")
            out.setdefault(name, []).append(_item(record, record["label"], where))
            continue
        columns |= set(record)
        for name in dimensions or [d for d in DIMENSIONS if d in record]:
            if record.get(name) is not None:
                out.setdefault(name, []).append(_item(record, record[name], where))
    return out, columns


def load_label_files(
    train: str | Path, test: str | Path, dimensions: Sequence[str] | None = None
) -> list[Dimension]:
    """The dimensions of a train file and a test file (``.json`` array, JSONL, Parquet or a
    saved dataset): rows with ``dimension`` and ``label``, or a label column per dimension
    (default: those of MRMBench's six that are present).

    Example:
        >>> load_label_files("train.jsonl", "test.jsonl", ["helpfulness"])  # doctest: +SKIP
    """
    parts = {}
    for split, path in (("train", Path(train)), ("test", Path(test))):
        if not path.exists():
            raise InputError(f"{path}: no such file or folder")
        got, columns = _read_labelled(path, dimensions)
        missing = [n for n in dimensions or [] if columns and n not in columns]
        if missing:
            raise InputError(
                f"{path}: missing label column {', '.join(map(repr, missing))} (rows need "
                "'dimension' and 'label', or a label column per dimension)"
            )
        if not got:
            raise InputError(
                f"{path}: no labelled rows: rows need 'input', 'output' and either "
                f"'dimension' and 'label' or a label column per dimension "
                f"({', '.join(DIMENSIONS)}; others with --dimension)"
            )
        parts[split] = got
    names = _choose(list(parts["train"]), dimensions, str(train))
    out = []
    for name in names:
        if name not in parts["test"]:
            raise InputError(f"{test}: no rows labelled for {name!r}")
        out.append(Dimension(name, tuple(parts["train"][name]), tuple(parts["test"][name])))
    return out


def load_hub_mrmbench(
    name: str, hard: bool = False, dimensions: Sequence[str] | None = None
) -> list[Dimension]:
    """A hub dataset repository in MRMBench's layout (e.g. ``ifnoc/MRMBench``), downloaded
    with ``huggingface_hub`` (JSON, JSONL and Parquet files only) and read by
    ``load_mrmbench``."""
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        raise MissingExtraError("huggingface_hub", "hf") from None
    try:
        path = snapshot_download(
            repo_id=name, repo_type="dataset", allow_patterns=[f"*{s}" for s in SUFFIXES]
        )
    except Exception as exc:  # a missing repo or no network: one message, exit 2
        raise InputError(f"{name}: could not download the dataset: {exc}") from None
    return load_mrmbench(path, hard, dimensions)
