"""``judge.pointwise``: a generalist generative reward model writes criteria, a critique
and a 1-10 score; several samples are voted.

What it computes: DeepSeek-GRM's pointwise generative reward (arXiv 2504.02495). The judge
writes the criteria that matter for the query with their weights, analyses the
completion against them, and ends with ``Scores: \\boxed{s}``, an integer from 1 to 10.
Inference-time scaling: ``samples`` (k) critiques are drawn and voted; the paper sums
the k scores (range k..10k), this reward takes their mean (the same order, range
1..10). With ``meta_model`` (a reward model that scores a critique, the paper's
meta RM), only the ``meta_top`` best-rated critiques vote.

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

from typing import Any

from pydantic import Field

from rewardsmith.core import Paper, Sample, Score, register
from rewardsmith.judges.base import JudgeItem, completion_text, prompt_text
from rewardsmith.judges.core import Answer, Ask, JudgeParams
from rewardsmith.judges.parse import boxed_scores
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
        self._meta = meta_backend
        self.meta_model = params.meta_model

    @property
    def range(self) -> tuple[float, float]:
        return (1.0, 10.0)

    def ask_for(self, sample: Sample) -> Ask:
        responses = f"#### Response 1 ####\n{completion_text(sample)}"
        return Ask(
            self.core.template.render(question=prompt_text(sample), responses=responses), _one_score
        )

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
        parsed = [r for r in answer.raw if _parses(r)]
        ratings = self.meta_backend().classify(
            [[*answer.prompt, {"role": "assistant", "content": r}] for r in parsed]
        )
        if any(isinstance(r, ModelError) for r in ratings):
            bad = next(r for r in ratings if isinstance(r, ModelError))
            return Answer(raw=answer.raw, calls=answer.calls, error=bad)
        scored = sorted(
            zip(
                (next(iter(r.values())) for r in ratings),
                (_one_score(t) for t in parsed),
                strict=True,
            ),
            key=lambda x: -x[0],
        )
        keep = scored[: top or len(scored)]
        return Answer([v for _, v in keep], answer.raw, answer.calls, answer.parse_failures)


def _parses(text: str) -> bool:
    try:
        _one_score(text)
    except Exception:
        return False
    return True
