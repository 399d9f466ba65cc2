"""What the server checks before a request reaches a route, and what it allows a connection.

``RequestGuard`` (ASGI middleware, in every app):

- ``Host`` must name this server as a browser would reach it directly: an IP address,
  ``localhost`` (or a name under it), or a name given in ``allowed_hosts`` (``*``: any).
  A DNS-rebinding page (``evil.example`` resolved to 127.0.0.1) sends its own name and
  gets 400.
- ``Origin``, which browsers send, must be the server's own (same scheme-less host and
  port as ``Host``) or name an allowed host: a page of another site gets 403.
- A POST must say ``Content-Type: application/json``: a browser sends anything else
  (``text/plain``, forms) cross-site without asking first; 415.
- The body must arrive within ``body_timeout_s`` of the request's head (408, and the
  connection is closed): a client that drips its body holds no slot for long.

``GuardedConfig`` (uvicorn's ``Config`` and the protocol below, as ``rewardsmith serve``
runs it; see ``serve.run.server_config``):

- a request head (request line and headers) must arrive within ``header_timeout_s`` of
  the connection opening or of the previous answer on it; else the connection is closed.
- a request head is at most ``max_head_bytes`` (431 and close): httptools, uvicorn's
  default parser, puts no bound on one.
- at most ``max_connections`` connections are open at once: one more is answered 503 and
  closed at once. Connections already open (a trainer's kept-alive pool) are still
  served.

A flood of new connections from many sources can still take every connection place for
``header_timeout_s`` at a time; a proxy in front is the place for rates per client.
"""

from __future__ import annotations

import asyncio
import ipaddress
import resource
from collections.abc import Iterable
from typing import Any

import uvicorn
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rewardsmith.serve.schemas import BadRequest, dump_json

__all__ = [
    "DEFAULT_MAX_CONNECTIONS",
    "JSON_TYPES",
    "GuardedConfig",
    "RequestGuard",
    "default_max_connections",
]

JSON_TYPES = frozenset({"application/json"})
"""The media types a POST may declare (parameters such as ``charset`` aside)."""
DEFAULT_MAX_CONNECTIONS = 1024


class RequestGuard:
    """Pure ASGI middleware: Host, Origin and Content-Type checks, and the body deadline."""

    def __init__(
        self, app: ASGIApp, *, allowed_hosts: Iterable[str] = (), body_timeout_s: float = 60.0
    ) -> None:
        self.app = app
        names = {h.strip().lower().rstrip(".") for h in allowed_hosts}
        self.any_host = "*" in names
        self.allowed = names - {"*"}
        self.body_timeout_s = body_timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = self._refusal(scope)
        if refusal is not None:
            status, message = refusal
            await _answer(send, status, message)
            return
        await self.app(scope, self._deadline(receive), send)

    def _refusal(self, scope: Scope) -> tuple[int, str] | None:
        host = origin = kind = None
        for name, value in scope["headers"]:
            if name == b"host":
                host = value.decode("latin-1")
            elif name == b"origin":
                origin = value.decode("latin-1")
            elif name == b"content-type":
                kind = value.decode("latin-1")
        if host is not None and not self._allowed(_hostname(host)):
            return 400, (
                f"Host {host!r} is not an address of this server; a server reached by name "
                "must be started with --allowed-host NAME (create_app(allowed_hosts=...))"
            )
        if origin is not None and not self._same_site(origin, host):
            return (
                403,
                f"Origin {origin!r} is another site: browsers' cross-site requests are refused",
            )
        if scope["method"] == "POST":
            media = (kind or "").partition(";")[0].strip().lower()
            if media not in JSON_TYPES:
                return 415, (
                    f"Content-Type {kind!r} is not accepted: send the body as application/json"
                )
        return None

    def _allowed(self, name: str) -> bool:
        if self.any_host or name in self.allowed:
            return True
        if name == "localhost" or name.endswith(".localhost"):
            return True  # browsers resolve these to loopback themselves
        try:
            ipaddress.ip_address(name)
        except ValueError:
            return False
        return True  # an address cannot be rebound to another server

    def _same_site(self, origin: str, host: str | None) -> bool:
        _, sep, netloc = origin.strip().lower().partition("://")
        if not sep or not netloc:  # "null": a sandboxed page or a file
            return False
        if host is not None and netloc == host.strip().lower():
            return True
        name = _hostname(netloc)
        return self.any_host or name in self.allowed

    def _deadline(self, receive: Receive) -> Receive:
        """``receive``, failing with 408 once the body has taken ``body_timeout_s``."""
        loop = asyncio.get_running_loop()
        end = loop.time() + self.body_timeout_s
        complete = False

        async def guarded() -> Message:
            nonlocal complete
            if complete:  # after the body: waiting for a disconnect is not reading
                return await receive()
            try:
                async with asyncio.timeout_at(end):
                    message = await receive()
            except TimeoutError:
                raise BadRequest(
                    408,
                    f"the body did not arrive within body_timeout_s={self.body_timeout_s:g}",
                ) from None
            if message["type"] != "http.request" or not message.get("more_body", False):
                complete = True
            return message

        return guarded


