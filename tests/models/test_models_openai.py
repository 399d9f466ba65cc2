"""OpenAIBackend: client logic against httpx2.MockTransport (retries, deadlines, shapes,
attacks from a hostile server), wire behaviour against a real ``transformers serve``."""

from __future__ import annotations

import asyncio
import email.utils
import json
import pickle
import re
import time
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx2
import pytest

from helpers_transformers_serve import tiny_lm_server
from rewardsmith.models import http as remote
from rewardsmith.models.base import Backend, ModelError, TokenLogprobs, Unsupported
from rewardsmith.models.openai import OpenAIBackend

URL = "http://model.test/v1"
CHAT = [{"role": "user", "content": "2+2?"}]
Handler = Callable[[httpx2.Request], Any]


def make(handler: Handler, **options: Any) -> OpenAIBackend:
    options.setdefault("backoff_s", 0.01)
    return OpenAIBackend(URL, "m", transport=httpx2.MockTransport(handler), **options)


def body(request: httpx2.Request) -> dict[str, Any]:
    return json.loads(request.content)


def chat_reply(*texts: str) -> dict[str, Any]:
    choices = [
        {"index": i, "message": {"role": "assistant", "content": t}} for i, t in enumerate(texts)
    ]
    return {"model": "m", "choices": choices}


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The retry waits, recorded instead of slept."""
    recorded: list[float] = []

    async def record(delay: float) -> None:
        recorded.append(delay)
        await asyncio.sleep(0)

    monkeypatch.setattr(remote, "_sleep", record)
    return recorded


# --- generate -------------------------------------------------------------------------


def test_generate_sends_chat_and_text_to_their_routes_in_order() -> None:
    seen: list[tuple[str, dict[str, Any]]] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        data = body(request)
        seen.append((request.url.path, data))
        if request.url.path.endswith("/chat/completions"):
            # choices out of order: the backend orders them by index
            return httpx2.Response(200, json={"choices": chat_reply("a", "b")["choices"][::-1]})
        return httpx2.Response(
            200, json={"choices": [{"index": 0, "text": "t1"}, {"index": 1, "text": "t2"}]}
        )

    backend = make(handler)
    assert isinstance(backend, Backend)
    out = backend.generate([CHAT, "2+2?"], n=2, max_new_tokens=7, temperature=0.5, seed=3)
    assert out == [["a", "b"], ["t1", "t2"]]
    by_path = dict(seen)
    assert by_path["/v1/chat/completions"] == {
        "model": "m",
        "messages": CHAT,
        "max_tokens": 7,
        "temperature": 0.5,
        "n": 2,
        "seed": 3,
    }
    assert by_path["/v1/completions"]["prompt"] == "2+2?"


def test_a_server_that_ignores_n_gets_one_request_per_sample() -> None:
    asked: list[tuple[int, int]] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        asked.append((body(request)["seed"], body(request)["n"]))
        return httpx2.Response(200, json=chat_reply(f"s{body(request)['seed']}"))  # one choice

    backend = make(handler)
    assert backend.generate([CHAT], n=3, seed=10) == [["s10", "s11", "s12"]]
    assert sorted(asked) == [(10, 3), (11, 1), (12, 1)]
    asked.clear()
    assert backend.generate([CHAT], n=2, seed=0) == [["s0", "s1"]]
    assert sorted(asked) == [(0, 1), (1, 1)]  # learnt: no wasted n=2 request the second time


def test_sync_methods_work_inside_a_running_event_loop() -> None:
    backend = make(lambda request: httpx2.Response(200, json=chat_reply("x")))

    async def caller() -> list[Any]:
        return backend.generate([CHAT])  # a sync call from async code: a private loop thread

    assert asyncio.run(caller()) == [["x"]]
    assert asyncio.run(backend.agenerate([CHAT])) == [["x"]]


def test_a_backend_pickles_and_works_from_worker_threads() -> None:
    backend = pickle.loads(pickle.dumps(OpenAIBackend(URL, "m", api_key="k", timeout_s=5)))
    assert (backend.base_url, backend.model, backend._http.timeout_s) == (URL, "m", 5.0)
    mocked = make(lambda request: httpx2.Response(200, json=chat_reply("x")))
    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(lambda _: mocked.generate([CHAT]), range(8))) == [[["x"]]] * 8


def test_api_key_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    auth: list[str | None] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        auth.append(request.headers.get("authorization"))
        return httpx2.Response(200, json=chat_reply("x"))

    make(handler).generate([CHAT])
    make(handler, api_key="").generate([CHAT])  # an explicit empty key sends none
    assert auth == ["Bearer sk-test", None]


# --- retries and deadlines ----------------------------------------------------------


def test_a_deadline_turns_a_hung_server_into_timeout_items() -> None:
    async def handler(request: httpx2.Request) -> httpx2.Response:
        await asyncio.sleep(30)
        return httpx2.Response(200, json=chat_reply("late"))

    started = time.monotonic()
    results = make(handler, timeout_s=0.2, max_concurrency=2).generate([CHAT] * 4)
    elapsed = time.monotonic() - started
    assert all(isinstance(r, ModelError) and r.timeout for r in results)
    assert all("within 0.2 s" in r.message for r in results if isinstance(r, ModelError))
    # the stated bound: ceil(requests / max_concurrency) * timeout_s, plus overhead
    assert 0.4 <= elapsed < 0.4 + 1.5, elapsed


def test_retry_after_as_an_http_date(waits: list[float]) -> None:
    when = email.utils.formatdate(time.time() + 2, usegmt=True)
    answers = iter(
        [
            httpx2.Response(503, headers={"retry-after": when}),
            httpx2.Response(200, json=chat_reply("ok")),
        ]
    )
    assert make(lambda request: next(answers)).generate([CHAT]) == [["ok"]]
    assert len(waits) == 1 and 0.5 <= waits[0] <= 2.5


def test_429_with_retry_after_then_success(waits: list[float]) -> None:
    answers = iter(
        [
            httpx2.Response(429, headers={"retry-after": "0.25"}),
            httpx2.Response(200, json=chat_reply("ok")),
        ]
    )
    assert make(lambda request: next(answers)).generate([CHAT]) == [["ok"]]
    assert waits == [0.25]  # Retry-After honoured as sent, not the backoff


def test_500_twice_then_success(waits: list[float]) -> None:
    calls = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        calls.append(1)
        return (
            httpx2.Response(500, text="boom")
            if len(calls) <= 2
            else httpx2.Response(200, json=chat_reply("ok"))
        )

    assert make(handler).generate([CHAT]) == [["ok"]]
    assert len(calls) == 3 and len(waits) == 2


def test_connection_errors_are_retried(waits: list[float]) -> None:
    calls = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        calls.append(1)
        if len(calls) == 1:
            raise httpx2.ConnectError("connection refused", request=request)
        return httpx2.Response(200, json=chat_reply("ok"))

    assert make(handler).generate([CHAT]) == [["ok"]]


def test_500_forever_is_an_error_after_the_retries(waits: list[float]) -> None:
    calls = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        calls.append(1)
        return httpx2.Response(500, json={"error": {"message": "engine dead"}})

    [result] = make(handler, retries=3).generate([CHAT])
    assert isinstance(result, ModelError) and not result.timeout
    assert (
        result.type == "HTTPError"
        and "HTTP 500" in result.message
        and "engine dead" in result.message
    )
    assert len(calls) == 4 and len(waits) == 3


def test_a_4xx_is_not_retried(waits: list[float]) -> None:
    [result] = make(lambda r: httpx2.Response(400, json={"detail": "bad max_tokens"})).generate(
        [CHAT]
    )
    assert isinstance(result, ModelError) and "bad max_tokens" in result.message and waits == []


def test_backoff_is_jittered_and_doubles(waits: list[float]) -> None:
    backend = make(lambda request: httpx2.Response(503), retries=4, backoff_s=0.1)
    backend.generate([CHAT])
    first = list(waits)
    waits.clear()
    backend.generate([CHAT])
    assert len(first) == len(waits) == 4
    for k, (a, b) in enumerate(zip(first, waits, strict=True)):
        assert 0.05 * 2**k <= a <= 0.1 * 2**k and 0.05 * 2**k <= b <= 0.1 * 2**k
    assert first != waits  # two clients failing together do not retry in step


def test_a_retry_after_past_the_deadline_gives_up_at_once() -> None:
    backend = make(lambda r: httpx2.Response(429, headers={"retry-after": "3600"}), timeout_s=5)
    started = time.monotonic()
    [result] = backend.generate([CHAT])
    assert time.monotonic() - started < 2.0
    assert isinstance(result, ModelError) and result.timeout
    assert "would pass the 5 s deadline" in result.message and "HTTP 429" in result.message


def test_concurrency_is_bounded() -> None:
    in_flight = peak = 0

    async def handler(request: httpx2.Request) -> httpx2.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.02)
        in_flight -= 1
        return httpx2.Response(200, json=chat_reply("x"))

    out = make(handler, max_concurrency=3).generate([CHAT] * 12)
    assert out == [["x"]] * 12
    assert peak == 3


def test_a_route_the_server_lacks_is_unsupported_once() -> None:
    calls = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        calls.append(1)
        return httpx2.Response(404, json={"detail": "Not Found"})

    with pytest.raises(
        Unsupported, match=re.escape("HTTP 404 from POST http://model.test/classify")
    ):
        make(handler).classify(["a", "b", "c"])
    assert len(calls) <= 3


# --- bad replies ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b"<html>502 Bad Gateway</html>" * 5000, "not JSON"),
        (b'{"choices": [', "not JSON"),
        (b'{"object": "error"}', "'choices'"),
        (b'{"choices": []}', "non-empty list"),
        (b'{"choices": [{"message": {"role": "assistant"}}]}', "'content'"),
        (b'{"choices": [{"message": {"content": null}}]}', "expected a string"),
        (b"[1, 2]", "'choices'"),
        (b"[" * 100_000, "not JSON"),
    ],
    ids=[
        "html",
        "truncated",
        "no-choices",
        "empty-choices",
        "no-content",
        "null-content",
        "a-list",
        "deep-nesting",
    ],
)
def test_malformed_or_misshapen_replies_are_item_errors(content: bytes, needle: str) -> None:
    [result] = make(lambda r: httpx2.Response(200, content=content)).generate([CHAT])
    assert isinstance(result, ModelError) and result.type == "BadReply"
    assert needle in result.message
    assert len(result.message) <= 500  # bounded, whatever the body


# --- attacks: the server as an adversary ---------------------------------------------


def test_an_endless_body_is_cut_at_the_cap() -> None:
    pulled = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal pulled
        chunk = b" " * (1 << 20)
        while True:
            pulled += 1
            yield chunk

    [result] = make(lambda r: httpx2.Response(200, content=endless())).generate([CHAT])
    assert isinstance(result, ModelError) and "larger than 33554432 bytes" in result.message
    assert pulled <= 34  # stopped reading at 32 MiB


def test_a_declared_huge_body_is_refused_before_reading() -> None:
    response = httpx2.Response(200, headers={"content-length": str(1 << 40)}, content=b"{}")
    [result] = make(lambda r: response, max_reply_bytes=1000).generate([CHAT])
    assert isinstance(result, ModelError) and "larger than 1000 bytes" in result.message


def test_a_stream_that_never_closes_hits_the_deadline() -> None:
    async def dribble() -> AsyncIterator[bytes]:
        yield b'{"choices": ['
        await asyncio.sleep(3600)

    started = time.monotonic()
    [result] = make(lambda r: httpx2.Response(200, content=dribble()), timeout_s=0.3).generate(
        [CHAT]
    )
    assert time.monotonic() - started < 2.0
    assert isinstance(result, ModelError) and result.timeout


@pytest.mark.parametrize(
    "probs",
    ["[NaN]", "[Infinity]", "[-Infinity]", '["0.5"]', "[true]", "[1e999]", "[null]", "[]", '"0.5"'],
    ids=["nan", "inf", "-inf", "string", "bool", "overflow", "null", "empty", "not-a-list"],
)
def test_non_finite_scores_are_errors_not_numbers(probs: str) -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        value = probs if body(request)["input"] == "bad" else "[0.25]"
        return httpx2.Response(
            200, content=f'{{"data": [{{"index": 0, "probs": {value}}}]}}'.encode()
        )

    bad, good = make(handler).classify(["bad", "good"])
    assert isinstance(bad, ModelError) and bad.type == "BadReply"
    assert good == {"score": 0.25}  # one bad number fails its item only


# --- continuation log-probs ------------------------------------------------------------

TEXT_TOKENS = ["The", " ans", "wer", " is", " 4"]  # "The answer is 4"


def echo_reply(prompt: str, *, bos: str | None, offsets: str) -> dict[str, Any]:
    """vLLM-like echo answer: prompt tokens then one generated token. ``offsets="vllm"``
    counts over the token strings (BOS included); ``"text"`` indexes the prompt text."""
    assert "".join(TEXT_TOKENS) == prompt
    tokens = ([bos] if bos else []) + TEXT_TOKENS + [" ok"]
    logprobs: list[float | None] = [None] + [-0.5 - i for i in range(len(tokens) - 1)]
    starts, at = [], 0
    for token in tokens:
        starts.append(at)
        at += 0 if (offsets == "text" and token == bos) else len(token)
    info = {
        "tokens": tokens,
        "token_logprobs": logprobs,
        "text_offset": starts,
        "top_logprobs": None,
    }
    return {
        "model": "m",
        "choices": [{"index": 0, "text": prompt + " ok", "logprobs": info}],
        "usage": {"prompt_tokens": len(tokens) - 1, "completion_tokens": 1},
    }


def expected(tokens: tuple[str, ...], bos: str | None) -> TokenLogprobs:
    shift = 1 if bos else 0
    values = tuple(-0.5 - (TEXT_TOKENS.index(t) + shift - 1) for t in tokens)
    return TokenLogprobs(tokens, values)


@pytest.mark.parametrize("bos", ["<s>", None], ids=["bos", "no-bos"])
@pytest.mark.parametrize("offsets", ["vllm", "text"])
@pytest.mark.parametrize(
    ("prefix", "continuation", "tokens"),
    [
        ("The ans", "wer is 4", ("wer", " is", " 4")),
        ("The an", "swer is 4", (" ans", "wer", " is", " 4")),  # mid-word: the token straddles
        ("The answ", "er is 4", ("wer", " is", " 4")),
        ("The answer is 4", "", ()),
        ("The answer is", " 4", (" 4",)),
    ],
    ids=["token-edge", "mid-token-1", "mid-token-2", "empty", "last-token"],
)
def test_the_continuation_boundary_comes_from_the_offsets(
    prefix: str, continuation: str, tokens: tuple[str, ...], bos: str | None, offsets: str
) -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        data = body(request)
        assert data["echo"] is True and data["logprobs"] == 0 and data["max_tokens"] == 1
        return httpx2.Response(200, json=echo_reply(data["prompt"], bos=bos, offsets=offsets))

    [result] = make(handler).continuation_logprobs([(prefix, continuation)])
    assert result == expected(tokens, bos)


def test_a_whole_text_continuation_without_bos_has_no_first_logprob() -> None:
    reply = echo_reply("The answer is 4", bos=None, offsets="vllm")
    [result] = make(lambda r: httpx2.Response(200, json=reply)).continuation_logprobs(
        [("", "The answer is 4")]
    )
    assert isinstance(result, ModelError) and "no log-probability" in result.message


def test_vllm_prompt_logprobs_are_read() -> None:
    pieces = [(None, "The"), (791, " ans"), (92, "wer"), (7, " is"), (19, " 4")]
    entries: list[Any] = [None] + [
        {str(i): {"logprob": -1.0 * k, "rank": 1, "decoded_token": t}}
        for k, (i, t) in enumerate(pieces[1:], 1)
    ]

    def handler(request: httpx2.Request) -> httpx2.Response:
        assert body(request)["prompt_logprobs"] == 0 and "echo" not in body(request)
        return httpx2.Response(
            200, json={"choices": [{"index": 0, "text": "", "prompt_logprobs": entries}]}
        )

    [result] = make(handler, logprobs_via="prompt_logprobs").continuation_logprobs(
        [("The an", "swer is 4")]
    )
    assert result == TokenLogprobs(
        (" ans", "wer", " is", " 4"), (-1.0, -2.0, -3.0, -4.0), (791, 92, 7, 19)
    )


def test_logprobs_null_is_unsupported_once_not_per_item() -> None:
    calls = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        calls.append(1)  # what transformers serve answers: no logprobs in the choice
        return httpx2.Response(
            200, json={"model": "tiny", "choices": [{"index": 0, "text": "x", "logprobs": None}]}
        )

    backend = make(handler)
    with pytest.raises(Unsupported, match=r"model 'tiny'.*logprobs: null.*transformers serve"):
        backend.continuation_logprobs([("a", "b")] * 5)
    assert len(calls) == 1  # learnt from one item
    with pytest.raises(Unsupported):
        backend.continuation_logprobs([("a", "b")])
    assert len(calls) == 1  # and remembered


def test_chat_prefixes_are_unsupported_before_any_request() -> None:
    with pytest.raises(Unsupported, match="chat template"):
        make(lambda r: pytest.fail("no request")).continuation_logprobs([(CHAT, "4")])


# --- classify -------------------------------------------------------------------------


def test_classify_posts_to_the_root_classify_route() -> None:
    seen: list[tuple[str, dict[str, Any]]] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append((str(request.url), body(request)))
        probs = [0.9] if "input" in body(request) else [0.1, 0.7]
        return httpx2.Response(
            200,
            json={"data": [{"index": 0, "label": "x", "probs": probs, "num_classes": len(probs)}]},
        )

    assert make(handler).classify(["text"]) == [{"score": 0.9}]
    assert make(handler, labels=["bad", "good"]).classify([CHAT]) == [{"bad": 0.1, "good": 0.7}]
    assert make(handler).classify([CHAT]) == [{"LABEL_0": 0.1, "LABEL_1": 0.7}]
    assert seen[0] == (
        "http://model.test/classify",
        {"model": "m", "input": "text", "use_activation": False},
    )
    assert seen[1][1]["messages"] == CHAT
    [mismatch] = make(handler, labels=["a", "b", "c"]).classify([CHAT])
    assert isinstance(mismatch, ModelError) and "3 labels" in mismatch.message


@pytest.mark.parametrize(
    ("data", "want"),
    [([0.5], {"score": 0.5}), ([[0.1], [0.2], [0.3]], {"score": 0.3}), ("AAAA", None), ([], None)],
    ids=["vector", "per-token-last", "base64", "empty"],
)
def test_classify_via_pooling(data: Any, want: dict[str, float] | None) -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        assert request.url.path == "/pooling" and body(request)["encoding_format"] == "float"
        return httpx2.Response(
            200, json={"data": [{"index": 0, "object": "pooling", "data": data}]}
        )

    [result] = make(handler, classify_route="pooling").classify(["text"])
    if want is None:
        assert isinstance(result, ModelError) and "class scores" in result.message
    else:
        assert result == want


def test_bad_options_fail_at_build_time() -> None:
    from rewardsmith.errors import ConfigError

    with pytest.raises(ConfigError, match=r"timeout_s.*max_concurrency"):
        OpenAIBackend(URL, timeout_s=0, max_concurrency=0)
    with pytest.raises(ConfigError, match="classify_route"):
        OpenAIBackend(URL, classify_route="score")  # type: ignore[arg-type]


# --- a real server on loopback: transformers serve ---------------------------------------


@pytest.fixture(scope="module")
def transformers_serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``transformers serve`` on a tiny Llama built here."""
    with tiny_lm_server(tmp_path_factory) as url:
        yield url


@pytest.mark.slow
def test_transformers_serve_round_trip(transformers_serve: str) -> None:
    backend = OpenAIBackend(transformers_serve + "/v1", timeout_s=30, retries=1)
    [chat, text] = backend.generate([CHAT, "What is 2+2?"], n=2, max_new_tokens=4, seed=0)
    assert isinstance(chat, list) and len(chat) == 2 and all(isinstance(t, str) and t for t in chat)
    assert isinstance(text, list) and len(text) == 2
    assert backend._ignores_n  # it answered one choice for n=2
    with pytest.raises(Unsupported, match="logprobs: null"):
        backend.continuation_logprobs([("What is 2+2?", " 4")])
