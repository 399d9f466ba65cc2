"""The values that flow through rewardsmith: ``Sample`` in, ``Score`` out.

A wrong answer is ``Score(value=0.0, status="ok")``. A judge that crashed is
``Score(value=None, status="error")``: an infrastructure failure never looks like a
wrong answer. A completion that makes a checker time out earns the floor with
``status="timeout"`` and the reason in ``info``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

import orjson

__all__ = [
    "ItemError",
    "Message",
    "Sample",
    "Score",
    "Status",
    "Tokens",
    "completion_text",
    "prompt_group",
]

Message = Mapping[str, Any]
"""A chat message: ``{"role": ..., "content": ...}`` plus optional ``tool_calls``."""


class Status(StrEnum):
    """What happened to one item. Ordered from best to worst by ``rank``."""

    OK = "ok"
    SKIPPED = "skipped"
    TIMEOUT = "timeout"
    ERROR = "error"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Status.OK: 0, Status.SKIPPED: 1, Status.TIMEOUT: 2, Status.ERROR: 3}


@dataclass(frozen=True, slots=True)
class Tokens:
    """Per-token data from the policy, for rewards that need it (entropy, log-prob terms)."""

    ids: Sequence[int] = ()
    logprobs: Sequence[float] | None = None
    entropies: Sequence[float] | None = None


@dataclass(frozen=True, slots=True)
class Sample:
    """One rollout to score.

    Args:
        prompt: the prompt text, or chat messages.
        completion: the model's output text, or messages for multi-turn trajectories.
        reference: ground truth of any shape (an answer, tests, a rubric), or None.
        group: rollouts of one prompt share it (GRPO groups); None when unknown.
        meta: task extras (``data_source`` and any other column).
        tokens: optional per-token ids, log-probs and entropies.
    """

    prompt: str | Sequence[Message] = ""
    completion: str | Sequence[Message] = ""
    reference: Any = None
    group: str | int | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)
    tokens: Tokens | None = None

    @property
    def text(self) -> str:
        """The completion as text: the last assistant message for chat completions."""
        return completion_text(self.completion)


def prompt_group(prompt: str | Sequence[Message]) -> str:
    """The group of a rollout that names none: its prompt, so that rollouts of one prompt
    form one group (chat prompts by their JSON, the same on every path)."""
    return prompt if isinstance(prompt, str) else orjson.dumps(prompt, default=str).decode()


def completion_text(completion: str | Sequence[Message]) -> str:
    """Text of a completion: itself, or the content of its last assistant message."""
    if isinstance(completion, str):
        return completion
    for message in reversed(completion):
        if message.get("role", "assistant") == "assistant":
            content = message.get("content")
            if isinstance(content, str):
                return content
            if isinstance(content, list):  # OpenAI content parts
                return "".join(str(p.get("text", "")) for p in content if isinstance(p, Mapping))
            return ""
    return ""


@dataclass(frozen=True, slots=True)
class ItemError:
    """Why an item could not be scored: the exception's type name and message."""

    type: str
    message: str

    @classmethod
    def of(cls, exc: BaseException) -> ItemError:
        return cls(type(exc).__name__, str(exc))

    def __str__(self) -> str:
        return f"{self.type}: {self.message}"


@dataclass(frozen=True, slots=True)
class Score:
    """The result for one item.

    Args:
        value: the reward, or None when the item could not be scored.
        status: what happened (``ok``, ``error``, ``timeout``, ``skipped``).
        parts: every component that went into the value, by path.
        info: the extracted answer, a judge's rationale, reasons, timings.
        error: None, or why the item could not be scored.
    """

    value: float | None
    status: Status = Status.OK
    parts: Mapping[str, float] = field(default_factory=dict)
    info: Mapping[str, Any] = field(default_factory=dict)
    error: ItemError | None = None

    @classmethod
    def ok(cls, value: float, info: Mapping[str, Any] | None = None, **parts: float) -> Score:
        return cls(float(value), Status.OK, dict(parts), dict(info or {}))

    @classmethod
    def failed(cls, exc: BaseException, info: Mapping[str, Any] | None = None) -> Score:
        """An infrastructure failure: value None, status error."""
        return cls(None, Status.ERROR, {}, dict(info or {}), ItemError.of(exc))

    @classmethod
    def timed_out(
        cls,
        floor: float | None,
        reason: str,
        info: Mapping[str, Any] | None = None,
        error: ItemError | None = None,
    ) -> Score:
        """Work that ran past its limit: ``floor`` (the reward's value for an item it
        cannot check), status timeout, ``info["reason"]`` saying which limit."""
        return cls(floor, Status.TIMEOUT, {}, {**(info or {}), "reason": reason}, error)

    @classmethod
    def skipped(cls, reason: str) -> Score:
        return cls(None, Status.SKIPPED, {}, {"reason": reason})

    def with_(self, **changes: Any) -> Score:
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict with the five output columns."""
        return {
            "value": self.value,
            "status": str(self.status),
            "parts": dict(self.parts),
            "info": dict(self.info),
            "error": None
            if self.error is None
            else {"type": self.error.type, "message": self.error.message},
        }
