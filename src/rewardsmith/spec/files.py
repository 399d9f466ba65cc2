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
MAX_SPEC_BYTES = 1_000_000
"""A larger spec file is refused unread (specs are a few hundred bytes)."""
MAX_SPEC_VALUES = 100_000
"""Values in a parsed spec, aliases counted each time they are used: a YAML alias bomb
(435 bytes for 10^9 values) or a node that contains itself stops here."""


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
        text, source, toml = _read_text(path), str(path), path.suffix == ".toml"
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


def _read_text(path: Path) -> str:
    """The spec file's text: bounded in size, UTF-8 or a one-line refusal."""
    with path.open("rb") as f:
        raw = f.read(MAX_SPEC_BYTES + 1)
    if len(raw) > MAX_SPEC_BYTES:
        raise SpecError(str(path), [f"over {MAX_SPEC_BYTES:,} bytes: not a spec"])
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError(str(path), [f"not UTF-8 text (byte {exc.start})"]) from None


def _parse_text(text: str, source: str, toml: bool) -> dict[str, Any]:
    try:
        data = tomllib.loads(text) if toml else yaml.safe_load(text)
    except (yaml.YAMLError, tomllib.TOMLDecodeError) as exc:
        raise SpecError(source, [f"cannot parse: {_first_line(exc)}"]) from None
    except ValueError as exc:  # an integer past Python's 4,300-digit limit, say
        raise SpecError(source, [f"cannot parse: {_first_line(exc)}"]) from None
    except (RecursionError, MemoryError):
        raise SpecError(source, ["cannot parse: nested too deep or too large"]) from None
    if not isinstance(data, dict):
        raise SpecError(source, ["expected a mapping with name and reward at the top"])
    if not _within(data, MAX_SPEC_VALUES):
        raise SpecError(
            source,
            [
                f"over {MAX_SPEC_VALUES:,} values once aliases are expanded, or a value that "
                "contains itself: not a spec"
            ],
        )
    return data


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__


def _within(data: Any, budget: int) -> bool:
    """Whether walking ``data`` (shared values counted at every use) visits at most
    ``budget`` values; a cycle never ends, so it runs out."""
    stack = [data]
    while stack:
        budget -= 1
        if budget < 0:
            return False
        value = stack.pop()
        if isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list | tuple):
            stack.extend(value)
    return True


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
