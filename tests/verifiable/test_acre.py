"""ACRE (arXiv 2510.10104): the shuffled re-prompt and ``acre.consistency``."""

import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rewardsmith
from rewardsmith.core import Sample, Status
from rewardsmith.verifiable.acre import PERMUTATION_KEY, SECOND_KEY, shuffled_reprompt

ROOT = Path(__file__).resolve().parents[2]  # tests/verifiable/ -> the repository
OPTIONS = ["Paris", "Rome", "Berlin", "Madrid"]
REF = {"answer": "A", "options": OPTIONS}
# perm[j] is the original index of the option shown under letter j
PERM = [2, 0, 3, 1]  # A: Berlin, B: Paris, C: Madrid, D: Rome


def test_reprompt_lists_options_in_permuted_order():
    prompt, perm = shuffled_reprompt(
        "Capital of France?", OPTIONS, seed=7, reasoning="It is Paris."
    )
    assert sorted(perm) == [0, 1, 2, 3] and perm != [0, 1, 2, 3]
    for j, i in enumerate(perm):
        assert f"{'ABCD'[j]}. {OPTIONS[i]}" in prompt
    assert prompt.startswith("Capital of France?") and "<think>It is Paris.</think>" in prompt
    assert shuffled_reprompt("Q", OPTIONS, seed=7)[1] == perm  # same seed, same order


@pytest.mark.parametrize("seed", range(20))
def test_reprompt_never_keeps_the_order(seed):
    assert shuffled_reprompt("Q", ["x", "y"], seed=seed)[1] == [1, 0]


def test_reprompt_edge_cases():
    assert shuffled_reprompt("Q", ["only"], seed=0)[1] == [0]
    with pytest.raises(ValueError):
        shuffled_reprompt("Q", ["o"] * 11, seed=0)


def acre(first: str, second: str, perm=PERM, reference=REF, **params):
    meta = {SECOND_KEY: second, PERMUTATION_KEY: perm}
    (out,) = rewardsmith.load("acre.consistency", **params).score(
        [Sample(completion=first, reference=reference, meta=meta)]
    )
    return out


CASES = [
    # Paris is A originally and B after the shuffle (PERM[1] = 0): right and consistent
    ("correct-consistent", "<answer>A</answer>", "<answer>B</answer>", 1.0),
    # the second pass picks shown A = Berlin: right first answer, inconsistent -> alpha1
    ("correct-inconsistent", "<answer>A</answer>", "<answer>A</answer>", 0.5),
    # Rome is B originally and D after the shuffle (PERM[3] = 1): wrong but consistent
    ("incorrect-consistent", "<answer>B</answer>", "<answer>D</answer>", 0.0),
    ("incorrect-inconsistent", "<answer>B</answer>", "<answer>C</answer>", 0.0),
    # the second answer as a bare letter, and as an option's text read by letter
    ("bare-letter", "The answer is (A)", "B", 1.0),
    ("no-first-answer", "I am not sure.", "B", 0.0),
    ("no-second-answer", "<answer>A</answer>", "hmm, hard to say", 0.5),
    ("two-letters-first", "<answer>A or B</answer>", "B", 0.0),
    ("second-letter-out-of-range", "<answer>A</answer>", "<answer>E</answer>", 0.5),
]


@pytest.mark.parametrize(
    ("first", "second", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_consistency(first, second, expected):
    out = acre(first, second)
    assert out.status is Status.OK and out.value == expected


def test_coefficients_are_parameters():
    params = {"alpha1": 0.3, "alpha2": -0.2, "alpha3": -1.0}
    reward = rewardsmith.load("acre.consistency", **params)
    assert reward.range == (-1.0, 1.0)
    assert acre("<answer>A</answer>", "<answer>A</answer>", **params).value == 0.3
    assert acre("<answer>B</answer>", "<answer>D</answer>", **params).value == -0.2
    assert acre("<answer>B</answer>", "<answer>C</answer>", **params).value == -1.0


def test_parts_and_info_record_the_mapping():
    out = acre("<answer>A</answer>", "<answer>B</answer>")
    assert out.parts == {"correct": 1.0, "consistent": 1.0}
    assert out.info == {"first": "A", "second_shown": "B", "second": "A"}


def test_round_trip_with_the_helper():
    _, perm = shuffled_reprompt("Capital of France?", OPTIONS, seed=3)
    shown = "ABCD"[perm.index(0)]  # where Paris went
    assert acre("<answer>A</answer>", f"<answer>{shown}</answer>", perm=perm).value == 1.0


@pytest.mark.parametrize(
    ("meta", "reference"),
    [
        ({}, REF),
        ({SECOND_KEY: "B"}, REF),
        ({SECOND_KEY: "B", PERMUTATION_KEY: [0, 0, 1, 2]}, REF),
        ({SECOND_KEY: "B", PERMUTATION_KEY: "2031"}, REF),
        ({SECOND_KEY: 1, PERMUTATION_KEY: PERM}, REF),
        ({SECOND_KEY: "B", PERMUTATION_KEY: PERM}, None),
        ({SECOND_KEY: "B", PERMUTATION_KEY: PERM}, {"options": OPTIONS}),
    ],
    ids=["no-meta", "no-perm", "repeat", "string-perm", "second-not-text", "no-ref", "no-answer"],
)
def test_unusable_inputs_are_errors(meta, reference):
    (out,) = rewardsmith.load("acre.consistency").score(
        [Sample(completion="<answer>A</answer>", reference=reference, meta=meta)]
    )
    assert (out.value, out.status) == (None, Status.ERROR)


def test_example_spec_loads():
    spec = rewardsmith.load_spec(ROOT / "examples" / "acre.yaml")
    meta = {SECOND_KEY: "<answer>B</answer>", PERMUTATION_KEY: PERM}
    (out,) = spec.score(
        [Sample(completion="<think>Paris</think><answer>A</answer>", reference=REF, meta=meta)]
    )
    assert out.status is Status.OK


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    first=st.text(max_size=60),
    second=st.one_of(st.text(max_size=30), st.sampled_from(list("ABCDEFGHIJ"))),
    perm=st.permutations([0, 1, 2, 3]),
)
def test_never_raises_and_stays_in_range(first, second, perm):
    out = acre(first, second, perm=list(perm))
    assert out.status is Status.OK and out.value is not None
    assert math.isfinite(out.value) and 0.0 <= out.value <= 1.0
