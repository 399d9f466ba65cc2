"""Shared-prefix scoring (``models.prefix``): a prefix several inputs share runs once, and
the scores are the per-sample path's.

Tiny classifiers built from a config (no hub): Llama (its tokenizer padding left or
right), a three-label Llama, a two-layer head, GPT-2 (absolute positions: a wrong
position id shows), Qwen2 and Mistral (sliding-window cache layers), and a BERT encoder,
which must keep the plain path.
"""

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from helpers_tiny_lm import build_tokenizer  # noqa: E402
from helpers_tiny_rm import (  # noqa: E402
    one_torch_thread,
    save_any_classifier,
    save_classifier,
    save_gpt2_classifier,
    save_head_model,
)
from rewardsmith.core import Sample  # noqa: E402
from rewardsmith.errors import ConfigError  # noqa: E402
from rewardsmith.judges.rm import RMScore, RMScoreParams  # noqa: E402
from rewardsmith.models.local import HFBackend  # noqa: E402
from rewardsmith.models.prefix import Group, common_prefix, plan_groups  # noqa: E402

one_thread = pytest.fixture(autouse=True, scope="module")(one_torch_thread)

TOL = 1e-5  # float32; the issue asks 1e-4
P1 = "What is 12+30? " * 4
P2 = "What is 4+2? <think>4+2</think>" * 2
P3 = "What is 99+99? " * 3 + "What is 1"  # the completions go on mid-number
TEXTS = [
    *(P1 + c for c in ["<answer>42</answer>", "<answer>4", "4", "", "<answer>42</answer> user:"]),
    *(P2 + c for c in ["<answer>6</answer>", "<think>2+4</think><answer>6</answer>"]),
    *(P3 + c for c in ["2+30? <answer>42</answer>", "5+5? <answer>10</answer>", "+1? <answer>2"]),
    "What is 7+8? " * 3 + "<answer>15</answer>",  # a group of one
    "<answer>7</answer>",  # shares nothing
    "user: assistant:",
]  # P1 + "" is the whole of the others' prefix; "<answer>42</answer>" is another's prefix
CHATS = [
    [{"role": "user", "content": "What is 12+30? " * 3}, {"role": "assistant", "content": a}]
    for a in ["42", "<answer>42</answer>", "<think>12+30</think><answer>42</answer>", ""]
]
INPUTS = [*TEXTS, *CHATS]
MODELS = ["llama", "llama_right_padded", "multi", "head", "gpt2", "qwen2", "mistral"]


@pytest.fixture(scope="module")
def dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("prefix")
    right = build_tokenizer()
    right.padding_side = "right"
    return {
        "llama": save_classifier(root / "llama"),
        "llama_right_padded": save_classifier(root / "right", tokenizer=right),
        "multi": save_classifier(root / "multi", labels=["helpful", "harmless", "honest"]),
        "head": save_head_model(root / "head"),
        "gpt2": save_gpt2_classifier(root / "gpt2"),
        "qwen2": save_any_classifier(root / "qwen2", "qwen2", num_key_value_heads=2),
        "mistral": save_any_classifier(
            root / "mistral", "mistral", num_key_value_heads=2, sliding_window=256
        ),
        "mistral_small_window": save_any_classifier(
            root / "mistral16", "mistral", num_key_value_heads=2, sliding_window=16
        ),
        "bert": save_any_classifier(root / "bert", "bert"),
    }


@pytest.fixture(scope="module")
def alone(dirs):
    """Each input scored by itself on the plain path, per model."""
    cache = {}

    def get(which):
        if which not in cache:
            backend = HFBackend(str(dirs[which]), cache=False, share_prefix=False)
            cache[which] = [backend.classify([x])[0] for x in INPUTS]
        return cache[which]

    return get


def _close(got, want):
    assert list(got) == list(want)
    assert list(got.values()) == pytest.approx(list(want.values()), abs=TOL)


# -- planning: which rows share which prefix ------------------------------------------------

S, A, B = [1] * 10, [2] * 20, [3] * 20  # a system prompt and two prompts


