"""``likelihood.path_faithfulness`` (P2S's Path Faithfulness Reward) on a tiny random Llama.

The model's values are noise; what is checked is the computation: every PFR_k against a
forward pass done here with plain torch, the exact step split, the proportional
alignment and the step cap, batch against one by one, and per-item failures.
"""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

import rewardsmith  # noqa: E402
from helpers_tiny_rm import save_causal_lm  # noqa: E402
from rewardsmith.core import Sample, Status  # noqa: E402
from rewardsmith.errors import ConfigError  # noqa: E402
from rewardsmith.likelihood.path import (  # noqa: E402
    PathFaithfulness,
    PathFaithfulnessParams,
    aligned_steps,
    split_steps,
)
from rewardsmith.models.local import HFBackend  # noqa: E402

TOL = 1e-4
PROMPT = "What is 4+2?"
ROLLOUT = "4+2\n\n2+4\n\n 6+0\n\n<answer>6</answer>"  # 3 steps before the answer
GOLD = "<think>4+2</think>\n\n4+2=6\n\n6+0=6\n\n6"  # 4 steps


@pytest.fixture(scope="module")
def lm(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(save_causal_lm(tmp_path_factory.mktemp("path") / "lm"))


@pytest.fixture(scope="module")
def hf(lm: str) -> tuple:
    tok = transformers.AutoTokenizer.from_pretrained(lm)
    model = transformers.AutoModelForCausalLM.from_pretrained(lm).eval()
    return tok, model


def reward(lm: str, **params) -> PathFaithfulness:
    return PathFaithfulness(PathFaithfulnessParams(model=lm, **params), HFBackend(lm, cache=False))


def sample(completion: str = ROLLOUT, gold: str | None = GOLD, **extra) -> Sample:
    reference = {"gold_cot": gold} if gold is not None else None
    return Sample(prompt=PROMPT, completion=completion, reference=reference, **extra)


def mean_logprob(hf: tuple, prefix: str, suffix: str, chat: bool) -> float:
    """The suffix's mean token log-prob after the prefix, by hand: render, tokenise the
    whole text, take the tokens that end past the prefix, read them off the logits."""
    tok, model = hf
    if chat:
        messages = [{"role": "user", "content": PROMPT}, {"role": "assistant", "content": prefix}]
        text = tok.apply_chat_template(messages, tokenize=False, continue_final_message=True)
    else:
        text = PROMPT + prefix
    enc = tok(text + suffix, add_special_tokens=not chat, return_offsets_mapping=True)
    ids = torch.tensor([enc["input_ids"]])
    start = next(i for i, (s, e) in enumerate(enc["offset_mapping"]) if e > len(text) and e > s)
    with torch.no_grad():
        logp = torch.log_softmax(model(ids).logits[0].float(), dim=-1)
    picked = logp[start - 1 : -1].gather(1, ids[0, start:, None])
    return picked.mean().item()


# -- the computation ----------------------------------------------------------------------


@pytest.mark.parametrize("chat", [True, False], ids=["chat", "plain"])
def test_every_step_matches_a_hand_computation(lm: str, hf: tuple, chat: bool) -> None:
    steps = ["4+2\n\n", "2+4\n\n", " 6+0\n\n"]
    gold = ["<think>4+2</think>\n\n", "4+2=6\n\n", "6+0=6\n\n", "6"]
    # n=3, M=4: j_1 = round(4/3) = 1, j_2 = round(8/3) = 3, j_3 = 4 (nothing left: skipped)
    expected = [
        {
            "k": k,
            "gold_from": j,
            "value": mean_logprob(hf, "".join(steps[:k]), "".join(gold[j:]), chat),
        }
        for k, j in [(1, 1), (2, 3)]
    ]
    got = reward(lm, chat=chat).score([sample()])[0]
    assert got.status is Status.OK
    assert got.info["rollout_steps"] == 3 and got.info["gold_steps"] == 4
    assert [(s["k"], s["gold_from"]) for s in got.info["steps"]] == [(1, 1), (2, 3)]
    for s, e in zip(got.info["steps"], expected, strict=True):
        assert s["value"] == pytest.approx(e["value"], abs=TOL)
    assert got.value == pytest.approx((expected[0]["value"] + expected[1]["value"]) / 2, abs=TOL)
    assert got.value <= 0


def test_the_last_step_gets_the_separator_when_every_k_is_skipped(lm: str, hf: tuple) -> None:
    # one rollout step: j_1 = M, so the fallback scores the gold's last step after it
    got = reward(lm).score([sample("4+2<answer>6</answer>")])[0]
    assert got.info["steps"][0]["k"] == 1 and got.info["steps"][0]["gold_from"] == 3
    assert got.value == pytest.approx(mean_logprob(hf, "4+2\n\n", "6", True), abs=TOL)


@pytest.mark.parametrize("aggregate", ["mean", "last", "min"])
def test_aggregate_reads_the_per_step_values(lm: str, aggregate: str) -> None:
    got = reward(lm, aggregate=aggregate).score([sample()])[0]
    values = [s["value"] for s in got.info["steps"]]
    want = {"mean": sum(values) / len(values), "last": values[-1], "min": min(values)}[aggregate]
    assert got.value == pytest.approx(want, abs=1e-12)


def test_prefixes_and_suffixes_are_literal_pieces_of_the_texts(lm: str) -> None:
    r = PathFaithfulness(PathFaithfulnessParams(model=lm, chat=False))
    reasoning = ROLLOUT[: ROLLOUT.index("<answer>")]
    for prefix, suffix in r.pairs_for(sample()):
        assert prefix.startswith(PROMPT) and reasoning.startswith(prefix[len(PROMPT) :])
        assert prefix.endswith("\n\n") and GOLD.endswith(suffix)
    chat = PathFaithfulness(PathFaithfulnessParams(model=lm))
    (messages, _), _ = chat.pairs_for(sample())
    assert messages[-1] == {"role": "assistant", "content": "4+2\n\n"}


def test_no_answer_marker_reads_the_whole_completion(lm: str) -> None:
    whole = PathFaithfulness(PathFaithfulnessParams(model=lm, chat=False, answer_start=""))
    pairs = whole.pairs_for(sample("a\n\nb\n\nc\n\n<answer>6</answer>"))
    assert pairs[-1][0] == PROMPT + "a\n\nb\n\nc\n\n"  # 4 steps, the last with gold left
    absent = PathFaithfulness(PathFaithfulnessParams(model=lm, chat=False))
    assert absent.pairs_for(sample("a\n\nb\n\nc")) == whole.pairs_for(sample("a\n\nb\n\nc"))


def test_batch_equals_one_by_one(lm: str) -> None:
    r = reward(lm)
    batch = [
        sample(),
        sample("6<answer>6</answer>", gold="4+2=6\n\n6"),
        sample("\n\n".join(["4+2"] * 7), gold=GOLD, group="g"),
        Sample(prompt="What is 9+9?", completion="9+9\n\n18", meta={"gold_cot": "9+9=18\n\n18"}),
    ]
    together = r.score(batch)
    alone = [r.score([x])[0] for x in batch]
    assert all(s.status is Status.OK for s in together)
    for a, b in zip(together, alone, strict=True):
        assert a.value == pytest.approx(b.value, abs=1e-5)
        assert [s["k"] for s in a.info["steps"]] == [s["k"] for s in b.info["steps"]]


# -- failures -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("item", "message"),
    [
        (sample(gold=None), "no gold chain"),
        (Sample(prompt=PROMPT, completion=ROLLOUT, reference="6"), "no gold chain"),
        (sample(gold=" \n\n "), "gold chain is blank"),
        (sample(gold=None, meta={"gold_cot": 42}), "gold_cot is text"),
        (sample("<answer>6</answer>"), "no reasoning"),
        (sample(" \n\n\n\n<answer>6</answer>"), "no reasoning"),
        (sample(""), "no reasoning"),
    ],
    ids=[
        "no-reference",
        "reference-not-a-dict",
        "blank-gold",
        "gold-not-text",
        "answer-only",
        "blank-reasoning",
        "empty",
    ],
)
def test_a_bad_item_fails_alone(lm: str, item: Sample, message: str) -> None:
    good, bad, good2 = reward(lm).score(
        [sample(), item, sample(gold=None, meta={"gold_cot": GOLD})]
    )
    assert bad.status is Status.ERROR and bad.value is None
    assert message in bad.error.message
    assert good.status is Status.OK and good2.status is Status.OK
    assert good.value == pytest.approx(good2.value, abs=1e-5)  # meta works like reference


