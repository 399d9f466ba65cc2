"""The model card a training run writes beside the model, and its progress bar."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rewardsmith.training.preferences import PreferenceData

if TYPE_CHECKING:
    from rewardsmith.training.train import TrainConfig, TrainResult

__all__ = ["Progress", "model_card"]


_LOSS_TEXT = {
    "bt": "Bradley-Terry: −(1−ε)·log σ(Δ) − ε·log σ(−Δ), Δ = r_c − r_r − m",
    "listwise": "listwise softmax (You Only Judge Once, arXiv 2604.10966): −log softmax(s)_best",
    "plackett_luce": "Plackett-Luce: Σ_k [−s_k + log Σ_{j≥k} exp(s_j)] over each ranking",
}


def _counts(data: PreferenceData) -> str:
    shapes = ", ".join(
        f"{data.counts.get(k, 0)} {k}" for k in ("pairwise", "listwise", "tree", "trajectory")
    )
    extra = [f"{data.counts[k]} {k}" for k in ("skipped", "unpaired") if data.counts.get(k)]
    tail = f"; {', '.join(extra)}" if extra else ""
    return f"{data.counts.get('records', 0)} records ({shapes}{tail})"


def _percent(value: float | None) -> str:
    return "n/a (no held-out pairs)" if value is None else f"{100 * value:.1f}%"


def model_card(
    base: str, config: TrainConfig, prefs: PreferenceData, held: PreferenceData | None,
    train: PreferenceData, result: TrainResult, seen: set[str],
) -> str:  # fmt: skip
    held_text = (
        f"`{held.source}`, {_counts(held)}" if held is not None
        else f"{config.eval_fraction:.0%} of the prompts of the training source (seed {config.seed})"
    )  # fmt: skip
    loss_params = {
        "bt": f"margin {config.margin!r}, label smoothing ε = {config.label_smoothing}",
    }.get(config.loss, "")
    center = (
        f"centering λ = {config.center} (λ·(Σ scores)² per pair or group)"
        if config.center
        else "no centering"
    )
    lora = (
        f"LoRA r = {config.lora_rank}, α = {config.lora_alpha}, merged"
        if config.lora
        else "full fine-tuning"
    )
    inputs = [{"text": "text", "chat": "conversation"}[k] for k in sorted(seen, reverse=True)]
    reward = "rm.joint" if config.joint else "rm.score"
    use = "\n".join(
        f"reward: {{use: {reward}, with: {{model: {result.out_dir}, input: {i}}}}}" for i in inputs
    )
    joint = (
        "- joint (You Only Judge Once, arXiv 2604.10966): each pair or group in one sequence, "
        "in a shuffled order; the score is read at each response's separator"
        if config.joint
        else "- each response scored as its own sequence"
    )
    flips = (
        f"- {result.flipped} pairs {'flipped' if config.flip_action == 'flip' else 'dropped'} "
        f"by a {config.flip_members}-model ensemble (Secrets of RLHF II; the lowest "
        f"{config.flip_fraction:.0%} by preference strength, against the majority)"
        + ("; adaptive margins" if config.flip_adaptive_margin else "")
        if config.flip_members
        else "- no label flipping"
    )
    mixed = (
        "Items were rendered both ways: score each with the input it was trained with."
        if len(inputs) > 1
        else ""
    )
    lines = [
        "---", "library_name: transformers", "tags: [reward-model, rewardsmith]", "---", "",
        "# Reward model", "",
        f"A one-output sequence classifier fine-tuned from `{base}` with rewardsmith's "
        "`train_reward_model`. Its logit is a Bradley-Terry reward: only differences "
        "between responses to one prompt mean anything.", "",
        "## Data", "",
        f"- source: `{prefs.source}`, {_counts(prefs)}",
        f"- trained on {result.train_pairs} pairs"
        + ("" if config.loss == "bt" else f" in {result.train_units} groups")
        + f", from {len(train.pairs)} pairs and {len(train.rankings)} rankings",
        f"- held out: {result.eval_pairs} pairs: {held_text}", "",
        "## Loss", "",
        f"- {_LOSS_TEXT[config.loss]}" + (f"; {loss_params}" if loss_params else ""),
        f"- {center}", joint, flips, "",
        "## Training", "",
        f"- {lora}; {config.epochs} epochs, lr {config.lr}, batch {config.batch_size} "
        f"x {config.grad_accum} accumulated, warmup {config.warmup_ratio:.0%}, "
        f"{config.precision}, max_length {config.max_length}, seed {config.seed}, "
        f"render `{config.render}`",
        f"- {result.steps} steps on {result.device} in {result.seconds:.1f} s; "
        f"{result.truncated} sequences truncated", "",
        "## Held-out pairwise accuracy", "",
        f"{_percent(result.eval_accuracy)} after training, {_percent(result.eval_accuracy_before)} "
        f"before, over {result.eval_pairs} pairs (a tie counts as wrong).", "",
        "## Use", "", *([mixed, ""] if mixed else []),
        "```yaml", use, "```", "",
    ]  # fmt: skip
    return "\n".join(lines)


class Progress:
    """A rich progress bar on stderr with the running loss, or nothing."""

    def __init__(self, enabled: bool, total: int) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        columns = (TextColumn("train-rm"), BarColumn(), MofNCompleteColumn())
        loss = TextColumn("loss {task.fields[loss]:.4f}")
        self.bar = Progress(*columns, loss, console=Console(stderr=True), disable=not enabled)
        self.task = self.bar.add_task("train", total=total, loss=float("nan"))

    def advance(self, loss: float) -> None:
        self.bar.update(self.task, advance=1, loss=loss)

    def __enter__(self) -> Progress:
        self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.stop()
