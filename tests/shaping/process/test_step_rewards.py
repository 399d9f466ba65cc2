"""process.clip and process.delta (Gao et al., arXiv 2410.15115), against hand-computed values.

The four-step example [0.7, 0.2, 0.4, 0.8] is the shape of the paper's Fig. 2.
"""

import math
import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rewardsmith
from rewardsmith import Sample
from rewardsmith.core import Status
from rewardsmith.errors import ConfigError
from rewardsmith.shaping.process.step_rewards import clip_steps, delta_steps
from rewardsmith.spec import parse_spec

FIG2 = [0.7, 0.2, 0.4, 0.8]


def steps(rs):
    return Sample(meta={"step_rewards": rs})


# (reward, params, step rewards, per-step terms, total)
VALUES = {
    "clip": [
        ("process.clip", {"eta": 0.5}, FIG2, [0.0, -0.3, -0.1, 0.0], -0.4),
        ("process.clip", {"eta": 0.5}, [0.6], [0.0], 0.0),
        ("process.clip", {"eta": 0.0}, [0.0, 0.3], [0.0, 0.0], 0.0),
        ("process.clip", {"eta": 1.0}, [1.0, 0.0, 0.25], [0.0, -1.0, -0.75], -1.75),
    ],
    "delta (last step dropped)": [
        ("process.delta", {}, FIG2, [0.5, -0.2, -0.4, 0.0], -0.1),  # 0.7 − 0.8
        ("process.delta", {}, [0.6], [0.0], 0.0),
        ("process.delta", {}, [1.0, 0.0], [1.0, 0.0], 1.0),
        ("process.delta", {}, [0.0, 0.5, 1.0], [-0.5, -0.5, 0.0], -1.0),
    ],
    "delta keep_last": [
        ("process.delta", {"keep_last": True}, FIG2, [0.5, -0.2, -0.4, 0.8], 0.7),
        ("process.delta", {"keep_last": True}, [0.6], [0.6], 0.6),
    ],
    "clip-delta": [
        # clipped [0, -0.3, -0.1, 0], then differences
        ("process.delta", {"clip_eta": 0.5}, FIG2, [0.3, -0.2, -0.1, 0.0], 0.0),
        ("process.delta", {"clip_eta": 0.5}, [0.1, 0.9], [-0.4, 0.0], -0.4),
        ("process.delta", {"clip_eta": 0.5}, [0.9, 0.1], [0.4, 0.0], 0.4),
        ("process.delta", {"clip_eta": 0.5, "keep_last": True}, [0.9, 0.1], [0.4, -0.4], 0.0),
    ],
}
CASES = [(g, *c) for g, cs in VALUES.items() for c in cs]


@pytest.mark.parametrize(
    "group,name,params,rs,terms,total", CASES, ids=[f"{c[0]}: {c[2]} {c[3]}" for c in CASES]
)
def test_values(group, name, params, rs, terms, total):
    [s] = rewardsmith.load(name, **params).score([steps(rs)])
    assert s.status is Status.OK
    assert s.value == pytest.approx(total, abs=1e-12)
    assert s.info["steps"] == pytest.approx(terms, abs=1e-12)
    assert s.parts["sum"] == pytest.approx(total, abs=1e-12)
    assert s.parts["min"] == pytest.approx(min(terms), abs=1e-12)


@pytest.mark.parametrize(
    "meta",
    [
        {},
        {"step_rewards": []},
        {"step_rewards": [0.5, 1.5]},
        {"step_rewards": [-0.1]},
        {"step_rewards": [math.nan]},
        {"step_rewards": [True]},
        {"step_rewards": "0.5"},
        {"step_rewards": ["0.5"]},
    ],
    ids=["missing", "empty", "above 1", "below 0", "nan", "bool", "string", "string item"],
)
@pytest.mark.parametrize("name,params", [("process.clip", {"eta": 0.5}), ("process.delta", {})])
def test_bad_step_rewards_are_errors_not_zeros(name, params, meta):
    [s] = rewardsmith.load(name, **params).score([Sample(meta=meta)])
    assert s.value is None and s.status is Status.ERROR
    assert s.error is not None and s.error.type == "InputError"


