"""``tool.call`` (ToolRL, arXiv 2504.13958): hand-worked cases, ablations, properties.

Each expected value is worked out in the comment beside it: ``S`` and ``S_max`` as the
catalog (§8) defines them, then ``R_correct = 6 * S / S_max - 3`` and ``+ R_format``.
"""

import json
import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rewardsmith
from rewardsmith.core import Sample, Status, set_step
from rewardsmith.verifiable.tool import parse_tool_calls, tool_call_score

ROOT = Path(__file__).resolve().parents[2]  # tests/verifiable/ -> the repository

WEATHER = {"name": "get_weather", "arguments": {"city": "Paris", "unit": "c"}}
ONE = {"tool_calls": [WEATHER]}
TWO = {
    "tool_calls": [
        {"name": "get_weather", "arguments": {"city": "Paris"}},
        {"name": "get_time", "arguments": {"tz": "CET"}},
    ]
}
NONE = {"tool_calls": []}


def text(*calls: dict, think: bool = True) -> str:
    body = "\n".join(json.dumps(c) for c in calls)
    head = "<think>I should call a tool.</think>\n" if think else ""
    return f"{head}<tool_call>\n{body}\n</tool_call>"


def openai(*calls: dict, raw_args: str | None = None) -> list[dict]:
    tool_calls = [
        {
            "id": f"call_{i}",
            "type": "function",
            "function": {
                "name": c["name"],
                "arguments": raw_args if raw_args is not None else json.dumps(c["arguments"]),
            },
        }
        for i, c in enumerate(calls)
    ]
    return [
        {"role": "system", "content": "You can call get_weather."},
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": "", "tool_calls": tool_calls},
    ]


def call(name: str, **arguments: object) -> dict:
    return {"name": name, "arguments": arguments}


