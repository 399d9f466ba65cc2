"""``memory.mem_alpha``: Mem-α's r_acc + β·r_comp + r_tool + γ·r_content, and the examples.

Every expected value below is worked out by hand in the comment next to it. The last two
tests run the example specs through the command line (``examples/memory.yaml`` and
``examples/search-embeddings.yaml``); the second loads MiniLM from the installed wheel.
"""

import json
import math
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rewardsmith
import rewardsmith.verifiable.memory  # registers memory.mem_alpha until the entry point exists
from rewardsmith.core import Sample, Status
from rewardsmith.errors import ConfigError
from rewardsmith.verifiable.memory import check_for_source, parse_verdict, tool_success

ROOT = Path(__file__).resolve().parents[2]  # tests/verifiable/ -> the repository

# A step that contributes nothing but r_acc: no compression weight, no calls, no content.
ACC_ONLY = {"beta": 0.0, "gamma": 0.0}


def score(reference, meta, **params):
    (out,) = rewardsmith.load("memory.mem_alpha", **params).score(
        [Sample(completion="<tool_call>…</tool_call>", reference=reference, meta=meta)]
    )
    return out


def acc(check, golds, answers):
    """r_acc alone: β = γ = 0 and an empty step (r_tool = 0)."""
    meta = {"predicted_answers": answers, "tool_calls": []}
    out = score({"gold_answers": golds, "check": check}, meta, **ACC_ONLY)
    assert out.status is Status.OK, out.error
    assert out.value == out.parts["acc"]
    return out.value


# --- r_acc, one table per check ------------------------------------------------------------

SUBSTRING = [
    ("gold-inside", ["Paris"], ["The capital is Paris."], 1.0),
    ("case-and-punctuation", ["U.S.A."], ["he lived in the usa"], 1.0),
    ("article-dropped", ["The Beatles"], ["beatles"], 1.0),
    ("wrong", ["Paris"], ["Lyon"], 0.0),
    ("accepted-list", [["NYC", "New York City"]], ["in new york city"], 1.0),
    # two questions, one right: 1/2
    ("mean-over-questions", ["Paris", "1912"], ["Paris", "1913"], 0.5),
    # closed think: the text after </think> counts; the thought is dropped
    ("think-closed", ["Paris"], ["<think>Paris?</think>Lyon"], 0.0),
    # unclosed think becomes "Empty" (the code's rule)
    ("think-unclosed", ["Paris"], ["<think>Paris"], 0.0),
    ("answer-after-think", ["Paris"], ["<think>hmm</think> Paris"], 1.0),
]


@pytest.mark.parametrize(
    ("golds", "answers", "expected"), [c[1:] for c in SUBSTRING], ids=[c[0] for c in SUBSTRING]
)
def test_substring(golds, answers, expected):
    assert acc("substring", golds, answers) == expected


KEYWORDS = [
    # elizabeth, darcy, letter hit; pemberley missed: 3/4
    (
        "three-of-four",
        "Elizabeth, Darcy, Pemberley, letter",
        "Elizabeth reads Darcy's letter",
        0.75,
    ),
    ("case-insensitive", "ALICE,bob", "alice and BOB", 1.0),
    ("none", "Alice, Bob", "nobody", 0.0),
    # the empty keyword between the commas is ignored, not a free hit: 1/2
    ("empty-keyword-ignored", "Alice,, Bob", "Alice", 0.5),
    # a list of keywords instead of a comma string: 2/3
    ("list", ["red", "green", "blue"], "red and blue", 2 / 3),
]


@pytest.mark.parametrize(
    ("gold", "answer", "expected"), [c[1:] for c in KEYWORDS], ids=[c[0] for c in KEYWORDS]
)
def test_keywords(gold, answer, expected):
    assert acc("keywords", [gold], [answer]) == pytest.approx(expected)


