"""What the remote backends share: one HTTP call with a deadline, retries and a size cap.

``HTTPCaller`` sends one JSON request under the rules every remote model call keeps: a
deadline (retries and waits included), at most ``max_concurrency`` requests in flight,
408/425/429/5xx and connection errors retried with jittered exponential backoff (an
answer's ``Retry-After`` honoured; a wait that would pass the deadline not made), and a
reply read up to ``max_reply_bytes``. ``guard`` turns what still fails into a
``ModelError`` for that item alone; ``run_sync`` runs a coroutine from sync code, on a
private event-loop thread when a loop is already running; ``decode_json``, ``at_path`` and
``finite`` read replies strictly (a server is not trusted to be well behaved).
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import math
import random
import threading
import time
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Coroutine,
    Iterable,
    Mapping,
)
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import orjson

from rewardsmith.core.reward import is_strict
from rewardsmith.errors import ConfigError, MissingExtraError, RewardsmithError, brief
from rewardsmith.models.base import ModelError, Result, Unsupported

try:
    import httpx2
except ImportError:  # pragma: no cover - depends on the environment
    raise MissingExtraError("httpx2", "judge") from None

__all__ = [
    "MAX_REPLY_BYTES",
    "BadReply",
    "HTTPCaller",
    "HTTPError",
    "RemoteError",
    "at_path",
    "decode_json",
    "finite",
    "gather_all",
    "guard",
    "run_sync",
]

T = TypeVar("T")
MAX_REPLY_BYTES = 32 * 1024 * 1024
"""The most bytes read from one reply before the item fails."""
_SNIPPET = 300
_sleep = asyncio.sleep  # the retry waits (tests record them)


class RemoteError(RewardsmithError):
    """A model server's answer could not be used."""


class BadReply(RemoteError):
    """The server answered, but not with what its protocol says (not JSON, wrong shape,
    non-finite numbers, too large)."""


class HTTPError(RemoteError):
    """The server answered with an error status (after any retries)."""

    def __init__(self, status: int, url: str, content: bytes) -> None:
        self.status = status
        super().__init__(f"HTTP {status} from POST {url}: {_error_text(content)}")


