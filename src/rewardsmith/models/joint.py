"""Judging several responses in one pass (You Only Judge Once, arXiv 2604.10966).

One sequence holds the prompt and N responses, each closed by a separator token; the
reward head read at a response's separator is that response's score. Training
(``train-rm --joint``) and scoring (``rm.joint``) build the sequence here, so a model is
scored on exactly the layout it learned.

Layout: the prompt's tokens (a chat prompt rendered by the model's own template with the
assistant turn opened; a text prompt as it is, with the tokenizer's special tokens), then
for each response its tokens and one separator (the tokenizer's ``sep_token``, else its
EOS token). The separator is placed as an id, and special-token strings are stripped from
every response (until none is left), so a response cannot write a separator and split
itself into two, nor close its turn early.

Length: when the sequence would pass ``limit`` tokens, each response gets an equal share
of what the prompt leaves and longer ones are cut from the left (the end, which the head
reads, is kept); the prompt is cut from the left to half the limit first. A huge response
therefore costs the others nothing. ``truncated`` says whether anything was cut.

The head: a decoder ``*ForSequenceClassification`` (Llama, Qwen, Mistral, GPT-2, ...)
applies its ``score`` layer to every position and then keeps the last one;
``token_logits`` keeps every position instead, by hooking that layer. A two-layer-head
model (``models.head``) applies its head to every hidden state. An encoder classifier
(BERT's pooled ``[CLS]``) has no per-token head and is refused.

Known issues (from the paper's pitfalls): scores are comparable only within one pass;
responses are judged with the ones before them in view (causal attention), so order
matters: ``rm.joint`` averages over several orders and training shuffles the order.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rewardsmith.models.base import Unsupported
from rewardsmith.models.head import HeadModel

__all__ = [
    "Packed",
    "pack",
    "pack_texts",
    "separator_id",
    "special_pattern",
    "strip_specials",
    "token_logits",
]


@dataclass(frozen=True, slots=True)
class Packed:
    """A packed sequence: ``ids``, the index of each response's separator, and whether
    anything was cut."""

    ids: list[int]
    positions: list[int]
    truncated: bool


def pack(lead: Sequence[int], responses: Sequence[Sequence[int]], sep: int, limit: int) -> Packed:
    """``lead`` then each response followed by ``sep``, within ``limit`` tokens.

    Example:
        >>> pack([1, 2], [[5, 6], [7]], sep=0, limit=16)
        Packed(ids=[1, 2, 5, 6, 0, 7, 0], positions=[4, 6], truncated=False)
        >>> pack([1, 2], [[5, 6, 7, 8], [9]], sep=0, limit=7).ids
        [1, 2, 7, 8, 0, 9, 0]
    """
    n = len(responses)
    if n == 0:
        raise ValueError("no responses to pack")
    if limit < 2 * n + 1:
        raise ValueError(f"{n} responses cannot fit in max_length={limit}")
    total = len(lead) + sum(len(r) for r in responses) + n
    truncated = total > limit
    lead = list(lead)
    if truncated and len(lead) > limit // 2:
        lead = lead[len(lead) - limit // 2 :]
    room = limit - len(lead) - n
    lengths = _fair_lengths([len(r) for r in responses], room) if truncated else None
    ids, positions = list(lead), []
    for k, response in enumerate(responses):
        keep = len(response) if lengths is None else lengths[k]
        ids.extend(response[len(response) - keep :] if keep else [])
        positions.append(len(ids))
        ids.append(sep)
    return Packed(ids, positions, truncated)


def _fair_lengths(lengths: list[int], room: int) -> list[int]:
    """Tokens each response keeps: short ones whole, the rest an equal share of what is
    left (max-min fair), never more than ``room`` in all."""
    keep = [0] * len(lengths)
    left, todo = room, sorted(range(len(lengths)), key=lambda i: lengths[i])
    while todo:
        share = left // len(todo)
        i = todo[0]
        if lengths[i] <= share:
            keep[i], left = lengths[i], left - lengths[i]
            todo.pop(0)
            continue
        for j in todo:
            keep[j] = share
        break
    return keep


def separator_id(tokenizer: Any) -> int:
    """The token that closes each response: ``sep_token``, else the EOS token."""
    for name in ("sep_token_id", "eos_token_id"):
        value = getattr(tokenizer, name, None)
        if isinstance(value, int):
            return value
    raise Unsupported("joint scoring needs a tokenizer with a separator or EOS token")


def special_pattern(tokenizer: Any) -> re.Pattern[str] | None:
    """A pattern for every special-token string of ``tokenizer`` (longest first)."""
    strings = {str(t.content) for t in tokenizer.added_tokens_decoder.values() if t.special}
    strings |= {str(t) for t in tokenizer.all_special_tokens}
    found = sorted((t for t in strings if t), key=len, reverse=True)
    return re.compile("|".join(re.escape(t) for t in found)) if found else None


def strip_specials(pattern: re.Pattern[str] | None, text: str) -> str:
    """``text`` without special-token strings, removed until none is left."""
    if pattern is None:
        return text
    while True:
        stripped = pattern.sub("", text)
        if stripped == text:
            return text
        text = stripped


def pack_texts(
    tokenizer: Any,
    prompt: str | Sequence[dict[str, str]],
    responses: Sequence[str],
    limit: int,
    chat: bool,
    strip: Callable[[str], str],
) -> Packed:
    """The packed sequence for a prompt (text, or chat messages) and response texts."""
    if chat:
        if not tokenizer.chat_template:
            raise ValueError("the tokenizer has no chat template: pass plain text")
        messages = (
            [{"role": "user", "content": prompt}] if isinstance(prompt, str) else list(prompt)
        )
        messages = [{**m, "content": strip(m["content"])} for m in messages]
        text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        lead = tokenizer(str(text), add_special_tokens=False)["input_ids"]
    else:
        if not isinstance(prompt, str):
            raise ValueError("input 'text' needs a text prompt")
        lead = tokenizer(prompt, add_special_tokens=True)["input_ids"]
        if lead and lead[-1] == tokenizer.eos_token_id:  # a tokenizer that appends EOS
            lead = lead[:-1]
    bodies = [tokenizer(strip(r), add_special_tokens=False)["input_ids"] for r in responses]
    return pack(
        [int(i) for i in lead],
        [[int(i) for i in b] for b in bodies],
        separator_id(tokenizer),
        limit,
    )


def token_logits(model: Any, input_ids: Any, attention_mask: Any) -> Any:
    """The reward head at every position: ``(batch, tokens, labels)``."""
    if isinstance(model, HeadModel):
        hidden = model.backbone(input_ids=input_ids, attention_mask=attention_mask)
        return model.head(hidden.last_hidden_state.float())
    layer = _score_layer(model)
    seen: list[Any] = []
    handle = layer.register_forward_hook(lambda _m, _i, out: seen.append(out))
    try:
        model(input_ids=input_ids, attention_mask=attention_mask)
    finally:
        handle.remove()
    if len(seen) != 1 or seen[0].dim() != 3:
        raise Unsupported("the reward head did not read every position once")
    return seen[0]


def _score_layer(model: Any) -> Any:
    """The layer named ``score`` (the outermost, under LoRA wrappers)."""
    found = [
        (name.count("."), name, module)
        for name, module in model.named_modules()
        if name.rsplit(".", 1)[-1] == "score"
    ]
    if not found:
        raise Unsupported(
            f"{type(model).__name__} has no per-token reward head ('score' layer): joint "
            "scoring needs a decoder *ForSequenceClassification or a two-layer head"
        )
    return min(found, key=lambda f: (f[0], f[1]))[2]
