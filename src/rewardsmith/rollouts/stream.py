"""Scoring a stream of rollout chunks, in this process or in worker processes.

Rows that could not be read get ``status=error`` with the reason; the others are scored
as one batch per chunk (so GRPO groups inside a chunk are seen together). With
``workers > 1`` chunks are scored in that many worker processes, each building its own
reward with ``make_reward``; at most two chunks per worker are in flight, so memory stays
flat, and results come back in input order.
"""

from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor

from rewardsmith.core import ItemError, Reward, Score, Status
from rewardsmith.rollouts.read import Row

__all__ = ["score_chunk", "score_stream"]

_worker_reward: Reward | None = None


def score_chunk(reward: Reward, rows: list[Row]) -> list[Score]:
    """One Score per row: read errors as ``status=error``, the rest scored in one batch."""
    good = [r.sample for r in rows if r.sample is not None]
    scored = iter(reward.score(good) if good else [])
    return [
        next(scored)
        if r.sample is not None
        else Score(None, Status.ERROR, {}, {}, ItemError("InputError", r.problem or "unreadable row"))
        for r in rows
    ]


def _init_worker(make_reward: Callable[[], Reward]) -> None:
    global _worker_reward
    _worker_reward = make_reward()


def _score_in_worker(rows: list[Row]) -> list[Score]:
    assert _worker_reward is not None
    return score_chunk(_worker_reward, rows)


def score_stream(
    chunks: Iterable[list[Row]], make_reward: Callable[[], Reward], workers: int = 1
) -> Iterator[tuple[list[Row], list[Score]]]:
    """Yield each chunk with its scores, in input order."""
    if workers <= 1:
        reward = make_reward()
        for rows in chunks:
            yield rows, score_chunk(reward, rows)
        return
    ctx = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker, initargs=(make_reward,)) as pool:
        pending: deque[tuple[list[Row], Future[list[Score]]]] = deque()
        for rows in chunks:
            pending.append((rows, pool.submit(_score_in_worker, rows)))
            if len(pending) >= 2 * workers:
                done_rows, fut = pending.popleft()
                yield done_rows, fut.result()
        while pending:
            done_rows, fut = pending.popleft()
            yield done_rows, fut.result()
