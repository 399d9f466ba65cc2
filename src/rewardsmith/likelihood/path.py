"""``likelihood.path_faithfulness``: how likely a gold reasoning chain's remainder is after
each prefix of the policy's reasoning (P2S: Probabilistic Process Supervision, arXiv
2601.20649, the Path Faithfulness Reward).

What it computes: the completion's reasoning is cut into n steps and a gold chain of
thought into M steps; after the rollout's first k steps, the scoring model reads the gold
steps that proportional progress leaves to go, and the step is paid their mean per-token
log-probability:

    PFR_k = (1/|g_{j_k:}|) * sum_t log p(g_t | q, z_{<=k}, g_{j_k..t-1}),  j_k = round(k*M/n)

A prefix is paid for making the rest of the gold reasoning likely. The reward is the mean
of PFR_k over the scored k (``aggregate``: ``mean``, ``last`` or ``min``); each PFR_k is in
``info["steps"]`` as ``{"k", "gold_from", "value"}`` (``gold_from`` is j_k, 0-based), so a
trainer can use the per-step values as a dense reward. The paper adds PFR to an outcome
reward (such as RLPR's probability reward, ``likelihood.reference_logprob`` with
``form: mean_probability, debias: true``) inside GRPO.

What the paper gives and what we chose: the catalog has the suffix likelihood of the gold
chain given each prefix; the normalisation, the step rule, the alignment, the aggregation
and the mixing weight were not found. These are ours:

- Normalisation: the per-token mean (a suffix's length shrinks with k; a sum would pay
  late steps for predicting less).
- Steps: the text split at ``step_sep`` (default a blank line). A step is a non-blank part
  with the separator (and any blank parts) that follow it; text before the first step
  joins it, so the steps join back into the text exactly and every prefix is a literal
  prefix of the completion. Blank parts are no steps.
- The reasoning: the completion up to its first ``answer_start`` (default ``<answer>``;
  "" for the whole completion), the whole completion when the marker is absent.
- Alignment: proportional progress, j_k = round(k*M/n) rounded half up. A k with j_k = M
  has nothing left to predict and is skipped, so k = n never counts; when every k is
  skipped (a one-step rollout, or a short one against a one-step gold chain), the last k
  is scored against the gold's last step, so every rollout with a step gets a value.
- The context after the rollout's last step gets ``step_sep`` when it does not already
  end with it (only k = n can lack it, and only in the fallback above).
- Cost: one scoring pair per k, all pairs of a batch in one backend call. With more than
  ``max_steps`` scorable k, ``max_steps`` of them are taken evenly spaced, the last
  scorable k always among them.
- The gold chain: ``Sample.reference`` as a dict with ``gold_cot`` (text), else
  ``Sample.meta["gold_cot"]``. Making it (the paper samples K candidates conditioned on
  the answer and keeps one that reaches it) is the caller's work.

Rendering: with ``chat`` the prompt is the user's turn and the rollout prefix an assistant
turn being continued (``assistant_prefix``); the gold suffix continues it. With
``chat=False``: prompt text + rollout prefix, then the suffix.

Range: (-inf, 0] (a mean of log-probabilities). A sample without a gold chain, without
reasoning, or whose gold chain is blank fails alone (status error, value None).

Failure modes (the catalog's pitfalls): the gold chain was written knowing the answer, so
it can hold shortcuts the policy is then pulled towards; suffix likelihood pays rollouts
that are stylistically close to the gold chain rather than ones that are merely correct
(another valid route scores low); the value depends on the gold chain's length and
wording, so compare it within a group (``transform.group_zscore``) and pair it with an
outcome reward. The mixing weight is not found; tune it.

How it can be gamed: the policy never sees the gold chain, so it cannot copy it. What it
controls is its prefix: generic steps that restate the question, or that list many
candidate moves, can make any suffix likely without committing to one; and a rollout
with few steps is scored at few points. A completion full of special-token strings
cannot open a fake turn (they are stripped from message contents). An overlong context is
cut from the left to ``max_length``, the gold suffix kept whole.

Example:
    >>> r = PathFaithfulness(PathFaithfulnessParams(model="path/to/policy"))  # doctest: +SKIP
    >>> r.score([Sample(prompt="2+3*4?",
    ...                 completion="3*4=12\\n\\n2+12=14\\n\\n<answer>14</answer>",
    ...                 reference={"gold_cot": "First 3*4=12.\\n\\nThen 2+12=14.\\n\\nSo 14."})
    ...         ])[0].info["steps"]  # doctest: +SKIP
    [{'k': 1, 'gold_from': 2, 'value': -1.7}]
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field

from rewardsmith.core import Paper, Sample, Score, register
from rewardsmith.likelihood.base import (
    LikelihoodParams,
    LikelihoodReward,
    Pair,
    assistant_prefix,
    prompt_text,
)
from rewardsmith.models.base import Backend, TokenLogprobs

__all__ = [
    "P2S",
    "PathFaithfulness",
    "PathFaithfulnessParams",
    "aligned_steps",
    "gold_chain",
    "split_steps",
]

P2S = Paper("P2S: Probabilistic Process Supervision", "2601.20649")


class PathFaithfulnessParams(LikelihoodParams):
    """Parameters of ``likelihood.path_faithfulness`` (see the module docstring)."""

    step_sep: str = Field("\n\n", min_length=1)
    """Splits the rollout's reasoning and the gold chain into steps."""
    answer_start: str = "<answer>"
    """The rollout's reasoning ends before this marker's first occurrence ("" for none)."""
    max_steps: int = Field(16, ge=1, le=1024)
    """At most this many prefixes scored per rollout (evenly spaced)."""
    aggregate: Literal["mean", "last", "min"] = "mean"
    """How the per-step values become one."""