@pytest.mark.parametrize(
    "rows, min_prefix, groups, singles",
    [
        ([[*A, 5], [*B, 5], [*A, 6, 7], [*B, 6], [*A, 8]], 5,
         [Group(20, (0, 2, 4)), Group(20, (1, 3))], []),
        ([S + A + [5], S + B + [5], S + A + [6], S + B + [6]], 5,
         [Group(30, (0, 2)), Group(30, (1, 3))], []),
        ([[*A, 5], [*A[:4], 9]], 5, [], [0, 1]),
        ([A, [*A, 5, 6], [7]], 5, [Group(20, (0, 1))], [2]),
        ([[*A, 5], [*A, 5]], 5, [Group(21, (0, 1))], []),
        ([A], 5, [], [0]),
        ([], 5, [], []),
        ([[], A, [*A, 1]], 5, [Group(20, (1, 2))], [0]),
    ],
    ids=["two prompts interleaved", "a common system prompt does not merge groups",
         "below min_prefix", "a row that is another's prefix", "identical rows", "one row",
         "none", "an empty row"],
)  # fmt: skip
def test_plan_groups(rows, min_prefix, groups, singles):
    assert plan_groups(rows, min_prefix) == (groups, singles)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.lists(st.integers(0, 2), max_size=12), max_size=25),
    st.integers(1, 4),
)
def test_plan_groups_is_a_partition_and_each_prefix_is_shared(rows, min_prefix):
    groups, singles = plan_groups(rows, min_prefix)
    seen = sorted(singles + [m for g in groups for m in g.members])
    assert seen == list(range(len(rows)))
    for g in groups:
        assert len(g.members) >= 2 and g.prefix >= min_prefix
        first = rows[g.members[0]]
        assert g.prefix == min(common_prefix(first, rows[m]) for m in g.members[1:])


# -- exactness: shared scores are the per-sample path's --------------------------------------


@pytest.mark.parametrize("budget", [1, 40, 100_000], ids=["one per batch", "small", "one batch"])
@pytest.mark.parametrize("which", MODELS)
def test_shared_scores_equal_per_sample_scores(dirs, alone, which, budget):
    backend = HFBackend(str(dirs[which]), cache=False, max_batch_tokens=budget, min_shared_prefix=4)
    out = backend.classify_detailed(INPUTS)
    assert backend.prefix_sharing() == "on"
    for got, want in zip(out, alone(which), strict=True):
        _close(got.scores, want)
    shared = [r.shared_prefix for r in out]
    assert len(set(shared[:5])) == 1 and shared[0] >= 4  # P1's group, P1 itself in it
    assert shared[5] == shared[6] > 0 and min(shared[7:10]) > 0 and min(shared[-4:]) > 0
    assert shared[10:13] == [0, 0, 0]  # a group of one and texts sharing nothing


def test_a_bidirectional_encoder_keeps_the_plain_path(dirs, alone):
    backend = HFBackend(str(dirs["bert"]), cache=False, min_shared_prefix=4)
    out = backend.classify_detailed(INPUTS)
    assert "not a causal decoder" in backend.prefix_sharing()
    assert all(r.shared_prefix == 0 for r in out)
    for got, want in zip(out, alone("bert"), strict=True):
        _close(got.scores, want)


def test_texts_longer_than_a_sliding_window_keep_the_plain_path(dirs):
    backend = HFBackend(str(dirs["mistral_small_window"]), cache=False, min_shared_prefix=4)
    out = backend.classify_detailed(TEXTS)
    plain = HFBackend(str(dirs["mistral_small_window"]), cache=False, share_prefix=False)
    assert backend.prefix_sharing() == "on"  # on, but no text here fits in 16 tokens
    assert all(r.shared_prefix == 0 for r in out)
    for got, x in zip(out, TEXTS, strict=True):
        _close(got.scores, plain.classify([x])[0])


def test_share_prefix_false_is_the_plain_path(dirs):
    backend = HFBackend(str(dirs["llama"]), cache=False, share_prefix=False, min_shared_prefix=4)
    assert backend.prefix_sharing() == "off"
    assert all(r.shared_prefix == 0 for r in backend.classify_detailed(TEXTS))
    with pytest.raises(ConfigError, match="min_shared_prefix"):
        HFBackend(str(dirs["llama"]), min_shared_prefix=0)


