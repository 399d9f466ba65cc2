r"""Accuracy, speed, hangs and memory of ``math.answer`` against Math-Verify and string match.

Baselines: Math-Verify 0.9.0 (``verify(parse("$" + reference + "$"), parse(completion))``,
as its README shows for gold answers; install it with ``pip install -e '.[bench]'``) and
a normalised-string check (the last ``\boxed{}``, else the text after the last "answer",
``####`` or ``<answer>``; stripped, lowercased, spaces, ``$`` and a final period
removed). All run on the same seeded corpus from ``math_corpus.make_corpus`` (labels
known by construction; see that module).

Each engine runs in its own subprocesses, in three passes:

1. item by item under a guard, for accuracy and latency: the child reports when it
   starts and ends each item; an item that runs past ``--hang-s`` (10 s) is a hang, its
   child is killed and a fresh one goes on from the next item. A hang or a crash counts
   as "not right" for accuracy. p50/p99 and "over 1 s" come from this pass (import and a
   warm-up items are not timed).
2. one worker: rewardsmith scores the corpus as one batch (``reward.score(samples)``);
   Math-Verify and the string check go item by item, in the main thread, since
   Math-Verify's own timeouts are ``signal.alarm``. Peak memory is this child's
   ``ru_maxrss`` after the pass.
3. two workers: ``ProcessPoolExecutor(2)``, warmed up, each given one half.

Items that hung in pass 1 are left out of passes 2 and 3 (they could run for ever) and
charged ``--hang-s`` each to the wall time (divided by 2 for two workers), so a hang
makes an engine look faster than it is, never slower.

With ``--corpus adversarial`` the corpus is the hand-labelled one of
``math_adversarial.cases()`` instead (``--corpus holdout``: ``math_holdout.cases()``, written
blind from ``docs/math.md``), and only pass 1 runs (no throughput passes):
rewardsmith is given each case's prompt; ambiguous cases (label None) run but are not
graded. The report gives, per engine, accuracy over the graded cases, false positives and
negatives, the slowest item and its class, items over 3 s and hangs; then a per-class
table with the engines side by side, and every rewardsmith mistake. The default engines
there are rewardsmith and Math-Verify.

Usage: python benchmarks/math_verify_bench.py [--n 2000] [--seed 0]
    [--engines rewardsmith math-verify string] [--hang-s 10] [--corpus ordinary]
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import multiprocessing
import os
import queue
import re
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import math_adversarial
import math_holdout
from math_adversarial import Case
from math_corpus import Item, make_corpus

ENGINES = ("rewardsmith", "math-verify", "string")
ADVERSARIAL_ENGINES = ("rewardsmith", "math-verify")
CORPORA = ("ordinary", "adversarial", "holdout")
SLOW_S = 3.0  # adversarial report: items slower than this are counted
Verdict = bool | None  # None: the engine raised or gave no score
Entry = Item | Case
Checker = Callable[[Sequence[Entry]], list[Verdict]]

# --- engines (run inside the child processes) -----------------------------------------------

_BOX = "\\boxed{"
_MARKERS = re.compile(r"(?:answer(?: is)?:?|####)", re.IGNORECASE)
_TAG = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)


def _last_box(text: str) -> str | None:
    start = text.rfind(_BOX)
    if start < 0:
        return None
    depth, i = 1, start + len(_BOX)
    for j in range(i, len(text)):
        depth += {"{": 1, "}": -1}.get(text[j], 0)
        if depth == 0:
            return text[i:j]
    return None


def _string_answer(text: str) -> str:
    boxed = _last_box(text)
    if boxed is not None:
        return boxed
    tags = _TAG.findall(text)
    if tags:
        return tags[-1]
    marks = list(_MARKERS.finditer(text))
    if not marks:
        return ""
    line = text[marks[-1].end() :].split("\n", 1)[0]
    return re.sub(r"\.\s.*$", "", line)  # "$x$. I hope it is correct."


def _norm(text: str) -> str:
    return re.sub(r"[\s$]", "", text.strip().lower()).rstrip(".")


def _prompt(entry: Entry) -> str:
    """The problem text rewardsmith is given: an adversarial case's prompt, else none."""
    return (entry.prompt or "") if isinstance(entry, Case) else ""


def _string_checker() -> Checker:
    def check(items: Sequence[Entry]) -> list[Verdict]:
        return [_norm(_string_answer(i.completion)) == _norm(i.reference) for i in items]

    return check


