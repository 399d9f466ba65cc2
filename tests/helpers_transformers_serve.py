"""``transformers serve`` on loopback, started and stopped by a test (no hub: the model is
built here)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def transformers_serve(folder: Path, log: Path) -> Iterator[str]:
    """The server's base URL while ``transformers serve`` runs the model in ``folder``;
    stopped by its own process id."""
    port = _free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_UPDATE_CHECK": "1"}
    command = [sys.executable, "-c", "from transformers.cli.transformers import main; main()"]
    args = ["serve", str(folder), "--host", "127.0.0.1", "--port", str(port), "--device", "cpu"]
    with log.open("wb") as out:
        process = subprocess.Popen([*command, *args], env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                pytest.fail(f"transformers serve exited: {Path(log).read_text()[-2000:]}")
            try:
                if httpx.get(url + "/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "transformers serve did not start"
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


@contextmanager
def tiny_lm_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``transformers serve`` on the tiny Llama of ``helpers_tiny_lm``."""
    pytest.importorskip("fastapi")
    from helpers_tiny_lm import save_tiny_lm

    folder = save_tiny_lm(tmp_path_factory.mktemp("tiny-lm"), with_model=True)
    with transformers_serve(folder, tmp_path_factory.mktemp("serve-log") / "serve.log") as url:
        yield url