def finite(value: object, where: str) -> float:
    """``value`` as a float if it is a finite JSON number; else ``BadReply`` naming ``where``."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if math.isfinite(number):
            return number
    raise BadReply(f"{where} is {brief(value)}, not a finite number")


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to the end from synchronous code: with ``asyncio.run`` when no event
    loop runs in this thread, else on a private thread with its own loop (blocking the
    caller until it ends; async code should await the ``a*`` methods instead)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        running = False
    else:
        running = True
    if not running:
        return asyncio.run(coro)
    box: list[Any] = []

    def target() -> None:
        try:
            box.append((True, asyncio.run(coro)))
        except BaseException as exc:  # handed to the caller's thread
            box.append((False, exc))

    thread = threading.Thread(target=target, name="rewardsmith-model-call", daemon=True)
    thread.start()
    thread.join()
    ok, value = box[0]
    if not ok:
        raise value
    return value  # type: ignore[no-any-return]


class HTTPCaller:
    """POSTs JSON with a deadline, bounded concurrency and retries (shared by the remote
    backends; see the module docstring for the policy).

    Args:
        timeout_s: the deadline of one request, its retries and waits included.
        max_concurrency: requests in flight at once within one call.
        retries: retries after the first attempt.
        backoff_s: the first retry's wait; it doubles each retry (with jitter), at most
            ``max_backoff_s``.
        headers: sent with every request.
        transport: an ``httpx2`` async transport (tests use ``httpx2.MockTransport``).
        max_reply_bytes: the most bytes read from one reply.
    """

    def __init__(
        self,
        *,
        timeout_s: float = 60.0,
        max_concurrency: int = 16,
        retries: int = 4,
        backoff_s: float = 0.5,
        max_backoff_s: float = 30.0,
        headers: Mapping[str, str] | None = None,
        transport: httpx2.AsyncBaseTransport | None = None,
        max_reply_bytes: int = MAX_REPLY_BYTES,
    ) -> None:
        problems = [
            f"{name} must be {rule} (got {value!r})"
            for name, value, ok, rule in [
                ("timeout_s", timeout_s, timeout_s > 0, "> 0"),
                ("max_concurrency", max_concurrency, max_concurrency >= 1, ">= 1"),
                ("retries", retries, retries >= 0, ">= 0"),
                ("backoff_s", backoff_s, backoff_s >= 0, ">= 0"),
                ("max_reply_bytes", max_reply_bytes, max_reply_bytes >= 1, ">= 1"),
            ]
            if not ok
        ]
        if problems:
            raise ConfigError("; ".join(problems))
        self.timeout_s = float(timeout_s)
        self.max_concurrency = max_concurrency
        self.retries = retries
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.headers = {"content-type": "application/json", **dict(headers or {})}
        self.transport = transport
        self.max_reply_bytes = max_reply_bytes

    @asynccontextmanager
    async def session(self) -> AsyncIterator[Callable[[str, Mapping[str, Any]], Awaitable[Any]]]:
        """A connection pool for one call: yields ``post(url, body) -> parsed JSON``."""
        timeout = httpx2.Timeout(self.timeout_s, connect=min(self.timeout_s, 10.0))
        limits = httpx2.Limits(max_connections=self.max_concurrency)
        slots = asyncio.Semaphore(self.max_concurrency)
        async with httpx2.AsyncClient(
            timeout=timeout, limits=limits, headers=self.headers, transport=self.transport
        ) as client:

            async def post(url: str, body: Mapping[str, Any]) -> Any:
                content = orjson.dumps(body, default=str)
                async with slots:
                    return decode_json(await self._with_deadline(client, url, content))

            yield post

    async def _with_deadline(self, client: httpx2.AsyncClient, url: str, content: bytes) -> bytes:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout_s
        last: list[str] = []
        try:
            async with asyncio.timeout_at(deadline):
                return await self._attempts(client, url, content, deadline, last)
        except TimeoutError:
            if loop.time() < deadline:  # gave up early: a wait would pass the deadline
                raise
            note = f" (last: {last[-1]})" if last else ""
            raise TimeoutError(
                f"no complete answer from POST {url} within {self.timeout_s:g} s{note}"
            ) from None

    async def _attempts(
        self, client: httpx2.AsyncClient, url: str, content: bytes, deadline: float, last: list[str]
    ) -> bytes:
        loop = asyncio.get_running_loop()
        for attempt in range(self.retries + 1):
            wait: float | None = None
            try:
                status, headers, body = await self._send(client, url, content)
            except httpx2.TransportError as exc:
                error: Exception = exc
            else:
                if status < 400:
                    return body
                error = HTTPError(status, url, body)
                if status in (404, 405, 501):
                    raise Unsupported(
                        f"{error}: the server does not serve this route or model; check the "
                        "URL (an OpenAI base URL ends with /v1) and the model name"
                    )
                if not _retryable(status):
                    raise error
                wait = _retry_after(headers)
            last.append(f"{type(error).__name__}: {error}"[:_SNIPPET])
            if attempt == self.retries:
                raise error
            if wait is None:
                wait = min(self.backoff_s * 2.0**attempt, self.max_backoff_s)
                wait *= 0.5 + random.random() / 2  # jitter: clients that failed together part
            if loop.time() + wait > deadline:
                raise TimeoutError(
                    f"a retry of POST {url} in {wait:.3g} s would pass the {self.timeout_s:g} s "
                    f"deadline (last: {last[-1]})"
                )
            await _sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _send(
        self, client: httpx2.AsyncClient, url: str, content: bytes
    ) -> tuple[int, httpx2.Headers, bytes]:
        async with client.stream("POST", url, content=content) as response:
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > self.max_reply_bytes:
                raise BadReply(self._too_large(url, f"{int(declared)} bytes declared"))
            chunks, size = [], 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > self.max_reply_bytes:
                    raise BadReply(self._too_large(url, "read so far"))
                chunks.append(chunk)
            return response.status_code, response.headers, b"".join(chunks)

    def _too_large(self, url: str, what: str) -> str:
        return f"the reply to POST {url} is larger than {self.max_reply_bytes} bytes ({what})"


def _retryable(status: int) -> bool:
    return status in (408, 425, 429) or status >= 500


def _retry_after(headers: httpx2.Headers) -> float | None:
    value = headers.get("retry-after", "").strip()
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


def decode_json(content: bytes) -> Any:
    """Parse a reply; ``BadReply`` (quoting its start) when it is not JSON. ``NaN`` and
    ``Infinity`` parse (to be refused where a number is read), so one bad number fails
    only its item."""
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError as exc:
        try:  # the stdlib reads NaN/Infinity, which Python servers write
            return json.loads(content)
        except (ValueError, RecursionError):
            raise BadReply(f"the reply is not JSON ({exc}): {_quote(content)}") from None


def _quote(content: bytes) -> str:
    text = content[:_SNIPPET].decode("utf-8", "replace")
    return repr(text) + ("..." if len(content) > _SNIPPET else "")


def _error_text(content: bytes) -> str:
    """The message of an error reply (OpenAI's ``error.message``, FastAPI's ``detail``)."""
    try:
        body = orjson.loads(content)
    except orjson.JSONDecodeError:
        return _quote(content)
    if isinstance(body, dict):
        error = body.get("error")
        for value in (
            error.get("message") if isinstance(error, dict) else error,
            body.get("detail"),
            body.get("message"),
        ):
            if value:
                return str(value)[:_SNIPPET]
    return _quote(content)


def at_path(data: Any, *path: str | int) -> Any:
    """``data[path[0]][path[1]]...``; ``BadReply`` naming the first step that is missing."""
    where = "reply"
    for step in path:
        ok = (isinstance(step, str) and isinstance(data, dict) and step in data) or (
            isinstance(step, int) and isinstance(data, list) and -len(data) <= step < len(data)
        )
        if not ok:
            raise BadReply(f"{where} has no {step!r} (it is {brief(data)})")
        data = data[step]
        where = f"{where}[{step!r}]"
    return data


async def gather_all(coros: Iterable[Awaitable[T]]) -> list[T]:
    """``asyncio.gather``, but an exception (``Unsupported``) cancels the others."""
    tasks = [asyncio.ensure_future(c) for c in coros]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


async def guard(coro: Awaitable[T]) -> Result[T]:
    """``coro``'s value, or a ``ModelError`` for a per-item failure. ``Unsupported`` (the
    server cannot do it at all) propagates; in strict mode everything unexpected does."""
    try:
        return await coro
    except Unsupported:
        raise
    except (TimeoutError, httpx2.TimeoutException) as exc:
        return ModelError.of(exc, timeout=True)
    except (RemoteError, httpx2.HTTPError) as exc:
        return ModelError.of(exc)
    except Exception as exc:
        if is_strict():
            raise
        return ModelError.of(exc)
