"""``rewardsmith train-rm``: trains from a file, saves a model ``rm.score`` loads, exit 2 on bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")

from helpers_tiny_rm import save_causal_lm
from rewardsmith import Sample, load

SCRIPT = Path(sys.executable).with_name("rewardsmith")


def records(n: int) -> list[dict[str, str]]:
    return [
        {"prompt": f"What is {i}+{i}? ", "chosen": f"<answer>{2 * i}</answer>", "rejected": f"<answer>{2 * i}"}
        for i in range(n)
    ]  # fmt: skip


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env_free = {"OMP_NUM_THREADS": "1", "PATH": str(SCRIPT.parent), "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [str(SCRIPT), *args], capture_output=True, text=True, timeout=300, env=env_free
    )


def test_train_rm_saves_a_reward_model_that_rm_score_loads(tmp_path: Path) -> None:
    data = tmp_path / "prefs.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in records(60)) + "\n")
    base = save_causal_lm(tmp_path / "base")
    out = tmp_path / "rm"
    done = run(
        "train-rm", str(data), "--base-model", str(base), "--out", str(out),
        "--epochs", "3", "--lr", "3e-3", "--max-length", "48", "--seed", "1", "--no-progress",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["train_pairs"] > 0 and summary["eval_pairs"] > 0
    assert summary["eval_accuracy"] is not None and summary["eval_accuracy"] >= 0.8
    assert "rm.score" in (out / "README.md").read_text()
    reward = load("rm.score", model=str(out), input="text")
    good, bad = reward.score(
        [
            Sample(prompt="What is 7+7? ", completion="<answer>14</answer>"),
            Sample(prompt="What is 7+7? ", completion="<answer>14"),
        ]
    )
    assert good.value is not None and bad.value is not None and good.value > bad.value


def test_bad_settings_and_data_exit_2_with_one_message(tmp_path: Path) -> None:
    data = tmp_path / "prefs.jsonl"
    data.write_text(json.dumps({"prompt": "p", "chosen": "a"}) + "\n")
    base = str(tmp_path / "nowhere")
    done = run("train-rm", str(data), "--base-model", base, "--out", str(tmp_path / "o"))
    assert done.returncode == 2 and "rejected" in done.stderr and "Traceback" not in done.stderr
    done = run(
        "train-rm", str(data), "--base-model", base, "--out", str(tmp_path / "o"),
        "--loss", "hinge", "--margin", "wide",
    )  # fmt: skip
    assert done.returncode == 2 and "Traceback" not in done.stderr


def test_joint_accumulated_bfloat16_with_flips_from_the_command_line(tmp_path: Path) -> None:
    data = tmp_path / "prefs.jsonl"
    rows = records(40)
    rows[5] = {**rows[5], "chosen": rows[5]["rejected"], "rejected": rows[5]["chosen"]}
    data.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    base = save_causal_lm(tmp_path / "base")
    out = tmp_path / "rm"
    done = run(
        "train-rm", str(data), "--base-model", str(base), "--out", str(out),
        "--epochs", "3", "--lr", "3e-3", "--max-length", "48", "--batch-size", "4",
        "--grad-accum", "2", "--precision", "bfloat16", "--joint", "--warmup-ratio", "0.1",
        "--flip-members", "2", "--flip-epochs", "2", "--flip-fraction", "0.1", "--no-progress",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["flipped"] >= 1 and summary["eval_accuracy"] >= 0.75
    card = (out / "README.md").read_text()
    assert "use: rm.joint" in card and "batch 4 x 2 accumulated" in card and "bfloat16" in card
    reward = load("rm.joint", model=str(out), input="text")
    bad, good = reward.score(
        [
            Sample(prompt="What is 7+7? ", completion="<answer>14", group="g"),
            Sample(prompt="What is 7+7? ", completion="<answer>14</answer>", group="g"),
        ]
    )
    assert good.value is not None and bad.value is not None and good.value > bad.value


def test_option_errors_exit_2(tmp_path: Path) -> None:
    data = tmp_path / "prefs.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in records(4)) + "\n")
    done = run(
        "train-rm", str(data), "--base-model", str(tmp_path), "--out", str(tmp_path / "o"),
        "--precision", "float8", "--flip-members", "1", "--grad-accum", "0",
    )  # fmt: skip
    assert done.returncode == 2 and "Traceback" not in done.stderr
    for needle in ("precision", "flip_members", "grad_accum"):
        assert needle in done.stderr
