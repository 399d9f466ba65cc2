"""Training a reward model: a ``*ForSequenceClassification`` with one output, on preferences.

``train_reward_model`` loads the base model with ``AutoModelForSequenceClassification``
(``num_labels=1``; a causal LM gets a new, seeded score head), trains it on the pairs (or,
for the listwise losses, the rankings) of ``preferences``, and saves the model and the
tokenizer with ``save_pretrained`` plus a ``README.md`` model card: the data (source and
counts), the loss and its parameters, the held-out pairwise accuracy. The directory loads
back with ``AutoModelForSequenceClassification.from_pretrained`` and is what ``rm.score``
reads.

Inputs are rendered the way ``rm.score`` renders them, so a model is scored as it was
trained: with ``render="as_given"`` (default), text prompt + text response is the two
texts concatenated as they are (score with ``input: text``), and chat messages on either
side are rendered with the tokenizer's chat template (a text prompt a user turn, a text
response an assistant turn; score with ``input: conversation``); ``render="conversation"``
renders every item with the template. Special-token strings are stripped from message
contents, as ``rm.score`` does. A sequence longer than ``max_length`` tokens is cut from
the left (leading special tokens kept): the classifier reads the last token, which must
be the response's end.

Held-out data: ``eval_data`` if given, else ``eval_fraction`` of the prompts (drawn with
the seed), so no prompt is in both sets. Accuracy is over every pair the held-out data
implies (a tie counts as wrong), measured before and after training.

Determinism: one seed drives the score head's initialisation, LoRA's, and the data order;
two runs on the same machine, device and thread count give the same weights.

Options: ``joint`` packs each pair or group into one sequence (You Only Judge Once,
``models.joint``; score the result with ``rm.joint``), ``grad_accum`` spreads a step over
several batches, ``precision="bfloat16"`` runs forward passes under autocast (weights stay
float32), and ``flip_members`` flips an ensemble's suspects before training
(``training.flip``).

Known issues: every tokenized item is kept for the run (memory grows with the data set);
float16 is not offered (it needs loss scaling).
"""

from __future__ import annotations

import math
import os
import random
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from rewardsmith.errors import ConfigError, InputError, MissingExtraError
from rewardsmith.models.loading import (
    load_pretrained,
    load_tokenizer,
    model_source,
    pretrained_args,
)
from rewardsmith.training import losses
from rewardsmith.training.card import Progress, model_card
from rewardsmith.training.encode import Encoder, forward_joint, forward_scores
from rewardsmith.training.flip import apply_flips, ensemble_margins, find_flips
from rewardsmith.training.preferences import (
    Content,
    Pair,
    PreferenceData,
    Ranking,
    load_preferences,
    prompt_key,
)

__all__ = [
    "LOSSES",
    "RENDERS",
    "TrainConfig",
    "TrainResult",
    "pair_margins",
    "score_responses",
    "train_from_config",
    "train_reward_model",
]

LOSSES = ("bt", "listwise", "plackett_luce")
RENDERS = ("as_given", "conversation")
PRECISIONS = ("float32", "bfloat16")
FLIP_ACTIONS = ("flip", "drop")


