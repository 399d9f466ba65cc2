"""Linear probes on a reward model's representations: MRMBench's protocol (Probing Preference
Representations, arXiv 2511.12464).

What it measures: for each preference dimension (harmlessness, helpfulness, correctness,
coherence, complexity, verbosity), whether the dimension's label can be read off the
frozen model's last-token hidden state by a linear map. The figure is a probe's accuracy
on held-out texts per dimension and their unweighted mean. Range [0, 1]; compare it with
``majority``, the accuracy of always guessing the commonest test label.

The protocol, read from wangclnlp/MRMBench at commit ``4ad58de``
(``src/task1_discriminant_rm_deepspeed_cate_2.py`` for Easy, ``_cate_3.py`` for Hard,
``script/evaluate_MRMBench-*.sh``, ``src/ds_utils.py``):

* text: ``input + output``, joined with nothing between, tokenised with the tokenizer's
  special tokens; a text over ``max_seq_len`` (2048) tokens is left out of train and test
  alike (``TextDataset.__getitem__`` returns None, ``collate_fn`` drops it);
* feature: the backbone's (``AutoModel``) last hidden state, ``transformer_outputs[0]``,
  at the last token before the first pad;
* probe: ``nn.Linear(hidden, 1, bias=False)`` under ``BCEWithLogitsLoss`` (Easy), or
  ``nn.Linear(hidden, 3, bias=False)`` under ``CrossEntropyLoss`` (Hard); the backbone is
  frozen (``requires_grad_(False)``);
* optimiser: Adam with decoupled weight decay (DeepSpeed ``FusedAdam``) at lr 5e-5, betas
  (0.9, 0.95), eps 1e-8, weight decay 0.1 on the probe's weight; gradient clipping 1.0;
  cosine schedule without warmup over ``ceil(batches / 8)`` steps; one epoch; 8 texts per
  device times 8 accumulation steps, 64 texts a step;
* accuracy: ``sigmoid(logit) > 0.5`` against the label (Easy), the argmax of the softmax
  (Hard), over the test file.

Here the features are extracted once (batched, ``inference_mode``, eval mode) and the probe
trains on the cached features. That is the same computation as MRMBench's loop when the
backbone has no active dropout: MRMBench puts the backbone in train mode and never uses
its ``--disable_dropout`` flag, so a backbone whose config has dropout (GPT-2, OPT) sees
dropped-out features while training there; Llama, Mistral, Qwen2 and Gemma configs default
to none. Other differences, each deliberate: accuracy is taken once, after training
(MRMBench evaluates every ``eval_steps`` micro-batches inside the epoch and never after
the last step); the last partial batch of an epoch is a step (DeepSpeed applies only whole
accumulation groups, so up to 63 texts never update the probe there); features are
float32 unless ``dtype`` says otherwise (MRMBench runs bf16); the reading point is the
last token the attention mask keeps, on either padding side (MRMBench looks for the first
pad id, so a pad or pad-equals-EOS token inside a text moves it); the tokenizer is used as
saved (MRMBench rewires some by the model path's name: pad 0 and an appended EOS for paths
naming llama, ziya, gpt2 or rm; an appended ``<|eot_id|>`` for llama-3), and
``append_eos`` reproduces the appended EOS.

Known issues: a linear probe measures what is decodable, not what the reward head uses;
a dimension whose labels are skewed scores its majority rate with a probe that learned
nothing (compare ``majority``). MRMBench's inference-time probing (probes applied while
scoring, low-confidence rewards filtered in PPO) is not in its repository at that commit
and is not built here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from rewardsmith.errors import ConfigError, InputError
from rewardsmith.evaluate.probe_data import Dimension, LabelledText
from rewardsmith.evaluate.probe_features import (
    FeatureOptions,
    encode_texts,
    import_torch,
    last_token_features,
    load_probe_model,
)

__all__ = [
    "SOURCE_COMMIT",
    "DimensionResult",
    "ProbeConfig",
    "ProbeEvaluation",
    "ProbeFit",
    "probe_accuracy",
    "probe_rm",
    "train_probe",
]

SOURCE_COMMIT = "4ad58deaf96b1f81aee755121edd20495a02d1a3"


@dataclass(frozen=True, slots=True)
class ProbeConfig:
    """How a probe trains; the defaults are MRMBench's (``seed`` 42 is its Easy script's,
    its Hard script uses 1234)."""

    lr: float = 5e-5
    epochs: int = 1
    batch_size: int = 64
    weight_decay: float = 0.1
    betas: tuple[float, float] = (0.9, 0.95)
    eps: float = 1e-8
    max_grad_norm: float = 1.0
    warmup_steps: int = 0
    seed: int = 42

    def __post_init__(self) -> None:
        problems = [
            f"{name} must be {rule}, got {value}"
            for name, value, ok, rule in (
                ("lr", self.lr, self.lr > 0, "> 0"),
                ("epochs", self.epochs, self.epochs >= 1, ">= 1"),
                ("batch_size", self.batch_size, self.batch_size >= 1, ">= 1"),
                ("weight_decay", self.weight_decay, self.weight_decay >= 0, ">= 0"),
                ("betas", self.betas, all(0 <= b < 1 for b in self.betas), "in [0, 1)"),
                ("eps", self.eps, self.eps > 0, "> 0"),
                ("max_grad_norm", self.max_grad_norm, self.max_grad_norm >= 0, ">= 0 (0: off)"),
                ("warmup_steps", self.warmup_steps, self.warmup_steps >= 0, ">= 0"),
            )
            if not ok
        ]
        if problems:
            raise ConfigError("probe settings: " + "; ".join(problems))


@dataclass(frozen=True, slots=True)
class ProbeFit:
    """A trained probe: ``weight`` is (1, hidden) for two classes, (classes, hidden) else;
    ``losses`` the training loss at each step."""

    weight: Any
    losses: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class DimensionResult:
    """One dimension's probe: held-out ``accuracy``; ``majority``, the share of the
    commonest test label; texts used, and ``left_out`` (over ``max_length``)."""

    name: str
    accuracy: float
    majority: float
    train: int
    test: int
    left_out: int
    steps: int
    final_loss: float


@dataclass(frozen=True, slots=True)
class ProbeEvaluation:
    """Every dimension's result and their unweighted mean (MRMBench's ``Avg.``)."""

    model: str
    version: str
    dimensions: list[DimensionResult]
    average: float
    config: ProbeConfig
    features: FeatureOptions
    source_commit: str = SOURCE_COMMIT

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# -- the probe --------------------------------------------------------------------------


def _cosine(warmup: int, total: int) -> Callable[[int], float]:
    """transformers' ``get_cosine_schedule_with_warmup`` factor (half a cosine to 0)."""

    def factor(step: int) -> float:
        if step < warmup:
            return step / max(1, warmup)
        progress = (step - warmup) / max(1, total - warmup)
        return max(0.0, 0.5 * (1.0 + math.cos(math.pi * progress)))

    return factor


