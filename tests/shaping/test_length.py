import pickle
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rewardsmith
from rewardsmith import Sample, Status, Tokens
from rewardsmith.errors import ConfigError
from rewardsmith.shaping.length import completion_length


def with_ids(n, text="..."):
    """A sample of exactly n tokens (n = 0: an empty completion, no ids)."""
    if n == 0:
        return Sample(completion="")
    return Sample(completion=text, tokens=Tokens(ids=list(range(n))))


def score(reward, sample):
    return reward.score([sample])[0]


@pytest.mark.parametrize(
    "sample,length,source",
    [
        (with_ids(7, "x" * 1000), 7, "tokens"),
        (Sample(completion="x" * 1000, tokens=Tokens(ids=[])), 250, "estimate"),
        (Sample(completion="x" * 1000, tokens=Tokens(logprobs=[-0.1])), 250, "estimate"),
        (Sample(completion="abcd"), 1, "estimate"),
        (Sample(completion="abcde"), 2, "estimate"),
        (Sample(completion=""), 0, "estimate"),
        (
            Sample(
                completion=[
                    {"role": "user", "content": "x" * 400},
                    {"role": "assistant", "content": "12345678"},
                ]
            ),
            2,
            "estimate",
        ),
    ],
    ids=[
        "ids win over text",
        "empty ids",
        "no ids",
        "4 chars",
        "5 chars round up",
        "empty",
        "chat: last assistant message",
    ],
)
def test_length_comes_from_token_ids_else_an_estimate(sample, length, source):
    assert completion_length(sample) == (length, source)
    s = score(rewardsmith.load("length.overlong"), sample)
    assert s.info == {"length": length, "length_source": source}


# max_tokens=100, cache_tokens=20: the ramp runs over (80, 100]
OVERLONG = [
    (0, 0.0),
    (50, 0.0),
    (79, 0.0),
    (80, 0.0),
    (81, -0.05),
    (85, -0.25),
    (90, -0.5),
    (99, -0.95),
    (100, -1.0),
    (101, -1.0),
    (10_000, -1.0),
]


@pytest.mark.parametrize("n,value", OVERLONG, ids=[f"L={n}" for n, _ in OVERLONG])
def test_overlong_piecewise(n, value):
    s = score(rewardsmith.load("length.overlong", max_tokens=100, cache_tokens=20), with_ids(n))
    assert s.value == pytest.approx(value, abs=1e-12)
    assert s.status == Status.OK


DAPO_DEFAULTS = [(16384, 0.0), (16385, -1 / 4096), (18432, -0.5), (20480, -1.0), (20481, -1.0)]


@pytest.mark.parametrize("n,value", DAPO_DEFAULTS, ids=[f"L={n}" for n, _ in DAPO_DEFAULTS])
def test_overlong_at_dapo_defaults(n, value):
    reward = rewardsmith.load("length.overlong")
    assert score(reward, with_ids(n)).value == pytest.approx(value, abs=1e-12)
    assert reward.range == (-1.0, 0.0)


def test_overlong_on_a_huge_text_is_measured_not_capped():
    reward = rewardsmith.load("length.overlong", max_tokens=100, cache_tokens=20)
    t = time.perf_counter()
    s = score(reward, Sample(completion="x" * 2_000_000))
    assert time.perf_counter() - t < 0.5
    assert s.value == -1.0 and s.info["length"] == 500_000
    assert "reason" not in s.info


@pytest.mark.parametrize(
    "params,key",
    [
        ({"max_tokens": 100, "cache_tokens": 100}, "cache_tokens"),
        ({"max_tokens": 100, "cache_tokens": 200}, "cache_tokens"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"cache_tokens": 0}, "cache_tokens"),
        ({"max_tokens": -5, "cache_tokens": 1}, "max_tokens"),
    ],
    ids=["cache equals max", "cache above max", "zero max", "zero cache", "negative max"],
)
def test_overlong_bad_params(params, key):
    with pytest.raises(ConfigError, match=rf"length\.overlong: {key}"):
        rewardsmith.load("length.overlong", **params)