def _math_verify_checker() -> Checker:
    from math_verify import parse, verify

    def one(item: Entry) -> Verdict:
        try:
            return bool(verify(parse(f"${item.reference}$"), parse(item.completion)))
        except Exception:
            return None

    return lambda items: [one(i) for i in items]


def _rewardsmith_checker() -> Checker:
    import rewardsmith

    reward = rewardsmith.load("math.answer")

    def check(items: Sequence[Entry]) -> list[Verdict]:
        scores = reward.score([rewardsmith.Sample(prompt=_prompt(i), completion=i.completion,
                                                  reference=i.reference) for i in items])
        return [None if s.value is None else s.value == 1.0 for s in scores]

    return check


CHECKERS: dict[str, Callable[[], Checker]] = {
    "rewardsmith": _rewardsmith_checker,
    "math-verify": _math_verify_checker,
    "string": _string_checker,
}
_WARM = [Item(r"So $\boxed{\frac{1}{2}}$.", "0.5", True, "boxed", False),  # numbers
         Item(r"So $\boxed{\sqrt{8}}$.", r"2\sqrt{2}", True, "boxed", False)]  # a symbolic tier
_checker: Checker | None = None


def _load(engine: str) -> Checker:
    global _checker
    _checker = CHECKERS[engine]()
    _checker(_WARM)  # lazy imports and pool start-up (sympy, parsers) are not timed
    return _checker


def _warm_worker(engine: str) -> None:
    _load(engine)
    time.sleep(0.5)  # hold this worker so the other one takes the second warm-up


def _run_half(items: list[Entry]) -> list[Verdict]:
    assert _checker is not None
    return _checker(items)


def _child_latency(engine: str, items: Sequence[Entry], start: int) -> None:
    check = _load(engine)
    for i in range(start, len(items)):
        print(f"S {i}", flush=True)
        t = time.perf_counter()
        verdict = check([items[i]])[0]
        print(f"D {i} {json.dumps(verdict)} {time.perf_counter() - t:.6f}", flush=True)


def _child_throughput(engine: str, items: list[Item]) -> None:
    check = _load(engine)
    t = time.perf_counter()
    verdicts = check(items)
    one = time.perf_counter() - t
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    half = len(items) // 2
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        list(pool.map(_warm_worker, [engine, engine]))
        t = time.perf_counter()
        parts = list(pool.map(_run_half, [items[:half], items[half:]]))
        two = time.perf_counter() - t
    same = verdicts == parts[0] + parts[1]
    print(json.dumps({"one": one, "two": two, "peak_kb": peak_kb, "verdicts": verdicts, "same": same}),
          flush=True)


# --- the parent -----------------------------------------------------------------------------


@dataclass
class Result:
    engine: str
    verdicts: dict[int, Verdict] = field(default_factory=dict)
    latency: dict[int, float] = field(default_factory=dict)
    hangs: list[int] = field(default_factory=list)
    crashes: list[int] = field(default_factory=list)
    one_s: float | None = None
    two_s: float | None = None
    peak_mb: float | None = None
    note: str = ""


def _child_cmd(args: argparse.Namespace, mode: str, engine: str, extra: Sequence[str] = ()) -> list[str]:
    return [sys.executable, __file__, "--child", mode, "--engines", engine, "--n", str(args.n),
            "--seed", str(args.seed), "--corpus", args.corpus, *extra]


def spawn(cmd: list[str]) -> tuple[subprocess.Popen[str], queue.Queue[str | None]]:
    """Start ``cmd`` in its own session; its stdout lines arrive on the queue (None at the end)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            start_new_session=True)
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    return proc, lines


def kill(proc: subprocess.Popen[str]) -> None:
    """Kill ``proc`` and everything it started (its session)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)  # the child and any workers it started
    proc.wait()


def latency_pass(args: argparse.Namespace, engine: str, n: int, res: Result) -> None:
    start = 0
    while start < n:
        proc, lines = spawn(_child_cmd(args, "latency", engine, ["--start", str(start)]))
        current, deadline, last = None, None, start - 1
        while True:
            try:
                wait = None if deadline is None else max(0.0, deadline - time.monotonic())
                line = lines.get(timeout=wait)
            except queue.Empty:  # the item in progress ran past the limit
                assert current is not None
                res.hangs.append(current)
                res.verdicts[current] = None
                kill(proc)
                start = current + 1
                break
            if line is None:  # the child ended: done, or it crashed on the current item
                kill(proc)
                if current is None and last < n - 1:
                    raise SystemExit(f"{engine}: a worker exited before item {last + 1}; "
                                     f"run this to see why: {' '.join(proc.args)}")
                if current is None:
                    start = n
                else:
                    res.crashes.append(current)
                    res.verdicts[current] = None
                    start = current + 1
                break
            tag, idx, *rest = line.split()
            if tag == "S":
                current, deadline = int(idx), time.monotonic() + args.hang_s
            else:
                res.verdicts[int(idx)] = json.loads(rest[0])
                res.latency[int(idx)] = float(rest[1])
                current, deadline, last = None, None, int(idx)
        print(f"  {engine}: {len(res.verdicts)}/{n} items, {len(res.hangs)} hangs", file=sys.stderr)


