"""Turning rewardsmith's errors into a message on stderr and exit code 2."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape

from rewardsmith.errors import RewardsmithError


def sql_root_option(default: str) -> Any:
    """The ``--sql-root DIR`` option (repeatable) of a command, its default said in help."""
    return typer.Option(
        "--sql-root",
        metavar="DIR",
        help="A directory whose database files SQL references may name ('db': PATH); "
        f"repeatable. Default: {default} ($REWARDSMITH_SQL_ROOTS if set).",
        exists=True,
        file_okay=False,
        show_default=False,
    )


__all__ = ["EXIT_ITEMS_FAILED", "EXIT_USAGE", "sql_root_option", "stderr", "usage_errors"]

EXIT_ITEMS_FAILED = 1
EXIT_USAGE = 2
stderr = Console(stderr=True)


@contextmanager
def usage_errors() -> Iterator[None]:
    """Print a rewardsmith error (bad spec, bad input) without a traceback; exit 2."""
    try:
        yield
    except RewardsmithError as exc:
        stderr.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_USAGE) from None
