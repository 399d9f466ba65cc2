"""DCPO trajectory selection, our reconstruction (ChatShopBuddy, arXiv 2603.06065).

Per group of n scored rollouts: keep m = floor(n · fraction); sort best first by
(reward desc, length asc); keep the h = ceil(m · high_share) best and the m - h worst.
"""

import math
import random
import statistics
from collections import Counter, defaultdict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rewardsmith.advantages import dcpo, dcpo_select
from rewardsmith.errors import ConfigError, InputError

N = None
T, F = True, False
Q = ["q"] * 16

# (values, groups, lengths, options, keep), worked out by hand
SELECT = {
    "the paper's shape: K = 16, keep 8": [
        # correct by length: 10(i1) 20(i3) 30(i5) 40(i7) ...; wrong, longest last:
        # ... 55(i15) 65(i13) 75(i11) 85(i9): keep the 4 shortest correct, 4 longest wrong
        (
            [1] * 8 + [0] * 8,
            Q,
            [80, 10, 70, 20, 60, 30, 50, 40, 15, 85, 25, 75, 35, 65, 45, 55],
            {},
            [F, T] * 8,
        ),
        # best first: 1@10(i1) 1@30(i0) 1@50(i3) 0@5(i5) 0@20(i2) 0@40(i4); m 3: 2 high, 1 low
        ([1, 1, 0, 1, 0, 0], Q[:6], [30, 10, 20, 50, 40, 5], {}, [T, T, F, F, T, F]),
    ],
    "odd sizes": [
        ([3, 1, 2, 5, 4], Q[:5], [1] * 5, {}, [F, T, F, T, F]),  # m = 2: best 5, worst 1
        ([0, 1, 2, 3, 4, 5, 6], Q[:7], [0] * 7, {}, [T, F, F, F, F, T, T]),  # m = 3: 6, 5 | 0
    ],
    "fraction and high_share": [
        ([1, 0, 1, 0], Q[:4], [4, 3, 2, 1], {"high_share": 1.0}, [T, F, T, F]),
        ([1, 0, 1, 0], Q[:4], [4, 3, 2, 1], {"high_share": 0.0}, [F, T, F, T]),
        ([1, 0], Q[:2], [1, 2], {"fraction": 1.0}, [T, T]),
        ([1, 0], Q[:2], [1, 2], {"fraction": 0.0}, [F, F]),
        # m = floor(10 · 0.3) = 3 despite 10 · 0.3 = 3.0000000000000004; h = 2
        (list(range(10)), Q[:10], [0] * 10, {"fraction": 0.3}, [T] + [F] * 7 + [T, T]),
    ],
    "degenerate groups": [
        ([1, 1, 1, 1], Q[:4], [4, 1, 3, 2], {}, [F, F, F, F]),  # constant: dropped
        ([1, 1, 1, 1], Q[:4], [4, 1, 3, 2], {"drop_constant": False}, [T, T, F, F]),
        ([1], Q[:1], [3], {}, [F]),
        ([1], Q[:1], [3], {"drop_constant": False}, [F]),  # m = floor(0.5) = 0
        ([1, N, 0, 1], Q[:4], [1, N, 2, 3], {}, [T, F, F, F]),  # n = 3, m = 1: best 1@1
        ([N, N], Q[:2], [N, N], {}, [F, F]),
        ([], [], [], {}, []),
        # same reward and length: input order decides
        ([1, 1, 0, 0], Q[:4], [5, 5, 5, 5], {}, [T, F, F, T]),
    ],
    "several groups": [
        # a: 1@1(i0) 1@3(i4) 0@2(i1) 0@4(i5): keep i0 and i5; b is constant
        ([1, 0, 5, 5, 1, 0], list("aabbaa"), [1, 2, 3, 4, 3, 4], {}, [T, F, F, F, F, T]),
    ],
}
SELECT_CASES = [(g, *c) for g, cs in SELECT.items() for c in cs]


@pytest.mark.parametrize(
    "group,values,groups,lengths,opts,keep",
    SELECT_CASES,
    ids=[f"{c[0]}: {c[1]} {c[3]} {c[4]}"[:90] for c in SELECT_CASES],
)
def test_selection(group, values, groups, lengths, opts, keep):
    assert dcpo_select(values, groups, lengths, **opts) == keep


# (values, groups, lengths, options, advantages), by hand, within 1e-5 (grpo's eps)
ADVANTAGES = [
    # kept 1, 0: mean 1/2, sample std sqrt(1/2) (grpo's default, ddof=1)
    ([1, 0, 1, 0], Q[:4], [30, 20, 10, 40], {}, [N, N, 0.7071068, -0.7071068]),
    ([1, 0, 1, 0], Q[:4], [30, 20, 10, 40], {"ddof": 0}, [N, N, 1.0, -1.0]),
    # kept 1, 1, 0: mean 2/3, sample std sqrt(1/3): (1/3)/0.5773503 = 0.5773503, -1.1547005
    (
        [1, 1, 0, 1, 0, 0],
        Q[:6],
        [30, 10, 20, 50, 40, 5],
        {},
        [0.5773503, 0.5773503, N, N, -1.1547005, N],
    ),
    (
        [1, 1, 0, 1, 0, 0],
        Q[:6],
        [30, 10, 20, 50, 40, 5],
        {"scale_by_std": False},
        [1 / 3, 1 / 3, N, N, -2 / 3, N],
    ),
    ([1, 1, 1, 1], Q[:4], [4, 1, 3, 2], {"drop_constant": False}, [0.0, 0.0, N, N]),
    ([1, 1, 1, 1], Q[:4], [4, 1, 3, 2], {}, [N, N, N, N]),
]


