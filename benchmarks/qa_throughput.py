"""Throughput and memory of ``rewardsmith score`` on large QA rollout files.

Baseline: a hand-written scoring loop (``json.loads`` per line, the last ``<answer>``
block by regex, SQuAD normalisation and token F1), what a user would write instead.
Both run as separate processes over the same seeded files; peak memory is each
process's own maximum resident set (``os.wait4``). Memory should stay flat as the file
grows: rewardsmith reads and scores in chunks.

Usage: python benchmarks/qa_throughput.py [--rows 100000 1000000] [--processes 1 2] [--out]
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

NAMES = [
    "Marie Curie",
    "Ada Lovelace",
    "Alan Turing",
    "Emmy Noether",
    "the Eiffel Tower",
    "Paris",
    "1969",
    "Mount Everest",
]

BASELINE = r"""
import json, re, string, sys
from collections import Counter
PUNCT = str.maketrans("", "", string.punctuation)
ART = re.compile(r"\b(a|an|the)\b")
ANS = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)
def norm(s): return " ".join(ART.sub(" ", s.lower().translate(PUNCT)).split())
def f1(p, g):
    same = sum((Counter(p) & Counter(g)).values())
    if not same: return 0.0
    pr, rc = same / len(p), same / len(g)
    return 2 * pr * rc / (pr + rc)
n = total = 0.0
with open(sys.argv[1]) as f:
    for line in f:
        row = json.loads(line)
        found = ANS.findall(row["completion"])
        golds = row["reference"] if isinstance(row["reference"], list) else [row["reference"]]
        v = max(f1(norm(found[-1]).split(), norm(g).split()) for g in golds) if found else 0.0
        n += 1; total += v
print(json.dumps({"items": int(n), "mean": total / n}))
"""


def make_file(path: Path, rows: int, seed: int = 0) -> None:
    rng = random.Random(seed)
    with path.open("w") as f:
        for i in range(rows):
            gold = rng.choice(NAMES)
            guess = gold if rng.random() < 0.5 else rng.choice(NAMES)
            completion = (
                f"<think>I recall it is {rng.choice(NAMES)}.</think><answer>{guess}</answer>"
            )
            row = {
                "prompt": f"Question {i // 8}?",
                "completion": completion,
                "reference": [gold],
                "data_source": "toyqa",
            }
            f.write(json.dumps(row) + "\n")


def _rss_cmd(cmd: list[str]) -> list[str]:
    # Report the child's own peak RSS: run it under a tiny wrapper that prints it.
    wrapper = (
        "import os, resource, subprocess, sys; p = subprocess.run(sys.argv[1:]);"
        "sys.stderr.write(f'RSS {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}\\n'); sys.exit(p.returncode)"
    )
    return [sys.executable, "-c", wrapper, *cmd]


def measure(cmd: list[str]) -> tuple[float, float, str]:
    start = time.perf_counter()
    proc = subprocess.run(_rss_cmd(cmd), capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode:
        raise SystemExit(f"{cmd} failed:\n{proc.stderr[-2000:]}")
    rss_kb = int(proc.stderr.rsplit("RSS ", 1)[1].split()[0])
    return elapsed, rss_kb / 1024, proc.stdout


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--out", action="store_true", help="also write the scored JSONL")
    args = ap.parse_args()
    print(f"{'rows':>9}  {'engine':<26} {'items/s':>9} {'wall s':>7} {'peak MB':>8}  ratio")
    with tempfile.TemporaryDirectory() as tmp:
        for rows in args.rows:
            path = Path(tmp) / f"qa_{rows}.jsonl"
            make_file(path, rows)
            base_s, base_mb, out = measure([sys.executable, "-c", BASELINE, str(path)])
            base_mean = json.loads(out)["mean"]
            print(
                f"{rows:>9}  {'hand-written loop':<26} {rows / base_s:>9,.0f} {base_s:>7.1f} {base_mb:>8.0f}  1.00"
            )
            for p in args.processes:
                cmd = [
                    sys.executable,
                    "-m",
                    "rewardsmith",
                    "score",
                    str(path),
                    "--spec",
                    "qa-f1",
                    "--json",
                    "--processes",
                    str(p),
                ]
                if args.out:
                    cmd += ["--out", str(Path(tmp) / "scored.jsonl")]
                secs, mb, out = measure(cmd)
                summary = json.loads(out)
                assert summary["items"] == rows and abs(summary["mean"] - base_mean) < 1e-9, summary
                label = f"rewardsmith qa.f1 p={p}" + (" +out" if args.out else "")
                print(
                    f"{rows:>9}  {label:<26} {rows / secs:>9,.0f} {secs:>7.1f} {mb:>8.0f}  {base_s / secs:.2f}"
                )


if __name__ == "__main__":
    main()
