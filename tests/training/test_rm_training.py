"""Reward-model training: losses against hand computation, label flipping on planted
flips, and tiny training runs that learn, save, reload and score the same."""

from __future__ import annotations

import math
import random
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from helpers_tiny_lm import build_tokenizer  # noqa: E402
from helpers_tiny_rm import (  # noqa: E402
    arithmetic_records,
    one_torch_thread,
    save_causal_lm,
    save_classifier,
)
from rewardsmith.errors import ConfigError, InputError  # noqa: E402
from rewardsmith.training import (  # noqa: E402
    Pair,
    TrainConfig,
    Turn,
    apply_flips,
    ensemble_margins,
    find_flips,
    losses,
    parse_records,
    preference_strength,
    score_responses,
    train_reward_model,
)
from rewardsmith.training.train import pair_margins  # noqa: E402

T = torch.tensor


def sig(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


one_thread = pytest.fixture(autouse=True, scope="module")(one_torch_thread)


# --- losses against hand computation ----------------------------------------------------


def test_bradley_terry_with_margin_by_hand() -> None:
    chosen, rejected, margin = T([2.0, 0.5]), T([1.0, 1.0]), T([0.5, -1.0])
    expected = (-math.log(sig(2.0 - 1.0 - 0.5)) - math.log(sig(0.5 - 1.0 + 1.0))) / 2
    assert losses.bradley_terry(chosen, rejected, margin).item() == pytest.approx(
        expected, rel=1e-6
    )
    scalar = losses.bradley_terry(chosen, rejected, 0.5).item()
    assert scalar == pytest.approx((-math.log(sig(0.5)) - math.log(sig(-1.0))) / 2, rel=1e-6)


def test_label_smoothing_by_hand() -> None:
    eps, d = 0.1, 1.5
    expected = -(1 - eps) * math.log(sig(d)) - eps * math.log(sig(-d))
    got = losses.bradley_terry(T([2.0]), T([0.5]), label_smoothing=eps).item()
    assert got == pytest.approx(expected, rel=1e-6)
    with pytest.raises(ValueError, match="label_smoothing"):
        losses.bradley_terry(T([1.0]), T([0.0]), label_smoothing=0.5)


def test_smoothed_loss_is_minimal_at_a_finite_gap() -> None:
    """With ε > 0 the loss no longer rewards an ever larger gap: its minimum is at
    Δ = log((1-ε)/ε)."""
    eps = 0.1
    best = math.log((1 - eps) / eps)
    at = [
        losses.bradley_terry(T([d]), T([0.0]), label_smoothing=eps).item()
        for d in (best - 0.5, best, best + 0.5)
    ]
    assert at[1] < at[0] and at[1] < at[2]


def test_centering_by_hand() -> None:
    scores = T([[1.0, -0.5], [2.0, 1.0]])
    assert losses.centering(scores, 0.01).item() == pytest.approx(0.01 * (0.25 + 9.0) / 2)
    mask = T([[True, False], [True, True]])
    assert losses.centering(scores, 1.0, mask).item() == pytest.approx((1.0 + 9.0) / 2)


def test_listwise_softmax_by_hand() -> None:
    s = [2.0, 1.0, -1.0]
    expected = -math.log(math.exp(2) / sum(math.exp(x) for x in s))
    assert losses.listwise_softmax(T([s])).item() == pytest.approx(expected, rel=1e-6)


def test_plackett_luce_by_hand_with_padding() -> None:
    scores = T([[2.0, 1.0, 0.0], [1.0, 3.0, 99.0]], requires_grad=True)
    mask = T([[True, True, True], [True, True, False]])
    row1 = (-2 + math.log(math.exp(2) + math.exp(1) + 1)) + (-1 + math.log(math.exp(1) + 1))
    row2 = -1 + math.log(math.exp(1) + math.exp(3))
    loss = losses.plackett_luce(scores, mask)
    assert loss.item() == pytest.approx((row1 + row2) / 2, rel=1e-6)
    loss.backward()
    assert torch.isfinite(scores.grad).all() and scores.grad[1, 2] == 0


@pytest.mark.parametrize(
    "fn", [losses.listwise_softmax, losses.plackett_luce], ids=["softmax", "plackett-luce"]
)
def test_listwise_losses_reduce_to_bradley_terry_for_two(fn: Any) -> None:
    c, r = T([1.3, -0.2]), T([0.4, 0.9])
    assert fn(torch.stack([c, r], dim=1)).item() == pytest.approx(
        losses.bradley_terry(c, r).item(), rel=1e-6
    )


def test_pair_margins() -> None:
    pairs = [Pair("p", "a", "b", 2.0), Pair("p", "c", "d")]
    assert pair_margins(pairs, "data") == [2.0, 0.0]
    assert pair_margins(pairs, 0.5) == [0.5, 0.5]


# --- flipping by ensemble disagreement ----------------------------------------------------


def test_preference_strength_by_hand() -> None:
    (s,) = preference_strength([[1.0], [-1.0], [3.0]])
    assert (s.mean, s.std, s.against) == pytest.approx((1.0, math.sqrt(8 / 3), 1 / 3))


def _noisy_pairs(seed: int, n: int = 400, dim: int = 8, planted: float = 0.1) -> tuple[Any, ...]:
    """Pairs of feature vectors with a true linear reward, clear preferences, and a
    ``planted`` share of labels reversed."""
    gen = torch.Generator().manual_seed(seed)
    w = torch.randn(dim, generator=gen)
    xc, xr = torch.randn(n, dim, generator=gen), torch.randn(n, dim, generator=gen)
    gap = (xc - xr) @ w
    keep = gap.abs() > 1.0
    xc, xr, gap = xc[keep], xr[keep], gap[keep]
    xc, xr = torch.where((gap > 0)[:, None], xc, xr), torch.where((gap > 0)[:, None], xr, xc)
    flips = set(random.Random(seed).sample(range(len(xc)), int(planted * len(xc))))
    idx = torch.tensor(sorted(flips), dtype=torch.long)
    xc[idx], xr[idx] = xr[idx].clone(), xc[idx].clone()
    return xc, xr, flips


def _ensemble(xc: Any, xr: Any, members: int) -> list[list[float]]:
    """``members`` linear Bradley-Terry models, each on a bootstrap sample with its own
    seed, scoring every pair: the paper's ensemble in miniature."""
    out = []
    for m in range(members):
        gen = torch.Generator().manual_seed(100 + m)
        rows = torch.randint(0, len(xc), (len(xc),), generator=gen)
        w = (torch.randn(xc.shape[1], generator=gen) * 0.01).requires_grad_()
        opt = torch.optim.Adam([w], lr=0.05)
        for _ in range(200):
            loss = losses.bradley_terry(xc[rows] @ w, xr[rows] @ w)
            opt.zero_grad()
            loss.backward()
            opt.step()
        out.append(((xc - xr) @ w.detach()).tolist())
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_planted_flips_are_found(seed: int) -> None:
    xc, xr, planted = _noisy_pairs(seed)
    report = find_flips(_ensemble(xc, xr, members=5))
    found = set(report.suspects)
    assert len(found & planted) / len(planted) >= 0.95  # recall
    assert len(found & planted) / len(found) >= 0.9  # precision
    assert all(report.strengths[i].mean < 0 for i in found)


def test_clean_data_loses_no_pair_under_the_default_rule() -> None:
    xc, xr, _ = _noisy_pairs(3, planted=0.0)
    report = find_flips(_ensemble(xc, xr, members=3))
    assert report.suspects == ()
    paper_rule = find_flips(_ensemble(xc, xr, members=3), margin=None, min_agreement=None)
    assert len(paper_rule.suspects) == int(0.2 * len(xc))  # the bottom 20%, flipped blindly


def test_apply_flips_flip_drop_and_adaptive_margin() -> None:
    pairs = [Pair("p", "a", "b", None, "record 1"), Pair("q", "c", "d", None, "record 2")]
    report = find_flips([[2.0, -1.0], [1.0, -3.0]], fraction=0.5)
    assert report.suspects == (1,)
    flipped = apply_flips(pairs, report, adaptive_margin=True)
    assert flipped[0] == Pair("p", "a", "b", 1.5, "record 1")
    assert flipped[1] == Pair("q", "d", "c", 2.0, "record 2 (flipped)")
    assert apply_flips(pairs, report, action="drop") == pairs[:1]


def test_flip_settings_are_checked() -> None:
    with pytest.raises(ConfigError, match=r"fraction.*min_agreement"):
        find_flips([[1.0]], fraction=2.0, min_agreement=-1.0)
    with pytest.raises(ConfigError, match="different numbers of pairs"):
        preference_strength([[1.0, 2.0], [1.0]])
    with pytest.raises(ConfigError, match="'flip' or 'drop'"):
        apply_flips([], find_flips([[]]), action="swap")


# --- training runs ----------------------------------------------------------------------


FAST = {"epochs": 3, "lr": 3e-3, "batch_size": 8, "max_length": 48, "progress": False}


RECORDS = arithmetic_records(80)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    root = tmp_path_factory.mktemp("train")
    base = save_causal_lm(root / "base")
    result = train_reward_model(
        RECORDS[:60], base, root / "rm", eval_data=RECORDS[60:], seed=3, **FAST
    )
    return result, root


def test_training_lowers_the_loss_and_learns(trained: tuple[Any, Path]) -> None:
    result, _ = trained
    first, last = result.losses[:4], result.losses[-4:]
    assert sum(last) / 4 < 0.5 * sum(first) / 4
    assert result.eval_pairs == 20 and result.train_pairs == 60
    assert result.eval_accuracy == 1.0 and result.steps == 3 * math.ceil(60 / 8)


def test_saved_model_reloads_with_the_same_scores(trained: tuple[Any, Path]) -> None:
    result, _ = trained
    out = Path(result.out_dir)
    assert {"config.json", "model.safetensors", "tokenizer.json", "README.md"} <= {
        p.name for p in out.iterdir()
    }
    model = transformers.AutoModelForSequenceClassification.from_pretrained(out).eval()
    tok = transformers.AutoTokenizer.from_pretrained(out)
    assert model.config.num_labels == 1
    held = RECORDS[60:]
    with torch.no_grad():
        margins = [
            model(**tok(r["prompt"] + r["chosen"], return_tensors="pt")).logits.item()
            - model(**tok(r["prompt"] + r["rejected"], return_tensors="pt")).logits.item()
            for r in held
        ]
    assert margins == pytest.approx(list(result.eval_margins), abs=1e-5)
    items = [(r["prompt"], x) for r in held for x in (r["chosen"], r["rejected"])]
    scores = score_responses(out, items)
    assert [c - r for c, r in zip(scores[0::2], scores[1::2], strict=True)] == pytest.approx(
        margins, abs=1e-5
    )


def test_rm_score_backend_reads_the_trained_model_the_same(trained: tuple[Any, Path]) -> None:
    from rewardsmith.models.local import HFBackend

    result, _ = trained
    pairs = [("What is 1+2? ", "<answer>3</answer>"), ("What is 1+2? ", "<answer>3")]
    ours = score_responses(result.out_dir, pairs)
    theirs = HFBackend(result.out_dir).classify([p + r for p, r in pairs])
    assert [t["score"] for t in theirs] == pytest.approx(ours, abs=1e-5)


def test_model_card_names_data_loss_and_accuracy(trained: tuple[Any, Path]) -> None:
    result, root = trained
    card = (Path(result.out_dir) / "README.md").read_text(encoding="utf-8")
    assert "source: `records`, 60 records (60 pairwise, 0 listwise, 0 tree, 0 trajectory)" in card
    assert "trained on 60 pairs" in card and "held out: 20 pairs: `records`, 20 records" in card
    assert "Bradley-Terry" in card and "margin 0.0, label smoothing ε = 0.0" in card
    assert "100.0% after training" in card
    assert f"model: {result.out_dir}, input: text" in card
    assert str(root / "base") in card


def test_same_seed_same_model(tmp_path: Path) -> None:
    base = save_classifier(tmp_path / "base")
    runs = [
        train_reward_model(arithmetic_records(24), base, tmp_path / f"rm{k}", seed=5, **FAST)
        for k in range(2)
    ]
    assert runs[0].losses == runs[1].losses
    assert runs[0].eval_margins == runs[1].eval_margins


@pytest.mark.parametrize("loss", ["listwise", "plackett_luce"])
def test_listwise_losses_train(tmp_path: Path, loss: str) -> None:
    base = save_classifier(tmp_path / "base")
    records = [
        {
            "prompt": f"What is {k}+1? ",
            "responses": [f"<answer>{k + 1}</answer>", f"<answer>{k + 1}", f"{k}"],
        }
        for k in range(30)
    ]
    result = train_reward_model(records, base, tmp_path / "rm", loss=loss, center=0.01, **FAST)
    assert result.train_units == 27 and result.train_pairs == 81 and result.eval_pairs == 9
    assert sum(result.losses[-3:]) < sum(result.losses[:3])
    assert "groups" in (tmp_path / "rm" / "README.md").read_text(encoding="utf-8")


def test_chat_data_uses_the_chat_template(tmp_path: Path) -> None:
    base = save_classifier(tmp_path / "base")
    records = [
        {
            "prompt": [{"role": "user", "content": f"What is {k}+1?"}],
            "chosen": f"{k + 1}",
            "rejected": "x",
        }
        for k in range(12)
    ]
    result = train_reward_model(records, base, tmp_path / "rm", **FAST)
    card = (tmp_path / "rm" / "README.md").read_text(encoding="utf-8")
    assert "input: conversation" in card and "input: text" not in card
    tok = build_tokenizer()
    text = tok.apply_chat_template(
        [{"role": "user", "content": "What is 0+1?"}, {"role": "assistant", "content": "1"}],
        tokenize=False,
    )
    model = transformers.AutoModelForSequenceClassification.from_pretrained(result.out_dir).eval()
    with torch.no_grad():
        direct = model(**tok(text, add_special_tokens=False, return_tensors="pt")).logits.item()
    prompt = (Turn("user", "What is 0+1?"),)
    assert score_responses(result.out_dir, [(prompt, "1")]) == pytest.approx([direct], abs=1e-5)
    from rewardsmith.models.local import HFBackend  # what rm.score's conversation input reads

    messages = [{"role": "user", "content": "What is 0+1?"}, {"role": "assistant", "content": "1"}]
    assert HFBackend(result.out_dir).classify([messages])[0]["score"] == pytest.approx(
        direct, abs=1e-5
    )


def test_settings_errors_are_collected(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        train_reward_model(
            [], tmp_path, tmp_path / "rm", loss="hinge", epochs=0, lr=0, label_smoothing=0.7
        )
    text = str(info.value)
    for part in (
        "loss: one of bt, listwise, plackett_luce",
        "epochs: at least 1",
        "lr: above 0",
        "label_smoothing",
    ):
        assert part in text
    with pytest.raises(ConfigError, match="apply to loss='bt' only"):
        train_reward_model([], tmp_path, tmp_path / "rm", loss="listwise", margin=1.0)


def test_chat_data_without_a_template_is_refused(tmp_path: Path) -> None:
    tok = build_tokenizer()
    tok.chat_template = None
    base = save_classifier(tmp_path / "base", tokenizer=tok)
    records = [{"prompt": [{"role": "user", "content": "hi"}], "chosen": "a", "rejected": "b"}] * 2
    with pytest.raises(
        ConfigError, match="record 1: chat input, but the tokenizer has no chat template"
    ):
        train_reward_model(records, base, tmp_path / "rm", **FAST)


def test_nothing_to_train_on(tmp_path: Path) -> None:
    base = save_classifier(tmp_path / "base")
    lonely = [{"prompt": "p", "trajectory": "t", "success": True}]
    with pytest.raises(InputError, match="no pairs to train on"):
        train_reward_model(lonely, base, tmp_path / "rm", **FAST)


def test_lora_needs_peft(tmp_path: Path) -> None:
    try:
        import peft  # noqa: F401
    except ImportError:
        with pytest.raises(ConfigError, match=r"lora: needs the peft package \(pip install peft\)"):
            train_reward_model([], tmp_path, tmp_path / "rm", lora=True)
        return
    base = save_causal_lm(tmp_path / "base")
    result = train_reward_model(arithmetic_records(24), base, tmp_path / "rm", lora=True, **FAST)
    model = transformers.AutoModelForSequenceClassification.from_pretrained(result.out_dir)
    assert not any("lora" in name for name, _ in model.named_parameters())
    assert "LoRA r = 8" in (tmp_path / "rm" / "README.md").read_text(encoding="utf-8")


def test_ensemble_margins_trains_each_member(tmp_path: Path) -> None:
    base = save_classifier(tmp_path / "base")
    pairs = parse_records(arithmetic_records(8)).pairs
    config = TrainConfig(epochs=1, lr=1e-3, batch_size=4, max_length=48)
    margins = ensemble_margins(pairs, base, tmp_path / "ens", config, members=2, progress=False)
    assert len(margins) == 2 and all(len(m) == 8 for m in margins)
    assert margins[0] != margins[1]  # different seeds, different members
    assert (tmp_path / "ens" / "member-1" / "README.md").exists()
