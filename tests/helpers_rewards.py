"""Small rewards for the core tests, importable by worker processes (forkserver)."""

from __future__ import annotations

import os
import time

from rewardsmith.core import GroupReward, ItemReward, Sample, Score


class Length(ItemReward):
    """Completion length / 10, capped at 1: a deterministic reward with no parsing."""

    name = "test.length"
    max_chars = None

    def score_one(self, sample: Sample) -> float:
        return min(len(sample.text) / 10, 1.0)


class Flag(ItemReward):
    """1.0 if the completion contains ``yes``; raises on ``boom`` (an infrastructure fault)."""

    name = "test.flag"

    def __init__(self) -> None:
        self.calls = 0

    def score_one(self, sample: Sample) -> Score | float:
        self.calls += 1
        if "boom" in sample.text:
            raise RuntimeError("checker exploded")
        return float("yes" in sample.text)


class Runaway(ItemReward):
    """Misbehaves on purpose, by completion: sleep, spin, die; else scores 1."""

    name = "test.runaway"

    def score_one(self, sample: Sample) -> float:
        text = sample.text
        if text == "sleep":
            time.sleep(3600)
        if text == "spin":
            while True:
                pass
        if text == "die":
            os._exit(3)
        return 1.0


class GroupMean(GroupReward):
    """Each item's length minus its group's mean length (a group-relative reward)."""

    name = "test.group_mean"

    @property
    def range(self) -> tuple[float, float]:
        return (-1e9, 1e9)

    def score_group(self, samples: list[Sample]) -> list[float]:
        lengths = [len(s.text) for s in samples]
        mean = sum(lengths) / len(lengths)
        return [n - mean for n in lengths]
