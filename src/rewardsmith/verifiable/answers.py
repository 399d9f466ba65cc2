r"""Where a completion's final answer is: the answer-location rule.

Shared by every reward that reads a final answer: ``math.answer`` and
``math.numeric_error``, ``choice.answer``, ``acre.consistency`` and ``consensus.*``; so it
lives outside the ``math`` package (it needs only ``answer_text``).

The rule, in order:

1. **Region.** Reasoning inside ``<think>...</think>`` is never the answer when text
   follows the last ``</think>``: the region is what follows it. In the region, the last
   complete ``<answer>...</answer>`` block narrows it further.
2. **Final statements.** The region's final-answer statements are its outermost
   ``\boxed{}``/``\fbox{}`` (``\boxed 3`` too), its answer phrases ("the answer is",
   "Answer:", "**Final Answer**:", "the correct value is", Minerva's "The final answer is
   $x$. I hope it is correct.") and GSM8K's ``####``. The last one decides: a
   self-correction (``\boxed{41}`` ... wait ... ``\boxed{42}``) is read as 42.
3. **Not clean.** A box followed by a retraction ("\boxed{3} is wrong") no longer counts,
   and a box followed by a later answer phrase that states something else ("\boxed{3}
   ... the correct value is 4") gives way to it: the last statement decides. An answer
   followed by another one offered as a hedge ("\boxed{7}, though it might be 8") is
   refused. A box inside a box is read as its contents (``\boxed{2 \cdot \boxed{3}}``
   is ``2 \cdot 3``, never 3). Text a reader never sees is ignored: LaTeX ``%`` and HTML
   comments, ``\phantom{}``.
4. **Several parts.** ``final_group`` holds the last run of boxes written next to each
   other (``\boxed{1}, \boxed{2}`` or ``\boxed{(2, 2)} \quad\text{and}\quad \boxed{(6,
   2)}``); ``math.answer`` reads them together when the reference has several parts.
5. **Fallbacks.** With no statement: the whole ``<answer>`` block; a completion that is
   one math span (``$(3, 2)$``, ``$$1$$``) or one short line with no words is its own
   answer; optionally the last number in the text.

Every scan is linear in the text: boxes come from one pass that pairs braces (never a
regex over nested braces), and every regex here has no nested quantifier and runs with a
timeout (the ``regex`` module's) as a backstop.

Example:
    >>> found = extract_answer(r"so the total is $\boxed{\dfrac{3}{4}}$.")
    >>> found.text, found.source
    ('\\dfrac{3}{4}', 'boxed')
    >>> extract_answer(r"<think>\boxed{3}</think> The answer is 4.").text
    '4'
"""

from __future__ import annotations

from dataclasses import dataclass

import regex as re

from rewardsmith.verifiable.answer_text import normalize_answer, normalize_unicode, parse_number
from rewardsmith.verifiable.extract import last_tag_block as last_answer_block

__all__ = [
    "REGEX_TIMEOUT_S",
    "Extracted",
    "answer_is_text",
    "answer_region",
    "boxed_contents",
    "extract_answer",
    "hashes_text",
    "last_answer_block",
    "last_boxed_group",
    "last_number",
    "undouble",
]

REGEX_TIMEOUT_S = 1.0
"""Backstop for any one regex call on completion text (all are linear; none comes near)."""