def test_a_missing_model_is_an_error_status_not_a_number() -> None:
    r = rewardsmith.load("likelihood.path_faithfulness", model="/nonexistent/lm")
    (s,) = r.score([sample()])
    assert s.status is Status.ERROR and s.value is None


# -- the step split -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "steps"),
    [
        ("a\n\nb", ["a\n\n", "b"]),
        ("a\n\nb\n\n", ["a\n\n", "b\n\n"]),
        ("a\n\n\n\n  \n\nb", ["a\n\n\n\n  \n\n", "b"]),
        ("\n\n  a\n\nb ", ["\n\n  a\n\n", "b "]),
        ("a\n\n\nb", ["a\n\n", "\nb"]),
        ("one step", ["one step"]),
        ("", []),
        (" \n\n\t\n\n", []),
    ],
    ids=[
        "two",
        "trailing-sep",
        "blank-parts-joined",
        "leading-blank",
        "odd-newlines",
        "one",
        "empty",
        "blank",
    ],
)
def test_split_steps_table(text: str, steps: list[str]) -> None:
    assert split_steps(text, "\n\n") == steps


pieces = st.lists(st.sampled_from(["\n\n", "\n", " ", "\t", "a", "4+2", "SEP", "é"]), max_size=20)


@settings(max_examples=200, deadline=None)
@given(parts=pieces, sep=st.sampled_from(["\n\n", "\n", "SEP", " "]))
def test_steps_join_back_into_the_text_and_none_is_blank(parts: list[str], sep: str) -> None:
    text = "".join(parts)
    steps = split_steps(text, sep)
    nonblank = [p for p in text.split(sep) if p.strip()]
    assert len(steps) == len(nonblank)
    assert "".join(steps) == (text if nonblank else "")
    assert all(s.strip() for s in steps)
    for s in steps[1:]:  # every step after the first opens with its own non-blank part
        assert s.split(sep)[0].strip()