def test_a_huge_completion_is_still_scored():
    sample = Sample(completion="x" * 200_000, meta={"step_rewards": [0.2]})
    [s] = rewardsmith.load("process.clip", eta=0.5).score([sample])
    assert s.value == pytest.approx(-0.3)


@pytest.mark.parametrize(
    "params,expected",
    [
        ({}, (-1.0, 1.0)),
        ({"keep_last": True}, (0.0, 1.0)),
        ({"clip_eta": 0.25}, (-0.25, 0.25)),
        ({"clip_eta": 0.25, "keep_last": True}, (-0.25, 0.0)),
    ],
    ids=["delta", "keep last", "clip-delta", "clip-delta keep last"],
)
def test_delta_ranges(params, expected):
    assert rewardsmith.load("process.delta", **params).range == expected


def test_clip_range():
    assert rewardsmith.load("process.clip", eta=0.5).range == (-math.inf, 0.0)


@pytest.mark.parametrize(
    "name,params",
    [
        ("process.clip", {}),
        ("process.clip", {"eta": 1.5}),
        ("process.clip", {"eta": -0.1}),
        ("process.delta", {"clip_eta": 2.0}),
        ("process.delta", {"alpha": 1.0}),
    ],
    ids=["clip without eta", "eta above 1", "eta negative", "clip_eta above 1", "unknown key"],
)
def test_bad_params(name, params):
    with pytest.raises(ConfigError):
        rewardsmith.load(name, **params)


def test_pickles():
    r = rewardsmith.load("process.delta", clip_eta=0.5)
    assert pickle.loads(pickle.dumps(r)).score([steps(FIG2)]) == r.score([steps(FIG2)])


def test_spec_composes_success_and_clip_delta():
    spec = {
        "reward": {
            "sum": [
                1.0,
                {"use": "process.delta", "with": {"clip_eta": 0.5}, "weight": 0.5, "name": "prm"},
            ]
        }
    }
    [s] = parse_spec(spec).score([steps([0.9, 0.1])])
    assert s.value == pytest.approx(1.0 + 0.5 * 0.4)
    assert s.parts["prm"] == pytest.approx(0.4)


def test_spec_clip():
    [s] = parse_spec({"reward": {"use": "process.clip", "with": {"eta": 0.5}}}).score([steps(FIG2)])
    assert s.value == pytest.approx(-0.4)


prm = st.lists(st.floats(0.0, 1.0), min_size=1, max_size=30)
etas = st.floats(0.0, 1.0)


@settings(max_examples=300, deadline=None)
@given(rs=prm, eta=etas)
def test_clip_total_is_never_positive_and_at_least_minus_eta_per_step(rs, eta):
    [s] = rewardsmith.load("process.clip", eta=eta).score([steps(rs)])
    assert -eta * len(rs) - 1e-12 <= s.value <= 0.0
    assert all(t <= 0.0 for t in s.info["steps"])


@settings(max_examples=300, deadline=None)
@given(rs=prm)
def test_delta_telescopes(rs):
    drop = rewardsmith.load("process.delta").score([steps(rs)])[0].value
    keep = rewardsmith.load("process.delta", keep_last=True).score([steps(rs)])[0].value
    assert drop == pytest.approx(rs[0] - rs[-1], abs=1e-12)
    assert keep == pytest.approx(rs[0], abs=1e-12)
    assert -1.0 <= drop <= 1.0 and 0.0 <= keep <= 1.0


@settings(max_examples=300, deadline=None)
@given(rs=prm, eta=etas)
def test_clip_delta_telescopes_over_the_clipped_scores(rs, eta):
    r = rewardsmith.load("process.delta", clip_eta=eta)
    [s] = r.score([steps(rs)])
    first, last = min(rs[0] - eta, 0.0), min(rs[-1] - eta, 0.0)
    assert s.value == pytest.approx(first - last, abs=1e-12)
    lo, hi = r.range
    assert lo <= s.value <= hi


@settings(max_examples=200, deadline=None)
@given(rs=prm)
def test_return_from_each_step_telescopes(rs):
    terms = delta_steps(rs)
    for k in range(len(rs)):
        assert math.fsum(terms[k:]) == pytest.approx(rs[k] - rs[-1], abs=1e-12)


def test_helpers_on_no_steps():
    assert clip_steps([], 0.5) == [] and delta_steps([]) == []