_BOX = re.compile(r"\\(?:boxed|fbox)(?![A-Za-z])\s*")
_BRACE_OR_ESCAPE = re.compile(r"\\.|[{}]", re.DOTALL)
# the final-answer phrases: "answer is", "Answer:", "**Final Answer**:", "the correct
# value is", "the final result is"; what follows is read as unwrapped LaTeX
_STATEMENT = re.compile(
    r"\b(?:answer|(?:correct|right|actual|true|final)\s+(?:value|result|solution|number))"
    r"(?:\s*\*\*|\s*__)?\s*(?:is\b|=|:|should\s+be\b)"
    r"|\banswer(?:\s*\*\*|\s*__)?\s*(?=\$|\\\[|\\\()",  # "Answer $9$", "Answer \[ 9 \]"
    re.IGNORECASE,
)
# a second answer offered after the final one: "\boxed{7}, though it might be 8"
_HEDGE_AFTER = re.compile(
    r"\b(?:might|could|may)\s+(?:also\s+)?be\b|\bor\s+(?:maybe|perhaps|possibly)\b",
    re.IGNORECASE,
)
# text a reader never sees: LaTeX and HTML comments, \phantom boxes
_HIDDEN = re.compile(r"<!--.*?-->|(?<![\\0-9\s])\s*(?<!\\)%[^\n]*", re.DOTALL)
_PHANTOM = re.compile(r"\\[hv]?phantom\s*(?=\{)")
_FILLER = re.compile(
    r"(?:(?:therefore|thus|hence|so|then|indeed|just|simply|exactly|clearly|actually|"
    r"finally|equal\s+to|given\s+by|the\s+number|:)\s*,?\s*)+",
    re.IGNORECASE,
)
_CLAUSE_END = re.compile(
    r"\n|,\s*(?:i\.e\.|e\.g\.)|[.!?;](?=[\s)\]]|$)|,\s*(?:because|since|as|which|where|so|"
    r"and\s+(?:so|thus|we)|that\s+is|namely)\b|\s(?:because|since)\s|\s\([A-Za-z][A-Za-z ]*\)",
    re.IGNORECASE,
)
# a box taken back just after it: "\boxed{3} is wrong", "\boxed{42}. No wait, that's wrong",
# "\boxed{42}. This is incorrect", "\boxed{42} - no, that's not right"
_RETRACTED = re.compile(
    r"(?:is|was|seems|looks|would\s+be|that'?s|that\s+is|this\s+is|it'?s|it\s+is)\s+"
    r"(?:(?:clearly|definitely|actually|also)\s+)?(?:wrong|incorrect|not\s+(?:right|correct|the\s+answer))"
    r"|\bno,?\s+wait\b",
    re.IGNORECASE,
)
_RETRACT_WINDOW = 60  # characters after a box in which a retraction takes it back
# between two boxes of one multi-part answer: spaces, separators, "and", \quad, $
_GLUE = re.compile(
    r"(?:\s|[,;$&]|\\[,;:! ]|\\q?quad\b|\\text\s*\{\s*(?:and|or|,)?\s*\}|\b(?:and|or)\b|"
    r"\\\]|\\\[|\\\)|\\\(|\\\\)*",
    re.IGNORECASE,
)
_NUMBER_IN_TEXT = re.compile(r"[-\u2212]?(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]+)?")
_MATH_ONLY = re.compile(r"\s*(\$\$?|\\\[|\\\()([^$]*?)(?:\$\$?|\\\]|\\\))\s*\.?\s*")
_WORD = re.compile(r"(?<![\\A-Za-z])[A-Za-z]{3,}")
_HEDGE = re.compile(
    r"(?<![A-Za-z])(?:or|either|maybe|perhaps|possibly)(?![A-Za-z])|\\vee|\\lor", re.I
)
# words of a self-correction, which a hedge word beside them does not make a hedge
_CORRECTION = re.compile(
    r"(?<![A-Za-z])(?:wait|actually|correct|recheck|recompute|redo|mistake|error|wrong|instead|"
    r"no)(?![A-Za-z])",
    re.I,
)
_MATHS = re.compile(r"[0-9]|\\[A-Za-z]+|^\(?[A-Za-z]\)?$")  # a digit, a command, a letter
_SHORT_ANSWER_CHARS = 200
_HEDGE_GAP_CHARS = 80
_MAX_CLAUSE_CHARS = 100_000  # a 5,000-digit answer is one clause
_DISPLAY = re.compile(r"(?:\$\$|\\\[)([^$]{0,500}?)(?:\$\$|\\\])")
# a clause in words that names the value at its end: "the largest $n$ is 34"
_NAMED = re.compile(r"\s(?:is|are|equals|was|will\s+be|would\s+be)\s+")


@dataclass(frozen=True, slots=True)
class Extracted:
    """The final answer found in a completion.

    Args:
        text: the raw answer text, or None when nothing (clean) was found.
        source: the rule that found it: ``boxed``, ``answer_is``, ``hashes``,
            ``answer_block``, ``math_only``, ``last_number``, ``none``, or
            ``refused`` (then ``reason`` says why).
        boxed: the contents of every outermost complete box in the region, in order.
        final_group: the last run of adjacent boxes (for multi-part references).
        reason: why a found answer was refused (``source == "refused"``).
    """

    text: str | None
    source: str
    boxed: tuple[str, ...] = ()
    final_group: tuple[str, ...] = ()
    reason: str | None = None
    hedged: bool = False
    """The last box is offered as an alternative to the one before ("\\boxed{3} or \\boxed{4}")."""


