"""OpenRLHFBackend: OpenRLHF's remote reward protocol, against httpx2.MockTransport and
against a real ``rewardsmith serve`` app on loopback."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx2
import pytest

from helpers_serve import running
from rewardsmith import Sample, Status
from rewardsmith.models.base import Backend, ModelError, Unsupported
from rewardsmith.models.openrlhf import OpenRLHFBackend

URL = "http://rm.test/get_reward"
GOOD = "<think>2 + 2 = 4</think><answer>4</answer>"


def make(handler: Any, **options: Any) -> OpenRLHFBackend:
    options.setdefault("backoff_s", 0.01)
    return OpenRLHFBackend(URL, transport=httpx2.MockTransport(handler), **options)


def body(request: httpx2.Request) -> dict[str, Any]:
    return json.loads(request.content)


def test_score_samples_sends_openrlhfs_request_shape() -> None:
    seen: list[dict[str, Any]] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(body(request))
        return httpx2.Response(
            200, json={"rewards": [1.0, 0.5], "scores": [1.0, 0.5], "extra_logs": {}}
        )

    backend = make(handler)
    assert isinstance(backend, Backend)
    samples = [Sample("Q1 ", "A1", reference="4"), Sample("Q2 ", "A2", reference={"answer": 5})]
    assert backend.score_samples(samples) == [1.0, 0.5]
    assert seen == [
        {"query": ["Q1 A1", "Q2 A2"], "prompts": ["Q1 ", "Q2 "], "labels": ["4", {"answer": 5}]}
    ]


def test_classify_sends_the_text_alone() -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        assert body(request) == {"query": ["some text"], "prompts": [""], "labels": [None]}
        return httpx2.Response(200, json={"rewards": [0.75]})

    assert make(handler).classify(["some text"]) == [{"score": 0.75}]
    assert asyncio.run(make(handler).aclassify(["some text"])) == [{"score": 0.75}]


def test_a_failed_request_fails_only_its_items() -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        queries = body(request)["query"]
        if "boom" in queries:
            return httpx2.Response(500, text="crashed")
        return httpx2.Response(200, json={"rewards": [float(len(q)) for q in queries]})

    samples = [Sample("", q) for q in ["a", "bb", "boom", "dddd", "eeeee"]]
    out = make(handler, batch_size=2, retries=1).score_samples(samples)
    assert out[:2] == [1.0, 2.0] and out[4] == 5.0
    assert all(isinstance(r, ModelError) and "HTTP 500" in r.message for r in out[2:4])


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b'{"rewards": [1.0]}', "expected a list of 2 numbers"),
        (b'{"scores": [1.0, 2.0]}', "'rewards'"),
        (b"Internal Server Error", "not JSON"),
        (b'{"rewards": "1.0, 2.0"}', "expected a list"),
    ],
    ids=["wrong-length", "no-rewards", "not-json", "string"],
)
def test_a_misshapen_reply_fails_its_items_with_the_reason(content: bytes, needle: str) -> None:
    out = make(lambda r: httpx2.Response(200, content=content)).score_samples(
        [Sample("", "a"), Sample("", "b")]
    )
    assert all(
        isinstance(r, ModelError) and r.type == "BadReply" and needle in r.message for r in out
    )


def test_non_finite_rewards_fail_their_item_only() -> None:
    content = b'{"rewards": [1.0, NaN, Infinity, "0.5", true, 1e999, null, -2]}'
    out = make(lambda r: httpx2.Response(200, content=content)).score_samples([Sample("", "x")] * 8)
    assert out[0] == 1.0 and out[7] == -2.0
    assert all(isinstance(r, ModelError) and r.type == "BadReply" for r in out[1:7])


def test_rewardsmith_stand_ins_for_unscored_items_are_errors() -> None:
    reply = {
        "rewards": [1.0, 0.0, 0.0],
        "extra_logs": {
            "rewardsmith/scored": [1.0, 0.0, 0.0],
            "rewardsmith/skipped": [0.0, 1.0, 0.0],
        },
    }
    out = make(lambda r: httpx2.Response(200, json=reply)).score_samples([Sample("", "x")] * 3)
    assert out[0] == 1.0
    assert isinstance(out[1], ModelError) and out[1].type == "Skipped"
    assert (
        isinstance(out[2], ModelError)
        and out[2].type == "Unscored"
        and "on_error" in out[2].message
    )


def test_retries_then_success_and_a_deadline() -> None:
    answers = iter(
        [
            httpx2.Response(503, headers={"retry-after": "0"}),
            httpx2.Response(200, json={"rewards": [1.0]}),
        ]
    )
    assert make(lambda r: next(answers)).score_samples([Sample("", "x")]) == [1.0]

    async def hang(request: httpx2.Request) -> httpx2.Response:
        await asyncio.sleep(30)
        raise AssertionError("unreachable")

    started = time.monotonic()
    [result] = make(hang, timeout_s=0.3).score_samples([Sample("", "x")])
    assert time.monotonic() - started < 2.0
    assert isinstance(result, ModelError) and result.timeout


def test_what_the_protocol_cannot_do_is_unsupported() -> None:
    backend = make(lambda r: pytest.fail("no request"))
    with pytest.raises(Unsupported, match="log-probs"):
        backend.continuation_logprobs([("a", "b")])
    with pytest.raises(Unsupported, match="generation"):
        backend.generate(["a"])
    with pytest.raises(Unsupported, match="generation"):
        asyncio.run(backend.agenerate(["a"]))
    with pytest.raises(Unsupported, match="chat template"):
        backend.score_samples([Sample([{"role": "user", "content": "2+2?"}], "4")])
    with pytest.raises(Unsupported, match="chat template"):
        backend.classify([[{"role": "user", "content": "2+2?"}]])


def test_a_url_without_the_route_is_unsupported() -> None:
    with pytest.raises(Unsupported, match="HTTP 404"):
        make(lambda r: httpx2.Response(404, json={"detail": "Not Found"})).score_samples(
            [Sample("", "x")]
        )


# --- a real rewardsmith server on loopback ------------------------------------------


def test_scores_from_a_rewardsmith_server_equal_local_scores() -> None:
    pytest.importorskip("fastapi")
    import rewardsmith
    from rewardsmith.serve import create_app

    samples = [
        Sample("What is 2+2? ", GOOD, reference="4"),
        Sample("What is 2+2? ", "<think>hmm</think><answer>5</answer>", reference="4"),
        Sample("Half? ", "<think>1/2</think><answer>\\frac{1}{2}</answer>", reference="0.5"),
        Sample("What is 2+2? ", "no tags at all", reference="4"),
        Sample("What is 2+2? ", GOOD, reference=None),  # nothing to check against
    ]
    local = rewardsmith.load_spec("math-r1").score(samples)
    with running(create_app("math-r1")) as url:
        backend = OpenRLHFBackend(url + "/get_reward", timeout_s=30)
        remote = backend.score_samples(samples)
        one_by_one = [backend.score_samples([s])[0] for s in samples]
    assert remote == one_by_one
    for here, there in zip(local, remote, strict=True):
        if here.value is None:  # the server's stand-in 0.0 comes back as an error
            kind = "Skipped" if here.status is Status.SKIPPED else "Unscored"
            assert isinstance(there, ModelError) and there.type == kind
        else:
            assert there == pytest.approx(here.value)
    assert any(isinstance(r, float) and r > 0 for r in remote)
    assert any(isinstance(r, ModelError) for r in remote)
