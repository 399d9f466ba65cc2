"""Turning a parsed spec (plain dicts) into a Reward tree, collecting every problem.

A node is a number (a constant) or a mapping with exactly one of these keys:

- ``use: NAME`` with optional ``with: {params}``, ``timeout: SECONDS`` (run each item in a
  worker process killed after that long), ``threads: N`` (run items on N threads, for
  I/O-bound rewards; an item past ``timeout``, 60 s unless given, is reported as a
  timeout, since a thread cannot be killed) and ``cache: true`` (a content-hash cache);
- ``sum: [nodes]`` (children may carry ``weight``), ``min: [nodes]``, ``max: [nodes]``,
  ``product: [nodes]``;
- ``gate: {if: node, then: node, otherwise: node, threshold: 1.0}``;
- ``shape: {reward: node, transform: NAME | {use: NAME, with: {params}}}``;
- ``schedule: {reward: node, weight: NUMBER | {kind: linear|cosine|exponential|..., ...}}``;
- ``gated: {must: [nodes], behaviour: [nodes], delta: 0.01}``: SearchLLM's gated
  aggregation (``rewardsmith.core.gated``); behaviour children may carry ``weight``;
- ``hierarchy: {levels: [{terms: [nodes], threshold: 1.0, weight: 1.0, name}], combine:
  sum | mean, floor: 0.0}``: levels that count only once every lower level is met, in the
  spirit of ChatShopBuddy's HRM (``rewardsmith.core.hierarchy``); terms may carry
  ``weight`` (their weight inside the level).

Any node may also carry ``name`` (its label in ``Score.parts``), ``weight`` (inside a
``sum`` only), and combinators ``on_error`` (propagate | skip | value) and
``error_value``. Every problem found is reported, each with the path to its key.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import TypeAdapter, ValidationError

from rewardsmith.core import Gate, Max, Min, Product, Schedule, Shape, Sum, registry
from rewardsmith.core.combinators import Combinator, Constant, OnError
from rewardsmith.core.gated import DELTA, GatedAggregate
from rewardsmith.core.hierarchy import Combine, Hierarchy, Level
from rewardsmith.core.reward import ItemReward, Reward
from rewardsmith.errors import ConfigError, SpecError, UnknownRewardError, brief
from rewardsmith.runtime import Cached, Isolated, Threaded
from rewardsmith.shaping.schedules import parse_schedule

THREAD_TIMEOUT_S = 60.0
"""The per-item deadline of ``threads: N`` when the spec gives no ``timeout``."""

__all__ = ["build_tree"]

COMBINATORS = ("sum", "min", "max", "product", "gate", "shape", "schedule", "gated", "hierarchy")
KINDS = ("use", *COMBINATORS)
COMMON = {"name", "weight"}
NODE_KEYS: dict[str, set[str]] = {
    "use": {"use", "with", "timeout", "threads", "cache"} | COMMON,
    **{k: {k, "on_error", "error_value"} | COMMON for k in COMBINATORS},
}
SUB_KEYS = {
    "gate": ({"if", "then"}, {"if", "then", "otherwise", "threshold"}),
    "shape": ({"reward", "transform"}, {"reward", "transform"}),
    "schedule": ({"reward", "weight"}, {"reward", "weight"}),
    "gated": ({"must", "behaviour"}, {"must", "behaviour", "delta"}),
    "hierarchy": ({"levels"}, {"levels", "combine", "floor"}),
}
LEVEL_KEYS = {"terms", "threshold", "weight", "name"}
_SCALARS: dict[str, TypeAdapter[Any]] = {
    "name": TypeAdapter(str),
    "weight": TypeAdapter(float),
    "timeout": TypeAdapter(float),
    "threads": TypeAdapter(int),
    "cache": TypeAdapter(bool),
    "on_error": TypeAdapter(OnError),
    "error_value": TypeAdapter(float),
    "threshold": TypeAdapter(float),
    "delta": TypeAdapter(float),
    "floor": TypeAdapter(float),
    "combine": TypeAdapter(Combine),
}


class _Builder:
    def __init__(self) -> None:
        self.problems: list[str] = []

    def fail(self, path: str, message: str) -> None:
        self.problems.append(f"{path}: {message}")

    def scalar(self, node: Mapping[str, Any], key: str, path: str, default: Any = None) -> Any:
        if key not in node:
            return default
        try:
            value = _SCALARS[key].validate_python(node[key], strict=True)
        except ValidationError as exc:
            self.fail(f"{path}.{key}", exc.errors()[0]["msg"] + f" (got {brief(node[key])})")
            return default
        if key in ("timeout", "threads") and value <= 0:
            self.fail(f"{path}.{key}", f"must be > 0 (got {value})")
            return default
        return value

    def node(self, raw: Any, path: str, in_sum: bool = False) -> Reward | None:
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            return Constant(raw)
        if not isinstance(raw, Mapping):
            self.fail(
                path,
                f"expected a reward (a mapping with one of {', '.join(KINDS)}) or a number, got {type(raw).__name__}",
            )
            return None
        kinds = [k for k in KINDS if k in raw]
        if len(kinds) != 1:
            found = (
                f"found {', '.join(kinds)}"
                if kinds
                else f"found keys {', '.join(map(str, raw)) or 'none'}"
            )
            self.fail(path, f"a reward node needs exactly one of {', '.join(KINDS)}; {found}")
            return None
        kind = kinds[0]
        self.check_keys(raw, NODE_KEYS[kind], path)
        if "weight" in raw and not in_sum:
            self.fail(f"{path}.weight", "weight only applies to a child of sum")
        self.scalar(raw, "weight", path)
        builder: Callable[[Mapping[str, Any], str], Reward | None] = getattr(self, f"build_{kind}")
        return builder(raw, path)

    def check_keys(self, raw: Mapping[str, Any], allowed: set[str], path: str) -> None:
        for key in raw:
            if key not in allowed:
                close = difflib.get_close_matches(str(key), sorted(allowed), n=1)
                hint = (
                    f"; did you mean {close[0]!r}?"
                    if close
                    else f" (allowed: {', '.join(sorted(allowed))})"
                )
                self.fail(f"{path}.{key}", f"unknown key{hint}")

    def build_use(self, raw: Mapping[str, Any], path: str) -> Reward | None:
        name, params = raw["use"], raw.get("with") or {}
        timeout = self.scalar(raw, "timeout", path)
        threads = self.scalar(raw, "threads", path)
        cache = self.scalar(raw, "cache", path, False)
        if not isinstance(params, Mapping):
            self.fail(
                f"{path}.with", f"expected a mapping of parameters, got {type(params).__name__}"
            )
            return None
        reward: Any = self.registered(name, params, f"{path}.use", "reward")
        if reward is None:
            return None
        if (timeout or threads or cache) and not isinstance(reward, ItemReward):
            self.fail(
                path, f"timeout, threads and cache apply to per-item rewards; {name} is not one"
            )
            return None
        if threads is not None:  # nothing hangs: threads get a deadline too
            reward = Threaded(reward, threads, THREAD_TIMEOUT_S if timeout is None else timeout)
        elif timeout is not None:
            reward = Isolated(reward, timeout)
        if cache:
            reward = Cached(reward)
        reward.label = self.scalar(raw, "name", path)
        built: Reward = reward
        return built

    def registered(
        self, name: Any, params: Mapping[str, Any], path: str, kind: registry.Kind
    ) -> Any:
        if not isinstance(name, str):
            self.fail(path, f"expected a registered name, got {name!r}")
            return None
        try:
            return registry.build(name, params, kind=kind)
        except UnknownRewardError as exc:
            self.fail(path, str(exc))
        except ConfigError as exc:
            self.fail(path.rsplit(".", 1)[0] + ".with", str(exc))
        return None

    def combinator_opts(self, raw: Mapping[str, Any], path: str) -> dict[str, Any]:
        return {
            "label": self.scalar(raw, "name", path),
            "on_error": self.scalar(raw, "on_error", path, "propagate"),
            "error_value": self.scalar(raw, "error_value", path, 0.0),
        }

    def children(
        self, raw: Mapping[str, Any], kind: str, path: str, weighted: bool | None = None
    ) -> tuple[list[Reward], list[float], list[str | None]] | None:
        items = raw[kind]
        if not isinstance(items, list) or not items:
            self.fail(f"{path}.{kind}", "expected a non-empty list of rewards")
            return None
        built, weights, labels = [], [], []
        in_sum = kind == "sum" if weighted is None else weighted
        for i, item in enumerate(items):
            child = self.node(item, f"{path}.{kind}[{i}]", in_sum=in_sum)
            if child is not None:
                built.append(child)
                weight = item.get("weight", 1.0) if isinstance(item, Mapping) else 1.0
                weights.append(float(weight) if _is_number(weight) else 1.0)
                labels.append(getattr(child, "label", None))
        return (built, weights, labels) if len(built) == len(items) else None

    def build_list(self, cls: type[Combinator], raw: Mapping[str, Any], path: str) -> Reward | None:
        kind = cls.kind
        opts = self.combinator_opts(raw, path)
        got = self.children(raw, kind, path)
        if got is None:
            return None
        built, weights, labels = got
        if cls is Sum:
            return Sum(built, weights, labels=labels, **opts)
        return cls(built, labels=labels, **opts)

    def build_sum(self, raw: Mapping[str, Any], path: str) -> Reward | None:
        return self.build_list(Sum, raw, path)

    def build_min(self, raw: Mapping[str, Any], path: str) -> Reward | None:
        return self.build_list(Min, raw, path)

    def build_max(self, raw: Mapping[str, Any], path: str) -> Reward | None:
        return self.build_list(Max, raw, path)

    def build_product(self, raw: Mapping[str, Any], path: str) -> Reward | None:
        return self.build_list(Product, raw, path)

    def sub(self, raw: Mapping[str, Any], kind: str, path: str) -> Mapping[str, Any] | None:
        body = raw[kind]
        required, allowed = SUB_KEYS[kind]
        if not isinstance(body, Mapping):
            self.fail(f"{path}.{kind}", f"expected a mapping with {', '.join(sorted(required))}")
            return None
        self.check_keys(body, allowed, f"{path}.{kind}")
        for key in sorted(required - set(body)):
            self.fail(f"{path}.{kind}", f"missing {key!r}")
        return body if required <= set(body) else None

    def build_gate(self, raw: Mapping[str, Any], path: str) -> Reward | None:
        body, opts = self.sub(raw, "gate", path), self.combinator_opts(raw, path)
        if body is None:
            return None
        p = f"{path}.gate"
        parts = [self.node(body[k], f"{p}.{k}") for k in ("if", "then")]
        parts.append(self.node(body.get("otherwise", 0.0), f"{p}.otherwise"))
        threshold = self.scalar(body, "threshold", p, 1.0)
        if any(x is None for x in parts):
            return None
        cond, then, other = parts
        labels = [getattr(x, "label", None) for x in parts]
        return Gate(cond, then, other, threshold=threshold, labels=labels, **opts)  # type: ignore[arg-type]

    def build_shape(self, raw: Mapping[str, Any], path: str) -> Reward | None:
        body, opts = self.sub(raw, "shape", path), self.combinator_opts(raw, path)
        if body is None:
            return None
        p = f"{path}.shape"
        child = self.node(body["reward"], f"{p}.reward")
        spec = body["transform"]
        if isinstance(spec, str):
            spec = {"use": spec}
        transform = None
        if not isinstance(spec, Mapping) or "use" not in spec:
            self.fail(f"{p}.transform", "expected a transform name or {use: NAME, with: {...}}")
        else:
            self.check_keys(spec, {"use", "with"}, f"{p}.transform")
            transform = self.registered(
                spec["use"], spec.get("with") or {}, f"{p}.transform.use", "transform"
            )
        if child is None or transform is None:
            return None
        return Shape(child, transform, labels=[getattr(child, "label", None)], **opts)

    def build_schedule(self, raw: Mapping[str, Any], path: str) -> Reward | None:
        body, opts = self.sub(raw, "schedule", path), self.combinator_opts(raw, path)
        if body is None:
            return None
        p = f"{path}.schedule"
        child = self.node(body["reward"], f"{p}.reward")
        try:
            weight = parse_schedule(body["weight"])
        except ValidationError as exc:
            self.problems += registry.format_validation_error(exc, f"{p}.weight")
            return None
        if child is None:
            return None
        return Schedule(child, weight, labels=[getattr(child, "label", None)], **opts)

    def build_gated(self, raw: Mapping[str, Any], path: str) -> Reward | None:
        body, opts = self.sub(raw, "gated", path), self.combinator_opts(raw, path)
        if body is None:
            return None
        p = f"{path}.gated"
        delta = self.scalar(body, "delta", p, DELTA)
        must = self.children(body, "must", p, weighted=False)
        behaviour = self.children(body, "behaviour", p, weighted=True)
        if must is None or behaviour is None:
            return None
        try:
            return GatedAggregate(
                must[0],
                behaviour[0],
                behaviour[1],
                delta=delta,
                labels=[*must[2], *behaviour[2]],
                **opts,
            )
        except ValueError as exc:
            self.fail(p, str(exc))
            return None

    def build_hierarchy(self, raw: Mapping[str, Any], path: str) -> Reward | None:
        body, opts = self.sub(raw, "hierarchy", path), self.combinator_opts(raw, path)
        if body is None:
            return None
        p = f"{path}.hierarchy"
        combine = self.scalar(body, "combine", p, "sum")
        floor = self.scalar(body, "floor", p, 0.0)
        items = body["levels"]
        if not isinstance(items, list) or not items:
            self.fail(f"{p}.levels", "expected a non-empty list of levels ({terms: [...], ...})")
            return None
        levels = [self.level(item, f"{p}.levels[{i}]") for i, item in enumerate(items)]
        if any(lv is None for lv in levels):
            return None
        try:
            return Hierarchy([lv for lv in levels if lv], combine=combine, floor=floor, **opts)
        except ValueError as exc:
            self.fail(p, str(exc))
            return None

    def level(self, raw: Any, path: str) -> Level | None:
        if not isinstance(raw, Mapping):
            self.fail(path, f"expected a level mapping with 'terms', got {type(raw).__name__}")
            return None
        self.check_keys(raw, LEVEL_KEYS, path)
        if "terms" not in raw:
            self.fail(path, "missing 'terms'")
            return None
        threshold = self.scalar(raw, "threshold", path, 1.0)
        weight = self.scalar(raw, "weight", path, 1.0)
        if weight < 0:
            self.fail(f"{path}.weight", f"must be >= 0 (got {weight})")
        terms = self.children(raw, "terms", path, weighted=True)
        if terms is None or weight < 0:
            return None
        built, term_weights, labels = terms
        name = self.scalar(raw, "name", path)
        return Level(built, term_weights, threshold, weight, name, labels)


def _is_number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def build_tree(raw: Any, path: str = "reward", source: str = "<spec>") -> Reward:
    """Build the Reward for one spec node; SpecError lists every problem found."""
    builder = _Builder()
    reward = builder.node(raw, path)
    if builder.problems or reward is None:
        raise SpecError(source, builder.problems or [f"{path}: could not be built"])
    return reward
