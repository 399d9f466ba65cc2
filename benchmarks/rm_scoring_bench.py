"""Reward-model scoring: ``rm.score`` (length-sorted batches under a token budget, shared
prompt prefixes run once) against a per-sample loop and fixed batches padded to their
longest row, side by side.

Two batches, each what a GRPO step sends a reward model:

- ``--case mixed`` (default): completions of mixed lengths, most short, some long
  (``--items``, ``--long-share``), each with its own short prompt (20-40 words);
- ``--case grpo``: ``--prompts`` prompts of 280-320 words, ``--group`` completions of
  30-500 words each (uniform), so a group's texts share their prompt's tokens.

The methods score the same texts (prompt + completion, ``input="text"``) with the same
model:

- ``rm.score``: ``rewardsmith.judges.rm.RMScore`` on ``HFBackend`` (its default
  ``max_batch_tokens``, 2,048 on a CPU, padding counted; ``--max-batch-tokens`` to change;
  ``share_prefix`` on, its default: the ``shared`` column counts the items that read their
  prompt from a pass run once for their group, ``models.prefix``);
- ``rm.score-`` (``--case grpo`` only): the same with ``share_prefix=False``;
- ``loop``: plain ``transformers``, one text per forward pass, no padding;
- ``padded``: plain ``transformers``, ``--batch-size`` texts per forward pass in input
  order, right-padded to the longest (TRL's reward-model call).

Each method runs in a fresh subprocess, so its peak memory is its own: the peak resident
set size (``ru_maxrss``) of that process, and how much scoring raised it above the level
reached after loading the model and a warm-up call. Speed is items per second over the
scoring call alone, the best of ``--repeat`` rounds that run the methods in turn (so a
change in machine load hits them all). The printed difference is the largest |method - loop| over the items: batching
and padding may change float rounding, never the score.

One torch thread per method by default (``--threads 0``: torch's default): on a 2-core
machine shared with other work, two threads make every figure swing by up to 10x between
runs (a thread waits for a busy core), and the per-sample loop, which syncs its threads
on every small operation, most of all.

Without ``--model``, a Llama sequence classifier is built from a config (hidden 256,
4 layers, 4 heads, random weights: speed does not depend on them) with a word-level
tokenizer, one token per word, so the lengths are exact. ``--model PATH`` scores with a
real one (a ``*ForSequenceClassification`` directory).

Run: ``python benchmarks/rm_scoring_bench.py`` (about a minute on 2 CPU cores) and
``python benchmarks/rm_scoring_bench.py --case grpo`` (about two).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from typing import Any

METHODS = ("rm.score", "rm.score-", "loop", "padded")
CASES = {"mixed": ("rm.score", "loop", "padded"), "grpo": METHODS}


def word_tokenizer(words: list[str], extra_specials: tuple[str, ...] = ()) -> Any:
    """A word-level fast tokenizer, one token per word (exact lengths), with pad, BOS,
    EOS and UNK at ids 0-3 and ``extra_specials`` after them."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    specials = ["<pad>", "<s>", "</s>", "<unk>", *extra_specials]
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(specials + words)}, "<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token="<pad>", bos_token="<s>", eos_token="</s>",
        unk_token="<unk>", model_max_length=4096,
    )  # fmt: skip


def llama_config(vocab_size: int, **extra: Any) -> Any:
    """The benchmarks' realistic small Llama shape: hidden 256, 4 layers, 4 heads."""
    from transformers import LlamaConfig

    return LlamaConfig(
        vocab_size=vocab_size, hidden_size=256, intermediate_size=1024, num_hidden_layers=4,
        num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=4096,
        pad_token_id=0, bos_token_id=1, eos_token_id=2, **extra,
    )  # fmt: skip


def build_model(path: str, vocab_size: int = 5000, seed: int = 0) -> None:
    """A random Llama reward model of a realistic small shape, and its tokenizer."""
    import torch
    from transformers import LlamaForSequenceClassification

    fast = word_tokenizer(_vocabulary(vocab_size))
    config = llama_config(len(fast), num_labels=1)
    torch.manual_seed(seed)
    LlamaForSequenceClassification(config).save_pretrained(path)
    fast.save_pretrained(path)


