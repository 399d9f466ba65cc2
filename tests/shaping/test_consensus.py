"""consensus.majority_vote: test-time RL pseudo-labels (TTRL, arXiv 2504.16084), hand-computed."""

import pickle
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rewardsmith
from rewardsmith import Sample
from rewardsmith.core import GroupReward
from rewardsmith.errors import ConfigError
from rewardsmith.shaping.consensus import majority_label
from rewardsmith.spec import parse_spec


def group(*completions, g="p"):
    return [Sample(group=g, completion=c) for c in completions]


def scores(batch, **params):
    return rewardsmith.load("consensus.majority_vote", **params).score(batch)


# (completions, params, expected rewards, expected pseudo-label)
TABLE = {
    "clear majority": [
        (["\\boxed{4}", "\\boxed{4}", "\\boxed{5}", "no answer"], {}, [1, 1, 0, 0], "4"),
        (["The answer is 7.", "#### 7", "\\boxed{8}"], {}, [1, 1, 0], "7"),
    ],
    "normalised before voting": [
        (["\\boxed{\\frac{1}{2}}", "The answer is 1/2.", "\\boxed{0.5}"], {}, [1, 1, 0], "1/2"),
        (["\\boxed{1,000}", "#### 1000", "\\boxed{999}"], {}, [1, 1, 0], "1000"),
    ],
    "a tie is no majority": [
        (["\\boxed{5}", "\\boxed{4}"], {}, [0, 0], None),
        (["\\boxed{9}", "\\boxed{10}", "\\boxed{9}", "\\boxed{10}"], {}, [0, 0, 0, 0], None),
    ],
    "ties: smallest goes to the smallest string": [
        (["\\boxed{5}", "\\boxed{4}"], {"ties": "smallest"}, [0, 1], "4"),
        (
            ["\\boxed{9}", "\\boxed{10}", "\\boxed{9}", "\\boxed{10}"],
            {"ties": "smallest"},
            [0, 1, 0, 1],
            "10",
        ),
    ],
    "min_share": [
        (
            ["\\boxed{4}", "\\boxed{4}", "\\boxed{5}", "no answer"],
            {"min_share": 0.5},
            [1, 1, 0, 0],
            "4",
        ),
        (
            ["\\boxed{4}", "\\boxed{4}", "\\boxed{5}", "no answer"],
            {"min_share": 0.6},
            [0, 0, 0, 0],
            None,
        ),
    ],
    "no answers": [
        (["nothing", "still nothing", "\\boxed{}"], {}, [0, 0, 0], None),
        (["the result is 3"], {"fallback_last_number": True}, [1], "3"),
    ],
}
CASES = [(t, *c) for t, cs in TABLE.items() for c in cs]


@pytest.mark.parametrize(
    "topic,completions,params,expected,label", CASES, ids=[f"{c[0]}: {c[1]}" for c in CASES]
)
def test_values(topic, completions, params, expected, label):
    out = scores(group(*completions), **params)
    assert [s.value for s in out] == expected
    assert {s.info["pseudo_label"] for s in out} == {label}


def test_share_and_answer_in_info():
    out = scores(group("\\boxed{4}", "\\boxed{4}", "\\boxed{5}", "no answer"))
    assert [s.info["answer"] for s in out] == ["4", "4", "5", None]
    assert {s.info["share"] for s in out} == {0.5}


def test_groups_vote_separately_and_none_is_a_group_of_one():
    batch = [
        *group("\\boxed{1}", "\\boxed{1}", "\\boxed{2}", g="a"),
        *group("\\boxed{2}", "\\boxed{2}", "\\boxed{1}", g="b"),
        Sample(completion="\\boxed{3}"),
        Sample(completion="no answer"),
    ]
    assert [s.value for s in scores(batch)] == [1, 1, 0, 1, 1, 0, 1, 0]


def test_huge_completions_do_not_vote():
    huge = "x" * 100_001 + "\\boxed{9}"
    out = scores(group(huge, huge, "\\boxed{4}"))
    assert [s.value for s in out] == [0, 0, 1]


@pytest.mark.parametrize(
    "answers,expected",
    [
        ([], (None, 0)),
        ([None, None], (None, 0)),
        (["b", "a", "b"], ("b", 2)),
        (["b", "a"], (None, 1)),
        (["x", None, "x", None], ("x", 2)),
    ],
)
def test_majority_label(answers, expected):
    assert majority_label(answers) == expected


def test_a_tie_can_go_to_the_smallest_answer_on_request():
    assert majority_label(["b", "a"], "smallest") == ("a", 1)


def test_is_a_group_reward_and_checks_params():
    assert isinstance(rewardsmith.load("consensus.majority_vote"), GroupReward)
    for bad in ({"min_share": 1.5}, {"min_share": -0.1}, {"label": "x"}):
        with pytest.raises(ConfigError):
            rewardsmith.load("consensus.majority_vote", **bad)


def test_pickles():
    r = rewardsmith.load("consensus.majority_vote", min_share=0.2)
    batch = group("\\boxed{1}", "\\boxed{2}", "\\boxed{1}")
    assert pickle.loads(pickle.dumps(r)).score(batch) == r.score(batch)


def test_spec_node():
    reward = parse_spec({"reward": {"use": "consensus.majority_vote", "with": {"min_share": 0.5}}})
    assert [s.value for s in reward.score(group("\\boxed{1}", "\\boxed{1}", "\\boxed{2}"))] == [
        1.0,
        1.0,
        0.0,
    ]


answers = st.sampled_from(["\\boxed{1}", "\\boxed{2}", "\\boxed{3}", "no answer", "#### 2"])


@settings(max_examples=200, deadline=None)
@given(
    batch=st.lists(st.tuples(answers, st.sampled_from(["a", "b", None])), min_size=1, max_size=10),
    seed=st.integers(0, 2**32),
)
def test_permuting_the_batch_permutes_the_rewards(batch, seed):
    samples = [Sample(group=g, completion=c) for c, g in batch]
    out = scores(samples)
    assert all(s.value in (0.0, 1.0) for s in out)
    order = list(range(len(samples)))
    random.Random(seed).shuffle(order)
    assert scores([samples[i] for i in order]) == [out[i] for i in order]