PARTS = [
    # beijing and 2010 found, engineer not: 2/3
    ("two-of-three", "Beijing; 2010; engineer", "He moved to beijing in 2010.", 2 / 3),
    ("no-semicolon-one-part", "Beijing", "BEIJING", 1.0),
    ("none", "a1; b2", "c3", 0.0),
    # the answer is lowercased too (the code lowercases only the gold parts)
    ("answer-lowercased", "tokyo; osaka", "Tokyo and Osaka", 1.0),
]


@pytest.mark.parametrize(
    ("gold", "answer", "expected"), [c[1:] for c in PARTS], ids=[c[0] for c in PARTS]
)
def test_parts(gold, answer, expected):
    assert acc("parts", [gold], [answer]) == pytest.approx(expected)


DIGIT = [
    ("bare", "3", "3", 1.0),
    ("answer-tag", "3", "Label: <answer>3</answer>", 1.0),
    ("boxed", "2", "so \\boxed{2}", 1.0),
    ("box", "2", "\\box{2}", 1.0),
    ("quoted", "'4'", '"4"', 1.0),
    ("wrong-digit", "3", "4", 0.0),
    ("prose-is-not-a-digit", "4", "The label is 4", 0.0),
    ("answer-tag-with-words", "4", "<answer>label 4</answer>", 0.0),
    # the code's regex is ^\d+$: several digits are accepted when they equal the gold
    ("multi-digit", "12", "12", 1.0),
    ("negative-is-not-digits", "-1", "-1", 0.0),
]


@pytest.mark.parametrize(
    ("gold", "answer", "expected"), [c[1:] for c in DIGIT], ids=[c[0] for c in DIGIT]
)
def test_digit(gold, answer, expected):
    assert acc("digit", [gold], [answer]) == expected


JUDGE = [
    # yes, no, yes, yes: 3/4
    ("strings", ["yes", "no", "YES", " yes "], 0.75),
    ("bools", [True, False], 0.5),
    ("ints", [1, 1, 0], 2 / 3),
    ("correct-wrong", ["CORRECT", "WRONG"], 0.5),
]


@pytest.mark.parametrize(
    ("verdicts", "expected"), [c[1:] for c in JUDGE], ids=[c[0] for c in JUDGE]
)
def test_judge(verdicts, expected):
    golds = [f"rubric {i}" for i in range(len(verdicts))]
    meta = {"answer_verdicts": verdicts, "tool_calls": []}
    out = score({"gold_answers": golds, "check": "judge"}, meta, **ACC_ONLY)
    assert out.value == pytest.approx(expected)


def test_substring_uses_judge_verdicts_when_given():
    # the answers would score 1/2 by substring; the judge's verdicts say 2/2
    meta = {
        "predicted_answers": ["Paris", "1913"],
        "answer_verdicts": ["CORRECT", "CORRECT"],
        "tool_calls": [],
    }
    out = score({"gold_answers": ["Paris", "1912"], "check": "substring"}, meta, **ACC_ONLY)
    assert out.value == 1.0


THRESHOLD = [
    ("at-threshold", 0.5, 1.0),  # r_acc 1/2 >= 0.5: 1
    ("below", 0.6, 0.0),  # 1/2 < 0.6: 0
]


@pytest.mark.parametrize(
    ("threshold", "expected"), [c[1:] for c in THRESHOLD], ids=[c[0] for c in THRESHOLD]
)
def test_threshold_binarises_acc(threshold, expected):
    meta = {"predicted_answers": ["Paris", "1913"], "tool_calls": []}
    ref = {"gold_answers": ["Paris", "1912"], "check": "substring"}
    out = score(ref, meta, threshold=threshold, **ACC_ONLY)
    assert (out.value, out.info["raw_acc"]) == (expected, 0.5)


SOURCES = [
    ("squad", "substring"),
    ("HotpotQA", "substring"),
    ("booksum", "keywords"),
    ("perltqa", "parts"),
    ("pubmed-rct", "digit"),
    ("icl_trec_coarse", "digit"),
    ("ttl_train_banking77", "digit"),
    ("lme_train", "judge"),
    ("narrativeqa", None),
]


