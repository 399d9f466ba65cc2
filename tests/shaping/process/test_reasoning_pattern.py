"""process.reasoning_pattern (RPR; Lv et al., arXiv 2505.22653), against hand-computed values.

Phrases come from the released code's ``think_reward``; the paper counts occurrences at
1/40 each, the code counts presence at 1/20 each.
"""

import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rewardsmith
from rewardsmith import Sample
from rewardsmith.core import Status
from rewardsmith.errors import ConfigError
from rewardsmith.shaping.process.reasoning_pattern import PHRASES, repetition_ratio, think_text
from rewardsmith.spec import parse_spec

WAIT45 = "<think>" + "wait " * 45 + "</think>"  # 45 words: 26 identical 20-grams

# (variant, completion, patterns, repetition, value)
VALUES = {
    "counting": [
        # "wait" x2, "i need to" x1: paper 3/40, code 2 phrases / 20
        (
            "paper",
            "<think>Wait, I need to check. Wait.</think><answer>4</answer>",
            0.075,
            0.0,
            0.075,
        ),
        ("code", "<think>Wait, I need to check. Wait.</think><answer>4</answer>", 0.1, 0.0, 0.1),
        ("paper", "Therefore, thus hence.", 0.075, 0.0, 0.075),
        ("code", "Therefore, thus hence.", 0.15, 0.0, 0.15),
        ("paper", "<think>no patterns here</think>", 0.0, 0.0, 0.0),
        ("paper", "<think>an enthusiast</think>", 0.025, 0.0, 0.025),  # substring, as the code
    ],
    "thinking text only": [
        ("paper", "Let me check.</think>Therefore 4", 0.025, 0.0, 0.025),
        ("paper", "<think>thus</think> therefore, hence", 0.025, 0.0, 0.025),
        ("paper", "<think>thus, unclosed therefore", 0.05, 0.0, 0.05),
    ],
    "clip and repetition guard": [
        ("paper", WAIT45, 1.0, 1 / 26, 1 - 1 / 26),  # min(1, 45/40) − 1/26
        ("code", WAIT45, 0.05, 1 / 26, 0.05 - 1 / 26),
    ],
    "code's 'user: ' penalty": [
        ("code", "<think>wait user: hi</think>", 0.05 - 1, 0.0, 0.0),  # clamped to 0
        ("paper", "<think>wait user: hi</think>", 0.025, 0.0, 0.025),
    ],
}
CASES = [(g, *c) for g, cs in VALUES.items() for c in cs]


@pytest.mark.parametrize(
    "group,variant,text,patterns,rep,value",
    CASES,
    ids=[f"{c[0]}: {c[1]} {c[2][:30]!r}" for c in CASES],
)
def test_values(group, variant, text, patterns, rep, value):
    [s] = rewardsmith.load("process.reasoning_pattern", variant=variant).score(
        [Sample(completion=text)]
    )
    assert s.status is Status.OK
    assert s.value == pytest.approx(value, abs=1e-12)
    assert s.parts["patterns"] == pytest.approx(patterns, abs=1e-12)
    assert s.parts["repetition"] == pytest.approx(rep, abs=1e-12)


def test_the_code_list_has_40_phrases():
    assert len(PHRASES) == 40 and len(set(PHRASES)) == 40


@pytest.mark.parametrize(
    "text,n,expected",
    [
        ("a b a b", 2, 1 / 3),
        ("a b c d", 2, 0.0),
        ("a b a b", 5, 0.0),
        ("", 20, 0.0),
        ("x x x", 1, 1 / 3),  # one distinct repeated gram over three grams, as the code
    ],
    ids=["one repeated of three", "none repeated", "too short", "empty", "unigram"],
)
def test_repetition_ratio(text, n, expected):
    assert repetition_ratio(text, n) == pytest.approx(expected)


@pytest.mark.parametrize(
    "text,expected",
    [
        ("<think>a</think>b", "a"),
        ("a</think>b", "a"),
        ("<think>a", "a"),
        ("plain", "plain"),
    ],
    ids=["both tags", "closing only", "opening only", "no tags"],
)
def test_think_text(text, expected):
    assert think_text(text) == expected


# (rm, completion, params, value): min(1, rm + α·rpr) if rm < τ else rm
CALIBRATED = [
    (0.3, "<think>wait wait</think>", {}, 0.305),  # 0.3 + 0.1 · 2/40
    (0.6, "<think>wait wait</think>", {}, 0.6),  # at or above τ: unchanged
    (0.5, "<think>wait wait</think>", {}, 0.5),
    (0.45, WAIT45, {}, 0.45 + 0.1 * (1 - 1 / 26)),
    (0.95, "<think>wait wait</think>", {"tau": 1.0, "alpha": 1.0}, 1.0),  # min(1, 1.0)
    (0.9, WAIT45, {"tau": 1.0, "alpha": 1.0}, 1.0),  # capped at 1
    (0.0, "<think>nothing</think>", {}, 0.0),
]


@pytest.mark.parametrize(
    "rm,text,params,value", CALIBRATED, ids=[f"rm={c[0]} {c[2]}" for c in CALIBRATED]
)
def test_calibrated_reward_model(rm, text, params, value):
    r = rewardsmith.load("process.reasoning_pattern", rm_key="rm", **params)
    [s] = r.score([Sample(completion=text, meta={"rm": rm})])
    assert s.value == pytest.approx(value, abs=1e-12)
    assert s.parts["rm"] == rm


@pytest.mark.parametrize(
    "meta",
    [{}, {"rm": None}, {"rm": 1.5}, {"rm": -0.1}, {"rm": "0.3"}],
    ids=["missing", "None", "above 1", "below 0", "string"],
)
def test_bad_reward_model_score_is_an_error_not_a_zero(meta):
    r = rewardsmith.load("process.reasoning_pattern", rm_key="rm")
    [s] = r.score([Sample(completion="<think>wait</think>", meta=meta)])
    assert s.value is None and s.status is Status.ERROR
    assert s.error is not None and "rm" in s.error.message


@pytest.mark.parametrize(
    "params",
    [{"variant": "v2"}, {"ngram": 0}, {"alpha": -1}, {"k": 1}],
    ids=["unknown variant", "ngram 0", "negative alpha", "unknown key"],
)
def test_bad_params(params):
    with pytest.raises(ConfigError):
        rewardsmith.load("process.reasoning_pattern", **params)


def test_spec_and_pickle():
    reward = parse_spec({"reward": {"use": "process.reasoning_pattern", "with": {"rm_key": "rm"}}})
    batch = [Sample(completion="<think>wait wait</think>", meta={"rm": 0.3})]
    assert reward.score(batch)[0].value == pytest.approx(0.305)
    r = rewardsmith.load("process.reasoning_pattern", variant="code")
    assert pickle.loads(pickle.dumps(r)).score(batch) == r.score(batch)


words = st.lists(
    st.sampled_from([*PHRASES, "x", "y", " ", "user: ", "<think>", "</think>"]), max_size=80
).map("".join)


@settings(max_examples=200, deadline=None)
@given(text=words, variant=st.sampled_from(["paper", "code"]), rm=st.floats(0.0, 1.0))
def test_ranges_hold_and_calibration_never_lowers_the_rm(text, variant, rm):
    [plain] = rewardsmith.load("process.reasoning_pattern", variant=variant).score(
        [Sample(completion=text)]
    )
    assert 0.0 <= plain.value <= 1.0
    r = rewardsmith.load("process.reasoning_pattern", variant=variant, rm_key="rm")
    [cal] = r.score([Sample(completion=text, meta={"rm": rm})])
    assert rm <= cal.value <= 1.0
