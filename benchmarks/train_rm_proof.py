"""Proof that ``train_reward_model`` learns a real preference: correct sums over near misses.

The task, built in code: prompts "What is a + b? " (a, b in 0..99, rendered by
``rewardsmith.data.arithmetic``), chosen the exact sum, rejected a near miss: the sum
plus one of -5..-1, 1..4 (a wrong units digit) or ±10, ±20 (a wrong tens digit). Every
near miss of a training prompt is one pair; each held-out prompt gets one near miss
drawn at random. Held-out prompts are never trained on (no (a, b) is in both sets), so
a model can only score them by adding. The near misses are symmetric around the sum, so
no rule such as "prefer the smaller number" beats chance.

The base model is what reward models start from in practice, a language model, only
tiny: a Llama of hidden size 128 and 2 layers (about 0.5M parameters) on an 18-token
word-level tokenizer (one token per digit), built from a config and pretrained here by
next-token prediction on the correct equations of every prompt not held out (9,500) for
``--lm-steps`` steps. ``train_reward_model`` then loads it as a one-output sequence classifier (a new,
seeded score head) and trains it with the Bradley-Terry loss for ``--epochs`` epochs
(the tens-digit check is learned late: with 3 epochs it is still near chance). With ``--lm-steps 0`` the
reward model starts from the randomly initialised Llama instead: checking a sum from a
1-bit pairwise signal alone is hard to start from nothing (compare the two).

For each seed (which draws the split, the near misses, the initialisation and the data
order) it prints the language model's held-out exact-match rate, the reward model's
held-out pairwise accuracy before and after training, the accuracy on units-digit and
tens-digit near misses, the largest difference between the scores computed before saving
and those of ``AutoModelForSequenceClassification.from_pretrained(out_dir)``, and the
seconds each phase took.

Torch runs on one thread (``--threads``): on a shared 2-core machine, two threads on
matrices this small are many times slower than one.

Run: ``python benchmarks/train_rm_proof.py`` (about 6 minutes a seed on 2 CPU cores).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

from rewardsmith.data.arithmetic import BinOp, Leaf, exact_text, render_plain
from rewardsmith.training import TrainConfig, train_from_config

UNITS = (-5, -4, -3, -2, -1, 1, 2, 3, 4)
TENS = (-20, -10, 10, 20)
WORDS = [*(str(d) for d in range(10)), "What", "is", "+", "?"]


def build_tokenizer() -> Any:
    """One token per digit and word; every text ends with ``</s>``, where the head reads."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    specials = ["<pad>", "<s>", "</s>", "<unk>"]
    vocab = {w: i for i, w in enumerate(specials + WORDS)}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.WhitespaceSplit(),
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.Punctuation(),
        ]
    )
    tok.post_processor = processors.TemplateProcessing(
        single="$A </s>", special_tokens=[("</s>", vocab["</s>"])]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token="<pad>", bos_token="<s>", eos_token="</s>",
        unk_token="<unk>", model_max_length=64,
    )  # fmt: skip


def problem(a: int, b: int) -> tuple[str, Fraction]:
    expr = BinOp("+", Leaf("int", a), Leaf("int", b), Fraction(a + b))
    return f"What is {render_plain(expr)}? ", expr.value


def near_misses(answer: Fraction) -> list[tuple[int, str]]:
    return [(d, exact_text(answer + d)) for d in (*UNITS, *TENS) if answer + d >= 0]


def make_data(seed: int, n_train: int, n_test: int) -> tuple[list[dict[str, Any]], ...]:
    """Training pairs (every near miss of ``n_train`` prompts), held-out pairs (one
    each), and the LM's texts: the correct equation of every prompt not held out."""
    rng = random.Random(seed)
    grid = [(a, b) for a in range(100) for b in range(100)]
    rng.shuffle(grid)
    test, train, texts = [], [], []
    for a, b in grid[:n_test]:
        prompt, answer = problem(a, b)
        delta, wrong = rng.choice(near_misses(answer))
        test.append({"prompt": prompt, "chosen": exact_text(answer), "rejected": wrong, "d": delta})
    for k, (a, b) in enumerate(grid[n_test:]):
        prompt, answer = problem(a, b)
        texts.append({"text": prompt + exact_text(answer)})
        if k >= n_train:
            continue
        train.extend(
            {"prompt": prompt, "chosen": exact_text(answer), "rejected": w}
            for _, w in near_misses(answer)
        )
    return train, test, texts


