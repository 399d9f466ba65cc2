"""Scoring a stream of input blocks, in this process or in worker processes.

Each block is parsed, scored as one batch (so GRPO groups inside a block are seen
together), rendered for the output and counted where it is processed: with
``processes > 1`` that is a worker process holding its own copy of the reward (rewards
pickle), and the parent only reads bytes, writes what comes back and adds up the counts.
At most two blocks per process are in flight, so memory stays flat, and results come back
in input order. Rows that cannot be read get ``status=error`` with the reason.
"""

from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from rewardsmith.core import ItemError, Reward, Sample, Score, Status
from rewardsmith.errors import InputError
from rewardsmith.rollouts.fields import FieldMap
from rewardsmith.rollouts.read import Block, Row
from rewardsmith.rollouts.summary import Summary
from rewardsmith.rollouts.write import Renderer

__all__ = ["Processed", "process_block", "score_blocks", "score_chunk"]


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


@dataclass(frozen=True, slots=True)
class Processed:
    """A scored block: its row count, its counts and its rendered output (or None)."""

    rows: int
    summary: Summary
    rendered: Any = None


def process_block(
    block: Block, reward: Reward, fields: FieldMap, renderer: Renderer | None = None
) -> Processed:
    """Parse, score, count and render one block."""
    rows = block.rows()
    scores = score_chunk(reward, rows, fields)
    summary = Summary()
    summary.update(scores)
    return Processed(len(rows), summary, renderer(rows, scores) if renderer else None)


_worker: tuple[Reward, FieldMap, Renderer | None] | None = None


def _init_worker(reward: Reward, fields: FieldMap, renderer: Renderer | None) -> None:
    global _worker
    _worker = (reward, fields, renderer)


def _process_in_worker(block: Block) -> Processed:
    assert _worker is not None
    return process_block(block, *_worker)


def score_blocks(
    blocks: Iterable[Block],
    reward: Reward,
    *,
    processes: int = 1,
    fields: FieldMap | None = None,
    renderer: Renderer | None = None,
) -> Iterator[Processed]:
    """Yield each block's result, in input order; ``processes > 1`` scores blocks in that
    many worker processes."""
    fields = fields or FieldMap()
    if processes <= 1:
        for block in blocks:
            yield process_block(block, reward, fields, renderer)
        return
    ctx = multiprocessing.get_context("forkserver")
    init = (reward, fields, renderer)
    with ProcessPoolExecutor(
        processes, mp_context=ctx, initializer=_init_worker, initargs=init
    ) as pool:
        pending: deque[Future[Processed]] = deque()
        for block in blocks:
            pending.append(pool.submit(_process_in_worker, block))
            if len(pending) >= 2 * processes:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
