"""``json.valid`` and ``json.schema``."""

import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rewardsmith
from rewardsmith.core import Sample, Status
from rewardsmith.verifiable.json import answer_region

ROOT = Path(__file__).resolve().parents[2]  # tests/verifiable/ -> the repository

PERSON = {
    "schema": {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "age": {"type": "integer", "minimum": 0},
            "tags": {"type": "array", "items": {"type": "string"}},
            "email": {"type": ["string", "null"]},
        },
        "required": ["name", "age", "tags", "email"],
        "additionalProperties": False,
    }
}


def score(name: str, completion: str, reference: object = None, **params: object):
    (out,) = rewardsmith.load(name, **params).score(
        [Sample(completion=completion, reference=reference)]
    )
    return out


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('x ```json\n{"a": 1}\n``` y ```json\n[2]\n```', "[2]\n"),
        ('<answer>{"a": 1}</answer>', '{"a": 1}'),
        ('```json\n{"a": 1}\n```<answer>3</answer>', '{"a": 1}\n'),
        ('{"a": 1}', '{"a": 1}'),
    ],
    ids=["last-fence", "answer-block", "fence-beats-answer", "whole"],
)
def test_answer_region(text, expected):
    assert answer_region(text) == expected


VALID = [
    ("fenced-object", 'Here:\n```json\n{"a": [1, 2]}\n```', 1.0),
    ("answer-block", "<think>t</think><answer> [1, 2] </answer>", 1.0),
    ("whole-completion", '{"ok": true}', 1.0),
    ("bare-number", "42", 1.0),
    ("trailing-comma", '```json\n{"a": 1,}\n```', 0.0),
    ("single-quotes", "<answer>{'a': 1}</answer>", 0.0),
    ("prose", "The answer is yes.", 0.0),
    ("empty", "", 0.0),
    ("unclosed-fence-falls-back-to-text", '```json\n{"a": 1}', 0.0),
]


@pytest.mark.parametrize(
    ("completion", "expected"), [c[1:] for c in VALID], ids=[c[0] for c in VALID]
)
def test_json_valid(completion, expected):
    assert score("json.valid", completion).value == expected


GOOD = '{"name": "Ada", "age": 36, "tags": ["math"], "email": null}'
SCHEMA = [
    ("valid", f"```json\n{GOOD}\n```", 1.0, 1.0),
    # age is a string: 3 of 4 required keys well-typed -> 0.5 * 3/4
    ("wrong-type", '{"name": "Ada", "age": "36", "tags": [], "email": null}', 0.0, 0.375),
    # two required keys missing: 2/4 -> 0.5 * 2/4
    ("missing-keys", '{"name": "Ada", "age": 36}', 0.0, 0.25),
    # every required key well-typed, but an extra key is forbidden: 0.5 * 4/4
    ("additional-property", GOOD[:-1] + ', "x": 1}', 0.0, 0.5),
    # well-typed but violates minimum: still only partial credit
    ("minimum", '{"name": "A", "age": -1, "tags": [], "email": "a@b"}', 0.0, 0.5),
    ("not-an-object", "[1, 2, 3]", 0.0, 0.0),
    ("not-json", "<answer>{name: Ada}</answer>", 0.0, 0.0),
]


@pytest.mark.parametrize(
    ("completion", "strict", "partial"), [c[1:] for c in SCHEMA], ids=[c[0] for c in SCHEMA]
)
def test_json_schema(completion, strict, partial):
    assert score("json.schema", completion, PERSON).value == strict
    out = score("json.schema", completion, PERSON, partial_credit=True)
    assert out.value == pytest.approx(partial)


def test_json_schema_partial_max_and_reason():
    out = score("json.schema", '{"name": "Ada"}', PERSON, partial_credit=True, partial_max=1.0)
    assert out.value == pytest.approx(0.25)
    assert "required" in out.info["reason"] or "age" in out.info["reason"]


def test_json_schema_draft_from_schema():
    ref = {"schema": {"$schema": "http://json-schema.org/draft-07/schema#", "type": "integer"}}
    assert score("json.schema", "3", ref).value == 1.0
    assert score("json.schema", "3.5", ref).value == 0.0


@pytest.mark.parametrize(
    "reference",
    [None, "schema", 3, ["a"], {"schema": "object"}, {"schema": {"type": "no-such-type"}}],
    ids=repr,
)
def test_json_schema_unusable_reference_is_an_error(reference):
    out = score("json.schema", GOOD, reference)
    assert (out.value, out.status) == (None, Status.ERROR)


def test_example_loads():
    spec = rewardsmith.load_spec(ROOT / "examples" / "json-schema.yaml")
    assert spec.score([Sample(completion=GOOD, reference=PERSON)])


fragments = st.sampled_from(
    [
        "```json\n",
        "```",
        "{",
        "}",
        "[",
        "]",
        '"name"',
        ":",
        ",",
        "36",
        "null",
        "<answer>",
        "</answer>",
        "\n",
        "NaN",
        '"age"',
    ]
)
texts = st.one_of(
    st.text(max_size=200),
    st.lists(st.one_of(fragments, st.text(max_size=5)), max_size=30).map("".join),
)


@pytest.mark.parametrize(
    ("name", "reference", "params"),
    [
        ("json.valid", None, {}),
        ("json.schema", PERSON, {}),
        ("json.schema", PERSON, {"partial_credit": True}),
    ],
)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(completion=texts)
def test_never_raises_and_stays_in_range(name, reference, params, completion):
    out = score(name, completion, reference, **params)
    assert out.status is Status.OK and out.value is not None
    assert math.isfinite(out.value) and 0.0 <= out.value <= 1.0