def _vocabulary(n: int) -> list[str]:
    rng = random.Random(1)
    letters = "abcdefghijklmnopqrstuvwxyz"
    words: dict[str, None] = {}
    while len(words) < n:
        words["".join(rng.choice(letters) for _ in range(rng.randint(3, 8)))] = None
    return list(words)


def make_batch(items: int, long_share: float, seed: int) -> list[dict[str, str]]:
    """Prompts of 20-40 words; completions of 20-80 words, or 300-500 for the long ones."""
    rng = random.Random(seed)
    words = _vocabulary(5000)
    batch = []
    for _ in range(items):
        n = rng.randint(300, 500) if rng.random() < long_share else rng.randint(20, 80)
        prompt = " ".join(rng.choices(words, k=rng.randint(20, 40))) + " "
        batch.append({"prompt": prompt, "completion": " ".join(rng.choices(words, k=n))})
    return batch


def make_grpo_batch(prompts: int, group: int, seed: int) -> list[dict[str, str]]:
    """``prompts`` prompts of 280-320 words, each with ``group`` completions of 30-500
    words, prompt-major as a GRPO step lays them out."""
    rng = random.Random(seed)
    words = _vocabulary(5000)
    batch = []
    for _ in range(prompts):
        prompt = " ".join(rng.choices(words, k=rng.randint(280, 320))) + " "
        for _ in range(group):
            completion = " ".join(rng.choices(words, k=rng.randint(30, 500)))
            batch.append({"prompt": prompt, "completion": completion})
    return batch


# -- one method, in its own process --------------------------------------------------------


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker(
    method: str, model: str, data: str, batch_size: int, repeat: int, budget: int, threads: int
) -> dict[str, Any]:
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from rewardsmith.core import Sample
    from rewardsmith.judges.rm import RMScore, RMScoreParams

    if threads:
        torch.set_num_threads(threads)
    with open(data, encoding="utf-8") as f:
        batch = json.load(f)
    texts = [b["prompt"] + b["completion"] for b in batch]
    warm = ["warm up " * 5, "warm up " * 50]
    shared = None
    if method.startswith("rm.score"):
        params: dict[str, Any] = {"max_batch_tokens": budget} if budget else {}
        reward = RMScore(RMScoreParams(model=model, input="text", **params,
                                       share_prefix=method == "rm.score"))  # fmt: skip
        samples = [Sample(prompt=b["prompt"], completion=b["completion"]) for b in batch]
        reward.score([Sample(completion=w) for w in warm])
        reward.score([Sample(prompt=warm[1], completion=w) for w in warm])  # a shared prefix
        cache = reward.backend().load("classifier").cache

        def run() -> list[float]:
            nonlocal shared
            cache.clear()  # score, not look up
            scores = reward.score(samples)
            shared = sum(1 for s in scores if s.info.get("shared_prefix"))
            return [float(s.value) for s in scores]
    else:
        tok = AutoTokenizer.from_pretrained(model)
        tok.pad_token = tok.pad_token or tok.eos_token
        tok.padding_side = "right"
        net = AutoModelForSequenceClassification.from_pretrained(model).eval()
        net.config.pad_token_id = net.config.pad_token_id or tok.pad_token_id
        step = 1 if method == "loop" else batch_size

        def run_on(chunk: list[str]) -> list[float]:
            out: list[float] = []
            with torch.inference_mode():
                for k in range(0, len(chunk), step):
                    enc = tok(chunk[k : k + step], padding=True, return_tensors="pt")
                    out += net(**enc).logits[:, 0].tolist()
            return out

        run_on(warm)

        def run() -> list[float]:
            return run_on(texts)

    before = _rss_mb()
    best, values = float("inf"), []
    for _ in range(repeat):
        start = time.perf_counter()
        values = run()
        best = min(best, time.perf_counter() - start)
    peak = _rss_mb()
    return {
        "method": method,
        "seconds": best,
        "values": values,
        "peak_mb": peak,
        "scoring_mb": peak - before,
        "shared": shared,
    }