@register(
    summary="P2S path faithfulness: the gold chain's remaining steps' mean log-prob after "
    "each prefix of the policy's reasoning, averaged over steps (per-step values in info)",
    paper=P2S,
)
class PathFaithfulness(LikelihoodReward):
    """The gold chain's suffix likelihood after each prefix of the rollout's reasoning."""

    name = "likelihood.path_faithfulness"
    params: PathFaithfulnessParams

    def __init__(self, params: PathFaithfulnessParams, backend: Backend | None = None) -> None:
        super().__init__(params, backend)

    @property
    def range(self) -> tuple[float, float]:
        return (-math.inf, 0.0)

    def pairs_for(self, sample: Sample) -> list[Pair]:
        steps, gold, scored = self._plan(sample)
        sep = self.params.step_sep
        pairs: list[Pair] = []
        for k, j in scored:
            context = "".join(steps[:k])
            if not context.endswith(sep):
                context += sep
            prefix = self.prefix(assistant_prefix(sample, context), prompt_text(sample) + context)
            pairs.append((prefix, "".join(gold[j:])))
        return pairs

    def value(self, sample: Sample, results: list[TokenLogprobs]) -> Score:
        rollout, gold, scored = self._plan(sample)
        steps: list[dict[str, Any]] = []
        for (k, j), lp in zip(scored, results, strict=True):
            if not lp.logprobs:
                raise ValueError(f"the gold suffix from step {j} has no tokens")
            steps.append({"k": k, "gold_from": j, "value": lp.mean})
        values = [s["value"] for s in steps]
        if self.params.aggregate == "mean":
            reward = math.fsum(values) / len(values)
        elif self.params.aggregate == "last":
            reward = values[-1]
        else:
            reward = min(values)
        info = {"steps": steps, "rollout_steps": len(rollout), "gold_steps": len(gold)}
        return Score(reward, info=info)

    def _plan(self, sample: Sample) -> tuple[list[str], list[str], list[tuple[int, int]]]:
        """The rollout's reasoning steps, the gold steps, and the ``(k, j_k)`` scored."""
        p = self.params
        gold = split_steps(gold_chain(sample), p.step_sep)
        if not gold:
            raise ValueError("the gold chain is blank")
        text = sample.text
        at = text.find(p.answer_start) if p.answer_start else -1
        steps = split_steps(text[:at] if at >= 0 else text, p.step_sep)
        if not steps:
            raise ValueError(
                "the completion has no reasoning (no non-blank step before the answer)"
            )
        return steps, gold, aligned_steps(len(steps), len(gold), p.max_steps)


def gold_chain(sample: Sample) -> str:
    """The gold chain of thought: ``reference["gold_cot"]``, else ``meta["gold_cot"]``."""
    for source in (sample.reference, sample.meta):
        if isinstance(source, Mapping) and "gold_cot" in source:
            gold = source["gold_cot"]
            if not isinstance(gold, str):
                raise ValueError(f"gold_cot is text, not {type(gold).__name__}")
            return gold
    raise ValueError(
        "no gold chain: give Sample.reference as {'gold_cot': ...} or Sample.meta['gold_cot']"
    )


def split_steps(text: str, sep: str) -> list[str]:
    """``text`` cut into steps at ``sep``: each non-blank part with the separators and
    blank parts that follow it, the text before the first step joined to it. The steps
    join back into ``text`` exactly; a blank text has none."""
    if not sep:
        raise ValueError("the step separator is empty")
    starts: list[int] = []
    pos = 0
    while True:
        at = text.find(sep, pos)
        end = len(text) if at < 0 else at
        if text[pos:end].strip():
            starts.append(pos)
        if at < 0:
            break
        pos = at + len(sep)
    if not starts:
        return []
    starts[0] = 0
    return [text[a:b] for a, b in zip(starts, [*starts[1:], len(text)], strict=True)]


def aligned_steps(n: int, m: int, max_steps: int) -> list[tuple[int, int]]:
    """The ``(k, j_k)`` scored for a rollout of ``n`` steps and a gold chain of ``m``:
    j_k = round(k*m/n) half up, k with j_k = m skipped (nothing left to predict); none
    left: ``[(n, m - 1)]``. Over ``max_steps``, that many evenly spaced, the last kept."""
    if n < 1 or m < 1:
        return []
    pairs = [(k, j) for k in range(1, n + 1) if (j := (2 * k * m + n) // (2 * n)) < m]
    if not pairs:
        return [(n, m - 1)]
    if len(pairs) > max_steps:
        pairs = [pairs[(i + 1) * len(pairs) // max_steps - 1] for i in range(max_steps)]
    return pairs
