import pickle
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rewardsmith
from rewardsmith import Sample, Status
from rewardsmith.errors import ConfigError


def score(reward, completion):
    return reward.score([Sample(completion=completion)])[0]


# (completion, params, value, reason): reason None means the format holds.
THINK_ANSWER = {
    "well formed": [
        ("<think>2+2=4</think><answer>4</answer>", {}, 1.0, None),
        ("  \n<think>a</think>\n\n<answer>4</answer>\n ", {}, 1.0, None),
        ("<think></think><answer>4</answer>", {}, 1.0, None),
        ("<think>line 1\nline 2</think>\t<answer>\n4\n</answer>", {}, 1.0, None),
    ],
    "missing tags": [
        ("", {}, 0.0, "missing <think>"),
        ("just an answer: 4", {}, 0.0, "missing <think>"),
        ("<think>2+2=4", {}, 0.0, "missing </think>"),
        ("<think>2+2=4</think>", {}, 0.0, "missing <answer>"),
        ("<think>2+2=4</think><answer>4", {}, 0.0, "missing </answer>"),
        ("<think>x</think>4</answer>", {}, 0.0, "missing <answer>"),
    ],
    "opener only": [
        ("<think>", {}, 0.0, "missing </think>"),
        ("<answer>", {}, 0.0, "missing <think>"),
        ("<think>", {"allow_prefix_think": True}, 0.0, "missing </think>"),
    ],
    "repeated tags": [
        ("<think>a</think><think>b</think><answer>4</answer>", {}, 0.0, "2 <think> tags"),
        ("<think>a</think></think><answer>4</answer>", {}, 0.0, "2 </think> tags"),
        ("<think>a</think><answer>4</answer><answer>5</answer>", {}, 0.0, "2 <answer> tags"),
        ("<think>a</think><answer>4</answer></answer>", {}, 0.0, "2 </answer> tags"),
        ("<think>I'll use <answer> tags</think><answer>4</answer>", {}, 0.0, "2 <answer> tags"),
    ],
    "order": [
        ("<answer>4</answer><think>a</think>", {}, 0.0, "tags out of order"),
        ("</think>a<think><answer>4</answer>", {}, 0.0, "tags out of order"),
        ("<think>a</think></answer>4<answer>", {}, 0.0, "tags out of order"),
        ("<think>a<answer>4</answer></think>", {}, 0.0, "tags out of order"),
    ],
    "text outside": [
        ("Sure! <think>a</think><answer>4</answer>", {}, 0.0, "text before <think>"),
        ("<think>a</think> so <answer>4</answer>", {}, 0.0, "text between </think> and <answer>"),
        ("<think>a</think><answer>4</answer>.", {}, 0.0, "text after </answer>"),
        ("<think>a</think><answer>4</answer> Hope this helps!", {}, 0.0, "text after </answer>"),
    ],
    "empty answer": [
        ("<think>a</think><answer></answer>", {}, 0.0, "empty answer"),
        ("<think>a</think><answer> \n </answer>", {}, 0.0, "empty answer"),
        ("<think>a</think><answer></answer>", {"require_nonempty_answer": False}, 1.0, None),
    ],
    "prefix think (template opened it)": [
        ("2+2=4</think><answer>4</answer>", {"allow_prefix_think": True}, 1.0, None),
        ("</think><answer>4</answer>", {"allow_prefix_think": True}, 1.0, None),
        ("<think>a</think><answer>4</answer>", {"allow_prefix_think": True}, 1.0, None),
        ("2+2=4</think><answer>4</answer>", {}, 0.0, "missing <think>"),
        (
            "a</think>b</think><answer>4</answer>",
            {"allow_prefix_think": True},
            0.0,
            "2 </think> tags",
        ),
        (
            "2+2=4</think>x<answer>4</answer>",
            {"allow_prefix_think": True},
            0.0,
            "text between </think> and <answer>",
        ),
    ],
    "custom tags": [
        (
            "<reasoning>a</reasoning><solution>4</solution>",
            {"think_tag": "reasoning", "answer_tag": "solution"},
            1.0,
            None,
        ),
        (
            "<think>a</think><answer>4</answer>",
            {"think_tag": "reasoning", "answer_tag": "solution"},
            0.0,
            "missing <reasoning>",
        ),
        ("<Think>a</Think><Answer>4</Answer>", {}, 0.0, "missing <think>"),
    ],
}
TA_CASES = [(g, *c) for g, cs in THINK_ANSWER.items() for c in cs]


@pytest.mark.parametrize(
    "group,completion,params,value,reason",
    TA_CASES,
    ids=[f"{c[0]}: {c[1][:40]!r}" for c in TA_CASES],
)
def test_think_answer(group, completion, params, value, reason):
    s = score(rewardsmith.load("format.think_answer", **params), completion)
    assert (s.value, s.status) == (value, Status.OK)
    assert s.info.get("reason") == reason


