"""SearchLLM's gated aggregation (arXiv 2603.10473, Eqs. 1-3), against hand-computed values.

R = exp(mean log((s + δ)/(1 + δ))) · Σ w s′ / Σ w.
"""

import math
import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rewardsmith
from helpers_rewards import Flag, Length
from rewardsmith import Sample
from rewardsmith.core import Status
from rewardsmith.core.combinators import Constant
from rewardsmith.core.gated import GatedAggregate, gated_value
from rewardsmith.errors import ConfigError
from rewardsmith.spec import parse_spec


def scored(must, behaviour):
    return Sample(meta={"bottom_line": must, "behaviour": behaviour})


# (params, must, behaviour, gate, utility, value)
VALUES = {
    "all must-pass met": [
        ({}, [1.0, 1.0], [0.5], 1.0, 0.5, 0.5),
        ({}, [1.0], [1.0, 0.0, 0.5], 1.0, 0.5, 0.5),
    ],
    "one failed must-pass": [
        ({}, [0.0], [1.0], 1 / 101, 1.0, 1 / 101),  # 0.01 / 1.01
        ({}, [0.0, 1.0], [1.0], 0.099503719020999, 1.0, 0.099503719020999),  # sqrt(1/101)
        ({"delta": 1.0}, [0.0], [0.4, 0.8], 0.5, 0.6, 0.3),  # (0 + 1)/(1 + 1)
    ],
    "partial scores and weights": [
        # gate 0.51/1.01, utility (3·1 + 1·0)/4 = 0.75
        ({"weights": [3, 1]}, [0.5, 0.5], [1.0, 0.0], 0.504950495049505, 0.75, 0.378712871287129),
        ({"weights": [0, 1]}, [1.0], [0.2, 0.6], 1.0, 0.6, 0.6),
        ({}, [1.0], [0.0], 1.0, 0.0, 0.0),
    ],
}
CASES = [(g, *c) for g, cs in VALUES.items() for c in cs]


@pytest.mark.parametrize(
    "group,params,must,beh,gate,util,value",
    CASES,
    ids=[f"{c[0]}: {c[1]} {c[2]} {c[3]}" for c in CASES],
)
def test_values(group, params, must, beh, gate, util, value):
    [s] = rewardsmith.load("aggregate.gated", **params).score([scored(must, beh)])
    assert s.status is Status.OK
    assert s.value == pytest.approx(value, abs=1e-12)
    assert s.parts["gate"] == pytest.approx(gate, abs=1e-12)
    assert s.parts["utility"] == pytest.approx(util, abs=1e-12)


@pytest.mark.parametrize(
    "meta,word",
    [
        ({}, "bottom_line"),
        ({"bottom_line": [1.0]}, "behaviour"),
        ({"bottom_line": [], "behaviour": [1.0]}, "bottom_line"),
        ({"bottom_line": [1.2], "behaviour": [1.0]}, "bottom_line[0]"),
        ({"bottom_line": [1.0], "behaviour": [1.0, math.nan]}, "behaviour[1]"),
        ({"bottom_line": [1.0], "behaviour": "0.5"}, "behaviour"),
        ({"bottom_line": [True], "behaviour": [0.5]}, "bottom_line[0]"),
    ],
    ids=["nothing", "no behaviour", "empty must", "above 1", "nan", "string", "bool"],
)
def test_missing_or_bad_scores_are_errors_not_zeros(meta, word):
    [s] = rewardsmith.load("aggregate.gated").score([Sample(meta=meta)])
    assert s.value is None and s.status is Status.ERROR
    assert s.error is not None and s.error.type == "InputError" and word in s.error.message


def test_weights_of_the_wrong_length_are_an_item_error():
    [s] = rewardsmith.load("aggregate.gated", weights=[1, 2]).score([scored([1.0], [0.5])])
    assert s.status is Status.ERROR and "2 weights for 1 scores" in s.error.message


@pytest.mark.parametrize(
    "params",
    [
        {"delta": 0},
        {"weights": [0, 0]},
        {"weights": [-1, 2]},
        {"weights": []},
        {"tau": 1},
    ],
    ids=["delta 0", "all-zero weights", "negative weight", "no weights", "unknown key"],
)
def test_bad_params(params):
    with pytest.raises(ConfigError):
        rewardsmith.load("aggregate.gated", **params)


def test_spec_and_pickle():
    spec = {"reward": {"use": "aggregate.gated", "with": {"weights": [3, 1], "delta": 0.01}}}
    batch = [scored([0.5, 0.5], [1.0, 0.0])]
    assert parse_spec(spec).score(batch)[0].value == pytest.approx(0.378712871287129)
    r = rewardsmith.load("aggregate.gated")
    assert pickle.loads(pickle.dumps(r)).score(batch) == r.score(batch)


