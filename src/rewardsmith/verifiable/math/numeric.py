"""``math.numeric_error``: partial credit for a numeric answer, by how close it is.

What it checks: the final answer is pulled out of the completion exactly as
``math.answer`` does (``answers.extract_answer``: last ``<answer>`` block, last
``\\boxed{}``, "answer is", ``####``) and normalised the same way
(``answer_text.normalize_answer``), then read as a number: an integer, a decimal, a fraction
``a/b`` or ``\\frac{a}{b}``, signed, or scientific notation (``1.5e-3``,
``1.5 \\times 10^{-3}``, ``1.5 \\cdot 10^{-3}``). With ``a`` that number and ``b`` the
reference,

    r = 1 − 0.5·min(|a − b|, 1) − 0.5·min(|a − b| / (|b| + ε), 1),   ε = 1e-6 (``eps``)

computed in exact rational arithmetic (no float overflow for huge values) and converted
to float at the end. Range [0, 1]: 1 only for the exact value. ``parts`` holds the two
capped terms, ``abs_term`` = min(|a − b|, 1) and ``rel_term``; ``info`` holds
``extracted`` and ``source`` and, for a 0 given without a comparison, ``reason``.

No answer, an answer that is not a number (``\\sqrt{2}``, "x + 1", "3 or 4") or one
longer than 400 characters (reason ``"number too long"``; it is never converted, so a
5,000-digit answer costs nothing) scores 0.0. Strict mode (the default) also gives 0 when
the completion hedges between several final answers, with ``math.answer``'s own check
(``math.several_answers``). The reference is a number (int, float, ``Fraction``,
``Decimal``), a string (its last ``\\boxed{}`` or ``####`` answer when it has one), or a
dict with ``answer``, ``target`` or ``ground_truth``; one that is not a number is an
error (value None, status error), never a silent 0.

Paper: Reasoning or Memorization? Unreliable Results of Reinforcement Learning Due to Data
Contamination (Wu et al., arXiv 2507.10532), whose RandomCalculation answers are often
long decimals, so exact match almost never fires; see ``rewardsmith.data.arithmetic``.

Known failure modes and how it is gamed: the absolute term is scale dependent. For
answers with |b| well above 1 it saturates at 0.5 for any error of 1 or more, so on large
answers the reward is effectively 0.5 + 0.5·(1 − relative error): an answer off by 10% of
a million still earns 0.45 more than an answer that is wildly off earns. For |b| below ε
the relative term is 1 for any error above ~1e-6. The reward gives partial credit to
close-but-wrong answers: a policy can settle for a rounded or estimated value (3.33 for
10/3 earns 0.998), and a truncated decimal is never worth the exact fraction, so
rounding to a few places is nearly as good as computing. Percent and degree signs are
dropped by the normalisation, so "50%" reads as 50, not 0.5. A completion over
``max_chars`` (100,000) scores 0 unread.

Example:
    >>> from rewardsmith import Sample, load
    >>> s = load("math.numeric_error").score([Sample(completion="\\\\boxed{10.5}", reference=10)])[0]
    >>> round(s.value, 6), s.parts["abs_term"]
    (0.725, 0.5)
"""

from __future__ import annotations

import re
from decimal import Decimal
from fractions import Fraction
from typing import Any

from pydantic import Field

from rewardsmith.core import ItemReward, Paper, Sample, Score, register
from rewardsmith.verifiable.answer_text import normalize_answer, parse_number
from rewardsmith.verifiable.answers import extract_answer
from rewardsmith.verifiable.math.answer import FinalAnswerParams, reference_answer, several_answers

__all__ = [
    "MAX_NUMBER_CHARS",
    "NumericError",
    "NumericErrorParams",
    "numeric_error_value",
    "parse_numeric",
]

WU = Paper(
    "Reasoning or Memorization? Unreliable Results of Reinforcement Learning Due to Data "
    "Contamination (Wu et al.)",
    "2507.10532",
)

MAX_NUMBER_CHARS = 400
"""Longer answers are never converted (``answer_text.parse_number`` has the same cap)."""
_MAX_EXPONENT = 1000
_REFERENCE_KEYS = ("answer", "target", "ground_truth")
_NUMBERISH = re.compile(r"[-+0-9.,/\s]+")
_MANTISSA = r"([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))"
_SCIENTIFIC = re.compile(
    _MANTISSA
    + r"\s*(?:e\s*([+-]?[0-9]{1,6})"
    + r"|(?:\\times|\\cdot|×|·|\*)\s*10\s*\^\s*(?:\{\s*([+-]?[0-9]{1,6})\s*\}|([+-]?[0-9]{1,6})))"
)


