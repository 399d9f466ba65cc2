"""``math.answer``: is the completion's final answer equal to the reference answer?

What it checks: the final answer is found by the answer-location rule of ``verifiable.answers``
(after any ``<think>``, in the last ``<answer>`` block if there is one, the last final
statement decides: a ``\\boxed{}``, an answer phrase, ``####``; retracted boxes, hedges
and hidden text do not count), normalised (``answer_text.normalize_answer``), checked for
hedges, unevaluated operations and expressions copied from the prompt (``math.ops``),
then compared with the normalised reference in tiers, cheapest first; the first tier
that decides wins and is named in ``info["tier"]``:

1. ``string``: the normalised texts are equal, ignoring whitespace.
2. ``number``: both are plain numbers (integers, decimals, fractions, scientific
   notation, repeating decimals, any length), compared by the tolerance rule
   (``answer_text.within_precision``): an exact reference exactly, a decimal one at the
   precision it is written to; ``rel_tol`` (default 0) adds a relative tolerance.
3. ``structure`` (``math.struct``): tuples, intervals (open and closed ends count), sets,
   lists, unions, matrices, equations and inequalities, labels (``f(2) = 5`` against 5),
   one-variable inequalities against intervals, ``\\pm`` against lists, element by
   element with tiers 1 and 2 and exact arithmetic on all-number leaves
   (``math.arith``).
4. ``symbolic`` (``math.symbolic``): what the cheap tiers leave open is read with
   ``latex2sympy2_extended`` and decided by sympy, exactly, in a worker process.

Tiers 1–3 run in the calling process, linear in the text, every regex under a timeout
(an item past it scores the floor with status ``timeout``). ``score(batch)`` resolves
every item it can that way, then sends the rest at once to the runtime's worker pool
(``shared_executor``), one task per distinct (answer, reference) pair, each under a hard
wall-clock limit (``timeout_s``, default 2 s) after which its worker is killed: such an
item scores 0.0 with status ``timeout`` and the reason in ``info``. A worker that dies is
an error (value None), never a wrong answer. Symbolic verdicts are kept in a bounded LRU
(65,536 pairs), so the repeated answers of a GRPO group are verified once
(``symbolic_runs`` counts the worker tasks). The pool never imports the caller's
``__main__``, so an unguarded script works.

Limits before sympy sees anything (``math.limits``): over 1,000 characters, nesting over
50 (8 for bare groups), exponent towers, huge powers and factorials: such an answer
scores what tiers 1–3 give, with the reason in ``info["limit"]``.

Strict mode (the default) gives 0 with reason ``"several final answers"`` to hedges: "3
or 4", ``\\vee``, a list of numbers or ``\\pm`` against a single number, boxes offered
as alternatives, a run of different adjacent boxes against a one-part reference.

``info`` holds ``extracted`` (the raw answer, cut to 200 characters), ``source`` (the
rule that found it) and ``tier``; ``reason`` when the item scored 0 without a comparison
or timed out; ``limit`` when an answer was too big to verify. The reference is a string
(its last run of ``\\boxed{}``, its ``####`` answer, or a whole solution's final
statement), a number, or a dict with ``answer``, ``target`` or ``ground_truth``; a
missing or empty reference is an error (value None). Range [0, 1].

Paper: Measuring Mathematical Problem Solving With the MATH Dataset (Hendrycks et al.,
arXiv 2103.03874), whose answer normalisation this follows in spirit.

Known failure modes and how it is gamed (docs/math.md has the full list of what is
refused on purpose): equations are equivalent up to a constant factor, not as solution
sets (``x^2 = 1`` is not ``x = 1, x = -1``). ``i`` is a variable, not the imaginary unit,
and ``e`` is Euler's number. A number before a fraction is a mixed number. Sums of
literals are not refused (``1 + 1`` for 2), nor unsimplified fractions unless
``require_simplest_form``. Sympy may fail to prove a true identity (a false negative,
never a false positive) or run out of time (status ``timeout``). A completion over
``max_chars`` (100,000) scores 0 unread.
"""

from __future__ import annotations

import math as _m
import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pydantic import Field

from rewardsmith.core import ItemError, ItemReward, Paper, Params, Sample, Score, Status, register
from rewardsmith.core.reward import guarded
from rewardsmith.runtime.executor import Outcome, in_worker, preload, shared_executor
from rewardsmith.verifiable.answer_text import (
    normalize_answer,
    parse_number,
    plain,
    split_unit,
    unit_dimension,
)
from rewardsmith.verifiable.answers import (
    answer_is_text,
    extract_answer,
    hashes_text,
    last_boxed_group,
    undouble,
)
from rewardsmith.verifiable.math.limits import limit_reason, parse_limit
from rewardsmith.verifiable.math.ops import evaluated_gap, restates, simplest_form_gap
from rewardsmith.verifiable.math.struct import (
    Bag,
    CheapOracle,
    Node,
    Rel,
    compare,
    numbers_equal,
    parse_structure,
)
from rewardsmith.verifiable.math.symbolic import verify

