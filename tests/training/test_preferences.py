"""Preference data: the four record shapes, the pairs they imply, files, and bad data."""

from __future__ import annotations

import json
from itertools import combinations
from math import comb
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rewardsmith.errors import InputError
from rewardsmith.training.preferences import (
    MAX_TREE_DEPTH,
    MAX_TREE_LEAVES,
    Pair,
    Ranking,
    Turn,
    load_preferences,
    parse_records,
    tree_pairs,
)

CHAT = [{"role": "user", "content": "What is 2+2?"}]
RECORDS: list[dict[str, Any]] = [
    {"prompt": "What is 2+2? ", "chosen": "4", "rejected": "5", "margin": 1.5},
    {"prompt": CHAT, "chosen": [{"role": "assistant", "content": "4"}], "rejected": "5"},
    {"prompt": "3+3?", "responses": ["6", "7", "8"], "scores": [2, 1, 1]},
    {"prompt": "1+1?", "tree": {"text": "It is ", "children": [{"text": "2"}, {"text": "3"}]}},
    {"prompt": "fix it", "trajectory": "ok", "success": True},
    {"prompt": "fix it", "trajectory": "broke", "success": False},
]


# --- the four shapes ------------------------------------------------------------------


def test_each_shape_is_read_and_counted() -> None:
    data = parse_records(RECORDS)
    assert data.counts == {
        "records": 6, "pairwise": 2, "listwise": 1, "tree": 1, "trajectory": 2,
        "skipped": 0, "unpaired": 0,
    }  # fmt: skip
    first, chat, tree, armap = data.pairs
    assert (first.chosen, first.rejected, first.margin, first.origin) == ("4", "5", 1.5, "record 1")
    assert chat.prompt == (Turn("user", "What is 2+2?"),)
    assert chat.chosen == (Turn("assistant", "4"),) and chat.margin is None
    assert (tree.chosen, tree.rejected) == ("It is 2", "It is 3")
    assert (armap.prompt, armap.chosen, armap.rejected) == ("fix it", "ok", "broke")
    assert armap.origin == "record 5 (success) > record 6"
    assert data.rankings == (Ranking("3+3?", ("6", "7", "8"), (2.0, 1.0, 1.0), "record 3"),)


def test_scored_ranking_ties_give_no_pair_and_margins_are_score_differences() -> None:
    pairs = parse_records([RECORDS[2]]).all_pairs()
    assert [(p.chosen, p.rejected, p.margin) for p in pairs] == [("6", "7", 1.0), ("6", "8", 1.0)]


def test_groups_turn_pairs_into_rankings_of_two() -> None:
    groups = parse_records(RECORDS[:1] + RECORDS[2:3]).groups()
    assert [g.responses for g in groups] == [("6", "7", "8"), ("4", "5")]


def test_missing_prompt_is_empty_for_whole_conversation_pairs() -> None:
    pair = parse_records([{"chosen": CHAT, "rejected": "no"}]).pairs[0]
    assert pair.prompt == ""


def test_swapped_reverses_label_and_margin() -> None:
    pair = Pair("p", "a", "b", 2.0, "record 1")
    assert pair.swapped() == Pair("p", "b", "a", -2.0, "record 1")


def test_trajectories_pair_every_success_with_every_failure_of_its_prompt() -> None:
    records = [
        {"prompt": "A", "trajectory": "a1", "success": True},
        {"prompt": "A", "trajectory": "a2", "success": False},
        {"prompt": "B", "trajectory": "b1", "success": True},
        {"prompt": "A", "trajectory": "a3", "success": False},
        {"prompt": "A", "trajectory": "a4", "success": True},
    ]
    data = parse_records(records)
    assert sorted((p.chosen, p.rejected) for p in data.pairs) == [
        ("a1", "a2"), ("a1", "a3"), ("a4", "a2"), ("a4", "a3"),
    ]  # fmt: skip
    assert data.counts["unpaired"] == 1  # B has no failure


# --- pair expansion properties ----------------------------------------------------------


@st.composite
def trees(draw: Any, depth: int = 0) -> dict[str, Any]:
    """Trees whose node texts are unique letters, so responses never coincide."""
    n = 0 if depth >= 3 else draw(st.integers(0 if depth else 2, 3))
    children = [draw(trees(depth + 1)) for _ in range(n)]
    return {"children": children} if children else {}