@pytest.mark.parametrize(("source", "check"), SOURCES, ids=[s for s, _ in SOURCES])
def test_check_for_source(source, check):
    assert check_for_source(source) == check


def test_check_precedence_reference_then_parameter_then_data_source():
    meta = {"predicted_answers": ["4"], "tool_calls": [], "data_source": "pubmed-rct"}
    # digit by data_source: "4" == "4"
    assert score({"gold_answers": ["4"]}, meta, **ACC_ONLY).info["check"] == "digit"
    # the parameter beats data_source
    out = score({"gold_answers": ["4"]}, meta, check="keywords", **ACC_ONLY)
    assert out.info["check"] == "keywords"
    # the reference beats the parameter
    out = score({"gold_answers": ["4"], "check": "parts"}, meta, check="keywords", **ACC_ONLY)
    assert out.info["check"] == "parts"
    # data_source may come as "dataset"
    meta2 = {"predicted_answers": ["x"], "tool_calls": [], "dataset": "booksum"}
    assert score({"gold_answers": ["x"]}, meta2, **ACC_ONLY).info["check"] == "keywords"


# --- r_comp, r_tool, r_content ------------------------------------------------------------

BASE_REF = {"gold_answers": ["Paris"], "check": "substring"}
RIGHT = {"predicted_answers": ["Paris"]}

COMP = [
    ("quarter", 300, 1200, 0.75),  # 1 - 300/1200
    ("empty-memory", 0, 100, 1.0),  # 1 - 0/100
    ("equal", 500, 500, 0.0),
    ("memory-twice-the-input", 2000, 1000, -1.0),  # 1 - 2000/1000: negative, kept
]


@pytest.mark.parametrize(
    ("memory", "chunks", "expected"), [c[1:] for c in COMP], ids=[c[0] for c in COMP]
)
def test_compression(memory, chunks, expected):
    meta = {**RIGHT, "memory_tokens": memory, "chunk_tokens": chunks, "tool_calls": []}
    out = score(BASE_REF, meta, gamma=0.0)
    assert out.parts["comp"] == expected
    # r = 1 (acc) + 0.05·comp + 0 (no calls)
    assert out.value == pytest.approx(1 + 0.05 * expected)
    assert out.info["token_counts"] == "meta"


def test_comp_floor_clips_negative_compression():
    meta = {**RIGHT, "memory_tokens": 3000, "chunk_tokens": 1000, "tool_calls": []}
    # 1 - 3 = -2, clipped to 0; r = 1 + 0.05·0
    out = score(BASE_REF, meta, gamma=0.0, comp_floor=0.0)
    assert (out.parts["comp"], out.value) == (0.0, 1.0)
    reward = rewardsmith.load("memory.mem_alpha", comp_floor=-1.0)
    assert reward.range == (-0.05, 2.15)  # β·floor, 2 + β + γ
    assert rewardsmith.load("memory.mem_alpha").range == (-math.inf, 2.15)


def test_estimated_token_counts():
    # "Alice likes tea." -> Alice, likes, tea, . = 4
    # "Alice said she likes tea, not coffee." -> 7 words + "," + "." = 9
    meta = {
        **RIGHT,
        "memory_text": "Alice likes tea.",
        "chunk_text": ["Alice said she likes tea,", "not coffee."],
        "tool_calls": [],
    }
    out = score(BASE_REF, meta, gamma=0.0)
    assert out.parts["comp"] == pytest.approx(1 - 4 / 9)
    assert out.info["token_counts"] == "estimated"


OK_RESULT = "Memory inserted: executed successfully"
SKIPPED = "executed successfully {'status': 'skipped'}"
TOOLS = [
    ("flags", [{"success": True}, {"success": False}], 0.5),
    # results: success, skipped (not a success), error text
    ("results", [{"result": OK_RESULT}, {"result": SKIPPED}, {"result": "Error: no id"}], 1 / 3),
    ("flag-beats-result", [{"success": False, "result": OK_RESULT}], 0.0),
    ("all-good", [{"success": True}] * 3, 1.0),
    ("no-calls", [], 0.0),  # the code's rule: a step without a call earns 0
]


