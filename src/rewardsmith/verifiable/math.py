"""``math.answer``: is the completion's final answer equal to the reference answer?

What it checks: the final answer is pulled out of the completion (the last
``<answer>...</answer>`` block if there is one, else the whole text; inside it the last
``\\boxed{}``/``\\fbox{}``, else the text after the last "answer is", else after the last
``####``, else the whole ``<answer>`` block; optionally the last number in the text), then
normalised (``$`` and ``\\(\\)`` dropped, ``\\text{}`` unwrapped, ``\\dfrac{1}{2}`` read
as ``1/2``, ``1,250`` as ``1250``, ``x =`` prefixes, units of percent and degree,
trailing period and case dropped; see ``math_text.normalize_answer``) and compared with
the normalised reference. Two answers that both read as exact rationals (integers,
decimals, fractions ``a/b``, signed) are equal when the rationals are equal, or, when
either is written as a decimal with a fractional part, within ``rel_tol``; otherwise the
normalised strings must be equal, ignoring whitespace. 1 if equal, else 0. Range [0, 1].

Strict mode (the default) gives 0 with reason ``"several final answers"`` when the
searched region holds boxes with different contents, or the answer contains " or ",
``\\pm``, or a comma-separated list of numbers while the reference is a single number.

``info`` holds ``extracted`` (the raw answer, cut to 200 characters) and ``source`` (the
rule that found it), and ``reason`` when the item scored 0 without a comparison. The
reference is a string (its last ``\\boxed{}`` or ``####`` answer is used when it has
one, so a full MATH or GSM8K solution works), a number, or a dict with ``answer``,
``target`` or ``ground_truth``; a missing or empty reference is an error (value None).

Paper: Measuring Mathematical Problem Solving With the MATH Dataset (Hendrycks et al.,
arXiv 2103.03874), whose answer normalisation this follows in spirit.

Known failure modes and how it is gamed: this is string and rational matching, not
algebra: ``\\frac{\\sqrt{3}}{2}`` and ``\\sqrt{3}/2`` differ, as do ``0.5`` and ``50\\%``
of a quantity, units (``5 cm`` vs ``5``) and equivalent intervals or sets written in
another order. Lowercasing conflates ``\\Delta`` and ``\\delta``. A markdown heading
``#### Step 3`` in a completion without any other answer marker is taken as the answer.
An unclosed ``\\boxed{`` (a truncated completion) is ignored, so an earlier complete box
counts. Without strict mode a policy can spray answers ("3 or 4", several boxes); with
it, one wrong box anywhere in a box-only completion zeroes the item, so prompts should
ask for a single boxed answer. A completion over ``max_chars`` (100,000) scores 0
unread.
"""

from __future__ import annotations

import math as _m
from decimal import Decimal
from fractions import Fraction
from typing import Any

from pydantic import Field

from rewardsmith.core import ItemReward, Paper, Params, Sample, Score, register
from rewardsmith.verifiable.math_text import (
    Number,
    boxed_contents,
    extract_answer,
    hashes_text,
    normalize_answer,
    parse_number,
)

__all__ = ["MathAnswerParams", "answers_match", "reference_answer", "several_answers"]

MATH = Paper("Measuring Mathematical Problem Solving With the MATH Dataset (Hendrycks et al.)",
             "2103.03874")

_REFERENCE_KEYS = ("answer", "target", "ground_truth")
_PLUS_MINUS = ("\\pm", "\\mp", "±", "∓")


