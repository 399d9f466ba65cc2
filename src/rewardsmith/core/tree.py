"""The reward tree as every consumer reads it: children, part names, work kinds, the step.

A spec builds a tree: combinators (``sum``, ``gate``, ...) over leaf rewards, perhaps
inside runtime wrappers (``Cached``, ``Isolated``, ``Threaded``). Trainer adapters, the
server, the CLI and the runtime read the tree only through these functions, and every
node answers them the same way:

- ``children(node)``: the nodes below it (a leaf has none);
- ``part_names(node)``: every key its ``Score.parts`` can hold, in a fixed order. A
  combinator lists each child's label, then the child's own names under ``label/``;
  a leaf lists the parts it writes itself (``qa.f1``: ``precision``, ``recall``); a
  wrapper lists its inner reward's. An item carries a subset: the branch a gate did not
  take, or a child that failed, is absent, never 0;
- ``work_kinds(node)``: what its leaves spend their time on, ``cpu`` (parsing, sympy),
  ``io`` (waiting on a subprocess, a database, a network) or ``model`` (a model forward
  pass); the server's ``auto`` mode picks worker processes when every leaf is ``cpu``;
- ``needs_groups(node)``: whether any node reads other rollouts of the item's group
  (majority vote, group normalisation): such a tree must see whole groups per batch;
- ``set_step(node, step)``: tells every node the training step (drives schedules).

A node declares its parts with a ``part_names()`` method, its work with a ``work`` class
attribute and its use of groups with ``needs_group`` (``GroupReward``: True; a ``shape``
node: its transform's); the built-in bases (``ItemReward``, ``GroupReward``, combinators,
wrappers) give the defaults, none and ``cpu``. A third-party reward that declares
neither has no parts and counts as ``cpu``.

Example:
    >>> from rewardsmith import R
    >>> part_names(R.gate(R.format.think_answer(), then=R.qa.f1(), otherwise=-1.0))
    ['format.think_answer', 'qa.f1', 'qa.f1/precision', 'qa.f1/recall']
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Literal

__all__ = [
    "WORK_KINDS",
    "Work",
    "children",
    "needs_groups",
    "part_names",
    "set_step",
    "walk",
    "work_kinds",
]

Work = Literal["cpu", "io", "model"]
WORK_KINDS: tuple[Work, ...] = ("cpu", "io", "model")


def children(node: object) -> Sequence[object]:
    """The nodes directly below ``node`` (empty for a leaf)."""
    found = getattr(node, "children", ())
    return tuple(found) if isinstance(found, Sequence) else ()


def walk(node: object) -> Iterator[object]:
    """Every node of the tree, depth first, ``node`` itself first."""
    yield node
    for child in children(node):
        yield from walk(child)


def part_names(node: object) -> list[str]:
    """Every key ``node``'s Scores can hold in ``parts``, in a fixed order, no repeats."""
    declared = getattr(node, "part_names", None)
    names = declared() if callable(declared) else ()
    return list(dict.fromkeys(str(n) for n in names))


def work_kinds(node: object) -> set[Work]:
    """The work kinds of the leaves below ``node`` (``{"cpu"}`` for an undeclared one)."""
    kinds: set[Work] = set()
    for n in walk(node):
        if not children(n):
            kind = getattr(n, "work", "cpu")
            kinds.add(kind if kind in WORK_KINDS else "cpu")
    return kinds


def needs_groups(node: object) -> bool:
    """True when some node of the tree reads the other rollouts of an item's group."""
    return any(bool(getattr(n, "needs_group", False)) for n in walk(node))


def set_step(node: object, step: int) -> None:
    """Tell every node of a reward tree the current training step (drives schedules)."""
    for n in walk(node):
        hook = getattr(n, "on_step", None)
        if callable(hook):
            hook(step)
