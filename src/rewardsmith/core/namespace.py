"""``R``: the registry as attributes, plus the combinators, for building rewards in Python.

Example:
    >>> from rewardsmith import R
    >>> reward = R.math.answer() + 0.1 * R.length.cosine(max_tokens=4096)
    >>> reward.name
    'sum(math.answer, length.cosine)'
"""

from __future__ import annotations

from typing import Any

from rewardsmith.core import combinators, registry

__all__ = ["R"]


class _Name:
    """A dotted prefix of registered names; calling it builds the reward."""

    def __init__(self, path: str) -> None:
        self._path = path

    def __getattr__(self, part: str) -> _Name:
        if part.startswith("__"):
            raise AttributeError(part)
        return _Name(f"{self._path}.{part}")

    def __call__(self, **params: Any) -> Any:
        return registry.build(self._path, params)

    def __repr__(self) -> str:
        return f"R.{self._path}"


class _Root:
    sum = staticmethod(combinators.Sum)
    min = staticmethod(combinators.Min)
    max = staticmethod(combinators.Max)
    product = staticmethod(combinators.Product)
    gate = staticmethod(combinators.Gate)
    shape = staticmethod(combinators.Shape)
    schedule = staticmethod(combinators.Schedule)
    constant = staticmethod(combinators.Constant)

    def __getattr__(self, part: str) -> _Name:
        if part.startswith("__"):
            raise AttributeError(part)
        return _Name(part)

    def __dir__(self) -> list[str]:
        tops = {e.name.split(".")[0] for e in registry.catalog()}
        return sorted(tops | {"sum", "min", "max", "product", "gate", "shape", "schedule"})


R = _Root()
