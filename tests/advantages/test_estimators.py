import math
from collections import defaultdict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rewardsmith.advantages as adv
from rewardsmith.advantages import (
    brpo,
    dr_grpo,
    grpo,
    reinforce_pp,
    rloo,
    stable_reinforce_filter,
)
from rewardsmith.errors import ConfigError, InputError

N = None
ONE = ["p"] * 8
S2 = 0.7071068  # a pair's (r - mean) / sample std: 0.5 / sqrt(1/2)

# (estimator, options, values, groups, expected); hand-computed, compared within 1e-5
# (the eps=1e-6 in grpo / reinforce_pp moves results by about 1e-6 relative).
CASES = {
    # the default std is the sample std (ddof=1), as verl's and TRL's
    "grpo": [
        (grpo, {}, [1, 0, 0, 1], ONE[:4], [0.8660254, -0.8660254, -0.8660254, 0.8660254]),
        (grpo, {"ddof": 0}, [1, 0, 0, 1], ONE[:4], [1, -1, -1, 1]),  # population std 0.5
        (grpo, {"ddof": 0}, [1, 2, 3], ONE[:3], [-1.2247449, 0, 1.2247449]),  # sqrt(2/3)
        (grpo, {}, [1, 2, 3], ONE[:3], [-1, 0, 1]),  # sample std 1
        (grpo, {"scale_by_std": False}, [1, 2, 3], ONE[:3], [-1, 0, 1]),
        (grpo, {"eps": 0.5}, [1, 0], ONE[:2], [0.4142136, -0.4142136]),  # 0.5 / (S2 + 0.5)
        (grpo, {"eps": 0.5, "ddof": 0}, [1, 0], ONE[:2], [0.5, -0.5]),
        (grpo, {}, [1, 5, 0, 7], ["a", "b", "a", "b"], [S2, -S2, -S2, S2]),
        (grpo, {}, [1, N, 0], ONE[:3], [S2, N, -S2]),
        (grpo, {}, [3, 1, 2], ["a", "b", "b"], [0, -S2, S2]),
        (grpo, {}, [0.1, 0.1, 0.1], ONE[:3], [0, 0, 0]),
        (grpo, {}, [N, N], ONE[:2], [N, N]),
        (grpo, {}, [], [], []),
    ],
    "dr_grpo": [
        (dr_grpo, {}, [1, 0, 0, 1], ONE[:4], [0.5, -0.5, -0.5, 0.5]),
        (dr_grpo, {}, [1, 2, 6], ONE[:3], [-2, -1, 3]),
        (dr_grpo, {}, [1, 5, 0, 7], ["a", "b", "a", "b"], [0.5, -1, -0.5, 1]),
        (dr_grpo, {}, [N, 4, 2], ONE[:3], [N, 1, -1]),
        (dr_grpo, {}, [9, 1, 3], [0, 1, 1], [0, -1, 1]),
        (dr_grpo, {}, [7, 7], ONE[:2], [0, 0]),
    ],
    "rloo": [
        (rloo, {}, [1, 0, 0], ONE[:3], [1, -0.5, -0.5]),
        (rloo, {}, [1, 2, 3], ONE[:3], [-1.5, 0, 1.5]),
        (rloo, {}, [1, 0], ONE[:2], [1, -1]),
        (rloo, {}, [1, 0, 2, 3], ["a", "a", "b", "b"], [1, -1, -1, 1]),
        (rloo, {}, [1, N, 0, 0], ONE[:4], [1, N, -0.5, -0.5]),
        (rloo, {}, [4, 1, 0], ["x", "y", "y"], [0, 1, -1]),
        (rloo, {}, [0.3, 0.3, 0.3], ONE[:3], [0, 0, 0]),
    ],
    "reinforce_pp": [
        (reinforce_pp, {}, [1, 0, 0, 1], ONE[:4], [1, -1, -1, 1]),
        # centred [.5, -.5, 1, -1], batch std sqrt(0.625)
        (
            reinforce_pp,
            {},
            [1, 0, 3, 1],
            ["a", "a", "b", "b"],
            [0.6324555, -0.6324555, 1.2649111, -1.2649111],
        ),
        # the singleton's 0 counts in the batch std: sqrt(0.5 / 3)
        (reinforce_pp, {}, [1, 0, 5], ["a", "a", "b"], [1.2247449, -1.2247449, 0]),
        (reinforce_pp, {}, [1, N, 0], ONE[:3], [1, N, -1]),
        (reinforce_pp, {}, [2, 2, 5, 5], ["a", "a", "b", "b"], [0, 0, 0, 0]),
        # ddof 1: centred ±0.5, sample std sqrt(1/3)
        (
            reinforce_pp,
            {"ddof": 1},
            [1, 0, 0, 1],
            ONE[:4],
            [0.8660254, -0.8660254, -0.8660254, 0.8660254],
        ),
        # no group baseline: r - 1.25 = [-.25, -1.25, 1.75, -.25], std sqrt(1.1875)
        (
            reinforce_pp,
            {"group_baseline": False},
            [1, 0, 3, 1],
            ["a", "a", "b", "b"],
            [-0.2294157, -1.1470787, 1.6059101, -0.2294157],
        ),
        (reinforce_pp, {"group_baseline": False}, [4, 4, 4], ["a", "b", "c"], [0, 0, 0]),
        (reinforce_pp, {"group_baseline": False}, [4, N], ["a", "b"], [0, N]),
    ],
    # seed 0: default_rng(0).integers(n) draws 1 for n=2, 2 for n=3, 3 for n=4, 4 for n=5;
    # after integers(4) the next integers(2) draws 1.
    "brpo": [
        (brpo, {"max_imbalance": None}, [3, 1, 2, 2], ONE[:4], [1, -1, 0, 0]),
        (brpo, {"max_imbalance": None, "tie": -1.0}, [3, 1, 2, 2], ONE[:4], [1, -1, -1, 0]),
        (brpo, {}, [1, 0], ONE[:2], [1, 0]),
        (brpo, {"max_imbalance": None}, [3, 5, 1, 7, 2, 2], list("ababaa"), [1, -1, -1, 0, 0, 0]),
        (brpo, {"max_imbalance": None}, [1, 2, 3, 4, 5], ONE[:5], [-1, -1, -1, -1, 0]),
        (brpo, {}, [1, 2, 3, 4, 5], ONE[:5], [0, 0, 0, 0, 0]),  # |-4| / 5 > 0.6: dropped
        (brpo, {}, [N, 1, 0], ONE[:3], [N, 1, 0]),
        (brpo, {}, [5], ONE[:1], [0]),
        (brpo, {}, [2, 2, 2], ONE[:3], [0, 0, 0]),
    ],
}

