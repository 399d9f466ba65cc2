"""The exception tree of rewardsmith.

Configuration problems raise early, at build time, with every problem in one message.
Per-item failures never raise out of ``Reward.score``: they become a ``Score`` with a
status and an error (see ``rewardsmith.core.types``).

::

    RewardsmithError
    ├── ConfigError              a reward, spec or parameter cannot be built
    │   ├── SpecError            a spec file is invalid (every problem, with its key path)
    │   └── UnknownRewardError   a reward name is not registered (with the closest names)
    ├── InputError               a rollout file or field cannot be read
    └── MissingExtraError        an optional dependency is not installed
"""

from __future__ import annotations

import reprlib
from typing import Any

__all__ = [
    "ConfigError",
    "InputError",
    "MissingExtraError",
    "RewardsmithError",
    "SpecError",
    "UnknownRewardError",
    "brief",
]

_BRIEF = reprlib.Repr()
_BRIEF.maxlevel, _BRIEF.maxlist, _BRIEF.maxtuple, _BRIEF.maxdict = 2, 4, 4, 4
_BRIEF.maxset, _BRIEF.maxstring, _BRIEF.maxother, _BRIEF.maxlong = 4, 40, 40, 40


def brief(value: Any) -> str:
    """A short repr for an error message, built without ever writing the whole value (a
    spec value can be a billion-element alias bomb or refer to itself)."""
    return _BRIEF.repr(value)


class RewardsmithError(Exception):
    """Base of every error rewardsmith raises on purpose."""


class ConfigError(RewardsmithError, ValueError):
    """A reward, spec or parameter set cannot be built."""


class SpecError(ConfigError):
    """A spec is invalid. ``problems`` holds one line per problem, each naming its key path."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        noun = "problem" if len(problems) == 1 else "problems"
        super().__init__(f"{source}: {len(problems)} {noun}:\n{lines}")


class UnknownRewardError(ConfigError, KeyError):
    """A name that is not in the registry."""

    def __init__(self, name: str, suggestions: list[str]) -> None:
        self.name = name
        self.suggestions = suggestions
        hint = f"; did you mean {', '.join(suggestions)}?" if suggestions else ""
        super().__init__(f"unknown reward {name!r}{hint} (`rewardsmith list` shows them all)")

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0])


class InputError(RewardsmithError, ValueError):
    """A rollout file, or a field in it, cannot be read."""


class MissingExtraError(RewardsmithError, ImportError):
    """An optional dependency is missing; the message names the extra to install."""

    def __init__(self, package: str, extra: str) -> None:
        super().__init__(f"{package} is not installed; run: pip install 'rewardsmith[{extra}]'")
