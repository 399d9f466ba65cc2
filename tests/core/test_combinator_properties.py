"""Properties and pins of the combinators (issue 16): ranges, error policies, status, parts.

The property test builds random trees of ``Sum``, ``Min``, ``Max``, ``Product``, ``Gate``,
``Shape``, ``Schedule``, ``GatedAggregate`` and ``Hierarchy`` over ``Ranged`` leaves
(values within a declared range, negative ones too, some items failing) and checks what
every tree must keep. The pins below it fix one behaviour each on small concrete trees.
"""

import asyncio
import math

import pytest
from hypothesis import given, note, settings
from hypothesis import strategies as st

from helpers_rewards import Broken, Flag, Length, Ranged
from rewardsmith.core import Gate, Max, Min, Product, Sample, Schedule, Shape, Status, Sum, set_step
from rewardsmith.core.combinators import Combinator, Constant
from rewardsmith.core.gated import GatedAggregate
from rewardsmith.core.hierarchy import Hierarchy, Level
from rewardsmith.core.registry import build
from rewardsmith.core.tree import children, part_names
from rewardsmith.shaping import schedules

# A value may pass its root's declared range by REL_TOL times the larger of 1 and the
# range's largest end in magnitude: a value and its range are not always computed in the
# same order (a level's weighted mean, then the weighted sum of levels, in Hierarchy).
REL_TOL = 1e-9

BOOM = [Sample(completion="boom")]  # Flag and Broken fail on it; Length gives 0.4
YES = [Sample(completion="yes")]  # Flag gives 1.0


def transform(name, **params):
    return build(f"transform.{name}", params, kind="transform")


def only(reward, samples=BOOM):
    (score,) = reward.score(samples)
    return score


# ---------------------------------------------------------------- random trees


ENDS = st.one_of(st.sampled_from([-1.0, 0.0, 0.5, 1.0]), st.floats(-10, 10))
WEIGHTS = st.one_of(st.sampled_from([0.0, 1.0, -1.0]), st.floats(-3, 3))
UNIT = st.floats(0, 1)


@st.composite
def leaves(draw):
    if draw(st.integers(0, 5)) == 0:
        return Constant(draw(ENDS))
    lo, hi = sorted((draw(ENDS), draw(ENDS)))
    fail_rate = draw(st.sampled_from([0.0, 0.25, 0.6]))
    return Ranged(lo, hi, seed=draw(st.integers(0, 2**16)), fail_rate=fail_rate)


@st.composite
def transforms(draw):
    kind = draw(st.sampled_from(["clamp", "affine", "sigmoid", "threshold"]))
    if kind == "clamp":
        low, high = sorted((draw(ENDS), draw(ENDS)))
        return transform("clamp", low=low, high=high)
    if kind == "affine":
        return transform("affine", scale=draw(WEIGHTS), offset=draw(ENDS))
    if kind == "sigmoid":
        return transform("sigmoid", center=draw(ENDS), temperature=draw(st.floats(0.1, 5)))
    return transform("threshold", at=draw(ENDS))


@st.composite
def weight_fns(draw):
    kind = draw(st.sampled_from(["constant", "linear", "cosine", "exponential", "piecewise"]))
    if kind == "constant":
        return schedules.Constant(value=draw(WEIGHTS))
    if kind in ("linear", "cosine"):
        cls = schedules.Linear if kind == "linear" else schedules.Cosine
        return cls(start=draw(WEIGHTS), end=draw(WEIGHTS), steps=draw(st.integers(1, 200)))
    if kind == "exponential":
        tau = draw(st.floats(1, 200))
        return schedules.Exponential(start=draw(WEIGHTS), end=draw(WEIGHTS), tau=tau)
    bounds = sorted(draw(st.lists(st.integers(0, 300), max_size=3)))
    values = draw(st.lists(WEIGHTS, min_size=len(bounds) + 1, max_size=len(bounds) + 1))
    return schedules.Piecewise(boundaries=bounds, values=values)


def non_negative_weights(n):
    """``n`` weights >= 0, not all 0."""
    return st.lists(st.floats(0, 3), min_size=n, max_size=n).map(
        lambda w: w if sum(w) > 0 else [1.0, *w[1:]]
    )


