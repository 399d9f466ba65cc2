"""Worker processes with a hard per-item wall-clock limit.

Per-item work that can run away (symbolic math, regexes on model text) runs in a pool of
worker processes (pebble's ``ProcessPool``). A worker that overruns its item's limit is
killed and replaced; that item gets ``status=timeout`` and the rest of the batch carries
on. This is a process kill, not ``signal.alarm``: it works from any thread, it stops C
code that never returns to the interpreter, and it cannot be caught by the work itself.

Workers are started with ``forkserver``, so they never inherit the parent's threads or
locks; the function and its arguments must pickle. Unlike multiprocessing's own workers,
ours never import the parent's ``__main__``: a training script or notebook cell without
``if __name__ == "__main__":`` is not run again in every worker (TRL's quick-start
scripts are written that way). Work that is itself defined in the main script (a reward
class written there, run under ``Isolated``) goes to a pool made with ``import_main=True``,
whose workers import the script as multiprocessing's do: that script needs the guard.
Pools are shared per process count within a process (``shared_executor``) and shut
down at exit.

Example:
    >>> ex = shared_executor(2)
    >>> [o.status for o in ex.map(pow, [(2, 10), (3, 2)], timeout=5.0)]
    [<Status.OK: 'ok'>, <Status.OK: 'ok'>]
"""

from __future__ import annotations

import asyncio
import atexit
import math
import multiprocessing
import multiprocessing.context
import multiprocessing.spawn
import multiprocessing.util
import os
import pickle
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, wait
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any

from pebble import ProcessExpired, ProcessPool

from rewardsmith.core import ItemError, Score, Status

__all__ = [
    "Outcome",
    "ProcessExecutor",
    "WorkerStartError",
    "default_processes",
    "in_worker",
    "preload",
    "refers_to_main",
    "shared_executor",
]

# Modules the forkserver imports once, so every worker (a replacement for a killed one
# included) starts with them loaded; rewards add their heavy imports with ``preload``.
_PRELOAD = ["rewardsmith"]
STARTUP_GRACE_S = 30.0
"""Beyond its items' own limits, how long a batch may wait for workers to start."""


def preload(*modules: str) -> None:
    """Have worker processes start with ``modules`` imported (missing ones are skipped).

    Without it, the first item a fresh worker gets spends its time limit importing
    (sympy takes about a second). Takes effect for pools started afterwards.
    """
    _PRELOAD.extend(m for m in modules if m not in _PRELOAD)


_launching = threading.local()
_MAIN_KEYS = ("init_main_from_path", "init_main_from_name")


def _preparation_data(name: str) -> dict[str, Any]:
    """multiprocessing's start data for a child, less the main module for our workers.

    A child started by multiprocessing imports the parent's main script (as
    ``__mp_main__``) so that functions defined there unpickle; ours run only functions
    of installed modules, and an unguarded script would run itself again in each one.
    """
    data: dict[str, Any] = _original_preparation_data(name)
    if getattr(_launching, "ours", False):
        for key in _MAIN_KEYS:
            data.pop(key, None)
    return data


_original_preparation_data = multiprocessing.spawn.get_preparation_data


class _WorkerProcess(multiprocessing.context.ForkServerProcess):
    """A forkserver child that starts without the parent's ``__main__``."""

    @staticmethod
    def _Popen(process_obj: Any) -> Any:
        _launching.ours = True  # read by _preparation_data, in this (the starting) thread
        try:
            return multiprocessing.context.ForkServerProcess._Popen(process_obj)
        finally:
            _launching.ours = False


class _WorkerContext(multiprocessing.context.ForkServerContext):
    Process = _WorkerProcess


def _worker_context(import_main: bool) -> multiprocessing.context.ForkServerContext:
    # installed once, on first use: other children of this process are unaffected, since
    # the wrapper only drops the keys while one of our workers is being started
    multiprocessing.spawn.get_preparation_data = _preparation_data
    ctx = multiprocessing.get_context("forkserver") if import_main else _WorkerContext()
    ctx.set_forkserver_preload(_PRELOAD)
    return ctx


def refers_to_main(obj: Any) -> bool:
    """Whether ``obj`` pickles by reference to something in ``__main__`` (a reward class
    defined in the training script): a worker must then import the main script."""
    try:
        return b"__main__" in pickle.dumps(obj)
    except Exception:
        return False


