import math
import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rewardsmith import Sample
from rewardsmith.core import Constant, Shape, catalog
from rewardsmith.core.registry import build
from rewardsmith.errors import ConfigError
from rewardsmith.spec import parse_spec


def transform(name, **params):
    return build(f"transform.{name}", params, kind="transform")


def apply(t, values):
    return t.apply(values, [Sample() for _ in values])


# (name, params, inputs, outputs)
POINTWISE = {
    "affine": [
        ("affine", {}, [0.0, 0.5, -2.0], [0.0, 0.5, -2.0]),
        ("affine", {"scale": 2.0, "offset": -1.0}, [0.0, 0.5, 1.0], [-1.0, 0.0, 1.0]),
        ("affine", {"scale": -1.0}, [0.25, -3.0], [-0.25, 3.0]),
        ("affine", {"scale": 0.0, "offset": 7.0}, [1e300, -4.0], [7.0, 7.0]),
    ],
    "clamp": [
        (
            "clamp",
            {"low": -1.0, "high": 1.0},
            [-5.0, -1.0, 0.3, 1.0, 9.0],
            [-1.0, -1.0, 0.3, 1.0, 1.0],
        ),
        ("clamp", {"low": 0.5, "high": 0.5}, [0.0, 1.0], [0.5, 0.5]),
        ("clamp", {"low": 0.0, "high": 1.0}, [-math.inf, math.inf], [0.0, 1.0]),
    ],
    "sigmoid": [
        ("sigmoid", {}, [0.0], [0.5]),
        ("sigmoid", {}, [2.0, -2.0], [0.8807970779778823, 0.11920292202211755]),
        ("sigmoid", {"center": 1.0, "temperature": 0.5}, [1.0, 2.0], [0.5, 0.8807970779778823]),
        ("sigmoid", {}, [1e308, -1e308, 800.0, -800.0], [1.0, 0.0, 1.0, 0.0]),
        ("sigmoid", {"temperature": 1e-300}, [1.0, -1.0], [1.0, 0.0]),
        ("sigmoid", {}, [math.inf, -math.inf], [1.0, 0.0]),
    ],
    "threshold": [
        ("threshold", {}, [0.0, 0.4999, 0.5, 0.9], [0.0, 0.0, 1.0, 1.0]),
        ("threshold", {"at": -1.0}, [-1.0, -1.5], [1.0, 0.0]),
    ],
}
PW_CASES = [(g, *c) for g, cs in POINTWISE.items() for c in cs]


@pytest.mark.parametrize(
    "group,name,params,inputs,outputs",
    PW_CASES,
    ids=[f"{c[0]}: {c[2]} on {c[3]}" for c in PW_CASES],
)
def test_pointwise_values(group, name, params, inputs, outputs):
    assert apply(transform(name, **params), inputs) == pytest.approx(outputs, abs=1e-15)


@pytest.mark.parametrize(
    "name,params",
    [
        ("affine", {"scale": 3.0}),
        ("clamp", {"low": 0.0, "high": 1.0}),
        ("sigmoid", {}),
        ("threshold", {}),
    ],
    ids=["affine", "clamp", "sigmoid", "threshold"],
)
def test_none_passes_through(name, params):
    out = apply(transform(name, **params), [None, 0.75, None])
    assert out[0] is None and out[2] is None and out[1] is not None


# (name, params, child range, out range)
RANGES = [
    ("affine", {}, (0.0, 1.0), (0.0, 1.0)),
    ("affine", {"scale": -2.0, "offset": 1.0}, (0.0, 1.0), (-1.0, 1.0)),
    ("affine", {"scale": 0.0, "offset": 3.0}, (-math.inf, math.inf), (3.0, 3.0)),
    ("clamp", {"low": -1.0, "high": 1.0}, (-10.0, 0.5), (-1.0, 0.5)),
    ("clamp", {"low": -1.0, "high": 1.0}, (2.0, 3.0), (1.0, 1.0)),
    ("sigmoid", {}, (-math.inf, math.inf), (0.0, 1.0)),
    ("sigmoid", {}, (0.0, 0.0), (0.5, 0.5)),
    ("threshold", {}, (0.0, 1.0), (0.0, 1.0)),
    ("threshold", {}, (0.6, 1.0), (1.0, 1.0)),
    ("threshold", {}, (-1.0, 0.4), (0.0, 0.0)),
]


