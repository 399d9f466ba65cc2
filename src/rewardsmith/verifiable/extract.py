"""Pulling the answer out of a completion: the last ``<answer>`` block, or the reasoning and
the answer on either side of the first answer marker (DRM's split, ``process.confidence``,
``process.relevance`` and ``rm.score``'s ``input: reasoning``)."""

from __future__ import annotations

import re

__all__ = ["answer_span", "last_tag_block", "reasoning_before", "split_answer"]

_THINK_TAG = re.compile(r"</?think>", re.I)


def last_tag_block(text: str, tag: str = "answer") -> str | None:
    """The content of the last complete ``<tag>...</tag>`` block (not stripped), or None.

    Linear time: the last closing tag, then the nearest opening tag before it. A regex
    scan for every block is quadratic on a completion full of unclosed openers.
    """
    close = text.rfind(f"</{tag}>")
    if close < 0:
        return None
    start = text.rfind(f"<{tag}>", 0, close)
    return None if start < 0 else text[start + len(tag) + 2 : close]


def answer_span(text: str, start: str, end: str = "") -> tuple[int, int] | None:
    """The answer's characters ``[at, stop)``: from ``start``'s first occurrence to the end
    of the first ``end`` after it (or of ``text``); None without ``start``."""
    at = text.find(start)
    if at < 0:
        return None
    close = text.find(end, at + len(start)) if end else -1
    return at, (close + len(end) if close >= 0 else len(text))


def reasoning_before(text: str, start: str = "<answer>") -> str:
    """The text before ``start``'s first occurrence (all of it without one), with
    ``<think>`` and ``</think>`` tags dropped and the ends stripped."""
    at = text.find(start) if start else -1
    return _THINK_TAG.sub("", text if at < 0 else text[:at]).strip()


def split_answer(
    text: str, start: str = "<answer>", end: str = "</answer>"
) -> tuple[str, str] | None:
    """``(reasoning, answer)``: the reasoning as ``reasoning_before`` gives it, and the
    answer between the markers (to the end of ``text`` without ``end``), stripped; None
    without ``start``.

    Example:
        >>> split_answer("<think>2+3=5</think> <answer> 5 </answer>")
        ('2+3=5', '5')
    """
    span = answer_span(text, start, end)
    if span is None:
        return None
    at, stop = span
    body = text[at + len(start) : stop]
    if end and body.endswith(end):
        body = body[: -len(end)]
    return reasoning_before(text[:at], start), body.strip()
