"""efficiency.pear (Huang, Lu, Zhang, arXiv 2510.08026), against hand-computed values."""

import math
import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rewardsmith
from rewardsmith import Sample
from rewardsmith.core import Status, Tokens
from rewardsmith.errors import ConfigError
from rewardsmith.spec import parse_spec

THINK_END_ID = 7


def item(entropies, correct=True, k="absent", ids=(), text="x</think>y"):
    meta = {"correct": correct}
    if k != "absent":
        meta["think_end"] = k
    return Sample(completion=text, meta=meta, tokens=Tokens(ids=ids, entropies=entropies))


# (params, entropies, k, correct, H_think, H_answer, P, value)
VALUES = {
    "split at k": [
        # think (0.9+0.5)/2 = 0.7, answer 0.4, P = 0.3, r = 0.7
        ({}, [0.9, 0.5, 0.2, 0.4], 2, True, 0.7, 0.4, 0.3, 0.7),
        # think 2.0, answer (0.5+1.5)/2 = 1.0, P = 1.0, r = 0.0
        ({}, [2.0, 9.0, 0.5, 1.5], 1, True, 2.0, 1.0, 1.0, 0.0),
        # think 3.0, answer 0.5, P = 2.5, r = -1.5
        ({}, [3.0, 3.0, 0.0, 0.5], 2, True, 3.0, 0.5, 2.5, -1.5),
        # answer more uncertain than thinking: P = max(0, 0.2 - 1.0) = 0, r = 1
        ({}, [0.2, 0.0, 1.0], 1, True, 0.2, 1.0, 0.0, 1.0),
    ],
    "alpha": [
        # α = 0 penalises thinking entropy alone: P = 0.7, r = 0.3
        ({"alpha": 0.0}, [0.9, 0.5, 0.2, 0.4], 2, True, 0.7, 0.4, 0.7, 0.3),
        # α = 2: P = max(0, 0.7 - 0.8) = 0
        ({"alpha": 2.0}, [0.9, 0.5, 0.2, 0.4], 2, True, 0.7, 0.4, 0.0, 1.0),
        # α = -1: P = 0.7 + 0.4 = 1.1, r = -0.1
        ({"alpha": -1.0}, [0.9, 0.5, 0.2, 0.4], 2, True, 0.7, 0.4, 1.1, -0.1),
    ],
    "s caps at 1": [
        ({"s": 1.5}, [0.9, 0.5, 0.2, 0.4], 2, True, 0.7, 0.4, 0.3, 1.0),  # min(1, 1.2)
        ({"s": 0.5}, [0.9, 0.5, 0.2, 0.4], 2, True, 0.7, 0.4, 0.3, 0.2),
    ],
    "no </think>: k = T, H_answer = 0": [
        ({}, [0.4, 0.2], None, True, 0.3, 0.0, 0.3, 0.7),
    ],
    "empty phases": [
        ({}, [5.0, 1.0], 0, True, 0.0, 1.0, 0.0, 1.0),  # nothing before k
        ({}, [1.0, 5.0], 1, True, 1.0, 0.0, 1.0, 0.0),  # nothing after k
    ],
    "wrong answer gets r_fmt": [
        ({}, [0.9, 0.5, 0.2, 0.4], 2, False, 0.7, 0.4, 0.3, 0.0),
        ({"r_fmt": -0.5}, [0.9, 0.5, 0.2, 0.4], 2, False, 0.7, 0.4, 0.3, -0.5),
    ],
}
CASES = [(g, *c) for g, cs in VALUES.items() for c in cs]


@pytest.mark.parametrize(
    "group,params,ents,k,correct,ht,ha,pen,value",
    CASES,
    ids=[f"{c[0]}: {c[1]} {c[2]} k={c[3]}" for c in CASES],
)
def test_values(group, params, ents, k, correct, ht, ha, pen, value):
    """The paper's formula, with the guard off."""
    reward = rewardsmith.load("efficiency.pear", answer_guard=False, **params)
    [s] = reward.score([item(ents, correct, k)])
    assert s.status is Status.OK
    assert s.value == pytest.approx(value, abs=1e-12)
    assert s.parts["think_entropy"] == pytest.approx(ht, abs=1e-12)
    assert s.parts["answer_entropy"] == pytest.approx(ha, abs=1e-12)
    assert s.parts["penalty"] == pytest.approx(pen, abs=1e-12)


