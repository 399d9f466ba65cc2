"""Policy A for the GRPO proof: a tiny causal LM, its tokenizer, the task, and a short SFT.

The task, derived from ``rewardsmith.data.arithmetic`` (its ``Leaf``/``BinOp`` trees and
``render_plain``): one- and two-step integer problems, "Compute: 7 × 8 − 5 =", with
operands 1..9 (``max_operand``) and operations +, − and × (at most one ×, so answers
stay between -80 and 162), 60% of them two-step. The completion is
``<think>7×8=56;56−5=51</think><answer>51</answer>`` then ``</s>``: the
think block writes each operation and its result, inner operation first, so the
format gate of ``math-r1`` applies and the answer is the last result. The held-out set
(``heldout()``: 200 problems, a fixed seed) is never trained on: every training problem
is drawn from the same distribution with its question text checked against it.

Why this task: a short SFT (300 steps) leaves the tiny model about two-thirds right on
greedy decoding and about half right when sampling at temperature 1 (it has the format at
once, most one-step facts soon, two-step chains only partly), so GRPO groups have both
right and wrong members and the reward has something to teach. Operands up to 20 were
tried first: the model's errors there are missing multiplication facts (13 × 4), which
the sparse GRPO signal did not teach within the budget (held-out accuracy fell).

The tokenizer is character level (one token per digit, operator and space) with the four
tags and ``Compute:`` as single tokens; pieces join without spaces. The model is a Llama
of hidden size 128 and 3 layers (about 0.8M parameters), built from a config, no dropout.
SFT is next-token prediction on the completion (and ``</s>``) only. ``ensure_sft`` saves
the checkpoint under a cache folder keyed by its settings, so every GRPO run of the proof
starts from the same weights.

Torch runs on ``--threads`` threads (default 2: about twice as fast as one on an
otherwise idle 2-core machine).

Run: ``python benchmarks/grpo/policy.py`` (trains or reuses the cached SFT checkpoint and
prints its held-out accuracy).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from rewardsmith.data.arithmetic import BinOp, Expr, Leaf, exact_text, render_plain

SPECIALS = ["<pad>", "<s>", "</s>", "<unk>"]
WORDS = ["<think>", "</think>", "<answer>", "</answer>", "Compute:"]
CHARS = list("0123456789 +−×-=;()")
HELDOUT_SEED = 20_250_721
HELDOUT_SIZE = 200
DEFAULT_CACHE = Path(__file__).resolve().parent / ".cache"
_ANSWER = re.compile(r"<answer>(.*?)</answer>", re.S)
_SYMBOL = {"+": "+", "-": "−", "*": "×"}


@dataclass(frozen=True)
class SFTConfig:
    """Everything the SFT checkpoint depends on (its cache key)."""

    seed: int = 0
    steps: int = 300
    batch: int = 64
    lr: float = 2e-3
    hidden: int = 128
    layers: int = 3
    problems: int = 4000
    max_operand: int = 9

    def key(self) -> str:
        return "sft-" + "-".join(f"{k}{v}" for k, v in asdict(self).items())


def build_tokenizer() -> Any:
    """A character-level ``PreTrainedTokenizerFast``: tags and ``Compute:`` are one token,
    every other character is its own; no special token is added to a text."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {w: i for i, w in enumerate(SPECIALS + WORDS + CHARS)}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    words = "|".join(re.escape(w) for w in WORDS)
    tok.pre_tokenizer = pre_tokenizers.Split(Regex(f"{words}|."), behavior="isolated")
    tok.decoder = decoders.Fuse()
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token="<pad>", bos_token="<s>", eos_token="</s>",
        unk_token="<unk>", padding_side="left", model_max_length=128,
    )  # fmt: skip


def _op(op: str, a: Expr, b: Expr) -> BinOp:
    x, y = a.value, b.value
    return BinOp(op, a, b, x + y if op == "+" else x - y if op == "-" else x * y)  # type: ignore[arg-type]


