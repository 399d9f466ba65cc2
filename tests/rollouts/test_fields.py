"""The one field table: a record reads as the same Sample through every entry point.

The same records go through the rollout file reader, the real server over HTTP, the TRL
adapter and the verl adapter; each must give the Sample the table says (compared on the
fields that entry point can carry). A hypothesis property pins the table itself: any
choice of accepted names gives the Sample the canonical names give.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import httpx
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rewardsmith.rollouts.fields as fields_module
from helpers_serve import running
from rewardsmith import ItemReward, Sample, Score
from rewardsmith.core.types import prompt_group
from rewardsmith.errors import InputError
from rewardsmith.integrations.trl import reward_funcs
from rewardsmith.integrations.verl import compute_score, compute_score_batch
from rewardsmith.rollouts import ALIASES, FieldMap, read_rollouts, to_sample
from rewardsmith.serve import create_app
from rewardsmith.serve.schemas import parse_score_request

GOOD = "<think>2 + 2 = 4</think><answer>4</answer>"
CHAT = [{"role": "user", "content": "2+2?"}]

# (id, record, the Sample the table gives it)
RECORDS = [
    (
        "canonical",
        {"prompt": "2+2?", "completion": GOOD, "reference": "4", "group": "q1"},
        Sample("2+2?", GOOD, "4", "q1", {}),
    ),
    (
        "question-solution-prompt_id",
        {"question": "2+2?", "completion": GOOD, "solution": "4", "prompt_id": "q1"},
        Sample("2+2?", GOOD, "4", "q1", {}),
    ),
    (
        "query-response-answer",
        {"query": "2+2?", "response": GOOD, "answer": "4"},
        Sample("2+2?", GOOD, "4", "2+2?", {}),
    ),
    (
        "extra-keys-to-meta",
        {
            "prompt": CHAT,
            "solution_str": GOOD,
            "ground_truth": "4",
            "uid": 7,
            "data_source": "gsm8k",
            "level": 3,
            "tags": ["easy"],
        },
        Sample(CHAT, GOOD, "4", 7, {"data_source": "gsm8k", "level": 3, "tags": ["easy"]}),
    ),
    (
        "meta-mapping-and-losers",
        {
            "prompt": "2+2?",
            "completion": GOOD,
            "reference": "4",
            "answer": "four",
            "group_id": "g",
            "metadata": {"split": "test", "level": 1},
            "level": 2,
        },
        Sample("2+2?", GOOD, "4", "g", {"split": "test", "level": 2, "answer": "four"}),
    ),
]
IDS = [r[0] for r in RECORDS]


def _names(record: Mapping[str, Any], field: str) -> list[str]:
    return [n for n in ALIASES[field] if n in record]


def _first(record: Mapping[str, Any], field: str) -> str | None:
    return next(iter(_names(record, field)), None)


def fields_of(s: Sample, *names: str) -> dict[str, Any]:
    return {n: getattr(s, n) for n in names}


class Recorder(ItemReward):
    """Scores 1.0 and keeps what it saw: the Sample in-process, its fields in ``info``."""

    name = "test.recorder"

    def __init__(self) -> None:
        self.seen: list[Sample] = []

    def score_one(self, sample: Sample) -> Score:
        self.seen.append(sample)
        echo = fields_of(sample, "prompt", "completion", "reference", "group")
        return Score.ok(1.0, info={**echo, "meta": dict(sample.meta)})


# ---------------------------------------------------------------- the table itself


@pytest.mark.parametrize(("record", "expected"), [r[1:] for r in RECORDS], ids=IDS)
def test_the_table_gives_the_expected_sample(record: dict[str, Any], expected: Sample) -> None:
    assert to_sample(record) == expected


def test_the_docstring_table_is_the_table() -> None:
    doc = fields_module.__doc__ or ""
    table = doc.split("=" * 14, 1)[1].split("\nRules:")[0]
    for field, names in ALIASES.items():
        row = re.search(rf"^``{field}``\s+(.*?)(?=^``|^=)", table, re.M | re.S)
        assert row is not None, field
        assert re.findall(r"``([\w.]+)``", row.group(1)) == list(names)


def test_first_name_present_wins_and_the_loser_is_meta() -> None:
    s = to_sample({"completion": "a", "response": "b", "reference": None, "label": 3})
    assert (s.completion, s.reference) == ("a", None)
    assert s.meta == {"response": "b", "label": 3}


def test_group_defaults() -> None:
    assert to_sample({"prompt": CHAT, "completion": "a"}).group == prompt_group(CHAT)
    assert to_sample({"completion": "a"}).group is None  # no prompt: a group of its own
    assert to_sample({"completion": "a", "group": [1]}).group == "[1]"


def test_bad_records_are_input_errors() -> None:
    with pytest.raises(InputError, match="no completion field"):
        to_sample({"prompt": "p", "answer": "4"})
    with pytest.raises(InputError, match="completion must be text or a list of messages"):
        to_sample({"completion": 5})
    with pytest.raises(InputError, match="completion must be text or a list of messages"):
        to_sample({"completion": ["not a message"]})
    with pytest.raises(InputError, match="expected a JSON object"):
        to_sample([1, 2])


# ---------------------------------------------------------------- (a) rollout files


def test_the_file_reader(tmp_path: Any) -> None:
    path = tmp_path / "r.jsonl"
    path.write_bytes(b"".join(orjson.dumps(r[1]) + b"\n" for r in RECORDS))
    fm = FieldMap()
    got = [fm.sample(row.raw) for chunk in read_rollouts(path, chunk_size=2) for row in chunk]
    assert got == [r[2] for r in RECORDS]


# ---------------------------------------------------------------- (b) the server over HTTP


def post_score(url: str, samples: list[dict[str, Any]]) -> httpx.Response:
    body = orjson.dumps({"samples": samples})
    headers = {"content-type": "application/json"}
    return httpx.post(url + "/score", content=body, headers=headers, timeout=30)


def test_the_server_over_http() -> None:
    with running(create_app(Recorder())) as url:
        r = post_score(url, [rec for _, rec, _ in RECORDS])
    assert r.status_code == 200, r.text
    echoed = [Sample(**s["info"]) for s in r.json()["scores"]]
    # JSON has no tuples and the chat prompt comes back as a list: compare as JSON does
    assert [orjson.loads(orjson.dumps(fields_of(s, *Sample.__slots__))) for s in echoed] == [
        orjson.loads(orjson.dumps(fields_of(r[2], *Sample.__slots__))) for r in RECORDS
    ]


def test_a_question_solution_prompt_id_record_scores_over_http() -> None:
    record = {"question": "2+2?", "completion": GOOD, "solution": "4", "prompt_id": "q1"}
    with running(create_app("math-r1")) as url:
        r = post_score(url, [record])
    assert r.status_code == 200, r.text
    assert r.json()["scores"][0]["value"] == 1.0


# ---------------------------------------------------------------- (c) TRL


@pytest.mark.parametrize(("record", "expected"), [r[1:] for r in RECORDS], ids=IDS)
def test_trl(record: dict[str, Any], expected: Sample) -> None:
    # TRL hands over the dataset's "prompt" column and the completions it generated as
    # arguments; every other column comes as a keyword argument.
    prompt_name, completion_name = _first(record, "prompt"), _first(record, "completion")
    columns = {k: [v] for k, v in record.items() if k not in (prompt_name, completion_name)}
    recorder = Recorder()
    func = reward_funcs(recorder)[0]
    assert func(prompts=[record[prompt_name]], completions=[record[completion_name]], **columns)
    assert recorder.seen == [expected]


# ---------------------------------------------------------------- (d) verl


def _verl_args(record: dict[str, Any]) -> tuple[str, Any, Any, dict[str, Any]]:
    """verl's arguments for a record: the completion and reference by verl's names, the
    data source, and everything else in ``extra_info``."""
    completion_name, reference_name = _first(record, "completion"), _first(record, "reference")
    extra = {
        k: v for k, v in record.items() if k not in (completion_name, reference_name, "data_source")
    }
    assert completion_name is not None and reference_name is not None
    return (
        str(record.get("data_source", "arith")),
        record[completion_name],
        record[reference_name],
        extra,
    )


@pytest.mark.parametrize(("record", "expected"), [r[1:] for r in RECORDS], ids=IDS)
def test_verl(record: dict[str, Any], expected: Sample) -> None:
    data_source, solution_str, ground_truth, extra_info = _verl_args(record)
    recorder = Recorder()
    compute_score(data_source, solution_str, ground_truth, extra_info, spec=recorder)
    compute_score_batch([data_source], [solution_str], [ground_truth], [extra_info], spec=recorder)
    want = Sample(
        expected.prompt,
        expected.completion,
        expected.reference,
        expected.group,
        {**expected.meta, "data_source": data_source},  # verl always names a data source
    )
    assert recorder.seen == [want, want]


# ---------------------------------------------------------------- any alias, same Sample

_TEXT = st.text(st.characters(codec="utf-8"), max_size=8)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-9, 9) | _TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
    max_leaves=5,
)
_USED = {n.split(".")[0] for names in ALIASES.values() for n in names}
_VALUES = {
    "prompt": _TEXT | st.lists(st.fixed_dictionaries({"role": st.just("user"), "content": _TEXT})),
    "completion": _TEXT,
    "reference": _JSON,
    "group": _TEXT | st.integers(-5, 5),
    "meta": st.dictionaries(_TEXT, _JSON, max_size=3),
}
_EXTRA = st.dictionaries(_TEXT.filter(lambda k: k not in _USED), _JSON, max_size=3)


@st.composite
def aliased(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    """A record by canonical names, and the same record by a drawn name for each field."""
    canonical: dict[str, Any] = draw(_EXTRA)
    renamed = dict(canonical)
    for field, values in _VALUES.items():
        if field != "completion" and draw(st.booleans()):
            continue
        value = draw(values)
        canonical[field] = value
        name = draw(st.sampled_from(ALIASES[field]))
        outer, _, inner = name.partition(".")
        renamed[outer] = {inner: value} if inner else value
    return canonical, renamed


@settings(max_examples=200, deadline=None)
@given(aliased())
def test_any_accepted_names_give_the_canonical_sample(
    pair: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    canonical, renamed = pair
    expected = to_sample(canonical)
    assert to_sample(renamed) == expected
    # the server reads the same record the same way, on either of its parsers
    served = parse_score_request(json.dumps({"samples": [renamed]}).encode())[0][0]
    assert served == expected
