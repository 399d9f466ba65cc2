"""length.group_relative: Kimi k1.5's length reward (arXiv 2501.12599), hand-computed.

λ = 0.5 − (len − min) / (max − min); correct: λ, wrong: min(0, λ).
"""

import pickle
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rewardsmith
from rewardsmith import Sample
from rewardsmith.core import GroupReward, Status, Tokens
from rewardsmith.errors import ConfigError
from rewardsmith.spec import parse_spec


def rollout(n_tokens, correct, group="p"):
    meta = {} if correct is None else {"correct": correct}
    return Sample(group=group, tokens=Tokens(ids=list(range(n_tokens))), meta=meta)


def values(batch):
    return [s.value for s in rewardsmith.load("length.group_relative").score(batch)]


# (lengths, correctness, expected)
TABLE = {
    "mixed correctness": [
        ([10, 20, 30], [True, True, False], [0.5, 0.0, -0.5]),
        ([10, 20, 50], [True, False, False], [0.5, 0.0, -0.5]),  # wrong at λ=0.25 -> 0
        ([10, 20, 30], [False, False, False], [0.0, 0.0, -0.5]),
    ],
    "all correct": [
        ([100, 200, 150, 100], [True] * 4, [0.5, -0.5, 0.0, 0.5]),
        ([1, 5], [True, True], [0.5, -0.5]),
    ],
    "degenerate": [
        ([40, 40, 40], [True, False, True], [0.0, 0.0, 0.0]),
        ([7], [True], [0.0]),
    ],
}
CASES = [(g, *c) for g, cs in TABLE.items() for c in cs]


@pytest.mark.parametrize(
    "group,lengths,correct,expected", CASES, ids=[f"{c[0]}: {c[1]} {c[2]}" for c in CASES]
)
def test_values(group, lengths, correct, expected):
    batch = [rollout(n, c) for n, c in zip(lengths, correct, strict=True)]
    assert values(batch) == pytest.approx(expected, abs=1e-15)


def test_character_estimate_without_tokens():
    # ceil(chars / 4): 8 -> 2, 9 -> 3, 16 -> 4
    batch = [Sample(group="p", completion="a" * n, meta={"correct": True}) for n in (8, 9, 16)]
    out = rewardsmith.load("length.group_relative").score(batch)
    assert [s.value for s in out] == [0.5, 0.0, -0.5]
    assert [s.info["length"] for s in out] == [2, 3, 4]
    assert {s.info["length_source"] for s in out} == {"estimate"}


def test_groups_are_separate():
    batch = [
        rollout(10, True, "a"),
        rollout(1000, True, "b"),
        rollout(30, True, "a"),
        rollout(10, True, "b"),
    ]
    assert values(batch) == [0.5, -0.5, -0.5, 0.5]


def test_missing_correctness_is_an_error_but_its_length_counts():
    batch = [rollout(10, True), rollout(30, None), rollout(20, True)]
    out = rewardsmith.load("length.group_relative").score(batch)
    assert [s.value for s in out] == [0.5, None, 0.0]
    assert out[1].status is Status.ERROR and out[1].error.type == "InputError"
    assert out[1].info["lambda"] == -0.5


@pytest.mark.parametrize("correct", [1, "yes", None, 1.0], ids=["int", "str", "none", "float"])
def test_correctness_must_be_a_bool(correct):
    [s] = rewardsmith.load("length.group_relative").score([Sample(meta={"correct": correct})])
    assert s.value is None and s.status is Status.ERROR


def test_is_a_group_reward_with_its_range():
    r = rewardsmith.load("length.group_relative")
    assert isinstance(r, GroupReward) and r.range == (-0.5, 0.5)
    with pytest.raises(ConfigError):
        rewardsmith.load("length.group_relative", max_tokens=3)


def test_pickles():
    r = rewardsmith.load("length.group_relative")
    batch = [rollout(10, True), rollout(20, False)]
    assert pickle.loads(pickle.dumps(r)).score(batch) == r.score(batch)


def test_spec_with_a_warm_up_schedule():
    spec = {
        "reward": {
            "schedule": {
                "reward": {"use": "length.group_relative"},
                "weight": {"kind": "piecewise", "boundaries": [100], "values": [0.0, 1.0]},
            }
        }
    }
    reward = parse_spec(spec)
    batch = [rollout(10, True), rollout(30, True)]
    assert [s.value for s in reward.score(batch)] == [0.0, 0.0]
    rewardsmith.set_step(reward, 100)
    assert [s.value for s in reward.score(batch)] == [0.5, -0.5]


groups = st.lists(
    st.tuples(st.integers(1, 500), st.booleans(), st.sampled_from(["a", "b"])),
    min_size=1,
    max_size=10,
)


@settings(max_examples=200, deadline=None)
@given(batch=groups, seed=st.integers(0, 2**32))
def test_range_and_permutation(batch, seed):
    samples = [rollout(n, c, g) for n, c, g in batch]
    out = values(samples)
    assert all(-0.5 <= v <= 0.5 for v in out)
    assert all(v <= 0.0 for v, (_, c, _) in zip(out, batch, strict=True) if not c)
    order = list(range(len(samples)))
    random.Random(seed).shuffle(order)
    assert values([samples[i] for i in order]) == [out[i] for i in order]
