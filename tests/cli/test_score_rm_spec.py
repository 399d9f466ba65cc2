"""A reward model in a spec file, scored from the command line: ``use: rm.score``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")

from helpers_tiny_rm import save_classifier
from rewardsmith import Sample, load

SCRIPT = Path(sys.executable).with_name("rewardsmith")


def test_rm_score_in_a_spec_scores_a_file_like_the_library(tmp_path: Path) -> None:
    model = save_classifier(tmp_path / "rm")
    spec = tmp_path / "rm.yaml"
    spec.write_text(f"reward:\n  use: rm.score\n  with: {{model: '{model}', sigmoid: true}}\n")
    rows = [
        {"prompt": "What is 2+2?", "completion": "<answer>4</answer>"},
        {"prompt": "What is 2+2?", "completion": "five, probably"},
    ]
    data = tmp_path / "rollouts.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    out = tmp_path / "scored.jsonl"
    done = subprocess.run(
        [str(SCRIPT), "score", str(data), "--spec", str(spec), "--out", str(out), "--json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    scored = [json.loads(line) for line in out.read_text().splitlines()]
    expected = load("rm.score", model=str(model), sigmoid=True).score(
        [Sample(prompt=r["prompt"], completion=r["completion"]) for r in rows]
    )
    assert [r["status"] for r in scored] == ["ok", "ok"]
    for got, want in zip(scored, expected, strict=True):
        assert want.value is not None and abs(got["value"] - want.value) < 1e-5
        assert 0.0 < got["value"] < 1.0
