"""Plain-torch references for the likelihood rewards, and a served model that answers
prompt log-probs the way vLLM does (legacy completions with ``echo``), computed from a
local model: what rewardsmith computes is checked against these, never against itself."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any


@lru_cache(maxsize=8)
def model_and_tokenizer(folder: str) -> tuple[Any, Any]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(folder).eval()
    return model, AutoTokenizer.from_pretrained(folder)


def token_logprobs(
    folder: str, text: str, special: bool = True
) -> tuple[list[int], list[tuple[int, int]], Any]:
    """``text``'s token ids, character spans and the raw logits of one forward pass."""
    import torch

    model, tok = model_and_tokenizer(folder)
    enc = tok(text, add_special_tokens=special, return_offsets_mapping=True)
    ids = list(enc["input_ids"])
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([ids])).logits[0].float()
    return ids, [tuple(x) for x in enc["offset_mapping"]], logits


def continuation_logprobs(
    folder: str, prefix: str, continuation: str, special: bool = True
) -> list[float]:
    """log p of each token of ``continuation`` after ``prefix``: the tokens of the whole
    text whose span ends after the prefix (a straddling token is the continuation's)."""
    ids, spans, logits = token_logprobs(folder, prefix + continuation, special)
    logp = logits.log_softmax(-1)
    split = len(prefix)
    picked = [k for k, (s, e) in enumerate(spans) if e > split and e > s]
    return [float(logp[k - 1, ids[k]]) for k in picked]


def chat_prefix(folder: str, messages: list[dict[str, str]]) -> str:
    """The chat rendered as a prefix: an assistant turn continued, else the generation prompt."""
    _, tok = model_and_tokenizer(folder)
    cont = messages[-1]["role"] == "assistant"
    return str(
        tok.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=not cont, continue_final_message=cont
        )
    )


def echo_handler(folder: str, seen: list[dict[str, Any]]) -> Any:
    """An ``httpx2.MockTransport`` handler answering ``/completions`` with ``echo`` and
    ``logprobs=0`` as vLLM does: every prompt token's log-prob (the first's None), its
    text offset, and one generated token. ``add_special_tokens`` in the body is obeyed."""
    import httpx2

    def handler(request: httpx2.Request) -> httpx2.Response:
        body = json.loads(request.content)
        seen.append(body)
        prompt = body["prompt"]
        ids, spans, logits = token_logprobs(folder, prompt, body.get("add_special_tokens", True))
        _, tok = model_and_tokenizer(folder)
        logp = logits.log_softmax(-1)
        values: list[float | None] = [None] + [
            float(logp[k - 1, ids[k]]) for k in range(1, len(ids))
        ]
        tokens = [tok.decode([i]) for i in ids]
        offsets = [s for s, _ in spans]
        nxt = int(logp[-1].argmax())
        choice = {
            "text": prompt + tok.decode([nxt]),
            "index": 0,
            "logprobs": {
                "tokens": [*tokens, tok.decode([nxt])],
                "token_logprobs": [*values, float(logp[-1, nxt])],
                "text_offset": [*offsets, len(prompt)],
            },
        }
        reply = {"choices": [choice], "usage": {"prompt_tokens": len(ids)}}
        return httpx2.Response(200, json=reply)

    return handler