@dataclass(frozen=True, slots=True)
class _Box:
    start: int
    end: int  # just past the closing brace (or the one-token argument)
    content: str


def _brace_pairs(text: str) -> dict[int, int]:
    """Each ``{``'s index mapped to its closing ``}``; escaped ``\\{`` and ``\\}`` are text."""
    pairs: dict[int, int] = {}
    stack: list[int] = []
    for m in _BRACE_OR_ESCAPE.finditer(text, timeout=REGEX_TIMEOUT_S):
        c = m.group()
        if c == "{":
            stack.append(m.start())
        elif c == "}" and stack:
            pairs[stack.pop()] = m.start()
    return pairs


def _boxes(text: str) -> list[_Box]:
    """The outermost complete boxes, in order; an unclosed box (truncated) is ignored."""
    if "\\boxed" not in text and "\\fbox" not in text:
        return []
    pairs = _brace_pairs(text)
    out: list[_Box] = []
    covered = -1
    for m in _BOX.finditer(text, timeout=REGEX_TIMEOUT_S):
        if m.start() < covered:
            continue
        at = m.end()
        if at < len(text) and text[at] == "{":
            closing = pairs.get(at)
            if closing is None:
                continue
            out.append(_Box(m.start(), closing + 1, text[at + 1 : closing]))
            covered = closing
        elif at < len(text) and text[at].isalnum():  # \boxed 3: one token
            end = at
            while end < len(text) and text[end].isalnum():
                end += 1
            out.append(_Box(m.start(), end, text[at:end]))
            covered = end
    return out


def boxed_contents(text: str) -> list[str]:
    """The contents of the outermost complete ``\\boxed{...}`` and ``\\fbox{...}``, in order."""
    return [b.content for b in _boxes(text)]


_DOUBLED = re.compile(r"\\\\[A-Za-z]{2,}")
_SINGLE = re.compile(r"(?<!\\)\\[A-Za-z]{2,}")


def undouble(text: str) -> str:
    """Text escaped twice over (JSON in JSON: ``\\\\frac``) with every command doubled
    and none single, read once: ``\\frac``."""
    if "\\\\" not in text or _DOUBLED.search(text, timeout=REGEX_TIMEOUT_S) is None:
        return text
    if _SINGLE.search(text, timeout=REGEX_TIMEOUT_S) is not None:
        return text
    return text.replace("\\\\", "\\")


def last_boxed_group(text: str) -> tuple[str, ...]:
    """The contents of the last run of adjacent boxes in ``text`` (none: empty)."""
    boxes = _boxes(text)
    return _final_group(text, boxes) if boxes else ()


def answer_region(text: str) -> tuple[str, bool]:
    """The part of ``text`` that may hold the final answer, and whether it is an
    ``<answer>`` block: after the last ``</think>`` when text follows it, then the last
    ``<answer>`` block in that."""
    close = text.rfind("</think>")
    if close >= 0 and text[close + 8 :].strip():
        text = text[close + 8 :]
    block = last_answer_block(text)
    return (text, False) if block is None else (block, True)


def _clause(rest: str) -> tuple[str, bool]:
    """The clause stated at the start of ``rest``, and whether its end was found in it."""
    rest = rest.lstrip(" \t*_:")
    if rest.startswith("\n"):  # "Answer:\n3": the next line
        rest = rest.lstrip()
    display = _DISPLAY.match(rest, timeout=REGEX_TIMEOUT_S)
    if display is not None:  # "Answer \[ 9 \]": the whole display, over lines
        return display.group(1).strip(), True
    filler = _FILLER.match(rest, timeout=REGEX_TIMEOUT_S)
    if filler is not None:
        rest = rest[filler.end() :]
    end = _CLAUSE_END.search(rest, timeout=REGEX_TIMEOUT_S)
    clause = (rest if end is None else rest[: end.start()]).strip().strip("*_").strip()
    closers = clause.count(")") + clause.count("]")
    if closers > clause.count("(") + clause.count("["):  # "(So the answer is 42.)"
        clause = clause.rstrip(")").strip()
    clause = clause.rstrip(".,").strip()
    named = None
    for named in _NAMED.finditer(clause, timeout=REGEX_TIMEOUT_S):  # noqa: B007 - the last
        pass
    if named is not None and _WORD.search(clause[: named.start()], timeout=REGEX_TIMEOUT_S):
        clause = clause[named.end() :].strip()  # "The largest $n$ is 34": 34
    return clause, end is not None


