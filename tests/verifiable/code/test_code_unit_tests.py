"""code.unit_tests, code.syntax and code.compiles: extraction, reference shapes, scoring."""

from __future__ import annotations

import json
import textwrap

import pytest
from hypothesis import given
from hypothesis import strategies as st

import rewardsmith
from rewardsmith import Sample
from rewardsmith.errors import ConfigError
from rewardsmith.runtime import sandbox
from rewardsmith.verifiable.code import extract_program, suite_from_reference
from rewardsmith.verifiable.code.values import same_output, same_value


@pytest.fixture(scope="module")
def reward():
    return rewardsmith.load("code.unit_tests", timeout_s=3.0)


def fenced(body: str) -> str:
    return "Here it is:\n```python\n" + textwrap.dedent(body).strip("\n") + "\n```\nDone."


@pytest.mark.parametrize(
    ("text", "program"),
    [
        ("```python\nx = 1\n```", "x = 1"),
        ("```py\na\n```\ntext\n```python\nb\n```", "b"),
        ("```\nplain\n```", "plain"),
        ("```python\nmine\n```\n```text\noutput\n```", "mine"),
        ("```bash\nls\n```", "ls"),
        ("no fences at all\n", "no fences at all"),
        ("<think>```python\nwrong\n```</think>```python\nright\n```", "right"),
        ("```python\ntruncated = True", "truncated = True"),
    ],
    ids=[
        "python",
        "last-block",
        "unlabelled",
        "python-over-text",
        "other-language",
        "no-fence",
        "think-dropped",
        "unterminated",
    ],
)
def test_extract_program(text, program):
    assert extract_program(text) == program


@given(st.text(max_size=300))
def test_extract_program_never_raises(text):
    assert isinstance(extract_program(text), str)


@pytest.mark.parametrize(
    ("reference", "kind", "n"),
    [
        ({"tests": "assert f(1) == 1\nassert f(2) == 2"}, "assert", 2),
        ({"test_list": ["assert f(1) == 1"], "test_setup_code": "import math"}, "assert", 1),
        ("assert f(1) == 1", "assert", 1),
        (
            {
                "test": "def check(candidate):\n    assert candidate(1) == 2\n    assert candidate(2) == 3\ncheck(f)",
                "entry_point": "f",
            },
            "assert",
            2,
        ),
        ({"inputs": ["1\n", "2\n"], "outputs": ["1\n", "2\n"]}, "stdio", 2),
        (json.dumps({"inputs": ["1"], "outputs": ["1"]}), "stdio", 1),
        (
            {"input_output": json.dumps({"inputs": ["1"], "outputs": ["1"], "fn_name": "f"})},
            "call",
            1,
        ),
        ([{"input": "1", "output": "1"}, {"input": "2", "output": "2"}], "stdio", 2),
        ({"fn_name": "f", "inputs": ["[1, 2]\n3"], "outputs": ["6"]}, "call", 1),
    ],
    ids=[
        "asserts",
        "mbpp",
        "plain-string",
        "humaneval",
        "stdio",
        "json-string",
        "apps-input-output",
        "case-list",
        "livecodebench",
    ],
)
def test_reference_shapes(reference, kind, n):
    suite = suite_from_reference(reference)
    assert (suite.kind, len(suite)) == (kind, n)


def test_livecodebench_inputs_are_json_lines():
    suite = suite_from_reference({"fn_name": "f", "inputs": ["[1, 2]\n3"], "outputs": ["6"]})
    assert suite.inputs == [[[1, 2], 3]]
    assert suite.outputs == [6]


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        ({}, "need 'tests'"),
        ({"inputs": ["1"], "outputs": []}, "1 inputs but 0 outputs"),
        ({"tests": "x = 1"}, "no assert"),
        (42, "must be a dict"),
        ([1, 2], "input"),
    ],
    ids=["empty", "mismatch", "no-assert", "number", "bad-list"],
)
def test_bad_references_are_named(reference, message):
    with pytest.raises(ValueError, match=message):
        suite_from_reference(reference)


@pytest.mark.parametrize(
    ("got", "expected", "same"),
    [
        (True, 1, False),
        (1, True, False),
        (1, 1.0, True),
        (0.1 + 0.2, 0.3, True),
        ((1, 2), [1, 2], True),
        ({1, 2}, [2, 1], True),
        ({"a": [1]}, {"a": [1]}, True),
        ({"a": 1}, {"b": 1}, False),
        ("1", 1, False),
        (None, None, True),
        ([1, [2, 3]], [1, [2, 4]], False),
    ],
    ids=[
        "bool-int",
        "int-bool",
        "int-float",
        "float-tol",
        "tuple-list",
        "set-list",
        "dict",
        "dict-keys",
        "str-int",
        "none",
        "nested",
    ],
)
def test_same_value(got, expected, same):
    assert same_value(got, expected) is same