@dataclass(frozen=True, slots=True)
class TrainConfig:
    """Every training choice (see ``train_reward_model`` for each)."""

    loss: str = "bt"
    margin: float | str = 0.0
    label_smoothing: float = 0.0
    center: float = 0.0
    epochs: int = 1
    lr: float = 1e-5
    batch_size: int = 8
    max_length: int = 1024
    seed: int = 0
    lora: bool = False
    lora_rank: int = 8
    lora_alpha: int = 16
    eval_fraction: float = 0.1
    render: str = "as_given"
    weight_decay: float = 0.0
    warmup_ratio: float = 0.0
    max_grad_norm: float = 1.0
    device: str = "auto"
    grad_accum: int = 1
    precision: str = "float32"
    joint: bool = False
    flip_members: int = 0
    flip_fraction: float = 0.2
    flip_action: str = "flip"
    flip_adaptive_margin: bool = False
    flip_epochs: int | None = None

    def problems(self) -> list[str]:
        """Every invalid setting, one line each (empty when all are valid)."""
        out = []
        if self.loss not in LOSSES:
            out.append(f"loss: one of {', '.join(LOSSES)}, not {self.loss!r}")
        if isinstance(self.margin, str) and self.margin != "data":
            out.append(f"margin: a number or 'data', not {self.margin!r}")
        if self.loss != "bt" and (self.margin != 0.0 or self.label_smoothing):
            out.append("margin and label_smoothing apply to loss='bt' only")
        if not 0.0 <= self.label_smoothing < 0.5:
            out.append(f"label_smoothing: in [0, 0.5), not {self.label_smoothing}")
        for name in ("center", "weight_decay", "max_grad_norm"):
            if getattr(self, name) < 0:
                out.append(f"{name}: at least 0, not {getattr(self, name)}")
        for name in ("epochs", "batch_size", "lora_rank", "lora_alpha", "grad_accum"):
            if getattr(self, name) < 1:
                out.append(f"{name}: at least 1, not {getattr(self, name)}")
        if self.max_length < 2:
            out.append(f"max_length: at least 2, not {self.max_length}")
        if not self.lr > 0:
            out.append(f"lr: above 0, not {self.lr}")
        for name in ("eval_fraction", "warmup_ratio"):
            if not 0.0 <= getattr(self, name) < 1.0:
                out.append(f"{name}: in [0, 1), not {getattr(self, name)}")
        if self.render not in RENDERS:
            out.append(f"render: one of {', '.join(RENDERS)}, not {self.render!r}")
        if self.precision not in PRECISIONS:
            out.append(f"precision: one of {', '.join(PRECISIONS)}, not {self.precision!r}")
        out.extend(self._flip_problems())
        return out

    def _flip_problems(self) -> list[str]:
        out = []
        if self.flip_members < 0:
            out.append(f"flip_members: at least 0, not {self.flip_members}")
        if self.flip_members == 1:
            out.append("flip_members: an ensemble needs at least 2 members")
        if self.flip_members and self.loss != "bt":
            out.append("flip_members: flipping finds mislabelled pairs, for loss='bt' only")
        if not 0.0 < self.flip_fraction <= 1.0:
            out.append(f"flip_fraction: in (0, 1], not {self.flip_fraction}")
        if self.flip_action not in FLIP_ACTIONS:
            out.append(f"flip_action: one of {', '.join(FLIP_ACTIONS)}, not {self.flip_action!r}")
        if self.flip_adaptive_margin and self.margin != "data":
            out.append("flip_adaptive_margin: sets each pair's margin, so needs margin='data'")
        if self.flip_epochs is not None and self.flip_epochs < 1:
            out.append(f"flip_epochs: at least 1, not {self.flip_epochs}")
        return out


