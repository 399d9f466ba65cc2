"""The TRL adapter, checked against TRL's own ``GRPOTrainer`` on a tiny local model.

The trainer runs are the point: TRL calls the functions with its real arguments, logs
``rewards/<name>/mean`` per function and ``reward`` for the weighted sum, and those numbers
must equal what scoring the same completions directly gives. The unit tests above them pin
the behaviours one at a time (names, weights, single scoring, None, columns, steps).
"""

from __future__ import annotations

import asyncio
import math
import pickle
import warnings
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from helpers_tiny_lm import build_model, build_tokenizer
from rewardsmith import R, Sample, Score, set_step
from rewardsmith.core import ItemReward
from rewardsmith.core.combinators import Gate, Schedule, Sum
from rewardsmith.errors import ConfigError
from rewardsmith.integrations.trl import async_reward_funcs, reward_funcs, reward_weights

# TRL and transformers emit their own deprecation notes on import and while training.
pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::FutureWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning"),
]


class Digits(ItemReward):
    """Share of digit characters in the completion: varies on random text."""

    name = "test.digits"
    calls = 0

    def score_one(self, sample: Sample) -> float:
        type(self).calls += 1
        text = sample.text
        return sum(c.isdigit() for c in text) / max(len(text), 1)


class Mentions(ItemReward):
    """1.0 when the reference appears in the completion."""

    name = "test.mentions"

    def score_one(self, sample: Sample) -> float:
        return float(str(sample.reference) in sample.text)


class Flaky(ItemReward):
    """Fails (an infrastructure error, value None) on completions containing ``fail_on``,
    or whose length is a multiple of ``fail_mod`` (about one in ``fail_mod`` random texts)."""

    name = "test.flaky"

    def __init__(self, fail_on: str = "boom", fail_mod: int = 0) -> None:
        self.fail_on = fail_on
        self.fail_mod = fail_mod

    def score_one(self, sample: Sample) -> float:
        text = sample.text
        if self.fail_on in text or (self.fail_mod and len(text) % self.fail_mod == 0):
            raise RuntimeError("judge down")
        return 0.5


class StepWeight:
    """A schedule weight of ``1 + step``: shows whether the trainer's step arrived."""

    def __call__(self, step: int) -> float:
        return 1.0 + step

    def bounds(self) -> tuple[float, float]:
        return (1.0, 1000.0)


def values(funcs: Sequence[Any], **call: Any) -> list[list[float | None]]:
    return [f(**call) for f in funcs]


# ---------------------------------------------------------------- parts, names, weights


def test_sum_spec_splits_into_named_weighted_parts() -> None:
    spec = Sum([Digits(), Mentions(), 0.25], weights=[0.5, 2.0, 1.0])
    funcs = reward_funcs(spec)
    assert [f.__name__ for f in funcs] == ["test_digits", "test_mentions", "r_0_25"]
    assert all(f.__name__.isidentifier() for f in funcs)
    assert reward_weights(spec) == [0.5, 2.0, 1.0]
    prompts, completions = ["q1", "q2"], ["a 12 b", "no digits"]
    got = values(funcs, prompts=prompts, completions=completions, answer=["12", "7"])
    direct = spec.score(
        [Sample(p, c, r) for p, c, r in zip(prompts, completions, ["12", "7"], strict=True)]
    )
    for i, s in enumerate(direct):
        weighted = sum(w * col[i] for w, col in zip(reward_weights(spec), got, strict=True))
        assert weighted == pytest.approx(s.value)
    assert got[1] == [1.0, 0.0] and got[2] == [0.25, 0.25]


def test_non_sum_top_node_is_one_function_named_after_the_spec() -> None:
    funcs = reward_funcs("math-r1")
    assert [f.__name__ for f in funcs] == ["math_r1"] and reward_weights("math-r1") == [1.0]
    gate = Gate(R.format.think_answer(), then=R.math.answer(), label="r1 gate")
    assert [f.__name__ for f in reward_funcs(gate)] == ["r1_gate"]
    whole = reward_funcs(Digits() + Mentions(), split=False)
    assert len(whole) == 1 and reward_weights(Digits() + Mentions(), split=False) == [1.0]


