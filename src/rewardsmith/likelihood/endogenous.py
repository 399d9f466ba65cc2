"""``likelihood.endogenous``: the reward a language model's logits already define
(Generalist Reward Models: Found Inside Large Language Models, arXiv 2506.23235).

What it computes: next-token training makes the logits f(s, a) a soft Q-function, so the
inverse soft Bellman operator gives each response token a reward,

    r(s_h, a_h) = f(s_h, a_h) - V(s_h+1),   V(s) = alpha * logsumexp(f(s, .) / alpha),

equivalently alpha * log pi(a_h | s_h) + V(s_h) - V(s_h+1) with pi = softmax(f / alpha),
and the response's return telescopes to

    sum_h r = alpha * sum_h log pi(a_h | s_h) + V(s_1) - V(s_H+1).

alpha is the softmax temperature (1 for ordinary decoding). The value is that return
(``normalize="sum"``) or its mean per token (``"mean"``); ``info["token_rewards"]`` has
every r(s_h, a_h) for a dense use.

The terminal value, defined explicitly (the catalog's pitfall: implementations differ):

- ``terminal="eos"`` (default): the response ends with the model's EOS token (the
  tokenizer's, which for chat models is the end of the turn), scored as its last action,
  and the state after it is terminal with V = 0. Ending the response is then part of what
  is rewarded, and the return is alpha * sum log pi (EOS included) + V(s_1).
- ``terminal="open"``: no EOS; V(s_H+1) is the model's own soft value after the last
  token, so the return is alpha * sum log pi + V(s_1) - V(s_H+1).

V(s_1) is the same for every response to a prompt, so within a GRPO group the ranking is
the total log-likelihood (minus the terminal value with ``open``): a length and
"likeliness" bias the catalog warns of. Normalise within the group before mixing.

Inputs: the prompt and the completion, rendered with the scoring model's chat template
(``chat``) or as plain text. Raw logits are needed, so the model runs here (a local
``transformers`` model); a server's log-probs are normalised and cannot give V, so a URL
is refused when the reward is built.

Range: (-inf, inf).

How it can be gamed: it pays what the scoring model finds likely: repetition, stock
phrases and (with ``normalize="mean"``) padding with predictable tokens. Use it as a
prior beside a verifier or a judge, not alone. Special-token strings in the prompt are
stripped from the rendered chat; in the completion they are the tokens they name. An
empty completion scores only its EOS with ``eos`` and is an error with ``open``.

Example:
    >>> r = EndogenousReward(EndogenousParams(model="path/to/base-model"))  # doctest: +SKIP
    >>> r.score([Sample(prompt="2+2?", completion="4")])[0].value  # doctest: +SKIP
    11.8
"""

from __future__ import annotations

import asyncio
import math
from typing import Any, Literal

from pydantic import Field, model_validator

from rewardsmith.core import Paper, Sample, Score, register
from rewardsmith.likelihood.base import (
    LikelihoodParams,
    LikelihoodReward,
    Pair,
    prompt_text,
    user_turns,
)
from rewardsmith.models.base import Backend, Result, Unsupported
from rewardsmith.models.load import resolve_backend

__all__ = ["ENDOGENOUS", "EndogenousParams", "EndogenousReward", "token_rewards"]

ENDOGENOUS = Paper("Generalist Reward Models: Found Inside Large Language Models", "2506.23235")


class EndogenousParams(LikelihoodParams):
    """Parameters of ``likelihood.endogenous`` (see the module docstring)."""

    alpha: float = Field(1.0, gt=0, allow_inf_nan=False)
    """The softmax temperature that reads the logits as a soft Q-function."""
    terminal: Literal["eos", "open"] = "eos"
    normalize: Literal["sum", "mean"] = "sum"

    @model_validator(mode="after")
    def _local_only(self) -> EndogenousParams:
        if resolve_backend(self.model, self.backend) != "hf":
            raise ValueError(
                "likelihood.endogenous needs raw logits: a local model (a server's log-probs "
                "are normalised, so the soft value V cannot be read from them)"
            )
        return self


@register(
    summary="the inverse soft Bellman reward of a model's own logits, summed over the "
    "response (terminal value explicit)",
    paper=ENDOGENOUS,
)
class EndogenousReward(LikelihoodReward):
    """The response's return under the logits read as a soft Q-function."""

    name = "likelihood.endogenous"
    params: EndogenousParams

    def __init__(self, params: EndogenousParams, backend: Backend | None = None) -> None:
        super().__init__(params, backend)

    def pairs_for(self, sample: Sample) -> list[Pair]:
        if not sample.text and self.params.terminal == "open":
            raise ValueError("an empty completion has no tokens to score")
        return [(self.prefix(user_turns(sample), prompt_text(sample)), sample.text)]

    def fetch(self, pairs: list[Pair]) -> list[Result[Any]]:
        soft = getattr(self.backend(), "soft_values", None)
        if not callable(soft):
            raise Unsupported(f"{self.backend()!r} gives no logits: use a local model")
        p = self.params
        return list(soft(pairs, alpha=p.alpha, end_with_eos=p.terminal == "eos"))

    async def afetch(self, pairs: list[Pair]) -> list[Result[Any]]:
        return await asyncio.to_thread(self.fetch, pairs)

    def unwrap(self, result: Any) -> Any:
        return result  # a Continuation with its SoftValues

    def value(self, sample: Sample, results: list[Any]) -> Score:
        (got,) = results
        soft = got.soft
        rewards = token_rewards(soft.chosen, soft.values, self.params.terminal == "eos")
        if not rewards or not all(math.isfinite(r) for r in rewards):
            raise ValueError("no finite token rewards")
        total = math.fsum(rewards)
        value = total if self.params.normalize == "sum" else total / len(rewards)
        info: dict[str, Any] = {
            "tokens": len(rewards),
            "v_start": soft.values[0],
            "v_end": 0.0 if self.params.terminal == "eos" else soft.values[-1],
            "token_rewards": rewards,
        }
        return Score(value, info=info)


def token_rewards(chosen: tuple[float, ...], values: tuple[float, ...], ends: bool) -> list[float]:
    """r_h = f(s_h, a_h) - V(s_h+1) for each token; with ``ends`` the state after the last
    token is terminal (V = 0), else it is the model's ``values[-1]``."""
    after = list(values[1:])
    if ends and after:
        after[-1] = 0.0
    return [f - v for f, v in zip(chosen, after, strict=True)]
