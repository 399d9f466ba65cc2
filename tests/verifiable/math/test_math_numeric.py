"""``math.numeric_error`` (arXiv 2507.10532): hand-computed values, grouped by phenomenon."""

from __future__ import annotations

import time
from decimal import Decimal
from fractions import Fraction

import pytest

import rewardsmith
from rewardsmith import Sample, Status
from rewardsmith.data import random_calculation
from rewardsmith.errors import ConfigError
from rewardsmith.verifiable.math.numeric import parse_numeric


def _score(completion, reference, **params):
    return rewardsmith.load("math.numeric_error", **params).score(
        [Sample(completion=completion, reference=reference)]
    )[0]


def _value(completion, reference, **params) -> float | None:
    return _score(completion, reference, **params).value


# r = 1 - 0.5*min(d, 1) - 0.5*min(d / (|b| + 1e-6), 1), worked out by hand
EXACT = [
    ("\\boxed{42}", "42", 1.0),
    ("The answer is -17.", -17, 1.0),
    ("<answer>3/4</answer>", Fraction(3, 4), 1.0),
    ("#### 1,250", 1250, 1.0),
]
CLOSE = [
    ("\\boxed{10.5}", 10, 1 - 0.25 - 0.5 * 0.5 / 10),  # the brief's 0.725
    ("\\boxed{9.9}", "10", 1 - 0.05 - 0.5 * 0.1 / 10),
    ("\\boxed{0.5}", 0, 1 - 0.25 - 0.5),  # b = 0: the relative term is 1
]
LARGE = [  # the absolute term saturates at 1 once |a - b| >= 1
    ("\\boxed{1001}", 1000, 1 - 0.5 - 0.5 * 0.001),
    ("\\boxed{1000100}", 1_000_000, 1 - 0.5 - 0.5 * 1e-4),
    ("\\boxed{2000000}", 1_000_000, 0.0),
    ("\\boxed{" + "9" * 300 + "}", "1" + "0" * 300, 1 - 0.5 - 0.5 * 1e-300),
]
NEGATIVE = [
    ("\\boxed{-2.5}", -3, 1 - 0.25 - 0.5 * 0.5 / 3),
    ("\\boxed{3}", -3, 0.0),
    ("\\boxed{-\\frac{1}{2}}", "-0.5", 1.0),
    ("\\boxed{\u22124}", -4, 1.0),  # the Unicode minus sign
]
FRACTION_VS_DECIMAL = [
    ("\\boxed{\\frac{1}{4}}", "0.25", 1.0),
    ("\\boxed{0.25}", Fraction(1, 4), 1.0),
    ("\\boxed{\\dfrac{7}{2}}", {"answer": "3.5"}, 1.0),
    ("\\boxed{0.333333}", Fraction(1, 3), 1 - 0.5 / 3e6 - 0.5 * 1e-6),
    ("\\boxed{1/3}", 0.333333, 1 - 0.5 / 3e6 - 0.5 * (1 / 3e6) / (0.333333 + 1e-6)),
]
SCIENTIFIC = [
    ("\\boxed{1.5e3}", 1500, 1.0),
    ("\\boxed{2 \\times 10^{-3}}", "0.002", 1.0),
    ("\\boxed{2.5 \\cdot 10^2}", 250, 1.0),
    ("\\boxed{1E-6}", {"target": Decimal("0.000001")}, 1.0),
]
CASES = EXACT + CLOSE + LARGE + NEGATIVE + FRACTION_VS_DECIMAL + SCIENTIFIC
IDS = (
    [f"exact-{i}" for i in range(len(EXACT))]
    + [f"close-{i}" for i in range(len(CLOSE))]
    + [f"large-saturated-{i}" for i in range(len(LARGE))]
    + [f"negative-{i}" for i in range(len(NEGATIVE))]
    + [f"fraction-vs-decimal-{i}" for i in range(len(FRACTION_VS_DECIMAL))]
    + [f"scientific-{i}" for i in range(len(SCIENTIFIC))]
)


