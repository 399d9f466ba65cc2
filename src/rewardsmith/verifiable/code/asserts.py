"""Assert-style tests, split so that the verdict is reached outside the program.

``assert add(1, 2) == 3`` becomes a *leaf*, ``add(1, 2)``, that the harness's judge
evaluates inside the sandbox, and a tree, ``leaf == 3``, evaluated here on the plain
value that comes back. Literals, comparisons, ``and``/``or``/``not``, arithmetic,
subscripts and a fixed set of pure builtins (``abs``, ``len``, ``sorted``,
``math.isclose``...) are evaluated here; everything else is a leaf. So the expected
values never enter the sandbox, and neither an overridden builtin nor an object whose
``__eq__`` always says True can turn a failing assert into a pass. Evaluation here is
bounded: the values are capped in size before they are decoded, and an operation that
would build a large value from them (``s * n``, ``'%0999999999d' % x``, ``round(x,
-10**9)``, ``str`` of a huge int, ``sum`` of many sequences) is refused (the test fails).

Other statements run in the judge (see ``harness``), never in the program's process:
setup, and tests that are code. A statement holding asserts (a loop, ``with``...), or
one that uses a function or class the tests define with asserts inside (``def t(x):
assert ...`` then ``t(2)``), is a test run as a whole that passes when it raises
nothing; it is marked ``in_process`` in ``info`` (its expected values enter the
sandbox's judge, but not the program's process). A definition alone is never a test.
"""

from __future__ import annotations

import ast
import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["AssertPlan", "Check", "TooLarge", "evaluate", "plan_asserts"]

_CMP: dict[type, Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Is: operator.is_,
    ast.IsNot: operator.is_not,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
}
_MAX_ITEMS = 1 << 22  # characters or items of a value built here
_MAX_BITS = 1 << 24  # bits of an integer built here
_MAX_FIELD = 10_000  # width or precision in a %-format, digits of round()
_SIZED = (str, bytes, list, tuple)
_FORMAT_FIELD = re.compile(rb"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d*))?")


class TooLarge(ValueError):
    """An operation in a check would build a value past the bounds."""


def _mul(a: Any, b: Any) -> Any:
    for seq, n in ((a, b), (b, a)):
        if isinstance(seq, _SIZED) and isinstance(n, int) and len(seq) * max(n, 0) > _MAX_ITEMS:
            raise TooLarge(f"{type(seq).__name__} * {n} is too large to build")
    if isinstance(a, int) and isinstance(b, int) and a.bit_length() + b.bit_length() > _MAX_BITS:
        raise TooLarge("integer product too large to build")
    return operator.mul(a, b)


def _mod(a: Any, b: Any) -> Any:
    if isinstance(a, str | bytes):  # printf-style formatting: widths come from the values
        fmt = a.encode("utf-8", "surrogatepass") if isinstance(a, str) else a
        for width, precision in _FORMAT_FIELD.findall(fmt):
            for part in (width, precision):
                if part == b"*" or (part and (len(part) > 5 or int(part) > _MAX_FIELD)):
                    raise TooLarge("format field too wide to build")
    return operator.mod(a, b)


_BIN: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: _mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: _mod,
}
_PURE: dict[str, Callable[..., Any]] = {
    "abs": abs, "round": round, "len": len, "sorted": sorted, "set": set,
    "frozenset": frozenset, "list": list, "tuple": tuple, "min": min, "max": max,
    "sum": sum, "int": int, "float": float, "str": str, "bool": bool,
    "isinstance": isinstance, "type": type, "all": all, "any": any,
    "math.isclose": math.isclose, "math.fabs": math.fabs, "math.floor": math.floor,
    "math.ceil": math.ceil,
}  # fmt: skip
_TYPES: dict[str, Any] = {
    "int": int, "float": float, "str": str, "bool": bool, "list": list, "tuple": tuple,
    "dict": dict, "set": set, "frozenset": frozenset, "bytes": bytes,
}  # fmt: skip

Node = tuple[Any, ...]
_LAZY = (ast.GeneratorExp, ast.Lambda)


@dataclass(frozen=True, slots=True)
class Check:
    """One test: a tree over leaves (sources evaluated in the sandbox)."""

    tree: Node
    leaves: list[str]
    source: str
    in_process: bool = False


@dataclass(slots=True)
class AssertPlan:
    """The steps the harness runs in order, and the checks decided here. The entry
    point (``check(candidate)``'s) is taken from the program even if a builtin has its
    name."""

    steps: list[dict[str, Any]] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    entry_point: str | None = None


def _dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute) and (base := _dotted(node.value)) is not None:
        return f"{base}.{node.attr}"
    return None


class _Splitter:
    def __init__(self) -> None:
        self.leaves: list[str] = []

    def leaf(self, node: ast.expr) -> Node:
        self.leaves.append(ast.unparse(node))
        return ("leaf", len(self.leaves) - 1)

    def split(self, node: ast.expr) -> Node:
        try:
            return ("const", ast.literal_eval(node))
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            pass
        if isinstance(node, ast.Compare):
            ops = [
                (_CMP[type(op)], self.split(r))
                for op, r in zip(node.ops, node.comparators, strict=True)
            ]
            return ("cmp", self.split(node.left), ops)
        if isinstance(node, ast.BoolOp):
            return ("bool", isinstance(node.op, ast.And), [self.split(v) for v in node.values])
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not | ast.USub):
            return ("unary", isinstance(node.op, ast.Not), self.split(node.operand))
        if isinstance(node, ast.BinOp) and type(node.op) in _BIN:
            return ("bin", _BIN[type(node.op)], self.split(node.left), self.split(node.right))
        if isinstance(node, ast.Subscript) and not isinstance(node.slice, ast.Slice):
            return ("sub", self.split(node.value), self.split(node.slice))
        if isinstance(node, ast.Name) and node.id in _TYPES:
            return ("const", _TYPES[node.id])
        if (
            isinstance(node, ast.Call)
            and (name := _dotted(node.func)) in _PURE
            and not any(isinstance(a, ast.Starred) for a in node.args)
            and all(k.arg for k in node.keywords)
            # all(x < 5 for x in f()) is one leaf: a generator is no value to send back.
            and not any(isinstance(a, _LAZY) for a in node.args)
        ):
            args = [self.split(a) for a in node.args]
            kwargs = {str(k.arg): self.split(k.value) for k in node.keywords}
            return ("call", _PURE[str(name)], args, kwargs)
        return self.leaf(node)


