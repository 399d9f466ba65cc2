"""A tiny causal LM and tokenizer built on the spot, for trainer tests (no model hub).

The tokenizer is a byte-level-free BPE of about 160 tokens trained with ``tokenizers`` on
arithmetic strings; pieces join without spaces (``decoders.Fuse``). The model is a Llama of
hidden size 64 and 2 layers (~90k parameters) with random weights: its completions are
noise, which is all a reward adapter test needs.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

SPECIALS = ["<pad>", "<s>", "</s>", "<unk>"]
CHAT_TEMPLATE = (
    "{% for m in messages %}<s>{{ m['role'] }}: {{ m['content'] }}</s>{% endfor %}"
    "{% if add_generation_prompt %}<s>assistant: {% endif %}"
)


def _corpus(n: int = 2000) -> list[str]:
    rng = random.Random(0)
    lines = []
    for _ in range(n):
        a, b = rng.randint(0, 99), rng.randint(0, 99)
        lines.append(
            f"What is {a}+{b}? <think>{a}+{b}</think><answer>{a + b}</answer> user: assistant: system:"
        )
    return lines


def build_tokenizer() -> Any:
    """A ``PreTrainedTokenizerFast`` with pad/eos/bos/unk, left padding and a chat template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Split(" ", behavior="isolated")
    tok.decoder = decoders.Fuse()
    trainer = trainers.BpeTrainer(vocab_size=160, special_tokens=SPECIALS, show_progress=False)
    tok.train_from_iterator(_corpus(), trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        pad_token="<pad>",
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
        padding_side="left",
    )
    fast.chat_template = CHAT_TEMPLATE
    return fast


def build_model(tokenizer: Any, seed: int = 0) -> Any:
    """A randomly initialised Llama small enough to train a few GRPO steps on a CPU."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=4,
        max_position_embeddings=256,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    return LlamaForCausalLM(config)


def save_tiny_lm(folder: Path, with_model: bool = False) -> Path:
    """Write the tokenizer (and optionally the model) to ``folder``; return it."""
    tokenizer = build_tokenizer()
    tokenizer.save_pretrained(folder)
    if with_model:
        build_model(tokenizer).save_pretrained(folder)
    return folder
