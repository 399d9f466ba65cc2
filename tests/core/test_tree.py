"""The tree interface (``core.tree``) and what every trainer adapter reads through it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rewardsmith import Sample, load_spec
from rewardsmith.core.tree import children, part_names, set_step, walk, work_kinds
from rewardsmith.integrations.openrlhf import to_reply
from rewardsmith.integrations.trl import reward_funcs
from rewardsmith.integrations.verl import compute_score, compute_score_batch
from rewardsmith.runtime.wrappers import Cached, Isolated, Threaded

HIERARCHY = """
reward:
  hierarchy:
    levels:
      - {name: fmt, terms: [{use: format.think_answer}]}
      - {name: ans, terms: [{use: qa.f1}], threshold: 0.5}
    combine: mean
"""

GOOD = "<think>it is paris</think><answer>Paris</answer>"


@pytest.fixture
def hierarchy(tmp_path: Path) -> Any:
    path = tmp_path / "h.yaml"
    path.write_text(HIERARCHY)
    return load_spec(path)


def test_a_hierarchy_declares_the_parts_it_writes(hierarchy: Any) -> None:
    names = part_names(hierarchy)
    assert names[:2] == ["fmt/format.think_answer", "ans/qa.f1"]
    assert {"fmt", "ans", "unlocked"} <= set(names)
    score = hierarchy.score([Sample(prompt="capital?", completion=GOOD, reference="Paris")])[0]
    assert score.value == 1.0
    assert set(score.parts) <= set(names)
    assert score.parts["fmt/format.think_answer"] == 1.0 and score.parts["ans/qa.f1"] == 1.0


def test_verl_reports_a_hierarchy_s_real_parts(hierarchy: Any) -> None:
    # verl used to report format.think_answer: 0.0 and qa.f1: 0.0 (names worked out from
    # outside the tree); the real parts are fmt/format.think_answer and friends, all 1.0
    got = compute_score("hotpot", GOOD, "Paris", spec=hierarchy)
    assert got["score"] == 1.0
    assert got["fmt/format.think_answer"] == 1.0 and got["ans/qa.f1"] == 1.0
    assert "format.think_answer" not in got and "qa.f1" not in got
    assert got["computed/ans/qa.f1"] == 1.0


def test_a_gate_branch_not_taken_is_not_computed_anywhere() -> None:
    spec = load_spec("math-r1")
    rows = [("<think>a</think><answer>4</answer>", "4"), ("4", "4")]
    batch = compute_score_batch(
        ["m", "m"], [r[0] for r in rows], [r[1] for r in rows], None, spec=spec
    )
    assert batch[0]["math.answer"] == 1.0 and batch[0]["computed/math.answer"] == 1.0
    # the gate failed: math.answer never ran, and says so beside its 0.0
    assert batch[1]["math.answer"] == 0.0 and batch[1]["computed/math.answer"] == 0.0
    assert batch[1]["computed/format.think_answer"] == 1.0
    reply = to_reply(
        spec.score([Sample(prompt="", completion=c, reference=r) for c, r in rows]),
        0.0,
        part_names(spec),
    )
    assert reply["extra_logs"]["rewardsmith/computed/math.answer"] == [1.0, 0.0]


def test_trl_logs_every_part_at_every_depth_over_the_items_that_computed_it(
    hierarchy: Any,
) -> None:
    logged: dict[str, float] = {}
    (func,) = reward_funcs(load_spec("math-r1"))
    func(
        prompts=["p"] * 4,
        completions=[
            "<think>a</think><answer>4</answer>",
            "<think>a</think><answer>5</answer>",
            "4",
            "x",
        ],
        answer=["4"] * 4,
        log_metric=logged.__setitem__,
    )
    assert logged["rewardsmith/format.think_answer"] == 0.5  # the format pass rate
    assert logged["rewardsmith/math.answer"] == 0.5  # over the two that passed the gate
    assert logged["rewardsmith/skipped"] == 0.0 and logged["rewardsmith/unscored"] == 0.0
    logged.clear()
    (func,) = reward_funcs(hierarchy)
    func(prompts=["p"], completions=[GOOD], answer=["Paris"], log_metric=logged.__setitem__)
    assert logged["rewardsmith/fmt/format.think_answer"] == 1.0
    assert logged["rewardsmith/ans/qa.f1"] == 1.0


def test_wrappers_pass_the_inner_reward_s_declarations_through() -> None:
    inner = load_spec("qa-f1")
    for wrapped in (Cached(inner), Isolated(inner), Threaded(inner)):
        assert part_names(wrapped) == part_names(inner)
        assert list(children(wrapped)) == [inner]
        assert work_kinds(wrapped) == work_kinds(inner)


def test_walk_and_set_step_reach_every_node() -> None:
    spec = load_spec("math-r1")
    nodes = list(walk(spec))
    assert nodes[0] is spec and len(nodes) == 1 + len(list(walk(spec.children[0]))) + sum(
        len(list(walk(c))) for c in spec.children[1:]
    )
    seen: list[int] = []

    class Stepper:
        children = ()

        def on_step(self, step: int) -> None:
            seen.append(step)

    class Root:
        children = (Stepper(), Stepper())

    set_step(Root(), 7)
    assert seen == [7, 7]


def test_an_undeclared_third_party_reward_has_no_parts_and_counts_as_cpu() -> None:
    class Plain:
        name = "x"

    assert part_names(Plain()) == [] and work_kinds(Plain()) == {"cpu"}
