r"""Is an answer computed, or the problem restated? Checks for ``math.answer``.

Symbolic equivalence cannot tell a computed answer from the problem restated:
``\binom{16}{5}`` *is* 4368, ``\int_0^1 x^2 dx`` *is* 1/3. So before comparing values,
``math.answer`` asks three questions of the normalised answer and reference:

- ``evaluated_gap``: does the answer leave an operation undone that the reference does
  not have? The operations: binomials, integrals, sums and products (``\sum``,
  ``\prod``), limits, derivatives, factorials, gcd and lcm, logarithms and trigonometric
  functions of literal numbers (and of pi and e: ``\\cos\\frac{\\pi}{3}``, ``\\ln e``), products of literal numbers (``123 \times 456``) and
  powers of literal numbers other than ten (``2^{10}``; ``10^6`` is a way to write a
  number). An answer ``5!`` for 120 is refused; ``\binom{n}{2}`` for
  ``\binom{n}{2}`` is not.
- ``restates``: is the answer (an expression, not a plain number) a stretch of the
  prompt, while the reference is not? ``\sqrt{245}`` for "Simplify $\sqrt{245}$".
- ``simplest_form_gap`` (only with ``require_simplest_form``): a fraction not in lowest
  terms, a square root of a literal with a square factor, or a longer expression than
  the reference.

All scans are linear regexes over answers already cut to 1,000 characters by the
caller's limits, with a timeout as a backstop.

Example:
    >>> evaluated_gap(r"\binom{16}{5}", "4368"), evaluated_gap("4368", "4368")
    ('binomial', None)
"""

from __future__ import annotations

import math

import regex as re

__all__ = ["evaluated_gap", "restates", "simplest_form_gap"]

_T = 1.0
_OPERATIONS = (
    ("binomial", re.compile(r"\\binom(?![A-Za-z])|\\choose(?![A-Za-z])")),
    ("integral", re.compile(r"\\i+nt(?![A-Za-z])|\\oint(?![A-Za-z])")),
    ("sum", re.compile(r"\\sum(?![A-Za-z])")),
    ("product", re.compile(r"\\prod(?![A-Za-z])")),
    ("limit", re.compile(r"\\lim(?![A-Za-z])")),
    ("derivative", re.compile(r"\\frac\s*\{\s*d\s*\}\s*\{\s*d|\\partial(?![A-Za-z])|\\nabla")),
    ("factorial", re.compile(r"[0-9)}]\s*!(?!=)")),
    ("gcd", re.compile(r"(?<![A-Za-z])(?:gcd|lcm|GCD|LCM)(?![A-Za-z])")),
    (
        "function of a literal",
        re.compile(
            r"\\(?:log|ln|lg|sin|cos|tan|cot|sec|csc|arcsin|arccos|arctan)(?![A-Za-z])"
            r"(?:_\{?[0-9]+\}?)?\s*[{(]?\s*"
            r"(?:[0-9]|\\pi|e(?![A-Za-z])|\\[dt]?frac\s*\{\s*[0-9]*\s*\\pi)"
        ),
    ),
    ("product of literals", re.compile(r"[0-9]\s*(?:\\times|\\cdot|\*)\s*[0-9](?![0-9]*\s*\^)")),
)
_POWER = re.compile(r"(?<![0-9.])([0-9]+)\s*\^\s*\{?\s*\(?\s*-?[0-9]")


def _operations(text: str) -> set[str]:
    found = {name for name, pattern in _OPERATIONS if pattern.search(text, timeout=_T)}
    if any(m.group(1) != "10" for m in _POWER.finditer(text, timeout=_T)):
        found.add("power of literals")
    return found


def evaluated_gap(answer: str, reference: str) -> str | None:
    """The operations the answer leaves undone that the reference does not have, or None."""
    if not any(c in answer for c in "\\!^*"):  # fast path: nothing to evaluate
        return None
    gap = _operations(answer) - _operations(reference)
    return ", ".join(sorted(gap)) or None


_PLAIN_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_EXPRESSION = re.compile(r"\\[A-Za-z]+|[-+*/^!()]")
_MIN_RESTATED = 4


def _squash(text: str) -> str:
    return "".join(text.replace("$", "").replace("\\left", "").replace("\\right", "").split())


def restates(answer: str, reference: str, prompt: str) -> bool:
    """Whether the answer is an expression copied from the prompt (and the reference is
    not one): it restates the problem instead of solving it."""
    a = _squash(answer)
    if len(a) < _MIN_RESTATED or _PLAIN_NUMBER.fullmatch(a, timeout=_T):
        return False
    if _EXPRESSION.search(a, timeout=_T) is None:
        return False
    p = _squash(prompt.replace("\\dfrac", "\\frac").replace("\\dbinom", "\\binom"))
    return a in p and _squash(reference) not in p


_FRACTION = re.compile(
    r"\\frac\s*\{\s*([0-9]+)\s*\}\s*\{\s*([0-9]+)\s*\}|(?<![0-9.])([0-9]+)/([0-9]+)(?![0-9.])"
)
_ROOT = re.compile(r"\\sqrt\s*\{\s*([0-9]{1,12})\s*\}|\\sqrt\s*([0-9])")
_TERM = re.compile(r"\\[A-Za-z]+|[0-9.]+|[A-Za-z]|[-+*/^!]")


def _square_factor(n: int) -> bool:
    k = 2
    while k * k <= n:
        if n % (k * k) == 0:
            return True
        k += 1
    return False


def simplest_form_gap(answer: str, reference: str) -> str | None:
    """Why the answer is less simplified than the reference (``require_simplest_form``)."""
    for m in _FRACTION.finditer(answer, timeout=_T):
        top, bottom = (int(g) for g in (m.group(1, 2) if m.group(1) else m.group(3, 4)))
        if bottom and math.gcd(top, bottom) > 1:
            return "fraction not in lowest terms"
    for m in _ROOT.finditer(answer, timeout=_T):
        n = int(m.group(1) or m.group(2))
        if n < 10**9 and _square_factor(n):
            return "square root with a square factor"
    if len(_TERM.findall(answer, timeout=_T)) > len(_TERM.findall(reference, timeout=_T)):
        return "longer than the reference's form"
    return None