@dataclass(frozen=True, slots=True)
class TrainResult:
    """What a run did. ``units`` are pairs (``bt``) or groups (listwise losses);
    ``losses`` is the training loss of every step; ``eval_margins`` holds ``r(chosen) −
    r(rejected)`` of every held-out pair after training, before saving; accuracies are
    None without held-out pairs (a tie counts as wrong)."""

    out_dir: str
    train_units: int
    train_pairs: int
    eval_pairs: int
    steps: int
    losses: tuple[float, ...]
    eval_accuracy: float | None
    eval_accuracy_before: float | None
    eval_margins: tuple[float, ...]
    truncated: int
    seconds: float
    device: str
    flipped: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def train_reward_model(
    data: Any,
    base_model: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    loss: str = "bt",
    margin: float | str = 0.0,
    label_smoothing: float = 0.0,
    center: float = 0.0,
    epochs: int = 1,
    lr: float = 1e-5,
    batch_size: int = 8,
    max_length: int = 1024,
    seed: int = 0,
    lora: bool = False,
    eval_data: Any = None,
    eval_fraction: float = 0.1,
    render: str = "as_given",
    device: str = "auto",
    progress: bool = True,
    **options: Any,
) -> TrainResult:
    """Train a reward model on preference data and save it to ``out_dir``.

    Args:
        data: anything ``load_preferences`` reads (a path, a Dataset, records).
        base_model: a local directory (or hub id) of a causal LM or a sequence classifier.
        out_dir: where the model, tokenizer and README.md go (created).
        loss: ``bt`` (Bradley-Terry on every implied pair), ``listwise`` (softmax over each
            ranking, You Only Judge Once) or ``plackett_luce``.
        margin: a margin for every pair, or ``"data"``: each pair's own (its ``margin``
            field, a scored ranking's score difference, or a flip report's strength; 0
            where none).
        label_smoothing: ε of the smoothed Bradley-Terry loss.
        center: λ of the centering term ``λ (r_c + r_r)²`` (0: off).
        epochs, lr, batch_size: AdamW with a linear decay; ``batch_size`` counts pairs
            (or groups), each scored in one forward pass.
        max_length: tokens per sequence (cut from the left).
        seed: drives initialisation, LoRA and the data order.
        lora: train LoRA adapters (rank 8, alpha 16, all linear layers) and merge them
            before saving; needs ``peft``.
        eval_data: held-out preferences; None: ``eval_fraction`` of the prompts.
        render: ``as_given`` or ``conversation`` (see the module docstring).
        device: ``auto`` (CUDA when there is one), ``cpu``, ``cuda``, ...
        progress: a progress bar on stderr.
        options: any other ``TrainConfig`` field: ``joint`` (You Only Judge Once: each
            pair or group in one sequence, score it with ``rm.joint``), ``grad_accum``
            (batches per optimizer step), ``precision`` (``float32`` or ``bfloat16``
            autocast), ``warmup_ratio``, ``weight_decay``, ``max_grad_norm``,
            ``lora_rank``, ``lora_alpha``, and the flipping settings ``flip_members``
            (an ensemble of that many models first; 0: off), ``flip_fraction``,
            ``flip_action``, ``flip_adaptive_margin``, ``flip_epochs``.

    Returns:
        The run's figures (also written into the model card).

    Raises:
        ConfigError: invalid settings (all of them in one message), chat data for a
            tokenizer without a chat template, or ``lora`` without ``peft``.
        InputError: unreadable data, or no pairs to train on.
        MissingExtraError: ``torch`` or ``transformers`` is not installed.

    Example:
        >>> result = train_reward_model("prefs.jsonl", "my-base", "rm-out")  # doctest: +SKIP
        >>> result.eval_accuracy  # doctest: +SKIP
        0.93
    """
    config = TrainConfig(
        loss=loss, margin=margin, label_smoothing=label_smoothing, center=center,
        epochs=epochs, lr=lr, batch_size=batch_size, max_length=max_length, seed=seed,
        lora=lora, eval_fraction=eval_fraction, render=render, device=device,
    )  # fmt: skip
    unknown = sorted(set(options) - {f.name for f in fields(TrainConfig)})
    if unknown:
        raise ConfigError(f"train_reward_model: no option {', '.join(unknown)}")
    config = replace(config, **options)
    return train_from_config(config, data, base_model, out_dir, eval_data, progress)


def _check(config: TrainConfig) -> None:
    problems = config.problems()
    if config.lora:
        try:
            import peft  # noqa: F401
        except ImportError:
            problems.append("lora: needs the peft package (pip install peft), not installed")
    if problems:
        raise ConfigError("train-rm: " + "; ".join(problems))


def train_from_config(
    config: TrainConfig,
    data: Any,
    base_model: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    eval_data: Any = None,
    progress: bool = True,
) -> TrainResult:
    """``train_reward_model`` with its settings in a ``TrainConfig``."""
    _check(config)
    try:
        import torch
    except ImportError:
        raise MissingExtraError("torch", "hf") from None
    start = time.perf_counter()
    prefs = load_preferences(data)
    held = load_preferences(eval_data) if eval_data is not None else None
    train_set, eval_set = _split(prefs, held, config)
    units = _units(train_set, config.loss)
    if not units:
        raise InputError(f"{prefs.source}: no pairs to train on after holding out evaluation data")
    flipped = 0
    if config.flip_members:
        units, flipped = _flipped(units, str(base_model), config, progress)
    device = _device(config.device)
    torch.manual_seed(config.seed)
    model, tokenizer = _load(str(base_model), config, device)
    encoder = Encoder(tokenizer, config.render, config.max_length)
    encoder.check([*units, *eval_set])
    before = _eval_margins(model, encoder, eval_set, config, device)
    step_losses = _fit(model, encoder, units, config, device, progress)
    after = _eval_margins(model, encoder, eval_set, config, device)
    model = _merged(model)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    result = TrainResult(
        str(out), len(units), sum(len(_as_pairs(u)) for u in units), len(eval_set),
        len(step_losses), tuple(step_losses), _accuracy(after), _accuracy(before),
        tuple(after), encoder.truncated, round(time.perf_counter() - start, 3), device, flipped,
    )  # fmt: skip
    card = model_card(str(base_model), config, prefs, held, train_set, result, encoder.seen)
    (out / "README.md").write_text(card, encoding="utf-8")
    return result


