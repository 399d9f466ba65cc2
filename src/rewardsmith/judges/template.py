"""Judge prompt templates: versioned data files, each naming its paper and the part of the
prompt it reproduces.

A template is a YAML file in ``judges/templates/`` with ``name``, ``version``, ``paper``,
``arxiv``, ``section`` (which prompt of the paper, from where, and what is reworded),
``fields`` (the names the user message fills), a ``user`` string in ``str.format``
syntax (``{{`` for a literal brace) and an optional ``system`` string used as written
(its braces are literal). Filling is strict: every field must be
given and no other; values are inserted as they are, so text a policy writes can never
add a field or reach the format machinery (only the template is parsed).

The cache of a judge is keyed by ``name`` and ``version``: change a prompt, bump its
version. ``tests/judges/golden/`` holds every template's rendering of fixed inputs.

Example:
    >>> t = load_template("rrm_rubric")
    >>> t.arxiv, t.fields
    ('2510.07774', ('question', 'rubric', 'response'))
    >>> t.render(question="1+1?", rubric="- adds", response="2")[-1]["content"][:9]
    'Question:'
"""

from __future__ import annotations

import functools
import string
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from rewardsmith.errors import ConfigError

__all__ = ["Template", "load_template", "template_names"]

_PACKAGE = "rewardsmith.judges"


@dataclass(frozen=True, slots=True)
class Template:
    """A judge prompt (see the module docstring)."""

    name: str
    version: int
    paper: str
    arxiv: str
    section: str
    fields: tuple[str, ...]
    user: str
    system: str | None = None

    @property
    def key(self) -> str:
        """``name@version``: what a judge's cache is keyed by."""
        return f"{self.name}@{self.version}"

    def render(self, **values: str) -> list[dict[str, str]]:
        """The chat messages for ``values`` (exactly the template's fields)."""
        missing = [f for f in self.fields if f not in values]
        extra = sorted(set(values) - set(self.fields))
        if missing or extra:
            raise ValueError(f"template {self.key}: missing {missing}, unexpected {extra}")
        messages = [{"role": "system", "content": self.system}] if self.system else []
        messages.append({"role": "user", "content": self.user.format_map(values)})
        return messages


def template_names() -> list[str]:
    """The names of the bundled templates."""
    folder = resources.files(_PACKAGE) / "templates"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


@functools.lru_cache(maxsize=64)
def load_template(name_or_path: str) -> Template:
    """A bundled template by name, or a template file by path (``.yaml``)."""
    if name_or_path.endswith((".yaml", ".yml")):
        text = Path(name_or_path).read_text(encoding="utf-8")
    else:
        found = resources.files(_PACKAGE) / "templates" / f"{name_or_path}.yaml"
        if not found.is_file():
            raise ConfigError(f"no judge template {name_or_path!r}; bundled: {template_names()}")
        text = found.read_text(encoding="utf-8")
    return _checked(yaml.safe_load(text), name_or_path)


def _checked(raw: Any, where: str) -> Template:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: a judge template is a mapping")
    need = ("name", "version", "paper", "arxiv", "section", "fields", "user")
    missing = [k for k in need if k not in raw]
    if missing:
        raise ConfigError(f"{where}: the template lacks {missing}")
    fields = tuple(str(f) for f in raw["fields"])
    used = {f for _, f, _, _ in string.Formatter().parse(str(raw["user"])) if f is not None}
    if used != set(fields):
        raise ConfigError(f"{where}: fields {sorted(fields)} but the text uses {sorted(used)}")
    return Template(
        name=str(raw["name"]), version=int(raw["version"]), paper=str(raw["paper"]),
        arxiv=str(raw["arxiv"]), section=" ".join(str(raw["section"]).split()), fields=fields,
        user=str(raw["user"]), system=str(raw["system"]) if raw.get("system") else None,
    )  # fmt: skip
