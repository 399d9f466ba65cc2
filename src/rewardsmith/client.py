"""Clients for the reward server (``rewardsmith serve``): ``Client`` and ``AsyncClient``.

Both speak the server's routes (``score``, ``get_reward``, ``health``, ``rewards``) over
one kept-alive httpx connection pool, send the bearer token when given, and retry with
exponential backoff (``backoff_s``, doubling, capped at ``max_backoff_s``, with jitter)
on what a retry can fix: a connection refused, reset or dropped (a server restarting),
a timeout, 503 (honouring ``Retry-After``) and other 5xx answers. Scoring is
deterministic, so a retried batch gets the same scores. A 4xx is the request's fault
and raises ``ServerError`` at once with the server's message. After ``retries`` retries
the last error is raised.

Needs ``httpx`` (the ``[serve]`` or ``[judge]`` extra).

Example:
    >>> with Client("http://127.0.0.1:8000") as client:  # doctest: +SKIP
    ...     scores = client.score([Sample(prompt="2+2?", completion="<think>..</think><answer>4</answer>", reference="4")])
    ...     scores[0].value
    1.0
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from rewardsmith.core import ItemError, Sample, Score, Status
from rewardsmith.errors import MissingExtraError, RewardsmithError

try:
    import httpx
except ImportError:  # pragma: no cover - depends on the environment
    raise MissingExtraError("httpx", "serve") from None

__all__ = ["AsyncClient", "Client", "ServerError"]

SampleLike = Sample | Mapping[str, Any]


class ServerError(RewardsmithError):
    """The server answered with an error: ``status`` and its ``message``/``problems``."""

    def __init__(self, status: int, message: str, problems: Sequence[str] = ()) -> None:
        self.status = status
        self.message = message
        self.problems = list(problems)
        super().__init__(f"HTTP {status}: {message}")


class _Base:
    def __init__(
        self,
        base_url: str,
        *,
        token: str | None,
        timeout: float,
        retries: int,
        backoff_s: float,
        max_backoff_s: float,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.retries = retries
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self._headers = {"content-type": "application/json"}
        if token:
            self._headers["authorization"] = f"Bearer {token}"
        self._timeout = httpx.Timeout(timeout, connect=min(timeout, 10.0))

    def _wait(self, attempt: int, response: httpx.Response | None) -> float:
        """Seconds before retry ``attempt`` (0-based): Retry-After, else backoff with jitter."""
        if response is not None:
            after = response.headers.get("retry-after", "")
            try:
                return min(max(float(after), 0.0), self.max_backoff_s)
            except ValueError:
                pass
        delay = min(self.backoff_s * 2.0**attempt, self.max_backoff_s)
        return delay * (0.5 + random.random() / 2)

    @staticmethod
    def _retryable(response: httpx.Response) -> bool:
        return response.status_code >= 500

    @staticmethod
    def _result(response: httpx.Response) -> Any:
        if response.status_code >= 400:
            try:
                body = orjson.loads(response.content)
                message, problems = str(body.get("error", body)), body.get("problems") or []
            except (orjson.JSONDecodeError, AttributeError):
                message, problems = response.text[:500], []
            raise ServerError(response.status_code, message, problems)
        return orjson.loads(response.content)


_RETRY_ERRORS = (httpx.TransportError,)  # connect/read/write errors, timeouts, dropped peers


class Client(_Base):
    """A synchronous client. Use as a context manager, or call ``close()``.

    Args:
        base_url: ``http://host:port`` of the server.
        token: the server's bearer token, if it has one.
        timeout: seconds for one HTTP attempt.
        retries: retries after the first attempt (connection errors, 503, 5xx).
        backoff_s: first retry delay; doubles each retry, capped at ``max_backoff_s``.
        transport: an httpx transport (tests use ``httpx.MockTransport``).
    """

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        timeout: float = 180.0,
        retries: int = 8,
        backoff_s: float = 0.25,
        max_backoff_s: float = 5.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(
            base_url,
            token=token,
            timeout=timeout,
            retries=retries,
            backoff_s=backoff_s,
            max_backoff_s=max_backoff_s,
        )
        self._http = httpx.Client(timeout=self._timeout, headers=self._headers, transport=transport)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _request(self, method: str, path: str, body: bytes | None = None) -> Any:
        url = self.base_url + path
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            try:
                response = self._http.request(method, url, content=body)
            except _RETRY_ERRORS:
                if last:
                    raise
                time.sleep(self._wait(attempt, None))
                continue
            if self._retryable(response) and not last:
                time.sleep(self._wait(attempt, response))
                continue
            return self._result(response)
        raise AssertionError("unreachable")  # pragma: no cover

    def score(self, samples: Sequence[SampleLike], *, step: int | None = None) -> list[Score]:
        """One Score per sample, in order (``POST /score``)."""
        reply = self._request("POST", "/score", encode_samples(samples, step))
        return [score_from_dict(s) for s in reply["scores"]]

    def get_reward(
        self, queries: Sequence[str], prompts: Sequence[str], labels: Sequence[Any] | None = None
    ) -> dict[str, Any]:
        """OpenRLHF's protocol (``POST /get_reward``): rewards, scores, extra_logs."""
        body = orjson.dumps({"query": queries, "prompts": prompts, "labels": labels}, default=str)
        reply: dict[str, Any] = self._request("POST", "/get_reward", body)
        return reply

    def health(self) -> dict[str, Any]:
        reply: dict[str, Any] = self._request("GET", "/health")
        return reply

    def rewards(self) -> dict[str, Any]:
        """The server's catalog and loaded spec (``GET /rewards``)."""
        reply: dict[str, Any] = self._request("GET", "/rewards")
        return reply


