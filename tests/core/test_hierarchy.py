"""The HRM-style hierarchy (our design after ChatShopBuddy, arXiv 2603.06065), by hand.

Level score s_i = weighted mean of its terms; L(i+1) is unlocked only when every lower
level has s_j >= threshold_j; value = Σ w_i c_i (sum) or Σ w_i c_i / Σ w_i (mean), with
c_i = s_i when unlocked and the floor when locked.
"""

import asyncio
import math
import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rewardsmith
from helpers_rewards import Flag, Length
from rewardsmith import Sample
from rewardsmith.core import Score, Status
from rewardsmith.core.combinators import Constant
from rewardsmith.core.hierarchy import Hierarchy, Level, hierarchy_value
from rewardsmith.core.reward import ItemReward
from rewardsmith.errors import ConfigError
from rewardsmith.spec import parse_spec

# (scores, thresholds, options, value), every value worked out by hand
VALUES = {
    "every level met": [
        ([1.0, 1.0, 1.0], [1.0, 1.0, 1.0], {}, 3.0),
        ([0.3], [1.0], {}, 0.3),
    ],
    "a failed level locks everything above it": [
        ([0.5, 1.0, 1.0], [1.0, 1.0, 1.0], {}, 0.5),  # 0.5 + 0 + 0
        ([1.0, 0.5, 1.0], [1.0, 1.0, 1.0], {}, 1.5),  # 1 + 0.5 + 0
        ([1.0, 0.4], [1.0, 0.5, 1.0], {}, 1.4),  # scores may stop at the last unlocked level
    ],
    "thresholds are inclusive": [
        ([0.7, 0.2], [0.7, 1.0], {}, 0.9),  # 0.7 >= 0.7: 0.7 + 0.2
        ([0.69, 0.2], [0.7, 1.0], {}, 0.69),  # L2 locked
    ],
    "weights, floor, mean": [
        ([1.0, 0.6, 1.0], [1.0, 0.5, 1.0], {"weights": [2, 1, 0.5]}, 3.1),  # 2 + 0.6 + 0.5
        ([0.0, 1.0, 1.0], [1.0, 1.0, 1.0], {"floor": -1.0}, -2.0),  # 0 - 1 - 1
        # (2·1 + 1·0.4 + 1·0) / 4
        ([1.0, 0.4, 1.0], [1.0, 0.5, 1.0], {"weights": [2, 1, 1], "combine": "mean"}, 0.6),
    ],
}
CASES = [(g, *c) for g, cs in VALUES.items() for c in cs]


@pytest.mark.parametrize(
    "group,scores,thresholds,opts,value",
    CASES,
    ids=[f"{c[0]}: {c[1]} {c[2]} {c[3]}" for c in CASES],
)
def test_hand_computed_values(group, scores, thresholds, opts, value):
    assert hierarchy_value(scores, thresholds, **opts) == pytest.approx(value, abs=1e-12)


def test_a_missing_score_for_an_unlocked_level_is_an_error():
    with pytest.raises(ValueError, match="unlocked"):
        hierarchy_value([1.0], [1.0, 1.0])


def levels(*lvs):
    return Sample(meta={"levels": list(lvs)})


# (params, meta levels, value, parts, locked), every value worked out by hand
META = {
    "defaults (mean, threshold 1)": [
        ({}, [[1, 1], [0.5]], 0.75, {"L1": 1.0, "L2": 0.5, "unlocked": 2.0}, []),
        ({}, [[1, 0], [1]], 0.25, {"L1": 0.5, "unlocked": 1.0}, ["L2"]),  # (0.5 + 0) / 2
    ],
    "thresholds": [
        ({"thresholds": 0.5}, [[1, 0], [1]], 0.75, {"L1": 0.5, "L2": 1.0, "unlocked": 2.0}, []),
        # L2 = 0.625 >= 0.5 unlocks L3 = 0.25: (1 + 0.625 + 0.25) / 3
        (
            {"thresholds": [1, 0.5, 1]},
            [[1], [0.5, 0.75], [0.25]],
            0.625,
            {"L1": 1.0, "L2": 0.625, "L3": 0.25, "unlocked": 3.0},
            [],
        ),
    ],
    "sum, weights, floor": [
        ({"combine": "sum", "weights": [1, 2, 3]}, [[1], [1], [0.5]], 4.5, {"L3": 0.5}, []),
        ({"combine": "sum", "weights": [1, 2, 3]}, [[1], [0.9], [1]], 2.8, {"L2": 0.9}, ["L3"]),
        ({"floor": 0.2}, [[0], [1], [1]], 0.4 / 3, {"L1": 0.0}, ["L2", "L3"]),
    ],
}
META_CASES = [(g, *c) for g, cs in META.items() for c in cs]


