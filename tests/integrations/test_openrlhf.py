"""OpenRLHF: its own client code (``SingleTurnAgentExecutor``) against the server and the file form."""

from __future__ import annotations

import asyncio
from pathlib import Path

import openrlhf.utils.agent as agent  # pip install --no-deps openrlhf==0.11.2 (Makefile)
import pytest

import rewardsmith.integrations.openrlhf as rs_openrlhf
from helpers_serve import running
from rewardsmith import Sample, Score, Status, load_spec
from rewardsmith.core.tree import part_names
from rewardsmith.integrations.openrlhf import (
    split_response,
    to_reply,
    to_samples,
)
from rewardsmith.serve import create_app

QWEN_PROMPT = "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n"
GOOD = "<think>2 + 2 = 4</think><answer>4</answer>"

SPLITS = [
    ("qwen", QWEN_PROMPT + GOOD + "<|im_end|>", QWEN_PROMPT, GOOD),
    ("qwen-padded", QWEN_PROMPT + GOOD + "<|im_end|><|endoftext|><|endoftext|>", QWEN_PROMPT, GOOD),
    (
        "llama3",
        "<|start_header_id|>user<|end_header_id|>\n\nQ<|eot_id|>A: 4<|eot_id|>",
        "<|start_header_id|>user<|end_header_id|>\n\nQ<|eot_id|>",
        "A: 4",
    ),
    ("mistral", "[INST] Q [/INST] 4</s>", "[INST] Q [/INST]", " 4"),
    ("bos-added", "<s>[INST] Q [/INST] 4</s>", "[INST] Q [/INST]", " 4"),
    (
        "prompt-missing",
        "<|begin_of_text|>the answer is 4<|eot_id|>",
        "a prompt that changed",
        "the answer is 4",
    ),
    ("marker-inside-kept", "Q: a<|im_end|>b<|im_end|>", "Q: ", "a<|im_end|>b"),
    ("trailing-space", "Q: 4 </s> \n", "Q: ", "4"),
]


@pytest.mark.parametrize(
    ("query", "prompt", "response"), [s[1:] for s in SPLITS], ids=[s[0] for s in SPLITS]
)
def test_split_response(query: str, prompt: str, response: str) -> None:
    assert split_response(query, prompt) == response


def test_custom_end_tokens() -> None:
    assert split_response("Q: 4<END>", "Q: ", end_tokens=["<END>"]) == "4"
    assert split_response("Q: 4<|im_end|>", "Q: ", end_tokens=[]) == "4<|im_end|>"


def test_to_samples_checks_lengths_and_keeps_labels() -> None:
    samples = to_samples(["Q: 4"], ["Q: "], [{"answer": "4"}])
    assert samples == [Sample(prompt="Q: ", completion="4", reference={"answer": "4"}, group="Q: ")]
    assert to_samples(["Q: 4"], ["Q: "], None)[0].reference is None
    with pytest.raises(ValueError, match="same length"):
        to_samples(["a", "b"], ["a"], ["1", "2"])


def test_reply_has_a_number_for_every_item_and_the_same_keys_for_all() -> None:
    reward = load_spec("math-r1")
    names = part_names(reward)
    scores = [
        Score(1.0, parts={"format.think_answer": 1.0, "math.answer": 1.0}),
        Score(0.0, parts={"format.think_answer": 0.0}),  # the gate's otherwise branch
        Score(None, Status.ERROR, {"format.think_answer": 1.0}),
        Score(None, Status.SKIPPED),
    ]
    reply = to_reply(scores, on_error=-1.0, parts=names)
    assert reply["rewards"] == [1.0, 0.0, -1.0, -1.0] == reply["scores"]
    assert reply["extra_logs"] == {
        "rewardsmith/scored": [1.0, 1.0, 0.0, 0.0],
        "rewardsmith/skipped": [0.0, 0.0, 0.0, 1.0],
        "rewardsmith/format.think_answer": [1.0, 0.0, 1.0, 0.0],
        "rewardsmith/math.answer": [1.0, 0.0, 0.0, 0.0],
        # a part the item did not compute is 0.0 above and 0.0 here: the means divide
        "rewardsmith/computed/format.think_answer": [1.0, 1.0, 1.0, 0.0],
        "rewardsmith/computed/math.answer": [1.0, 0.0, 0.0, 0.0],
    }
    # the keys are known from the tree before any item is seen (OpenRLHF batches by the
    # first experience's keys, so a later item must never lack one)
    assert names == ["format.think_answer", "math.answer"]
    first = to_reply([scores[1]], parts=names)
    assert first["extra_logs"].keys() == reply["extra_logs"].keys()


