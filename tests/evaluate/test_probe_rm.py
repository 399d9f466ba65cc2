"""``probe-rm``: MRMBench's linear probes (wangclnlp/MRMBench at commit 4ad58de) on tiny
reward models built from a config.

The synthetic data: arithmetic answers whose answer tag is closed or not. A random-init
Llama's last hidden state sits on the last token, which differs between the two
(``7</answer>`` is one token, ``7`` another), so that dimension is linearly decodable;
the ``noise`` dimension labels the same texts with coin flips, so a probe can only reach
chance on held-out texts. The probes here train at lr 1e-2 for 20 epochs: MRMBench's
5e-5 for one epoch is sized for thousands of texts, not two hundred.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from helpers_tiny_rm import one_torch_thread, save_classifier, save_gpt2_classifier
from rewardsmith.cli.app import app
from rewardsmith.errors import ConfigError, InputError
from rewardsmith.evaluate import (
    Dimension,
    FeatureOptions,
    LabelledText,
    ProbeConfig,
    load_hub_mrmbench,
    load_label_files,
    load_mrmbench,
    probe_accuracy,
    probe_rm,
    train_probe,
)
from rewardsmith.evaluate import probe as probe_module
from rewardsmith.evaluate.probe_features import encode_texts, last_token_features, load_probe_model

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

one_thread = pytest.fixture(autouse=True, scope="module")(one_torch_thread)

FAST = ProbeConfig(lr=1e-2, epochs=20)
FORMS = (  # Hard's three classes: an open tag, a closed tag, a think block
    lambda a, b: f"<answer>{a + b}",
    lambda a, b: f"<answer>{a + b}</answer>",
    lambda a, b: f"<think>{a}+{b}</think>",
)


def _records(n: int, seed: int, classes: int = 2) -> list[dict[str, Any]]:
    """MRMBench rows (input, output, label) plus a coin-flip ``noise`` label."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        a, b = rng.randint(0, 99), rng.randint(0, 99)
        label = rng.randrange(classes)
        output = FORMS[label](a, b)
        out.append({"input": f"What is {a}+{b}? ", "output": output, "label": label,
                    "noise": rng.randint(0, 1)})  # fmt: skip
    return out


def _write(folder: Path, train: list[dict[str, Any]], test: list[dict[str, Any]]) -> None:
    folder.mkdir(parents=True)
    for name, rows in (("train", train), ("test", test)):
        (folder / f"{name}.json").write_text(json.dumps(rows, indent=1))


