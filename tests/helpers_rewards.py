"""Small rewards for the core tests, importable by worker processes (forkserver)."""

from __future__ import annotations

import os
import time
import zlib

from rewardsmith.core import GroupReward, ItemError, ItemReward, Sample, Score, Status


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


class Ranged(ItemReward):
    """A value within a declared ``[lo, hi]`` (negative ranges too), or a failure, chosen by
    a hash of ``seed`` and the completion: the same completion always gets the same result.

    About ``fail_rate`` of completions fail, each in one of the ways of ``Broken``. The
    others get ``lo``, ``hi`` or a point between, with that point's fraction in
    ``parts["u"]``.
    """

    name = "test.ranged"
    max_chars = None

    def __init__(self, lo: float, hi: float, seed: int = 0, fail_rate: float = 0.0) -> None:
        if lo > hi:
            raise ValueError(f"lo {lo} > hi {hi}")
        self.lo, self.hi, self.seed, self.fail_rate = lo, hi, seed, fail_rate

    @property
    def range(self) -> tuple[float, float]:
        return (self.lo, self.hi)

    def part_names(self) -> list[str]:
        return ["u"]

    def score_one(self, sample: Sample) -> Score | float:
        u = zlib.crc32(f"{self.seed}:{sample.text}".encode()) / 2**32
        if u < self.fail_rate:
            return fail(Broken.WAYS[int(u / self.fail_rate * len(Broken.WAYS))], self.lo)
        u = (u - self.fail_rate) / (1 - self.fail_rate)
        if u < 0.25:
            return self.lo
        if u < 0.5:
            return self.hi
        return Score.ok(min(self.hi, self.lo + (self.hi - self.lo) * u), u=u)


class Broken(ItemReward):
    """Declares ``[lo, hi]`` and fails every item one way (see ``fail``)."""

    name = "test.broken"
    max_chars = None
    WAYS = ("raise", "timeout", "timeout_floor", "skipped")

    def __init__(self, lo: float = 0.0, hi: float = 1.0, how: str = "raise") -> None:
        self.lo, self.hi, self.how = lo, hi, how

    @property
    def range(self) -> tuple[float, float]:
        return (self.lo, self.hi)

    def score_one(self, sample: Sample) -> Score | float:
        return fail(self.how, self.lo)


def fail(how: str, floor: float) -> Score:
    """``raise``: an exception (status error, no value); ``timeout``: status timeout with a
    ``TimeoutError`` and no value; ``timeout_floor``: status timeout with ``floor`` as the
    value; ``skipped``: status skipped, no value, no error."""
    if how == "raise":
        raise RuntimeError("checker exploded")
    if how == "timeout":
        return Score(None, Status.TIMEOUT, error=ItemError("TimeoutError", "too slow"))
    if how == "timeout_floor":
        return Score.timed_out(floor, "too slow")
    if how == "skipped":
        return Score.skipped("nothing to score")
    raise ValueError(f"unknown failure {how!r}")


REQUIRED_PARAMS: dict[str, dict[str, object]] = {
    # Entries whose defaults do not build (the catalog shows no range for them): the
    # parameters every registry-wide test builds them with. Model rewards point at a
    # path that does not exist, so they score error statuses; tests/judges runs real ones.
    "efficiency.crf": {"alpha": 0.5, "s": 1.0},
    "format.regex": {"pattern": r"<answer>.*</answer>"},
    "length.cosine": {"max_tokens": 64},
    "process.clip": {"eta": 0.5},
    "process.relevance": {"nli_model": "/nonexistent/nli"},
    "rm.score": {"model": "/nonexistent/rm"},  # error statuses; tests/judges runs real ones
    "rm.joint": {"model": "/nonexistent/rm"},
    "rm.segments": {"model": "/nonexistent/rm"},
    "judge.pointwise": {"model": "/nonexistent/judge"},
    "judge.pairwise": {"model": "/nonexistent/judge"},
    "judge.reference": {"model": "/nonexistent/judge"},
    "judge.rubric": {"model": "/nonexistent/judge"},
    "judge.principle": {"model": "/nonexistent/judge", "principle": "Be concise."},
    "judge.faithfulness": {"model": "/nonexistent/judge"},
    "judge.critique": {"model": "/nonexistent/judge"},
    "judge.sentences": {"model": "/nonexistent/judge"},
    "judge.segments": {"model": "/nonexistent/judge"},
    "judge.thoughts": {"model": "/nonexistent/judge"},
    "judge.relevance": {"model": "/nonexistent/judge"},
    "judge.table_qa": {"model": "/nonexistent/judge"},
    "likelihood.reference_logprob": {"model": "/nonexistent/lm"},
    "likelihood.sar": {"model": "/nonexistent/lm"},
    "likelihood.endogenous": {"model": "/nonexistent/lm"},
    "likelihood.follow_up": {"model": "/nonexistent/lm"},
    "likelihood.path_faithfulness": {"model": "/nonexistent/lm"},
    "transform.clamp": {"low": -1.0, "high": 1.0},
    "transform.noise": {"mode": "flip", "p": 0.1},
}
