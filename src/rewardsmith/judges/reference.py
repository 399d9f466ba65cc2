"""``judge.reference``: a judge says whether the completion's final answer matches the
reference, YES or NO.

What it computes: the reference-based binary verification of One Token to Fool /
Master-RM (arXiv 2507.08794), the setting of Cooper's and Libra's verifiers: the judge
reads the question, the completion and the reference answer and outputs YES or NO. The
value is the share of YES over ``samples`` verdicts. With ``probability: true`` it is
P(YES) instead, read from the judge's log-probabilities of the two words after the
rendered prompt (one scoring call, no sampling; the backend must return log-probs: a
local model, or a server with prompt log-probs such as vLLM).

Range: [0, 1]. ``Sample.reference`` is a string, a list's first item, or a dict's
``answer``. The judge reads the completion's last line with content, closing tags skipped (``response:
last_line``, the default): the prompt's "Solution Process (Final Step Only)", as the
paper's scoring scripts send it and Master-RM was trained to read; ``response: full``
sends the whole completion.

How it can be gamed: the paper's master keys (":", ".", "Thought process:", "Solution",
"解", ...) are the attack this reward exists to stop: with ``pregate`` on (the default)
every degenerate completion is scored 0 by rule, with the reason, and the judge is never
asked; with ``last_line`` the line the judge would read is gated too, so a right answer
followed by a lone ":" line is not sent as ":". The parser accepts YES or NO alone (markdown and quotes aside): "YES, but..." or
a verdict inside ``<think>`` is a parse failure, never a YES. Use a judge trained
against the keys (Master-RM) for what the rule cannot see.

Paper: One Token to Fool LLM-as-a-Judge (arXiv 2507.08794).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any, Literal

from rewardsmith.core import Paper, Sample, Score, register
from rewardsmith.core.reward import is_strict
from rewardsmith.judges.base import JudgeItem, completion_text, prompt_text
from rewardsmith.judges.core import Ask, JudgeParams
from rewardsmith.judges.parse import yes_no
from rewardsmith.judges.pregate import degenerate
from rewardsmith.judges.rm.score import reference_text
from rewardsmith.models.base import ModelError, failed_score

__all__ = ["ONE_TOKEN", "JudgeReference", "JudgeReferenceParams"]

ONE_TOKEN = Paper("One Token to Fool LLM-as-a-Judge", "2507.08794")


class JudgeReferenceParams(JudgeParams):
    """Parameters of ``judge.reference`` (the judge core's, and ``probability``)."""

    probability: bool = False
    """The value is P(YES) from log-probs, not the share of sampled YES verdicts."""
    response: Literal["last_line", "full"] = "last_line"
    """What the judge reads as the solution: the completion's last non-empty line (the
    paper's scripts, Master-RM's training input) or the whole completion."""


_TAGS = re.compile(r"</?[A-Za-z][\w-]*>")


def last_line(text: str) -> str:
    """The last line of ``text`` with anything but whitespace and tags on it ("" if none):
    in ``<answer>\n5\n</answer>`` the line is ``5``, not the closing tag."""
    return next((line for line in reversed(text.split("\n")) if _TAGS.sub("", line).strip()), "")


@register(
    summary="a judge's YES/NO on whether the final answer matches the reference", paper=ONE_TOKEN
)
class JudgeReference(JudgeItem):
    name = "judge.reference"
    template_name = "master_rm"

    def __init__(self, params: JudgeReferenceParams, backend: Any = None) -> None:
        super().__init__(params, backend)
        self.probability = params.probability
        self.response = params.response

    def judged(self, sample: Sample) -> str:
        """The solution text the judge reads."""
        text = completion_text(sample)
        return last_line(text) if self.response == "last_line" else text

    def pregated(self, sample: Sample) -> str | None:
        reason = super().pregated(sample)
        if reason is None and self.params.pregate and self.response == "last_line":
            reason = degenerate(self.judged(sample), prompt_text(sample))
        return reason

    @property
    def range(self) -> tuple[float, float]:
        return (0.0, 1.0)

    def ask_for(self, sample: Sample) -> Ask:
        messages = self.core.template.render(
            question=prompt_text(sample),
            reference=reference_text(sample.reference),
            response=self.judged(sample),
        )
        return Ask(messages, yes_no)

    def value(self, verdicts: list[Any]) -> float:
        return sum(1.0 for v in verdicts if v) / len(verdicts)

    def score(self, samples: Sequence[Sample]) -> list[Score]:
        if not self.probability:
            return super().score(samples)
        return self._probabilities(samples)

    def _probabilities(self, samples: Sequence[Sample]) -> list[Score]:
        out: list[Score | None] = [None] * len(samples)
        pairs: list[tuple[Any, str]] = []
        where: list[int] = []
        for i, sample in enumerate(samples):
            try:
                reason = self.pregated(sample)
                if reason is not None:
                    out[i] = Score(0.0, info={"pregate": reason, "calls": 0})
                    continue
                messages = self.ask_for(sample).messages
                pairs += [(messages, "YES"), (messages, "NO")]
                where.append(i)
            except Exception as exc:
                if is_strict():
                    raise
                out[i] = Score.failed(exc)
        if pairs:
            try:
                got = self.core.backend().continuation_logprobs(pairs)
            except Exception as exc:
                if is_strict():
                    raise
                got = [ModelError.of(exc)] * len(pairs)
            for k, i in enumerate(where):
                yes, no = got[2 * k], got[2 * k + 1]
                if isinstance(yes, ModelError) or isinstance(no, ModelError):
                    bad = yes if isinstance(yes, ModelError) else no
                    assert isinstance(bad, ModelError)
                    out[i] = failed_score(bad, {"judge": self.core.template.key})
                    continue
                gap = no.total - yes.total
                p_yes = 1.0 / (1.0 + math.exp(gap)) if gap < 700 else 0.0
                info = {
                    "judge": self.core.template.key,
                    "logprob_yes": yes.total,
                    "logprob_no": no.total,
                }
                out[i] = Score(p_yes, info=info)
        return [s if s is not None else Score.skipped("not scored") for s in out]