def _steps(expr: Expr) -> list[str]:
    """The think block's lines: each operation with its result, inner first."""
    if isinstance(expr, Leaf):
        return []
    out = _steps(expr.left) + _steps(expr.right)
    a, b = (exact_text(c.value) for c in (expr.left, expr.right))
    out.append(f"{a}{_SYMBOL[expr.op]}{b}={exact_text(expr.value)}")
    return out


def draw_problem(rng: random.Random, top: int = 9) -> dict[str, str]:
    """One problem: ``prompt``, ``answer`` (the exact integer as text) and the SFT
    ``completion``; operands 1..``top``."""
    leaf = lambda: Leaf("int", rng.randint(1, top))  # noqa: E731
    ops = [rng.choice("+-*")] + ([rng.choice("+-*")] if rng.random() < 0.6 else [])
    if ops.count("*") == 2:
        ops[1] = rng.choice("+-")
    expr: Expr = _op(ops[0], leaf(), leaf())
    if len(ops) == 2:
        expr = _op(ops[1], expr, leaf()) if rng.random() < 0.5 else _op(ops[1], leaf(), expr)
    answer = exact_text(Fraction(expr.value))
    think = ";".join(_steps(expr))
    return {
        "prompt": f"Compute: {render_plain(expr)} =",
        "answer": answer,
        "completion": f"<think>{think}</think><answer>{answer}</answer>",
    }


def draw(n: int, seed: int, exclude: set[str] = frozenset(), top: int = 9) -> list[dict[str, str]]:  # type: ignore[assignment]
    """``n`` problems with distinct questions, none of them in ``exclude``."""
    rng = random.Random(seed)
    seen = set(exclude)
    out: list[dict[str, str]] = []
    while len(out) < n:
        p = draw_problem(rng, top)
        if p["prompt"] not in seen:
            seen.add(p["prompt"])
            out.append(p)
    return out


def heldout(top: int = 9) -> list[dict[str, str]]:
    """The fixed held-out set: never trained on, the same for every run."""
    return draw(HELDOUT_SIZE, HELDOUT_SEED, top=top)


def train_pool(n: int, seed: int, top: int = 9) -> list[dict[str, str]]:
    """Training problems (SFT or RL) disjoint from the held-out set."""
    return draw(n, seed, {p["prompt"] for p in heldout(top)}, top)


def build_model(tokenizer: Any, config: SFTConfig) -> Any:
    """A Llama from a config (no dropout), seeded."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(config.seed)
    cfg = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=config.hidden, intermediate_size=4 * config.hidden,
        num_hidden_layers=config.layers, num_attention_heads=4, num_key_value_heads=4,
        max_position_embeddings=128, pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        tie_word_embeddings=False,
    )  # fmt: skip
    return LlamaForCausalLM(cfg)


def _sft_batch(tok: Any, rows: list[dict[str, str]]) -> tuple[Any, Any, Any]:
    import torch

    encoded = []
    for r in rows:
        p = tok(r["prompt"])["input_ids"]
        c = tok(r["completion"])["input_ids"] + [tok.eos_token_id]
        encoded.append((p, c))
    width = max(len(p) + len(c) for p, c in encoded)
    ids = torch.full((len(rows), width), tok.pad_token_id)
    labels = torch.full((len(rows), width), -100)
    for i, (p, c) in enumerate(encoded):  # right padding: training only
        ids[i, : len(p) + len(c)] = torch.tensor(p + c)
        labels[i, len(p) : len(p) + len(c)] = torch.tensor(c)
    return ids, (ids != tok.pad_token_id).long(), labels


def sft(model: Any, tok: Any, rows: list[dict[str, str]], config: SFTConfig) -> list[float]:
    """Next-token prediction on the completions; returns the loss every 50 steps."""
    import torch

    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=0.1)
    warm = max(1, config.steps // 10)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warm) * max(0.05, 1 - s / config.steps)
    )
    rng = random.Random(config.seed)
    losses = []
    model.train()
    for step in range(config.steps):
        ids, mask, labels = _sft_batch(tok, rng.sample(rows, config.batch))
        loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        if step % 50 == 0 or step == config.steps - 1:
            losses.append(round(loss.item(), 4))
    return losses


def answer_of(completion: str) -> str | None:
    """The text of the completion's last ``<answer>`` block, stripped, or None."""
    found = _ANSWER.findall(completion)
    return found[-1].strip() if found else None


