"""Search trajectories in tests: the spans an honest environment reports."""

from __future__ import annotations


def info_spans(completion: str) -> list[list[int]]:
    """The ``[start, end)`` of every ``<information>`` block, as an environment that
    inserted each of them would report in ``meta["info_spans"]``."""
    spans, start = [], completion.find("<information>")
    while start >= 0:
        end = completion.find("</information>", start)
        if end < 0:
            break
        spans.append([start, end + len("</information>")])
        start = completion.find("<information>", end)
    return spans
