"""transform.par: Preference As Reward (Fu et al., arXiv 2502.18770), against hand-computed values.

σ(1) = 0.7310585786300049, σ(−1) = 0.2689414213699951, σ(2) = 0.8807970779778823,
tanh(1) = 0.7615941559557649, tanh(0.5) = 0.46211715726000974.
"""

import math
import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rewardsmith import Sample
from rewardsmith.core import Constant, Shape, Status
from rewardsmith.core.registry import build
from rewardsmith.errors import ConfigError
from rewardsmith.spec import parse_spec


def par(**params):
    return build("transform.par", params, kind="transform")


def with_refs(refs):
    return Sample(meta={"reference_rewards": refs})


# (params, reward, reference rewards, expected)
VALUES = {
    "paper definition": [
        ({}, 1.0, [0.0], 0.7310585786300049),
        ({}, 1.0, [0.0, 1.0, 2.0], (0.7310585786300049 + 0.5 + 0.2689414213699951) / 3),
        ({}, 0.0, [0.0], 0.5),
        ({"k": 2.0}, 0.5, [-0.5], 0.8807970779778823),
        ({"max_refs": 1}, 0.0, [0.0, 100.0], 0.5),
        ({}, 3.0, [2.0] * 12, 0.7310585786300049),  # only the first 10 are read
    ],
    "tanh ablation": [
        ({"variant": "tanh"}, 1.0, [0.0, 0.5], (0.7615941559557649 + 0.46211715726000974) / 2),
        ({"variant": "tanh"}, 0.0, [0.0], 0.0),
    ],
    "uncentred sigmoid ablation": [
        ({"variant": "sigmoid_uncentred"}, 2.0, None, 0.8807970779778823),
        ({"variant": "sigmoid_uncentred", "k": 2.0}, -0.5, [5.0], 0.2689414213699951),
    ],
    "centred ablation": [
        ({"variant": "centred"}, 1.0, [0.0, 0.5], 0.75),
        ({"variant": "centred", "k": 5.0}, -1.0, [1.0, 2.0, 3.0], -3.0),  # k not applied
    ],
}
CASES = [(g, *c) for g, cs in VALUES.items() for c in cs]


@pytest.mark.parametrize(
    "group,params,reward,refs,expected",
    CASES,
    ids=[f"{c[0]}: {c[1]} r={c[2]} refs={c[3]}" for c in CASES],
)
def test_values(group, params, reward, refs, expected):
    sample = Sample() if refs is None else with_refs(refs)
    assert par(**params).apply([reward], [sample]) == [pytest.approx(expected, abs=1e-15)]


@pytest.mark.parametrize(
    "refs",
    [None, [], "0.5", [math.nan], [True], ["1.0"], {"a": 1}],
    ids=["missing", "empty", "string", "nan", "bool", "string item", "dict"],
)
@pytest.mark.parametrize("variant", ["par", "tanh", "centred"])
def test_unusable_references_give_none(variant, refs):
    sample = Sample() if refs is None else with_refs(refs)
    assert par(variant=variant).apply([1.0], [sample]) == [None]


def test_none_passes_through():
    assert par().apply([None, 1.0], [with_refs([0.0])] * 2) == [
        None,
        pytest.approx(0.7310585786300049),
    ]


def test_missing_references_are_skipped_in_a_shape_node():
    node = Shape(Constant(1.0), par())
    good, bad = node.score([with_refs([1.0]), Sample()])
    assert good.value == 0.5 and good.status is Status.OK
    assert bad.value is None and bad.status is Status.SKIPPED
    assert "transform.par" in bad.info["reason"]


@pytest.mark.parametrize(
    "params,child,expected",
    [
        ({}, (-math.inf, math.inf), (0.0, 1.0)),
        ({"variant": "tanh"}, (0.0, 1.0), (-1.0, 1.0)),
        ({"variant": "sigmoid_uncentred"}, (0.0, 0.0), (0.5, 0.5)),
        ({"variant": "centred"}, (0.0, 1.0), (-math.inf, math.inf)),
    ],
    ids=["par", "tanh", "uncentred", "centred"],
)
def test_out_range(params, child, expected):
    assert par(**params).out_range(child) == expected


@pytest.mark.parametrize(
    "params",
    [{"k": 0}, {"k": -1}, {"max_refs": 0}, {"variant": "poly"}, {"refs": 3}],
    ids=["k zero", "k negative", "no refs", "unknown variant", "unknown key"],
)
def test_bad_params(params):
    with pytest.raises(ConfigError):
        par(**params)


def test_pickles():
    t = par(variant="tanh", k=2.0)
    assert pickle.loads(pickle.dumps(t)).apply([1.0], [with_refs([0.5])]) == t.apply(
        [1.0], [with_refs([0.5])]
    )


def test_spec_shape_node():
    spec = {
        "reward": {
            "shape": {"transform": {"use": "transform.par", "with": {"k": 2}}, "reward": 1.0}
        }
    }
    reward = parse_spec(spec)
    assert reward.range == (0.0, 1.0)
    [s] = reward.score([with_refs([0.5])])
    assert s.value == pytest.approx(0.7310585786300049, abs=1e-15)


finite = st.floats(-15, 15, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(r=finite, refs=st.lists(finite, min_size=1, max_size=12), k=st.floats(0.1, 1.0))
def test_par_is_strictly_inside_zero_one(r, refs, k):
    # |k·(r − r_ref)| <= 30 here, so σ is not rounded to 0 or 1
    [v] = par(k=k, max_refs=None).apply([r], [with_refs(refs)])
    assert 0.0 < v < 1.0


@settings(max_examples=200, deadline=None)
@given(r=finite, d=st.floats(0.01, 5), refs=st.lists(finite, min_size=1, max_size=5))
def test_par_grows_with_the_reward(r, d, refs):
    lo, hi = par().apply([r, r + d], [with_refs(refs)] * 2)
    assert hi >= lo


@settings(max_examples=200, deadline=None)
@given(
    variant=st.sampled_from(["par", "tanh", "sigmoid_uncentred"]),
    r=st.floats(-1e300, 1e300),
    refs=st.lists(st.floats(-1e300, 1e300), min_size=1),
)
def test_bounded_variants_stay_in_their_range_for_any_finite_input(variant, r, refs):
    t = par(variant=variant)
    lo, hi = t.out_range((-math.inf, math.inf))
    [v] = t.apply([r], [with_refs(refs)])
    assert lo <= v <= hi