def test_combinator_over_child_rewards():
    # must-pass: Flag ("yes" in text) and 1.0; behaviour: Length (len/10) weight 1, 0.5 weight 3
    reward = GatedAggregate([Flag(), Constant(1.0)], [Length(), Constant(0.5)], [1, 3])
    ok, failed = reward.score([Sample(completion="yes"), Sample(completion="no, 1234")])
    # gate 1; utility (0.3 + 3·0.5)/4 = 0.45
    assert ok.value == pytest.approx(0.45)
    assert ok.parts["test.flag"] == 1.0 and ok.parts["test.length"] == pytest.approx(0.3)
    assert ok.parts["gate"] == pytest.approx(1.0) and ok.parts["utility"] == pytest.approx(0.45)
    # gate sqrt(0.01/1.01 · 1); utility (0.8 + 1.5)/4 = 0.575
    assert failed.value == pytest.approx(0.099503719020999 * 0.575)
    assert reward.range == (0.0, 1.0)


def test_combinator_error_value_counts_a_failed_child():
    reward = GatedAggregate([Flag()], [Length()], on_error="value", error_value=0.0)
    [s] = reward.score([Sample(completion="boom")])
    # gate 0.01/1.01 (failed must-pass counts as 0), utility 0.4
    assert s.value == pytest.approx(0.4 / 101) and s.status is Status.ERROR


def test_combinator_propagates_a_failed_child():
    reward = GatedAggregate([Flag()], [Length()])
    [s] = reward.score([Sample(completion="boom")])
    assert s.value is None and s.status is Status.ERROR
    assert "checker exploded" in s.error.message


@pytest.mark.parametrize(
    "make,word",
    [
        (lambda: GatedAggregate([], [Length()]), "at least one"),
        (lambda: GatedAggregate([Flag()], [Length()], [1, 2]), "one non-negative weight"),
        (lambda: GatedAggregate([Flag()], [Length()], [0]), "not all be 0"),
        (lambda: GatedAggregate([Flag()], [Length()], delta=0), "delta"),
        (lambda: GatedAggregate([rewardsmith.load("length.overlong")], [Length()]), "not within"),
        (lambda: GatedAggregate([Flag()], [Length()], on_error="skip"), "skip"),
        (
            lambda: GatedAggregate([Flag()], [Length()], on_error="value", error_value=-1),
            "error_value",
        ),
    ],
    ids=[
        "no must",
        "weights length",
        "zero weights",
        "delta 0",
        "child range",
        "skip",
        "error value",
    ],
)
def test_combinator_rejects_bad_configuration(make, word):
    with pytest.raises(ValueError, match=word):
        make()


unit = st.floats(0.0, 1.0)


@settings(max_examples=300, deadline=None)
@given(
    must=st.lists(unit, min_size=1, max_size=8),
    beh=st.lists(unit, min_size=1, max_size=8),
    delta=st.floats(1e-4, 10.0),
)
def test_range_and_monotone_in_the_gate(must, beh, delta):
    v = gated_value(must, beh, delta=delta)
    assert 0.0 <= v <= 1.0
    assert v <= gated_value([1.0] * len(must), beh, delta=delta) + 1e-12
    assert v <= max(beh) + 1e-12


def test_spec_node_gated():
    spec = {
        "reward": {
            "gated": {
                "must": [{"use": "format.think_answer", "name": "format"}],
                "behaviour": [{"use": "aggregate.gated", "weight": 3, "name": "inner"}, 0.2],
                "delta": 1.0,
            }
        }
    }
    reward = parse_spec(spec)
    assert isinstance(reward, GatedAggregate)
    good = Sample(completion="<think>x</think><answer>4</answer>", meta=scored([1.0], [0.6]).meta)
    bad = Sample(completion="no tags", meta=scored([1.0], [0.6]).meta)
    ok, failed = reward.score([good, bad])
    # gate 1; utility (3·0.6 + 1·0.2)/4 = 0.5
    assert ok.value == pytest.approx(0.5)
    assert ok.parts["format"] == 1.0 and ok.parts["inner"] == pytest.approx(0.6)
    # δ = 1: gate (0 + 1)/(1 + 1) = 0.5
    assert failed.value == pytest.approx(0.25) and failed.parts["gate"] == pytest.approx(0.5)


@pytest.mark.parametrize(
    "node,where",
    [
        ({"gated": {"must": [1.0]}}, "missing 'behaviour'"),
        ({"gated": {"must": [], "behaviour": [1.0]}}, "reward.gated.must"),
        (
            {"gated": {"must": [{"use": "format.think_answer", "weight": 2}], "behaviour": [1.0]}},
            "reward.gated.must[0].weight",
        ),
        (
            {"gated": {"must": [{"use": "length.overlong"}], "behaviour": [1.0]}},
            "not within [0, 1]",
        ),
        ({"gated": {"must": [1.0], "behaviour": [1.0], "delta": "x"}}, "reward.gated.delta"),
        ({"gated": {"must": [1.0], "behaviour": [1.0], "delta": 0.0}}, "delta must be > 0"),
        ({"gated": {"must": [1.0], "behaviour": [1.0], "gamma": 1}}, "reward.gated.gamma"),
    ],
    ids=[
        "no behaviour",
        "empty must",
        "weight in must",
        "child range",
        "delta type",
        "delta 0",
        "unknown key",
    ],
)
def test_spec_node_errors_name_the_key(node, where):
    with pytest.raises(ConfigError) as err:
        parse_spec({"reward": node})
    assert where in str(err.value)