# The guard (default): P = max(H_think / (1 + α), H_answer) for α >= 0; no answer phase:
# the paper's P = H_think. (params, entropies, k, correct, P, value)
GUARDED = {
    "answer below the allowance: credited at H_think / 2": [
        ({}, [0.9, 0.5, 0.2, 0.4], 2, True, 0.4, 0.6),  # max(0.35, 0.4): above it
        ({}, [3.0, 3.0, 0.0, 0.1], 2, True, 1.5, -0.5),  # max(1.5, 0.1); paper -1.9
        ({}, [2.0, 9.0, 0.5, 0.5], 1, True, 1.0, 0.0),  # max(1.0, 0.5)
    ],
    "answer above the allowance: charged": [
        ({}, [3.0, 3.0, 0.0, 3.5], 2, True, 3.5, -2.5),  # paper: 1.0
        ({}, [0.2, 0.0, 1.0], 1, True, 1.0, 0.0),  # paper: 1.0
    ],
    "no thinking: the answer's entropy is charged": [
        ({}, [5.0, 1.0], 0, True, 1.0, 0.0),  # paper: 1.0
        ({}, [0.0, 0.1, 0.1], 0, True, 0.1, 0.9),
    ],
    "no answer phase: the paper's value": [
        ({}, [0.4, 0.2], None, True, 0.3, 0.7),
        ({}, [1.0, 5.0], 1, True, 1.0, 0.0),
    ],
    "alpha": [
        ({"alpha": 0.0}, [0.9, 0.5, 0.2, 0.4], 2, True, 0.7, 0.3),  # max(0.7, 0.4)
        ({"alpha": 2.0}, [0.9, 0.9, 0.2, 0.1], 2, True, 0.3, 0.7),  # max(0.9 / 3, 0.1)
        ({"alpha": -1.0}, [0.9, 0.5, 0.2, 0.4], 2, True, 1.1, -0.1),  # the paper's
    ],
    "wrong answer gets r_fmt": [
        ({}, [3.0, 3.0, 0.0, 3.5], 2, False, 3.5, 0.0),
    ],
}
GUARDED_CASES = [(g, *c) for g, cs in GUARDED.items() for c in cs]


@pytest.mark.parametrize(
    "group,params,ents,k,correct,pen,value",
    GUARDED_CASES,
    ids=[f"{c[0]}: {c[1]} {c[2]} k={c[3]}" for c in GUARDED_CASES],
)
def test_guarded_values(group, params, ents, k, correct, pen, value):
    [s] = rewardsmith.load("efficiency.pear", **params).score([item(ents, correct, k)])
    assert s.status is Status.OK
    assert s.value == pytest.approx(value, abs=1e-12)
    assert s.parts["penalty"] == pytest.approx(pen, abs=1e-12)


def test_think_end_from_token_ids():
    r = rewardsmith.load("efficiency.pear", think_end_id=THINK_END_ID)
    [s] = r.score([item([0.9, 0.5, 0.2, 0.4], ids=[1, 2, THINK_END_ID, 3])])
    assert s.info["think_end"] == 2 and s.value == pytest.approx(0.6)  # guarded: 1 - 0.4
    [s] = r.score([item([0.4, 0.2], ids=[1, 2])])  # the id is absent: k = T
    assert s.info["think_end"] == 2 and s.value == pytest.approx(0.7)


def test_meta_index_wins_over_ids():
    r = rewardsmith.load("efficiency.pear", think_end_id=THINK_END_ID)
    [s] = r.score([item([0.9, 0.5, 0.2, 0.4], k=1, ids=[1, 2, THINK_END_ID, 3])])
    assert s.info["think_end"] == 1


def test_text_without_think_end_needs_no_position():
    [s] = rewardsmith.load("efficiency.pear").score([item([0.4, 0.2], text="no tags")])
    assert s.info["think_end"] == 2 and s.value == pytest.approx(0.7)


