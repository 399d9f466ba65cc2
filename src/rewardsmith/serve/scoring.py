"""Turning a request body into the bytes of its answer, in the server's threads or in
scoring processes.

``Scoring.run(endpoint, body)`` parses the batch, scores it and serialises the answer,
all in one place, and returns the answer with a small ``Tally`` for the metrics. The app
runs it in one of two places (``create_app(score_processes=...)``):

- threads of the server process (``score_processes=0``, the default): the reward is
  shared, rewards that wait (judges, sandboxes) overlap, and a model is loaded once. The
  event loop and the scoring share one GIL, so reading the next body and writing the
  last answer take turns with a pure-Python reward.
- ``score_processes`` child processes (``process_pool``), each with its own copy of the
  reward (pickled to it, as Ray does): the process that speaks HTTP keeps its GIL to
  itself, and only bytes cross (the body, then the answer and its Tally). For CPU-bound
  rule-based specs. Each child keeps its own copy of the reward's state: the server
  sends every batch the last ``step`` it has seen, so schedules agree, but part names a
  leaf reports beyond its tree's are learnt per child. A child that dies breaks the
  pool: every batch it held, running or queued, gets a 500 (the client retries), and
  the next batch starts new children.

Example:
    >>> from rewardsmith import load_spec
    >>> answer, tally = Scoring(load_spec("math-r1")).run("score", b'{"samples": []}')
    >>> answer, tally.items
    (b'{"scores":[]}', 0)
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import pickle
import signal
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from multiprocessing.synchronize import Barrier

import orjson

from rewardsmith.core import Reward, Sample, Score, set_step, set_strict
from rewardsmith.core.reward import is_strict
from rewardsmith.integrations.openrlhf import END_TOKENS, PartNames, to_reply, to_samples
from rewardsmith.serve.metrics import Tally
from rewardsmith.serve.schemas import (
    BadRequest,
    RewardRequest,
    dump_json,
    parse_body,
    parse_score_request,
)

__all__ = [
    "Scoring",
    "child_ready",
    "process_pool",
    "run_in_child",
    "scores_body",
    "stop_children",
]


class Scoring:
    """A reward and the settings of the routes that score with it."""

    def __init__(
        self, reward: Reward, on_error: float = 0.0, end_tokens: Sequence[str] = END_TOKENS
    ) -> None:
        self.reward = reward
        self.on_error = on_error
        self.end_tokens = tuple(end_tokens)
        self.parts = PartNames(reward)
        self._step: int | None = None  # the step the reward was last set to

    def run(self, endpoint: str, body: bytes, last_step: int | None = None) -> tuple[bytes, Tally]:
        """The answer to ``body`` at ``endpoint`` and its Tally; BadRequest if the body is
        not valid, RuntimeError if the reward breaks its contract.

        ``last_step``: the latest step the server has seen, for a batch that names none
        (a scoring process may not have seen that batch). It only moves the reward's step
        forward: it was read when the batch arrived, and a batch that named a newer step
        may have been scored here since. A step a batch names is always taken.
        """
        if endpoint == "score":
            samples, step = parse_score_request(body)
        else:
            samples, step = self._openrlhf_samples(body), None
        start = time.perf_counter()
        now = step if step is not None else last_step
        if now is not None and (step is not None or self._step is None or now > self._step):
            self._step = now
            set_step(self.reward, now)
        scores = self.reward.score(samples) if samples else []
        seconds = time.perf_counter() - start
        if len(scores) != len(samples):  # a reward that broke the contract
            raise RuntimeError(f"reward returned {len(scores)} scores for {len(samples)} samples")
        if endpoint == "score":
            answer = scores_body(scores)
        else:
            reply = to_reply(scores, self.on_error, self.parts.update(scores))
            answer = dump_json(reply)
        return answer, Tally.of(scores, seconds, step)

    def _openrlhf_samples(self, body: bytes) -> list[Sample]:
        req = parse_body(RewardRequest, body)
        try:
            return to_samples(req.query, req.prompts, req.labels, self.end_tokens)
        except ValueError as exc:
            raise BadRequest(422, str(exc)) from None


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


def process_pool(scoring: Scoring, processes: int) -> Callable[[], ProcessPoolExecutor]:
    """A maker of pools of ``processes`` spawned children, each holding a copy of
    ``scoring``'s reward (pickled once, here, and loaded by every child); run batches in
    them with ``run_in_child``.

    Raises:
        ValueError: the reward does not pickle (a lock, an open handle).
    """
    context = multiprocessing.get_context("spawn")  # fork is unsafe once threads exist
    try:
        payload = pickle.dumps((scoring.reward, scoring.on_error, scoring.end_tokens))
    except Exception as exc:
        raise ValueError(
            f"score_processes needs a reward that pickles, and {scoring.reward!r} does not: "
            f"{type(exc).__name__}: {exc}"
        ) from None

    def make() -> ProcessPoolExecutor:
        started = context.Barrier(processes)
        pool = ProcessPoolExecutor(  # parent and strict mode as where the pool is made
            processes,
            context,
            initializer=_start,
            initargs=(payload, os.getpid(), is_strict(), started),
        )
        _widen_pipe(pool)
        return pool

    return make


def _widen_pipe(pool: ProcessPoolExecutor, size: int = 1 << 20) -> None:
    """Let the pipe that carries batches to the children hold ``size`` bytes (Linux's
    limit for a user).

    A pipe holds 64 KB by default, so a 400 KB body queued for a busy child crosses in
    seven hand-offs once the child asks for it, and each waits for the server's writer
    thread to get a CPU; in a wide pipe it is all there, and the child reads it at once
    (0.47 -> 0.20 ms per batch of 256 under load, timed once in an instrumented copy).
    Answers are a twentieth of their bodies, so the pipe back stays as it is. Only a
    speed-up: skipped where the call is not there (not Linux), and kept at 64 KB where
    the kernel refuses (past the user's pipe quota, ``/proc/sys/fs/pipe-user-pages-soft``:
    64 MiB, 64 pools).
    """
    try:
        from fcntl import F_SETPIPE_SZ, fcntl
    except ImportError:
        return
    writer = getattr(getattr(pool, "_call_queue", None), "_writer", None)
    with contextlib.suppress(AttributeError, OSError):  # no such pipe, or over the quota
        fcntl(writer.fileno(), F_SETPIPE_SZ, size)  # type: ignore[union-attr]


def stop_children(pool: Executor, grace_s: float) -> None:
    """Shut ``pool`` down; kill the children still busy after ``grace_s`` (a runaway batch
    must not hold the server's exit). Blocks up to ``grace_s``."""
    children = list((getattr(pool, "_processes", None) or {}).values())  # before shutdown
    pool.shutdown(wait=False, cancel_futures=True)
    deadline = time.monotonic() + grace_s
    for child in children:
        child.join(max(0.0, deadline - time.monotonic()))
        if child.is_alive():
            child.kill()
            child.join(5)


_CHILD: list[Scoring] = []
_STARTED: list[Barrier] = []


def _start(payload: bytes, parent: int, strict: bool, started: Barrier) -> None:
    from rewardsmith.serve.run import tune_process

    _die_with_parent(parent)
    set_strict(strict)  # as the server's, when the pool was made
    reward, on_error, end_tokens = pickle.loads(payload)
    _CHILD.append(Scoring(reward, on_error, end_tokens))
    _STARTED.append(started)
    tune_process()


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


def run_in_child(endpoint: str, body: bytes, last_step: int | None = None) -> tuple[bytes, Tally]:
    """``Scoring.run`` in a child of ``process_pool``.

    An exception goes back to the server pickled and rebuilt there; one whose class
    cannot be rebuilt from its arguments would break the whole pool, so every error but
    ``BadRequest`` goes back as a RuntimeError that names it (the same 500 text).
    """
    try:
        return _CHILD[0].run(endpoint, body, last_step)
    except BadRequest:
        raise
    except Exception as exc:
        raise RuntimeError(f"{type(exc).__name__}: {exc}") from None


def child_ready() -> bool:
    """True once every child of the pool has loaded its reward: for the app's startup
    only, one call per child (any further call waits for as many more).

    The app sends one call per child at startup. A child runs it only once its reward is
    loaded, and it returns only when every child has one, so no child can answer two
    and the server answers no request while a child is still loading.
    """
    _STARTED[0].wait()
    return bool(_CHILD)
