"""Reward health: the batch figures by hand, the run's warning and stop, and TRL's own
``GRPOTrainer`` stopped by the callback when its rewards give no signal (TRL#5697)."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest

from helpers_tiny_lm import build_model, build_tokenizer
from rewardsmith.core import ItemReward, Sample, Score, Status, Tokens
from rewardsmith.integrations.health import (
    RewardHealth,
    RewardHealthWarning,
    batch_health,
    group_spread,
)
from rewardsmith.integrations.trl import reward_funcs


def scores(*values: float | None) -> list[Score]:
    return [Score(v) if v is not None else Score(None, Status.ERROR) for v in values]


def test_zero_spread_counts_groups_with_two_valued_members() -> None:
    samples = [Sample(group=g) for g in ("a", "a", "b", "b", "b", "c", "d", "d")]
    got = scores(1.0, 1.0, 0.0, 1.0, None, 0.5, None, 0.3)
    # a: flat; b: spread; c: alone; d: one valued member -> not a group
    assert group_spread(samples, got) == (2, 1)
    h = batch_health(samples, got)
    assert h.groups == 2 and h.zero_spread == 0.5 and h.signal
    assert h.statuses["error"] == pytest.approx(2 / 8)
    assert h.mean == pytest.approx((1 + 1 + 0 + 1 + 0.5 + 0.3) / 6)
    assert group_spread(samples[:2], scores(1.0, 1.0 + 1e-12)) == (1, 1)  # within tol


def test_no_signal_when_every_group_is_flat_or_every_completion_clipped() -> None:
    flat = batch_health([Sample(group=1)] * 2 + [Sample(group=2)] * 2, scores(0, 0, 1, 1))
    assert flat.zero_spread == 1.0 and not flat.signal
    eos = 2
    ended = Sample(group=1, tokens=Tokens(ids=(5, 6, eos)))
    cut = Sample(group=1, tokens=Tokens(ids=(5, 6, 7)))
    h = batch_health([cut, cut], scores(0, 1), eos_token_id=eos)
    assert h.clipped == 1.0 and not h.signal  # spread, but nothing was read
    assert batch_health([ended, cut], scores(0, 1), eos_token_id=eos).clipped == 0.5
    assert batch_health([ended, cut], scores(0, 1), max_completion_length=3).clipped == 1.0
    assert batch_health([ended, Sample(group=1)], scores(0, 1), eos_token_id=eos).clipped is None
    assert batch_health([ended, cut], scores(0, 1)).clipped is None  # no rule given


def test_the_run_warns_once_after_patience_batches_and_resets_on_signal() -> None:
    health = RewardHealth(patience=3)
    group = [Sample(group=1), Sample(group=1)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        health.observe(group, scores(1, 1))
        health.observe(group, scores(1, 1))
        health.observe(group, scores(0, 1))  # signal: the streak starts again
        health.observe(group, scores(1, 1))
        health.observe(group, scores(1, 1))
    assert health.streak == 2 and not health.stalled
    with pytest.warns(RewardHealthWarning, match="every group's rewards were equal"):
        health.observe(group, scores(1, 1))
    assert health.stalled and health.warned
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # once only
        health.observe(group, scores(1, 1))
    clipped = RewardHealth(patience=1, eos_token_id=2)
    with pytest.warns(RewardHealthWarning, match="length limit"):
        clipped.observe([Sample(group=1, tokens=Tokens(ids=(4, 5)))] * 2, scores(0, 1))
    with pytest.raises(ValueError):
        RewardHealth(patience=0)


class Constant(ItemReward):
    name = "test.constant"

    def score_one(self, sample: Sample) -> float:
        return 1.0


def test_the_trl_adapter_logs_the_health_figures() -> None:
    logged: dict[str, Any] = {}
    health = RewardHealth(eos_token_id=2)
    (f,) = reward_funcs(Constant(), health=health)
    f(
        prompts=["p", "p", "q", "q"],
        completions=["a", "b", "c", "d"],
        completion_ids=[[5, 2], [5, 6], [7, 2], [8, 2]],
        log_metric=logged.__setitem__,
    )
    assert logged["rewardsmith/zero_spread_groups"] == 1.0
    assert logged["rewardsmith/clipped"] == 0.25
    assert health.history[-1].groups == 2 and health.streak == 1
    (off,) = reward_funcs(Constant(), health=False)
    quiet: dict[str, Any] = {}
    off(prompts=["p", "p"], completions=["a", "b"], log_metric=quiet.__setitem__)
    assert "rewardsmith/zero_spread_groups" not in quiet


def test_a_stalled_grpo_run_is_stopped_by_the_callback(tmp_path: Path) -> None:
    """TRL's GRPOTrainer with a reward that pays every completion the same: no group has
    any spread, the monitor warns after two steps and the callback ends the run there,
    long before max_steps."""
    pytest.importorskip("trl")
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    tokenizer = build_tokenizer()
    health = RewardHealth(patience=2, stop=True)
    args = GRPOConfig(
        output_dir=str(tmp_path / "out"),
        use_cpu=True,
        bf16=False,
        per_device_train_batch_size=4,
        num_generations=4,
        max_completion_length=8,
        max_steps=20,
        learning_rate=1e-3,
        report_to="none",
        logging_steps=1,
        save_strategy="no",
        seed=0,
        disable_tqdm=True,
    )
    data = Dataset.from_list([{"prompt": f"What is {i}+1?", "answer": str(i + 1)} for i in range(8)])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trainer = GRPOTrainer(
            model=build_model(tokenizer),
            processing_class=tokenizer,
            reward_funcs=reward_funcs(Constant(), health=health),
            args=args,
            train_dataset=data,
            callbacks=[health.callback()],
        )
        trainer.train()
    assert trainer.state.global_step == 2
    assert health.max_completion_length == 8 and health.eos_token_id == tokenizer.eos_token_id
    assert any(issubclass(w.category, RewardHealthWarning) for w in caught)
    logged = [h for h in trainer.state.log_history if "rewardsmith/zero_spread_groups" in h]
    assert logged and all(h["rewardsmith/zero_spread_groups"] == 1.0 for h in logged)


def test_a_falling_mean_reward_warns_once_and_a_rising_or_noisy_one_never() -> None:
    """GRPO raises the reward it is given; a mean that falls (the length-term collapse of
    benchmarks/grpo's configuration c, whose recorded run this flags at batch 30-49 of
    120 in each seed) is a run chasing something else."""
    import random

    group = [Sample(group=1), Sample(group=1)]

    def run(means: list[float]) -> RewardHealth:
        health = RewardHealth(patience=10)
        for m in means:
            health.observe(group, scores(m - 0.1, m + 0.1))  # spread: never "no signal"
        return health

    rng = random.Random(0)
    rising = [0.4 + 0.003 * t + rng.gauss(0, 0.02) for t in range(60)]
    noisy = [0.5 + rng.gauss(0, 0.05) for _ in range(60)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert run(rising).fell_at is None and run(noisy).fell_at is None
    falling = [0.45 - 0.006 * t + rng.gauss(0, 0.02) for t in range(60)]
    with pytest.warns(RewardHealthWarning, match="mean reward fell") as caught:
        health = run(falling)
    assert health.fell_at is not None and 20 <= health.fell_at < 40
    assert sum("mean reward fell" in str(w.message) for w in caught) == 1
    assert not run(falling[:19]).falling  # two windows are needed first
