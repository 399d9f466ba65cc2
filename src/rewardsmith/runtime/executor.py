"""Worker processes with a hard per-item wall-clock limit.

Per-item work that can run away (symbolic math, regexes on model text) runs in a pool of
worker processes (pebble's ``ProcessPool``). A worker that overruns its item's limit is
killed and replaced; that item gets ``status=timeout`` and the rest of the batch carries
on. This is a process kill, not ``signal.alarm``: it works from any thread, it stops C
code that never returns to the interpreter, and it cannot be caught by the work itself.

Workers are started with ``forkserver``, so they never inherit the parent's threads or
locks; the function and its arguments must pickle. Pools are shared per worker count
within a process (``shared_executor``) and shut down at exit.

Example:
    >>> ex = shared_executor(2)
    >>> [o.status for o in ex.map(pow, [(2, 10), (3, 2)], timeout=5.0)]
    [<Status.OK: 'ok'>, <Status.OK: 'ok'>]
"""

from __future__ import annotations

import asyncio
import atexit
import multiprocessing
import multiprocessing.util
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any

from pebble import ProcessExpired, ProcessPool

from rewardsmith.core import ItemError, Status

__all__ = [
    "Outcome",
    "ProcessExecutor",
    "default_workers",
    "in_worker",
    "preload",
    "shared_executor",
]

# Modules the forkserver imports once, so every worker (a replacement for a killed one
# included) starts with them loaded; rewards add their heavy imports with ``preload``.
_PRELOAD = ["rewardsmith"]


def preload(*modules: str) -> None:
    """Have worker processes start with ``modules`` imported (missing ones are skipped).

    Without it, the first item a fresh worker gets spends its time limit importing
    (sympy takes about a second). Takes effect for pools started afterwards.
    """
    _PRELOAD.extend(m for m in modules if m not in _PRELOAD)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one task: its status, its return value (if ok) or its error."""

    status: Status
    value: Any = None
    error: ItemError | None = None


def default_workers() -> int:
    """One worker per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


class ProcessExecutor:
    """A pool of worker processes; each task has a hard wall-clock ``timeout``."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or default_workers()
        self._pool: ProcessPool | None = None
        self._lock = threading.Lock()

    def _get_pool(self) -> ProcessPool:
        with self._lock:
            if self._pool is None or not self._pool.active:
                ctx = multiprocessing.get_context("forkserver")
                ctx.set_forkserver_preload(_PRELOAD)
                self._pool = ProcessPool(
                    max_workers=self.workers, context=ctx, initializer=_mark_worker
                )
                # Inside a multiprocessing child (a ``--workers`` process), exit joins
                # every live child process, our idle workers included, and so never
                # ends; finalizers with an exit priority run before that join.
                multiprocessing.util.Finalize(
                    self, ProcessExecutor.close, (self,), exitpriority=100
                )
            return self._pool

    def submit(self, fn: Callable[..., Any], timeout: float, *args: Any) -> Future[Any]:
        return self._get_pool().submit(fn, timeout, *args)

    def map(
        self, fn: Callable[..., Any], arglists: Sequence[tuple[Any, ...]], timeout: float
    ) -> list[Outcome]:
        """Run ``fn(*args)`` for each tuple; one Outcome each, in order."""
        futures = [self.submit(fn, timeout, *args) for args in arglists]
        return [outcome(f, timeout) for f in futures]

    async def amap(
        self, fn: Callable[..., Any], arglists: Sequence[tuple[Any, ...]], timeout: float
    ) -> list[Outcome]:
        futures = [self.submit(fn, timeout, *args) for args in arglists]
        await asyncio.gather(*(asyncio.wrap_future(f) for f in futures), return_exceptions=True)
        return [outcome(f, timeout) for f in futures]

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.stop()  # type: ignore[no-untyped-call]
                self._pool.join(timeout=5)
                self._pool = None


def outcome(future: Future[Any], timeout: float) -> Outcome:
    """The Outcome of a finished (or finishing) pool future."""
    try:
        return Outcome(Status.OK, future.result())
    except FutureTimeout:
        return Outcome(
            Status.TIMEOUT, error=ItemError("TimeoutError", f"over {timeout:g}s; worker killed")
        )
    except ProcessExpired as exc:
        return Outcome(
            Status.ERROR, error=ItemError("WorkerDied", f"worker exited with code {exc.exitcode}")
        )
    except Exception as exc:
        return Outcome(Status.ERROR, error=ItemError.of(exc))


_in_worker = False


def _mark_worker() -> None:
    global _in_worker
    _in_worker = True


def in_worker() -> bool:
    """Whether this process is one of these pools' workers.

    Its task already runs under a hard limit, so a reward called there (a reward wrapped
    in ``Isolated``) can do its expensive work inline instead of opening a nested pool.
    """
    return _in_worker


_SHARED: dict[int, ProcessExecutor] = {}
_SHARED_LOCK = threading.Lock()


def shared_executor(workers: int | None = None) -> ProcessExecutor:
    """The process-wide pool for ``workers`` workers (created on first use)."""
    n = workers or default_workers()
    with _SHARED_LOCK:
        if n not in _SHARED:
            _SHARED[n] = ProcessExecutor(n)
        return _SHARED[n]


@atexit.register
def _close_shared() -> None:
    for ex in list(_SHARED.values()):
        ex.close()
