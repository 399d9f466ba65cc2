"""Pointwise transforms for ``shape`` nodes: affine, clamp, sigmoid, threshold.

A transform maps each child value to a new value (None, an item that could not be
scored, stays None) and says what range comes out for a given child range, so a
``shape`` node's declared range stays true. These four look at one value at a time; the
batch and group transforms are in ``normalize`` (z-score, min-max, rank), ``par``
(Preference As Reward) and ``noise`` (reward noise for robustness studies).

- ``transform.affine``: ``v * scale + offset``.
- ``transform.clamp``: ``v`` limited to ``[low, high]``.
- ``transform.sigmoid``: ``1 / (1 + exp(-(v - center) / temperature))``, in (0, 1),
  computed so that a huge ``|v|`` neither overflows nor warns.
- ``transform.threshold``: 1 if ``v >= at``, else 0.

In a spec::

    shape:
      transform: {use: transform.clamp, with: {low: -1, high: 1}}
      reward: {use: math.answer}

Papers: none; these are the generic building blocks of reward shaping.

Known failure modes: ``threshold`` turns a dense reward into a sparse one, and
``sigmoid`` with a small temperature does too; ``clamp`` hides how far past a bound a value
went (its parts still show the child's raw value). NaN in, NaN out: rewards should not
produce NaN, and a transform does not hide it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from pydantic import Field, ValidationInfo, field_validator

from rewardsmith.core import Paper, Params, Sample, register

__all__ = [
    "GENERIC",
    "Affine",
    "AffineParams",
    "Clamp",
    "ClampParams",
    "Sigmoid",
    "SigmoidParams",
    "Threshold",
    "ThresholdParams",
    "sigmoid",
]

GENERIC = Paper("Generic transform")
Range = tuple[float, float]


def sigmoid(z: float) -> float:
    """The logistic function, without overflow for any float ``z``."""
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)  # z < 0, so e <= 1: no overflow
    return e / (1.0 + e)


class _Pointwise:
    """A transform that maps each value on its own; subclasses define ``one``."""

    name = ""

    def apply(
        self, values: Sequence[float | None], samples: Sequence[Sample]
    ) -> list[float | None]:
        return [None if v is None else self.one(v) for v in values]

    def one(self, v: float) -> float:
        raise NotImplementedError

    def out_range(self, child: Range) -> Range:
        # every transform here is monotone, so the ends map to the ends
        a, b = self.one(child[0]), self.one(child[1])
        return (min(a, b), max(a, b))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({getattr(self, 'params', '')!r})"


class AffineParams(Params):
    scale: float = Field(default=1.0, allow_inf_nan=False)
    offset: float = Field(default=0.0, allow_inf_nan=False)


@register(kind="transform", paper=GENERIC, summary="v * scale + offset")
class Affine(_Pointwise):
    name = "transform.affine"

    def __init__(self, params: AffineParams) -> None:
        self.params = params

    def one(self, v: float) -> float:
        return v * self.params.scale + self.params.offset

    def out_range(self, child: Range) -> Range:
        if self.params.scale == 0:  # 0 * inf is nan; the output is the offset alone
            return (self.params.offset, self.params.offset)
        return super().out_range(child)


class ClampParams(Params):
    low: float = Field(allow_inf_nan=False)
    high: float = Field(allow_inf_nan=False)

    @field_validator("high")
    @classmethod
    def _not_below_low(cls, v: float, info: ValidationInfo) -> float:
        low = info.data.get("low")
        if low is not None and v < low:
            raise ValueError(f"high must be at least low ({low})")
        return v


@register(kind="transform", paper=GENERIC, summary="v limited to [low, high]")
class Clamp(_Pointwise):
    name = "transform.clamp"

    def __init__(self, params: ClampParams) -> None:
        self.params = params

    def one(self, v: float) -> float:
        return min(max(v, self.params.low), self.params.high)


class SigmoidParams(Params):
    center: float = Field(default=0.0, allow_inf_nan=False)
    temperature: float = Field(default=1.0, gt=0, allow_inf_nan=False)


@register(kind="transform", paper=GENERIC, summary="1 / (1 + exp(-(v - center) / temperature))")
class Sigmoid(_Pointwise):
    name = "transform.sigmoid"

    def __init__(self, params: SigmoidParams) -> None:
        self.params = params

    def one(self, v: float) -> float:
        return sigmoid((v - self.params.center) / self.params.temperature)


class ThresholdParams(Params):
    at: float = Field(default=0.5, allow_inf_nan=False)


@register(kind="transform", paper=GENERIC, summary="1 if v >= at, else 0")
class Threshold(_Pointwise):
    name = "transform.threshold"

    def __init__(self, params: ThresholdParams) -> None:
        self.params = params

    def one(self, v: float) -> float:
        if math.isnan(v):
            return v
        return 1.0 if v >= self.params.at else 0.0
