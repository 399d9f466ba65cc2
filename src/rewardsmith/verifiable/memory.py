"""Mem-α's memory-construction reward: answer accuracy, compression, tool success, content.

What it checks. A Mem-α agent reads a long input chunk by chunk and, for each chunk, calls
memory tools (insert / update / delete on core, semantic and episodic memory). When every
chunk is read, a frozen answerer (Qwen3-32B in the paper) answers the task's questions from
the finished memory, and a frozen judge marks each insert/update call's content VALID or
INVALID for its memory type. Those models cannot run inside a reward function, so this
reward takes their outputs as inputs, the way a trainer wires it: the memory server
produces the answers and verdicts, the reward combines them. One sample is one chunk step::

    r = r_acc + β·r_comp + r_tool + γ·r_content          β = 0.05, γ = 0.1 (the code's defaults)

- r_acc: the mean over the questions of a dataset-specific check (below); with
  ``threshold`` set, 1 if that mean is at least the threshold, else 0 (the code's option).
  Rollout level: every chunk step of a rollout carries the same value (see the pitfalls).
- r_comp = 1 − memory_tokens / chunk_tokens, rollout level. Negative when the memory is
  longer than the input, unbounded below; kept, as in the code, which does not clip.
  ``comp_floor`` (None by default, the code's behaviour) clips it from below.
- r_tool = successful calls / calls of this chunk step; 0 for a step with no call (the
  code's rule, so an agent cannot earn it by doing nothing).
- r_content = the share of this step's calls the judge marked VALID; 0 with no call.

Inputs (``reference`` is the task's, ``meta`` the rollout row's other fields)::

    reference = {"gold_answers": ["Paris", ...],      # one per question
                 "questions": ["...", ...],           # optional, same length
                 "check": "substring"}                # optional, see "The check"
    meta = {"predicted_answers": ["...", ...],        # the answerer's, one per question
            "answer_verdicts": [true, "no", ...],     # judge (LME), or substring's judge
            "memory_tokens": 812, "chunk_tokens": 4096,
            "tool_calls": [{"name": "new_memory_insert", "success": true}, ...],
            "content_verdicts": ["VALID", "INVALID", ...],   # one per tool call
            "data_source": "squad"}

Token counts: ``memory_tokens`` (the finished memory, all three types) and
``chunk_tokens`` (every chunk of the input, summed) are read from ``meta``; the code counts
them with Qwen3's tokenizer and the trainer should pass its own counts. When either is
missing and both ``memory_text`` and ``chunk_text`` are given instead (strings, or lists
of strings that are concatenated), both counts are *estimated* as the number of words and
punctuation marks (regex ``\\w+|[^\\w\\s]``); ``info["token_counts"]`` says which
("meta" or "estimated"). An estimate is not the code's count: it is on another scale, so
do not mix the two within a run.

Tool calls: ``meta["tool_calls"]`` lists the calls of this chunk step in order. A call
succeeded when it has ``"success": true``; without a ``success`` key, when its ``result``
string contains "executed successfully" and not "'status': 'skipped'" (the code's test on
the tool's output). The calls are read from ``meta`` because the memory tools run in the
environment; the completion itself is not parsed. ``[]`` is a step without a call
(r_tool = r_content = 0, ``info["reason"]``); a missing key is an error.

Verdicts (``answer_verdicts``, ``content_verdicts``): ``true``/``false``, 1/0, or the
strings yes/no, correct/wrong, valid/invalid, true/false (any case). Anything else,
``null`` included, is an error for the item: a judge that failed is not a wrong answer.

The check, per item: ``reference["check"]``, else the ``check`` parameter, else by
``meta["data_source"]`` (or ``meta["dataset"]``) as the code routes it: squad, hotpotqa →
substring; booksum → keywords; perltqa → parts; pubmed-rct or a name containing
"ttl_train" or "icl" → digit; lme_train → judge. Any other source without a check is an
error (the code falls back to MemoryAgentBench's metrics, not reproduced here). The
answerer's reasoning is dropped first: the text after ``</think>``, or "Empty" when a
``<think>`` is never closed (the code's rule). Then, per question:

- ``substring``: 1 if a gold answer (a string or a list of accepted strings) is a
  substring of the answer, both SQuAD-normalised; with ``answer_verdicts`` in ``meta``
  those verdicts are used instead (the code's ``generative_reward``).
- ``keywords``: the share of the gold's comma-separated keywords (or a list) found in the
  answer, case-insensitive.
- ``parts``: the share of the gold's ';'-separated parts found in the answer,
  case-insensitive.
- ``digit``: 1 if the answer's ``<answer>`` block, else ``\\boxed{}``/``\\box{}``, else the
  whole text, stripped of quotes, is digits only and equals the gold.
- ``judge``: the judge's yes/no verdict from ``answer_verdicts``.

Score range: [β·comp_floor, 2 + β + γ] with a floor, (−∞, 2 + β + γ] without (2.15 at the
defaults). Parts: ``acc``, ``comp``, ``tool``, ``content`` (unweighted); a term whose
weight is 0 needs no input and is left out. ``info`` holds ``raw_acc`` (before the
threshold), ``check`` and ``token_counts``.

Paper: Mem-α: Learning Memory Construction via Reinforcement Learning (Wang et al., arXiv
2509.25911); code ``wangyu-ustc/Mem-alpha``: ``verl/workers/reward_manager/naive.py`` (the
sum and r_acc), ``memalpha/llm_agent/generation.py`` (r_tool, token counts),
``memory_server.py`` (the content judge).

Departures from the code: ``substring`` normalises both sides SQuAD-style (the code only
lowercases); ``parts`` lowercases the answer too (the code lowercases only the gold parts
when there is a ';'); ``keywords`` ignores empty keywords (the code counts "" as a hit);
an unparsable or missing verdict is an error, where the code counts it as wrong or
INVALID. The code only judges insert/update calls and scores others (delete) INVALID;
here the trainer's verdict list says what each call got.

Pitfalls and gaming: r_acc and r_comp are broadcast to every chunk step, so a step that
wrote nothing useful shares the rollout's accuracy. ``substring`` and ``keywords`` are
containment checks: an answerer that lists many candidates scores well, so the policy
can profit from memories that push the answerer to hedge. r_comp rewards a small memory,
at the cost of accuracy only through r_acc; with β small it mostly breaks ties, and an
empty memory earns the full β. r_tool pays for calls that merely succeed (inserting
trivia). Estimated token counts are cheap to game with long tokens.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import Field

from rewardsmith.core import ItemReward, Paper, Params, Sample, Score, register
from rewardsmith.verifiable.qa import squad_normalize

__all__ = [
    "CHECKS",
    "MEM_ALPHA",
    "MemAlpha",
    "MemAlphaParams",
    "check_for_source",
    "parse_verdict",
    "tool_success",
]

MEM_ALPHA = Paper("Mem-α: Learning Memory Construction via Reinforcement Learning", "2509.25911")

Check = Literal["substring", "keywords", "parts", "digit", "judge"]
CHECKS: tuple[str, ...] = ("substring", "keywords", "parts", "digit", "judge")
_SOURCES = {
    "squad": "substring",
    "hotpotqa": "substring",
    "booksum": "keywords",
    "perltqa": "parts",
    "pubmed-rct": "digit",
    "lme_train": "judge",
}
_YES = {"yes", "correct", "valid", "true"}
_NO = {"no", "wrong", "invalid", "false"}
_TOKEN = re.compile(r"\w+|[^\w\s]")
_ANSWER_TAG = re.compile(r"<answer>(.*?)</answer>", re.DOTALL | re.IGNORECASE)
_BOXED = re.compile(r"\\boxed\{([^}]*)\}")
_BOX = re.compile(r"\\box\{([^}]*)\}")


class MemAlphaParams(Params):
    beta: float = Field(0.05, ge=0.0)
    """Weight of r_comp (the code's ``compression_ratio_weight``; ablations 0, 0.2, 0.4)."""
    gamma: float = Field(0.1, ge=0.0)
    """Weight of r_content (the code's ``function_content_reward_weight``)."""
    check: Check | None = None
    """The r_acc check for items whose reference names none; None: by data_source."""
    threshold: float | None = Field(None, ge=0.0, le=1.0)
    """Binarise r_acc: 1 if at least this, else 0 (off by default, as in the code)."""
    comp_floor: float | None = Field(None, le=1.0)
    """Clip r_comp from below; None keeps the code's unclipped (possibly negative) value."""


def check_for_source(source: str) -> str | None:
    """The check the code uses for a data source, or None when it has none."""
    name = source.strip().lower()
    if name in _SOURCES:
        return _SOURCES[name]
    if "ttl_train" in name or "icl" in name:
        return "digit"
    return None


def parse_verdict(value: Any, where: str) -> bool:
    """A judge's verdict as a bool; ValueError (naming ``where``) when it is not one."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _YES:
            return True
        if word in _NO:
            return False
    raise ValueError(f"{where}: not a verdict: {value!r:.60}")


def tool_success(call: Any, where: str) -> bool:
    """Whether one tool call succeeded: its ``success`` flag, else the code's result test."""
    if not isinstance(call, Mapping):
        raise ValueError(f"{where}: a tool call must be an object, not {call!r:.60}")
    if "success" in call:
        flag = call["success"]
        if not isinstance(flag, bool):
            raise ValueError(f"{where}.success must be true or false, not {flag!r:.40}")
        return flag
    result = call.get("result")
    if not isinstance(result, str):
        raise ValueError(f"{where} needs 'success' (bool) or 'result' (string)")
    return "executed successfully" in result and "'status': 'skipped'" not in result


def _strip_thinking(answer: str) -> str:
    if "<think>" in answer and "</think>" in answer:
        answer = answer.split("</think>")[1].strip()
    return "Empty" if "<think>" in answer else answer


def _extract(answer: str) -> str:
    for pattern in (_ANSWER_TAG, _BOXED, _BOX):
        match = pattern.search(answer)
        if match:
            return match.group(1).strip()
    return answer.strip()


def _strings(gold: Any, where: str) -> list[str]:
    if isinstance(gold, str):
        return [gold]
    if isinstance(gold, int | float) and not isinstance(gold, bool):
        return [str(gold)]
    if isinstance(gold, list) and gold and all(isinstance(g, str) for g in gold):
        return list(gold)
    raise ValueError(f"{where}: a gold answer must be a string or a list of strings")


def _share(items: list[str], answer: str, where: str) -> float:
    keys = [k.strip().lower() for k in items if k.strip()]
    if not keys:
        raise ValueError(f"{where}: the gold answer has nothing to look for")
    text = answer.lower()
    return sum(k in text for k in keys) / len(keys)


def question_score(check: str, gold: Any, answer: str, where: str) -> float:
    """One question's score under ``check`` (all but ``judge``, which needs verdicts)."""
    golds = _strings(gold, where)
    if check == "substring":
        wanted = [n for n in map(squad_normalize, golds) if n]
        if not wanted:
            raise ValueError(f"{where}: the gold answer is empty after normalisation")
        return float(any(n in squad_normalize(answer) for n in wanted))
    if check == "keywords":
        keys = golds[0].split(",") if len(golds) == 1 else golds
        return _share(keys, answer, where)
    if check == "parts":
        return _share(";".join(golds).split(";"), answer, where)
    if check == "digit":
        pred = _extract(answer).strip("\"'").strip()
        digits = {g.strip("\"'").strip() for g in golds}
        return float(bool(re.fullmatch(r"\d+", pred)) and pred in digits)
    raise ValueError(f"{where}: unknown check {check!r}")


def _list(container: Mapping[str, Any], key: str, where: str) -> list[Any]:
    if key not in container:
        raise ValueError(f"{where} has no {key!r}")
    value = container[key]
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise ValueError(f"{where}[{key!r}] must be a list, not {value!r:.60}")
    return list(value)


def _count(meta: Mapping[str, Any], key: str) -> int | None:
    if key not in meta:
        return None
    value = meta[key]
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"meta[{key!r}] must be a non-negative integer, not {value!r:.40}")
    return value


