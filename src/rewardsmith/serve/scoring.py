"""Turning a request body into the bytes of its answer, in the server's threads or in
scoring processes.

``Scoring.run(endpoint, body, last_step, deadline)`` parses the batch, scores it and
serialises the answer, all in one place, and returns the answer with a small ``Tally``
for the metrics. The app runs it in one of two places (``create_app(score_processes=...)``):

- threads of the server process (``score_processes=0``, the default): the reward is
  shared, rewards that wait (judges, sandboxes) overlap, and a model is loaded once. The
  event loop and the scoring share one GIL, so reading the next body and writing the
  last answer take turns with a pure-Python reward.
- ``score_processes`` child processes (``ChildPool``), each with its own copy of the
  reward (pickled to it, as Ray does) and its own pipes: the process that speaks HTTP
  keeps its GIL to itself, and only bytes cross (the body, then the answer and its
  Tally). For CPU-bound rule-based specs. Each child keeps its own copy of the reward's
  state: the server sends every batch the last ``step`` it has seen, so schedules agree,
  but part names a leaf reports beyond its tree's are learnt per child.

A batch whose request has been answered 504 is abandoned. Past its ``deadline`` the
batch stops at its next item: the reward's next read of a sample raises ``Abandoned``
(a BaseException, which the items' error guards do not catch), and a thread of the
reward's own (``Threaded``) gets an empty stand-in instead, which scores at once. An
item already running finishes, or ends at its own limit; a reward that reads the whole
batch before scoring any of it runs to its end. In a child, a batch that has itself run
``request_timeout_s`` is killed with its process and a new process takes its place. The
pool knows which child runs which batch, so the other batches carry on; a batch that
waited for a child is judged by its own run time, not its wait, and a child loading its
reward is never killed over a deadline.

Example:
    >>> from rewardsmith import load_spec
    >>> answer, tally = Scoring(load_spec("math-r1")).run("score", b'{"samples": []}')
    >>> answer, tally.items
    (b'{"scores":[]}', 0)
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import ctypes
import logging
import multiprocessing
import multiprocessing.util  # its exit hook first, so that ours runs before it
import os
import pickle
import signal
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, overload

import orjson

from rewardsmith.core import Reward, Sample, Score, set_step, set_strict
from rewardsmith.core.reward import is_strict
from rewardsmith.core.tree import part_names, work_kinds
from rewardsmith.integrations.openrlhf import END_TOKENS, to_reply, to_samples
from rewardsmith.serve.limits import DeadlineExceeded, WorkerDied
from rewardsmith.serve.metrics import Tally
from rewardsmith.serve.schemas import (
    BadRequest,
    RewardRequest,
    dump_json,
    parse_body,
    parse_score_request,
)

__all__ = [
    "Abandoned",
    "ChildPool",
    "ChildStartError",
    "Scoring",
    "auto_processes",
    "process_pool",
    "run_in_child",
    "scores_body",
]

log = logging.getLogger("rewardsmith.serve")


class Abandoned(BaseException):
    """The batch's request was already answered (504): stop scoring it.

    A BaseException, so that the guards that turn an item's exception into an error
    Score let it through, and the batch ends."""


def auto_processes(reward: object, cpus: int | None = None) -> int:
    """How many scoring processes ``score_processes="auto"`` starts for ``reward``: one per
    CPU (at most 8) when every leaf declares ``cpu`` work (``core.tree.work_kinds``), where
    processes beat threads sharing the server's GIL; 0 (the server's threads) when any
    leaf waits on I/O or runs a model, which threads overlap without copying the reward."""
    if work_kinds(reward) != {"cpu"}:
        return 0
    return max(1, min(8, cpus if cpus is not None else os.cpu_count() or 1))


class Scoring:
    """A reward and the settings of the routes that score with it."""

    def __init__(
        self, reward: Reward, on_error: float = 0.0, end_tokens: Sequence[str] = END_TOKENS
    ) -> None:
        self.reward = reward
        self.on_error = on_error
        self.end_tokens = tuple(end_tokens)
        self.parts = part_names(reward)
        self._step: int | None = None  # the step the reward was last set to

    def run(
        self,
        endpoint: str,
        body: bytes,
        last_step: int | None = None,
        deadline: float | None = None,
        named_step: int | None = None,
    ) -> tuple[bytes, Tally]:
        """The answer to ``body`` at ``endpoint`` and its Tally; BadRequest if the body is
        not valid, RuntimeError if the reward breaks its contract, Abandoned once
        ``deadline`` (``time.monotonic()``) has passed.

        ``last_step``: the latest step the server has seen, for a batch that names none
        (a scoring process may not have seen that batch). It only moves the reward's step
        forward: it was read when the batch arrived, and a batch that named a newer step
        may have been scored here since. A step a batch names is always taken: the body's
        ``step``, else ``named_step`` (the request's ``X-Rewardsmith-Step`` header).
        """
        if deadline is not None and time.monotonic() >= deadline:
            raise Abandoned()
        if endpoint == "score":
            samples, step = parse_score_request(body)
        else:
            samples, step = self.openrlhf_samples(body), None
        if step is None:
            step = named_step
        start = time.perf_counter()
        now = step if step is not None else last_step
        if now is not None and (step is not None or self._step is None or now > self._step):
            self._step = now
            set_step(self.reward, now)
        batch = samples if deadline is None else _Expiring(samples, deadline)
        scores = self.reward.score(batch) if samples else []
        if isinstance(batch, _Expiring) and batch.substituted:
            raise Abandoned()  # stand-ins were scored: these scores are not the batch's
        seconds = time.perf_counter() - start
        if len(scores) != len(samples):  # a reward that broke the contract
            raise RuntimeError(f"reward returned {len(scores)} scores for {len(samples)} samples")
        if endpoint == "score":
            answer = scores_body(scores)
        else:
            reply = to_reply(scores, self.on_error, self.parts)
            answer = dump_json(reply)
        return answer, Tally.of(scores, seconds, step, samples)

    def openrlhf_samples(self, body: bytes) -> list[Sample]:
        """The Samples of a ``/get_reward`` body; BadRequest if it is not valid."""
        req = parse_body(RewardRequest, body)
        try:
            return to_samples(req.query, req.prompts, req.labels, self.end_tokens)
        except ValueError as exc:
            raise BadRequest(422, str(exc)) from None


class _Expiring(Sequence[Sample]):
    """The samples of a batch, until ``deadline``: past it, a read from the thread that
    scores the batch raises Abandoned, and a read from any other thread (a reward's own
    workers, which nobody may be waiting to re-raise from) gets an empty stand-in."""

    def __init__(self, samples: Sequence[Sample], deadline: float) -> None:
        self._samples = samples
        self._deadline = deadline
        self._thread = threading.get_ident()
        self.substituted = False

    def __len__(self) -> int:
        return len(self._samples)

    def __reduce__(self) -> tuple[type[list[Sample]], tuple[list[Sample]]]:
        return list, (list(self._samples),)  # a reward's worker process gets the samples

    @overload
    def __getitem__(self, i: int) -> Sample: ...

    @overload
    def __getitem__(self, i: slice) -> Sequence[Sample]: ...

    def __getitem__(self, i: int | slice) -> Sample | Sequence[Sample]:
        if time.monotonic() < self._deadline:
            return self._samples[i]
        if threading.get_ident() == self._thread:
            raise Abandoned()
        self.substituted = True
        if isinstance(i, slice):
            return [_stand_in(s) for s in self._samples[i]]
        return _stand_in(self._samples[i])

    def __iter__(self) -> Iterator[Sample]:
        deadline, clock = self._deadline, time.monotonic
        for i, sample in enumerate(self._samples):
            yield sample if clock() < deadline else self[i]


def _stand_in(sample: Sample) -> Sample:
    return Sample(group=sample.group)


def scores_body(scores: Sequence[Score]) -> bytes:
    """``{"scores": [Score.to_dict(), ...]}``.

    orjson writes the Score dataclasses directly (their fields are the ``to_dict`` keys,
    the status enum becomes its value, ``ItemError`` its two fields), which is several
    times faster than building the dicts; anything it cannot write natively takes the
    ``to_dict`` path.
    """
    try:
        return orjson.dumps({"scores": scores}, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:
        return dump_json({"scores": [s.to_dict() for s in scores]})


# --- scoring processes -------------------------------------------------------------------


class ChildStartError(RuntimeError):
    """A scoring process could not load its reward."""


def process_pool(scoring: Scoring, processes: int, run_limit_s: float) -> Callable[[], ChildPool]:
    """A maker of pools of ``processes`` children, each holding a copy of ``scoring``'s
    reward (pickled once, here); a child whose batch has run ``run_limit_s`` is killed and
    replaced. Batches are ``functools.partial(run_in_child, endpoint, body, last_step)``.

    Raises:
        ValueError: the reward does not pickle (a lock, an open handle).
    """
    try:
        payload = pickle.dumps((scoring.reward, scoring.on_error, scoring.end_tokens))
    except Exception as exc:
        raise ValueError(
            f"score_processes needs a reward that pickles, and {scoring.reward!r} does not: "
            f"{type(exc).__name__}: {exc}"
        ) from None
    return lambda: ChildPool(payload, processes, run_limit_s)


@dataclass
class _Job:
    fn: Callable[[float], Any]
    deadline: float
    future: Future[Any]


class _Child:
    """One scoring process, its pipe for batches and its pipe for answers."""

    def __init__(self, context: Any, payload: bytes, strict: bool) -> None:
        calls, self.calls = context.Pipe(duplex=False)
        self.answers, answers = context.Pipe(duplex=False)
        self.process = context.Process(
            target=_child_main,
            args=(calls, answers, payload, os.getpid(), strict),
            name="rewardsmith-scorer",
        )
        self._lock = threading.Lock()
        self._reaped = False
        try:
            self.process.start()
        finally:
            calls.close()
            answers.close()
        _widen_pipe(self.calls)

    @property
    def pid(self) -> int | None:
        pid: int | None = self.process.pid
        return pid

    def wait_loaded(self) -> None:
        """Block until the child has loaded its reward (no deadline: a load may be slow).

        Raises:
            ChildStartError: it failed to load, or ended while loading.
        """
        try:
            kind, value = pickle.loads(self.answers.recv_bytes())
        except (EOFError, OSError):
            raise ChildStartError(
                f"a scoring process ended while loading its reward (exit code {self.reap()})"
            ) from None
        if kind != "ready":
            self.reap()
            raise ChildStartError(f"a scoring process could not load its reward: {value}")

    def kill(self) -> None:
        """SIGKILL, unless the process has been reaped already (its pid may be reused)."""
        with self._lock:
            if not self._reaped and self.process.exitcode is None:
                with contextlib.suppress(OSError):
                    self.process.kill()

    def reap(self, wait_s: float = 5.0) -> int | None:
        """Close its pipe for batches (an idle child then exits by itself), give it
        ``wait_s`` to exit, kill it if it has not, close the pipes; the exit code."""
        with contextlib.suppress(OSError):
            self.calls.close()
        self.process.join(wait_s)
        self.kill()
        self.process.join(5.0)
        with self._lock:
            self._reaped = True
        with contextlib.suppress(OSError):
            self.answers.close()
        code: int | None = self.process.exitcode
        return code


def _widen_pipe(conn: Connection, size: int = 1 << 20) -> None:
    """Let the pipe that carries batches to a child hold ``size`` bytes (Linux's limit for
    a user).

    A pipe holds 64 KB by default, so a 400 KB body crosses in seven hand-offs, each
    waiting for the child to get a CPU; in a wide pipe it is all there, and the child
    reads it at once (0.47 -> 0.20 ms per batch of 256 under load, timed once in an
    instrumented copy). Answers are a twentieth of their bodies, so the pipe back stays as
    it is. Only a speed-up: skipped where the call is not there (not Linux), and kept at
    64 KB where the kernel refuses (past the user's pipe quota,
    ``/proc/sys/fs/pipe-user-pages-soft``: 64 MiB, 64 children).
    """
    try:
        from fcntl import F_SETPIPE_SZ, fcntl
    except ImportError:
        return
    with contextlib.suppress(OSError):
        fcntl(conn.fileno(), F_SETPIPE_SZ, size)


class ChildPool:
    """``processes`` scoring processes, each run by a thread of this process that hands
    it one batch at a time, so the pool knows which child runs which batch.

    A batch waits in one queue for an idle child that has loaded its reward. Its future
    fails with WorkerDied if its child dies, with DeadlineExceeded if it ran
    ``run_limit_s`` (the child is then killed); either way a new child is started and
    loads its reward before it takes a batch, and the other batches carry on. A batch
    whose future was cancelled while it waited, or whose deadline passed, never starts.
    Children are started on the first ``submit`` or by ``start``, and end with the
    server's thread that runs them (Linux), so a server killed with SIGKILL leaves none.
    """

    def __init__(self, payload: bytes, processes: int, run_limit_s: float) -> None:
        if processes < 1:
            raise ValueError(f"processes must be >= 1, got {processes}")
        self._payload = payload
        self._strict = is_strict()  # as where the pool is made
        self._context = multiprocessing.get_context("spawn")  # fork is unsafe with threads
        self.processes = processes
        self.run_limit_s = run_limit_s
        self._jobs: collections.deque[_Job] = collections.deque()
        self._cv = threading.Condition()
        self._closed = threading.Event()
        self._children: list[_Child | None] = [None] * processes
        self._threads: list[threading.Thread] = []
        self._loaded: list[threading.Event] = []
        self._errors: list[BaseException | None] = [None] * processes
        self._ready = 0  # children loaded and taking batches
        self.started_children = 0
        _POOLS.add(self)

    # -- the server's side ------------------------------------------------------------------

    def start(self, wait: bool = True) -> None:
        """Start the children (once); with ``wait``, block until each has loaded its reward.

        Raises:
            ChildStartError: a child could not load its reward (the pool is then stopped).
        """
        with self._cv:
            if self._closed.is_set():
                raise RuntimeError("the scoring processes were stopped")
            if not self._threads:
                for slot in range(self.processes):
                    loaded = threading.Event()
                    self._loaded.append(loaded)
                    thread = threading.Thread(
                        target=self._manage,
                        args=(slot, wait),
                        name=f"rewardsmith-child-{slot}",
                        daemon=True,
                    )
                    self._threads.append(thread)
                    thread.start()
        if not wait:
            return
        for loaded in self._loaded:
            loaded.wait()
        failed = [e for e in self._errors if e is not None]
        if failed:
            self.stop(0.0)
            raise failed[0]

    def submit(self, fn: Callable[[float], Any], deadline: float, /) -> Future[Any]:
        """Run ``fn(deadline)`` (picklable) in the first idle child."""
        if not self._threads:
            self.start(wait=False)
        future: Future[Any] = Future()
        with self._cv:
            if self._closed.is_set():
                raise RuntimeError("the scoring processes were stopped")
            self._jobs.append(_Job(fn, deadline, future))
            self._cv.notify()
        return future

    def pids(self) -> list[int | None]:
        """The pid of each slot's current child (None while none is started)."""
        return [c.pid if c is not None else None for c in self._children]

    def stop(self, grace_s: float) -> None:
        """Stop taking batches, fail the waiting ones, let idle children exit, and kill
        the ones still busy after ``grace_s``. Blocks up to ``grace_s`` (and a few seconds
        to reap)."""
        with self._cv:
            self._closed.set()
            waiting = list(self._jobs)
            self._jobs.clear()
            self._cv.notify_all()
        for job in waiting:
            if job.future.set_running_or_notify_cancel():
                job.future.set_exception(WorkerDied("the server is shutting down"))
        end = time.monotonic() + grace_s
        for thread in self._threads:
            thread.join(max(0.0, end - time.monotonic()))
        for child in self._children:
            if child is not None:
                child.kill()
        for thread in self._threads:
            thread.join(10.0)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """``concurrent.futures.Executor.shutdown``: stop, killing busy children at once
        unless ``wait``."""
        self.stop(10.0 if wait else 0.0)

    # -- the thread that runs one child -----------------------------------------------------

    def _manage(self, slot: int, fail_fast: bool) -> None:
        first = True
        failures = 0
        while not self._closed.is_set():
            child = None
            try:
                child = _Child(self._context, self._payload, self._strict)
                self._children[slot] = child
                self.started_children += 1
                child.wait_loaded()
            except Exception as exc:  # (OSError: could not start a process at all)
                if child is not None:
                    child.reap()
                if first and fail_fast:  # the app's startup fails with it
                    self._errors[slot] = exc
                    self._loaded[slot].set()
                    return
                failures += 1
                self._load_failed(exc, failures)
                self._closed.wait(min(30.0, 0.5 * 2**failures))
                continue
            if first:
                self._loaded[slot].set()
                first = False
            failures = 0
            with self._cv:
                self._ready += 1
            try:
                while self._serve(child):
                    pass
            except Exception:  # a bug here must not leave the slot without a child
                log.exception(
                    "scoring process %s: unexpected error; a new one is started", child.pid
                )
            finally:
                with self._cv:
                    self._ready -= 1
                child.reap()
        if first:
            self._loaded[slot].set()

    def _load_failed(self, exc: BaseException, failures: int) -> None:
        """A replacement child could not load: log it, and, if no child is taking batches,
        fail the waiting ones rather than leave them to time out."""
        log.error("%s (try %d; trying again)", exc, failures)
        with self._cv:
            if self._ready:
                return
            waiting = list(self._jobs)
            self._jobs.clear()
        for job in waiting:
            if job.future.set_running_or_notify_cancel():
                job.future.set_exception(WorkerDied(str(exc)))

    def _next(self) -> _Job | None:
        with self._cv:
            while not self._jobs and not self._closed.is_set():
                self._cv.wait()
            return None if self._closed.is_set() else self._jobs.popleft()

    def _serve(self, child: _Child) -> bool:
        """Run the next batch in ``child``; False once the child is gone (or the pool)."""
        job = self._next()
        if job is None:
            return False
        if not child.process.is_alive():  # it died while idle: the batch waits for the next
            with self._cv:
                self._jobs.appendleft(job)
                self._cv.notify()
            return False
        if not job.future.set_running_or_notify_cancel():
            return True  # abandoned while it waited
        if time.monotonic() >= job.deadline:
            job.future.set_exception(DeadlineExceeded())
            return True
        try:
            message = pickle.dumps((job.fn, job.deadline))
        except Exception as exc:
            job.future.set_exception(RuntimeError(f"{type(exc).__name__}: {exc}"))
            return True
        try:
            child.calls.send_bytes(message)
            if not child.answers.poll(self.run_limit_s):  # its own run time, not its wait
                child.kill()
                log.warning(
                    "a batch ran past request_timeout_s=%g s in scoring process %s: "
                    "killed, a new one is started",
                    self.run_limit_s,
                    child.pid,
                )
                job.future.set_exception(DeadlineExceeded())
                return False
            answer = child.answers.recv_bytes()
        except (EOFError, OSError) as exc:
            code = child.reap()
            if self._closed.is_set():
                job.future.set_exception(WorkerDied("the server is shutting down"))
            else:
                job.future.set_exception(
                    WorkerDied(f"exit code {code}" if code is not None else type(exc).__name__)
                )
            return False
        try:
            kind, value = pickle.loads(answer)
        except Exception as exc:  # an exception whose class cannot be rebuilt here
            job.future.set_exception(RuntimeError(f"{type(exc).__name__}: {exc}"))
            return True
        if kind == "ok":
            job.future.set_result(value)
        else:
            job.future.set_exception(value)
        return True


_POOLS: weakref.WeakSet[ChildPool] = weakref.WeakSet()


@atexit.register
def _stop_pools() -> None:
    """Kill the children of pools nobody stopped, before multiprocessing's own exit hook
    waits for them (they are not daemons: a reward's own process pool must be allowed)."""
    for pool in list(_POOLS):
        pool.stop(0.0)


# --- the child's side ----------------------------------------------------------------------

_CHILD: list[Scoring] = []
_ANSWERS: list[Connection] = []


def _child_main(
    calls: Connection, answers: Connection, payload: bytes, parent: int, strict: bool
) -> None:
    """A scoring process: load the reward, say so, then answer one batch at a time until
    the server closes the pipe."""
    from rewardsmith.serve.run import tune_process

    _die_with_parent(parent)
    set_strict(strict)  # as the server's, when the pool was made
    try:
        reward, on_error, end_tokens = pickle.loads(payload)
        scoring = Scoring(reward, on_error, end_tokens)
    except BaseException as exc:
        answers.send_bytes(pickle.dumps(("failed", f"{type(exc).__name__}: {exc}")))
        return
    _CHILD.append(scoring)
    _ANSWERS.append(answers)
    tune_process()
    answers.send_bytes(pickle.dumps(("ready", os.getpid())))
    while True:
        try:
            fn, deadline = pickle.loads(calls.recv_bytes())
        except EOFError:
            return
        outcome: tuple[str, Any]
        try:
            outcome = ("ok", fn(deadline))
        except (Exception, Abandoned) as exc:  # (run_in_child names other errors itself)
            outcome = ("error", exc)
        except BaseException as exc:  # SystemExit from a reward: an error, not an exit
            outcome = ("error", RuntimeError(f"{type(exc).__name__}: {exc}"))
        try:
            blob = pickle.dumps(outcome)
        except Exception as exc:
            blob = pickle.dumps(("error", RuntimeError(f"{type(exc).__name__}: {exc}")))
        answers.send_bytes(blob)


def _die_with_parent(parent: int) -> None:
    """On Linux, have the kernel kill this child when the server's thread that started it
    ends: uvicorn ends a server stopped by a signal by raising the signal again, which
    skips the pool's own shutdown, and the child would be left waiting for work."""
    try:
        prctl = ctypes.CDLL(None).prctl
    except (AttributeError, OSError):  # not Linux
        return
    prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent ended before the request was made
        os._exit(0)


_PR_SET_PDEATHSIG = 1  # from linux/prctl.h


def run_in_child(
    endpoint: str,
    body: bytes,
    last_step: int | None = None,
    deadline: float | None = None,
    named_step: int | None = None,
) -> tuple[bytes, Tally]:
    """``Scoring.run`` in a child of ``ChildPool``.

    An exception goes back to the server pickled and rebuilt there; one whose class
    cannot be rebuilt from its arguments could not cross, so every error but
    ``BadRequest`` goes back as a RuntimeError that names it (the same 500 text).
    """
    try:
        return _CHILD[0].run(endpoint, body, last_step, deadline, named_step)
    except BadRequest:
        raise
    except Exception as exc:
        raise RuntimeError(f"{type(exc).__name__}: {exc}") from None