__all__ = [
    "FinalAnswerParams",
    "MathAnswer",
    "MathAnswerParams",
    "reference_answer",
    "several_answers",
]

MATH = Paper(
    "Measuring Mathematical Problem Solving With the MATH Dataset (Hendrycks et al.)", "2103.03874"
)

_REFERENCE_KEYS = ("answer", "target", "ground_truth")
_WHOLE_SOLUTION_CHARS = 200
preload("latex2sympy2_extended")  # workers start with the LaTeX parser and sympy loaded
_PLUS_MINUS = ("\\pm", "\\mp", "±", "∓")


def reference_answer(reference: Any) -> str:
    """The reference's answer as text. ValueError when there is none to compare with."""
    if isinstance(reference, dict):
        for key in _REFERENCE_KEYS:
            if key in reference:
                return reference_answer(reference[key])
        raise ValueError(f"reference dict has none of {', '.join(_REFERENCE_KEYS)}")
    if isinstance(reference, bool) or reference is None:
        raise ValueError(f"unusable reference: {reference!r}")
    if isinstance(reference, int):
        return str(reference)
    if isinstance(reference, float):
        if not _m.isfinite(reference):
            raise ValueError(f"unusable reference: {reference!r}")
        return format(Decimal(repr(reference)), "f")  # 1e-05 -> 0.00001
    if not isinstance(reference, str):
        raise ValueError(f"unsupported reference type {type(reference).__name__}")
    text = undouble(reference)
    boxed = last_boxed_group(text)
    if boxed:
        return ", ".join(boxed)  # a reference's last run of boxes is one answer in parts
    marked = hashes_text(text)
    if marked is not None:
        return marked
    if len(text) > _WHOLE_SOLUTION_CHARS:  # a whole solution: its final statement
        stated = answer_is_text(text)
        if stated:
            return stated
    return text


_EMPTY_SIDE = re.compile(r"[A-Za-z]\s*=|=\s*[A-Za-z]?")  # "x =": a label with no value
_LIST_SEP = re.compile(r"[,;]|\s+")
_OR = re.compile(r"(?<![A-Za-z\\])or(?![A-Za-z])|\\vee(?![A-Za-z])|\\lor(?![A-Za-z])")


def _numbers_list(s: str) -> bool:
    """Two or more numbers separated by commas, semicolons or white space (lines too)."""
    parts = [p for p in _LIST_SEP.split(s) if p]
    return len(parts) >= 2 and all(parse_number(p) is not None for p in parts)


def several_answers(answer: str, reference: str, parts: int = 1) -> bool:
    """Whether a normalised answer hedges between several final answers (strict mode):
    "3 or 4", ``3 \\vee 4``, or a list of numbers or ``\\pm 3`` against a single number. A form the
    reference uses itself ("or", a list) is not held against the answer, nor "or" when
    the reference has several ``parts`` (``x = 3 or x = 4`` for ``3, 4``). Several boxes
    are not a hedge: the last final answer decides (``verifiable.answers``).
    """
    if _OR.search(answer) and not _OR.search(reference) and parts == 1:
        return True
    if parse_number(reference) is None:
        return False
    return _numbers_list(answer) or (
        any(pm in answer for pm in _PLUS_MINUS) and not any(pm in reference for pm in _PLUS_MINUS)
    )


class FinalAnswerParams(Params):
    """How the final answer is found; shared by the rewards that read one."""

    strict: bool = True
    """Score 0 when the completion hedges between several final answers."""
    fallback_last_number: bool = False
    """With no marked answer anywhere, take the last number in the completion."""


class MathAnswerParams(FinalAnswerParams):
    rel_tol: float = Field(default=0.0, ge=0, lt=1)
    """Extra relative tolerance (opt-in). By default an exact reference is matched exactly
    and a decimal one at the precision it is written to (``answer_text.within_precision``)."""
    require_simplest_form: bool = False
    """Also compare forms: an answer equal in value but less simplified than the
    reference (``\\sqrt{245}`` for ``7\\sqrt{5}``, ``\\frac{4}{8}`` for ``1/2``) scores 0."""
    timeout_s: float = Field(default=2.0, gt=0, le=600)
    """Hard wall-clock limit per item for the symbolic tier (the worker is killed after it)."""
    symbolic: bool = True
    """Run the symbolic tier (sympy in a worker process) for answers the cheap tiers leave open."""
    processes: int | None = Field(default=None, ge=1)
    """Worker processes for the symbolic tier (a shared pool); None: one per usable core."""