def in_unit(child):
    """``child``, clamped into [0, 1] where its range is wider (``GatedAggregate``'s rule)."""
    lo, hi = child.range
    return child if lo >= 0 and hi <= 1 else Shape(child, transform("clamp", low=0, high=1))


KINDS = ["sum", "min", "max", "product", "gate", "shape", "schedule", "gated", "hierarchy"]


@st.composite
def trees(draw, depth=0):
    """A random tree: a combinator at the root, leaves from depth 1, at most depth 3."""
    if depth > 0 and (depth >= 3 or draw(st.integers(0, 2)) == 0):
        return draw(leaves())
    sub = trees(depth + 1)
    kids = st.lists(sub, min_size=1, max_size=3)
    kw = {
        "on_error": draw(st.sampled_from(["propagate", "skip", "value"])),
        "error_value": draw(ENDS),
    }
    kind = draw(st.sampled_from(KINDS))
    if kind == "sum":
        cs = draw(kids)
        return Sum(cs, weights=draw(st.lists(WEIGHTS, min_size=len(cs), max_size=len(cs))), **kw)
    if kind in ("min", "max", "product"):
        return {"min": Min, "max": Max, "product": Product}[kind](draw(kids), **kw)
    if kind == "gate":
        cond = draw(sub)
        lo, hi = cond.range
        threshold = draw(st.one_of(st.sampled_from([lo, hi, (lo + hi) / 2]), ENDS))
        return Gate(cond, then=draw(sub), otherwise=draw(sub), threshold=threshold, **kw)
    if kind == "shape":
        return Shape(draw(sub), draw(transforms()), **kw)
    if kind == "schedule":
        return Schedule(draw(sub), draw(weight_fns()), **kw)
    if kind == "gated":
        must = [in_unit(c) for c in draw(kids)]
        behaviour = [in_unit(c) for c in draw(kids)]
        weights = draw(non_negative_weights(len(behaviour)))
        on_error = draw(st.sampled_from(["propagate", "value"]))  # skip is refused
        return GatedAggregate(must, behaviour, weights, on_error=on_error, error_value=draw(UNIT))
    levels = []
    for terms in draw(st.lists(kids, min_size=1, max_size=3)):
        levels.append(
            Level(
                terms,
                term_weights=draw(non_negative_weights(len(terms))),
                threshold=draw(ENDS),
                weight=draw(st.floats(0, 3)),
            )
        )
    combine = draw(st.sampled_from(["sum", "mean"]))
    if sum(lv.weight for lv in levels) <= 0:
        combine = "sum"
    return Hierarchy(levels, combine=combine, floor=draw(ENDS), **kw)


def describe(node, indent=0):
    """The tree as text, one node a line with its range, for a failing example's notes."""
    pad = "  " * indent
    if not isinstance(node, Combinator):
        return f"{pad}{node.name} {node.range} {vars(node)}"
    head = f"{pad}{node.kind} on_error={node.on_error} error_value={node.error_value}"
    keys = ("weights", "threshold", "transform", "weight", "thresholds", "floor", "combine")
    extra = " ".join(f"{k}={getattr(node, k)!r}" for k in keys if hasattr(node, k))
    lines = [f"{head} {extra} range={node.range}"]
    lines += [describe(c, indent + 1) for c in children(node)]
    return "\n".join(lines)


TEXTS = st.lists(st.text(alphabet="abxy ", max_size=4), min_size=1, max_size=6)


@settings(max_examples=200, deadline=None)
@given(root=trees(), texts=TEXTS, step=st.integers(0, 400))
def test_every_tree_keeps_its_range_parts_count_and_async(root, texts, step):
    set_step(root, step)
    note(describe(root))
    samples = [Sample(completion=t) for t in texts]
    out = root.score(samples)
    assert len(out) == len(samples)
    lo, hi = root.range
    slack = REL_TOL * max(1.0, abs(lo), abs(hi))
    names = set(part_names(root))
    for sample, s in zip(samples, out, strict=True):
        if s.value is None:
            assert s.status is not Status.OK, "an item without a value must say why"
        else:
            assert lo - slack <= s.value <= hi + slack, (sample.text, s, (lo, hi))
        assert set(s.parts) <= names, set(s.parts) - names
    assert asyncio.run(root.ascore(samples)) == out