@pytest.mark.parametrize(
    "group,params,lv,value,parts,locked",
    META_CASES,
    ids=[f"{c[0]}: {c[1]} {c[2]}" for c in META_CASES],
)
def test_registered_form(group, params, lv, value, parts, locked):
    [s] = rewardsmith.load("aggregate.hierarchy", **params).score([levels(*lv)])
    assert s.status is Status.OK
    assert s.value == pytest.approx(value, abs=1e-12)
    assert {k: s.parts[k] for k in parts} == pytest.approx(parts, abs=1e-12)
    assert s.info["locked"] == locked


@pytest.mark.parametrize(
    "meta,word",
    [
        ({}, "levels"),
        ({"levels": []}, "levels"),
        ({"levels": [[1.0], []]}, "levels[1]"),
        ({"levels": [[1.0], [1.5]]}, "levels[1][0]"),
        ({"levels": [[math.nan]]}, "levels[0][0]"),
        ({"levels": [[True]]}, "levels[0][0]"),
        ({"levels": [0.5]}, "levels[0]"),
    ],
    ids=["nothing", "empty", "empty level", "above 1", "nan", "bool", "not a list"],
)
def test_missing_or_bad_levels_are_errors_not_zeros(meta, word):
    [s] = rewardsmith.load("aggregate.hierarchy").score([Sample(meta=meta)])
    assert s.value is None and s.status is Status.ERROR
    assert s.error.type == "InputError" and word in s.error.message


@pytest.mark.parametrize(
    "params,word",
    [({"thresholds": [1, 1]}, "2 thresholds for 1 levels"), ({"weights": [1, 1]}, "2 weights")],
    ids=["thresholds", "weights"],
)
def test_lengths_that_do_not_match_the_levels_are_item_errors(params, word):
    [s] = rewardsmith.load("aggregate.hierarchy", **params).score([levels([1.0])])
    assert s.status is Status.ERROR and word in s.error.message


@pytest.mark.parametrize(
    "params",
    [
        {"weights": []},
        {"weights": [-1, 2]},
        {"weights": [0, 0]},
        {"floor": 2.0},
        {"thresholds": math.nan},
        {"thresholds": []},
        {"combine": "max"},
        {"tau": 1},
    ],
    ids=[
        "no weights",
        "negative",
        "all 0",
        "floor",
        "nan threshold",
        "no thresholds",
        "combine",
        "unknown key",
    ],
)
def test_bad_params(params):
    with pytest.raises(ConfigError):
        rewardsmith.load("aggregate.hierarchy", **params)


def test_registered_range_and_pickle():
    assert rewardsmith.load("aggregate.hierarchy").range == (0.0, 1.0)
    r = rewardsmith.load("aggregate.hierarchy", combine="sum", weights=[1, 2])
    assert r.range == (0.0, 3.0)
    batch = [levels([1.0], [0.5])]
    assert pickle.loads(pickle.dumps(r)).score(batch) == r.score(batch)
    entry = rewardsmith.core.registry.get("aggregate.hierarchy")
    assert entry.paper.arxiv == "2603.06065" and "ChatShopBuddy" in entry.paper.title


# -- the combinator ------------------------------------------------------------------


def test_combinator_values_parts_and_locked_levels():
    reward = Hierarchy([Level([Flag()]), Level([Length()])])
    ok, failed = reward.score([Sample(completion="yes"), Sample(completion="no, 1234")])
    # L1 = 1 met; L2 = len("yes") / 10 = 0.3: 1 + 0.3
    assert ok.value == pytest.approx(1.3)
    assert ok.parts == pytest.approx(
        {"L1/test.flag": 1.0, "L2/test.length": 0.3, "L1": 1.0, "L2": 0.3, "unlocked": 2.0}
    )
    assert ok.info == {"locked": []}
    # L1 = 0: L2 locked, counts 0 and is not in parts
    assert failed.value == 0.0 and failed.info == {"locked": ["L2"]}
    assert failed.parts == {"L1/test.flag": 0.0, "L1": 0.0, "unlocked": 1.0}


