"""``acre.consistency``: ACRE's consistency-verification reward for multiple choice.

ACRE (Huang et al., "Answer-Consistent Chain-of-Thought Reinforcement Learning for
Multi-modal Large Language Models", arXiv 2510.10104) checks that the answer follows
from the reasoning: after the policy writes reasoning ``t`` and answer ``a``, the options
are shuffled and the policy is prompted again with the same ``t``; its second answer
``ã`` is mapped back through the permutation and compared with ``a``.

- ``shuffled_reprompt(question, options, seed, reasoning=...)`` builds the second prompt
  and returns it with the permutation (``perm[j]`` is the original index of the option
  shown at position ``j``). The identity order is never returned for two or more options
  (an unchanged order would check nothing).
- ``acre.consistency`` reads ``a`` from the completion (as ``choice.answer`` does: the
  final answer, then its option letter) and ``ã`` from ``meta["acre_second"]`` (the
  second pass's completion text, or a bare letter), mapped back through
  ``meta["acre_permutation"]``. The reward is ``consistent_correct`` (1.0) when
  ``a == ã`` and ``a`` is right, ``alpha1`` when ``a`` is right but ``ã`` differs,
  ``alpha2`` when both agree on a wrong option, ``alpha3`` when ``a`` is wrong and ``ã``
  differs. An unreadable answer counts as wrong and inconsistent. The range is the
  lowest to the highest of the four values, [0, 1] by default.

The paper's three coefficients (α₁, α₂, α₃ in its Eq. 3) were not found, in the catalog
nor in a second search: the defaults ``alpha1=0.5``, ``alpha2=0.0``, ``alpha3=0.0`` are
our choice (half credit for a right answer the reasoning does not pin down; nothing for
a wrong one). ACRE adds a Video-R1 format reward; combine with a ``format.*`` reward for
that. The reference is read as ``choice.answer`` reads it (a letter, or a dict with
``answer`` and optional ``options``).

Known failure modes and how it is gamed: reasoning that names a letter ("so B") gets
penalised unfairly after the shuffle, as the paper notes; reasoning that restates the
option's text does not. With ``alpha2 > alpha3`` a policy is paid for consistently wrong
answers. Without the second pass in ``meta`` the item is an error, not a zero.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import Field

from rewardsmith.core import ItemReward, Paper, Params, Sample, Score, register
from rewardsmith.verifiable.answers import extract_answer
from rewardsmith.verifiable.choice import ChoiceAnswer, ChoiceParams, read_letters
from rewardsmith.verifiable.qa import squad_normalize as normalize_text

__all__ = ["PERMUTATION_KEY", "SECOND_KEY", "AcreParams", "shuffled_reprompt"]

ACRE = Paper(
    "Answer-Consistent Chain-of-Thought Reinforcement Learning for Multi-modal Large "
    "Language Models",
    "2510.10104",
)
SECOND_KEY = "acre_second"
PERMUTATION_KEY = "acre_permutation"
_LETTERS = "ABCDEFGHIJ"


def shuffled_reprompt(
    question: str,
    options: Sequence[str],
    seed: int,
    *,
    reasoning: str | None = None,
    letters: str = _LETTERS,
) -> tuple[str, list[int]]:
    """The option-shuffled re-prompt and its permutation.

    Args:
        question: the question text, without its options.
        options: the option texts in their original order.
        seed: seeds the shuffle (same seed, same order).
        reasoning: the first pass's chain of thought, to show again unchanged.
        letters: the option letters.

    Returns:
        ``(prompt, perm)``, where ``perm[j]`` is the original index of the option shown
        under ``letters[j]``.

    Example:
        >>> shuffled_reprompt("2 + 2?", ["3", "4"], seed=0)[1]
        [1, 0]
    """
    if len(options) > len(letters):
        raise ValueError(f"{len(options)} options but only {len(letters)} letters")
    perm = list(range(len(options)))
    rng = random.Random(seed)
    for _ in range(16):
        rng.shuffle(perm)
        if len(perm) < 2 or perm != sorted(perm):
            break
    else:  # astronomically unlikely except for 2 options; rotate by one
        perm = perm[1:] + perm[:1]
    lines = [question.rstrip(), ""]
    lines += [f"{letters[j]}. {options[i]}" for j, i in enumerate(perm)]
    if reasoning is not None:
        lines += ["", f"<think>{reasoning}</think>"]
    lines += ["", "Answer with the letter of the correct option inside <answer></answer>."]
    return "\n".join(lines), perm


class AcreParams(Params):
    consistent_correct: float = 1.0
    alpha1: float = 0.5
    """Right first answer, different answer after the shuffle (our default)."""
    alpha2: float = 0.0
    """Same wrong answer both times (our default)."""
    alpha3: float = 0.0
    """Wrong first answer, different answer after the shuffle (our default)."""
    letters: str = Field(_LETTERS, min_length=2, pattern=r"^[A-Z]+$")


def _letter(text: str, letters: str, options: Mapping[str, str]) -> tuple[str | None, bool]:
    """The one option an answer names, and whether it named it by its text (which names
    the same option in any order) rather than by its letter."""
    found = extract_answer(text).text
    if found is None and len(text.strip()) <= 4:  # a bare "B" or "(B)"
        found = text
    named = read_letters(found, letters) if found else []
    if found is None and options:  # a bare "Paris"
        found = text
    if not named and found and options:  # "Paris": the option's own text
        said = normalize_text(found)
        by_text = [k for k, v in options.items() if normalize_text(v) == said]
        return (by_text[0], True) if len(by_text) == 1 else (None, False)
    return (named[0], False) if len(named) == 1 else (None, False)


def _permutation(raw: Any, letters: str) -> list[int]:
    if (
        not isinstance(raw, list | tuple)
        or not all(isinstance(i, int) and not isinstance(i, bool) for i in raw)
        or sorted(raw) != list(range(len(raw)))
        or len(raw) > len(letters)
    ):
        raise ValueError(f"meta[{PERMUTATION_KEY!r}] is not a permutation: {raw!r:.80}")
    return list(raw)


@register(
    paper=ACRE,
    summary="1 if the answer is right and survives an option shuffle; alpha1-3 otherwise",
)
class AcreConsistency(ItemReward):
    name = "acre.consistency"

    def __init__(self, params: AcreParams) -> None:
        self.params = params
        self._choice = ChoiceAnswer(ChoiceParams(letters=params.letters))

    @property
    def range(self) -> tuple[float, float]:
        p = self.params
        values = (p.consistent_correct, p.alpha1, p.alpha2, p.alpha3)
        return (min(values), max(values))

    def part_names(self) -> list[str]:
        return ["correct", "consistent"]

    def score_one(self, sample: Sample) -> Score:
        letters = self.params.letters
        right, options = self._choice.reference(sample.reference)
        meta: Mapping[str, Any] = sample.meta or {}
        second_text = meta.get(SECOND_KEY)
        if not isinstance(second_text, str):
            raise ValueError(f"meta[{SECOND_KEY!r}] (the second pass's answer) is missing")
        perm = _permutation(meta.get(PERMUTATION_KEY), letters)
        first, _ = _letter(sample.text, letters, options)
        shown, by_text = _letter(second_text, letters, options)
        second = None
        if shown is not None and by_text:  # the text names the original option directly
            second = shown
        elif shown is not None and letters.index(shown) < len(perm):
            second = letters[perm[letters.index(shown)]]
        correct = first is not None and first == right
        consistent = first is not None and first == second
        p = self.params
        if correct:
            value = p.consistent_correct if consistent else p.alpha1
        else:
            value = p.alpha2 if consistent else p.alpha3
        info = {"first": first, "second_shown": shown, "second": second}
        return Score.ok(value, info, correct=float(correct), consistent=float(consistent))
