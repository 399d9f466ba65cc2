"""Math answer text: find the final answer in a completion, normalise it, read it as a number.

Pure functions shared by ``math.answer`` and the later symbolic verifier. Every scan here is
linear in the text: ``\\boxed{}`` contents come from one pass that pairs braces (never a
regex over nested braces), and the regexes have no nested quantifiers.

Example:
    >>> found = extract_answer(r"so the total is $\\boxed{\\dfrac{3}{4}}$.")
    >>> found.text, found.source, normalize_answer(found.text)
    ('\\\\dfrac{3}{4}', 'boxed', '3/4')
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

from rewardsmith.verifiable.extract import last_tag_block as last_answer_block

__all__ = [
    "Extracted",
    "Number",
    "answer_is_text",
    "boxed_contents",
    "extract_answer",
    "hashes_text",
    "last_answer_block",
    "last_number",
    "normalize_answer",
    "parse_number",
]

_BOX = re.compile(r"\\(?:boxed|fbox)\s*\{")
_BRACE_OR_ESCAPE = re.compile(r"\\.|[{}]", re.DOTALL)
# "answer is" and "Answer:" ("Final Answer:"); what follows is read as unwrapped LaTeX
_ANSWER_IS = re.compile(r"\banswer(?:\s+is\b|\s*:)", re.IGNORECASE)
_CLAUSE_END = re.compile(r"\n|[.!?](?=\s|$)")
_NUMBER_IN_TEXT = re.compile(r"[-\u2212]?(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]+)?")


@dataclass(frozen=True, slots=True)
class Extracted:
    """The final answer found in a completion.

    Args:
        text: the raw answer text, or None when nothing was found.
        source: the rule that found it: ``boxed``, ``answer_is``, ``hashes``,
            ``answer_block``, ``last_number`` or ``none``.
        boxed: the contents of every outermost complete ``\\boxed{}`` / ``\\fbox{}`` in the
            searched region, in order (for spotting several final answers).
    """

    text: str | None
    source: str
    boxed: tuple[str, ...] = ()


def _brace_pairs(text: str) -> dict[int, int]:
    """Each ``{``'s index mapped to its closing ``}``; escaped ``\\{`` and ``\\}`` are text."""
    pairs: dict[int, int] = {}
    stack: list[int] = []
    for m in _BRACE_OR_ESCAPE.finditer(text):
        c = m.group()
        if c == "{":
            stack.append(m.start())
        elif c == "}" and stack:
            pairs[stack.pop()] = m.start()
    return pairs


def boxed_contents(text: str) -> list[str]:
    """The contents of the outermost complete ``\\boxed{...}`` and ``\\fbox{...}``, in order.

    A box nested in another is part of the outer one's content; an unclosed box (a
    truncated completion) is ignored.
    """
    if "\\boxed" not in text and "\\fbox" not in text:
        return []
    pairs = _brace_pairs(text)
    out: list[str] = []
    covered = -1
    for m in _BOX.finditer(text):
        opening = m.end() - 1
        closing = pairs.get(opening)
        if closing is None or m.start() < covered:
            continue
        out.append(text[opening + 1 : closing])
        covered = closing
    return out


def answer_is_text(text: str) -> str | None:
    """What follows the last "answer is" or "answer:", up to the end of its line or sentence.

    A period ends the clause only before whitespace or the end, so decimals and
    unwrapped LaTeX survive: ``Answer: \\frac25`` gives ``\\frac25`` and
    ``The answer is (4, 9].`` gives ``(4, 9]``.
    """
    last = None
    for last in _ANSWER_IS.finditer(text):  # noqa: B007 - the last one counts
        pass
    if last is None:
        return None
    rest = text[last.end() :].lstrip(" \t:").lstrip()  # "Answer:\n3": the next line
    end = _CLAUSE_END.search(rest)
    clause = rest if end is None else rest[: end.start()]
    return clause.strip().lstrip(":").strip()


def hashes_text(text: str) -> str | None:
    """What follows the last ``####`` (GSM8K's answer marker), up to the end of its line."""
    at = text.rfind("####")
    if at < 0:
        return None
    return text[at + 4 :].split("\n", 1)[0].strip()


def last_number(text: str) -> str | None:
    """The last number written in ``text`` (``-1,250.5`` style), or None."""
    last = None
    for last in _NUMBER_IN_TEXT.finditer(text):  # noqa: B007 - the last one counts
        pass
    return None if last is None else last.group()


def extract_answer(text: str, *, fallback_last_number: bool = False) -> Extracted:
    """The final answer of a completion, by the first rule that finds one.

    The region searched is the last ``<answer>...</answer>`` block when there is one, else
    the whole text. In it, in order: the content of the last ``\\boxed{}``/``\\fbox{}``;
    the text after the last "answer is" (any case); the text after the last ``####``;
    the whole block (only when searching an ``<answer>`` block); and, when
    ``fallback_last_number`` is on, the last number in the text.
    """
    block = last_answer_block(text)
    region = text if block is None else block
    boxed = tuple(boxed_contents(region))
    if boxed:
        return Extracted(boxed[-1], "boxed", boxed)
    for source, rule in (("answer_is", answer_is_text), ("hashes", hashes_text)):
        found = rule(region)
        if found is not None:
            return Extracted(found, source)
    if block is not None:
        return Extracted(block.strip(), "answer_block")
    if fallback_last_number:
        number = last_number(text)
        if number is not None:
            return Extracted(number, "last_number")
    return Extracted(None, "none")


_LEFT_RIGHT = re.compile(r"\\(?:left|right)(?![A-Za-z])")
_TEXT_CMD = re.compile(r"\\(?:text|textbf|textrm|mathrm|mbox)\s*\{([^{}]*)\}")
_DEGREES = re.compile(r"\^\s*\{?\s*\\circ\s*\}?|\\degree\b")
# Dropped outright. Order matters: the escaped forms go before their bare characters.
_DROP = ("\\$", "$", "\\(", "\\)", "\\[", "\\]", "\\%", "%", "°", "\\!", "\\,", "\\;", "\\:")
_THOUSANDS = re.compile(r"(?<![0-9.,])[0-9]{1,3}(?:,[0-9]{3})+(?!,?[0-9])")
_SIMPLE = r"(-?[0-9]+(?:\.[0-9]+)?)"
_FRAC = re.compile(rf"\\frac\s*\{{\s*{_SIMPLE}\s*\}}\s*\{{\s*{_SIMPLE}\s*\}}")
_FRAC_DIGITS = re.compile(r"\\frac([0-9])([0-9])(?![0-9])")  # \frac12
# A fraction is written a/b only where it stands as its own term: "2\frac{1}{2}" (a mixed
# number), "\frac{1}{2}x", "x^\frac12" or "6 \div \frac12" would change value as "21/2",
# "1/2x" (read 1/(2x)), "x^1/2" or "6 \div 1/2".
_TERM_BEFORE = frozenset("([{,=+-")
_TERM_AFTER = frozenset(")]},=+-<>&")


def _fraction_as_slash(m: re.Match[str]) -> str:
    text, i, j = m.string, m.start() - 1, m.end()
    while i >= 0 and text[i].isspace():  # index walks, not slices: linear over all matches
        i -= 1
    while j < len(text) and text[j].isspace():
        j += 1
    if (i >= 0 and text[i] not in _TERM_BEFORE) or (j < len(text) and text[j] not in _TERM_AFTER):
        return m.group()
    return f"{m.group(1)}/{m.group(2)}"


_VAR_PREFIX = re.compile(r"^[A-Za-z]\s*=\s*")


def _trim(s: str) -> str:
    # a few rounds only: alternating "*." tails must not make this quadratic
    for _ in range(3):
        s = s.strip().strip("*").rstrip(".")
    return s.strip()


_MAX_ROUNDS = 8  # passes to a fixed point; only adversarial nesting needs more than two


# A number followed only by unit words ("176 meters", "5 sq ft") is that number. Only
# words from this list count: "2 pi" or "5 ab" must keep their letters.
_NUMBER_UNIT = re.compile(r"([+-]?[0-9][0-9.,/]*)\s*((?:[a-z]+\.?\s*){1,3})")
_UNITS = frozenset(
    [
        "mm",
        "cm",
        "km",
        "meter",
        "meters",
        "metre",
        "metres",
        "kilometer",
        "kilometers",
        "kilometres",
        "inch",
        "inches",
        "ft",
        "foot",
        "feet",
        "yard",
        "yards",
        "yd",
        "mile",
        "miles",
        "mi",
        "sq",
        "square",
        "cubic",
        "mg",
        "kg",
        "gram",
        "grams",
        "kilogram",
        "kilograms",
        "lb",
        "lbs",
        "pound",
        "pounds",
        "oz",
        "ounce",
        "ounces",
        "ml",
        "liter",
        "liters",
        "litre",
        "litres",
        "gallon",
        "gallons",
        "sec",
        "secs",
        "second",
        "seconds",
        "min",
        "mins",
        "minute",
        "minutes",
        "hr",
        "hrs",
        "hour",
        "hours",
        "day",
        "days",
        "week",
        "weeks",
        "month",
        "months",
        "year",
        "years",
        "dollar",
        "dollars",
        "cent",
        "cents",
        "usd",
        "degree",
        "degrees",
        "deg",
        "percent",
        "units",
        "unit",
        "mph",
        "kph",
        "people",
        "persons",
        "students",
        "items",
        "marbles",
        "apples",
        "books",
        "cookies",
        "pages",
    ]
)  # single letters (m, g, s, h, l) are left out: "5m" may be 5 times m


def _normalize_pass(s: str, drop_prefix: bool) -> str:
    s = s.replace("\u2212", "-")  # the Unicode minus sign
    s = _LEFT_RIGHT.sub("", s)
    s = s.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac")
    for _ in range(4):  # nested \text{} unwraps from the inside out
        s, n = _TEXT_CMD.subn(r"\1", s)
        if n == 0:
            break
    for token in _DROP:
        s = s.replace(token, "")
    s = _DEGREES.sub("", s).replace("{,}", ",")
    s = _THOUSANDS.sub(lambda m: m.group().replace(",", ""), s)
    s = _FRAC_DIGITS.sub(_fraction_as_slash, _FRAC.sub(_fraction_as_slash, s))
    s = _trim(s)
    if drop_prefix:
        s = _VAR_PREFIX.sub("", s)
    s = _trim(s).lower()
    unit = _NUMBER_UNIT.fullmatch(s)
    if unit and all(w in _UNITS for w in unit.group(2).split()):
        s = unit.group(1)
    return s


def normalize_answer(s: str, *, drop_prefix: bool = True) -> str:
    """A final answer in a canonical text form, for comparison.

    Drops ``$``, ``\\(``/``\\)``, ``\\left``/``\\right``, ``%``, degree marks and LaTeX
    spacing; unwraps ``\\text{...}``; writes ``\\dfrac``/``\\tfrac`` as ``\\frac`` and
    ``\\frac{a}{b}`` of plain numbers as ``a/b`` where it is a term of its own (not in
    ``2\\frac{1}{2}`` or ``\\frac{1}{2}x``); removes thousands separators in proper
    3-digit groups; drops a single-variable prefix (``x = ``) unless ``drop_prefix`` is
    False, markdown bold and a trailing period; lowercases; drops unit words after a
    number ("176 meters", from a fixed list, so "2 pi" keeps its letters). The passes repeat until
    nothing changes (at most a few rounds), so the result normalises to itself.

    Example:
        >>> normalize_answer(r"$x = \\dfrac{1}{2}$.")
        '1/2'
        >>> normalize_answer(r"1,250\\text{ dollars}")
        '1250'
    """
    for _ in range(_MAX_ROUNDS):
        out = _normalize_pass(s, drop_prefix)
        if out == s:
            break
        s = out
    return s


@dataclass(frozen=True, slots=True)
class Number:
    """An answer read as an exact rational; ``decimal`` if written with a fractional part."""

    value: Fraction
    decimal: bool


_NUM = r"([0-9]+(?:\.[0-9]+)?|\.[0-9]+)"
_RATIONAL = re.compile(rf"([+-]?){_NUM}(?:\s*/\s*([+-]?){_NUM})?")
_MAX_NUMBER_CHARS = 400  # longer "numbers" are compared as text, not converted


def parse_number(s: str) -> Number | None:
    """``s`` (already normalised) as an integer, decimal or fraction ``a/b``; else None.

    Example:
        >>> parse_number("-3/4")
        Number(value=Fraction(-3, 4), decimal=False)
    """
    if len(s) > _MAX_NUMBER_CHARS:
        return None
    m = _RATIONAL.fullmatch(s.strip())
    if m is None:
        return None
    sign, num, den_sign, den = m.groups()
    value = Fraction(num)
    if den is not None:
        divisor = Fraction(den)
        if divisor == 0:
            return None
        value /= divisor
        if den_sign == "-":
            value = -value
    if sign == "-":
        value = -value
    return Number(value, "." in s)
