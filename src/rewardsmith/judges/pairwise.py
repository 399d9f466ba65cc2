"""``judge.pairwise``: a reasoning judge picks the better of two responses, in both orders.

What it computes: RM-R1's chain-of-rubrics pairwise judge (arXiv 2505.02387). The judge
classifies the task (reasoning or chat), writes a solution or a rubric, compares the two
responses and ends with ``<answer>[[A]]</answer>`` or ``<answer>[[B]]</answer>``. A
verdict is binary, so a per-rollout reward needs a comparison (the paper's pitfall):

- ``against: reference`` (default): the completion against a reference response
  (``Sample.reference``: a string, or a dict's ``response``);
- ``against: bootstrap``: Writing-Zero's BRPO reward (arXiv 2506.00103): one
  completion of the group, drawn at random (seeded by ``seed`` and the group), is the
  reference; every other completion is compared with it in both orders and ``samples``
  votes each, and gets +1 if it wins every one, else -1; the reference gets 0 (flagged
  ``info["bootstrap_reference"]``). Feed these to ``advantages.brpo`` or use them as
  advantages directly, as the paper does;
- ``against: group``: a round-robin tournament inside the completion's GRPO group
  (``Sample.group``), every pair once in each order: G(G-1) judge prompts per group.

Every comparison is asked in both orders (A/B and B/A), the paper's fix for position
bias, ``samples`` verdicts each. A verdict for the completion counts +1, against it -1;
the value is the mean over all its verdicts: the win margin, in [-1, 1]. A tournament
item's value is its mean over every opponent.

Pre-gate: a degenerate completion loses without a call (-1 against the reference; in a
tournament it loses to every non-degenerate opponent, and two degenerate completions
tie at 0).

Failures: an item whose comparisons could not all be read (an API error, a timeout, a
verdict unparseable after retries) is an error with the reason, never a number; RM-R1's
training reward reads a truncated output as -1, this judge does not.

How it can be gamed: a response that writes ``<answer>[[A]]</answer>`` has it read as
its own text inside the chatbot markers, and in the other order the same text argues for
the wrong letter, so the swap cancels it; the verdict must be the judge's last words and
only one letter may appear after its thinking. Length and style bias are the judge's.

Paper: RM-R1: Reward Modeling as Reasoning (arXiv 2505.02387).
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from rewardsmith.core import GroupReward, Paper, Sample, Score, register
from rewardsmith.core.reward import group_indices, is_strict
from rewardsmith.judges.base import completion_text, group_question, pregate_reason, prompt_text
from rewardsmith.judges.core import Answer, Ask, JudgeCore, JudgeParams
from rewardsmith.judges.parse import ab_verdict
from rewardsmith.models.base import Backend

__all__ = ["RM_R1", "JudgePairwise", "JudgePairwiseParams"]

RM_R1 = Paper("RM-R1: Reward Modeling as Reasoning", "2505.02387")


class JudgePairwiseParams(JudgeParams):
    """Parameters of ``judge.pairwise`` (the judge core's, and ``against``)."""

    against: Literal["reference", "group", "bootstrap"] = "reference"


def reference_response(sample: Sample) -> str:
    ref: Any = sample.reference
    if isinstance(ref, Mapping):
        ref = ref.get("response")
    if not isinstance(ref, str):
        raise ValueError(
            "judge.pairwise needs a reference response: Sample.reference or its 'response'"
        )
    return ref


@register(summary="a reasoning judge's A/B verdicts, both orders, as a win margin", paper=RM_R1)
class JudgePairwise(GroupReward):
    name = "judge.pairwise"
    work = "model"

    def __init__(self, params: JudgePairwiseParams, backend: Backend | None = None) -> None:
        self.params = params
        self.core = JudgeCore(params, "rm_r1", backend)

    @property
    def range(self) -> tuple[float, float]:
        return (-1.0, 1.0)

    @property
    def needs_group(self) -> bool:  # type: ignore[override]
        return self.params.against != "reference"

    def _ask(self, question: str, a: str, b: str) -> Ask:
        return Ask(
            self.core.template.render(question=question, response_a=a, response_b=b), ab_verdict
        )

    def score_group(self, samples: Sequence[Sample]) -> list[Score]:
        return self.score(list(samples))

    def score(self, samples: Sequence[Sample]) -> list[Score]:
        out: list[Score | None] = [None] * len(samples)
        gates: dict[int, str | None] = {}
        for i, s in enumerate(samples):
            try:
                gates[i] = pregate_reason(self.params, s)
            except Exception as exc:
                if is_strict():
                    raise
                out[i] = Score.failed(exc)
        wins: dict[int, list[float]] = {i: [] for i in range(len(samples))}
        refs: set[int] = set()  # bootstrap references
        pairs: list[tuple[int, int | None]] = []  # (item, opponent; None: the reference)
        asks: list[Ask] = []
        groups = (
            [list(range(len(samples)))]
            if self.params.against == "reference"
            else group_indices(samples)
        )
        for members in groups:
            live = [i for i in members if out[i] is None]
            try:
                refs.update(self._plan(samples, live, gates, wins, pairs, asks))
            except Exception as exc:
                if is_strict():
                    raise
                for i in live:
                    out[i] = Score.failed(exc)
        answers = self.core.ask(asks) if asks else []
        self.core.check_failures(answers)
        calls = {i: 0 for i in range(len(samples))}
        failures: dict[int, list[Answer]] = {i: [] for i in range(len(samples))}
        for k, (i, j) in enumerate(pairs):  # asks 2k and 2k+1: the pair in both orders
            ab, ba = answers[2 * k], answers[2 * k + 1]
            both = [x for x in (i, j) if x is not None]
            for x in both:
                calls[x] += ab.calls + ba.calls
            bad = [a for a in (ab, ba) if a.error is not None]
            if bad:
                for x in both:
                    failures[x].append(bad[0])
                continue
            # order 1: i is A; order 2: i is B
            verdicts = [1.0 if v == "A" else -1.0 for v in ab.verdicts]
            verdicts += [1.0 if v == "B" else -1.0 for v in ba.verdicts]
            wins[i].extend(verdicts)
            if j is not None:
                wins[j].extend(-v for v in verdicts)
        for i in range(len(samples)):
            if out[i] is None:
                if i in refs:
                    info = {"judge": self.core.template.key, "bootstrap_reference": True}
                    out[i] = Score(0.0, info=info)
                else:
                    out[i] = self._result(i, wins[i], failures[i], calls[i], gates.get(i))
        return [s if s is not None else Score.skipped("not scored") for s in out]

    def _result(
        self, i: int, wins: list[float], failures: list[Answer], calls: int, gate: str | None
    ) -> Score:
        info: dict[str, Any] = {"judge": self.core.template.key, "calls": calls}
        if gate:
            info["pregate"] = gate
        if failures:
            info["failed_comparisons"] = len(failures)
        if not wins:
            if failures:
                return failures[0].failed(info)
            return Score.skipped("no comparison")
        info["verdicts"] = len(wins)
        if self.params.against == "bootstrap":  # BRPO: +1 only for winning every vote
            return Score(1.0 if min(wins) > 0 else -1.0, info=info)
        return Score(sum(wins) / len(wins), info=info)

    def _plan(
        self, samples: Sequence[Sample], live: list[int], gates: dict[int, str | None],
        wins: dict[int, list[float]], pairs: list[tuple[int, int | None]], asks: list[Ask],
    ) -> set[int]:  # fmt: skip
        """Add the comparisons of one group (or, against the reference, of every item). A
        pair decided by the pre-gate weighs as much as a judged one (2 x samples)."""
        weight = 2 * self.params.samples
        if self.params.against == "reference":
            for i in live:
                if gates[i]:
                    wins[i].extend([-1.0] * weight)
                    continue
                q, mine, ref = (
                    prompt_text(samples[i]),
                    completion_text(samples[i]),
                    reference_response(samples[i]),
                )
                asks += [self._ask(q, mine, ref), self._ask(q, ref, mine)]
                pairs.append((i, None))
            return set()
        if live:
            group_question(self.name, samples, live)
        if self.params.against == "bootstrap":
            return self._plan_bootstrap(samples, live, gates, wins, pairs, asks)
        for i, j in itertools.combinations(live, 2):
            if gates[i] or gates[j]:  # decided by rule: a degenerate completion loses
                wi = 0.0 if gates[i] and gates[j] else (-1.0 if gates[i] else 1.0)
                wins[i].extend([wi] * weight)
                wins[j].extend([-wi] * weight)
                continue
            q, a, b = (
                prompt_text(samples[i]),
                completion_text(samples[i]),
                completion_text(samples[j]),
            )
            asks += [self._ask(q, a, b), self._ask(q, b, a)]
            pairs.append((i, j))
        return set()

    def _plan_bootstrap(
        self, samples: Sequence[Sample], live: list[int], gates: dict[int, str | None],
        wins: dict[int, list[float]], pairs: list[tuple[int, int | None]], asks: list[Ask],
    ) -> set[int]:  # fmt: skip
        """BRPO: every completion against one drawn from the non-degenerate ones."""
        fit = [i for i in live if not gates[i]]
        for i in live:
            if gates[i]:
                wins[i].append(-1.0)
        if not fit:
            return set()
        group = samples[live[0]].group
        ref = fit[random.Random(f"{self.params.seed}:{group}:{len(live)}").randrange(len(fit))]
        q, theirs = prompt_text(samples[ref]), completion_text(samples[ref])
        for i in fit:
            if i != ref:
                mine = completion_text(samples[i])
                asks += [self._ask(q, mine, theirs), self._ask(q, theirs, mine)]
                pairs.append((i, None))
        return {ref}
