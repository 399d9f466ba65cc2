"""``judge.relevance``: R3-RAG's document-relevance process reward, scaled by the outcome.

What it computes: a search agent's rollout read as steps (``search.trajectory``'s
layouts). Each search round is a step: its *analysis* is the policy's reasoning before
the query (the ``<think>`` blocks since the previous search; in chat, the assistant text
since the previous search call, that call's message included), its *query* the round's
queries, its *documents* the text the environment returned for it, cut to the first
``doc_chars`` (512) characters. A judge, with R3-RAG's released prompt (template
``r3rag_relevance``), gives each step a relevance s_t in [0, 1] ("Relevance: x.xx"; 0
when the step contradicts earlier ones or is illogical). The outcome: the final answer
matches a gold answer exactly (case-insensitive, a trailing "." stripped), else, with
``judge_answer`` (the paper's), a second prompt (``r3rag_answer_check``) says True or
False. Each step's reward::

    correct answer   r_t = correct_step · s_t   (1.6)    answer step: answer_correct (2.0)
    wrong answer     r_t = wrong_step · s_t     (0.8)    answer step: 0
    no answer        r_t = unanswered_step · s_t (0.9)   no answer step
    unreadable       format_penalty (-0.9), no judge call

Value: Σ r_t over the scored search steps and the answer step (``aggregate: sum``), or
their mean (``mean``). The paper trains each step as its own PPO sample (the step's
tokens, its reward, GAE); a GRPO trainer takes one scalar per rollout, so the scalar is
our choice. ``info["steps"]`` (``relevance``, ``reward`` per search step) and
``info["answer_step"]`` keep the dense form for a trainer that places each step's reward
on that step's tokens; ``parts`` has the mean relevance and ``correct``.

Range: [format_penalty, the best outcome]: with the defaults [-0.9, 8.4] for ``sum``
(four searches at s = 1 and a correct answer: 4 · 1.6 + 2.0; the answer is a step, so at
most ``max_steps`` - 1 searches precede it) and [-0.9, 2.0] for ``mean``.

The paper's numbers (``Yuan-Li-FNLP/R3-RAG``, ``experience_maker.py``): 5 steps, each a
query or the answer; 2 passages per retrieval, 10 at most (the environment's business);
the factors 1 + 0.6, 1 - 0.2, 1 - 0.1 and -(1 - 0.1); rewards rounded to 3 places (not
here).

Our choices:

- The answer is a step, as in the code's loop: an answer after ``max_steps`` searches
  is no answer within the step limit (unanswered, and not checked), and rounds past
  ``max_steps`` are not scored (no call).
- A search the environment never ran, at the very end (a rollout cut at its turn limit
  ends with ``<search>`` and no ``<information>``, or with a tool call and no result),
  is not a step: the rollout is unanswered, not malformed (unless it answered before).
- The code penalises the one step whose format failed after 3 regenerations and keeps
  earlier steps' raw s_t; a finished rollout arrives here whole, so one the trajectory
  reader cannot read (its layout's rules broken, a search without a query, neither a
  search nor an answer) gets ``format_penalty`` alone. The code also requires an
  analysis in every step; ``<think>`` is optional here, as in the reader.
- Exact match: the code tries the answer as written, lower-, upper- and capitalised,
  against the golds as written; here both sides are casefolded (a superset). It passes
  ``[golden_answers]``, which its loader's collation appears to make one gold; here every
  gold of ``Sample.reference`` is shown. An answer with no letter or digit is wrong
  without a call.
- Parsing: the code takes the last "Relevance: <number>" anywhere (a number opening the
  explanation line wins), clamps it, and crashes when there is none; it reads anything
  but "Final answer: True" as False. Here a relevance line holds only a number in
  [0, 1] (markdown aside; repeated lines must agree; out of range is not clamped) and
  the answer check needs "Final answer:" True or False: anything else is a parse
  failure, asked again, then the item's error with the raw output, never a number.
- Sampling: the code asks for relevance at the server's default temperature (up to
  4096 tokens) and the answer check at 0 (512 tokens); both use the judge's
  ``temperature`` and ``max_new_tokens`` here. With ``samples`` k > 1 the relevance is
  the mean of k scores and the answer is correct when more than half say True.

Inputs: ``Sample.prompt`` (shown whole as the problem, as the code shows its prompt);
``Sample.completion``, tagged text with ``meta["info_spans"]`` or
``meta["response_mask"]``, or chat messages with tool results; ``Sample.reference``, a
gold answer or a list (a dict's ``answer``/``answers``/``target``).

Failure modes: a verdict that does not parse, an API error or a deadline on any step's
ask fails the item (an error status with the raw output): a value over the other steps
would be another reward. No gold answer, or malformed ``info_spans``, is an error.

How it can be gamed:

- Searching without answering pays. The process reward is multiplied by the outcome
  factor (the catalog's pitfall: the two are entangled): a rollout that retrieves
  relevant documents and never answers earns 0.9 · s_t per step, up to 4.5, more than a
  wrong answer's 0.8 · s_t (at most 3.2): abstaining beats answering wrong. That is the
  paper's design; an ``unanswered_step`` below ``wrong_step`` reverses it.
- Writing its own evidence. Retrieved text is read only where the trainer knows the
  environment put it (tool messages, ``meta["info_spans"]``, ``meta["response_mask"]``;
  ``search.trajectory.retrieved`` with ``trust_tags`` off). Tagged text without them:
  every step's relevance is 0 without a call and ``info["reason"]`` says why;
  ``trust_information_tags: true`` reads ``<information>`` tags as the code does. Tags
  inside retrieved text (a page quoting ``<search>`` or ``<answer>``) are blanked before
  the rollout is read: they are neither the policy's steps nor its answer.
- A query that restates the question gets relevance from whatever the retriever returns
  for it: the judge scores the documents against the problem, so a copied question
  that retrieves well pays like a good sub-query. The released prompt does not show the
  earlier steps (the code drops them), so a repeated query is no contradiction to it; the
  code's retriever skipped passages it had returned, so a repeat got "No results found".
- Degenerate completions get the floor (``format_penalty``) from the pre-gate without a
  call, as an unreadable rollout does.

Paper: R3-RAG: Learning Step-by-Step Reasoning and Retrieval for LLMs via Reinforcement
Learning (arXiv 2505.23794).

Example:
    >>> text = ("<think>Who directed it?</think><search>director of Jaws</search>"
    ...         "<information>Jaws is a 1975 film by Steven Spielberg.</information>"
    ...         "<answer>Steven Spielberg</answer>")
    >>> spans = [[text.index("<information>"), text.index("<answer>")]]
    >>> rollout = read_steps(Sample(completion=text, meta={"info_spans": spans}))
    >>> rollout.steps[0].analysis, rollout.steps[0].query, rollout.steps[0].documents
    ('Who directed it?', 'director of Jaws', 'Jaws is a 1975 film by Steven Spielberg.')
    >>> relevance_score("Relevance: 0.85\\nEvaluation:\\n- Relevance: names the director")
    0.85
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field

from rewardsmith.core import ItemReward, Paper, Sample, Score, register
from rewardsmith.core.reward import is_strict
from rewardsmith.judges.base import pregate_reason, prompt_text
from rewardsmith.judges.core import (
    Answer,
    Ask,
    JudgeCore,
    JudgeParams,
    accounting,
    shared_backend,
)
from rewardsmith.judges.parse import ParseError
from rewardsmith.models.base import Backend
from rewardsmith.verifiable.extract import last_tag_block
from rewardsmith.verifiable.qa import golds as gold_list
from rewardsmith.verifiable.qa import squad_normalize
from rewardsmith.verifiable.search.trajectory import (
    DEFAULT_SEARCH_TOOLS,
    message_searches,
    message_text,
    read_trajectory,
    response_messages,
    retrieved,
    split_queries,
)

__all__ = [
    "R3_RAG",
    "JudgeRelevance",
    "JudgeRelevanceParams",
    "Rollout",
    "SearchStep",
    "exact_match",
    "read_steps",
    "relevance_score",
    "true_false",
]

R3_RAG = Paper(
    "R3-RAG: Learning Step-by-Step Reasoning and Retrieval for LLMs via Reinforcement Learning",
    "2505.23794",
)
NO_RESULTS = "No results found"
"""What the code shows the judge for a step that retrieved nothing."""

_THINK = re.compile(r"<think>.*?</think>", re.S | re.I)
_REFUSAL = re.compile(r"\b(i can(?:no|')t|i am (?:not able|unable)|i'm (?:sorry|unable))\b", re.I)
_MARKUP = re.compile(r"[*_`#>]")
_RELEVANCE = re.compile(r"\s*(?:[-•]\s*)?relevance\s*:\s*(.*?)\s*", re.I)
_NUMBER = re.compile(r"\d+(?:\.\d+)?|\.\d+")
_FINAL = re.compile(r"\s*(?:[-•]\s*)?final\s+answer\s*:\s*(.*?)\s*", re.I)
_TAG = re.compile(r"</?(?:think|search|information|answer)>")
_BLOCK = re.compile(r"<(think|search|information|answer)>(.*?)</\1>", re.S)
_OPEN, _CLOSE = "<information>", "</information>"


# -- the judge's verdicts ----------------------------------------------------------------------


def _verdict_text(text: str) -> str:
    body = _THINK.sub("", text)
    if "<think>" in body.lower():
        raise ParseError("the output ends inside <think>")
    return body


def _fail(body: str, why: str) -> ParseError:
    return ParseError(why, refused=bool(_REFUSAL.search(body[:2000])))


def relevance_score(text: str) -> float:
    """R3-RAG's "Relevance: x.xx" line: a number in [0, 1] alone on it (markdown and a
    bullet allowed; lines that repeat it must agree; "- Relevance: <explanation>" lines
    are explanations). Raises ``ParseError`` otherwise."""
    body = _verdict_text(text)
    found = set()
    for line in body.splitlines():
        m = _RELEVANCE.fullmatch(_MARKUP.sub("", line))
        if m is None or not _NUMBER.fullmatch(m.group(1)):
            continue
        value = float(m.group(1))
        if not 0.0 <= value <= 1.0:
            raise ParseError(f"relevance {m.group(1)} outside [0, 1]")
        found.add(value)
    if not found:
        raise _fail(body, "no 'Relevance: x.xx' line")
    if len(found) > 1:
        raise ParseError(f"different relevance scores: {sorted(found)}")
    return found.pop()


def true_false(text: str) -> bool:
    """R3-RAG's answer check: "Final answer: True" or "False" (markdown, quotes and a full
    stop allowed); any other "Final answer:", both, or none raises ``ParseError``."""
    body = _verdict_text(text)
    found = set()
    for line in body.splitlines():
        m = _FINAL.fullmatch(_MARKUP.sub("", line))
        if m is None:
            continue
        word = m.group(1).strip("'\"“”.").strip().lower()
        if word not in ("true", "false"):
            raise ParseError(f"final answer not True or False: {m.group(1)[:60]!r}")
        found.add(word == "true")
    if not found:
        raise _fail(body, "no 'Final answer:' line")
    if len(found) > 1:
        raise ParseError("both True and False")
    return found.pop()


def exact_match(answer: str, golds: Iterable[str]) -> bool:
    """The answer equals a gold, both casefolded, stripped and without a trailing "."."""

    def norm(s: str) -> str:
        return s.strip().rstrip(".").strip().casefold()

    said = norm(answer)
    return bool(said) and any(said == norm(g) for g in golds)


# -- reading the steps ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SearchStep:
    """One search round: the reasoning before it, its queries (one a line), and the
    environment's text for it (None when unknown; "" when it returned nothing)."""

    analysis: str
    query: str
    documents: str | None


