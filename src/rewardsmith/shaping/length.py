"""Length terms: rewards that depend on how long the completion is.

What they check:

- ``length.overlong``: DAPO's soft overlong punishment. With ``L`` the completion's length
  in tokens, ``L_max = max_tokens`` and ``L_cache = cache_tokens``::

      0                                  if L <= L_max - L_cache
      ((L_max - L_cache) - L) / L_cache  if L_max - L_cache < L <= L_max
      -1                                 if L > L_max

  It is added to the task reward (``math.answer + length.overlong``). Range [-1, 0].
- ``length.cosine``: the cosine length scaling of Yeo et al.: for ``L <= max_tokens``,
  ``long_value + 0.5 * (short_value - long_value) * (1 + cos(pi * L / max_tokens))``,
  which is ``short_value`` at ``L = 0`` and ``long_value`` at ``L = max_tokens``; past the
  limit, ``exceed_value``. Range: the smallest and largest of the three values.

  In the paper the values depend on correctness: (short, long) = (2, 1) for a correct
  answer, so shorter right answers earn more; (-10, 0) for a wrong one, so a model that
  is wrong is pushed to think longer; and -10 past the limit. That split is not hidden in
  this reward: compose it in a spec with a gate on the correctness reward, for example
  ``gate(if: math.answer, then: length.cosine(short_value=2, long_value=1,
  exceed_value=-10), otherwise: length.cosine(short_value=-10, long_value=0,
  exceed_value=-10))``.
- ``length.group_relative``: Kimi k1.5's group-relative length reward: how long each
  rollout is compared with the other rollouts of its prompt (``Sample.group``). With
  ``len_i`` the rollout's length and ``min_len``/``max_len`` the shortest and longest in
  its group::

      λ_i = 0.5 − (len_i − min_len) / (max_len − min_len)
      reward_i = λ_i            if the answer is correct
                 min(0, λ_i)    if it is wrong

  So among correct answers the shortest earns +0.5 and the longest −0.5; a wrong answer
  is never rewarded for being short, only penalised for being long. Range [−0.5, 0.5].
  When every rollout of a group has the same length (or the group has one rollout) λ is
  undefined in the paper; here it is 0.0 for all of them. ``info`` also holds ``lambda``.

  Correctness: ``Sample.meta["correct"]``, a bool, set by the trainer or by a previous
  scoring pass. This keeps the reward one group pass with no hidden checker; for
  correctness from a reward in the same spec, score that reward first and put its
  verdict in ``meta``. An item without a bool ``correct`` gets an error (value None), but
  its length still counts towards its group's min and max.

  The paper adds this term to the task reward and, because it slows training early on,
  warms it up: no length term at first, then a constant weight for the rest of training.
  Compose that as a ``schedule`` over it (the switch step is yours to choose)::

      sum:
        - {use: math.answer}
        - schedule:
            reward: {use: length.group_relative}
            weight: {kind: piecewise, boundaries: [200], values: [0.0, 1.0]}

Length: the number of token ids in ``Sample.tokens`` when the trainer passed them (they
should be the completion's tokens only), else an estimate of ``ceil(len(text) / 4)``
characters per token. ``info["length"]`` holds L and ``info["length_source"]`` says which
(``"tokens"`` or ``"estimate"``). These rewards never parse the text, so they have no
input-size cap: a huge completion gets its real length term, not a floor.

Papers: DAPO: An Open-Source LLM Reinforcement Learning System at Scale (arXiv
2503.14476); Demystifying Long Chain-of-Thought Reasoning in LLMs (Yeo et al., arXiv
2502.03373); Kimi k1.5: Scaling Reinforcement Learning with LLMs (arXiv 2501.12599).

Known failure modes and how they are gamed: the character estimate is rough (code and
non-English text have fewer characters per token), so pass token ids when the limits
matter. For a chat completion only the last assistant message is measured. A length term
alone is gamed by stopping early: the overlong term is 0 for any short completion, and
cosine with ``short_value > long_value`` pays most for an empty one. Use them next to a
correctness reward, never alone. ``length.group_relative`` is relative, so a group of
uniformly long answers still hands +0.5 to its shortest; it is gamed by cutting
reasoning short whenever the answer is still right, which is the intent, and can cost
accuracy on hard prompts. Mixed length sources in one group (some rollouts with token
ids, some estimated) compare unlike numbers: pass token ids for all or none.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from pydantic import Field, ValidationInfo, field_validator

from rewardsmith.core import (
    GroupReward,
    ItemError,
    ItemReward,
    NoParams,
    Paper,
    Params,
    Sample,
    Score,
    Status,
    register,
)

__all__ = [
    "DAPO",
    "KIMI",
    "YEO",
    "Cosine",
    "CosineParams",
    "GroupRelativeLength",
    "Overlong",
    "OverlongParams",
    "completion_length",
    "cosine_value",
    "length_lambdas",
    "overlong_value",
]

DAPO = Paper("DAPO: An Open-Source LLM Reinforcement Learning System at Scale", "2503.14476")
YEO = Paper("Demystifying Long Chain-of-Thought Reasoning in LLMs", "2502.03373")
KIMI = Paper("Kimi k1.5: Scaling Reinforcement Learning with LLMs", "2501.12599")

CHARS_PER_TOKEN = 4


def completion_length(sample: Sample) -> tuple[int, str]:
    """The completion's length in tokens and where it came from (``tokens`` or ``estimate``)."""
    if sample.tokens is not None and len(sample.tokens.ids) > 0:
        return len(sample.tokens.ids), "tokens"
    return -(-len(sample.text) // CHARS_PER_TOKEN), "estimate"


def overlong_value(length: int, max_tokens: int, cache_tokens: int) -> float:
    """DAPO's soft overlong punishment for a completion of ``length`` tokens."""
    soft = max_tokens - cache_tokens
    if length <= soft:
        return 0.0
    if length > max_tokens:
        return -1.0
    return (soft - length) / cache_tokens


def cosine_value(length: int, max_tokens: int, short: float, long: float, exceed: float) -> float:
    """Yeo et al.'s cosine schedule from ``short`` at length 0 to ``long`` at ``max_tokens``."""
    if length > max_tokens:
        return exceed
    v = long + 0.5 * (short - long) * (1.0 + math.cos(math.pi * length / max_tokens))
    # rounding can step a hair past an end value; the declared range must hold exactly
    return min(max(v, min(short, long)), max(short, long))


class _LengthReward(ItemReward):
    max_chars = None  # measuring length parses nothing, so no size cap

    def score_one(self, sample: Sample) -> Score:
        length, source = completion_length(sample)
        return Score(self.value(length), info={"length": length, "length_source": source})

    def value(self, length: int) -> float:
        raise NotImplementedError


class OverlongParams(Params):
    max_tokens: int = Field(default=20480, gt=0)
    """L_max: past it the punishment is -1."""
    cache_tokens: int = Field(default=4096, gt=0)
    """L_cache: the width of the linear ramp before L_max."""

    @field_validator("cache_tokens")
    @classmethod
    def _below_max(cls, v: int, info: ValidationInfo) -> int:
        top = info.data.get("max_tokens")
        if top is not None and v >= top:
            raise ValueError(f"cache_tokens must be less than max_tokens ({top})")
        return v


@register(
    paper=DAPO,
    summary="DAPO soft overlong punishment: 0, a linear ramp to -1 over the cache, then -1",
)
class Overlong(_LengthReward):
    name = "length.overlong"

    def __init__(self, params: OverlongParams) -> None:
        self.params = params

    @property
    def range(self) -> tuple[float, float]:
        return (-1.0, 0.0)

    def value(self, length: int) -> float:
        return overlong_value(length, self.params.max_tokens, self.params.cache_tokens)


class CosineParams(Params):
    max_tokens: int = Field(gt=0)
    """The length at which the value reaches ``long_value``; past it, ``exceed_value``."""
    short_value: float = Field(default=1.0, allow_inf_nan=False)
    """The value at length 0."""
    long_value: float = Field(default=0.0, allow_inf_nan=False)
    """The value at ``max_tokens``."""
    exceed_value: float = Field(default=0.0, allow_inf_nan=False)
    """The value past ``max_tokens``."""


@register(
    paper=YEO,
    summary="cosine length scaling from short_value at 0 tokens to long_value at max_tokens",
)
class Cosine(_LengthReward):
    name = "length.cosine"

    def __init__(self, params: CosineParams) -> None:
        self.params = params

    @property
    def range(self) -> tuple[float, float]:
        p = self.params
        ends = (p.short_value, p.long_value, p.exceed_value)
        return (min(ends), max(ends))

    def value(self, length: int) -> float:
        p = self.params
        return cosine_value(length, p.max_tokens, p.short_value, p.long_value, p.exceed_value)


META_KEY = "correct"


def length_lambdas(lengths: Sequence[int]) -> list[float]:
    """``λ = 0.5 − (len − min) / (max − min)`` per rollout; all 0.0 when min == max."""
    lo, hi = min(lengths), max(lengths)
    if lo == hi:
        return [0.0] * len(lengths)
    return [0.5 - (n - lo) / (hi - lo) for n in lengths]


@register(
    paper=KIMI,
    summary="Kimi k1.5 length reward: 0.5 - (len - min)/(max - min) in the group; wrong answers min(0, .)",
)
class GroupRelativeLength(GroupReward):
    name = "length.group_relative"

    def __init__(self, params: NoParams | None = None) -> None:
        self.params = params

    @property
    def range(self) -> tuple[float, float]:
        return (-0.5, 0.5)

    def score_group(self, samples: Sequence[Sample]) -> list[Score]:
        measured = [completion_length(s) for s in samples]
        lambdas = length_lambdas([n for n, _ in measured])
        out = []
        for s, (n, source), lam in zip(samples, measured, lambdas, strict=True):
            info = {"length": n, "length_source": source, "lambda": lam}
            correct = s.meta.get(META_KEY)
            if not isinstance(correct, bool):
                message = f"needs Sample.meta[{META_KEY!r}] as a bool, got {correct!r:.40}"
                out.append(Score(None, Status.ERROR, {}, info, ItemError("InputError", message)))
                continue
            out.append(Score(lam if correct else min(0.0, lam), info=info))
        return out

    def __repr__(self) -> str:
        return "GroupRelativeLength()"
