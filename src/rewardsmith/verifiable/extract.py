"""Pulling the answer out of a completion: the last ``<answer>`` block."""

from __future__ import annotations

import re

__all__ = ["last_tag_block"]

_BLOCKS: dict[str, re.Pattern[str]] = {}


def last_tag_block(text: str, tag: str = "answer") -> str | None:
    """The content of the last ``<tag>...</tag>`` block, stripped; None if there is none."""
    pattern = _BLOCKS.get(tag)
    if pattern is None:
        pattern = _BLOCKS[tag] = re.compile(rf"<{tag}>(.*?)</{tag}>", re.DOTALL)
    found = None
    for found in pattern.finditer(text):  # noqa: B007 - we want the last match
        pass
    return None if found is None else found.group(1).strip()
