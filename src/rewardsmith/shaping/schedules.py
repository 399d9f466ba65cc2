"""Weights as functions of the training step, for ``schedule`` nodes.

Each schedule is a frozen pydantic model (so it validates in spec files and pickles),
chosen in a spec by ``kind``:

```yaml
schedule:
  reward: {use: length.cosine, with: {max_tokens: 4096}}
  weight: {kind: cosine, start: 1.0, end: 0.0, steps: 1000}
```

- ``constant``: ``value`` at every step.
- ``linear``: from ``start`` to ``end`` over ``steps``, then ``end``.
- ``cosine``: half-cosine from ``start`` to ``end`` over ``steps``, then ``end``.
- ``exponential``: ``start · exp(-step / tau)``, the annealing of SophiaVL-R1's thinking
  reward (arXiv 2505.17018, ``γ·exp(−step/T)`` with T = 500), floored at ``end``.
- ``piecewise``: ``values[i]`` from ``boundaries[i-1]`` (inclusive) on; ``values[0]``
  before the first boundary.
"""

from __future__ import annotations

import bisect
import math
from typing import Annotated, Literal

from pydantic import Field, TypeAdapter, model_validator

from rewardsmith.core import Params

__all__ = ["Constant", "Cosine", "Exponential", "Linear", "Piecewise", "Schedule", "parse_schedule"]


class Constant(Params):
    kind: Literal["constant"] = "constant"
    value: float = 1.0

    def __call__(self, step: int) -> float:
        return self.value

    def bounds(self) -> tuple[float, float]:
        return (self.value, self.value)


class _Ramp(Params):
    start: float = 1.0
    end: float = 0.0
    steps: int = Field(1000, gt=0)

    def progress(self, step: int) -> float:
        return min(max(step, 0), self.steps) / self.steps

    def bounds(self) -> tuple[float, float]:
        return (min(self.start, self.end), max(self.start, self.end))


class Linear(_Ramp):
    kind: Literal["linear"] = "linear"

    def __call__(self, step: int) -> float:
        return self.start + (self.end - self.start) * self.progress(step)


class Cosine(_Ramp):
    kind: Literal["cosine"] = "cosine"

    def __call__(self, step: int) -> float:
        return self.end + 0.5 * (self.start - self.end) * (
            1 + math.cos(math.pi * self.progress(step))
        )


class Exponential(Params):
    kind: Literal["exponential"] = "exponential"
    start: float = 1.0
    tau: float = Field(500.0, gt=0)
    end: float = 0.0

    def __call__(self, step: int) -> float:
        decayed = self.start * math.exp(-max(step, 0) / self.tau)
        return max(decayed, self.end) if self.start >= self.end else min(decayed, self.end)

    def bounds(self) -> tuple[float, float]:
        # the weight decays from start towards 0 and stops at end only where end lies on
        # that path on the side __call__ clips (start >= end: from above, else from below)
        if self.start >= self.end:
            limit = max(self.end, 0.0) if self.start >= 0 else 0.0
        else:
            limit = min(self.end, 0.0) if self.start < 0 else 0.0
        return (min(self.start, limit), max(self.start, limit))


class Piecewise(Params):
    kind: Literal["piecewise"] = "piecewise"
    boundaries: list[int]
    values: list[float]

    @model_validator(mode="after")
    def _check(self) -> Piecewise:
        if len(self.values) != len(self.boundaries) + 1:
            raise ValueError("values needs one more entry than boundaries")
        if self.boundaries != sorted(self.boundaries):
            raise ValueError("boundaries must be increasing")
        return self

    def __call__(self, step: int) -> float:
        return self.values[bisect.bisect_right(self.boundaries, step)]

    def bounds(self) -> tuple[float, float]:
        return (min(self.values), max(self.values))


Schedule = Annotated[
    Constant | Linear | Cosine | Exponential | Piecewise, Field(discriminator="kind")
]
_ADAPTER: TypeAdapter[Schedule] = TypeAdapter(Schedule)


def parse_schedule(raw: object) -> Schedule:
    """A schedule from a spec value: a number (constant) or a mapping with ``kind``."""
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        return Constant(value=float(raw))
    return _ADAPTER.validate_python(raw)
