"""Helpers the search rewards share: the gold answers and exact match on an answer."""

from __future__ import annotations

from typing import Any

from rewardsmith.verifiable.qa import golds, normalize_answer

__all__ = ["em", "gold_answers", "reference_field"]


def gold_answers(reference: Any) -> list[str]:
    """The reference's accepted answers (see ``qa.golds``); ValueError when it has none."""
    answers = golds(reference)
    if not answers:
        raise ValueError(f"reference has no gold answer: {reference!r:.80}")
    return answers


def em(answer: str | None, answers: list[str]) -> bool:
    """Search-R1 exact match: the normalised answer equals a normalised gold answer."""
    if answer is None:
        return False
    pred = normalize_answer(answer)
    return any(pred == normalize_answer(g) for g in answers)


def reference_field(reference: Any, key: str) -> Any:
    """``reference[key]`` when the reference is a dict, else None."""
    return reference.get(key) if isinstance(reference, dict) else None
