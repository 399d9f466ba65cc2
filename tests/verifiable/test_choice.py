import pytest

import rewardsmith
from rewardsmith import Sample, Status
from rewardsmith.verifiable.choice import read_letters

OPTIONS = {"answer": "C", "options": ["Paris", "London", "Rome", "Madrid"]}


@pytest.mark.parametrize(
    ("answer", "letters"),
    [
        ("B", ["B"]),
        ("(b)", ["B"]),
        ("B.", ["B"]),
        ("B) 42 apples", ["B"]),
        (r"\text{(B)}", ["B"]),
        ("$(D)$", ["D"]),
        ("option c", []),
        ("Option C", ["C"]),
        ("B or C", ["B", "C"]),
        ("(B), (C)", ["B", "C"]),
        ("B and B", ["B"]),
        ("a cat", []),
        ("Rome", []),
        ("Z", []),
    ],
    ids=lambda x: repr(x),
)
def test_read_letters(answer, letters):
    assert read_letters(answer, "ABCDE") == letters


@pytest.mark.parametrize(
    ("completion", "reference", "value", "reason"),
    [
        ("The answer is (C).", "C", 1.0, None),
        (r"\boxed{C}", "(C)", 1.0, None),
        ("<answer>B</answer>", "C", 0.0, None),
        ("Answer: Rome", OPTIONS, 1.0, None),
        ("Answer: rome.", OPTIONS, 1.0, None),
        ("Answer: London", OPTIONS, 0.0, None),
        ("<answer>C) Rome</answer>", OPTIONS, 1.0, None),
        ("The answer is B or C", "C", 0.0, "several options"),
        ("<answer>the capital</answer>", OPTIONS, 0.0, "no option named"),
        ("I think so.", "C", 0.0, "no final answer found"),
        (
            "<answer>Rome</answer>",
            {"answer": "Rome", "options": {"A": "Paris", "B": "Rome"}},
            1.0,
            None,
        ),
    ],
    ids=[
        "answer-is",
        "boxed-vs-paren",
        "wrong-letter",
        "option-text",
        "option-text-case",
        "wrong-text",
        "letter-and-text",
        "spraying",
        "no-option",
        "no-answer",
        "text-reference",
    ],
)
def test_choice_answer(completion, reference, value, reason):
    (s,) = rewardsmith.load("choice.answer").score(
        [Sample(completion=completion, reference=reference)]
    )
    assert (s.value, s.status) == (value, Status.OK)
    assert s.info.get("reason") == reason


def test_spraying_counts_when_strict_is_off():
    reward = rewardsmith.load("choice.answer", strict=False)
    assert reward.score([Sample(completion="The answer is B or C", reference="C")])[0].value == 1.0


@pytest.mark.parametrize(
    "reference",
    [None, "", {"options": ["a", "b"]}, "B or C", {"answer": "Lyon", "options": ["Paris"]}],
)
def test_unusable_reference_is_an_error(reference):
    (s,) = rewardsmith.load("choice.answer").score([Sample(completion="(A)", reference=reference)])
    assert (s.value, s.status) == (None, Status.ERROR)