class AsyncClient(_Base):
    """The same as ``Client``, for asyncio code (``async with AsyncClient(url) as c``)."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        timeout: float = 180.0,
        retries: int = 8,
        backoff_s: float = 0.25,
        max_backoff_s: float = 5.0,
        max_connections: int = 100,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(
            base_url,
            token=token,
            timeout=timeout,
            retries=retries,
            backoff_s=backoff_s,
            max_backoff_s=max_backoff_s,
        )
        limits = httpx.Limits(max_connections=max_connections)
        self._http = httpx.AsyncClient(
            timeout=self._timeout, headers=self._headers, limits=limits, transport=transport
        )

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _request(self, method: str, path: str, body: bytes | None = None) -> Any:
        url = self.base_url + path
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            try:
                response = await self._http.request(method, url, content=body)
            except _RETRY_ERRORS:
                if last:
                    raise
                await asyncio.sleep(self._wait(attempt, None))
                continue
            if self._retryable(response) and not last:
                await asyncio.sleep(self._wait(attempt, response))
                continue
            return self._result(response)
        raise AssertionError("unreachable")  # pragma: no cover

    async def score(self, samples: Sequence[SampleLike], *, step: int | None = None) -> list[Score]:
        """One Score per sample, in order (``POST /score``)."""
        reply = await self._request("POST", "/score", encode_samples(samples, step))
        return [score_from_dict(s) for s in reply["scores"]]

    async def get_reward(
        self, queries: Sequence[str], prompts: Sequence[str], labels: Sequence[Any] | None = None
    ) -> dict[str, Any]:
        """OpenRLHF's protocol (``POST /get_reward``): rewards, scores, extra_logs."""
        body = orjson.dumps({"query": queries, "prompts": prompts, "labels": labels}, default=str)
        reply: dict[str, Any] = await self._request("POST", "/get_reward", body)
        return reply

    async def health(self) -> dict[str, Any]:
        reply: dict[str, Any] = await self._request("GET", "/health")
        return reply

    async def rewards(self) -> dict[str, Any]:
        reply: dict[str, Any] = await self._request("GET", "/rewards")
        return reply


def sample_to_dict(sample: SampleLike) -> dict[str, Any]:
    """The JSON form of a Sample for ``POST /score`` (a mapping is sent as it is)."""
    if not isinstance(sample, Sample):
        return dict(sample)
    out: dict[str, Any] = {"prompt": sample.prompt, "completion": sample.completion}
    if sample.reference is not None:
        out["reference"] = sample.reference
    if sample.group is not None:
        out["group"] = sample.group
    if sample.meta:
        out["meta"] = dict(sample.meta)
    if sample.tokens is not None:
        t = sample.tokens
        out["tokens"] = {"ids": list(t.ids), "logprobs": t.logprobs, "entropies": t.entropies}
    return out


def encode_samples(samples: Sequence[SampleLike], step: int | None = None) -> bytes:
    body: dict[str, Any] = {"samples": [sample_to_dict(s) for s in samples]}
    if step is not None:
        body["step"] = step
    return orjson.dumps(body, default=str)


def score_from_dict(data: Mapping[str, Any]) -> Score:
    """A Score from its ``to_dict`` form."""
    error = data.get("error")
    return Score(
        data.get("value"),
        Status(data.get("status", "ok")),
        dict(data.get("parts") or {}),
        dict(data.get("info") or {}),
        None if not error else ItemError(str(error.get("type")), str(error.get("message"))),
    )
