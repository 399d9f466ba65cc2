import pickle
import time
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rewardsmith
from rewardsmith import Sample, Status
from rewardsmith.errors import ConfigError
from rewardsmith.verifiable.answer_text import Number, normalize_answer, parse_number
from rewardsmith.verifiable.answers import boxed_contents, extract_answer


def score(completion, reference, **params):
    reward = rewardsmith.load("math.answer", **params)
    return reward.score([Sample(completion=completion, reference=reference)])[0]


# (completion, extracted text, source)
EXTRACTION = {
    "boxed": [
        (r"so $\boxed{42}$.", "42", "boxed"),
        (r"\boxed {42}", "42", "boxed"),
        (r"\fbox{42}", "42", "boxed"),
        (r"\boxed{\frac{1}{2}}", r"\frac{1}{2}", "boxed"),
        (r"\boxed{\{1, 2\}}", r"\{1, 2\}", "boxed"),
        (r"first \boxed{1}, then \boxed{2}", "2", "boxed"),
        (r"\boxed{\boxed{3}}", "3", "boxed"),  # a box that is wholly a box
        (r"\boxed{5} and then \boxed{6", "5", "boxed"),
        (r"The answer is 7, i.e. \boxed{8}", "8", "boxed"),
    ],
    "answer is": [
        ("The answer is 42.", "42", "answer_is"),
        ("Thus the final ANSWER IS: 3.5. Done", "3.5", "answer_is"),
        ("the answer is 7\nand more text", "7", "answer_is"),
        ("The answer is 1. Wait, no: the answer is 2!", "2", "answer_is"),
        ("The answer is", "", "answer_is"),
        ("The answer isn't obvious. #### 9", "9", "hashes"),
        ("answer is 3 #### 4", "3 #### 4", "answer_is"),
    ],
    "hashes": [
        ("48 + 24 = 72\n#### 72", "72", "hashes"),
        ("#### 1\n#### 2\nthanks", "2", "hashes"),
    ],
    "answer block": [
        ("<think>\\boxed{1}</think><answer>2</answer>", "2", "answer_block"),
        ("<answer> x = 7 </answer>", "x = 7", "answer_block"),
        ("<answer>1</answer> hmm <answer>2</answer>", "2", "answer_block"),
        (r"<think>the answer is 1</think><answer>\boxed{3}</answer>", "3", "boxed"),
        ("<think>answer is 1</think><answer>so the answer is 4</answer>", "4", "answer_is"),
        ("<answer>#### 5</answer>", "5", "hashes"),
        ("<answer>2</answer> then <answer>3", "2", "answer_block"),
    ],
    "nothing": [
        ("It is 42 apples", None, "none"),
        ("", None, "none"),
        ("<answer>", None, "none"),
        (r"\boxed{", None, "none"),
        ("</answer>", None, "none"),
    ],
}
EX_CASES = [(g, *c) for g, cs in EXTRACTION.items() for c in cs]


@pytest.mark.parametrize(
    "group,completion,text,source", EX_CASES, ids=[f"{c[0]}: {c[1][:40]!r}" for c in EX_CASES]
)
def test_extraction(group, completion, text, source):
    found = extract_answer(completion)
    assert (found.text, found.source) == (text, source)


@pytest.mark.parametrize(
    "completion,fallback,text",
    [
        ("It is 42 apples", True, "42"),
        ("It is 42 apples", False, None),
        ("from 3 to -1,250.5 units", True, "-1,250.5"),
        ("no digits", True, None),
        ("It is 42. The answer is 41", True, "41"),
    ],
    ids=["on", "off", "signed with separators", "no number", "marked answer wins"],
)
def test_fallback_last_number(completion, fallback, text):
    assert extract_answer(completion, fallback_last_number=fallback).text == text


def test_boxed_contents_are_the_outermost_complete_boxes():
    assert boxed_contents(r"\boxed{a} \fbox{b{c}} \boxed{\boxed{d}} \boxed{e") == [
        "a",
        "b{c}",
        r"\boxed{d}",
    ]
    assert boxed_contents("no boxes") == []