@pytest.fixture(scope="module")
def tiny_rm(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(save_classifier(tmp_path_factory.mktemp("rm")))


@pytest.fixture(scope="module")
def mrm_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """MRMBench's layout: mrm_easy/{closed,noise}/ and mrm_hard/form/."""
    root = tmp_path_factory.mktemp("data")
    train, test = _records(200, seed=1), _records(100, seed=2)
    _write(root / "mrm_easy" / "closed", train, test)
    relabel = [[{**r, "label": r["noise"]} for r in rows] for rows in (train, test)]
    _write(root / "mrm_easy" / "noise", *relabel)
    _write(root / "mrm_hard" / "form", _records(200, 3, classes=3), _records(100, 4, classes=3))
    return root


# -- what the probe finds --------------------------------------------------------------


def test_decodable_dimension_scores_high_and_noise_near_chance(tiny_rm: str, mrm_dir: Path) -> None:
    result = probe_rm(tiny_rm, load_mrmbench(mrm_dir), config=FAST)
    by = {d.name: d for d in result.dimensions}
    assert list(by) == ["closed", "noise"]
    assert by["closed"].accuracy >= 0.95
    assert abs(by["noise"].accuracy - 0.5) < 0.15
    assert result.average == pytest.approx((by["closed"].accuracy + by["noise"].accuracy) / 2)
    assert (by["closed"].train, by["closed"].test, by["closed"].left_out) == (200, 100, 0)
    assert by["closed"].steps == 20 * 4  # ceil(200 / 64) steps an epoch


def test_hard_reads_mrm_hard_and_trains_three_classes(tiny_rm: str, mrm_dir: Path) -> None:
    result = probe_rm(tiny_rm, load_mrmbench(mrm_dir, hard=True), hard=True, config=FAST)
    assert [d.name for d in result.dimensions] == ["form"]
    assert result.version == "hard"
    assert result.dimensions[0].accuracy >= 0.9
    assert result.dimensions[0].majority < 0.5


def test_texts_are_extracted_once_across_dimensions(tiny_rm: str, mrm_dir: Path) -> None:
    lines: list[str] = []
    dims = load_mrmbench(mrm_dir)
    probe_rm(tiny_rm, dims, config=ProbeConfig(epochs=1), log=lines.append)
    distinct = {(x.input, x.output) for d in dims for x in (*d.train, *d.test)}
    assert len(distinct) <= 300  # 600 items: closed and noise label the same texts
    assert lines[0] == f"encoding {len(distinct)} distinct texts"


def test_texts_over_max_length_are_left_out_not_cut(tiny_rm: str) -> None:
    short, long = LabelledText("What is 1+2? ", "3", 1), LabelledText("What is 1+2? " * 30, "3", 0)
    dim = Dimension("d", (short, long, short), (short, long))
    result = probe_rm(tiny_rm, [dim], features=FeatureOptions(max_length=20))
    assert (result.dimensions[0].train, result.dimensions[0].left_out) == (2, 2)
    with pytest.raises(InputError, match="no test text fits"):
        probe_rm(
            tiny_rm, [Dimension("d", (short,), (long,))], features=FeatureOptions(max_length=20)
        )


# -- features --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["llama", "gpt2"], ids=["rope", "absolute-positions"])
def test_left_and_right_padding_give_the_same_features(
    kind: str, tmp_path: Path, tiny_rm: str
) -> None:
    model = tiny_rm if kind == "llama" else str(save_gpt2_classifier(tmp_path / "gpt2"))
    loaded = load_probe_model(model, device="cpu")
    items = [LabelledText(r["input"], r["output"], 0) for r in _records(12, seed=5)]
    items.append(LabelledText("What is 1+2? <think>1+2</think>", "<answer>3</answer>", 0))
    rows = [r for r in encode_texts(loaded, items, FeatureOptions()) if r]
    assert len({len(r) for r in rows}) > 1  # mixed lengths: padding happens
    right = last_token_features(loaded, rows, "right", max_batch_tokens=64)
    left = last_token_features(loaded, rows, "left", max_batch_tokens=64)
    alone = torch.cat([last_token_features(loaded, [r]) for r in rows])
    assert torch.allclose(right, left, atol=1e-5)
    assert torch.allclose(right, alone, atol=1e-5)


def test_feature_is_the_backbones_last_hidden_state_at_the_last_token(tiny_rm: str) -> None:
    loaded = load_probe_model(tiny_rm, device="cpu")
    [ids] = encode_texts(loaded, [LabelledText("What is 1+2? ", "<answer>3", 0)], FeatureOptions())
    assert ids is not None
    with torch.inference_mode():
        hidden = loaded.model.base_model(input_ids=torch.tensor([ids]))[0][0, -1]
    assert torch.allclose(last_token_features(loaded, [ids])[0], hidden, atol=1e-6)


def test_plain_joins_input_and_output_and_chat_uses_the_template(tiny_rm: str) -> None:
    loaded = load_probe_model(tiny_rm, device="cpu")
    tok = loaded.tokenizer
    item = LabelledText("What is 1+2? ", "<answer>3</answer>", 0)
    [plain] = encode_texts(loaded, [item], FeatureOptions())
    [chat] = encode_texts(loaded, [item], FeatureOptions(template="chat"))
    assert plain == tok("What is 1+2? <answer>3</answer>")["input_ids"]
    messages = [
        {"role": "user", "content": item.input},
        {"role": "assistant", "content": item.output},
    ]
    rendered = tok.apply_chat_template(messages, tokenize=False)
    assert chat == tok(rendered, add_special_tokens=False)["input_ids"] != plain


def test_append_eos_adds_one_eos(tiny_rm: str) -> None:
    loaded = load_probe_model(tiny_rm, device="cpu")
    eos = loaded.tokenizer.eos_token_id
    items = [LabelledText("What is 1+2? ", "3", 0), LabelledText("What is 1+2? ", "3</s>", 0)]
    [plain, _] = encode_texts(loaded, items, FeatureOptions())
    with_eos = encode_texts(loaded, items, FeatureOptions(append_eos=True))
    assert plain is not None and with_eos == [[*plain, eos], [*plain, eos]]  # never twice


# -- the probe and its accuracy --------------------------------------------------------


ACCURACY = [
    # one logit per row: sigmoid(logit) > 0.5 is class 1
    ([2.0, -1.0, 3.0, -0.5], [1, 0, 0, 1], 0.5),  # two right, two wrong
    ([0.0, 0.0], [0, 1], 0.5),  # sigmoid(0) = 0.5 is not > 0.5: class 0
    ([1e-9, -1e-9], [0, 0], 1.0),  # float32 sigmoid(1e-9) rounds to 0.5: class 0, as there
    ([[1.5], [-1.5], [0.2]], [1, 0, 0], 2 / 3),  # an (n, 1) column reads the same
    # one logit per class: the argmax, the first on a tie
    ([[0.1, 0.7, 0.2], [3.0, 1.0, 1.0], [1.0, 1.0, 0.0]], [1, 2, 0], 2 / 3),
]


@pytest.mark.parametrize(
    ("logits", "labels", "expected"),
    ACCURACY,
    ids=["binary", "zero-logit", "tiny-logit", "column", "three-class"],
)
def test_accuracy_by_hand(logits: Any, labels: list[int], expected: float) -> None:
    assert probe_accuracy(logits, labels) == pytest.approx(expected)


def test_first_step_is_adamw_with_decoupled_decay() -> None:
    # One row x = (1, -2), label 1: the BCE gradient (sigmoid(w.x) - 1) * x has the sign of
    # -x. Adam's first step moves each weight by lr * g / (|g| + eps) ~ lr * sign(g), after
    # the weight is scaled by (1 - lr * weight_decay); clipping keeps the sign.
    config = ProbeConfig(lr=0.1, weight_decay=0.1, seed=7)
    bound = 1 / 2**0.5
    start = torch.empty(1, 2).uniform_(-bound, bound, generator=torch.Generator().manual_seed(7))
    fit = train_probe(torch.tensor([[1.0, -2.0]]), torch.tensor([1]), 2, config)
    expected = start * (1 - 0.1 * 0.1) + 0.1 * torch.tensor([[1.0, -1.0]])
    assert torch.allclose(fit.weight, expected, atol=1e-6)
    assert fit.weight.shape == (1, 2) and len(fit.losses) == 1


def test_schedule_is_transformers_cosine() -> None:
    from transformers import get_cosine_schedule_with_warmup

    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    theirs = get_cosine_schedule_with_warmup(opt, num_warmup_steps=2, num_training_steps=7)
    factors = []
    for _ in range(8):
        factors.append(opt.param_groups[0]["lr"])
        opt.step()
        theirs.step()
    ours = probe_module._cosine(2, 7)
    assert [ours(s) for s in range(8)] == pytest.approx(factors)


def test_same_seed_same_probe() -> None:
    x, y = torch.randn(50, 8, generator=torch.Generator().manual_seed(0)), torch.tensor([0, 1] * 25)
    a, b = train_probe(x, y, 2, FAST), train_probe(x, y, 2, FAST)
    assert torch.equal(a.weight, b.weight)
    assert not torch.equal(
        a.weight, train_probe(x, y, 2, ProbeConfig(lr=1e-2, epochs=20, seed=1)).weight
    )


# -- data ------------------------------------------------------------------------------


def test_label_files_long_and_wide_formats_agree(tmp_path: Path) -> None:
    rows = _records(6, seed=9)
    wide = [
        {"input": r["input"], "output": r["output"], "closed": r["label"], "noise": r["noise"]}
        for r in rows
    ]
    long = [{"input": r["input"], "output": r["output"], "dimension": d, "label": r[k]}
            for r in rows for d, k in (("closed", "label"), ("noise", "noise"))]  # fmt: skip
    for name, data in (("wide", wide), ("long", long)):
        path = tmp_path / f"{name}.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in data))
    got_wide = load_label_files(
        tmp_path / "wide.jsonl", tmp_path / "wide.jsonl", ["closed", "noise"]
    )
    got_long = load_label_files(tmp_path / "long.jsonl", tmp_path / "long.jsonl")
    assert got_wide == got_long and [d.name for d in got_long] == ["closed", "noise"]


def test_wide_format_defaults_to_mrmbench_dimensions(tmp_path: Path) -> None:
    path = tmp_path / "rows.json"
    path.write_text(json.dumps([{"input": "q", "output": "a", "helpfulness": 1, "coherence": None},
                                {"input": "q", "output": "b", "helpfulness": 0, "coherence": 1}]))  # fmt: skip
    dims = load_label_files(path, path)
    assert [(d.name, len(d.train)) for d in dims] == [("helpfulness", 2), ("coherence", 1)]


def test_hub_dataset_is_read_as_a_folder(monkeypatch: pytest.MonkeyPatch, mrm_dir: Path) -> None:
    import huggingface_hub

    calls = []

    def fake(**kwargs: Any) -> str:
        calls.append(kwargs)
        return str(mrm_dir)

    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake)
    dims = load_hub_mrmbench("ifnoc/MRMBench", hard=True)
    assert [d.name for d in dims] == ["form"]
    assert calls[0]["repo_type"] == "dataset"