def _text(value: Any, key: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "\n".join(value)
    raise ValueError(f"meta[{key!r}] must be a string or a list of strings")


def token_counts(meta: Mapping[str, Any]) -> tuple[int, int, str]:
    """(memory tokens, chunk tokens, "meta" | "estimated"); ValueError when neither way works."""
    memory, chunks = _count(meta, "memory_tokens"), _count(meta, "chunk_tokens")
    if memory is not None and chunks is not None:
        return memory, chunks, "meta"
    if "memory_text" in meta and "chunk_text" in meta:
        mem_text = _text(meta["memory_text"], "memory_text")
        chunk_text = _text(meta["chunk_text"], "chunk_text")
        return len(_TOKEN.findall(mem_text)), len(_TOKEN.findall(chunk_text)), "estimated"
    raise ValueError("r_comp needs meta 'memory_tokens' and 'chunk_tokens' (or the texts)")


@register(
    paper=MEM_ALPHA,
    summary="Mem-α: QA accuracy + β·compression + tool success + γ·judged-VALID content",
)
class MemAlpha(ItemReward):
    """Mem-α's per-step reward from the answerer's answers and the judge's verdicts.

    Args:
        params: the parameters (``MemAlphaParams``); default the code's weights.

    Example:
        >>> import rewardsmith
        >>> from rewardsmith.core import Sample
        >>> reward = rewardsmith.load("memory.mem_alpha")
        >>> sample = Sample(
        ...     reference={"gold_answers": ["Paris", "1912"], "check": "substring"},
        ...     meta={
        ...         "predicted_answers": ["It is Paris.", "In 1913."],
        ...         "memory_tokens": 100, "chunk_tokens": 400,
        ...         "tool_calls": [{"success": True}, {"success": False}],
        ...         "content_verdicts": ["VALID", "VALID"],
        ...     },
        ... )
        >>> (score,) = reward.score([sample])
        >>> round(score.value, 4), dict(score.parts)
        (1.1375, {'acc': 0.5, 'comp': 0.75, 'tool': 0.5, 'content': 1.0})
    """

    name = "memory.mem_alpha"
    max_chars = None  # the completion is not parsed; every input is in reference and meta

    def __init__(self, params: MemAlphaParams | None = None) -> None:
        self.params = params or MemAlphaParams.model_validate({})

    @property
    def range(self) -> tuple[float, float]:
        p = self.params
        lo = float("-inf") if p.comp_floor is None else p.beta * p.comp_floor
        return (lo, 2.0 + p.beta + p.gamma)

    def part_names(self) -> list[str]:
        p = self.params
        return [
            "acc",
            *(["comp"] if p.beta > 0 else []),
            "tool",
            *(["content"] if p.gamma > 0 else []),
        ]

    def score_one(self, sample: Sample) -> Score:
        p = self.params
        ref, meta = sample.reference, sample.meta
        if not isinstance(ref, Mapping):
            raise ValueError(f"reference must be an object with 'gold_answers': {ref!r:.80}")
        check = self._check(ref, meta)
        raw_acc = self._accuracy(check, ref, meta)
        acc = raw_acc if p.threshold is None else float(raw_acc >= p.threshold)
        parts = {"acc": acc}
        info: dict[str, Any] = {"check": check, "raw_acc": raw_acc}
        value = acc
        if p.beta > 0:
            memory, chunks, how = token_counts(meta)
            if chunks == 0:
                raise ValueError("chunk_tokens is 0: the compression ratio is undefined")
            comp = 1.0 - memory / chunks
            if p.comp_floor is not None:
                comp = max(p.comp_floor, comp)
            parts["comp"], info["token_counts"] = comp, how
            value += p.beta * comp
        calls = _list(meta, "tool_calls", "meta")
        oks = [tool_success(c, f"meta.tool_calls[{i}]") for i, c in enumerate(calls)]
        parts["tool"] = sum(oks) / len(oks) if oks else 0.0
        value += parts["tool"]
        if p.gamma > 0:
            parts["content"] = self._content(meta, len(calls))
            value += p.gamma * parts["content"]
        if not calls:
            info["reason"] = "no tool calls in this step"
        return Score(value, parts=parts, info=info)

    def _check(self, ref: Mapping[str, Any], meta: Mapping[str, Any]) -> str:
        named = ref.get("check", self.params.check)
        if named is not None:
            if named not in CHECKS:
                raise ValueError(f"reference check {named!r} is not one of {', '.join(CHECKS)}")
            return str(named)
        source = meta.get("data_source", meta.get("dataset"))
        found = check_for_source(source) if isinstance(source, str) else None
        if found is None:
            raise ValueError(
                f"no check for data_source {source!r}: set reference 'check' or the check parameter"
            )
        return found

    def _accuracy(self, check: str, ref: Mapping[str, Any], meta: Mapping[str, Any]) -> float:
        golds = _list(ref, "gold_answers", "reference")
        if not golds:
            raise ValueError("reference 'gold_answers' is empty: r_acc needs a question")
        if "questions" in ref and len(_list(ref, "questions", "reference")) != len(golds):
            raise ValueError("reference 'questions' and 'gold_answers' differ in length")
        if check == "judge" or (check == "substring" and "answer_verdicts" in meta):
            verdicts = _list(meta, "answer_verdicts", "meta")
            if len(verdicts) != len(golds):
                raise ValueError(f"{len(verdicts)} answer_verdicts for {len(golds)} questions")
            marks = [parse_verdict(v, f"meta.answer_verdicts[{i}]") for i, v in enumerate(verdicts)]
            return sum(marks) / len(marks)
        answers = _list(meta, "predicted_answers", "meta")
        if len(answers) != len(golds):
            raise ValueError(f"{len(answers)} predicted_answers for {len(golds)} questions")
        scores = []
        for i, (gold, answer) in enumerate(zip(golds, answers, strict=True)):
            if not isinstance(answer, str):
                raise ValueError(f"meta.predicted_answers[{i}] must be a string")
            where = f"reference.gold_answers[{i}]"
            scores.append(question_score(check, gold, _strip_thinking(answer), where))
        return sum(scores) / len(scores)

    def _content(self, meta: Mapping[str, Any], n_calls: int) -> float:
        verdicts = _list(meta, "content_verdicts", "meta")
        if len(verdicts) != n_calls:
            raise ValueError(f"{len(verdicts)} content_verdicts for {n_calls} tool calls")
        marks = [parse_verdict(v, f"meta.content_verdicts[{i}]") for i, v in enumerate(verdicts)]
        return sum(marks) / len(marks) if marks else 0.0