# (raw answer, normalised)
NORMALISATION = {
    "delimiters": [
        ("$5$", "5"),
        (r"\(5\)", "5"),
        (r"\[5\]", "5"),
        (r"\$5", "5"),
        (r"\left( 1, 2 \right)", "( 1, 2 )"),
        (r"\rightarrow", r"\rightarrow"),
    ],
    "text": [
        (r"\text{Paris}", "Paris"),  # case is kept: \Pi is not \pi
        (r"5\text{ cm}", "5"),
        ("176 meters", "176"),
        (r"5\text{ apples and }3", "5 apples and 3"),
        (r"\textbf{B}", "B"),
        (r"\mathrm{kg}", "kg"),
        (r"\text{\text{x}}", "x"),
    ],
    "fractions": [
        (r"\dfrac{3}{4}", "3/4"),
        (r"\tfrac{3}{4}", "3/4"),
        (r"\frac{3}{4}", "3/4"),
        (r"\frac{-3}{4}", "-3/4"),
        (r"-\frac{1}{2}", "-1/2"),
        (r"\frac12", "1/2"),
        (r"\frac{\sqrt{3}}{2}", r"\frac{\sqrt{3}}{2}"),
        (r"\frac{x}{2}", r"\frac{x}{2}"),
        (r"\frac{1.5}{2}", "1.5/2"),
    ],
    "fractions that are not their own term stay LaTeX": [
        (r"2\frac{1}{2}", r"2\frac{1}{2}"),
        (r"\frac{1}{2}x", r"\frac{1}{2}x"),
        (r"x^\frac12", r"x^\frac12"),
        (r"6 \div \frac12", r"6 \div \frac12"),
        (r"[\frac{1}{2}, 1)", "[1/2, 1)"),
        (r"1 + \frac12", "1 + 1/2"),
    ],
    "thousands separators": [
        ("1,250", "1250"),
        ("1,000,000", "1000000"),
        ("-1,250.75", "-1250.75"),
        (r"10,\!000", "10000"),
        ("1{,}000", "1000"),
        ("1,25", "1,25"),
        ("12,3456", "12,3456"),
        ("1234,567", "1234,567"),
        ("(1,000, 2)", "(1,000, 2)"),  # never inside brackets: (0,100) is a pair
    ],
    "prefixes": [
        ("x = 5", "5"),
        ("y=-2", "-2"),
        (r"$x = \frac{1}{2}$", "1/2"),
        ("xy = 5", "xy = 5"),
    ],
    "units": [
        (r"50\%", "50"),
        ("50%", "50"),
        (r"90^\circ", "90"),
        (r"90^{\circ}", "90"),
        ("90°", "90"),
        (r"90\degree", "90"),
    ],
    "edges and case": [
        ("  5.  ", "5"),
        ("5.", "5"),
        ("3.50", "3.50"),
        ("**42**", "42"),
        ("**42**.", "42"),
        ("Paris", "Paris"),
        ("\u22123", "-3"),
        (r"1\,000", "1000"),
        ("", ""),
    ],
}
NORM_CASES = [(g, *c) for g, cs in NORMALISATION.items() for c in cs]


@pytest.mark.parametrize(
    "group,raw,normalised", NORM_CASES, ids=[f"{c[0]}: {c[1]!r}" for c in NORM_CASES]
)
def test_normalisation(group, raw, normalised):
    assert normalize_answer(raw) == normalised


@pytest.mark.parametrize(
    "text,expected",
    [
        ("42", Number(Fraction(42))),
        ("-3/4", Number(Fraction(-3, 4))),
        ("3/-4", Number(Fraction(-3, 4))),
        ("0.25", Number(Fraction(1, 4), 2)),
        (".5", Number(Fraction(1, 2), 1)),
        ("+7", Number(Fraction(7))),
        ("1 / 2", Number(Fraction(1, 2))),
        ("1/0", None),
        ("1e5", Number(Fraction(100_000))),
        ("1.5e6", Number(Fraction(1_500_000), -5)),
        (r"1.5 \times 10^{-3}", Number(Fraction(3, 2000), 4)),
        (r"0.\overline{3}", Number(Fraction(1, 3))),
        (r"1.2\overline{45}", Number(Fraction(137, 110))),
        ("x", None),
        ("1,2", None),
        ("", None),
        ("9" * 500, None),
    ],
    ids=[
        "int",
        "fraction",
        "negative denominator",
        "decimal",
        "leading point",
        "plus",
        "spaced fraction",
        "zero denominator",
        "exponent",
        "scientific",
        "times ten",
        "repeating",
        "repeating after a digit",
        "letter",
        "list",
        "empty",
        "too long",
    ],
)
def test_parse_number(text, expected):
    assert parse_number(text) == expected