@pytest.mark.parametrize(
    ("got", "expected", "same"),
    [
        ("4\n", "4", True),
        ("4 \r\n\n\n", "4\n", True),
        ("1 2\n3", "1\n2 3", True),
        ("0.3333333", "0.33333333", True),
        ("4", "5", False),
        ("yes", "YES", False),
        ("", "0", False),
    ],
    ids=["newline", "crlf-trailing", "token-split", "float-tol", "wrong", "case", "empty"],
)
def test_same_output(got, expected, same):
    assert same_output(got, expected) is same


@given(
    st.lists(st.from_regex(r"[a-z0-9]{1,5}", fullmatch=True), min_size=1, max_size=8),
    st.sampled_from([" ", "\n", "  ", "\t"]),
)
def test_same_output_ignores_how_whitespace_splits(tokens, sep):
    assert same_output(sep.join(tokens) + "\n", " ".join(tokens))


ADD = {"tests": ["assert add(1, 2) == 3", "assert add(2, 2) == 4"]}
CASES = [
    ("def add(a, b):\n    return a + b", ADD, 1.0, ["pass", "pass"]),
    ("def add(a, b):\n    return 3", ADD, 0.5, ["pass", "wrong_answer"]),
    ("def add(a, b):\n    return a / 0", ADD, 0.0, ["runtime_error", "runtime_error"]),
    ("def add(a, b)\n    return a + b", ADD, 0.0, ["runtime_error", "runtime_error"]),
    (
        "import sys\nn = int(sys.stdin.read())\nprint(n * 2, ' ')",
        {"inputs": ["2\n", "5\n"], "outputs": ["4", "10\n"]},
        1.0,
        ["pass", "pass"],
    ),
    (
        "print(input())",
        {"inputs": ["a\n", "b\n"], "outputs": ["a", "c"]},
        0.5,
        ["pass", "wrong_answer"],
    ),
    (
        "class Solution:\n    def twoSum(self, nums, target):\n        return [0, 1]",
        {"fn_name": "twoSum", "inputs": [[[2, 7], 9]], "outputs": [[0, 1]]},
        1.0,
        ["pass"],
    ),
    (
        "def f(xs, k):\n    return sum(xs) * k",
        {"fn_name": "f", "inputs": ["[1, 2]\n3"], "outputs": ["9"]},
        1.0,
        ["pass"],
    ),
    (
        "def f(x):\n    return x + 1",
        {"fn_name": "f", "inputs": [[1]], "outputs": [[2]]},
        1.0,
        ["pass"],
    ),
    (
        "def f(x):\n    return x > 0",
        {"fn_name": "f", "inputs": [[1]], "outputs": [1]},
        0.0,
        ["wrong_answer"],
    ),
    (
        "def inc(x):\n    return x + 1",
        {
            "test": "def check(candidate):\n    assert candidate(1) == 2\n    assert candidate(5) == 6\n",
            "entry_point": "inc",
        },
        1.0,
        ["pass", "pass"],
    ),
    (
        "def sq(x):\n    return x * x",
        {
            "tests": "xs = [1, 2, 3]\nassert [sq(x) for x in xs] == [1, 4, 9]\nassert isinstance(sq(2), int)"
        },
        1.0,
        ["pass", "pass"],
    ),
    (
        "import math\ndef area(r):\n    return math.pi * r * r",
        {"tests": "assert math.isclose(area(1), 3.14159265, rel_tol=1e-6)"},
        1.0,
        ["pass"],
    ),
    (
        "class Solution:\n    def twoSum(self, nums, target):\n        return [0, 1]",
        {"tests": "assert Solution().twoSum([2, 7], 9) == [0, 1]"},
        1.0,
        ["pass"],
    ),
    (
        "class Counter:\n    def __init__(self):\n        self.n = 0\n"
        "    def add(self, k):\n        self.n += k\n    def total(self):\n        return self.n",
        {
            "tests": "c = Counter()\nc.add(2)\nassert c.total() == 2\nfor k in range(3):\n    c.add(1)\nassert c.total() == 5"
        },
        1.0,
        ["pass", "pass"],
    ),
    (
        "def f(x):\n    if x < 0:\n        raise ValueError('negative')\n    return x",
        {
            "tests": "try:\n    f(-1)\nexcept ValueError:\n    pass\nelse:\n    assert False\nassert f(2) == 2"
        },
        1.0,
        ["pass", "pass"],
    ),
    (
        "def poly(xs, x):\n    return sum(c * x ** i for i, c in enumerate(xs))\n"
        "def find_zero(xs):\n    return 1.0",
        {
            "test": "def check(candidate):\n    import math\n    for _ in range(3):\n"
            "        assert math.fabs(poly([-1, 1], candidate([-1, 1]))) < 1e-4\n",
            "entry_point": "find_zero",
        },
        1.0,
        ["pass"],
    ),
    (
        "def gen(n):\n    return list(range(n))",
        {"tests": "assert all(x < 5 for x in gen(5))"},
        1.0,
        ["pass"],
    ),
]


