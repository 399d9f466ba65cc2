"""``rewardsmith eval-rm``: measure a reward on preference data with RewardBench's rules."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich import box
from rich.console import Console
from rich.table import Table

from rewardsmith.cli.errors import usage_errors
from rewardsmith.errors import InputError
from rewardsmith.evaluate import RMEvaluation, evaluate_rm, load_hub_preferences, load_preferences
from rewardsmith.spec import load_spec

__all__ = ["eval_rm_cmd"]


def eval_rm_cmd(
    spec: Annotated[
        str,
        typer.Option(
            "--spec",
            "-s",
            help="A spec file (.yaml/.toml) or a built-in spec name.",
            show_default=False,
        ),
    ],
    data: Annotated[
        Path | None,
        typer.Argument(
            help="Preference rows (prompt, chosen, rejected; optional subset, id, reference): "
            ".jsonl, .parquet or a saved dataset folder.",
            show_default=False,
        ),
    ] = None,
    dataset: Annotated[
        str | None,
        typer.Option(
            help="Load a hub dataset by name instead of DATA (e.g. allenai/reward-bench-2); "
            "needs `datasets`.",
            show_default=False,
        ),
    ] = None,
    split: Annotated[
        str | None,
        typer.Option(help="Split of a saved DatasetDict or of --dataset (default test)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the results as JSON.")] = False,
) -> None:
    """Evaluate a reward (rule-based, reward model or judge) on preference data.

    Scores every chosen and rejected response with the spec in one batch and prints per
    subset: rows, RewardBench 1 pairwise accuracy (a tie counts 0), RewardBench 2's
    best-of-n score (1/k when the first chosen response ties k ways for the top), the
    Ties subset's score, and errors (responses the reward could not score; never a win).
    Exit codes: 0 done, 2 usage, spec or data error.
    """
    with usage_errors():
        if (data is None) == (dataset is None):
            raise InputError("give either DATA or --dataset NAME")
        reward = load_spec(spec)
        if dataset is not None:
            rows = load_hub_preferences(dataset, split or "test")
        else:
            assert data is not None
            rows = load_preferences(data, split=split)
        result = evaluate_rm(reward, rows)
    console = Console()
    source = dataset if dataset is not None else str(data)
    if as_json:
        console.print_json(
            orjson.dumps({"input": source, "spec": spec, **result.to_dict()}).decode()
        )
        return
    console.print(_table(result, source, spec))


def _fmt(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3f}"


def _table(result: RMEvaluation, source: str, spec: str) -> Table:
    extra = [f"mean of subsets {_fmt(result.mean_of_subsets)}"]
    if result.ece is not None:
        extra.append(f"ECE {result.ece:.3f}")
    if result.length_buckets:
        extra.append(
            "best-of-n by chosen length: "
            + ", ".join(
                f"{b.lo}-{b.hi} chars {b.accuracy:.2f} (n={b.n})" for b in result.length_buckets
            )
        )
    table = Table(
        title=f"eval-rm · {spec} · {Path(source).name}",
        caption="; ".join(extra),
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
    )
    for name in ("subset", "n", "pairwise\naccuracy", "best-of-n", "ties\nscore", "errors"):
        table.add_column(name, justify="left" if name == "subset" else "right")
    for s in [*result.subsets, result.overall]:
        table.add_row(
            s.name,
            str(s.n),
            _fmt(s.pairwise_accuracy),
            _fmt(s.best_of_n),
            _fmt(s.ties_score) if s.name.lower() == "ties" else "",
            f"{s.errors} ({s.error_items} items)" if s.errors else "0",
            end_section=s is result.subsets[-1],
        )
    return table
