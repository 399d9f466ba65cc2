"""The bundled example rollouts: reproducible from their script, and what they claim to be."""

from __future__ import annotations

import json
import re
from collections import Counter
from fractions import Fraction
from pathlib import Path
from types import ModuleType

import pytest

from helpers_scripts import load_script

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = ROOT / "src" / "rewardsmith" / "examples" / "math_rollouts.jsonl"
KEYS = {"prompt", "completion", "reference", "group", "data_source", "kind"}
MIN_PER_KIND = {
    "correct": 10,
    "wrong": 10,
    "malformed": 10,
    "truncated": 10,
    "answer_spraying": 10,
    "other": 5,
}
_ANSWER = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)
_FRAC = re.compile(r"\\frac\{(\d+)\}\{(\d+)\}")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}\b)")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:/\d+)?")


@pytest.fixture(scope="module")
def script() -> ModuleType:
    return load_script("examples/make_math_rollouts.py")


@pytest.fixture(scope="module")
def rows() -> list[dict[str, str]]:
    with COMMITTED.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def answer_numbers(completion: str) -> list[Fraction]:
    """Every number in the last answer block: ``\\frac{3}{4}``, ``1,250``, ``-7``, ``2.5``."""
    blocks = _ANSWER.findall(completion)
    assert blocks, "no <answer> block"
    text = _THOUSANDS.sub("", _FRAC.sub(r"\1/\2", blocks[-1]))
    return [Fraction(token) for token in _NUMBER.findall(text)]


# --- reproducible from the script ---------------------------------------------------------


def test_default_seed_reproduces_committed_file(script: ModuleType, tmp_path: Path) -> None:
    out = tmp_path / "rollouts.jsonl"
    assert script.main(["--out", str(out)]) == 0
    assert out.read_bytes() == COMMITTED.read_bytes()


def test_other_seed_gives_other_rollouts(script: ModuleType) -> None:
    assert script.generate(1) != script.generate(0)


# --- shape of the file --------------------------------------------------------------------


def test_rows_and_groups(rows: list[dict[str, str]]) -> None:
    assert len(rows) >= 256
    sizes = Counter(row["group"] for row in rows)
    assert len(sizes) >= 32
    assert set(sizes.values()) == {8}


def test_every_row_has_keys_and_reference(rows: list[dict[str, str]]) -> None:
    for row in rows:
        assert set(row) == KEYS
        assert all(isinstance(value, str) for value in row.values())
        assert row["reference"].strip()
        assert row["data_source"] in {"synthetic/gsm", "synthetic/math"}


def test_one_prompt_and_reference_per_group(rows: list[dict[str, str]]) -> None:
    by_group: dict[str, set[tuple[str, str]]] = {}
    for row in rows:
        by_group.setdefault(row["group"], set()).add((row["prompt"], row["reference"]))
    assert all(len(pairs) == 1 for pairs in by_group.values())


def test_every_kind_is_well_represented(rows: list[dict[str, str]]) -> None:
    counts = Counter(row["kind"] for row in rows)
    assert set(counts) == set(MIN_PER_KIND)
    for kind, minimum in MIN_PER_KIND.items():
        assert counts[kind] >= minimum, kind


def test_references_cover_answer_shapes(rows: list[dict[str, str]]) -> None:
    references = {row["reference"] for row in rows}
    assert any("/" in ref for ref in references), "a fraction"
    assert any(ref.startswith("-") for ref in references), "a negative number"
    assert any("." in ref for ref in references), "a decimal"


# --- each kind is what it says ------------------------------------------------------------


def test_correct_rows_answer_the_reference(rows: list[dict[str, str]]) -> None:
    for row in rows:
        if row["kind"] == "correct":
            assert Fraction(row["reference"]) in answer_numbers(row["completion"]), row["group"]


def test_correct_rows_are_well_formed_and_vary_in_length(rows: list[dict[str, str]]) -> None:
    correct = [row["completion"] for row in rows if row["kind"] == "correct"]
    for text in correct:
        assert text.startswith("<think>\n") and text.endswith("</answer>")
        assert text.count("</think>\n<answer>") == 1
    lengths = sorted(len(text) for text in correct)
    assert lengths[0] >= 200 and lengths[-1] <= 3000
    assert lengths[-1] > 4 * lengths[0]


def test_wrong_rows_do_not_answer_the_reference(rows: list[dict[str, str]]) -> None:
    for row in rows:
        if row["kind"] == "wrong":
            numbers = answer_numbers(row["completion"])
            assert numbers, row["group"]
            assert Fraction(row["reference"]) not in numbers, row["group"]


def test_spraying_rows_offer_the_reference_among_others(rows: list[dict[str, str]]) -> None:
    for row in rows:
        if row["kind"] == "answer_spraying":
            numbers = answer_numbers(row["completion"])
            assert Fraction(row["reference"]) in numbers and len(set(numbers)) >= 2


def test_truncated_rows_stop_mid_reasoning(rows: list[dict[str, str]]) -> None:
    for row in rows:
        if row["kind"] == "truncated":
            text = row["completion"]
            assert 3000 <= len(text) <= 6000
            assert "</think>" not in text and "<answer>" not in text