# -- errors ----------------------------------------------------------------------------


def test_bad_input_errors(tmp_path: Path, mrm_dir: Path, tiny_rm: str) -> None:
    with pytest.raises(InputError, match="unknown dimension 'honesty'; the data has closed, noise"):
        load_mrmbench(mrm_dir, dimensions=["honesty"])
    wide = tmp_path / "wide.jsonl"
    wide.write_text(json.dumps({"input": "q", "output": "a", "helpfulness": 1}) + "\n")
    with pytest.raises(InputError, match="missing label column 'verbosity'"):
        load_label_files(wide, wide, ["helpfulness", "verbosity"])
    plain = tmp_path / "plain.jsonl"
    plain.write_text(json.dumps({"input": "q", "output": "a"}) + "\n")
    with pytest.raises(InputError, match="no labelled rows"):
        load_label_files(plain, plain)
    bad = tmp_path / "bad" / "helpfulness"
    _write(bad, [{"input": "q", "output": "a", "label": "yes"}], [])
    with pytest.raises(InputError, match=r"train.json: row 1: label 'yes' is not a class number"):
        load_mrmbench(tmp_path / "bad")
    (tmp_path / "lone" / "coherence").mkdir(parents=True)
    (tmp_path / "lone" / "coherence" / "train.json").write_text("[]")
    with pytest.raises(InputError, match="no test file"):
        load_mrmbench(tmp_path / "lone")
    with pytest.raises(InputError, match=r"form has labels \[0, 1, 2\], over Easy, 2 classes"):
        probe_rm(tiny_rm, load_mrmbench(mrm_dir, hard=True))
    with pytest.raises(ConfigError, match=r"lr must be > 0.*epochs must be >= 1"):
        ProbeConfig(lr=0, epochs=0)
    with pytest.raises(ConfigError, match="template must be one of plain, chat"):
        FeatureOptions(template="raw")