def throughput_pass(args: argparse.Namespace, engine: str, res: Result) -> None:
    skip = sorted(res.hangs + res.crashes)
    cmd = _child_cmd(args, "throughput", engine, ["--skip", ",".join(map(str, skip)) or "-"])
    with tempfile.TemporaryFile("w+") as out_f, tempfile.TemporaryFile("w+") as err_f:
        proc = subprocess.Popen(cmd, stdout=out_f, stderr=err_f, text=True, start_new_session=True)
        try:
            proc.wait(timeout=args.pass_timeout_s)
        except subprocess.TimeoutExpired:
            res.note = f"throughput pass over {args.pass_timeout_s:g} s"
        kill(proc)  # and whatever it left behind in its session
        out_f.seek(0)
        err_f.seek(0)
        stdout, stderr = out_f.read(), err_f.read()
    if res.note:
        return
    if proc.returncode or not stdout.strip():
        res.note = f"throughput pass failed: {stderr.strip().splitlines()[-1:]}"
        return
    out = json.loads(stdout.strip().splitlines()[-1])
    res.one_s = out["one"] + args.hang_s * len(res.hangs)
    res.two_s = out["two"] + args.hang_s * len(res.hangs) / 2
    res.peak_mb = out["peak_kb"] / 1024
    kept = [i for i in range(args.n) if i not in set(skip)]
    differ = sum(res.verdicts[i] != v for i, v in zip(kept, out["verdicts"], strict=True))
    notes = []
    if differ:
        notes.append(f"batch and item-by-item verdicts differ on {differ} items")
    if not out["same"]:
        notes.append("two-worker verdicts differ from one worker's")
    res.note = "; ".join(notes)


def _fmt(x: float | None, spec: str) -> str:
    return "-" if x is None else format(x, spec)


def _call_rate(r: Result) -> float | None:
    """Items per second when each item is its own call (the latency pass; items that hung
    are not in it, so a hang flatters this figure rather than hiding in it)."""
    total = sum(r.latency.values())
    return len(r.latency) / total if total else None


def report(items: list[Item], results: list[Result]) -> None:
    n = len(items)
    mv = next((r for r in results if r.engine == "math-verify"), None)
    mv_rate = n / mv.one_s if mv and mv.one_s else None
    mv_call = _call_rate(mv) if mv else None
    head = (f"{'engine':<12} {'acc %':>6} {'FP':>4} {'FN':>4} {'err':>4} {'it/s call':>9} {'x MV':>5}"
            f" {'it/s w1':>9} {'it/s w2':>9} {'p50 ms':>7} {'p99 ms':>8} {'>1s':>4} {'hangs':>5}"
            f" {'peak MB':>8} {'x MV':>6}")
    print(head)
    print("(it/s call: one call per item, as a trainer scoring item by item; it/s w1 and w2: one"
          " batched call, one or two processes; x MV: the ratio to Math-Verify's figure)")
    for r in results:
        right = fp = fn = 0
        for i, item in enumerate(items):
            said = bool(r.verdicts.get(i))
            right += said == item.label
            fp += said and not item.label
            fn += item.label and not said
        lat = sorted(r.latency.values())
        p50 = statistics.median(lat) * 1e3 if lat else None
        p99 = lat[min(len(lat) - 1, int(0.99 * len(lat)))] * 1e3 if lat else None
        slow = sum(t > 1.0 for t in lat) + len(r.hangs)
        errors = sum(v is None for v in r.verdicts.values())
        rate1 = n / r.one_s if r.one_s else None
        rate2 = n / r.two_s if r.two_s else None
        ratio = rate1 / mv_rate if rate1 and mv_rate else None
        call = _call_rate(r)
        call_ratio = call / mv_call if call and mv_call else None
        print(f"{r.engine:<12} {100 * right / n:>6.1f} {fp:>4} {fn:>4} {errors:>4} {_fmt(call, ',.0f'):>9}"
              f" {_fmt(call_ratio, '.1f'):>5} {_fmt(rate1, ',.0f'):>9} {_fmt(rate2, ',.0f'):>9} {_fmt(p50, '.2f'):>7} {_fmt(p99, '.1f'):>8} {slow:>4}"
              f" {len(r.hangs):>5} {_fmt(r.peak_mb, '.0f'):>8} {_fmt(ratio, '.1f'):>6}")
    for r in results:
        if r.note:
            print(f"note: {r.engine}: {r.note}")
    print("\nmistakes by kind (false positives/false negatives):")
    for r in results:
        fp_k = Counter(it.kind for i, it in enumerate(items) if bool(r.verdicts.get(i)) and not it.label)
        fn_k = Counter(it.kind for i, it in enumerate(items) if it.label and not r.verdicts.get(i))
        kinds = sorted(set(fp_k) | set(fn_k), key=lambda k: -(fp_k[k] + fn_k[k]))
        print(f"  {r.engine:<12} " + (", ".join(f"{k} {fp_k[k]}/{fn_k[k]}" for k in kinds) or "none"))


