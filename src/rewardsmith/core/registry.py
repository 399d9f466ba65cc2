"""The registry: every reward and transform under a dotted name, with its parameters.

Each entry carries a pydantic model of its parameters (``extra="forbid"``), a one-line
summary, the declared score range and the paper it implements. Families register with
the ``register`` decorator when their module is imported. The built-in families are the
modules in ``BUILTIN_MODULES``, imported on the first lookup whether or not the package's
metadata is installed (plain ``PYTHONPATH``, Ray ``py_modules``); ``rewardsmith.rewards``
entry points are for other packages' families only. A plugin that fails to import is
skipped and named in ``broken_plugins()``; the built-ins still load.

Example:
    >>> from rewardsmith import load
    >>> load("qa.f1").name
    'qa.f1'
"""

from __future__ import annotations

import difflib
import importlib
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from rewardsmith.errors import ConfigError, UnknownRewardError, brief

__all__ = [
    "BUILTIN_MODULES",
    "Entry",
    "NoParams",
    "Paper",
    "Params",
    "broken_plugins",
    "build",
    "catalog",
    "format_validation_error",
    "get",
    "register",
]

Kind = Literal["reward", "transform"]
F = TypeVar("F", bound=Callable[..., Any])


class Params(BaseModel):
    """Base of every parameter model: unknown keys are errors, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class NoParams(Params):
    """For rewards without parameters."""


@dataclass(frozen=True, slots=True)
class Paper:
    """Where a reward comes from."""

    title: str
    arxiv: str | None = None

    def __str__(self) -> str:
        return f"{self.title} (arXiv {self.arxiv})" if self.arxiv else self.title


@dataclass(frozen=True, slots=True)
class Entry:
    """One registered reward or transform."""

    name: str
    kind: Kind
    factory: Callable[..., Any]
    params: type[Params]
    summary: str
    range: tuple[float, float]
    paper: Paper | None

    def build(self, params: Mapping[str, Any] | None = None) -> Any:
        """Validate ``params`` and build the object. Raises ConfigError naming bad keys."""
        try:
            model = self.params.model_validate(dict(params or {}))
        except ValidationError as exc:
            raise ConfigError(f"{self.name}: " + "; ".join(format_validation_error(exc))) from None
        return self.factory(model)

    def describe(self) -> dict[str, Any]:
        """The entry as plain data (``rewardsmith list --json``, ``GET /rewards``)."""
        paper = self.paper
        return {
            "name": self.name,
            "kind": self.kind,
            "range": list(self.range),
            "summary": self.summary,
            "paper": None if paper is None else {"title": paper.title, "arxiv": paper.arxiv},
            "params": self.params.model_json_schema(),
        }


_REGISTRY: dict[str, Entry] = {}
_loaded = False
_load_lock = threading.RLock()
_broken: dict[str, str] = {}
_log = logging.getLogger("rewardsmith.registry")

BUILTIN_MODULES = (
    "rewardsmith.verifiable.format",
    "rewardsmith.verifiable.qa",
    "rewardsmith.verifiable.math",
    "rewardsmith.verifiable.numeric",
    "rewardsmith.verifiable.choice",
    "rewardsmith.shaping.length",
    "rewardsmith.shaping.transforms",
    "rewardsmith.shaping.par",
    "rewardsmith.shaping.step_rewards",
    "rewardsmith.shaping.normalize",
    "rewardsmith.shaping.noise",
    "rewardsmith.shaping.length_group",
    "rewardsmith.shaping.consensus",
    "rewardsmith.shaping.crf",
    "rewardsmith.shaping.pear",
    "rewardsmith.shaping.reasoning_pattern",
    "rewardsmith.shaping.gates",
    "rewardsmith.shaping.hierarchy",
    "rewardsmith.shaping.trust",
    "rewardsmith.verifiable.sql",
    "rewardsmith.verifiable.tools",
    "rewardsmith.verifiable.structured",
    "rewardsmith.verifiable.acre",
    "rewardsmith.verifiable.code.reward",
    "rewardsmith.verifiable.search",
    "rewardsmith.verifiable.memory",
)
"""The modules whose import registers the built-in rewards and transforms."""


def register(
    name: str,
    *,
    summary: str,
    range: tuple[float, float] = (0.0, 1.0),
    paper: Paper | None = None,
    params: type[Params] = NoParams,
    kind: Kind = "reward",
) -> Callable[[F], F]:
    """Register a factory ``f(params) -> Reward`` under ``name``."""

    def decorate(factory: F) -> F:
        if name in _REGISTRY and _REGISTRY[name].factory is not factory:
            raise ConfigError(f"{name!r} is registered twice")
        _REGISTRY[name] = Entry(name, kind, factory, params, summary, range, paper)
        return factory

    return decorate


def _load_builtin() -> None:
    """Import the built-in families, then the plugins; done once, and marked done only
    when the built-ins are all in (a failed import is raised and tried again)."""
    global _loaded
    if _loaded:
        return
    with _load_lock:
        if _loaded:
            return
        for module in BUILTIN_MODULES:
            importlib.import_module(module)
        for ep in entry_points(group="rewardsmith.rewards"):
            if ep.value in BUILTIN_MODULES:
                continue  # an older install of this package still lists its own modules
            try:
                importlib.import_module(ep.value)
            except Exception as exc:  # a broken plugin must not take the built-ins down
                _broken[ep.name] = f"{ep.value}: {type(exc).__name__}: {exc}"[:300]
                _log.warning("reward plugin %r skipped: %s", ep.name, _broken[ep.name])
        _loaded = True


def broken_plugins() -> dict[str, str]:
    """Plugins (``rewardsmith.rewards`` entry points) that failed to import, and why."""
    _load_builtin()
    return dict(_broken)


def get(name: str, kind: Kind | None = None) -> Entry:
    """The entry for ``name``; UnknownRewardError with the closest names if missing."""
    _load_builtin()
    entry = _REGISTRY.get(name)
    if entry is None or (kind is not None and entry.kind != kind):
        names = [n for n, e in _REGISTRY.items() if kind is None or e.kind == kind]
        raise UnknownRewardError(name, difflib.get_close_matches(name, names, n=3, cutoff=0.5))
    return entry


def build(name: str, params: Mapping[str, Any] | None = None, kind: Kind | None = None) -> Any:
    return get(name, kind).build(params)


def catalog(kind: Kind | None = None) -> list[Entry]:
    """Every registered entry, sorted by name."""
    _load_builtin()
    return sorted(
        (e for e in _REGISTRY.values() if kind is None or e.kind == kind), key=lambda e: e.name
    )


def format_validation_error(exc: ValidationError, prefix: str = "") -> list[str]:
    """One line per pydantic error: the dotted key path, the message and the bad input."""
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        where = f"{prefix}.{loc}" if prefix and loc else (prefix or loc or "<root>")
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown parameter"
        elif "input" in err and err["type"] != "missing":
            msg = f"{msg} (got {brief(err['input'])})"
        lines.append(f"{where}: {msg}")
    return lines
