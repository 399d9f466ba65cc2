"""The reasoning-pattern reward (RPR): ``process.reasoning_pattern``.

What it checks: whether the thinking text uses phrases of deliberate reasoning ("wait",
"let me check", "therefore", ...). The answer is not checked. On the lowercased thinking
text, with the 40 preset phrases of the released code (``PHRASES``)::

    paper (default):  rpr = min(1, (number of occurrences of any phrase) / n),  n = 40
    code:             rpr = min(1, (number of phrases present at least once) / 20)
                            − (count of "user: ")

then, in both, the repetition guard of the code: minus the share of distinct word
``ngram``-grams (``ngram = 20``) that occur more than once among all of them, and the
result is clamped to ≥ 0. Range [0, 1]. ``parts`` hold ``patterns`` (before the guard)
and ``repetition``.

Thinking text: between ``<think>`` and the next ``</think>`` (or the end); without
``<think>``, everything before ``</think>`` (templates that open the tag in the prompt);
with neither tag, the whole completion (as the code, which scores the full response).

Calibrating a reward model (open-ended tasks): with ``rm_key`` set, the value is::

    r = min(1, r_RM + α · rpr)   if r_RM < τ
        r_RM                    otherwise

with ``r_RM`` from ``Sample.meta[rm_key]`` (a number in [0, 1]; the RM scores only the
``<answer>`` text), ``τ = 0.5`` and ``α = 0.1``, the paper's values. ``parts`` add ``rm``
and ``rpr``.

In a spec::

    use: process.reasoning_pattern
    with: {rm_key: rm_score}

Paper: The Climb Carves Wisdom Deeper Than the Summit: On the Noisy Rewards in Learning
to Reason (Lv et al., arXiv 2505.22653). Code: ``trestad/Noisy-Rewards-in-Learning-to-
Reason``, ``verl/verl/utils/reward_score/math_score.py::think_reward``.

Known issues: the paper's text says each occurrence earns 1/n with n = 40 and describes
the repetition penalty without a formula; the code counts presence and divides by 20.
The paper's counting is the default, the code's is ``variant: code``; the guard is the
code's in both. Phrases are matched as substrings, as in the code ("thus" inside
"enthusiast" counts). How it can be gamed: by sprinkling phrases; the guard only catches
verbatim 20-word repeats. RPR alone peaks early and then collapses into overthinking and
truncation: use it as an auxiliary term or as the calibration above, never alone.
"""

from __future__ import annotations

from collections import Counter
from typing import Literal

from pydantic import Field

from rewardsmith.core import ItemReward, Paper, Params, Sample, Score, register
from rewardsmith.shaping._meta import meta_number

__all__ = [
    "PHRASES",
    "RPR",
    "ReasoningPattern",
    "ReasoningPatternParams",
    "pattern_score",
    "repetition_ratio",
    "think_text",
]

RPR = Paper(
    "The Climb Carves Wisdom Deeper Than the Summit: On the Noisy Rewards in Learning to Reason",
    "2505.22653",
)

PHRASES: tuple[str, ...] = (
    "i need to",
    "we need to",
    "wait",
    "alternatively",
    "let me check",
    "let me see",
    "let's focus on",
    "we know that",
    "we can observe ",
    "we can see ",
    "let me try",
    "let's try",
    "let us try",
    "first, ",
    "firstly, ",
    "next, ",
    "finally, ",
    "let us first",
    "let's first",
    "let me first",
    "try again",
    "still not",
    "not working",
    "not correct",
    "does not work",
    "doesn't work",
    "makes sence",
    "since we ",
    "because we ",
    "consequently",
    "as a result",
    "thus",
    "therefore",
    "hence",
    "so that",
    "thereby",
    "if we",
    "given there ",
    "for instance ",
    "for example ",
)  # verbatim from the code, typo "makes sence" included
Variant = Literal["paper", "code"]


def think_text(text: str) -> str:
    """The thinking part of a completion (see the module docstring)."""
    start = text.find("<think>")
    if start < 0:
        end = text.find("</think>")
        return text if end < 0 else text[:end]
    body = text[start + len("<think>") :]
    end = body.find("</think>")
    return body if end < 0 else body[:end]


def repetition_ratio(text: str, n: int = 20) -> float:
    """Distinct word n-grams seen more than once, over all word n-grams (0 if none)."""
    words = text.split()
    grams = [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]
    if not grams:
        return 0.0
    return sum(1 for c in Counter(grams).values() if c > 1) / len(grams)


def pattern_score(think: str, variant: Variant = "paper") -> float:
    """The phrase term before the repetition guard, on the lowercased thinking text."""
    low = think.lower()
    if variant == "paper":
        return min(1.0, sum(low.count(p) for p in PHRASES) / len(PHRASES))
    return min(1.0, sum(p in low for p in PHRASES) / 20) - low.count("user: ")


class ReasoningPatternParams(Params):
    variant: Variant = "paper"
    """``paper``: each occurrence earns 1/40; ``code``: each phrase present earns 1/20."""
    ngram: int = Field(default=20, gt=0)
    """The word n-gram length of the repetition guard."""
    rm_key: str | None = None
    """If set, calibrate the reward model score in ``meta[rm_key]`` with RPR."""
    tau: float = Field(default=0.5, allow_inf_nan=False)
    """τ: only RM scores below it are raised."""
    alpha: float = Field(default=0.1, ge=0.0, allow_inf_nan=False)
    """α: the weight of RPR added to a low RM score."""


@register(
    paper=RPR,
    summary="reasoning-phrase count in <think> / 40, clipped to 1, minus 20-gram repetition; optional RM calibration",
)
class ReasoningPattern(ItemReward):
    name = "process.reasoning_pattern"

    def __init__(self, params: ReasoningPatternParams) -> None:
        self.params = params

    def part_names(self) -> list[str]:
        rm = ["rm", "rpr"] if self.params.rm_key is not None else []
        return [*rm, "patterns", "repetition"]

    def score_one(self, sample: Sample) -> Score:
        p = self.params
        rm = meta_number(sample, p.rm_key) if p.rm_key is not None else None
        think = think_text(sample.text)
        patterns = pattern_score(think, p.variant)
        repetition = repetition_ratio(think.lower(), p.ngram)
        rpr = max(0.0, patterns - repetition)
        if rm is None:
            return Score.ok(rpr, patterns=patterns, repetition=repetition)
        value = min(1.0, rm + p.alpha * rpr) if rm < p.tau else rm
        return Score.ok(value, rm=rm, rpr=rpr, patterns=patterns, repetition=repetition)
