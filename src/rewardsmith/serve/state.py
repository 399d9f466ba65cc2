"""What every route of one app shares: its scoring, its limits, its metrics.

``ServeState.handle`` is the single path from a request body to an answer: admission
(bounded slots and queue), the executor (the app's threads or its scoring processes, see
``serve.scoring``), the deadline, and metrics.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from rewardsmith.serve.limits import Admission, check_token, read_body
from rewardsmith.serve.metrics import Metrics, Tally
from rewardsmith.serve.schemas import dump_json
from rewardsmith.serve.scoring import Scoring

__all__ = ["ServeState", "json_response"]


@dataclass
class ServeState:
    """One app's scoring, settings and counters."""

    scoring: Scoring
    run: Callable[[str, bytes, int | None, float | None], tuple[bytes, Tally]]
    """``scoring.run``, or ``serve.scoring.run_in_child`` with scoring processes."""
    spec: dict[str, Any]
    token: str | None
    max_body_bytes: int
    admission: Admission
    retry_after_s: int
    score_processes: int = 0
    """Child processes that score (0: the app's threads)."""
    metrics: Metrics = field(init=False)
    last_step: int | None = field(init=False, default=None)
    """The step of the latest batch that named one, sent along with every batch."""

    def __post_init__(self) -> None:
        self.metrics = Metrics(lambda: float(self.admission.admitted))

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
        hold = self.admission.hold()
        try:
            body = await read_body(request, self.max_body_bytes, hold)
            work = partial(self.run, endpoint, body, self.last_step)
            answer, tally = await self.admission.run(work, hold)
        finally:
            hold.release()  # (nothing, once the batch has taken it over)
        if tally.step is not None:
            self.last_step = tally.step
        self.metrics.scored(endpoint, tally)
        return Response(answer, 200, media_type="application/json")


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON answer serialised by orjson (anything it cannot encode becomes its ``str``)."""
    return Response(dump_json(data), status, headers, media_type="application/json")
