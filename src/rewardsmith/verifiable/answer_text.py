"""Answer text: normalise a final answer, read it as a number, split off its unit.

Pure functions shared by the rewards that read a final answer (``verifiable.answers``
finds it, and uses them to tell a restated answer from another one): ``math.*``,
``consensus.*``, ``choice.answer`` and ``acre.consistency``; so it lives outside the
``math`` package. Every regex here is linear in the text (no nested quantifier) and runs
with the ``regex`` module's timeout as a backstop.

Example:
    >>> normalize_answer(r"$\\dfrac{3}{4}$.")
    '3/4'
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import regex as re

__all__ = [
    "Number",
    "normalize_answer",
    "normalize_unicode",
    "parse_number",
    "plain",
    "split_unit",
    "unit_dimension",
    "within_precision",
]

_T = 1.0  # seconds: the backstop timeout of one regex call on answer text

_LEFT_RIGHT = re.compile(r"\\(?:left|right|displaystyle|limits)(?![A-Za-z])")
_COLOR = re.compile(r"\\color\s*\{[^{}]*\}")
_TEXTCOLOR = re.compile(r"\\textcolor\s*\{[^{}]*\}\s*\{([^{}]*)\}")
_STYLE = re.compile(
    r"\\(?:text|textbf|textit|textrm|textnormal|textsf|texttt|mathrm|mathbf|mathit|mathsf|"
    r"mathnormal|boldsymbol|bm|mbox|hbox)\s*\{([^{}]*)\}"
)
# {a \over b}: the numerator cannot run past an \over, the denominator takes what is left
# (possessive), so one brace group is read once however many \over it holds
_OVER = re.compile(r"\{((?:(?!\\over(?![A-Za-z]))[^{}])*)\\over(?![A-Za-z])([^{}]*+)\}")
_THIN_COMMA = re.compile(r",\s*\\!\s*|\{,\}")
_DEGREES = re.compile(r"\^\s*\{?\s*\\circ\s*\}?|\\degree(?![A-Za-z])")
_EMPTY_SET = re.compile(r"\\varnothing(?![A-Za-z])|∅|\\\{\s*\\\}|\\emptyset(?![A-Za-z])")
# Dropped outright. Order matters: the escaped forms go before their bare characters.
_DROP = ("\\$", "$", "€", "£", "\\(", "\\)", "\\[", "\\]", "\\%", "%", "°", "\\!", "\\,", "\\;", "\\:")  # fmt: skip
_SPACING = re.compile(r"\\q?quad(?![A-Za-z])|(?<!\\)\\ ")
# thousands separators: only a whole plain number, groups of exactly three digits
_THOUSANDS = re.compile(r"[+-]?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?")
_SPACED = re.compile(r"[+-]?[0-9]{1,3}(?: [0-9]{3})+(?:\.[0-9]+)?")
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
        return str(m.group())
    return f"{m.group(1)}/{m.group(2)}"


_VAR_PREFIX = re.compile(r"[A-Za-z]\s*=\s*")


def _trim(s: str) -> str:
    # a few rounds only: alternating "*." tails must not make this quadratic
    for _ in range(3):
        s = s.strip().strip("*").rstrip(".")
    return s.strip()


_MAX_ROUNDS = 8  # passes to a fixed point; only adversarial nesting needs more than two


# A number followed only by unit words ("176 meters", "5 sq ft") is that number with a
# unit. Only words from this table count: "2 pi" or "5 ab" keep their letters. Each unit
# names its dimension and scale, so "5 mm" is not "5 cm" while "5 cm" is 5.
# fmt: off
_LENGTH = {"mm": 1e-3, "millimeter": 1e-3, "millimeters": 1e-3, "cm": 1e-2,
           "centimeter": 1e-2, "centimeters": 1e-2, "centimetre": 1e-2, "centimetres": 1e-2,
           "m": 1.0, "meter": 1.0, "meters": 1.0, "metre": 1.0, "metres": 1.0, "km": 1e3,
           "kilometer": 1e3, "kilometers": 1e3, "kilometres": 1e3, "inch": 0.0254,
           "inches": 0.0254, "in": 0.0254, "ft": 0.3048, "foot": 0.3048, "feet": 0.3048,
           "yard": 0.9144, "yards": 0.9144, "yd": 0.9144, "mile": 1609.344,
           "miles": 1609.344, "mi": 1609.344}
_MASS = {"mg": 1e-3, "g": 1.0, "gram": 1.0, "grams": 1.0, "kg": 1e3, "kilogram": 1e3,
         "kilograms": 1e3, "lb": 453.59237, "lbs": 453.59237, "pound": 453.59237,
         "pounds": 453.59237, "oz": 28.349523125, "ounce": 28.349523125,
         "ounces": 28.349523125}
_VOLUME = {"ml": 1e-3, "l": 1.0, "liter": 1.0, "liters": 1.0, "litre": 1.0, "litres": 1.0,
           "gallon": 3.785411784, "gallons": 3.785411784}
_TIME = {"s": 1.0, "sec": 1.0, "secs": 1.0, "second": 1.0, "seconds": 1.0, "min": 60.0,
         "mins": 60.0, "minute": 60.0, "minutes": 60.0, "h": 3600.0, "hr": 3600.0,
         "hrs": 3600.0, "hour": 3600.0, "hours": 3600.0, "day": 86400.0, "days": 86400.0,
         "week": 604800.0, "weeks": 604800.0, "month": 1.0e9, "months": 1.0e9,
         "year": 1.2e10, "years": 1.2e10}
_MONEY = {"dollar": 1.0, "dollars": 1.0, "usd": 1.0, "cent": 0.01, "cents": 0.01}
_ANGLE = {"degree": 1.0, "degrees": 1.0, "deg": 1.0}
_RATIO = {"percent": 1.0, "pct": 1.0, "percentage": 1.0}
_SPEED = {"mph": 0.44704, "kph": 1 / 3.6}
_COUNT = {"unit": 1.0, "units": 1.0, "people": 1.0, "persons": 1.0, "students": 1.0,
          "items": 1.0, "marbles": 1.0, "apples": 1.0, "books": 1.0, "cookies": 1.0,
          "pages": 1.0}
_UNITS: dict[str, tuple[str, float]] = {
    word: (dimension, scale)
    for dimension, table in (("length", _LENGTH), ("mass", _MASS), ("volume", _VOLUME),
                             ("time", _TIME), ("money", _MONEY), ("angle", _ANGLE),
                             ("ratio", _RATIO), ("speed", _SPEED), ("count", _COUNT))
    for word, scale in table.items()
}
# fmt: on
_PREFIXES = frozenset(["sq", "square", "cubic", "cu"])
# one-letter units only after a space or in \text: "5m" may be 5 times m
_ONE_LETTER = frozenset(word for word in _UNITS if len(word) == 1)


def split_unit(s: str) -> tuple[str, str | None]:
    """A normalised answer split into its value and its unit words (lowercased), if it
    ends in one to three unit words after a value (a number, ``\\frac{1}{3}``, ``x = 5``:
    anything that ends in a digit or a closing bracket); else ``(s, None)``. Linear: a
    split on white space, no regex.

    Example:
        >>> split_unit("5 sq ft"), split_unit("2 pi"), split_unit("5cm")
        (('5', 'sq ft'), ('2 pi', None), ('5', 'cm'))
    """
    words = s.split()
    if not words:
        return s, None
    k = 0
    while k < min(3, len(words) - 1) and _is_unit_word(words[-1 - k]):
        k += 1
    if k:
        head, tail, spaced = " ".join(words[:-k]), words[-k:], True
    else:  # 5cm: the unit glued to the value
        last = words[-1]
        for written, mark in (("^{2}", "²"), ("^2", "²"), ("^{3}", "³"), ("^3", "³")):
            if last.endswith(written):  # 5cm^2
                last = last[: -len(written)] + mark
        power = last[-1] if last[-1] in "²³" else ""
        last = last.rstrip("²³")
        j = len(last)
        while j and last[j - 1].isalpha():
            j -= 1
        if j in (0, len(last)):
            return s, None
        head, tail = " ".join([*words[:-1], last[:j]]), [last[j:]]
        spaced = bool(power)  # m² is a unit, 5m may be 5 times m
        if power:
            tail = ["sq" if power == "²" else "cubic", last[j:]]
    lowered = [u for w in tail for u in (_unit_word(w) or [w.rstrip(".").lower()])]
    if lowered[-1] not in _UNITS or not all(w in _UNITS or w in _PREFIXES for w in lowered):
        return s, None
    if lowered[-1] in _ONE_LETTER and not spaced:  # "5m" may be 5 times m
        return s, None
    if not head or not (head[-1].isdigit() or head[-1] in ")}]"):
        return s, None
    return head.rstrip(".,"), " ".join(lowered)


_POWERED = re.compile(r"(.+?)\^\{?([23])\}?")


def _unit_word(word: str) -> list[str] | None:
    """A word as unit words (``cm^3`` is ``cubic cm``), or None when it is not one."""
    w = word.rstrip(".").lower()
    if w in _UNITS or w in _PREFIXES:
        return [w]
    m = _POWERED.fullmatch(w, timeout=_T)
    if m is not None and m.group(1) in _UNITS:
        return ["sq" if m.group(2) == "2" else "cubic", m.group(1)]
    return None


def _is_unit_word(word: str) -> bool:
    return _unit_word(word) is not None


def unit_dimension(unit: str) -> tuple[str, float]:
    """The dimension and scale of unit words from ``split_unit`` ("sq cm": area-like)."""
    words = unit.split()
    dimension, scale = _UNITS[words[-1]]
    if any(w in ("sq", "square") for w in words):
        power = 2
    else:
        power = 3 if "cubic" in words or "cu" in words else 1
    return (f"{dimension}^{power}" if power > 1 else dimension), scale**power


def plain(s: str) -> str:
    """``s`` without white space: how two normalised answers are compared as text."""
    return "".join(s.split())


def _unwrap_braces(s: str) -> str:
    """``{3}`` is 3: braces around the whole answer group nothing (one pass however deep)."""
    if not (s.startswith("{") and s.endswith("}")):
        return s
    lead, trail = len(s) - len(s.lstrip("{")), len(s) - len(s.rstrip("}"))
    if lead + trail >= len(s):
        return s
    depth, low = lead, lead
    for c in s[lead : len(s) - trail]:  # the lowest depth inside: that many pairs wrap it all
        depth += (c == "{") - (c == "}")
        low = min(low, depth)
    peel = min(low, trail)
    return s[peel : len(s) - peel].strip() if peel > 0 else s


def _without_separators(s: str) -> str:
    """Thousands separators out of a whole plain number (a unit may follow it, a
    one-letter label may come before it: ``x = 1,024``)."""
    label = _VAR_PREFIX.match(s, timeout=_T)
    if label is not None:
        return s[: label.end()] + _without_separators(s[label.end() :])
    value, unit = split_unit(s)
    if _THOUSANDS.fullmatch(value, timeout=_T) is not None:
        value = value.replace(",", "")
    elif _SPACED.fullmatch(value, timeout=_T) is not None:
        value = value.replace(" ", "")
    else:
        return s
    return value if unit is None else f"{value} {unit}"


# Unicode a model writes for LaTeX: vulgar fractions, superscripts, full-width forms
# fmt: off
_UNICODE_MATH = str.maketrans(
    {
        "½": "(1/2)", "⅓": "(1/3)", "⅔": "(2/3)", "¼": "(1/4)", "¾": "(3/4)", "⅕": "(1/5)",
        "⅛": "(1/8)", "⁄": "/", "²": "^2", "³": "^3", "⁴": "^4", "…": "\\ldots ",
        **{chr(0xFF01 + i): chr(0x21 + i) for i in range(94)},  # full-width ASCII
        "\u3000": " ",
    }
)
# fmt: on
_ELLIPSIS = re.compile(r"\\(?:[lc]?dots[bc]?|ddots)(?![A-Za-z])|\.\.\.")


def normalize_unicode(s: str) -> str:
    """Unicode math characters as the LaTeX they stand for: ``½`` is ``(1/2)``, ``x²`` is
    ``x^2``, full-width ``４２`` is ``42``."""
    return s.translate(_UNICODE_MATH) if not s.isascii() else s


def _normalize_pass(s: str, drop_prefix: bool) -> str:
    s = normalize_unicode(s).replace("\u2212", "-").replace("~", " ").replace('\\"', "")
    if "." in s or "dots" in s:
        s = _ELLIPSIS.sub(r"\\ldots", s, timeout=_T)
    if "\\" in s or "∅" in s:  # the LaTeX rewrites; each pattern starts at a backslash or brace
        s = _latex_pass(s)
    if "," in s:
        s = _THIN_COMMA.sub(",", s, timeout=_T)
    for token in _DROP:
        s = s.replace(token, "")
    s = _unwrap_braces(_trim(s))
    s = _without_separators(s)
    if "frac" in s:
        s = _FRAC.sub(_fraction_as_slash, s, timeout=_T)
        s = _FRAC_DIGITS.sub(_fraction_as_slash, s, timeout=_T)
    s = _trim(s)
    if drop_prefix:
        m = _VAR_PREFIX.match(s, timeout=_T)
        if m is not None:
            s = s[m.end() :]
    return " ".join(_trim(s).split())


def _latex_pass(s: str) -> str:
    s = _LEFT_RIGHT.sub("", s, timeout=_T)
    s = s.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac")
    s = s.replace("\\dbinom", "\\binom").replace("\\tbinom", "\\binom")
    if "color" in s:
        s = _TEXTCOLOR.sub(r"\1", _COLOR.sub("", s, timeout=_T), timeout=_T)
    for _ in range(4):  # nested \text{} unwraps from the inside out
        s, n = _STYLE.subn(r"\1", s, timeout=_T)
        if n == 0:
            break
    if "\\over" in s:
        s = _OVER.sub(r"\\frac{\1}{\2}", s, timeout=_T)
    s = _DEGREES.sub("", s, timeout=_T)
    s = _SPACING.sub(" ", s, timeout=_T)
    return str(_EMPTY_SET.sub(r"\\emptyset", s, timeout=_T))


def normalize_answer(s: str, *, drop_prefix: bool = True, keep_unit: bool = False) -> str:
    """A final answer in a canonical text form, for comparison.

    Drops ``$``, ``\\(``/``\\)``, ``\\left``/``\\right``, ``%``, degree marks and LaTeX
    spacing; unwraps ``\\text{...}``, ``\\mathbf{...}`` and their kin and drops
    ``\\color``; writes ``\\dfrac``/``\\tfrac`` as ``\\frac``, ``{a \\over b}`` as
    ``\\frac{a}{b}``, and ``\\frac{a}{b}`` of plain numbers as ``a/b`` where it is a term
    of its own (not in ``2\\frac{1}{2}`` or ``\\frac{1}{2}x``); removes thousands
    separators only from a whole plain number in 3-digit groups (``1,250``, ``1 000 000``,
    ``11,\\! 111``; never inside brackets or lists: ``(0,100)`` stays a pair); writes
    the empty set one way; drops a single-variable prefix (``x = ``) unless
    ``drop_prefix`` is False, markdown bold and a trailing period; drops the unit words
    after a number ("176 meters", from a fixed table) unless ``keep_unit``. Case is kept
    (``\\Pi`` is not ``\\pi``). The passes repeat until nothing changes (at most a few
    rounds), so the result normalises to itself.

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
    return s if keep_unit else split_unit(s)[0]