def test_locked_levels_are_never_scored():
    flag = Flag()
    reward = Hierarchy([Level([Length()], threshold=0.5), Level([flag])])
    out = reward.score([Sample(completion="yes yes yes"), Sample(completion="boom")])
    assert flag.calls == 1  # "boom" (0.4 < 0.5) never reached the checker that raises on it
    assert [s.value for s in out] == [pytest.approx(2.0), pytest.approx(0.4)]
    assert out[1].status is Status.OK


def test_term_weights_level_weights_and_mean():
    reward = Hierarchy(
        [
            Level([Flag()], weight=2, name="correct"),
            Level([Length(), Constant(0.5)], term_weights=[1, 3], threshold=0.4, name="quality"),
            Level([Constant(1.0)]),
        ],
        combine="mean",
    )
    [s] = reward.score([Sample(completion="yes")])
    # quality = (0.3 + 3·0.5) / 4 = 0.45 >= 0.4 unlocks L3 = 1: (2·1 + 0.45 + 1) / 4
    assert s.value == pytest.approx(3.45 / 4)
    assert s.parts["quality"] == pytest.approx(0.45) and s.parts["quality/test.length"] == 0.3
    assert "quality/0.5" not in s.parts  # constants add nothing to parts


def test_a_failed_term_propagates_with_its_status():
    reward = Hierarchy([Level([Length()]), Level([Flag()])])
    locked, reached = reward.score([Sample(completion="boom"), Sample(completion="boom boom boom")])
    assert locked.value == pytest.approx(0.4) and locked.status is Status.OK
    assert reached.value is None and reached.status is Status.ERROR
    assert "test.flag: checker exploded" in reached.error.message
    assert reached.parts["L1"] == 1.0


def test_error_value_counts_and_the_status_stays_visible():
    reward = Hierarchy([Level([Length()]), Level([Flag()])], on_error="value", error_value=0.0)
    [s] = reward.score([Sample(completion="boom boom boom")])
    assert s.value == pytest.approx(1.0) and s.status is Status.ERROR


def test_skip_leaves_a_failed_term_out_of_its_level():
    reward = Hierarchy([Level([Flag(), Length()])], on_error="skip")
    [s] = reward.score([Sample(completion="boom")])
    assert s.value == pytest.approx(0.4) and s.status is Status.ERROR
    [none_left] = Hierarchy([Level([Flag()])], on_error="skip").score([Sample(completion="boom")])
    assert none_left.value is None


def test_range_async_and_pickle():
    reward = Hierarchy(
        [Level([Flag()], weight=2), Level([Length(), Constant(0.5)], term_weights=[1, 3])],
        floor=-1.0,
    )
    # L1 in 2·[0, 1]; L2 in [(0 + 1.5)/4, (1 + 1.5)/4] = [0.375, 0.625], or the floor -1
    assert reward.range == pytest.approx((-1.0, 2.625))
    batch = [Sample(completion=c) for c in ("yes", "no", "yes yes yes", "boom")]
    assert asyncio.run(reward.ascore(batch)) == reward.score(batch)
    assert pickle.loads(pickle.dumps(reward)).score(batch) == reward.score(batch)
    mean = Hierarchy([Level([Flag()], weight=2), Level([Length()])], combine="mean")
    assert mean.range == pytest.approx((0.0, 1.0))


@pytest.mark.parametrize(
    "make,word",
    [
        (lambda: Hierarchy([]), "at least one level"),
        (lambda: Hierarchy([Level([])]), r"levels\[0\]: needs at least one term"),
        (lambda: Hierarchy([Level([Flag()], term_weights=[1, 2])]), "one finite weight"),
        (lambda: Hierarchy([Level([Flag()]), Level([Flag()], weight=-1)]), r"levels\[1\]: weight"),
        (lambda: Hierarchy([Level([Flag()], threshold=math.inf)]), "threshold"),
        (lambda: Hierarchy([Level([Flag()], name="a"), Level([Flag()], name="a")]), "unique"),
        (lambda: Hierarchy([Level([Flag()], weight=0)], combine="mean"), "level weight > 0"),
        (lambda: Hierarchy([Level([Flag()])], combine="max"), "combine"),
        (lambda: Hierarchy([Level([Flag()])], floor=math.nan), "floor"),
    ],
    ids=[
        "no levels",
        "empty level",
        "term weights",
        "negative weight",
        "inf threshold",
        "duplicate names",
        "mean of zero weights",
        "combine",
        "nan floor",
    ],
)
def test_combinator_rejects_bad_configuration(make, word):
    with pytest.raises(ValueError, match=word):
        make()


