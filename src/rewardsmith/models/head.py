"""The two-layer reward head (BaseReward) and the directory format that holds it.

BaseReward (arXiv 2509.16127) found that a reward model scores best with a two-layer head
on the final token's hidden state, ``h -> Linear -> SiLU -> Linear -> r``, rather than the
single ``Linear`` of a ``*ForSequenceClassification`` model. ``transformers`` has no class
for that, so rewardsmith defines one on-disk format, read by ``HFBackend`` and written by
``save_reward_model`` (``rewardsmith train-rm`` saves a ``*ForSequenceClassification`` model).

A reward-model directory in this format holds:

- the backbone, as ``AutoModel.save_pretrained`` writes it (``config.json`` and the
  weights), and the tokenizer files (``AutoTokenizer.save_pretrained``);
- ``rewardsmith_head.json``: ``{"format": "rewardsmith.two_layer_head", "version": 1,
  "hidden_size": H, "intermediate_size": I, "activation": "silu", "labels": ["score"]}``
  (``activation``: ``silu``, ``tanh``, ``gelu``, ``relu`` or ``none``; ``labels`` name
  the outputs, one per head);
- ``rewardsmith_head.safetensors``: ``dense.weight`` (I, H), ``dense.bias`` (I),
  ``out.weight`` (L, I), ``out.bias`` (L), in float32.

The score of a text: ``h`` is the backbone's last hidden state at the last token the
attention mask keeps (so left or right padding gives the same row), cast to float32;
``r = out(act(dense(h)))``. The head always runs in float32, whatever the backbone's dtype.

Known issues: the head reads the last token, so a text truncated on the right would be
scored on a token in the middle of the completion (``HFBackend`` truncates on the left for
that reason); only backbones whose ``AutoModel`` output has ``last_hidden_state`` work.
"""

from __future__ import annotations

import json
import os
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from rewardsmith.errors import ConfigError, MissingExtraError

__all__ = [
    "ACTIVATIONS",
    "HEAD_CONFIG",
    "HEAD_FORMAT",
    "HEAD_WEIGHTS",
    "HeadConfig",
    "HeadModel",
    "build_head",
    "is_head_dir",
    "load_head",
    "read_head_config",
    "save_head",
    "save_reward_model",
]

HEAD_FORMAT = "rewardsmith.two_layer_head"
HEAD_CONFIG = "rewardsmith_head.json"
HEAD_WEIGHTS = "rewardsmith_head.safetensors"
ACTIVATIONS = ("silu", "tanh", "gelu", "relu", "none")


