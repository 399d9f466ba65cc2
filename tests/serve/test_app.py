"""The reward server on loopback (a real uvicorn in a thread): routes, bad input, limits."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from types import MappingProxyType

import httpx
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.routing import Mount

import rewardsmith
from helpers_serve import GOOD, Slow, running
from rewardsmith import ItemReward, Score, Status
from rewardsmith.core.types import ItemError
from rewardsmith.errors import SpecError
from rewardsmith.runtime import Threaded
from rewardsmith.serve import create_app
from rewardsmith.serve.limits import estimate
from rewardsmith.serve.schemas import BadRequest, ScoreRequest, parse_body, parse_score_request
from rewardsmith.serve.scoring import scores_body
from rewardsmith.serve.state import json_response


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with running(create_app("math-r1", max_body_bytes=300_000)) as u:
        yield u


def post(url: str, path: str, body: object, **kw: object) -> httpx.Response:
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    headers = {"content-type": "application/json", **kw.pop("headers", {})}  # type: ignore[dict-item]
    return httpx.post(url + path, content=content, headers=headers, timeout=30, **kw)  # type: ignore[arg-type]


# --- the routes ---------------------------------------------------------------------


def test_score_returns_one_score_per_sample_in_order(url: str) -> None:
    samples = [
        {"prompt": "2+2?", "completion": GOOD, "reference": "4"},
        {"prompt": "2+2?", "completion": "four", "reference": "4"},
        {"prompt": "2+2?", "completion": GOOD.replace(">4<", ">5<"), "reference": "4"},
        {"completion": [{"role": "assistant", "content": GOOD}], "label": "4", "group_id": 7},
    ]
    r = post(url, "/score", {"samples": samples})
    assert r.status_code == 200, r.text
    scores = r.json()["scores"]
    assert [s["value"] for s in scores] == [1.0, 0.0, 0.0, 1.0]
    assert scores[0] == {
        "value": 1.0,
        "status": "ok",
        "parts": {"format.think_answer": 1.0, "math.answer": 1.0},
        "info": {"math.answer": {"extracted": "4", "source": "answer_block", "tier": "string"}},
        "error": None,
    }


def test_score_matches_in_process_scoring_on_the_bundled_rollouts(url: str) -> None:
    from rewardsmith.cli.score import bundled_rollouts
    from rewardsmith.rollouts import FieldMap

    records = [orjson.loads(x) for x in bundled_rollouts().read_bytes().splitlines()][:64]
    fields = ("prompt", "completion", "reference", "group", "data_source")
    body = {"samples": [{k: r[k] for k in fields if k in r} for r in records]}
    served = post(url, "/score", body).json()["scores"]
    fm = FieldMap()
    local = rewardsmith.load_spec("math-r1").score([fm.sample(r) for r in records])
    assert [s["value"] for s in served] == [s.value for s in local]
    assert [s["parts"] for s in served] == [dict(s.parts) for s in local]


def test_an_item_that_cannot_be_scored_comes_back_inside_a_200(url: str) -> None:
    r = post(
        url, "/score", {"samples": [{"completion": GOOD}, {"completion": GOOD, "reference": "4"}]}
    )
    assert r.status_code == 200
    bad, good = r.json()["scores"]
    assert bad["value"] is None and bad["status"] == "error"
    assert "unusable reference" in bad["error"]["message"]
    assert good["value"] == 1.0


def test_empty_batch(url: str) -> None:
    assert post(url, "/score", {"samples": []}).json() == {"scores": []}


def test_health_rewards_and_metrics(url: str) -> None:
    health = httpx.get(url + "/health").json()
    assert health["status"] == "ok" and health["spec"] == "math-r1"
    catalog = httpx.get(url + "/rewards").json()
    assert catalog["spec"]["name"] == "math-r1"
    assert catalog["spec"]["reward"]["gate"]["then"] == {"use": "math.answer"}
    names = {e["name"] for e in catalog["rewards"]}
    assert {"math.answer", "format.think_answer"} <= names
    post(url, "/score", {"samples": [{"completion": GOOD, "reference": "4"}]})
    post(url, "/score", b"{nope")

    def groups(text: str, spread: str) -> float:
        key = f'rewardsmith_groups_total{{endpoint="score",spread="{spread}"}} '
        return sum(float(line[len(key) :]) for line in text.splitlines() if line.startswith(key))

    before = httpx.get(url + "/metrics").text
    group = [{"completion": c, "reference": "4", "group": g} for g in "ab" for c in (GOOD, GOOD)]
    group[3]["completion"] = "<think>x</think><answer>5</answer>"  # group b has spread
    post(url, "/score", {"samples": group})
    text = httpx.get(url + "/metrics").text
    assert groups(text, "zero") - groups(before, "zero") == 1.0
    assert groups(text, "some") - groups(before, "some") == 1.0
    assert 'rewardsmith_requests_total{code="200",endpoint="score"}' in text
    assert 'rewardsmith_requests_total{code="400",endpoint="score"}' in text
    assert 'rewardsmith_items_total{endpoint="score",status="ok"}' in text
    assert 'rewardsmith_part_value_count{part="math.answer"}' in text
    assert "rewardsmith_request_seconds_bucket" in text
    assert "rewardsmith_in_flight" in text


# --- bad input: a 4xx that names the problem, and the server keeps serving --------------

BAD = [
    ("not-json", b'{"samples": [', 400, "not valid JSON"),
    ("not-utf8", b'{"samples": [{"completion": "\xff\xfe"}]}', 400, "UTF-8"),
    ("empty", b"", 400, "empty body"),
    ("a-list", b"[]", 422, "Input should be an object"),
    ("samples-not-list", b'{"samples": "x"}', 422, "samples: Input should be a valid array"),
    ("no-samples", b'{"sample": []}', 422, "samples: Field required"),
    (
        "no-completion",
        b'{"samples": [{"prompt": "q"}]}',
        422,
        "samples.0.completion: Field required",
    ),
    ("completion-type", b'{"samples": [{"completion": 5}]}', 422, "samples.0.completion"),
    # (a sample's other keys land in its meta, as in rollout files: tests/rollouts/test_fields.py)
    (
        "unknown-field",
        b'{"samples": [{"completion": "a"}], "colour": 1}',
        422,
        "colour: unknown field",
    ),
    ("bad-step", b'{"samples": [], "step": -1}', 422, "step"),
    ("group-type", b'{"samples": [{"completion": "a", "group": [1]}]}', 422, "samples.0.group"),
]


@pytest.mark.parametrize(("body", "code", "message"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_score_requests_get_a_4xx_naming_the_problem(
    url: str, body: bytes, code: int, message: str
) -> None:
    r = post(url, "/score", body)
    assert r.status_code == code, r.text
    assert message in r.json()["error"] + " ".join(r.json()["problems"])
    assert (
        post(url, "/score", {"samples": [{"completion": GOOD, "reference": "4"}]}).status_code
        == 200
    )


BAD_REWARD = [
    ("lengths", {"query": ["a", "b"], "prompts": ["a"], "labels": ["1", "2"]}, "same length"),
    ("no-prompts", {"query": ["a"]}, "prompts: Field required"),
    ("query-type", {"query": "a", "prompts": ["a"]}, "query: Input should be a valid array"),
]


@pytest.mark.parametrize(
    ("body", "message"), [b[1:] for b in BAD_REWARD], ids=[b[0] for b in BAD_REWARD]
)
def test_bad_get_reward_requests_get_422(url: str, body: object, message: str) -> None:
    r = post(url, "/get_reward", body)
    assert r.status_code == 422, r.text
    assert message in r.json()["error"]


SAME = [
    ("plain", {"samples": [{"prompt": "q", "completion": "a", "reference": "4", "group": 1}]}),
    (
        "aliases",
        {"samples": [{"response": "a", "label": [1, 2], "group_id": "g", "metadata": {"k": 1}}]},
    ),
    (
        "chat",
        {
            "samples": [
                {
                    "prompt": [{"role": "user", "content": "q"}],
                    "completion": [{"role": "assistant", "content": "a"}],
                }
            ]
        },
    ),
    (
        "source",
        {"samples": [{"completion": "a", "data_source": "gsm8k", "meta": {"x": 1}}], "step": 3},
    ),
    (
        "tokens",
        {"samples": [{"completion": "a", "tokens": {"ids": [1, 2], "logprobs": [-0.5, -1.0]}}]},
    ),
]


@pytest.mark.parametrize("body", [s[1] for s in SAME], ids=[s[0] for s in SAME])
def test_the_fast_parser_agrees_with_the_model(body: dict[str, object]) -> None:
    raw = orjson.dumps(body)
    model = parse_body(ScoreRequest, raw)
    assert parse_score_request(raw) == ([s.to_sample() for s in model.samples], model.step)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=6,
)
_MESSAGES = st.lists(
    st.fixed_dictionaries({"role": st.sampled_from(["user", "assistant"]), "content": st.text()}),
    max_size=2,
)
_FIELD = {
    "prompt": st.text() | _MESSAGES | _JSON,
    "completion": st.text() | _MESSAGES | _JSON,
    "response": st.text(),
    "reference": _JSON,
    "label": _JSON,
    "group": st.text(max_size=3) | st.integers() | _JSON,
    "uid": st.text(max_size=3),
    "meta": st.dictionaries(st.text(max_size=3), _JSON, max_size=3) | _JSON,
    "data_source": st.text(max_size=5) | _JSON,
    "tokens": st.fixed_dictionaries({"ids": st.lists(st.integers(0, 9), max_size=3)}),
    "other": _JSON,
}
_ANY_ITEM = st.lists(st.sampled_from(sorted(_FIELD)), unique=True, max_size=5).flatmap(
    lambda keys: st.fixed_dictionaries({k: _FIELD[k] for k in keys})
)
_PLAIN_ITEM = st.fixed_dictionaries(  # what the client sends: mostly valid
    {"completion": st.text() | _MESSAGES},
    optional={
        "prompt": st.text() | _MESSAGES,
        "reference": _JSON,
        "group": st.text(max_size=3) | st.integers(),
        "meta": st.dictionaries(st.text(max_size=3), _JSON, max_size=3),
        "data_source": st.text(max_size=5),
    },
)
_BODY_STRATEGY = st.fixed_dictionaries(  # half as a client sends them, half anything
    {"samples": st.lists(_PLAIN_ITEM, max_size=3)}, optional={"step": st.integers(-1, 5)}
) | st.fixed_dictionaries(
    {"samples": st.lists(_PLAIN_ITEM | _ANY_ITEM, max_size=3) | _JSON},
    optional={"step": st.integers(-2, 5) | _JSON, "extra": _JSON},
)


def _model_answer(raw: bytes) -> object:
    try:
        model = parse_body(ScoreRequest, raw)
    except BadRequest as exc:
        return exc.status, exc.message
    return [s.to_sample() for s in model.samples], model.step


@settings(max_examples=300, deadline=None)
@given(_BODY_STRATEGY)
def test_the_fast_parser_answers_every_body_as_the_model_does(body: dict[str, object]) -> None:
    raw = json.dumps(body).encode()  # (orjson refuses integers past 64 bits)
    try:
        fast: object = parse_score_request(raw)
    except BadRequest as exc:
        fast = exc.status, exc.message
    assert fast == _model_answer(raw)


RESPONSES = [
    ("ok", Score(1.0, parts={"a": 1.0}, info={"x": [1, "b"]})),
    ("error", Score(None, Status.ERROR, {}, {}, ItemError("T", "m"))),
    ("timeout", Score(0.0, Status.TIMEOUT, {}, {"reason": "r"})),
    ("nan", Score(float("nan"))),
    ("odd-info", Score(1.0, info={"obj": object(), 3: "int key"})),
    ("mapping-proxy", Score(1.0, parts=MappingProxyType({"a": 1.0}))),
]


@pytest.mark.parametrize("score", [r[1] for r in RESPONSES], ids=[r[0] for r in RESPONSES])
def test_the_fast_response_is_exactly_to_dict(score: Score) -> None:
    assert scores_body([score]) == json_response({"scores": [score.to_dict()]}).body


def test_oversized_bodies_get_413_declared_or_streamed(url: str) -> None:
    big = orjson.dumps({"samples": [{"completion": "x" * 400_000}]})
    r = post(url, "/score", big)
    assert r.status_code == 413 and "over the limit of 300000" in r.json()["error"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted while read
        for i in range(0, len(big), 50_000):
            yield big[i : i + 50_000]

    json = {"content-type": "application/json"}
    r = httpx.post(url + "/score", content=chunks(), headers=json, timeout=30)
    assert r.status_code == 413
    assert httpx.get(url + "/health").status_code == 200


def test_unknown_routes_and_methods(url: str) -> None:
    assert httpx.get(url + "/nope").status_code == 404
    assert httpx.get(url + "/score").status_code == 405


def test_a_spec_naming_an_unknown_reward_fails_at_build_time(tmp_path) -> None:  # type: ignore[no-untyped-def]
    spec = tmp_path / "bad.yaml"
    spec.write_text("name: bad\nreward: {use: math.answr}\n")
    with pytest.raises(SpecError, match=r"math\.answr.*did you mean math\.answer"):
        create_app(str(spec))


# --- token, back-pressure, deadline, faulty items ---------------------------------------


def test_bearer_token() -> None:
    with running(create_app(Slow(), token="s3cret")) as u:
        body = {"samples": [{"completion": "yes"}]}
        for path, b in [("/score", body), ("/get_reward", {"query": ["q"], "prompts": ["q"]})]:
            assert post(u, path, b).status_code == 401
            wrong = post(u, path, b, headers={"authorization": "Bearer nope"})
            assert wrong.status_code == 401 and "bearer token" in wrong.json()["error"]
            assert post(u, path, b, headers={"authorization": "Bearer s3cret"}).status_code == 200
        for path in ["/metrics", "/rewards"]:
            assert httpx.get(u + path).status_code == 401
            assert (
                httpx.get(u + path, headers={"authorization": "Bearer s3cret"}).status_code == 200
            )
        assert httpx.get(u + "/health").status_code == 200


def _wait_for(url: str, key: str, value: int) -> None:
    deadline = time.monotonic() + 20
    while httpx.get(url + "/health").json()[key] != value:
        assert time.monotonic() < deadline, f"{key} never reached {value}"
        time.sleep(0.02)


def test_saturated_server_answers_503_with_retry_after_and_recovers() -> None:
    app = create_app(Slow(), max_concurrency=1, max_queue=1, retry_after_s=2)
    with running(app) as u, ThreadPoolExecutor(2) as pool:
        slow = {"samples": [{"completion": "yes", "meta": {"sleep": 1.0}}]}
        first = pool.submit(post, u, "/score", slow)
        _wait_for(u, "running", 1)
        queued = pool.submit(post, u, "/score", slow)  # waits in the one queue place
        _wait_for(u, "admitted", 2)
        busy = post(u, "/score", {"samples": [{"completion": "yes"}]})
        assert busy.status_code == 503
        assert busy.headers["retry-after"] == "2"
        assert "server busy" in busy.json()["error"]
        assert first.result(20).status_code == 200
        assert queued.result(20).status_code == 200
        assert (
            post(u, "/score", {"samples": [{"completion": "yes"}]}).json()["scores"][0]["value"]
            == 1.0
        )
        assert 'code="503"' in httpx.get(u + "/metrics").text


def test_queued_bodies_are_bounded_by_what_they_become_and_one_that_cannot_fit_is_413() -> None:
    """The budget holds each body's estimate once parsed (``limits.estimate``): a request
    that fits alone always gets in, one that could never fit gets 413."""
    big = {"samples": [{"completion": "yes", "meta": {"pad": "x" * 3_000}}]}
    sleeping = {"samples": [{"completion": "yes", "meta": {"sleep": 1.0}}]}
    budget = estimate(orjson.dumps(big)) + estimate(orjson.dumps(sleeping)) - 1
    app = create_app(Slow(), max_concurrency=1, max_queue=10, max_pending_bytes=budget)
    with running(app) as u, ThreadPoolExecutor(1) as pool:
        assert post(u, "/score", big).status_code == 200  # alone, it fits
        first = pool.submit(post, u, "/score", sleeping)
        _wait_for(u, "running", 1)
        busy = post(u, "/score", big)
        assert busy.status_code == 503 and f"max_pending_bytes={budget}" in busy.json()["error"]
        assert post(u, "/score", {"samples": [{"completion": "yes"}]}).status_code == 200
        assert first.result(20).status_code == 200
        huge = post(
            u, "/score", {"samples": [{"completion": "yes", "meta": {"pad": "x" * budget}}]}
        )
        assert huge.status_code == 413 and "once parsed" in huge.json()["error"]
        assert httpx.get(u + "/health").json()["pending_bytes"] == 0


def test_a_request_past_its_deadline_gets_504_and_frees_its_slot_when_done() -> None:
    with running(create_app(Slow(), max_concurrency=1, request_timeout_s=0.3)) as u:
        r = post(u, "/score", {"samples": [{"completion": "yes", "meta": {"sleep": 1.0}}]})
        assert r.status_code == 504 and "request_timeout_s=0.3" in r.json()["error"]
        _wait_for(u, "admitted", 0)  # the thread finished, the slot is back
        assert post(u, "/score", {"samples": [{"completion": "yes"}]}).status_code == 200


def test_a_slow_or_crashing_item_does_not_fail_the_others() -> None:
    reward = Threaded(Slow(), threads=4, timeout=0.5)
    with running(create_app(reward)) as u:
        samples = [
            {"completion": "yes"},
            {"completion": "boom"},
            {"completion": "yes", "meta": {"sleep": 3}},
            {"completion": "no"},
        ]
        r = post(u, "/score", {"samples": samples})
        scores = r.json()["scores"]
        assert r.status_code == 200
        # the sleeper was cut off at 0.5 s ("timeout"), not waited for
        assert [s["status"] for s in scores] == ["ok", "error", "timeout", "ok"]
        assert [s["value"] for s in scores] == [1.0, None, 0.0, 0.0]
        assert scores[1]["error"] == {"type": "RuntimeError", "message": "checker exploded"}


def test_many_concurrent_requests_are_all_answered() -> None:
    with running(create_app("math-r1", max_concurrency=2, max_queue=64)) as u:
        body = {"samples": [{"completion": GOOD, "reference": "4"}] * 32}
        with ThreadPoolExecutor(16) as pool:
            replies = list(pool.map(lambda _: post(u, "/score", body), range(48)))
        assert {r.status_code for r in replies} == {200}
        assert all(len(r.json()["scores"]) == 32 for r in replies)


class Broken(ItemReward):
    """Breaks the Reward contract: returns no scores at all."""

    name = "test.broken"

    def score(self, samples):  # type: ignore[no-untyped-def, override]
        return []


def test_a_reward_breaking_its_contract_gets_500_and_the_server_keeps_serving() -> None:
    logged: list[logging.LogRecord] = []
    handler = logging.Handler(logging.ERROR)
    handler.emit = logged.append  # type: ignore[method-assign]
    server_log = logging.getLogger("uvicorn.error")
    with running(create_app(Broken())) as u:
        server_log.addHandler(handler)  # after uvicorn has set up its loggers
        try:
            r = post(u, "/score", {"samples": [{"completion": "a"}]})
            assert r.status_code == 500
            assert r.json()["error"] == "RuntimeError: reward returned 0 scores for 1 samples"
            assert post(u, "/score", {"samples": []}).status_code == 200
        finally:
            server_log.removeHandler(handler)
    crashes = [rec.exc_info[1] for rec in logged if rec.exc_info]
    assert len(crashes) == 1  # the traceback reaches the server's log, once
    assert "reward returned 0 scores" in str(crashes[0])


def test_http_processes_build_the_app_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from rewardsmith.serve.run import CONFIG_ENV, app_from_env

    config = {"spec": "math-r1", "token": "t", "max_concurrency": 3, "max_queue": 1}
    monkeypatch.setenv(CONFIG_ENV, orjson.dumps({**config, "end_tokens": ["<e>"]}).decode())
    state = app_from_env().state.rewardsmith
    assert state.spec["name"] == "math-r1" and state.token == "t"
    assert (state.admission.max_concurrency, state.admission.max_queue) == (3, 1)
    assert state.scoring.end_tokens == ("<e>",)


def test_a_mounted_app_counts_requests_by_its_own_routes() -> None:
    """Under a prefix (a parent app's Mount, a Ray route prefix), ``/pre/score`` is
    counted as ``score``, not ``other``."""
    inner = create_app(Slow())
    with running(Starlette(routes=[Mount("/pre", app=inner)])) as url:
        scored = httpx.post(url + "/pre/score", json={"samples": [{"completion": "yes"}]})
        assert scored.json()["scores"][0]["value"] == 1.0
        metrics = httpx.get(url + "/pre/metrics").text
    inner.state.rewardsmith.admission.close()
    assert 'rewardsmith_requests_total{code="200",endpoint="score"} 1.0' in metrics


def test_openapi_documents_the_request_bodies(url: str) -> None:
    doc = httpx.get(url + "/openapi.json").json()
    schemas = doc["components"]["schemas"]
    body = doc["paths"]["/score"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"] == {"$ref": "#/components/schemas/ScoreRequest"}
    assert schemas["ScoreRequest"]["properties"]["samples"]["items"]["$ref"] == (
        "#/components/schemas/SampleIn"
    )
    assert "completion" in schemas["SampleIn"]["required"]
    assert set(schemas["RewardRequest"]["required"]) == {"query", "prompts"}
