"""``judge.pointwise``: a generalist generative reward model writes criteria, a critique
and a 1-10 score; several samples are voted.

What it computes: DeepSeek-GRM's pointwise generative reward (arXiv 2504.02495). The judge
writes the criteria that matter for the query with their weights, analyses the
completion against them, and ends with ``Scores: \\boxed{s}``, an integer from 1 to 10.
Inference-time scaling: ``samples`` (k) critiques are drawn and voted; the paper sums
the k scores (range k..10k), this reward takes their mean (the same order, range
1..10). With ``meta_model`` (a reward model that scores a critique, the paper's
meta RM), only the ``meta_top`` best-rated critiques vote.

Group mode (``responses: group``): the paper's multi-response prompt. A GRPO group's
completions go into one prompt as responses 1..N, the judge gives one score per response
(``\boxed{s1, ..., sN}``), and each of the ``samples`` verdicts sees the group in a new
order (seeded by ``seed``, the group and the sample: the paper shuffles per sample against
position bias); a completion's value is the mean of its scores. Degenerate completions
are left out of the prompt and get 1. A verdict with the wrong number of scores is a
parse failure; a failed group fails its items. The meta RM applies to ``one`` only.

Range: [1, 10]. Sampling: set ``temperature`` above 0 when ``samples`` > 1 (at 0 the k
critiques are the same).

How it can be gamed: degenerate completions get 1 from the pre-gate without a call; a
completion that writes its own ``\\boxed{10}`` is only text inside the query the judge
reads (the judge's last box, after its thinking, counts); integer scores tie often, which
voting smooths (the paper's point). Flattery and length are the judge model's to resist.

Paper: Inference-Time Scaling for Generalist Reward Modeling (DeepSeek-GRM, arXiv
2504.02495).
"""

from __future__ import annotations

import functools
import random
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import Field

from rewardsmith.core import Paper, Sample, Score, register
from rewardsmith.core.reward import group_indices, is_strict
from rewardsmith.judges.base import JudgeItem, completion_text, group_question, prompt_text
from rewardsmith.judges.core import Answer, Ask, JudgeParams
from rewardsmith.judges.parse import ParseError, boxed_scores
from rewardsmith.models.base import ModelError
from rewardsmith.models.load import load_backend

__all__ = ["DEEPSEEK_GRM", "JudgePointwise", "JudgePointwiseParams"]

DEEPSEEK_GRM = Paper(
    "Inference-Time Scaling for Generalist Reward Modeling (DeepSeek-GRM)", "2504.02495"
)


class JudgePointwiseParams(JudgeParams):
    """Parameters of ``judge.pointwise`` (the judge core's, and the meta RM's)."""

    meta_model: str | None = None
    """A reward model (local or served, as in ``rm.score``) that rates each critique."""
    meta_top: int | None = Field(None, ge=1)
    """How many of the best-rated critiques vote; None: all."""
    responses: Literal["one", "group"] = "one"
    """``group``: the GRPO group in one prompt, shuffled per sample (see above)."""


def _one_score(text: str) -> int:
    return boxed_scores(text, n=1)[0]