def test_duplicate_labels_get_distinct_names() -> None:
    funcs = reward_funcs(Sum([Digits(), Digits()]))
    assert [f.__name__ for f in funcs] == ["test_digits", "test_digits_2"]


def test_batch_is_scored_once_for_all_parts() -> None:
    Digits.calls = 0
    funcs = reward_funcs(Sum([Digits(), Mentions(), Digits()]))
    call = {"prompts": ["p"] * 3, "completions": ["1", "22", "x"], "solution": ["1", "2", "3"]}
    values(funcs, **call)
    assert Digits.calls == 2 * 3  # two Digits children, three items, one scoring pass
    values(funcs, **{**call, "completions": ["9", "9", "9"]})  # a new batch is scored anew
    assert Digits.calls == 4 * 3


def test_async_form_scores_once_and_matches_sync() -> None:
    spec = Sum([Digits(), Mentions()], weights=[1.0, 3.0])
    call = {"prompts": ["p", "p"], "completions": ["a1", "b"], "reference": ["1", "b"]}
    Digits.calls = 0

    async def run() -> list[list[float | None]]:
        funcs = async_reward_funcs(spec)
        return list(await asyncio.gather(*(f(**call) for f in funcs)))

    got = asyncio.run(run())
    assert Digits.calls == 2
    assert got == values(reward_funcs(spec), **call)
    assert [f.__name__ for f in async_reward_funcs(spec)] == ["test_digits", "test_mentions"]


# ---------------------------------------------------------------- None handling


def test_unscored_item_is_none_in_every_part_under_propagate() -> None:
    funcs = reward_funcs(Sum([Digits(), Flaky()]))
    got = values(funcs, prompts=["p", "p"], completions=["1 boom", "12"])
    assert got == [[None, 1.0], [None, 0.5]]


def test_skip_and_value_policies_map_to_none_and_error_value() -> None:
    skip = reward_funcs(Sum([Digits(), Flaky()], on_error="skip"))
    assert values(skip, prompts=["p"], completions=["1 boom"]) == [[1 / 6], [None]]
    fill = reward_funcs(Sum([Digits(), Flaky()], on_error="value", error_value=-1.0))
    assert values(fill, prompts=["p"], completions=["1 boom"]) == [[1 / 6], [-1.0]]


def test_unscored_share_and_statuses_are_logged_once_per_batch() -> None:
    logged: dict[str, Any] = {}
    extra: list[tuple[str, list[Any]]] = []
    funcs = reward_funcs(Sum([Digits(), Flaky()]))
    for f in funcs:
        f(
            prompts=["p"] * 4,
            completions=["boom", "1", "2", "3"],
            log_metric=logged.__setitem__,
            log_extra=lambda column, values: extra.append((column, values)),
        )
    assert logged == {
        "rewardsmith/unscored": 0.25,
        "rewardsmith/skipped": 0.0,
        "rewardsmith/error": 0.25,
        "rewardsmith/timeout": 0.0,
        # each part's mean over the items that computed it: the failed one is left out
        "rewardsmith/test.digits": 0.75,
        "rewardsmith/test.flaky": pytest.approx(0.5),
        # one group (the same prompt) whose three scored values are equal: no signal
        "rewardsmith/zero_spread_groups": 1.0,
    }
    assert extra == [("rewardsmith/status", ["error", "ok", "ok", "ok"])]


# ---------------------------------------------------------------- columns, formats, steps


@pytest.mark.parametrize("column", ["reference", "ground_truth", "answer", "label", "solution"])
def test_reference_comes_from_the_trainer_column(column: str) -> None:
    funcs = reward_funcs(Mentions())
    assert funcs[0](prompts=["p", "p"], completions=["x 42", "x"], **{column: ["42", "9"]}) == [
        1.0,
        0.0,
    ]


