"""Reading the numbers a shaping reward takes from ``Sample.meta``, with clear errors.

Each reader raises ``InputError`` naming the key and what was expected, so a missing or
malformed input becomes an item error (value None), never a made-up 0.
"""

from __future__ import annotations

import math
from typing import Any

from rewardsmith.core import Sample
from rewardsmith.errors import InputError

__all__ = ["meta_correct", "meta_number", "meta_numbers", "usable_weights"]


def usable_weights(w: list[float] | None) -> list[float] | None:
    """A weights parameter: None, or finite non-negative numbers not all 0 (ValueError)."""
    if w is not None and (not w or any(not 0 <= x < math.inf for x in w) or sum(w) <= 0):
        raise ValueError("weights must be finite, non-negative and not all 0")
    return w


def _is_number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def meta_number(sample: Sample, key: str, lo: float = 0.0, hi: float = 1.0) -> float:
    """``meta[key]`` as a finite float in ``[lo, hi]``; InputError otherwise."""
    raw: Any = sample.meta.get(key)
    if not _is_number(raw) or not lo <= raw <= hi:
        raise InputError(
            f"needs Sample.meta[{key!r}], a number in [{lo:g}, {hi:g}], got {raw!r:.40}"
        )
    return float(raw)


def meta_numbers(sample: Sample, key: str, lo: float = 0.0, hi: float = 1.0) -> list[float]:
    """``meta[key]`` as a non-empty list of finite floats in ``[lo, hi]``; InputError otherwise."""
    raw: Any = sample.meta.get(key)
    if not isinstance(raw, list | tuple) or not raw:
        raise InputError(
            f"needs Sample.meta[{key!r}], a non-empty list of numbers in [{lo:g}, {hi:g}]"
        )
    for i, x in enumerate(raw):
        if not _is_number(x) or not lo <= x <= hi:
            raise InputError(f"{key}[{i}] must be a number in [{lo:g}, {hi:g}], got {x!r:.40}")
    return [float(x) for x in raw]


def meta_correct(sample: Sample, key: str) -> bool:
    """``meta[key]`` as a verdict: a bool, or the number 0 or 1; InputError otherwise."""
    raw: Any = sample.meta.get(key)
    if isinstance(raw, bool):
        return raw
    if _is_number(raw) and raw in (0, 1):
        return bool(raw)
    raise InputError(f"needs Sample.meta[{key!r}], a bool (or 0/1) verdict, got {raw!r:.40}")
