"""Running programs through ``code.unit_tests`` in tests: fence them, score one, read
each test's outcome."""

from __future__ import annotations

import textwrap
from typing import Any

from rewardsmith import Sample

ADD_TESTS = {"tests": ["assert add(1, 2) == 3", "assert add(20, 22) == 42"]}


def code(body: str) -> str:
    return "```python\n" + textwrap.dedent(body).strip("\n") + "\n```"


def run_one(reward: Any, body: str, reference: Any = ADD_TESTS) -> Any:
    score = reward.score([Sample(completion=code(body), reference=reference)])[0]
    assert score.status == "ok", score.error
    return score


def outcomes(score: Any) -> list[str]:
    return [t["outcome"] for t in score.info["tests"]]
