"""``process.confidence``: how sure the policy was of its own reasoning and answer (DRM's
Confidence dimension; From <Answer> to <Think>, arXiv 2510.11457).

What it computes, from the policy's own token log-probs of the completion, split into the
reasoning tokens R and the answer tokens A::

    score = (1/|R|) * sum_{t in R} log p(t)  +  sum_{t in A} log p(t)

The reasoning term is a mean, the answer term a sum (as the paper writes it). ``parts``
hold both terms (``reasoning``, ``answer``); ``info`` holds the token counts and where the
log-probs came from (``source``: ``tokens`` or ``model``). Range (-inf, 0].

The choices the paper does not spell out (its formula is known from a third-party summary;
the code is not released):

- Where R ends and A begins: at ``answer_start`` (default ``<answer>``). A is the tokens
  from the first token whose character span ends after the marker's first character, so a
  token that straddles the boundary (``</think><answer>7`` as one token) belongs to A, the
  rule of ``likelihood.base``. A ends with the token that holds the end of the first
  ``answer_end`` after the marker (default ``</answer>``; ``""`` runs A to the end);
  tokens after it (whitespace, EOS) count in neither term. A completion without the
  marker fails (``missing="fail"``, the default: the reward needs an answer) or is all
  reasoning with an answer term of 0 (``missing="reasoning"``). An empty reasoning has a
  reasoning term of 0.
- Where the log-probs come from, per item: ``Sample.tokens`` when it holds ``logprobs``
  (no forward pass: what a trainer that passes them gets). Each token's character span is
  found by decoding (``tokenizer``, the policy's: a directory, a ``.gguf`` file or a hub
  id; default a local ``model``'s own): the split token by binary search over prefixes,
  O(n log n). The ids must decode to the completion text exactly; trailing special
  tokens the text does not show (EOS, padding, as TRL's completion ids end) are dropped
  first. Otherwise ``model`` (the policy checkpoint or the server that serves it) scores
  two continuations in the batch's one backend call: the reasoning after the prompt, and
  the answer after the prompt and the reasoning (``likelihood.base``). Each is tokenised
  in its own context, so a straddling token's reasoning part is scored on both sides.

Failure modes (status error, the item alone): no log-probs and no ``model``; log-probs
and no tokenizer to decode their ids (or one that cannot load); ids and log-probs of
different lengths; a log-prob that is NaN, infinite or positive; ids that
do not decode to the completion (pass the completion's own ids); a missing marker under
``missing="fail"``; the backend failing.

The terms are on different scales: the mean stays near a per-token constant while the
sum grows with the answer's length, so a long answer is paid less. Normalise within the
group (``transform.group_zscore``) before mixing it with other rewards.

How it can be gamed: it pays confident text, not correct text. A one-token answer keeps
the sum near 0; no reasoning at all earns the best reasoning term (0); reasoning made
repetitive or formulaic raises its mean log-prob; and the policy can lower its entropy
everywhere (collapse) to raise both terms. Pair it with a verifier, and with a format
reward that requires the reasoning.

Example:
    >>> r = Confidence(ConfidenceParams(tokenizer="path/to/policy"))  # doctest: +SKIP
    >>> s = Sample(prompt="2+3?", completion="<think>2+3=5</think><answer>5</answer>",
    ...            tokens=Tokens(ids=ids, logprobs=logprobs))  # doctest: +SKIP
    >>> r.score([s])[0].parts  # doctest: +SKIP
    {'reasoning': -0.21, 'answer': -0.03}
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, Literal

from pydantic import Field, model_validator

from rewardsmith.core import Paper, Sample, Score, register
from rewardsmith.errors import ConfigError
from rewardsmith.likelihood.base import (
    LikelihoodParams,
    LikelihoodReward,
    Pair,
    assistant_prefix,
    prompt_text,
    user_turns,
)
from rewardsmith.models.base import Backend, TokenLogprobs
from rewardsmith.models.load import resolve_backend
from rewardsmith.verifiable.extract import answer_span

__all__ = ["DRM", "Confidence", "ConfidenceParams", "answer_span", "tokens_before"]

DRM = Paper(
    "From <Answer> to <Think>: Multidimensional Supervision of Reasoning Process for LLM "
    "Optimization",
    "2510.11457",
)
NO_LOGPROBS = "no token log-probs: pass Sample.tokens.logprobs or set model"


class ConfidenceParams(LikelihoodParams):
    """Parameters of ``process.confidence`` (see the module docstring)."""

    model: str | None = Field(None, min_length=1)  # type: ignore[assignment]
    """Scores items without ``Sample.tokens.logprobs``: the policy (a local directory, a
    ``.gguf`` file, a hub id, or an OpenAI-compatible server URL); None: those items fail."""
    tokenizer: str | None = None
    """The policy's tokenizer: decodes ``Sample.tokens.ids`` (default: a local model's
    own) and renders the chat for a served model."""
    answer_start: str = Field("<answer>", min_length=1)
    """The answer begins at this marker's first occurrence (the marker is in A)."""
    answer_end: str = "</answer>"
    """The answer ends with this marker's first occurrence after ``answer_start`` (in A);
    "" or not found: at the end of the completion."""
    missing: Literal["fail", "reasoning"] = "fail"
    """A completion without ``answer_start``: an error, or all reasoning (answer term 0)."""

    @model_validator(mode="after")
    def _served_needs_text(self) -> ConfidenceParams:  # replaces the base's check
        if self.model is None:
            return self
        served = resolve_backend(self.model, self.backend) != "hf"
        if served and self.chat and self.tokenizer is None:
            raise ValueError(
                "a served model takes text: set tokenizer (the policy's tokenizer, to render "
                "its chat template here) or chat: false"
            )
        return self