# (params other than max_tokens=100, L, value)
PAPER_CORRECT = {"short_value": 2.0, "long_value": 1.0, "exceed_value": -10.0}
PAPER_WRONG = {"short_value": -10.0, "long_value": 0.0, "exceed_value": -10.0}
COSINE = {
    "defaults": [
        ({}, 0, 1.0),
        ({}, 25, 0.8535533905932737),
        ({}, 50, 0.5),
        ({}, 75, 0.14644660940672627),
        ({}, 100, 0.0),
        ({}, 101, 0.0),
    ],
    "paper, correct": [
        (PAPER_CORRECT, 0, 2.0),
        (PAPER_CORRECT, 50, 1.5),
        (PAPER_CORRECT, 100, 1.0),
        (PAPER_CORRECT, 101, -10.0),
    ],
    "paper, wrong": [
        (PAPER_WRONG, 0, -10.0),
        (PAPER_WRONG, 50, -5.0),
        (PAPER_WRONG, 100, 0.0),
        (PAPER_WRONG, 5000, -10.0),
    ],
    "rounding stays in range": [  # unclamped: -3.0000000000000004 and -2.9000000000000004
        ({"short_value": -3.0, "long_value": 1.4}, 0, -3.0),
        ({"short_value": -2.9, "long_value": -0.7}, 0, -2.9),
    ],
}
COS_CASES = [(g, *c) for g, cs in COSINE.items() for c in cs]


@pytest.mark.parametrize(
    "group,params,n,value", COS_CASES, ids=[f"{c[0]}: L={c[2]}" for c in COS_CASES]
)
def test_cosine(group, params, n, value):
    reward = rewardsmith.load("length.cosine", max_tokens=100, **params)
    s = score(reward, with_ids(n))
    assert s.value == pytest.approx(value, abs=1e-12)
    lo, hi = reward.range
    assert lo <= s.value <= hi


def test_cosine_estimates_from_text_without_ids():
    reward = rewardsmith.load("length.cosine", max_tokens=100)
    s = score(reward, Sample(completion="x" * 200))
    assert s.value == pytest.approx(0.5)
    assert s.info == {"length": 50, "length_source": "estimate"}


@pytest.mark.parametrize(
    "params,expected",
    [
        ({}, (0.0, 1.0)),
        (PAPER_CORRECT, (-10.0, 2.0)),
        (PAPER_WRONG, (-10.0, 0.0)),
        ({"short_value": 0.5, "long_value": 0.5, "exceed_value": 3.0}, (0.5, 3.0)),
    ],
    ids=["defaults", "paper correct", "paper wrong", "exceed above"],
)
def test_cosine_range_spans_the_three_values(params, expected):
    assert rewardsmith.load("length.cosine", max_tokens=10, **params).range == expected


@pytest.mark.parametrize(
    "params,key",
    [
        ({}, "max_tokens"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"max_tokens": 10, "short_value": float("nan")}, "short_value"),
        ({"max_tokens": 10, "exceed_value": float("-inf")}, "exceed_value"),
    ],
    ids=["missing max", "zero max", "nan value", "infinite value"],
)
def test_cosine_bad_params(params, key):
    with pytest.raises(ConfigError, match=rf"length\.cosine: {key}"):
        rewardsmith.load("length.cosine", **params)


@pytest.mark.parametrize(
    "name,params",
    [
        ("length.overlong", {"max_tokens": 100, "cache_tokens": 20}),
        ("length.cosine", {"max_tokens": 100, **PAPER_WRONG}),
    ],
    ids=["overlong", "cosine"],
)
def test_pickles_and_has_no_size_cap(name, params):
    reward = pickle.loads(pickle.dumps(rewardsmith.load(name, **params)))
    assert reward.max_chars is None
    assert (
        score(reward, with_ids(90)).value
        == score(rewardsmith.load(name, **params), with_ids(90)).value
    )


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(0, 400), text=st.text(max_size=300), values=st.tuples(*[st.floats(-100, 100)] * 3)
)
def test_length_terms_stay_in_range(n, text, values):
    short, long, exceed = values
    rewards = [
        rewardsmith.load("length.overlong", max_tokens=200, cache_tokens=50),
        rewardsmith.load(
            "length.cosine", max_tokens=200, short_value=short, long_value=long, exceed_value=exceed
        ),
    ]
    for reward in rewards:
        for sample in (with_ids(n), Sample(completion=text)):
            s = score(reward, sample)
            lo, hi = reward.range
            assert s.status == Status.OK and lo <= s.value <= hi