def parse_numeric(text: str) -> Fraction | None:
    """A normalised answer as an exact rational, or None when it is not a plain number.

    Reads what ``answer_text.parse_number`` reads (integers, decimals, ``a/b``), plus
    scientific notation with an exponent of at most 1000 in size.

    Example:
        >>> parse_numeric("-1.5e-3"), parse_numeric("2 \\\\times 10^{3}"), parse_numeric("x")
        (Fraction(-3, 2000), Fraction(2000, 1), None)
    """
    if len(text) > MAX_NUMBER_CHARS:
        return None
    number = parse_number(text)
    if number is not None:
        return number.value
    m = _SCIENTIFIC.fullmatch(text.strip())
    if m is None:
        return None
    mantissa, *exponents = m.groups()
    exponent = int(next(e for e in exponents if e is not None))
    if abs(exponent) > _MAX_EXPONENT:
        return None
    return Fraction(mantissa) * Fraction(10) ** exponent


def numeric_error_value(a: Fraction, b: Fraction, eps: float = 1e-6) -> tuple[Fraction, Fraction]:
    """The two capped error terms, ``min(|a−b|, 1)`` and ``min(|a−b|/(|b|+eps), 1)``, exactly."""
    diff = abs(a - b)
    return min(diff, Fraction(1)), min(diff / (abs(b) + Fraction(eps)), Fraction(1))


def _reference(reference: Any) -> tuple[str, Fraction]:
    """The reference as normalised text (for the strict check) and as a rational."""
    if isinstance(reference, dict):
        for key in _REFERENCE_KEYS:
            if key in reference:
                return _reference(reference[key])
        raise ValueError(f"reference dict has none of {', '.join(_REFERENCE_KEYS)}")
    if isinstance(reference, Decimal):
        if not reference.is_finite():
            raise ValueError(f"unusable reference: {reference!r}")
        reference = Fraction(reference)
    if isinstance(reference, Fraction):
        return str(reference), reference
    text = normalize_answer(reference_answer(reference))
    value = parse_numeric(text)
    if value is None:
        raise ValueError(f"reference is not a number: {reference!r:.80}")
    return text, value


class NumericErrorParams(FinalAnswerParams):
    eps: float = Field(default=1e-6, gt=0)
    """ε in the relative term, so a reference of 0 does not divide by zero."""


@register(
    paper=WU,
    summary="1 − 0.5·min(|a−b|,1) − 0.5·min(|a−b|/(|b|+ε),1): partial credit by numeric closeness",
)
class NumericError(ItemReward):
    name = "math.numeric_error"

    def __init__(self, params: NumericErrorParams) -> None:
        self.params = params

    def part_names(self) -> list[str]:
        return ["abs_term", "rel_term"]

    def score_one(self, sample: Sample) -> Score:
        ref_text, b = _reference(sample.reference)
        found = extract_answer(sample.text, fallback_last_number=self.params.fallback_last_number)
        if found.text is None:
            return Score(0.0, info={"reason": "no final answer found", "source": found.source})
        info: dict[str, Any] = {"extracted": found.text[:200], "source": found.source}
        answer = normalize_answer(found.text)
        if not answer:
            return Score(0.0, info={**info, "reason": "empty answer"})
        if len(answer) > MAX_NUMBER_CHARS:
            reason = "number too long" if _NUMBERISH.fullmatch(answer) else "not a number"
            return Score(0.0, info={**info, "reason": reason})
        if self.params.strict and (found.hedged or several_answers(answer, ref_text)):
            return Score(0.0, info={**info, "reason": "several final answers"})
        a = parse_numeric(answer)
        if a is None:
            return Score(0.0, info={**info, "reason": "not a number"})
        abs_term, rel_term = numeric_error_value(a, b, self.params.eps)
        value = 1 - (abs_term + rel_term) / 2
        return Score(
            float(value),
            parts={"abs_term": float(abs_term), "rel_term": float(rel_term)},
            info=info,
        )