def _has_assert(node: ast.stmt) -> bool:
    return any(isinstance(n, ast.Assert) for n in ast.walk(node))


_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _asserting_defs(body: list[ast.stmt]) -> set[str]:
    """Names of the tests' functions and classes that hold asserts or use one that does."""
    found: set[str] = set()
    changed = True
    while changed:
        changed = False
        for stmt in body:
            if (
                isinstance(stmt, _DEFS)
                and stmt.name not in found
                and (_has_assert(stmt) or _names(stmt) & found)
            ):
                found.add(stmt.name)
                changed = True
    return found


def _unwrap_check(tree: ast.Module, entry_point: str | None) -> list[ast.stmt]:
    """HumanEval's ``def check(candidate): assert candidate(...) == ...`` as top-level asserts."""
    if entry_point is None:
        return tree.body
    body: list[ast.stmt] = []
    for stmt in tree.body:
        if isinstance(stmt, ast.FunctionDef) and stmt.name == "check" and len(stmt.args.args) == 1:
            arg = stmt.args.args[0].arg
            for inner in stmt.body:
                for n in ast.walk(inner):
                    if isinstance(n, ast.Name) and n.id == arg:
                        n.id = entry_point
                body.append(inner)
        elif (
            isinstance(stmt, ast.Expr)
            and isinstance(stmt.value, ast.Call)
            and _dotted(stmt.value.func) == "check"
        ):
            continue
        else:
            body.append(stmt)
    return body


def plan_asserts(source: str, entry_point: str | None = None) -> AssertPlan:
    """Split test source into harness steps and checks. Raises SyntaxError on bad tests."""
    tree = ast.parse(source)
    plan = AssertPlan(entry_point=entry_point)
    body = _unwrap_check(tree, entry_point)
    asserting = _asserting_defs(body)
    for j, stmt in enumerate(body):
        if isinstance(stmt, ast.Assert):
            splitter = _Splitter()
            node = splitter.split(stmt.test)
            check = Check(node, splitter.leaves, ast.unparse(stmt))
            plan.steps.append({"eval": check.leaves, "i": len(plan.checks)})
            plan.checks.append(check)
        elif not isinstance(stmt, _DEFS) and (_has_assert(stmt) or _names(stmt) & asserting):
            plan.steps.append({"exec": ast.unparse(stmt), "x": j, "i": len(plan.checks)})
            plan.checks.append(Check(("const", True), [], ast.unparse(stmt), in_process=True))
        else:
            plan.steps.append({"exec": ast.unparse(stmt), "x": j})
    return plan


def _guard_call(fn: Callable[..., Any], args: list[Any], kwargs: dict[str, Any]) -> None:
    values = [*args, *kwargs.values()]
    if fn is round and any(isinstance(v, int) and abs(v) > _MAX_FIELD for v in values[1:]):
        raise TooLarge("round() to too many digits")
    # Decimal conversions of big numbers are quadratic.
    if fn is str and any(isinstance(v, int) and v.bit_length() > 1 << 16 for v in values):
        raise TooLarge("str() of an integer too large to convert")
    if fn is int and any(isinstance(v, str | bytes) and len(v) > 1 << 16 for v in values):
        raise TooLarge("int() of a string too long to convert")
    if fn is sum and len(values) > 1 and isinstance(values[1], _SIZED):
        items = values[0]
        if isinstance(items, _SIZED | set | frozenset | dict) and len(items) > 1000:
            raise TooLarge("sum() of too many sequences")


def evaluate(node: Node, leaves: list[Any]) -> Any:
    """The value of a check's tree, given its leaves' plain values. Raises ``TooLarge``
    (a ValueError) where an operation would build a value past the bounds."""
    kind = node[0]
    if kind == "const":
        return node[1]
    if kind == "leaf":
        return leaves[node[1]]
    if kind == "cmp":
        left = evaluate(node[1], leaves)
        for op, right_node in node[2]:
            right = evaluate(right_node, leaves)
            if not op(left, right):
                return False
            left = right
        return True
    if kind == "bool":
        values = (evaluate(v, leaves) for v in node[2])
        return all(values) if node[1] else any(values)
    if kind == "unary":
        value = evaluate(node[2], leaves)
        return (not value) if node[1] else -value
    if kind == "bin":
        return node[1](evaluate(node[2], leaves), evaluate(node[3], leaves))
    if kind == "sub":
        return evaluate(node[1], leaves)[evaluate(node[2], leaves)]
    if kind == "call":
        args = [evaluate(a, leaves) for a in node[2]]
        kwargs = {k: evaluate(v, leaves) for k, v in node[3].items()}
        _guard_call(node[1], args, kwargs)
        return node[1](*args, **kwargs)
    raise ValueError(f"unknown node {kind!r}")