@dataclass(frozen=True, slots=True)
class Rollout:
    """A rollout as steps: its searches in order, the answer, why it is unreadable (empty
    when it reads), where retrieved text came from, and why it is unknown (or None)."""

    steps: tuple[SearchStep, ...]
    answer: str | None
    problems: tuple[str, ...]
    retrieval: str
    reason: str | None = None


def read_steps(
    sample: Sample,
    search_tools: Iterable[str] = DEFAULT_SEARCH_TOOLS,
    trust_tags: bool = False,
) -> Rollout:
    """The search steps of ``sample`` (see the module docstring). A search the environment
    never ran, at the very end, is dropped. Raises ``ValueError`` for malformed
    ``meta["info_spans"]`` or mask (the caller's fault)."""
    tools = frozenset(search_tools)
    if isinstance(sample.completion, str):
        env = retrieved(sample, trust_tags)
        # tags inside retrieved text are not the policy's: read the text with it blanked
        plain = _unrun_search_cut(_blank(env.text, env.spans))
        t = read_trajectory(Sample(completion=plain), tools)
        steps = _text_steps(env.text, plain, env.spans if env.known else None)
        source, reason = env.source, env.reason
    else:
        messages = _unrun_call_cut(response_messages(sample), tools)
        t = read_trajectory(Sample(prompt=sample.prompt, completion=messages), tools)
        steps, source, reason = _chat_steps(messages, tools), "tool messages", None
    missing = ("does not end with an <answer> block", "no answer")
    problems = [p for p in t.problems if not (t.answer is None and p in missing)]
    if any(not r for r in t.rounds):
        problems.append("a search with no query")
    if not t.rounds and t.answer is None:
        problems.append("neither a search nor an answer")
    return Rollout(tuple(steps), t.answer, tuple(problems), source, reason)