# -- data ------------------------------------------------------------------------------


def _split(
    prefs: PreferenceData, held: PreferenceData | None, config: TrainConfig
) -> tuple[PreferenceData, list[Pair]]:
    """The training data and the held-out pairs: ``held``'s, or a share of the prompts."""
    if held is not None:
        return prefs, held.all_pairs()
    keys = sorted(
        {prompt_key(p.prompt) for p in prefs.pairs} | {prompt_key(r.prompt) for r in prefs.rankings}
    )
    random.Random(config.seed).shuffle(keys)
    n_eval = round(config.eval_fraction * len(keys))
    if config.eval_fraction > 0 and len(keys) > 1:
        n_eval = max(1, min(n_eval, len(keys) - 1))
    chosen = set(keys[:n_eval])
    train = PreferenceData(
        tuple(p for p in prefs.pairs if prompt_key(p.prompt) not in chosen),
        tuple(r for r in prefs.rankings if prompt_key(r.prompt) not in chosen),
        prefs.source, prefs.counts, prefs.problems,
    )  # fmt: skip
    evals = [p for p in prefs.all_pairs() if prompt_key(p.prompt) in chosen]
    return train, evals


def _units(data: PreferenceData, loss: str) -> list[Pair | Ranking]:
    return list(data.all_pairs()) if loss == "bt" else list(data.groups())


def _as_pairs(unit: Pair | Ranking) -> list[Pair]:
    return [unit] if isinstance(unit, Pair) else unit.pairs()


def _flipped(
    units: list[Pair | Ranking], base_model: str, config: TrainConfig, progress: bool
) -> tuple[list[Pair | Ranking], int]:
    """The training pairs after an ensemble's flips (Secrets of RLHF II, ``training.flip``):
    ``flip_members`` models trained on them (plain scoring, seeds ``seed + m``), the
    suspects flipped or dropped. Members are saved in a temporary folder and deleted."""
    pairs = [u for u in units if isinstance(u, Pair)]
    member = replace(
        config, joint=False, flip_members=0,
        epochs=config.flip_epochs if config.flip_epochs is not None else config.epochs,
    )  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="rewardsmith-flip-") as work:
        margins = ensemble_margins(pairs, base_model, work, member, config.flip_members, progress)
    report = find_flips(margins, fraction=config.flip_fraction)
    kept = apply_flips(
        pairs, report, action=config.flip_action, adaptive_margin=config.flip_adaptive_margin
    )
    return list(kept), len(report.suspects)


def pair_margins(pairs: Sequence[Pair], margin: float | str) -> list[float]:
    """The margin each pair trains with: ``margin`` itself, or with ``"data"`` the pair's
    own (0 where it has none)."""
    if margin == "data":
        return [p.margin or 0.0 for p in pairs]
    return [float(margin)] * len(pairs)


# -- model and tokens ------------------------------------------------------------------


def _device(name: str) -> str:
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return name


