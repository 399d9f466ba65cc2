"""``tool.call``: ToolRL's format reward plus fine-grained tool-call correctness.

What it checks: the tool calls a completion makes against the gold calls, as ToolRL
(Qian et al., "ToolRL: Reward is All Tool Learning Needs", arXiv 2504.13958; code
``verl/utils/reward_score/rlla.py``) defines it. The value is ``R_format + R_correct``,
range [-3, 4] by default.

- ``R_format`` is ``f_max`` (1) if the text matches the structure the gold answer needs,
  each tag exactly once, else ``f_min`` (0). Gold calls present: ``<think>...</think>``
  then ``<tool_call>\\n...\\n</tool_call>``; no gold call: ``<think>...</think>`` then
  ``<response>...</response>``; ``"response": true`` in the reference asks for both.
- ``R_correct``, when the gold answer calls tools: ``r_name`` is the multiset Jaccard of
  tool names; each gold call is greedily matched (in gold order) to the unused predicted
  call of the same name with the highest ``r_param + r_value`` (``r_param``: Jaccard of
  the parameter-name multisets; ``r_value``: the number of gold parameters whose value is
  equal). ``S = r_name + sum(matched)``, ``S_max = 1 + sum over gold calls (1 + |params|)``
  and ``R_correct = (c_max - c_min) * S / S_max + c_min``. An exact match (the whole list
  equal) gives ``c_max`` (3); a missing or unparsable call gives ``c_min`` (-3). A gold
  answer with no call gives 0, whatever the completion does.

Ablations (ToolRL's environment flags, as parameters): ``coarse`` (exact match or
``c_min``), ``partial_params=False`` (a matched call earns 1 only if it equals the gold
call; ``S_max`` counts 1 per call), ``correct_max=1`` (range [-1, 1]) and ``schedule``:
``"max1_step30"`` (correctness in [-1, 1] before step 30, then [-3, 3]) or ``"linear150"``
(over 150 steps correctness widens from [-2, 2] to [-3, 3] and format narrows from
[-2, 2] to [-1, 1]). Schedules follow ``set_step`` through ``on_step``.

Input: a text completion with ``<tool_call>`` blocks (one JSON object per line, or a JSON
list), or chat messages, where the last assistant message's OpenAI-style ``tool_calls``
(``{"function": {"name": ..., "arguments": "<json>"}}``) count. For messages ``R_format``
checks that calls are present exactly when the gold answer has them and all parse (no
``<think>`` needed: native tool calling has no tags). The reference is
``{"tool_calls": [{"name": ..., "arguments": {...}}, ...]}`` (``parameters`` is accepted
for ``arguments``).

Which calls count (guard ``executed_calls``, on by default): the calls an executor would
run, i.e. every ``<tool_call>`` block *outside* ``<think>``, in order, as a Hermes-style
parser runs them after the reasoning is split off (text inside ``<think>...</think>``,
after an unclosed ``<think>``, or before a ``</think>`` the template opened, is
reasoning). An unclosed ``<tool_call>`` or any unparsable block makes the whole answer
unparsable. ``executed_calls=False`` reads what ToolRL's code reads, the first
``<tool_call>`` block anywhere (``response.split("<tool_call>")[1]``), ``<think>``
included.

Extra calls (guard ``penalize_unmatched``, on by default): each executed call that no gold
call was matched to one-to-one adds what it could have earned to ``S_max``:
``1 + |its params|`` (1 with ``partial_params=False``), as a missed gold call does. So
the score is a precision as well as a recall, and spraying calls costs.
``penalize_unmatched=False`` is the paper's ``S_max``.

Arguments are JSON objects with unique keys: a duplicate key (``{"day": "1", "day":
"2"}``, or a second ``"name"``) makes the call unparsable, since executors differ on
which one wins (Python keeps the last, others the first or refuse).

How it can be gamed, and the guards: with the paper's greedy best-of-many matching,
spraying every argument combination as separate calls earned more than one honest guess
(3.0 against 2.8 for one wrong value of three); calling every tool once still earned
``r_name`` overlap; a call written only inside ``<think>`` earned full correctness; a
wrong call followed by a right one in a second block earned 3.0 although an executor
runs the wrong one too. Under the guards the spray earns -1.0, the think-only call
c_min, and every extra call lowers the score (``tests/security/
test_tools_advantages_hostile.py``). What is left: matching is greedy, not optimal, as in
the paper; values compare with ``==`` after JSON decoding, so ``"5"`` differs from ``5``
(we keep ``true`` apart from ``1``, which Python's ``==`` would not); a gold answer with
no call scores correctness 0 whatever the model calls, so only the format term punishes
a needless call there; right names with wrong values still earn partial credit.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import Field

from rewardsmith.core import ItemReward, Paper, Params, Sample, Score, register
from rewardsmith.core.types import Message

__all__ = [
    "ToolCall",
    "ToolCallParams",
    "as_call",
    "outside_think",
    "parse_tool_calls",
    "tool_call_score",
]

TOOLRL = Paper("ToolRL: Reward is All Tool Learning Needs", "2504.13958")

Call = tuple[str, dict[str, Any]]

_TAGS = ("think", "tool_call", "response")
_STRUCTURES = {
    (True, False): r"<think>.*?</think>\s*<tool_call>\n.*?\n</tool_call>",
    (False, True): r"<think>.*?</think>\s*<response>.*?</response>",
    (True, True): r"<think>.*?</think>\s*<tool_call>\n.*?\n</tool_call>\s*<response>.*?</response>",
    (False, False): r"<think>.*?</think>",
}


class ToolCallParams(Params):
    coarse: bool = False
    """COARSEREWARD: correctness is ``c_max`` for an exact match, else ``c_min``."""
    partial_params: bool = True
    """False is INTERMEDIATEREWARD: no partial credit for parameters within a call."""
    correct_max: float = Field(3.0, gt=0)
    """Correctness lies in [-correct_max, correct_max] (3 in the paper; 1 for CORRECTMAX1)."""
    format_max: float = 1.0
    format_min: float = 0.0
    schedule: Literal["none", "max1_step30", "linear150"] = "none"
    """MAX1STEP30MAX3 or SCHEDULEREWARD; the step comes from ``set_step``."""
    executed_calls: bool = True
    """Guard: score every ``<tool_call>`` block outside ``<think>``, in order (what an
    executor runs); False reads the first block anywhere, as ToolRL's code."""
    penalize_unmatched: bool = True
    """Guard: each call not matched one-to-one to a gold call adds ``1 + |params|`` to
    ``S_max``; False is the paper's ``S_max``."""


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An ``object_pairs_hook`` that refuses duplicate keys (executors differ on them)."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r:.40} in a tool call")
        out[key] = value
    return out


