"""Programs per second through ``code.unit_tests`` against a bare ``subprocess`` baseline.

Both sides run the same programs against the same stdin/stdout tests, with the same
number of programs in flight (``--parallel``, default 2 for the 2-core target), and
compare stdout the same way. The baseline is what most RL code does today:
``subprocess.run([python, prog], input=..., timeout=...)`` with no isolation at all.
Rows run interleaved, best of ``--repeats``, so background load hits both sides alike.

    python benchmarks/sandbox_bench.py --programs 100 --parallel 2
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import rewardsmith
from rewardsmith import Sample
from rewardsmith.runtime.sandbox import run
from rewardsmith.verifiable.code import extract_program, suite_from_reference
from rewardsmith.verifiable.code.values import same_output

PROGRAM = "```python\nimport sys\nn = int(sys.stdin.read())\nprint(n * {k})\n```"


def workload(programs: int, tests: int) -> list[Sample]:
    samples = []
    for p in range(programs):
        k = 2 + p % 3
        ref = {
            "inputs": [f"{t}\n" for t in range(tests)],
            "outputs": [str(t * k) for t in range(tests)],
        }
        samples.append(Sample(completion=PROGRAM.format(k=k), reference=ref))
    return samples


def bare_one(sample: Sample) -> float:
    """The baseline: run each test with plain subprocess, no isolation."""
    suite = suite_from_reference(sample.reference)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "solution.py"
        path.write_text(extract_program(sample.text))
        passed = 0
        for inp, out in zip(suite.inputs, suite.outputs, strict=True):
            try:
                done = subprocess.run(
                    [sys.executable, "-I", str(path)],
                    input=inp.encode(),
                    capture_output=True,
                    timeout=5,
                )
            except subprocess.TimeoutExpired:
                continue
            passed += done.returncode == 0 and same_output(done.stdout.decode(), out)
    return passed / len(suite.inputs)


def timed_each(fn: Callable[[], object], n: int = 30) -> float:
    """Milliseconds per call of ``fn``, over ``n`` calls."""
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n * 1000


def timed(fn: Callable[[], list[float]]) -> tuple[float, list[float]]:
    start = time.perf_counter()
    values = fn()
    return time.perf_counter() - start, values


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--programs", type=int, default=100)
    ap.add_argument("--parallel", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    reward = rewardsmith.load("code.unit_tests", parallel=args.parallel)
    sandboxed = min(timed_each(lambda: run(["/bin/true"])) for _ in range(args.repeats))
    bare = min(
        timed_each(lambda: subprocess.run(["/bin/true"], check=True)) for _ in range(args.repeats)
    )
    print(
        f"start-up of an empty run (/bin/true): bwrap sandbox {sandboxed:.1f} ms, bare {bare:.1f} ms\n"
    )
    print(f"{args.programs} programs, {args.parallel} in flight, best of {args.repeats}\n")
    print(f"{'workload':<22} {'engine':<20} {'programs/s':>11} {'seconds':>8} {'all pass':>9}")
    for label, tests in (("(a) trivial, 1 test", 1), ("(b) 10 stdio tests", 10)):
        samples = workload(args.programs, tests)
        best: dict[str, tuple[float, list[float]]] = {}
        for _ in range(args.repeats):
            for engine, fn in (
                ("bwrap sandbox", lambda s=samples: [x.value or 0.0 for x in reward.score(s)]),
                (
                    "bare subprocess",
                    lambda s=samples: list(ThreadPoolExecutor(args.parallel).map(bare_one, s)),
                ),
            ):
                seconds, values = timed(fn)
                if engine not in best or seconds < best[engine][0]:
                    best[engine] = (seconds, values)
        for engine, (seconds, values) in best.items():
            ok = all(v == 1.0 for v in values)
            print(
                f"{label:<22} {engine:<20} {args.programs / seconds:>11.1f} {seconds:>8.2f} {ok!s:>9}"
            )
        ratio = best["bwrap sandbox"][0] / best["bare subprocess"][0]
        print(f"{label:<22} {'isolation cost':<20} {ratio:>10.2f}x  (target <= 2x)\n")


if __name__ == "__main__":
    main()