# -- alignment and the step cap -----------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "m", "cap", "want"),
    [
        (3, 4, 16, [(1, 1), (2, 3)]),
        (4, 4, 16, [(1, 1), (2, 2), (3, 3)]),
        (4, 2, 16, [(1, 1), (2, 1)]),  # 0.5 rounds up (Python's round would give 0)
        (3, 1, 16, [(1, 0)]),
        (1, 5, 16, [(1, 4)]),  # every k skipped: the last k against the gold's last step
        (2, 1, 16, [(2, 0)]),
        (10, 20, 16, [(k, 2 * k) for k in range(1, 10)]),
        (20, 20, 4, [(4, 4), (9, 9), (14, 14), (19, 19)]),
        (0, 3, 16, []),
    ],
    ids=[
        "3-of-4",
        "equal",
        "half-up",
        "one-gold",
        "one-step",
        "fallback-two",
        "under-cap",
        "capped",
        "no-steps",
    ],
)
def test_aligned_steps_table(n: int, m: int, cap: int, want: list[tuple[int, int]]) -> None:
    assert aligned_steps(n, m, cap) == want


@settings(max_examples=300, deadline=None)
@given(n=st.integers(1, 60), m=st.integers(1, 60), cap=st.integers(1, 20))
def test_aligned_steps_properties(n: int, m: int, cap: int) -> None:
    got = aligned_steps(n, m, cap)
    assert 1 <= len(got) <= cap
    ks = [k for k, _ in got]
    assert ks == sorted(set(ks)) and all(1 <= k <= n for k in ks)
    assert all(0 <= j < m for _, j in got)
    scorable = [k for k in range(1, n + 1) if math.floor(k * m / n + 0.5) < m]
    if scorable:
        assert ks[-1] == scorable[-1] and set(ks) <= set(scorable)
        assert len(got) == min(cap, len(scorable))
        assert all(j == math.floor(k * m / n + 0.5) for k, j in got)
    else:
        assert got == [(n, m - 1)]


def test_max_steps_caps_the_pairs_scored(lm: str) -> None:
    completion = "\n\n".join(f"{i}+{i}" for i in range(20))
    got = reward(lm, max_steps=4).score([sample(completion, gold="\n\n".join(["4+2"] * 20))])[0]
    assert [(s["k"], s["gold_from"]) for s in got.info["steps"]] == [
        (4, 4),
        (9, 9),
        (14, 14),
        (19, 19),
    ]
    assert got.info["rollout_steps"] == 20


# -- building -----------------------------------------------------------------------------


def test_registered_with_its_range(lm: str) -> None:
    r = rewardsmith.load("likelihood.path_faithfulness", model=lm)
    assert isinstance(r, PathFaithfulness) and r.range == (-math.inf, 0.0)


@pytest.mark.parametrize(
    "bad",
    [{"step_sep": ""}, {"max_steps": 0}, {"aggregate": "sum"}, {"gold_key": "x"}],
    ids=["empty-sep", "zero-steps", "unknown-aggregate", "unknown-key"],
)
def test_bad_params_are_build_errors(lm: str, bad: dict) -> None:
    with pytest.raises(ConfigError):
        rewardsmith.load("likelihood.path_faithfulness", model=lm, **bad)
