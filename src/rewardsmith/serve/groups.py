"""The group window of ``/get_reward``: whole groups for group rewards, one query at a time.

OpenRLHF asks for each rollout's reward in its own request as soon as the rollout is
generated, so a group reward (majority vote, group-relative length, group
normalisation) would see groups of one. With a window, the server holds each rollout
until its prompt's group is complete (``size`` rollouts, OpenRLHF's
``n_samples_per_prompt``) or ``wait_s`` has passed since the group's first rollout
arrived, then scores the group as one batch and answers every request it came from.

A group is the rollouts with the same ``Sample.group`` (for ``/get_reward``, the same
prompt). A request waits for every group its rollouts belong to. The window costs each
request up to ``wait_s`` of latency; a group cut short by the deadline is scored as it
is (its rollouts say so in ``info["group_window"]``), never dropped.

Example:
    >>> import asyncio
    >>> from rewardsmith import Sample, Score
    >>> async def score(batch):  # what the server's scoring does with a closed group
    ...     return [Score(float(len(batch))) for _ in batch]
    >>> async def two_requests():
    ...     window = GroupWindow(size=2, wait_s=5.0, score=score)
    ...     a = Sample(prompt="p", completion="x", group="p")
    ...     b = Sample(prompt="p", completion="y", group="p")
    ...     return await asyncio.gather(window.score([a]), window.score([b]))
    >>> [[s.value for s in r] for r in asyncio.run(two_requests())]
    [[2.0], [2.0]]
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass, field

from rewardsmith.core import Sample, Score

__all__ = ["GroupWindow"]

Scorer = Callable[[list[Sample]], Awaitable[list[Score]]]


@dataclass
class _Open:
    """A group still collecting rollouts."""

    samples: list[Sample] = field(default_factory=list)
    waiting: list[asyncio.Future[Score]] = field(default_factory=list)
    timer: asyncio.TimerHandle | None = None


class GroupWindow:
    """Collects rollouts by group and scores each group once it is whole or due."""

    def __init__(self, size: int | None, wait_s: float, score: Scorer) -> None:
        if size is not None and size < 1:
            raise ValueError(f"group size must be >= 1, got {size}")
        if not wait_s > 0:
            raise ValueError(f"the group window must be > 0 seconds, got {wait_s}")
        self.size = size
        self.wait_s = float(wait_s)
        self._score = score
        self._open: dict[Hashable, _Open] = {}
        self._running: set[asyncio.Task[None]] = set()

    @property
    def open_groups(self) -> int:
        return len(self._open)

    async def score(self, samples: Sequence[Sample]) -> list[Score]:
        """The scores of ``samples``, each scored together with the rest of its group."""
        loop = asyncio.get_running_loop()
        futures: list[asyncio.Future[Score]] = []
        for i, sample in enumerate(samples):
            key: Hashable = ("item", id(futures), i) if sample.group is None else sample.group
            group = self._open.get(key)
            if group is None:
                group = self._open[key] = _Open()
                group.timer = loop.call_later(self.wait_s, self._close, key, True)
            future: asyncio.Future[Score] = loop.create_future()
            group.samples.append(sample)
            group.waiting.append(future)
            futures.append(future)
            if sample.group is None or (self.size is not None and len(group.samples) >= self.size):
                self._close(key, False)
        return list(await asyncio.gather(*futures))

    def _close(self, key: Hashable, due: bool) -> None:
        group = self._open.pop(key, None)
        if group is None:
            return
        if group.timer is not None:
            group.timer.cancel()
        task = asyncio.ensure_future(self._run(group, due))
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _run(self, group: _Open, due: bool) -> None:
        try:
            scores = await self._score(group.samples)
        except BaseException as exc:
            for f in group.waiting:
                if not f.done():
                    f.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        note = {"size": len(group.samples), "closed": "deadline" if due else "complete"}
        for f, s in zip(group.waiting, scores, strict=True):
            if not f.done():
                f.set_result(s.with_(info={**s.info, "group_window": note}))
