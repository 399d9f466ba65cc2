"""``rewardsmith serve``: the HTTP reward server (needs the ``[serve]`` extra)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from rewardsmith.cli.errors import sql_root_option, usage_errors
from rewardsmith.errors import InputError

__all__ = ["serve_cmd"]


def serve_cmd(
    spec: Annotated[
        str, typer.Option("--spec", "-s", help="A spec file (.yaml/.toml) or a built-in spec name.")
    ] = "math-r1",
    host: Annotated[
        str, typer.Option(help="Address to bind. Loopback by default; 0.0.0.0 to expose it.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", "-p", min=0, max=65535)] = 8000,
    http_processes: Annotated[
        int,
        typer.Option(
            min=1, help="uvicorn server processes sharing the port (HTTP; see --score-processes)."
        ),
    ] = 1,
    token: Annotated[
        str | None,
        typer.Option(
            envvar="REWARDSMITH_TOKEN",
            help="Require 'Authorization: Bearer TOKEN' (all routes but /health).",
            show_default=False,
        ),
    ] = None,
    max_concurrency: Annotated[
        int, typer.Option(min=1, help="Batches scored at once per process.")
    ] = 4,
    score_processes: Annotated[
        str,
        typer.Option(
            help="Score in N child processes, each with its own copy of the reward, instead of the server's threads (0); auto: one per CPU (at most 8) when every reward in the spec is CPU-bound, else threads.",
        ),
    ] = "auto",
    group_window: Annotated[
        float,
        typer.Option(
            min=0.0,
            help="For /get_reward (OpenRLHF sends one rollout per request): hold each rollout up to this many seconds for the rest of its prompt's group, so group rewards see whole groups. 0: off.",
        ),
    ] = 0.0,
    group_size: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="With --group-window: rollouts per prompt (OpenRLHF's n_samples_per_prompt); a group is scored as soon as it is complete.",
        ),
    ] = None,
    max_queue: Annotated[
        int,
        typer.Option(
            min=0,
            help="Requests that may wait for a slot; beyond it 503 + Retry-After. Keep it above the rollouts a trainer has in flight.",
        ),
    ] = 256,
    request_timeout: Annotated[
        float, typer.Option(min=0.001, help="Seconds before a request gets 504.")
    ] = 120.0,
    max_body_mb: Annotated[
        float, typer.Option(min=0.001, help="Larger request bodies get 413.")
    ] = 64.0,
    on_error: Annotated[
        float, typer.Option(help="Reward sent to OpenRLHF for an item that could not be scored.")
    ] = 0.0,
    graceful_timeout: Annotated[
        float, typer.Option(help="On SIGTERM, seconds to let requests in flight finish.")
    ] = 30.0,
    access_log: Annotated[bool, typer.Option(help="Log every request.")] = False,
    allowed_host: Annotated[
        list[str] | None,
        typer.Option(
            metavar="NAME",
            help="A name clients may reach the server by (the Host header), beyond IP addresses and localhost; repeatable, '*' for any. Other names get 400 (DNS rebinding).",
            show_default=False,
        ),
    ] = None,
    max_connections: Annotated[
        int | None,
        typer.Option(
            min=1,
            metavar="N",
            help="Open connections at once; one more is answered 503 and closed. Default 1024 (fewer under a low open-files limit).",
            show_default=False,
        ),
    ] = None,
    ray: Annotated[
        bool, typer.Option("--ray", help="Run as a Ray Serve deployment (needs the [ray] extra).")
    ] = False,
    replicas: Annotated[int, typer.Option(min=1, help="With --ray: replicas of the server.")] = 1,
    ray_address: Annotated[
        str | None, typer.Option(help="With --ray: the cluster to join (default: a local Ray).")
    ] = None,
    sql_root: Annotated[
        list[Path] | None, sql_root_option("none, every 'db' path is refused")
    ] = None,
) -> None:
    r"""Serve a reward spec over HTTP until SIGTERM or Ctrl-C.

    Routes: POST /score (native batches), POST /get_reward (OpenRLHF: --reward.remote_url http://HOST:PORT/get_reward), GET /health, GET /rewards, GET /metrics (Prometheus).

    Item failures come back inside a 200; a malformed request gets a 4xx that names the problem; a saturated server answers 503 with Retry-After.

    Exit code 2 for a bad spec or a missing serve extra (pip install 'rewardsmith\[serve]').
    """
    with usage_errors():
        from rewardsmith.verifiable.sql.database import set_sql_roots

        set_sql_roots(sql_root, unset_means_none=True)  # before any child process starts
        settings: dict[str, Any] = {
            "token": token or None,
            "max_body_bytes": int(max_body_mb * 1024 * 1024),
            "max_concurrency": max_concurrency,
            "score_processes": _processes(score_processes),
            "group_window_s": group_window,
            "group_size": group_size,
            "max_queue": max_queue,
            "request_timeout_s": request_timeout,
            "on_error": on_error,
            "allowed_hosts": list(allowed_host or ()),
        }
        if group_window > 0 and (http_processes != 1 or replicas != 1):
            raise InputError(
                "--group-window needs one server process (--http-processes 1, --replicas 1): "
                "every rollout of a prompt must reach the process that holds its group"
            )
        if ray:
            if http_processes != 1:
                raise InputError("--http-processes is for uvicorn; with --ray use --replicas")
            from rewardsmith.serve.ray_serve import serve_on_ray

            serve_on_ray(
                spec, host=host, port=port, replicas=replicas, address=ray_address, **settings
            )
            return
        from rewardsmith.serve.run import serve

        serve(
            spec,
            host=host,
            port=port,
            http_processes=http_processes,
            graceful_timeout_s=graceful_timeout,
            access_log=access_log,
            max_connections=max_connections,
            **settings,
        )


def _processes(raw: str) -> int | str:
    """``--score-processes``: ``auto`` or a whole number >= 0."""
    text = raw.strip().lower()
    if text == "auto":
        return "auto"
    if not text.isdigit():
        raise InputError(f"--score-processes must be 'auto' or a whole number >= 0, got {raw!r}")
    return int(text)
