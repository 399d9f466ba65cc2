"""consensus.co_reward: Co-rewarding-I cross-question agreement (arXiv 2508.00410), hand-computed."""

import pickle
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rewardsmith
from rewardsmith import Sample
from rewardsmith.core import GroupReward, Status, set_strict
from rewardsmith.core.registry import get
from rewardsmith.errors import ConfigError, InputError
from rewardsmith.spec import parse_spec


def pair(x, y, gx="x", gy="y"):
    """Rollouts of question ``gx`` and of its paraphrase ``gy``, each naming the other."""
    return [
        *(Sample(group=gx, meta={"pair": gy}, completion=c) for c in x),
        *(Sample(group=gy, meta={"pair": gx}, completion=c) for c in y),
    ]


def scores(batch, **params):
    return rewardsmith.load("consensus.co_reward", **params).score(batch)


def values(out):
    return [s.value for s in out]


# (rollouts of x, rollouts of y, params, rewards of x, rewards of y, label of x, label of y)
# The label of x is the majority answer of y's rollouts, and the reverse.
TABLE = {
    "views agree": [
        (
            ["\\boxed{4}", "\\boxed{4}", "\\boxed{5}"],
            ["\\boxed{4}", "#### 4", "no answer"],
            {},
            [1, 1, 0],
            [1, 1, 0],
            "4",
            "4",
        ),
    ],
    "views disagree": [
        (
            ["\\boxed{4}", "\\boxed{4}", "\\boxed{4}"],
            ["\\boxed{5}", "\\boxed{5}", "\\boxed{4}"],
            {},
            [0, 0, 0],
            [0, 0, 1],
            "5",
            "4",
        ),
    ],
    "a tie is no majority": [
        (
            ["\\boxed{9}", "\\boxed{10}"],
            ["\\boxed{9}", "\\boxed{10}", "\\boxed{9}"],
            {},
            [1, 0],
            [0, 0, 0],
            "9",
            None,
        ),
        (
            ["\\boxed{9}", "\\boxed{10}"],
            ["\\boxed{9}", "\\boxed{10}", "\\boxed{9}"],
            {"ties": "smallest"},
            [1, 0],
            [0, 1, 0],
            "9",
            "10",
        ),
    ],
    "answers that do not parse": [
        (["\\boxed{4}", "\\boxed{4}"], ["nothing", "\\boxed{}"], {}, [0, 0], [0, 0], None, "4"),
        (["the result is 3", "\\boxed{3}"], ["\\boxed{3}"], {}, [0, 1], [1], "3", "3"),
        (
            ["the result is 3", "\\boxed{3}"],
            ["\\boxed{3}"],
            {"fallback_last_number": True},
            [1, 1],
            [1],
            "3",
            "3",
        ),
    ],
    "normalised before voting": [
        (
            ["\\boxed{\\frac{1}{2}}", "The answer is 1/2.", "#### 0.5"],
            ["\\boxed{1/2}", "\\boxed{0.5}", "\\boxed{0.5}"],
            {},
            [0, 0, 1],
            [1, 0, 0],
            "0.5",
            "1/2",
        ),
    ],
    "min_share applies to the paired vote": [
        (
            ["\\boxed{4}", "\\boxed{4}"],
            ["\\boxed{4}", "\\boxed{4}", "\\boxed{6}", "none", "-", "?"],
            {"min_share": 0.5},
            [0, 0],
            [1, 1, 0, 0, 0, 0],
            None,
            "4",
        ),
        (
            ["\\boxed{4}", "\\boxed{4}"],
            ["\\boxed{4}", "\\boxed{4}", "\\boxed{6}", "none", "-", "?"],
            {"min_share": 0.25},
            [1, 1],
            [1, 1, 0, 0, 0, 0],
            "4",
            "4",
        ),
    ],
}
CASES = [(t, *c) for t, cs in TABLE.items() for c in cs]


@pytest.mark.parametrize(
    "topic,x,y,params,rx,ry,lx,ly", CASES, ids=[f"{c[0]}: {c[1]} / {c[2]} {c[3]}" for c in CASES]
)
def test_values(topic, x, y, params, rx, ry, lx, ly):
    out = scores(pair(x, y), **params)
    assert values(out) == rx + ry
    assert all(s.status is Status.OK for s in out)
    assert [s.info["pseudo_label"] for s in out] == [lx] * len(x) + [ly] * len(y)
    assert [s.info["pair"] for s in out] == ["y"] * len(x) + ["x"] * len(y)


def test_info_holds_answer_and_share():
    out = scores(
        pair(["\\boxed{4}", "no answer"], ["\\boxed{4}", "\\boxed{4}", "\\boxed{5}", "no answer"])
    )
    assert [s.info["answer"] for s in out] == ["4", None, "4", "4", "5", None]
    assert [s.info["share"] for s in out] == [0.5, 0.5, 0.5, 0.5, 0.5, 0.5]


def test_interleaved_pairs_and_int_ids():
    a = pair(["\\boxed{1}", "\\boxed{2}"], ["\\boxed{1}"], gx=1, gy=2)
    b = pair(["\\boxed{7}"], ["\\boxed{8}"], gx="q", gy="q'")
    batch = [a[0], b[0], a[2], b[1], a[1]]
    assert values(scores(batch)) == [1, 0, 0, 0, 0]  # y's label from x's votes 1, 2: a tie


def test_one_sided_pairing_scores_the_side_that_names_a_pair():
    batch = [
        Sample(group="x", meta={"pair": "y"}, completion="\\boxed{4}"),
        Sample(group="y", completion="\\boxed{4}"),
    ]
    out = scores(batch)
    assert out[0].value == 1.0
    assert out[1].status is Status.SKIPPED and out[1].value is None


