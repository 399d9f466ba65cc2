"""Attacks on ``tool.call``, ``efficiency.pear``, ``efficiency.crf`` and the advantages.

Each test is an attack (or a silent numerical failure) that paid before its guard; the
comment beside it gives what it earned then and what it earns now, next to the honest
answer. The paper's behaviour stays one parameter away (``executed_calls=False``,
``penalize_unmatched=False``, ``answer_guard=False``), and a test shows that too.
"""

from __future__ import annotations

import itertools
import json
import math

import pytest

import rewardsmith
from rewardsmith import Sample, Status
from rewardsmith.advantages import (
    dcpo,
    dr_grpo,
    grpo,
    reinforce_pp,
    rloo,
    stable_reinforce_filter,
)
from rewardsmith.core import Tokens
from rewardsmith.errors import ConfigError, InputError

# ---- tool.call ------------------------------------------------------------------------

FLIGHT = {"name": "book_flight", "arguments": {"src": "PAR", "dst": "NYC", "day": "05-01"}}
REF = {"tool_calls": [FLIGHT]}
PAPER = {"executed_calls": False, "penalize_unmatched": False}


def flight(src: str = "PAR", dst: str = "NYC", day: str = "05-01") -> dict:
    return {"name": "book_flight", "arguments": {"src": src, "dst": dst, "day": day}}


def block(*calls: dict) -> str:
    body = "\n".join(json.dumps(c) for c in calls)
    return f"<tool_call>\n{body}\n</tool_call>"


def tagged(*calls: dict) -> str:
    return "<think>Book it.</think>\n" + block(*calls)


def tool(completion, reference=REF, **params) -> float:
    (out,) = rewardsmith.load("tool.call", **params).score(
        [Sample(completion=completion, reference=reference)]
    )
    assert out.status is Status.OK and out.value is not None
    return out.value


# An honest single guess with one argument wrong: S = 1 + 1 + 2 = 4 of 5 -> 1.8, + format 1.
HONEST_GUESS = 2.8


def test_spraying_every_argument_combination_earns_less_than_one_guess():
    days = ["05-01", "05-02", "05-03"]
    dsts = ["NYC", "JFK"]
    spray = [flight(dst=d, day=t) for d, t in itertools.product(dsts, days)]
    assert tool(tagged(flight(day="05-02"))) == pytest.approx(HONEST_GUESS)
    # before: greedy best-of-many matched the exact call: S = 1/6 + 4, 6*S/5 - 3 + 1 = 3.0
    assert tool(tagged(*spray), **PAPER) == pytest.approx(3.0)
    # now each of the 5 unmatched calls adds its 1 + 3 to S_max: S = 1/6 + 4 of 25 -> -1.0
    assert tool(tagged(*spray)) == pytest.approx(-1.0)
    # even two tries (one of them right) earn less than one wrong guess
    assert tool(tagged(flight(day="05-02"), FLIGHT)) < HONEST_GUESS
    # and the honest guess's expected value over the 6 candidates beats the spray
    expected = (4.0 + 5 * HONEST_GUESS) / 6  # one exact (4.0), five one-wrong
    assert tool(tagged(*spray)) < expected


def test_calling_every_tool_once_earns_less_than_the_right_call_alone():
    others = [{"name": n, "arguments": {}} for n in ("search", "get_time", "cancel")]
    assert tool(tagged(FLIGHT, *others), **PAPER) > 0.0  # before: 6*(0.25+4)/5-3+1 = 3.1
    assert tool(tagged(FLIGHT, *others)) < HONEST_GUESS  # now: S_max 5 + 3 -> 1.19
    assert tool(tagged(FLIGHT)) == 4.0


def test_a_call_only_inside_think_earns_no_correctness():
    hidden = "<think>\n" + block(FLIGHT) + "\n</think>\n<response>Booked.</response>"
    # before: the call inside <think> was read: 0 (format) + 3
    assert tool(hidden, **PAPER) == 3.0
    # now an executor never runs it: no call, c_min
    assert tool(hidden) == -3.0
    unclosed = "<think>I will call\n" + block(FLIGHT)  # reasoning never closed
    assert tool(unclosed) == -3.0


def test_wrong_then_right_is_scored_as_the_executor_runs_them():
    wrong_then_right = tagged(flight(day="05-02")) + "\n" + block(FLIGHT)
    # before: the last block alone was read: exact, 0 (format: two blocks) + 3 = 3.0;
    # ToolRL's code (executed_calls=False) reads the first block: the wrong call, 1.8
    assert tool(wrong_then_right, executed_calls=False) == pytest.approx(1.8)
    # now both blocks run, the wrong one first: it is an unmatched call
    assert tool(wrong_then_right) < min(HONEST_GUESS, 3.0)
    assert tool(wrong_then_right) <= 0.0


