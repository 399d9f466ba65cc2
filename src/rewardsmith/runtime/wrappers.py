"""Ways to run a per-item reward: in worker processes, in threads, through a cache.

- ``Isolated``: each item in a worker process with a hard wall-clock limit (CPU-bound work
  that can run away). An overrun item earns the reward's floor with ``status=timeout``.
- ``Threaded``: items on a thread pool (I/O-bound work: HTTP, databases). A thread cannot
  be killed: an item past its limit is reported as ``timeout`` and its thread is left to
  finish in the background. Use ``Isolated`` for work that must be stopped.
- ``Cached``: an opt-in content-hash cache, for rewards whose score depends only on the
  item (prompt, completion, reference, meta) and the reward's parameters.

Each wrapper is itself a Reward and pickles (pools and locks are rebuilt after a copy).
"""

from __future__ import annotations

import asyncio
import hashlib
import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import orjson

from rewardsmith.core import ItemReward, Sample, Score, Status, score_item
from rewardsmith.core.reward import Composable
from rewardsmith.core.tree import part_names, walk
from rewardsmith.runtime.executor import Outcome, ProcessExecutor, refers_to_main, shared_executor

__all__ = ["Cached", "Isolated", "Threaded"]


class _Wrapper(Composable):
    accepts: tuple[type, ...] = (ItemReward,)
    inner: Any

    def __init__(self, inner: Any) -> None:
        if not isinstance(inner, self.accepts):
            raise TypeError(f"{type(self).__name__} wraps per-item rewards, not {inner!r}")
        self.inner = inner
        self.name: str = self.inner.name
        self.children = (inner,)

    @property
    def range(self) -> tuple[float, float]:
        return self.inner.range  # type: ignore[no-any-return]

    @property
    def floor(self) -> float:
        return self.inner.floor  # type: ignore[no-any-return]

    @property
    def work(self) -> Any:  # type: ignore[override]
        return getattr(self.inner, "work", "cpu")

    def part_names(self) -> list[str]:
        return part_names(self.inner)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_lock", None)  # locks do not pickle; Cached makes a new one
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._init_runtime()

    def _init_runtime(self) -> None:
        pass


class Isolated(_Wrapper):
    """Score each item in a worker process, killed after ``timeout`` seconds."""

    def __init__(
        self, inner: ItemReward, timeout: float = 2.0, executor: ProcessExecutor | None = None
    ) -> None:
        super().__init__(inner)
        self.timeout = float(timeout)
        self.executor = executor
        self.import_main = refers_to_main(inner)  # a reward defined in the training script

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state["executor"] = None  # a pool does not travel; the copy uses its process's pool
        return state

    def _executor(self) -> ProcessExecutor:
        return self.executor or shared_executor(import_main=self.import_main)

    def _to_score(self, o: Outcome) -> Score:
        if o.status is Status.OK:
            return o.value  # type: ignore[no-any-return]
        return o.unscored(self.inner.floor)

    def score(self, samples: Sequence[Sample]) -> list[Score]:
        args = [(self.inner, s) for s in samples]
        return [self._to_score(o) for o in self._executor().map(score_item, args, self.timeout)]

    async def ascore(self, samples: Sequence[Sample]) -> list[Score]:
        args = [(self.inner, s) for s in samples]
        outcomes = await self._executor().amap(score_item, args, self.timeout)
        return [self._to_score(o) for o in outcomes]