CASES = [
    # exact match: format 1 + correctness 3
    ("exact", text(WEATHER), ONE, 4.0),
    # r_name = 0 (no common name), nothing matched: S = 0 -> -3; format 1
    ("wrong-name", text(call("get_time", city="Paris", unit="c")), ONE, -2.0),
    # a tool the schema does not have is just a name mismatch
    ("unknown-tool", text(call("launch_rockets", target="moon")), ONE, -2.0),
    # r_name 1, r_param 1, r_value 1 of 2: S = 3, S_max = 1 + (1 + 2) = 4 -> 6*3/4-3 = 1.5
    ("wrong-value", text(call("get_weather", city="Paris", unit="f")), ONE, 2.5),
    # r_param = J({city,unit},{city}) = 1/2, r_value 1: S = 2.5 -> 6*2.5/4-3 = 0.75
    ("missing-arg", text(call("get_weather", city="Paris")), ONE, 1.75),
    # r_param = 2/3, r_value 2: S = 1 + 8/3 = 11/3 -> 6*(11/3)/4-3 = 2.5
    ("extra-arg", text(call("get_weather", city="Paris", unit="c", days=3)), ONE, 3.5),
    # "5" != 5: r_name 1, r_param 1, r_value 0: S = 2, S_max = 3 -> 6*2/3-3 = 1
    ("string-vs-int", text(call("f", n="5")), {"tool_calls": [call("f", n=5)]}, 2.0),
    # true is not 1 (Python's == says it is)
    ("bool-vs-int", text(call("f", n=1)), {"tool_calls": [call("f", n=True)]}, 2.0),
    # r_name = J([w, t], [w]) = 1/2, w matched 1 + 1: S = 2.5, S_max = 1 + 2 + 2 = 5 -> 0
    ("one-of-two", text(call("get_weather", city="Paris")), TWO, 1.0),
    # order differs, so not an exact match; r_name 1, both matched: S = 5 = S_max -> 3
    (
        "two-reordered",
        text(call("get_time", tz="CET"), call("get_weather", city="Paris")),
        TWO,
        4.0,
    ),
    # a JSON list in one block is read like one object per line
    (
        "json-list-block",
        "<think>t</think>\n<tool_call>\n" + json.dumps(TWO["tool_calls"]) + "\n</tool_call>",
        TWO,
        4.0,
    ),
    # right calls, but no <think>: format 0 + 3
    ("no-think", text(WEATHER, think=False), ONE, 3.0),
    # two <tool_call> blocks break "each tag once": format 0; both blocks run, so the
    # second call is unmatched: S = J([w], [w, w]) + 3 = 3.5, S_max = 4 + 3 -> 0
    ("two-blocks", text(WEATHER) + "\n" + text(WEATHER, think=False), ONE, 0.0),
    # an extra call: S = J([w], [w, t]) + 3 = 3.5, S_max = 4 + (1 + 1) = 6 -> 0.5; + 1
    ("extra-call", text(WEATHER, call("get_time", tz="UTC")), ONE, 1.5),
    # a call only inside <think> is never run: no call, c_min; format 0
    (
        "call-inside-think",
        "<think>\n<tool_call>\n" + json.dumps(WEATHER) + "\n</tool_call>\n</think>",
        ONE,
        -3.0,
    ),
    # a wrong call inside <think>, the right one after it: only the latter runs; the
    # format fails (two <tool_call> tags): 0 + 3
    (
        "think-then-call",
        "<think>maybe <tool_call>\n"
        + json.dumps(call("get_weather", city="Rome"))
        + "\n</tool_call></think>\n<tool_call>\n"
        + json.dumps(WEATHER)
        + "\n</tool_call>",
        ONE,
        3.0,
    ),
    # the template opened <think>: text before a lone </think> is reasoning; format 0
    ("template-think", "I will call it.</think>\n" + text(WEATHER, think=False), ONE, 3.0),
    ("call-before-lone-close", text(WEATHER, think=False) + "</think>\nDone.", ONE, -3.0),
    # a duplicate key is unparsable: executors differ on which one wins
    (
        "duplicate-key",
        '<think>t</think>\n<tool_call>\n{"name": "get_weather", "arguments": '
        '{"city": "Rome", "city": "Paris", "unit": "c"}}\n</tool_call>',
        ONE,
        -3.0,
    ),
    # no tags at all: format 0, correctness -3
    ("no-tags", "The weather in Paris is nice.", ONE, -3.0),
    # broken JSON in the block: format 0, correctness -3
    (
        "broken-json",
        '<think>x</think>\n<tool_call>\n{"name": "get_weather", \n</tool_call>',
        ONE,
        -3.0,
    ),
    # an object without a name is as unparsable as broken JSON
    ("no-name", text({"arguments": {"city": "Paris"}}), ONE, -3.0),
    # an opened but unclosed block is unparsable
    ("unclosed", "<think>x</think>\n<tool_call>\n{}", ONE, -3.0),
    # gold has no call: correctness 0; a call breaks the <response> format: 0
    ("call-when-none-expected", text(WEATHER), NONE, 0.0),
    # gold has no call and the model answers: format 1 + 0
    ("response-when-none-expected", "<think>no tool</think>\n<response>Hi!</response>", NONE, 1.0),
    # empty completions
    ("empty-text", "", ONE, -3.0),
    ("empty-trajectory", [], ONE, -3.0),
    # OpenAI-style messages: the last assistant message's tool_calls
    ("openai-exact", openai(WEATHER), ONE, 4.0),
    ("openai-wrong-value", openai(call("get_weather", city="Paris", unit="f")), ONE, 2.5),
    ("openai-broken-args", openai(WEATHER, raw_args='{"city": "Par'), ONE, -3.0),
    (
        "openai-answer-when-none-expected",
        [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Hello!"}],
        NONE,
        1.0,
    ),
    ("openai-no-call", [{"role": "assistant", "content": "Sunny, I think."}], ONE, -3.0),
    # tagged text inside a chat message is read like a text completion
    ("chat-with-tags", [{"role": "assistant", "content": text(WEATHER)}], ONE, 4.0),
]


@pytest.mark.parametrize(
    ("completion", "reference", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_hand_worked(completion, reference, expected):
    (out,) = rewardsmith.load("tool.call").score(
        [Sample(completion=completion, reference=reference)]
    )
    assert out.status is Status.OK
    assert out.value == pytest.approx(expected)
    assert out.parts["format"] + out.parts["correct"] == pytest.approx(expected)


def test_partial_credit_arithmetic_written_out():
    gold = [("get_weather", {"city": "Paris", "unit": "c"})]
    pred = [("get_weather", {"city": "Paris", "days": 3})]
    s, s_max = tool_call_score(gold, pred)
    # r_name 1 + r_param J({city,unit},{city,days}) = 1/3 + r_value 1 (city)
    assert (s, s_max) == (pytest.approx(1 + 1 / 3 + 1), 4.0)
    # greedy: the first same-name call with the best r_param + r_value is taken
    pred2 = [("get_weather", {"city": "Rome"}), ("get_weather", {"city": "Paris", "unit": "c"})]
    s2, _ = tool_call_score(gold, pred2)
    # r_name = J([w], [w, w]) = 1/2; best match is the second call: 1 + 2
    assert s2 == pytest.approx(0.5 + 3)
    # the guard: the unmatched first call adds 1 + |{city}| = 2 to S_max
    assert tool_call_score(gold, pred2, penalize_unmatched=True) == (pytest.approx(3.5), 6.0)
    # without partial params an unmatched call adds 1
    assert tool_call_score(gold, pred2, False, True) == (pytest.approx(1.5), 3.0)


ABLATIONS = [
    # coarse: anything but an exact match gets -3
    (
        "coarse-wrong",
        {"coarse": True},
        text(call("get_weather", city="Paris", unit="f")),
        ONE,
        -2.0,
    ),
    ("coarse-exact", {"coarse": True}, text(WEATHER), ONE, 4.0),
    # no partial params: r_name 1, no equal call: S = 1, S_max = 1 + 1 = 2, and the
    # unmatched call adds 1: S_max 3 -> 6/3 - 3 = -1; + 1
    (
        "intermediate-wrong",
        {"partial_params": False},
        text(call("get_weather", city="Paris", unit="f")),
        ONE,
        0.0,
    ),
    # the paper's S_max: S = 1 of 2 -> 0; + 1
    (
        "intermediate-wrong-paper",
        {"partial_params": False, "penalize_unmatched": False},
        text(call("get_weather", city="Paris", unit="f")),
        ONE,
        1.0,
    ),
    # r_name 1, get_weather equal (1), get_time not (unmatched, + 1): S = 2, S_max = 4 -> 0
    (
        "intermediate-two",
        {"partial_params": False},
        text(call("get_weather", city="Paris"), call("get_time", tz="UTC")),
        TWO,
        1.0,
    ),
    (
        "intermediate-two-paper",
        {"partial_params": False, "penalize_unmatched": False},
        text(call("get_weather", city="Paris"), call("get_time", tz="UTC")),
        TWO,
        2.0,
    ),
    # the paper's S_max: S = 3.5 of 4 -> 2.25; + 1
    (
        "extra-call-paper",
        {"penalize_unmatched": False},
        text(WEATHER, call("get_time", tz="UTC")),
        ONE,
        3.25,
    ),
    # ToolRL's code reads the first block, <think> included: 0 + 3
    (
        "call-inside-think-paper",
        {"executed_calls": False},
        "<think>\n<tool_call>\n" + json.dumps(WEATHER) + "\n</tool_call>\n</think>",
        ONE,
        3.0,
    ),
    (
        "two-blocks-paper",
        {"executed_calls": False, "penalize_unmatched": False},
        text(call("get_weather", city="Paris", unit="f")) + "\n" + text(WEATHER, think=False),
        ONE,
        1.5,
    ),
    # correctness in [-1, 1]: S/S_max = 3/4 -> 2*0.75-1 = 0.5
    (
        "correct-max-1",
        {"correct_max": 1.0},
        text(call("get_weather", city="Paris", unit="f")),
        ONE,
        1.5,
    ),
]


@pytest.mark.parametrize(
    ("params", "completion", "reference", "expected"),
    [c[1:] for c in ABLATIONS],
    ids=[c[0] for c in ABLATIONS],
)
def test_ablations(params, completion, reference, expected):
    (out,) = rewardsmith.load("tool.call", **params).score(
        [Sample(completion=completion, reference=reference)]
    )
    assert out.value == pytest.approx(expected)


@pytest.mark.parametrize(
    ("step", "exact", "wrong_value"),
    # before step 30 correctness is in [-1, 1]: exact 1 + 1; wrong value 1 + 0.5
    [(0, 2.0, 1.5), (29, 2.0, 1.5), (30, 4.0, 2.5), (500, 4.0, 2.5)],
)
def test_schedule_max1_step30(step, exact, wrong_value):
    reward = rewardsmith.load("tool.call", schedule="max1_step30")
    set_step(reward, step)
    batch = [
        Sample(completion=text(WEATHER), reference=ONE),
        Sample(completion=text(call("get_weather", city="Paris", unit="f")), reference=ONE),
    ]
    assert [s.value for s in reward.score(batch)] == pytest.approx([exact, wrong_value])
    assert reward.range == (-3.0, 4.0)


@pytest.mark.parametrize(
    ("step", "no_think"),
    # exact calls without <think>: format f_min = -2 + t, correctness c_max = 2 + t
    [(0, 0.0), (75, 1.0), (150, 2.0), (1000, 2.0)],
)
def test_schedule_linear150(step, no_think):
    reward = rewardsmith.load("tool.call", schedule="linear150")
    set_step(reward, step)
    exact, bare = reward.score(
        [
            Sample(completion=text(WEATHER), reference=ONE),
            Sample(completion=text(WEATHER, think=False), reference=ONE),
        ]
    )
    assert exact.value == pytest.approx(4.0)  # f_max + c_max = (2 - t) + (2 + t)
    assert bare.value == pytest.approx(no_think)
    assert reward.range == (-5.0, 5.0)


def test_set_step_reaches_tool_call_inside_a_spec():
    spec = rewardsmith.load_spec(ROOT / "examples" / "toolrl.yaml")
    set_step(spec, 0)
    early = spec.score([Sample(completion=text(WEATHER), reference=ONE)])[0].value
    set_step(spec, 100)
    late = spec.score([Sample(completion=text(WEATHER), reference=ONE)])[0].value
    assert (early, late) == (2.0, 4.0)


@pytest.mark.parametrize(
    "reference",
    [
        None,
        "get_weather",
        3,
        [],
        {"calls": []},
        {"tool_calls": [1]},
        {"tool_calls": [{"name": "f", "arguments": "not json"}]},
    ],
    ids=repr,
)
def test_unusable_reference_is_an_error(reference):
    (out,) = rewardsmith.load("tool.call").score(
        [Sample(completion=text(WEATHER), reference=reference)]
    )
    assert (out.value, out.status) == (None, Status.ERROR)


def test_parse_tool_calls():
    assert parse_tool_calls("plain") == []
    assert parse_tool_calls("<tool_call>\nnope\n</tool_call>") is None
    two = text(call("a", x=1)) + "\n" + text(call("b"), think=False)
    assert parse_tool_calls(two) == [("a", {"x": 1}), ("b", {})]  # every block, in order
    assert parse_tool_calls(two, executed=False) == [("a", {"x": 1})]  # ToolRL: the first
    assert parse_tool_calls(text(call("a")) + "\n<tool_call>\n{}") is None  # unclosed
    assert parse_tool_calls('<tool_call>\n{"name": "a", "name": "b"}\n</tool_call>') is None
    assert parse_tool_calls(openai(WEATHER)) == [("get_weather", {"city": "Paris", "unit": "c"})]
    dict_args = [
        {"role": "assistant", "tool_calls": [{"function": {"name": "f", "arguments": {"x": 1}}}]}
    ]
    assert parse_tool_calls(dict_args) == [("f", {"x": 1})]


fragments = st.sampled_from(
    [
        "<think>",
        "</think>",
        "<tool_call>",
        "</tool_call>",
        "<response>",
        "</response>",
        "\n",
        '{"name": "get_weather", "arguments": {"city": "Paris"}}',
        '{"name": ',
        "[",
        "]",
        "{",
        "}",
        '"unit": "c"',
        "null",
        "get_time",
    ]
)
completions = st.one_of(
    st.text(max_size=200),
    st.lists(st.one_of(fragments, st.text(max_size=6)), max_size=25).map("".join),
    st.lists(
        st.fixed_dictionaries(
            {
                "role": st.sampled_from(["assistant", "user", "tool"]),
                "content": st.one_of(st.none(), st.text(max_size=20)),
                "tool_calls": st.lists(
                    st.one_of(
                        st.none(),
                        st.integers(),
                        st.text(max_size=5),
                        st.fixed_dictionaries(
                            {
                                "function": st.fixed_dictionaries(
                                    {
                                        "name": st.one_of(
                                            st.none(), st.sampled_from(["get_weather", "x"])
                                        ),
                                        "arguments": st.one_of(
                                            st.text(max_size=20), st.just('{"city": "Paris"}')
                                        ),
                                    }
                                )
                            }
                        ),
                    ),
                    max_size=3,
                ),
            }
        ),
        max_size=4,
    ),
)


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"schedule": "linear150"},
        {"schedule": "max1_step30"},
        {"coarse": True},
        {"partial_params": False},
    ],
    ids=repr,
)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    completion=completions, reference=st.sampled_from([ONE, TWO, NONE]), step=st.integers(-5, 400)
)
def test_never_raises_and_stays_in_range(params, completion, reference, step):
    reward = rewardsmith.load("tool.call", **params)
    set_step(reward, step)
    (out,) = reward.score([Sample(completion=completion, reference=reference)])
    lo, hi = reward.range
    assert out.status is Status.OK and out.value is not None
    assert math.isfinite(out.value) and lo <= out.value <= hi


def test_deeply_nested_json_is_unparsable_not_an_error():
    deep = "<think>x</think>\n<tool_call>\n" + "[" * 100_000 + "\n</tool_call>"
    reward = rewardsmith.load("tool.call")
    reward.max_chars = None
    (out,) = reward.score([Sample(completion=deep, reference=ONE)])
    assert (out.status, out.value) == (Status.OK, -3.0)


def test_empty_argument_string_and_parameters_key():
    ref = {"tool_calls": [{"name": "now", "parameters": {}}]}
    msgs = [{"role": "assistant", "tool_calls": [{"function": {"name": "now", "arguments": ""}}]}]
    (out,) = rewardsmith.load("tool.call").score([Sample(completion=msgs, reference=ref)])
    assert out.value == 4.0