@register(
    summary="the policy's own confidence: mean log-prob of its reasoning plus the summed "
    "log-prob of its answer (DRM), from Sample.tokens.logprobs or one forward pass",
    paper=DRM,
)
class Confidence(LikelihoodReward):
    """DRM's Confidence: mean reasoning log-prob plus summed answer log-prob."""

    name = "process.confidence"
    params: ConfidenceParams

    def __init__(self, params: ConfidenceParams, backend: Backend | None = None) -> None:
        super().__init__(params, backend)  # no model: Sample.tokens only, no backend made
        self._decoder: Any = None

    @property
    def range(self) -> tuple[float, float]:
        return (-math.inf, 0.0)

    def part_names(self) -> Sequence[str]:
        return ("reasoning", "answer")

    def __getstate__(self) -> dict[str, Any]:
        return {**super().__getstate__(), "_decoder": None}

    def backend(self) -> Backend:
        if self.params.model is None and self._backend is None:
            raise ConfigError(NO_LOGPROBS)
        return super().backend()

    # -- the model: two continuations per item ----------------------------------------

    def pairs_for(self, sample: Sample) -> list[Pair]:
        if _given(sample):
            return []  # scored from Sample.tokens in ``value``
        if self.params.model is None and self._backend is None:
            raise ValueError(NO_LOGPROBS)
        text = sample.text
        span = self._span(text)
        prompt = self.prefix(user_turns(sample), prompt_text(sample))
        if span is None:
            return [(prompt, text)]
        at, end = span
        reasoning = text[:at]
        after = self.prefix(assistant_prefix(sample, reasoning), prompt_text(sample) + reasoning)
        return [(prompt, reasoning), (after, text[at:end])]

    def value(self, sample: Sample, results: list[TokenLogprobs]) -> Score:
        if _given(sample):
            return self._from_tokens(sample)
        answer = list(results[1].logprobs) if len(results) > 1 else []
        return _score(list(results[0].logprobs), answer, "model")

    # -- Sample.tokens: no forward pass -----------------------------------------------

    def _from_tokens(self, sample: Sample) -> Score:
        tokens = sample.tokens
        assert tokens is not None and tokens.logprobs is not None
        ids = [int(i) for i in tokens.ids]
        logprobs = [float(x) for x in tokens.logprobs]
        if len(ids) != len(logprobs):
            raise ValueError(f"Sample.tokens has {len(ids)} ids but {len(logprobs)} log-probs")
        bad = next((k for k, x in enumerate(logprobs) if not (math.isfinite(x) and x <= 0)), None)
        if bad is not None:
            raise ValueError(
                f"Sample.tokens.logprobs[{bad}] is {logprobs[bad]}: log-probs are finite and <= 0"
            )
        tok = self.decoder()
        length = _prefix_lengths(tok, ids)
        text = sample.text
        n = _kept(tok, ids, length, text)
        span = self._span(text)
        if span is None:
            r = stop = n
        else:
            r = tokens_before(length, n, span[0])
            stop = tokens_before(length, n, span[1] - 1) + 1
        return _score(logprobs[:r], logprobs[r:stop], "tokens", dropped=len(ids) - stop)

    def decoder(self) -> Any:
        """The policy's tokenizer, loaded on first use (a failure is kept and repeated)."""
        if self._decoder is None:
            source = self.params.tokenizer
            if source is None and self.kind == "hf":
                source = self.params.model
            if source is None:
                self._decoder = ValueError(
                    "Sample.tokens.ids need the policy's tokenizer to find the answer: set tokenizer"
                )
            else:
                try:
                    import transformers

                    from rewardsmith.models.loading import load_tokenizer

                    self._decoder = load_tokenizer(transformers, source)
                except Exception as exc:
                    self._decoder = ValueError(f"cannot load tokenizer {source!r}: {exc}")
        if isinstance(self._decoder, Exception):
            raise self._decoder
        return self._decoder

    def _span(self, text: str) -> tuple[int, int] | None:
        p = self.params
        span = answer_span(text, p.answer_start, p.answer_end)
        if span is None and p.missing == "fail":
            raise ValueError(
                f"the completion has no {p.answer_start!r}: no answer to score "
                "(missing='reasoning' scores it as all reasoning)"
            )
        return span


