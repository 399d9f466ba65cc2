"""What the item judges share: the pre-gate, one ask per sample, the verdicts voted into a
value, and every failure a status (``JudgeItem``). Each judge says how to ask
(``ask_for``) and how its verdicts make a value (``value``)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

from rewardsmith.core import ItemReward, Sample, Score
from rewardsmith.core.reward import is_strict
from rewardsmith.judges.core import Answer, Ask, JudgeCore, JudgeParams
from rewardsmith.judges.pregate import degenerate
from rewardsmith.judges.rm.score import plain_text
from rewardsmith.models.base import Backend

__all__ = ["JudgeItem", "completion_text", "group_question", "pregate_reason", "prompt_text"]


def prompt_text(sample: Sample) -> str:
    """The prompt as text (chat messages' contents, one a line)."""
    return plain_text(sample.prompt)


def completion_text(sample: Sample) -> str:
    """The completion as text (chat messages' contents, one a line)."""
    return plain_text(sample.completion)


def pregate_reason(params: JudgeParams, sample: Sample) -> str | None:
    """Why the pre-gate scores ``sample`` by rule (None: ask the judge, or the gate is off)."""
    return degenerate(completion_text(sample), prompt_text(sample)) if params.pregate else None


def group_question(name: str, samples: Sequence[Sample], members: Sequence[int]) -> str:
    """The prompt text a group shares; ``ValueError`` (the group fails) when it differs."""
    question = prompt_text(samples[members[0]])
    if any(prompt_text(samples[i]) != question for i in members[1:]):
        raise ValueError(f"{name}: the samples of a group have different prompts")
    return question


class JudgeItem(ItemReward):
    """An item reward asked of a generative judge; the batch goes to the judge at once."""

    template_name: ClassVar[str] = ""
    work = "model"
    max_chars = None  # the judge's prompt is the limit; the server truncates or refuses

    def __init__(self, params: JudgeParams, backend: Backend | None = None) -> None:
        self.params = params
        self.core = JudgeCore(params, self.template_name, backend)

    @property
    def floor(self) -> float:
        """What a degenerate completion gets from the pre-gate: the bottom of the range."""
        return self.range[0]

    def pregated(self, sample: Sample) -> str | None:
        """Why the pre-gate scores ``sample`` by rule (None: ask the judge)."""
        return pregate_reason(self.params, sample)

    def ask_for(self, sample: Sample) -> Ask:
        raise NotImplementedError

    def value(self, verdicts: list[Any]) -> float:
        raise NotImplementedError

    def score_one(self, sample: Sample) -> Score:
        return self.score([sample])[0]

    def score(self, samples: Sequence[Sample]) -> list[Score]:
        out: list[Score | None] = [None] * len(samples)
        asks: list[Ask] = []
        where: list[int] = []
        for i, sample in enumerate(samples):
            try:
                reason = self.pregated(sample)
                if reason is not None:
                    out[i] = Score(self.floor, info={"pregate": reason, "calls": 0})
                    continue
                asks.append(self.ask_for(sample))
                where.append(i)
            except Exception as exc:
                if is_strict():
                    raise
                out[i] = Score.failed(exc)
        answers = self.core.ask(asks) if asks else []
        self.core.check_failures(answers)
        for i, answer in zip(where, answers, strict=True):
            out[i] = self.to_score(answer)
        return [s if s is not None else Score.skipped("not scored") for s in out]

    def to_score(self, answer: Answer) -> Score:
        if answer.error is not None:
            return answer.failed({"judge": self.core.template.key})
        value = self.value(answer.verdicts)
        info = {"judge": self.core.template.key, **answer.info()}
        if not math.isfinite(value):
            return Score.failed(ValueError(f"non-finite judge value {value}"))
        return Score(value, info=info)