def _run_worker(method: str, args: argparse.Namespace, model: str, data: str) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--worker", method, "--model", model, "--data", data]
    cmd += ["--batch-size", str(args.batch_size), "--repeat", "1"]
    cmd += ["--max-batch-tokens", str(args.max_batch_tokens), "--threads", str(args.threads)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{method} failed:\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="a *ForSequenceClassification directory (default: built)")
    parser.add_argument("--case", choices=tuple(CASES), default="mixed", help="which batch")
    parser.add_argument("--items", type=int, default=64, help="mixed: completions in the batch")
    parser.add_argument("--long-share", type=float, default=0.25, help="mixed: share of long ones")
    parser.add_argument("--prompts", type=int, default=8, help="grpo: prompts in the batch")
    parser.add_argument("--group", type=int, default=8, help="grpo: completions per prompt")
    parser.add_argument("--batch-size", type=int, default=16, help="rows per padded batch")
    parser.add_argument(
        "--repeat", type=int, default=2, help="rounds of the methods, interleaved (best)"
    )
    parser.add_argument(
        "--max-batch-tokens", type=int, default=0, help="rm.score's token budget (0: default)"
    )
    parser.add_argument("--threads", type=int, default=1, help="torch threads (0: its default)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--worker", choices=METHODS, help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        result = worker(
            args.worker,
            args.model,
            args.data,
            args.batch_size,
            args.repeat,
            args.max_batch_tokens,
            args.threads,
        )
        print(json.dumps(result))
        return
    with tempfile.TemporaryDirectory() as tmp:
        model = args.model or os.path.join(tmp, "rm")
        if not args.model:
            build_model(model)
        data = os.path.join(tmp, "batch.json")
        if args.case == "grpo":
            batch = make_grpo_batch(args.prompts, args.group, args.seed)
        else:
            batch = make_batch(args.items, args.long_share, args.seed)
        with open(data, "w", encoding="utf-8") as f:
            json.dump(batch, f)
        results: dict[str, dict[str, Any]] = {}
        for _ in range(args.repeat):  # methods interleaved: a load change hits them all
            for m in CASES[args.case]:
                r = _run_worker(m, args, model, data)
                best = results.setdefault(m, r)
                best["seconds"] = min(best["seconds"], r["seconds"])
                best["peak_mb"] = max(best["peak_mb"], r["peak_mb"])
                best["scoring_mb"] = max(best["scoring_mb"], r["scoring_mb"])
    _report(results, batch, args)


def _report(results: dict[str, dict[str, Any]], batch: list[dict[str, str]], args: Any) -> None:
    n = len(batch)
    words = sorted(len((b["prompt"] + b["completion"]).split()) for b in batch)
    shape = f"{args.prompts} prompts x {args.group}, " if args.case == "grpo" else ""
    print(
        f"{args.case}: {shape}{n} items, {words[0]}-{words[-1]} words (median {words[n // 2]}), "
        f"padded batches of {args.batch_size}, rm.score budget "
        f"{args.max_batch_tokens or 'default'}, {args.threads or 'default'} thread(s); "
        f"best of {args.repeat}"
    )
    if args.case == "grpo":
        prompts = {b["prompt"]: len(b["prompt"].split()) for b in batch}
        once = sum(prompts.values()) + sum(len(b["completion"].split()) for b in batch)
        print(f"tokens: {sum(words):,} read, {once:,} with each prompt run once")
    loop = results["loop"]
    print(f"{'method':<10} {'items/s':>9} {'x loop':>7} {'x padded':>9} {'max |d|':>9} "
          f"{'peak MB':>8} {'+MB':>6} {'shared':>7}")  # fmt: skip
    for name, r in results.items():
        rate = n / r["seconds"]
        diff = max(abs(a - b) for a, b in zip(r["values"], loop["values"], strict=True))
        shared = "-" if r.get("shared") is None else f"{r['shared']}/{n}"
        print(
            f"{name:<10} {rate:>9.1f} {loop['seconds'] / r['seconds']:>7.2f} "
            f"{results['padded']['seconds'] / r['seconds']:>9.2f} {diff:>9.1e} "
            f"{r['peak_mb']:>8.0f} {r['scoring_mb']:>6.0f} {shared:>7}"
        )
    if "rm.score-" in results:
        print("rm.score-: share_prefix=False")


if __name__ == "__main__":
    main()
