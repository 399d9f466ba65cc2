"""CRAFT's ``craft.format`` and ``craft.answer``."""

import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rewardsmith
from rewardsmith.core import Sample, Status

ROOT = Path(__file__).resolve().parents[2]  # tests/verifiable/ -> the repository


def score(name: str, completion: str, reference: object = None, **params: object):
    (out,) = rewardsmith.load(name, **params).score(
        [Sample(completion=completion, reference=reference)]
    )
    return out


V1 = "<plan>p</plan>\n<gold_docs>[1, 3]</gold_docs>\n<reason>r</reason>\n<answer>The Eiffel Tower</answer>"
CRAFT = [
    ("v1-valid", V1, {}, 1.0, 1.0),
    ("wrong-order", V1.replace("<plan>p</plan>\n", "") + "<plan>p</plan>", {}, 0.0, 0.0),
    ("missing-tag", V1.replace("<reason>r</reason>\n", ""), {}, 0.0, 0.0),
    ("text-outside-tags", "Sure! " + V1, {}, 0.0, 0.0),
    (
        "repeated-tag",
        V1.replace("<reason>r</reason>", "<reason><plan>x</plan></reason>"),
        {},
        0.0,
        0.0,
    ),
    ("v1-wrong-answer", V1.replace("The Eiffel Tower", "Louvre"), {}, 1.0, 0.0),
    ("v5-answer-only", "<answer>eiffel tower.</answer>", {"tags": ["answer"]}, 1.0, 1.0),
    (
        "v5-with-think",
        "<think>x</think><answer>eiffel tower</answer>",
        {"tags": ["answer"]},
        0.0,
        0.0,
    ),
    ("no-tags", "Eiffel Tower", {}, 0.0, 0.0),
]


@pytest.mark.parametrize(
    ("completion", "params", "fmt", "ans"), [c[1:] for c in CRAFT], ids=[c[0] for c in CRAFT]
)
def test_craft(completion, params, fmt, ans):
    assert score("craft.format", completion, "Eiffel Tower", **params).value == fmt
    assert (
        score("craft.answer", completion, ["Eiffel Tower", "La tour Eiffel"], **params).value == ans
    )


def test_craft_bad_tag_is_a_config_error():
    with pytest.raises(rewardsmith.ConfigError):
        rewardsmith.load("craft.format", tags=["a>b"])


def test_example_loads():
    spec = rewardsmith.load_spec(ROOT / "examples" / "craft.yaml")
    assert spec.score([Sample(completion=V1, reference="The Eiffel Tower")])


fragments = st.sampled_from(
    ["<plan>", "</plan>", "<answer>", "</answer>", "<reason>", "</reason>", "36", "\n", " "]
)
texts = st.one_of(
    st.text(max_size=200),
    st.lists(st.one_of(fragments, st.text(max_size=5)), max_size=30).map("".join),
)


@pytest.mark.parametrize(
    ("name", "reference", "params"),
    [("craft.format", "x", {}), ("craft.answer", "36", {"tags": ["answer"]})],
)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(completion=texts)
def test_never_raises_and_stays_in_range(name, reference, params, completion):
    out = score(name, completion, reference, **params)
    assert out.status is Status.OK and out.value is not None
    assert math.isfinite(out.value) and 0.0 <= out.value <= 1.0