def pretrain_lm(folder: Path, texts: list[dict[str, Any]], test: list[dict[str, Any]],
                seed: int, steps: int) -> float:  # fmt: skip
    """A tiny Llama trained by next-token prediction on the answers; its held-out
    exact-match rate (every answer token and ``</s>`` right, teacher-forced)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tok = build_tokenizer()
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tok), hidden_size=128, intermediate_size=512, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=64,
        pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
    )  # fmt: skip
    model = LlamaForCausalLM(config)
    question = tok.convert_tokens_to_ids("?")

    def batch(rows: list[str]) -> tuple[Any, Any, Any]:
        encoded = [tok(r)["input_ids"] for r in rows]
        width = max(map(len, encoded))
        ids = torch.full((len(rows), width), tok.pad_token_id)
        labels = torch.full((len(rows), width), -100)
        for i, row in enumerate(encoded):
            ids[i, : len(row)] = torch.tensor(row)
            k = row.index(question) + 1  # loss on the answer and </s> only
            labels[i, k : len(row)] = torch.tensor(row[k:])
        return ids, (ids != tok.pad_token_id).long(), labels

    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=0.1)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / 100) * max(0.0, 1 - s / max(steps, 1))
    )
    rng = random.Random(seed)
    lines = [t["text"] for t in texts]
    for _ in range(steps):
        ids, mask, labels = batch(rng.sample(lines, 64))
        loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
    model.eval()
    with torch.no_grad():
        ids, mask, labels = batch([t["prompt"] + t["chosen"] for t in test])
        pred = model(input_ids=ids, attention_mask=mask).logits[:, :-1].argmax(-1)
        gold = labels[:, 1:]
        exact = ((pred == gold) | (gold == -100)).all(-1).float().mean().item()
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return float(exact)


def reload_gap(out_dir: str, test: list[dict[str, Any]], margins: tuple[float, ...]) -> float:
    """Largest |margin| difference between the in-process model and the saved one."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(out_dir)
    model = AutoModelForSequenceClassification.from_pretrained(out_dir).eval()
    gap = 0.0
    with torch.no_grad():
        for t, m in zip(test, margins, strict=True):
            c, r = (
                model(**tok(t["prompt"] + x, return_tensors="pt")).logits[0, 0].item()
                for x in (t["chosen"], t["rejected"])
            )
            gap = max(gap, abs((c - r) - m))
    return gap


def run_seed(seed: int, args: argparse.Namespace, root: Path) -> dict[str, Any]:
    train, test, texts = make_data(seed, args.prompts, args.test)
    t0 = time.perf_counter()
    lm_exact = pretrain_lm(root / f"lm-{seed}", texts, test, seed, args.lm_steps)
    t1 = time.perf_counter()
    config = TrainConfig(
        epochs=args.epochs, lr=5e-4, batch_size=32, max_length=32, seed=seed, warmup_ratio=0.05
    )
    held = [{k: v for k, v in t.items() if k != "d"} for t in test]
    result = train_from_config(
        config, train, root / f"lm-{seed}", root / f"rm-{seed}", eval_data=held, progress=False
    )
    t2 = time.perf_counter()

    def share(kinds: tuple[int, ...]) -> float:
        hits = [m > 0 for t, m in zip(test, result.eval_margins, strict=True) if t["d"] in kinds]
        return sum(hits) / len(hits)

    return {
        "seed": seed, "lm_exact": lm_exact, "before": result.eval_accuracy_before,
        "after": result.eval_accuracy, "units": share(UNITS), "tens": share(TENS),
        "gap": reload_gap(result.out_dir, test, result.eval_margins), "pairs": result.train_pairs,
        "steps": result.steps, "lm_s": t1 - t0, "rm_s": t2 - t1,
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--prompts", type=int, default=3000, help="training prompts")
    parser.add_argument("--test", type=int, default=500, help="held-out prompts (one pair each)")
    parser.add_argument(
        "--lm-steps", type=int, default=1500, help="LM pretraining steps (0: a random base)"
    )
    parser.add_argument("--epochs", type=int, default=5, help="reward-model epochs")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--keep", type=Path, help="keep the models in this folder")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    root = args.keep or Path(tempfile.mkdtemp(prefix="train_rm_proof-"))
    print(
        f"{args.prompts} training prompts ({args.prompts * len(UNITS + TENS)} pairs at most), "
        f"{args.test} held-out pairs, LM {args.lm_steps} steps, RM {args.epochs} epochs, "
        f"{args.threads} thread(s)"
    )
    header = "seed  LM exact %  RM acc % before  after  units  tens  pairs  steps  reload |Δ|  LM s  RM s"
    print(header)
    rows = []
    for seed in args.seeds:
        r = run_seed(seed, args, root)
        rows.append(r)
        print(
            f"{r['seed']:>4}  {100 * r['lm_exact']:>10.1f}  {100 * r['before']:>15.1f}  "
            f"{100 * r['after']:>5.1f}  {100 * r['units']:>5.1f}  {100 * r['tens']:>4.1f}  "
            f"{r['pairs']:>5}  {r['steps']:>5}  {r['gap']:>10.1e}  {r['lm_s']:>4.0f}  "
            f"{r['rm_s']:>4.0f}",
            flush=True,
        )
    worst = min(r["after"] for r in rows)
    print(f"lowest held-out pairwise accuracy: {100 * worst:.1f}%  (models in {root})")
    return 0 if worst > 0.9 else 1


if __name__ == "__main__":
    sys.exit(main())
