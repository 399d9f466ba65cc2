"""transform.noise ("The Climb Carves Wisdom Deeper Than the Summit", arXiv 2505.22653).

Draws are hashes, so the table checks the ends (p = 0, p = 1, σ = 0) exactly, the draw
recipe against hashlib directly, and the rates statistically.
"""

import hashlib
import json
import math
import pickle
import random
import statistics

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rewardsmith import Sample
from rewardsmith.core.registry import build
from rewardsmith.errors import ConfigError
from rewardsmith.shaping.transforms.noise import uniform_draw
from rewardsmith.spec import parse_spec


def noise(**params):
    return build("transform.noise", params, kind="transform")


def rollouts(n, prompt=None):
    return [Sample(prompt=prompt or f"q{i}", completion=f"c{i}") for i in range(n)]


# (params, values, expected) where the outcome does not depend on the draw
EXACT = [
    ({"mode": "flip", "p": 0.0}, [0.0, 1.0, 0.25], [0.0, 1.0, 0.25]),
    ({"mode": "flip", "p": 1.0}, [0.0, 1.0, 0.25], [1.0, 0.0, 0.75]),
    ({"mode": "gaussian", "sigma": 0.0}, [0.0, 1.0, -3.5], [0.0, 1.0, -3.5]),
    ({"mode": "flip", "p": 1.0}, [None, 1.0, None], [None, 0.0, None]),
]


@pytest.mark.parametrize(
    "params,values,expected",
    EXACT,
    ids=["p=0 identity", "p=1 always flips", "sigma=0 identity", "None"],
)
def test_exact_ends(params, values, expected):
    assert noise(**params).apply(values, rollouts(len(values))) == expected


def test_nan_stays_nan():
    [v] = noise(mode="gaussian", sigma=1.0).apply([math.nan], rollouts(1))
    assert math.isnan(v)


def test_draw_recipe_is_keyed_blake2b_of_the_json_content():
    h = hashlib.blake2b(digest_size=8, key=b"7")
    h.update(json.dumps("What is 2+2?").encode() + b"\x00")
    expected = (int.from_bytes(h.digest(), "big") + 0.5) / 2**64
    assert uniform_draw(7, "What is 2+2?") == expected
    assert 0.0 < expected < 1.0


def test_flip_rate_matches_p():
    out = noise(mode="flip", p=0.3, seed=1).apply([1.0] * 4000, rollouts(4000))
    assert 0.27 < out.count(0.0) / 4000 < 0.33


def test_gaussian_moments_match_sigma():
    out = noise(mode="gaussian", sigma=2.0, seed=3).apply([5.0] * 4000, rollouts(4000))
    assert statistics.fmean(out) == pytest.approx(5.0, abs=0.15)
    assert statistics.pstdev(out) == pytest.approx(2.0, rel=0.06)


def test_flip_is_per_question_by_default():
    # every rollout of one question is flipped together, in every question
    t = noise(mode="flip", p=0.5, seed=11)
    for q in range(50):
        out = t.apply([1.0] * 8, rollouts(8, prompt=f"question {q}"))
        assert len(set(out)) == 1


def test_per_completion_draws_each_rollout():
    t = noise(mode="flip", p=0.5, seed=11, per="completion")
    out = t.apply([1.0] * 64, rollouts(64, prompt="one question"))
    assert 0.0 in out and 1.0 in out


def test_gaussian_is_per_completion_by_default_and_question_on_request():
    group = rollouts(8, prompt="one question")
    assert len(set(noise(mode="gaussian", sigma=1.0).apply([0.0] * 8, group))) == 8
    shared = noise(mode="gaussian", sigma=1.0, per="question").apply([0.0] * 8, group)
    assert len(set(shared)) == 1


def test_seed_changes_the_draws_and_is_reproducible():
    batch = rollouts(200)
    a = noise(mode="gaussian", sigma=1.0, seed=0).apply([0.0] * 200, batch)
    b = noise(mode="gaussian", sigma=1.0, seed=1).apply([0.0] * 200, batch)
    assert a != b
    assert noise(mode="gaussian", sigma=1.0, seed=0).apply([0.0] * 200, batch) == a


def test_chat_prompts_hash():
    prompt = [{"role": "user", "content": "hi"}]
    t = noise(mode="gaussian", sigma=1.0)
    assert t.apply([0.0], [Sample(prompt=prompt)]) == t.apply([0.0], [Sample(prompt=prompt)])


@pytest.mark.parametrize(
    "params,child,expected",
    [
        ({"mode": "flip", "p": 0.2}, (0.0, 1.0), (0.0, 1.0)),
        ({"mode": "flip", "p": 0.2}, (0.0, 0.5), (0.0, 1.0)),
        ({"mode": "flip", "p": 1.0}, (0.0, 0.5), (0.5, 1.0)),
        ({"mode": "flip", "p": 0.0}, (0.0, 0.5), (0.0, 0.5)),
        ({"mode": "gaussian", "sigma": 0.1}, (0.0, 1.0), (-math.inf, math.inf)),
        ({"mode": "gaussian"}, (0.0, 1.0), (0.0, 1.0)),
    ],
)
def test_out_range(params, child, expected):
    assert noise(**params).out_range(child) == expected


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"mode": "flip", "sigma": 1.0},
        {"mode": "gaussian", "p": 0.1},
        {"mode": "flip", "p": 1.5},
        {"mode": "gaussian", "sigma": -1},
        {"mode": "uniform"},
        {"mode": "flip", "per": "batch"},
    ],
    ids=[
        "no mode",
        "sigma with flip",
        "p with gaussian",
        "p above 1",
        "negative sigma",
        "unknown mode",
        "unknown per",
    ],
)
def test_bad_params(params):
    with pytest.raises(ConfigError):
        noise(**params)


def test_pickles():
    t = noise(mode="gaussian", sigma=1.0, seed=5)
    batch = rollouts(3)
    assert pickle.loads(pickle.dumps(t)).apply([0.0] * 3, batch) == t.apply([0.0] * 3, batch)


def test_spec_shape_node():
    spec = {
        "reward": {
            "shape": {
                "transform": {"use": "transform.noise", "with": {"mode": "flip", "p": 1.0}},
                "reward": 1.0,
            }
        }
    }
    reward = parse_spec(spec)
    assert [s.value for s in reward.score(rollouts(3))] == [0.0, 0.0, 0.0]
    assert reward.range == (0.0, 0.0)


@settings(max_examples=100, deadline=None)
@given(
    mode=st.sampled_from([{"mode": "flip", "p": 0.5}, {"mode": "gaussian", "sigma": 1.0}]),
    per=st.sampled_from(["question", "completion"]),
    vals=st.lists(st.sampled_from([0.0, 1.0]), min_size=1, max_size=10),
    seed=st.integers(0, 2**32),
)
def test_order_independent(mode, per, vals, seed):
    t = noise(**mode, per=per, seed=seed)
    batch = [Sample(prompt=f"q{i % 3}", completion=f"c{i}") for i in range(len(vals))]
    out = t.apply(vals, batch)
    order = list(range(len(vals)))
    random.Random(seed).shuffle(order)
    assert t.apply([vals[i] for i in order], [batch[i] for i in order]) == [out[i] for i in order]
    assert t.apply(vals[:1], batch[:1]) == out[:1]  # and independent of the rest of the batch