@pytest.mark.parametrize(
    "raw",
    [
        '{"name": "book_flight", "arguments": {"src": "PAR", "dst": "NYC", "day": "05-09",'
        ' "day": "05-01"}}',
        '{"name": "cancel_all", "name": "book_flight", "arguments": '
        '{"src": "PAR", "dst": "NYC", "day": "05-01"}}',
    ],
    ids=["argument", "name"],
)
def test_duplicate_json_keys_are_refused(raw):
    text = "<think>t</think>\n<tool_call>\n" + raw + "\n</tool_call>"
    # before: json.loads kept the last key, the one the gold has: 4.0
    assert tool(text) == -3.0  # unparsable: format 0, c_min


def test_duplicate_json_keys_in_native_arguments_are_refused():
    args = '{"src": "PAR", "dst": "NYC", "day": "05-09", "day": "05-01"}'
    native = [
        {
            "role": "assistant",
            "tool_calls": [{"function": {"name": "book_flight", "arguments": args}}],
        }
    ]
    assert tool(native) == -3.0  # before: 4.0


def test_the_honest_answers_still_earn_full_marks():
    assert tool(tagged(FLIGHT)) == 4.0
    two = {"tool_calls": [FLIGHT, {"name": "get_time", "arguments": {"tz": "CET"}}]}
    both = tagged({"name": "get_time", "arguments": {"tz": "CET"}}, FLIGHT)
    assert tool(both, two) == 4.0  # order-free, as in the paper
    assert (
        tool(
            tagged(FLIGHT) + "\n<response>Booked.</response>",
            {"tool_calls": [FLIGHT], "response": True},
        )
        == 4.0
    )


# ---- advantages: huge rewards ---------------------------------------------------------

BASE = [1.0, 0.0, 0.0, 1.0, 2.0, 5.0, 3.0]
GROUPS = ["a", "a", "a", "a", "b", "b", "b"]


@pytest.mark.parametrize("scale", [1e154, 1e200, 1e300])
@pytest.mark.parametrize(
    "fn",
    [
        grpo,
        lambda v, g: grpo(v, g, ddof=0),
        reinforce_pp,
        lambda v, g: reinforce_pp(v, g, group_baseline=False),
    ],
    ids=["grpo", "grpo-ddof0", "reinforce_pp", "reinforce_pp-no-baseline"],
)
def test_scaled_rewards_give_the_same_advantages(fn, scale):
    # before: std overflowed to inf and every advantage was 0.0, without an error
    want = fn(BASE, GROUPS)
    got = fn([v * scale for v in BASE], GROUPS)
    assert got == pytest.approx(want, abs=1e-5)  # eps=1e-6 counts only at scale 1
    assert any(a != 0.0 for a in got)


@pytest.mark.parametrize("scale", [1e154, 1e300])
def test_centred_estimators_scale_with_the_rewards(scale):
    for fn in (dr_grpo, rloo):
        want = fn(BASE, GROUPS)
        got = fn([v * scale for v in BASE], GROUPS)
        assert [g / scale for g in got] == pytest.approx(want, rel=1e-9)


def test_one_huge_group_does_not_zero_the_other_groups_in_reinforce_pp():
    values = [1e160, 0.0, 1.0, 0.0, 3.0, 1.0]
    groups = ["huge", "huge", "x", "x", "y", "y"]
    out = reinforce_pp(values, groups)
    # before: the batch std overflowed and all six advantages were 0.0
    # c = ±5e159 and four O(1) values: std = 5e159 / sqrt(3), so ±sqrt(3)
    assert out[0] == pytest.approx(math.sqrt(3)) and out[1] == pytest.approx(-math.sqrt(3))
    # the others are what the formula gives: c / std_batch, tiny but not 0, signs and
    # ratios kept (the batch whitening itself is REINFORCE++'s, not a numerical failure)
    assert all(a != 0.0 for a in out)
    assert out[2] > 0 > out[3] and out[4] > 0 > out[5]
    assert out[4] / out[2] == pytest.approx(2.0)


def test_stable_reinforce_filter_survives_huge_advantages():
    # before: the variance overflowed and both were zeroed
    assert stable_reinforce_filter([1e200, -1e200]) == pytest.approx([1.0, -1.0])


def test_dcpo_survives_huge_rewards():
    out = dcpo([1e200, 0.0, 1e200, 0.0], ["q"] * 4, [3, 1, 2, 4])
    assert [a for a in out if a is not None] == pytest.approx([0.7071068, -0.7071068])