def _json(text: str) -> Any:
    return json.loads(text, object_pairs_hook=_unique_keys)


def _loads(raw: Any) -> Any:
    if isinstance(raw, str):  # OpenAI sends arguments as a JSON string; "" for no arguments
        return _json(raw) if raw.strip() else {}
    return raw


def as_call(obj: Any) -> Call:
    """One call as (name, arguments); ValueError if it has no string name or dict args."""
    if not isinstance(obj, Mapping):
        raise ValueError(f"a tool call is not an object: {obj!r:.60}")
    if isinstance(obj.get("function"), Mapping):  # OpenAI: {"type": "function", "function": ...}
        obj = obj["function"]
    name = obj.get("name")
    args = _loads(obj.get("arguments", obj.get("parameters", {})))
    if not isinstance(name, str) or not isinstance(args, dict):
        raise ValueError(f"a tool call needs a string name and object arguments: {obj!r:.60}")
    return name, args


def _parse_block(block: str) -> list[Call]:
    text = block.strip()
    try:
        whole = _json(text)
    except ValueError:  # the paper's layout: one JSON object per line
        items: list[Any] = [_json(line) for line in text.splitlines() if line.strip()]
    else:
        items = whole if isinstance(whole, list) else [whole]
    if not items:
        raise ValueError("empty <tool_call> block")
    return [as_call(x) for x in items]


_OPEN, _CLOSE = "<tool_call>", "</tool_call>"
_THINK_TAG = re.compile(r"</?think>")


