"""The registry: every reward and transform under a dotted name, with its parameters.

A family registers its classes with the ``register`` decorator when its module is
imported. Everything else is read from the class: the name from its ``name``, the
parameter model (pydantic, ``extra="forbid"``) from the type of ``__init__``'s first
argument, and the range from the object built with default parameters, so the catalog
cannot disagree with what ``load`` builds::

    class ShoutParams(Params):
        min_ratio: float = 0.5

    @register(summary="1 if the completion is mostly capitals", paper=Paper("none"))
    class Shouting(ItemReward):
        name = "demo.shouting"

        def __init__(self, params: ShoutParams) -> None:
            self.params = params

A plain factory function ``f(params) -> obj`` registers under an explicit name (and
``params=``); that is for one class serving several names, or a factory that does more
than ``Cls(params)``.

The built-in families are the modules in ``BUILTIN_MODULES``, imported on the first
lookup whether or not the package's metadata is installed (plain ``PYTHONPATH``, Ray
``py_modules``); ``rewardsmith.rewards`` entry points are for other packages' families
only. A plugin that fails to import is skipped and named in ``broken_plugins()``; the
built-ins still load.

Example:
    >>> from rewardsmith import load
    >>> load("qa.f1").name
    'qa.f1'
    >>> get("length.overlong").range, get("length.cosine").range  # cosine needs max_tokens
    ((-1.0, 0.0), None)
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import logging
import math
import threading
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from rewardsmith.errors import ConfigError, UnknownRewardError, brief

__all__ = [
    "ALIASES",
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
Range = tuple[float, float]
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
    """One registered reward or transform.

    ``factory`` is the registered class or function; it is called with the validated
    parameter model, or with nothing when ``takes_params`` is false.
    """

    name: str
    kind: Kind
    factory: Callable[..., Any]
    params: type[Params]
    summary: str
    paper: Paper | None
    takes_params: bool = True

    def build(self, params: Mapping[str, Any] | None = None) -> Any:
        """Validate ``params`` and build the object. Raises ConfigError naming bad keys."""
        try:
            model = self.params.model_validate(dict(params or {}))
        except ValidationError as exc:
            raise ConfigError(f"{self.name}: " + "; ".join(format_validation_error(exc))) from None
        return self.factory(model) if self.takes_params else self.factory()

    @property
    def range(self) -> Range | None:
        """The range of the object built with default parameters (for a transform, what
        comes out of an unbounded input); None when the defaults do not build, so the
        range is set by the parameters."""
        if self not in _RANGES:
            _RANGES[self] = _default_range(self)
        return _RANGES[self]

    def describe(self) -> dict[str, Any]:
        """The entry as plain data (``rewardsmith list --json``, ``GET /rewards``): the
        range is None when the parameters set it, an unbounded end is ``"inf"`` or
        ``"-inf"`` (JSON has no infinity), and ``work`` is what the reward spends its time
        on (``core.tree``)."""
        paper, range_ = self.paper, self.range
        return {
            "name": self.name,
            "kind": self.kind,
            "range": None if range_ is None else [_json_number(x) for x in range_],
            "work": getattr(self.factory, "work", "cpu") if self.kind == "reward" else None,
            "summary": self.summary,
            "paper": None if paper is None else {"title": paper.title, "arxiv": paper.arxiv},
            "params": self.params.model_json_schema(),
        }


def _json_number(x: float) -> float | str:
    return x if math.isfinite(x) else ("inf" if x > 0 else "-inf")


def _default_range(entry: Entry) -> Range | None:
    try:
        obj = entry.build()
    except ConfigError:  # a required parameter (or a build check, e.g. no sandbox here)
        return None
    if entry.kind == "transform":
        lo, hi = obj.out_range((-math.inf, math.inf))
    else:
        lo, hi = obj.range
    return (float(lo), float(hi))


_REGISTRY: dict[str, Entry] = {}
_RANGES: dict[Entry, Range | None] = {}
_loaded = False
_load_lock = threading.RLock()
_broken: dict[str, str] = {}
_log = logging.getLogger("rewardsmith.registry")

BUILTIN_MODULES = (
    "rewardsmith.verifiable.format",
    "rewardsmith.verifiable.qa",
    "rewardsmith.verifiable.math.answer",
    "rewardsmith.verifiable.math.numeric",
    "rewardsmith.verifiable.choice",
    "rewardsmith.verifiable.acre",
    "rewardsmith.verifiable.json",
    "rewardsmith.verifiable.craft",
    "rewardsmith.verifiable.tool",
    "rewardsmith.verifiable.sql",
    "rewardsmith.verifiable.code.reward",
    "rewardsmith.verifiable.search",
    "rewardsmith.verifiable.memory",
    "rewardsmith.shaping.length",
    "rewardsmith.shaping.transforms.pointwise",
    "rewardsmith.shaping.transforms.normalize",
    "rewardsmith.shaping.transforms.noise",
    "rewardsmith.shaping.transforms.par",
    "rewardsmith.shaping.consensus",
    "rewardsmith.shaping.efficiency.crf",
    "rewardsmith.shaping.efficiency.pear",
    "rewardsmith.shaping.process.step_rewards",
    "rewardsmith.shaping.process.reasoning_pattern",
    "rewardsmith.shaping.process.trust",
    "rewardsmith.shaping.process.confidence",
    "rewardsmith.shaping.process.relevance",
    "rewardsmith.shaping.aggregate",
    "rewardsmith.judges.rm.score",
    "rewardsmith.judges.rm.joint",
    "rewardsmith.judges.rm.segments",  # Fine-Grained RLHF's R1, arXiv 2306.01693
    "rewardsmith.judges.pointwise",
    "rewardsmith.judges.pairwise",
    "rewardsmith.judges.reference",
    "rewardsmith.judges.rubric",
    "rewardsmith.judges.principle",
    "rewardsmith.judges.faithfulness",
    "rewardsmith.judges.critique",
    "rewardsmith.judges.sentences",
    "rewardsmith.judges.segments",
    "rewardsmith.judges.thoughts",  # TP-GRPO, arXiv 2507.23317
    "rewardsmith.judges.relevance",
    "rewardsmith.judges.table_qa",
    "rewardsmith.likelihood.reference",
    "rewardsmith.likelihood.follow_up",
    "rewardsmith.likelihood.sar",
    "rewardsmith.likelihood.endogenous",
    "rewardsmith.likelihood.path",
)
"""The modules whose import registers the built-in rewards and transforms."""

ALIASES: Mapping[str, str] = {
    "shape.clip": "process.clip",
    "shape.delta": "process.delta",
    "shape.par": "transform.par",
}
"""Former names that still load: ``get`` (and so ``load`` and specs) resolves them to
the current name; ``catalog`` does not list them. The ``shape.*`` names were per-step
process rewards and a transform, filed under neither prefix."""


def register(
    name: str | None = None,
    /,
    *,
    summary: str,
    paper: Paper | None = None,
    params: type[Params] | None = None,
    kind: Kind = "reward",
) -> Callable[[F], F]:
    """Register a reward or transform class, or a factory function.

    Above a class, give no name and no ``params``: the name is the class's ``name`` and
    the parameter model is the type of ``__init__``'s first argument after ``self``
    (``X | None`` counts as ``X``); a class whose ``__init__`` takes no argument gets
    ``NoParams`` and is built with none. Above a function ``f(params) -> obj``, give the
    name and the parameter model (``NoParams`` if left out).

    Args:
        name: the dotted name, for a factory function only.
        summary: one line for the catalog.
        paper: the paper it implements.
        params: the parameter model, for a factory function only.
        kind: ``reward`` or ``transform``.

    Raises:
        ConfigError: the name is already registered to something else.
        TypeError: a class given a name or ``params``, a class without a ``name``, an
            ``__init__`` whose first argument is not typed as a ``Params`` model, or a
            function without a name.
    """

    def decorate(obj: F) -> F:
        if isinstance(obj, type):
            if name is not None or params is not None:
                raise TypeError(f"{obj.__qualname__}: a class declares its name and parameters")
            entry_name = getattr(obj, "name", None)
            if not isinstance(entry_name, str) or not entry_name:
                raise TypeError(f"{obj.__qualname__}: a registered class needs a 'name'")
            model = _init_params(obj)
            entry = Entry(
                entry_name, kind, obj, model or NoParams, summary, paper, model is not None
            )
        else:
            if name is None:
                raise TypeError(f"{obj.__qualname__}: a factory function needs a name")
            entry = Entry(name, kind, obj, params or NoParams, summary, paper)
        known = _REGISTRY.get(entry.name)
        if known is not None and known.factory is not obj:
            raise ConfigError(f"{entry.name!r} is registered twice")
        _REGISTRY[entry.name] = entry
        return obj

    return decorate


def _init_params(cls: type) -> type[Params] | None:
    """The Params model ``cls.__init__`` takes first after ``self``; None if it takes none."""
    init = cls.__init__  # type: ignore[misc]  # the class's own: no instance exists yet
    if init is object.__init__:
        return None
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    args = [p for p in inspect.signature(init).parameters.values() if p.kind in positional]
    if len(args) < 2:
        return None
    hint = typing.get_type_hints(init).get(args[1].name)
    types = [t for t in (typing.get_args(hint) or (hint,)) if t is not type(None)]
    if len(types) == 1 and isinstance(types[0], type) and issubclass(types[0], Params):
        return types[0]
    raise TypeError(
        f"{cls.__qualname__}.__init__: type {args[1].name!r} as a Params model, not {hint!r}"
    )


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
    """The entry for ``name`` (a former name in ``ALIASES`` too); UnknownRewardError with
    the closest names if missing."""
    _load_builtin()
    entry = _REGISTRY.get(ALIASES.get(name, name))
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
