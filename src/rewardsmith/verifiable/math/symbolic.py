"""The symbolic tier of ``math.answer``: sympy equivalence, run only in a worker process.

``verify`` is the worker's entry point: it gets two structure trees from
``math.struct.parse_structure`` (already passed through ``math.limits.limit_reason``) and
walks them with ``SympyOracle``, which reads each leaf with ``latex2sympy2_extended`` and
decides equality exactly:

- numbers without a decimal point: ``simplify(a - b) == 0`` or ``a.equals(b)``, both exact;
- a reference written with a decimal point: the answer within half a unit of the
  reference's last written place, at 30 significant digits (decimals are read as exact
  fractions, ``0.333`` is ``333/1000``); a positive ``rel_tol`` also accepts within it;
- a value that is undefined (a division by zero, ``12:00`` read as 12/0) equals nothing;
- a reference whose only symbol is ``i`` is complex: ``i`` is the imaginary unit;
- expressions with variables: equal if ``simplify(a - b) == 0`` or ``a.equals(b)``; two
  fixed-point numeric evaluations only ever *reject* (a function identity must hold at
  every point), never accept, so there are no numeric false positives;
- equations: ``lhs − rhs`` of one is a nonzero constant multiple of the other's;
  inequalities: the same with a positive constant and the same strictness.

A leaf sympy cannot read is unequal to everything but itself. sympy and its parser are
imported on first use (``math/answer.py`` asks the runtime to preload them, so a fresh worker does not
spend its first item's timeout importing them); this module is light to import in the
parent, which only needs ``verify`` by name to send it to the pool.

Example:
    >>> from rewardsmith.verifiable.math.struct import parse_structure
    >>> verify(parse_structure("x^2-1"), parse_structure("(x-1)(x+1)"), 1e-9)
    True
"""

from __future__ import annotations

import re
from typing import Any

from rewardsmith.verifiable.math.struct import CheapOracle, Leaf, Node, Rel, compare

__all__ = ["SympyOracle", "verify"]

_DECIMAL = re.compile(r"(?<![0-9.])([0-9]*)\.([0-9]+)(?![0-9.])")
_POINTS = ("0.6180339887", "1.3247179572")  # fixed, irrational-looking: deterministic checks
_DIGITS = 30


def verify(a: Node, b: Node, rel_tol: float) -> bool:
    """Whether two answers are equivalent, deciding every leaf with sympy (worker side)."""
    return compare(a, b, SympyOracle(rel_tol)) is True


def _exact_decimals(text: str) -> str:
    return _DECIMAL.sub(
        lambda m: rf"(\frac{{{m.group(1)}{m.group(2)}}}{{1{'0' * len(m.group(2))}}})", text
    )


_SUBSCRIPT = re.compile(r"_\s*\{\s*([^{}]*?)\s*\}|_\s*([A-Za-z0-9])")
_COMMAND = re.compile(r"\\([A-Za-z]+)")
_LETTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_ELLIPSIS = re.compile(r"\\[lc]?dots[bc]?(?![A-Za-z])|\.\.\.")


def _marks(text: str) -> tuple[object, ...]:
    """The parts of a leaf the LaTeX parser may drop or conflate, which must agree before
    sympy is asked: subscripts (bases, indices), primes, ellipses, and the case of
    commands (``\\Pi`` against ``\\pi``)."""
    subscripts = sorted(m.group(1) or m.group(2) for m in _SUBSCRIPT.finditer(text))
    commands = {m.group(1) for m in _COMMAND.finditer(text)}
    cased = sorted(c for c in commands if c.lower() != c or c.capitalize() in commands)
    return (subscripts, text.count("'"), _ELLIPSIS.search(text) is not None, cased)


def _case_conflict(a: str, b: str) -> bool:
    """A letter written in another case on the other side (``X`` against ``x``): the
    parser may fold them together."""
    la, lb = set(_COMMAND.sub(" ", a)) & _LETTERS, set(_COMMAND.sub(" ", b)) & _LETTERS
    return any(c.swapcase() in lb and c not in lb for c in la) or any(
        c.swapcase() in la and c not in la for c in lb
    )


