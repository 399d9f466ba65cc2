import time

import pytest

import rewardsmith
from rewardsmith.core import Sample, Status
from rewardsmith.verifiable.extract import last_tag_block
from rewardsmith.verifiable.qa import squad_normalize


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<answer>a</answer> then <answer> b </answer>", " b "),
        ("<answer>a</answer><answer>unclosed", "a"),
        ("<answer>x<answer>y</answer>", "y"),
        ("no tags", None),
        ("</answer><answer>", None),
    ],
    ids=["last-block", "unclosed-after", "nested-opener", "none", "reversed"],
)
def test_last_tag_block(text, expected):
    assert last_tag_block(text) == expected


def test_last_tag_block_is_linear_on_a_flood_of_openers():
    start = time.monotonic()
    out = rewardsmith.load("qa.exact_match").score(
        [Sample(completion="<answer>" * 12_000, reference="x")]
    )
    assert out[0].value == 0.0 and out[0].info["reason"] == "no <answer> block"
    assert time.monotonic() - start < 2.0  # generous hang guard: the regex scan took ~5 s


@pytest.mark.parametrize("reference", ["", "   ", [], [""], {"answers": []}, None], ids=repr)
def test_unusable_reference_is_an_error_not_a_wrong_answer(reference):
    (out,) = rewardsmith.load("qa.f1").score(
        [Sample(completion="<answer>a</answer>", reference=reference)]
    )
    assert (out.value, out.status) == (None, Status.ERROR)


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("The  Eiffel Tower!", "eiffel tower"),
        ("an Apple, a day", "apple day"),
        ("Theatre", "theatre"),
    ],
)
def test_squad_normalisation(raw, normalised):
    assert squad_normalize(raw) == normalised
