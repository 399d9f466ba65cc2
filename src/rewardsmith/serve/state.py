"""What every route of one app shares: the reward, its limits, its metrics.

``ServeState.handle`` is the single path from a request body to an answer: admission
(bounded slots and queue), the app's thread pool, the deadline, and metrics.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from rewardsmith.core import Reward, Sample, Score, set_step
from rewardsmith.integrations.openrlhf import PartNames
from rewardsmith.serve.limits import Admission, check_token, read_body
from rewardsmith.serve.metrics import Metrics

__all__ = ["ServeState", "json_response", "scores_response"]


@dataclass
class ServeState:
    """One app's reward, settings and counters."""

    reward: Reward
    spec: dict[str, Any]
    token: str | None
    max_body_bytes: int
    admission: Admission
    on_error: float
    end_tokens: tuple[str, ...]
    retry_after_s: int
    metrics: Metrics = field(init=False)
    parts: PartNames = field(init=False)

    def __post_init__(self) -> None:
        self.metrics = Metrics(lambda: float(self.admission.admitted))
        self.parts = PartNames(self.reward)

    async def body(self, request: Request) -> bytes:
        """The checked token, then the body under the size cap."""
        check_token(request, self.token)
        return await read_body(request, self.max_body_bytes)

    async def handle(
        self,
        endpoint: str,
        parse: Callable[[], tuple[Sequence[Sample], int | None]],
        respond: Callable[[list[Score]], Response],
        size: int = 0,
    ) -> Response:
        """Parse, score and answer one batch off the event loop, within the app's limits.

        All three steps run in one worker thread, one after the other, so the event loop
        only moves bytes: a 400 KB body is parsed, scored and serialised without holding
        up other connections, and a batch's objects stay on one thread from parse to
        answer. A body that does not parse raises BadRequest from the thread, as it would
        on the loop (it takes a slot for the time it takes to parse).
        """
        reward = self.reward

        def work() -> tuple[Response, list[Score], float]:
            samples, step = parse()
            start = time.perf_counter()
            if step is not None:
                set_step(reward, step)
            scores = reward.score(samples) if samples else []
            seconds = time.perf_counter() - start
            if len(scores) != len(samples):  # a reward that broke the contract
                raise RuntimeError(
                    f"reward returned {len(scores)} scores for {len(samples)} samples"
                )
            return respond(scores), scores, seconds

        response, scores, seconds = await self.admission.run(work, size)
        self.metrics.scored(endpoint, scores, seconds)
        return response


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON answer serialised by orjson (anything it cannot encode becomes its ``str``)."""
    body = orjson.dumps(data, default=str, option=orjson.OPT_NON_STR_KEYS)
    return Response(body, status, headers, media_type="application/json")


def scores_response(scores: Sequence[Score]) -> Response:
    """``{"scores": [Score.to_dict(), ...]}``.

    orjson writes the Score dataclasses directly (their fields are the ``to_dict`` keys,
    the status enum becomes its value, ``ItemError`` its two fields), which is several
    times faster than building the dicts; anything it cannot write natively takes the
    ``to_dict`` path.
    """
    try:
        body = orjson.dumps({"scores": scores}, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:
        return json_response({"scores": [s.to_dict() for s in scores]})
    return Response(body, 200, media_type="application/json")
