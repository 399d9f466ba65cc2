"""RandomCalculation (arXiv 2507.10532): determinism, uniqueness, structure, exact answers."""

from __future__ import annotations

import re
from fractions import Fraction

import pytest

from rewardsmith.data import Problem, random_calculation, subsets
from rewardsmith.data.arithmetic import BinOp, Expr, Leaf, count_ops, decimal_text, exact_text

_TOKEN = re.compile(r"\s*(?:([0-9]+)|(.))")
_PYTHON = {"+": "+", "−": "-", "×": "*", "÷": "/", "(": "(", ")": ")", "/": "/"}


def _eval_plain(question: str) -> Fraction:
    """An independent reading of the plain text: Python's eval over Fraction literals."""
    expr = question.removeprefix("Compute: ")
    out = []
    for number, sym in _TOKEN.findall(expr):
        if number:
            out.append(f"Fraction({number})")
        elif sym in ("²", "³"):
            out.append("**2" if sym == "²" else "**3")
        elif sym.strip():
            out.append(_PYTHON[sym])  # KeyError on anything unexpected
    return eval("".join(out), {"__builtins__": {}, "Fraction": Fraction})


def _walk(expr: Expr):
    yield expr
    if isinstance(expr, BinOp):
        yield from _walk(expr.left)
        yield from _walk(expr.right)


def _ops_in_text(question: str) -> int:
    # a fraction leaf "(3/5)" holds a "/" that is not an operation
    return sum(question.count(c) for c in "+−×÷")


@pytest.fixture(scope="module")
def all_steps() -> dict[int, list[Problem]]:
    return {steps: random_calculation(steps, 30, seed=steps) for steps in range(1, 21)}


def test_same_seed_same_list_and_different_seed_different():
    assert random_calculation(5, 20, seed=3) == random_calculation(5, 20, seed=3)
    assert random_calculation(5, 20, seed=3) != random_calculation(5, 20, seed=4)


def test_no_global_random_state_is_used():
    import random

    random.seed(0)
    before = random.random()
    random.seed(0)
    random_calculation(4, 10, seed=1)
    assert random.random() == before


def test_problems_in_one_call_are_unique():
    problems = random_calculation(1, 300, seed=0)
    assert len({p.question for p in problems}) == 300


@pytest.mark.parametrize("steps", range(1, 21))
def test_every_step_count_generates_with_exact_structure(all_steps, steps):
    for p in all_steps[steps]:
        assert p.steps == steps
        assert count_ops(p.expr) == steps
        assert sum(isinstance(node, BinOp) for node in _walk(p.expr)) == steps
        assert _ops_in_text(p.question) == steps


@pytest.mark.parametrize("steps", range(1, 21))
def test_answers_are_exact_and_texts_agree(all_steps, steps):
    for p in all_steps[steps]:
        assert _eval_plain(p.question) == p.answer
        assert Fraction(p.answer_text) == p.answer
        assert abs(Fraction(p.decimal) - p.answer) <= Fraction(1, 2 * 10**6)
        assert re.fullmatch(r"-?[0-9]+\.[0-9]{6}", p.decimal)


def test_no_division_by_zero(all_steps):
    for problems in all_steps.values():
        for p in problems:
            for node in _walk(p.expr):
                if isinstance(node, BinOp) and node.op == "/":
                    assert node.right.value != 0


def test_base_elements_are_in_range(all_steps):
    for problems in all_steps.values():
        for p in problems:
            for node in _walk(p.expr):
                if isinstance(node, Leaf):
                    assert 0 <= node.n <= 100
                    if node.kind == "frac":
                        assert 2 <= node.d <= 100 and node.n % node.d


def test_latex_rendering():
    p = random_calculation(6, 1, seed=11)[0]
    assert p.latex.startswith("Compute: $") and p.latex.endswith("$")
    assert "×" not in p.latex and "÷" not in p.latex and "−" not in p.latex


@pytest.mark.parametrize(
    ("value", "exact", "decimal"),
    [
        (Fraction(33, 7), "33/7", "4.714286"),
        (Fraction(-1, 2), "-1/2", "-0.500000"),
        (Fraction(12), "12", "12.000000"),
        (Fraction(-1, 10**7), "-1/10000000", "0.000000"),
        (Fraction(1, 3), "1/3", "0.333333"),
    ],
    ids=["repeating", "negative", "integer", "tiny-negative-no-minus-zero", "third"],
)
def test_answer_texts(value, exact, decimal):
    assert exact_text(value) == exact
    assert decimal_text(value) == decimal


def test_subsets_are_lazy_and_laid_out_per_step():
    it = subsets(max_steps=20, per_step=5, seed=1)
    first = next(it)
    assert first[0] == 1 and len(first[1]) == 5
    rest = list(it)
    assert [s for s, _ in rest] == list(range(2, 21))
    assert all(len(ps) == 5 and all(p.steps == s for p in ps) for s, ps in rest)
    # a subset does not depend on how many subsets were asked for
    assert dict(subsets(3, 5, seed=1))[3] == dict(rest)[3]


@pytest.mark.parametrize(("steps", "n"), [(0, 1), (1, -1)], ids=["zero-steps", "negative-n"])
def test_bad_arguments_raise(steps, n):
    with pytest.raises(ValueError):
        random_calculation(steps, n)