SRF_CASES = [
    ("symmetric", {}, [1, -1], [1, -1]),
    ("outlier_zeroed", {}, [0] * 20 + [10], [-1 / math.sqrt(20)] * 20 + [0]),
    ("raw_mean_quirk", {}, [100, 101], [0, 0]),
    ("centred_bounds", {"reference_bounds": False}, [100, 101], [-1, 1]),
    ("max_abs", {"clip": 100.0}, [0] * 199 + [1], [-0.0708881] * 199 + [0]),
    ("none_and_nan", {}, [N, 1, math.nan, -1], [N, 1, 0, -1]),
    ("constant", {}, [2, 2, 2], [0, 0, 0]),
    ("empty", {}, [], []),
]


def close(got, want, tol=1e-5):
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        if w is None:
            assert g is None
        else:
            assert isinstance(g, float) and math.isfinite(g)
            assert g == pytest.approx(w, abs=tol)


@pytest.mark.parametrize(
    ("fn", "options", "values", "groups", "expected"),
    [c for cases in CASES.values() for c in cases],
    ids=[f"{name}-{i}" for name, cases in CASES.items() for i in range(len(cases))],
)
def test_hand_computed(fn, options, values, groups, expected):
    close(fn(values, groups, **options), expected)


@pytest.mark.parametrize(
    ("options", "values", "expected"), [c[1:] for c in SRF_CASES], ids=[c[0] for c in SRF_CASES]
)
def test_stable_reinforce_filter(options, values, expected):
    close(stable_reinforce_filter(values, **options), expected)


def test_constant_group_is_exactly_zero():
    assert grpo([0.1] * 3, ONE[:3], eps=0.0) == [0.0, 0.0, 0.0]
    assert grpo([0.0, 5e-324], ONE[:2]) == [0.0, 0.0]  # eps dominates a std of 5e-324
    # eps 0: the std is taken in scaled form, so it no longer underflows to 0
    close(grpo([0.0, 5e-324], ONE[:2], eps=0.0), [-S2, S2])


