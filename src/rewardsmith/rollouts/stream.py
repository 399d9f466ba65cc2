"""Scoring a stream of rollout chunks, in this process or in worker processes.

Rows that could not be read get ``status=error`` with the reason; the others are scored
as one batch per chunk (so GRPO groups inside a chunk are seen together). With
``workers > 1`` chunks are scored in that many worker processes, each building its own
copy of the reward (rewards pickle); at most two chunks per worker are in flight, so memory stays
flat, and results come back in input order.
"""

from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor

from rewardsmith.core import ItemError, Reward, Sample, Score, Status
from rewardsmith.errors import InputError
from rewardsmith.rollouts.read import FieldMap, Row

__all__ = ["score_chunk", "score_stream"]

_worker: tuple[Reward, FieldMap] | None = None


def score_chunk(reward: Reward, rows: list[Row], fields: FieldMap | None = None) -> list[Score]:
    """One Score per row: unreadable rows as ``status=error``, the rest in one batch."""
    fields = fields or FieldMap()
    samples: list[Sample] = []
    failed: dict[int, Score] = {}
    for i, row in enumerate(rows):
        try:
            if row.raw is None:
                raise InputError(row.problem or "unreadable row")
            samples.append(fields.sample(row.raw))
        except InputError as exc:
            message = str(exc) if row.raw is None else f"row {row.index + 1}: {exc}"
            failed[i] = Score(None, Status.ERROR, {}, {}, ItemError("InputError", message))
    scored = iter(reward.score(samples) if samples else [])
    return [failed[i] if i in failed else next(scored) for i in range(len(rows))]


def _init_worker(reward: Reward, fields: FieldMap) -> None:
    global _worker
    _worker = (reward, fields)


def _score_in_worker(rows: list[Row]) -> list[Score]:
    assert _worker is not None
    reward, fields = _worker
    return score_chunk(reward, rows, fields)


def score_stream(
    chunks: Iterable[list[Row]],
    reward: Reward,
    workers: int = 1,
    fields: FieldMap | None = None,
) -> Iterator[tuple[list[Row], list[Score]]]:
    """Yield each chunk with its scores, in input order."""
    fields = fields or FieldMap()
    if workers <= 1:
        for rows in chunks:
            yield rows, score_chunk(reward, rows, fields)
        return
    ctx = multiprocessing.get_context("forkserver")
    init = (reward, fields)
    with ProcessPoolExecutor(
        workers, mp_context=ctx, initializer=_init_worker, initargs=init
    ) as pool:
        pending: deque[tuple[list[Row], Future[list[Score]]]] = deque()
        for rows in chunks:
            pending.append((rows, pool.submit(_score_in_worker, rows)))
            if len(pending) >= 2 * workers:
                done_rows, fut = pending.popleft()
                yield done_rows, fut.result()
        while pending:
            done_rows, fut = pending.popleft()
            yield done_rows, fut.result()