# (completion, reference, params, value)
COMPARISON = {
    "rationals": [
        (r"\boxed{0.5}", "1/2", {}, 1.0),
        (r"\boxed{\frac{1}{2}}", "0.50", {}, 1.0),
        (r"\boxed{2.0}", "2", {}, 1.0),
        (r"\boxed{−3}", "-3", {}, 1.0),
        (r"\boxed{1,250}", 1250, {}, 1.0),
        (r"\boxed{0.3333}", "1/3", {}, 0.0),
        (r"\boxed{0.3333}", "1/3", {"rel_tol": 1e-3}, 1.0),
        (r"\boxed{1000001}", "1000000", {"rel_tol": 1e-3}, 1.0),  # opt-in: any number
        (r"\boxed{1000001}", "1000000", {}, 0.0),
        (r"\boxed{1000000006.5}", "1000000006", {}, 0.0),  # an integer is exact
        (r"\boxed{12345678900.0}", "12345678901", {}, 0.0),
        (r"\boxed{0.3349}", "0.33", {}, 1.0),  # a decimal at its written precision
        (r"\boxed{0.335}", "0.33", {}, 0.0),
        (r"\boxed{\frac{1}{3}}", "0.33", {}, 1.0),
        (r"\boxed{1000001.0}", "1000000", {"rel_tol": 1e-3}, 1.0),
        (r"\boxed{3}", "4", {}, 0.0),
        (r"\boxed{-3}", "3", {}, 0.0),
    ],
    "strings": [
        (r"\boxed{\frac{\sqrt{3}}{2}}", r"\dfrac{\sqrt{3}}{2}", {}, 1.0),
        (r"\boxed{x + 1}", "x+1", {}, 1.0),
        (r"\boxed{\text{(B)}}", "(b)", {}, 1.0),
        (r"\boxed{\text{Yes}}", "yes", {}, 1.0),
        (r"\boxed{\Pi}", r"\pi", {}, 0.0),
        (r"\boxed{X}", "x", {}, 0.0),
        (r"\boxed{5 cm}", "5", {}, 1.0),
        (r"\boxed{50 \text{ mm}}", "50 millimeters", {}, 1.0),
        (r"\boxed{5 \mathrm{~cm}}", "5", {}, 1.0),
        (r"\boxed{5 x}", "5", {}, 0.0),
        (r"\boxed{5m}", "5", {}, 0.0),
    ],
    "symbolic (a string-only limitation before issue 3)": [
        (r"\boxed{\sqrt{3}/2}", r"\frac{\sqrt{3}}{2}", {}, 1.0),
    ],
}
CMP_CASES = [(g, *c) for g, cs in COMPARISON.items() for c in cs]


@pytest.mark.parametrize(
    "group,completion,reference,params,value",
    CMP_CASES,
    ids=[f"{c[0]}: {c[1]!r} vs {c[2]!r}" for c in CMP_CASES],
)
def test_comparison(group, completion, reference, params, value):
    s = score(completion, reference, **params)
    assert (s.value, s.status) == (value, Status.OK)
    assert "reason" not in s.info


def test_units_of_another_dimension_or_scale_do_not_match():
    s = score(r"\boxed{5 mm}", r"5 \text{ cm}")
    assert (s.value, s.info["reason"]) == (0.0, "unit 'mm' is not 'cm'")
    assert score(r"\boxed{5 \text{ kg}}", "5 meters").value == 0.0
    assert score(r"The answer is 5 centimeters.", r"5\text{ cm}").value == 1.0