def _hostname(host: str) -> str:
    """The name in a Host header or an Origin's netloc, without port or brackets."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].partition("]")[0]
    if host.count(":") == 1:
        host = host.partition(":")[0]
    return host.rstrip(".")


async def _answer(send: Send, status: int, message: str) -> None:
    body = dump_json({"error": message, "problems": []})
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


# --- connections ---------------------------------------------------------------------------


def default_max_connections() -> int:
    """1024, or fewer where the process may open fewer files (each connection is one;
    scoring processes, pipes and files need some)."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return DEFAULT_MAX_CONNECTIONS
    return max(16, min(DEFAULT_MAX_CONNECTIONS, soft - 128))


class GuardedConfig(uvicorn.Config):
    """uvicorn's Config with the connection limits of ``_Limits`` (it travels, pickled,
    to each server process of ``--http-processes``)."""

    def __init__(
        self,
        app: Any,
        *,
        header_timeout_s: float = 10.0,
        max_connections: int | None = None,
        max_head_bytes: int = 64 * 1024,
        **options: Any,
    ) -> None:
        options.setdefault("http", guarded_protocol())
        options.setdefault("h11_max_incomplete_event_size", max_head_bytes)
        super().__init__(app, **options)
        self.header_timeout_s = header_timeout_s
        self.max_connections = (
            default_max_connections() if max_connections is None else max_connections
        )
        self.max_head_bytes = max_head_bytes


def _response(status: int, reason: str, message: str, extra: str = "") -> bytes:
    body = dump_json({"error": message, "problems": []})
    return (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\n{extra}connection: close\r\n\r\n"
    ).encode() + body


_TOO_MANY = _response(
    503, "Service Unavailable", "too many open connections; retry later", "retry-after: 1\r\n"
)
_HEAD_TOO_LARGE = _response(
    431, "Request Header Fields Too Large", "the request head is over the server's limit"
)


class _Limits:
    """Mixed into uvicorn's HTTP protocols: the head deadline, the head size cap and the
    connection cap, from a ``GuardedConfig`` (none of them with a plain Config)."""

    # what the protocol classes provide
    connections: set[Any]
    cycle: Any
    loop: asyncio.AbstractEventLoop
    transport: asyncio.Transport

    def __init__(self, config: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)  # type: ignore[call-arg]
        self._head_timeout_s: float | None = getattr(config, "header_timeout_s", None)
        self._max_connections: int | None = getattr(config, "max_connections", None)
        self._max_head_bytes: int | None = getattr(config, "max_head_bytes", None)
        self._head_timer: asyncio.TimerHandle | None = None
        self._head_bytes = 0
        self._in_head = False  # (httptools only: h11 bounds a head itself)
        self._refused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        if self._max_connections is not None and len(self.connections) > self._max_connections:
            self._refused = True
            self.transport.write(_TOO_MANY)
            self.transport.close()
            return
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)  # type: ignore[misc]

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        super().data_received(data)  # type: ignore[misc]
        if self._in_head and self._max_head_bytes is not None:
            self._head_bytes += len(data)
            if self._head_bytes > self._max_head_bytes and not self.transport.is_closing():
                self.transport.write(_HEAD_TOO_LARGE)
                self.transport.close()

    def on_response_complete(self) -> None:
        super().on_response_complete()  # type: ignore[misc]
        if not self.transport.is_closing():
            self._arm()  # the next request's head

    def _arm(self) -> None:
        self._disarm()
        if self._head_timeout_s is not None:
            self._head_timer = self.loop.call_later(self._head_timeout_s, self._head_late)

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_late(self) -> None:
        self._head_timer = None
        between = self.cycle is None or self.cycle.response_complete
        if between and not getattr(self, "pipeline", None) and not self.transport.is_closing():
            self.transport.close()  # no complete head in time: nothing to answer


from uvicorn.protocols.http.h11_impl import H11Protocol  # noqa: E402


class GuardedH11(_Limits, H11Protocol):
    """h11 with ``_Limits`` (h11 bounds a head at ``h11_max_incomplete_event_size``)."""


_GUARDED: type[asyncio.Protocol] = GuardedH11
try:
    import httptools  # noqa: F401
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # pragma: no cover - depends on the environment
    pass
else:

    class GuardedHttpTools(_Limits, HttpToolsProtocol):
        """httptools with ``_Limits``, and the head size counted from a message's first
        byte to the end of its headers."""

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._in_head = True
            self._head_bytes = 0

        def on_headers_complete(self) -> None:
            self._in_head = False
            super().on_headers_complete()

    _GUARDED = GuardedHttpTools


def guarded_protocol() -> type[asyncio.Protocol]:
    """uvicorn's own choice of HTTP protocol (httptools if installed, else h11), with
    ``_Limits``."""
    return _GUARDED