@pytest.mark.parametrize(
    "name,params,child,expected", RANGES, ids=[f"{r[0]} {r[1]} on {r[2]}" for r in RANGES]
)
def test_out_range(name, params, child, expected):
    assert transform(name, **params).out_range(child) == pytest.approx(expected)


@pytest.mark.parametrize(
    "name,params,key",
    [
        ("clamp", {"low": 1.0, "high": 0.0}, "high"),
        ("clamp", {"low": 0.0}, "high"),
        ("sigmoid", {"temperature": 0.0}, "temperature"),
        ("sigmoid", {"temperature": -1.0}, "temperature"),
        ("affine", {"scale": math.nan}, "scale"),
        ("threshold", {"at": math.inf}, "at"),
        ("affine", {"shift": 1.0}, "shift"),
    ],
    ids=[
        "clamp low above high",
        "clamp missing high",
        "zero temperature",
        "negative temperature",
        "nan scale",
        "infinite threshold",
        "unknown key",
    ],
)
def test_bad_params(name, params, key):
    with pytest.raises(ConfigError, match=rf"transform\.{name}: {key}"):
        transform(name, **params)


def test_registered_as_transforms_with_meaningful_ranges():
    entries = {e.name: e for e in catalog(kind="transform")}
    assert entries["transform.sigmoid"].range == (0.0, 1.0)
    assert entries["transform.threshold"].range == (0.0, 1.0)
    assert entries["transform.affine"].range == (-math.inf, math.inf)
    assert entries["transform.clamp"].range is None  # low and high are required


def test_shape_node_uses_the_transform_and_its_range():
    node = Shape(Constant(2.5), transform("clamp", low=-1.0, high=1.0))
    assert [s.value for s in node.score([Sample(), Sample()])] == [1.0, 1.0]
    assert node.range == (1.0, 1.0)
    assert node.name == "shape[transform.clamp](2.5)"


def test_a_spec_can_shape_with_a_transform():
    spec = {
        "name": "t",
        "reward": {
            "shape": {
                "reward": {"use": "length.overlong", "with": {"max_tokens": 10, "cache_tokens": 4}},
                "transform": {"use": "transform.affine", "with": {"scale": 2.0, "offset": 1.0}},
            }
        },
    }
    reward = parse_spec(spec)
    assert reward.range == (-1.0, 1.0)
    # 28 characters: an estimated 7 tokens, one past the soft limit of 6: -0.25 -> 0.5
    assert reward.score([Sample(completion="x" * 28)])[0].value == pytest.approx(0.5)


@pytest.mark.parametrize(
    "name,params",
    [
        ("affine", {"scale": 2.0}),
        ("clamp", {"low": 0.0, "high": 1.0}),
        ("sigmoid", {"center": 0.5}),
        ("threshold", {"at": 0.2}),
    ],
    ids=["affine", "clamp", "sigmoid", "threshold"],
)
def test_transforms_pickle(name, params):
    t = transform(name, **params)
    again = pickle.loads(pickle.dumps(t))
    assert apply(again, [0.1, 0.9]) == apply(t, [0.1, 0.9])
    assert again.name == t.name == f"transform.{name}"


@settings(max_examples=60, deadline=None)
@given(
    lo=st.floats(-1e6, 1e6),
    width=st.floats(0, 1e6),
    frac=st.floats(0, 1),
    scale=st.floats(-100, 100),
    center=st.floats(-10, 10),
    temp=st.floats(1e-3, 100),
)
def test_values_of_a_child_range_land_in_the_out_range(lo, width, frac, scale, center, temp):
    hi = lo + width
    v = min(lo + frac * width, hi)
    for t in (
        transform("affine", scale=scale, offset=center),
        transform("clamp", low=-1.0, high=1.0),
        transform("sigmoid", center=center, temperature=temp),
        transform("threshold", at=center),
    ):
        a, b = t.out_range((lo, hi))
        (out,) = apply(t, [v])
        assert a - 1e-9 * max(1.0, abs(a)) <= out <= b + 1e-9 * max(1.0, abs(b))
