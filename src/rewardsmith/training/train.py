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

Known issues: the whole data set is tokenized up front (memory grows with it); training
runs in float32 with no gradient accumulation or mixed precision; listwise groups are
scored as separate sequences in one batched forward pass, not YOJO's single concatenated
input (which needs a multi-response head ``rm.score`` cannot read).
"""

from __future__ import annotations

import math
import os
import random
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rewardsmith.errors import ConfigError, InputError, MissingExtraError
from rewardsmith.training import losses
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
        for name in ("epochs", "batch_size", "lora_rank", "lora_alpha"):
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
    device = _device(config.device)
    torch.manual_seed(config.seed)
    model, tokenizer = _load(str(base_model), config, device)
    encoder = _Encoder(tokenizer, config.render, config.max_length)
    encoder.check([*units, *eval_set])
    before = _eval_margins(model, encoder, eval_set, config.batch_size, device)
    step_losses = _fit(model, encoder, units, config, device, progress)
    after = _eval_margins(model, encoder, eval_set, config.batch_size, device)
    model = _merged(model)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    result = TrainResult(
        str(out), len(units), sum(len(_as_pairs(u)) for u in units), len(eval_set),
        len(step_losses), tuple(step_losses), _accuracy(after), _accuracy(before),
        tuple(after), encoder.truncated, round(time.perf_counter() - start, 3), device,
    )  # fmt: skip
    card = _model_card(str(base_model), config, prefs, held, train_set, result, encoder.seen)
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
    tokenizer = transformers.AutoTokenizer.from_pretrained(source)
    if tokenizer.pad_token is None:
        if tokenizer.eos_token is not None:
            tokenizer.pad_token = tokenizer.eos_token
        else:
            tokenizer.add_special_tokens({"pad_token": "<pad>"})
    try:
        model = transformers.AutoModelForSequenceClassification.from_pretrained(
            source, num_labels=1, dtype="float32"
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


class _Encoder:
    """Renders and tokenizes (prompt, response) items once each, as ``rm.score`` does."""

    def __init__(self, tokenizer: Any, render: str, max_length: int) -> None:
        self.tokenizer, self.render, self.max_length = tokenizer, render, max_length
        self.cache: dict[tuple[Content, Content], list[int]] = {}
        self.truncated = 0
        self.seen: set[str] = set()  # "chat" and/or "text": how items were rendered
        self.specials = set(int(i) for i in tokenizer.all_special_ids)
        self.special_strings = sorted(
            {str(t) for t in tokenizer.all_special_tokens}, key=len, reverse=True
        )

    def check(self, units: Sequence[Pair | Ranking]) -> None:
        """Fail before training if chat data meets a tokenizer with no chat template."""
        if self.tokenizer.chat_template:
            return
        for unit in units:
            prompt = unit.prompt
            responses = (unit.chosen, unit.rejected) if isinstance(unit, Pair) else unit.responses
            if self.render == "conversation" or any(
                not isinstance(x, str) for x in (prompt, *responses)
            ):
                raise ConfigError(
                    f"{unit.origin}: chat input, but the tokenizer has no chat template "
                    "(pass text, or render='as_given' with text data)"
                )

    def _messages(self, content: Content, role: str) -> list[dict[str, str]]:
        if isinstance(content, str):
            return [{"role": role, "content": content}] if content else []
        return [{"role": t.role, "content": t.content} for t in content]

    def _strip(self, text: str) -> str:
        for token in self.special_strings:
            text = text.replace(token, "")
        return text

    def _text(self, prompt: Content, response: Content) -> tuple[str, bool]:
        chat = self.render == "conversation" or not (
            isinstance(prompt, str) and isinstance(response, str)
        )
        self.seen.add("chat" if chat else "text")
        if not chat:
            return f"{prompt}{response}", True
        messages = self._messages(prompt, "user") + self._messages(response, "assistant")
        messages = [{**m, "content": self._strip(m["content"])} for m in messages]
        text = self.tokenizer.apply_chat_template(messages, tokenize=False)
        return str(text), False

    def ids(self, prompt: Content, response: Content) -> list[int]:
        key = (prompt, response)
        if key not in self.cache:
            text, special = self._text(prompt, response)
            ids = [int(i) for i in self.tokenizer(text, add_special_tokens=special)["input_ids"]]
            if len(ids) > self.max_length:
                self.truncated += 1
                lead = 0
                while lead < self.max_length // 2 and ids[lead] in self.specials:
                    lead += 1
                ids = ids[:lead] + ids[len(ids) - (self.max_length - lead) :]
            self.cache[key] = ids
        return self.cache[key]

    def batch(self, rows: Sequence[list[int]], device: str) -> tuple[Any, Any]:
        import torch

        width = max(len(r) for r in rows)
        pad = int(self.tokenizer.pad_token_id)
        ids = torch.full((len(rows), width), pad, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, row in enumerate(rows):
            ids[i, : len(row)] = torch.tensor(row, dtype=torch.long)
            mask[i, : len(row)] = 1
        return ids.to(device), mask.to(device)


def _forward(model: Any, encoder: _Encoder, rows: Sequence[list[int]], device: str) -> Any:
    ids, mask = encoder.batch(rows, device)
    return model(input_ids=ids, attention_mask=mask).logits[:, 0].float()


# -- training and evaluation -----------------------------------------------------------


def _unit_loss(
    model: Any, encoder: _Encoder, units: Sequence[Pair | Ranking], config: TrainConfig, device: str
) -> Any:
    import torch

    if config.loss == "bt":
        pairs = [u for u in units if isinstance(u, Pair)]
        rows = [encoder.ids(p.prompt, p.chosen) for p in pairs]
        rows += [encoder.ids(p.prompt, p.rejected) for p in pairs]
        scores = _forward(model, encoder, rows, device)
        chosen, rejected = scores[: len(pairs)], scores[len(pairs) :]
        margin = torch.tensor(pair_margins(pairs, config.margin), device=device)
        loss = losses.bradley_terry(chosen, rejected, margin, config.label_smoothing)
        both = torch.stack([chosen, rejected], dim=1)
        return loss + losses.centering(both, config.center) if config.center else loss
    groups = [u for u in units if isinstance(u, Ranking)]
    rows = [encoder.ids(g.prompt, r) for g in groups for r in g.responses]
    flat = _forward(model, encoder, rows, device)
    width = max(len(g.responses) for g in groups)
    scores = flat.new_zeros((len(groups), width))
    mask = torch.zeros((len(groups), width), dtype=torch.bool, device=device)
    at = 0
    for i, g in enumerate(groups):
        n = len(g.responses)
        scores[i, :n], mask[i, :n] = flat[at : at + n], True
        at += n
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
    model: Any, encoder: _Encoder, units: list[Pair | Ranking], config: TrainConfig, device: str,
    progress: bool,
) -> list[float]:  # fmt: skip
    import torch

    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    per_epoch = math.ceil(len(units) / config.batch_size)
    total = per_epoch * config.epochs
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _schedule(total, config.warmup_ratio))
    order = random.Random(config.seed)
    out: list[float] = []
    model.train()
    with _Progress(progress, total) as bar:
        for _ in range(config.epochs):
            shuffled = list(units)
            order.shuffle(shuffled)
            for b in range(0, len(shuffled), config.batch_size):
                loss = _unit_loss(
                    model, encoder, shuffled[b : b + config.batch_size], config, device
                )
                optimizer.zero_grad()
                loss.backward()
                if config.max_grad_norm:
                    torch.nn.utils.clip_grad_norm_(params, config.max_grad_norm)
                optimizer.step()
                scheduler.step()
                out.append(float(loss.item()))
                bar.advance(out[-1])
    model.eval()
    return out


def _eval_margins(
    model: Any, encoder: _Encoder, pairs: Sequence[Pair], batch_size: int, device: str
) -> list[float]:
    """``r(chosen) − r(rejected)`` for every held-out pair."""
    items = [(p.prompt, r) for p in pairs for r in (p.chosen, p.rejected)]
    scores = _score_items(model, encoder, items, batch_size, device)
    return [c - r for c, r in zip(scores[0::2], scores[1::2], strict=True)]


def _accuracy(margins: Sequence[float]) -> float | None:
    return sum(m > 0 for m in margins) / len(margins) if margins else None


def _score_items(
    model: Any, encoder: _Encoder, items: Sequence[tuple[Content, Content]], batch_size: int,
    device: str,
) -> list[float]:  # fmt: skip
    import torch

    was_training = model.training
    model.eval()
    out: list[float] = []
    with torch.no_grad():
        for b in range(0, len(items), batch_size * 2):
            rows = [encoder.ids(p, r) for p, r in items[b : b + batch_size * 2]]
            out.extend(float(x) for x in _forward(model, encoder, rows, device).cpu().tolist())
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

    tokenizer = transformers.AutoTokenizer.from_pretrained(str(model_dir))
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    device = _device(device)
    model = transformers.AutoModelForSequenceClassification.from_pretrained(str(model_dir))
    model.to(device).eval()
    encoder = _Encoder(tokenizer, render, max_length)
    return _score_items(model, encoder, items, batch_size, device)


# -- the model card --------------------------------------------------------------------

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


def _model_card(
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
    use = "\n".join(
        f"reward: {{use: rm.score, with: {{model: {result.out_dir}, input: {i}}}}}" for i in inputs
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
        f"- {center}", "",
        "## Training", "",
        f"- {lora}; {config.epochs} epochs, lr {config.lr}, batch {config.batch_size}, "
        f"max_length {config.max_length}, seed {config.seed}, render `{config.render}`",
        f"- {result.steps} steps on {result.device} in {result.seconds:.1f} s; "
        f"{result.truncated} sequences truncated", "",
        "## Held-out pairwise accuracy", "",
        f"{_percent(result.eval_accuracy)} after training, {_percent(result.eval_accuracy_before)} "
        f"before, over {result.eval_pairs} pairs (a tie counts as wrong).", "",
        "## Use", "", *([mixed, ""] if mixed else []),
        "```yaml", use, "```", "",
    ]  # fmt: skip
    return "\n".join(lines)


class _Progress:
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

    def __enter__(self) -> _Progress:
        self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.stop()