def _unrun_search_cut(text: str) -> str:
    """``text`` without a last ``<search>`` block that nothing follows (never run), unless
    an answer came before it."""
    end = text.rstrip()
    if not end.endswith("</search>"):
        return text
    start = end.rfind("<search>")
    if start < 0 or _TAG.search(end, start + len("<search>"), len(end) - 9):
        return text
    return text if "<answer>" in text[:start] else text[:start]


def _unrun_call_cut(messages: list[Any], tools: frozenset[str]) -> list[Any]:
    """The messages without a last assistant message whose search calls got no result,
    unless an answer came before or with it."""
    if not messages or not isinstance(messages[-1], Mapping):
        return messages
    last = messages[-1]
    said = [
        message_text(m) for m in messages if isinstance(m, Mapping) and m.get("role") == "assistant"
    ]
    if last.get("role") != "assistant" or any(last_tag_block(t) is not None for t in said):
        return messages
    return messages[:-1] if message_searches(last.get("tool_calls"), tools, [])[1] else messages


def _blank(text: str, spans: Sequence[tuple[int, int]]) -> str:
    """``text`` with each retrieved span's content replaced by spaces (offsets kept; its
    own ``<information>`` tags left), so only the policy's tags are read."""
    out, last = [], 0
    for s, e in spans:
        inner = text[s:e]
        head = len(_OPEN) if inner.startswith(_OPEN) else 0
        tail = len(_CLOSE) if inner.endswith(_CLOSE) and len(inner) - head >= len(_CLOSE) else 0
        out += [text[last:s], inner[:head], " " * (len(inner) - head - tail)]
        out.append(inner[len(inner) - tail :])
        last = e
    out.append(text[last:])
    return "".join(out)