def _label(tree: dict[str, Any], path: str = "") -> dict[str, Any]:
    children = [_label(c, f"{path}{k}.") for k, c in enumerate(tree.get("children", []))]
    return {"text": f"[{path}]", "children": children}


def _leaves(node: dict[str, Any], prefix: str = "") -> list[str]:
    text = prefix + node["text"]
    return (
        [text] if not node["children"] else [x for c in node["children"] for x in _leaves(c, text)]
    )


@settings(max_examples=60, deadline=None)
@given(trees())
def test_tree_gives_each_leaf_pair_once_in_the_tree_order(raw: dict[str, Any]) -> None:
    tree = _label(raw)
    leaves = _leaves(tree)
    pairs = tree_pairs("p", tree)
    assert len(pairs) == comb(len(leaves), 2)
    assert [(p.chosen, p.rejected) for p in pairs] == list(combinations(leaves, 2))


@settings(max_examples=60, deadline=None)
@given(trees())
def test_tree_pairs_are_decided_where_the_paths_part(raw: dict[str, Any]) -> None:
    """The chosen leaf branches off through an earlier (better) child of their last
    common node: at the first differing piece, the chosen one's index is lower."""
    for pair in tree_pairs("p", _label(raw)):
        a = pair.chosen.replace("]", "[").split("[")[1::2]
        b = pair.rejected.replace("]", "[").split("[")[1::2]
        k = next(i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y)
        assert a[:k] == b[:k]  # a shared prefix: the common ancestors
        assert int(a[k].split(".")[-2]) < int(b[k].split(".")[-2])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=4), min_size=2, max_size=6, unique=True))
def test_unscored_ranking_implies_every_ordered_pair(responses: list[str]) -> None:
    pairs = parse_records([{"prompt": "p", "responses": responses}]).all_pairs()
    assert [(p.chosen, p.rejected) for p in pairs] == list(combinations(responses, 2))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("ABC"), st.booleans()), max_size=12))
def test_trajectory_pair_count_is_successes_times_failures(attempts: list[Any]) -> None:
    records = [
        {"prompt": p, "trajectory": f"t{k}", "success": ok} for k, (p, ok) in enumerate(attempts)
    ]
    expected = sum(
        sum(ok for q, ok in attempts if q == p) * sum(not ok for q, ok in attempts if q == p)
        for p in "ABC"
    )
    pairs = parse_records(records).pairs
    assert len(pairs) == expected
    assert all(p.chosen != p.rejected for p in pairs)


def test_a_two_leaf_tree_is_a_pairwise_record() -> None:
    tree = {"children": [{"text": "good"}, {"text": "bad"}]}
    (pair,) = tree_pairs("p", tree)
    (plain,) = parse_records([{"prompt": "p", "chosen": "good", "rejected": "bad"}]).pairs
    assert (pair.chosen, pair.rejected) == (plain.chosen, plain.rejected)


# --- bad data ---------------------------------------------------------------------------