class SympyOracle:
    """Leaves and relations decided by sympy; cheap tiers first."""

    def __init__(self, rel_tol: float) -> None:
        self.rel_tol = rel_tol
        self.cheap = CheapOracle(rel_tol)
        self._parsed: dict[str, Any] = {}

    def _sympy(self, text: str) -> Any:
        if text not in self._parsed:
            from latex2sympy2_extended import latex2sympy
            from latex2sympy2_extended.math_normalization import NormalizationConfig

            # malformed operators: \\sqrt2, \\frac12; units stay (5 cm is not 5)
            config = NormalizationConfig(
                basic_latex=True,
                units=False,
                malformed_operators=True,
                nits=False,
                boxed="all",
                equations=False,
            )
            try:
                parsed = latex2sympy(_exact_decimals(text), normalization_config=config)
                # The parser builds unevaluated trees; evaluating them once (a nested
                # fraction becomes one Rational) keeps later evalf calls from taking
                # time exponential in the nesting depth.
                self._parsed[text] = parsed.doit() if hasattr(parsed, "doit") else parsed
            except Exception:
                self._parsed[text] = None
        return self._parsed[text]

    def expr(self, a: str, b: str) -> bool | None:
        cheap = self.cheap.expr(a, b)
        if cheap is not None:
            return cheap
        if _marks(a) != _marks(b) or _case_conflict(a, b):
            return False  # what the LaTeX parser drops: 1011_3 is not 1011_2, f' not f
        x, y = self._sympy(a), self._sympy(b)
        if x is None or y is None:
            return False
        places = [len(m.group(2)) for m in _DECIMAL.finditer(b)]
        try:
            x, y = _complex(x, y)
            return _equal(x, y, max(places) if places else None, self.rel_tol)
        except Exception:
            return False

    def relation(self, a: Rel, b: Rel) -> bool | None:
        cheap = self.cheap.relation(a, b)
        if cheap is True:
            return True
        if (
            a.op == "="
            and a.lhs == b.lhs
            and isinstance(a.lhs, Leaf)
            and len(a.lhs.text.strip()) == 1
        ):
            return compare(a.rhs, b.rhs, self)  # y = f against y = g: f against g
        sides = [a.lhs, a.rhs, b.lhs, b.rhs]
        if not all(isinstance(s, Leaf) for s in sides):
            return False
        texts = [s.text for s in sides if isinstance(s, Leaf)]
        mine, theirs = f"{texts[0]} {texts[1]}", f"{texts[2]} {texts[3]}"
        if _marks(mine) != _marks(theirs) or _case_conflict(mine, theirs):
            return False  # f'(x) = 2x is not f(x) = 2x
        parsed = [self._sympy(s.text) for s in sides if isinstance(s, Leaf)]
        if any(p is None for p in parsed):
            return False
        try:
            return _proportional(
                parsed[1] - parsed[0], parsed[3] - parsed[2], positive=a.op in ("<", "<=")
            )
        except Exception:
            return False


def _complex(x: Any, y: Any) -> tuple[Any, Any]:
    """A reference whose only symbol is ``i`` is a complex number (``3 + 4i``): then ``i``
    is the imaginary unit on both sides, so ``(1+i)^2`` is ``2i``."""
    from sympy import Expr, I, Symbol

    i = Symbol("i")
    if isinstance(y, Expr) and y.free_symbols == {i} and isinstance(x, Expr):
        return x.subs(i, I), y.subs(i, I)
    return x, y


def _equal(x: Any, y: Any, places: int | None, rel_tol: float) -> bool:
    """Whether the answer ``x`` equals the reference ``y`` (written to ``places``
    decimal places, or exact when None)."""
    from sympy import Expr, Rational, nan, oo, simplify, zoo

    if not (isinstance(x, Expr) and isinstance(y, Expr)):
        return bool(x == y)
    if x.has(nan, zoo) or y.has(nan, zoo):
        return False  # undefined (a division by zero) equals nothing, itself included
    if x == y:
        return True
    if x.has(oo, -oo) or y.has(oo, -oo):
        return False
    diff = x - y
    if not diff.free_symbols and (places is not None or rel_tol > 0):
        vx, vy = x.evalf(_DIGITS), y.evalf(_DIGITS)
        if not (vx.is_real and vy.is_real and vx.is_finite and vy.is_finite):
            return False
        gap = abs(vx - vy)
        if places is not None and gap < Rational(1, 2) * Rational(10) ** -places:
            return True
        if rel_tol > 0 and gap <= rel_tol * max(abs(vx), abs(vy)):
            return True
    if _clearly_different(x, y):
        return False
    if diff.expand() == 0:  # polynomials: far cheaper than simplify
        return True
    if simplify(diff) == 0:
        return True
    return x.equals(y) is True


def _clearly_different(x: Any, y: Any) -> bool:
    """A numeric witness that ``x - y`` is not identically zero (rejects, never accepts)."""
    from sympy import Rational

    symbols = sorted((x - y).free_symbols, key=str)
    for point in _POINTS:
        values = {s: Rational(point) + k * Rational(1, 7) for k, s in enumerate(symbols)}
        try:
            vx, vy = x.subs(values).evalf(_DIGITS), y.subs(values).evalf(_DIGITS)
            if not (vx.is_number and vy.is_number and vx.is_finite and vy.is_finite):
                continue
            if abs(vx - vy) > 1e-15 * max(1, abs(vx), abs(vy)):
                return True
        except Exception:
            continue
    return False


def _proportional(da: Any, db: Any, positive: bool) -> bool:
    """Whether ``da = c·db`` for a constant c that is nonzero (positive for inequalities)."""
    from sympy import simplify

    zero_a, zero_b = bool(simplify(da) == 0), bool(simplify(db) == 0)
    if zero_a or zero_b:
        return zero_a and zero_b
    q = simplify(da / db)
    if q.free_symbols or not q.is_finite:
        return False
    return bool(q.is_positive) if positive else q.is_zero is False
