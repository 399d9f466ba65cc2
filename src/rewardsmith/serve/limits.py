"""What keeps the server up under load: body size cap, memory budget, admission control,
deadlines, token.

- Body size: a ``Content-Length`` over ``max_body_bytes`` is refused before reading;
  a chunked body is counted while read and refused once it passes the cap (413).
- Memory budget: a body is charged what it may become once parsed and scored, not its
  bytes (``estimate``: 5 bytes per byte, 1.5 KiB per ``{`` or ``[``, 128 bytes per
  ``,``). 2.2 MB of empty samples become ~150 MB of Python objects; each shape measured
  stayed under its charge. The charge grows chunk by chunk *while the body is read*,
  and is held until the batch has finished (a batch past its deadline included).
  Requests reading, waiting and running hold at most ``max_pending_bytes`` together:
  a chunk that would pass it gets 503 with ``Retry-After``, and a body whose own charge
  passes it can never fit, so it gets 413.
- Admission: at most ``max_concurrency`` batches are scored at once, in the app's own
  thread pool or its scoring processes (scoring must not block the event loop; with
  processes, a slot is a batch handed to them), and at most ``max_queue`` more wait for
  a slot. Anything beyond that is refused at once with 503 and ``Retry-After``: the
  queue is bounded, never a growing backlog.
- Deadline: a request that is not answered within ``request_timeout_s`` (waiting and
  scoring together) gets 504, and its batch is abandoned: one still waiting never
  starts, one scoring stops at its next item (``serve.scoring``). A batch whose item
  never returns keeps its slot in a thread (a thread cannot be killed); in a scoring
  process it is killed once the batch itself has run ``request_timeout_s``, and a new
  process takes its place. The slots always count the work actually running.
- Token: with a token set, every route but ``/health`` needs ``Authorization: Bearer``.
"""

from __future__ import annotations

import asyncio
import hmac
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Protocol, TypeVar

from starlette.requests import Request

from rewardsmith.serve.schemas import BadRequest

__all__ = [
    "Admission",
    "Busy",
    "DeadlineExceeded",
    "Hold",
    "Runner",
    "WorkerDied",
    "check_token",
    "estimate",
    "read_body",
]

T = TypeVar("T")

PER_BYTE = 5
"""Charge per body byte: the body itself, and a string decoded to Python can take 4 bytes
a character."""
PER_CONTAINER = 1536
"""Charge per ``{`` or ``[``: a sample, its Score and its answer took ~1.25 KiB."""
PER_COMMA = 128
"""Charge per ``,``: a number or short string in a list took up to ~80 bytes."""
_NOT_COUNTED = bytes(c for c in range(256) if c not in b"{[,")


def estimate(chunk: bytes) -> int:
    """The memory ``chunk`` of a body may take once parsed and scored, in bytes; additive
    over the chunks of a body (``{``, ``[`` and ``,`` are counted inside strings too, which
    only overcharges).

    Measured on 20 MB bodies (the body and what parsing and scoring it added to the peak,
    in threads, ``math-r1`` or a trivial reward) against their charge: empty samples
    1.35 GB (charged 1.94 GB), samples with trainer aliases 1.60 GB (2.18 GB), lists of
    empty lists 0.51 GB (10 GB), of one-letter strings 0.39 GB (0.74 GB), of numbers up
    to 0.34 GB (0.61 GB), long strings with an emoji 86 MB (0.10 GB), the bundled rollouts
    60 MB (0.16 GB). With scoring processes the body is also copied through the pipe and
    into the child (up to 3 more times its size, not charged).
    """
    kept = chunk.translate(None, _NOT_COUNTED)
    commas = kept.count(b",")
    return PER_BYTE * len(chunk) + PER_CONTAINER * (len(kept) - commas) + PER_COMMA * commas


class Busy(Exception):
    """Every slot and queue place, or the memory budget, is taken: answer 503 with
    Retry-After."""


class DeadlineExceeded(Exception):
    """The request ran past its deadline: answer 504."""


class WorkerDied(Exception):
    """The scoring process running a batch died: answer 500 (a new one takes its place)."""


class Runner(Protocol):
    """Where batches run: a thread pool, or ``serve.scoring.ChildPool``. ``submit(fn,
    deadline)`` runs ``fn(deadline)``; a future cancelled before it starts never runs."""

    def submit(self, fn: Callable[[float], Any], deadline: float, /) -> Future[Any]: ...

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None: ...


class Hold:
    """The share of the memory budget one request holds: grown while its body is read,
    handed to its batch at admission, released when the batch ends."""

    __slots__ = ("_admission", "bytes")

    def __init__(self, admission: Admission) -> None:
        self._admission = admission
        self.bytes = 0

    def grow(self, n: int) -> None:
        """Hold ``n`` more bytes; Busy if the budget has no room for them."""
        a = self._admission
        if a.pending_bytes + n > a.max_pending_bytes:
            raise Busy()
        a.pending_bytes += n
        self.bytes += n

    def release(self) -> None:
        """Give back what is held (nothing once a batch has taken it over)."""
        self._admission.pending_bytes -= self.bytes
        self.bytes = 0

    def _take(self) -> int:
        held, self.bytes = self.bytes, 0
        return held