@dataclass(frozen=True, slots=True)
class _Reference:
    """A reference answer read once per batch: normalised, limited, parsed."""

    key: str  # normalised, prefix kept, unit split off (every tier, the cache key)
    unit: str | None
    limit: str | None
    tree: Node | None
    parts: int  # how many answers it holds (a list of several: multi-part)


@dataclass(frozen=True, slots=True)
class _Pending:
    """An item the cheap tiers could not decide: its trees go to a worker."""

    key: tuple[str, str]
    answer: Node
    reference: Node
    info: dict[str, Any]


_CACHE_SIZE = 65_536


@register(
    paper=MATH,
    summary="1 if the final answer equals the reference: as text, number, structure "
    "(tuple, interval, set, matrix, relation) or by sympy under a hard timeout",
)
class MathAnswer(ItemReward):
    name = "math.answer"

    def __init__(self, params: MathAnswerParams) -> None:
        self.params = params
        self.symbolic_runs = 0
        """How many symbolic checks were sent to a worker (cache hits and repeats excluded)."""
        self._init_runtime()

    def _init_runtime(self) -> None:
        self._lock = threading.Lock()
        self._verdicts: OrderedDict[tuple[str, str], bool] = OrderedDict()

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        del state["_lock"], state["_verdicts"]  # a lock does not pickle; a copy starts cold
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._init_runtime()

    def score_one(self, sample: Sample) -> Score:
        return self.score([sample])[0]

    def score(self, samples: Sequence[Sample]) -> list[Score]:
        """Cheap tiers in this process, then every open item at once in worker processes."""
        references: dict[str, _Reference] = {}
        out: list[Score | _Pending] = [self._first_pass(s, references) for s in samples]
        todo = {r.key: r for r in out if isinstance(r, _Pending)}
        if not todo:
            return [r for r in out if isinstance(r, Score)]
        args = [(p.answer, p.reference, self.params.rel_tol) for p in todo.values()]
        if in_worker():  # already inside a killable task (``Isolated``): no nested pool
            outcomes = [_inline(*a) for a in args]
        else:
            pool = shared_executor(self.params.processes)
            outcomes = pool.map(verify, args, self.params.timeout_s)
        with self._lock:
            self.symbolic_runs += len(args)
        verdicts = dict(zip(todo, outcomes, strict=True))
        for key, o in verdicts.items():
            if o.status is Status.OK:
                self._remember(key, bool(o.value))
        return [
            r if isinstance(r, Score) else self._symbolic_score(r, verdicts[r.key]) for r in out
        ]

    def _first_pass(self, sample: Sample, references: dict[str, _Reference]) -> Score | _Pending:
        """The item's Score, or what the symbolic tier must decide; errors as data."""
        return guarded(lambda s: self._deadlined(s, references), sample, self.max_chars, self.floor)

    def _deadlined(self, sample: Sample, references: dict[str, _Reference]) -> Score | _Pending:
        try:
            return self._cheap(sample, references)
        except TimeoutError as exc:  # a regex's backstop timeout (none should ever fire)
            reason = "the cheap tiers ran past their deadline"
            return Score.timed_out(self.floor, reason, error=ItemError.of(exc))

    def _cheap(self, sample: Sample, references: dict[str, _Reference]) -> Score | _Pending:
        raw = reference_answer(sample.reference)
        ref = references.get(raw)
        if ref is None:
            ref = references[raw] = _read_reference(raw)
        prompt = _prompt_text(sample)
        if _restates_prompt(sample.text, prompt):
            return Score(0.0, info={"reason": "restates the question"})
        found = extract_answer(sample.text, fallback_last_number=self.params.fallback_last_number)
        if found.text is None:
            reason = found.reason or "no final answer found"
            return Score(0.0, info={"reason": reason, "source": found.source})
        text = found.text
        if ref.parts > 1 and len(found.final_group) > 1:  # \boxed{1}, \boxed{2}: one answer
            text = ", ".join(found.final_group)
        info: dict[str, Any] = {"extracted": text[:200], "source": found.source}
        answer, unit = split_unit(normalize_answer(text, drop_prefix=False, keep_unit=True))
        if not answer:
            return Score(0.0, info={**info, "reason": "empty answer"})
        if _EMPTY_SIDE.fullmatch(answer):
            return Score(0.0, info={**info, "reason": "empty answer"})
        if restates(text, ref.key, prompt) or restates(answer, ref.key, prompt):
            return Score(0.0, info={**info, "reason": "restates an expression from the prompt"})
        group = tuple(plain(normalize_answer(g)) for g in found.final_group)
        return self._compare(answer, unit, ref, info, found.hedged, group)

    def _compare(
        self,
        answer: str,
        unit: str | None,
        ref: _Reference,
        info: dict[str, Any],
        hedged: bool = False,
        group: tuple[str, ...] = (),
    ) -> Score | _Pending:
        """Tiers 1-3 on a normalised answer, or what tier 4 must decide."""
        if unit and ref.unit and unit_dimension(unit) != unit_dimension(ref.unit):
            return Score(0.0, info={**info, "reason": f"unit {unit!r} is not {ref.unit!r}"})
        hedges = (hedged and ref.parts == 1) or several_answers(answer, ref.key, ref.parts)
        # \boxed{1} \boxed{2} ...: several boxes for a one-part answer
        hedges = hedges or (ref.parts == 1 and len(set(group) - {""}) > 1)
        if self.params.strict and hedges:
            return Score(0.0, info={**info, "reason": "several final answers"})
        if plain(answer) == plain(ref.key):
            return Score(1.0, info={**info, "tier": "string"})
        gap = evaluated_gap(answer, ref.key)
        if self.params.require_simplest_form:
            gap = gap or simplest_form_gap(answer, ref.key)
        if gap:
            return Score(0.0, info={**info, "reason": f"not evaluated: {gap}"})
        number = numbers_equal(answer, ref.key, self.params.rel_tol)
        if number is not None:
            return Score(float(number), info={**info, "tier": "number"})
        key = (answer, ref.key)
        cached = self._recall(key)
        if cached is not None:
            return Score(float(cached), info={**info, "tier": "symbolic"})
        too_big = parse_limit(answer)
        if too_big is not None or ref.tree is None:
            limit = too_big or ref.limit
            return Score(0.0, info={**info, "tier": "string", "limit": limit})
        tree = parse_structure(answer)
        verdict = compare(tree, ref.tree, CheapOracle(self.params.rel_tol))
        if verdict is not None:
            return Score(float(verdict), info={**info, "tier": "structure"})
        limit = limit_reason(answer) or ref.limit
        if limit is not None or not self.params.symbolic:
            extra = {} if limit is None else {"limit": limit}
            return Score(0.0, info={**info, "tier": "structure", **extra})
        return _Pending(key, tree, ref.tree, {**info, "tier": "symbolic"})

    def _symbolic_score(self, item: _Pending, o: Outcome) -> Score:
        if o.status is Status.OK:
            return Score(float(bool(o.value)), info=item.info)
        reason = f"symbolic check over {self.params.timeout_s:g}s; worker killed"
        return o.unscored(self.floor, item.info, reason)

    def _recall(self, key: tuple[str, str]) -> bool | None:
        with self._lock:
            verdict = self._verdicts.get(key)
            if verdict is not None:
                self._verdicts.move_to_end(key)
            return verdict

    def _remember(self, key: tuple[str, str], verdict: bool) -> None:
        with self._lock:
            self._verdicts[key] = verdict
            if len(self._verdicts) > _CACHE_SIZE:
                self._verdicts.popitem(last=False)


