"""The verl adapter, loaded and called by verl's own code.

verl's real ``ppo_trainer.yaml`` is composed with Hydra and migrated as the trainer does;
``get_custom_reward_fn`` loads the adapter from that config; the reward-loop ``naive``
manager, ``RewardLoopWorker.compute_score_batch`` (the trainer's path), the legacy
``batch`` manager and, under Ray, ``RewardLoopManager.compute_rm_score`` run on a
``DataProto`` tokenized with a tokenizer folder built here. Every score they place must
equal what scoring the same text directly gives, with the same keys for every item.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

import rewardsmith.integrations.verl as adapter
from helpers_tiny_lm import save_tiny_lm
from rewardsmith import Sample, load_spec
from rewardsmith.errors import ConfigError, InputError
from rewardsmith.integrations.verl import (
    compute_score,
    compute_score_async,
    compute_score_batch,
    result_keys,
)

pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::FutureWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning"),
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
]

ARITH_SPEC = """
name: arith
reward:
  sum:
    - {use: math.answer, name: correct}
    - {use: format.think_answer, name: format, weight: 0.5}
"""

# (data source, response, ground truth): correct, wrong, malformed, and an unscorable
# reference (math.answer cannot use an empty reference: value None, status error).
ROWS = [
    ("arith", "<think>2+2</think><answer>4</answer>", "4"),
    ("arith", "<answer>5</answer>", "4"),
    ("gsm8k", "<think>3+4</think><answer>7</answer>", "7"),
    ("gsm8k", "<think>3+4</think><answer>8</answer>", "7"),
    ("arith", "<think>1+1</think><answer>2</answer>", ""),
    ("gsm8k", "<think>1+1</think><answer>2</answer>", ""),
    ("gsm8k", "1+1", "2"),
]


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("verl")
    spec_path = root / "arith.yaml"
    spec_path.write_text(ARITH_SPEC)
    tok_dir = save_tiny_lm(root / "tok")
    from transformers import AutoTokenizer

    specs = {"arith": str(spec_path), "default": "math-r1"}
    return {
        "root": root,
        "specs": specs,
        "tok_dir": tok_dir,
        "tokenizer": AutoTokenizer.from_pretrained(tok_dir),
        "expected": [direct(specs, *row) for row in ROWS],
    }


def direct(specs: dict[str, str], data_source: str, response: str, truth: str) -> float | None:
    spec = load_spec(specs.get(data_source, specs["default"]))
    return spec.score([Sample(completion=response, reference=truth)])[0].value


def verl_config(setup: dict[str, Any], name: str, path: str | None = None) -> Any:
    """verl's ppo_trainer.yaml composed with Hydra, pointed at the adapter, migrated."""
    import verl
    from hydra import compose, initialize_config_dir
    from verl.experimental.reward_loop.reward_loop import migrate_legacy_reward_impl

    specs = "{" + ", ".join(f"{k}: '{v}'" for k, v in setup["specs"].items()) + "}"
    with initialize_config_dir(
        str(Path(verl.__file__).parent / "trainer/config"), version_base=None
    ):
        cfg = compose(
            "ppo_trainer",
            overrides=[
                f"reward.custom_reward_function.path={path or adapter.__file__}",
                f"reward.custom_reward_function.name={name}",
                f"+reward.custom_reward_function.reward_kwargs.specs={specs}",
                "+reward.custom_reward_function.reward_kwargs.on_error=-1.0",
                f"actor_rollout_ref.model.path={setup['tok_dir']}",
                "reward.num_workers=1",
            ],
        )
    return migrate_legacy_reward_impl(cfg)


def data_proto(tokenizer: Any) -> Any:
    """A batch as verl's rollout leaves it: left-padded prompts, right-padded responses."""
    import numpy as np
    import torch
    from verl import DataProto

    prompts = [tokenizer(f"What is {i}+{i}?").input_ids for i in range(len(ROWS))]
    responses = [[*tokenizer(r).input_ids, tokenizer.eos_token_id] for _, r, _ in ROWS]
    p_len, r_len = max(map(len, prompts)), max(map(len, responses)) + 2
    pad = tokenizer.pad_token_id

    def padded(ids: list[int], n: int, left: bool) -> list[int]:
        return [pad] * (n - len(ids)) + ids if left else ids + [pad] * (n - len(ids))

    prompt_t = torch.tensor([padded(p, p_len, True) for p in prompts])
    resp_t = torch.tensor([padded(r, r_len, False) for r in responses])
    input_ids = torch.cat([prompt_t, resp_t], dim=1)
    return DataProto.from_dict(
        tensors={
            "prompts": prompt_t,
            "responses": resp_t,
            "input_ids": input_ids,
            "attention_mask": (input_ids != pad).long(),
        },
        non_tensors={
            "data_source": np.array([ds for ds, _, _ in ROWS], dtype=object),
            "reward_model": np.array([{"ground_truth": gt} for _, _, gt in ROWS], dtype=object),
            "extra_info": np.array([{"index": i} for i in range(len(ROWS))], dtype=object),
        },
    )


def expected_scores(setup: dict[str, Any]) -> list[float]:
    return [-1.0 if v is None else v for v in setup["expected"]]