def test_brpo_is_deterministic_given_seed():
    values, groups = [0.1 * i for i in range(16)], ["p"] * 16
    assert brpo(values, groups, seed=7) == brpo(values, groups, seed=7)


@pytest.mark.parametrize("fn", [grpo, dr_grpo, rloo, reinforce_pp, brpo])
def test_bad_input_raises(fn):
    with pytest.raises(InputError):
        fn([1.0, 2.0], ["a"])
    with pytest.raises(InputError):
        fn([1.0, math.nan], ["a", "a"])


def test_bad_options_raise():
    with pytest.raises(ConfigError):
        grpo([1.0], ["a"], eps=-1.0)
    with pytest.raises(ConfigError):
        grpo([1.0], ["a"], ddof=2)
    with pytest.raises(ConfigError):
        reinforce_pp([1.0], ["a"], eps=math.nan)
    with pytest.raises(ConfigError):
        reinforce_pp([1.0], ["a"], ddof=2)
    with pytest.raises(ConfigError):
        brpo([1.0], ["a"], max_imbalance=-0.1)
    with pytest.raises(ConfigError):
        stable_reinforce_filter([1.0], clip=0.0)


def test_all_is_sorted_and_complete():
    assert adv.__all__ == sorted(adv.__all__)
    assert all(callable(getattr(adv, name)) for name in adv.__all__)


# ---- properties ---------------------------------------------------------------------

# Dyadic rewards keep group sums exact, so "group mean is 0" can be checked at 1e-9.
reward = st.one_of(st.none(), st.integers(-80, 80).map(lambda k: k / 8))
batch = st.lists(st.tuples(reward, st.integers(0, 3)), max_size=12)
DETERMINISTIC = [grpo, dr_grpo, rloo, reinforce_pp]
ALL = [*DETERMINISTIC, brpo]
FAST = settings(max_examples=60, deadline=None)


@FAST
@given(st.data())
@pytest.mark.parametrize("fn", ALL)
def test_constant_groups_give_zeros(fn, data):
    level = data.draw(st.dictionaries(st.integers(0, 3), reward, min_size=1))
    groups = data.draw(st.lists(st.sampled_from(sorted(level)), max_size=12))
    out = fn([level[g] for g in groups], groups)
    assert out == [None if level[g] is None else 0.0 for g in groups]


@FAST
@given(batch, st.data())
@pytest.mark.parametrize("fn", DETERMINISTIC)
def test_permuting_inputs_permutes_outputs(fn, rows, data):
    perm = data.draw(st.permutations(range(len(rows))))
    values, groups = [r[0] for r in rows], [r[1] for r in rows]
    out = fn(values, groups)
    out_p = fn([values[i] for i in perm], [groups[i] for i in perm])
    close(out_p, [out[i] for i in perm], tol=1e-9)


@FAST
@given(st.lists(st.one_of(reward, st.floats(-1e6, 1e6)), max_size=12), st.data())
def test_stable_reinforce_filter_permutes(values, data):
    perm = data.draw(st.permutations(range(len(values))))
    out = stable_reinforce_filter(values)
    close(stable_reinforce_filter([values[i] for i in perm]), [out[i] for i in perm], 1e-9)


@FAST
@given(
    st.lists(
        st.tuples(st.one_of(st.none(), st.floats(-1e100, 1e100)), st.integers(0, 3)), max_size=12
    )
)
@pytest.mark.parametrize("fn", [*ALL, lambda v, g: stable_reinforce_filter(v)])
def test_outputs_are_finite_and_none_preserved(fn, rows):
    values, groups = [r[0] for r in rows], [r[1] for r in rows]
    out = fn(values, groups)
    assert len(out) == len(values)
    for v, a in zip(values, out, strict=True):
        assert (a is None) == (v is None)
        assert a is None or (isinstance(a, float) and math.isfinite(a))


@FAST
@given(batch)
@pytest.mark.parametrize("fn", DETERMINISTIC)
def test_group_mean_is_zero(fn, rows):
    values, groups = [r[0] for r in rows], [r[1] for r in rows]
    by_group = defaultdict(list)
    for a, g in zip(fn(values, groups), groups, strict=True):
        if a is not None:
            by_group[g].append(a)
    for members in by_group.values():
        assert abs(math.fsum(members) / len(members)) <= 1e-9
