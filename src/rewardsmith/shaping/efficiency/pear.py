"""Phase Entropy Aware Reward (PEAR): ``efficiency.pear``.

What it checks: how uncertain the policy was while thinking compared with while
answering, from the per-token entropies ``H_t`` of the old policy at rollout time
(``Sample.tokens.entropies``, one per completion token). With ``k`` the token position
of ``</think>`` and ``T`` the number of tokens::

    H̄_think  = mean of H_t over t < k           (0 if empty)
    H̄_answer = mean of H_t over t > k           (0 if empty; ``</think>`` itself excluded)
    P(y)     = max(0, H̄_think − α · H̄_answer)
    r(y)     = min(1, s − P(y))   if the answer is correct
               r_fmt              otherwise

Defaults from the paper: ``α = 1``, ``s = 1.0``, ``r_fmt = 0.0``. With no ``</think>``,
``k = T`` and ``H̄_answer = 0``. Range ``(−∞, max(r_fmt, min(1, s))]``: entropies are
unbounded above in general (at most ``log |V|``), so the penalty is too. ``parts`` hold
``think_entropy``, ``answer_entropy`` and ``penalty`` (the guarded one when the guard is
on); ``info["think_end"]`` holds k.

How it can be gamed, and the guard. Taken literally, the formula pays for the answer's
entropy: ``P`` falls as ``H̄_answer`` rises, so a hedged or padded high-entropy answer
cancels the thinking penalty (1.0 for a hedged answer against −1.9 for a crisp one at
equal thinking, ``H̄_think = 3``), and an empty thinking phase (the reasoning moved after
``</think>``) always earns 1.0, since ``H̄_think = 0``. The guard ``answer_guard`` (on by
default) reads the paper's "allowing moderate exploration in the answer phase" as a
fixed allowance that hedging cannot raise. For ``α >= 0``::

    a*  = H̄_think / (1 + α)        (the answer entropy at which the paper's P equals it)
    P_g = max(0, H̄_think − α · a*) + max(0, H̄_answer − a*)  =  max(a*, H̄_answer)

The answer is credited as if its entropy were ``a*``, whatever it is, and entropy above
``a*`` is charged like thinking entropy. So ``r`` never rises with ``H̄_answer`` (a crisp
answer earns the most) nor with ``H̄_think`` (raising the thinking entropy to widen the
allowance does not pay either), and with no thinking ``a* = 0``: the answer's entropy is
charged in full. An answer whose entropy is exactly ``a*`` (half the thinking entropy at
``α = 1``) gets the paper's value; crisper answers get more than the paper gives them
(−0.5 instead of −1.9 above), hedged ones less (−2.5 instead of 1.0). With no answer
phase (no ``</think>``, or nothing after it) nothing is credited: ``P = H̄_think``, the
paper's value. For ``α < 0`` the paper's ``P = H̄_think + |α| · H̄_answer`` already
charges the answer, and the guard leaves it unchanged. ``answer_guard: false`` is the
paper's formula. ``tests/security/test_tools_advantages_hostile.py`` shows the attacks.

Where the inputs come from:

- correctness: ``Sample.meta[correct_key]`` (default ``"correct"``), a bool or 0/1;
- ``k``: there is no tokenizer here, so the position is found, in order, from
  ``Sample.meta[think_end_key]`` (default ``"think_end"``: the index of the ``</think>``
  token in ``tokens.entropies``, or None for "no ``</think>``"); else from the first
  ``think_end_id`` in ``Sample.tokens.ids`` when that parameter is set and ids are given
  (absent: ``k = T``); else, when the completion text has no ``</think>`` at all, ``k = T``.
  A text that has ``</think>`` but no way to find its token is an error, not a guess.

The advantage is plain GRPO over this reward (compose a ``shape`` with a group
normalisation, or leave it to the trainer).

Paper: PEAR: Phase Entropy Aware Reward for Efficient Reasoning (Huang, Lu, Zhang,
arXiv 2510.08026).

Known failure modes: the reward is non-stationary (entropy is measured under a policy
that keeps changing); it does not apply to models without explicit think tags
(everything is "thinking" then). Entropy is not length: low-entropy padding (repeating a
sentence) costs nothing here, so pair PEAR with a length term if that matters. Entropies
must be the completion's tokens only, aligned with ``tokens.ids``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from pydantic import Field

from rewardsmith.core import ItemReward, Paper, Params, Sample, Score, register
from rewardsmith.errors import InputError
from rewardsmith.shaping._meta import meta_correct

__all__ = ["PEAR", "Pear", "PearParams", "pear_penalty", "phase_entropies"]

PEAR = Paper("PEAR: Phase Entropy Aware Reward for Efficient Reasoning", "2510.08026")
THINK_END = "</think>"


def _mean(xs: Sequence[float]) -> float:
    return math.fsum(xs) / len(xs) if xs else 0.0


def phase_entropies(entropies: Sequence[float], k: int) -> tuple[float, float]:
    """Mean entropy before position ``k`` and after it (the token at ``k`` excluded)."""
    return _mean(entropies[:k]), _mean(entropies[k + 1 :])


def pear_penalty(think: float, answer: float, alpha: float = 1.0, guard: bool = False) -> float:
    """``P = max(0, H̄_think − α · H̄_answer)``, the paper's penalty.

    ``guard`` (for ``α >= 0``): ``max(H̄_think / (1 + α), H̄_answer)``, the paper's
    penalty with the answer credited at the fixed entropy ``H̄_think / (1 + α)`` and the
    answer's entropy above it charged.
    """
    if guard and alpha >= 0:
        return max(think / (1.0 + alpha), answer)
    return max(0.0, think - alpha * answer)


class PearParams(Params):
    alpha: float = Field(default=1.0, allow_inf_nan=False)
    """α, the weight of the answer-phase entropy (the paper's ablation: 1 is best)."""
    s: float = Field(default=1.0, allow_inf_nan=False)
    """The score of a correct answer before the penalty."""
    r_fmt: float = Field(default=0.0, allow_inf_nan=False)
    """The reward of a wrong answer (``format_score`` in the code)."""
    correct_key: str = "correct"
    """The ``meta`` key of the correctness verdict."""
    think_end_key: str = "think_end"
    """The ``meta`` key of the ``</think>`` token's index (None: no ``</think>``)."""
    think_end_id: int | None = None
    """The token id of ``</think>``, to find it in ``Sample.tokens.ids``."""
    answer_guard: bool = True
    """Guard: ``P = max(H̄_think / (1 + α), H̄_answer)``, so that neither a hedged answer
    nor an empty thinking phase pays; False is the paper's formula."""


@register(
    paper=PEAR,
    summary="min(1, s - max(0, H_think - alpha*H_answer)) from tokens.entropies if correct, else r_fmt",
)
class Pear(ItemReward):
    name = "efficiency.pear"
    max_chars = None  # the text is only searched for one tag

    def __init__(self, params: PearParams) -> None:
        self.params = params

    @property
    def range(self) -> tuple[float, float]:
        p = self.params
        return (-math.inf, max(p.r_fmt, min(1.0, p.s)))

    def part_names(self) -> list[str]:
        return ["think_entropy", "answer_entropy", "penalty", "correct"]

    def score_one(self, sample: Sample) -> Score:
        p = self.params
        entropies = _entropies(sample)
        correct = meta_correct(sample, p.correct_key)
        k = self.think_end(sample, len(entropies))
        think, answer = phase_entropies(entropies, k)
        has_answer = k + 1 < len(entropies)  # no answer phase: nothing to credit
        penalty = pear_penalty(think, answer, p.alpha, p.answer_guard and has_answer)
        value = min(1.0, p.s - penalty) if correct else p.r_fmt
        return Score.ok(
            value,
            {"think_end": k},
            think_entropy=think,
            answer_entropy=answer,
            penalty=penalty,
            correct=float(correct),
        )

    def think_end(self, sample: Sample, n: int) -> int:
        """The index of ``</think>`` among the ``n`` tokens, or ``n`` when there is none."""
        key = self.params.think_end_key
        if key in sample.meta:
            k: Any = sample.meta[key]
            if k is None:
                return n
            if isinstance(k, bool) or not isinstance(k, int) or not 0 <= k < n:
                raise InputError(f"meta[{key!r}] must be a token index in [0, {n}), got {k!r:.40}")
            return k
        tid = self.params.think_end_id
        ids = sample.tokens.ids if sample.tokens is not None else ()
        if tid is not None and len(ids) > 0:
            if len(ids) != n:
                raise InputError(f"tokens.ids has {len(ids)} tokens but entropies has {n}")
            return next((i for i, t in enumerate(ids) if t == tid), n)
        if THINK_END not in sample.text:
            return n
        raise InputError(
            f"the completion has {THINK_END} but its token position is unknown: pass "
            f"meta[{key!r}] or tokens.ids with the think_end_id parameter"
        )


def _entropies(sample: Sample) -> list[float]:
    raw = sample.tokens.entropies if sample.tokens is not None else None
    if raw is None or len(raw) == 0:
        raise InputError("needs Sample.tokens.entropies, one entropy per completion token")
    out = []
    for i, h in enumerate(raw):
        if isinstance(h, bool) or not isinstance(h, int | float) or not 0.0 <= h < math.inf:
            raise InputError(f"tokens.entropies[{i}] must be a finite number >= 0, got {h!r:.40}")
        out.append(float(h))
    return out