@pytest.mark.parametrize(
    "sample,word",
    [
        (Sample(completion="a", meta={"correct": True}), "entropies"),
        (Sample(completion="a", meta={"correct": True}, tokens=Tokens(ids=[1])), "entropies"),
        (item([]), "entropies"),
        (item([0.1, math.nan], k=0), "entropies[1]"),
        (item([0.1, -0.2], k=0), "entropies[1]"),
        (item([0.1, math.inf], k=0), "entropies[1]"),
        (item([0.1, 0.2], correct=None, k=0), "correct"),
        (Sample(completion="a", tokens=Tokens(entropies=[0.1])), "correct"),
        (item([0.1, 0.2], k=2), "think_end"),
        (item([0.1, 0.2], k=-1), "think_end"),
        (item([0.1, 0.2], k=True), "think_end"),
        (item([0.1, 0.2], k="1"), "think_end"),
        (item([0.1, 0.2]), "position is unknown"),
    ],
    ids=[
        "no tokens",
        "no entropies",
        "empty entropies",
        "nan",
        "negative",
        "inf",
        "verdict None",
        "verdict missing",
        "k = T",
        "k negative",
        "k bool",
        "k string",
        "</think> in text, no position",
    ],
)
def test_malformed_inputs_are_errors_not_zeros(sample, word):
    [s] = rewardsmith.load("efficiency.pear").score([sample])
    assert s.value is None and s.status is Status.ERROR
    assert s.error is not None and s.error.type == "InputError" and word in s.error.message


def test_ids_and_entropies_of_different_lengths():
    r = rewardsmith.load("efficiency.pear", think_end_id=THINK_END_ID)
    [s] = r.score([item([0.1, 0.2], ids=[1, THINK_END_ID, 3])])
    assert s.status is Status.ERROR and "3 tokens" in s.error.message


@pytest.mark.parametrize(
    "params,expected",
    [
        ({}, (-math.inf, 1.0)),
        ({"s": 0.5}, (-math.inf, 0.5)),
        ({"r_fmt": 2.0}, (-math.inf, 2.0)),
    ],
    ids=["defaults", "s below 1", "r_fmt above"],
)
def test_range(params, expected):
    assert rewardsmith.load("efficiency.pear", **params).range == expected


def test_bad_params():
    with pytest.raises(ConfigError):
        rewardsmith.load("efficiency.pear", alpha=math.nan)
    with pytest.raises(ConfigError):
        rewardsmith.load("efficiency.pear", beta=1.0)


def test_spec_and_pickle():
    reward = parse_spec({"reward": {"use": "efficiency.pear", "with": {"alpha": 1.0}}})
    batch = [item([0.9, 0.5, 0.2, 0.4], k=2)]
    assert reward.score(batch)[0].value == pytest.approx(0.6)
    paper = parse_spec({"reward": {"use": "efficiency.pear", "with": {"answer_guard": False}}})
    assert paper.score(batch)[0].value == pytest.approx(0.7)
    r = rewardsmith.load("efficiency.pear")
    assert pickle.loads(pickle.dumps(r)).score(batch) == r.score(batch)


ents = st.lists(st.floats(0.0, 20.0), min_size=1, max_size=40)


@settings(max_examples=300, deadline=None)
@given(
    e=ents, data=st.data(), correct=st.booleans(), alpha=st.floats(-2.0, 3.0), guard=st.booleans()
)
def test_range_holds_and_penalty_is_non_negative(e, data, correct, alpha, guard):
    k = data.draw(st.one_of(st.none(), st.integers(0, len(e) - 1)))
    r = rewardsmith.load("efficiency.pear", alpha=alpha, answer_guard=guard)
    [s] = r.score([item(e, correct, k)])
    lo, hi = r.range
    assert lo <= s.value <= hi and s.parts["penalty"] >= 0.0
    if correct:
        assert s.value == pytest.approx(min(1.0, 1.0 - s.parts["penalty"]))
    else:
        assert s.value == 0.0


@settings(max_examples=200, deadline=None)
@given(
    think=st.lists(st.floats(0.0, 10.0), min_size=1, max_size=10),
    answer=st.lists(st.floats(0.0, 10.0), min_size=1, max_size=10),
    bump=st.floats(0.0, 5.0),
    alpha=st.floats(0.0, 3.0),
)
def test_guarded_reward_never_rises_with_either_phase_entropy(think, answer, bump, alpha):
    r = rewardsmith.load("efficiency.pear", alpha=alpha)

    def value(t, a):
        [s] = r.score([item([*t, 0.0, *a], k=len(t))])
        return s.value

    base = value(think, answer)
    assert value(think, [h + bump for h in answer]) <= base + 1e-9
    assert value([h + bump for h in think], answer) <= base + 1e-9