# --- the adversarial corpus -------------------------------------------------------------------


def _seconds(args: argparse.Namespace, r: Result, i: int) -> float | None:
    """How long item ``i`` took: a hang counts as the hang limit; a crash is unknown."""
    return args.hang_s if i in r.hangs else r.latency.get(i)


@dataclass
class Tally:
    """One engine's graded verdicts over a set of cases."""

    n: int = 0
    right: int = 0
    fp: int = 0
    fn: int = 0
    slowest: float = 0.0
    slowest_cls: str = "-"

    def add(self, case: Case, said: bool, seconds: float | None) -> None:
        if seconds is not None and seconds > self.slowest:
            self.slowest, self.slowest_cls = seconds, case.cls
        if case.label is None:
            return
        self.n += 1
        self.right += said == case.label
        self.fp += said and not case.label
        self.fn += case.label and not said

    @property
    def acc(self) -> str:
        return "-" if not self.n else f"{100 * self.right / self.n:.1f}"


def _tally(args: argparse.Namespace, corpus: list[Case], r: Result, cls: str | None) -> Tally:
    t = Tally()
    for i, case in enumerate(corpus):
        if cls is None or case.cls == cls:
            t.add(case, bool(r.verdicts.get(i)), _seconds(args, r, i))
    return t


def _clip(text: str, n: int) -> str:
    one_line = text.replace("\n", "\\n")
    return one_line if len(one_line) <= n else one_line[: n - 1] + "…"


def report_adversarial(
    args: argparse.Namespace, corpus: list[Case], results: list[Result], classes: Sequence[str]
) -> None:
    graded = sum(c.label is not None for c in corpus)
    print(f"{'engine':<12} {'acc %':>6} {'FP':>4} {'FN':>4} {'err':>4} {'slowest s':>10} {'(class)':<16}"
          f" {'>3s':>4} {'hangs':>5} {'amb paid':>8}")
    for r in results:
        t = _tally(args, corpus, r, None)
        errors = sum(v is None for v in r.verdicts.values())
        over = sum((_seconds(args, r, i) or 0.0) > SLOW_S for i in range(len(corpus)))
        amb = [i for i, c in enumerate(corpus) if c.label is None]
        paid = sum(bool(r.verdicts.get(i)) for i in amb)
        print(f"{r.engine:<12} {t.acc:>6} {t.fp:>4} {t.fn:>4} {errors:>4} {t.slowest:>10.3f}"
              f" {t.slowest_cls:<16} {over:>4} {len(r.hangs):>5} {f'{paid}/{len(amb)}':>8}")
    print(f"({graded} graded cases, {len(corpus) - graded} ambiguous; err: crashed, hung or no score)")
    print("\nper class: n graded (ambiguous), then acc % / FP / FN / slowest s for each engine")
    print(f"{'class':<16} {'n':>8}" + "".join(f" | {r.engine[:11]:<11} {'acc':>5} {'FP':>3} {'FN':>3} {'slow':>6}"
                                               for r in results))
    for cls in classes:
        members = [c for c in corpus if c.cls == cls]
        amb = sum(c.label is None for c in members)
        row = f"{cls:<16} {f'{len(members) - amb} ({amb})':>8}"
        for r in results:
            t = _tally(args, corpus, r, cls)
            row += f" | {'':<11} {t.acc:>5} {t.fp:>3} {t.fn:>3} {t.slowest:>6.2f}"
        print(row)
    for r in results:
        if r.engine == "rewardsmith":
            _mistakes(corpus, r)


