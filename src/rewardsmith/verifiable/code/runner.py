"""Run a program against a suite in the sandbox and decide each test outside it.

Each test ends as one outcome: ``pass``, ``wrong_answer``, ``runtime_error``,
``timeout``, ``memory``, ``output`` (wrote past the cap), ``signal`` (killed itself or
was killed), ``unencodable`` (returned an object that is not a plain value), or
``not_run`` (the program ended, or all-or-nothing scoring stopped, before it).
"""

from __future__ import annotations

import json
import signal
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from importlib import resources
from typing import Any

from rewardsmith.runtime.sandbox import Isolation, Limits, Run, python, run, signal_name
from rewardsmith.verifiable.code.asserts import evaluate
from rewardsmith.verifiable.code.suites import Suite
from rewardsmith.verifiable.code.values import decode, same_output, same_value

__all__ = ["Config", "TestResult", "run_suite"]

_EXCERPT = 400
_ENDED = "the program ended the run early"
_HERE = resources.files("rewardsmith.verifiable.code")
HARNESS = _HERE.joinpath("harness.py").read_text()
STDIO_RUNNER = _HERE.joinpath("stdio_runner.py").read_text()


@dataclass(frozen=True, slots=True)
class Config:
    limits: Limits = field(default_factory=Limits)
    isolation: Isolation = "bwrap"
    python: str | None = None
    float_tol: float = 1e-6


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
    n = len(suite.inputs)
    if n == 1:  # one test: run the program itself, sparing the runner's start-up
        return _stdio_once(program, suite, config)
    files = {"solution.py": program, "stdio_runner.py": STDIO_RUNNER}
    files.update({f"in_{i}": str(inp) for i, inp in enumerate(suite.inputs)})
    job = {"n": n, "per_test_s": config.limits.wall_s, "output_bytes": config.limits.output_bytes}
    r = _run_many(config, "stdio_runner.py", files, job, n)
    frames, load = _by_test(r.channel, {})
    info: dict[str, Any] = {}
    if load is None or load.get("load") != "ok":
        return _unloaded(r, load, n), {"stdout": _excerpt(r.stdout), "stderr": _excerpt(r.stderr)}
    results = _results(frames, n, r, lambda i, f: _decide_stdio(f, str(suite.outputs[i]), config))
    failed = next((frames[i] for i, t in enumerate(results) if not t.passed and i in frames), None)
    if failed is not None:
        info = {
            "stdout": _excerpt(str(failed["out"]).encode()),
            "stderr": _excerpt(str(failed["err"]).encode()),
        }
    return results, info


def _stdio_once(
    program: str, suite: Suite, config: Config
) -> tuple[list[TestResult], dict[str, Any]]:
    r = run(
        [config.python or python(), "-I", "/sandbox/solution.py"],
        files={"solution.py": program},
        stdin=str(suite.inputs[0]).encode(),
        limits=config.limits,
        isolation=config.isolation,
    )
    rc = r.returncode or 0
    frame = {
        "rc": -(rc - 128) if rc > 128 else rc,
        "out": r.stdout.decode("utf-8", errors="replace"),
        "err": r.stderr.decode("utf-8", errors="replace"),
        "t": r.outcome if r.outcome in ("timeout", "output") else None,
    }
    result = _decide_stdio(frame, str(suite.outputs[0]), config)
    info = {} if result.passed else {"stdout": _excerpt(r.stdout), "stderr": _excerpt(r.stderr)}
    return [result], info


def _decide_stdio(frame: dict[str, Any], expected: str, config: Config) -> TestResult:
    rc, err, killed = int(frame["rc"]), str(frame["err"]), frame.get("t")
    if killed:
        return TestResult(str(killed), "per-test limit" if killed == "timeout" else "output cap")
    if "MemoryError" in err[-1000:]:
        return TestResult("memory", "MemoryError")
    if rc < 0:
        kind = "timeout" if -rc == signal.SIGXCPU else "signal"
        return TestResult(kind, f"killed by {signal_name(-rc)}")
    if rc != 0:
        lines = err.strip().splitlines()
        return TestResult("runtime_error", lines[-1][:300] if lines else f"exit code {rc}")
    if same_output(str(frame["out"]), expected, config.float_tol):
        return TestResult("pass")
    return TestResult("wrong_answer", f"got {str(frame['out'])[:120]!r}")


def _run_many(
    config: Config, script: str, files: dict[str, str], job: dict[str, Any], steps: int
) -> Run:
    """One sandbox run of a trusted script covering ``steps`` tests."""
    lim = config.limits
    limits = replace(
        lim,
        wall_s=lim.wall_s * (steps + 1) + 2,
        cpu_s=lim.cpu_s * (steps + 1),
        output_bytes=lim.output_bytes * (steps + 1),
    )
    return run(
        [config.python or python(), "-I", f"/sandbox/{script}"],
        files=files,
        stdin=json.dumps(job).encode(),
        limits=limits,
        isolation=config.isolation,
        channel=True,
    )


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


def _by_test(
    channel: bytes, x_to_test: dict[int, int]
) -> tuple[dict[int, dict[str, Any]], dict[str, Any] | None]:
    """Result lines by test index (the first line for a test wins), and the load line."""
    by_test: dict[int, dict[str, Any]] = {}
    load: dict[str, Any] | None = None
    for line in channel.splitlines():
        try:
            f = json.loads(line)
        except ValueError:
            continue
        if not isinstance(f, dict):
            continue
        if "load" in f and load is None:
            load = f
        elif isinstance(f.get("i"), int) and "x" not in f:
            by_test.setdefault(f["i"], f)
        elif f.get("x") in x_to_test:
            by_test.setdefault(x_to_test[f["x"]], f)
    return by_test, load


def _unloaded(r: Run, load: dict[str, Any] | None, n: int) -> list[TestResult]:
    """Every test failed: the program did not load (or ended the run before it could)."""
    if load is not None:
        why = TestResult("runtime_error", str(load.get("e", ""))[:300])
    elif r.outcome == "ok":
        why = TestResult("runtime_error", "the program ended the run before it loaded")
    else:
        why = _from_run(r)
    return [why] * n


def _results(
    by_test: dict[int, dict[str, Any]],
    n: int,
    r: Run,
    decide: Callable[[int, dict[str, Any]], TestResult],
) -> list[TestResult]:
    """Each test's result; the first test without one takes the run's reason."""
    results: list[TestResult] = []
    ended = False
    for i in range(n):
        frame = by_test.get(i)
        if frame is not None:
            results.append(decide(i, frame))
        elif ended:
            results.append(TestResult("not_run"))
        else:
            results.append(TestResult("not_run", _ENDED) if r.outcome == "ok" else _from_run(r))
            ended = True
    return results


def _harnessed(
    program: str, suite: Suite, config: Config
) -> tuple[list[TestResult], dict[str, Any]]:
    n = len(suite)
    steps = suite.plan.steps if suite.plan is not None else []
    files = {"solution.py": program, "harness.py": HARNESS}
    r = _run_many(config, "harness.py", files, _job(suite, config), len(steps) or n)
    info: dict[str, Any] = {"stdout": _excerpt(r.stdout), "stderr": _excerpt(r.stderr)}
    by_test, load = _by_test(r.channel, {s["x"]: s["i"] for s in steps if "exec" in s and "i" in s})
    if load is None or load.get("load") != "ok":
        return _unloaded(r, load, n), info
    return _results(by_test, n, r, lambda i, f: _decide(f, i, suite, config)), info


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