@dataclass(frozen=True, slots=True)
class HeadConfig:
    """The shape of a two-layer head: ``hidden_size -> intermediate_size -> len(labels)``."""

    hidden_size: int
    intermediate_size: int
    activation: str = "silu"
    labels: tuple[str, ...] = ("score",)

    def __post_init__(self) -> None:
        problems = []
        if self.hidden_size < 1 or self.intermediate_size < 1:
            problems.append("hidden_size and intermediate_size must be positive")
        if self.activation not in ACTIVATIONS:
            problems.append(f"activation must be one of {ACTIVATIONS}, not {self.activation!r}")
        if not self.labels or len(set(self.labels)) != len(self.labels):
            problems.append("labels must be distinct and not empty")
        if problems:
            raise ConfigError("two-layer head: " + "; ".join(problems))

    def to_json(self) -> dict[str, Any]:
        return {
            "format": HEAD_FORMAT,
            "version": 1,
            "hidden_size": self.hidden_size,
            "intermediate_size": self.intermediate_size,
            "activation": self.activation,
            "labels": list(self.labels),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> HeadConfig:
        if data.get("format") != HEAD_FORMAT or data.get("version") != 1:
            raise ConfigError(f"{HEAD_CONFIG}: not a {HEAD_FORMAT} version 1 file")
        try:
            return cls(
                int(data["hidden_size"]),
                int(data["intermediate_size"]),
                str(data.get("activation", "silu")),
                tuple(str(x) for x in data.get("labels", ["score"])),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"{HEAD_CONFIG}: {type(exc).__name__}: {exc}") from None


def is_head_dir(path: str) -> bool:
    """Whether ``path`` is a directory holding a two-layer head."""
    return os.path.isfile(os.path.join(path, HEAD_CONFIG))


def read_head_config(path: str) -> HeadConfig:
    """The head's shape, read from ``path/rewardsmith_head.json`` (no torch needed)."""
    with open(os.path.join(path, HEAD_CONFIG), encoding="utf-8") as f:
        return HeadConfig.from_json(json.load(f))


def _torch() -> Any:
    try:
        import torch
    except ImportError:
        raise MissingExtraError("torch", "hf") from None
    return torch


def build_head(config: HeadConfig, seed: int | None = None) -> Any:
    """A fresh ``torch.nn.Sequential`` with modules ``dense``, ``act`` and ``out``."""
    torch = _torch()
    nn = torch.nn
    acts = {"silu": nn.SiLU, "tanh": nn.Tanh, "gelu": nn.GELU, "relu": nn.ReLU}
    generator = None if seed is None else torch.Generator().manual_seed(seed)
    dense = nn.Linear(config.hidden_size, config.intermediate_size)
    out = nn.Linear(config.intermediate_size, len(config.labels))
    if generator is not None:
        for layer in (dense, out):
            bound = 1.0 / layer.in_features**0.5
            with torch.no_grad():
                layer.weight.uniform_(-bound, bound, generator=generator)
                layer.bias.uniform_(-bound, bound, generator=generator)
    act = acts[config.activation]() if config.activation != "none" else nn.Identity()
    return nn.Sequential(OrderedDict(dense=dense, act=act, out=out)).float()


def save_head(path: str, head: Any, config: HeadConfig) -> None:
    """Write ``head`` (from ``build_head``) and its config into the directory ``path``."""
    from safetensors.torch import save_file

    os.makedirs(path, exist_ok=True)
    state = {k: v.detach().float().contiguous().cpu() for k, v in head.state_dict().items()}
    save_file(state, os.path.join(path, HEAD_WEIGHTS), metadata={"format": HEAD_FORMAT})
    with open(os.path.join(path, HEAD_CONFIG), "w", encoding="utf-8") as f:
        json.dump(config.to_json(), f, indent=2)


def load_head(path: str, device: str = "cpu") -> tuple[HeadConfig, Any]:
    """The config and the float32 head saved in ``path``; ConfigError if the shapes disagree."""
    from safetensors.torch import load_file

    config = read_head_config(path)
    head = build_head(config)
    state = load_file(os.path.join(path, HEAD_WEIGHTS))
    expected = {k: tuple(v.shape) for k, v in head.state_dict().items()}
    found = {k: tuple(v.shape) for k, v in state.items()}
    if found != expected:
        raise ConfigError(f"{HEAD_WEIGHTS}: tensors {found} do not match {HEAD_CONFIG} {expected}")
    head.load_state_dict(state)
    return config, head.to(device).eval()


class HeadModel:
    """A backbone (``AutoModel``) and a two-layer head: ``(ids, mask) -> (batch, labels)``."""

    def __init__(self, backbone: Any, head: Any, config: HeadConfig) -> None:
        hidden = getattr(backbone.config, "hidden_size", config.hidden_size)
        if hidden != config.hidden_size:
            raise ConfigError(f"{HEAD_CONFIG}: hidden_size {config.hidden_size}, backbone {hidden}")
        self.backbone, self.head, self.config = backbone, head, config

    def __call__(self, input_ids: Any, attention_mask: Any) -> Any:
        torch = _torch()
        hidden = self.backbone(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        positions = torch.arange(attention_mask.shape[1], device=attention_mask.device)
        last = (positions * attention_mask).argmax(dim=-1)  # the last kept token, any padding side
        rows = torch.arange(hidden.shape[0], device=hidden.device)
        return self.head(hidden[rows, last].float())


def save_reward_model(
    path: str, backbone: Any, tokenizer: Any, head: Any, config: HeadConfig
) -> None:
    """Save a backbone, its tokenizer and a two-layer head in the format above.

    Example:
        >>> # backbone = AutoModel.from_pretrained(...); config = HeadConfig(hidden, 4 * hidden)
        >>> # save_reward_model("my-rm", backbone, tokenizer, build_head(config), config)
    """
    backbone.save_pretrained(path)
    tokenizer.save_pretrained(path)
    save_head(path, head, config)
