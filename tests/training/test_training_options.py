"""Training options beyond the loss: joint (YOJO) training that ``rm.joint`` reads back,
gradient accumulation, bfloat16 autocast, and label flipping inside a run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from helpers_tiny_rm import (  # noqa: E402
    arithmetic_records,
    one_torch_thread,
    save_causal_lm,
    save_classifier,
)
from rewardsmith.core import Sample  # noqa: E402
from rewardsmith.errors import ConfigError  # noqa: E402
from rewardsmith.judges.rm import RMJoint, RMJointParams  # noqa: E402
from rewardsmith.training import TrainConfig, train_reward_model  # noqa: E402
from rewardsmith.training.train import train_from_config  # noqa: E402

FAST = {"epochs": 3, "lr": 3e-3, "batch_size": 8, "max_length": 64, "progress": False}


one_thread = pytest.fixture(autouse=True, scope="module")(one_torch_thread)


records = arithmetic_records
RECORDS = records(80)


@pytest.fixture(scope="module")
def joint_model(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    root = tmp_path_factory.mktemp("joint")
    base = save_causal_lm(root / "base")
    result = train_reward_model(
        RECORDS[:60], base, root / "rm", eval_data=RECORDS[60:], seed=1, joint=True, **FAST
    )
    return result, root


def test_joint_training_learns_and_rm_joint_reads_the_model_back(joint_model: Any) -> None:
    result, _ = joint_model
    assert result.eval_accuracy_before is not None and result.eval_accuracy == 1.0
    reward = RMJoint(RMJointParams(model=result.out_dir, input="text"))
    samples = [
        Sample(prompt=r["prompt"], completion=c, group=f"g{k}")
        for k, r in enumerate(RECORDS[60:])
        for c in (r["rejected"], r["chosen"])  # the better one second: order must not matter
    ]
    scores = reward.score(samples)
    assert all(s.status.value == "ok" for s in scores)
    wins = [scores[2 * k + 1].value > scores[2 * k].value for k in range(20)]  # type: ignore[operator]
    assert all(wins)
    # The trainer's held-out margins are rm.joint's (both orders, averaged), to float noise.
    margins = [scores[2 * k + 1].value - scores[2 * k].value for k in range(20)]  # type: ignore[operator]
    assert margins == pytest.approx(list(result.eval_margins), abs=1e-4)
    card = (Path(result.out_dir) / "README.md").read_text(encoding="utf-8")
    assert f"reward: {{use: rm.joint, with: {{model: {result.out_dir}, input: text}}}}" in card
    assert "joint (You Only Judge Once" in card


def test_joint_listwise_training_runs_on_groups(tmp_path: Path) -> None:
    base = save_classifier(tmp_path / "base")
    groups = [
        {
            "prompt": f"What is {k}+1? ",
            "responses": [f"<answer>{k + 1}</answer>", f"<answer>{k + 1}", f"{k}"],
        }
        for k in range(24)
    ]
    result = train_reward_model(groups, base, tmp_path / "rm", loss="listwise", joint=True, **FAST)
    assert result.train_units == 22 and sum(result.losses[-3:]) < sum(result.losses[:3])


def test_gradient_accumulation_matches_one_large_batch(tmp_path: Path) -> None:
    base = save_classifier(tmp_path / "base")
    common = dict(loss="bt", epochs=2, lr=3e-3, max_length=64, seed=4, eval_fraction=0.0)
    big = train_from_config(
        TrainConfig(batch_size=8, **common),
        RECORDS[:32],
        base,
        tmp_path / "a",
        progress=False,  # type: ignore[arg-type]
    )
    accumulated = train_from_config(
        TrainConfig(batch_size=4, grad_accum=2, **common), RECORDS[:32], base, tmp_path / "b",  # type: ignore[arg-type]
        progress=False,
    )  # fmt: skip
    assert big.steps == accumulated.steps == 8
    assert accumulated.losses == pytest.approx(big.losses, abs=1e-5)
    smaller = train_from_config(
        TrainConfig(batch_size=4, **common),
        RECORDS[:32],
        base,
        tmp_path / "c",
        progress=False,  # type: ignore[arg-type]
    )
    assert smaller.steps == 16  # without accumulation: twice the optimizer steps


def test_bfloat16_autocast_trains_and_is_really_used(tmp_path: Path) -> None:
    base = save_classifier(tmp_path / "base")
    args = dict(epochs=2, lr=3e-3, batch_size=8, max_length=64, seed=2, eval_fraction=0.0)
    full = train_from_config(
        TrainConfig(**args), RECORDS[:40], base, tmp_path / "a", progress=False
    )  # type: ignore[arg-type]
    half = train_from_config(
        TrainConfig(precision="bfloat16", **args),
        RECORDS[:40],
        base,
        tmp_path / "b",
        progress=False,  # type: ignore[arg-type]
    )
    assert half.losses != full.losses  # bfloat16 rounding shows in the losses
    assert half.losses[0] == pytest.approx(full.losses[0], rel=0.05)
    assert sum(half.losses[-3:]) < sum(half.losses[:3])
    import transformers

    saved = transformers.AutoModelForSequenceClassification.from_pretrained(tmp_path / "b")
    assert saved.dtype == torch.float32  # master weights stay float32


def test_flipping_inside_a_run_finds_planted_flips(tmp_path: Path) -> None:
    base = save_classifier(tmp_path / "base")
    data = records(60, seed=9)
    planted = {3, 17, 29, 41, 55}
    for i in planted:
        data[i] = {**data[i], "chosen": data[i]["rejected"], "rejected": data[i]["chosen"]}
    config = TrainConfig(
        epochs=2, lr=3e-3, batch_size=8, max_length=64, seed=0, eval_fraction=0.0,
        flip_members=3, flip_epochs=2, flip_fraction=0.2,
    )  # fmt: skip
    result = train_from_config(config, data, base, tmp_path / "rm", progress=False)
    assert result.flipped == len(planted)
    card = (tmp_path / "rm" / "README.md").read_text(encoding="utf-8")
    assert "5 pairs flipped by a 3-model ensemble" in card
    assert not any(p.name.startswith("member-") for p in (tmp_path / "rm").iterdir())


def test_option_errors_are_collected() -> None:
    bad = TrainConfig(
        loss="listwise", grad_accum=0, precision="float16", flip_members=1, flip_fraction=0.0,
        flip_action="swap", flip_adaptive_margin=True,
    )  # fmt: skip
    text = "\n".join(bad.problems())
    for needle in (
        "grad_accum: at least 1",
        "precision: one of float32, bfloat16",
        "flip_members: an ensemble needs at least 2",
        "for loss='bt' only",
        "flip_fraction: in (0, 1]",
        "flip_action: one of flip, drop",
        "needs margin='data'",
    ):
        assert needle in text
    with pytest.raises(ConfigError, match="grad_accum"):
        train_from_config(bad, [], "unused", "unused", progress=False)
