"""What every model backend offers, and how a failure comes back.

Model-based rewards (reward models, judges, likelihood rewards) never talk to a model
directly; they call a backend through this interface, so the same reward runs on a local
``transformers`` model or on any OpenAI-compatible server:

- ``classify(inputs)``: a sequence-classification (reward) model's scores, one mapping
  ``head name -> score`` per input (a one-label model: ``{"score": x}``);
- ``continuation_logprobs(pairs)``: for each ``(prefix, continuation)``, the log-probability
  of every token of the continuation given the prefix, with the token boundary exact: the
  continuation's tokens are those of ``prefix + continuation`` after the prefix's tokens;
- ``generate(prompts, ...)``: ``n`` sampled texts per prompt.

Each has an ``async`` twin (``aclassify``, ...). An input is text or chat messages
(``[{"role": ..., "content": ...}]``), rendered with the model's own chat template, or
``Rendered`` text (a chat rendered already: no special tokens are added to it).

Failures are data, as everywhere in rewardsmith: each method returns one result per
input, in input order, and an input that could not be processed gets a ``ModelError``
in its place (``timeout=True`` for a deadline), never a number and never an exception
for the batch. A backend that cannot do what is asked at all (a server without prompt
log-probs) raises ``Unsupported`` when the reward is built or first called, with what is
missing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeAlias, TypeVar, Union, runtime_checkable

from rewardsmith.core import ItemError, Score, Status
from rewardsmith.errors import RewardsmithError

__all__ = [
    "Backend",
    "Chat",
    "Generation",
    "ModelError",
    "ModelInput",
    "Rendered",
    "Result",
    "TokenLogprobs",
    "Unsupported",
    "failed_score",
    "texts_only",
]

Chat = Sequence[Mapping[str, str]]
ModelInput = str | Chat


class Rendered(str):
    """Text already rendered with the model's chat template (a prefix cut from a rendered
    conversation): a local model adds no special tokens to it (no second BOS); to a
    server it is plain text."""

    __slots__ = ()


T = TypeVar("T")


class Unsupported(RewardsmithError):
    """The backend cannot do this at all (a capability is missing), with what to change."""


@dataclass(frozen=True, slots=True)
class ModelError:
    """Why one input got no result: the error's type and message, and whether a deadline
    passed (``timeout``)."""

    type: str
    message: str
    timeout: bool = False

    @classmethod
    def of(cls, exc: BaseException, timeout: bool = False) -> ModelError:
        return cls(type(exc).__name__, str(exc)[:500], timeout)

    def __str__(self) -> str:
        return f"{self.type}: {self.message}"


Result: TypeAlias = Union[T, ModelError]  # noqa: UP007 (a generic alias)


def failed_score(error: ModelError, info: Mapping[str, object] | None = None) -> Score:
    """The Score of an item whose model call failed: no value, status error or timeout."""
    status = Status.TIMEOUT if error.timeout else Status.ERROR
    return Score(None, status, {}, dict(info or {}), ItemError(error.type, error.message))


@dataclass(frozen=True, slots=True)
class TokenLogprobs:
    """The log-probabilities of a continuation's tokens, in order."""

    tokens: tuple[str, ...]
    logprobs: tuple[float, ...]
    ids: tuple[int, ...] | None = None

    @property
    def total(self) -> float:
        """log p(continuation | prefix): the sum over its tokens."""
        return math.fsum(self.logprobs)

    @property
    def mean(self) -> float:
        """The mean log-probability per token (NaN for an empty continuation)."""
        return self.total / len(self.logprobs) if self.logprobs else math.nan


@dataclass(frozen=True, slots=True)
class Generation:
    """One prompt's sampled texts and what they cost, where the backend knows
    (``generate_detailed``): prompt tokens read and tokens generated, over all samples."""

    texts: list[str]
    tokens_in: int | None = None
    tokens_out: int | None = None


def texts_only(results: Sequence[Result[Generation]]) -> list[Result[list[str]]]:
    """``generate``'s answer from ``generate_detailed``'s: the texts, errors kept."""
    return [r if isinstance(r, ModelError) else r.texts for r in results]


@runtime_checkable
class Backend(Protocol):
    """A model behind one interface (see the module docstring)."""

    name: str

    def classify(self, inputs: Sequence[ModelInput]) -> list[Result[dict[str, float]]]: ...

    def continuation_logprobs(
        self, pairs: Sequence[tuple[ModelInput, str]]
    ) -> list[Result[TokenLogprobs]]: ...

    def generate(
        self,
        prompts: Sequence[ModelInput],
        *,
        max_new_tokens: int = 256,
        temperature: float = 1.0,
        n: int = 1,
        seed: int | None = None,
    ) -> list[Result[list[str]]]: ...

    async def aclassify(self, inputs: Sequence[ModelInput]) -> list[Result[dict[str, float]]]: ...

    async def acontinuation_logprobs(
        self, pairs: Sequence[tuple[ModelInput, str]]
    ) -> list[Result[TokenLogprobs]]: ...

    async def agenerate(
        self,
        prompts: Sequence[ModelInput],
        *,
        max_new_tokens: int = 256,
        temperature: float = 1.0,
        n: int = 1,
        seed: int | None = None,
    ) -> list[Result[list[str]]]: ...
