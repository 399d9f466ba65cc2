"""The benchmark corpus of ``benchmarks/math_corpus.py``: reproducible, in proportion, honest."""

from __future__ import annotations

import random
import re
from collections import Counter
from fractions import Fraction
from types import ModuleType

import pytest

from helpers_scripts import load_script


@pytest.fixture(scope="module")
def corpus_module() -> ModuleType:
    return load_script("benchmarks/math_corpus.py")


@pytest.fixture(scope="module")
def items(corpus_module: ModuleType) -> list:
    return corpus_module.make_corpus(2000, seed=0)


# --- reproducible and in proportion ---------------------------------------------------------


def test_same_seed_same_corpus(corpus_module: ModuleType, items: list) -> None:
    assert corpus_module.make_corpus(2000, seed=0) == items
    assert corpus_module.make_corpus(300, seed=1) != corpus_module.make_corpus(300, seed=2)


@pytest.mark.parametrize("n", [1, 37, 100, 2000])
def test_size(corpus_module: ModuleType, n: int) -> None:
    assert len(corpus_module.make_corpus(n, seed=3)) == n


def test_about_40_percent_wrong(items: list) -> None:
    assert abs(sum(not i.label for i in items) / len(items) - 0.40) <= 0.05


def test_about_2_percent_pathological(items: list) -> None:
    assert 0.015 <= sum(i.pathological for i in items) / len(items) <= 0.025
    kinds = {i.kind for i in items if i.pathological}
    assert kinds == {
        "long",
        "nested_braces",
        "continued_fraction",
        "tower",
        "factorial",
        "truncated",
    }
    assert max(len(i.completion) for i in items if i.kind == "long") >= 20_000


def test_every_form_and_kind_present(corpus_module: ModuleType, items: list) -> None:
    assert {i.form for i in corpus_module.make_corpus(100, seed=5)} == set(corpus_module.FORMS)
    assert set(corpus_module.KINDS) <= {i.kind for i in items}


def test_right_items_often_use_another_rendering(items: list) -> None:
    right = [i for i in items if i.label and not i.pathological]
    assert sum(i.reference not in i.completion for i in right) >= 0.2 * len(right)


# --- labels: an independent reading of the simple kinds -----------------------------------

_FRAC = re.compile(r"^(-?)\\[dt]?frac\{?(-?\d+)\}?\{?(\d+)\}?$")
_SCI = re.compile(r"^(\d+(?:\.\d+)?)\s*\\(?:times|cdot)\s*10\^\{?(\d+)\}?$")


def value(text: str) -> Fraction:
    """The number a rendering of the numeric kinds stands for, read without the generator."""
    t = (
        text.replace("{,}", "")
        .replace(",", "")
        .replace("\\%", "")
        .replace("%", "")
        .replace("\\$", "")
    )
    t = re.sub(r"^[a-z] ?= ?", "", t)
    t = re.sub(r"\^\\circ|\^\{\\circ\}|°| ?\\text\{ [a-z ]+\}", "", t).strip()
    if m := _FRAC.match(t):
        sign = -1 if m[1] else 1
        return sign * Fraction(int(m[2]), int(m[3]))
    if m := _SCI.match(t):
        return Fraction(m[1]) * 10 ** int(m[2])
    return Fraction(t)


NUMERIC = (
    "integer",
    "negative",
    "decimal",
    "fraction",
    "thousands",
    "percent",
    "degrees",
    "units",
    "x_equals",
    "scientific",
)


@pytest.mark.parametrize("kind", NUMERIC)
def test_numeric_renderings_agree_with_the_reference(corpus_module: ModuleType, kind: str) -> None:
    make = corpus_module.KINDS[kind][0]
    rng = random.Random(11)
    for _ in range(300):
        spec = make(rng)
        ref = value(spec.reference)
        assert all(value(r) == ref for r in spec.right), spec
        assert all(value(w) != ref for w in spec.wrong), spec


def _ints(text: str) -> list[int]:
    return [int(x) for x in re.findall(r"-?\d+", text)]


def test_sets_tuples_matrices(corpus_module: ModuleType) -> None:
    rng = random.Random(12)
    for _ in range(200):
        s = corpus_module.finite_set(rng)
        assert all(set(_ints(r)) == set(_ints(s.reference)) for r in s.right)
        assert all(set(_ints(w)) != set(_ints(s.reference)) for w in s.wrong)
        t = corpus_module.pair(rng)
        assert all(_ints(r) == _ints(t.reference) for r in t.right)
        assert all(_ints(w) != _ints(t.reference) for w in t.wrong)
        m = corpus_module.matrix(rng)
        assert all(_ints(r) == _ints(m.reference) for r in m.right)
        assert all(_ints(w) != _ints(m.reference) for w in m.wrong)


