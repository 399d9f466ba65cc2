"""Judges over the wire: the OpenAI-compatible client against a mock transport (what a
vLLM server sends) and against a real ``transformers serve`` on loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest

from helpers_transformers_serve import tiny_lm_server
from rewardsmith.core import Sample, Status
from rewardsmith.judges.pairwise import JudgePairwise, JudgePairwiseParams
from rewardsmith.judges.reference import JudgeReference, JudgeReferenceParams
from rewardsmith.models.openai import OpenAIBackend

URL = "http://judge.test/v1"
Q = "What is the sum of 2 and 3? Answer briefly."


def served(handler: Any) -> OpenAIBackend:
    return OpenAIBackend(URL, "judge", transport=httpx2.MockTransport(handler), backoff_s=0.01)


def reply(*texts: str) -> httpx2.Response:
    choices = [
        {"index": i, "message": {"role": "assistant", "content": t}} for i, t in enumerate(texts)
    ]
    return httpx2.Response(200, json={"model": "judge", "choices": choices})


def test_a_served_judge_gets_the_papers_prompt_and_sampling_and_votes() -> None:
    seen: list[dict[str, Any]] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        body = json.loads(request.content)
        seen.append(body)
        return reply(*(["YES", "NO", "YES"][: body.get("n", 1)]))

    params = JudgeReferenceParams(model=URL, samples=3, temperature=0.7, seed=11)
    judge = JudgeReference(params, backend=served(handler))
    (score,) = judge.score([Sample(prompt=Q, completion="It is 5.", reference="5")])
    assert score.value == pytest.approx(2 / 3) and score.info["calls"] == 1
    (body,) = seen
    assert body["model"] == "judge" and body["n"] == 3 and body["temperature"] == 0.7
    assert body["seed"] == 11 and body["messages"][-1]["role"] == "user"
    assert body["messages"][0] == {"role": "system", "content": "You are a helpful assistant."}
    assert "**Reference Answer:**  \n5  \n" in body["messages"][-1]["content"]


def test_server_errors_are_retried_by_the_client_then_a_status() -> None:
    attempts = {"n": 0}

    def handler(request: httpx2.Request) -> httpx2.Response:
        attempts["n"] += 1
        return httpx2.Response(503, json={"error": "overloaded"})

    backend = OpenAIBackend(
        URL, "judge", transport=httpx2.MockTransport(handler), backoff_s=0.01, retries=2
    )
    judge = JudgePairwise(JudgePairwiseParams(model=URL), backend=backend)
    (score,) = judge.score([Sample(prompt=Q, completion="It is 5.", reference="5")])
    assert (
        score.status is Status.ERROR and score.value is None and attempts["n"] == 6
    )  # 2 orders x 3


@pytest.fixture(scope="module")
def tiny_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with tiny_lm_server(tmp_path_factory) as url:
        yield url


@pytest.mark.slow
def test_a_real_server_round_trip_never_turns_babble_into_a_number(tiny_server: str) -> None:
    """An untrained tiny model cannot follow the judge format: every item must come back
    as a parse error with the raw outputs, after the retries, never as a value."""
    params = JudgeReferenceParams(
        model=tiny_server + "/v1", max_new_tokens=8, parse_retries=1, timeout_s=60
    )
    judge = JudgeReference(params)
    scores = judge.score(
        [
            Sample(prompt=Q, completion="It is 5.", reference="5"),
            Sample(prompt=Q, completion=":", reference="5"),
        ]
    )
    babble, key = scores
    if babble.status is Status.OK:  # the tiny model happened to say YES or NO: a real verdict
        assert babble.value in (0.0, 1.0)
    else:
        assert babble.status is Status.ERROR and babble.value is None
        assert babble.error.type == "ParseError" and len(babble.info["raw"]) == 2
    assert babble.info["calls"] >= 1
    assert key.value == 0.0 and key.info["pregate"] and key.info["calls"] == 0


def test_the_parse_failure_rate_per_judge_reaches_metrics_and_the_summary() -> None:
    from helpers_judges import Scripted, always
    from helpers_serve import running
    from rewardsmith.rollouts.summary import Summary
    from rewardsmith.serve import create_app

    judge = JudgeReference(
        JudgeReferenceParams(model="scripted", parse_retries=0),
        backend=Scripted(always("I think it is right", "YES")),
    )
    samples = [Sample(prompt=Q, completion=f"It is {k}.", reference="5") for k in range(4)]
    summary = Summary()
    summary.update(judge.score(samples))
    assert summary.as_dict()["errors"] == {"ParseError (master_rm@2)": 2}
    body = {
        "samples": [{"prompt": Q, "completion": f"It is {k}!", "reference": "5"} for k in range(4)]
    }
    with running(create_app(judge)) as url:
        assert httpx2.post(url + "/score", json=body).status_code == 200
        text = httpx2.get(url + "/metrics").text
    line = 'rewardsmith_item_errors_total{endpoint="score",type="ParseError (master_rm@2)"} 2.0'
    assert line in text


def test_tokens_in_and_out_come_from_the_servers_usage_and_sum_over_retries() -> None:
    replies = iter(["Let me think.", "YES"])

    def handler(request: httpx2.Request) -> httpx2.Response:
        choices = [{"index": 0, "message": {"role": "assistant", "content": next(replies)}}]
        usage = {"prompt_tokens": 120, "completion_tokens": 3, "total_tokens": 123}
        return httpx2.Response(200, json={"model": "judge", "choices": choices, "usage": usage})

    judge = JudgeReference(JudgeReferenceParams(model=URL), backend=served(handler))
    (score,) = judge.score([Sample(prompt=Q, completion="It is 5.", reference="5")])
    assert score.value == 1.0 and score.info["calls"] == 2
    assert (score.info["tokens_in"], score.info["tokens_out"]) == (240, 6)
    (again,) = judge.score([Sample(prompt=Q, completion="It is 5.", reference="5")])
    assert again == score  # from the cache: the same score, counts included


def test_a_server_without_usage_reports_no_token_counts() -> None:
    judge = JudgeReference(JudgeReferenceParams(model=URL), backend=served(lambda r: reply("NO")))
    (score,) = judge.score([Sample(prompt=Q, completion="It is 4.", reference="5")])
    assert score.value == 0.0 and "tokens_in" not in score.info