def is_correct(completion: str, answer: str) -> bool:
    """Exact numeric match of the ``<answer>`` block with the reference integer."""
    got = answer_of(completion)
    if got is None or not re.fullmatch(r"-?\d{1,6}", got):
        return False
    return int(got) == int(answer)


def generate(model: Any, tok: Any, prompts: list[str], max_new_tokens: int = 40,
             batch: int = 100) -> list[str]:  # fmt: skip
    """Greedy completions, special tokens removed (as TRL decodes them)."""
    import torch

    out: list[str] = []
    was_training = model.training
    model.eval()
    for i in range(0, len(prompts), batch):
        enc = tok(prompts[i : i + batch], return_tensors="pt", padding=True)
        with torch.inference_mode():
            ids = model.generate(
                **enc, max_new_tokens=max_new_tokens, do_sample=False,
                pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id,
            )  # fmt: skip
        out += tok.batch_decode(ids[:, enc["input_ids"].shape[1] :], skip_special_tokens=True)
    model.train(was_training)
    return out


def accuracy(model: Any, tok: Any, rows: list[dict[str, str]], max_new_tokens: int = 40) -> float:
    """Held-out accuracy: greedy decoding, exact numeric match of the ``<answer>``."""
    completions = generate(model, tok, [r["prompt"] for r in rows], max_new_tokens)
    return sum(is_correct(c, r["answer"]) for c, r in zip(completions, rows, strict=True)) / len(
        rows
    )


def ensure_sft(config: SFTConfig, cache: Path = DEFAULT_CACHE) -> tuple[Path, dict[str, Any]]:
    """The SFT checkpoint for ``config``: trained once, then read from ``cache``.

    Returns:
        The checkpoint folder and its record (held-out accuracy, losses, seconds).
    """
    folder = cache / config.key()
    record_path = folder / "sft.json"
    if record_path.exists():
        return folder, json.loads(record_path.read_text())
    tok = build_tokenizer()
    model = build_model(tok, config)
    t0 = time.perf_counter()
    rows = train_pool(config.problems, 1000 + config.seed, config.max_operand)
    losses = sft(model, tok, rows, config)
    seconds = time.perf_counter() - t0
    acc = accuracy(model, tok, heldout(config.max_operand))
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    record = {"config": asdict(config), "heldout_accuracy": acc, "losses": losses,
              "seconds": seconds}  # fmt: skip
    record_path.write_text(json.dumps(record, indent=1))
    return folder, record


def load_policy(folder: Path) -> tuple[Any, Any]:
    """The model and tokenizer of a checkpoint folder."""
    from transformers import AutoTokenizer, LlamaForCausalLM

    tok = AutoTokenizer.from_pretrained(folder)
    model = LlamaForCausalLM.from_pretrained(folder)
    return model, tok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    defaults = SFTConfig()
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--steps", type=int, default=defaults.steps, help="SFT steps")
    parser.add_argument("--lr", type=float, default=defaults.lr)
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    config = SFTConfig(seed=args.seed, steps=args.steps, lr=args.lr)
    folder, record = ensure_sft(config, args.cache)
    print(f"SFT {config.steps} steps: held-out accuracy {100 * record['heldout_accuracy']:.1f}% "
          f"({record['seconds']:.0f} s training), losses {record['losses']}, in {folder}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
