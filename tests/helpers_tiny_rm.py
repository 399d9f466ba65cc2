"""Tiny reward models and causal LMs built from a config on the spot (no model hub).

Each builder saves a randomly initialised Llama (hidden 32, 2 layers) with the tiny
arithmetic tokenizer of ``helpers_tiny_lm`` into a directory and returns it. Weights are
seeded, so two directories built with the same seed hold the same model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from helpers_tiny_lm import build_tokenizer

OTHER_TEMPLATE = (  # a second chat template over the same vocabulary
    "{% for m in messages %}{{ m['role'] }}: <think>{{ m['content'] }}</think>{% endfor %}"
    "{% if add_generation_prompt %}assistant: {% endif %}"
)


def tiny_config(tokenizer: Any, **extra: Any) -> Any:
    from transformers import LlamaConfig

    return LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=4,
        max_position_embeddings=512,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        **extra,
    )


def save_classifier(
    folder: Path,
    labels: list[str] | None = None,
    seed: int = 0,
    tokenizer: Any = None,
) -> Path:
    """A ``LlamaForSequenceClassification``: one label, or the named ``labels``."""
    import torch
    from transformers import LlamaForSequenceClassification

    tok = tokenizer if tokenizer is not None else build_tokenizer()
    extra: dict[str, Any] = {"num_labels": 1}
    if labels:
        extra = {
            "id2label": dict(enumerate(labels)),
            "label2id": {n: i for i, n in enumerate(labels)},
        }
    torch.manual_seed(seed)
    LlamaForSequenceClassification(tiny_config(tok, **extra)).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def save_causal_lm(folder: Path, seed: int = 0) -> Path:
    import torch
    from transformers import LlamaForCausalLM

    tok = build_tokenizer()
    torch.manual_seed(seed)
    LlamaForCausalLM(tiny_config(tok)).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def save_head_model(folder: Path, labels: tuple[str, ...] = ("score",), seed: int = 0) -> Path:
    """A ``LlamaModel`` backbone with a two-layer SiLU head (``models.head``)."""
    import torch
    from transformers import LlamaModel

    from rewardsmith.models.head import HeadConfig, build_head, save_reward_model

    tok = build_tokenizer()
    torch.manual_seed(seed)
    backbone = LlamaModel(tiny_config(tok))
    config = HeadConfig(hidden_size=32, intermediate_size=48, labels=labels)
    save_reward_model(str(folder), backbone, tok, build_head(config, seed=seed), config)
    return folder


def save_gpt2_classifier(folder: Path, seed: int = 0) -> Path:
    """A ``GPT2ForSequenceClassification``: absolute positions, so left padding would
    shift every real token's position (a RoPE Llama does not notice)."""
    import torch
    from transformers import GPT2Config, GPT2ForSequenceClassification

    tok = build_tokenizer()
    config = GPT2Config(
        vocab_size=len(tok),
        n_embd=32,
        n_layer=2,
        n_head=4,
        n_positions=512,
        num_labels=1,
        pad_token_id=tok.pad_token_id,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
    )
    torch.manual_seed(seed)
    GPT2ForSequenceClassification(config).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def arithmetic_records(n: int, seed: int = 0) -> list[dict[str, Any]]:
    """Preference records a tiny model learns in a few steps: a closed answer tag over a
    missing one, for "What is a+b?"."""
    import random

    rng = random.Random(seed)
    out = []
    for _ in range(n):
        a, b = rng.randint(0, 99), rng.randint(0, 99)
        out.append({
            "prompt": f"What is {a}+{b}? ",
            "chosen": f"<answer>{a + b}</answer>",
            "rejected": f"<answer>{a + b}",
        })  # fmt: skip
    return out


def one_torch_thread() -> Any:
    """Generator for a module fixture: tiny models on a shared 2-core machine run many
    times faster on one thread."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def save_any_classifier(folder: Path, model_type: str, seed: int = 0, **extra: Any) -> Path:
    """A one-label ``*ForSequenceClassification`` of any ``model_type`` (``qwen2``,
    ``mistral``, ``bert``, ...) at the tiny shape, with the tiny tokenizer."""
    import torch
    from transformers import AutoConfig, AutoModelForSequenceClassification

    tok = build_tokenizer()
    config = AutoConfig.for_model(
        model_type,
        vocab_size=len(tok),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        max_position_embeddings=512,
        num_labels=1,
        pad_token_id=tok.pad_token_id,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        **extra,
    )
    torch.manual_seed(seed)
    AutoModelForSequenceClassification.from_config(config).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder
