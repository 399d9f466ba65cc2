"""The servers of the serve tests: the app on loopback in a thread (``running``), and
``rewardsmith serve`` as a real process (``serve_cli``); a slow reward to load them with."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import uvicorn

from rewardsmith import ItemReward, Sample, Score

GOOD = "<think>2 + 2 = 4</think><answer>4</answer>"


class Slow(ItemReward):
    """Sleeps ``meta.sleep`` seconds; raises on ``boom``; else 1.0 if ``yes`` is in the text."""

    name = "test.slow"

    def score_one(self, sample: Sample) -> Score | float:
        time.sleep(float(sample.meta.get("sleep", 0)))
        if "boom" in sample.text:
            raise RuntimeError("checker exploded")
        return float("yes" in sample.text)


@contextmanager
def running(app: object, port: int = 0) -> Iterator[str]:
    """Serve ``app`` with uvicorn on a loopback port (default: a free one) in a thread;
    yield its URL."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(20)
        sock.close()


SCRIPT = Path(sys.executable).with_name("rewardsmith")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(args: list[str], port: int, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """Start a server process and wait until /health answers."""
    proc = subprocess.Popen(
        args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ, **(env or {})}
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.05)
    stop(proc)
    raise AssertionError("server did not start")


def serve_cli(port: int, *extra: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    return start(
        [str(SCRIPT), "serve", "--spec", "math-r1", "--port", str(port), *extra], port, env
    )


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait(30)
    if proc.stderr is not None:
        proc.stderr.close()
