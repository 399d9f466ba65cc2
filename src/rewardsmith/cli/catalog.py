"""``rewardsmith list``: the catalog of rewards and transforms."""

from __future__ import annotations

from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.table import Table

from rewardsmith.core import catalog

__all__ = ["list_cmd"]


def _range(r: tuple[float, float]) -> str:
    return f"[{r[0]:g}, {r[1]:g}]"


def list_cmd(
    as_json: Annotated[bool, typer.Option("--json", help="Print the catalog as JSON.")] = False,
) -> None:
    """List every registered reward and transform with its range, summary and paper."""
    entries = catalog()
    if as_json:
        rows = [
            {
                "name": e.name,
                "kind": e.kind,
                "range": list(e.range),
                "summary": e.summary,
                "paper": None
                if e.paper is None
                else {"title": e.paper.title, "arxiv": e.paper.arxiv},
                "params": e.params.model_json_schema(),
            }
            for e in entries
        ]
        typer.echo(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode())
        return
    table = Table(title="rewardsmith catalog", show_lines=False)
    for col in ("name", "kind", "range"):
        table.add_column(col, no_wrap=True)
    for col in ("summary", "paper"):
        table.add_column(col, overflow="fold", ratio=1)
    for e in entries:
        table.add_row(e.name, e.kind, _range(e.range), e.summary, str(e.paper or ""))
    Console().print(table)