# ---------------------------------------------------------------- ranges, pinned


@pytest.mark.parametrize(
    ("reward", "expected"),
    [
        (Sum([Ranged(-2, 1), Ranged(0.5, 1)]), (-1.5, 2.0)),
        (Sum([Ranged(-2, 1), Ranged(0.5, 1)], weights=[-1.0, 2.0]), (0.0, 4.0)),
        (Sum([Ranged(1, 2), Ranged(-3, -1)], weights=[-0.5, 3.0]), (-10.0, -3.5)),
        (Sum([Ranged(-math.inf, 0), Length()], weights=[0.0, 1.0]), (0.0, 1.0)),
        (Sum([Length(), 0.5], on_error="value", error_value=-5.0), (-4.5, 1.5)),
        (Min([Ranged(-2, 1), Ranged(0.5, 3)]), (-2.0, 1.0)),
        (Max([Ranged(-2, 1), Ranged(0.5, 3)]), (0.5, 3.0)),
        (Product([Ranged(-2, 1), Ranged(0.5, 3)]), (-6.0, 3.0)),
        (Product([Ranged(-2, 1), Ranged(-1, 0.5), Ranged(2, 3)]), (-3.0, 6.0)),
        (Product([Ranged(0, 1), Ranged(-math.inf, 0)]), (-math.inf, 0.0)),
        (Schedule(Ranged(-1, 2), schedules.Linear(start=0.5, end=-1.0, steps=10)), (-2.0, 1.0)),
        (Schedule(Ranged(1, 2), schedules.Exponential(start=1.0, end=2.0, tau=10)), (0.0, 2.0)),
        (Schedule(Ranged(1, 1), schedules.Exponential(start=-1.0, end=-1.0, tau=10)), (-1.0, 0.0)),
        (Schedule(Ranged(1, 1), schedules.Exponential(start=1.0, end=0.5, tau=10)), (0.5, 1.0)),
        (Gate(Flag(), then=Ranged(-1, 0.5), otherwise=Ranged(0, 2)), (-1.0, 2.0)),
        (Gate(Ranged(-5, 5), then=1.0, otherwise=0.5, threshold=0.0), (0.5, 1.0)),
        (Shape(Ranged(-1, 2), transform("affine", scale=-2.0, offset=1.0)), (-3.0, 3.0)),
        (Shape(Ranged(-1, 0.5), transform("clamp", low=0.0, high=1.0)), (0.0, 0.5)),
        (Shape(Ranged(-1, 3), transform("threshold", at=0.5)), (0.0, 1.0)),
        (Hierarchy([Level([Ranged(0, 1)]), Level([Ranged(0.5, 1)])], floor=-1.0), (-1.0, 2.0)),
    ],
    ids=[
        "sum negative lower bound",
        "sum negative weight",
        "sum negative weight and range",
        "sum zero weight on an unbounded child",
        "sum on_error value: a constant never fails",
        "min",
        "max",
        "product",
        "product of three, signs mixed",
        "product with an unbounded child",
        "schedule over a weight that changes sign",
        "schedule decaying away from its end",
        "schedule decaying from a negative start",
        "schedule decaying to its end",
        "gate: the branches' hull",
        "gate: not the condition's range",
        "shape affine flips",
        "shape clamp",
        "shape threshold",
        "hierarchy: a locked level counts its floor",
    ],
)
def test_range(reward, expected):
    assert reward.range == expected


# ---------------------------------------------------------------- error policies


POLICIES = [  # Length gives 0.4 on BOOM, Flag fails; error_value is -0.5
    (Sum, "propagate", None),
    (Sum, "skip", 0.4),
    (Sum, "value", 0.4 - 0.5),
    (Min, "propagate", None),
    (Min, "skip", 0.4),
    (Min, "value", -0.5),
    (Max, "propagate", None),
    (Max, "skip", 0.4),
    (Max, "value", 0.4),
    (Product, "propagate", None),
    (Product, "skip", 0.4),
    (Product, "value", 0.4 * -0.5),
]


