"""RandomCalculation: seeded arithmetic problems with exact answers, for clean RL evaluation.

What it generates: expressions that combine base elements (integers 0–100, fractions
``p/q`` of them, their squares and cubes) with exactly ``steps`` binary operations drawn
from +, −, ×, ÷. Each ``Problem`` carries a plain-text question ("Compute: (37 × 4 − 12) ÷
(3/5) + 9²"), a LaTeX rendering, the exact answer as a ``Fraction``, that answer as text
(an integer or a reduced fraction ``a/b``), the answer rounded to 6 decimal places, and
the expression tree it was rendered from.

Paper: Reasoning or Memorization? Unreliable Results of Reinforcement Learning Due to Data
Contamination (Wu et al., arXiv 2507.10532). Its RandomCalculation set has 20 subsets, one
per step count 1–20, of 1,000 unique problems each; ``subsets()`` rebuilds that layout.
Because the problems are drawn fresh from a seed, they cannot be in any pretraining data.

Exact answers are often long decimals (``(3/7) × 11`` is 4.714285714…), so an exact-match
reward is nearly always 0 on the deep subsets; the paper scores them with the continuous
``math.numeric_error`` reward instead.

Choices the paper does not pin down, made here: the leaf mix (55% integers, 20% fractions,
15% squares, 10% cubes), fractions with numerator 1–100 and denominator 2–100 that do not
reduce to an integer, and a uniformly random split of the operations between the two
sides of each node. Only parentheses the precedence needs are written; fractions are
always parenthesised in plain text, so "(3/5)" reads as one number.

Example:
    >>> p = random_calculation(steps=2, n=1, seed=7)[0]
    >>> p.steps, p.answer == evaluate(p.expr)
    (2, True)
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

__all__ = [
    "BinOp",
    "Expr",
    "Leaf",
    "Problem",
    "count_ops",
    "decimal_text",
    "evaluate",
    "exact_text",
    "random_calculation",
    "render_latex",
    "render_plain",
    "subsets",
]

Op = Literal["+", "-", "*", "/"]
LeafKind = Literal["int", "frac", "square", "cube"]

_OPS: tuple[Op, ...] = ("+", "-", "*", "/")
_PRECEDENCE: dict[Op, int] = {"+": 1, "-": 1, "*": 2, "/": 2}
_PLAIN_OP: dict[Op, str] = {"+": "+", "-": "−", "*": "×", "/": "÷"}
_LATEX_OP: dict[Op, str] = {"+": "+", "-": "-", "*": "\\times", "/": "\\div"}
_LEAF_KINDS: tuple[LeafKind, ...] = ("int", "frac", "square", "cube")
_LEAF_WEIGHTS = (55, 20, 15, 10)
_MAX_REDRAWS = 100


@dataclass(frozen=True, slots=True)
class Leaf:
    """A base element: ``int`` n, ``frac`` n/d, ``square`` n², or ``cube`` n³."""

    kind: LeafKind
    n: int
    d: int = 1

    @property
    def value(self) -> Fraction:
        if self.kind == "frac":
            return Fraction(self.n, self.d)
        if self.kind == "square":
            return Fraction(self.n**2)
        if self.kind == "cube":
            return Fraction(self.n**3)
        return Fraction(self.n)


@dataclass(frozen=True, slots=True)
class BinOp:
    """One operation; ``value`` is computed once, when the node is built."""

    op: Op
    left: Expr
    right: Expr
    value: Fraction


Expr = Leaf | BinOp


@dataclass(frozen=True, slots=True)
class Problem:
    """One RandomCalculation problem.

    Args:
        question: the plain-text prompt, ``"Compute: ..."`` with ×, ÷, −, ², ³.
        latex: the same prompt with the expression in LaTeX between ``$``.
        answer: the exact value.
        answer_text: the exact value as an integer or a reduced fraction ``a/b``.
        decimal: the value rounded half-even to 6 decimal places, e.g. ``"4.714286"``.
        steps: the number of operations.
        expr: the expression tree the texts were rendered from.
    """

    question: str
    latex: str
    answer: Fraction
    answer_text: str
    decimal: str
    steps: int
    expr: Expr


def evaluate(expr: Expr) -> Fraction:
    """The exact value of an expression (stored on each node when it was built)."""
    return expr.value


def count_ops(expr: Expr) -> int:
    """The number of binary operations in an expression."""
    if isinstance(expr, Leaf):
        return 0
    return 1 + count_ops(expr.left) + count_ops(expr.right)


def _draw_leaf(rng: random.Random) -> Leaf:
    kind = rng.choices(_LEAF_KINDS, weights=_LEAF_WEIGHTS)[0]
    if kind == "frac":
        while True:  # a fraction that is an integer would read as a disguised one
            n, d = rng.randint(1, 100), rng.randint(2, 100)
            if n % d:
                return Leaf("frac", n, d)
    return Leaf(kind, rng.randint(0, 100))


def _draw(rng: random.Random, ops: int) -> Expr:
    if ops == 0:
        return _draw_leaf(rng)
    op = rng.choice(_OPS)
    n_left = rng.randint(0, ops - 1)
    left = _draw(rng, n_left)
    right = _draw(rng, ops - 1 - n_left)
    if op == "/":
        for _ in range(_MAX_REDRAWS):
            if right.value != 0:
                break
            right = _draw(rng, ops - 1 - n_left)
        else:  # vanishingly rare; keeps the operation count exact all the same
            op = "*"
    a, b = left.value, right.value
    value = a + b if op == "+" else a - b if op == "-" else a * b if op == "*" else a / b
    return BinOp(op, left, right, value)


def _needs_parens(child: Expr, parent: Op, right: bool) -> bool:
    if isinstance(child, Leaf):
        return False
    mine, theirs = _PRECEDENCE[child.op], _PRECEDENCE[parent]
    return mine < theirs or (right and mine == theirs and parent in ("-", "/"))


def render_plain(expr: Expr) -> str:
    """Plain text with ×, ÷, −, ², ³; fractions are written "(3/5)"."""
    if isinstance(expr, Leaf):
        if expr.kind == "frac":
            return f"({expr.n}/{expr.d})"
        return f"{expr.n}" + {"int": "", "square": "²", "cube": "³"}[expr.kind]
    parts = []
    for child, right in ((expr.left, False), (expr.right, True)):
        text = render_plain(child)
        parts.append(f"({text})" if _needs_parens(child, expr.op, right) else text)
    return f"{parts[0]} {_PLAIN_OP[expr.op]} {parts[1]}"


def render_latex(expr: Expr) -> str:
    """LaTeX with ``\\times``, ``\\div``, ``\\frac{}{}`` and ``^{2}``/``^{3}``."""
    if isinstance(expr, Leaf):
        if expr.kind == "frac":
            return f"\\frac{{{expr.n}}}{{{expr.d}}}"
        return f"{expr.n}" + {"int": "", "square": "^{2}", "cube": "^{3}"}[expr.kind]
    parts = []
    for child, right in ((expr.left, False), (expr.right, True)):
        text = render_latex(child)
        parts.append(f"\\left({text}\\right)" if _needs_parens(child, expr.op, right) else text)
    return f"{parts[0]} {_LATEX_OP[expr.op]} {parts[1]}"


def exact_text(value: Fraction) -> str:
    """An integer, or a reduced fraction ``a/b`` with the sign on the numerator."""
    return (
        str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"
    )


def decimal_text(value: Fraction, places: int = 6) -> str:
    """``value`` rounded half-even to ``places`` decimals, computed exactly."""
    scale = 10**places
    q = round(value * scale)
    sign = "-" if q < 0 else ""
    q = abs(q)
    return f"{sign}{q // scale}.{q % scale:0{places}d}"


def _problem(expr: Expr, steps: int) -> Problem:
    value = evaluate(expr)
    return Problem(
        question=f"Compute: {render_plain(expr)}",
        latex=f"Compute: ${render_latex(expr)}$",
        answer=value,
        answer_text=exact_text(value),
        decimal=decimal_text(value),
        steps=steps,
        expr=expr,
    )


def random_calculation(steps: int, n: int, seed: int = 0) -> list[Problem]:
    """``n`` unique problems (by question text) with exactly ``steps`` operations each.

    Args:
        steps: operations per problem, at least 1 (the paper uses 1–20).
        n: how many problems.
        seed: the same seed always gives the same list; no global random state is used.

    Returns:
        The problems, in the order drawn.

    Raises:
        ValueError: ``steps`` < 1, ``n`` < 0, or ``n`` unique problems could not be drawn.

    Example:
        >>> [p.steps for p in random_calculation(3, 2, seed=1)]
        [3, 3]
    """
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    if n < 0:
        raise ValueError(f"n must be non-negative, got {n}")
    rng = random.Random(seed)
    seen: set[str] = set()
    out: list[Problem] = []
    for _ in range(20 * n + 1000):
        if len(out) == n:
            break
        problem = _problem(_draw(rng, steps), steps)
        if problem.question not in seen:
            seen.add(problem.question)
            out.append(problem)
    if len(out) < n:
        raise ValueError(f"could draw only {len(out)} unique problems of {steps} steps, not {n}")
    return out


def _subset_seed(seed: int, steps: int) -> int:
    # str seeds hash with SHA-512, so this is stable across runs and Python versions
    return random.Random(f"rewardsmith.random_calculation:{seed}:{steps}").getrandbits(64)


def subsets(
    max_steps: int = 20, per_step: int = 1000, seed: int = 0
) -> Iterator[tuple[int, list[Problem]]]:
    """The paper's layout: one subset of ``per_step`` problems per step count, 1 to ``max_steps``.

    Lazy: each subset is drawn only when the iterator reaches it, from its own seed (so
    subset k is the same whatever ``max_steps`` is).

    Yields:
        ``(steps, problems)`` pairs, ``steps`` from 1 up.
    """
    for steps in range(1, max_steps + 1):
        yield steps, random_calculation(steps, per_step, seed=_subset_seed(seed, steps))