# -- the spec node -------------------------------------------------------------------

SPEC = {
    "hierarchy": {
        "levels": [
            {"terms": [{"use": "format.think_answer", "name": "format"}]},
            {
                "terms": [{"use": "aggregate.hierarchy", "name": "inner", "weight": 3}, 0.2],
                "threshold": 0.5,
                "weight": 2,
                "name": "quality",
            },
        ],
        "combine": "mean",
    }
}


def test_spec_node_hierarchy():
    reward = parse_spec({"reward": SPEC})
    assert isinstance(reward, Hierarchy)
    good = Sample(completion="<think>x</think><answer>4</answer>", meta={"levels": [[0.6]]})
    bad = Sample(completion="no tags", meta={"levels": [[0.6]]})
    ok, failed = reward.score([good, bad])
    # quality = (3·0.6 + 0.2) / 4 = 0.5; value (1·1 + 2·0.5) / 3
    assert ok.value == pytest.approx(2 / 3)
    assert ok.parts["L1/format"] == 1.0 and ok.parts["quality/inner"] == pytest.approx(0.6)
    assert ok.parts["quality"] == pytest.approx(0.5)
    assert failed.value == 0.0 and failed.info["locked"] == ["quality"]


def test_spec_hierarchy_inside_a_sum_with_a_process_term():
    spec = {"sum": [{**SPEC, "name": "hrm"}, {"use": "format.think_answer", "weight": 0.5}]}
    good = Sample(completion="<think>x</think><answer>4</answer>", meta={"levels": [[0.6]]})
    [s] = parse_spec({"reward": spec}).score([good])
    assert s.value == pytest.approx(2 / 3 + 0.5)
    assert s.parts["hrm/quality"] == pytest.approx(0.5)


@pytest.mark.parametrize(
    "body,where",
    [
        ({}, "missing 'levels'"),
        ({"levels": []}, "reward.hierarchy.levels: expected a non-empty list"),
        ({"levels": [1.0]}, "reward.hierarchy.levels[0]: expected a level mapping"),
        ({"levels": [{"threshold": 1}]}, "reward.hierarchy.levels[0]: missing 'terms'"),
        ({"levels": [{"terms": []}]}, "reward.hierarchy.levels[0].terms"),
        ({"levels": [{"terms": [1.0], "wieght": 1}]}, "levels[0].wieght: unknown key"),
        ({"levels": [{"terms": [1.0], "weight": -1}]}, "levels[0].weight: must be >= 0"),
        ({"levels": [{"terms": [1.0], "threshold": "x"}]}, "levels[0].threshold"),
        ({"levels": [{"terms": [{"use": "qa.nope"}]}]}, "levels[0].terms[0].use"),
        ({"levels": [{"terms": [1.0]}], "combine": "avg"}, "reward.hierarchy.combine"),
        ({"levels": [{"terms": [1.0]}], "floor": "z"}, "reward.hierarchy.floor"),
        ({"levels": [{"terms": [1.0]}], "gamma": 1}, "reward.hierarchy.gamma"),
        ({"levels": [{"terms": [1.0], "name": "a"}, {"terms": [1.0], "name": "a"}]}, "unique"),
    ],
    ids=[
        "no levels",
        "empty levels",
        "level not a mapping",
        "no terms",
        "empty terms",
        "typo",
        "negative weight",
        "threshold type",
        "unknown reward",
        "combine",
        "floor",
        "unknown key",
        "duplicate names",
    ],
)
def test_spec_node_errors_name_the_key(body, where):
    with pytest.raises(ConfigError) as err:
        parse_spec({"reward": {"hierarchy": body}})
    assert where in str(err.value)


def test_spec_collects_every_problem():
    body = {
        "levels": [{"terms": [], "wieght": 2}, {"terms": [1.0], "weight": -1}],
        "combine": "avg",
    }
    with pytest.raises(ConfigError) as err:
        parse_spec({"reward": {"hierarchy": body}})
    assert len(err.value.problems) == 4