class Threaded(_Wrapper):
    """Score items on ``threads`` threads; an item past ``timeout`` is reported as timeout.

    The threads are daemons started per batch, so a stuck item never blocks the batch
    past its limit nor the interpreter's exit.
    """

    def __init__(self, inner: ItemReward, threads: int = 8, timeout: float | None = None) -> None:
        super().__init__(inner)
        self.threads = threads
        self.timeout = timeout

    def score(self, samples: Sequence[Sample]) -> list[Score]:
        todo: queue.SimpleQueue[int] = queue.SimpleQueue()
        for i in range(len(samples)):
            todo.put(i)
        started: dict[int, float] = {}
        results: dict[int, Score] = {}
        done = threading.Condition()

        def work() -> None:
            while True:
                try:
                    i = todo.get_nowait()
                except queue.Empty:
                    return
                started[i] = time.monotonic()
                score = score_item(self.inner, samples[i])
                with done:
                    results.setdefault(i, score)
                    done.notify()

        for _ in range(min(self.threads, len(samples))):
            threading.Thread(target=work, daemon=True, name="rewardsmith-item").start()
        with done:
            while len(results) < len(samples):
                done.wait(0.05)
                if self.timeout is not None:
                    self._expire(started, results)
        return [results[i] for i in range(len(samples))]

    def _expire(self, started: dict[int, float], results: dict[int, Score]) -> None:
        assert self.timeout is not None
        now = time.monotonic()
        for i, t in list(started.items()):
            if i not in results and now - t > self.timeout:
                reason = f"over {self.timeout:g}s; thread left running"
                results[i] = Score.timed_out(self.inner.floor, reason)

    async def ascore(self, samples: Sequence[Sample]) -> list[Score]:
        return await asyncio.to_thread(self.score, list(samples))


class Cached(_Wrapper):
    """An LRU cache of ``maxsize`` scores keyed by a hash of the item and the reward.

    The key holds every field a reward reads: prompt, completion, reference, meta and the
    policy's tokens (ids, log-probs, entropies), and the training step when a node under
    it has a schedule (``on_step``), so a length reward over tokens or a scheduled weight
    is never answered from another item's or another step's score."""

    accepts = (ItemReward, Isolated, Threaded)

    def __init__(self, inner: ItemReward | Isolated | Threaded, maxsize: int = 100_000) -> None:
        super().__init__(inner)
        self.maxsize = maxsize
        self.hits = self.misses = 0
        self._store: OrderedDict[bytes, Score] = OrderedDict()
        self._init_runtime()
        self._salt = repr(inner).encode()
        self.step = 0
        self._stepped = any(callable(getattr(n, "on_step", None)) for n in walk(inner))

    def on_step(self, step: int) -> None:
        self.step = int(step)

    def _init_runtime(self) -> None:
        self._lock = threading.Lock()

    def key(self, s: Sample) -> bytes:
        tokens = None if s.tokens is None else [s.tokens.ids, s.tokens.logprobs, s.tokens.entropies]
        step = self.step if self._stepped else None
        item = [s.prompt, s.completion, s.reference, dict(s.meta), tokens, step]
        blob = orjson.dumps(
            item, default=repr, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS
        )
        return hashlib.blake2b(self._salt + blob, digest_size=16).digest()

    def score(self, samples: Sequence[Sample]) -> list[Score]:
        keys = [self.key(s) for s in samples]
        out: dict[int, Score] = {}
        with self._lock:
            for i, k in enumerate(keys):
                if k in self._store:
                    self._store.move_to_end(k)
                    out[i] = self._store[k]
        todo = [i for i in range(len(samples)) if i not in out]
        # Repeated items in one batch (a GRPO group) are scored once.
        first: dict[bytes, int] = {}
        for i in todo:
            first.setdefault(keys[i], i)
        fresh = dict(
            zip(first, self.inner.score([samples[i] for i in first.values()]), strict=True)
        )
        with self._lock:
            self.hits += len(samples) - len(first)
            self.misses += len(first)
            for k, sc in fresh.items():
                if sc.status is Status.OK:  # failures are retried, never remembered
                    self._store[k] = sc
                    if len(self._store) > self.maxsize:
                        self._store.popitem(last=False)
        for i in todo:
            out[i] = fresh[keys[i]]
        return [out[i] for i in range(len(samples))]

    async def ascore(self, samples: Sequence[Sample]) -> list[Score]:
        return await asyncio.to_thread(self.score, list(samples))