def _statements(text: str) -> list[tuple[int, str]]:
    """Each answer phrase's start and the clause it states. A phrase whose clause runs
    into the next phrase ("Answer: The final answer is $x$") gives way to that one. Each
    clause is read only up to the next phrase (and at most ``_MAX_CLAUSE_CHARS``), so a
    text of many phrases is read once."""
    found = [(m.start(), m.end()) for m in _STATEMENT.finditer(text, timeout=REGEX_TIMEOUT_S)]
    out = []
    for i, (start, end) in enumerate(found):
        stop = found[i + 1][0] if i + 1 < len(found) else len(text)
        cut = stop < end + _MAX_CLAUSE_CHARS
        said, ended = _clause(text[end : min(stop, end + _MAX_CLAUSE_CHARS)])
        if ended or not cut or i + 1 == len(found):
            out.append((start, said))
    return out


def answer_is_text(text: str) -> str | None:
    """What the last answer phrase ("answer is", "Answer:", ...) states, or None.

    A period ends the clause only before white space, a bracket or the end, so decimals
    and unwrapped LaTeX survive: ``Answer: \\frac25`` gives ``\\frac25`` and ``The answer
    is (4, 9].`` gives ``(4, 9]``; fillers ("therefore", "equal to") and a trailing
    "because ..." are dropped.
    """
    found = _statements(text)
    return found[-1][1] if found else None


def hashes_text(text: str) -> str | None:
    """What follows the last ``####`` (GSM8K's answer marker), up to the end of its line."""
    at = text.rfind("####")
    if at < 0:
        return None
    return text[at + 4 :].split("\n", 1)[0].strip()


def last_number(text: str) -> str | None:
    """The last number written in ``text`` (``-1,250.5`` style), or None."""
    last = None
    for last in _NUMBER_IN_TEXT.finditer(text, timeout=REGEX_TIMEOUT_S):  # noqa: B007
        pass
    return None if last is None else last.group()


def _final_group(region: str, boxes: list[_Box]) -> tuple[str, ...]:
    group = [boxes[-1]]
    for before in reversed(boxes[:-1]):
        gap = region[before.end : group[0].start]
        glue = _GLUE.fullmatch(gap, timeout=REGEX_TIMEOUT_S)
        if glue is None:
            break
        group.insert(0, before)
    return tuple(b.content for b in group)


_MATHY = re.compile(r"[0-9\\^_=+\-/()\[\]{}<>]")


def _contradicts(said: str, boxed: str) -> bool:
    """Whether a statement after a box states another answer ("the answer is 4");
    wording with no math in it ("the answer is correct", "as above") states none."""
    if not said or _MATHY.search(said, timeout=REGEX_TIMEOUT_S) is None:
        return False
    a, b = normalize_answer(said), normalize_answer(boxed)
    if "".join(a.split()) == "".join(b.split()):
        return False
    na, nb = parse_number(a), parse_number(b)
    return na is None or nb is None or na.value != nb.value


def _math_only(text: str) -> str | None:
    """The answer of a completion that is only a math span or a short line with no words."""
    m = _MATH_ONLY.fullmatch(text, timeout=REGEX_TIMEOUT_S)
    if m is not None:
        return m.group(2).strip() or None
    line = text.strip()
    if not line or len(line) > _SHORT_ANSWER_CHARS or "\n" in line:
        return None
    if _WORD.search(line, timeout=REGEX_TIMEOUT_S) is not None or line.count("{") != line.count(
        "}"
    ):
        return None
    return line if _MATHS.search(line, timeout=REGEX_TIMEOUT_S) else None


