import json

import pyarrow.parquet as pq
import pytest

from rewardsmith import load
from rewardsmith.core import Score, Status
from rewardsmith.errors import InputError
from rewardsmith.rollouts import FieldMap, RolloutWriter, read_rollouts, score_chunk, to_sample


def rows_of(path, **kw):
    return [r for chunk in read_rollouts(path, **kw) for r in chunk]


def sample_of(row):
    return FieldMap().sample(row.raw)


def test_trainer_field_names_are_understood():
    verl = to_sample(
        {
            "prompt": "p",
            "solution_str": "s",
            "reward_model": {"ground_truth": "g"},
            "data_source": "gsm8k",
        }
    )
    assert (verl.completion, verl.reference, verl.meta["data_source"]) == ("s", "g", "gsm8k")
    assert "reward_model" not in verl.meta
    openai = to_sample(
        {
            "prompt": [{"role": "user", "content": "q"}],
            "response": [{"role": "assistant", "content": "a"}],
            "label": 3,
        }
    )
    assert openai.text == "a" and openai.reference == 3


def test_prompt_decides_the_group_when_none_is_given():
    a, b, c = (to_sample({"prompt": p, "completion": "x"}) for p in ("p1", "p1", "p2"))
    assert a.group == b.group != c.group
    assert to_sample({"prompt": "p", "completion": "x", "uid": 7}).group == 7


def test_map_overrides_with_dotted_paths():
    s = to_sample(
        {"out": {"text": "t"}, "gold": "g"}, {"completion": "out.text", "reference": "gold"}
    )
    assert (s.completion, s.reference) == ("t", "g")
    with pytest.raises(InputError, match=r"looked for out\.txt"):
        to_sample({"out": {"text": "t"}}, {"completion": "out.txt"})


def test_jsonl_malformed_line_is_a_row_problem_and_the_rest_read(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text('{"completion": "a"}\n{oops\n\n[1, 2]\n{"completion": "b"}\n')
    rows = rows_of(path, chunk_size=2)
    assert [r.index for r in rows] == [0, 1, 2, 3]
    assert [r.raw is not None for r in rows] == [True, False, False, True]
    assert rows[1].problem.startswith("line 2: malformed JSON")
    assert rows[2].problem == "row 3: expected a JSON object, got list"


def test_unknown_map_field_and_missing_file(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_rollouts(tmp_path / "none.jsonl")
    (tmp_path / "r.jsonl").write_text("{}\n")
    with pytest.raises(InputError, match="unknown field answer_text"):
        FieldMap({"answer_text": "x"})


def test_score_chunk_marks_unreadable_rows_as_errors(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text(
        '{"completion": "<answer>x</answer>", "reference": "x"}\nnot json\n{"text": "t"}\n'
    )
    (chunk,) = read_rollouts(path)
    scores = score_chunk(load("qa.exact_match"), chunk)
    assert [s.status for s in scores] == [Status.OK, Status.ERROR, Status.ERROR]
    assert scores[1].error.type == "InputError"
    assert scores[2].error.message.startswith("row 3: no completion field")
    (chunk,) = read_rollouts(path)
    mapped = score_chunk(load("qa.exact_match"), chunk, FieldMap({"completion": "text"}))[2]
    assert mapped.error.type == "ValueError"  # read, then refused for its missing reference


def _write(path, rows, schema=None):
    scores = [
        Score(1.0, parts={"a": 1.0}, info={"answer": "x"}) if r.raw else Score(None, Status.ERROR)
        for r in rows
    ]
    with RolloutWriter(path, schema) as w:
        w.write(rows, scores)


def test_jsonl_to_parquet_keeps_every_field_as_text(tmp_path):
    src = tmp_path / "r.jsonl"
    src.write_text(json.dumps({"completion": "c", "reference": {"target": ["x"]}, "n": 3}) + "\n")
    _write(tmp_path / "o.parquet", rows_of(src))
    (rec,) = pq.read_table(tmp_path / "o.parquet").to_pylist()
    assert (
        rec["completion"] == "c"
        and json.loads(rec["reference"]) == {"target": ["x"]}
        and rec["n"] == "3"
    )
    assert rec["value"] == 1.0 and rec["status"] == "ok" and rec["parts"] == [("a", 1.0)]
    assert json.loads(rec["info"]) == {"answer": "x"} and rec["error"] is None


def test_parquet_in_parquet_out_keeps_column_types(tmp_path):
    import pyarrow as pa

    table = pa.table(
        {
            "completion": ["a", "b"],
            "reward_model": [{"ground_truth": "1"}, {"ground_truth": "2"}],
            "k": [1, 2],
        }
    )
    pq.write_table(table, tmp_path / "in.parquet")
    rows = rows_of(tmp_path / "in.parquet")
    assert [sample_of(r).reference for r in rows] == ["1", "2"]
    _write(tmp_path / "out.parquet", rows, pq.read_schema(tmp_path / "in.parquet"))
    out = pq.read_table(tmp_path / "out.parquet")
    assert out.schema.field("k").type == pa.int64()
    assert out.column("reward_model").to_pylist() == [{"ground_truth": "1"}, {"ground_truth": "2"}]


def test_saved_hugging_face_dataset(tmp_path):
    datasets = pytest.importorskip("datasets")
    ds = datasets.Dataset.from_dict(
        {"prompt": ["p"] * 3, "response": ["<answer>a</answer>", "b", "c"], "answer": ["a"] * 3}
    )
    datasets.DatasetDict({"train": ds, "test": ds}).save_to_disk(str(tmp_path / "dd"))
    with pytest.raises(InputError, match="choose a split"):
        rows_of(tmp_path / "dd")
    rows = rows_of(tmp_path / "dd", split="test", chunk_size=2)
    assert [sample_of(r).completion for r in rows] == ["<answer>a</answer>", "b", "c"]
    assert [sample_of(r).reference for r in rows] == ["a"] * 3


def test_blocks_carry_raw_lines_and_parse_where_they_are_scored(tmp_path):
    from rewardsmith.rollouts import Summary, process_block, read_blocks

    path = tmp_path / "r.jsonl"
    path.write_text('{"completion": "<answer>x</answer>", "reference": "x"}\n\n{bad\n')
    (block,) = read_blocks(path)
    assert block.linenos == [1, 3] and block.records is None
    done = process_block(block, load("qa.exact_match"), FieldMap())
    assert done.rows == 2 and done.rendered is None
    total = Summary()
    total.merge(done.summary)
    total.merge(done.summary)
    assert (total.items, total.scored, total.errored, total.value_sum) == (4, 2, 2, 2.0)
