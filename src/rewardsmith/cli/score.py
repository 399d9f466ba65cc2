"""``rewardsmith score``: score a rollout file with a spec, write the scores, summarise."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable, Iterator
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from rewardsmith.cli.errors import EXIT_ITEMS_FAILED, sql_root_option, stderr, usage_errors
from rewardsmith.core.tree import set_step
from rewardsmith.errors import InputError
from rewardsmith.rollouts import (
    Block,
    FieldMap,
    RolloutWriter,
    Summary,
    arrow_schema,
    read_blocks,
    score_blocks,
)
from rewardsmith.rollouts.stream import Processed
from rewardsmith.rollouts.write import Renderer
from rewardsmith.spec import load_spec

__all__ = ["bundled_rollouts", "score_cmd"]

DEFAULT_SPEC = "math-r1"


class Engine(StrEnum):
    LOCAL = "local"
    RAY = "ray"


Scorer = Callable[[Iterator[Block], FieldMap, Renderer | None], Iterator[Processed]]
"""Scores the blocks (local engine), or the file itself (Ray), yielding results in order."""


def bundled_rollouts() -> Path:
    """The example rollouts shipped with the package."""
    return Path(str(resources.files("rewardsmith") / "examples" / "math_rollouts.jsonl"))


def _parse_map(pairs: list[str]) -> dict[str, str]:
    mapping = {}
    for pair in pairs:
        field, sep, column = pair.partition("=")
        if not sep or not field or not column:
            raise InputError(
                f"--map {pair!r}: expected FIELD=COLUMN, e.g. completion=response_text"
            )
        mapping[field.strip()] = column.strip()
    return mapping


def score_cmd(
    input: Annotated[
        Path | None,
        typer.Argument(
            help="Rollouts: .jsonl, .parquet, or a saved Hugging Face dataset folder. Default: the bundled example rollouts.",
            show_default=False,
        ),
    ] = None,
    spec: Annotated[
        str, typer.Option("--spec", "-s", help="A spec file (.yaml/.toml) or a built-in spec name.")
    ] = DEFAULT_SPEC,
    out: Annotated[
        str | None,
        typer.Option(
            "--out",
            "-o",
            help="Write scored rows here: .jsonl, .parquet, or - for JSONL on stdout.",
        ),
    ] = None,
    processes: Annotated[
        int | None,
        typer.Option(
            "--processes",
            "-p",
            min=1,
            help="Local engine: score chunks in this many processes (default 1).",
            show_default=False,
        ),
    ] = None,
    actors: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Ray engine: score chunks in this many Ray Data actors (default 1).",
            show_default=False,
        ),
    ] = None,
    mapping: Annotated[
        list[str] | None,
        typer.Option(
            "--map",
            help="Read a field from another column: FIELD=COLUMN (dotted paths allowed). Repeatable.",
        ),
    ] = None,
    split: Annotated[str | None, typer.Option(help="Split of a saved DatasetDict.")] = None,
    chunk_size: Annotated[int, typer.Option(min=1, help="Rows scored per batch.")] = 4096,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    fail_on_error: Annotated[
        bool, typer.Option("--fail-on-error", help="Exit 1 if any item has status error.")
    ] = False,
    engine: Annotated[
        Engine,
        typer.Option(
            help="local: this machine's processes (--processes of them); ray: Ray Data actors (--actors of them)."
        ),
    ] = Engine.LOCAL,
    ray_address: Annotated[
        str | None,
        typer.Option(help="With --engine ray: the cluster to join (default: start a local Ray)."),
    ] = None,
    sql_root: Annotated[list[Path] | None, sql_root_option("the working directory")] = None,
    step: Annotated[
        int | None,
        typer.Option(
            min=0,
            help="The training step to score at: schedule nodes and scheduled rewards follow it (default 0).",
        ),
    ] = None,
) -> None:
    """Score rollouts with a reward spec and print a summary.

    Reads the file in chunks (memory stays flat), adds value, status, parts, info and
    error to each row, and prints items, mean value, share scoring above 0, the mean of
    every part, counts by status and throughput. Exit codes: 0 ok, 1 items errored and
    --fail-on-error, 2 usage or spec error.
    """
    with usage_errors():
        from rewardsmith.verifiable.sql.database import set_sql_roots

        set_sql_roots(sql_root, unset_means_none=False)  # before any child process starts
        _check_engine_options(engine, processes, actors)
        path = input if input is not None else bundled_rollouts()
        fields = FieldMap(_parse_map(mapping or []))
        reward = load_spec(spec)  # a bad spec fails here, before anything is read
        if step is not None:
            set_step(reward, step)  # the step travels with the reward to every worker
        blocks = read_blocks(path, chunk_size, split)
        schema = arrow_schema(path, split) if out and out.endswith((".parquet", ".pq")) else None
        writer = RolloutWriter(out, schema, source=path) if out else None
        if engine is Engine.RAY:
            from rewardsmith.integrations import ray as ray_engine

            n_actors = actors or 1
            ray_engine.init(ray_address, num_cpus=n_actors + 1)

            def scorer(
                blocks: Iterator[Block], fields: FieldMap, renderer: Renderer | None
            ) -> Iterator[Processed]:
                # Ray reads the file itself; the local blocks only gave the first rows.
                return ray_engine.score_file(
                    path,
                    reward,
                    actors=n_actors,
                    chunk_size=chunk_size,
                    fields=fields,
                    renderer=renderer,
                )
        else:

            def scorer(
                blocks: Iterator[Block], fields: FieldMap, renderer: Renderer | None
            ) -> Iterator[Processed]:
                return score_blocks(
                    blocks, reward, processes=processes or 1, fields=fields, renderer=renderer
                )

        summary = _run(blocks, scorer, writer, fields)
    console = stderr if out == "-" else Console()
    if as_json:
        console.print_json(
            orjson.dumps({"input": str(path), "spec": spec, **summary.as_dict()}).decode()
        )
    else:
        console.print(_table(summary, str(path), spec))
    if fail_on_error and summary.errored:
        raise typer.Exit(EXIT_ITEMS_FAILED)


def _check_engine_options(engine: Engine, processes: int | None, actors: int | None) -> None:
    """``--processes`` is the local engine's, ``--actors`` Ray's: the other is a usage error."""
    if engine is Engine.RAY and processes is not None:
        raise InputError("--processes is for --engine local; with --engine ray use --actors")
    if engine is Engine.LOCAL and actors is not None:
        raise InputError("--actors is for --engine ray; with --engine local use --processes")


def _run(
    blocks: Iterator[Block],
    scorer: Scorer,
    writer: RolloutWriter | None,
    fields: FieldMap,
) -> Summary:
    summary = Summary()
    progress = Progress(
        SpinnerColumn(),
        TextColumn("scoring"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=stderr,
        transient=True,
        disable=not stderr.is_terminal,
    )
    renderer = None
    if writer is not None:  # a Parquet schema may come from the first rows
        first = next(blocks, None)
        renderer = writer.prepare(first.rows() if first is not None else [])
        blocks = itertools.chain([first] if first is not None else [], blocks)
    with progress, writer or contextlib.nullcontext():
        task = progress.add_task("score", total=None)
        for done in scorer(blocks, fields, renderer):
            if writer is not None:
                writer.write_rendered(done.rendered)
            summary.merge(done.summary)
            progress.advance(task, done.rows)
    return summary


def _table(summary: Summary, source: str, spec: str) -> Table:
    d = summary.as_dict()
    table = Table(title=f"{Path(source).name} · {spec}", show_header=False)
    table.add_column("metric", style="bold")
    table.add_column("value", justify="right")

    def fmt(x: float | None) -> str:
        return "n/a" if x is None else f"{x:.4f}"

    table.add_row("items", str(d["items"]))
    table.add_row("mean value", fmt(d["mean"]))
    table.add_row("share > 0", fmt(d["share_positive"]))
    for name, mean in d["parts"].items():
        table.add_row(f"mean {name} (n={summary.part_counts[name]})", fmt(mean))
    for status, n in d["status"].items():
        table.add_row(f"status {status}", str(n))
    for label, n in d["errors"].items():
        table.add_row(f"error {label}", f"{n} ({n / max(d['items'], 1):.1%})")
    table.add_row("items/s", f"{d['items_per_s'] or 0:,.0f}")
    return table
