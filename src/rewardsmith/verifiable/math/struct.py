"""Math answers as structures: tuples, intervals, sets, unions, matrices, relations.

Pure, cheap functions for ``math.answer``'s third tier. ``parse_structure`` reads a
normalised answer (``answer_text.normalize_answer``) into a small tree of frozen nodes that
pickle (the symbolic tier sends them to a worker process); ``compare`` walks two trees
with a leaf ``Oracle`` and answers True, False or None ("cannot tell without algebra").
The parent process uses ``CheapOracle`` (tiers 1 and 2 on each leaf); the worker process
uses ``math.symbolic.SympyOracle`` on the same trees, so the structural rules are written
once. Call ``math.limits.parse_limit`` first: parsing recurses once per bracket level.

Example:
    >>> parse_structure("(4, 9]")
    Seq(open='(', close=']', items=(Leaf(text='4'), Leaf(text='9')))
    >>> compare(parse_structure(r"\\{3, 1, 2\\}"), parse_structure(r"\\{1,2,3\\}"), CheapOracle())
    True
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal, localcontext
from typing import Protocol, TypeGuard

from rewardsmith.verifiable.answer_text import (
    Number,
    parse_number,
    plain,
    split_unit,
    unit_dimension,
    within_precision,
)
from rewardsmith.verifiable.math.arith import evaluate

__all__ = [
    "Bag",
    "CheapOracle",
    "Leaf",
    "Matrix",
    "Node",
    "Oracle",
    "Rel",
    "Seq",
    "compare",
    "is_label",
    "numbers_equal",
    "parse_structure",
    "symbolic_candidate",
]

_MAX_ITEMS = 64  # sets and lists longer than this are compared as text only


@dataclass(frozen=True, slots=True)
class Leaf:
    """A single expression, compared by the oracle."""

    text: str


@dataclass(frozen=True, slots=True)
class Seq:
    """An ordered bracket group: a tuple, a point or an interval; the brackets count."""

    open: str
    close: str
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Bag:
    """An unordered collection: ``set`` (``\\{..\\}``), bare comma ``list``, or ``union``."""

    kind: str
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Matrix:
    rows: tuple[tuple[Node, ...], ...]


@dataclass(frozen=True, slots=True)
class Rel:
    """``lhs op rhs`` with ``op`` one of ``=``, ``!=``, ``<``, ``<=`` (``>`` is flipped)."""

    op: str
    lhs: Node
    rhs: Node


Node = Leaf | Seq | Bag | Matrix | Rel


class Oracle(Protocol):
    def expr(self, a: str, b: str) -> bool | None:
        """Whether two leaf expressions are equal; None when this oracle cannot tell."""
        ...

    def relation(self, a: Rel, b: Rel) -> bool | None:
        """Whether two relations with the same operator family are equivalent."""
        ...


# ---------------------------------------------------------------------------- scanning

_REL_CMDS = {
    "le": "<=",
    "leq": "<=",
    "leqslant": "<=",
    "ge": ">=",
    "geq": ">=",
    "geqslant": ">=",
    "ne": "!=",
    "neq": "!=",
    "lt": "<",
    "gt": ">",
}
_REL_CHARS = {"=": "=", "<": "<", ">": ">", "≤": "<=", "≥": ">=", "≠": "!="}
_OPENERS = {"(", "[", "{", "\\{"}
_CLOSERS = {")", "]", "}", "\\}"}


@dataclass(frozen=True, slots=True)
class _Scan:
    depth: int
    tokens: tuple[tuple[int, int, str], ...]  # top-level separators: (start, end, kind)
    wrapped: tuple[str, str] | None  # the brackets when one group spans the whole text


def _scan(text: str) -> _Scan:
    """One pass: bracket depth, top-level separators, and whether one group wraps it all."""
    depth = max_depth = 0
    tokens: list[tuple[int, int, str]] = []
    first_open: str | None = None
    first_closed_at = -1
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        j = i + 1
        tok = c
        if c == "\\" and j < n:
            if text[j].isalpha():
                while j < n and text[j].isalpha():
                    j += 1
                tok = text[i:j]
            else:
                j += 1
                tok = text[i:j]
        elif c in "<>!" and j < n and text[j] == "=":
            j += 1
            tok = text[i:j]
        if tok in _OPENERS:
            if i == 0:
                first_open = tok
            depth += 1
            max_depth = max(max_depth, depth)
        elif tok in _CLOSERS:
            depth = max(depth - 1, 0)
            if depth == 0 and first_closed_at < 0:
                first_closed_at = i
        elif depth == 0:
            kind = _separator(tok)
            if kind is not None:
                tokens.append((i, j, kind))
        i = j
    wrapped = None
    if first_open is not None and depth == 0 and first_closed_at >= 0:
        closer_end = first_closed_at + (2 if text.startswith("\\}", first_closed_at) else 1)
        if closer_end == n:
            wrapped = (first_open, text[first_closed_at:])
    return _Scan(max_depth, tuple(tokens), wrapped)


def _separator(tok: str) -> str | None:
    if tok in (",", "&", "\\\\"):
        return tok
    if tok == ";":
        return ";"
    if tok == "\\cup":
        return "cup"
    if tok in _REL_CHARS:
        return _REL_CHARS[tok]
    if tok in ("<=", ">=", "!="):
        return tok
    if tok.startswith("\\") and tok[1:] in _REL_CMDS:
        return _REL_CMDS[tok[1:]]
    return None


def _split(text: str, cuts: list[tuple[int, int, str]]) -> list[str]:
    parts, start = [], 0
    for s, e, _ in cuts:
        parts.append(text[start:s].strip())
        start = e
    parts.append(text[start:].strip())
    return parts


# ---------------------------------------------------------------------------- parsing

_IN_PREFIX = re.compile(r"^[A-Za-z]\s*\\in\s*")
_AND_OR = re.compile(r"\s*(?<![A-Za-z\\])(?:and|or)(?![A-Za-z])\s*")
_PM = re.compile(r"\\pm(?![A-Za-z])|±")
_MATRIX = re.compile(r"\\begin\{([pbBvV]?matrix)\}(.*)\\end\{\1\}", re.DOTALL)
_ARRAY = re.compile(r"[\[(]?\s*\\begin\{array\}\s*\{[^{}]*\}(.*)\\end\{array\}\s*[\])]?", re.DOTALL)
_SET_BUILDER = re.compile(r"\\\{\s*[A-Za-z]\s*(?:\\mid|\||:)\s*(.+)\\\}", re.DOTALL)
_REALS = re.compile(r"\\mathbb\s*\{?\s*R\s*\}?|ℝ|\\R(?![A-Za-z])|all real numbers")
_UNICODE = (
    ("∞", "\\infty"),
    ("π", "\\pi"),
    ("√", "\\sqrt"),
    ("∪", "\\cup"),
    ("·", "\\cdot"),
    ("×", "\\times"),
    ("≤", "\\le "),
    ("≥", "\\ge "),
    ("≠", "\\ne "),
)
_FLIP = {">": "<", ">=": "<="}
_ABS = re.compile(r"\|\s*[A-Za-z]\s*\|")


def parse_structure(text: str) -> Node:
    """A normalised answer as a tree; plain expressions are a ``Leaf``."""
    for a, b in _UNICODE:
        text = text.replace(a, b)
    text = _AND_OR.sub(", ", text.strip())  # "6 and 8", "21, 16 or 11": lists
    text = _REALS.sub(lambda _: "(-\\infty, \\infty)", text)
    builder = _SET_BUILDER.fullmatch(text)
    if builder is not None:  # {x | x > 3} is x > 3
        text = builder.group(1)
    return _parse(_IN_PREFIX.sub("", text.strip()))


def _parse(text: str) -> Node:
    scan = _scan(text)
    kinds = [k for _, _, k in scan.tokens]
    if "cup" in kinds:
        cuts = [t for t in scan.tokens if t[2] == "cup"]
        return Bag("union", tuple(_parse(p) for p in _split(text, cuts)))
    if ";" in kinds:  # p=5,q=2; p=7,q=2: groups of a list (or, alone, a list)
        cuts = [t for t in scan.tokens if t[2] == ";"]
        return Bag("list", tuple(_parse(p) for p in _split(text, cuts)))
    if "," in kinds:
        cuts = [t for t in scan.tokens if t[2] == ","]
        return Bag("list", tuple(_parse(p) for p in _split(text, cuts)))
    rels = [t for t in scan.tokens if t[2] in ("=", "!=", "<", "<=", ">", ">=")]
    if rels:
        return _relation(text, rels)
    m = _MATRIX.fullmatch(text)
    if m is not None:
        return _matrix(m.group(2))
    m = _ARRAY.fullmatch(text)
    if m is not None:
        return _matrix(m.group(1))
    pm = _plus_minus(text)
    if pm is not None:
        return pm
    if scan.wrapped is not None:
        opener, closer = scan.wrapped
        inner = text[len(opener) : len(text) - len(closer)].strip()
        if opener == "\\{" and closer == "\\}":
            node = _parse(inner)
            return Bag(
                "set", node.items if isinstance(node, Bag) and node.kind == "list" else (node,)
            )
        inner_scan = _scan(inner)
        commas = [t for t in inner_scan.tokens if t[2] in (",", ";")]
        if commas and opener in "([" and closer in ")]":
            return Seq(opener, closer, tuple(_parse(p) for p in _split(inner, commas)))
    return Leaf(text)


def _plus_minus(text: str) -> Node | None:
    """``a \\pm b`` is the list ``a + b, a - b`` (``\\pm 3`` is ``3, -3``): one ``\\pm``, at
    the top level."""
    found = list(_PM.finditer(text))
    if (
        len(found) != 1
        or _scan(text[: found[0].start()]).depth
        or "(" in text[found[0].end() :][:1]
    ):
        return None
    head, tail = text[: found[0].start()].strip(), text[found[0].end() :].strip()
    if not tail or _scan(tail).tokens:
        return None
    if not head:
        return Bag("list", (Leaf(tail), Leaf(f"-{tail}")))
    return Bag("list", (Leaf(f"{head}+{tail}"), Leaf(f"{head}-{tail}")))


def _relation(text: str, rels: list[tuple[int, int, str]]) -> Node:
    parts = _split(text, rels)
    ops = [k for _, _, k in rels]
    if len(ops) == 1:
        lhs, rhs = _parse(parts[0]), _parse(parts[1])
        if ops[0] in _FLIP:
            return Rel(_FLIP[ops[0]], rhs, lhs)
        return Rel(ops[0], lhs, rhs)
    if len(ops) == 2 and _ABS.fullmatch(parts[1].strip()) and all(o in ("<", "<=") for o in ops):
        # a <= |z| <= b is [-b, -a] u [a, b]
        lo, hi = parts[0].strip(), parts[2].strip()
        left, right = "(" if ops[0] == "<" else "[", ")" if ops[1] == "<" else "]"
        mirror = {"(": ")", "[": "]", ")": "(", "]": "["}
        return Bag(
            "union",
            (
                Seq(mirror[right], mirror[left], (Leaf(f"-({hi})"), Leaf(f"-({lo})"))),
                Seq(left, right, (_parse(lo), _parse(hi))),
            ),
        )
    if len(ops) == 2 and is_label(Leaf(parts[1])):
        # a < x <= b is the interval (a, b]; written downwards, it is flipped
        if all(o in ("<", "<=") for o in ops):
            lo, hi = parts[0], parts[2]
        elif all(o in (">", ">=") for o in ops):
            lo, hi, ops = parts[2], parts[0], [_FLIP[o] for o in reversed(ops)]
        else:
            return Leaf(text)
        return Seq(
            "(" if ops[0] == "<" else "[", ")" if ops[1] == "<" else "]", (_parse(lo), _parse(hi))
        )
    return Leaf(text)


def _matrix(body: str) -> Node:
    scan = _scan(body)
    rows: list[tuple[Node, ...]] = []
    start = 0
    cells: list[Node] = []
    for s, e, kind in scan.tokens:
        if kind in ("&", "\\\\"):
            cells.append(_parse(body[start:s].strip()))
            start = e
            if kind == "\\\\":
                rows.append(tuple(cells))
                cells = []
    last = body[start:].strip()
    if last or cells:
        cells.append(_parse(last))
        rows.append(tuple(cells))
    return Matrix(tuple(rows))


# ---------------------------------------------------------------------------- comparing


def compare(a: Node, b: Node, oracle: Oracle) -> bool | None:
    """Whether two trees are equal: True, False, or None when the oracle cannot tell."""
    if isinstance(a, Rel) != isinstance(b, Rel):
        return _relation_vs_value(a, b, oracle)
    if type(a) is not type(b):
        if isinstance(b, Seq) and (named := _in_order(a)) is not None:
            return compare(named, b, oracle)  # a = 4, b = 7 against (4, 7): in written order
        if isinstance(a, Seq) and (named := _in_order(b)) is not None:
            return compare(a, named, oracle)
        return False  # a tuple is not a set, a matrix not a number
    if isinstance(a, Leaf):
        assert isinstance(b, Leaf)
        return oracle.expr(a.text, b.text)
    if isinstance(a, Seq):
        assert isinstance(b, Seq)
        if (a.open, a.close) != (b.open, b.close) or len(a.items) != len(b.items):
            return False
        return _all(compare(x, y, oracle) for x, y in zip(a.items, b.items, strict=True))
    if isinstance(a, Matrix):
        assert isinstance(b, Matrix)
        if [len(r) for r in a.rows] != [len(r) for r in b.rows]:
            return False
        pairs = zip(_cells(a), _cells(b), strict=True)
        return _all(compare(x, y, oracle) for x, y in pairs)
    if isinstance(a, Bag):
        assert isinstance(b, Bag)
        if (a.kind == "union") != (b.kind == "union"):
            ua, ub = _as_union(a), _as_union(b)  # "x < 0 or x > 1" is a union
            if ua is None or ub is None:
                return False
            a, b = ua, ub
        ordered = _by_labels(a, b)
        if ordered is not None:  # k = 45, n = 2 against 2, 45: the labels fix the order
            return compare(*ordered, oracle)
        return _match(_unique(a.items), _unique(b.items), oracle)
    assert isinstance(a, Rel) and isinstance(b, Rel)
    if (a.op in ("=", "!=")) != (b.op in ("=", "!=")) or (a.op == "=") != (b.op == "="):
        return False
    if a.op != b.op:
        return False  # < against <=: open and closed ends differ
    return oracle.relation(a, b)


def _cells(m: Matrix) -> list[Node]:
    return [c for row in m.rows for c in row]


_LABEL = re.compile(
    r"(?:m\s*)?\\angle\s*[A-Za-z]{1,3}"  # \angle A, m\angle ABC
    r"|\|[^|]{1,20}\|"  # |v|, |AB|
    r"|\\frac\s*\{[A-Za-z]{1,3}\}\s*\{[A-Za-z]{1,3}\}"  # \frac{NO}{BO}
    r"|(?:[A-Za-z]{1,12}|\\[A-Za-z]+)(?:_\{?[A-Za-z0-9,]+\}?)?'*(?:\([^()=]{0,40}\))?"
)


def is_label(node: Node) -> bool:
    """Whether a side of ``=`` names the answer rather than being one: ``x``, ``AB``,
    ``\\theta``, ``a_1``, ``f(2)``, ``(x, y)``, ``V_1:V_2``."""
    if isinstance(node, Seq):
        return all(is_label(i) for i in node.items)
    if not isinstance(node, Leaf):
        return False
    parts = node.text.split(":")
    return all(_LABEL.fullmatch(p.strip()) is not None for p in parts)


def _interval(rel: Rel) -> Seq | None:
    """A one-variable inequality as an interval: ``x \\ge 2`` is ``[2, \\infty)``."""
    if rel.op not in ("<", "<="):
        return None
    closed = rel.op == "<="
    if isinstance(rel.lhs, Leaf) and re.fullmatch(r"[A-Za-z]", rel.lhs.text):  # x < b
        return Seq("(", "]" if closed else ")", (Leaf("-\\infty"), rel.rhs))
    if isinstance(rel.rhs, Leaf) and re.fullmatch(r"[A-Za-z]", rel.rhs.text):  # a < x
        return Seq("[" if closed else "(", ")", (rel.lhs, Leaf("\\infty")))
    return None


def _intervals(rel: Rel) -> tuple[Node, ...] | None:
    """A one-variable inequality as intervals: ``x \\ne 2`` is two of them."""
    if rel.op == "!=":
        for var, at in ((rel.lhs, rel.rhs), (rel.rhs, rel.lhs)):
            if isinstance(var, Leaf) and re.fullmatch(r"[A-Za-z]", var.text):
                return (Seq("(", ")", (Leaf("-\\infty"), at)), Seq("(", ")", (at, Leaf("\\infty"))))
        return None
    one = _interval(rel)
    return None if one is None else (one,)


def _as_union(node: Node) -> Bag | None:
    """A union, or a list of one-variable inequalities read as one, or an inequality."""
    if isinstance(node, Bag) and node.kind == "union":
        return node
    items = node.items if isinstance(node, Bag) and node.kind == "list" else (node,)
    out: list[Node] = []
    for item in items:
        if isinstance(item, Seq):
            out.append(item)
            continue
        got = _intervals(item) if isinstance(item, Rel) else None
        if got is None:
            return None
        out.extend(got)
    return Bag("union", tuple(out))


def _labelled(node: Node) -> dict[str, Node] | None:
    """``p = 3, q = 2`` as ``{p: 3, q: 2}``; None unless every item is ``label = value``."""
    if not (isinstance(node, Bag) and node.kind == "list"):
        return None
    out: dict[str, Node] = {}
    for item in node.items:
        if not (isinstance(item, Rel) and item.op == "=" and isinstance(item.lhs, Leaf)):
            return None
        if not is_label(item.lhs) or is_label(item.rhs):
            return None
        out["".join(item.lhs.text.split())] = item.rhs
    return out


def _by_labels(a: Bag, b: Bag) -> tuple[Node, Node] | None:
    """A list of distinct labels against a bare list: both as tuples, in written order."""
    if a.kind != "list" or b.kind != "list":
        return None
    for labelled, bare in ((a, b), (b, a)):
        named = _in_order(labelled)
        if named is not None and not any(isinstance(i, Rel) for i in bare.items):
            mine = Seq("(", ")", bare.items)
            return (named, mine) if labelled is a else (mine, named)
    return None


def _in_order(node: Node) -> Seq | None:
    named = _labelled(node)
    return None if named is None or len(named) < 2 else Seq("(", ")", tuple(named.values()))


def _relation_vs_value(a: Node, b: Node, oracle: Oracle) -> bool | None:
    """A relation against a value: ``y = 2x + 1`` or ``f(2) = 5`` against the value (the
    side that is not a label counts), ``x > 3`` against the interval ``(3, \\infty)``.
    ``a`` is the answer's side, ``b`` the reference's, in every call."""
    answer_side = isinstance(a, Rel)
    rel, other = (a, b) if answer_side else (b, a)
    assert isinstance(rel, Rel)
    if rel.op != "=":
        union = _as_union(rel)
        if union is None or not isinstance(other, Seq | Bag):
            return False
        mine: Node = union.items[0] if isinstance(other, Seq) and len(union.items) == 1 else union
        return compare(mine, other, oracle) if answer_side else compare(other, mine, oracle)
    named = _labelled(other)
    if named is not None and isinstance(rel.lhs, Seq) and is_label(rel.lhs):
        # (p, q) = (3, 2) against p = 3, q = 2: the labels put the values in order
        order = ["".join(i.text.split()) for i in rel.lhs.items if isinstance(i, Leaf)]
        if sorted(order) != sorted(named):
            return False
        mine = Seq(rel.lhs.open, rel.lhs.close, tuple(named[k] for k in order))
        return compare(mine, rel.rhs, oracle) if not answer_side else compare(rel.rhs, mine, oracle)
    for label, value in ((rel.lhs, rel.rhs), (rel.rhs, rel.lhs)):
        if is_label(label) and not is_label(value):
            return compare(value, other, oracle) if answer_side else compare(other, value, oracle)
    return False


def _all(verdicts: Iterable[bool | None]) -> bool | None:
    unknown = False
    for v in verdicts:
        if v is False:
            return False
        if v is None:
            unknown = True
    return None if unknown else True


def _unique(items: tuple[Node, ...]) -> list[Node]:
    seen: dict[Node, None] = {}
    for item in items:
        seen.setdefault(_stripped(item), None)
    return list(seen)


def _stripped(node: Node) -> Node:
    return Leaf("".join(node.text.split())) if isinstance(node, Leaf) else node


def _match(xs: list[Node], ys: list[Node], oracle: Oracle) -> bool | None:
    """Order-free equality: a perfect matching of equal elements (three-valued)."""
    if len(xs) != len(ys):
        return False
    if len(xs) > _MAX_ITEMS:
        return xs == ys or None
    table = [[compare(x, y, oracle) for y in ys] for x in xs]
    if _perfect(table, lambda v: v is True):
        return True
    if not _perfect(table, lambda v: v is not False):
        return False
    return None


def _perfect(table: list[list[bool | None]], ok: Callable[[bool | None], bool]) -> bool:
    """Kuhn's augmenting paths: can every row be matched to its own column?"""
    n = len(table)
    owner: list[int] = [-1] * n

    def augment(i: int, seen: list[bool]) -> bool:
        for j in range(n):
            if ok(table[i][j]) and not seen[j]:
                seen[j] = True
                if owner[j] < 0 or augment(owner[j], seen):
                    owner[j] = i
                    return True
        return False

    return all(augment(i, [False] * n) for i in range(n))


