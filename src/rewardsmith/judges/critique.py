"""``judge.critique``: RM-NLHF's reward for a generative reward model whose critique must be
right for the right reasons.

What it computes: the policy here is a pairwise judge (RM-R1 format: a critique, then
``<answer>[[A]]</answer>`` or ``[[B]]``), trained on preference pairs that carry a human
critique (HelpSteer3's). RM-NLHF (arXiv 2601.07349) found such judges pick the right
label with a wrong critique 20-44% of the time, so the reward has two terms:

- ``outcome``: R_out = 1 if the completion's verdict is the gold label, else 0 (a
  completion with no readable verdict gets 0: it is the policy's output, not a judge's);
- ``process``: R_proc, the F1 overlap of the core arguments of the completion's critique
  and of the human critique. An extractor model (the judge core, this module's template)
  lists each critique's arguments as JSON; arguments are matched one to one by sentence
  embeddings (cosine at least ``threshold``, optimal assignment, as ``search.o2_searcher``
  matches findings); F1 = 2PR / (P + R).

Value (``combine``; the paper's formula was not found): ``gate`` (default), R_out x R_proc,
so a right label earns only as much as its reasoning overlaps the human's and a wrong
label earns 0 (the extractor is then not asked); ``sum``, R_out + R_proc. Both terms are
``parts``. Range: [0, 1] (``gate``), [0, 2] (``sum``).

``Sample.reference``: ``{"label": "A" or "B", "critique": "..."}``.

How it can be gamed: listing many arguments raises recall but costs precision (F1); a
critique copied from the prompt's responses is not the human's reasoning and matches
little; the extractor and the embedding matcher are proxies the policy may learn to
please (the paper's pitfall: noisy extraction caps the reward); degenerate completions
get 0 from the pre-gate without a call. Extractor failures are error statuses, never 0.

Paper: Reward Modeling from Natural Language Human Feedback (RM-NLHF, arXiv 2601.07349).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
from pydantic import Field

from rewardsmith.core import ItemReward, Paper, Sample, Score, register
from rewardsmith.core.reward import is_strict
from rewardsmith.judges.base import completion_text, pregate_reason
from rewardsmith.judges.core import Ask, JudgeCore, JudgeParams
from rewardsmith.judges.parse import ParseError, ab_verdict, json_object
from rewardsmith.models.base import Backend
from rewardsmith.models.embeddings import DEFAULT_EMBEDDING_MODEL, Embedder, SentenceEmbedder
from rewardsmith.verifiable.search.o2_open import fact_f1

__all__ = ["RM_NLHF", "JudgeCritique", "JudgeCritiqueParams", "arguments"]

RM_NLHF = Paper("Reward Modeling from Natural Language Human Feedback (RM-NLHF)", "2601.07349")
MAX_ARGUMENTS = 32


class JudgeCritiqueParams(JudgeParams):
    """Parameters of ``judge.critique`` (the extractor's judge-core ones, and these)."""

    combine: Literal["gate", "sum"] = "gate"
    threshold: float = Field(0.7, gt=0.0, le=1.0)
    """The cosine two arguments need to match."""
    embedding_model: str = DEFAULT_EMBEDDING_MODEL


def arguments(text: str) -> list[str]:
    """The extractor's ``{"arguments": [...]}``: up to ``MAX_ARGUMENTS`` non-empty strings."""
    data = json_object(text)
    if (
        not isinstance(data, dict)
        or set(data) != {"arguments"}
        or not isinstance(data["arguments"], list)
    ):
        raise ParseError('the object needs exactly "arguments", a list')
    found = data["arguments"]
    if len(found) > MAX_ARGUMENTS or not all(isinstance(a, str) and a.strip() for a in found):
        raise ParseError(f"arguments must be at most {MAX_ARGUMENTS} non-empty strings")
    return [a.strip() for a in found]


def _gold(sample: Sample) -> tuple[str, str]:
    ref = sample.reference
    if not isinstance(ref, Mapping) or ref.get("label") not in ("A", "B"):
        raise ValueError("judge.critique needs reference {'label': 'A' or 'B', 'critique': ...}")
    critique = ref.get("critique")
    if not isinstance(critique, str) or not critique.strip():
        raise ValueError("judge.critique needs the human critique: reference['critique']")
    return str(ref["label"]), critique


@register(
    summary="a judge-policy's label right (outcome) and its arguments matching the human critique (process, F1)",
    paper=RM_NLHF,
)
class JudgeCritique(ItemReward):
    """Per item; the extractor's calls for a whole batch go out together."""

    name = "judge.critique"
    work = "model"
    max_chars = None

    def __init__(
        self,
        params: JudgeCritiqueParams,
        backend: Backend | None = None,
        embedder: Embedder | None = None,
    ) -> None:
        self.params = params
        self.core = JudgeCore(params, "rm_nlhf_arguments", backend)
        self._embedder = embedder

    @property
    def range(self) -> tuple[float, float]:
        return (0.0, 1.0) if self.params.combine == "gate" else (0.0, 2.0)

    def part_names(self) -> list[str]:
        return ["outcome", "process"]

    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = SentenceEmbedder(self.params.embedding_model)
        return self._embedder

    def __getstate__(self) -> dict[str, Any]:
        return {
            **self.__dict__,
            "_embedder": None if isinstance(self._embedder, SentenceEmbedder) else self._embedder,
        }

    def score_one(self, sample: Sample) -> Score:
        return self.score([sample])[0]

    def score(self, samples: Sequence[Sample]) -> list[Score]:
        out: list[Score | None] = [None] * len(samples)
        todo: list[tuple[int, float]] = []  # (item, R_out) whose arguments are needed
        asks: list[Ask] = []
        for i, sample in enumerate(samples):
            try:
                text = completion_text(sample)
                reason = pregate_reason(self.params, sample)
                if reason is None:
                    label, human = _gold(sample)
                else:
                    out[i] = Score(
                        0.0,
                        parts={"outcome": 0.0, "process": 0.0},
                        info={"pregate": reason, "calls": 0},
                    )
                    continue
                try:
                    outcome = 1.0 if ab_verdict(text) == label else 0.0
                except ParseError as exc:
                    outcome, why = 0.0, str(exc)
                    if self.params.combine == "gate":
                        out[i] = Score(
                            0.0, parts={"outcome": 0.0}, info={"verdict": why, "calls": 0}
                        )
                        continue
                if self.params.combine == "gate" and outcome == 0.0:
                    out[i] = Score(0.0, parts={"outcome": 0.0}, info={"calls": 0})
                    continue
                asks += [self._ask(_critique(text)), self._ask(human)]
                todo.append((i, outcome))
            except Exception as exc:
                if is_strict():
                    raise
                out[i] = Score.failed(exc)
        answers = self.core.ask(asks) if asks else []
        self.core.check_failures(answers)
        for k, (i, outcome) in enumerate(todo):
            mine, theirs = answers[2 * k], answers[2 * k + 1]
            info: dict[str, Any] = {
                "judge": self.core.template.key,
                "calls": mine.calls + theirs.calls,
            }
            bad = mine if mine.error is not None else theirs if theirs.error is not None else None
            if bad is not None:
                out[i] = bad.failed(info)
                continue
            try:
                process, p, r = self._f1(mine.verdicts[0], theirs.verdicts[0])
            except Exception as exc:
                if is_strict():
                    raise
                out[i] = Score.failed(exc)
                continue
            value = outcome * process if self.params.combine == "gate" else outcome + process
            info.update(
                arguments=len(mine.verdicts[0]),
                human_arguments=len(theirs.verdicts[0]),
                precision=p,
                recall=r,
            )
            out[i] = Score(value, parts={"outcome": outcome, "process": process}, info=info)
        return [s if s is not None else Score.skipped("not scored") for s in out]

    def _ask(self, critique: str) -> Ask:
        return Ask(self.core.template.render(critique=critique), arguments)

    def _f1(self, mine: list[str], theirs: list[str]) -> tuple[float, float, float]:
        """(F1, P, R) of the two argument lists under embedding matching."""
        if not mine or not theirs:
            return 0.0, 0.0, 0.0
        vectors = np.asarray(self.embedder().embed([*mine, *theirs]), dtype=float)
        p, r, f1 = fact_f1(vectors[: len(mine)], vectors[len(mine) :], self.params.threshold)
        return f1, p, r


def _critique(text: str) -> str:
    """The completion without its final verdict tag (the label is scored apart)."""
    cut = text.rfind("<answer>")
    return text[:cut].strip() if cut >= 0 else text
