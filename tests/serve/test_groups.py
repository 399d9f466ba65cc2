"""The group window of ``/get_reward``: OpenRLHF's one-rollout requests scored as groups."""

from __future__ import annotations

import asyncio
import logging
import time

import openrlhf.utils.agent as agent  # pip install --no-deps openrlhf==0.11.2 (Makefile)
import pytest

from helpers_serve import running
from rewardsmith import Sample, Score
from rewardsmith.core import GroupReward
from rewardsmith.core.tree import needs_groups
from rewardsmith.serve import create_app
from rewardsmith.serve.groups import GroupWindow


class GroupSize(GroupReward):
    """The size of the item's group, over 10: a group of one earns 0.1."""

    name = "test.group_size"

    def score_group(self, samples):  # type: ignore[no-untyped-def]
        return [len(samples) / 10 for _ in samples]


def test_a_group_is_scored_once_complete() -> None:
    calls: list[int] = []

    async def score(batch: list[Sample]) -> list[Score]:
        calls.append(len(batch))
        return [Score(float(len(batch))) for _ in batch]

    async def main() -> list[list[Score]]:
        window = GroupWindow(size=3, wait_s=30.0, score=score)
        items = [Sample(prompt="p", completion=str(i), group="p") for i in range(3)]
        start = time.monotonic()
        got = await asyncio.gather(*(window.score([s]) for s in items))
        assert time.monotonic() - start < 5  # closed by size, not by the 30 s deadline
        assert window.open_groups == 0
        return got

    got = asyncio.run(main())
    assert calls == [3]
    assert [r[0].value for r in got] == [3.0, 3.0, 3.0]
    assert got[0][0].info["group_window"] == {"size": 3, "closed": "complete"}


def test_a_short_group_is_scored_at_the_deadline_and_says_so() -> None:
    async def score(batch: list[Sample]) -> list[Score]:
        return [Score(float(len(batch))) for _ in batch]

    async def main() -> list[list[Score]]:
        window = GroupWindow(size=4, wait_s=0.2, score=score)
        a = Sample(prompt="p", completion="a", group="p")
        b = Sample(prompt="q", completion="b", group="q")
        lone = Sample(prompt="r", completion="c")  # no group: a group of one, at once
        return await asyncio.gather(window.score([a, b]), window.score([a]), window.score([lone]))

    mixed, second, lone = asyncio.run(main())
    assert [s.value for s in mixed] == [2.0, 1.0]  # p had 2 of 4 by the deadline, q had 1
    assert second[0].value == 2.0
    assert mixed[0].info["group_window"] == {"size": 2, "closed": "deadline"}
    assert lone[0].value == 1.0


def test_a_failing_group_fails_only_its_own_requests() -> None:
    async def score(batch: list[Sample]) -> list[Score]:
        if any(s.group == "bad" for s in batch):
            raise RuntimeError("scoring broke")
        return [Score(1.0) for _ in batch]

    async def main() -> tuple[object, object]:
        window = GroupWindow(size=1, wait_s=1.0, score=score)
        bad = window.score([Sample(prompt="x", completion="y", group="bad")])
        good = window.score([Sample(prompt="x", completion="y", group="good")])
        return tuple(await asyncio.gather(bad, good, return_exceptions=True))  # type: ignore[return-value]

    bad, good = asyncio.run(main())
    assert isinstance(bad, RuntimeError)
    assert [s.value for s in good] == [1.0]  # type: ignore[attr-defined]


def test_openrlhf_one_rollout_per_request_gets_whole_groups() -> None:
    reward = GroupSize()
    assert needs_groups(reward)
    prompts = ["P1 ", "P1 ", "P2 ", "P1 ", "P2 ", "P2 "]
    queries = [p + f"answer {i}" for i, p in enumerate(prompts)]

    async def one_per_request(url: str) -> list[float]:
        executor = agent.SingleTurnAgentExecutor(remote_rm_url=url + "/get_reward")
        replies = await asyncio.gather(
            *(
                executor._fetch_rewards_via_http([q], [p], [None])
                for q, p in zip(queries, prompts, strict=True)
            )
        )
        return [r[0]["rewards"][0] for r in replies]

    with running(create_app(reward)) as url:  # no window: each request is its own batch
        assert asyncio.run(one_per_request(url)) == [0.1] * 6
    app = create_app(reward, group_size=3, group_window_s=20.0)
    with running(app) as url:
        start = time.monotonic()
        assert asyncio.run(one_per_request(url)) == [0.3] * 6
        assert time.monotonic() - start < 10  # both groups closed complete, not at 20 s


def test_a_spec_with_group_rewards_warns_when_no_window_is_set(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="rewardsmith.serve"):
        create_app(GroupSize())
        create_app("math-r1")
    warned = [r.message for r in caplog.records if "group" in r.message]
    assert len(warned) == 1 and "--group-window" in warned[0]
