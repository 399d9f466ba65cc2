"""Format rewards: is the completion laid out the way the prompt asked?

What they check:

- ``format.think_answer``: 1 if the completion is exactly optional whitespace,
  ``<think>...</think>``, optional whitespace, ``<answer>...</answer>``, optional
  whitespace: each of the four tags exactly once, in that order, nothing outside them, and
  (by default) a non-blank answer. Else 0, with what failed in ``info["reason"]``
  (``"missing </think>"``, ``"2 <answer> tags"``, ``"text after </answer>"``, ...). With
  ``allow_prefix_think`` a completion may also lack the opening ``<think>``, because
  DeepSeek-R1-style chat templates end the prompt with it; anything before ``</think>``
  then counts as the thinking.
- ``format.regex``: 1 if a user pattern matches the completion (``fullmatch`` by default,
  or ``search``), else 0. The pattern runs in the third-party ``regex`` module under a
  timeout, so a pattern that backtracks catastrophically on some completion gives
  ``status="timeout"`` with value 0 instead of hanging the trainer. A pattern that does not
  compile is a ConfigError at build time, naming the ``pattern`` key.

Range: [0, 1] for both.

Papers: DeepSeek-R1 (DeepSeek-AI, arXiv 2501.12948) for the think/answer format reward;
the regex reward is the generic format reward found in TRL's examples.

Known failure modes and how they are gamed: a format reward says nothing about content.
``format.think_answer`` accepts an empty ``<think></think>`` (R1's own regex does too), so
a policy trained on it alone learns to skip reasoning; pair it with a correctness reward
(usually as the condition of a ``gate``). Tag names are matched exactly and
case-sensitively; a tag written with attributes or spaces (``<answer >``) is not a tag. A
model that mentions ``<answer>`` inside its thinking fails the "exactly once" rule, which
is deliberate: otherwise the scorer and the model disagree on where the answer is.
A regex pattern's timeout is wall-clock, so a pattern near its time limit can time out on
a loaded machine and not on an idle one; keep patterns simple.
"""

from __future__ import annotations

import unicodedata
from typing import Literal

import regex
from pydantic import Field, field_validator, model_validator

from rewardsmith.core import ItemReward, Paper, Params, Sample, Score, register

__all__ = ["RegexParams", "ThinkAnswerParams", "check_think_answer"]

DEEPSEEK_R1 = Paper(
    "DeepSeek-R1: Incentivizing Reasoning Capability in LLMs via Reinforcement Learning",
    "2501.12948",
)
GENERIC_REGEX = Paper("Generic regex format reward (as in TRL's format rewards)")

_TAG_NAME = regex.compile(r"[A-Za-z_][A-Za-z0-9_.:-]*")


class ThinkAnswerParams(Params):
    think_tag: str = "think"
    """Name of the reasoning tag, without brackets."""
    answer_tag: str = "answer"
    """Name of the answer tag, without brackets."""
    allow_prefix_think: bool = False
    """Also accept a completion without the opening think tag (the template printed it)."""
    require_nonempty_answer: bool = True
    """An answer block holding only whitespace fails."""

    @field_validator("think_tag", "answer_tag")
    @classmethod
    def _tag_name(cls, v: str) -> str:
        if not _TAG_NAME.fullmatch(v):
            raise ValueError("a tag name is letters, digits, '_', '.', ':' or '-', without <>")
        return v

    @model_validator(mode="after")
    def _distinct(self) -> ThinkAnswerParams:
        if self.think_tag == self.answer_tag:
            raise ValueError("think_tag and answer_tag must differ")
        return self


# zero-width and other invisible characters (Unicode's Cf format class, and the blank
# Hangul filler) that render as nothing: an answer of only these is empty
_INVISIBLE = frozenset("\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e\u3164\u115f\u1160")


def _visible(text: str) -> bool:
    """Whether ``text`` shows anything: not only white space and invisible characters."""
    return any(
        not c.isspace() and c not in _INVISIBLE and unicodedata.category(c) != "Cf" for c in text
    )


