"""A scripted judge backend: ``reply(prompt_text, n, temperature, seed)`` decides what the
"judge" says, and every request is recorded."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from rewardsmith.models.base import ModelError, TokenLogprobs

Reply = Callable[[str, int, float, int | None], "list[str] | ModelError"]


def text_of(prompt: Any) -> str:
    if isinstance(prompt, str):
        return prompt
    return "\n".join(m["content"] for m in prompt)


@dataclass
class Scripted:
    """Answers ``generate`` with ``reply``; ``logprobs`` maps a continuation to its total."""

    reply: Reply
    logprobs: dict[str, float] = field(default_factory=dict)
    calls: list[tuple[str, int, float, int | None]] = field(default_factory=list)
    name: str = "scripted"

    def generate(
        self, prompts: Sequence[Any], *, max_new_tokens: int = 256, temperature: float = 1.0,
        n: int = 1, seed: int | None = None,
    ) -> list[list[str] | ModelError]:  # fmt: skip
        out = []
        for p in prompts:
            text = text_of(p)
            self.calls.append((text, n, temperature, seed))
            out.append(self.reply(text, n, temperature, seed))
        return out

    def continuation_logprobs(self, pairs: Sequence[tuple[Any, str]]) -> list[Any]:
        self.calls.extend((text_of(p), 1, 0.0, None) for p, _ in pairs)
        return [TokenLogprobs((c,), (self.logprobs[c],)) for _, c in pairs]

    def classify(self, inputs: Sequence[Any]) -> list[Any]:
        raise NotImplementedError


def always(*texts: str) -> Reply:
    """A judge that answers ``texts`` in turn, cycling, one per sample."""
    state = {"i": 0}

    def reply(_prompt: str, n: int, _t: float, _s: int | None) -> list[str]:
        out = []
        for _ in range(n):
            out.append(texts[state["i"] % len(texts)])
            state["i"] += 1
        return out

    return reply