@pytest.mark.parametrize(
    "values,groups,lengths,opts,expected",
    ADVANTAGES,
    ids=[
        "two kept",
        "two kept, ddof 0",
        "grpo on the subset",
        "no std",
        "constant kept",
        "constant dropped",
    ],
)
def test_advantages_on_the_kept_subset(values, groups, lengths, opts, expected):
    out = dcpo(values, groups, lengths, **opts)
    assert [a is None for a in out] == [e is None for e in expected]
    assert [a for a in out if a is not None] == pytest.approx(
        [e for e in expected if e is not None], abs=1e-5
    )


@pytest.mark.parametrize(
    "args,error,word",
    [
        (([1, 0], Q[:2], [1]), InputError, "lengths"),
        (([1, 0], Q[:1], [1, 2]), InputError, "groups"),
        (([1, 0], Q[:2], [1, N]), InputError, "indices [1]"),
        (([1, 0], Q[:2], [1, -2]), InputError, "indices [1]"),
        (([1, 0], Q[:2], [math.inf, 1]), InputError, "indices [0]"),
        (([1, 0], Q[:2], [True, 1]), InputError, "indices [0]"),
        (([math.nan, 0], Q[:2], [1, 1]), InputError, "non-finite values"),
    ],
    ids=[
        "lengths short",
        "groups short",
        "None length",
        "negative length",
        "inf length",
        "bool length",
        "nan value",
    ],
)
def test_bad_input_raises(args, error, word):
    with pytest.raises(error, match=word.replace("[", r"\[").replace("]", r"\]")):
        dcpo_select(*args)


@pytest.mark.parametrize(
    "opts",
    [{"fraction": 1.5}, {"fraction": -0.1}, {"high_share": 2.0}, {"fraction": math.nan}],
    ids=["fraction > 1", "fraction < 0", "high_share > 1", "nan fraction"],
)
def test_bad_options_raise(opts):
    with pytest.raises(ConfigError):
        dcpo_select([1, 0], Q[:2], [1, 2], **opts)


# -- properties ----------------------------------------------------------------------

rollouts = st.lists(
    st.tuples(
        st.one_of(st.none(), st.sampled_from([0.0, 0.5, 1.0]), st.floats(-5, 5)),
        st.sampled_from("abc"),
        st.integers(0, 50),
    ),
    max_size=40,
)
options = st.fixed_dictionaries(
    {
        "fraction": st.floats(0.0, 1.0),
        "high_share": st.floats(0.0, 1.0),
        "drop_constant": st.booleans(),
    }
)


def by_group(rows):
    groups = defaultdict(list)
    for i, (v, g, _) in enumerate(rows):
        if v is not None:
            groups[g].append(i)
    return groups


@settings(max_examples=300, deadline=None)
@given(rows=rollouts, opts=options)
def test_keeps_floor_n_fraction_per_group_unless_it_has_no_contrast(rows, opts):
    values, groups, lengths = map(list, zip(*rows, strict=True)) if rows else ([], [], [])
    keep = dcpo_select(values, groups, lengths, **opts)
    assert not any(k for k, v in zip(keep, values, strict=True) if v is None)
    for idx in by_group(rows).values():
        kept = [i for i in idx if keep[i]]
        constant = len({values[i] for i in idx}) < 2
        expected = (
            0
            if constant and opts["drop_constant"]
            else math.floor(len(idx) * opts["fraction"] + 1e-9)
        )
        assert len(kept) == expected
        h = math.ceil(expected * opts["high_share"] - 1e-9)
        if h and not constant:  # the best rollout of the group is always on the high side
            assert max(values[i] for i in kept) == max(values[i] for i in idx)
        if expected - h and not constant:  # and the worst on the low side
            assert min(values[i] for i in kept) == min(values[i] for i in idx)


@settings(max_examples=300, deadline=None)
@given(rows=rollouts, opts=options, seed=st.integers(0, 2**32 - 1))
def test_permutation_equivariance(rows, opts, seed):
    order = list(range(len(rows)))
    random.Random(seed).shuffle(order)
    shuffled = [rows[i] for i in order]

    def kept(rs):
        if not rs:
            return []
        values, groups, lengths = map(list, zip(*rs, strict=True))
        return dcpo_select(values, groups, lengths, **opts)

    a, b = kept(rows), kept(shuffled)
    # what is kept never depends on order ...
    assert Counter(r for r, k in zip(rows, a, strict=True) if k) == Counter(
        r for r, k in zip(shuffled, b, strict=True) if k
    )
    # ... and which rollout is kept does not either, unless two are identical
    if len(set(rows)) == len(rows):
        assert [a[i] for i in order] == b


@settings(max_examples=200, deadline=None)
@given(rows=rollouts, opts=options)
def test_advantages_are_grpo_on_the_kept_subset(rows, opts):
    if not rows:
        return
    values, groups, lengths = map(list, zip(*rows, strict=True))
    keep = dcpo_select(values, groups, lengths, **opts)
    out = dcpo(values, groups, lengths, **opts)
    assert [a is not None for a in out] == keep
    for g in set(groups):  # GRPO on each group's kept rollouts: (v - mean) / (std + eps)
        kept = [
            (v, a)
            for v, a, gg in zip(values, out, groups, strict=True)
            if gg == g and a is not None
        ]
        if not kept:
            continue
        mean = statistics.fmean(v for v, _ in kept)
        vs = [v for v, _ in kept]
        std = statistics.stdev(vs) if len(vs) > 1 else 0.0  # sample std, dcpo's default
        for v, a in kept:
            assert a == pytest.approx((v - mean) / (std + 1e-6), rel=1e-6, abs=1e-6)
