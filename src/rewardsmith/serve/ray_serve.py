"""The reward server as a Ray Serve deployment (``rewardsmith serve --ray --replicas N``).

Each replica builds the same FastAPI app as ``rewardsmith serve`` (``create_app``) when
it starts, through Ray Serve's late-bound ingress, so the spec is loaded in the replica
and nothing unpicklable crosses the cluster. Ray's HTTP proxy spreads requests over the
replicas; token, body cap, deadline, back-pressure and metrics work per replica.

Example:
    >>> from ray import serve  # doctest: +SKIP
    >>> serve.run(deployment("math-r1", replicas=2), name="rewardsmith", route_prefix="/")  # doctest: +SKIP
"""

from __future__ import annotations

import functools
import signal
import threading
from pathlib import Path
from typing import Any

from rewardsmith.errors import MissingExtraError
from rewardsmith.serve.app import create_app
from rewardsmith.serve.run import tune_process

__all__ = ["deployment", "serve_on_ray"]

APP_NAME = "rewardsmith"


@functools.cache
def _server_class() -> Any:
    try:
        from ray import serve
    except ImportError:
        raise MissingExtraError("ray[serve]", "ray") from None

    @serve.ingress()
    class RewardServer:
        def __init__(self, spec: str, settings: dict[str, Any]) -> None:
            self.spec, self.settings = spec, settings

        def __serve_build_asgi_app__(self) -> Any:
            app = create_app(self.spec, **self.settings)
            tune_process()  # the replica is a process of its own, serving this app
            return app

    return RewardServer


def _portable(spec: str) -> str:
    """A spec file's absolute path (replicas start elsewhere), or the built-in name."""
    path = Path(spec)
    return str(path.resolve()) if path.exists() else spec


def deployment(spec: str, *, replicas: int = 1, **settings: Any) -> Any:
    """A bound Ray Serve application: ``replicas`` copies of ``create_app(spec, **settings)``."""
    from ray import serve

    create_app(spec, **settings)  # a bad spec fails here, once, not in every replica
    make: Any = serve.deployment  # its overloads do not type a class argument
    return make(_server_class(), name=APP_NAME, num_replicas=replicas).bind(
        _portable(spec), settings
    )


def serve_on_ray(
    spec: str,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    replicas: int = 1,
    address: str | None = None,
    **settings: Any,
) -> None:
    """Run the deployment until SIGTERM or Ctrl-C, then shut Ray Serve down."""
    import ray
    from ray import serve

    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False)
    serve.start(http_options={"host": host, "port": port})
    serve.run(deployment(spec, replicas=replicas, **settings), name=APP_NAME, route_prefix="/")
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    serve.shutdown()  # type: ignore[no-untyped-call]
