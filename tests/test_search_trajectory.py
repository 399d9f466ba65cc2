"""Reading search trajectories: tagged text, chat messages with tool calls, malformed ones."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rewardsmith.core import Sample
from rewardsmith.verifiable.search import Trajectory, read_trajectory, split_queries

GOOD = (
    "<think>need the capital</think><search>capital of France</search>"
    "<information>Paris is the capital.</information>"
    "<think>found</think><answer> Paris </answer>"
)


def call(query, name="search", raw=False):
    args = query if raw else json.dumps({"query": query})
    return {"type": "function", "function": {"name": name, "arguments": args}}


def asst(content="", *calls):
    message = {"role": "assistant", "content": content}
    if calls:
        message["tool_calls"] = list(calls)
    return message


def tool(content):
    return {"role": "tool", "content": content}


@pytest.mark.parametrize(
    ("text", "rounds", "info", "answer", "valid"),
    [
        (GOOD, (("capital of France",),), ("Paris is the capital.",), "Paris", True),
        ("<answer>Paris</answer>", (), (), "Paris", True),
        (
            "<search>a ## b</search><information>x</information>"
            "<search>c</search><information>y</information><answer>z</answer>",
            (("a", "b"), ("c",)),
            ("x", "y"),
            "z",
            True,
        ),
        ("<search></search><information></information><answer>z</answer>", ((),), ("",), "z", True),
        ("", (), (), None, False),
        ("just an answer: Paris", (), (), None, False),
    ],
    ids=["search-r1", "no-search", "parallel-then-single", "empty-search", "empty", "no-tags"],
)
def test_tagged_text(text, rounds, info, answer, valid):
    t = read_trajectory(Sample(completion=text))
    assert (t.rounds, t.information, t.answer, t.valid) == (rounds, info, answer, valid)
    assert t.valid == (not t.problems)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("<search>q</search><answer>a</answer>", "<search> not followed by <information>"),
        (
            "<information>x</information><answer>a</answer>",
            "<information> without a <search> before it",
        ),
        ("<search>q<answer>a</answer>", "<answer> inside <search>"),
        ("<search>q</search><information>x", "<information> not closed"),
        ("<answer>a</answer> and more", "text after the last block"),
        ("hello <answer>a</answer>", "text outside tags"),
        ("<answer>a</answer><answer>b</answer>", "more than one <answer> block"),
        ("<search>q</search><information>x</information>", "does not end with an <answer> block"),
        ("a</search><answer>b</answer>", "</search> without <search>"),
    ],
    ids=[
        "no-info",
        "info-first",
        "nested",
        "unclosed",
        "trailing",
        "leading",
        "two-answers",
        "no-answer",
        "stray-close",
    ],
)
def test_malformed_text_is_invalid_with_a_reason(text, problem):
    t = read_trajectory(Sample(completion=text))
    assert not t.valid and problem in t.problems


def test_searches_echoed_from_the_prompt_do_not_count():
    prompt = "Example: <search>demo</search><information>d</information><answer>x</answer>\nQ: "
    t = read_trajectory(Sample(prompt=prompt, completion=prompt + GOOD))
    assert t.rounds == (("capital of France",),) and t.valid


def test_chat_trajectory_with_tool_calls():
    messages = [
        asst("<think>look it up</think>", call("capital of France")),
        tool("Paris is the capital."),
        asst("", call("France population"), call("France area")),
        tool("68M"),
        tool("643k km2"),
        asst("<answer>Paris</answer>"),
    ]
    t = read_trajectory(Sample(completion=messages))
    assert t.rounds == (("capital of France",), ("France population", "France area"))
    assert t.searches == ("capital of France", "France population", "France area")
    assert t.information == ("Paris is the capital.", "68M", "643k km2")
    assert (t.answer, t.valid) == ("Paris", True)


def test_chat_answer_without_tags_is_the_final_message():
    t = read_trajectory(Sample(completion=[asst("", call("q")), tool("d"), asst("Paris")]))
    assert (t.answer, t.valid) == ("Paris", True)


def test_chat_ignores_prompt_messages_user_turns_and_other_tools():
    prompt = [
        {"role": "system", "content": "<search>example</search>"},
        {"role": "user", "content": "Q"},
    ]
    messages = [
        *prompt,
        asst("", call("2+2", name="calculator")),
        tool("4"),
        asst("", {"function": {"name": "web_search", "arguments": {"queries": ["a", "b"]}}}),
        tool("docs"),
        asst("<answer>4</answer>"),
    ]
    t = read_trajectory(Sample(prompt=prompt, completion=messages))
    assert t.rounds == (("a", "b"),) and t.information == ("docs",) and t.valid


def test_search_tool_names_are_configurable():
    messages = [asst("", call("q", name="lookup")), tool("d"), asst("<answer>a</answer>")]
    assert read_trajectory(Sample(completion=messages)).rounds == ()
    assert read_trajectory(Sample(completion=messages), {"lookup"}).rounds == (("q",),)


@pytest.mark.parametrize(
    ("messages", "problem"),
    [
        (
            [asst("", call("{not json", raw=True)), tool("d"), asst("a")],
            "a tool call does not parse",
        ),
        (
            [asst("", call('{"q": 1}', raw=True)), tool("d"), asst("a")],
            "a search call has no query",
        ),
        ([asst("", call("q"))], "a search call got no result"),
        ([asst("", call("q")), tool("d")], "no answer"),
        ([], "no answer"),
        (["not a message", asst("a")], "a message is not an object"),
    ],
    ids=["bad-json", "no-query", "no-result", "no-answer", "empty", "junk-message"],
)
def test_malformed_chat_is_invalid_with_a_reason(messages, problem):
    t = read_trajectory(Sample(completion=messages))
    assert not t.valid and problem in t.problems


def test_split_queries():
    assert split_queries(" a ##b## ## c ") == ("a", "b", "c")
    assert split_queries("  ") == ()


@given(
    st.text(max_size=300)
    | st.lists(
        st.sampled_from(
            [
                "<search>",
                "</search>",
                "<information>",
                "</information>",
                "<answer>",
                "</answer>",
                "<think>",
                "</think>",
                "##",
                "q",
                " ",
            ]
        ),
        max_size=30,
    ).map("".join)
)
def test_arbitrary_text_never_raises(text):
    t = read_trajectory(Sample(completion=text))
    assert isinstance(t, Trajectory)
    assert len(t.rounds) == text.count("</search>") or not t.valid


def test_as_text_renders_messages_as_tagged_text():
    from rewardsmith.verifiable.search import as_text

    prompt = [{"role": "user", "content": "Q <search>x</search>"}]
    messages = [
        *prompt,
        asst("<think>a</think>", call("q")),
        tool("doc"),
        asst("<answer>b</answer>"),
    ]
    assert as_text(Sample(prompt=prompt, completion=messages)) == (
        "<think>a</think><information>doc</information><answer>b</answer>"
    )
    assert as_text(Sample(prompt="P: ", completion="P: <answer>b</answer>")) == "<answer>b</answer>"