async def read_body(request: Request, max_bytes: int, hold: Hold) -> bytes:
    """The request body, charged to ``hold`` chunk by chunk as it arrives.

    Raises:
        BadRequest: 413 as soon as the body is known to exceed ``max_bytes``, or its
            charge to exceed the whole budget.
        Busy: the budget has no room for the next chunk.
    """
    a = hold._admission
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit():
        size = int(declared)
        if size > max_bytes:
            raise BadRequest(413, f"body of {size} bytes is over the limit of {max_bytes}")
        if PER_BYTE * size > a.max_pending_bytes:
            raise _too_large(size, PER_BYTE * size, a.max_pending_bytes)
        if a.pending_bytes + PER_BYTE * size > a.max_pending_bytes:
            raise Busy()  # it could not fit now: refused before it is sent
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise BadRequest(413, f"body is over the limit of {max_bytes} bytes")
        charge = estimate(chunk)
        if hold.bytes + charge > a.max_pending_bytes:
            raise _too_large(size, hold.bytes + charge, a.max_pending_bytes)
        hold.grow(charge)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(size: int, charge: int, budget: int) -> BadRequest:
    return BadRequest(
        413,
        f"a body of {size} bytes or more takes an estimated {charge} bytes or more once "
        f"parsed (5 per byte, 1536 per '{{' or '[', 128 per ','), over "
        f"max_pending_bytes={budget}: send fewer items per request",
    )


def check_token(request: Request, token: str | None) -> None:
    """BadRequest 401 unless the request carries ``Authorization: Bearer <token>``."""
    if token is None:
        return
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        given.strip().encode(), token.encode()
    ):
        raise BadRequest(401, "missing or wrong bearer token (send Authorization: Bearer <token>)")


class Admission:
    """Bounded concurrency with a bounded wait queue and a memory budget, over one runner.

    ``executor`` makes the runner on first use (default: a pool of ``max_concurrency``
    threads), so an app that is built only to be checked starts nothing.
    """

    def __init__(
        self,
        max_concurrency: int,
        max_queue: int,
        timeout_s: float,
        max_pending_bytes: int = 1 << 30,
        executor: Callable[[], Runner] | None = None,
    ) -> None:
        if max_concurrency < 1 or max_queue < 0:
            raise ValueError("max_concurrency must be >= 1 and max_queue >= 0")
        self.max_concurrency = max_concurrency
        self.max_queue = max_queue
        self.timeout_s = timeout_s
        self.max_pending_bytes = max_pending_bytes
        self.admitted = 0  # waiting + running (a batch past its deadline included)
        self.running = 0
        self.pending_bytes = 0  # charged to bodies being read, waiting and running
        self._slots: asyncio.Semaphore | None = None
        self._make: Callable[[], Runner] = executor or (
            lambda: ThreadPoolExecutor(max_concurrency, thread_name_prefix="rewardsmith-score")
        )
        self._pool: Runner | None = None

    @property
    def pool(self) -> Runner:
        if self._pool is None:
            self._pool = self._make()
        return self._pool

    def hold(self) -> Hold:
        """A new, empty share of the memory budget, for one request."""
        return Hold(self)

    async def run(self, fn: Callable[[float], T], hold: Hold | None = None) -> T:
        """Run ``fn(deadline)`` in the pool once a slot is free; the batch takes over what
        ``hold`` holds and gives it back when it ends.

        Raises Busy when the queue is full, DeadlineExceeded past ``timeout_s``, and what
        ``fn`` raises (WorkerDied when its scoring process died).
        """
        if self.admitted >= self.max_concurrency + self.max_queue:
            raise Busy()
        size = hold._take() if hold is not None else 0
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.max_concurrency)
        slots = self._slots
        self.admitted += 1
        deadline = time.monotonic() + self.timeout_s
        try:
            await asyncio.wait_for(slots.acquire(), self.timeout_s)
        except BaseException as exc:
            self.admitted -= 1
            self.pending_bytes -= size
            if isinstance(exc, TimeoutError):
                raise DeadlineExceeded() from None
            raise
        self.running += 1

        def _done(future: asyncio.Future[T] | None = None) -> None:
            if future is not None and not future.cancelled():
                future.exception()  # retrieved: a batch past its deadline may fail unread
            self.running -= 1
            self.admitted -= 1
            self.pending_bytes -= size
            slots.release()

        try:
            work: Future[T] = self.pool.submit(fn, deadline)
        except BaseException:
            _done()
            raise
        future = asyncio.wrap_future(work)
        future.add_done_callback(_done)
        try:
            return await asyncio.wait_for(
                asyncio.shield(future), max(0.0, deadline - time.monotonic())
            )
        except TimeoutError:
            work.cancel()  # still waiting for a scoring process: it never starts
            raise DeadlineExceeded() from None

    def close(self) -> None:
        """Stop the runner without waiting; the next ``run`` makes a new one."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool = None
        self._slots = None