def _mistakes(corpus: list[Case], r: Result) -> None:
    wrong = [(i, c) for i, c in enumerate(corpus)
             if c.label is not None and bool(r.verdicts.get(i)) != c.label]
    print(f"\n{r.engine} mistakes ({len(wrong)}): kind, class, why the label is what it is | "
          "completion | reference")
    for i, c in wrong:
        kind = "FP" if c.label is False else ("FN" if r.verdicts.get(i) is not None else "ERR")
        print(f"  {kind:<3} {c.cls:<15} {c.reason} | {_clip(c.completion, 80)} | {_clip(c.reference, 40)}")
    amb = [(i, c) for i, c in enumerate(corpus) if c.label is None]
    print(f"\n{r.engine} on ambiguous cases (not graded): "
          + ", ".join(f"{c.cls}#{i}={'paid' if r.verdicts.get(i) else '0'}" for i, c in amb))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000, help="corpus size (ordinary corpus)")
    ap.add_argument("--seed", type=int, default=0, help="corpus seed (ordinary corpus)")
    ap.add_argument("--corpus", choices=CORPORA, default="ordinary",
                    help="the seeded ordinary corpus or the hand-labelled adversarial one")
    ap.add_argument("--engines", nargs="+", choices=ENGINES,
                    help="default: all (ordinary), rewardsmith and math-verify (adversarial)")
    ap.add_argument("--hang-s", type=float, default=10.0, help="an item running longer is a hang")
    ap.add_argument("--pass-timeout-s", type=float, default=900.0, help=argparse.SUPPRESS)
    ap.add_argument("--child", choices=["latency", "throughput"], help=argparse.SUPPRESS)
    ap.add_argument("--start", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--skip", default="-", help=argparse.SUPPRESS)
    args = ap.parse_args()
    labelled = {"adversarial": math_adversarial, "holdout": math_holdout}.get(args.corpus)
    args.engines = args.engines or list(ADVERSARIAL_ENGINES if labelled else ENGINES)
    items: list[Item] | list[Case] = labelled.cases() if labelled else make_corpus(args.n, args.seed)
    if args.child == "latency":
        _child_latency(args.engines[0], items, args.start)
    elif args.child == "throughput":
        skip = set() if args.skip == "-" else {int(s) for s in args.skip.split(",")}
        _child_throughput(args.engines[0], [it for i, it in enumerate(items) if i not in skip])
    elif labelled:
        run_adversarial(args, labelled.cases(), labelled.CLASSES)
    else:
        run(args, make_corpus(args.n, args.seed))


def _require_math_verify(args: argparse.Namespace) -> None:
    if "math-verify" in args.engines and importlib.util.find_spec("math_verify") is None:
        raise SystemExit("math-verify is not installed: pip install -e '.[bench]'")


def run(args: argparse.Namespace, items: list[Item]) -> None:
    wrong = sum(not i.label for i in items)
    print(f"corpus: n={args.n} seed={args.seed}, {wrong} wrong, "
          f"{sum(i.pathological for i in items)} pathological; hang = over {args.hang_s:g} s; "
          f"{os.cpu_count()} CPUs; python {sys.version.split()[0]}\n")
    report(items, _run_engines(args, len(items), throughput=True))


def _run_engines(args: argparse.Namespace, n: int, throughput: bool) -> list[Result]:
    _require_math_verify(args)
    results = []
    for engine in args.engines:
        t = time.perf_counter()
        res = Result(engine)
        latency_pass(args, engine, n, res)
        if throughput:
            throughput_pass(args, engine, res)
        print(f"  {engine}: done in {time.perf_counter() - t:.0f} s", file=sys.stderr)
        results.append(res)
    return results


def run_adversarial(args: argparse.Namespace, corpus: list[Case], classes: Sequence[str]) -> None:
    labels = Counter(c.label for c in corpus)
    print(f"corpus: {args.corpus}, {len(corpus)} cases ({labels[True]} right, {labels[False]} wrong, "
          f"{labels[None]} ambiguous) in {len(classes)} classes; hang = over {args.hang_s:g} s; "
          f"{os.cpu_count()} CPUs; python {sys.version.split()[0]}\n")
    report_adversarial(args, corpus, _run_engines(args, len(corpus), throughput=False), classes)


if __name__ == "__main__":
    main()
