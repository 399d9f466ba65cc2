"""``choice.answer``: is the chosen option of a multiple-choice question the right one?

What it checks: the final answer is found as ``math.answer`` finds it (the last
``<answer>`` block, ``\\boxed{}``, "the answer is", ``####``, "Answer:"), then read as an
option: a letter (``B``, ``(B)``, ``B.``, ``B)``, ``\\text{(B)}``, ``option B``, with or
without the option's text after it) or, when the reference lists the options, the text of
one option (compared after SQuAD normalisation). 1 if it names the right option, else 0.
Range [0, 1].

The reference is a letter (``"B"``), or a dict with ``answer`` (a letter or the right
option's text) and optionally ``options`` (a list, lettered A, B, ... in order, or a
mapping from letter to text). An answer that names several options ("B or C", "(B), (C)")
scores 0 in strict mode (the default): listing options is the multiple-choice form of
answer spraying.

Paper: the multiple-choice format of MMLU, "Measuring Massive Multitask Language
Understanding" (Hendrycks et al., arXiv 2009.03300).

Known failure modes and how it is gamed: with four options a guess earns 0.25 on average,
so the reward is noisy for small groups; pair it with a format reward. An answer such as
"A" meant as an article ("A cat") is read as option A when it stands alone in the answer
slot. Option texts are compared exactly after normalisation: a paraphrase of the right
option scores 0. Without ``options`` in the reference, only letters can be read.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import Field

from rewardsmith.core import ItemReward, Paper, Params, Sample, Score, register
from rewardsmith.verifiable.answers import extract_answer
from rewardsmith.verifiable.qa import squad_normalize as normalize_text

__all__ = ["ChoiceParams", "read_letters"]

MMLU = Paper("Measuring Massive Multitask Language Understanding", "2009.03300")

_TEXT_CMD = re.compile(r"\\(?:text|textbf|mathrm)\s*\{([^{}]*)\}")
# "(b)" or "B", "B)", "B." at the start, after an optional "option"/"choice"
_LEAD = re.compile(
    r"^\s*(?:(?i:option|choice)\s+)?(?:\(\s*([A-Za-z])\s*\)|([A-Z])(?:[).:]|(?=\s)|$))"
)
_ALL = re.compile(r"(?:^|[\s(,;/])\(?([A-Z])\)?(?=$|[\s).,;/:])")


# "I think", "A cat": a bare I or A before a lower-case word is English, not an option
_WORD_AFTER = re.compile(r"\s+[a-z]")


def _english(text: str, m: re.Match[str], letter: str) -> bool:
    return letter in "AI" and "(" not in m.group(0) and _WORD_AFTER.match(text, m.end()) is not None


def read_letters(answer: str, letters: str) -> list[str]:
    """The option letters an answer names, in order, without repeats. A bare ``I`` or
    ``A`` followed by a lower-case word is the pronoun or the article, not an option."""
    text = _TEXT_CMD.sub(r"\1", answer).replace("$", "").strip()
    lead = _LEAD.match(text)
    named: list[str] = []
    first = (lead.group(1) or lead.group(2)).upper() if lead else ""
    if lead and _english(text, lead, first):
        lead, first = None, ""
    if lead and first in letters:
        named.append(first)
        text = text[lead.end() :]
        if not re.search(r"\bor\b|,|;|/|\band\b", text):
            return named  # "(B) 42 apples": the rest is the option's text
    for m in _ALL.finditer(text):
        if m.group(1) in letters and m.group(1) not in named and not _english(text, m, m.group(1)):
            named.append(m.group(1))
    return named


class ChoiceParams(Params):
    letters: str = Field("ABCDEFGHIJ", min_length=2, pattern=r"^[A-Z]+$")
    """The option letters, in order."""
    strict: bool = True
    """Score 0 when the answer names several options."""


@register(
    paper=MMLU,
    summary="1 if the final answer names the right option, by letter or by the option's text",
)
class ChoiceAnswer(ItemReward):
    name = "choice.answer"

    def __init__(self, params: ChoiceParams) -> None:
        self.params = params

    def score_one(self, sample: Sample) -> Score:
        right, options = self.reference(sample.reference)
        found = extract_answer(sample.text)
        if found.text is None or not found.text.strip():
            return Score(0.0, info={"reason": "no final answer found"})
        info: dict[str, Any] = {"extracted": found.text[:200]}
        named = read_letters(found.text, self.params.letters)
        if not named and options:
            text = normalize_text(found.text)
            named = [k for k, v in options.items() if normalize_text(v) == text]
        if not named:
            return Score(0.0, info={**info, "reason": "no option named"})
        if len(named) > 1 and self.params.strict:
            return Score(0.0, info={**info, "reason": "several options", "named": named})
        return Score(float(named[-1] == right), info={**info, "named": named[-1]})

    def reference(self, reference: Any) -> tuple[str, dict[str, str]]:
        """The right option's letter and the options (letter to text) of a reference."""
        answer, options = reference, {}
        if isinstance(reference, Mapping):
            answer = reference.get("answer", reference.get("target"))
            raw = reference.get("options") or reference.get("choices") or {}
            if isinstance(raw, Mapping):
                options = {str(k).strip("() ").upper(): str(v) for k, v in raw.items()}
            elif isinstance(raw, list | tuple):
                options = dict(zip(self.params.letters, map(str, raw), strict=False))
        if not isinstance(answer, str) or not answer.strip():
            raise ValueError(f"reference has no answer: {reference!r:.80}")
        letters = read_letters(answer, self.params.letters)
        if len(letters) == 1:
            return letters[0], options
        matches = [k for k, v in options.items() if normalize_text(v) == normalize_text(answer)]
        if len(matches) == 1:
            return matches[0], options
        raise ValueError(f"reference answer is not one option: {answer!r:.80}")