@pytest.mark.parametrize(("calls", "expected"), [c[1:] for c in TOOLS], ids=[c[0] for c in TOOLS])
def test_tool_success_rate(calls, expected):
    out = score(BASE_REF, {**RIGHT, "tool_calls": calls}, beta=0.0, gamma=0.0)
    assert out.parts["tool"] == pytest.approx(expected)
    assert out.value == pytest.approx(1 + expected)  # acc 1 + r_tool


def test_empty_step_says_why():
    out = score(BASE_REF, {**RIGHT, "tool_calls": [], "content_verdicts": []}, beta=0.0)
    assert (out.parts["tool"], out.parts["content"], out.value) == (0.0, 0.0, 1.0)
    assert out.info["reason"] == "no tool calls in this step"


CONTENT = [
    ("half", ["VALID", "INVALID"], 0.5),
    ("bools", [True, True, False, True], 0.75),
    ("lowercase", ["valid"], 1.0),
]


@pytest.mark.parametrize(
    ("verdicts", "expected"), [c[1:] for c in CONTENT], ids=[c[0] for c in CONTENT]
)
def test_content(verdicts, expected):
    calls = [{"success": True}] * len(verdicts)
    meta = {**RIGHT, "tool_calls": calls, "content_verdicts": verdicts}
    out = score(BASE_REF, meta, beta=0.0)
    assert out.parts["content"] == expected
    assert out.value == pytest.approx(1 + 1 + 0.1 * expected)  # acc + tool + γ·content


def test_full_formula_by_hand():
    # acc: Paris right, 1912 wrong -> 0.5; comp: 1 - 100/400 = 0.75; tool: 1/2; content: 2/2
    # r = 0.5 + 0.05·0.75 + 0.5 + 0.1·1 = 1.1375
    meta = {
        "predicted_answers": ["It is Paris.", "In 1913."],
        "memory_tokens": 100,
        "chunk_tokens": 400,
        "tool_calls": [{"success": True}, {"success": False}],
        "content_verdicts": ["VALID", "VALID"],
    }
    out = score({"gold_answers": ["Paris", "1912"], "check": "substring"}, meta)
    assert out.value == pytest.approx(1.1375)
    assert dict(out.parts) == {"acc": 0.5, "comp": 0.75, "tool": 0.5, "content": 1.0}
    # other weights: 0.5 + 0.4·0.75 + 0.5 + 0·1 = 1.3, and content is not needed
    del meta["content_verdicts"]
    out = score({"gold_answers": ["Paris", "1912"], "check": "substring"}, meta, beta=0.4, gamma=0)
    assert out.value == pytest.approx(1.3)
    assert "content" not in out.parts


# --- malformed inputs: an error for the item, never a silent 0 ---------------------------

FULL = {
    "predicted_answers": ["Paris"],
    "memory_tokens": 10,
    "chunk_tokens": 100,
    "tool_calls": [{"success": True}],
    "content_verdicts": ["VALID"],
}


def without(key):
    return {k: v for k, v in FULL.items() if k != key}