# -- command line ----------------------------------------------------------------------


def test_cli_json_and_table(tiny_rm: str, mrm_dir: Path) -> None:
    args = ["probe-rm", "--model", tiny_rm, str(mrm_dir), "--lr", "0.01", "--epochs", "20"]
    out = CliRunner().invoke(app, [*args, "--json", "--device", "cpu"])
    assert out.exit_code == 0, out.output
    got = orjson.loads(out.stdout)
    assert [d["name"] for d in got["dimensions"]] == ["closed", "noise"]
    assert got["source_commit"] == probe_module.SOURCE_COMMIT and got["config"]["lr"] == 0.01
    out = CliRunner().invoke(app, [*args, "--dimension", "closed"])
    assert out.exit_code == 0, out.output
    assert "closed" in out.stdout and "average" in out.stdout and "noise" not in out.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "DATA (a folder, or TRAIN TEST files) or --dataset"),
        (["{data}", "--dimension", "honesty"], "unknown dimension 'honesty'"),
        (["{data}", "--hard", "--dimension", "closed"], "unknown dimension 'closed'"),
        (["{data}", "--epochs", "0"], "epochs must be >= 1"),
    ],
    ids=["no-data", "unknown-dimension", "easy-dimension-in-hard", "bad-setting"],
)
def test_cli_usage_errors_exit_2(
    tiny_rm: str, mrm_dir: Path, args: list[str], message: str
) -> None:
    argv = ["probe-rm", "--model", tiny_rm, *[a.format(data=mrm_dir) for a in args]]
    out = CliRunner().invoke(app, argv)
    assert out.exit_code == 2, out.output
    assert message in out.output