_RESTATE_MIN_CHARS = 20


def _prompt_text(sample: Sample) -> str:
    if isinstance(sample.prompt, str):
        return sample.prompt
    return " ".join(  # chat messages: what the user said
        m["content"]
        for m in sample.prompt
        if m.get("role") == "user" and isinstance(m.get("content"), str)
    )


def _restates_prompt(completion: str, prompt: str) -> bool:
    """The completion is a stretch of the prompt (20+ characters): it repeats the question,
    whose numbers (and, with the last-number fallback, its last one) are not an answer."""
    text = " ".join(completion.split())
    if len(text) < _RESTATE_MIN_CHARS:
        return False
    return text in " ".join(prompt.split())


def _inline(answer: Node, reference: Node, rel_tol: float) -> Outcome:
    try:
        return Outcome(Status.OK, verify(answer, reference, rel_tol))
    except Exception as exc:
        return Outcome(Status.ERROR, error=ItemError.of(exc))


def _read_reference(raw: str) -> _Reference:
    key, unit = split_unit(normalize_answer(raw, drop_prefix=False, keep_unit=True))
    if not key:
        raise ValueError(f"reference is empty after normalisation: {raw!r:.80}")
    limit = limit_reason(key)
    tree = None if parse_limit(key) is not None else parse_structure(key)
    return _Reference(key, unit, limit, tree, _parts(tree))


def _parts(tree: Node | None) -> int:
    if isinstance(tree, Bag) and tree.kind in ("list", "union"):
        return len(tree.items)
    if isinstance(tree, Rel) and isinstance(tree.rhs, Bag):  # x = 1, 2
        return len(tree.rhs.items)
    return 1
