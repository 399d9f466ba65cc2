"""The training step reaches schedules from every entry point: the CLI, the server, verl."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from helpers_serve import running
from rewardsmith.integrations import verl as adapter
from rewardsmith.serve import create_app

SCHEDULED = """
reward:
  schedule:
    reward: {use: format.think_answer}
    weight: {kind: linear, start: 1.0, end: 0.0, steps: 1000}
"""
GOOD = "<think>a</think><answer>4</answer>"


@pytest.fixture
def spec(tmp_path: Path) -> str:
    path = tmp_path / "scheduled.yaml"
    path.write_text(SCHEDULED)
    return str(path)


def test_score_step_rescores_a_scheduled_spec_offline(spec: str, tmp_path: Path) -> None:
    rollouts = tmp_path / "r.jsonl"
    rollouts.write_text(json.dumps({"prompt": "q", "completion": GOOD}) + "\n")
    script = Path(sys.executable).parent / "rewardsmith"

    def mean(*extra: str) -> float:
        cmd = [str(script), "score", str(rollouts), "--spec", spec, "--json", *extra]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        return float(json.loads(done.stdout)["mean"])

    assert mean() == 1.0
    assert mean("--step", "600") == pytest.approx(0.4)
    assert mean("--step", "600", "--processes", "2") == pytest.approx(0.4)  # it travels
    bad = subprocess.run(
        [str(script), "score", str(rollouts), "--spec", spec, "--step", "-1"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert bad.returncode == 2


def test_the_server_takes_the_step_from_a_header(spec: str) -> None:
    sample = {"prompt": "q", "completion": GOOD}
    rlhf = {"query": ["q" + GOOD], "prompts": ["q"], "labels": [None]}
    with running(create_app(spec)) as url, httpx.Client(base_url=url, timeout=30) as client:
        first = client.post("/score", json={"samples": [sample]}).json()
        assert first["scores"][0]["value"] == 1.0
        header = {"X-Rewardsmith-Step": "600"}
        got = client.post("/get_reward", json=rlhf, headers=header).json()
        assert got["rewards"][0] == pytest.approx(0.4)
        # the body's step wins over the header
        body = client.post("/score", json={"samples": [sample], "step": 900}, headers=header)
        assert body.json()["scores"][0]["value"] == pytest.approx(0.1)
        # a batch naming no step is scored at the last step seen
        later = client.post("/get_reward", json=rlhf).json()
        assert later["rewards"][0] == pytest.approx(0.1)
        for bad in ("-3", "two", "1" * 40):
            r = client.post("/get_reward", json=rlhf, headers={"X-Rewardsmith-Step": bad})
            assert r.status_code == 400 and "X-Rewardsmith-Step" in r.text


def verl_batch(step_meta: int | None, tags: list[Any] | None) -> Any:
    import torch
    from verl import DataProto

    ids = torch.tensor([[5, 6, 7, 8]])
    non_tensors: dict[str, Any] = {
        "data_source": np.array(["s"], dtype=object),
        "reward_model": np.array([{"ground_truth": "4"}], dtype=object),
        "extra_info": np.array([{"index": 0}], dtype=object),
    }
    if tags is not None:
        non_tensors["max_global_steps"] = np.array(tags, dtype=object)
    dp = DataProto.from_dict(
        tensors={
            "prompts": ids[:, :2],
            "responses": ids[:, 2:],
            "input_ids": ids,
            "attention_mask": torch.ones_like(ids),
        },
        non_tensors=non_tensors,
    )
    if step_meta is not None:
        dp.meta_info["global_steps"] = step_meta
    return dp


class _Tokenizer:
    def decode(self, ids: Any, skip_special_tokens: bool = True) -> str:
        return GOOD


@pytest.mark.parametrize(
    ("meta", "tags", "expected"),
    [(600, None, 0.4), (None, [900], 0.1), (None, None, 1.0), (-1, None, 1.0)],
    ids=["meta_info", "rollout-tag", "none", "verl-unset"],
)
def test_verl_manager_puts_the_batch_step_into_extra_info(
    spec: str, meta: int | None, tags: list[Any] | None, expected: float
) -> None:
    from omegaconf import OmegaConf

    with warnings.catch_warnings():  # verl imports ray.experimental, which warns
        warnings.simplefilter("ignore", DeprecationWarning)
        from rewardsmith.integrations import verl_manager

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        cfg = OmegaConf.create({"reward": {}})
        fresh = adapter.resolve_reward.__globals__["_loaded"]
        fresh.pop(spec, None)  # each case starts from a freshly built spec (step 0)

        def compute(**kw: Any) -> dict[str, float]:
            return adapter.compute_score(**kw, spec=spec)

        manager = verl_manager.RewardsmithRewardManager(cfg, _Tokenizer(), compute)
        dp = verl_batch(meta, tags)
        original = dp.non_tensor_batch["extra_info"][0]
        out = loop.run_until_complete(manager.run_single(dp))
        assert out["reward_score"] == pytest.approx(expected)
        assert "global_step" not in original  # the data set's own row is not changed
    finally:
        loop.close()
        asyncio.set_event_loop(None)


def test_verl_adapter_reads_the_rollout_servers_step_tag(spec: str) -> None:
    # what verl's naive manager passes when the agent loop scored the rollout
    got = adapter.compute_score("s", GOOD, "4", {"global_steps": 500}, spec=spec)
    assert got["score"] == pytest.approx(0.5)
    first = adapter.compute_score(
        "s", GOOD, "4", {"global_step": 100, "global_steps": 500}, spec=spec
    )
    assert first["score"] == pytest.approx(0.9)
