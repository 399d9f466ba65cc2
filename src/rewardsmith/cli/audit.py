"""``rewardsmith audit``: run reward-hacking probes against a spec and report what it pays."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from rewardsmith.audit import ALL, AuditReport, ProbeResult, Verdict, audit, probes_named
from rewardsmith.audit import report as html_report
from rewardsmith.cli.errors import stderr, usage_errors
from rewardsmith.cli.score import DEFAULT_SPEC, bundled_rollouts
from rewardsmith.core import Sample
from rewardsmith.errors import InputError
from rewardsmith.rollouts import FieldMap, read_rollouts
from rewardsmith.spec import load_spec

__all__ = ["EXIT_PAYS", "audit_cmd"]

EXIT_PAYS = 1
_STYLE = {
    Verdict.OK: "green",
    Verdict.PAYS: "bold red",
    Verdict.ERRORS: "yellow",
    Verdict.UNTESTED: "dim",
}


def _samples(
    path: Path, fields: FieldMap, split: str | None, skipped: list[str]
) -> Iterator[Sample]:
    """The file's rollouts as Samples; a row that cannot be read is noted in ``skipped``."""
    for rows in read_rollouts(path, split=split):
        for row in rows:
            if row.raw is None:
                skipped.append(row.problem or f"row {row.index + 1}")
                continue
            try:
                yield fields.sample(row.raw)
            except InputError as exc:
                skipped.append(f"row {row.index + 1}: {exc}")


def audit_cmd(
    rollouts: Annotated[
        Path | None,
        typer.Argument(
            help="Rollouts to build probes from (prompts and references; paid completions for "
            "the relative probes): .jsonl, .parquet or a saved dataset folder. Default: the "
            "bundled example math rollouts.",
            show_default=False,
        ),
    ] = None,
    spec: Annotated[
        str, typer.Option("--spec", "-s", help="A spec file (.yaml/.toml) or a built-in spec name.")
    ] = DEFAULT_SPEC,
    probes: Annotated[
        str | None,
        typer.Option(
            help=f"Comma-separated probes to run (default all: {', '.join(p.name for p in ALL)}).",
            show_default=False,
        ),
    ] = None,
    max_base: Annotated[
        int,
        typer.Option(min=1, help="Build probes from this many distinct prompts (the first ones)."),
    ] = 16,
    max_share: Annotated[
        float,
        typer.Option(min=0.0, max=1.0, help="A probe pays when its share paid is above this."),
    ] = 0.0,
    seed: Annotated[int, typer.Option(help="Seeds the probes' random choices.")] = 0,
    split: Annotated[str | None, typer.Option(help="Split of a saved DatasetDict.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    report_path: Annotated[
        Path | None,
        typer.Option(
            "--report",
            metavar="OUT.html",
            # "\\[": rich would read [report] as markup
            help="Also write the report as one self-contained HTML page: the table, charts of "
            "the share paid and mean gain per probe, and the paid completions. Needs "
            "matplotlib: pip install 'rewardsmith\\[report]'.",
            dir_okay=False,
            show_default=False,
        ),
    ] = None,
    fail_on_pay: Annotated[
        bool, typer.Option("--fail-on-pay", help="Exit 1 if any probe's verdict is 'pays'.")
    ] = False,
) -> None:
    """Audit a reward spec: how often does it pay for nothing?

    Builds probe completions from the rollouts' prompts (master keys, empty tags, the
    question restated, every candidate answer at once, hedges, numbers copied from the
    prompt) and from completions the spec already pays (steps repeated, filler, reasoning
    phrases, claims of checking, harmless rewrites), scores them with the spec, and prints
    per probe: completions, the share paid above the floor (an empty completion's value)
    or above the unchanged completion, the mean gain, errors and a verdict, then examples
    of what was paid; --report also writes all of it, with charts, as an HTML page. Exit
    codes: 0 done, 1 a probe pays and --fail-on-pay, 2 usage or spec error.
    """
    with usage_errors():
        if report_path is not None:
            html_report.require()  # before the audit, not after it
        chosen = ALL if probes is None else probes_named(probes.split(","))
        fields = FieldMap()
        reward = load_spec(spec)
        path = rollouts if rollouts is not None else bundled_rollouts()
        skipped: list[str] = []
        samples = _samples(path, fields, split, skipped)
        progress = Progress(
            TextColumn("auditing"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=stderr,
            transient=True,
            disable=not stderr.is_terminal,
        )
        with progress:
            task = progress.add_task("audit", total=None)
            report = audit(
                reward,
                samples,
                chosen,
                max_base=max_base,
                max_share=max_share,
                seed=seed,
                progress=lambda done, total: progress.update(task, completed=done, total=total),
            )
        if report.bases == 0:
            raise InputError(f"{path}: no rollouts to build probes from")
        report = replace(report, spec=spec)
        if report_path is not None:
            _write_html(report, report_path, path)
    if skipped:
        stderr.print(f"skipped {len(skipped)} unreadable rows (first: {escape(skipped[0])})")
    console = Console()
    if as_json:
        data = {"input": str(path), **report.to_dict()}
        console.print_json(orjson.dumps(data).decode())
    else:
        console.print(_table(report, path, spec))
        _print_examples(console, report)
    if fail_on_pay and report.paying:
        raise typer.Exit(EXIT_PAYS)


def _write_html(report: AuditReport, out: Path, source: Path) -> None:
    try:
        html_report.write(report, out, source=str(source))
    except OSError as exc:
        raise InputError(f"{out}: cannot write the report ({exc.strerror or exc})") from None
    stderr.print(f"wrote {escape(str(out))}", highlight=False)


def _fmt(x: float | None, spec: str = ".3f") -> str:
    if x is None:
        return "n/a"
    return "0" if x == 0 and spec.startswith("+") else format(x, spec)


def _table(report: AuditReport, path: Path, spec: str) -> Table:
    bases = sum(v is not None for v in report.base_values)
    table = Table(
        title=f"audit · {spec} · {path.name}",
        caption=f"{report.bases} prompt{'' if report.bases == 1 else 's'}, {bases} with a paid "
        "completion for the relative probes",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
    )
    rows = [
        (
            p.name,
            str(p.kind),
            str(p.n),
            _fmt(p.share_paid),
            _fmt(p.mean_gain, "+.3g"),
            str(p.errors),
            str(p.verdict),
        )
        for p in report.probes
    ]
    headers = ("probe", "kind", "n", "paid\nshare", "mean\ngain", "errors", "verdict")
    for i, name in enumerate(headers):
        # the cells never wrap or shrink; a long header folds onto two lines instead
        width = max([len(r[i]) for r in rows] or [1])
        table.add_column(name, justify="left" if i in (0, 1, 6) else "right", min_width=width)
    for row, p in zip(rows, report.probes, strict=True):
        table.add_row(*row[:-1], f"[{_STYLE[p.verdict]}]{row[-1]}[/]")
    return table


def _print_examples(console: Console, report: AuditReport) -> None:
    paying: list[ProbeResult] = [p for p in report.probes if p.verdict is Verdict.PAYS]
    for p in paying:
        console.print(
            f"\n[bold]{p.name}[/] pays {p.paid} of {p.scored} ({p.description}); for example:"
        )
        for e in p.examples:
            console.print(
                f"  [dim]{escape(e.variant)}[/]: {e.value:.6g} against {e.baseline:.6g} "
                f"({e.value - e.baseline:+.3g}): {escape(repr(e.completion))}",
                highlight=False,
                soft_wrap=True,
            )