@pytest.mark.parametrize(("completion", "reference", "expected"), CASES, ids=IDS)
def test_hand_computed_values(completion, reference, expected):
    score = _score(completion, reference)
    assert score.status is Status.OK
    assert score.value == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize(
    ("completion", "reason"),
    [
        ("I think it is about ten.", "no final answer found"),
        ("\\boxed{}", "empty answer"),
        ("\\boxed{\\sqrt{2}}", "not a number"),
        ("\\boxed{x + 1}", "not a number"),
        ("\\boxed{1e5000}", "not a number"),  # exponent over 1000: never expanded
        ("\\boxed{3} or maybe \\boxed{4}", "several final answers"),
        ("\\boxed{3 \\pm 1}", "several final answers"),
        ("\\boxed{" + "7" * 5000 + "}", "number too long"),
        ("\\boxed{" + "-12,345/" * 700 + "}", "number too long"),
        ("\\boxed{" + "word " * 300 + "}", "not a number"),
    ],
    ids=[
        "no-answer",
        "empty-box",
        "surd",
        "expression",
        "huge-exponent",
        "two-boxes",
        "plus-minus",
        "5000-digits",
        "long-numberish",
        "long-text",
    ],
)
def test_unreadable_answers_score_zero_with_a_reason(completion, reason):
    score = _score(completion, 3)
    assert score.status is Status.OK
    assert score.value == 0.0
    assert score.info["reason"] == reason


def test_huge_number_is_refused_quickly():
    start = time.perf_counter()
    score = _score("\\boxed{" + "9" * 50_000 + "}", 5)
    assert score.value == 0.0 and score.info["reason"] == "number too long"
    assert time.perf_counter() - start < 0.5


@pytest.mark.parametrize(
    "reference",
    [None, "Paris", "", {"foo": 1}, [1, 2], float("nan"), True, "1" * 500],
    ids=["none", "text", "empty", "dict-no-key", "list", "nan", "bool", "too-long"],
)
def test_unusable_reference_is_an_error_not_a_zero(reference):
    score = _score("\\boxed{1}", reference)
    assert score.value is None
    assert score.status is Status.ERROR
    assert score.error is not None and score.error.type == "ValueError"


def test_strict_off_scores_the_last_box():
    assert _value("\\boxed{3} or maybe \\boxed{4}", 3, strict=False) == pytest.approx(
        1 - 0.5 - 0.5 / 3
    )


def test_eps_parameter_and_validation():
    assert _value("\\boxed{0.5}", 0, eps=1.0) == pytest.approx(0.5)
    with pytest.raises(ConfigError):
        rewardsmith.load("math.numeric_error", eps=0)
    with pytest.raises(ConfigError):
        rewardsmith.load("math.numeric_error", tolerance=0.1)


def test_parts_hold_the_capped_terms():
    score = _score("\\boxed{10.5}", 10)
    assert score.parts["abs_term"] == 0.5
    assert score.parts["rel_term"] == pytest.approx(0.05)
    assert score.info == {"extracted": "10.5", "source": "boxed"}


def test_exact_rational_arithmetic_does_not_overflow():
    big = "1" + "0" * 350  # beyond float range
    assert _value(f"\\boxed{{{big}}}", big) == 1.0
    assert _value(f"\\boxed{{{big}}}", 1) == 0.0


def test_generated_problems_score_one_on_every_answer_form():
    for p in random_calculation(4, 10, seed=5):
        assert _value(f"\\boxed{{{p.answer_text}}}", p.answer) == 1.0
        rounded = _value(f"\\boxed{{{p.decimal}}}", p.answer_text)
        assert rounded is not None and rounded > 0.999  # off by at most 5e-7


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("12", Fraction(12)),
        ("-0.125", Fraction(-1, 8)),
        ("3/-4", Fraction(-3, 4)),
        ("1.5e-3", Fraction(3, 2000)),
        ("-2 \\times 10^{3}", Fraction(-2000)),
        ("\\sqrt{2}", None),
        ("1/0", None),
        ("", None),
    ],
    ids=[
        "int",
        "decimal",
        "signed-denominator",
        "e-notation",
        "times-ten",
        "surd",
        "div0",
        "empty",
    ],
)
def test_parse_numeric(text, value):
    assert parse_numeric(text) == value