@dataclass(frozen=True, slots=True)
class Number:
    """An answer read as an exact rational.

    ``places`` is the precision it is written to: the digits after the decimal point
    (less the power of ten in scientific notation), or None for an exact number (an
    integer, a fraction, a repeating decimal).
    """

    value: Fraction
    places: int | None = None

    @property
    def decimal(self) -> bool:
        """Written with a fractional part (``0.25``, ``1.5e6``)."""
        return self.places is not None


_NUM = r"([0-9]+(?:\.[0-9]+)?|\.[0-9]+)"
_RATIONAL = re.compile(rf"([+-]?){_NUM}(?:\s*/\s*([+-]?){_NUM})?")
_SCIENTIFIC = re.compile(
    r"([+-]?)([0-9]+)(?:\.([0-9]+))?\s*(?:e|E|\\times\s*10\s*\^|\\cdot\s*10\s*\^|\*\s*10\s*\^)"
    r"\s*\{?\s*([+-]?[0-9]{1,3})\s*\}?"
)
_REPEATING = re.compile(r"([+-]?)([0-9]*)\.([0-9]*)\\overline\s*\{\s*([0-9]{1,50})\s*\}")
_MAX_NUMBER_CHARS = 400  # longer "numbers" are compared as text, not converted


def _places(text: str) -> int | None:
    return len(text.split(".", 1)[1]) if "." in text else None


