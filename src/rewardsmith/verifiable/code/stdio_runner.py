"""Runs a program once per stdin/stdout test, inside the sandbox.

Copied into the sandbox as a file and run as a script (standard library only). Python
starts once: for each test the runner forks, and the child runs the program as
``__main__`` with the test's input file as fd 0 and pipes as fds 1 and 2, exactly as
``python solution.py < input`` would, minus the interpreter start-up. The runner reads
what the child prints (up to a cap), kills the child's process group at the per-test
time limit, and writes one JSON line per test to the channel fd.

It decides nothing: the expected outputs are not in the sandbox; the caller compares.
The runner makes itself non-dumpable before it forks, so a test's process (same uid)
cannot open the runner's channel through ``/proc/<pid>/fd``; each record is one line,
``<tag> <json>`` (``load``, or the test's index).
"""

from __future__ import annotations

import atexit
import builtins
import contextlib
import json
import os
import selectors
import signal
import sys
import time
import traceback
from typing import Any

_STDERR_TAIL = 2000


def _child(code: Any, path: str, input_path: str, out_w: int, err_w: int, keep: set[int]) -> None:
    status = 1
    try:
        _set_dumpable(1)  # the program's own process is an ordinary one again
        os.setsid()
        fd = os.open(input_path, os.O_RDONLY)
        os.dup2(fd, 0)
        os.dup2(out_w, 1)
        os.dup2(err_w, 2)
        for f in (*keep, out_w, err_w, fd):
            if f > 2:
                os.close(f)
        sys.stdin = open(0, encoding="utf-8", errors="surrogateescape", closefd=False)  # noqa: SIM115
        sys.stdout = open(1, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
        sys.stderr = open(2, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
        sys.argv = [path]
        exec(code, {"__name__": "__main__", "__file__": path, "__builtins__": builtins})
        status = 0
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            status = exc.code or 0
        else:
            print(exc.code, file=sys.stderr)
    except BaseException:
        traceback.print_exc()
    try:
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:
        pass
    os._exit(status & 0xFF)


def _drain(
    pid: int, out_r: int, err_r: int, per_test: float, cap: int
) -> tuple[bytes, bytes, str, int]:
    out, err = bytearray(), bytearray()
    killed = ""
    status: int | None = None
    deadline = time.monotonic() + per_test
    with selectors.DefaultSelector() as sel:
        sel.register(out_r, selectors.EVENT_READ, out)
        sel.register(err_r, selectors.EVENT_READ, err)
        while sel.get_map():
            left = deadline - time.monotonic()
            if left <= 0:
                killed = "timeout"
                break
            for key, _ in sel.select(min(left, 0.2)):
                chunk = os.read(key.fd, 65536)
                if not chunk:
                    sel.unregister(key.fd)
                    continue
                key.data.extend(chunk)
                if len(out) > cap:
                    killed = "output"
                if len(err) > 4 * _STDERR_TAIL:
                    del err[: len(err) - _STDERR_TAIL]
            if killed:
                break
            if status is None:
                done, raw = os.waitpid(pid, os.WNOHANG)
                if done:
                    status = raw
                    deadline = min(deadline, time.monotonic() + 0.2)  # a daemon may hold the pipes
    if killed or status is None:
        with contextlib.suppress(OSError):
            os.killpg(pid, signal.SIGKILL)
    if status is None:
        _, status = os.waitpid(pid, 0)
    return bytes(out[:cap]), bytes(err[-_STDERR_TAIL:]), killed, os.waitstatus_to_exitcode(status)


def _set_dumpable(flag: int) -> str | None:
    """``PR_SET_DUMPABLE``: 0 closes this process to its children's uid (/proc/<pid>/fd,
    mem, ptrace). None when done, else why not."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(4, flag, 0, 0, 0) != 0:
            return f"prctl failed: {os.strerror(ctypes.get_errno())}"
    except (OSError, ImportError, AttributeError) as exc:
        return f"prctl unavailable: {exc}"
    return None


def main() -> None:
    job = json.loads(sys.stdin.buffer.read())
    channel = int(os.environ.pop("RS_CHANNEL_FD"))
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(here, "solution.py")
    per_test, cap = float(job["per_test_s"]), int(job["output_bytes"])

    def emit(tag: str, record: dict[str, Any]) -> None:
        data = memoryview(f"{tag} {json.dumps(record)}\n".encode())
        while data:
            data = data[os.write(channel, data) :]

    problem = _set_dumpable(0)
    if problem is not None:
        emit("load", {"k": "infra", "e": f"cannot shield the runner: {problem}"})
        return
    try:
        with open(path, encoding="utf-8") as f:
            code = compile(f.read(), path, "exec")
    except BaseException as exc:
        emit("load", {"k": "error", "e": f"{type(exc).__name__}: {exc}"[:500]})
        return
    emit("load", {"ok": True})
    for i in range(int(job["n"])):
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            _child(code, path, os.path.join(here, f"in_{i}"), out_w, err_w, {channel, out_r, err_r})
        os.close(out_w)
        os.close(err_w)
        out, err, killed, rc = _drain(pid, out_r, err_r, per_test, cap)
        os.close(out_r)
        os.close(err_r)
        emit(
            str(i),
            {
                "rc": rc,
                "out": out.decode("utf-8", "replace"),
                "err": err.decode("utf-8", "replace"),
                "t": killed,
            },
        )


if __name__ == "__main__":
    main()
