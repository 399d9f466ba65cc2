"""``rewardsmith list``: the catalog of rewards and transforms."""

from __future__ import annotations

from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from rewardsmith.core import catalog

__all__ = ["list_cmd"]


def _range(r: tuple[float, float] | None) -> str:
    return "set by parameters" if r is None else f"[{r[0]:g}, {r[1]:g}]"


def list_cmd(
    as_json: Annotated[bool, typer.Option("--json", help="Print the catalog as JSON.")] = False,
) -> None:
    """List every registered reward and transform with its range, summary and paper.

    The range is what the default parameters build, else "set by parameters" (JSON: null).
    """
    entries = catalog()
    if as_json:
        rows = [e.describe() for e in entries]
        typer.echo(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode())
        return
    console = Console()
    if not console.is_terminal:  # a file or a pipe: no reason to fold at 80 columns
        console = Console(width=200)
    titles = console.width >= 140  # paper titles only where they fit
    table = Table(title="rewardsmith catalog", show_lines=False)
    for col in ("name", "kind", "range", "arXiv"):
        table.add_column(col, no_wrap=True)
    table.add_column("summary", overflow="fold", ratio=2, min_width=24)
    if titles:
        table.add_column("paper", overflow="fold", ratio=1)
    for e in entries:
        arxiv = e.paper.arxiv if e.paper and e.paper.arxiv else ""
        # summaries hold brackets ("[low, high]", "meta['key']") that rich reads as markup
        row = [e.name, e.kind, escape(_range(e.range)), arxiv, escape(e.summary)]
        table.add_row(*row, *([escape(e.paper.title) if e.paper else ""] if titles else []))
    console.print(table)
