"""Prometheus metrics of one app (its own registry, so several apps never collide).

=========================================  =========  ===============================
name                                       type       labels
=========================================  =========  ===============================
rewardsmith_requests_total                 counter    endpoint, code
rewardsmith_request_seconds                histogram  endpoint
rewardsmith_items_total                    counter    endpoint, status
rewardsmith_item_errors_total              counter    endpoint, type (``error_label``: a judge's
                                                      parse failures as ``ParseError (template)``)
rewardsmith_batch_items                    histogram  endpoint
rewardsmith_score_seconds                  histogram  endpoint (time in the reward alone)
rewardsmith_groups_total                   counter    endpoint, spread (``zero``: every member
                                                      of the group got the same value; ``some``)
rewardsmith_in_flight                      gauge      (batches waiting or being scored)
rewardsmith_reward_value                   summary    (sum and count of scored values)
rewardsmith_part_value                     summary    part (sum and count per reward part)
=========================================  =========  ===============================

Per-item values are added up per batch and published by a custom collector, so a batch
of 256 costs a few dictionary updates, not 256 metric calls under a lock.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import Metric, SummaryMetricFamily
from prometheus_client.registry import Collector

from rewardsmith.core import Sample, Score
from rewardsmith.integrations.health import group_spread
from rewardsmith.rollouts.summary import error_label

__all__ = ["CONTENT_TYPE", "Metrics", "Tally"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
_ITEMS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096)


@dataclass(frozen=True)
class Tally:
    """What the metrics need of one scored batch: small, so a scoring process sends it back
    instead of the Scores."""

    statuses: dict[str, int]
    value_sum: float
    value_count: int
    parts: dict[str, tuple[float, int]]
    """Sum and count of each part's values."""
    seconds: float
    """Time in the reward."""
    step: int | None = None
    """The training step the batch named, if any."""
    errors: dict[str, int] = field(default_factory=dict)
    """Items per ``error_label``."""
    groups: tuple[int, int] = (0, 0)
    """Groups of two or more valued members, and how many had no spread (all equal)."""

    @classmethod
    def of(
        cls,
        scores: Sequence[Score],
        seconds: float,
        step: int | None = None,
        samples: Sequence[Sample] | None = None,
    ) -> Tally:
        # Comprehensions over the batch, one per part name: several times cheaper than a
        # loop that updates two dicts per item and part.
        values = [s.value for s in scores if s.value is not None]
        parts = [s.parts for s in scores]
        per_part = {}
        for name in set().union(*parts) if parts else ():
            found = [p[name] for p in parts if name in p]
            per_part[name] = (sum(found), len(found))
        statuses = collections.Counter([s.status.value for s in scores])
        errors = collections.Counter(
            label for s in scores if s.error is not None and (label := error_label(s))
        )
        groups = group_spread(samples, scores) if samples is not None else (0, 0)
        return cls(
            dict(statuses), sum(values), len(values), per_part, seconds, step, dict(errors), groups
        )

    @property
    def items(self) -> int:
        return sum(self.statuses.values())


class _Values(Collector):
    """Sums and counts of reward values, overall and per part."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sum = 0.0
        self._count = 0
        self._parts: dict[str, tuple[float, int]] = {}

    def add(self, tally: Tally) -> None:
        with self._lock:
            self._sum += tally.value_sum
            self._count += tally.value_count
            for name, (v, n) in tally.parts.items():
                old_sum, old_count = self._parts.get(name, (0.0, 0))
                self._parts[name] = (old_sum + v, old_count + n)

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            total, count, parts = self._sum, self._count, dict(self._parts)
        yield SummaryMetricFamily(
            "rewardsmith_reward_value", "Scored reward values", count_value=count, sum_value=total
        )
        family = SummaryMetricFamily(
            "rewardsmith_part_value", "Values of each reward part", labels=["part"]
        )
        for name, (v, n) in sorted(parts.items()):
            family.add_metric([name], count_value=n, sum_value=v)
        yield family


class Metrics:
    """The app's metrics and its registry."""

    def __init__(self, in_flight: Callable[[], float]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "rewardsmith_requests", "HTTP requests", ["endpoint", "code"], registry=r
        )
        self.latency = Histogram(
            "rewardsmith_request_seconds",
            "Request latency",
            ["endpoint"],
            buckets=_SECONDS,
            registry=r,
        )
        self.items = Counter(
            "rewardsmith_items", "Items scored, by status", ["endpoint", "status"], registry=r
        )
        self.errors = Counter(
            "rewardsmith_item_errors",
            "Items that failed, by error type (a judge's template in parentheses)",
            ["endpoint", "type"],
            registry=r,
        )
        self.batch = Histogram(
            "rewardsmith_batch_items", "Items per request", ["endpoint"], buckets=_ITEMS, registry=r
        )
        self.score_time = Histogram(
            "rewardsmith_score_seconds",
            "Time in the reward",
            ["endpoint"],
            buckets=_SECONDS,
            registry=r,
        )
        self.groups = Counter(
            "rewardsmith_groups",
            "Groups scored (two or more valued members), by reward spread: zero means every "
            "member got the same value, so GRPO advantages are all 0",
            ["endpoint", "spread"],
            registry=r,
        )
        gauge = Gauge("rewardsmith_in_flight", "Batches waiting or being scored", registry=r)
        gauge.set_function(in_flight)
        self.values = _Values()
        r.register(self.values)
        self._children: dict[tuple[int, tuple[str, ...]], Any] = {}

    def request(self, endpoint: str, code: int, seconds: float) -> None:
        self._child(self.requests, endpoint, str(code)).inc()
        self._child(self.latency, endpoint).observe(seconds)

    def scored(self, endpoint: str, tally: Tally) -> None:
        for status, n in tally.statuses.items():
            self._child(self.items, endpoint, status).inc(n)
        for label, n in tally.errors.items():
            self._child(self.errors, endpoint, label[:200]).inc(n)
        self._child(self.batch, endpoint).observe(tally.items)
        self._child(self.score_time, endpoint).observe(tally.seconds)
        groups, flat = tally.groups
        if groups:
            self._child(self.groups, endpoint, "zero").inc(flat)
            self._child(self.groups, endpoint, "some").inc(groups - flat)
        self.values.add(tally)

    def _child(self, metric: Any, *labels: str) -> Any:
        """``metric.labels(*labels)``, looked up once (``labels()`` takes a lock each call)."""
        key = (id(metric), labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    def render(self) -> bytes:
        return generate_latest(self.registry)