def test_configured_reference_column_and_meta() -> None:
    seen: list[Sample] = []

    class Spy(ItemReward):
        name = "test.spy"

        def score_one(self, sample: Sample) -> float:
            seen.append(sample)
            return 1.0

    funcs = reward_funcs(Spy(), reference_column="target")
    funcs[0](prompts=["p"], completions=["c"], completion_ids=[[5, 6]], target=["t"], answer=["a"])
    assert seen[0].reference == "t" and seen[0].meta == {"answer": "a"}
    assert seen[0].tokens is not None and tuple(seen[0].tokens.ids) == (5, 6)
    with pytest.raises(ConfigError, match="target"):
        reward_funcs(Spy(), reference_column="target")[0](prompts=["p"], completions=["c"])


def test_conversational_completions_score_the_assistant_text() -> None:
    funcs = reward_funcs(Mentions())
    prompts = [[{"role": "user", "content": "2+2?"}]] * 2
    completions = [
        [{"role": "assistant", "content": "it is 4"}],
        [{"role": "assistant", "content": "5"}],
    ]
    assert funcs[0](prompts=prompts, completions=completions, answer=["4", "4"]) == [1.0, 0.0]


def test_trainer_step_drives_schedules() -> None:
    spec = Sum([Schedule(Digits(), StepWeight()), Mentions()])
    funcs = reward_funcs(spec)
    call = {"prompts": ["p"], "completions": ["11"], "answer": ["0"]}
    at = [funcs[0](**call, trainer_state=SimpleNamespace(global_step=s))[0] for s in (0, 4)]
    assert at == [1.0, 5.0]


def test_group_size_groups_by_position() -> None:
    seen: list[Any] = []

    class Spy(ItemReward):
        name = "test.spy"

        def score_one(self, sample: Sample) -> float:
            seen.append(sample.group)
            return 1.0

    reward_funcs(Spy())[0](prompts=["a", "a", "b"], completions=["1", "2", "3"])
    reward_funcs(Spy(), group_size=2)[0](prompts=["a", "a", "a"], completions=["1", "2", "3"])
    assert seen == ["a", "a", "b", 0, 0, 1]


def test_functions_pickle_and_keep_working() -> None:
    funcs = pickle.loads(pickle.dumps(reward_funcs(Sum([Digits(), Mentions()]))))
    assert values(funcs, prompts=["p"], completions=["1"], answer=["1"]) == [[1.0], [1.0]]


# ---------------------------------------------------------------- TRL's own GRPOTrainer


@pytest.fixture(scope="module")
def tokenizer() -> Any:
    return build_tokenizer()


class Recorder:
    """A reward function for TRL that records each call and scores nothing (None)."""

    __name__ = "recorder"

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def __call__(self, prompts: list[Any], completions: list[Any], **kw: Any) -> list[None]:
        step = kw["trainer_state"].global_step
        self.calls.append({"prompts": prompts, "completions": completions, "step": step, **kw})
        return [None] * len(completions)


