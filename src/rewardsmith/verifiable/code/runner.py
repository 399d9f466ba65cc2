"""Run a program against a suite in the sandbox and decide each test.

Each test ends as one outcome: ``pass``, ``wrong_answer``, ``runtime_error``,
``timeout``, ``memory``, ``output`` (wrote past the cap), ``signal`` (killed itself or
was killed), ``unencodable`` (returned an object that is not a plain value, or a value
over ``Config.value_bytes`` of JSON), or ``not_run`` (the program ended, or
all-or-nothing scoring stopped, before it).

What comes back from the sandbox is read as untrusted: a record line over its size cap
is not decoded, and a line that cannot be read fails its test. Whatever the program
does is its fault (a failed test, value 0); only a sandbox that cannot start, or a
harness that cannot shield itself, raises (status error).
"""

from __future__ import annotations

import functools
import importlib.util
import json
import marshal
import signal
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from importlib import resources
from typing import Any

from rewardsmith.runtime.sandbox import Isolation, Limits, Run, python, run, signal_name
from rewardsmith.verifiable.code.asserts import evaluate
from rewardsmith.verifiable.code.suites import Suite
from rewardsmith.verifiable.code.values import brief, decode, same_output, same_value

__all__ = ["Config", "HarnessUnavailable", "TestResult", "run_suite"]

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
    value_bytes: int = 1 << 20  # JSON of one value the program sends back


@dataclass(frozen=True, slots=True)
class TestResult:
    outcome: str
    detail: str = ""
    in_process: bool = False  # a test run as code (a loop or helper holding asserts)

    @property
    def passed(self) -> bool:
        return self.outcome == "pass"

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"outcome": self.outcome}
        if self.detail:
            out["detail"] = self.detail
        if self.in_process:
            out["in_process"] = True
        return out


class HarnessUnavailable(RuntimeError):
    """The harness in the sandbox could not shield itself from the program."""


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
    records = _records(r.channel, 8 * config.limits.output_bytes + 65536)
    load = _frame(records.pop("load", None))
    if load is None or load.get("ok") is not True:
        return _unloaded(r, load, n), {"stdout": _excerpt(r.stdout), "stderr": _excerpt(r.stderr)}
    info: dict[str, Any] = {}

    def decide(i: int, frame: dict[str, Any]) -> TestResult:
        nonlocal info
        result = _decide_stdio(frame, str(suite.outputs[i]), config)
        if not result.passed and not info:
            info = {
                "stdout": _excerpt(str(frame.get("out", "")).encode()),
                "stderr": _excerpt(str(frame.get("err", "")).encode()),
            }
        return result

    return _results(records, n, r, decide), info


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


@functools.cache
def _compiled(script: str) -> bytes:
    """``script`` as a .pyc for this interpreter (a run skips compiling it)."""
    source = HARNESS if script == "harness.py" else STDIO_RUNNER
    code = compile(source, f"/sandbox/{script}", "exec", dont_inherit=True)
    return importlib.util.MAGIC_NUMBER + b"\0" * 12 + marshal.dumps(code)


def _run_many(
    config: Config, script: str, files: dict[str, str], job: dict[str, Any], steps: int
) -> Run:
    """One sandbox run of a trusted script covering ``steps`` tests."""
    staged: dict[str, str | bytes] = dict(files)
    if config.python is None:  # this interpreter: the script goes precompiled
        del staged[script]
        script = script.replace(".py", ".pyc")
        staged[script] = _compiled(script.replace(".pyc", ".py"))
    lim = config.limits
    limits = replace(
        lim,
        wall_s=lim.wall_s * (steps + 1) + 2,
        cpu_s=lim.cpu_s * (steps + 1),
        output_bytes=lim.output_bytes * (steps + 1),
    )
    return run(
        [config.python or python(), "-I", f"/sandbox/{script}"],
        files=staged,
        stdin=json.dumps(job).encode(),
        limits=limits,
        isolation=config.isolation,
        channel=True,
    )


def _job(suite: Suite, config: Config) -> dict[str, Any]:
    common = {"per_test_s": config.limits.wall_s, "max_value": config.value_bytes}
    if suite.kind == "call":
        return {"mode": "call", "fn_name": suite.fn_name, "cases": suite.inputs, **common}
    assert suite.plan is not None
    prefer = [suite.plan.entry_point] if suite.plan.entry_point else []
    return {"mode": "assert", "cases": suite.plan.steps, "prefer": prefer, **common}


def _records(channel: bytes, line_cap: int) -> dict[str, bytes | None]:
    """Record bodies by tag (``load``, ``end`` or a test's index), the first line of a
    tag winning. A line over ``line_cap`` bytes is kept as None, never decoded."""
    records: dict[str, bytes | None] = {}
    for line in channel.split(b"\n"):
        tag, sep, body = line.partition(b" ")
        if not sep or len(tag) > 12:
            continue
        key = tag.decode("ascii", errors="replace")
        if key in ("load", "end") or key.isdigit():
            records.setdefault(key, None if len(line) > line_cap else body)
    return records