@register(
    summary="a generative judge's critique and 1-10 score, k samples voted", paper=DEEPSEEK_GRM
)
class JudgePointwise(JudgeItem):
    name = "judge.pointwise"
    template_name = "deepseek_grm"

    def __init__(
        self, params: JudgePointwiseParams, backend: Any = None, meta_backend: Any = None
    ) -> None:
        super().__init__(params, backend)
        if params.meta_top is not None and params.meta_model is None and meta_backend is None:
            raise ValueError("judge.pointwise: meta_top needs a meta_model")
        if params.responses == "group" and (params.meta_model or meta_backend is not None):
            raise ValueError("judge.pointwise: the meta RM applies to responses='one' only")
        self._meta = meta_backend
        self.meta_model = params.meta_model

    @property
    def needs_group(self) -> bool:  # type: ignore[override]
        return self.params.responses == "group"  # type: ignore[attr-defined, no-any-return]

    @property
    def range(self) -> tuple[float, float]:
        return (1.0, 10.0)

    def ask_for(self, sample: Sample) -> Ask:
        responses = f"#### Response 1 ####\n{completion_text(sample)}"
        return Ask(
            self.core.template.render(question=prompt_text(sample), responses=responses), _one_score
        )

    def score(self, samples: Sequence[Sample]) -> list[Score]:
        if self.params.responses == "one":  # type: ignore[attr-defined]
            return super().score(samples)
        out: list[Score | None] = [None] * len(samples)
        plans: list[tuple[list[int], list[list[int]]]] = []  # (live members, order per sample)
        asks: list[Ask] = []
        for members in group_indices(samples):
            try:
                live, orders, group_asks = self._group_asks(samples, members, out)
            except Exception as exc:
                if is_strict():
                    raise
                for i in members:
                    out[i] = Score.failed(exc)
                continue
            if live:
                plans.append((live, orders))
                asks.extend(group_asks)
        answers = self.core.ask(asks, samples=1) if asks else []
        self.core.check_failures(answers)
        at = 0
        for live, orders in plans:
            mine = answers[at : at + len(orders)]
            at += len(orders)
            for i, score in zip(live, self._group_scores(mine, live, orders), strict=True):
                out[i] = score
        return [s if s is not None else Score.skipped("not scored") for s in out]

    def _group_asks(
        self, samples: Sequence[Sample], members: list[int], out: list[Score | None]
    ) -> tuple[list[int], list[list[int]], list[Ask]]:
        """One ask per sample for a group, each listing its live members in a new order."""
        question = group_question(self.name, samples, members)
        live = []
        for i in members:
            reason = self.pregated(samples[i])
            if reason is not None:
                out[i] = Score(self.floor, info={"pregate": reason, "calls": 0})
            else:
                live.append(i)
        orders, asks = [], []
        group = samples[members[0]].group
        for v in range(self.params.samples):
            order = list(live)
            random.Random(f"{self.params.seed}:{group}:{len(members)}:{v}").shuffle(order)
            text = "\n\n".join(
                f"#### Response {k + 1} ####\n{completion_text(samples[i])}"
                for k, i in enumerate(order)
            )
            n = len(order)
            messages = self.core.template.render(question=question, responses=text)
            asks.append(Ask(messages, functools.partial(boxed_scores, n=n)))
            orders.append(order)
        return live, orders, asks

    def _group_scores(
        self, answers: list[Answer], live: list[int], orders: list[list[int]]
    ) -> list[Score]:
        info: dict[str, Any] = {
            "judge": self.core.template.key,
            "calls": sum(a.calls for a in answers),
            "parse_failures": sum(a.parse_failures for a in answers),
        }
        failed = next((a for a in answers if a.error is not None), None)
        if failed is not None:
            return [failed.failed(info) for _ in live]
        votes: dict[int, list[int]] = {i: [] for i in live}
        for answer, order in zip(answers, orders, strict=True):
            for i, s in zip(order, answer.verdicts[0], strict=True):
                votes[i].append(s)
        return [Score(self.value(votes[i]), info={**info, "verdicts": votes[i]}) for i in live]

    def value(self, verdicts: list[Any]) -> float:
        return float(sum(verdicts)) / len(verdicts)

    def meta_backend(self) -> Any:
        if self._meta is None and self.meta_model is not None:
            self._meta = load_backend(self.meta_model)
        return self._meta

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_meta": None}

    def to_score(self, answer: Answer) -> Score:
        top = self.params.meta_top  # type: ignore[attr-defined]
        if answer.error is None and self.meta_backend() is not None:
            answer = self._meta_filtered(answer, top)
        return super().to_score(answer)

    def _meta_filtered(self, answer: Answer, top: int | None) -> Answer:
        """Keep the critiques the meta RM rates best (all rated; the top ``top`` vote)."""
        parsed = [
            (text, score) for text in answer.raw if (score := _score_or_none(text)) is not None
        ]
        ratings = self.meta_backend().classify(
            [[*answer.prompt, {"role": "assistant", "content": text}] for text, _ in parsed]
        )
        bad = next((r for r in ratings if isinstance(r, ModelError)), None)
        if bad is not None:
            return Answer(raw=answer.raw, calls=answer.calls, error=bad)
        rated = sorted(
            zip(
                (next(iter(r.values())) for r in ratings),
                (score for _, score in parsed),
                strict=True,
            ),
            key=lambda x: -x[0],
        )
        keep = rated[: top or len(rated)]
        return Answer([v for _, v in keep], answer.raw, answer.calls, answer.parse_failures)


def _score_or_none(text: str) -> int | None:
    try:
        return _one_score(text)
    except ParseError:
        return None