MALFORMED = [
    ("reference-not-object", "Paris", FULL, "reference must be an object"),
    ("no-gold-answers", {"check": "substring"}, FULL, "reference has no 'gold_answers'"),
    ("empty-gold-answers", {"gold_answers": [], "check": "substring"}, FULL, "is empty"),
    ("missing-answers", BASE_REF, without("predicted_answers"), "no 'predicted_answers'"),
    ("too-few-answers", {**BASE_REF, "gold_answers": ["a", "b"]}, FULL, "1 predicted_answers"),
    ("answer-not-string", BASE_REF, {**FULL, "predicted_answers": [3]}, "must be a string"),
    ("answers-not-list", BASE_REF, {**FULL, "predicted_answers": "Paris"}, "must be a list"),
    ("missing-memory-tokens", BASE_REF, without("memory_tokens"), "memory_tokens"),
    ("negative-tokens", BASE_REF, {**FULL, "memory_tokens": -5}, "non-negative integer"),
    ("zero-chunk-tokens", BASE_REF, {**FULL, "chunk_tokens": 0}, "chunk_tokens is 0"),
    ("missing-tool-calls", BASE_REF, without("tool_calls"), "no 'tool_calls'"),
    ("call-without-outcome", BASE_REF, {**FULL, "tool_calls": [{"name": "x"}]}, "'success'"),
    ("missing-content", BASE_REF, without("content_verdicts"), "no 'content_verdicts'"),
    ("content-length", BASE_REF, {**FULL, "content_verdicts": []}, "0 content_verdicts"),
    ("bad-verdict", BASE_REF, {**FULL, "content_verdicts": ["maybe"]}, "not a verdict"),
    ("null-verdict", BASE_REF, {**FULL, "content_verdicts": [None]}, "not a verdict"),
    ("judge-without-verdicts", {**BASE_REF, "check": "judge"}, FULL, "'answer_verdicts'"),
    ("unknown-check", {**BASE_REF, "check": "bleu"}, FULL, "not one of"),
    ("no-check-no-source", {"gold_answers": ["Paris"]}, FULL, "no check for data_source"),
    (
        "unknown-source",
        {"gold_answers": ["Paris"]},
        {**FULL, "data_source": "narrativeqa"},
        "'narrativeqa'",
    ),
    ("empty-keywords", {"gold_answers": [" , "], "check": "keywords"}, FULL, "nothing to look"),
    ("empty-gold", {"gold_answers": ["The ."], "check": "substring"}, FULL, "empty after"),
    (
        "questions-length",
        {**BASE_REF, "questions": ["q1", "q2"]},
        FULL,
        "differ in length",
    ),
]


@pytest.mark.parametrize(
    ("reference", "meta", "message"), [c[1:] for c in MALFORMED], ids=[c[0] for c in MALFORMED]
)
def test_malformed_inputs_are_item_errors(reference, meta, message):
    out = score(reference, meta)
    assert (out.value, out.status) == (None, Status.ERROR)
    assert out.error is not None and out.error.type == "ValueError"
    assert message in out.error.message


def test_a_term_with_weight_zero_needs_no_input():
    meta = {"predicted_answers": ["Paris"], "tool_calls": []}
    out = score(BASE_REF, meta, beta=0.0, gamma=0.0)
    assert (out.status, dict(out.parts)) == (Status.OK, {"acc": 1.0, "tool": 0.0})


def test_parameters_are_validated():
    with pytest.raises(ConfigError, match="beta"):
        rewardsmith.load("memory.mem_alpha", beta=-1)
    with pytest.raises(ConfigError, match="threshold"):
        rewardsmith.load("memory.mem_alpha", threshold=2)
    with pytest.raises(ConfigError, match="check"):
        rewardsmith.load("memory.mem_alpha", check="bleu")


def test_helpers():
    assert parse_verdict("Invalid", "x") is False
    with pytest.raises(ValueError, match="here"):
        parse_verdict(2, "here")
    assert tool_success({"result": OK_RESULT}, "c") is True
    with pytest.raises(ValueError, match="object"):
        tool_success("ok", "c")


# --- properties (the contract tests see this reward once its entry point exists) ---------