def tokens_before(length: Callable[[int], int], n: int, char: int) -> int:
    """How many of ``n`` tokens end at or before character ``char``: the index of the
    first token whose span ends after it (``n`` if none). ``length(k)`` is the length of
    the first ``k`` tokens decoded, non-decreasing in ``k``; binary search, log n calls."""
    lo, hi = 0, n
    while lo < hi:
        mid = (lo + hi) // 2
        if length(mid + 1) > char:
            hi = mid
        else:
            lo = mid + 1
    return lo


def _given(sample: Sample) -> bool:
    return sample.tokens is not None and sample.tokens.logprobs is not None


def _prefix_lengths(tok: Any, ids: list[int]) -> Callable[[int], int]:
    seen: dict[int, int] = {}

    def length(k: int) -> int:
        if k not in seen:
            seen[k] = len(tok.decode(ids[:k], skip_special_tokens=False))
        return seen[k]

    return length


def _kept(tok: Any, ids: list[int], length: Callable[[int], int], text: str) -> int:
    """How many leading ids are the completion: all, or all but a trailing run of special
    tokens (EOS, padding); ValueError saying where the decoded text departs."""
    decoded = tok.decode(ids, skip_special_tokens=False)
    if decoded == text:
        return len(ids)
    special = set(getattr(tok, "all_special_ids", ()) or ())
    n = len(ids)
    while n and ids[n - 1] in special:
        n -= 1
    if n < len(ids) and tok.decode(ids[:n], skip_special_tokens=False) == text:
        return n
    pairs = zip(decoded, text, strict=False)
    at = next((i for i, (a, b) in enumerate(pairs) if a != b), min(len(decoded), len(text)))
    raise ValueError(
        f"Sample.tokens.ids decode to text that departs from the completion at character {at} "
        f"({decoded[at : at + 20]!r} where the completion has {text[at : at + 20]!r}): pass the "
        "completion's own ids"
    )


def _score(reasoning: list[float], answer: list[float], source: str, dropped: int = 0) -> Score:
    mean = math.fsum(reasoning) / len(reasoning) if reasoning else 0.0
    total = math.fsum(answer)
    info: dict[str, Any] = {
        "reasoning_tokens": len(reasoning),
        "answer_tokens": len(answer),
        "source": source,
    }
    if dropped:
        info["dropped_tokens"] = dropped
    return Score(mean + total, parts={"reasoning": mean, "answer": total}, info=info)
