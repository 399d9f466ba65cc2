"""What every likelihood reward shares: a scoring model, and one batched call for a batch.

A likelihood reward reads a language model's own probabilities: each sample asks for the
log-probabilities of one or more continuations given a prefix (``pairs``), every pair of
the batch goes to the backend in one call (``models.base.Backend.continuation_logprobs``:
token-budget batches on a local model, concurrent requests to a server), and the reward
turns each sample's results into its value (``value``). A pair that fails fails its sample
alone (status ``error`` or ``timeout`` with the reason, never a number).

The scoring model is whatever ``model`` names: the policy itself (point it at the
checkpoint the trainer is updating, or at the vLLM server that serves the policy) or a
separate, frozen model. Local models run on ``transformers`` (``models.local.HFBackend``);
a URL is an OpenAI-compatible server that returns prompt log-probs (vLLM, SGLang:
``logprobs_via``).

Rendering: with ``chat`` (the default) the prompt and the response are chat messages
rendered with the scoring model's chat template, special-token strings removed from
message contents so a completion cannot open or close a turn; a served model takes text,
so ``tokenizer`` names the local tokenizer (a directory or hub id) whose template renders
the chat here. With ``chat=False`` the texts are concatenated as they are.

Token boundaries are exact: a continuation's tokens are those of ``prefix + continuation``
after the prefix's tokens, and a token that straddles the boundary (an answer that starts
mid-token) belongs to the continuation, so the prefix and the continuation are never
tokenised apart.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import Field, model_validator

from rewardsmith.core import ItemReward, Params, Sample, Score
from rewardsmith.core.reward import is_strict
from rewardsmith.errors import ConfigError
from rewardsmith.judges.rm.score import chat_messages, plain_text
from rewardsmith.models.base import (
    Backend,
    ModelError,
    ModelInput,
    Rendered,
    Result,
    TokenLogprobs,
    failed_score,
)
from rewardsmith.models.load import load_backend, local_options, resolve_backend

__all__ = [
    "CUT",
    "LikelihoodParams",
    "LikelihoodReward",
    "Pair",
    "assistant_prefix",
    "logsumexp",
    "prompt_text",
    "user_turns",
]

Pair = tuple[ModelInput, str]
CUT = "\u2063rewardsmith-cut\u2063"
"""A marker no message holds, rendered in a message's place to find where it begins."""


class LikelihoodParams(Params):
    """The scoring model, shared by every likelihood reward (each adds its own)."""

    model: str = Field(min_length=1)
    """A local directory, a ``.gguf`` file, a hub id, or an OpenAI-compatible server URL
    that returns prompt log-probs."""
    backend: Literal["auto", "hf", "openai"] = "auto"
    chat: bool = True
    """Render prompts and responses with the model's chat template (else plain text)."""
    tokenizer: str | None = None
    """For a URL with ``chat``: the local tokenizer whose chat template renders the chat."""
    served_model: str | None = None
    """For a URL: the model name the server serves."""
    logprobs_via: Literal["echo", "prompt_logprobs"] = "echo"
    """For a URL: legacy completions with ``echo`` (vLLM, SGLang) or vLLM's field."""
    timeout_s: float = Field(60.0, gt=0, allow_inf_nan=False)
    max_concurrency: int = Field(16, ge=1, le=4096)
    dtype: Literal["float32", "bfloat16", "float16", "auto"] = "float32"
    device: str = "cpu"
    max_length: int | None = Field(None, ge=2)
    max_batch_tokens: int | None = Field(None, ge=1)
    """Tokens per forward pass, padding counted; None: 2,048 on a CPU, 16,384 on a GPU."""

    @model_validator(mode="after")
    def _served_needs_text(self) -> LikelihoodParams:
        served = resolve_backend(self.model, self.backend) != "hf"
        if served and self.chat and self.tokenizer is None:
            raise ValueError(
                "a served model takes text: set tokenizer (the model's tokenizer, to render "
                "its chat template here) or chat: false"
            )
        if not served and self.tokenizer is not None:
            raise ValueError("tokenizer applies to a served model only (a local one has its own)")
        return self


