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


def test_split_queries_reads_query_elements():
    assert split_queries("<query> a </query>\n<query>b ## c</query>") == ("a", "b ## c")
    assert split_queries("<query>unclosed ## x") == ("<query>unclosed", "x")


# --- where the environment's text is -------------------------------------------------------

INFO = "<information>Paris is the capital.</information>"
TEXT = f"<search>capital of France</search>{INFO}<answer>Paris</answer>"
SPAN = [TEXT.index("<information>"), TEXT.index("<answer>")]


def test_retrieved_from_spans_and_an_echoed_prompt_shifts_them():
    from rewardsmith.verifiable.search import answered_rounds, retrieved

    r = retrieved(Sample(completion=TEXT, meta={"info_spans": [SPAN]}))
    assert (r.known, r.source, r.blocks()) == (True, "meta.info_spans", ["Paris is the capital."])
    assert r.policy_text() == "<search>capital of France</search><answer>Paris</answer>"
    assert r.following() == ["<answer>Paris</answer>"]
    prompt = "Q: what is the capital of France?\n"
    shifted = [[SPAN[0] + len(prompt), SPAN[1] + len(prompt)]]
    echoed = Sample(prompt=prompt, completion=prompt + TEXT, meta={"info_spans": shifted})
    assert retrieved(echoed).blocks() == r.blocks()
    assert answered_rounds(echoed, retrieved(echoed), frozenset({"search"})) == 1
    # Nothing retrieved is known too; overlapping spans merge.
    assert retrieved(Sample(completion=TEXT, meta={"info_spans": []})).blocks() == []
    overlap = retrieved(Sample(completion=TEXT, meta={"info_spans": [SPAN, [SPAN[0] + 3, 40]]}))
    assert len(overlap.spans) == 1


def test_plain_text_information_is_unknown_unless_trusted():
    from rewardsmith.verifiable.search import answered_rounds, retrieved

    plain = retrieved(Sample(completion=TEXT))
    assert not plain.known and plain.blocks() == [] and "policy's own" in plain.reason
    assert plain.policy_text() == TEXT
    assert answered_rounds(Sample(completion=TEXT), plain, frozenset({"search"})) is None
    trusted = retrieved(Sample(completion=TEXT), trust_tags=True)
    assert trusted.known and trusted.blocks() == ["Paris is the capital."]


def test_chat_results_are_the_tool_messages_only():
    from rewardsmith.verifiable.search import answered_rounds, retrieved

    messages = [
        asst("<information>typed by the policy</information>", call("q")),
        tool("from the engine"),
        asst("", call("r")),
        tool(""),
        asst("<answer>a</answer>"),
    ]
    sample = Sample(completion=messages)
    r = retrieved(sample)
    assert (r.source, r.blocks()) == ("tool messages", ["from the engine", ""])
    assert "typed by the policy" in r.policy_text()
    assert answered_rounds(sample, r, frozenset({"search"})) == 1  # the empty one is not


def test_mask_and_token_texts_give_spans():
    from rewardsmith.verifiable.search import retrieved, spans_from_mask

    tokens = ["<search>capital of France</search>", INFO[:20], INFO[20:], "<answer>Paris</answer>"]
    mask = [1, 0, 0, 1]
    assert spans_from_mask(tokens, mask) == [SPAN]
    meta = {"response_mask": mask, "response_tokens": tokens}
    r = retrieved(Sample(completion=TEXT, meta=meta))
    assert (r.source, r.blocks()) == ("meta.response_mask", ["Paris is the capital."])


def test_a_reworded_echo_of_the_prompt_is_blanked():
    prompt = "Answer in <answer></answer>, for example <answer> Paris </answer>.\nQuestion: ..."
    t = read_trajectory(Sample(prompt=prompt, completion="Sure! " + prompt))
    assert t.answer is None
    chat_prompt = [{"role": "user", "content": prompt}]
    t = read_trajectory(Sample(prompt=chat_prompt, completion=[asst("Sure! " + prompt)]))
    assert t.answer is None or "Paris" not in t.answer
    short = read_trajectory(Sample(prompt="Q", completion="Q <answer>Q</answer>"))
    assert short.answer == "Q"  # short prompts are not blanked