def _text_steps(text: str, plain: str, spans: Sequence[tuple[int, int]] | None) -> list[SearchStep]:
    """Steps from ``plain`` (retrieved text blanked), documents from ``text``."""
    found: list[tuple[int, int, str, str]] = []  # (start, end, analysis, query)
    thoughts: list[str] = []
    for m in _BLOCK.finditer(plain):
        if m.group(1) == "think" and m.group(2).strip():
            thoughts.append(m.group(2).strip())
        elif m.group(1) == "search":
            query = "\n".join(split_queries(m.group(2)))
            found.append((m.start(), m.end(), "\n".join(thoughts), query))
            thoughts = []
    steps = []
    for k, (_, end, analysis, query) in enumerate(found):
        limit = found[k + 1][0] if k + 1 < len(found) else len(plain)
        docs = None
        if spans is not None:
            blocks = (_body(text[s:e]) for s, e in spans if end <= s < limit)
            docs = "\n".join(b for b in blocks if b)
        steps.append(SearchStep(analysis, query, docs))
    return steps


def _chat_steps(messages: Sequence[Any], tools: frozenset[str]) -> list[SearchStep]:
    steps: list[tuple[str, str, list[str]]] = []
    notes: list[str] = []
    pending = 0
    for m in messages:
        if not isinstance(m, Mapping):
            continue
        if m.get("role") == "assistant":
            queries, calls = message_searches(m.get("tool_calls"), tools, [])
            note = message_text(m).strip()
            notes += [note] if note else []
            if calls:
                steps.append(("\n".join(notes), "\n".join(queries), []))
                notes, pending = [], calls
        elif m.get("role") == "tool" and pending and steps:
            steps[-1][2].append(message_text(m).strip())
            pending -= 1
    return [SearchStep(a, q, "\n".join(x for x in d if x)) for a, q, d in steps]


