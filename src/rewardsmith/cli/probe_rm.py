"""``rewardsmith probe-rm``: linear probes on a reward model's representations (MRMBench)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich import box
from rich.console import Console
from rich.table import Table

from rewardsmith.cli.errors import stderr, usage_errors
from rewardsmith.errors import InputError
from rewardsmith.evaluate.probe import ProbeConfig, ProbeEvaluation, probe_rm
from rewardsmith.evaluate.probe_data import (
    Dimension,
    load_hub_mrmbench,
    load_label_files,
    load_mrmbench,
)
from rewardsmith.evaluate.probe_features import FeatureOptions

__all__ = ["probe_rm_cmd"]


def probe_rm_cmd(
    model: Annotated[
        str,
        typer.Option(
            help="The reward model: a local directory (or hub id) that rm.score loads; "
            "a causal LM works too.",
            show_default=False,
        ),
    ],
    data: Annotated[
        list[Path] | None,
        typer.Argument(
            help="A folder in MRMBench's layout (mrm_easy/<dimension>/train.json, test.json), "
            "or two files TRAIN TEST whose rows hold input, output and dimension + label "
            "(or a label column per dimension).",
            show_default=False,
        ),
    ] = None,
    dataset: Annotated[
        str | None,
        typer.Option(
            help="Download a hub dataset in MRMBench's layout instead of DATA "
            "(e.g. ifnoc/MRMBench); needs the hub.",
            show_default=False,
        ),
    ] = None,
    hard: Annotated[
        bool, typer.Option("--hard", help="MRMBench-Hard: 3 classes (default Easy: binary).")
    ] = False,
    dimension: Annotated[
        list[str] | None,
        typer.Option(help="Probe only this dimension (repeatable; default: all found)."),
    ] = None,
    template: Annotated[
        str,
        typer.Option(
            help="plain: input + output as MRMBench joins them; chat: a user and an "
            "assistant turn through the model's chat template."
        ),
    ] = "plain",
    append_eos: Annotated[
        bool,
        typer.Option(
            "--append-eos", help="End each text with the EOS token, as MRMBench does for Llamas."
        ),
    ] = False,
    max_length: Annotated[
        int, typer.Option(help="Texts over this many tokens are left out (MRMBench: 2048).")
    ] = 2048,
    lr: Annotated[float, typer.Option()] = 5e-5,
    epochs: Annotated[int, typer.Option()] = 1,
    batch_size: Annotated[int, typer.Option(help="Texts per optimizer step.")] = 64,
    weight_decay: Annotated[float, typer.Option()] = 0.1,
    seed: Annotated[int, typer.Option(help="Probe initialisation and shuffling.")] = 42,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "auto",
    dtype: Annotated[str, typer.Option(help="float32, bfloat16, float16 or auto.")] = "float32",
    max_batch_tokens: Annotated[
        int | None,
        typer.Option(help="Tokens per forward pass, padding included (default: by device)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the results as JSON.")] = False,
) -> None:
    """Probe a reward model's representations, MRMBench's way (arXiv 2511.12464).

    For each preference dimension, trains a bias-free linear probe on the frozen model's
    last-token hidden state of the train texts (BCE for Easy, 3-class cross-entropy for
    --hard; AdamW, cosine schedule, MRMBench's settings by default) and prints its
    accuracy on the test texts, the majority-label rate beside it, and the average over
    dimensions. Features are extracted once and cached, so extra epochs cost little.
    Exit codes: 0 done, 2 usage or data error.
    """
    with usage_errors():
        dims = _load(data or [], dataset, hard, dimension)
        result = probe_rm(
            model,
            dims,
            hard=hard,
            config=ProbeConfig(
                lr=lr, epochs=epochs, batch_size=batch_size, weight_decay=weight_decay, seed=seed
            ),
            features=FeatureOptions(
                template=template,
                append_eos=append_eos,
                max_length=max_length,
                max_batch_tokens=max_batch_tokens,
            ),
            dtype=dtype,
            device=device,
            log=lambda line: stderr.print(line, highlight=False, markup=False),
        )
    console = Console()
    source = dataset if dataset is not None else " ".join(str(p) for p in data or [])
    if as_json:
        console.print_json(orjson.dumps({"input": source, **result.to_dict()}).decode())
        return
    console.print(_table(result, source))


def _load(
    data: list[Path], dataset: str | None, hard: bool, dimensions: list[str] | None
) -> list[Dimension]:
    if bool(data) == (dataset is not None):
        raise InputError("give either DATA (a folder, or TRAIN TEST files) or --dataset NAME")
    if dataset is not None:
        return load_hub_mrmbench(dataset, hard, dimensions)
    if len(data) == 1:
        return load_mrmbench(data[0], hard, dimensions)
    if len(data) == 2:
        return load_label_files(data[0], data[1], dimensions)
    raise InputError(f"DATA is one folder or two files (TRAIN TEST), got {len(data)} paths")


def _table(result: ProbeEvaluation, source: str) -> Table:
    version = "Hard" if result.version == "hard" else "Easy"
    table = Table(
        title=f"probe-rm · {Path(result.model).name} · MRMBench-{version} · {source}",
        caption="majority: the share of the commonest test label (a probe that learned nothing)",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
    )
    for name in ("dimension", "accuracy", "majority", "train", "test", "left out"):
        table.add_column(name, justify="left" if name == "dimension" else "right")
    for d in result.dimensions:
        table.add_row(
            d.name,
            f"{d.accuracy:.3f}",
            f"{d.majority:.3f}",
            str(d.train),
            str(d.test),
            str(d.left_out),
            end_section=d is result.dimensions[-1],
        )
    table.add_row("average", f"{result.average:.3f}", "", "", "", "")
    return table