BAD = [
    ({"prompt": "p", "chosen": "a"}, "record 1, field rejected: missing"),
    ({"prompt": "p", "chosen": 3, "rejected": "b"}, "record 1, field chosen: expected text"),
    ({"prompt": "p", "chosen": "a", "rejected": "a"}, "field rejected: the same as chosen"),
    ({"prompt": "p", "chosen": "a", "rejected": "b", "margin": "big"}, "field margin: expected a finite number"),
    ({"prompt": [{"role": "user"}], "chosen": "a", "rejected": "b"}, "field prompt[0].content: expected a string"),
    ({"prompt": [], "chosen": "a", "rejected": "b"}, "field prompt: an empty list of messages"),
    ({"prompt": "p", "responses": ["a"]}, "field responses: expected a list of two or more"),
    ({"prompt": "p", "responses": ["a", "b"], "scores": [1]}, "field scores: expected 2 numbers"),
    ({"prompt": "p", "responses": ["a", "b"], "scores": [1, 2]}, "field scores[1]: 2.0 is above scores[0]"),
    ({"prompt": "p", "responses": ["a", "b", "a"]}, "field responses[2]: the same as responses[0]"),
    ({"prompt": "p", "tree": {"children": []}}, "field tree: the root has no children"),
    ({"prompt": "p", "tree": {"children": [{"text": "a"}, {}]}}, "field tree.children[1].text: expected a string"),
    ({"prompt": "p", "tree": {"children": [{"text": "a"}, {"text": "a"}]}}, "field tree.children[1]: gives the same response as tree.children[0]"),
    ({"prompt": "p", "tree": {"children": "ab"}}, "field tree.children: expected a list of nodes"),
    ({"trajectory": "t", "success": True}, "field prompt: missing (needed to group"),
    ({"prompt": "p", "trajectory": "t", "success": 1}, "field success: expected true or false"),
    ({"prompt": "p", "trajectory": "t"}, "field success: missing"),
    ({"prompt": "p", "answer": "a"}, "record 1: no preference fields"),
    (["not", "an", "object"], "record 1: expected an object"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("record", "message"),
    BAD,
    ids=[m.split(": ")[0][-28:] + str(i) for i, (_, m) in enumerate(BAD)],
)
def test_bad_record_message_names_record_and_field(record: Any, message: str) -> None:
    with pytest.raises(InputError, match="1 bad records") as info:
        parse_records([record], source="prefs.jsonl")
    assert message in str(info.value)
    assert str(info.value).startswith("prefs.jsonl: ")


def _deep(levels: int) -> dict[str, Any]:
    node: dict[str, Any] = {"text": "x"}
    for _ in range(levels):
        node = {"text": "y", "children": [node, {"text": "z"}]}
    return node


@pytest.mark.parametrize(
    ("tree", "message"),
    [
        (_deep(MAX_TREE_DEPTH + 1), f"deeper than {MAX_TREE_DEPTH} levels"),
        (
            {"children": [{"text": str(k)} for k in range(MAX_TREE_LEAVES + 1)]},
            "more than 256 leaves",
        ),
    ],
    ids=["too-deep", "too-many-leaves"],
)
def test_tree_size_caps(tree: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError, match=message):
        tree_pairs("p", tree)


def test_every_bad_record_is_listed_and_skip_bad_keeps_the_rest() -> None:
    records = [RECORDS[0], {"prompt": "p"}, RECORDS[2], {"chosen": 1, "rejected": "x"}]
    with pytest.raises(InputError) as info:
        parse_records(records)
    text = str(info.value)
    assert "2 bad records" in text and "record 2:" in text and "record 4, field chosen" in text
    data = parse_records(records, skip_bad=True)
    assert data.counts["skipped"] == 2 and len(data.problems) == 2
    assert len(data.all_pairs()) == 3


# --- sources ----------------------------------------------------------------------------


def _write_jsonl(path: Path, records: list[Any]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def test_jsonl_file_with_a_malformed_line(tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "p.jsonl", RECORDS[:1])
    with path.open("a", encoding="utf-8") as f:
        f.write("{not json\n")
    with pytest.raises(InputError, match=r"record 2: line 2: malformed JSON"):
        load_preferences(path)
    data = load_preferences(path, skip_bad=True)
    assert data.source == str(path) and len(data.pairs) == 1


def test_parquet_file(tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    import pyarrow as pa

    rows = [
        {"prompt": "p", "chosen": "a", "rejected": "b"},
        {"prompt": "q", "chosen": "c", "rejected": "d"},
    ]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "p.parquet")
    data = load_preferences(tmp_path / "p.parquet")
    assert [(p.prompt, p.chosen) for p in data.pairs] == [("p", "a"), ("q", "c")]


def test_datasets_folder_dataset_and_dict(tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    ds = datasets.Dataset.from_list([{"prompt": "p", "responses": ["a", "b", "c"]}])
    assert len(load_preferences(ds).all_pairs()) == 3
    ds.save_to_disk(str(tmp_path / "folder"))
    assert load_preferences(tmp_path / "folder").rankings[0].responses == ("a", "b", "c")
    both = datasets.DatasetDict({"train": ds, "test": ds})
    with pytest.raises(InputError, match="choose one with split="):
        load_preferences(both)
    assert len(load_preferences(both, split="test").rankings) == 1


def test_unknown_sources_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        load_preferences(tmp_path / "missing.jsonl")
    with pytest.raises(InputError, match="unknown file type"):
        load_preferences(_write_jsonl(tmp_path / "p.txt", []))
    with pytest.raises(InputError, match="cannot read preference data"):
        load_preferences(42)
