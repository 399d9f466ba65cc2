"""What keeps the server up under load: body size cap, admission control, deadlines, token.

- Body size: a ``Content-Length`` over ``max_body_bytes`` is refused before reading;
  a chunked body is counted while read and refused once it passes the cap (413).
- Admission: at most ``max_concurrency`` batches are scored at once, in the app's own
  thread pool or its scoring processes (scoring must not block the event loop; with
  processes, a slot is a batch handed to them), and at most
  ``max_queue`` more wait for a slot, holding at most ``max_pending_bytes`` of request
  bodies between them (one request is always let in, however big). Anything beyond
  that is refused at once with 503 and ``Retry-After``: the queue is bounded, never a
  growing backlog.
- Deadline: a request that is not answered within ``request_timeout_s`` (waiting and
  scoring together) gets 504. A thread cannot be killed, so a batch that overran keeps
  its slot until it really finishes: the slots always count the work actually running.
  Per-item limits (a math check that runs away) are the rewards' own and come back as
  ``status="timeout"`` items inside a 200.
- A scoring process that dies breaks its pool: Python's process pool then stops all its
  children and fails every batch it held, running or queued (``WorkerDied``, 500). The
  pool is replaced, and the next batch goes to new processes.
- Token: with a token set, every route but ``/health`` needs ``Authorization: Bearer``.
"""

from __future__ import annotations

import asyncio
import hmac
import time
from collections.abc import Callable
from concurrent.futures import BrokenExecutor, Executor, ThreadPoolExecutor
from typing import TypeVar

from starlette.requests import Request

from rewardsmith.serve.schemas import BadRequest

__all__ = ["Admission", "Busy", "DeadlineExceeded", "WorkerDied", "check_token", "read_body"]

T = TypeVar("T")


class Busy(Exception):
    """Every slot and every queue place is taken: answer 503 with Retry-After."""


class DeadlineExceeded(Exception):
    """The request ran past its deadline: answer 504."""


class WorkerDied(Exception):
    """A process of the executor died and broke it: answer 500 (the pool is replaced)."""


async def read_body(request: Request, max_bytes: int) -> bytes:
    """The request body, or BadRequest 413 as soon as it is known to exceed ``max_bytes``."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise BadRequest(413, f"body of {int(declared)} bytes is over the limit of {max_bytes}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise BadRequest(413, f"body is over the limit of {max_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


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
    """Bounded concurrency with a bounded wait queue, over one executor.

    ``executor`` makes it on first use (default: a pool of ``max_concurrency``
    threads), so an app that is built only to be checked starts nothing; a process pool
    that broke (a child died) is replaced by a new one from it.
    """

    def __init__(
        self,
        max_concurrency: int,
        max_queue: int,
        timeout_s: float,
        max_pending_bytes: int = 1 << 30,
        executor: Callable[[], Executor] | None = None,
    ) -> None:
        if max_concurrency < 1 or max_queue < 0:
            raise ValueError("max_concurrency must be >= 1 and max_queue >= 0")
        self.max_concurrency = max_concurrency
        self.max_queue = max_queue
        self.timeout_s = timeout_s
        self.max_pending_bytes = max_pending_bytes
        self.admitted = 0  # waiting + running (a batch past its deadline included)
        self.running = 0
        self.pending_bytes = 0
        self._slots: asyncio.Semaphore | None = None
        self._make = executor or (
            lambda: ThreadPoolExecutor(max_concurrency, thread_name_prefix="rewardsmith-score")
        )
        self._renewable = executor is not None  # a thread pool does not break
        self._pool: Executor | None = None

    @property
    def pool(self) -> Executor:
        if self._pool is None:
            self._pool = self._make()
        return self._pool

    async def run(self, fn: Callable[[], T], size: int = 0) -> T:
        """Run ``fn`` (holding ``size`` bytes) in the pool once a slot is free.

        Raises Busy when the queue is full, DeadlineExceeded past ``timeout_s``.
        """
        if self.admitted >= self.max_concurrency + self.max_queue or (
            self.admitted and self.pending_bytes + size > self.max_pending_bytes
        ):
            raise Busy()
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.max_concurrency)
        slots = self._slots
        self.admitted += 1
        self.pending_bytes += size
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

        loop = asyncio.get_running_loop()
        try:
            pool = self.pool
            try:
                future = loop.run_in_executor(pool, fn)
            except BrokenExecutor:  # a child died between batches: this one goes to a new pool
                if not self._renewable:
                    raise
                pool = self._renew(pool)
                future = loop.run_in_executor(pool, fn)
        except BaseException:
            _done()
            raise
        future.add_done_callback(_done)
        try:
            return await asyncio.wait_for(
                asyncio.shield(future), max(0.0, deadline - time.monotonic())
            )
        except TimeoutError:
            raise DeadlineExceeded() from None
        except BrokenExecutor as exc:
            if not self._renewable:  # a reward's own pool broke, in a thread: its error
                raise
            self._renew(pool)
            raise WorkerDied(str(exc)) from None

    def _renew(self, broken: Executor) -> Executor:
        if self._pool is broken:
            broken.shutdown(wait=False, cancel_futures=True)
            self._pool = self._make()
        return self.pool

    def close(self) -> None:
        """Stop the executor without waiting; the next ``run`` makes a new one."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool = None
        self._slots = None