def outside_think(text: str) -> str:
    """The text an executor reads once the reasoning is split off.

    ``<think>...</think>`` spans are removed; an unclosed ``<think>`` hides the rest of
    the text, and a ``</think>`` with no opening hides what precedes it (the chat
    template opened it). The remaining pieces are joined with newlines, so that no tag is
    formed across a removed span.
    """
    pieces: list[str] = []
    pos, inside = 0, False
    for m in _THINK_TAG.finditer(text):
        if m.group() == "<think>":
            if not inside:
                pieces.append(text[pos : m.start()])
                inside = True
        else:
            if not inside:
                pieces = []
            inside = False
            pos = m.end()
    if not inside:
        pieces.append(text[pos:])
    return "\n".join(pieces)


def _blocks(text: str) -> list[str] | None:
    """Every ``<tool_call>`` block, in order; None if one is left unclosed. Linear time."""
    out: list[str] = []
    i = 0
    while (start := text.find(_OPEN, i)) >= 0:
        end = text.find(_CLOSE, start + len(_OPEN))
        if end < 0:
            return None
        out.append(text[start + len(_OPEN) : end])
        i = end + len(_CLOSE)
    return out


def _first_block(text: str) -> str | None:
    """ToolRL's reading: the text between the first ``<tool_call>`` and the next close."""
    start = text.find(_OPEN)
    if start < 0:
        return None
    end = text.find(_CLOSE, start + len(_OPEN))
    return None if end < 0 else text[start + len(_OPEN) : end]


def parse_tool_calls(
    completion: str | Sequence[Message], executed: bool = True
) -> list[Call] | None:
    """The calls a completion makes: [] for none, None when a call is there but unparsable.

    Text, ``executed`` (the default): every ``<tool_call>`` block outside ``<think>``, in
    order, as an executor runs them; otherwise the first block anywhere (ToolRL's code).
    Messages: the last assistant message's ``tool_calls``; its text content is read for
    ``<tool_call>`` when it has none. Duplicate JSON keys make a call unparsable.
    """
    if not isinstance(completion, str):
        for message in reversed(completion):
            if message.get("role", "assistant") == "assistant":
                raw = message.get("tool_calls")
                if raw:
                    try:
                        return [as_call(c) for c in raw]
                    except (ValueError, TypeError, RecursionError):
                        return None
                content = message.get("content")
                return parse_tool_calls(content, executed) if isinstance(content, str) else []
        return []
    try:
        if not executed:
            block = _first_block(completion)
            if block is None:
                return None if _OPEN in completion else []
            return _parse_block(block)
        blocks = _blocks(outside_think(completion))
        if blocks is None:
            return None
        return [call for block in blocks for call in _parse_block(block)]
    except (ValueError, TypeError, RecursionError):
        return None


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return bool(a == b)


def _jaccard(a: Sequence[str], b: Sequence[str]) -> float:
    """Multiset Jaccard, with ToolRL's edge cases: equal lists 1, one side empty 0."""
    if list(a) == list(b):
        return 1.0
    if not a or not b:
        return 0.0
    ca, cb = Counter(a), Counter(b)
    inter = sum((ca & cb).values())
    return inter / (len(a) + len(b) - inter)


def _calls_equal(gold: Sequence[Call], pred: Sequence[Call]) -> bool:
    return len(gold) == len(pred) and all(
        g_name == p_name
        and g_args.keys() == p_args.keys()
        and all(_same(v, p_args[k]) for k, v in g_args.items())
        for (g_name, g_args), (p_name, p_args) in zip(gold, pred, strict=True)
    )


def tool_call_score(
    gold: Sequence[Call],
    pred: Sequence[Call],
    partial_params: bool = True,
    penalize_unmatched: bool = False,
) -> tuple[float, float]:
    """ToolRL's raw score ``(S, S_max)`` before it is scaled into the correctness range.

    ``penalize_unmatched`` (the reward's guard; off here, the paper's score): each
    predicted call left unmatched adds ``1 + |its params|`` (1 without partial params)
    to ``S_max``.
    """
    s = _jaccard([g[0] for g in gold], [p[0] for p in pred])
    s_max = 1.0
    used: set[int] = set()
    for name, args in gold:
        s_max += 1.0 if not partial_params else 1.0 + len(args)
        best, best_i = 0.0, -1
        for i, (p_name, p_args) in enumerate(pred):
            if i in used or p_name != name:
                continue
            if not partial_params:
                if _calls_equal([(name, args)], [(p_name, p_args)]):
                    best, best_i = 1.0, i
                    break
                continue
            total = _jaccard(list(args), list(p_args)) + sum(
                1.0 for k, v in args.items() if k in p_args and _same(p_args[k], v)
            )
            if total > best:
                best, best_i = total, i
        if best_i >= 0:
            used.add(best_i)
            s += best
    if penalize_unmatched:
        for i, (_, p_args) in enumerate(pred):
            if i not in used:
                s_max += 1.0 + len(p_args) if partial_params else 1.0
    return s, s_max