verdict = st.sampled_from(["VALID", "INVALID", "yes", "no", True, False, 0, 1, "??", None])
calls = st.lists(
    st.one_of(
        st.fixed_dictionaries({"success": st.booleans()}),
        st.fixed_dictionaries({"result": st.text(max_size=40)}),
        st.text(max_size=5),
    ),
    max_size=4,
)
metas = st.fixed_dictionaries(
    {},
    optional={
        "predicted_answers": st.lists(st.text(max_size=30), max_size=3),
        "answer_verdicts": st.lists(verdict, max_size=3),
        "memory_tokens": st.integers(-3, 10**6),
        "chunk_tokens": st.integers(-3, 10**6),
        "memory_text": st.text(max_size=40),
        "chunk_text": st.text(max_size=40),
        "tool_calls": calls,
        "content_verdicts": st.lists(verdict, max_size=4),
        "data_source": st.sampled_from(["squad", "booksum", "perltqa", "pubmed-rct", "x"]),
    },
)
golds = st.lists(
    st.one_of(st.text(max_size=20), st.lists(st.text(max_size=8), max_size=2)), max_size=3
)
references = st.one_of(
    st.none(),
    st.text(max_size=10),
    st.fixed_dictionaries(
        {"gold_answers": golds},
        optional={"check": st.sampled_from(["substring", "keywords", "parts", "digit", "judge"])},
    ),
)
samples = st.builds(
    lambda r, m, c: Sample(prompt="chunk", completion=c, reference=r, meta=m),
    references,
    metas,
    st.text(max_size=30),
)
param_sets = st.sampled_from(
    [{}, {"comp_floor": -1.0}, {"threshold": 0.5, "beta": 0.4, "gamma": 0.0}]
)
PROPS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPS
@given(batch=st.lists(samples, min_size=1, max_size=6), params=param_sets)
def test_never_raises_stays_in_range_and_is_deterministic(batch, params):
    reward = rewardsmith.load("memory.mem_alpha", **params)
    out = reward.score(batch)
    lo, hi = reward.range
    for s in out:
        if s.value is None:
            assert s.status is Status.ERROR and s.error is not None
        else:
            assert math.isfinite(s.value) and lo <= s.value <= hi
    assert [reward.score([x])[0] for x in batch] == out
    assert reward.score(batch[::-1]) == out[::-1]
    assert pickle.loads(pickle.dumps(reward)).score(batch) == out


def test_contract_inputs_are_item_errors():
    # what tests/test_contract.py sends: text completions with plain references, no meta
    reward = rewardsmith.load("memory.mem_alpha")
    batch = [Sample(completion="<answer>4</answer>", reference=r) for r in ("4", None, ["1/2"])]
    assert all(s.status is Status.ERROR for s in reward.score(batch))


# --- the example specs through the command line --------------------------------------------


def _cli() -> list[str]:
    return [sys.executable, "-m", "rewardsmith"]


def run_example(tmp_path, rollouts, spec):
    out = tmp_path / "scored.jsonl"
    cmd = [*_cli(), "score", str(ROOT / "examples" / rollouts)]
    cmd += ["--spec", str(ROOT / "examples" / spec), "--out", str(out)]
    subprocess.run(cmd, check=True, capture_output=True, timeout=300, cwd=ROOT)
    return {row["kind"]: row for row in map(json.loads, out.read_text().splitlines())}


def test_memory_example_through_the_cli(tmp_path):
    rows = run_example(tmp_path, "memory_rollouts.jsonl", "memory.yaml")
    expected = {
        # acc 1, comp 1 - 300/1200 = .75, tool 1/2 (one skipped), content 1/2
        # 1 + .05·.75 + .5 + .1·.5 = 1.5875
        "squad, both right": 1.5875,
        # acc 3/4, comp .95, tool 1, content 1: .75 + .0475 + 1 + .1 = 1.8975
        "booksum, 3 of 4 keywords": 1.8975,
        # acc 1/2 (prose is not a digit), comp 1 - 2 = -1, no calls: .5 - .05 = .45
        "pubmed, memory longer than input, no calls": 0.45,
        # acc 3/4 (yes no yes yes), comp 1 - 4/9 estimated, tool 1, content 1/2
        "lme, judge verdicts, estimated tokens": 0.75 + 0.05 * 5 / 9 + 1 + 0.05,
        # acc 2/3, comp .75, tool 0, content 0: 2/3 + .0375
        "perltqa, 2 of 3 parts, failed call": 2 / 3 + 0.0375,
        # acc 0 (unclosed think), comp 1, tool 1, content 1: .05 + 1 + .1
        "squad, unclosed think, empty memory": 1.15,
        "missing predicted_answers": None,
    }
    assert set(rows) == set(expected)
    for kind, value in expected.items():
        row = rows[kind]
        if value is None:
            assert (row["value"], row["status"]) == (None, "error")
            assert "predicted_answers" in row["error"]["message"]
        else:
            assert row["status"] == "ok"
            assert row["value"] == pytest.approx(value), kind
    assert rows["pubmed, memory longer than input, no calls"]["parts"]["comp"] == -1.0


