"""``likelihood.reference_logprob``: how likely the reference answer is after the policy's
reasoning (Likelihood-Based Reward Designs for General LLM Reasoning, arXiv 2602.03979).

What it computes: the completion's reasoning z is kept, its own answer is thrown away, and
the reference answer a* is teacher-forced in its place; the reward reads log p(a* | p, z)
from the scoring model. Forms (``form``):

- ``logprob`` (the paper's recommendation): R = sum_t log p(a*_t | p, z, a*_<t);
- ``mean_logprob``: R = (1/|a*|) * sum_t log p(a*_t | ...), the same per token;
- ``probability`` (VeriFree, arXiv 2505.21493): R = p(a* | p, z) = exp(logprob);
- ``mean_probability`` (RLPR, arXiv 2506.18254): R = (1/|a*|) * sum_t p(a*_t | ...);
- ``jepo`` (JEPO, arXiv 2503.19618): the multi-sample Jensen bound over a GRPO group,
  L = log((1/G) * sum_g p(a* | p, z_g)); each member is paid its leave-one-out share,
  R_g = L - L_-g with L_-g the bound over the other G-1 members (the control variate of a
  multi-sample bound; the bound itself is in ``info["group_bound"]``). A group of one is
  paid its ``logprob``. [recall]: JEPO's exact per-sample weighting was not verified.

``debias`` (RLPR) subtracts the same quantity with no reasoning at all (the prompt, then
the answer marker, then a*): the answer's likelihood that the reasoning did not earn. For
the probability forms the difference is clipped to [0, 1] as RLPR does; for the log
forms it is the plain difference (pointwise mutual information of z and a*). The
no-reasoning pass depends on the prompt only, so a group shares one (a local model
computes it once per batch).

Where the reasoning ends: at the first ``answer_start`` marker in the completion (default
``<answer>``; ``\\boxed{`` for boxed answers); the context is the completion up to and
including the marker, and the continuation scored is ``a* + answer_end`` (the closing
marker makes it an exact match: "42" is not paid for the start of "420"). A completion
without the marker is read as all reasoning and the marker is appended
(``missing="append"``), or fails (``missing="fail"``, status error). The reference is
``Sample.reference``: a string, the first of a list, or a dict's ``answer``.

Range: (-inf, 0] for ``logprob`` and ``mean_logprob``, [0, 1] for the probability forms,
(-inf, inf) for ``jepo`` and debiased log forms. The catalog's findings: the probability
forms flatline on long answers (the probabilities vanish), and the log-prob depends on
|a*|, so normalise it within the group (``transform.group_zscore``) before mixing.

How it can be gamed: the policy never writes a*, so it cannot copy it; what it controls
is z. Reasoning that states the answer ("the answer is 42") raises p(a*) legitimately, and
so does reasoning that lists many candidate answers: the reward pays for making a* likely,
not for committing to it (pair it with a verifier where one exists). A completion full of
special-token strings cannot open a fake turn (they are stripped from message contents).
An overlong completion is cut from the left to ``max_length``, keeping a* whole.

Example:
    >>> r = ReferenceLogprob(ReferenceLogprobParams(model="path/to/policy"))  # doctest: +SKIP
    >>> r.score([Sample(prompt="2+3?", completion="<think>2+3=5</think><answer>5</answer>",
    ...                 reference="5")])[0].value  # doctest: +SKIP
    -0.42
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import model_validator

from rewardsmith.core import Paper, Sample, Score, register
from rewardsmith.core.reward import group_indices
from rewardsmith.judges.rm.score import reference_text
from rewardsmith.likelihood.base import (
    LikelihoodParams,
    LikelihoodReward,
    Pair,
    assistant_prefix,
    logsumexp,
    prompt_text,
)
from rewardsmith.models.base import Backend, TokenLogprobs

__all__ = [
    "LIKELIHOOD_REWARDS",
    "ReferenceLogprob",
    "ReferenceLogprobParams",
    "reference_answer",
    "split_reasoning",
]

LIKELIHOOD_REWARDS = Paper(
    "Likelihood-Based Reward Designs for General LLM Reasoning", "2602.03979"
)
Form = Literal["logprob", "mean_logprob", "probability", "mean_probability", "jepo"]
_PROBABILITY = ("probability", "mean_probability")


class ReferenceLogprobParams(LikelihoodParams):
    """Parameters of ``likelihood.reference_logprob`` (see the module docstring)."""

    form: Form = "logprob"
    debias: bool = False
    """Subtract the same quantity with no reasoning (RLPR)."""
    answer_start: str = "<answer>"
    """The reasoning ends at (and includes) this marker's first occurrence."""
    answer_end: str = "</answer>"
    """Scored after the reference answer ("" for none)."""
    missing: Literal["append", "fail"] = "append"
    """A completion without ``answer_start``: all reasoning, the marker appended; or an error."""

    @model_validator(mode="after")
    def _jepo_alone(self) -> ReferenceLogprobParams:
        if self.form == "jepo" and self.debias:
            raise ValueError("debias does not apply to form jepo (a group bound)")
        return self