class WorkerStartError(RuntimeError):
    """The pool's worker processes die as they start."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one task: its status, its return value (if ok) or its error."""

    status: Status
    value: Any = None
    error: ItemError | None = None

    def unscored(
        self, floor: float | None, info: Mapping[str, Any] | None = None, reason: str = ""
    ) -> Score:
        """The Score of a task that did not finish: a timeout earns ``floor`` (with
        ``reason``, default the error), an error has no value."""
        if self.status is Status.TIMEOUT:
            return Score.timed_out(floor, reason or str(self.error), info, self.error)
        return Score(None, self.status, {}, dict(info or {}), self.error)


def default_processes() -> int:
    """One worker process per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


class ProcessExecutor:
    """A pool of worker processes; each task has a hard wall-clock ``timeout``."""

    def __init__(self, processes: int | None = None, *, import_main: bool = False) -> None:
        self.processes = processes or default_processes()
        self.import_main = import_main
        self._pool: ProcessPool | None = None
        self._lock = threading.Lock()

    def _get_pool(self) -> ProcessPool:
        with self._lock:
            if self._pool is None or not self._pool.active:
                ctx = _worker_context(self.import_main)
                self._pool = ProcessPool(
                    max_workers=self.processes, context=ctx, initializer=_mark_worker
                )
                # Inside a multiprocessing child (a ``score --processes`` one), exit joins
                # every live child process, our idle workers included, and so never
                # ends; finalizers with an exit priority run before that join.
                multiprocessing.util.Finalize(
                    self, ProcessExecutor.close, (self,), exitpriority=100
                )
                self._probe(self._pool)
            return self._pool

    def _probe(self, pool: ProcessPool) -> None:
        """Check that workers start: ones that die at birth (a preloaded module that fails
        to import, say) are respawned for ever and the tasks behind them never run."""
        try:
            pool.submit(os.getpid, STARTUP_GRACE_S).result(timeout=STARTUP_GRACE_S + 5)
        except Exception as exc:
            pool.stop()  # type: ignore[no-untyped-call]
            self._pool = None
            raise WorkerStartError(
                f"worker processes did not start ({type(exc).__name__}: {exc})"
            ) from None

    def submit(self, fn: Callable[..., Any], timeout: float, *args: Any) -> Future[Any]:
        return self._get_pool().submit(fn, timeout, *args)

    def map(
        self, fn: Callable[..., Any], arglists: Sequence[tuple[Any, ...]], timeout: float
    ) -> list[Outcome]:
        """Run ``fn(*args)`` for each tuple; one Outcome each, in order."""
        try:
            futures = [self.submit(fn, timeout, *args) for args in arglists]
        except WorkerStartError as exc:
            return [Outcome(Status.ERROR, error=ItemError.of(exc)) for _ in arglists]
        wait(futures, timeout=self._batch_limit(len(futures), timeout))
        return self._collect(futures, timeout)

    async def amap(
        self, fn: Callable[..., Any], arglists: Sequence[tuple[Any, ...]], timeout: float
    ) -> list[Outcome]:
        try:
            futures = [self.submit(fn, timeout, *args) for args in arglists]
        except WorkerStartError as exc:
            return [Outcome(Status.ERROR, error=ItemError.of(exc)) for _ in arglists]
        if futures:
            wrapped = [asyncio.wrap_future(f) for f in futures]
            await asyncio.wait(wrapped, timeout=self._batch_limit(len(futures), timeout))
        return self._collect(futures, timeout)

    def _batch_limit(self, n: int, timeout: float) -> float:
        """How long a whole batch may take: its items in waves, plus time to start workers."""
        return STARTUP_GRACE_S + timeout * (math.ceil(n / self.processes) + 1)

    def _collect(self, futures: list[Future[Any]], timeout: float) -> list[Outcome]:
        stalled = {id(f) for f in futures if not f.done()}
        for f in futures:
            f.cancel()  # no effect on finished ones
        if stalled:  # workers that cannot start, or a wedged pool: start afresh next time
            self.close()
        return [_STALLED if id(f) in stalled else outcome(f, timeout) for f in futures]

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


_STALLED = Outcome(
    Status.ERROR,
    error=ItemError(
        "PoolStalled", "the worker pool did not run this item (workers failed to start?)"
    ),
)

_SHARED: dict[tuple[int, bool], ProcessExecutor] = {}
_SHARED_LOCK = threading.Lock()


def shared_executor(processes: int | None = None, *, import_main: bool = False) -> ProcessExecutor:
    """The process-wide pool of ``processes`` worker processes (created on first use); with
    ``import_main``, one whose workers import the main script (for work defined there)."""
    key = (processes or default_processes(), import_main)
    with _SHARED_LOCK:
        if key not in _SHARED:
            _SHARED[key] = ProcessExecutor(key[0], import_main=import_main)
        return _SHARED[key]


@atexit.register
def _close_shared() -> None:
    for ex in list(_SHARED.values()):
        ex.close()
