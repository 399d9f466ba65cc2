"""From texts to features for ``probe-rm``: the model, the token ids of each text, and the
frozen backbone's last hidden state at each text's last token (``evaluate.probe`` trains
the probes on them).

The model is the ``LoadedModel`` that ``rm.score`` uses (``models.hf_model``), so the
loading rules, the pad-with-EOS fallback and token-budget batching are the same; only its
backbone runs (``model.base_model``, what MRMBench loads with ``AutoModel``). The
feature is read at the last token the attention mask keeps, with position ids that count
real tokens only, so left and right padding give the same features up to float rounding
(a RoPE model would not notice the shift; GPT-2's absolute positions would).
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rewardsmith.errors import ConfigError, InputError, MissingExtraError
from rewardsmith.evaluate.probe_data import LabelledText

__all__ = [
    "FeatureOptions",
    "encode_texts",
    "import_torch",
    "last_token_features",
    "load_probe_model",
]

TEMPLATES = ("plain", "chat")
PADDING_SIDES = ("right", "left")
TOKENIZE_CHUNK = 1024


def import_torch() -> Any:
    """torch, or the extra to install."""
    try:
        import torch
    except ImportError:
        raise MissingExtraError("torch", "hf") from None
    return torch


@dataclass(frozen=True, slots=True)
class FeatureOptions:
    """How texts become features. ``template``: ``plain`` is MRMBench's ``input + output``
    with the tokenizer's special tokens; ``chat`` renders a user and an assistant turn with
    the model's chat template, as ``rm.score`` reads a chat. ``max_length``: longer texts
    are left out (capped at the model's own limit). ``max_batch_tokens``: tokens per
    forward pass, padding included (default: ``rm.score``'s for the device)."""

    template: str = "plain"
    append_eos: bool = False
    max_length: int = 2048
    padding_side: str = "right"
    max_batch_tokens: int | None = None

    def __post_init__(self) -> None:
        problems = []
        if self.template not in TEMPLATES:
            problems.append(
                f"template must be one of {', '.join(TEMPLATES)}, got {self.template!r}"
            )
        if self.padding_side not in PADDING_SIDES:
            problems.append(f"padding_side must be right or left, got {self.padding_side!r}")
        if self.max_length < 1:
            problems.append(f"max_length must be >= 1, got {self.max_length}")
        if self.max_batch_tokens is not None and self.max_batch_tokens < 1:
            problems.append(f"max_batch_tokens must be >= 1, got {self.max_batch_tokens}")
        if problems:
            raise ConfigError("feature options: " + "; ".join(problems))


def load_probe_model(model: str, dtype: str = "float32", device: str = "auto") -> Any:
    """The process's ``LoadedModel`` for ``model``: a reward model by ``rm.score``'s rules
    (``*ForSequenceClassification`` or a two-layer head), else a causal LM (MRMBench's
    tables probe instruct models too). Only its backbone is used."""
    from rewardsmith.models.base import Unsupported
    from rewardsmith.models.hf_model import loaded_model

    if device == "auto":
        device = "cuda" if import_torch().cuda.is_available() else "cpu"
    try:
        try:
            return loaded_model(model, "classifier", dtype, device)
        except Unsupported as first:
            try:
                return loaded_model(model, "causal", dtype, device)
            except Unsupported:
                raise first from None
    except OSError as exc:  # no such directory, or a hub id that cannot be read
        raise InputError(f"{model}: {exc}") from None


def _backbone(loaded: Any) -> Any:
    if loaded.kind == "two_layer_head":
        return loaded.model.backbone
    return loaded.model.base_model


def _render(loaded: Any, item: LabelledText, template: str) -> tuple[str, bool]:
    if template == "plain":
        return item.input + item.output, True
    from rewardsmith.models.hf_model import RunOptions

    chat = [{"role": "user", "content": item.input}, {"role": "assistant", "content": item.output}]
    try:
        text, special = loaded.render(chat, RunOptions(), prefix=False)
    except ValueError as exc:
        raise ConfigError(f"template 'chat': {exc}") from None
    return str(text), bool(special)


def encode_texts(
    loaded: Any, items: Sequence[LabelledText], options: FeatureOptions
) -> list[list[int] | None]:
    """Each item's token ids, or None when it is empty or over ``options.max_length``
    (capped at the model's limit): left out, as MRMBench leaves out long texts."""
    limit = min(options.max_length, loaded.max_length)
    tok = loaded.tokenizer
    eos = tok.eos_token_id
    out: list[list[int] | None] = []
    with loaded.lock:
        rendered = [_render(loaded, item, options.template) for item in items]
        for start in range(0, len(rendered), TOKENIZE_CHUNK):
            chunk = rendered[start : start + TOKENIZE_CHUNK]
            special = chunk[0][1]  # one template: the same for every text
            encoded = tok([text for text, _ in chunk], add_special_tokens=special)["input_ids"]
            for row in encoded:
                ids = [int(i) for i in row]
                if options.append_eos and eos is not None and (not ids or ids[-1] != eos):
                    ids.append(int(eos))
                out.append(ids if 0 < len(ids) <= limit else None)
    return out


def _padded(torch: Any, rows: list[list[int]], pad: int, side: str) -> tuple[Any, Any]:
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for k, row in enumerate(rows):
        span = slice(0, len(row)) if side == "right" else slice(width - len(row), width)
        ids[k, span] = torch.tensor(row, dtype=torch.long)
        mask[k, span] = 1
    return ids, mask


def last_token_features(
    loaded: Any,
    rows: Sequence[list[int]],
    padding_side: str = "right",
    max_batch_tokens: int | None = None,
) -> Any:
    """The backbone's last hidden state at each row's last token: a float32 CPU tensor of
    (rows, hidden). Rows are batched by token budget and padded on ``padding_side``;
    position ids count real tokens only, so left padding does not shift absolute
    positions (GPT-2) and both sides give the same features up to float rounding."""
    from rewardsmith.models.batching import default_batch_tokens, token_budget_batches

    torch = loaded.torch
    backbone = _backbone(loaded)
    accepts = inspect.signature(backbone.forward).parameters
    budget = max_batch_tokens or default_batch_tokens(loaded.device)
    pad = int(loaded.tokenizer.pad_token_id)
    out = None
    with loaded.lock:
        for batch in token_budget_batches([len(r) for r in rows], budget):
            ids, mask = _padded(torch, [rows[b] for b in batch], pad, padding_side)
            kwargs = {"input_ids": ids.to(loaded.device), "attention_mask": mask.to(loaded.device)}
            if "position_ids" in accepts:
                kwargs["position_ids"] = (mask.cumsum(-1) - 1).clamp(min=0).to(loaded.device)
            if "use_cache" in accepts:
                kwargs["use_cache"] = False
            with torch.inference_mode():
                hidden = backbone(**kwargs)[0]
                width = ids.shape[1]
                last = [width - 1 if padding_side == "left" else len(rows[b]) - 1 for b in batch]
                where = torch.tensor(last, device=hidden.device)
                picked = hidden[torch.arange(len(batch), device=hidden.device), where].float().cpu()
            if out is None:  # made outside inference mode: the probe trains on it
                out = torch.empty((len(rows), picked.shape[-1]), dtype=torch.float32)
            out[torch.tensor(batch)] = picked
    return out if out is not None else torch.empty((0, 0))
