"""What every route of one app shares: its scoring, its limits, its metrics.

``ServeState.handle`` is the single path from a request body to an answer: admission
(bounded slots and queue), the executor (the app's threads or its scoring processes, see
``serve.scoring``), the deadline, and metrics.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from rewardsmith.client import encode_samples, score_from_dict
from rewardsmith.core import Sample, Score
from rewardsmith.integrations.openrlhf import to_reply
from rewardsmith.serve.groups import GroupWindow
from rewardsmith.serve.limits import Admission, check_token, read_body
from rewardsmith.serve.metrics import Metrics, Tally
from rewardsmith.serve.schemas import BadRequest, dump_json
from rewardsmith.serve.scoring import Scoring

__all__ = ["STEP_HEADER", "ServeState", "json_response", "step_header"]


@dataclass
class ServeState:
    """One app's scoring, settings and counters."""

    scoring: Scoring
    run: Callable[..., tuple[bytes, Tally]]
    """``scoring.run``, or ``serve.scoring.run_in_child`` with scoring processes."""
    spec: dict[str, Any]
    token: str | None
    max_body_bytes: int
    admission: Admission
    retry_after_s: int
    score_processes: int = 0
    """Child processes that score (0: the app's threads)."""
    group_size: int | None = None
    group_wait_s: float = 0.0
    """With ``group_wait_s`` > 0, ``/get_reward`` scores whole groups (``serve.groups``)."""
    metrics: Metrics = field(init=False)
    last_step: int | None = field(init=False, default=None)
    """The step of the latest batch that named one, sent along with every batch."""
    window: GroupWindow | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.metrics = Metrics(lambda: float(self.admission.admitted))
        if self.group_wait_s > 0:
            self.window = GroupWindow(self.group_size, self.group_wait_s, self._score_group)

    async def handle(self, endpoint: str, request: Request) -> Response:
        """Check the token, read the body, then parse, score and answer the batch off the
        event loop, within the app's limits.

        The body is charged to the memory budget while it is read, and its batch keeps
        that charge until it ends. Parsing, scoring and serialising run in one worker (a
        thread, or a scoring process), one after the other, so the event loop only moves
        bytes: a 400 KB body is parsed, scored and serialised without holding up other
        connections. A body that does not parse raises BadRequest from the worker, as it
        would on the loop (it takes a slot for the time it takes to parse).
        """
        check_token(request, self.token)
        named = step_header(request)
        if endpoint == "get_reward" and self.window is not None:
            return await self._windowed(request, named)
        hold = self.admission.hold()
        try:
            body = await read_body(request, self.max_body_bytes, hold)
            work = partial(self.run, endpoint, body, self.last_step, named_step=named)
            answer, tally = await self.admission.run(work, hold)
        finally:
            hold.release()  # (nothing, once the batch has taken it over)
        if tally.step is not None:
            self.last_step = tally.step
        self.metrics.scored(endpoint, tally)
        return Response(answer, 200, media_type="application/json")

    async def _windowed(self, request: Request, named: int | None) -> Response:
        """``/get_reward`` through the group window: parse, wait for the groups, answer."""
        start = time.perf_counter()
        hold = self.admission.hold()
        try:
            body = await read_body(request, self.max_body_bytes, hold)
            samples = await asyncio.to_thread(self.scoring.openrlhf_samples, body)
        finally:
            hold.release()
        if named is not None:
            self.last_step = named
        assert self.window is not None
        scores = await self.window.score(samples)
        reply = to_reply(scores, self.scoring.on_error, self.scoring.parts)
        self.metrics.scored(
            "get_reward", Tally.of(scores, time.perf_counter() - start, named, samples)
        )
        return Response(dump_json(reply), 200, media_type="application/json")

    async def _score_group(self, samples: list[Sample]) -> list[Score]:
        """One closed group, scored as a ``/score`` batch on the app's runner."""
        body = encode_samples(samples)
        work = partial(self.run, "score", body, self.last_step)
        answer, _ = await self.admission.run(work)
        return [score_from_dict(d) for d in orjson.loads(answer)["scores"]]


STEP_HEADER = "X-Rewardsmith-Step"
"""The training step for a request whose body cannot carry one (``/get_reward``)."""


def step_header(request: Request) -> int | None:
    """The request's ``X-Rewardsmith-Step``; BadRequest 400 if it is not an integer >= 0."""
    raw = request.headers.get(STEP_HEADER)
    if raw is None:
        return None
    text = raw.strip()
    if not text.isdigit() or len(text) > 18:
        raise BadRequest(400, f"{STEP_HEADER} must be an integer >= 0, got {raw[:40]!r}")
    return int(text)


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON answer serialised by orjson (anything it cannot encode becomes its ``str``)."""
    return Response(dump_json(data), status, headers, media_type="application/json")