def _loss(torch: Any, logits: Any, labels: Any, classes: int) -> Any:
    if classes == 2:
        return torch.nn.functional.binary_cross_entropy_with_logits(logits[:, 0], labels.float())
    return torch.nn.functional.cross_entropy(logits, labels)


def train_probe(
    features: Any, labels: Any, classes: int = 2, config: ProbeConfig | None = None
) -> ProbeFit:
    """Train a bias-free linear probe on ``features`` (n, hidden) for integer ``labels``.

    Two classes: one logit under BCE-with-logits; more: one logit per class under
    cross-entropy. The weight starts as ``nn.Linear``'s does, uniform in
    +-1/sqrt(hidden), drawn from ``config.seed``, which also shuffles each epoch.

    Example:
        >>> import torch
        >>> x = torch.tensor([[1.0, 0.0], [0.0, 1.0]] * 8)
        >>> fit = train_probe(x, torch.tensor([1, 0] * 8), config=ProbeConfig(lr=0.1, epochs=20))
        >>> probe_accuracy(x @ fit.weight.T, [1, 0] * 8)
        1.0
    """
    torch = import_torch()
    config = config or ProbeConfig()
    features = torch.as_tensor(features, dtype=torch.float32)
    labels = torch.as_tensor(labels, dtype=torch.long)
    n, hidden = features.shape
    gen = torch.Generator().manual_seed(config.seed)
    bound = 1 / math.sqrt(hidden)
    weight = torch.empty((1 if classes == 2 else classes, hidden)).uniform_(
        -bound, bound, generator=gen
    )
    weight.requires_grad_(True)
    opt = torch.optim.AdamW(
        [weight],
        lr=config.lr,
        betas=config.betas,
        eps=config.eps,
        weight_decay=config.weight_decay,
    )
    total = math.ceil(n / config.batch_size) * config.epochs
    schedule = torch.optim.lr_scheduler.LambdaLR(opt, _cosine(config.warmup_steps, total))
    losses = []
    for _ in range(config.epochs):
        order = torch.randperm(n, generator=gen)
        for start in range(0, n, config.batch_size):
            take = order[start : start + config.batch_size]
            loss = _loss(torch, features[take] @ weight.T, labels[take], classes)
            opt.zero_grad()
            loss.backward()
            if config.max_grad_norm > 0:
                torch.nn.utils.clip_grad_norm_([weight], config.max_grad_norm)
            opt.step()
            schedule.step()
            losses.append(loss.item())
    return ProbeFit(weight.detach(), tuple(losses))


