"""Size gates in front of sympy for ``math.answer``: refuse what could hang the parser.

``limit_reason`` refuses, in about one linear scan (each exponent group is rescanned, on
at most 1,000 characters), inputs that are too long, nested too deep, exponent towers,
huge powers and huge factorials. ``parse_limit`` is the part that also gates the cheap
structure parser. A refused answer is "not verifiable": ``math.answer`` falls back to the
cheap tiers and records the reason.

Example:
    >>> limit_reason(r"9^{9^{9^{9}}}"), limit_reason("1000000!"), limit_reason(r"\\sqrt{8}")
    ('exponent tower', 'huge factorial', None)
"""

from __future__ import annotations

import math as _m
import re

__all__ = ["MAX_DEPTH", "MAX_SYMBOLIC_CHARS", "MAX_SYMBOLIC_DEPTH", "limit_reason", "parse_limit"]

MAX_SYMBOLIC_CHARS = 1000
"""Longer answers (or references) are never parsed as structures nor given to sympy."""
MAX_DEPTH = 50
"""Deeper bracket nesting is never parsed."""
MAX_SYMBOLIC_DEPTH = 8
"""Deeper nesting of parentheses and bare braces is never given to the LaTeX parser: its
time grows steeply with that depth (about 1 s at ten bare ``{`` levels, 6 s at fourteen),
while command arguments (``\\frac{..}{..}``) nest cheaply and are not counted."""
_MAX_POWER_DIGITS = 10_000  # a literal power a^b with more digits than this is refused
_MAX_EXPONENT = 10_000
_MAX_FACTORIAL = 1000

_POWER = re.compile(r"([0-9]+(?:\.[0-9]+)?)\s*\^\s*\{?\s*\(?\s*([0-9]{1,12})")
_EXPONENT_LITERAL = re.compile(r"\^\s*\{?\s*\(?\s*-?\s*([0-9]{1,12})")
_FACTORIAL = re.compile(r"([0-9]+)\s*!")
_COMMAND = re.compile(r"\\[a-z]+")


def _exponent_at(text: str, caret: int) -> str:
    """The exponent after ``^`` at ``caret``: a balanced ``{...}`` group or one token."""
    i = caret + 1
    while i < len(text) and text[i] == " ":
        i += 1
    if i >= len(text):
        return ""
    if text[i] != "{":
        m = _COMMAND.match(text, i)
        return m.group() if m else text[i]
    depth = 0
    for j in range(i, len(text)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return text[i + 1 : j]
    return text[i + 1 :]


def parse_limit(text: str) -> str | None:
    """Why ``text`` must not be parsed as a structure: too long or nested too deep."""
    if len(text) > MAX_SYMBOLIC_CHARS:
        return f"over {MAX_SYMBOLIC_CHARS} characters"
    depth = 0
    for c in text:
        if c in "{([":
            depth += 1
            if depth > MAX_DEPTH:
                return f"nested deeper than {MAX_DEPTH}"
        elif c in "})]":
            depth = max(depth - 1, 0)
    return None


def _grouping_depth(text: str) -> int:
    """Nesting of ``(``, ``[`` and bare ``{`` (not a command's, a power's or an index's)."""
    stack: list[bool] = []  # whether each open group counts
    depth = most = 0
    prev = ""
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\\":
            j = i + 1
            while j < len(text) and text[j].isalpha():
                j += 1
            prev, i = ("a" if j > i + 1 else text[i : j + 1]), max(j, i + 2)
            continue
        if c in "([{":
            counts = c != "{" or prev not in ("a", "}", "^", "_")
            stack.append(counts)
            depth += counts
            most = max(most, depth)
        elif c in ")]}" and stack:
            depth -= stack.pop()
        if not c.isspace():
            prev = c
        i += 1
    return most


def limit_reason(text: str) -> str | None:
    """Why ``text`` must not reach sympy, or None when it may.

    Refuses what ``parse_limit`` refuses (over ``MAX_SYMBOLIC_CHARS``, bracket nesting
    deeper than ``MAX_DEPTH``), exponent towers (an exponent holding a power of plain
    numbers: ``9^{9^{9}}``), a literal power of more than 10,000 digits or with an exponent
    over 10,000, a factorial of more than 1000, and a factorial of an expression that
    holds another factorial or a power. Linear in the text, apart from a rescan of each
    exponent group (the text is at most 1000 characters by then).
    """
    reason = parse_limit(text)
    if reason is not None:
        return reason
    if _grouping_depth(text) > MAX_SYMBOLIC_DEPTH:
        return f"grouping nested deeper than {MAX_SYMBOLIC_DEPTH}"
    if "^" in text:
        for caret in (i for i, c in enumerate(text) if c == "^"):
            exponent = _exponent_at(text, caret)
            if "^" in exponent and not re.search(r"[a-z]", _COMMAND.sub("", exponent)):
                return "exponent tower"
        for m in _EXPONENT_LITERAL.finditer(text):
            if int(m.group(1)) > _MAX_EXPONENT:
                return "huge power"
        for m in _POWER.finditer(text):
            base, exp = float(m.group(1)), int(m.group(2))
            if base > 1 and _m.log10(base) * exp > _MAX_POWER_DIGITS:
                return "huge power"
    if "!" in text:
        for m in _FACTORIAL.finditer(text):
            if len(m.group(1)) > 6 or int(m.group(1)) > _MAX_FACTORIAL:
                return "huge factorial"
        if re.search(r"[)}]\s*!", text) and (text.count("!") > 1 or "^" in text):
            return "nested factorial"
    return None