# -- the work done: the prefix once, the suffixes under the budget ---------------------------


def test_the_prefix_runs_once_and_suffix_batches_stay_under_the_budget(dirs, monkeypatch):
    backend = HFBackend(str(dirs["llama"]), cache=False, max_batch_tokens=64, min_shared_prefix=4)
    backend.classify(TEXTS[:5])  # the first group's check against the plain path is done
    backbone = backend.load("classifier").model.base_model
    calls, forward = [], backbone.forward

    def spy(*args, **kwargs):
        past = kwargs.get("past_key_values")
        calls.append((*kwargs["input_ids"].shape, past.get_seq_length() if past else 0))
        return forward(*args, **kwargs)

    monkeypatch.setattr(backbone, "forward", spy)
    group = [P1 + "<answer>" + "42" * k + "</answer>" for k in range(8)]
    out = backend.classify_detailed(group)
    prefix = out[0].shared_prefix
    assert prefix > 4 and all(r.shared_prefix == prefix for r in out)
    assert calls[0] == (1, prefix, 0)  # the prefix, once
    assert all(past == prefix for _, _, past in calls[1:])
    assert all(rows * width <= 64 - prefix or rows == 1 for rows, width, _ in calls[1:])
    assert sum(rows * width for rows, width, _ in calls) < sum(r.tokens for r in out)


def test_a_check_that_disagrees_turns_sharing_off_and_the_plain_path_scores(tmp_path):
    path = save_classifier(tmp_path / "rm")
    backend = HFBackend(str(path), cache=False, min_shared_prefix=4)
    sharer = backend.load("classifier").prefix_sharing()
    head = sharer.head
    sharer.head = lambda h: head(h) + 1.0  # a head that does more than score(hidden)
    out = backend.classify_detailed(TEXTS)
    assert "the shared path gave" in backend.prefix_sharing()
    assert all(r.shared_prefix == 0 for r in out)
    plain = HFBackend(str(path), cache=False, share_prefix=False)
    for got, x in zip(out, TEXTS, strict=True):
        _close(got.scores, plain.classify([x])[0])


def test_a_shared_path_that_fails_turns_sharing_off_and_no_item_fails(tmp_path):
    path = save_classifier(tmp_path / "rm")
    backend = HFBackend(str(path), cache=False, min_shared_prefix=4)
    sharer = backend.load("classifier").prefix_sharing()

    class Broken:  # a backbone whose cached pass fails (what an unforeseen model would do)
        config = sharer.backbone.config

        def __call__(self, **kwargs):
            raise RuntimeError("no cache here")

    sharer.backbone = Broken()
    out = backend.classify_detailed(TEXTS)
    assert "the shared path failed: no cache here" in backend.prefix_sharing()
    plain = HFBackend(str(path), cache=False, share_prefix=False)
    for got, x in zip(out, TEXTS, strict=True):
        assert got.shared_prefix == 0
        _close(got.scores, plain.classify([x])[0])


# -- through rm.score ------------------------------------------------------------------------


def test_rm_score_shares_a_grpo_groups_prompt_and_says_so(dirs):
    prompt = "What is 12+30? " * 3
    samples = [Sample(prompt=prompt, completion=c) for c in ["42", "<answer>42</answer>", "4"]]
    samples.append(Sample(prompt="What is 1+1?", completion="2"))
    reward = RMScore(RMScoreParams(model=str(dirs["llama"])))
    shared = reward.score(samples)
    backend = HFBackend(str(dirs["llama"]), cache=False, share_prefix=False)
    plain = [backend.classify([reward.model_input(s)])[0]["score"] for s in samples]
    assert [s.value for s in shared] == pytest.approx(plain, abs=TOL)
    assert all(s.info["shared_prefix"] >= 32 for s in shared[:3])  # the rendered user turn
    assert "shared_prefix" not in shared[3].info
    off = RMScore(RMScoreParams(model=str(dirs["llama"]), share_prefix=False))
    assert off.backend().prefix_sharing() == "off"  # type: ignore[attr-defined]
    with pytest.raises(ConfigError, match="share_prefix"):
        RMScore(RMScoreParams(model="http://127.0.0.1:8000/v1", share_prefix=False))
