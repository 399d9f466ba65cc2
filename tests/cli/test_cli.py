"""The command line through its real entry point, on real files."""

import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from rewardsmith.core import catalog

SCRIPT = Path(sys.executable).with_name("rewardsmith")  # the installed console script


def run(*args, cwd=None):
    return subprocess.run(
        [str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
    )


@pytest.fixture
def rollouts(tmp_path):
    path = tmp_path / "r.jsonl"
    lines = [
        {
            "prompt": "q",
            "completion": "<think>2+2</think><answer>4</answer>",
            "reference": "4",
            "data_source": "toy",
        },
        {"prompt": "q", "completion": "<think>2+2</think><answer>5</answer>", "reference": "4"},
        {"prompt": "q", "completion": "four", "reference": "4"},
    ]
    path.write_text(
        "\n".join(json.dumps(x) for x in lines[:2]) + "\n{not json\n" + json.dumps(lines[2]) + "\n"
    )
    return path


def test_no_argument_run_scores_the_bundled_rollouts_with_the_default_spec():
    proc = run("score", "--json")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["spec"] == "math-r1"
    assert summary["items"] >= 200
    assert summary["status"]["error"] == 0
    assert 0.2 < summary["mean"] < 0.7  # the bundled mix is about 40% correct
    assert {"format.think_answer", "math.answer"} <= set(summary["parts"])


def test_no_argument_run_prints_the_summary_table():
    proc = run("score")
    assert proc.returncode == 0, proc.stderr
    for label in (
        "items",
        "mean value",
        "share > 0",
        "mean math.answer",
        "status timeout",
        "items/s",
    ):
        assert label in proc.stdout


def test_malformed_line_gets_status_error_and_the_rest_are_scored(rollouts, tmp_path):
    out = tmp_path / "scored.jsonl"
    proc = run("score", str(rollouts), "--out", str(out), "--json")
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["status"] for r in rows] == ["ok", "ok", "error", "ok"]
    assert [r["value"] for r in rows] == [1.0, 0.0, None, 0.0]
    assert rows[2]["error"]["message"].startswith("line 3: malformed JSON")
    assert rows[0]["data_source"] == "toy" and rows[0]["parts"]["math.answer"] == 1.0
    assert json.loads(proc.stdout)["status"] == {"ok": 3, "skipped": 0, "timeout": 0, "error": 1}


def test_fail_on_error_exits_1(rollouts):
    proc = run("score", str(rollouts), "--fail-on-error")
    assert proc.returncode == 1


def test_bad_spec_exits_2_naming_the_key(rollouts, tmp_path):
    spec = tmp_path / "bad.yaml"
    spec.write_text("name: bad\nreward:\n  sum:\n    - {use: qa.f1, with: {require_tag: true}}\n")
    proc = run("score", str(rollouts), "--spec", str(spec))
    assert proc.returncode == 2
    assert "reward.sum[0].with: qa.f1: require_tag: unknown parameter" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_missing_input_file_exits_2(tmp_path):
    proc = run("score", str(tmp_path / "missing.jsonl"))
    assert proc.returncode == 2
    assert "no such file" in proc.stderr and "Traceback" not in proc.stderr


def test_bad_map_exits_2(rollouts):
    proc = run("score", str(rollouts), "--map", "completion")
    assert proc.returncode == 2 and "FIELD=COLUMN" in proc.stderr


def test_parquet_output_and_two_processes_match_one(rollouts, tmp_path):
    one, two = tmp_path / "one.parquet", tmp_path / "two.parquet"
    assert run("score", str(rollouts), "-o", str(one), "--chunk-size", "1").returncode == 0
    proc = run("score", str(rollouts), "-o", str(two), "--chunk-size", "1", "--processes", "2")
    assert proc.returncode == 0, proc.stderr
    a, b = pq.read_table(one).to_pylist(), pq.read_table(two).to_pylist()
    assert [r["value"] for r in a] == [1.0, 0.0, None, 0.0]
    assert a == b


def test_stdout_output_is_jsonl_and_summary_goes_to_stderr(rollouts):
    proc = run("score", str(rollouts), "--out", "-")
    assert proc.returncode == 0
    assert len([json.loads(line) for line in proc.stdout.splitlines()]) == 4
    assert "mean value" in proc.stderr


def test_list_shows_every_reward_with_range_and_paper():
    proc = run("list", "--json")
    assert proc.returncode == 0
    listed = {e["name"]: e for e in json.loads(proc.stdout)}
    assert set(listed) == {e.name for e in catalog()}
    assert listed["length.overlong"]["range"] == [-1.0, 0.0]
    assert listed["math.answer"]["paper"]["arxiv"]
    table = run("list")
    assert "qa.cover_em" in table.stdout and "2503.14476" in table.stdout


@pytest.mark.parametrize(
    "args,message",
    [
        (["--actors", "2"], "--actors is for --engine ray"),
        (["--engine", "ray", "-p", "2"], "--processes is for --engine local"),
    ],
    ids=["actors on the local engine", "processes on the ray engine"],
)
def test_each_engine_refuses_the_others_parallelism_in_one_line(rollouts, args, message):
    proc = run("score", str(rollouts), *args)
    assert proc.returncode == 2
    assert message in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_processes_that_used_the_symbolic_pool_exit(tmp_path):
    # A --processes process that started math.answer's sympy pool once hung at exit.
    path = tmp_path / "sym.jsonl"
    rows = [
        ("\\frac{\\sqrt{3}}{2}", "\\sqrt{3}/2"),
        ("(x-1)(x+1)", "x^2-1"),
        ("2\\sqrt{2}", "\\sqrt{8}"),
        ("5", "5"),
    ]
    path.write_text(
        "".join(
            json.dumps(
                {
                    "prompt": str(i),
                    "completion": f"<think>t</think><answer>{a}</answer>",
                    "reference": r,
                }
            )
            + "\n"
            for i, (a, r) in enumerate(rows)
        )
    )
    proc = run("score", str(path), "--processes", "2", "--chunk-size", "1", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["mean"] == 1.0
