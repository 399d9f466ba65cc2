"""``create_app``: the reward server, a thin layer over ``load_spec`` and ``score``.

Routes:

- ``POST /score``: ``{"samples": [{prompt, completion, reference, group, meta, tokens,
  data_source}], "step": optional}`` → ``{"scores": [{value, status, parts, info,
  error}]}``, one per sample, in order. Items that fail come back inside the 200 with
  their status and error.
- ``POST /get_reward``: OpenRLHF's remote reward protocol (``serve.openrlhf``).
- ``GET /health`` (open even with a token), ``GET /rewards`` (the catalog and the loaded
  spec), ``GET /metrics`` (Prometheus text), ``GET /openapi.json``, ``/docs``, ``/redoc``
  (the API's schema and its pages; behind the token like ``/rewards``).

Errors are JSON ``{"error": message, "problems": [...]}``: 400 unreadable body (not JSON,
not UTF-8, empty, NaN or Infinity, nested too deeply) or a Host that is not this
server's, 401 token, 403 a browser's request from another site, 408 body slower than
``body_timeout_s``, 413 body over ``max_body_bytes`` or too big once parsed, 415 a POST
that is not ``application/json``, 422 wrong shape (every bad field by path), 503 +
``Retry-After`` when every slot and queue place or the memory budget is taken, 504 past
``request_timeout_s``, 500 when a reward breaks its contract or its scoring process died.
See ``serve.limits`` and ``serve.guard``.

Example:
    >>> import uvicorn
    >>> app = create_app("math-r1", token="s3cret", max_concurrency=2)
    >>> uvicorn.run(app, host="127.0.0.1", port=8000)  # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Literal

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import rewardsmith
from rewardsmith.core import Reward
from rewardsmith.core.tree import needs_groups
from rewardsmith.integrations.openrlhf import END_TOKENS
from rewardsmith.serve.guard import RequestGuard
from rewardsmith.serve.limits import Admission, Busy, DeadlineExceeded, WorkerDied, check_token
from rewardsmith.serve.metrics import CONTENT_TYPE
from rewardsmith.serve.openrlhf import openrlhf_router
from rewardsmith.serve.schemas import BadRequest, RewardRequest, ScoreRequest, dump_json
from rewardsmith.serve.scoring import (
    ChildPool,
    Scoring,
    auto_processes,
    process_pool,
    run_in_child,
)
from rewardsmith.serve.state import ServeState, json_response

__all__ = ["create_app"]

ENDPOINTS = ("/score", "/get_reward", "/health", "/rewards", "/metrics")
log = logging.getLogger("rewardsmith.serve")
_CHILD_EXIT_S = 10.0
_BODY = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/ScoreRequest"}}}}


def create_app(
    spec: str | Path | Reward,
    *,
    token: str | None = None,
    max_body_bytes: int = 64 * 1024 * 1024,
    max_concurrency: int = 4,
    request_timeout_s: float = 120.0,
    max_queue: int = 256,
    max_pending_bytes: int = 1 << 30,
    on_error: float = 0.0,
    end_tokens: Iterable[str] = END_TOKENS,
    retry_after_s: int = 1,
    score_processes: int | Literal["auto"] = 0,
    allowed_hosts: Iterable[str] = (),
    body_timeout_s: float = 60.0,
    group_size: int | None = None,
    group_window_s: float = 0.0,
) -> FastAPI:
    """The reward server for ``spec`` (a spec file, a built-in spec name, or a Reward).

    Args:
        spec: what ``rewardsmith.load_spec`` takes, or an already-built Reward.
        token: require ``Authorization: Bearer <token>`` on every route but ``/health``.
        max_body_bytes: larger bodies get 413.
        max_concurrency: batches scored at once (each in the app's thread pool), or
            handed to the scoring processes at once.
        request_timeout_s: a request not answered by then gets 504, and its batch is
            abandoned (``serve.scoring``).
        max_queue: requests that may wait for a slot; beyond it, 503 with
            ``Retry-After: retry_after_s``. OpenRLHF sends one query per request, many
            at once, and gives up after 5 tries a second apart: keep this above the
            number of rollouts in flight.
        max_pending_bytes: the memory budget of the requests being read, waiting and
            running together, as ``serve.limits.estimate`` charges their bodies (what
            they may become once parsed); beyond it, 503. A body whose own charge is
            over it gets 413.
        on_error: the reward OpenRLHF gets for an item that could not be scored.
        end_tokens: end-of-turn markers stripped from OpenRLHF responses.
        retry_after_s: the ``Retry-After`` of a 503.
        score_processes: score in this many child processes, each with its own copy of the
            reward, instead of the server's threads (0): for CPU-bound rule-based specs,
            whose scoring then no longer shares a GIL with the HTTP side (see
            ``serve.scoring``). The app starts them, and waits for them, at startup.
            ``"auto"``: ``auto_processes(reward)``, processes when every leaf of the tree
            declares CPU-bound work, else threads.
        allowed_hosts: names (beyond IP addresses and ``localhost``) the ``Host`` header
            may carry; ``"*"`` for any (``serve.guard``).
        body_timeout_s: a body not received within this many seconds of its request's
            head gets 408.
        group_size, group_window_s: with ``group_window_s`` > 0, ``/get_reward`` holds
            each rollout until ``group_size`` rollouts of its prompt have arrived (or
            ``group_window_s`` has passed since the first) and scores them together, so
            group rewards see whole groups although OpenRLHF sends one rollout per
            request (``serve.groups``). Off by default: a spec with group rewards then
            logs a warning at startup.

    Raises:
        SpecError: the spec is invalid (raised here, before serving).
        ValueError: ``score_processes`` is negative.
    """
    reward, info = _reward(spec)
    if score_processes == "auto":
        score_processes = auto_processes(reward)
    if not isinstance(score_processes, int) or score_processes < 0:
        raise ValueError(f"score_processes must be 'auto' or >= 0, got {score_processes!r}")
    scoring = Scoring(reward, on_error, tuple(end_tokens))
    pool = process_pool(scoring, score_processes, request_timeout_s) if score_processes else None
    admission = Admission(
        max_concurrency, max_queue, request_timeout_s, max_pending_bytes, executor=pool
    )
    run = run_in_child if score_processes else scoring.run
    state = ServeState(
        scoring,
        run,
        info,
        token,
        max_body_bytes,
        admission,
        retry_after_s,
        score_processes,
        group_size,
        group_window_s,
    )
    if group_window_s <= 0 and needs_groups(reward):
        log.warning(
            "the spec has group rewards, and /get_reward (OpenRLHF) sends one rollout per "
            "request: they see groups of one unless the server holds groups "
            "(--group-window SECONDS, --group-size N); /score batches are grouped as sent"
        )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if score_processes:  # every child loads its reward before the first request
            children = admission.pool
            assert isinstance(children, ChildPool)
            try:
                await asyncio.to_thread(children.start)
            except BaseException:  # a child that failed to start: none left waiting
                admission.close()
                raise
        yield
        if score_processes:  # let the children exit; one stuck in a batch is killed
            children = admission.pool
            assert isinstance(children, ChildPool)
            await asyncio.to_thread(children.stop, _CHILD_EXIT_S)
        admission.close()

    app = FastAPI(
        title="rewardsmith",
        version=rewardsmith.__version__,
        summary="Rewards for RL post-training of language models",
        lifespan=lifespan,
        docs_url=None,  # served below, behind the token
        redoc_url=None,
        openapi_url=None,
    )
    app.state.rewardsmith = state
    _errors(app, state)
    _routes(app, state)
    _docs(app, state)
    app.include_router(openrlhf_router(state))
    app.add_middleware(RequestGuard, allowed_hosts=allowed_hosts, body_timeout_s=body_timeout_s)
    app.add_middleware(_Measure, state=state)
    _document_bodies(app)
    return app


def _reward(spec: str | Path | Reward) -> tuple[Reward, dict[str, Any]]:
    if isinstance(spec, str | Path):
        from rewardsmith.spec.files import parse_spec, read_spec

        data, source = read_spec(spec)
        reward = parse_spec(data, source)
        return reward, {
            "name": data.get("name", source),
            "source": source,
            "reward": data["reward"],
        }
    name = getattr(spec, "spec_name", spec.name)
    return spec, {"name": name, "source": "python", "reward": repr(spec)}


def _routes(app: FastAPI, state: ServeState) -> None:
    @app.post("/score", openapi_extra={"requestBody": _BODY}, summary="Score a batch")
    async def score(request: Request) -> Response:
        return await state.handle("score", request)

    @app.get("/health", summary="Liveness and load")
    async def health() -> Response:
        a = state.admission
        return json_response(
            {
                "status": "ok",
                "spec": state.spec["name"],
                "version": rewardsmith.__version__,
                "running": a.running,
                "admitted": a.admitted,
                "max_concurrency": a.max_concurrency,
                "max_queue": a.max_queue,
                "pending_bytes": a.pending_bytes,
                "score_processes": state.score_processes,
                "group_window": None
                if state.window is None
                else {"size": state.group_size, "wait_s": state.group_wait_s},
            }
        )

    catalog: list[bytes] = []

    @app.get("/rewards", summary="The catalog and the loaded spec")
    async def rewards(request: Request) -> Response:
        check_token(request, state.token)
        if not catalog:  # built once (~30 ms of schemas), off the event loop
            rows = await asyncio.to_thread(lambda: [e.describe() for e in rewardsmith.catalog()])
            data = {"spec": state.spec, "rewards": rows}
            catalog.append(dump_json(data))
        return Response(catalog[0], media_type="application/json")

    @app.get("/metrics", summary="Prometheus metrics")
    async def metrics(request: Request) -> Response:
        check_token(request, state.token)
        return Response(state.metrics.render(), media_type=CONTENT_TYPE)


def _docs(app: FastAPI, state: ServeState) -> None:
    """The API's schema and its two pages, behind the token like ``/rewards``."""

    @app.get("/openapi.json", include_in_schema=False)
    async def openapi(request: Request) -> Response:
        check_token(request, state.token)
        return json_response(app.openapi())

    @app.get("/docs", include_in_schema=False)
    async def docs(request: Request) -> Response:
        check_token(request, state.token)
        url = request.scope.get("root_path", "").rstrip("/") + "/openapi.json"
        return get_swagger_ui_html(openapi_url=url, title=f"{app.title} - Swagger UI")

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> Response:
        check_token(request, state.token)
        url = request.scope.get("root_path", "").rstrip("/") + "/openapi.json"
        return get_redoc_html(openapi_url=url, title=f"{app.title} - ReDoc")


def _document_bodies(app: FastAPI) -> None:
    """Put the request models in the OpenAPI document (the routes read raw bodies)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, summary=app.summary, routes=app.routes
            )
            models = schema.setdefault("components", {}).setdefault("schemas", {})
            for model in (ScoreRequest, RewardRequest):
                body = model.model_json_schema(ref_template="#/components/schemas/{model}")
                models.update(body.pop("$defs", {}))
                models[model.__name__] = body
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _errors(app: FastAPI, state: ServeState) -> None:
    async def bad_request(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, BadRequest)
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        if exc.status == 408:  # a client that drips its body does not keep its connection
            headers = {"Connection": "close"}
        return json_response({"error": exc.message, "problems": exc.problems}, exc.status, headers)

    async def disconnected(request: Request, exc: Exception) -> Response:
        client = request.client
        who = f"{client.host}:{client.port}" if client else "a client"
        log.debug("%s disconnected before its request body was read", who)
        return Response(status_code=499)  # (nginx's code; the client is gone)

    async def busy(_: Request, exc: Exception) -> Response:
        a = state.admission
        message = (
            f"server busy: {a.running} batches scoring and {a.admitted - a.running} waiting, "
            f"holding an estimated {a.pending_bytes} bytes with the bodies being read "
            f"(max_concurrency={a.max_concurrency}, "
            f"max_queue={a.max_queue}, max_pending_bytes={a.max_pending_bytes}); retry later"
        )
        headers = {"Retry-After": str(state.retry_after_s)}
        return json_response({"error": message, "problems": []}, 503, headers)

    async def deadline(_: Request, exc: Exception) -> Response:
        message = f"not answered within request_timeout_s={state.admission.timeout_s}"
        return json_response({"error": message, "problems": []}, 504)

    async def child_died(_: Request, exc: Exception) -> Response:
        message = (
            f"a scoring process died while running this batch ({exc}); retry, a new one is started"
        )
        return json_response({"error": message, "problems": []}, 500)

    async def crashed(_: Request, exc: Exception) -> Response:
        return json_response({"error": f"{type(exc).__name__}: {exc}", "problems": []}, 500)

    app.add_exception_handler(BadRequest, bad_request)
    app.add_exception_handler(ClientDisconnect, disconnected)
    app.add_exception_handler(Busy, busy)
    app.add_exception_handler(DeadlineExceeded, deadline)
    app.add_exception_handler(WorkerDied, child_died)
    app.add_exception_handler(Exception, crashed)


class _Measure:
    """Pure ASGI middleware: requests by endpoint and code, and their latency."""

    def __init__(self, app: ASGIApp, state: ServeState) -> None:
        self.app = app
        self.metrics = state.metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"].removeprefix(scope.get("root_path", ""))  # mounted: its own path
        endpoint = path.lstrip("/") if path in ENDPOINTS else "other"
        start = time.perf_counter()
        code = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal code
            if message["type"] == "http.response.start":
                code = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            self.metrics.request(endpoint, code, time.perf_counter() - start)
