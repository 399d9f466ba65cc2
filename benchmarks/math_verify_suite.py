r"""Math-Verify's own regression tests run through ``math.answer``, beside Math-Verify 0.9.0.

Math-Verify (huggingface/Math-Verify) keeps about 250 (gold, prediction, expected) cases
in its repository's ``tests/*.py``, many taken from NuminaMath and OpenThoughts model
outputs. None of them is copied into this repository: the cases are read at run time from
a checkout named by ``--repo``, which may be a work tree, a bare git dir (read with
``git show HEAD:tests/...``) or an unpacked sdist (math-verify's sdist ships ``tests/``)::

    git clone https://github.com/huggingface/Math-Verify /tmp/Math-Verify
    # or, the tests exactly as released with 0.9.0:
    pip download --no-deps --no-binary :all: math-verify==0.9.0 -d /tmp/mv
    tar xzf /tmp/mv/math_verify-0.9.0.tar.gz -C /tmp/mv

Case extraction is static (``ast``; no test module is imported or run). In each test
function, every ``assert <call> == <expected>`` (``int(...)``/``bool(...)`` around the call
allowed) whose call is either

* a comparison helper: a module-level non-test function that calls ``parse`` and
  ``verify`` (``compare_strings(gold, pred, match_types=..., precision=..., strict=...,
  allow_set_relation_comp=...)`` in ``tests/test_all.py``, imported by the other files),
  with its defaults and the options of its ``LatexExtractionConfig``/``ExprExtractionConfig``
  read from its definition; or
* ``verify(parse(gold), parse(pred))`` with parse's and verify's defaults,

is one case per row of the function's ``pytest.mark.parametrize`` lists (stacked
decorators multiply), or one case when its arguments are literals. Rows are read with
``ast.literal_eval``, plus f-strings whose fields are literals or ``math.<fn>(literals)``.
Commented-out rows do not exist for ``ast``. Every other assert is counted as skipped,
with the reason: parse-only APIs (extraction configs, string/letter extraction, the
``Gamma`` parser), sympy objects compared directly (``sympy_expr_eq``), or mocked
internals (timeouts, error propagation), none of which has a text-in, score-out
counterpart in ``math.answer``. A case's config (match types, precision, strict, ...) is
kept and printed with it.

Engines, each item judged right when its verdict (``verify`` True / score 1.0) equals
``bool(expected)``:

* ``math-verify``: Math-Verify 0.9.0 as the test does it: ``parse`` the gold and the
  prediction with the case's extraction configs, then ``verify(gold, pred,
  float_rounding=precision, strict=..., allow_set_relation_comp=...)``.
* ``answer``: ``math.answer`` (default params) with ``completion=prediction,
  reference=gold``, the prediction as it stands.
* ``answer+marker``: the same, with ``"The answer is "`` put in front of a prediction
  that has no answer marker of its own, that is, none of ``\boxed``, ``\fbox``, ``####``
  or the word "answer" in any case (which covers ``<answer>``, "Answer:", "final
  answer"); a prediction with one is left as it is. Nothing else is changed.

A hang (an item running over ``--hang-s``, 10 s), a crash or a None score is "not right".
Each engine runs in a child process that reports when it starts and ends each item; the
parent kills the child (and its process group, the symbolic workers too) on a hang and a
fresh child goes on from the next item, as in ``math_verify_bench.py``.

Output: what was extracted per file (cases, tests, skips and why), a per-file table
(cases, how many expect 0, pass % of each engine), then every case ``answer+marker``
gets wrong with what ``math.answer`` extracted and why it said no.

Usage: python benchmarks/math_verify_suite.py --repo PATH [--engines math-verify answer
    answer+marker] [--hang-s 10] [--failures-json PATH]
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import importlib.metadata
import itertools
import json
import math
import os
import queue
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from math_verify_bench import kill, spawn  # the hang guard: one child per engine, killable

ENGINES = ("math-verify", "answer", "answer+marker")
CLONE_HINT = ("git clone https://github.com/huggingface/Math-Verify, or unpack the sdist: "
              "pip download --no-deps --no-binary :all: math-verify==0.9.0 -d DIR && "
              "tar xzf DIR/math_verify-0.9.0.tar.gz -C DIR")
# The helper parameters this script knows how to pass on to Math-Verify.
HELPER_PARAMS = {"gold", "pred", "match_types", "precision", "strict", "allow_set_relation_comp"}
PARSE_VERIFY = "verify(parse(gold), parse(pred))"

# The cases math.answer misses on purpose (the README's "What math.answer refuses on
# purpose" says why), and known gaps, keyed by ``file::test#n``: the n-th case of that test
# as this script reads Math-Verify 0.9.0's sdist. Every other miss is a bug to fix.
ON_PURPOSE: dict[str, tuple[str, tuple[str, ...]]] = {
    "decimal comma": (
        "a comma is a list or a thousands separator, never a decimal point (1,22 is two numbers)",
        ("test_all.py::test_number_extraction#5", "test_all.py::test_number_extraction#6",
         "test_all.py::test_number_extraction#7", "test_all.py::test_number_extraction#17"),
    ),
    "free text with no answer marker": (
        "scratch work is not an answer: with no box, answer phrase, #### or <answer>, nothing "
        "is read (Math-Verify takes the last expression anywhere)",
        ("test_all.py::test_number_extraction#16", "test_all.py::test_relations_math#0",
         "test_all.py::test_relations_math#1", "test_all.py::test_relations_math#2",
         "test_all.py::test_relations_math#3", "test_all.py::test_relations_math#4",
         "test_all.py::test_matrix_extraction#2", "test_all.py::test_matrix_extraction#3",
         "test_all.py::test_matrix_extraction#4", "test_all.py::test_math_extraction_edge_cases#0",
         "test_all.py::test_math_extraction_edge_cases#1",
         "test_all.py::test_math_extraction_additional_cases#1",
         "test_all.py::test_math_extraction_additional_cases#8"),
    ),
    "chained equations": (
        "x = 5+5+1 = 7 = 11 states several values; Math-Verify reads only the last side",
        ("test_all.py::test_latex_notation#9", "test_all.py::test_relations_math#10",
         "test_all.py::test_relations_math#12", "test_all.py::test_relations_math#13",
         "test_all.py::test_relations_math#21", "test_all.py::test_relations_math#26",
         "test_all.py::test_relations_math#27"),
    ),
    "unevaluated operations": (
        "a sum or product of matrices left for the grader to compute is not an answer",
        ("test_all.py::test_matrix_extraction#5", "test_all.py::test_matrix_extraction#6"),
    ),
    "decimal for an exact reference": (
        "an exact reference (1/3) is matched exactly; Math-Verify's precision option takes 0.3333",
        ("test_all.py::test_precision#0", "test_all.py::test_complex_math_expressions#0",
         "test_all.py::test_complex_math_expressions#7",
         "test_all.py::test_complex_math_expressions#13"),
    ),
    "different objects": (
        "a set is not a tuple, f(y) is not f(x), 1 + 1/e is not 1 - 1/e (Math-Verify's test "
        "expects a match there)",
        ("test_all.py::test_math_extraction_additional_cases#7",
         "test_numina_cases.py::test_numina_cases#24", "test_strict.py::test_strict_variable_comparison#1",
         "test_yujianll.py::test_string_extraction#9"),
    ),
    "sets against relations": (
        "x in [-2, 7] is the relation -2 <= x <= 7; Math-Verify expects them unequal by default",
        ("test_all.py::test_set_rel_assymetry#3",),
    ),
    "boxes separated by words": (
        "boxes with words between them ('for part (a) and', 'papers and') are not read as one answer",
        ("test_boxed.py::test_boxed#0", "test_open_thoughts.py::test_open_thoughts#14",
         "test_open_thoughts.py::test_open_thoughts#24",
         "test_open_thoughts.py::test_open_thoughts#27"),
    ),
}
# misses that are bugs not yet fixed, named so the table shows them (none at present)
KNOWN_GAPS: dict[str, tuple[str, ...]] = {}


# --- reading the checkout -------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """Where the test files come from: a description and their texts by path."""

    label: str
    files: dict[str, str]


def _git(git_dir: Path, *args: str) -> str:
    return subprocess.run(["git", "--git-dir", str(git_dir), *args], check=True,
                          capture_output=True, text=True).stdout


def _version_of(path: Path) -> str | None:
    for name in ("PKG-INFO", "pyproject.toml"):
        if (path / name).is_file():
            m = re.search(r'^(?:Version: |version = ")([^"\s]+)', (path / name).read_text(),
                          re.MULTILINE)
            if m:
                return m.group(1)
    return None


def read_source(path: Path) -> Source:
    """The ``tests/*.py`` texts of a work tree, an unpacked sdist or a bare git dir."""
    if not path.exists():
        raise SystemExit(f"--repo {path}: no such directory; get a Math-Verify checkout: {CLONE_HINT}")
    if (path / "tests").is_dir():
        files = {f"tests/{p.name}": p.read_text() for p in sorted((path / "tests").glob("*.py"))}
        if (path / ".git").exists():
            commit = _git(path / ".git", "rev-parse", "HEAD").strip()
            dirty = _git(path / ".git", "--work-tree", str(path), "status", "--porcelain", "tests")
            label = f"work tree {path} at commit {commit}" + (" (tests/ modified)" if dirty else "")
        else:
            label = f"sdist/tree {path}, math-verify {_version_of(path) or '?'}"
    elif (path / "HEAD").is_file() and (path / "objects").is_dir():
        names = _git(path, "ls-tree", "--name-only", "HEAD", "tests/").split()
        files = {n: _git(path, "show", f"HEAD:{n}") for n in sorted(names) if n.endswith(".py")}
        commit = _git(path, "log", "-1", "--format=%H (%cs)", "HEAD").strip()
        m = re.search(r'^version = "([^"]+)"', _git(path, "show", "HEAD:pyproject.toml"), re.MULTILINE)
        label = f"bare git dir {path} at commit {commit}, pyproject version {m.group(1) if m else '?'}"
    else:
        raise SystemExit(f"--repo {path}: neither a work tree/sdist with tests/ nor a bare git dir; "
                         f"get one: {CLONE_HINT}")
    files = {k: v for k, v in files.items() if not k.endswith("__init__.py")}
    if not files:
        raise SystemExit(f"--repo {path}: no tests/*.py found; get a checkout: {CLONE_HINT}")
    return Source(label, files)


# --- static case extraction -----------------------------------------------------------------


class Unsupported(Exception):
    """A node this script does not evaluate statically."""


@dataclass
class Case:
    file: str
    test: str
    gold: str
    pred: str
    expected: int
    config: dict[str, Any]
    index: int = -1


@dataclass
class FileReport:
    file: str
    cases: int = 0
    tests: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Helper:
    """A comparison helper read from its definition: defaults and extraction options."""

    name: str
    defaults: dict[str, Any]
    latex_kw: dict[str, Any]
    expr_kw: dict[str, Any]


_MATH_FNS = {"sqrt", "exp", "log", "sin", "cos", "tan"}


def literal(node: ast.expr) -> Any:
    """A literal, an f-string of literals or ``math.<fn>(literals)``; else Unsupported."""
    with contextlib.suppress(ValueError, TypeError, SyntaxError):
        return ast.literal_eval(node)
    if isinstance(node, ast.JoinedStr):
        return "".join(_fstring_part(v) for v in node.values)
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name) and node.func.value.id == "math"
            and node.func.attr in _MATH_FNS and not node.keywords):
        return getattr(math, node.func.attr)(*(literal(a) for a in node.args))
    if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
            and node.value.id == "math" and node.attr in {"pi", "e"}):
        return getattr(math, node.attr)
    raise Unsupported(ast.unparse(node)[:60])


def _fstring_part(node: ast.expr) -> str:
    if isinstance(node, ast.Constant):
        return str(node.value)
    if isinstance(node, ast.FormattedValue) and node.conversion == -1:
        spec = "" if node.format_spec is None else literal(node.format_spec)
        return format(literal(node.value), spec)
    raise Unsupported(ast.unparse(node)[:60])


def _call_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Call):
        f = node.func
        return f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None
    return None


def _calls(tree: ast.AST) -> set[str]:
    """The names of every function called anywhere in ``tree``."""
    return {n for node in ast.walk(tree) if isinstance(node, ast.expr) and (n := _call_name(node))}


def find_helpers(trees: dict[str, ast.Module]) -> dict[str, Helper]:
    """Module-level non-test functions that call ``parse`` and ``verify``, by name."""
    helpers: dict[str, Helper] = {}
    for tree in trees.values():
        for fn in tree.body:
            if not isinstance(fn, ast.FunctionDef) or fn.name.startswith("test"):
                continue
            if not {"parse", "verify"} <= _calls(fn):
                continue
            args = fn.args.args
            defaults = dict(zip([a.arg for a in args[len(args) - len(fn.args.defaults):]],
                                [literal(d) for d in fn.args.defaults], strict=True))
            kws: dict[str, dict[str, Any]] = {"LatexExtractionConfig": {}, "ExprExtractionConfig": {}}
            for node in ast.walk(fn):
                name = _call_name(node)
                if name in kws and isinstance(node, ast.Call):
                    kws[name] = {k.arg: literal(k.value) for k in node.keywords if k.arg}
            if {a.arg for a in args} <= HELPER_PARAMS:
                helpers[fn.name] = Helper(fn.name, defaults, kws["LatexExtractionConfig"],
                                          kws["ExprExtractionConfig"])
    return helpers


def parametrize_rows(fn: ast.FunctionDef) -> Iterator[dict[str, Any]]:
    """One binding of argument names to values per row (stacked decorators multiply)."""
    tables: list[list[dict[str, Any]]] = []
    for dec in fn.decorator_list:
        if _call_name(dec) != "parametrize" or not isinstance(dec, ast.Call):
            continue
        names = literal(dec.args[0])
        names = [n.strip() for n in names.split(",")] if isinstance(names, str) else list(names)
        rows = dec.args[1]
        if not isinstance(rows, ast.List | ast.Tuple):
            raise Unsupported("parametrize values are not a literal list")
        table = []
        for row in rows.elts:
            values = [literal(e) for e in row.elts] if isinstance(row, ast.Tuple) else [literal(row)]
            table.append(dict(zip(names, values, strict=True)))
        tables.append(table)
    for combo in itertools.product(*tables):
        yield {k: v for part in combo for k, v in part.items()}


def _bind(node: ast.expr, env: dict[str, Any]) -> Any:
    if isinstance(node, ast.Name):
        if node.id not in env:
            raise Unsupported(f"name {node.id}")
        return env[node.id]
    return literal(node)


def _unwrap(node: ast.expr) -> ast.expr:
    while isinstance(node, ast.Call) and _call_name(node) in {"int", "bool"} and len(node.args) == 1:
        node = node.args[0]
    return node


CaseMaker = Callable[[dict[str, Any]], tuple[str, str, int, dict[str, Any]]]


def case_maker(test: ast.Assert, helpers: dict[str, Helper]) -> CaseMaker | None:
    """A function from a parametrize row to (gold, pred, expected, config), or None."""
    cmp = test.test
    if not (isinstance(cmp, ast.Compare) and len(cmp.ops) == 1 and isinstance(cmp.ops[0], ast.Eq)):
        return None
    call, want = _unwrap(cmp.left), cmp.comparators[0]
    name = _call_name(call)
    if not isinstance(call, ast.Call):
        return None
    if name in helpers:
        helper = helpers[name]

        def from_helper(env: dict[str, Any]) -> tuple[str, str, int, dict[str, Any]]:
            order = ["gold", "pred", "match_types", "precision", "strict", "allow_set_relation_comp"]
            kw = dict(zip(order, (_bind(a, env) for a in call.args), strict=False))
            kw |= {k.arg: _bind(k.value, env) for k in call.keywords if k.arg}
            if set(kw) - HELPER_PARAMS:
                raise Unsupported(f"helper options {sorted(set(kw) - HELPER_PARAMS)}")
            config = {"helper": name, **helper.defaults, **kw, "latex_kw": helper.latex_kw,
                      "expr_kw": helper.expr_kw}
            return config.pop("gold"), config.pop("pred"), int(_bind(want, env)), config

        return from_helper
    inner = [_call_name(a) for a in call.args]
    if name == "verify" and inner == ["parse", "parse"] and not call.keywords:
        gold_node, pred_node = (a.args for a in call.args if isinstance(a, ast.Call))
        if len(gold_node) != 1 or len(pred_node) != 1:
            return None

        def from_verify(env: dict[str, Any]) -> tuple[str, str, int, dict[str, Any]]:
            return (_bind(gold_node[0], env), _bind(pred_node[0], env), int(_bind(want, env)),
                    {"helper": PARSE_VERIFY})

        return from_verify
    return None


def skip_reason(fn: ast.FunctionDef, test: ast.Assert) -> str:
    """Why an assert that is not a (gold, pred, expected) comparison has no counterpart."""
    calls = _calls(test.test)
    fn_calls = _calls(fn) | {n for d in fn.decorator_list for n in _calls(d)}
    if "patch" in fn_calls:
        return "mocks Math-Verify internals (timeouts / error propagation)"
    if "sympy_expr_eq" in calls:
        return "compares sympy objects directly (sympy_expr_eq), no text"
    if "parse" in fn_calls and "verify" not in fn_calls:
        if "StringExtractionConfig" in fn_calls:
            return "parse-only: StringExtractionConfig letter extraction, no gold"
        return "parse-only API (extraction configs / parsed value), no gold to compare"
    return f"assert not recognised: {ast.unparse(test.test)[:70]}"


def extract_file(path: str, tree: ast.Module, helpers: dict[str, Helper]) -> tuple[list[Case], FileReport]:
    report, cases = FileReport(path), []
    for fn in tree.body:
        if not isinstance(fn, ast.FunctionDef) or not fn.name.startswith("test"):
            continue
        asserts = [n for n in ast.walk(fn) if isinstance(n, ast.Assert)]
        makers = {id(t): case_maker(t, helpers) for t in asserts}
        try:  # rows are read only where an assert is a case: others hold configs, mocks
            rows = list(parametrize_rows(fn)) if any(makers.values()) else []
        except Unsupported as e:
            report.skipped.append(f"{fn.name}: parametrize not readable ({e})")
            continue
        found, reasons = 0, []
        for test in asserts:
            maker = makers[id(test)]
            if maker is None:
                reasons.append(skip_reason(fn, test))
                continue
            for env in rows:
                try:
                    gold, pred, expected, config = maker(env)
                except Unsupported as e:
                    reasons.append(f"case not readable ({e})")
                    continue
                cases.append(Case(path, fn.name, str(gold), str(pred), expected, config))
                found += 1
        if found:
            report.tests.append(fn.name)
        for reason in sorted(set(reasons)):
            report.skipped.append(f"{fn.name}: {reasons.count(reason)} assert(s), {reason}")
    report.cases = len(cases)
    return cases, report


def extract_cases(source: Source) -> tuple[list[Case], list[FileReport]]:
    trees = {path: ast.parse(text, filename=path) for path, text in source.files.items()}
    helpers = find_helpers(trees)
    cases, reports = [], []
    for path, tree in trees.items():
        found, report = extract_file(path, tree, helpers)
        cases += found
        reports.append(report)
    for i, case in enumerate(cases):
        case.index = i
    return cases, reports


def config_label(config: dict[str, Any]) -> str:
    """The case's options a reader needs: match types and any non-default option."""
    if config.get("helper") == PARSE_VERIFY:
        return "parse/verify defaults"
    parts = ["+".join(config["match_types"])]
    for key, default in (("precision", 6), ("strict", True), ("allow_set_relation_comp", False)):
        if config.get(key, default) != default:
            parts.append(f"{key}={config[key]}")
    return ", ".join(parts)


# --- engines (run inside the child processes) -----------------------------------------------

_MARKER = re.compile(r"\\boxed|\\fbox|####|answer", re.IGNORECASE)
MARKER_PREFIX = "The answer is "


def with_marker(pred: str) -> str:
    """The prediction with ``MARKER_PREFIX`` in front unless it has a marker of its own."""
    return pred if _MARKER.search(pred) else MARKER_PREFIX + pred


Outcome = dict[str, Any]  # {"ok": bool | None, ...what the engine extracted and why}
Engine = Callable[[Case], Outcome]


def _math_verify_engine() -> Engine:
    from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse, verify

    def one(case: Case) -> Outcome:
        cfg = case.config
        try:
            if cfg["helper"] == PARSE_VERIFY:
                gold, pred = parse(case.gold), parse(case.pred)
                ok = verify(gold, pred)
            else:
                makers = {"latex": lambda: LatexExtractionConfig(**cfg["latex_kw"]),
                          "expr": lambda: ExprExtractionConfig(**cfg["expr_kw"])}
                targets = [makers[m]() for m in cfg["match_types"]]
                gold, pred = parse(case.gold, targets), parse(case.pred, targets)
                ok = verify(gold, pred, float_rounding=cfg["precision"], strict=cfg["strict"],
                            allow_set_relation_comp=cfg["allow_set_relation_comp"])
        except Exception as e:
            return {"ok": None, "reason": f"{type(e).__name__}: {e}"[:200]}
        return {"ok": bool(ok), "gold_parsed": str(gold)[:200], "pred_parsed": str(pred)[:200]}

    return one


def _answer_engine(marker: bool) -> Engine:
    import rewardsmith

    reward = rewardsmith.load("math.answer")

    def one(case: Case) -> Outcome:
        pred = with_marker(case.pred) if marker else case.pred
        score = reward.score([rewardsmith.Sample(completion=pred, reference=case.gold)])[0]
        out: Outcome = {"ok": None if score.value is None else score.value == 1.0,
                        "status": str(score.status.value)}
        if score.error is not None:
            out["error"] = str(score.error)[:200]
        out |= {k: v for k, v in (score.info or {}).items() if isinstance(v, str | int | float)}
        return out

    one(Case("warm-up", "", r"2\sqrt{2}", r"\boxed{\sqrt{8}}", 1, {}))  # pool start-up
    return one


ENGINE_MAKERS: dict[str, Callable[[], Engine]] = {
    "math-verify": _math_verify_engine,
    "answer": lambda: _answer_engine(False),
    "answer+marker": lambda: _answer_engine(True),
}


def child(engine: str, cases_file: str, start: int) -> None:
    cases = [Case(**c) for c in json.loads(Path(cases_file).read_text())]
    run_one = ENGINE_MAKERS[engine]()
    for case in cases[start:]:
        print(f"S {case.index}", flush=True)
        print(f"D {case.index} {json.dumps(run_one(case))}", flush=True)


# --- the parent: hang guard -----------------------------------------------------------------


def run_engine(engine: str, cases_file: str, n: int, hang_s: float) -> dict[int, Outcome]:
    """Every case's outcome, item by item, a hang or crash recorded and skipped."""
    out: dict[int, Outcome] = {}
    start = 0
    while start < n:
        cmd = [sys.executable, __file__, "--child", engine, "--cases", cases_file,
               "--start", str(start)]
        proc, lines = spawn(cmd)
        current: int | None = None
        deadline: float | None = None
        while True:
            try:
                wait = None if deadline is None else max(0.0, deadline - time.monotonic())
                line = lines.get(timeout=wait)
            except queue.Empty:  # the current item ran past the limit
                assert current is not None
                out[current] = {"ok": None, "reason": f"hang (over {hang_s:g} s)"}
                kill(proc)
                start = current + 1
                break
            if line is None:  # the child ended: done, or it crashed on the current item
                kill(proc)
                if current is None and len(out) < n:
                    raise SystemExit(f"{engine}: the child exited before item {start}; "
                                     f"run this to see why: {' '.join(cmd)}")
                if current is not None:
                    out[current] = {"ok": None, "reason": "crash"}
                start = n if current is None else current + 1
                break
            tag, idx, *rest = line.split(" ", 2)
            if tag == "S":
                current, deadline = int(idx), time.monotonic() + hang_s
            elif tag == "D":
                out[int(idx)] = json.loads(rest[0])
                current, deadline = None, None
    return out


# --- report ---------------------------------------------------------------------------------


def passed(case: Case, outcome: Outcome | None) -> bool:
    return outcome is not None and outcome.get("ok") is not None and outcome["ok"] == bool(case.expected)


def _pct(cases: Sequence[Case], results: dict[int, Outcome] | None) -> str:
    if results is None or not cases:
        return "-"
    return f"{100 * sum(passed(c, results.get(c.index)) for c in cases) / len(cases):.1f}"


def print_extraction(source: Source, reports: list[FileReport]) -> None:
    print(f"cases from: {source.label}")
    with contextlib.suppress(importlib.metadata.PackageNotFoundError):
        print(f"math-verify installed: {importlib.metadata.version('math-verify')}")
    for r in reports:
        print(f"  {r.file}: {r.cases} cases from {len(r.tests)} test(s)"
              + (f"; skipped {len(r.skipped)}:" if r.skipped else ""))
        for s in r.skipped:
            print(f"      - {s}")
    print()


def print_table(cases: list[Case], results: dict[str, dict[int, Outcome]]) -> None:
    files = sorted({c.file for c in cases})
    head = f"{'file':<32} {'cases':>5} {'exp=0':>5} " + " ".join(f"{e + ' %':>16}" for e in ENGINES)
    print(head)
    print("-" * len(head))
    for name, group in [(f, [c for c in cases if c.file == f]) for f in files] + [("total", cases)]:
        zeros = sum(not c.expected for c in group)
        print(f"{name:<32} {len(group):>5} {zeros:>5} "
              + " ".join(f"{_pct(group, results.get(e)):>16}" for e in ENGINES))
    hangs = {e: sum("hang" in str(o.get("reason")) for o in r.values()) for e, r in results.items()}
    print(f"hangs: {hangs}")
    mv = results.get("math-verify", {})
    for c in cases:
        if mv and not passed(c, mv.get(c.index)):
            print(f"math-verify 0.9.0 itself fails [{c.index}] {c.file}::{c.test} expected={c.expected}"
                  f" gold={c.gold[:60]!r} pred={c.pred[:60]!r}")
    print()


def failure_records(cases: list[Case], results: dict[str, dict[int, Outcome]]) -> list[dict[str, Any]]:
    marked = results.get("answer+marker", {})
    out = []
    for case in cases:
        if passed(case, marked.get(case.index)):
            continue
        record = asdict(case) | {"config_label": config_label(case.config),
                                 "pred_marked": with_marker(case.pred)}
        for engine, res in results.items():
            record[engine] = res.get(case.index)
        out.append(record)
    return out


def case_keys(cases: Sequence[Case]) -> dict[int, str]:
    """Each case's ``file::test#n`` key (its place among its test's cases)."""
    seen: dict[tuple[str, str], int] = {}
    out = {}
    for c in cases:
        n = seen.get((c.file, c.test), 0)
        seen[(c.file, c.test)] = n + 1
        out[c.index] = f"{Path(c.file).name}::{c.test}#{n}"
    return out


def print_explained(cases: list[Case], records: list[dict[str, Any]]) -> None:
    """The misses by class: refused on purpose, known gaps, and unexplained (bugs)."""
    keys = case_keys(cases)
    classes = {k: name for name, (_, ks) in ON_PURPOSE.items() for k in ks}
    gaps = {k: name for name, ks in KNOWN_GAPS.items() for k in ks}
    missed = [keys[r["index"]] for r in records]
    on_purpose = [k for k in missed if k in classes]
    print("math.answer (with marker) misses, by class:")
    for name, (why, _) in ON_PURPOSE.items():
        n = sum(classes.get(k) == name for k in missed)
        print(f"  {n:>3}  refused on purpose: {name}: {why}")
    for name in KNOWN_GAPS:
        print(f"  {sum(gaps.get(k) == name for k in missed):>3}  known gap: {name}")
    unexplained = [k for k in missed if k not in classes and k not in gaps]
    print(f"  {len(unexplained):>3}  unexplained: {', '.join(unexplained) or '-'}")
    scope = [c for c in cases if keys[c.index] not in classes]
    passed_n = len(scope) - (len(missed) - len(on_purpose))
    print(f"pass rate outside the classes refused on purpose: {passed_n}/{len(scope)}"
          f" ({100 * passed_n / max(1, len(scope)):.1f}%)\n")


def print_failures(records: list[dict[str, Any]]) -> None:
    print(f"math.answer (with marker) fails {len(records)} cases:")
    for r in records:
        got = r.get("answer+marker") or {}
        mv = r.get("math-verify") or {}
        reason = got.get("reason") or (f"compared unequal (tier {got.get('tier')})" if got.get("ok") is False
                                       else f"matched (tier {got.get('tier')})")
        print(f"- [{r['index']}] {r['file']}::{r['test']} ({r['config_label']}) expected={r['expected']}"
              f" math-verify={'ok' if passed(Case(**_case_fields(r)), mv) else 'FAIL'}")
        print(f"    gold: {r['gold'][:100]!r}")
        print(f"    pred: {r['pred'][:100]!r}")
        print(f"    math.answer: extracted={got.get('extracted')!r} source={got.get('source')} reason={reason}")


def _case_fields(record: dict[str, Any]) -> dict[str, Any]:
    return {k: record[k] for k in ("file", "test", "gold", "pred", "expected", "config", "index")}


# --- main -----------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 epilog=f"Get a checkout: {CLONE_HINT}")
    ap.add_argument("--repo", type=Path,
                    help="Math-Verify work tree, bare git dir or unpacked sdist (with tests/)")
    ap.add_argument("--engines", nargs="+", choices=ENGINES, default=list(ENGINES))
    ap.add_argument("--hang-s", type=float, default=10.0, help="an item running longer is a hang")
    ap.add_argument("--failures-json", type=Path, help="write math.answer's (with marker) failures here")
    ap.add_argument("--child", choices=ENGINES, help=argparse.SUPPRESS)
    ap.add_argument("--cases", help=argparse.SUPPRESS)
    ap.add_argument("--start", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.cases, args.start)
        return
    if args.repo is None:
        ap.error(f"--repo is required: a Math-Verify checkout. {CLONE_HINT}")
    source = read_source(args.repo)
    cases, reports = extract_cases(source)
    print_extraction(source, reports)
    results: dict[str, dict[int, Outcome]] = {}
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump([asdict(c) for c in cases], f)
    try:
        for engine in args.engines:
            results[engine] = run_engine(engine, f.name, len(cases), args.hang_s)
            print(f"  {engine}: {len(results[engine])} cases run", file=sys.stderr)
    finally:
        os.unlink(f.name)
    print_table(cases, results)
    if "answer+marker" in results:
        records = failure_records(cases, results)
        print_explained(cases, records)
        print_failures(records)
        if args.failures_json:
            args.failures_json.write_text(json.dumps(records, indent=1, ensure_ascii=False))
            print(f"\nwrote {len(records)} failures to {args.failures_json}")


if __name__ == "__main__":
    main()