def last_token_scores(dp: Any, tensor: Any) -> list[float]:
    """The reward verl placed on each row's last valid response token (0 elsewhere)."""
    r_len = dp.batch["responses"].shape[1]
    lengths = dp.batch["attention_mask"][:, -r_len:].sum(dim=1)
    out = []
    for i, n in enumerate(lengths.tolist()):
        assert tensor[i, : n - 1].abs().sum() == 0 and tensor[i, n:].abs().sum() == 0
        out.append(float(tensor[i, n - 1]))
    return out


# ---------------------------------------------------------------- the adapter alone


def test_keys_are_the_same_for_every_item_and_data_source(setup: dict[str, Any]) -> None:
    keys = result_keys(specs=setup["specs"])
    parts = ["correct", "format", "format.think_answer", "math.answer"]
    assert keys == ["score", "scored", *parts, *(f"computed/{p}" for p in parts)]
    results = [compute_score(*row, specs=setup["specs"]) for row in ROWS]
    assert all(list(r) == keys for r in results)


def test_unscored_item_gets_on_error_and_scored_zero(setup: dict[str, Any]) -> None:
    r = compute_score("arith", "<answer>2</answer>", "", specs=setup["specs"], on_error=-2.0)
    assert r["score"] == -2.0 and r["scored"] == 0.0
    ok = compute_score("arith", "<think>a</think><answer>2</answer>", "2", specs=setup["specs"])
    assert ok["score"] == 1.5 and ok["scored"] == 1.0 and ok["correct"] == 1.0


def test_explicit_parts_pass_leaf_parts_with_fixed_keys() -> None:
    call = {"spec": "qa-f1", "parts": ["precision", "recall"]}
    partial = compute_score("hotpot", "<answer>paris france</answer>", "Paris", **call)
    assert partial == {
        "score": 2 / 3,
        "scored": 1.0,
        "precision": 0.5,
        "recall": 1.0,
        "computed/precision": 1.0,
        "computed/recall": 1.0,
    }
    unscored = compute_score("hotpot", "<answer>paris</answer>", None, **call, missing=-9.0)
    assert list(unscored) == list(partial) and unscored["scored"] == 0.0
    assert unscored["precision"] == -9.0 and unscored["computed/precision"] == 0.0
    only = compute_score("hotpot", "x", "y", spec="qa-f1", parts=[])
    assert only == {"score": 0.0, "scored": 1.0}