QUERIES = [
    QWEN_PROMPT + GOOD + "<|im_end|>",
    QWEN_PROMPT + "<think>hmm</think><answer>5</answer><|im_end|>",
    QWEN_PROMPT + "4<|im_end|>",  # no format: the gate gives 0
    QWEN_PROMPT + GOOD + "<|im_end|>",  # no label: cannot be scored
]
PROMPTS = [QWEN_PROMPT] * 4
LABELS = ["4", "4", "4", None]


def test_openrlhf_http_client_against_a_real_server() -> None:
    with running(create_app("math-r1", on_error=-0.5)) as url:
        executor = agent.SingleTurnAgentExecutor(remote_rm_url=url + "/get_reward")
        replies = asyncio.run(executor._fetch_rewards_via_http(QUERIES, PROMPTS, LABELS))
    assert len(replies) == 1  # one server: one request with the whole batch
    assert replies[0]["rewards"] == [1.0, 0.0, 0.0, -0.5]
    assert replies[0]["scores"] == [1.0, 0.0, 0.0, -0.5]
    logs = replies[0]["extra_logs"]
    assert logs["rewardsmith/scored"] == [1.0, 1.0, 1.0, 0.0]
    assert logs["rewardsmith/format.think_answer"] == [1.0, 1.0, 0.0, 1.0]


def test_openrlhf_splits_a_batch_across_several_servers() -> None:
    with running(create_app("math-r1")) as a, running(create_app("math-r1")) as b:
        executor = agent.SingleTurnAgentExecutor(
            remote_rm_url=[a + "/get_reward", b + "/get_reward"]
        )
        replies = asyncio.run(executor._fetch_rewards_via_http(QUERIES, PROMPTS, LABELS))
    assert [r["rewards"] for r in replies] == [[1.0, 0.0], [0.0, 0.0]]
    assert replies[0]["extra_logs"].keys() == replies[1]["extra_logs"].keys()


def test_openrlhf_one_query_per_request_as_during_rollout() -> None:
    with running(create_app("math-r1")) as url:
        executor = agent.SingleTurnAgentExecutor(remote_rm_url=url + "/get_reward")

        async def rollout() -> list[dict[str, object]]:
            calls = [
                executor._fetch_rewards_via_http([q], [p], [lb])
                for q, p, lb in zip(QUERIES, PROMPTS, LABELS, strict=True)
            ]
            return [r[0] for r in await asyncio.gather(*calls)]

        replies = asyncio.run(rollout())
    assert [r["rewards"] for r in replies] == [[1.0], [0.0], [0.0], [0.0]]
    assert len({tuple(r["extra_logs"]) for r in replies}) == 1  # same keys for every item


def test_openrlhf_file_form(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REWARDSMITH_SPEC", "math-r1")
    monkeypatch.setenv("REWARDSMITH_ON_ERROR", "-1")
    path = Path(rs_openrlhf.__file__)
    executor = agent.SingleTurnAgentExecutor(remote_rm_url=str(path))
    assert executor.reward_func is not None  # OpenRLHF loaded our file
    replies = asyncio.run(executor._fetch_rewards_via_func(QUERIES, PROMPTS, LABELS))
    assert [r["rewards"] for r in replies] == [[1.0], [0.0], [0.0], [-1.0]]
    assert len({tuple(r["extra_logs"]) for r in replies}) == 1


def test_openrlhf_rollout_burst_with_default_limits_gets_every_reward() -> None:
    """200 single-query requests at once (a rollout wave): none may end as a failure."""
    n = 200
    with running(create_app("math-r1")) as url:
        executor = agent.SingleTurnAgentExecutor(remote_rm_url=url + "/get_reward")

        async def burst() -> list[list[float]]:
            calls = [
                executor._fetch_rewards_via_http([QUERIES[i % 4]], [QWEN_PROMPT], [LABELS[i % 4]])
                for i in range(n)
            ]
            return [r[0]["rewards"] for r in await asyncio.gather(*calls)]

        rewards = asyncio.run(asyncio.wait_for(burst(), 120))
    expected = [[1.0], [0.0], [0.0], [0.0]]  # QUERIES' rewards; the last one has no label
    assert rewards == [expected[i % 4] for i in range(n)]