# -- properties ----------------------------------------------------------------------


class Term(ItemReward):
    """A term whose value and status come from ``meta[key]`` (value None: a failed term)."""

    max_chars = None

    def __init__(self, key):
        self.key = key
        self.label = key

    @property
    def name(self):
        return f"term.{self.key}"

    def score_one(self, sample):
        value, status = sample.meta[self.key]
        error = None if value is not None else rewardsmith.core.ItemError("Boom", "failed")
        return Score(value, status, {}, {}, error)


unit = st.floats(0.0, 1.0)
shapes = st.lists(st.integers(1, 3), min_size=1, max_size=4)  # terms per level
STATUSES = [Status.OK, Status.SKIPPED, Status.TIMEOUT, Status.ERROR]


@settings(max_examples=200, deadline=None)
@given(
    shape=shapes,
    data=st.data(),
    floor=st.floats(-1.0, 1.0),
    combine=st.sampled_from(["sum", "mean"]),
)
def test_value_stays_in_range_and_matches_the_formula(shape, data, floor, combine):
    keys = [[f"t{i}_{j}" for j in range(n)] for i, n in enumerate(shape)]
    thresholds = [data.draw(st.floats(0.0, 1.2)) for _ in shape]
    weights = [data.draw(st.floats(0.1, 3.0)) for _ in shape]
    reward = Hierarchy(
        [
            Level([Term(k) for k in ks], threshold=t, weight=w)
            for ks, t, w in zip(keys, thresholds, weights, strict=True)
        ],
        floor=floor,
        combine=combine,
    )
    values = {k: data.draw(unit) for ks in keys for k in ks}
    [s] = reward.score([Sample(meta={k: (v, Status.OK) for k, v in values.items()})])
    lo, hi = reward.range
    assert lo - 1e-9 <= s.value <= hi + 1e-9
    means = [math.fsum(values[k] for k in ks) / len(ks) for ks in keys]
    expected = hierarchy_value(means, thresholds, weights, floor=floor, combine=combine)
    assert s.value == pytest.approx(expected, abs=1e-9)


@settings(max_examples=300, deadline=None)
@given(data=st.data(), n=st.integers(2, 5))
def test_passing_a_lower_level_never_lowers_the_value(data, n):
    thresholds = [data.draw(st.floats(0.01, 1.0)) for _ in range(n)]
    weights = [data.draw(st.floats(0.0, 3.0)) for _ in range(n)]
    scores = [data.draw(unit) for _ in range(n)]  # higher terms >= 0 = the default floor
    j = data.draw(st.integers(0, n - 2))
    before, after = list(scores), list(scores)
    before[j] = thresholds[j] * data.draw(st.floats(0.0, 0.999))
    after[j] = thresholds[j] + (1.0 - thresholds[j]) * data.draw(unit)
    for combine in ("sum", "mean"):
        if combine == "mean" and sum(weights) == 0:
            continue
        low = hierarchy_value(before, thresholds, weights, combine=combine)
        high = hierarchy_value(after, thresholds, weights, combine=combine)
        assert low <= high + 1e-12


@settings(max_examples=200, deadline=None)
@given(shape=shapes, data=st.data())
def test_status_is_the_worst_among_the_terms_used(shape, data):
    keys = [[f"t{i}_{j}" for j in range(n)] for i, n in enumerate(shape)]
    thresholds = [data.draw(st.floats(0.0, 1.0)) for _ in shape]
    reward = Hierarchy(
        [Level([Term(k) for k in ks], threshold=t) for ks, t in zip(keys, thresholds, strict=True)],
        on_error="value",
        error_value=0.0,
    )
    meta = {
        k: (data.draw(st.one_of(st.none(), unit)), data.draw(st.sampled_from(STATUSES)))
        for ks in keys
        for k in ks
    }
    [s] = reward.score([Sample(meta=meta)])
    # by hand: walk up the levels, a failed term counting 0, stop at the first unmet one
    used = []
    for ks, t in zip(keys, thresholds, strict=True):
        used += ks
        mean = math.fsum(meta[k][0] or 0.0 for k in ks) / len(ks)
        if mean < t:
            break
    worst = max((meta[k][1] for k in used), key=lambda st_: st_.rank)
    assert s.status is worst
    assert s.parts["unlocked"] == len({k.split("_")[0] for k in used})
