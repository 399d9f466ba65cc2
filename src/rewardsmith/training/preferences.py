"""Preference data for reward-model training: pairs, rankings, trees and trajectories.

Every record is read into one of two values: a ``Pair`` (a prompt, a chosen and a rejected
response) or a ``Ranking`` (a prompt and two or more responses, best first). Four record
shapes are understood, told apart by their fields:

- pairwise: ``prompt``, ``chosen``, ``rejected`` and an optional per-pair ``margin``;
- listwise: ``prompt`` and ``responses`` (best first), with optional ``scores`` (one per
  response, non-increasing; equal scores are a tie and imply no pair);
- tree (Reward Generalization in RLHF: A Topological Perspective, Qiu et al., arXiv
  2402.10184): ``prompt`` and ``tree``, a prefix tree of response pieces. A node is
  ``{"text": ..., "children": [...]}`` (the root's ``text`` is optional and shared by
  every response); a response is the concatenation of the texts on a path from the root
  to a leaf, and each node lists its children best first. The pairs implied are those of
  the paper's tree-based RM, which compares responses that share a prefix: for a node
  with children ``c1 > c2 > ...``, every response through ``ci`` beats every response
  through ``cj`` (i < j). Each pair of leaves is compared once, at the node where their
  paths part, so L leaves give L(L-1)/2 pairs and the order they imply is total;
- trajectory (ARMAP, arXiv 2502.12130): one record per attempt, ``prompt``,
  ``trajectory`` and ``success`` (true or false). Every success beats every failure of
  the same prompt; a prompt with only successes or only failures gives no pair.

``prompt`` is optional except for trajectories (pairwise data whose ``chosen`` and
``rejected`` hold the whole conversation have none). A prompt or a response is text or a
list of chat messages ``{"role": ..., "content": ...}``.

Files are JSONL, Parquet or a ``datasets`` folder (``Dataset.save_to_disk``), read with
``rewardsmith.rollouts``; a ``datasets.Dataset`` or a list of dicts is read as it is.
Bad data raises one ``InputError`` that lists every bad record (the first 20) with its
number (1-based) and field, unless ``skip_bad=True``, which drops them and keeps the list
in ``PreferenceData.problems``.

Example:
    >>> data = parse_records([{"prompt": "2+2?", "responses": ["4", "5", "22"]}])
    >>> [(p.chosen, p.rejected) for p in data.all_pairs()]
    [('4', '5'), ('4', '22'), ('5', '22')]
"""

from __future__ import annotations

import json
import math
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Any

from rewardsmith.errors import InputError, brief

__all__ = [
    "MAX_TREE_DEPTH",
    "MAX_TREE_LEAVES",
    "Content",
    "Pair",
    "PreferenceData",
    "Ranking",
    "Turn",
    "load_preferences",
    "parse_records",
    "prompt_key",
    "tree_pairs",
]

MAX_TREE_DEPTH = 64
"""A deeper tree is refused: trees come from data, and recursion needs a bound."""
MAX_TREE_LEAVES = 256
"""A tree with more leaves is refused: L leaves imply L(L-1)/2 pairs (32,640 at the cap)."""
_SHOWN_PROBLEMS = 20


@dataclass(frozen=True, slots=True)
class Turn:
    """One chat message."""

    role: str
    content: str


Content = str | tuple[Turn, ...]
"""A prompt or a response: text, or chat messages."""


@dataclass(frozen=True, slots=True)
class Pair:
    """One comparison: ``chosen`` beats ``rejected`` for ``prompt``.

    Args:
        margin: how much it should win by, in reward units (the record's ``margin``, or
            the score difference for a scored ranking); None when the data gives none.
        origin: where it came from, for messages (``"record 3"``, ``"record 3, tree 0 > 1"``).
    """

    prompt: Content
    chosen: Content
    rejected: Content
    margin: float | None = None
    origin: str = ""

    def swapped(self) -> Pair:
        """The same pair with its label reversed (``margin`` negated)."""
        margin = None if self.margin is None else -self.margin
        return Pair(self.prompt, self.rejected, self.chosen, margin, self.origin)


@dataclass(frozen=True, slots=True)
class Ranking:
    """Two or more responses to one prompt, best first; ``scores`` non-increasing if given."""

    prompt: Content
    responses: tuple[Content, ...]
    scores: tuple[float, ...] | None = None
    origin: str = ""

    def pairs(self) -> list[Pair]:
        """Every pair the order implies; with scores, tied responses give none and each
        pair's margin is the score difference."""
        out = []
        for i, j in combinations(range(len(self.responses)), 2):
            margin = None
            if self.scores is not None:
                margin = self.scores[i] - self.scores[j]
                if margin <= 0:
                    continue
            origin = f"{self.origin}, responses {i} > {j}"
            out.append(Pair(self.prompt, self.responses[i], self.responses[j], margin, origin))
        return out


