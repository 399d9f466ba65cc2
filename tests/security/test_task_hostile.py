"""Task rewards a policy could collect without doing the task: QA exact match, JSON
schema, ACRE, the think/answer format, option letters and majority votes.

Each test is an attack that paid before its guard; each now earns nothing (or the fair
value), and the honest answer still earns full marks.
"""

from __future__ import annotations

import time

import pytest

import rewardsmith
from rewardsmith import Sample, Status


def value(name: str, completion: str, reference=None, **params) -> float | None:
    return rewardsmith.load(name, **params).score([Sample(completion=completion, reference=reference)])[0].value


@pytest.mark.parametrize("name", ["qa.exact_match", "qa.f1", "qa.cover_em", "craft.answer"])
@pytest.mark.parametrize("gold", ["A", "The", "?", "an"])
def test_an_empty_answer_never_matches_a_gold_that_normalises_to_nothing(name, gold):
    empty = "<plan>p</plan><gold_docs>d</gold_docs><reason>r</reason><answer></answer>"
    completion = empty if name == "craft.answer" else "<answer></answer>"
    assert value(name, completion, gold) == 0.0
    right = completion.replace("<answer></answer>", f"<answer>{gold}</answer>")
    assert value(name, right, gold) == 1.0


@pytest.mark.parametrize("name", ["qa.exact_match", "qa.f1", "qa.cover_em"])
def test_numbers_keep_their_decimal_point(name):
    assert value(name, "<answer>1.5</answer>", "15") == 0.0
    assert value(name, "<answer>15</answer>", "1.5") == 0.0
    assert value(name, "<answer>1.5</answer>", "1.5") == 1.0


@pytest.mark.parametrize("pattern", [r"^(a|a)*$", r"^(a|aa)+$", r"^(\w|\w)+!$"])
def test_a_backtracking_schema_pattern_times_out_instead_of_stalling(pattern):
    reward = rewardsmith.load("json.schema")
    schema = {"type": "object", "properties": {"s": {"type": "string", "pattern": pattern}}}
    start = time.monotonic()
    doc = '{"s": "' + "a" * 40 + '?"}'
    (s,) = reward.score([Sample(completion=doc, reference={"schema": schema})])
    assert time.monotonic() - start < 10  # hang guard: this took hours
    assert s.value == 0.0 and s.status in (Status.OK, Status.TIMEOUT)


def test_an_empty_document_does_not_meet_a_schema_without_required_keys():
    schema = {"type": "object", "properties": {"name": {"type": "string"}}}
    assert value("json.schema", "{}", {"schema": schema}) == 0.0
    assert value("json.schema", '{"name": "x"}', {"schema": schema}) == 1.0
    assert value("json.schema", "{}", {"schema": schema}, allow_empty=True) == 1.0


def test_acre_reads_an_answer_given_by_the_options_text():
    reward = rewardsmith.load("acre.consistency")
    ref = {"answer": "B", "options": ["Lyon", "Paris", "Nice"]}
    meta = {"acre_second": "<answer>Paris</answer>", "acre_permutation": [2, 0, 1]}
    (s,) = reward.score([Sample(completion="<answer>Paris</answer>", reference=ref, meta=meta)])
    assert s.value == 1.0  # right and consistent, by text both times
    meta = {"acre_second": "<answer>Nice</answer>", "acre_permutation": [2, 0, 1]}
    (s,) = reward.score([Sample(completion="<answer>Paris</answer>", reference=ref, meta=meta)])
    assert s.value == 0.5  # right, but the shuffle changed its mind


@pytest.mark.parametrize("blank", ["\u200b", "\u200b\u200c\u200d", "\u2060", "\ufeff", "\u3164", " \u200b "])
def test_an_answer_of_invisible_characters_is_empty(blank):
    assert value("format.think_answer", f"<think>x</think><answer>{blank}</answer>") == 0.0
    assert value("format.think_answer", "<think>x</think><answer>5</answer>") == 1.0


def test_the_pronoun_i_is_not_option_i():
    ref = {"answer": "I", "options": list("ABCDEFGHIJ")}
    assert value("choice.answer", "<answer>I think it is B</answer>", ref) == 0.0
    assert value("choice.answer", "<answer>I</answer>", ref) == 1.0
    assert value("choice.answer", "<answer>A cat would say C</answer>", {"answer": "A"}) == 0.0


def test_a_tied_vote_pays_nobody():
    reward = rewardsmith.load("consensus.majority_vote")
    group = [Sample(completion=c, group="g") for c in (r"\boxed{1}", r"\boxed{2}", r"\boxed{1}", r"\boxed{2}")]
    assert [s.value for s in reward.score(group)] == [0.0] * 4  # "1" sorted first used to win


@pytest.mark.parametrize("name", ["code.syntax", "code.compiles"])
@pytest.mark.parametrize("program", ["x", "pass", "1", '"docstring"', "```python\nx\n```", "...\n"])
def test_a_placeholder_program_earns_no_format_bonus(name, program):
    assert value(name, program) == 0.0
    assert value(name, "def f(x):\n    return x + 1\n") == 1.0
    assert value(name, program, require_substance=False) == 1.0
