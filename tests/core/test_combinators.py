import asyncio

import pytest

from helpers_rewards import Flag, GroupMean, Length
from rewardsmith import R
from rewardsmith.core import Gate, Max, Min, Product, Sample, Schedule, Shape, Status, Sum, set_step
from rewardsmith.shaping.schedules import Linear

S = [Sample(completion=t) for t in ("yes", "no", "yes yes yes", "boom")]


def values(scores):
    return [s.value for s in scores]


def test_weighted_sum_records_unweighted_parts():
    reward = Sum([Length(), Flag()], weights=[2.0, 0.5])
    out = reward.score(S[:3])
    assert values(out) == pytest.approx([2 * 0.3 + 0.5, 2 * 0.2, 2 * 1.0 + 0.5])
    assert out[0].parts == {"test.length": pytest.approx(0.3), "test.flag": 1.0}
    assert reward.range == (0.0, 2.5)


def test_operators_build_one_flat_sum():
    reward = Length() + 0.5 * Flag() - 0.25
    assert isinstance(reward, Sum)
    assert reward.weights == [1.0, 0.5, 1.0]
    assert reward.children[2].range == (-0.25, -0.25)
    assert (Length() - Flag()).weights == [1.0, -1.0]
    assert values(reward.score([Sample(completion="yes")])) == pytest.approx([0.3 + 0.5 - 0.25])


def test_min_max_product():
    items = S[:3]
    assert values(Min([Length(), Flag()]).score(items)) == pytest.approx([0.3, 0.0, 1.0])
    assert values(Max([Length(), Flag()]).score(items)) == pytest.approx([1.0, 0.2, 1.0])
    assert values(Product([Length(), Flag()]).score(items)) == pytest.approx([0.3, 0.0, 1.0])


def test_duplicate_labels_get_suffixes_and_nested_parts_get_paths():
    inner = Sum([Length(), Flag()], label="inner")
    reward = Sum([Flag(), Flag(), inner])
    parts = reward.score([Sample(completion="yes")])[0].parts
    assert set(parts) == {
        "test.flag",
        "test.flag#2",
        "inner",
        "inner/test.length",
        "inner/test.flag",
    }


def test_gate_runs_each_branch_only_on_its_items():
    cond, then = Flag(), Length()
    gate = Gate(cond, then=then, otherwise=-1.0)
    out = gate.score(S[:3])
    assert values(out) == pytest.approx([0.3, -1.0, 1.0])
    assert out[1].parts == {"test.flag": 0.0}  # constants are not parts
    assert out[0].parts == {"test.flag": 1.0, "test.length": pytest.approx(0.3)}
    assert gate.range == (-1.0, 1.0)


def test_gate_threshold():
    gate = Gate(Length(), then=1.0, otherwise=0.0, threshold=0.25)
    assert values(gate.score([Sample(completion="ab"), Sample(completion="abc")])) == [0.0, 1.0]


@pytest.mark.parametrize(
    ("on_error", "expected_value", "expected_status"),
    [
        ("propagate", None, Status.ERROR),
        ("skip", 0.4, Status.ERROR),
        ("value", 0.4 - 5.0, Status.ERROR),
    ],
    ids=["propagate", "skip", "value"],
)
def test_error_policies(on_error, expected_value, expected_status):
    reward = Sum([Length(), Flag()], on_error=on_error, error_value=-5.0)
    (out,) = reward.score([S[3]])
    assert out.value == (pytest.approx(expected_value) if expected_value is not None else None)
    assert out.status is expected_status
    assert out.error.type == "RuntimeError" and out.error.message.startswith("test.flag:")


def test_error_in_one_item_leaves_the_others_scored():
    out = (Length() + Flag()).score(S)
    assert [s.status for s in out] == [Status.OK] * 3 + [Status.ERROR]
    assert out[3].value is None


def test_shape_applies_a_registered_transform():
    from rewardsmith.core.registry import build

    clamp = build("transform.clamp", {"low": 0.0, "high": 0.5}, kind="transform")
    reward = Shape(Length(), clamp)
    out = reward.score(S[:3])
    assert values(out) == pytest.approx([0.3, 0.2, 0.5])
    assert out[2].parts == {"test.length": 1.0}


def test_schedule_follows_the_step():
    reward = Schedule(Flag(), Linear(start=1.0, end=0.0, steps=10))
    tree = Sum([Length(), reward])
    sample = [Sample(completion="yes")]
    assert tree.score(sample)[0].value == pytest.approx(1.3)
    set_step(tree, 5)
    out = tree.score(sample)[0]
    assert out.value == pytest.approx(0.8)
    assert out.parts["schedule/weight"] == pytest.approx(0.5)
    set_step(tree, 50)
    assert tree.score(sample)[0].value == pytest.approx(0.3)


def test_group_reward_sees_whole_groups_in_batch_order():
    samples = [
        Sample(completion="aaaa", group="g1"),
        Sample(completion="bb", group="g2"),
        Sample(completion="aa", group="g1"),
        Sample(completion="x"),
    ]
    assert values(GroupMean().score(samples)) == [1.0, 0.0, -1.0, 0.0]


def test_async_equals_sync():
    tree = Gate(Flag(), then=Length() + 0.5 * Flag(), otherwise=Max([Length(), 0.1]))
    assert asyncio.run(tree.ascore(S)) == tree.score(S)


def test_R_builds_combinators_and_registered_rewards():
    reward = R.gate(R.qa.exact_match(), then=1.0, otherwise=R.qa.f1())
    out = reward.score([Sample(completion="<answer>Paris France</answer>", reference="Paris")])
    assert out[0].value == pytest.approx(2 / 3)
    assert isinstance(R.min([Length(), 1.0]), Min)


def test_a_node_keeps_each_childs_info_under_its_label():
    import rewardsmith
    from rewardsmith import Sample

    tree = rewardsmith.load_spec("math-r1")  # a gate around math.answer
    (s,) = tree.score(
        [Sample(completion=r"<think>x</think><answer>\boxed{3}</answer>", reference="4")]
    )
    assert s.value == 0.0
    assert s.info["math.answer"]["extracted"] == "3"  # why it said 0, from the root
    (failed,) = tree.score([Sample(completion="no tags", reference="4")])
    assert "format.think_answer" in failed.info and "math.answer" not in failed.info
