"""``rewardsmith score --engine ray``: Ray Data gives the local engine's output, row for row."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import ray
from typer.testing import CliRunner

from rewardsmith.cli.app import app
from rewardsmith.cli.score import bundled_rollouts

# Ray Data warns about its own deprecated settings when it copies its context.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module", autouse=True)
def local_ray(tmp_path_factory):
    temp = tmp_path_factory.mktemp("ray")
    ray.init(num_cpus=3, include_dashboard=False, log_to_driver=False, _temp_dir=str(temp))
    yield
    ray.shutdown()


def score(*args: str) -> str:
    result = CliRunner().invoke(app, ["score", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_jsonl_output_is_byte_identical_to_the_local_engine(tmp_path: Path):
    local, remote = tmp_path / "local.jsonl", tmp_path / "ray.jsonl"
    score(str(bundled_rollouts()), "--out", str(local), "--chunk-size", "64")
    summary = score(
        str(bundled_rollouts()),
        "--out",
        str(remote),
        "--engine",
        "ray",
        "--actors",
        "2",
        "--chunk-size",
        "64",
    )
    assert remote.read_bytes() == local.read_bytes()
    assert "0.3984" in summary  # the bundled rollouts' mean under math-r1


def test_parquet_input_scores_the_same_rows(tmp_path: Path):
    rows = [json.loads(line) for line in bundled_rollouts().read_text().splitlines()[:40]]
    source = tmp_path / "in.parquet"
    pq.write_table(pa.Table.from_pylist(rows), source)
    local, remote = tmp_path / "local.jsonl", tmp_path / "ray.jsonl"
    score(str(source), "--out", str(local))
    score(str(source), "--out", str(remote), "--engine", "ray", "--chunk-size", "16")
    values = [
        (r["completion"], r["value"], r["status"])
        for r in map(json.loads, remote.read_text().splitlines())
    ]
    expected = [
        (r["completion"], r["value"], r["status"])
        for r in map(json.loads, local.read_text().splitlines())
    ]
    assert values == expected


def test_malformed_lines_become_error_rows(tmp_path: Path):
    source = tmp_path / "in.jsonl"
    good = bundled_rollouts().read_text().splitlines()[:3]
    source.write_text("\n".join([good[0], "{not json", good[1], "[1, 2]", good[2]]) + "\n")
    out = tmp_path / "ray.jsonl"
    score(str(source), "--out", str(out), "--engine", "ray")
    statuses = [json.loads(line)["status"] for line in out.read_text().splitlines()]
    assert statuses == ["ok", "error", "ok", "error", "ok"]


def test_a_dataset_folder_is_refused_with_a_message(tmp_path: Path):
    folder = tmp_path / "ds"
    folder.mkdir()
    (folder / "dataset_info.json").write_text("{}")
    result = CliRunner().invoke(app, ["score", str(folder), "--engine", "ray"])
    assert result.exit_code == 2
    assert "--engine ray reads .jsonl and .parquet" in result.output