UNPAIRED = {
    "no group": ([Sample(meta={"pair": "y"}, completion="\\boxed{1}")], "no Sample.group"),
    "no pair": ([Sample(group="x", completion="\\boxed{1}")], "no meta['pair']"),
    "pair None": (
        [Sample(group="x", meta={"pair": None}, completion="\\boxed{1}")],
        "no meta['pair']",
    ),
    "pair not in batch": (
        [Sample(group="x", meta={"pair": "y"}, completion="\\boxed{1}")],
        "not in this batch",
    ),
    "int id is not its string": (
        [
            Sample(group="x", meta={"pair": "1"}, completion="\\boxed{1}"),
            Sample(group=1, meta={"pair": "x"}, completion="\\boxed{1}"),
        ],
        "not in this batch",
    ),
}


@pytest.mark.parametrize("batch,reason", UNPAIRED.values(), ids=UNPAIRED.keys())
def test_unpaired_items_are_skipped_not_zero(batch, reason):
    out = scores(batch)
    assert out[0].value is None and out[0].status is Status.SKIPPED
    assert reason in out[0].info["reason"]


MALFORMED = {
    "pair is a list": [Sample(group="x", meta={"pair": ["y"]})],
    "pair is a bool": [Sample(group="x", meta={"pair": True})],
    "pair is a float": [Sample(group="x", meta={"pair": 1.0})],
    "names itself": [Sample(group="x", meta={"pair": "x"})],
    "members disagree": [
        Sample(group="x", meta={"pair": "y"}),
        Sample(group="x", meta={"pair": "z"}),
        Sample(group="y"),
        Sample(group="z"),
    ],
    "one member lacks it": [
        Sample(group="x", meta={"pair": "y"}),
        Sample(group="x"),
        Sample(group="y"),
    ],
}


@pytest.mark.parametrize("batch", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_pairs_are_item_errors_of_that_group_only(batch):
    good = pair(["\\boxed{1}"], ["\\boxed{1}"], gx="g1", gy="g2")
    out = scores([*batch, *good])
    assert out[0].value is None and out[0].status is Status.ERROR
    assert out[0].error is not None and out[0].error.type == "InputError"
    assert values(out[-2:]) == [1.0, 1.0]


def test_strict_mode_reraises():
    set_strict(True)
    try:
        with pytest.raises(InputError, match="names itself"):
            scores([Sample(group="x", meta={"pair": "x"})])
    finally:
        set_strict(False)


def test_huge_completions_do_not_vote():
    huge = "x" * 100_001 + "\\boxed{9}"
    assert values(scores(pair([huge, "\\boxed{4}"], [huge, huge, "\\boxed{4}"]))) == [0, 1, 0, 0, 1]


def test_registered_with_paper_params_and_pickles():
    entry = get("consensus.co_reward")
    assert entry.paper is not None and entry.paper.arxiv == "2508.00410"
    assert entry.range == (0.0, 1.0)
    r = rewardsmith.load("consensus.co_reward", min_share=0.2)
    assert isinstance(r, GroupReward)
    batch = pair(["\\boxed{1}", "\\boxed{2}"], ["\\boxed{1}"])
    assert pickle.loads(pickle.dumps(r)).score(batch) == r.score(batch)
    for bad in ({"min_share": 1.5}, {"pair_key": "p"}):
        with pytest.raises(ConfigError):
            rewardsmith.load("consensus.co_reward", **bad)


def test_spec_node():
    # y's label "1" has 2/3 of y's votes; x's tie-broken "1" has 1/2 < 0.6 and is dropped.
    reward = parse_spec({"reward": {"use": "consensus.co_reward", "with": {"min_share": 0.6}}})
    batch = pair(["\\boxed{1}", "\\boxed{2}"], ["\\boxed{1}", "\\boxed{1}", "\\boxed{3}"])
    assert values(reward.score(batch)) == [1.0, 0.0, 0.0, 0.0, 0.0]


answers = st.sampled_from(["\\boxed{1}", "\\boxed{2}", "\\boxed{3}", "no answer", "#### 2"])
ids = st.sampled_from(["a", "b", "c", 1, None])
rollouts = st.tuples(answers, ids, st.one_of(ids, st.just("missing")))


def build_batch(rows):
    return [
        Sample(group=g, completion=c, meta={} if p == "missing" else {"pair": p})
        for c, g, p in rows
    ]


@settings(max_examples=200, deadline=None)
@given(rows=st.lists(rollouts, min_size=1, max_size=12), seed=st.integers(0, 2**32))
def test_permuting_the_batch_permutes_the_rewards(rows, seed):
    samples = build_batch(rows)
    out = scores(samples)
    for s in out:
        assert s.value in (0.0, 1.0) or (s.value is None and s.status is not Status.OK)
    order = list(range(len(samples)))
    random.Random(seed).shuffle(order)
    assert scores([samples[i] for i in order]) == [out[i] for i in order]


@settings(max_examples=100, deadline=None)
@given(x=st.lists(answers, min_size=1, max_size=6), y=st.lists(answers, min_size=1, max_size=6))
def test_label_is_the_paired_groups_majority_vote(x, y):
    out = scores(pair(x, y))
    vote_y = rewardsmith.load("consensus.majority_vote").score(
        [Sample(group="y", completion=c) for c in y]
    )
    label = vote_y[0].info["pseudo_label"]
    assert {s.info["pseudo_label"] for s in out[: len(x)]} == {label}
    assert values(out[: len(x)]) == [
        float(label is not None and s.info["answer"] == label) for s in out[: len(x)]
    ]
