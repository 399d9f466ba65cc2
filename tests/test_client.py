"""``Client`` and ``AsyncClient``: retry logic on a mock transport, wire behaviour on a real server."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

import httpx
import orjson
import pytest

import rewardsmith
from helpers_serve import GOOD, Slow, running
from rewardsmith import Sample, Tokens
from rewardsmith.client import AsyncClient, Client, ServerError
from rewardsmith.serve import create_app

OK_REPLY = {
    "scores": [{"value": 1.0, "status": "ok", "parts": {"a": 1.0}, "info": {}, "error": None}]
}


def scripted(
    *steps: object,
) -> tuple[list[httpx.Request], Callable[[httpx.Request], httpx.Response]]:
    """A handler answering each call with the next step: a Response, or an exception to raise."""
    seen: list[httpx.Request] = []
    queue = list(steps)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        step = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(step, Exception):
            raise step
        assert isinstance(step, httpx.Response)
        return step

    return seen, handler


def ok() -> httpx.Response:
    return httpx.Response(200, content=orjson.dumps(OK_REPLY))


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    waited: list[float] = []
    monkeypatch.setattr("rewardsmith.client.time.sleep", waited.append)
    return waited


RETRIED = [
    ("503-retry-after", httpx.Response(503, headers={"retry-after": "3"}), [3.0]),
    ("502", httpx.Response(502), None),
    ("500", httpx.Response(500, json={"error": "boom"}), None),
    ("connect-refused", httpx.ConnectError("refused"), None),
    ("dropped", httpx.RemoteProtocolError("server disconnected"), None),
    ("read-timeout", httpx.ReadTimeout("slow"), None),
]


@pytest.mark.parametrize(
    ("failure", "waits"), [r[1:] for r in RETRIED], ids=[r[0] for r in RETRIED]
)
def test_transient_failures_are_retried(
    sleeps: list[float], failure: object, waits: list[float] | None
) -> None:
    seen, handler = scripted(failure, failure, ok())
    with Client("http://rm", transport=httpx.MockTransport(handler), backoff_s=0.1) as c:
        scores = c.score([Sample(completion="x")])
    assert scores[0].value == 1.0 and scores[0].parts == {"a": 1.0}
    assert len(seen) == 3
    if waits is not None:
        assert sleeps == waits * 2
    else:  # exponential backoff with jitter: 0.1 then 0.2, each scaled by 0.5..1
        assert 0.05 <= sleeps[0] <= 0.1 and 0.1 <= sleeps[1] <= 0.2


def test_retry_after_is_capped_and_a_date_falls_back_to_backoff(sleeps: list[float]) -> None:
    _, handler = scripted(
        httpx.Response(503, headers={"retry-after": "600"}),
        httpx.Response(503, headers={"retry-after": "Wed, 21 Oct 2026 07:28:00 GMT"}),
        ok(),
    )
    with Client("http://rm", transport=httpx.MockTransport(handler), max_backoff_s=2.0) as c:
        c.health()
    assert sleeps[0] == 2.0 and sleeps[1] <= 0.5


def test_a_4xx_is_not_retried_and_carries_the_servers_message(sleeps: list[float]) -> None:
    reply = {
        "error": "invalid request, 1 problem: x",
        "problems": ["samples.0.completion: Field required"],
    }
    seen, handler = scripted(httpx.Response(422, json=reply))
    with (
        Client("http://rm", transport=httpx.MockTransport(handler)) as c,
        pytest.raises(ServerError) as err,
    ):
        c.score([{"prompt": "no completion"}])
    assert len(seen) == 1 and sleeps == []
    assert err.value.status == 422 and err.value.problems == reply["problems"]
    assert "HTTP 422: invalid request" in str(err.value)


def test_retries_run_out(sleeps: list[float]) -> None:
    seen, handler = scripted(httpx.Response(503, headers={"retry-after": "0"}))
    mock = httpx.MockTransport(handler)
    with Client("http://rm", transport=mock, retries=3) as c, pytest.raises(ServerError) as err:
        c.health()
    assert err.value.status == 503 and len(seen) == 4
    seen, handler = scripted(httpx.ConnectError("refused"))
    mock = httpx.MockTransport(handler)
    with Client("http://rm", transport=mock, retries=2) as c, pytest.raises(httpx.ConnectError):
        c.health()
    assert len(seen) == 3


def test_token_and_sample_encoding() -> None:
    seen, handler = scripted(ok())
    sample = Sample(
        prompt=[{"role": "user", "content": "2+2?"}],
        completion="4",
        reference={"answer": "4"},
        group=3,
        meta={"data_source": "toy"},
        tokens=Tokens(ids=[1, 2], logprobs=[-0.1, -0.2]),
    )
    with Client("http://rm/", token="t0k", transport=httpx.MockTransport(handler)) as c:
        c.score([sample, {"completion": "raw mapping"}], step=5)
    request = seen[0]
    assert str(request.url) == "http://rm/score"
    assert request.headers["authorization"] == "Bearer t0k"
    assert orjson.loads(request.content) == {
        "samples": [
            {
                "prompt": [{"role": "user", "content": "2+2?"}],
                "completion": "4",
                "reference": {"answer": "4"},
                "group": 3,
                "meta": {"data_source": "toy"},
                "tokens": {"ids": [1, 2], "logprobs": [-0.1, -0.2], "entropies": None},
            },
            {"completion": "raw mapping"},
        ],
        "step": 5,
    }


def test_async_client_retries_too(monkeypatch: pytest.MonkeyPatch) -> None:
    waited: list[float] = []

    async def fake_sleep(s: float) -> None:
        waited.append(s)

    monkeypatch.setattr("rewardsmith.client.asyncio.sleep", fake_sleep)
    seen, handler = scripted(
        httpx.ConnectError("refused"), httpx.Response(503, headers={"retry-after": "1"}), ok()
    )

    async def go() -> list[float | None]:
        async with AsyncClient("http://rm", transport=httpx.MockTransport(handler)) as c:
            return [s.value for s in await c.score([Sample(completion="x")])]

    assert asyncio.run(go()) == [1.0]
    assert len(seen) == 3 and waited[1] == 1.0


# --- against a real server ----------------------------------------------------------------


def test_round_trip_on_a_real_server_matches_in_process_scores() -> None:
    samples = [
        Sample(prompt="2+2?", completion=GOOD, reference="4"),
        Sample(prompt="2+2?", completion="four", reference="4"),
        Sample(prompt="2+2?", completion=GOOD),  # no reference: an error item
    ]
    local = rewardsmith.load_spec("math-r1").score(samples)
    with running(create_app("math-r1", token="k")) as url, Client(url, token="k") as c:
        assert c.score(samples) == local
        assert c.health()["spec"] == "math-r1"
        assert "math.answer" in {e["name"] for e in c.rewards()["rewards"]}
        reply = c.get_reward(["Q " + GOOD + "<|im_end|>"], ["Q "], ["4"])
        assert reply["rewards"] == [1.0]

        async def async_side() -> list[float | None]:
            async with AsyncClient(url, token="k") as ac:
                return [s.value for s in await ac.score(samples)]

        assert asyncio.run(async_side()) == [1.0, 0.0, None]
    app = create_app("math-r1", token="k")
    with (
        running(app) as url,
        Client(url, token="wrong") as c,
        pytest.raises(ServerError, match="401"),
    ):
        c.score(samples)


def test_client_rides_out_back_pressure_on_a_real_server() -> None:
    app = create_app(Slow(), max_concurrency=1, max_queue=0, retry_after_s=1)
    with running(app) as url, Client(url) as c:
        results: list[float | None] = []
        t = threading.Thread(
            target=lambda: results.extend(
                s.value for s in c.score([{"completion": "yes", "meta": {"sleep": 0.8}}])
            )
        )
        t.start()
        deadline = time.monotonic() + 20
        while httpx.get(url + "/health").json()["running"] != 1:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        with Client(url, backoff_s=0.05) as second:
            assert [s.value for s in second.score([{"completion": "yes"}])] == [1.0]
        t.join(20)
        assert results == [1.0]
        assert 'code="503"' in httpx.get(url + "/metrics").text