def _body(block: str) -> str:
    block = block.strip().removeprefix("<information>").removesuffix("</information>")
    return block.strip()


# -- the reward ------------------------------------------------------------------------------------


class JudgeRelevanceParams(JudgeParams):
    """Parameters of ``judge.relevance`` (the judge core's, and these)."""

    max_steps: int = Field(5, ge=1, le=50)
    """Steps a rollout may take, the answer included (the paper's 5); rounds past it are
    not scored."""
    doc_chars: int = Field(512, ge=1, le=1_000_000)
    """The judge sees each step's retrieved text cut to this many characters."""
    judge_answer: bool = True
    """When exact match fails, ask the answer-check prompt (the paper's); else wrong."""
    answer_template: str | None = None
    """A template file for the answer check, with its fields (``template`` is the
    relevance prompt's)."""
    correct_step: float = Field(1.6, ge=0.0, le=100.0, allow_inf_nan=False)
    wrong_step: float = Field(0.8, ge=0.0, le=100.0, allow_inf_nan=False)
    unanswered_step: float = Field(0.9, ge=0.0, le=100.0, allow_inf_nan=False)
    answer_correct: float = Field(2.0, ge=0.0, le=100.0, allow_inf_nan=False)
    format_penalty: float = Field(-0.9, ge=-100.0, le=0.0, allow_inf_nan=False)
    aggregate: Literal["sum", "mean"] = "sum"
    """One scalar from the per-step rewards (the paper trains each step apart)."""
    search_tools: frozenset[str] = DEFAULT_SEARCH_TOOLS
    trust_information_tags: bool = False
    """Take ``<information>`` blocks in plain text as retrieved when ``meta`` does not say
    where the environment's text is (the code; a policy can write them itself)."""


@dataclass(slots=True)
class _Plan:
    """One read rollout waiting for its verdicts."""

    index: int
    rollout: Rollout
    scored: tuple[SearchStep, ...]
    asks: list[int]  # per scored step: its ask's index, or -1 (unknown retrieval)
    answered: bool
    exact: bool
    answer_ask: int  # -1: no answer check


