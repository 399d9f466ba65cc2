"""Running totals over scored items, for the summary table and ``--json``."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from rewardsmith.core import Score, Status

__all__ = ["Summary", "error_label"]


def error_label(score: Score) -> str | None:
    """What failed, for counting: the error's type, with the judge's template when a judge
    failed (``ParseError (master_rm@2)``: the parse-failure rate per judge); None when the
    item has no error."""
    if score.error is None:
        return None
    judge = score.info.get("judge") if isinstance(score.info, dict) else None
    return f"{score.error.type} ({judge})" if isinstance(judge, str) else score.error.type


@dataclass
class Summary:
    """Counts and means, updated chunk by chunk in constant memory."""

    items: int = 0
    scored: int = 0
    value_sum: float = 0.0
    positive: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    part_sums: dict[str, float] = field(default_factory=dict)
    part_counts: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    """Items per ``error_label``."""
    started: float = field(default_factory=time.perf_counter)
    elapsed: float = 0.0

    def update(self, scores: Iterable[Score]) -> None:
        for s in scores:
            self.items += 1
            self.statuses[str(s.status)] += 1
            if s.value is not None:
                self.scored += 1
                self.value_sum += s.value
                self.positive += s.value > 0
            for k, v in s.parts.items():
                self.part_sums[k] = self.part_sums.get(k, 0.0) + v
                self.part_counts[k] += 1
            label = error_label(s)
            if label is not None:
                self.errors[label] += 1
        self.elapsed = time.perf_counter() - self.started

    def merge(self, other: Summary) -> None:
        """Add another summary's counts (from a worker) to this one."""
        self.items += other.items
        self.scored += other.scored
        self.value_sum += other.value_sum
        self.positive += other.positive
        self.statuses.update(other.statuses)
        for k, v in other.part_sums.items():
            self.part_sums[k] = self.part_sums.get(k, 0.0) + v
        self.part_counts.update(other.part_counts)
        self.errors.update(other.errors)
        self.elapsed = time.perf_counter() - self.started

    @property
    def errored(self) -> int:
        return self.statuses[str(Status.ERROR)]

    def as_dict(self) -> dict[str, Any]:
        return {
            "items": self.items,
            "scored": self.scored,
            "mean": self.value_sum / self.scored if self.scored else None,
            "share_positive": self.positive / self.scored if self.scored else None,
            "parts": {k: self.part_sums[k] / self.part_counts[k] for k in sorted(self.part_sums)},
            "status": {s.value: self.statuses[s.value] for s in Status},
            "errors": dict(sorted(self.errors.items())),
            "seconds": round(self.elapsed, 3),
            "items_per_s": round(self.items / self.elapsed, 1) if self.elapsed > 0 else None,
        }