@pytest.mark.parametrize(
    ("body", "reference", "value", "outcomes"),
    CASES,
    ids=[
        "asserts-pass",
        "asserts-half",
        "runtime-error",
        "syntax-error",
        "stdio-whitespace",
        "stdio-half",
        "leetcode-class",
        "livecodebench",
        "apps-wrapped-output",
        "bool-is-not-int",
        "humaneval-check",
        "setup-and-builtins",
        "math-isclose",
        "class-by-handle",
        "object-state-across-tests",
        "expected-exception",
        "helper-from-the-program",
        "generator-in-a-pure-call",
    ],
)
def test_unit_tests_score(reward, body, reference, value, outcomes):
    score = reward.score([Sample(completion=fenced(body), reference=reference)])[0]
    assert score.status == "ok", score.error
    assert [t["outcome"] for t in score.info["tests"]] == outcomes, score.info
    assert score.value == pytest.approx(value)


def test_runtime_error_detail_names_the_exception(reward):
    score = reward.score(
        [Sample(completion=fenced("def add(a, b):\n    return a / 0"), reference=ADD)]
    )[0]
    assert "ZeroDivisionError" in score.info["tests"][0]["detail"]


def test_all_or_nothing_mode():
    strict = rewardsmith.load("code.unit_tests", mode="all")
    half = Sample(completion=fenced("def add(a, b):\n    return 3"), reference=ADD)
    full = Sample(completion=fenced("def add(a, b):\n    return a + b"), reference=ADD)
    assert [s.value for s in strict.score([half, full])] == [0.0, 1.0]


def test_loop_asserts_are_marked_in_process(reward):
    ref = {"tests": "for x in range(3):\n    assert sq(x) == x * x"}
    score = reward.score(
        [Sample(completion=fenced("def sq(x):\n    return x * x"), reference=ref)]
    )[0]
    assert score.value == 1.0
    assert score.info["total"] == 1
    assert score.info["tests"] == [{"outcome": "pass", "in_process": True}]


def test_no_code_scores_zero_and_bad_reference_is_an_error(reward):
    empty, bad = reward.score(
        [
            Sample(completion="```python\n```", reference=ADD),
            Sample(completion="x = 1", reference={"nothing": 1}),
        ]
    )
    assert (empty.value, empty.status) == (0.0, "ok")
    assert (bad.value, bad.status) == (None, "error")
    assert "need 'tests'" in bad.error.message


def test_batch_keeps_order_across_parallel_programs():
    reward = rewardsmith.load("code.unit_tests", parallel=2)
    samples = [
        Sample(
            completion=fenced(f"def f(x):\n    return {k}"),
            reference={"fn_name": "f", "inputs": [[0]], "outputs": [k % 2]},
        )
        for k in range(6)
    ]
    assert [s.value for s in reward.score(samples)] == [
        1.0 if k % 2 == k else 0.0 for k in range(6)
    ]


def test_program_stdout_is_reported(reward):
    score = reward.score(
        [
            Sample(
                completion=fenced("print('debug line')\ndef add(a, b):\n    return a + b"),
                reference=ADD,
            )
        ]
    )[0]
    assert "debug line" in score.info["stdout"]


def test_isolation_none_must_be_asked_for(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    sandbox.isolation_problem.cache_clear()
    try:
        with pytest.raises(ConfigError, match="bubblewrap is not installed"):
            rewardsmith.load("code.unit_tests")
    finally:
        monkeypatch.undo()
        sandbox.isolation_problem.cache_clear()
    unsafe = rewardsmith.load("code.unit_tests", isolation="none")
    assert (
        unsafe.score(
            [Sample(completion=fenced("def add(a, b):\n    return a + b"), reference=ADD)]
        )[0].value
        == 1.0
    )


@pytest.mark.parametrize(
    ("body", "syntax", "compiles"),
    [
        ("def f():\n    return 1", 1.0, 1.0),
        ("return 1", 1.0, 0.0),
        ("def f(:\n    pass", 0.0, 0.0),
        ("", 0.0, 0.0),
    ],
    ids=["good", "return-outside-function", "syntax-error", "empty"],
)
def test_syntax_and_compiles(body, syntax, compiles):
    sample = Sample(completion=fenced(body))
    assert rewardsmith.load("code.syntax").score([sample])[0].value == syntax
    assert rewardsmith.load("code.compiles").score([sample])[0].value == compiles


def test_example_spec_scores_the_bundled_code_rollouts(tmp_path):
    import json
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]  # tests/verifiable/code/ -> the repository
    out = tmp_path / "scored.jsonl"
    cmd = [sys.executable, "-m", "rewardsmith", "score", str(root / "examples/code_rollouts.jsonl")]
    cmd += ["--spec", str(root / "examples/code.yaml"), "--out", str(out)]
    subprocess.run(cmd, check=True, capture_output=True, timeout=120)
    tests = {
        row["kind"]: row["parts"]["tests"] for row in map(json.loads, out.read_text().splitlines())
    }
    assert tests == {
        "assert, correct": 1.0,
        "assert, always-equal hack": 0.0,
        "stdio, correct": 1.0,
        "stdio, 2 of 3": pytest.approx(2 / 3),
        "stdio, infinite loop": 0.0,
        "call, correct": 1.0,
        "assert, exits early": 0.0,
        "no code": 0.0,
    }