# ---------------------------------------------------------------------------- cheap oracle

_CHOICE = re.compile(r"\(?([A-Ea-e])\)?")
_WORDS = re.compile(r"[A-Za-z]{2,}(?:\s+[A-Za-z]+)*")
_MATHISH = re.compile(r"[A-Za-z0-9\s\\{}()\[\]^_+\-*/=<>.,!|&':]*")
_PLAIN_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")


class CheapOracle:
    """Tiers 1 and 2 on leaves: text equality and exact rationals; never algebra."""

    def __init__(self, rel_tol: float = 0.0) -> None:
        self.rel_tol = rel_tol

    def expr(self, a: str, b: str) -> bool | None:
        if plain(a) == plain(b):
            return True
        (a, unit_a), (b, unit_b) = split_unit(a), split_unit(b)  # d = 5 cm against 5
        if unit_a and unit_b and unit_dimension(unit_a) != unit_dimension(unit_b):
            return False
        verdict = numbers_equal(a, b, self.rel_tol)
        if verdict is not None:
            return verdict
        va, vb = evaluate(a), evaluate(b)
        if va is not None and vb is not None:  # arithmetic on numbers, exactly
            ref = parse_number(b)
            return within_precision(
                Number(va), Number(vb, ref.places if ref else None), self.rel_tol
            )
        ca, cb = _CHOICE.fullmatch(a.strip()), _CHOICE.fullmatch(b.strip())
        if ca and cb:  # multiple-choice letters, (B) or b: nothing for sympy to add
            return ca.group(1).upper() == cb.group(1).upper()
        if _WORDS.fullmatch(a.strip()) and _WORDS.fullmatch(b.strip()):
            return a.strip().casefold() == b.strip().casefold()  # "Yes" is "yes"
        if not symbolic_candidate(a) or not symbolic_candidate(b):
            return False
        return None

    def relation(self, a: Rel, b: Rel) -> bool | None:
        if a.op == "=" and _lone(a.lhs) and _lone(b.lhs) and plain(a.lhs.text) == plain(b.lhs.text):
            # y = f against y = g: the same equation exactly when f = g
            return compare(a.rhs, b.rhs, self)
        same = _all((compare(a.lhs, b.lhs, self), compare(a.rhs, b.rhs, self)))
        if same is True or a.op not in ("=", "!="):
            return same or None
        return _all((compare(a.lhs, b.rhs, self), compare(a.rhs, b.lhs, self))) or None