def test_spec_choice_kwargs_env_default(
    setup: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong_format = ("arith", "<answer>4</answer>", "4")
    assert compute_score(*wrong_format, specs=setup["specs"])["score"] == 1.0  # arith: sum
    assert compute_score(*wrong_format)["score"] == 0.0  # default: math-r1's format gate
    monkeypatch.setenv(adapter.ENV_SPEC, json.dumps({"arith": setup["specs"]["arith"]}))
    assert compute_score(*wrong_format)["score"] == 1.0
    with pytest.raises(ConfigError, match="gsm8k"):
        compute_score("gsm8k", "x", "1")
    monkeypatch.setenv(adapter.ENV_SPEC, setup["specs"]["arith"])
    assert compute_score("gsm8k", "<answer>1</answer>", "1")["score"] == 1.0
    monkeypatch.setenv(adapter.ENV_ON_ERROR, "-5")
    assert compute_score("gsm8k", "<answer>1</answer>", "")["score"] == -5.0
    monkeypatch.setenv(adapter.ENV_SPEC, "{not json")
    with pytest.raises(ConfigError, match=adapter.ENV_SPEC):
        compute_score("gsm8k", "x", "1")


def test_async_and_batch_forms_agree_with_single(setup: dict[str, Any]) -> None:
    single = [compute_score(*row, specs=setup["specs"]) for row in ROWS]

    async def run() -> list[dict[str, float]]:
        return list(
            await asyncio.gather(*(compute_score_async(*r, specs=setup["specs"]) for r in ROWS))
        )

    assert asyncio.run(run()) == single
    columns = [list(c) for c in zip(*ROWS, strict=True)]
    assert compute_score_batch(*columns, specs=setup["specs"]) == single


def test_a_batch_whose_columns_differ_in_length_is_refused(setup: dict[str, Any]) -> None:
    sources, solutions, truths = ([r[i] for r in ROWS] for i in range(3))
    with pytest.raises(InputError, match="one of each per rollout"):
        compute_score_batch(sources[:-1], solutions, truths, specs=setup["specs"])


def test_extra_info_is_not_changed_and_feeds_the_sample(setup: dict[str, Any]) -> None:
    extra = {"question": "What is 2+2?", "index": 3}
    compute_score("arith", "<answer>4</answer>", "4", extra, specs=setup["specs"])
    assert extra == {"question": "What is 2+2?", "index": 3}
    sample = adapter._sample("arith", "c", "4", extra)
    assert sample.prompt == "What is 2+2?" and sample.meta["index"] == 3
    assert sample.meta["data_source"] == "arith"


# ---------------------------------------------------------------- through verl's code


def test_get_custom_reward_fn_loads_the_adapter_with_reward_kwargs(setup: dict[str, Any]) -> None:
    from verl.trainer.ppo.reward import get_custom_reward_fn

    for path in (None, "pkg://rewardsmith.integrations.verl"):
        fn = get_custom_reward_fn(verl_config(setup, "compute_score", path))
        got = [fn(data_source=d, solution_str=s, ground_truth=g, extra_info={}) for d, s, g in ROWS]
        assert [r["score"] for r in got] == expected_scores(setup)
        assert [r["scored"] for r in got] == [float(v is not None) for v in setup["expected"]]


@pytest.fixture
def own_loop() -> Any:
    """The event loop verl's reward loop takes as current, closed after the test: verl
    never closes the loops it makes, and their sockets surface as ResourceWarnings in
    whichever later test the garbage collector happens to run in."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    yield loop
    loop.close()
    asyncio.set_event_loop(None)


@pytest.mark.parametrize("name", ["compute_score", "compute_score_async"])
@pytest.mark.usefixtures("own_loop")
def test_naive_reward_loop_manager(setup: dict[str, Any], name: str) -> None:
    from verl.trainer.ppo.reward import load_reward_manager

    cfg = verl_config(setup, name)
    manager = load_reward_manager(cfg, setup["tokenizer"])
    assert type(manager).__name__ == "NaiveRewardManager"
    assert manager.is_async_reward_score == (name == "compute_score_async")
    dp = data_proto(setup["tokenizer"])
    outs = [
        manager.loop.run_until_complete(manager.run_single(dp[i : i + 1])) for i in range(len(dp))
    ]
    assert [o["reward_score"] for o in outs] == expected_scores(setup)
    keys = result_keys(specs=setup["specs"])
    assert all(list(o["reward_extra_info"]) == keys for o in outs)


@pytest.mark.usefixtures("own_loop")
def test_reward_loop_worker_compute_score_batch(setup: dict[str, Any]) -> None:
    from verl.experimental.reward_loop.reward_loop import RewardLoopWorker

    worker = RewardLoopWorker(verl_config(setup, "compute_score_async"))
    dp = data_proto(setup["tokenizer"])
    outs = worker.loop.run_until_complete(worker.compute_score_batch(dp))
    assert [o["reward_score"] for o in outs] == expected_scores(setup)
    scores = worker.reward_manager.assemble_rm_scores(dp, [o["reward_score"] for o in outs])
    assert last_token_scores(dp, scores) == expected_scores(setup)


def test_legacy_batch_reward_manager(setup: dict[str, Any]) -> None:
    from verl.trainer.ppo.reward import get_custom_reward_fn
    from verl.workers.reward_manager import BatchRewardManager

    fn = get_custom_reward_fn(verl_config(setup, "compute_score_batch"))
    manager = BatchRewardManager(setup["tokenizer"], num_examine=0, compute_score=fn)
    dp = data_proto(setup["tokenizer"])
    out = manager(dp, return_dict=True)
    assert last_token_scores(dp, out["reward_tensor"]) == expected_scores(setup)
    info = out["reward_extra_info"]
    assert list(info) == result_keys(specs=setup["specs"])
    assert all(len(v) == len(ROWS) for v in info.values())


@pytest.mark.slow
def test_reward_loop_manager_under_ray(setup: dict[str, Any]) -> None:
    """The trainer's own reward path: Ray workers, rm_scores and the extra-info columns."""
    import ray
    from verl.experimental.reward_loop.reward_loop import RewardLoopManager

    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False, _temp_dir=str(setup["root"] / "ray"))
    try:
        manager = RewardLoopManager(verl_config(setup, "compute_score"))
        dp = data_proto(setup["tokenizer"])
        out = manager.compute_rm_score(dp)
    finally:
        if started:
            ray.shutdown()
    assert last_token_scores(dp, out.batch["rm_scores"]) == expected_scores(setup)
    assert out.meta_info["reward_extra_keys"] == result_keys(specs=setup["specs"])
    assert out.non_tensor_batch["scored"].tolist() == [
        float(v is not None) for v in setup["expected"]
    ]


@pytest.mark.usefixtures("own_loop")
def test_verl_loads_the_step_carrying_manager_by_its_file(setup: dict[str, Any]) -> None:
    from verl.trainer.ppo.reward import load_reward_manager

    import rewardsmith.integrations.verl_manager as step_manager

    cfg = verl_config(setup, "compute_score")
    cfg.reward.reward_manager.source = "importlib"
    cfg.reward.reward_manager.name = "RewardsmithRewardManager"
    cfg.reward.reward_manager.module.path = step_manager.__file__
    manager = load_reward_manager(cfg, setup["tokenizer"])
    assert type(manager).__name__ == "RewardsmithRewardManager"
    dp = data_proto(setup["tokenizer"])
    dp.meta_info["global_steps"] = 3
    outs = [
        manager.loop.run_until_complete(manager.run_single(dp[i : i + 1])) for i in range(len(dp))
    ]
    assert [o["reward_score"] for o in outs] == expected_scores(setup)
    assert all(row["global_step"] == 3 for row in dp.non_tensor_batch["extra_info"])
