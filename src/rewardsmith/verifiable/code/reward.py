"""Code rewards: unit tests run in the sandbox, and cheap syntax checks.

- ``code.unit_tests``: the program (last fenced Python block, else the completion) runs
  against the reference's tests (assert-style, stdin/stdout, or function-call; see
  ``suites``) inside ``runtime.sandbox``. Value: the fraction of tests passed (APPS's
  "test case average"), or with ``mode="all"`` 1 only when every test passes (APPS's
  "strict accuracy"); range [0, 1]. ``info["tests"]`` holds each test's outcome and
  detail, ``info["stdout"]``/``info["stderr"]`` excerpts. Programs of a batch run on
  ``parallel`` threads, each test under ``timeout_s``, ``memory_mb`` and the other
  limits. A completion with no code scores 0; tests that cannot be read are the
  dataset's fault and give ``None`` with status error.
- ``code.syntax``: 1 if the program parses (``ast.parse``). ``code.compiles``: 1 if it
  also compiles (``compile``, which also rejects e.g. ``return`` outside a function).
  Guard (``require_substance``, on by default): a program of only bare names, constants
  and ``pass`` (``x``) earns 0, so the format bonus is not paid for a placeholder.
  Neither runs anything.

Paper: Hendrycks et al., "Measuring Coding Challenge Competence With APPS"
(arXiv 2105.09938), for the test shapes and the two scores.

Known failure modes and how they could be gamed: a program can special-case the
visible test inputs (hard-code outputs) when the tests are also in the prompt; hold
some tests out. Floats compare within ``float_tol`` (1e-6 relative or absolute, our
choice). Tests that are code (loops, helpers holding asserts) are decided by a judge
process in the sandbox that the program cannot reach, on plain values copied out of the
program, and are marked ``in_process`` in ``info["tests"]`` (see ``harness``); such a
test that hands the program an object (a lambda, an instance of a class the tests
define) cannot run by value and fails. Stdout tolerance ignores how whitespace splits
tokens, so "1 2" matches "1\\n2". A value the program returns whose JSON is over 1 MiB
fails its test. Whatever the program does scores 0 for the tests it fails (status ok);
only a sandbox that cannot start gives status error.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Sequence
from typing import Literal

from pydantic import Field

from rewardsmith.core import ItemReward, Paper, Params, Sample, Score, register
from rewardsmith.errors import ConfigError
from rewardsmith.runtime.sandbox import Limits, isolation_problem
from rewardsmith.runtime.wrappers import Threaded
from rewardsmith.verifiable.code.runner import Config, run_suite
from rewardsmith.verifiable.code.suites import extract_program, suite_from_reference

__all__ = ["UnitTestParams"]

APPS = Paper("Measuring Coding Challenge Competence With APPS", "2105.09938")


class UnitTestParams(Params):
    mode: Literal["fraction", "all"] = "fraction"
    timeout_s: float = Field(5.0, gt=0, description="wall-clock limit per test")
    memory_mb: int = Field(1024, gt=0, description="address-space limit per process")
    processes: int = Field(16, gt=0)
    output_bytes: int = Field(
        1 << 20, gt=0, description="stdout/stderr cap; past it the run is killed"
    )
    parallel: int | None = Field(
        None, gt=0, description="programs run at once, on threads (default: CPU count)"
    )
    isolation: Literal["bwrap", "none"] = "bwrap"
    python: str | None = Field(
        None, description="interpreter inside the sandbox (default: this one)"
    )
    float_tol: float = Field(1e-6, ge=0)


@register(
    paper=APPS,
    summary="fraction (or all-or-nothing) of unit tests the program passes, run in a bubblewrap sandbox",
)
class UnitTests(ItemReward):
    name = "code.unit_tests"
    work = "io"  # waits on sandboxed processes
    max_chars = 200_000

    def __init__(self, params: UnitTestParams) -> None:
        self.params = params
        if params.isolation == "bwrap" and (problem := isolation_problem()) is not None:
            raise ConfigError(
                f"code.unit_tests cannot isolate programs: {problem}. Set isolation: none to "
                "run them without isolation (not safe for untrusted code)"
            )
        cpu = max(1, int(params.timeout_s) + 1)
        limits = Limits(
            wall_s=params.timeout_s,
            cpu_s=cpu,
            memory_mb=params.memory_mb,
            processes=params.processes,
            output_bytes=params.output_bytes,
        )
        self.config = Config(limits, params.isolation, params.python, params.float_tol)

    def score_one(self, sample: Sample) -> Score:
        suite = suite_from_reference(sample.reference)
        program = extract_program(sample.text)
        if not program.strip():
            return Score(0.0, info={"reason": "no code in the completion"})
        results, info = run_suite(program, suite, self.config)
        passed = sum(r.passed for r in results)
        value = (
            passed / len(results)
            if self.params.mode == "fraction"
            else float(passed == len(results))
        )
        info = {
            "passed": passed,
            "total": len(results),
            "tests": [r.as_dict() for r in results],
            **info,
        }
        return Score(value, parts={}, info=info)

    def score(self, samples: Sequence[Sample]) -> list[Score]:
        # Each item waits on its sandbox process, so threads give the parallelism.
        return Threaded(self, threads=self.params.parallel or os.cpu_count() or 1).score(samples)


class SyntaxParams(Params):
    require_substance: bool = True
    """A program of bare names, constants and ``pass`` (``x``) parses but does nothing:
    it earns 0. Off: any program that parses earns 1, as the plain check does."""


class _Syntax(ItemReward):
    compile_too = False

    def __init__(self, params: SyntaxParams) -> None:
        self.params = params

    def score_one(self, sample: Sample) -> Score:
        program = extract_program(sample.text)
        if not program.strip():
            return Score(0.0, info={"reason": "no code in the completion"})
        try:
            tree = ast.parse(program)
            if self.compile_too:
                compile(program, "solution.py", "exec", dont_inherit=True)
        except (SyntaxError, ValueError, MemoryError, RecursionError) as exc:
            return Score(0.0, info={"reason": f"{type(exc).__name__}: {exc}"[:300]})
        if self.params.require_substance and not any(map(_does_something, tree.body)):
            return Score(0.0, info={"reason": "only bare names, constants or pass"})
        return Score(1.0)


def _does_something(stmt: ast.stmt) -> bool:
    if isinstance(stmt, ast.Pass):
        return False
    return not (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant | ast.Name))


@register(paper=APPS, summary="1 if the program parses as Python")
class CodeSyntax(_Syntax):
    name = "code.syntax"


@register(paper=APPS, summary="1 if the program compiles as Python (no run)")
class CodeCompiles(_Syntax):
    name = "code.compiles"
    compile_too = True