def check_think_answer(text: str, params: ThinkAnswerParams) -> str | None:
    """Why ``text`` breaks the think/answer format, or None when it keeps it.

    Every step is a substring count or search, so the check is linear in the text.

    Example:
        >>> check_think_answer("<think>hm</think><answer>4</answer>", ThinkAnswerParams())
        >>> check_think_answer("<think>hm</think>4", ThinkAnswerParams())
        'missing <answer>'
    """
    t_open, t_close = f"<{params.think_tag}>", f"</{params.think_tag}>"
    a_open, a_close = f"<{params.answer_tag}>", f"</{params.answer_tag}>"
    for tag in (t_open, t_close, a_open, a_close):
        n = text.count(tag)
        if n == 0 and not (tag == t_open and params.allow_prefix_think):
            return f"missing {tag}"
        if n > 1:
            return f"{n} {tag} tags"
    has_open = t_open in text
    start = text.find(t_open) if has_open else 0
    ends = (text.find(t_close), text.find(a_open), text.find(a_close))
    lo = start if has_open else -1  # a prefixed completion may open with the close tag
    if not lo < ends[0] < ends[1] < ends[2]:
        return "tags out of order"
    if has_open and text[:start].strip():
        return f"text before {t_open}"
    if text[ends[0] + len(t_close) : ends[1]].strip():
        return f"text between {t_close} and {a_open}"
    if text[ends[2] + len(a_close) :].strip():
        return f"text after {a_close}"
    if params.require_nonempty_answer and not _visible(text[ends[1] + len(a_open) : ends[2]]):
        return "empty answer"
    return None


@register(
    paper=DEEPSEEK_R1,
    summary="1 if the completion is exactly <think>...</think><answer>...</answer>",
)
class ThinkAnswer(ItemReward):
    name = "format.think_answer"

    def __init__(self, params: ThinkAnswerParams) -> None:
        self.params = params

    def score_one(self, sample: Sample) -> Score:
        reason = check_think_answer(sample.text, self.params)
        return Score(1.0) if reason is None else Score(0.0, info={"reason": reason})


_NO_MATCH = {
    "fullmatch": "pattern does not match the whole completion",
    "search": "pattern found nowhere in the completion",
}
_FLAGS = {"DOTALL": regex.DOTALL, "IGNORECASE": regex.IGNORECASE, "MULTILINE": regex.MULTILINE}


class RegexParams(Params):
    pattern: str
    """The pattern, in the syntax of the ``regex`` module (a superset of ``re``)."""
    mode: Literal["search", "fullmatch"] = "fullmatch"
    """``fullmatch``: the whole completion must match; ``search``: any part may."""
    flags: list[Literal["DOTALL", "IGNORECASE", "MULTILINE"]] = Field(default=["DOTALL"])
    """Regex flags by name."""
    timeout_s: float = Field(default=1.0, gt=0, le=60)
    """Wall-clock limit for one match; past it the item scores 0 with status timeout."""

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, v: str) -> str:
        try:
            regex.compile(v)
        except regex.error as exc:
            raise ValueError(f"invalid regex: {exc}") from None
        return v


@register(
    paper=GENERIC_REGEX,
    summary="1 if a user regex matches the completion (fullmatch or search), under a timeout",
)
class RegexFormat(ItemReward):
    name = "format.regex"

    def __init__(self, params: RegexParams) -> None:
        self.params = params
        flags = 0
        for f in params.flags:
            flags |= _FLAGS[f]
        self._pattern = regex.compile(params.pattern, flags)

    def score_one(self, sample: Sample) -> Score:
        p = self.params
        match = self._pattern.fullmatch if p.mode == "fullmatch" else self._pattern.search
        try:
            # concurrent=True releases the GIL: str is immutable, so this is safe
            found = match(sample.text, timeout=p.timeout_s, concurrent=True)
        except TimeoutError:
            return Score.timed_out(0.0, f"regex ran over {p.timeout_s}s")
        if found is None:
            return Score(0.0, info={"reason": _NO_MATCH[p.mode]})
        return Score(1.0)