@dataclass(frozen=True, slots=True)
class PreferenceData:
    """What a source holds: its pairs and rankings, where it came from, and counts.

    ``counts`` has ``records`` (read), one entry per record shape (``pairwise``,
    ``listwise``, ``tree``, ``trajectory``), ``skipped`` (bad records dropped) and
    ``unpaired`` (trajectories whose prompt has no attempt of the other outcome).
    """

    pairs: tuple[Pair, ...] = ()
    rankings: tuple[Ranking, ...] = ()
    source: str = "records"
    counts: Mapping[str, int] = field(default_factory=dict)
    problems: tuple[str, ...] = ()

    def all_pairs(self) -> list[Pair]:
        """The pairs, then every pair implied by each ranking."""
        return [*self.pairs, *(p for r in self.rankings for p in r.pairs())]

    def groups(self) -> list[Ranking]:
        """The rankings, then each pair as a ranking of two (for the listwise losses)."""
        pairs = [Ranking(p.prompt, (p.chosen, p.rejected), None, p.origin) for p in self.pairs]
        return [*self.rankings, *pairs]


class _Bad(Exception):
    """A bad field: ``where`` is its path in the record (``responses[2].content``)."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where, self.message = where, message


def _content(value: Any, where: str) -> Content:
    if isinstance(value, str):
        return value
    if isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        turns = []
        for k, message in enumerate(value):
            if not isinstance(message, Mapping):
                raise _Bad(
                    f"{where}[{k}]", f"expected a {{role, content}} message, got {brief(message)}"
                )
            role, text = message.get("role"), message.get("content")
            if not isinstance(role, str) or not role:
                raise _Bad(f"{where}[{k}].role", f"expected a non-empty string, got {brief(role)}")
            if not isinstance(text, str):
                raise _Bad(f"{where}[{k}].content", f"expected a string, got {brief(text)}")
            turns.append(Turn(role, text))
        if not turns:
            raise _Bad(where, "an empty list of messages")
        return tuple(turns)
    raise _Bad(where, f"expected text or a list of {{role, content}} messages, got {brief(value)}")


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _Bad(where, f"expected a finite number, got {brief(value)}")
    return float(value)


def _prompt(record: Mapping[str, Any], required: bool = False) -> Content:
    if "prompt" not in record or record["prompt"] is None:
        if required:
            raise _Bad("prompt", "missing (needed to group the attempts of one task)")
        return ""
    return _content(record["prompt"], "prompt")


def _pairwise(record: Mapping[str, Any], origin: str) -> Pair:
    prompt = _prompt(record)
    chosen, rejected = (
        _content(record["chosen"], "chosen"),
        _content(record["rejected"], "rejected"),
    )
    if chosen == rejected:
        raise _Bad("rejected", "the same as chosen")
    margin = record.get("margin")
    value = None if margin is None else _number(margin, "margin")
    return Pair(prompt, chosen, rejected, value, origin)


def _listwise(record: Mapping[str, Any], origin: str) -> Ranking:
    prompt, raw = _prompt(record), record["responses"]
    if isinstance(raw, str) or not isinstance(raw, Sequence) or len(raw) < 2:
        raise _Bad("responses", f"expected a list of two or more responses, got {brief(raw)}")
    responses = tuple(_content(r, f"responses[{k}]") for k, r in enumerate(raw))
    for (i, a), (j, b) in combinations(enumerate(responses), 2):
        if a == b:
            raise _Bad(f"responses[{j}]", f"the same as responses[{i}]")
    scores = record.get("scores")
    if scores is None:
        return Ranking(prompt, responses, None, origin)
    if isinstance(scores, str) or not isinstance(scores, Sequence) or len(scores) != len(raw):
        raise _Bad("scores", f"expected {len(raw)} numbers, one per response, got {brief(scores)}")
    values = tuple(_number(s, f"scores[{k}]") for k, s in enumerate(scores))
    for k in range(1, len(values)):
        if values[k] > values[k - 1]:
            raise _Bad(
                f"scores[{k}]",
                f"{values[k]} is above scores[{k - 1}] = {values[k - 1]}: responses go best first",
            )
    return Ranking(prompt, responses, values, origin)


def _leaves(node: Any, where: str, prefix: str, depth: int, out: list[tuple[str, str]]) -> None:
    """Append ``(path, response)`` for every leaf under ``node``, in preference order."""
    if depth > MAX_TREE_DEPTH:
        raise _Bad(where, f"deeper than {MAX_TREE_DEPTH} levels")
    if not isinstance(node, Mapping):
        raise _Bad(where, f"expected a node {{text, children}}, got {brief(node)}")
    text = node.get("text", "" if depth == 0 else None)
    if not isinstance(text, str):
        raise _Bad(f"{where}.text", f"expected a string, got {brief(text)}")
    children = node.get("children") or []
    if isinstance(children, str | Mapping) or not isinstance(children, Sequence):
        raise _Bad(f"{where}.children", f"expected a list of nodes, got {brief(children)}")
    if not children:
        if depth == 0:
            raise _Bad(where, "the root has no children: no responses")
        out.append((where, prefix + text))
    for k, child in enumerate(children):
        _leaves(child, f"{where}.children[{k}]", prefix + text, depth + 1, out)
        if len(out) > MAX_TREE_LEAVES:
            raise _Bad("tree", f"more than {MAX_TREE_LEAVES} leaves")


def tree_pairs(prompt: Content, tree: Any, origin: str = "tree") -> list[Pair]:
    """Every pair a preference tree implies (see the module docstring).

    Leaves are listed depth first with children best first, which is the tree's total
    order, so pair (i, j) for every i < j is exactly the set the paper's rule gives.

    Raises:
        InputError: a malformed node (with its path), duplicate responses, or a tree over
            ``MAX_TREE_DEPTH`` or ``MAX_TREE_LEAVES``.

    Example:
        >>> tree = {"text": "It is ", "children": [{"text": "4"}, {"text": "5"}]}
        >>> [(p.chosen, p.rejected) for p in tree_pairs("2+2?", tree)]
        [('It is 4', 'It is 5')]
    """
    try:
        return _tree_pairs(prompt, tree, origin)
    except _Bad as bad:
        raise InputError(f"{origin}: {bad}") from None


def _tree_pairs(prompt: Content, tree: Any, origin: str) -> list[Pair]:
    leaves: list[tuple[str, str]] = []
    _leaves(tree, "tree", "", 0, leaves)
    seen: dict[str, str] = {}
    for path, text in leaves:
        if text in seen:
            raise _Bad(path, f"gives the same response as {seen[text]}")
        seen[text] = path
    return [
        Pair(prompt, a, b, None, f"{origin}, {pa} > {pb}")
        for (pa, a), (pb, b) in combinations(leaves, 2)
    ]


def _kind(record: Mapping[str, Any]) -> str:
    if "chosen" in record or "rejected" in record:
        for key in ("chosen", "rejected"):
            if key not in record:
                raise _Bad(key, "missing (a pairwise record needs chosen and rejected)")
        return "pairwise"
    for kind, keys in (("listwise", ("responses",)), ("tree", ("tree",))):
        if all(k in record for k in keys):
            return kind
    if "trajectory" in record or "success" in record:
        for key in ("trajectory", "success"):
            if key not in record:
                raise _Bad(key, "missing (a trajectory record needs trajectory and success)")
        return "trajectory"
    raise _Bad(
        "record",
        "no preference fields: expected chosen/rejected, responses, tree, or "
        f"trajectory/success; got {brief(sorted(record))}",
    )


def prompt_key(prompt: Content) -> str:
    """A string that is equal for equal prompts (text and chat never collide)."""
    if isinstance(prompt, str):
        return json.dumps(prompt)
    return json.dumps([[t.role, t.content] for t in prompt])


class _Reader:
    def __init__(self) -> None:
        self.pairs: list[Pair] = []
        self.rankings: list[Ranking] = []
        self.counts = dict.fromkeys(("records", "pairwise", "listwise", "tree", "trajectory"), 0)
        self.problems: list[str] = []
        # prompt key -> (prompt, successes, failures), in first-seen order
        self.attempts: dict[
            str, tuple[Content, list[tuple[Content, str]], list[tuple[Content, str]]]
        ] = {}

    def add(self, number: int, record: Any) -> None:
        self.counts["records"] += 1
        origin = f"record {number}"
        if isinstance(record, _Unreadable):
            self.problems.append(f"{origin}: {record.problem}")
            return
        if not isinstance(record, Mapping):
            self.problems.append(f"{origin}: expected an object, got {brief(record)}")
            return
        try:
            kind = _kind(record)
            if kind == "pairwise":
                self.pairs.append(_pairwise(record, origin))
            elif kind == "listwise":
                self.rankings.append(_listwise(record, origin))
            elif kind == "tree":
                self.pairs.extend(_tree_pairs(_prompt(record), record["tree"], origin))
            else:
                self._attempt(record, origin)
        except _Bad as bad:
            at = "" if bad.where == "record" else f", field {bad.where}"
            self.problems.append(f"{origin}{at}: {bad.message}")
            return
        self.counts[kind] += 1

    def _attempt(self, record: Mapping[str, Any], origin: str) -> None:
        prompt = _prompt(record, required=True)
        trajectory = _content(record["trajectory"], "trajectory")
        success = record["success"]
        if not isinstance(success, bool):
            raise _Bad("success", f"expected true or false, got {brief(success)}")
        entry = self.attempts.setdefault(prompt_key(prompt), (prompt, [], []))
        (entry[1] if success else entry[2]).append((trajectory, origin))

    def finish(self, source: str, skip_bad: bool) -> PreferenceData:
        unpaired = 0
        for prompt, wins, losses in self.attempts.values():
            if not wins or not losses:
                unpaired += len(wins) + len(losses)
            for (good, a), (bad, b) in ((w, f) for w in wins for f in losses):
                if good != bad:  # the same text both succeeding and failing says nothing
                    self.pairs.append(Pair(prompt, good, bad, None, f"{a} (success) > {b}"))
        if self.problems and not skip_bad:
            shown = "\n".join(f"  - {p}" for p in self.problems[:_SHOWN_PROBLEMS])
            more = len(self.problems) - _SHOWN_PROBLEMS
            tail = f"\n  ... and {more} more" if more > 0 else ""
            raise InputError(f"{source}: {len(self.problems)} bad records:\n{shown}{tail}")
        counts = {**self.counts, "skipped": len(self.problems), "unpaired": unpaired}
        return PreferenceData(
            tuple(self.pairs), tuple(self.rankings), source, counts, tuple(self.problems)
        )


def parse_records(
    records: Iterable[Any], source: str = "records", skip_bad: bool = False
) -> PreferenceData:
    """Read preference records (dicts) of any of the four shapes, mixed freely.

    Raises:
        InputError: bad records (every one, numbered from 1, with its field), unless
            ``skip_bad``.
    """
    reader = _Reader()
    for number, record in enumerate(records, 1):
        reader.add(number, record)
    return reader.finish(source, skip_bad)


def _rows(path: Path, split: str | None) -> Iterable[Any]:
    from rewardsmith.rollouts import read_rollouts

    for chunk in read_rollouts(path, split=split):
        for row in chunk:
            yield row.raw if row.problem is None else _Unreadable(row.problem)


@dataclass(frozen=True, slots=True)
class _Unreadable:
    problem: str

    def __repr__(self) -> str:
        return self.problem


def load_preferences(
    source: str | os.PathLike[str] | Any, *, split: str | None = None, skip_bad: bool = False
) -> PreferenceData:
    """Read preference data from a file, a folder, a ``datasets.Dataset`` or records.

    Args:
        source: a ``.jsonl``/``.parquet`` file or a ``save_to_disk`` folder (a path), a
            ``datasets.Dataset`` or ``DatasetDict``, a ``PreferenceData`` (returned as
            it is), or an iterable of dicts.
        split: which split of a ``DatasetDict`` (needed when it has several).
        skip_bad: drop bad records instead of raising (they stay in ``problems``).

    Raises:
        InputError: no such file, an unknown file type, or bad records.
    """
    if isinstance(source, PreferenceData):
        return source
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        return parse_records(_rows(path, split), str(path), skip_bad)
    datasets = sys.modules.get("datasets")  # a Dataset can exist only if it is imported
    if datasets is not None and isinstance(source, datasets.DatasetDict):
        names = list(source)
        if split is None and len(names) == 1:
            split = names[0]
        if split not in names:
            raise InputError(f"a DatasetDict with splits {names}: choose one with split=")
        source = source[split]
    if datasets is not None and isinstance(source, datasets.Dataset):
        return parse_records(source, f"a Dataset of {source.num_rows} rows", skip_bad)
    if isinstance(source, Iterable) and not isinstance(source, str | bytes | Mapping):
        return parse_records(source, "records", skip_bad)
    raise InputError(f"cannot read preference data from {brief(source)}")