def _interval_shape(text: str) -> str:
    """Brackets and endpoints of an interval or a union, order of the union ignored."""
    t = text.replace("\\left", "").replace("\\right", "").replace(" ", "")
    return "|".join(sorted(t.split("\\cup")))


def test_intervals_keep_or_change_their_ends(corpus_module: ModuleType) -> None:
    rng = random.Random(13)
    for _ in range(300):
        spec = corpus_module.interval(rng)
        shape = _interval_shape(spec.reference)
        assert all(_interval_shape(r) == shape for r in spec.right), spec
        assert all(_interval_shape(w) != shape for w in spec.wrong), spec


def test_choice_letters(corpus_module: ModuleType) -> None:
    rng = random.Random(14)
    for _ in range(100):
        spec = corpus_module.choice(rng)
        letter = re.findall(r"[A-E]", spec.reference)
        assert all(re.findall(r"[A-E]", r) == letter for r in spec.right)
        assert all(re.findall(r"[A-E]", w) != letter for w in spec.wrong)


# --- labels: hand-written expectations for specific templates -------------------------------


@pytest.mark.parametrize(
    ("build", "right", "wrong"),
    [
        (lambda m: m.sqrt_multiple(2, 2), "\\sqrt{8}", "\\sqrt{4}"),
        (lambda m: m.sqrt_multiple(3, 5), "\\sqrt{45}", "\\sqrt{15}"),
        (lambda m: m.sqrt_over(3, 2), "\\sqrt{3}/2", "\\frac{2}{\\sqrt{3}}"),
        (lambda m: m.difference_of_squares(1), "(x-1)(x+1)", "(x-1)^2"),
        (lambda m: m.difference_of_squares(3), "(x+3)(x-3)", "x^2+9"),
        (lambda m: m.pi_multiple(2), "\\pi \\cdot 2", "3\\pi"),
        (lambda m: m.binomial(5, 2), "\\binom{5}{2}", "11"),
    ],
    ids=["2sqrt2", "3sqrt5", "sqrt3-over-2", "x2-1", "x2-9", "2pi", "binom-5-2"],
)
def test_symbolic_templates(corpus_module: ModuleType, build, right: str, wrong: str) -> None:
    spec = build(corpus_module)
    assert right in spec.right
    assert wrong in spec.wrong
    assert not set(spec.right) & set(spec.wrong)


def test_sqrt_multiple_never_lists_an_equal_value_as_wrong(corpus_module: ModuleType) -> None:
    # b\sqrt{a} equals a\sqrt{b} exactly when a == b
    assert "2\\sqrt{2}" not in corpus_module.sqrt_multiple(2, 2).wrong


def test_pathological_labels(corpus_module: ModuleType) -> None:
    text, v = corpus_module._continued(3)
    assert v == Fraction(5, 3) and text.count("\\frac") == 3
    assert corpus_module._tower(9, 9, 4) == "9^{9^{9^{9}}}"
    rng = random.Random(15)
    for kind in corpus_module.PATHOLOGICAL:
        for right in (True, False):
            item = corpus_module._pathological(rng, kind, right)
            assert item.pathological and item.label == right  # a right "truncated" is a long one
    truncated = corpus_module._pathological(rng, "truncated", False)
    assert truncated.completion.rstrip().endswith(truncated.reference[:-1])


def test_wrong_items_sometimes_show_the_right_value_as_scratch(items: list) -> None:
    trapped = [
        i
        for i in items
        if not i.label
        and ("At first I got" in i.completion or "A quick estimate gives" in i.completion)
    ]
    assert len(trapped) >= 0.15 * sum(not i.label for i in items)


def test_hashes_answers_are_plain_numbers(items: list) -> None:
    for item in items:
        if item.form == "hashes" and not item.pathological:
            final = item.completion.rsplit("#### ", 1)[1]
            assert re.fullmatch(r"-?[\d,]*\.?\d+", final), final


def test_counts_by_kind_are_stable(items: list) -> None:
    counts = Counter(i.kind for i in items)
    assert counts["integer"] > counts["fraction"] > counts["matrix"] > counts["bignum"] > 0