@register(
    summary="R3-RAG: a judge's relevance of each search step's documents, scaled by the answer's outcome",
    paper=R3_RAG,
)
class JudgeRelevance(ItemReward):
    """Per item; every step's ask (and every answer check) of a batch goes out together."""

    name = "judge.relevance"
    work = "model"
    max_chars = None

    def __init__(self, params: JudgeRelevanceParams, backend: Backend | None = None) -> None:
        self.params = params
        self.core = JudgeCore(params, "r3rag_relevance", backend)
        answer_params = params.model_copy(update={"template": params.answer_template})
        shared = backend if backend is not None else shared_backend(self.core)
        self.answer_core = JudgeCore(answer_params, "r3rag_answer_check", shared)

    @property
    def range(self) -> tuple[float, float]:
        p, n = self.params, self.params.max_steps

        def agg(total: float, steps: int) -> float:
            return total if p.aggregate == "sum" else total / steps

        best = [agg(k * p.correct_step + p.answer_correct, k + 1) for k in range(n)]
        best += [agg(k * p.wrong_step, k + 1) for k in range(n)]
        best += [agg(k * p.unanswered_step, k) for k in range(1, n + 1)]
        return (min(p.format_penalty, 0.0), max(best))

    @property
    def floor(self) -> float:
        """A degenerate completion scores as an unreadable rollout."""
        return self.range[0]

    def part_names(self) -> list[str]:
        return ["relevance", "correct"]

    def score_one(self, sample: Sample) -> Score:
        return self.score([sample])[0]

    def score(self, samples: Sequence[Sample]) -> list[Score]:
        p = self.params
        out: list[Score | None] = [None] * len(samples)
        plans: list[_Plan] = []
        asks: list[Ask] = []
        checks: list[Ask] = []
        for i, sample in enumerate(samples):
            try:
                reason = pregate_reason(p, sample)
                if reason is not None:
                    out[i] = Score(self.floor, info={"pregate": reason, "calls": 0})
                    continue
                golds = gold_list(sample.reference)
                if not golds:
                    raise ValueError(f"reference has no gold answer: {sample.reference!r:.80}")
                rollout = read_steps(sample, p.search_tools, p.trust_information_tags)
                if rollout.problems:
                    info = {"outcome": "format", "format": list(rollout.problems), "calls": 0}
                    out[i] = Score(p.format_penalty, info=info)
                    continue
                plans.append(self._plan(i, prompt_text(sample), rollout, golds, asks, checks))
            except Exception as exc:
                if is_strict():
                    raise
                out[i] = Score.failed(exc)
        answers = self.core.ask(asks) if asks else []
        verdicts = self.answer_core.ask(checks) if checks else []
        self.core.check_failures(answers)
        self.answer_core.check_failures(verdicts)
        for plan in plans:
            out[plan.index] = self._finish(plan, answers, verdicts)
        return [s if s is not None else Score.skipped("not scored") for s in out]

    def _plan(
        self, i: int, question: str, rollout: Rollout, golds: list[str],
        asks: list[Ask], checks: list[Ask],
    ) -> _Plan:  # fmt: skip
        """Queue a readable rollout's asks (its steps', its answer check)."""
        p = self.params
        answered = rollout.answer is not None and len(rollout.steps) < p.max_steps
        scored = rollout.steps[: p.max_steps]
        where = []
        for step in scored:
            if step.documents is None:
                where.append(-1)
                continue
            docs = step.documents[: p.doc_chars] or NO_RESULTS
            messages = self.core.template.render(
                question=question, analysis=step.analysis, query=step.query, documents=docs
            )
            where.append(len(asks))
            asks.append(Ask(messages, relevance_score))
        exact, check = False, -1
        if answered:
            assert rollout.answer is not None
            exact = exact_match(rollout.answer, golds)
            says = any(c.isalnum() for c in squad_normalize(rollout.answer))
            if not exact and p.judge_answer and says:
                listed = "\n".join(f"- {g}\n" for g in golds)
                messages = self.answer_core.template.render(
                    question=question, answer=rollout.answer, gold_answers=listed
                )
                check = len(checks)
                checks.append(Ask(messages, true_false))
        return _Plan(i, rollout, scored, where, answered, exact, check)

    def _finish(self, plan: _Plan, answers: list[Answer], verdicts: list[Answer]) -> Score:
        p = self.params
        mine = [answers[k] for k in plan.asks if k >= 0]
        check = verdicts[plan.answer_ask] if plan.answer_ask >= 0 else None
        used = [*mine, *([check] if check is not None else [])]
        info: dict[str, Any] = {"judge": self.core.template.key, **accounting(used)}
        if check is not None:
            info["answer_judge"] = self.answer_core.template.key
        failed = next((a for a in used if a.error is not None), None)
        if failed is not None:
            key = self.answer_core if failed is check else self.core
            return failed.failed({**info, "judge": key.template.key})
        relevance = [
            sum(answers[k].verdicts) / len(answers[k].verdicts) if k >= 0 else 0.0
            for k in plan.asks
        ]
        correct = plan.exact
        if check is not None:
            correct = 2 * sum(bool(v) for v in check.verdicts) > len(check.verdicts)
        if not plan.answered:
            factor, outcome, answer_step = p.unanswered_step, "unanswered", None
        else:
            factor = p.correct_step if correct else p.wrong_step
            outcome = "correct" if correct else "wrong"
            by = "exact" if plan.exact else "judge" if check is not None else "rule"
            reward = p.answer_correct if correct else 0.0
            answer_step = {"correct": correct, "by": by, "reward": reward}
        steps = [{"relevance": s, "reward": factor * s} for s in relevance]
        rewards = [s["reward"] for s in steps] + ([answer_step["reward"]] if answer_step else [])
        value = sum(rewards) if p.aggregate == "sum" else sum(rewards) / len(rewards)
        rollout = plan.rollout
        info.update(outcome=outcome, steps=steps, answer_step=answer_step)
        info.update(answer=(rollout.answer or "")[:200], retrieval=rollout.retrieval)
        if len(rollout.steps) > len(plan.scored):
            info["unscored_rounds"] = len(rollout.steps) - len(plan.scored)
        if rollout.answer is not None and not plan.answered:
            info["answer_after_step_limit"] = True
        if rollout.reason is not None:
            info["reason"] = rollout.reason
        mean = sum(relevance) / len(relevance) if relevance else 0.0
        parts = {"relevance": mean, "correct": 1.0 if plan.answered and correct else 0.0}
        return Score(value, parts=parts, info=info)
