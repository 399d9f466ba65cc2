"""Run a program against a suite in the sandbox and decide each test outside it.

Each test ends as one outcome: ``pass``, ``wrong_answer``, ``runtime_error``,
``timeout``, ``memory``, ``output`` (wrote past the cap), ``signal`` (killed itself or
was killed), ``unencodable`` (returned an object that is not a plain value), or
``not_run`` (the program ended, or all-or-nothing scoring stopped, before it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from importlib import resources
from typing import Any

from rewardsmith.runtime.sandbox import Isolation, Limits, Run, python, run
from rewardsmith.verifiable.code.asserts import evaluate
from rewardsmith.verifiable.code.suites import Suite
from rewardsmith.verifiable.code.values import decode, same_output, same_value

__all__ = ["Config", "TestResult", "run_suite"]

_EXCERPT = 400
HARNESS = resources.files("rewardsmith.verifiable.code").joinpath("harness.py").read_text()


@dataclass(frozen=True, slots=True)
class Config:
    limits: Limits = field(default_factory=Limits)
    isolation: Isolation = "bwrap"
    python: str | None = None
    float_tol: float = 1e-6
    stop_on_failure: bool = False


@dataclass(frozen=True, slots=True)
class TestResult:
    outcome: str
    detail: str = ""

    @property
    def passed(self) -> bool:
        return self.outcome == "pass"

    def as_dict(self) -> dict[str, str]:
        return (
            {"outcome": self.outcome, "detail": self.detail}
            if self.detail
            else {"outcome": self.outcome}
        )


def _excerpt(data: bytes) -> str:
    text = data.decode("utf-8", errors="replace")
    return text if len(text) <= _EXCERPT else text[:_EXCERPT] + f"... [{len(text)} chars]"


def _last_line(data: bytes) -> str:
    lines = data.decode("utf-8", errors="replace").strip().splitlines()
    return lines[-1][:300] if lines else ""


def _from_run(r: Run) -> TestResult:
    if r.outcome == "error":
        return TestResult("runtime_error", _last_line(r.stderr) or r.detail)
    return TestResult(r.outcome, r.detail)


def run_suite(
    program: str, suite: Suite, config: Config
) -> tuple[list[TestResult], dict[str, Any]]:
    """Every test's result, and ``info`` extras (stdout/stderr excerpts)."""
    if suite.kind == "stdio":
        return _stdio(program, suite, config)
    return _harnessed(program, suite, config)


def _stdio(program: str, suite: Suite, config: Config) -> tuple[list[TestResult], dict[str, Any]]:
    results: list[TestResult] = []
    info: dict[str, Any] = {}
    argv = [config.python or python(), "-I", "/sandbox/solution.py"]
    for inp, expected in zip(suite.inputs, suite.outputs, strict=True):
        if config.stop_on_failure and results and not results[-1].passed:
            results.append(TestResult("not_run"))
            continue
        r = run(
            argv,
            files={"solution.py": program},
            stdin=str(inp).encode(),
            limits=config.limits,
            isolation=config.isolation,
        )
        if r.outcome == "ok":
            got = r.stdout.decode("utf-8", errors="replace")
            ok = same_output(got, str(expected), config.float_tol)
            result = (
                TestResult("pass")
                if ok
                else TestResult("wrong_answer", f"got {_excerpt(r.stdout)[:120]!r}")
            )
        else:
            result = _from_run(r)
        if not result.passed and "stdout" not in info:
            info["stdout"], info["stderr"] = _excerpt(r.stdout), _excerpt(r.stderr)
        results.append(result)
    return results, info


def _job(suite: Suite, config: Config) -> dict[str, Any]:
    per_test = config.limits.wall_s
    if suite.kind == "call":
        return {
            "mode": "call",
            "fn_name": suite.fn_name,
            "cases": suite.inputs,
            "per_test_s": per_test,
            "program": "solution.py",
        }
    assert suite.plan is not None
    return {
        "mode": "assert",
        "cases": suite.plan.steps,
        "per_test_s": per_test,
        "program": "solution.py",
    }


def _frames(channel: bytes) -> list[dict[str, Any]]:
    frames = []
    for line in channel.splitlines():
        try:
            frame = json.loads(line)
        except ValueError:
            continue
        if isinstance(frame, dict):
            frames.append(frame)
    return frames