@register(
    summary="log p(reference answer | prompt, the policy's reasoning): log-prob, mean, "
    "probability (VeriFree), mean probability (RLPR, debiased), or JEPO's group bound",
    paper=LIKELIHOOD_REWARDS,
)
class ReferenceLogprob(LikelihoodReward):
    """The reference answer's likelihood after the completion's reasoning."""

    name = "likelihood.reference_logprob"
    params: ReferenceLogprobParams

    def __init__(self, params: ReferenceLogprobParams, backend: Backend | None = None) -> None:
        super().__init__(params, backend)

    @property
    def needs_group(self) -> bool:  # type: ignore[override]
        return self.params.form == "jepo"

    @property
    def range(self) -> tuple[float, float]:
        p = self.params
        if p.form in _PROBABILITY:
            return (0.0, 1.0)
        if p.form == "jepo" or p.debias:
            return (-math.inf, math.inf)
        return (-math.inf, 0.0)

    def pairs_for(self, sample: Sample) -> list[Pair]:
        p = self.params
        answer = reference_answer(sample.reference)
        reasoning = split_reasoning(sample.text, p.answer_start, p.missing == "fail")
        target = answer + p.answer_end
        pairs = [
            (
                self.prefix(assistant_prefix(sample, reasoning), prompt_text(sample) + reasoning),
                target,
            )
        ]
        if p.debias:
            bare = self.prefix(
                assistant_prefix(sample, p.answer_start), prompt_text(sample) + p.answer_start
            )
            pairs.append((bare, target))
        return pairs

    def value(self, sample: Sample, results: list[TokenLogprobs]) -> Score:
        form = self.params.form
        reward = _form_value(form, results[0])
        info: dict[str, Any] = {
            "answer_tokens": len(results[0].logprobs),
            "logprob": results[0].total,
        }
        if self.params.debias:
            bare = _form_value(form, results[1])
            info["no_reasoning"] = bare
            reward -= bare
            if form in _PROBABILITY:
                reward = min(max(reward, 0.0), 1.0)
        return Score(reward, info=info)

    def finish(self, samples: Sequence[Sample], scores: list[Score]) -> list[Score]:
        if self.params.form != "jepo":
            return scores
        out = list(scores)
        for members in group_indices(samples):
            ok = [i for i in members if scores[i].value is not None]
            logs = [float(scores[i].value) for i in ok]  # type: ignore[arg-type]
            if len(ok) < 2:
                continue
            bound = logsumexp(logs) - math.log(len(logs))
            for k, i in enumerate(ok):
                rest = logs[:k] + logs[k + 1 :]
                loo = logsumexp(rest) - math.log(len(rest))
                info = {**scores[i].info, "group_bound": bound, "group_size": len(ok)}
                out[i] = scores[i].with_(value=bound - loo, info=info)
        return out


def _form_value(form: Form, lp: TokenLogprobs) -> float:
    if not lp.logprobs:
        raise ValueError("the answer has no tokens")
    if form in ("logprob", "jepo"):
        return lp.total
    if form == "mean_logprob":
        return lp.mean
    if form == "probability":
        return math.exp(lp.total)
    return math.fsum(math.exp(x) for x in lp.logprobs) / len(lp.logprobs)


def reference_answer(reference: object) -> str:
    """The reference answer's text: a string, a finite number, the first of a list or a
    dict's ``answer``; ``ValueError`` for anything else (None, NaN, an empty string)."""
    first = reference[0] if isinstance(reference, list | tuple) and reference else reference
    if isinstance(first, float) and not math.isfinite(first):
        raise ValueError(f"the reference answer is {first}: not an answer")
    try:
        answer = reference_text(reference)
    except ValueError:
        answer = ""
    if not answer:
        raise ValueError(
            "no reference answer: Sample.reference is a string, a list or {'answer': ...}"
        )
    return answer


def split_reasoning(completion: str, marker: str, strict: bool = False) -> str:
    """The completion up to and including ``marker``'s first occurrence: the context the
    reference answer is scored after. Without the marker: the whole completion with the
    marker appended, or ``ValueError`` when ``strict``."""
    at = completion.find(marker) if marker else -1
    if at >= 0:
        return completion[: at + len(marker)]
    if strict:
        raise ValueError(f"the completion has no {marker!r}: no place for the answer")
    return completion + marker
