"""``judge.thoughts``: TP-GRPO's thought-level process advantages from a generative judge.

What it computes, per GRPO group (``Sample.group``), from TP-GRPO (arXiv 2507.23317):

1. **Outcome.** Each completion's final answer is checked against ``Sample.reference`` by
   ``math.answer`` (``outcome: meta`` reads a bool from ``Sample.meta[correct_key]``).
   ``acc_G`` is the group's accuracy and ``r̂`` a completion's group-standardised outcome,
   ``(o - mean) / (std + eps)``: a group whose outcomes are all equal, or a group of one,
   gets 0.
2. **Steps.** The completion is cut into steps (below) and one judge call per completion
   labels them from the solution's own signals, never by solving the problem. A correct
   solution (``tpgrpo_correct``): find the self-corrections, trace each back to the step
   where the mistake was made, label that step and the steps built on it incorrect, every
   other step correct. A wrong solution (``tpgrpo_incorrect``): every step after
   ``</think>`` counts as adopted into the wrong answer, by rule; each thinking step is
   labelled as matching the final answer (adopted into it) or not.
3. **Thoughts.** Contiguous steps with the same label are merged into one thought.
4. **Advantages.** ``r_c = α · acc_G`` (``adaptive: false``: α). In a correct solution a
   correct thought's tokens get ``r̂`` and an incorrect thought's ``r̂ − r_c``; in a wrong
   one a matching thought's get ``r̂`` and any other's 0.

``info["segments"]`` is the dense form, ``[{"end": character offset, "reward": r}]`` at
each thought's end: the difference between a thought's advantage and the next one's, and
at the last thought its advantage (the outcome ``r̂`` sits there). So the rewards at or
after a token sum to its thought's advantage, the return of process-supervised GRPO, and
they are the paper's: ``+r_c`` for a correct thought followed by an incorrect one,
``−r_c`` for an incorrect thought; ``r̂`` for a matching thought followed by another,
``−r̂`` for one that does not match. These are advantages: do not normalise them again.
``info["thoughts"]`` keeps each thought's steps, span, label, reward and advantage.

Value: the mean of the thoughts' advantages weighted by their characters (characters
stand in for tokens), what a sequence-level trainer sees. Not the sum of the rewards: that
telescopes to the first thought's advantage, which one unmatched opening paragraph would
set to 0 for any wrong solution. Range: unbounded (|r̂| ≤ (G − 1)/√G for a group of G).
``parts``: ``correct`` (the outcome), ``accuracy`` (acc_G), ``outcome`` (r̂) and
``key_thoughts``, the share of thoughts whose tokens keep the outcome's target (correct
thoughts of a correct solution, matching thoughts of a wrong one).

Steps: paragraphs (split at blank lines), each side of ``</think>`` apart; a paragraph
over ``step_chars`` is cut between sentences (a sentence over it at a space); over
``max_steps`` steps, consecutive steps are merged evenly, never across ``</think>``. The
judge sees them as a JSON list, so text in a step cannot pose as another step.

What the sources give (notes on the ICLR-26 version, en.papernotes.org "Smarter Not
Harder", and its OpenReview reviews; the paper's text, prompts and code were not found):
the two protocols, the merging, ``r_c = α · acc_G``, ``±r_c`` and ``±r̂`` per thought,
unstandardised process rewards beside the standardised outcome, the return as the sum of
later rewards, and the property that key tokens keep ``r̂`` (the notes' Propositions 1
and 2). Rewardsmith's, each a parameter: the prompts and JSON format; the step splitting
(the paper asks a model to segment); α = 1 (the ablation's static reward was ±1); TRL's
sample std and eps = 1e-4 (the paper trains with TRL); which thought carries the outcome
(the reading under which the propositions hold); the value; the pre-gate; voting ties go
to the key label; a wrong solution with ``r̂ = 0`` is not sent to the judge (every reward
is 0).

How it can be gamed: the self-reflection cue is the catalog's pitfall. Fake reflections
("wait, let me recheck") without a located error change nothing (every step stays
correct, and a correct solution's best is ``r̂``); a real mistake the solver never
mentions goes unpunished (the notes' own limit: "error implies reflection"). Padding a
wrong solution with unmatched exploration moves its sequence-level value toward 0 (at
token level the padding gets 0 and the adopted steps keep ``r̂``): prefer the dense form,
or add a length term. A completion saying nothing (the pre-gate) counts as wrong and gets
``r̂`` without a call; an outcome check that times out counts as wrong, with status
``timeout``; an item whose outcome cannot be decided fails (value None) and is left out of
its group's statistics; an unparseable labelling fails its item (value None, the raw
output in ``info``), never a number.

Paper: Good Learners Think Their Thinking: Generative PRM Makes Large Reasoning Model More
Efficient Math Learner (TP-GRPO, arXiv 2507.23317).
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field

from rewardsmith.core import GroupReward, Paper, Sample, Score, Status, register
from rewardsmith.core.reward import group_indices, is_strict
from rewardsmith.errors import InputError
from rewardsmith.judges.base import completion_text, pregate_reason, prompt_text
from rewardsmith.judges.core import Answer, Ask, JudgeCore, JudgeParams, shared_backend
from rewardsmith.judges.parse import ParseError, json_object
from rewardsmith.judges.sentences import sentence_spans
from rewardsmith.models.base import Backend
from rewardsmith.verifiable.math.answer import MathAnswer, MathAnswerParams

__all__ = [
    "TP_GRPO",
    "JudgeThoughts",
    "JudgeThoughtsParams",
    "Thought",
    "split_steps",
    "step_labels",
    "thoughts",
]

TP_GRPO = Paper(
    "Good Learners Think Their Thinking: Generative PRM Makes Large Reasoning Model More "
    "Efficient Math Learner",
    "2507.23317",
)
THINK_END = "</think>"
ANSWER_CHARS = 2000
"""The judge sees at most the last this many characters of the answer text."""
_PARAGRAPH = re.compile(r"\n[ \t\r\f\v]*\n")


class JudgeThoughtsParams(JudgeParams):
    """Parameters of ``judge.thoughts`` (the judge core's, and these)."""

    alpha: float = Field(1.0, gt=0.0, le=100.0, allow_inf_nan=False)
    """α of ``r_c = α · acc_G`` (not given; the ablation's static reward was ±1)."""
    adaptive: bool = True
    """``r_c = α · acc_G``; False: ``r_c = α`` (the ablation without it)."""
    merge: bool = True
    """Merge contiguous same-label steps into thoughts; False: step-level (the ablation)."""
    outcome: Literal["math.answer", "meta"] = "math.answer"
    """Where correctness comes from: ``math.answer`` against the reference, or a bool in
    ``Sample.meta[correct_key]``."""
    correct_key: str = "correct"
    ddof: Literal[0, 1] = 1
    """The std of the outcome's standardisation: 1, the sample std (TRL's), or 0."""
    eps: float = Field(1e-4, ge=0.0, le=1.0, allow_inf_nan=False)
    """Added to the std (TRL's 1e-4)."""
    max_steps: int = Field(50, ge=2, le=500)
    step_chars: int = Field(1500, ge=50, le=100_000)
    max_new_tokens: int = Field(4096, ge=1, le=65_536)
    incorrect_template: str | None = None
    """A template file for wrong solutions (``template`` is the correct solutions')."""


def split_steps(
    text: str, max_steps: int = 50, step_chars: int = 1500
) -> tuple[list[tuple[int, int]], int]:
    """The steps of ``text`` as ``(start, end)`` character spans, and how many of them come
    before ``</think>`` (all of them without one). See the module docstring.

    Example:
        >>> split_steps("<think>a\\n\\nb</think>\\n\\nc")
        ([(0, 8), (10, 19), (21, 22)], 2)
    """
    cut = text.find(THINK_END)
    border = len(text) if cut < 0 else cut + len(THINK_END)
    think = _pieces(text, 0, border, step_chars)
    answer = _pieces(text, border, len(text), step_chars)
    n = len(think) + len(answer)
    if n > max_steps:  # each side keeps a share of max_steps, at least one step
        ka = min(max(1, round(max_steps * len(answer) / n)), max_steps - 1) if answer else 0
        ka = ka if think else max_steps
        ka = max(ka, max_steps - len(think))
        ka = min(ka, len(answer))
        think, answer = _merged(think, max_steps - ka), _merged(answer, ka)
    return think + answer, len(think)


def _pieces(text: str, start: int, stop: int, step_chars: int) -> list[tuple[int, int]]:
    """Paragraph spans of ``text[start:stop]``, long ones cut (see ``split_steps``)."""
    out: list[tuple[int, int]] = []
    pos = start
    for cut in [*_PARAGRAPH.finditer(text, start, stop), None]:
        end = cut.start() if cut is not None else stop
        piece = text[pos:end]
        if piece.strip():
            a = pos + len(piece) - len(piece.lstrip())
            out += _cut(text, a, pos + len(piece.rstrip()), step_chars)
        if cut is not None:
            pos = cut.end()
    return out


def _cut(text: str, start: int, end: int, step_chars: int) -> list[tuple[int, int]]:
    """``text[start:end]`` in spans of at most ``step_chars``: whole sentences packed
    together, a longer sentence cut at its last space before the limit (or at it)."""
    if end - start <= step_chars:
        return [(start, end)]
    sentences: list[tuple[int, int]] = []
    for sentence, stop in sentence_spans(text[start:end]):
        a, b = start + stop - len(sentence), start + stop
        while b - a > step_chars:
            space = text.rfind(" ", a + 1, a + step_chars)
            split = space if space > a else a + step_chars
            sentences.append((a, split))
            a = split + len(text[split:b]) - len(text[split:b].lstrip())
        sentences.append((a, b))
    out = [sentences[0]]
    for a, b in sentences[1:]:
        if b - out[-1][0] <= step_chars:
            out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


def _merged(spans: list[tuple[int, int]], m: int) -> list[tuple[int, int]]:
    """``spans`` merged into ``m`` runs of consecutive spans, as even as can be."""
    n = len(spans)
    if n <= m:
        return spans
    bounds = [j * n // m for j in range(m + 1)]
    return [(spans[bounds[j]][0], spans[bounds[j + 1] - 1][1]) for j in range(m)]


def step_labels(text: str, n: int, key: str) -> list[int]:
    """The 0/1 ``key`` of steps 1..n, in order, from the judge's JSON list: one object per
    step with ``"step": k`` and ``key`` (a ``reason`` string allowed), nothing else."""
    data = json_object(text)
    if not isinstance(data, list) or len(data) != n:
        raise ParseError(f"a list of {n} step objects is needed")
    out = []
    for k, entry in enumerate(data, 1):
        if not isinstance(entry, dict) or type(entry.get("step")) is not int or entry["step"] != k:
            raise ParseError(f'entry {k} must be an object with "step": {k}')
        if key not in entry or not set(entry) <= {"step", key, "reason"}:
            raise ParseError(f'step {k}: the object needs "step" and "{key}" and nothing else')
        label = entry[key]
        if type(label) is not int or label not in (0, 1):
            raise ParseError(f"step {k}: {key} must be 0 or 1, not {label!r:.20}")
        out.append(label)
    return out


@dataclass(frozen=True, slots=True)
class Thought:
    """Contiguous steps with one label: ``steps`` (first, last; 0-based), the characters
    it covers, whether its tokens keep the outcome's target (``key``), its dense reward
    (at ``end``) and its tokens' advantage."""

    steps: tuple[int, int]
    start: int
    end: int
    key: bool
    reward: float
    advantage: float


def thoughts(
    spans: Sequence[tuple[int, int]], labels: Sequence[int], *, correct: bool, outcome: float,
    scale: float, merge: bool = True,
) -> list[Thought]:  # fmt: skip
    """The thoughts of a labelled completion (1: correct or matching, 0: not).

    Example:
        >>> [(t.reward, t.advantage) for t in thoughts(
        ...     [(0, 5), (6, 9), (10, 14)], [1, 0, 1], correct=True, outcome=0.5, scale=0.25)]
        [(0.25, 0.5), (-0.25, 0.25), (0.5, 0.5)]
    """
    runs: list[list[int]] = []
    for i, label in enumerate(labels):
        if merge and runs and labels[runs[-1][0]] == label:
            runs[-1][1] = i
        else:
            runs.append([i, i])
    off = -scale if correct else -outcome
    adv = [outcome + (0.0 if labels[a] else off) for a, _ in runs]
    out, start = [], 0
    for k, (a, b) in enumerate(runs):
        reward = adv[k] - adv[k + 1] if k + 1 < len(runs) else adv[k]
        out.append(Thought((a, b), start, spans[b][1], bool(labels[a]), reward, adv[k]))
        start = spans[b][1]
    return out


@dataclass(slots=True)
class _Item:
    """One completion on its way: its steps, outcome and group statistics, its ask."""

    index: int
    text: str
    correct: bool
    outcome: float  # r̂
    accuracy: float
    scale: float  # r_c
    spans: list[tuple[int, int]]
    asked: int  # the leading steps the judge labels; the rest keep the outcome's target
    thinking: int  # the steps before </think>
    ask: int = -1  # the ask's index in its core's batch; -1: none
    note: dict[str, Any] | None = None  # why no ask (the pre-gate, r̂ = 0)


@register(
    summary="TP-GRPO: a judge labels steps from self-corrections (right answers) or adoption "
    "into the answer (wrong ones); thought-level advantages scaled by group accuracy",
    paper=TP_GRPO,
)
class JudgeThoughts(GroupReward):
    """Per group; every completion's ask of a batch goes out at once (two templates)."""

    name = "judge.thoughts"
    work = "model"

    def __init__(self, params: JudgeThoughtsParams, backend: Backend | None = None) -> None:
        self.params = params
        self.core = JudgeCore(params, "tpgrpo_correct", backend)
        wrong = params.model_copy(update={"template": params.incorrect_template})
        shared = backend if backend is not None else shared_backend(self.core)
        self.wrong_core = JudgeCore(wrong, "tpgrpo_incorrect", shared)
        self.verifier = MathAnswer(MathAnswerParams())

    @property
    def range(self) -> tuple[float, float]:
        return (-math.inf, math.inf)

    @property
    def floor(self) -> float:
        """The most a degenerate completion gets: it counts as wrong, so r̂ <= 0."""
        return 0.0

    def part_names(self) -> list[str]:
        return ["correct", "accuracy", "outcome", "key_thoughts"]

    def score_group(self, samples: Sequence[Sample]) -> list[Score]:
        return self.score(list(samples))

    def score(self, samples: Sequence[Sample]) -> list[Score]:
        out: list[Score | None] = [None] * len(samples)
        gated = [pregate_reason(self.params, s) for s in samples]
        outcomes, checks = self._outcomes(samples, gated, out)
        items: list[_Item] = []
        asks: tuple[list[Ask], list[Ask]] = ([], [])
        for members in group_indices(samples):
            known = [i for i in members if outcomes[i] is not None]
            group = [bool(outcomes[i]) for i in known]
            accuracy = sum(group) / len(group) if group else 0.0
            standardised = _standardised(group, self.params)
            for i, correct, r_hat in zip(known, group, standardised, strict=True):
                try:
                    item = self._plan(samples[i], i, correct, r_hat, accuracy)
                    if gated[i] is not None:
                        item.spans, item.asked = [(0, len(item.text))], 0
                        item.note = {"pregate": gated[i]}
                    self._ask(samples[i], item, asks)
                except Exception as exc:
                    if is_strict():
                        raise
                    out[i] = Score.failed(exc)
                    continue
                items.append(item)
        cores = (self.core, self.wrong_core)
        answers = [core.ask(a) if a else [] for core, a in zip(cores, asks, strict=True)]
        for core, got in zip(cores, answers, strict=True):
            core.check_failures(got)
        for item in items:
            answer = answers[0 if item.correct else 1][item.ask] if item.ask >= 0 else None
            score = self._score(item, answer)
            check = checks.get(item.index)
            if check is not None and score.value is not None:  # a checker timeout stays one
                status = Status.TIMEOUT if check.get("status") == "timeout" else score.status
                score = score.with_(status=status, info={**score.info, "verifier": check})
            out[item.index] = score
        return [s if s is not None else Score.skipped("not scored") for s in out]

    def _outcomes(
        self, samples: Sequence[Sample], gated: list[str | None], out: list[Score | None]
    ) -> tuple[list[bool | None], dict[int, dict[str, Any]]]:
        """Each completion's correctness (None: undecided, its failure put in ``out``; a
        gated one is wrong unchecked) and what ``math.answer`` said of each."""
        found: list[bool | None] = [False if g is not None else None for g in gated]
        todo = [i for i, g in enumerate(gated) if g is None]
        checks: dict[int, dict[str, Any]] = {}
        if self.params.outcome == "meta":
            key = self.params.correct_key
            for i in todo:
                raw = samples[i].meta.get(key)
                if isinstance(raw, bool) or (type(raw) in (int, float) and raw in (0, 1)):
                    found[i] = bool(raw)
                else:
                    why = f"needs Sample.meta[{key!r}], a bool (or 0/1), got {raw!r:.40}"
                    out[i] = Score.failed(InputError(why))
            return found, checks
        for i, score in zip(todo, self.verifier.score([samples[i] for i in todo]), strict=True):
            if score.value is None:
                out[i] = score.with_(info={**score.info, "verifier": "math.answer"})
                continue
            found[i] = score.value >= 1.0
            keep = ("extracted", "tier", "reason")
            checks[i] = {k: score.info[k] for k in keep if k in score.info}
            if score.status is Status.TIMEOUT:
                checks[i]["status"] = "timeout"
        return found, checks

    def _plan(
        self, sample: Sample, index: int, correct: bool, r_hat: float, accuracy: float
    ) -> _Item:
        """The item: its steps, and how many of them the judge labels."""
        p = self.params
        text = completion_text(sample)
        spans, thinking = split_steps(text, p.max_steps, p.step_chars)
        scale = p.alpha * accuracy if p.adaptive else p.alpha
        # a wrong solution's answer after </think> is adopted into it, by rule
        item = _Item(index, text, correct, r_hat, accuracy, scale, spans, len(spans), thinking)
        if not correct:
            item.asked = thinking
        if not spans:
            item.spans, item.asked = [(0, len(text))], 0
        if not correct and r_hat == 0.0 and item.asked:
            item.asked, item.note = 0, {"reason": "r̂ = 0: every thought's reward is 0"}
        return item

    def _ask(self, sample: Sample, item: _Item, asks: tuple[list[Ask], list[Ask]]) -> None:
        """Add the item's ask, if it has one, to the correct or the wrong solutions' asks."""
        if not item.asked:
            return
        core = self.core if item.correct else self.wrong_core
        text, spans = item.text, item.spans
        steps = ",\n".join(
            json.dumps({"step": k, "text": text[a:b]}, ensure_ascii=False)
            for k, (a, b) in enumerate(spans[: item.asked], 1)
        )
        answer = text[spans[min(item.thinking, len(spans) - 1)][0] :].strip()
        messages = core.template.render(
            question=prompt_text(sample), answer=answer[-ANSWER_CHARS:], steps=f"[\n{steps}\n]"
        )
        parse = functools.partial(
            step_labels, n=item.asked, key="correct" if item.correct else "matches"
        )
        batch = asks[0 if item.correct else 1]
        item.ask = len(batch)
        batch.append(Ask(messages, parse))

    def _score(self, item: _Item, answer: Answer | None) -> Score:
        core = self.core if item.correct else self.wrong_core
        if answer is not None and answer.error is not None:
            return answer.failed({"judge": core.template.key})
        labels = [1] * len(item.spans)  # unasked steps keep the outcome's target
        if answer is not None:  # each step by majority; a tie keeps the target
            k = len(answer.verdicts)
            for j in range(item.asked):
                labels[j] = int(2 * sum(v[j] for v in answer.verdicts) >= k)
        found = thoughts(
            item.spans, labels, correct=item.correct, outcome=item.outcome, scale=item.scale,
            merge=self.params.merge,
        )  # fmt: skip
        width = [t.end - t.start for t in found]
        value = (
            math.fsum(w * t.advantage for w, t in zip(width, found, strict=True)) / sum(width)
            if sum(width)
            else found[0].advantage
        )
        if not math.isfinite(value):
            return Score.failed(ValueError(f"non-finite value {value}"))
        asked = {"judge": core.template.key, **answer.info()} if answer else {"calls": 0}
        info = {**(item.note or {}), **asked, **_dense(found, item.correct), "steps": len(labels)}
        parts = {
            "correct": float(item.correct),
            "accuracy": item.accuracy,
            "outcome": item.outcome,
            "key_thoughts": sum(t.key for t in found) / len(found),
        }
        return Score(value, parts=parts, info=info)


def _dense(found: list[Thought], correct: bool) -> dict[str, Any]:
    """``info``'s dense forms: ``thoughts`` (1-based steps) and ``segments``."""
    names = ("correct", "incorrect") if correct else ("matches", "other")
    rows = [
        {"steps": [t.steps[0] + 1, t.steps[1] + 1], "start": t.start, "end": t.end,
         "label": names[0] if t.key else names[1], "reward": t.reward, "advantage": t.advantage}
        for t in found
    ]  # fmt: skip
    return {"thoughts": rows, "segments": [{"end": t.end, "reward": t.reward} for t in found]}


def _standardised(outcomes: list[bool], params: JudgeThoughtsParams) -> list[float]:
    """``(o - mean) / (std + eps)`` over the group; 0 for all when they are all equal or
    there is one."""
    n = len(outcomes)
    if n < 2 or len(set(outcomes)) == 1:
        return [0.0] * n
    mean = sum(outcomes) / n
    std = math.sqrt(sum((o - mean) ** 2 for o in outcomes) / (n - params.ddof))
    return [(o - mean) / (std + params.eps) for o in outcomes]
