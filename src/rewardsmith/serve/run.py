"""Running the app under uvicorn: one process, or ``http_processes`` processes on one port.

With one process the app object is served directly. With several, uvicorn starts each
process from an import string, so the settings travel in the environment
(``REWARDSMITH_SERVE_CONFIG``, JSON) and ``app_from_env`` builds the app in each one.
SIGTERM or SIGINT stops accepting connections and lets the requests in flight finish
(up to ``graceful_timeout_s``) before the process exits.

uvicorn runs with ``server_config``: a request head must arrive within
``header_timeout_s`` and be at most ``max_head_bytes``, and at most ``max_connections``
connections are open at once (``serve.guard``). Serving ``create_app(...)`` under your
own uvicorn, build its Config with ``server_config`` for the same limits.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import json
import os
import sys
from typing import Any

import uvicorn
from fastapi import FastAPI

from rewardsmith.serve.app import create_app
from rewardsmith.serve.guard import GuardedConfig

__all__ = ["CONFIG_ENV", "app_from_env", "serve", "server_config", "tune_process"]

CONFIG_ENV = "REWARDSMITH_SERVE_CONFIG"


def serve(
    spec: str,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    http_processes: int = 1,
    graceful_timeout_s: float = 30.0,
    access_log: bool = False,
    log_level: str = "info",
    header_timeout_s: float = 10.0,
    max_connections: int | None = None,
    **settings: Any,
) -> None:
    """Serve ``spec`` until SIGTERM/SIGINT; ``settings`` are ``create_app``'s keywords,
    the others ``server_config``'s."""
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "graceful_timeout_s": graceful_timeout_s,
        "access_log": access_log,
        "log_level": log_level,
        "header_timeout_s": header_timeout_s,
        "max_connections": max_connections,
    }
    if http_processes == 1:
        app = create_app(spec, **settings)
        tune_process()
        config = server_config(app, **options)
        server = uvicorn.Server(config)
        with contextlib.suppress(KeyboardInterrupt):
            server.run()
        if not server.started:  # as uvicorn.run: the port was taken, or startup failed
            sys.exit(_STARTUP_FAILURE)
        return
    create_app(spec, **settings)  # a bad spec fails here, once, not in every process
    os.environ[CONFIG_ENV] = json.dumps({"spec": spec, **settings})
    config = server_config(
        "rewardsmith.serve.run:app_from_env", factory=True, workers=http_processes, **options
    )
    from uvicorn.supervisors import Multiprocess

    with contextlib.suppress(KeyboardInterrupt):
        Multiprocess(config, sockets=[config.bind_socket()]).run()


def server_config(
    app: Any,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    graceful_timeout_s: float = 30.0,
    access_log: bool = False,
    log_level: str = "info",
    header_timeout_s: float = 10.0,
    max_connections: int | None = None,
    max_head_bytes: int = 64 * 1024,
    **options: Any,
) -> uvicorn.Config:
    """The uvicorn Config ``rewardsmith serve`` runs ``app`` with: the connection limits of
    ``serve.guard`` (``max_connections`` defaults to 1024, fewer under a low open-files
    limit), idle kept-alive connections closed after uvicorn's 5 s; ``options`` are
    uvicorn's.

    Example:
        >>> config = server_config(create_app("math-r1"), port=8000)
        >>> uvicorn.Server(config).run()  # doctest: +SKIP
    """
    return GuardedConfig(
        app,
        host=host,
        port=port,
        timeout_graceful_shutdown=graceful_timeout_s,
        access_log=access_log,
        log_level=log_level,
        header_timeout_s=header_timeout_s,
        max_connections=max_connections,
        max_head_bytes=max_head_bytes,
        **options,
    )


def app_from_env() -> FastAPI:
    """The app described by ``$REWARDSMITH_SERVE_CONFIG`` (one process of ``serve(http_processes=N)``)."""
    settings = json.loads(os.environ[CONFIG_ENV])
    spec = settings.pop("spec")
    if "end_tokens" in settings:
        settings["end_tokens"] = tuple(settings["end_tokens"])
    app = create_app(spec, **settings)
    tune_process()
    return app


def tune_process() -> None:
    """Settings for a long-lived process that scores large bodies, once its app is built.

    - ``gc.freeze()``: the modules, the reward and the app live as long as the process;
      frozen, they are no longer traversed by the collections that every batch triggers.
    - glibc's malloc keeps freed memory for reuse instead of handing it back to the
      kernel after every request (``M_TRIM_THRESHOLD``), and serves large blocks from its
      heap instead of a fresh ``mmap`` each (``M_MMAP_THRESHOLD``, at its 32 MiB
      maximum). By default each 400 KB body is mapped, zero-filled page by page and
      unmapped again, every request. The cost is up to 64 MiB of freed memory kept by
      the process. Elsewhere than glibc, this step does nothing.
    - The GIL switch interval goes from 5 to 20 ms: with two batches in flight, the event
      loop reading the next body no longer forces the thread scoring a ~10 ms batch to
      hand over the GIL mid-batch, every 5 ms. The cost: while a pure-Python reward holds
      the GIL, the loop answers other requests (``/health``, 503s) up to 20 ms late.
    """
    sys.setswitchinterval(_SWITCH_INTERVAL_S)
    gc.freeze()
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (AttributeError, OSError):  # not glibc (macOS, Windows)
        return
    mallopt(_M_TRIM_THRESHOLD, 64 << 20)
    mallopt(_M_MMAP_THRESHOLD, 32 << 20)


_STARTUP_FAILURE = 3  # uvicorn's exit code when it could not start
_SWITCH_INTERVAL_S = 0.02
_M_TRIM_THRESHOLD = -1  # from glibc's malloc.h
_M_MMAP_THRESHOLD = -3
