"""Reading spec files (YAML or TOML) and the built-in specs shipped in the package.

A spec file has a ``name``, an optional ``description`` and a ``reward`` tree::

    name: math-r1
    description: R1-style format gate around math correctness
    reward:
      gate:
        if: {use: format.think_answer}
        then: {use: math.answer}
        otherwise: 0.0
"""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from rewardsmith.core import Reward
from rewardsmith.errors import SpecError
from rewardsmith.spec.build import build_tree

__all__ = ["builtin_specs", "load_spec", "parse_spec", "read_spec"]

TOP_KEYS = {"name", "description", "reward"}
SUFFIXES = (".yaml", ".yml", ".toml")


def builtin_specs() -> dict[str, str]:
    """Built-in spec names and the text of each."""
    root = resources.files("rewardsmith.spec") / "builtin"
    return {
        Path(f.name).stem: f.read_text(encoding="utf-8")
        for f in sorted(root.iterdir(), key=lambda f: f.name)
        if f.name.endswith(SUFFIXES)
    }


def read_spec(path_or_name: str | Path) -> tuple[dict[str, Any], str]:
    """The parsed mapping of a spec file or built-in spec, and a name for messages."""
    path = Path(path_or_name)
    if path.suffix in SUFFIXES or path.exists():
        if not path.is_file():
            raise SpecError(str(path), ["file not found"])
        text, source, toml = path.read_text(encoding="utf-8"), str(path), path.suffix == ".toml"
    else:
        specs = builtin_specs()
        name = str(path_or_name)
        if name not in specs:
            raise SpecError(
                name,
                [f"no such file and no built-in spec of that name (built-in: {', '.join(specs)})"],
            )
        text, source, toml = specs[name], f"built-in spec {name!r}", False
    return _parse_text(text, source, toml), source


def _parse_text(text: str, source: str, toml: bool) -> dict[str, Any]:
    try:
        data = tomllib.loads(text) if toml else yaml.safe_load(text)
    except (yaml.YAMLError, tomllib.TOMLDecodeError) as exc:
        raise SpecError(source, [f"cannot parse: {exc}"]) from None
    if not isinstance(data, dict):
        raise SpecError(source, ["expected a mapping with name and reward at the top"])
    return data


def parse_spec(data: dict[str, Any], source: str = "<spec>") -> Reward:
    """Validate a parsed spec mapping and build its Reward tree."""
    problems = [
        f"{k}: unknown top-level key (allowed: {', '.join(sorted(TOP_KEYS))})"
        for k in data
        if k not in TOP_KEYS
    ]
    if "reward" not in data:
        problems.append("reward: missing (the reward tree)")
    if "name" in data and not isinstance(data["name"], str):
        problems.append("name: expected a string")
    try:
        reward = build_tree(data["reward"], "reward", source) if "reward" in data else None
    except SpecError as exc:
        problems += exc.problems
        reward = None
    if problems or reward is None:
        raise SpecError(source, problems)
    reward.spec_name = data.get("name", source)  # type: ignore[attr-defined]
    return reward


def load_spec(path_or_name: str | Path) -> Reward:
    """Build the Reward tree of a spec file or built-in spec (``math-r1``, ...)."""
    data, source = read_spec(path_or_name)
    return parse_spec(data, source)