def parse_number(s: str) -> Number | None:
    """``s`` (already normalised) as an integer, decimal, fraction ``a/b``, scientific
    notation (``1.5e6``, ``1.5 \\times 10^{6}``) or repeating decimal
    (``0.\\overline{3}``); else None.

    Example:
        >>> parse_number("-3/4")
        Number(value=Fraction(-3, 4), places=None)
    """
    if len(s) > _MAX_NUMBER_CHARS:
        return None
    s = s.strip()
    m = _RATIONAL.fullmatch(s, timeout=_T)
    if m is not None:
        return _rational(*m.groups())
    m = _SCIENTIFIC.fullmatch(s, timeout=_T)
    if m is not None:
        sign, whole, frac, power = m.groups()
        value = Fraction(f"{whole}.{frac or 0}") * Fraction(10) ** int(power)
        places = len(frac) - int(power) if frac else None  # 2e6 is exact, 2.5e6 is not
        return Number(-value if sign == "-" else value, places)
    m = _REPEATING.fullmatch(s, timeout=_T)
    if m is not None:
        sign, whole, fixed, cycle = m.groups()
        value = Fraction(int(whole or "0")) + Fraction(int(fixed or "0"), 10 ** len(fixed))
        value += Fraction(int(cycle), (10 ** len(cycle) - 1) * 10 ** len(fixed))
        return Number(-value if sign == "-" else value)
    return None


def _rational(sign: str, num: str, den_sign: str | None, den: str | None) -> Number | None:
    value = Fraction(num)
    places = _places(num)
    if den is not None:
        divisor = Fraction(den)
        if divisor == 0:
            return None
        value /= divisor
        if den_sign == "-":
            value = -value
        places = (
            None
            if places is None and _places(den) is None
            else max(_places(num) or 0, _places(den) or 0)
        )
    if sign == "-":
        value = -value
    return Number(value, places)


def within_precision(answer: Number, reference: Number, rel_tol: float = 0.0) -> bool:
    """The tolerance rule: an exact reference (integer, fraction) is matched exactly; a
    decimal reference at the precision it is written to (the answer within half a unit
    of its last written place: ``0.33`` takes 1/3 and 0.333, not 0.34). A positive
    ``rel_tol`` also takes answers within that relative distance (opt-in).
    """
    if answer.value == reference.value:
        return True
    diff = abs(answer.value - reference.value)
    if reference.places is not None and diff * 2 < Fraction(10) ** -reference.places:
        return True
    return rel_tol > 0 and diff <= Fraction(rel_tol) * max(abs(answer.value), abs(reference.value))
