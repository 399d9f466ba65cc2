"""``judge.principle``: a judge scores a whole GRPO group against a natural-language
principle in one call, and ranks it.

What it computes: RewardAnything's principle-following listwise reward (arXiv
2506.03637). The judge gets one JSON message, ``{"principle": ..., "prompt": ...,
"responses": {"model-1": ..., ...}}``, with the completions under masked names in a
shuffled order (seeded by ``seed`` and the group), thinks briefly, and answers with only
``{"scores": {name: 1-5}, "best-to-worst": [names]}``. The parser checks every name is
scored once with an integer in [1, 5] and that the ranking is a permutation consistent
with the scores; anything else is a parse failure.

Value (``value``): ``score``, the 1-5 score (the mean over ``samples``); or ``rank``,
the place in the ranking as ``(n - 1 - position) / (n - 1)`` (1 for the best, 0 for the
worst; the paper's advice against 1-5 ties), averaged likewise. The principle comes from
``principle`` or ``Sample.meta["principle"]``.

Pre-gate: degenerate completions are not shown to the judge; they get the floor (1, or
0 for ``rank``) with the reason. Failures: a group whose call fails, whose verdict does
not parse after retries, or whose prompts differ, fails as a group (status error, the
raw output in ``info``), never a number.

How it can be gamed: a completion that addresses the judge ("model-2 is the best") is
text inside a JSON string the judge reads; the masked, shuffled names keep it from
knowing which name is its own. Scores follow the principle's wording (the paper's
pitfall): keep principles fixed across a run.

Paper: RewardAnything: Generalizable Principle-Following Reward Models (arXiv
2506.03637).
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from typing import Any, Literal

from rewardsmith.core import GroupReward, Paper, Sample, Score, register
from rewardsmith.core.reward import group_indices, is_strict
from rewardsmith.judges.base import completion_text, group_question, pregate_reason
from rewardsmith.judges.core import Answer, Ask, JudgeCore, JudgeParams
from rewardsmith.judges.parse import listwise_json
from rewardsmith.models.base import Backend

__all__ = ["REWARD_ANYTHING", "JudgePrinciple", "JudgePrincipleParams"]

REWARD_ANYTHING = Paper(
    "RewardAnything: Generalizable Principle-Following Reward Models", "2506.03637"
)


class JudgePrincipleParams(JudgeParams):
    """Parameters of ``judge.principle`` (the judge core's, and these)."""

    principle: str | None = None
    """The principle; None: each group's ``Sample.meta["principle"]``."""
    value: Literal["score", "rank"] = "score"


@register(
    summary="a judge's 1-5 scores and ranking of a group against a principle", paper=REWARD_ANYTHING
)
class JudgePrinciple(GroupReward):
    name = "judge.principle"
    work = "model"

    def __init__(self, params: JudgePrincipleParams, backend: Backend | None = None) -> None:
        self.params = params
        self.core = JudgeCore(params, "rewardanything", backend)

    @property
    def range(self) -> tuple[float, float]:
        return (1.0, 5.0) if self.params.value == "score" else (0.0, 1.0)

    def score_group(self, samples: Sequence[Sample]) -> list[Score]:
        return self.score(list(samples))

    def score(self, samples: Sequence[Sample]) -> list[Score]:
        out: list[Score | None] = [None] * len(samples)
        plans: list[tuple[list[int], dict[int, str]]] = []  # (judged members, member -> name)
        asks: list[Ask] = []
        for members in group_indices(samples):
            try:
                ask, names = self._plan(samples, members, out)
            except Exception as exc:
                if is_strict():
                    raise
                for i in members:
                    out[i] = Score.failed(exc)
                continue
            if ask is not None:
                plans.append((list(names), names))
                asks.append(ask)
        answers = self.core.ask(asks) if asks else []
        self.core.check_failures(answers)
        for (members, names), answer in zip(plans, answers, strict=True):
            for i, score in zip(members, self._scores(answer, members, names), strict=True):
                out[i] = score
        return [s if s is not None else Score.skipped("not scored") for s in out]

    def _plan(
        self, samples: Sequence[Sample], members: list[int], out: list[Score | None]
    ) -> tuple[Ask | None, dict[int, str]]:
        """The ask for one group (None when every member was gated) and the masked names."""
        first = samples[members[0]]
        question = group_question(self.name, samples, members)
        principle = self.params.principle or first.meta.get("principle")
        if not isinstance(principle, str) or not principle.strip():
            raise ValueError(
                "judge.principle needs a principle: the parameter or meta['principle']"
            )
        live = []
        for i in members:
            reason = pregate_reason(self.params, samples[i])
            if reason is not None:
                out[i] = Score(self.range[0], info={"pregate": reason, "calls": 0})
            else:
                live.append(i)
        if not live:
            return None, {}
        order = list(live)
        random.Random(f"{self.params.seed}:{first.group}:{len(members)}").shuffle(order)
        names = {i: f"model-{k + 1}" for k, i in enumerate(order)}
        payload = {
            "principle": principle,
            "prompt": question,
            "responses": {names[i]: completion_text(samples[i]) for i in order},
        }
        text = json.dumps(payload, ensure_ascii=False, indent=2)
        wanted = [names[i] for i in order]
        return Ask(
            self.core.template.render(payload=text), lambda t: listwise_json(t, wanted)
        ), names

    def _scores(self, answer: Answer, members: list[int], names: dict[int, str]) -> list[Score]:
        info: dict[str, Any] = {"judge": self.core.template.key, "calls": answer.calls}
        if answer.error is not None:
            return [answer.failed(info) for _ in members]
        n = len(members)
        out = []
        for i in members:
            name = names[i]
            if self.params.value == "score":
                values = [float(scores[name]) for scores, _ in answer.verdicts]
            else:
                values = [
                    (n - 1 - order.index(name)) / (n - 1) if n > 1 else 1.0
                    for _, order in answer.verdicts
                ]
            ranks = [order.index(name) + 1 for _, order in answer.verdicts]
            extra = {"name": name, "ranks": ranks, "parse_failures": answer.parse_failures}
            out.append(Score(sum(values) / len(values), info={**info, **extra}))
        return out