def _load(source: str, config: TrainConfig, device: str) -> tuple[Any, Any]:
    try:
        import transformers
    except ImportError:
        raise MissingExtraError("transformers", "hf") from None
    source = model_source(source)
    tokenizer = load_tokenizer(transformers, source)
    if tokenizer.pad_token is None:
        if tokenizer.eos_token is not None:
            tokenizer.pad_token = tokenizer.eos_token
        else:
            tokenizer.add_special_tokens({"pad_token": "<pad>"})
    try:
        where, extra = pretrained_args(source)  # a new score head: its weights start fresh
        model = transformers.AutoModelForSequenceClassification.from_pretrained(
            where, num_labels=1, dtype="float32", **extra
        )
    except (ValueError, RuntimeError) as exc:
        raise ConfigError(f"{source}: cannot be loaded as a one-output classifier: {exc}") from None
    if model.get_input_embeddings().weight.shape[0] < len(tokenizer):
        model.resize_token_embeddings(len(tokenizer))
    model.config.pad_token_id = tokenizer.pad_token_id
    if config.lora:
        import peft

        lora = peft.LoraConfig(
            task_type="SEQ_CLS", r=config.lora_rank, lora_alpha=config.lora_alpha,
            lora_dropout=0.0, target_modules="all-linear",
        )  # fmt: skip
        model = peft.get_peft_model(model, lora)
    return model.to(device), tokenizer


def _merged(model: Any) -> Any:
    """A LoRA model with its adapters folded in; any other model as it is."""
    merge = getattr(model, "merge_and_unload", None)
    return merge() if merge is not None else model


# -- training and evaluation -----------------------------------------------------------


def _responses(unit: Pair | Ranking) -> tuple[Content, ...]:
    return (unit.chosen, unit.rejected) if isinstance(unit, Pair) else tuple(unit.responses)


def _unit_scores(
    model: Any, encoder: Encoder, units: Sequence[Pair | Ranking], joint: bool, device: str,
    order: random.Random,
) -> list[Any]:  # fmt: skip
    """Each unit's scores, one per response in the unit's order: every response its own
    sequence, or (``joint``) all of a unit's responses in one, in a shuffled order."""
    if not joint:
        rows = [encoder.ids(u.prompt, r) for u in units for r in _responses(u)]
        flat = forward_scores(model, encoder, rows, device)
        out, at = [], 0
        for u in units:
            n = len(_responses(u))
            out.append(flat[at : at + n])
            at += n
        return out
    perms = [order.sample(range(len(_responses(u))), len(_responses(u))) for u in units]
    packs = [
        encoder.joint(u.prompt, [_responses(u)[k] for k in perm])
        for u, perm in zip(units, perms, strict=True)
    ]
    scores = forward_joint(model, encoder, packs, device)
    return [
        s[[perm.index(k) for k in range(len(perm))]] for s, perm in zip(scores, perms, strict=True)
    ]


def _unit_loss(
    model: Any, encoder: Encoder, units: Sequence[Pair | Ranking], config: TrainConfig, device: str,
    order: random.Random,
) -> Any:  # fmt: skip
    import torch

    per_unit = _unit_scores(model, encoder, units, config.joint, device, order)
    if config.loss == "bt":
        pairs = [u for u in units if isinstance(u, Pair)]
        both = torch.stack(per_unit)
        chosen, rejected = both[:, 0], both[:, 1]
        margin = torch.tensor(pair_margins(pairs, config.margin), device=device)
        loss = losses.bradley_terry(chosen, rejected, margin, config.label_smoothing)
        return loss + losses.centering(both, config.center) if config.center else loss
    width = max(len(x) for x in per_unit)
    scores = per_unit[0].new_zeros((len(per_unit), width))
    mask = torch.zeros((len(per_unit), width), dtype=torch.bool, device=device)
    for i, x in enumerate(per_unit):
        scores[i, : len(x)], mask[i, : len(x)] = x, True
    fn = losses.listwise_softmax if config.loss == "listwise" else losses.plackett_luce
    loss = fn(scores, mask)
    return loss + losses.centering(scores, config.center, mask) if config.center else loss