@pytest.mark.parametrize("fn", [dr_grpo, rloo])
def test_a_result_that_really_overflows_raises(fn):
    with pytest.raises(InputError, match="overflow"):
        fn([1.7e308, -1.7e308, 1.7e308], ["a"] * 3) if fn is dr_grpo else fn(
            [1.7e308, -1.7e308], ["a", "a"]
        )


@pytest.mark.parametrize("fn", [grpo, dr_grpo, rloo, reinforce_pp])
def test_integers_beyond_float_range_are_an_input_error(fn):
    with pytest.raises(InputError):
        fn([10**400, 0], ["a", "a"])


# ---- efficiency.pear ------------------------------------------------------------------


def pear(think: list[float], answer: list[float], **params) -> float:
    entropies = [*think, 0.0, *answer]  # the </think> token between them
    sample = Sample(
        completion="t</think>a",
        meta={"correct": True, "think_end": len(think)},
        tokens=Tokens(entropies=entropies),
    )
    (out,) = rewardsmith.load("efficiency.pear", **params).score([sample])
    assert out.status is Status.OK and out.value is not None
    return out.value


THINK = [3.0, 3.0, 3.0, 3.0]
CRISP = [0.1, 0.1]


def test_a_hedged_answer_no_longer_cancels_the_thinking_penalty():
    hedged = [3.5, 3.5]
    # before (the paper): crisp 1 - (3 - 0.1) = -1.9, hedged 1 - max(0, 3 - 3.5) = 1.0
    assert pear(THINK, CRISP, answer_guard=False) == pytest.approx(-1.9)
    assert pear(THINK, hedged, answer_guard=False) == 1.0
    # now: crisp 1 - 0.5*3 = -0.5; hedged 1 - (1.5 + (3.5 - 1.5)) = -2.5
    assert pear(THINK, CRISP) == pytest.approx(-0.5)
    assert pear(THINK, hedged) == pytest.approx(-2.5)


@pytest.mark.parametrize("alpha", [0.5, 1.0, 2.0])
def test_no_answer_entropy_beats_a_crisp_answer(alpha):
    crisp = pear(THINK, [0.0, 0.0], alpha=alpha)
    for h in [0.05 * i for i in range(0, 200)]:
        assert pear(THINK, [h, h], alpha=alpha) <= crisp + 1e-12
    # before (the paper): any h >= 3 / alpha cancelled the penalty
    assert pear(THINK, [3.0 / alpha] * 2, alpha=alpha, answer_guard=False) == 1.0


@pytest.mark.parametrize("alpha", [0.0, 1.0, 2.0])
def test_more_thinking_entropy_never_pays_to_widen_the_allowance(alpha):
    for answer in ([0.1], [1.0], [4.0]):
        values = [pear([h] * 4, answer, alpha=alpha) for h in [0.25 * i for i in range(40)]]
        assert all(b <= a + 1e-12 for a, b in itertools.pairwise(values))


def test_moving_the_reasoning_out_of_think_does_not_earn_one():
    reasoning = [2.0, 2.0, 2.0, 2.0]
    # before: an empty thinking phase always earned 1.0, whatever followed </think>
    assert pear([], reasoning, answer_guard=False) == 1.0
    moved = pear([], reasoning)
    assert moved == pytest.approx(-1.0)  # 1 - 2: the answer's entropy is charged
    honest = pear(reasoning, CRISP)  # the same reasoning inside <think>, a crisp answer
    assert honest == pytest.approx(0.0)  # 1 - 0.5*2
    assert moved < honest
    assert pear([], CRISP) == pytest.approx(0.9)  # a crisp direct answer is still fine


# ---- efficiency.crf -------------------------------------------------------------------


@pytest.mark.parametrize(("alpha", "s"), [(1e200, 1e200), (1e308, 1.0), (2.0, 1e308)])
def test_crf_parameters_whose_top_value_is_not_finite_are_refused(alpha, s):
    # before: 1 + alpha*c*(s + d) was inf with status ok
    with pytest.raises(ConfigError, match="finite"):
        rewardsmith.load("efficiency.crf", alpha=alpha, s=s)


def test_crf_large_but_finite_parameters_give_finite_values():
    r = rewardsmith.load("efficiency.crf", alpha=1e150, s=1e150)
    (out,) = r.score([Sample(meta={"correct": True, "conciseness": 1.0, "difficulty": 1.0})])
    assert out.status is Status.OK and math.isfinite(out.value)
    assert out.value <= r.range[1] and math.isfinite(r.range[1])