def extract_answer(text: str, *, fallback_last_number: bool = False) -> Extracted:
    """The final answer of a completion, by the rule in this module's docstring.

    Raises ``TimeoutError`` only if a regex runs past ``REGEX_TIMEOUT_S`` (none should).
    """
    region, is_block = answer_region(normalize_unicode(undouble(text)))
    if "%" in region or "<!--" in region:
        region = _HIDDEN.sub(" ", region, timeout=REGEX_TIMEOUT_S)
    if "phantom" in region:
        region = _without_phantoms(region)
    boxes = _kept(region, _boxes(region))
    # a phrase that states a box ("the answer is \boxed{42}") stands or falls with the box
    statements = [(at, said) for at, said in _statements(region) if not _BOX.search(said)]
    contents = tuple(b.content for b in boxes)
    if boxes:
        last = boxes[-1]
        later = [(at, said) for at, said in statements if at > last.end]
        final = next(
            (said for at, said in reversed(later) if _contradicts(said, last.content)), None
        )
        if final is not None:  # "\boxed{10} ... so the answer is 12": the last one decides
            return _checked(
                region, Extracted(final, "answer_is", contents), _statement_end(region, later)
            )
        hedged = len(boxes) > 1 and _hedges(region[boxes[-2].end : last.start])
        group = tuple(_unbox(c) for c in _final_group(region, boxes))
        found = Extracted(undouble(_unbox(last.content)), "boxed", contents, group, hedged=hedged)
        return _checked(region, found, last.end)
    if statements:
        return _checked(
            region, Extracted(statements[-1][1], "answer_is"), _statement_end(region, statements)
        )
    marked = hashes_text(region)
    if marked is not None:
        return Extracted(marked, "hashes")
    if is_block:
        return Extracted(region.strip(), "answer_block")
    alone = _math_only(region)
    if alone is not None:
        return Extracted(alone, "math_only")
    if fallback_last_number:
        number = last_number(text)
        if number is not None:
            return Extracted(number, "last_number")
    return Extracted(None, "none")


def _without_phantoms(text: str) -> str:
    """``\\phantom{...}`` takes space but prints nothing: out, with its whole argument."""
    pairs = _brace_pairs(text)
    parts, at = [], 0
    for m in _PHANTOM.finditer(text, timeout=REGEX_TIMEOUT_S):
        if m.start() < at:
            continue
        closing = pairs.get(m.end())
        if closing is None:
            continue
        parts.append(text[at : m.start()])
        at = closing + 1
    return "".join([*parts, text[at:]])


def _kept(region: str, boxes: list[_Box]) -> list[_Box]:
    """The boxes not taken back by a retraction in the next few words (before any box)."""
    kept = []
    for i, box in enumerate(boxes):
        stop = min(
            box.end + _RETRACT_WINDOW, boxes[i + 1].start if i + 1 < len(boxes) else len(region)
        )
        if _RETRACTED.search(region, box.end, stop, timeout=REGEX_TIMEOUT_S) is None:
            kept.append(box)
    return kept


def _hedges(gap: str) -> bool:
    """Whether the text between the last two boxes offers the last as an alternative
    ("or", "maybe") rather than a correction ("wait, maybe I made an error")."""
    if len(gap) > _HEDGE_GAP_CHARS or _HEDGE.search(gap, timeout=REGEX_TIMEOUT_S) is None:
        return False
    return _CORRECTION.search(gap, timeout=REGEX_TIMEOUT_S) is None


def _statement_end(region: str, statements: list[tuple[int, str]]) -> int:
    return statements[-1][0] + len(statements[-1][1])


def _checked(region: str, found: Extracted, end: int) -> Extracted:
    """The final answer, unless a hedge that names another value follows it."""
    assert found.text is not None
    for m in _HEDGE_AFTER.finditer(region, end, timeout=REGEX_TIMEOUT_S):
        said, _ = _clause(region[m.end() : m.end() + _MAX_CLAUSE_CHARS])
        if _contradicts(said, found.text):
            return Extracted(None, "refused", found.boxed, reason="hedged: another answer offered")
    return found


def _unbox(content: str) -> str:
    """Inner boxes read as their contents: ``\\boxed{\\boxed{3}}`` is 3, ``\\boxed{x =
    \\boxed{7}}`` is ``x = 7`` and ``\\boxed{2 \\cdot \\boxed{3}}`` is ``2 \\cdot 3``, never 3."""
    for _ in range(8):
        inner = _boxes(content)
        if not inner:
            break
        parts, at = [], 0
        for box in inner:
            parts += [content[at : box.start], box.content]
            at = box.end
        content = "".join([*parts, content[at:]])
    return content