def _lone(node: Node) -> TypeGuard[Leaf]:
    """A lone variable (``y``), which the other side of its equation cannot hold."""
    return isinstance(node, Leaf) and re.fullmatch(r"\s*[A-Za-z]\s*", node.text) is not None


def symbolic_candidate(s: str) -> bool:
    """Whether sympy could read ``s`` as something other than it reads: not a word, ASCII math."""
    return _MATHISH.fullmatch(s) is not None and _WORDS.fullmatch(s.strip()) is None


def numbers_equal(a: str, b: str, rel_tol: float = 0.0) -> bool | None:
    """Both sides plain numbers: the answer ``a`` against the reference ``b`` by the
    tolerance rule (``answer_text.within_precision``); else None.

    Numbers of any length compare exactly and in linear time (``Decimal``, never ``int``),
    so a 5,000-digit answer differing in its last digit is wrong.
    """
    na, nb = parse_number(a), parse_number(b)
    if na is not None and nb is not None:
        return within_precision(na, nb, rel_tol)
    pa, pb = plain(a), plain(b)
    if _PLAIN_DECIMAL.fullmatch(pa) is None or _PLAIN_DECIMAL.fullmatch(pb) is None:
        return None
    da, db = Decimal(pa), Decimal(pb)
    if da == db:
        return True
    places = len(pb.split(".", 1)[1]) if "." in pb else None
    with localcontext() as ctx:
        ctx.prec = len(pa) + len(pb) + 10
        diff = abs(da - db)
        if places is not None and diff * 2 < Decimal(10) ** -places:
            return True
        return rel_tol > 0 and diff <= Decimal(rel_tol) * max(abs(da), abs(db))