def test_think_answer_on_a_huge_completion_is_quick_and_floored():
    reward = rewardsmith.load("format.think_answer")
    for text in ("<think>" * 14_000, "<think>x</think><answer>" + "4" * 99_000 + "</answer>x"):
        t = time.perf_counter()
        s = score(reward, text)
        assert time.perf_counter() - t < 0.5
        assert s.value == 0.0 and s.status == Status.OK
    over = score(reward, "<think>a</think><answer>" + "4" * 200_000 + "</answer>")
    assert over.value == 0.0 and "100000 characters" in over.info["reason"]


@pytest.mark.parametrize(
    "params,key",
    [
        ({"think_tag": "<think>"}, "think_tag"),
        ({"answer_tag": ""}, "answer_tag"),
        ({"think_tag": "a", "answer_tag": "a"}, "must differ"),
        ({"allow_prefix_think": "maybe"}, "allow_prefix_think"),
    ],
    ids=["brackets in tag", "empty tag", "same tags", "bad bool"],
)
def test_think_answer_bad_params_are_config_errors(params, key):
    with pytest.raises(ConfigError, match=key):
        rewardsmith.load("format.think_answer", **params)


# (completion, params, value)
REGEX = {
    "fullmatch": [
        ("<answer>4</answer>", {"pattern": r"<answer>\d+</answer>"}, 1.0),
        ("<answer>4</answer>!", {"pattern": r"<answer>\d+</answer>"}, 0.0),
        ("line\nline", {"pattern": r"line.line"}, 1.0),
        ("", {"pattern": r".*"}, 1.0),
    ],
    "search": [
        (
            "blah <answer>4</answer> blah",
            {"pattern": r"<answer>\d+</answer>", "mode": "search"},
            1.0,
        ),
        ("blah", {"pattern": r"\d", "mode": "search"}, 0.0),
    ],
    "flags": [
        ("line\nline", {"pattern": r"line.line", "flags": []}, 0.0),
        ("ANSWER: 4", {"pattern": r"answer: 4", "flags": ["IGNORECASE"]}, 1.0),
        ("ANSWER: 4", {"pattern": r"answer: 4"}, 0.0),
        (
            "x\nAnswer: 4\ny",
            {"pattern": r"^Answer: 4$", "mode": "search", "flags": ["MULTILINE"]},
            1.0,
        ),
        ("x\nAnswer: 4\ny", {"pattern": r"^Answer: 4$", "mode": "search"}, 0.0),
    ],
}
RX_CASES = [(g, *c) for g, cs in REGEX.items() for c in cs]


@pytest.mark.parametrize(
    "group,completion,params,value",
    RX_CASES,
    ids=[f"{c[0]}: {c[2]['pattern']} on {c[1][:20]!r}" for c in RX_CASES],
)
def test_regex(group, completion, params, value):
    s = score(rewardsmith.load("format.regex", **params), completion)
    assert (s.value, s.status) == (value, Status.OK)
    assert ("reason" in s.info) == (value == 0.0)


def test_catastrophic_user_pattern_times_out_instead_of_hanging():
    reward = rewardsmith.load("format.regex", pattern=r"(a|aa)+$", timeout_s=0.05)
    t = time.perf_counter()
    s = score(reward, "a" * 5000 + "!")
    assert time.perf_counter() - t < 2.0
    assert (s.value, s.status) == (0.0, Status.TIMEOUT)
    assert "0.05" in s.info["reason"]


@pytest.mark.parametrize(
    "params,key",
    [
        ({"pattern": "(unclosed"}, "pattern"),
        ({"pattern": "[z-a]"}, "pattern"),
        ({}, "pattern"),
        ({"pattern": "x", "mode": "match"}, "mode"),
        ({"pattern": "x", "flags": ["VERBOSE"]}, "flags"),
        ({"pattern": "x", "timeout_s": 0}, "timeout_s"),
    ],
    ids=["unbalanced", "bad range", "missing", "bad mode", "unknown flag", "zero timeout"],
)
def test_regex_bad_params_are_config_errors_naming_the_key(params, key):
    with pytest.raises(ConfigError, match=rf"format\.regex: {key}"):
        rewardsmith.load("format.regex", **params)


@pytest.mark.parametrize(
    "name,params",
    [
        ("format.think_answer", {"allow_prefix_think": True}),
        ("format.regex", {"pattern": r"<answer>.+</answer>", "flags": ["DOTALL", "IGNORECASE"]}),
    ],
    ids=["think_answer", "regex"],
)
def test_pickles_and_scores_the_same_after(name, params):
    reward = rewardsmith.load(name, **params)
    again = pickle.loads(pickle.dumps(reward))
    samples = [Sample(completion="<think>a</think><answer>4</answer>"), Sample(completion="x")]
    assert [s.value for s in again.score(samples)] == [s.value for s in reward.score(samples)]
    assert reward.range == (0.0, 1.0)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.sampled_from(["<think>", "</think>", "<answer>", "</answer>", " ", "\n", "4"])
        | st.text(max_size=3),
        max_size=12,
    ).map("".join)
)
def test_think_answer_any_text_scores_in_range_without_error(text):
    for prefix in (False, True):
        s = score(rewardsmith.load("format.think_answer", allow_prefix_think=prefix), text)
        assert s.status == Status.OK and s.value in (0.0, 1.0)
        assert (s.value == 1.0) == ("reason" not in s.info)