@pytest.mark.parametrize(
    ("node", "on_error", "value"), POLICIES, ids=[f"{n.kind} {p}" for n, p, _ in POLICIES]
)
def test_on_error_policy(node, on_error, value):
    s = only(node([Length(), Flag()], on_error=on_error, error_value=-0.5))
    assert s.value == (None if value is None else pytest.approx(value))
    assert s.status is Status.ERROR  # visible whatever the policy did with the value
    assert (s.error.type, s.error.message) == ("RuntimeError", "test.flag: checker exploded")
    assert s.parts == {"test.length": pytest.approx(0.4)}  # a failed child has no part


# Each node can give error_value for a failed child: the declared range must hold it.
@pytest.mark.parametrize(
    ("make", "expected_range", "value"),
    [
        (lambda **kw: Sum([Length(), Flag()], weights=[1.0, 2.0], **kw), (-15.0, 3.0), 0.4 - 10.0),
        (lambda **kw: Min([Length(), Flag()], **kw), (-5.0, 1.0), -5.0),
        (lambda **kw: Max([Flag(), Broken(-2, -1)], **kw), (-5.0, 1.0), -5.0),
        (lambda **kw: Product([Length(), Flag()], **kw), (-5.0, 25.0), 0.4 * -5.0),
        (lambda **kw: Gate(Flag(), then=1.0, otherwise=0.0, **kw), (-5.0, 1.0), -5.0),
        (
            lambda **kw: Gate(Length(), then=Flag(), otherwise=0.0, threshold=0.0, **kw),
            (-5.0, 1.0),
            -5.0,
        ),
        (lambda **kw: Shape(Flag(), transform("affine", scale=-2.0), **kw), (-2.0, 10.0), 10.0),
        (lambda **kw: Schedule(Flag(), schedules.Constant(value=2.0), **kw), (-10.0, 2.0), -10.0),
        (lambda **kw: Hierarchy([Level([Length(), Flag()])], **kw), (-5.0, 1.0), (0.4 - 5) / 2),
    ],
    ids=[
        "sum",
        "min",
        "max",
        "product",
        "gate condition",
        "gate branch",
        "shape",
        "schedule",
        "hierarchy",
    ],
)
def test_on_error_value_is_inside_the_range(make, expected_range, value):
    reward = make(on_error="value", error_value=-5.0)
    s = only(reward)
    assert s.value == pytest.approx(value)
    assert s.status is Status.ERROR
    assert reward.range == expected_range


# Under skip a node aggregates only the children left, which its range must allow for.
@pytest.mark.parametrize(
    ("make", "expected_range", "value"),
    [
        (lambda **kw: Sum([Ranged(1, 1), Broken(1, 2)], **kw), (1.0, 3.0), 1.0),
        (
            lambda **kw: Sum([Ranged(-1, -1), Broken(-2, 1)], weights=[1.0, -1.0], **kw),
            (-2.0, 2.0),
            -1.0,
        ),
        (lambda **kw: Min([Broken(0, 0.2), Ranged(0.8, 0.8)], **kw), (0.0, 0.8), 0.8),
        (lambda **kw: Max([Broken(0.8, 1), Ranged(0.2, 0.2)], **kw), (0.2, 1.0), 0.2),
        (lambda **kw: Product([Broken(0, 0.5), Ranged(2, 2)], **kw), (0.0, 2.0), 2.0),
        (lambda **kw: Hierarchy([Level([Ranged(0, 0), Broken(1, 1)])], **kw), (0.0, 1.0), 0.0),
    ],
    ids=["sum", "sum negative weight", "min", "max", "product", "hierarchy level mean"],
)
def test_on_error_skip_is_inside_the_range(make, expected_range, value):
    reward = make(on_error="skip")
    s = only(reward)
    assert s.value == pytest.approx(value)
    assert reward.range == expected_range


def test_gate_skip_with_a_failed_branch_gives_no_value_and_the_branch_status():
    gate = Gate(Flag(), then=Broken(how="timeout"), otherwise=0.0, on_error="skip")
    s = only(gate, YES)
    assert s.value is None  # not the condition's 1.0
    assert s.status is Status.TIMEOUT
    assert (s.error.type, s.error.message) == ("TimeoutError", "test.broken: too slow")
    assert s.parts == {"test.flag": 1.0}