# (completion, reference, strict, value)
SPRAYING = [
    (r"\boxed{3} or \boxed{4}", "4", True, 0.0),
    (r"\boxed{3} or \boxed{4}", "4", False, 1.0),
    (r"\boxed{4}, so \boxed{4}", "4", True, 1.0),
    (r"\boxed{4}, so \boxed{ 4 }", "4", True, 1.0),
    (r"<think>\boxed{3}</think><answer>\boxed{4}</answer>", "4", True, 1.0),
    ("The answer is 3 or 4", "4", True, 0.0),
    (r"\boxed{3 \text{ or } 4}", "4", True, 0.0),
    (r"\boxed{\pm 2}", "2", True, 0.0),
    (r"\boxed{\pm 2}", r"\pm 2", True, 1.0),
    ("The answer is ±2", "2", True, 0.0),
    (r"\boxed{1, 2, 3}", "2", True, 0.0),
    (r"\boxed{1,2,3}", "2", False, 0.0),
    (r"\boxed{(1, 2)}", "(1,2)", True, 1.0),
    (r"\boxed{1, 2}", "1, 2", True, 1.0),
    (r"\boxed{}, \boxed{4}", "4", True, 1.0),
    ("<answer>59 (or possibly 49, 51)</answer>", "49", True, 0.0),
    ("<answer>1/15\n2/15</answer>", "2/15", True, 0.0),
    ("<answer>2 1 3</answer>", "2", True, 0.0),
]


@pytest.mark.parametrize(
    "completion,reference,strict,value",
    SPRAYING,
    ids=[f"{c[0]!r} vs {c[1]!r} strict={c[2]}" for c in SPRAYING],
)
def test_strict_mode_zeroes_several_final_answers(completion, reference, strict, value):
    s = score(completion, reference, strict=strict)
    assert (s.value, s.status) == (value, Status.OK)
    if strict and value == 0.0:
        assert s.info["reason"] == "several final answers"


# (completion, reason)
NO_ANSWER = {
    "empty": [
        (r"\boxed{}", "empty answer"),
        (r"\boxed{ }", "empty answer"),
        (r"\boxed{\text{}}", "empty answer"),
        (r"\boxed{4} \boxed{}", "empty answer"),
        ("<answer>  </answer>", "empty answer"),
        ("The answer is .", "empty answer"),
        ("#### ", "empty answer"),
        (r"\boxed{x = }", "empty answer"),
    ],
    "opener only": [
        ("<answer>", "no final answer found"),
        (r"\boxed{", "no final answer found"),
        ("<think>", "no final answer found"),
        (r"<answer>\boxed{4", "no final answer found"),
    ],
}
NA_CASES = [(g, *c) for g, cs in NO_ANSWER.items() for c in cs]


@pytest.mark.parametrize(
    "group,completion,reason", NA_CASES, ids=[f"{c[0]}: {c[1]!r}" for c in NA_CASES]
)
def test_no_answer_scores_zero_with_a_reason(group, completion, reason):
    s = score(completion, "4")
    assert (s.value, s.status) == (0.0, Status.OK)
    assert s.info["reason"] == reason


# (reference, value for the completion \boxed{72})
REFERENCES = [
    (72, 1.0),
    (72.0, 1.0),
    ("72", 1.0),
    ({"answer": "72"}, 1.0),
    ({"target": 72}, 1.0),
    ({"ground_truth": "$72$"}, 1.0),
    ("Half of 48 is 24, 48 + 24 = 72.\n#### 72", 1.0),
    (r"The total is $\boxed{72}$.", 1.0),
    (1e-05, 0.0),
]


@pytest.mark.parametrize("reference,value", REFERENCES, ids=[repr(r)[:30] for r, _ in REFERENCES])
def test_reference_forms(reference, value):
    s = score(r"\boxed{72}", reference)
    assert (s.value, s.status) == (value, Status.OK)


def test_float_reference_is_written_out_without_an_exponent():
    assert score(r"\boxed{0.00001}", 1e-05).value == 1.0


@pytest.mark.parametrize(
    "reference",
    [None, "", "   ", "$$", {"question": "?"}, [72], True, float("nan"), object()],
    ids=[
        "None",
        "empty",
        "blank",
        "empty math",
        "dict without answer",
        "list",
        "bool",
        "nan",
        "object",
    ],
)
def test_unusable_reference_is_an_error_not_a_wrong_answer(reference):
    s = score(r"\boxed{72}", reference)
    assert s.value is None and s.status == Status.ERROR
    assert s.error is not None and s.error.type == "ValueError"


def test_info_holds_the_extracted_answer_cut_to_200_characters():
    s = score(r"\boxed{" + "7" * 500 + "}", "7")
    assert s.info["extracted"] == "7" * 200 and s.info["source"] == "boxed"
    assert s.value == 0.0 and "reason" not in s.info


