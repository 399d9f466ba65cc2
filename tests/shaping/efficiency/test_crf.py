"""efficiency.crf (Wang et al., arXiv 2511.09158): R° · [1 + α·c·(s + d_q)], by hand."""

import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rewardsmith
from rewardsmith import Sample
from rewardsmith.core import Status
from rewardsmith.errors import ConfigError
from rewardsmith.spec import parse_spec


def item(correct, c, d=None):
    meta = {"correct": correct, "conciseness": c}
    if d is not None:
        meta["difficulty"] = d
    return Sample(meta=meta)


# (params, correct, c, d_q, expected): 1 + α·c·(s + d) when correct, else 0
VALUES = {
    "correct": [
        ({"alpha": 0.5, "s": 1.0}, True, 0.8, 0.5, 1.6),  # 1 + 0.5·0.8·1.5
        ({"alpha": 1.0, "s": 0.0}, True, 1.0, 1.0, 2.0),
        ({"alpha": 0.2, "s": 0.5}, True, 0.1, 0.0, 1.01),  # 1 + 0.2·0.1·0.5
        ({"alpha": 0.0, "s": 3.0}, True, 1.0, 1.0, 1.0),
        ({"alpha": 0.5, "s": 1.0}, 1, 0.4, 0.25, 1.25),  # 1 + 0.5·0.4·1.25
    ],
    "wrong earns 0 however concise": [
        ({"alpha": 0.5, "s": 1.0}, False, 1.0, 1.0, 0.0),
        ({"alpha": 2.0, "s": 2.0}, 0, 0.9, 0.3, 0.0),
    ],
}
CASES = [(g, *c) for g, cs in VALUES.items() for c in cs]


@pytest.mark.parametrize(
    "group,params,correct,c,d,expected",
    CASES,
    ids=[f"{c[0]}: {c[1]} {c[2]} c={c[3]} d={c[4]}" for c in CASES],
)
def test_values(group, params, correct, c, d, expected):
    [s] = rewardsmith.load("efficiency.crf", **params).score([item(correct, c, d)])
    assert s.status is Status.OK
    assert s.value == pytest.approx(expected, abs=1e-12)
    assert s.parts["conciseness"] == c and s.parts["difficulty"] == d


def test_without_difficulty_key_d_is_zero():
    r = rewardsmith.load("efficiency.crf", alpha=0.5, s=2.0, difficulty_key=None)
    [s] = r.score([item(True, 0.5)])
    assert s.value == pytest.approx(1.5)  # 1 + 0.5·0.5·2
    assert r.range == (0.0, 2.0)


def test_custom_keys():
    r = rewardsmith.load(
        "efficiency.crf",
        alpha=1.0,
        s=1.0,
        correct_key="ok",
        conciseness_key="crm",
        difficulty_key="hard",
    )
    [s] = r.score([Sample(meta={"ok": True, "crm": 0.5, "hard": 1.0})])
    assert s.value == pytest.approx(2.0)


@pytest.mark.parametrize(
    "meta,word",
    [
        ({}, "correct"),
        ({"correct": True}, "conciseness"),
        ({"correct": True, "conciseness": 0.5}, "difficulty"),
        ({"correct": "yes", "conciseness": 0.5, "difficulty": 0.1}, "correct"),
        ({"correct": 0.5, "conciseness": 0.5, "difficulty": 0.1}, "correct"),
        ({"correct": True, "conciseness": 1.5, "difficulty": 0.1}, "conciseness"),
        ({"correct": True, "conciseness": float("nan"), "difficulty": 0.1}, "conciseness"),
        ({"correct": True, "conciseness": 0.5, "difficulty": -1}, "difficulty"),
        ({"correct": False, "conciseness": None, "difficulty": 0.1}, "conciseness"),
    ],
    ids=[
        "nothing",
        "no c",
        "no d",
        "verdict string",
        "verdict 0.5",
        "c above 1",
        "c nan",
        "d negative",
        "wrong with no c",
    ],
)
def test_missing_or_bad_meta_is_an_error_not_a_zero(meta, word):
    [s] = rewardsmith.load("efficiency.crf", alpha=0.5, s=1.0).score([Sample(meta=meta)])
    assert s.value is None and s.status is Status.ERROR
    assert s.error is not None and s.error.type == "InputError" and word in s.error.message


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"alpha": 0.5},
        {"alpha": -1, "s": 1},
        {"alpha": 1, "s": 1, "k": 2},
        {"alpha": 1e200, "s": 1e200},
        {"alpha": 1e308, "s": 1.0},
    ],
    ids=["no params", "no s", "negative alpha", "unknown key", "top value inf", "alpha*(s+1) inf"],
)
def test_bad_params(params):
    with pytest.raises(ConfigError):
        rewardsmith.load("efficiency.crf", **params)


def test_spec_and_pickle():
    reward = parse_spec({"reward": {"use": "efficiency.crf", "with": {"alpha": 0.5, "s": 1.0}}})
    [s] = reward.score([item(True, 0.8, 0.5)])
    assert s.value == pytest.approx(1.6)
    r = rewardsmith.load("efficiency.crf", alpha=0.5, s=1.0)
    assert pickle.loads(pickle.dumps(r)).score([item(True, 0.8, 0.5)]) == r.score(
        [item(True, 0.8, 0.5)]
    )


unit = st.floats(0.0, 1.0)


@settings(max_examples=300, deadline=None)
@given(correct=st.booleans(), c=unit, d=unit, alpha=st.floats(0.0, 10.0), s_=st.floats(0.0, 10.0))
def test_range_holds_and_wrong_is_zero(correct, c, d, alpha, s_):
    r = rewardsmith.load("efficiency.crf", alpha=alpha, s=s_)
    [s] = r.score([item(correct, c, d)])
    lo, hi = r.range
    assert lo <= s.value <= hi
    assert (s.value >= 1.0) if correct else (s.value == 0.0)