def train(
    tokenizer: Any,
    tmp_path: Path,
    dataset: list[dict[str, Any]],
    funcs: list[Any],
    weights: list[float],
) -> Any:
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    args = GRPOConfig(
        output_dir=str(tmp_path / "out"),
        use_cpu=True,
        bf16=False,
        per_device_train_batch_size=4,
        num_generations=4,
        max_completion_length=16,
        max_steps=3,
        learning_rate=1e-3,
        report_to="none",
        logging_steps=1,
        save_strategy="no",
        seed=0,
        reward_weights=weights,
        disable_tqdm=True,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer = GRPOTrainer(
            model=build_model(tokenizer),
            processing_class=tokenizer,
            reward_funcs=funcs,
            args=args,
            train_dataset=Dataset.from_list(dataset),
        )
        trainer.train()
    return trainer


def nanmean(xs: Sequence[float | None]) -> float:
    kept = [x for x in xs if x is not None]
    return sum(kept) / len(kept) if kept else math.nan


def check_logged_rewards(
    trainer: Any, spec: Any, funcs: list[Any], recorder: Recorder, ref_col: str
) -> list[Score]:
    """Score each batch the recorder saw directly and compare with TRL's logged means."""
    logs = [h for h in trainer.state.log_history if "reward" in h]
    assert len(logs) == len(recorder.calls) == 3
    everything: list[Score] = []
    for log, call in zip(logs, recorder.calls, strict=True):
        set_step(spec, call["step"])
        samples = [
            Sample(p, c, r)
            for p, c, r in zip(call["prompts"], call["completions"], call[ref_col], strict=True)
        ]
        scores = spec.score(samples)
        everything += scores
        for f in funcs:
            expected = nanmean([f.part.value(s) for s in scores])
            got = log[f"rewards/{f.__name__}/mean"]
            got = math.nan if got is None else got  # TRL logs a NaN mean as None
            assert got == pytest.approx(expected, abs=1e-6, nan_ok=True), f.__name__
        assert log["reward"] == pytest.approx(nanmean([s.value for s in scores]), abs=1e-5)
        assert log["rewardsmith/unscored"] == pytest.approx(
            sum(s.value is None for s in scores) / len(scores)
        )
    return everything


def test_grpo_trainer_logs_the_spec_parts(tokenizer: Any, tmp_path: Path) -> None:
    spec = Sum(
        [Schedule(Digits(), StepWeight(), label="digits"), Mentions(), Flaky(fail_mod=3)],
        weights=[0.5, 2.0, 1.0],
    )
    funcs = reward_funcs(spec)
    recorder = Recorder()
    dataset = [{"prompt": f"What is {i}+{i}?", "answer": str(2 * i)} for i in range(8)]
    trainer = train(tokenizer, tmp_path, dataset, [*funcs, recorder], [*reward_weights(spec), 0.0])
    assert [c["step"] for c in recorder.calls] == [0, 1, 2]
    assert all(isinstance(c, str) for c in recorder.calls[0]["completions"])
    scores = check_logged_rewards(trainer, spec, funcs, recorder, "answer")
    # The run exercised both paths: scored items and items the spec could not score.
    assert any(s.value is None for s in scores) and any(s.value is not None for s in scores)
    assert {"rewards/digits/mean", "rewards/test_mentions/mean", "rewards/test_flaky/mean"} <= set(
        trainer.state.log_history[0]
    )
    # log_extra reached TRL's completions table: one status per completion of the last batch.
    statuses = list(trainer._logs["extra"]["rewardsmith/status"])
    assert statuses == [str(s.status) for s in scores[-len(statuses) :]]


def test_grpo_trainer_conversational_async(tokenizer: Any, tmp_path: Path) -> None:
    spec = Sum([Digits(), Mentions()], weights=[1.0, 0.5])
    funcs = async_reward_funcs(spec)
    from trl.trainer.utils import is_async_callable

    assert all(is_async_callable(f) for f in funcs)  # TRL awaits them on its own loop
    recorder = Recorder()
    dataset = [
        {"prompt": [{"role": "user", "content": f"What is {i}+1?"}], "solution": str(i + 1)}
        for i in range(8)
    ]
    Digits.calls = 0
    trainer = train(tokenizer, tmp_path, dataset, [*funcs, recorder], [*reward_weights(spec), 0.0])
    # Both async parts were gathered concurrently, yet each batch was scored once.
    assert Digits.calls == sum(len(c["completions"]) for c in recorder.calls) > 0
    first = recorder.calls[0]["completions"][0]
    assert isinstance(first, list) and first[0]["role"] == "assistant"
    check_logged_rewards(trainer, spec, funcs, recorder, "solution")