def test_search_embeddings_example_through_the_cli(tmp_path):
    rows = run_example(tmp_path, "search_embedding_rollouts.jsonl", "search-embeddings.yaml")
    assert all(r["status"] == "ok" for r in rows.values())
    right = rows["closed, right answer"]
    # SubSearch: EM 1 (no bonus on a right answer); O²: EM 1; 0.5·1 + 0.5·1
    assert (right["value"], right["parts"]["subsearch"], right["parts"]["o2"]) == (1.0, 1.0, 1.0)
    good = rows["closed, wrong answer, good sub-queries"]["parts"]
    bad = rows["closed, wrong answer, off-topic sub-queries"]["parts"]
    for parts in (good, bad):
        # wrong answer: SubSearch pays β·intrinsic with β = 0.2 (constant); O² pays 0
        assert parts["subsearch"] == pytest.approx(0.2 * parts["subsearch/intrinsic"])
        assert parts["o2"] == 0.0
    assert good["subsearch/decomp"] > bad["subsearch/decomp"]
    assert good["subsearch"] > bad["subsearch"]
    # the same searches without an answer score like the wrong answer
    assert (
        rows["closed, no answer"]["value"]
        == rows["closed, wrong answer, good sub-queries"]["value"]
    )
    open_row = rows["open, one of two findings matches"]
    parts = open_row["parts"]
    # R_fmt: 2 of 2 lines are bullets (f = 1), c = 2/10, no shared word so d = 1, no duplicate:
    # (0.5 + 0.06 + 0.5) / 1.3
    assert parts["o2/format"] == pytest.approx(1.06 / 1.3)
    # one of the two findings matches one of three references: P = 1/2, R = 1/3, F1 = 0.4
    assert parts["o2/fact"] == pytest.approx(0.4)
    r_o2 = 0.5 * (parts["o2/format"] + parts["o2/fact"] + 0.5 * parts["o2/diversity"]) / 2.5
    assert parts["o2"] == pytest.approx(r_o2)
    assert open_row["value"] == pytest.approx(0.5 * parts["subsearch"] + 0.5 * parts["o2"])


@st.composite
def well_formed(draw):
    """Inputs every term can use, so the range property is checked on ok scores too."""
    n = draw(st.integers(1, 3))
    k = draw(st.integers(0, 3))
    check = draw(st.sampled_from(["substring", "keywords", "parts", "digit", "judge"]))
    word = st.text("ab1,; ", min_size=1, max_size=8).filter(lambda s: s.strip(" ,;"))
    meta = {
        "predicted_answers": draw(st.lists(st.text("ab1 ", max_size=12), min_size=n, max_size=n)),
        "answer_verdicts": draw(st.lists(st.booleans(), min_size=n, max_size=n)),
        "memory_tokens": draw(st.integers(0, 10**5)),
        "chunk_tokens": draw(st.integers(1, 10**5)),
        "tool_calls": [{"success": draw(st.booleans())} for _ in range(k)],
        "content_verdicts": draw(st.lists(st.booleans(), min_size=k, max_size=k)),
    }
    golds = draw(st.lists(word, min_size=n, max_size=n))
    return Sample(reference={"gold_answers": golds, "check": check}, meta=meta)


@PROPS
@given(batch=st.lists(well_formed(), min_size=1, max_size=4), params=param_sets)
def test_well_formed_inputs_score_ok_within_range(batch, params):
    reward = rewardsmith.load("memory.mem_alpha", **params)
    lo, hi = reward.range
    for s in reward.score(batch):
        assert s.status is Status.OK, s.error
        assert s.value is not None and lo <= s.value <= hi
        assert set(s.parts) <= {"acc", "comp", "tool", "content"}