@pytest.mark.parametrize(
    "completion",
    [
        r"\boxed{" * 14_000,
        r"\boxed{1}" * 11_000,
        "answer is " * 9_900,
        "<answer>" * 12_000,
        "{" * 99_000,
        "1" * 99_000,
        "1," * 49_000,
        "<answer>" + "1, " * 33_000 + "</answer>",
        "\\" * 99_000,
        "#" * 99_000,
        "answer" + " " * 99_000,
    ],
    ids=[
        "open boxes",
        "many boxes",
        "answer is",
        "answer openers",
        "braces",
        "digits",
        "comma list",
        "list in block",
        "backslashes",
        "hashes",
        "spaces",
    ],
)
def test_huge_adversarial_completions_return_quickly(completion):
    reward = rewardsmith.load("math.answer", fallback_last_number=True)
    t = time.perf_counter()
    s = reward.score([Sample(completion=completion, reference="1")])[0]
    assert time.perf_counter() - t < 1.0
    assert s.status == Status.OK and s.value in (0.0, 1.0)


def test_over_the_size_cap_scores_the_floor_unread():
    s = score(r"\boxed{4}" + "x" * 100_000, "4")
    assert (s.value, s.status) == (0.0, Status.OK)
    assert s.info["reason"] == "completion over 100000 characters"


@pytest.mark.parametrize(
    "params,key",
    [
        ({"rel_tol": -1.0}, "rel_tol"),
        ({"strict": "yes please"}, "strict"),
        ({"tolerance": 0.1}, "tolerance"),
    ],
    ids=["negative tolerance", "bad bool", "unknown key"],
)
def test_bad_params(params, key):
    with pytest.raises(ConfigError, match=rf"math\.answer: {key}"):
        rewardsmith.load("math.answer", **params)


def test_pickles_and_scores_a_batch_like_its_items():
    reward = pickle.loads(pickle.dumps(rewardsmith.load("math.answer", strict=False)))
    samples = [
        Sample(completion=c, reference="4")
        for c in (r"\boxed{4}", r"\boxed{5}", "The answer is 4.", "nothing")
    ]
    batch = [s.value for s in reward.score(samples)]
    assert batch == [reward.score([x])[0].value for x in samples] == [1.0, 0.0, 1.0, 0.0]
    assert reward.range == (0.0, 1.0)


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                r"\boxed{",
                "}",
                "{",
                "<answer>",
                "</answer>",
                "answer is ",
                "####",
                "4",
                ",",
                "1,000",
                " or ",
                r"\pm",
                "$",
                "\n",
                ".",
            ]
        )
        | st.text(max_size=4),
        max_size=15,
    ).map("".join)
)
def test_any_text_scores_zero_or_one_without_error(text):
    for strict in (True, False):
        s = score(text, "4", strict=strict, fallback_last_number=True)
        assert s.status == Status.OK and s.value in (0.0, 1.0)


QUESTION = "A farmer has 40 sheep and buys 2 more. How many sheep does he have? The answer is 42."


@pytest.mark.parametrize(
    ("completion", "reason"),
    [
        ("", "no final answer found"),
        ("...", "no final answer found"),
        ("?!", "no final answer found"),
        ("Thought process:", "no final answer found"),
        ("Let's solve this problem step by step.", "no final answer found"),
        ("Solution", "no final answer found"),
        ("解", "no final answer found"),
        ("Answer:", "empty answer"),
        (QUESTION, "restates the question"),
        (QUESTION[:60], "restates the question"),
    ],
    ids=[
        "empty",
        "dots",
        "punctuation",
        "thought-process",
        "step-by-step",
        "solution",
        "jie",
        "answer-colon",
        "restated",
        "restated-part",
    ],
)
def test_known_attacks_score_zero(completion, reason):
    reward = rewardsmith.load("math.answer", fallback_last_number=True)
    (s,) = reward.score([Sample(prompt=QUESTION, completion=completion, reference="42")])
    assert (s.value, s.status) == (0.0, Status.OK)
    assert s.info["reason"] == reason


def test_restating_is_judged_against_the_user_turn_of_a_chat_prompt():
    chat = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": QUESTION}]
    (s,) = rewardsmith.load("math.answer").score(
        [Sample(prompt=chat, completion=QUESTION, reference="42")]
    )
    assert s.info["reason"] == "restates the question"
    (ok,) = rewardsmith.load("math.answer").score(
        [Sample(prompt=chat, completion="\\boxed{42}", reference="42")]
    )
    assert ok.value == 1.0