def _schedule(total: int, warmup_ratio: float) -> Any:
    warm = int(total * warmup_ratio)

    def factor(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        return max(0.0, (total - step) / max(1, total - warm))

    return factor


def _fit(
    model: Any, encoder: Encoder, units: list[Pair | Ranking], config: TrainConfig, device: str,
    progress: bool,
) -> list[float]:  # fmt: skip
    """AdamW with warmup and linear decay; one optimizer step per ``grad_accum`` batches
    (each batch's loss scaled to match one batch of their combined size); forward passes
    under bfloat16 autocast with ``precision="bfloat16"`` (weights and optimizer state stay
    float32). The loss of every step is returned."""
    import torch

    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    per_epoch = math.ceil(math.ceil(len(units) / config.batch_size) / config.grad_accum)
    total = per_epoch * config.epochs
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _schedule(total, config.warmup_ratio))
    order = random.Random(config.seed)
    out: list[float] = []
    span = config.batch_size * config.grad_accum
    model.train()
    with Progress(progress, total) as bar:
        for _ in range(config.epochs):
            shuffled = list(units)
            order.shuffle(shuffled)
            for s in range(0, len(shuffled), span):
                step = shuffled[s : s + span]
                optimizer.zero_grad()
                value = 0.0
                for b in range(0, len(step), config.batch_size):
                    batch = step[b : b + config.batch_size]
                    with _autocast(config.precision, device):
                        loss = _unit_loss(model, encoder, batch, config, device, order)
                    share = len(batch) / len(step)
                    (loss * share).backward()
                    value += float(loss.item()) * share
                if config.max_grad_norm:
                    torch.nn.utils.clip_grad_norm_(params, config.max_grad_norm)
                optimizer.step()
                scheduler.step()
                out.append(value)
                bar.advance(value)
    model.eval()
    return out


def _autocast(precision: str, device: str) -> Any:
    import contextlib

    import torch

    if precision == "float32":
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.split(":")[0], dtype=torch.bfloat16)


def _eval_margins(
    model: Any, encoder: Encoder, pairs: Sequence[Pair], config: TrainConfig, device: str
) -> list[float]:
    """``r(chosen) − r(rejected)`` for every held-out pair; a joint model judges each pair
    in one pass, averaged over both orders (as ``rm.joint`` scores it)."""
    if not config.joint:
        items = [(p.prompt, r) for p in pairs for r in (p.chosen, p.rejected)]
        scores = _score_items(model, encoder, items, config.batch_size, device)
        return [c - r for c, r in zip(scores[0::2], scores[1::2], strict=True)]
    import torch

    was_training = model.training
    model.eval()
    out: list[float] = []
    with torch.no_grad():
        for b in range(0, len(pairs), config.batch_size):
            chunk = pairs[b : b + config.batch_size]
            packs = [
                encoder.joint(p.prompt, two)
                for p in chunk
                for two in ((p.chosen, p.rejected), (p.rejected, p.chosen))
            ]
            got = forward_joint(model, encoder, packs, device)
            for k in range(len(chunk)):
                ahead, behind = got[2 * k].tolist(), got[2 * k + 1].tolist()
                out.append(((ahead[0] - ahead[1]) + (behind[1] - behind[0])) / 2)
    model.train(was_training)
    return out


def _accuracy(margins: Sequence[float]) -> float | None:
    return sum(m > 0 for m in margins) / len(margins) if margins else None


def _score_items(
    model: Any, encoder: Encoder, items: Sequence[tuple[Content, Content]], batch_size: int,
    device: str,
) -> list[float]:  # fmt: skip
    import torch

    was_training = model.training
    model.eval()
    out: list[float] = []
    with torch.no_grad():
        for b in range(0, len(items), batch_size * 2):
            rows = [encoder.ids(p, r) for p, r in items[b : b + batch_size * 2]]
            out.extend(
                float(x) for x in forward_scores(model, encoder, rows, device).cpu().tolist()
            )
    model.train(was_training)
    return out


def score_responses(
    model_dir: str | os.PathLike[str],
    items: Sequence[tuple[Content, Content]],
    *,
    render: str = "as_given",
    max_length: int = 1024,
    batch_size: int = 16,
    device: str = "auto",
) -> list[float]:
    """The reward a saved model gives each ``(prompt, response)``, rendered as in training.

    Example:
        >>> score_responses("rm-out", [("2+2? ", "4"), ("2+2? ", "5")])  # doctest: +SKIP
        [3.1, -2.7]
    """
    import transformers

    source = model_source(str(model_dir))
    tokenizer = load_tokenizer(transformers, source)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    device = _device(device)
    model = load_pretrained(transformers.AutoModelForSequenceClassification, source)
    model.to(device).eval()
    encoder = Encoder(tokenizer, render, max_length)
    return _score_items(model, encoder, items, batch_size, device)