def _frame(body: bytes | None) -> dict[str, Any] | None:
    """A record's JSON object; None when absent, too large or unreadable."""
    if not body:
        return None
    try:
        frame = json.loads(body)
    except (ValueError, RecursionError, MemoryError):
        return None
    return frame if isinstance(frame, dict) else None


def _unloaded(r: Run, load: dict[str, Any] | None, n: int) -> list[TestResult]:
    """Every test failed: the program did not load (or ended the run before it could)."""
    if load is not None:
        kind = str(load.get("k", "error"))
        if kind == "infra":
            raise HarnessUnavailable(str(load.get("e", ""))[:300])
        outcome = kind if kind in ("timeout", "memory", "signal") else "runtime_error"
        why = TestResult(outcome, str(load.get("e", ""))[:300])
    elif r.outcome == "ok":
        why = TestResult("runtime_error", "the program ended the run before it loaded")
    else:
        why = _from_run(r)
    return [why] * n


def _results(
    records: dict[str, bytes | None],
    n: int,
    r: Run,
    decide: Callable[[int, dict[str, Any]], TestResult],
) -> list[TestResult]:
    """Each test's result, decoded one at a time; the first test without a record takes
    the reason the program stopped (the harness's ``end`` record, or the run's)."""
    results: list[TestResult] = []
    ended = False
    end = _frame(records.get("end"))
    for i in range(n):
        if str(i) in records:
            body = records[str(i)]
            frame = _frame(body)
            if frame is None:
                results.append(_unreadable(body))
            else:
                try:
                    results.append(decide(i, frame))
                except Exception as exc:  # a malformed record fails its test, nothing else
                    why = f"unreadable result: {type(exc).__name__}: {exc}"
                    results.append(TestResult("runtime_error", why[:300]))
        elif ended:
            results.append(TestResult("not_run"))
        else:
            if r.outcome != "ok":
                results.append(_from_run(r))
            elif end is not None:
                results.append(_failed(end))
            else:
                results.append(TestResult("not_run", _ENDED))
            ended = True
    return results


def _unreadable(body: bytes | None) -> TestResult:
    if body is None:
        return TestResult("unencodable", "result too large to read")
    return TestResult("runtime_error", "unreadable result")


def _harnessed(
    program: str, suite: Suite, config: Config
) -> tuple[list[TestResult], dict[str, Any]]:
    n = len(suite)
    steps = suite.plan.steps if suite.plan is not None else []
    files = {"solution.py": program, "harness.py": HARNESS}
    r = _run_many(config, "harness.py", files, _job(suite, config), len(steps) or n)
    info: dict[str, Any] = {"stdout": _excerpt(r.stdout), "stderr": _excerpt(r.stderr)}
    leaves = max((len(c.leaves) for c in suite.plan.checks), default=1) if suite.plan else 1
    records = _records(r.channel, (leaves + 1) * (config.value_bytes + 4096))
    load = _frame(records.pop("load", None))
    if load is None or load.get("ok") is not True:
        results = _unloaded(r, load, n)
    else:
        results = _results(records, n, r, lambda i, f: _decide(f, i, suite, config))
    if suite.plan is not None:  # tests run as code are marked, whatever their outcome
        results = [
            replace(t, in_process=True) if c.in_process else t
            for t, c in zip(results, suite.plan.checks, strict=True)
        ]
    return results, info


def _decide(frame: dict[str, Any], i: int, suite: Suite, config: Config) -> TestResult:
    if suite.kind == "call":
        return _decide_call(frame, i, suite, config)
    return _decide_assert(frame, i, suite)


_KIND_OUTCOME = {"error": "runtime_error", "assert": "wrong_answer"}
_OUTCOMES = {"timeout", "memory", "output", "signal", "unencodable", "not_run"}


def _failed(frame: dict[str, Any]) -> TestResult:
    kind = str(frame.get("k", "error"))
    outcome = _KIND_OUTCOME.get(kind, kind if kind in _OUTCOMES else "runtime_error")
    return TestResult(outcome, str(frame.get("e", ""))[:300])


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
    return TestResult("wrong_answer", f"got {brief(got)}")


def _decide_assert(frame: dict[str, Any], i: int, suite: Suite) -> TestResult:
    assert suite.plan is not None
    check = suite.plan.checks[i]
    if check.in_process:  # decided by the judge in the sandbox, where the program cannot reach
        return TestResult("pass") if frame.get("ok") is True else _failed(frame)
    leaves = frame.get("leaves")
    if not isinstance(leaves, list) or not all(isinstance(leaf, dict) for leaf in leaves):
        return TestResult("runtime_error", "unreadable result")
    if (bad := next((leaf for leaf in leaves if "v" not in leaf), None)) is not None:
        return _failed(bad)
    if len(leaves) != len(check.leaves):
        return TestResult("runtime_error", "missing values")
    values = [decode(leaf["v"]) for leaf in leaves]
    try:
        ok = evaluate(check.tree, values)
    except Exception as exc:
        return TestResult("runtime_error", f"{type(exc).__name__}: {exc}"[:300])
    # ``ok`` is built from plain values only (bounded in size), so its truth is the test's own.
    return TestResult("pass") if bool(ok) else TestResult("wrong_answer", check.source[:200])