def probe_accuracy(logits: Any, labels: Any) -> float:
    """MRMBench's accuracy: with one logit per text, ``sigmoid(logit) > 0.5`` is class 1
    (computed in float32 as in the source, so a logit under about 3e-8 rounds to 0.5 and
    counts as class 0); with several, the argmax (the first on a tie).

    Example:
        >>> probe_accuracy([2.0, -1.0, 0.0, 0.5], [1, 0, 1, 0])  # 0.0 is class 0
        0.5
        >>> probe_accuracy([[0.1, 0.7, 0.2], [3.0, 1.0, 1.0]], [1, 2])
        0.5
    """
    torch = import_torch()
    scores = torch.as_tensor(logits, dtype=torch.float32)
    truth = torch.as_tensor(labels, dtype=torch.long)
    if scores.ndim == 2 and scores.shape[1] == 1:
        scores = scores[:, 0]
    if scores.shape[0] != truth.shape[0]:
        raise ValueError(f"{scores.shape[0]} logits for {truth.shape[0]} labels")
    if not len(truth):
        raise ValueError("no labels to score")
    predicted = (torch.sigmoid(scores) > 0.5).long() if scores.ndim == 1 else scores.argmax(-1)
    return int((predicted == truth).sum()) / len(truth)


# -- the whole run ----------------------------------------------------------------------


def _check_labels(dimensions: Sequence[Dimension], classes: int) -> None:
    problems = []
    for dim in dimensions:
        seen = sorted({x.label for x in (*dim.train, *dim.test)})
        if seen and seen[-1] >= classes:
            version = "Hard, 3 classes" if classes == 3 else "Easy, 2 classes"
            problems.append(f"{dim.name} has labels {seen}, over {version} (0..{classes - 1})")
        for split, items in (("train", dim.train), ("test", dim.test)):
            if not items:
                problems.append(f"{dim.name} has no {split} rows")
    if problems:
        raise InputError("; ".join(problems))


def _probe_one(
    dim: Dimension,
    row_of: dict[tuple[str, str], int],
    features: Any,
    classes: int,
    config: ProbeConfig,
) -> DimensionResult:
    torch = import_torch()
    split: dict[str, tuple[Any, Any]] = {}
    for name, items in (("train", dim.train), ("test", dim.test)):
        kept = [
            (row_of[(x.input, x.output)], x.label) for x in items if (x.input, x.output) in row_of
        ]
        if not kept:
            raise InputError(f"{dim.name}: no {name} text fits in max_length")
        split[name] = (torch.tensor([r for r, _ in kept]), torch.tensor([y for _, y in kept]))
    (xs, ys), (xt, yt) = split["train"], split["test"]
    fit = train_probe(features[xs], ys, classes, config)
    logits = features[xt] @ fit.weight.T
    counts = torch.bincount(yt)
    return DimensionResult(
        name=dim.name,
        accuracy=probe_accuracy(logits, yt),
        majority=float(counts.max()) / len(yt),
        train=len(ys),
        test=len(yt),
        left_out=len(dim.train) + len(dim.test) - len(ys) - len(yt),
        steps=len(fit.losses),
        final_loss=fit.losses[-1],
    )


def probe_rm(
    model: str,
    dimensions: Sequence[Dimension],
    hard: bool = False,
    config: ProbeConfig | None = None,
    features: FeatureOptions | None = None,
    dtype: str = "float32",
    device: str = "auto",
    log: Callable[[str], None] | None = None,
) -> ProbeEvaluation:
    """Probe ``model``'s representations for each dimension and report held-out accuracy.

    Every distinct (input, output) text is encoded and run through the frozen backbone
    once, shared across dimensions and splits; each dimension's probe then trains on the
    cached features of its train split and is scored on its test split.

    Args:
        model: a reward model directory (or hub id), loaded by ``rm.score``'s rules; a
            causal LM works too.
        dimensions: from ``load_mrmbench``, ``load_label_files`` or built by hand.
        hard: MRMBench-Hard, three classes (cross-entropy, argmax); else Easy, two.
        config: the probe's training settings (default: MRMBench's).
        features: how texts become features (default: MRMBench's plain text).
        dtype, device: where the model runs (``auto``: a GPU when there is one).
        log: called with a line on each stage (the CLI prints them to stderr).

    Example:
        >>> probe_rm("my-rm", load_mrmbench("data")).average  # doctest: +SKIP
        0.764
    """
    config = config or ProbeConfig()
    features = features or FeatureOptions()
    say = log or (lambda _: None)
    if not dimensions:
        raise InputError("no dimensions to probe")
    classes = 3 if hard else 2
    _check_labels(dimensions, classes)
    loaded = load_probe_model(model, dtype, device)
    texts = list(
        dict.fromkeys((x.input, x.output) for d in dimensions for x in (*d.train, *d.test))
    )
    say(f"encoding {len(texts)} distinct texts")
    rows = encode_texts(loaded, [LabelledText(i, o, 0) for i, o in texts], features)
    kept = [k for k, r in enumerate(rows) if r is not None]
    say(f"extracting features of {len(kept)} texts ({len(texts) - len(kept)} left out)")
    cached = last_token_features(
        loaded, [rows[k] or [] for k in kept], features.padding_side, features.max_batch_tokens
    )
    row_of = {texts[k]: n for n, k in enumerate(kept)}
    results = []
    for dim in dimensions:
        say(f"training the {dim.name} probe")
        results.append(_probe_one(dim, row_of, cached, classes, config))
    return ProbeEvaluation(
        model=model,
        version="hard" if hard else "easy",
        dimensions=results,
        average=sum(r.accuracy for r in results) / len(results),
        config=config,
        features=features,
    )