def _harnessed(
    program: str, suite: Suite, config: Config
) -> tuple[list[TestResult], dict[str, Any]]:
    n = len(suite)
    steps = len(suite.plan.steps) if suite.plan is not None else n
    limits = config.limits
    limits = replace(
        limits, wall_s=limits.wall_s * (steps + 1) + 2, cpu_s=limits.cpu_s * (steps + 1)
    )
    r = run(
        [config.python or python(), "-I", "/sandbox/harness.py"],
        files={"solution.py": program, "harness.py": HARNESS},
        stdin=json.dumps(_job(suite, config)).encode(),
        limits=limits,
        isolation=config.isolation,
        channel=True,
    )
    info: dict[str, Any] = {"stdout": _excerpt(r.stdout), "stderr": _excerpt(r.stderr)}
    frames = _frames(r.channel)
    by_test: dict[int, dict[str, Any]] = {}
    load: dict[str, Any] | None = None
    x_to_test = {
        s["x"]: s["i"] for s in (suite.plan.steps if suite.plan else []) if "exec" in s and "i" in s
    }
    for f in frames:
        if "load" in f and load is None:
            load = f
        elif isinstance(f.get("i"), int) and "x" not in f:
            by_test.setdefault(f["i"], f)
        elif f.get("x") in x_to_test:
            by_test.setdefault(x_to_test[f["x"]], f)
    if load is None or load.get("load") != "ok":
        why = _from_run(r) if load is None else TestResult("runtime_error", str(load.get("e", "")))
        if load is None and r.outcome == "ok":
            why = TestResult("runtime_error", "the program ended the harness before it loaded")
        return [why] * n, info
    results: list[TestResult] = []
    ended = False
    for i in range(n):
        if i not in by_test:
            if ended or r.outcome == "ok":
                results.append(
                    TestResult("not_run", "" if ended else "the program ended the run early")
                )
            else:
                results.append(_from_run(r))
            ended = True
            continue
        results.append(_decide(by_test[i], i, suite, config))
    return results, info


def _decide(frame: dict[str, Any], i: int, suite: Suite, config: Config) -> TestResult:
    try:
        if suite.kind == "call":
            return _decide_call(frame, i, suite, config)
        return _decide_assert(frame, i, suite)
    except Exception as exc:  # a malformed or forged frame fails the test, nothing else
        return TestResult("runtime_error", f"bad result: {type(exc).__name__}: {exc}"[:300])


def _failed(frame: dict[str, Any]) -> TestResult:
    kind = str(frame.get("k", "error"))
    return TestResult("runtime_error" if kind == "error" else kind, str(frame.get("e", ""))[:300])


def _decide_call(frame: dict[str, Any], i: int, suite: Suite, config: Config) -> TestResult:
    if "v" not in frame:
        return _failed(frame)
    got = decode(frame["v"])
    expected = suite.outputs[i]
    if same_value(got, expected, config.float_tol):
        return TestResult("pass")
    # APPS wraps each call's output in a one-element list.
    if (
        isinstance(expected, list)
        and len(expected) == 1
        and same_value(got, expected[0], config.float_tol)
    ):
        return TestResult("pass")
    return TestResult("wrong_answer", f"got {got!r:.120}")


def _decide_assert(frame: dict[str, Any], i: int, suite: Suite) -> TestResult:
    assert suite.plan is not None
    check = suite.plan.checks[i]
    if check.in_process:
        return TestResult("pass") if frame.get("ok") is True else _failed(frame)
    leaves = frame.get("leaves", [])
    if (failed := next((leaf for leaf in leaves if "v" not in leaf), None)) is not None:
        return _failed(failed)
    if len(leaves) != len(check.leaves):
        return TestResult("runtime_error", "missing values")
    values = [decode(leaf["v"]) for leaf in leaves]
    try:
        ok = evaluate(check.tree, values)
    except Exception as exc:
        return TestResult("runtime_error", f"{type(exc).__name__}: {exc}"[:300])
    # ``ok`` is built from plain values only, so its truth is the test's own.
    return TestResult("pass") if bool(ok) else TestResult("wrong_answer", check.source[:200])