class LikelihoodReward(ItemReward):
    """A reward read from continuation log-probs: define ``pairs_for`` and ``value``."""

    work = "model"
    max_chars = None  # the backend truncates from the left (and flags it) instead

    def __init__(self, params: LikelihoodParams, backend: Backend | None = None) -> None:
        self.params = params
        model = params.model  # a subclass may make it optional: then only given backends
        self.kind = resolve_backend(model, params.backend) if model else "none"
        self._given = backend is not None
        self._backend = backend
        self._tokenizer: Any = None

    @property
    def range(self) -> tuple[float, float]:
        return (-math.inf, math.inf)

    # -- what a subclass says ---------------------------------------------------------

    def pairs_for(self, sample: Sample) -> list[Pair]:
        """The ``(prefix, continuation)`` pairs this sample needs (an exception fails it)."""
        raise NotImplementedError

    def value(self, sample: Sample, results: list[Any]) -> Score | float:
        """The sample's value from its pairs' results (``TokenLogprobs`` unless ``fetch``
        says otherwise), in ``pairs_for`` order."""
        raise NotImplementedError

    def fetch(self, pairs: list[Pair]) -> list[Result[Any]]:
        """Every pair's result from the backend, in one call: log-probs, with the token
        count and truncation where the backend says (``continuation_logprobs_detailed``)."""
        backend = self.backend()
        detailed = getattr(backend, "continuation_logprobs_detailed", None)
        if callable(detailed):
            return list(detailed(pairs))
        return list(backend.continuation_logprobs(pairs))

    async def afetch(self, pairs: list[Pair]) -> list[Result[Any]]:
        backend = self.backend()
        detailed = getattr(backend, "acontinuation_logprobs_detailed", None)
        if callable(detailed):
            return list(await detailed(pairs))
        return list(await backend.acontinuation_logprobs(pairs))

    def unwrap(self, result: Any) -> Any:
        """What ``value`` gets of one result: its ``TokenLogprobs``."""
        return result if isinstance(result, TokenLogprobs) else result.logprobs

    def finish(self, samples: Sequence[Sample], scores: list[Score]) -> list[Score]:
        """A hook over the whole batch's scores (a group reward combines members here)."""
        return scores

    # -- the backend ------------------------------------------------------------------

    def backend(self) -> Backend:
        """The backend, made on first use (nothing is loaded before a call)."""
        if self._backend is None:
            p = self.params
            if self.kind == "none":
                raise ConfigError(f"{self.name}: no model is set")
            options: dict[str, Any]
            if self.kind == "hf":
                options = local_options(p)
            else:
                options = dict(
                    model=p.served_model,
                    timeout_s=p.timeout_s,
                    max_concurrency=p.max_concurrency,
                    logprobs_via=p.logprobs_via,
                )
                if p.chat:  # the chat is rendered here, BOS included: vLLM must not add one
                    options["extra_body"] = {"add_special_tokens": False}
            self._backend = load_backend(p.model, self.kind, **options)
        return self._backend

    def __getstate__(self) -> dict[str, Any]:
        kept = self._backend if self._given else None  # a client made here does not travel
        return {**self.__dict__, "_backend": kept, "_tokenizer": None}

    def prefix(self, messages: Sequence[Mapping[str, Any]], text: str) -> ModelInput:
        """The model's input for a prefix: ``messages`` (ending in a user turn to answer,
        or an assistant turn to continue) when ``chat``, else ``text``. A served model
        gets the chat rendered here with ``tokenizer``'s template."""
        if not self.params.chat:
            return text
        if self.kind != "openai":
            return list(messages)
        from rewardsmith.models.hf_model import render_input
        from rewardsmith.models.joint import special_pattern

        if self._tokenizer is None:
            import transformers

            from rewardsmith.models.loading import load_tokenizer

            tok = load_tokenizer(transformers, self.params.tokenizer or "")
            self._tokenizer = (tok, special_pattern(tok))
        tok, strip = self._tokenizer
        return render_input(tok, list(messages), True, strip)[0]

    def rendered_before(self, messages: Sequence[Mapping[str, Any]]) -> Rendered:
        """``messages`` rendered with the model's chat template and cut where the last
        message's content begins: the prefix of a continuation that is that content (a
        user's follow-up turn, say). The last message's content is ignored."""
        if not self.params.chat:
            raise ConfigError("rendered_before needs chat: true")
        marked = [*messages[:-1], {**messages[-1], "content": CUT}]
        if self.kind == "openai":
            text = str(self.prefix(marked, ""))
        else:
            rendered = getattr(self.backend(), "rendered", None)
            if not callable(rendered):
                raise ConfigError(f"{self.backend()!r} cannot render a chat here")
            got = rendered([marked], "causal")[0]
            if isinstance(got, ModelError):
                raise ValueError(str(got))
            text = got
        if text.count(CUT) != 1:
            raise ValueError("the chat template does not keep the last message's content as is")
        return Rendered(text[: text.index(CUT)])

    # -- scoring ----------------------------------------------------------------------

    def score(self, samples: Sequence[Sample]) -> list[Score]:
        out, pairs, spans = self._prepare(samples)
        results: list[Result[Any]] = []
        if pairs:
            try:
                results = self.fetch(pairs)
            except Exception as exc:
                if is_strict():
                    raise
                results = [ModelError.of(exc)] * len(pairs)
        return self._finish(samples, out, spans, results)

    async def ascore(self, samples: Sequence[Sample]) -> list[Score]:
        out, pairs, spans = self._prepare(samples)
        results: list[Result[Any]] = []
        if pairs:
            try:
                results = await self.afetch(pairs)
            except Exception as exc:
                if is_strict():
                    raise
                results = [ModelError.of(exc)] * len(pairs)
        return await asyncio.to_thread(self._finish, samples, out, spans, results)

    def score_one(self, sample: Sample) -> Score:
        return self.score([sample])[0]

    def _prepare(
        self, samples: Sequence[Sample]
    ) -> tuple[list[Score | None], list[Pair], list[tuple[int, int]]]:
        out: list[Score | None] = [None] * len(samples)
        pairs: list[Pair] = []
        spans: list[tuple[int, int]] = []
        for i, sample in enumerate(samples):
            start = len(pairs)
            try:
                pairs += self.pairs_for(sample)
            except Exception as exc:
                if is_strict():
                    raise
                del pairs[start:]
                out[i] = Score.failed(exc)
            spans.append((start, len(pairs)))
        return out, pairs, spans

    def _finish(
        self,
        samples: Sequence[Sample],
        out: list[Score | None],
        spans: list[tuple[int, int]],
        results: Sequence[Result[Any]],
    ) -> list[Score]:
        total = spans[-1][1] if spans else 0
        if len(results) != total:
            results = [
                ModelError("BackendError", f"{len(results)} results for {total} pairs")
            ] * total
        scores: list[Score] = []
        for i, sample in enumerate(samples):
            if out[i] is not None:
                scores.append(out[i])  # type: ignore[arg-type]
                continue
            start, end = spans[i]
            mine = list(results[start:end])
            failed = next((r for r in mine if isinstance(r, ModelError)), None)
            if failed is not None:
                scores.append(failed_score(failed))
                continue
            try:
                got = self.value(sample, [self.unwrap(r) for r in mine])
                got = got if isinstance(got, Score) else Score(float(got))
                if any(getattr(r, "truncated", False) for r in mine):
                    got = got.with_(info={**got.info, "truncated": True})
                scores.append(got)
            except Exception as exc:
                if is_strict():
                    raise
                scores.append(Score.failed(exc))
        return self.finish(samples, scores)


def user_turns(sample: Sample) -> list[Mapping[str, Any]]:
    """The prompt as chat messages (a text prompt is one user turn)."""
    return chat_messages(sample.prompt, "user")


def assistant_prefix(sample: Sample, content: str) -> list[Mapping[str, Any]]:
    """The prompt's messages, then an assistant turn holding ``content`` (to continue)."""
    return [*user_turns(sample), {"role": "assistant", "content": content}]


def prompt_text(sample: Sample) -> str:
    """The prompt as plain text."""
    return plain_text(sample.prompt)


def logsumexp(values: Sequence[float]) -> float:
    """log(sum(exp(v))) without overflow (-inf for no values)."""
    if not values:
        return -math.inf
    top = max(values)
    if top == -math.inf:
        return -math.inf
    return top + math.log(math.fsum(math.exp(v - top) for v in values))
