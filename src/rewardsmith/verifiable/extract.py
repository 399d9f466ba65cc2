"""Pulling the answer out of a completion: the last ``<answer>`` block."""

from __future__ import annotations

__all__ = ["last_tag_block"]


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
