"""The hand-labelled corpus of ``benchmarks/math_adversarial.py``: its shape, not its scores."""

from __future__ import annotations

from collections import Counter
from types import ModuleType

import pytest

from helpers_scripts import load_script


@pytest.fixture(scope="module")
def module() -> ModuleType:
    return load_script("benchmarks/math_adversarial.py")


@pytest.fixture(scope="module")
def corpus(module: ModuleType) -> list:
    return module.cases()


def test_size(corpus: list) -> None:
    assert len(corpus) >= 300


def test_every_class_present(module: ModuleType, corpus: list) -> None:
    counts = Counter(c.cls for c in corpus)
    assert set(counts) == set(module.CLASSES)
    big = [cls for cls in module.CLASSES if cls not in ("ordinary", "stall")]
    assert all(counts[cls] >= 12 for cls in big), counts
    assert counts["stall"] >= 9 and counts["ordinary"] >= 10, counts


def test_labels(corpus: list) -> None:
    assert all(c.label is None or isinstance(c.label, bool) for c in corpus)
    assert sum(c.label is None for c in corpus) >= 10


def test_graded_classes_have_both_labels(module: ModuleType, corpus: list) -> None:
    """A checker that says True (or False) to everything loses somewhere in each class."""
    for cls in (c for c in module.CLASSES if c not in ("attack", "stall")):
        labels = {c.label for c in corpus if c.cls == cls}
        assert {True, False} <= labels, cls


def test_attacks_and_stalls_are_wrong(corpus: list) -> None:
    assert all(c.label is not True for c in corpus if c.cls in ("attack", "stall"))


def test_every_case_has_a_reason(corpus: list) -> None:
    assert all(isinstance(c.reason, str) and c.reason.strip() for c in corpus)


def test_restated_cases_have_a_prompt(corpus: list) -> None:
    assert all(c.prompt for c in corpus if c.cls == "restated")


def test_references_are_non_empty_strings(corpus: list) -> None:
    assert all(isinstance(c.reference, str) and c.reference.strip() for c in corpus)


def test_no_duplicate_pairs(corpus: list) -> None:
    pairs = Counter((c.completion, c.reference) for c in corpus)
    assert [p for p, n in pairs.items() if n > 1] == []


def test_same_corpus_every_call(module: ModuleType, corpus: list) -> None:
    assert module.cases() == corpus