def _gold(reference: Any) -> tuple[list[Call], bool]:
    if not isinstance(reference, Mapping) or not isinstance(reference.get("tool_calls"), list):
        raise ValueError(f"reference needs a 'tool_calls' list: {reference!r:.80}")
    calls = [as_call(c) for c in reference["tool_calls"]]
    return calls, bool(reference.get("response", not calls))


@register(
    paper=TOOLRL, summary="ToolRL format reward plus name/parameter/value tool-call correctness"
)
class ToolCall(ItemReward):
    name = "tool.call"

    def __init__(self, params: ToolCallParams) -> None:
        self.params = params
        self.step = 0

    def on_step(self, step: int) -> None:
        self.step = step

    @property
    def range(self) -> tuple[float, float]:
        p = self.params
        if p.schedule == "linear150":
            return (min(p.format_min, -2.0) - 3.0, max(p.format_max, 2.0) + 3.0)
        c = max(p.correct_max, 1.0) if p.schedule == "max1_step30" else p.correct_max
        return (p.format_min - c, p.format_max + c)

    def _bounds(self) -> tuple[float, float, float, float]:
        """(format_min, format_max, correct_min, correct_max) at the current step."""
        p = self.params
        if p.schedule == "linear150":
            t = min(max(self.step, 0), 150) / 150
            return (-2.0 + t, 2.0 - t, -2.0 - t, 2.0 + t)
        c = p.correct_max
        if p.schedule == "max1_step30" and self.step < 30:
            c = 1.0
        return (p.format_min, p.format_max, -c, c)

    def part_names(self) -> list[str]:
        return ["format", "correct"]

    def score_one(self, sample: Sample) -> Score:
        gold, wants_response = _gold(sample.reference)
        f_min, f_max, c_min, c_max = self._bounds()
        pred = parse_tool_calls(sample.completion, self.params.executed_calls)
        fmt_ok = self._format_ok(sample, bool(gold), wants_response, pred)
        r_format = f_max if fmt_ok else f_min
        info: dict[str, Any] = {"calls": None if pred is None else [c[0] for c in pred]}
        if not gold:
            r_correct = 0.0
        elif pred is None or not pred:
            r_correct = c_min
            info["reason"] = "no tool call" if pred is not None else "unparsable tool call"
        elif _calls_equal(gold, pred):
            r_correct = c_max
        elif self.params.coarse:
            r_correct = c_min
        else:
            s, s_max = tool_call_score(
                gold, pred, self.params.partial_params, self.params.penalize_unmatched
            )
            r_correct = (c_max - c_min) * s / s_max + c_min
            info.update(s=s, s_max=s_max)
        return Score.ok(r_format + r_correct, info, format=r_format, correct=r_correct)

    def _format_ok(
        self, sample: Sample, has_calls: bool, wants_response: bool, pred: list[Call] | None
    ) -> bool:
        if pred is None:
            return False
        text = sample.text.strip()
        if not isinstance(sample.completion, str) and (
            _has_native_calls(sample.completion) or "<tool_call>" not in text
        ):
            return bool(pred) == has_calls and (not wants_response or bool(text))
        if not re.fullmatch(_STRUCTURES[has_calls, wants_response], text, re.DOTALL):
            return False
        needed = {"think", "tool_call"} if has_calls else {"think"}
        if wants_response:
            needed.add("response")
        return all(
            text.count(f"<{t}>") == text.count(f"</{t}>") == (1 if t in needed else 0)
            for t in _TAGS
        )


def _has_native_calls(messages: Sequence[Message]) -> bool:
    for message in reversed(messages):
        if message.get("role", "assistant") == "assistant":
            return bool(message.get("tool_calls"))
    return False
