r"""Exact arithmetic on answers made only of numbers: a cheap tier before sympy.

``evaluate`` reads a normalised answer built from integers and decimals with ``+``,
``-``, ``*``, ``/``, ``\cdot``, ``\times``, ``\div``, ``\frac{..}{..}``, brackets and
small integer powers, and returns its exact value as a ``Fraction``; anything else
(a letter, a command it does not know, a division by zero, a power too large) gives
None and the answer goes on to sympy. A 40-level continued fraction takes sympy about a
second; here it takes microseconds. One recursive-descent pass over at most
``MAX_CHARS`` characters, nesting capped at ``MAX_DEPTH``.

Example:
    >>> evaluate(r"1 + \frac{1}{1 + \frac{1}{2}}")
    Fraction(5, 3)
    >>> evaluate("2x") is None
    True
"""

from __future__ import annotations

from fractions import Fraction

import regex as re

__all__ = ["MAX_CHARS", "MAX_DEPTH", "evaluate"]

MAX_CHARS = 1000
MAX_DEPTH = 64
_MAX_POWER = 64  # |exponent|; and the base's digits times it stay small
_TOKEN = re.compile(
    r"\s*(?:([0-9]+(?:\.[0-9]+)?|\.[0-9]+)|(\\frac|\\cdot|\\times|\\div)|([-+*/^(){}\[\]]))"
)


class _Unreadable(Exception):
    pass


def _tokens(text: str) -> list[str]:
    out: list[str] = []
    at = 0
    text = text.rstrip()
    while at < len(text):
        m = _TOKEN.match(text, at, timeout=1.0)
        if m is None:
            raise _Unreadable
        out.append(m.group(m.lastindex or 0))
        at = m.end()
    return out


class _Parser:
    def __init__(self, tokens: list[str]) -> None:
        self.tokens = tokens
        self.at = 0
        self.depth = 0

    def peek(self) -> str | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if token is None or (expected is not None and token != expected):
            raise _Unreadable
        self.at += 1
        return token

    def expression(self) -> Fraction:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _Unreadable
        value = self.term()
        while self.peek() in ("+", "-"):
            value = value + self.term() if self.take() == "+" else value - self.term()
        self.depth -= 1
        return value

    def term(self) -> Fraction:
        value = self.factor()
        while self.peek() in ("*", "/", "\\cdot", "\\times", "\\div"):
            op = self.take()
            right = self.factor()
            if op in ("/", "\\div"):
                if right == 0:
                    raise _Unreadable
                value /= right
            else:
                value *= right
        return value

    def factor(self) -> Fraction:
        if self.peek() in ("+", "-"):
            return self.factor() if self.take() == "+" else -self.factor()
        base = self.atom()
        if self.peek() == "^":
            self.take()
            exponent = self.atom()
            if exponent.denominator != 1 or abs(exponent) > _MAX_POWER:
                raise _Unreadable
            if base == 0 and exponent < 0:
                raise _Unreadable
            if abs(base.numerator) > 10**6 or base.denominator > 10**6:
                raise _Unreadable
            base = base ** int(exponent)
        return base

    def atom(self) -> Fraction:
        token = self.take()
        if token == "\\frac":
            top, bottom = self.group(), self.group()
            if bottom == 0:
                raise _Unreadable
            return top / bottom
        if token in ("(", "[", "{"):
            closer = {"(": ")", "[": "]", "{": "}"}[token]
            value = self.expression()
            self.take(closer)
            return value
        if token[0].isdigit() or token[0] == ".":
            return Fraction(token)
        raise _Unreadable

    def group(self) -> Fraction:
        self.take("{")
        value = self.expression()
        self.take("}")
        return value


def evaluate(text: str) -> Fraction | None:
    """The exact value of an answer made only of numbers and arithmetic, or None."""
    if len(text) > MAX_CHARS or not text.strip():
        return None
    try:
        parser = _Parser(_tokens(text))
        value = parser.expression()
        if parser.peek() is not None:
            return None
        return value
    except (_Unreadable, ZeroDivisionError, OverflowError, ValueError):
        return None
