"""Plain values out of the sandbox, and the comparisons that decide a test.

The harness encodes results by exact type; ``decode`` turns them back into plain
Python values here, outside the program's reach, so every comparison below runs on
``int``, ``str``, ``list``... whose ``==`` the program cannot change. The runner caps
the bytes of a record before it is decoded, and ``decode`` caps the nesting depth.
"""

from __future__ import annotations

import math
import re
import reprlib
from typing import Any

__all__ = ["brief", "decode", "same_output", "same_value"]

_MAX_DEPTH = 256


def decode(node: Any, depth: int = 0) -> Any:
    """The plain value an encoded node stands for. Raises ValueError on a bad node."""
    if depth > _MAX_DEPTH:
        raise ValueError("encoded value nested too deep")
    if not isinstance(node, list) or not node or not isinstance(node[0], str):
        raise ValueError(f"bad encoded value: {brief(node, 80)}")
    tag, rest = node[0], node[1:]
    if tag == "N":
        return None
    body = rest[0]
    match tag:
        case "B":
            return bool(body)
        case "I":
            return int(body, 16)
        case "F":
            return float(body)
        case "S":
            return str(body)
        case "Y":
            return bytes.fromhex(body)
        case "C":
            return complex(float(body[0]), float(body[1]))
        case "L":
            return [decode(v, depth + 1) for v in body]
        case "T":
            return tuple(decode(v, depth + 1) for v in body)
        case "E":
            return {decode(v, depth + 1) for v in body}
        case "Z":
            return frozenset(decode(v, depth + 1) for v in body)
        case "D":
            return {decode(k, depth + 1): decode(v, depth + 1) for k, v in body}
    raise ValueError(f"bad encoded value tag {tag!r}")


class _Brief(reprlib.Repr):
    def repr_int(self, x: int, level: int) -> str:
        if x.bit_length() > 4000:  # no decimal conversion of a huge int (quadratic)
            return f"<int of {x.bit_length()} bits>"
        return super().repr_int(x, level)


_BRIEF = _Brief()
_BRIEF.maxstring = _BRIEF.maxother = 120
_BRIEF.maxlong = 120


def brief(value: Any, limit: int = 120) -> str:
    """A short repr of a plain value, at most ``limit`` characters, in bounded time."""
    text = _BRIEF.repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def same_value(got: Any, expected: Any, tol: float = 1e-6) -> bool:
    """Strict equality of a returned value and an expected one (from JSON test data).

    Booleans equal only booleans; numbers compare as numbers, floats within ``tol``
    (relative or absolute); lists and tuples are both sequences (JSON has no tuples);
    a set matches a list of the same distinct items; dict keys must match exactly.
    """
    if isinstance(got, bool) or isinstance(expected, bool):
        return type(got) is bool and type(expected) is bool and got == expected
    if isinstance(got, int | float) and isinstance(expected, int | float):
        if isinstance(got, float) or isinstance(expected, float):
            return math.isclose(got, expected, rel_tol=tol, abs_tol=tol)
        return got == expected
    if isinstance(got, list | tuple) and isinstance(expected, list | tuple):
        return len(got) == len(expected) and all(
            same_value(g, e, tol) for g, e in zip(got, expected, strict=True)
        )
    if isinstance(got, set | frozenset) and isinstance(expected, list | tuple | set | frozenset):
        try:
            return got == set(expected)
        except TypeError:
            return False
    if isinstance(got, dict) and isinstance(expected, dict):
        return got.keys() == expected.keys() and all(
            same_value(got[k], expected[k], tol) for k in got
        )
    return type(got) is type(expected) and got == expected


_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


def _lines(text: str) -> list[str]:
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def _tokens_match(got: str, expected: str, tol: float) -> bool:
    a, b = got.split(), expected.split()
    if len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=True):
        if x == y:
            continue
        if not (_NUMBER.fullmatch(x) and _NUMBER.fullmatch(y)):
            return False
        if not math.isclose(float(x), float(y), rel_tol=tol, abs_tol=tol):
            return False
    return True


def same_output(got: str, expected: str, tol: float = 1e-6) -> bool:
    """Whether a program's stdout matches the expected output, tolerating whitespace.

    Trailing spaces, CRLF and trailing blank lines never matter; failing that, the two
    match when their whitespace-separated tokens agree, numbers within ``tol``.
    """
    if _lines(got) == _lines(expected):
        return True
    return _tokens_match(got, expected, tol)
