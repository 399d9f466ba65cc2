"""``rewardsmith train-rm``: train a reward model on preference data (``rewardsmith.training``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import orjson
import typer

from rewardsmith.cli.errors import stderr, usage_errors

__all__ = ["train_rm_cmd"]


def train_rm_cmd(
    data: Annotated[
        Path,
        typer.Argument(
            help="Preferences: .jsonl, .parquet or a saved dataset folder; records with prompt/chosen/rejected, ranked responses, a response tree, or trajectories with success.",
            show_default=False,
        ),
    ],
    base_model: Annotated[
        str,
        typer.Option(
            help="The model to start from: a local directory or a hub id.", show_default=False
        ),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to save the reward model.")],
    eval_data: Annotated[
        Path | None, typer.Option(help="Held-out preferences (default: --eval-fraction of DATA).")
    ] = None,
    eval_fraction: Annotated[float, typer.Option(help="Share of prompts held out.")] = 0.1,
    loss: Annotated[str, typer.Option(help="bt, listwise or plackett_luce.")] = "bt",
    margin: Annotated[
        str, typer.Option(help="Bradley-Terry margin: a number, or 'data' for each pair's own.")
    ] = "0",
    label_smoothing: Annotated[float, typer.Option(help="Bradley-Terry label smoothing.")] = 0.0,
    center: Annotated[float, typer.Option(help="Reward-centering coefficient (0: off).")] = 0.0,
    epochs: Annotated[int, typer.Option()] = 1,
    lr: Annotated[float, typer.Option()] = 1e-5,
    batch_size: Annotated[int, typer.Option()] = 8,
    max_length: Annotated[int, typer.Option()] = 1024,
    seed: Annotated[int, typer.Option()] = 0,
    lora: Annotated[bool, typer.Option(help="Train LoRA adapters (needs peft).")] = False,
    render: Annotated[
        str, typer.Option(help="as_given, or conversation (the chat template for text too).")
    ] = "as_given",
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "auto",
    joint: Annotated[
        bool,
        typer.Option(
            help="You Only Judge Once: each pair or group in one sequence (score with rm.joint)."
        ),
    ] = False,
    grad_accum: Annotated[int, typer.Option(help="Batches per optimizer step.")] = 1,
    precision: Annotated[
        str, typer.Option(help="float32, or bfloat16 autocast (weights stay float32).")
    ] = "float32",
    warmup_ratio: Annotated[float, typer.Option(help="Share of steps warming up.")] = 0.0,
    weight_decay: Annotated[float, typer.Option()] = 0.0,
    max_grad_norm: Annotated[float, typer.Option(help="Gradient clipping (0: off).")] = 1.0,
    lora_rank: Annotated[int, typer.Option()] = 8,
    lora_alpha: Annotated[int, typer.Option()] = 16,
    flip_members: Annotated[
        int,
        typer.Option(
            help="Flip suspected mislabelled pairs found by an ensemble of this many models, trained first (0: off; Secrets of RLHF II)."
        ),
    ] = 0,
    flip_fraction: Annotated[
        float, typer.Option(help="Only the lowest share of pairs by strength can flip.")
    ] = 0.2,
    flip_action: Annotated[str, typer.Option(help="flip or drop the suspects.")] = "flip",
    flip_adaptive_margin: Annotated[
        bool, typer.Option(help="Each pair's margin is its strength (needs --margin data).")
    ] = False,
    flip_epochs: Annotated[
        int | None, typer.Option(help="Epochs per ensemble member (default: --epochs).")
    ] = None,
    progress: Annotated[bool, typer.Option(help="A progress bar on stderr.")] = True,
) -> None:
    """Train a reward model (Bradley-Terry, listwise or Plackett-Luce; optionally joint,
    YOJO) and save it with a model card; print what the run did as JSON (held-out pairwise
    accuracy before and after, pairs flipped). Load it with ``rm.score`` (``rm.joint`` for
    --joint), ``model: OUT``. Exit 2 for bad settings or data."""
    with usage_errors():
        from rewardsmith.training.train import TrainConfig, train_from_config

        config = TrainConfig(
            loss=loss,
            margin=margin if margin == "data" else _number(margin, "--margin"),
            label_smoothing=label_smoothing,
            center=center,
            epochs=epochs,
            lr=lr,
            batch_size=batch_size,
            max_length=max_length,
            seed=seed,
            lora=lora,
            eval_fraction=eval_fraction,
            render=render,
            device=device,
            joint=joint,
            grad_accum=grad_accum,
            precision=precision,
            warmup_ratio=warmup_ratio,
            weight_decay=weight_decay,
            max_grad_norm=max_grad_norm,
            lora_rank=lora_rank,
            lora_alpha=lora_alpha,
            flip_members=flip_members,
            flip_fraction=flip_fraction,
            flip_action=flip_action,
            flip_adaptive_margin=flip_adaptive_margin,
            flip_epochs=flip_epochs,
        )
        result = train_from_config(config, data, base_model, out, eval_data, progress)
    summary = {k: v for k, v in result.as_dict().items() if k not in ("losses", "eval_margins")}
    typer.echo(orjson.dumps(summary, option=orjson.OPT_INDENT_2).decode())
    stderr.print(f"saved to {out} (model card: {Path(out) / 'README.md'})")


def _number(raw: str, option: str) -> float:
    from rewardsmith.errors import InputError

    try:
        return float(raw)
    except ValueError:
        raise InputError(f"{option}: a number or 'data', not {raw!r}") from None
