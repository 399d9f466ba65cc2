"""Pulling the predicted SQL out of a completion.

The order is: the last complete fenced block opened with ```` ```sql ```` (any case, an
info string such as ``sqlite`` allowed), else the last ``<answer>`` block, else the whole
completion. Empty text means there is no SQL.
"""

from __future__ import annotations

from rewardsmith.verifiable.extract import last_tag_block

__all__ = ["last_sql_fence", "predicted_sql"]

_OPEN = "```sql"
_FENCE = "```"


def last_sql_fence(text: str) -> str | None:
    """The content of the last closed ```` ```sql ```` block, or None.

    Linear time: openers are visited from the end and each search for a closing fence
    only looks between one opener and the next, so no byte is scanned twice.
    """
    lower = text.lower()
    limit = len(text)
    start = lower.rfind(_OPEN)
    while start >= 0:
        body = start + len(_OPEN)
        end = text.find(_FENCE, body, limit)
        if end >= 0:
            return _drop_info_string(text[body:end])
        limit = start  # this opener is unclosed; an earlier block must close before it
        start = lower.rfind(_OPEN, 0, start)
    return None


def _drop_info_string(block: str) -> str:
    """``ite\\nSELECT ...`` (from ```` ```sqlite ````) becomes ``SELECT ...``."""
    newline = block.find("\n")
    if newline >= 0:
        head = block[:newline]
        if not head.strip() or head.replace("-", "").replace("_", "").isalnum():
            return block[newline + 1 :]
    return block


def predicted_sql(text: str) -> str | None:
    """The SQL a completion proposes, stripped, or None when there is none.

    Example:
        >>> predicted_sql("Plan...\\n```sql\\nSELECT 1;\\n```")
        'SELECT 1;'
        >>> predicted_sql("<answer>SELECT 2</answer>")
        'SELECT 2'
    """
    sql = last_sql_fence(text)
    if sql is None:
        sql = last_tag_block(text)
    if sql is None:
        sql = text
    sql = sql.strip()
    return sql or None
