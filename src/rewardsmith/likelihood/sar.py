"""``likelihood.sar``: Self-Aligned Reward, how much the question makes the response
likely (SAR, arXiv 2509.05489).

What it computes: the response's perplexity under the scoring model with and without the
question,

    R_SA = clip((ppl(a) - ppl(a|q)) / ppl(a), -1, 1),
    ppl(a|q) = exp(-(1/|a|) * sum_j log p(a_j | q, a_<j)),

with ppl(a) the same with the query removed. As in the released code
(``compute_ppl_qa_log``, called ``ppl_qa`` there), the query-free context keeps the
prompt's system messages and replaces every user turn by one empty user turn, and raw
perplexity is used (``log=True`` for log-perplexity: (log ppl(a) - log ppl(a|q)) /
log ppl(a)). The value is below 1 by construction; only the lower clip at -1 acts. With
``chat=False`` the contexts are the prompt text and the empty string (the tokenizer's BOS
token must then exist to predict the first token).

Per token, a_j contributes log p(a_j | q, .) - log p(a_j | .): tokens that use the
question score high, material that repeats itself or the prompt scores about zero.

Inputs: the prompt and the completion (all of it, reasoning included). No reference.
Two continuations per sample; a local model computes them in one batched pass.

Use it as the paper does: R = R_VR + alpha * R_SA with a 0/1 verifiable reward and
alpha = 0.2 (the released GRPO and PPO scripts; the paper sweeps 0.05-0.3), for example
``sum`` of ``math.answer`` and ``0.2 * likelihood.sar``. Alone it collapses training
(the paper: 84 words and 20.96% accuracy on average).

Range: [-1, 1).

How it can be gamed: alone, by short responses that copy the question's specific words
(every copied token is likelier given the question): hence the pairing with a verifier.
Special-token strings in the completion are read as the tokens they name (the completion
is scored as the policy's own token sequence), but the prompt's are stripped from the
rendered chat. An empty completion is an error (no tokens to score), never a number.

Example:
    >>> sar = SelfAlignedReward(SARParams(model="path/to/policy"))  # doctest: +SKIP
    >>> sar.score([Sample(prompt="Capital of France?", completion="Paris.")])[0].value  # doctest: +SKIP
    0.93
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from rewardsmith.core import Paper, Sample, Score, register
from rewardsmith.likelihood.base import (
    LikelihoodParams,
    LikelihoodReward,
    Pair,
    prompt_text,
    user_turns,
)
from rewardsmith.models.base import Backend, TokenLogprobs

__all__ = ["SAR", "SARParams", "SelfAlignedReward", "query_free"]

SAR = Paper("Self-Aligned Reward: Towards Effective and Efficient Reasoners", "2509.05489")


class SARParams(LikelihoodParams):
    """Parameters of ``likelihood.sar`` (see the module docstring)."""

    log: bool = False
    """Log-perplexity instead of raw perplexity (the released code's ``use_log``)."""


@register(
    summary="Self-Aligned Reward: the relative drop in the response's perplexity when the "
    "question is given, clip((ppl(a) - ppl(a|q)) / ppl(a), -1, 1)",
    paper=SAR,
)
class SelfAlignedReward(LikelihoodReward):
    """How much more likely the question makes the response."""

    name = "likelihood.sar"
    params: SARParams

    def __init__(self, params: SARParams, backend: Backend | None = None) -> None:
        super().__init__(params, backend)

    @property
    def range(self) -> tuple[float, float]:
        return (-1.0, 1.0)

    def pairs_for(self, sample: Sample) -> list[Pair]:
        response = sample.text
        if not response:
            raise ValueError("an empty completion has no tokens to score")
        messages = user_turns(sample)
        with_q = self.prefix(messages, prompt_text(sample))
        without_q = self.prefix(query_free(messages), "")
        return [(with_q, response), (without_q, response)]

    def value(self, sample: Sample, results: list[TokenLogprobs]) -> Score:
        given, alone = results
        m_q, m_0 = given.mean, alone.mean  # mean log-probs: ppl = exp(-mean)
        if not (math.isfinite(m_q) and math.isfinite(m_0)):
            raise ValueError(f"non-finite mean log-probs: {m_q} with the question, {m_0} without")
        if self.params.log:
            raw = (m_q - m_0) / -m_0 if m_0 < 0 else 0.0  # (log ppl(a) - log ppl(a|q)) / log ppl(a)
        else:
            raw = 1.0 - math.exp(m_0 - m_q)  # (ppl(a) - ppl(a|q)) / ppl(a)
        info: dict[str, Any] = {
            "ppl_given_question": math.exp(-m_q),
            "ppl_alone": math.exp(-m_0),
            "tokens": len(given.logprobs),
        }
        return Score(min(max(raw, -1.0), 1.0), info=info)


def query_free(messages: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The prompt without its question: system messages kept, the user turns replaced by
    one empty user turn (the released code's query-free context)."""
    kept = [m for m in messages if isinstance(m, Mapping) and m.get("role") == "system"]
    return [*kept, {"role": "user", "content": ""}]