def test_gate_with_a_failed_condition_scores_no_branch():
    then, otherwise = Flag(), Flag()
    s = only(Gate(Flag(), then=then, otherwise=otherwise, labels=["if", "then", "else"]))
    assert s.value is None
    assert s.status is Status.ERROR
    assert s.error.message == "if: checker exploded"
    assert (then.calls, otherwise.calls, s.parts) == (0, 0, {})
    assert only(Gate(Flag(), then=1.0, on_error="skip")).value is None
    assert only(Gate(Flag(), then=1.0, on_error="value", error_value=-1.0)).value == -1.0


def test_shape_with_a_failed_child_keeps_no_value_and_the_error():
    s = only(Shape(Flag(), transform("affine", scale=1.0, offset=3.0)))
    assert s.value is None  # not the offset
    assert s.status is Status.ERROR
    assert (s.error.type, s.error.message) == ("RuntimeError", "test.flag: checker exploded")
    assert s.info == {}  # the child's failure, not a transform's "gave no value"


@pytest.mark.parametrize("weights", [[1.0], [1.0, 2.0, 3.0]], ids=["too few", "too many"])
def test_sum_needs_one_weight_per_child(weights):
    with pytest.raises(ValueError, match="one weight per child"):
        Sum([Length(), Flag()], weights=weights)


# ---------------------------------------------------------------- status and errors


def test_the_worst_status_wins_and_the_first_error_names_its_child():
    reward = Sum(
        [Broken(how="skipped"), Broken(how="timeout"), Broken(how="raise"), Length()],
        labels=["skip", "slow", "crash", None],
        on_error="skip",
    )
    s = only(reward)
    assert s.value == pytest.approx(0.4)
    assert s.status is Status.ERROR  # not the first failed child's skipped or timeout
    assert (s.error.type, s.error.message) == ("TimeoutError", "slow: too slow")


def test_a_timeout_with_a_floor_value_stays_visible_at_the_root():
    inner = Max([Broken(0.0, 1.0, how="timeout_floor"), 0.0], label="inner")
    s = only(Sum([inner, Length()]))
    assert s.value == pytest.approx(0.4)
    assert s.status is Status.TIMEOUT
    assert s.error is None


def test_a_nested_error_names_the_path_of_labels():
    inner = Min([Length(), Flag()], labels=[None, "judge"], label="inner")
    s = only(Sum([Length(), inner]))
    assert s.error.message == "inner: judge: checker exploded"


@pytest.mark.parametrize(
    "make",
    [
        lambda: Gate(Flag(), then=Length(), otherwise=-1.0),
        lambda: Shape(Length(), transform("sigmoid")),
        lambda: Schedule(Length(), schedules.Linear()),
        lambda: Hierarchy([Level([Flag()]), Level([Length()])]),
        lambda: GatedAggregate([Flag()], [Length()]),
    ],
    ids=["gate", "shape", "schedule", "hierarchy", "gated"],
)
def test_an_empty_batch_gives_no_scores(make):
    reward = make()
    assert reward.score([]) == []
    assert asyncio.run(reward.ascore([])) == []


def test_hierarchy_skip_range_only_counts_weighted_terms():
    reward = Hierarchy(
        [Level([Ranged(0.5, 1), Ranged(-9, 9)], term_weights=[1.0, 0.0])], on_error="skip"
    )
    assert reward.range == (0.5, 1.0)


def test_an_empty_weight_list_is_not_taken_for_equal_weights() -> None:
    with pytest.raises(ValueError, match="one weight per child"):
        Sum([Constant(1.0), Constant(2.0)], weights=[])


def test_a_failing_otherwise_branch_is_named_by_its_own_label() -> None:
    gate = Gate(Ranged(0, 0), then=Flag(), otherwise=Broken(), labels=["if", "yes", "no"])
    (score,) = gate.score([Sample(completion="x")])
    assert score.value is None and score.error is not None
    assert score.error.message.startswith("no: ")