def reference_answer(reference: Any) -> str:
    """The reference's answer as text. ValueError when there is none to compare with."""
    if isinstance(reference, dict):
        for key in _REFERENCE_KEYS:
            if key in reference:
                return reference_answer(reference[key])
        raise ValueError(f"reference dict has none of {', '.join(_REFERENCE_KEYS)}")
    if isinstance(reference, bool) or reference is None:
        raise ValueError(f"unusable reference: {reference!r}")
    if isinstance(reference, int):
        return str(reference)
    if isinstance(reference, float):
        if not _m.isfinite(reference):
            raise ValueError(f"unusable reference: {reference!r}")
        return format(Decimal(repr(reference)), "f")  # 1e-05 -> 0.00001
    if not isinstance(reference, str):
        raise ValueError(f"unsupported reference type {type(reference).__name__}")
    boxed = boxed_contents(reference)
    if boxed:
        return boxed[-1]
    marked = hashes_text(reference)
    return reference if marked is None else marked


def _plain(s: str) -> str:
    return "".join(s.split())


def _numbers_list(s: str) -> bool:
    parts = s.split(",")
    return len(parts) >= 2 and all(parse_number(p) is not None for p in parts)


def several_answers(answer: str, boxed: tuple[str, ...], reference: str) -> bool:
    """Whether a normalised answer hedges between several final answers (strict mode).

    Args:
        answer: the normalised extracted answer.
        boxed: the raw contents of every box in the searched region.
        reference: the normalised reference; a form it uses itself (``\\pm``, "or", a
            list) is not held against the answer.
    """
    if len({_plain(normalize_answer(b)) for b in boxed} - {""}) >= 2:
        return True
    if " or " in answer and " or " not in reference:
        return True
    if any(pm in answer for pm in _PLUS_MINUS) and not any(pm in reference for pm in _PLUS_MINUS):
        return True
    return parse_number(reference) is not None and _numbers_list(answer)


def _close(a: Number, b: Number, rel_tol: float) -> bool:
    if a.value == b.value:
        return True
    if not (a.decimal or b.decimal):
        return False
    # exact arithmetic: no float overflow for huge values, no rounding at the edge
    return abs(a.value - b.value) <= Fraction(rel_tol) * max(abs(a.value), abs(b.value))


def answers_match(answer: str, reference: str, rel_tol: float = 1e-9) -> bool:
    """Whether two normalised answers are equal: as rationals if both are, else as text."""
    a, b = parse_number(answer), parse_number(reference)
    if a is not None and b is not None:
        return _close(a, b, rel_tol)
    return _plain(answer) == _plain(reference)


class FinalAnswerParams(Params):
    """How the final answer is found; shared by the rewards that read one."""

    strict: bool = True
    """Score 0 when the completion hedges between several final answers."""
    fallback_last_number: bool = False
    """With no marked answer anywhere, take the last number in the completion."""


class MathAnswerParams(FinalAnswerParams):
    rel_tol: float = Field(default=1e-9, ge=0, lt=1)
    """Relative tolerance, used only when a side is written as a decimal with a fraction."""


class MathAnswer(ItemReward):
    name = "math.answer"

    def __init__(self, params: MathAnswerParams) -> None:
        self.params = params

    def score_one(self, sample: Sample) -> Score:
        reference = normalize_answer(reference_answer(sample.reference))
        if not reference:
            raise ValueError(f"reference is empty after normalisation: {sample.reference!r:.80}")
        found = extract_answer(sample.text, fallback_last_number=self.params.fallback_last_number)
        if found.text is None:
            return Score(0.0, info={"reason": "no final answer found", "source": found.source})
        info: dict[str, Any] = {"extracted": found.text[:200], "source": found.source}
        answer = normalize_answer(found.text)
        if not answer:
            return Score(0.0, info={**info, "reason": "empty answer"})
        if self.params.strict and several_answers(answer, found.boxed, reference):
            return Score(0.0, info={**info, "reason": "several final answers"})
        return Score(float(answers_match(answer, reference, self.params.rel_tol)), info=info)


@register("math.answer", params=MathAnswerParams, paper=MATH, range=(0.0, 1.0),
          summary="1 if the final (boxed or marked) answer equals the reference, as number or text")
def answer(params: MathAnswerParams) -> MathAnswer:
    return MathAnswer(params)
