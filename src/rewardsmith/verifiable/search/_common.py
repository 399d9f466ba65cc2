"""Helpers the search rewards share: the gold answers and exact match on an answer."""

from __future__ import annotations

from typing import Any

from rewardsmith.verifiable.qa import golds, matches_gold, squad_normalize

__all__ = ["em", "gold_answers", "has_answer", "reference_field"]


def gold_answers(reference: Any) -> list[str]:
    """The reference's accepted answers (see ``qa.golds``); ValueError when it has none."""
    answers = golds(reference)
    if not answers:
        raise ValueError(f"reference has no gold answer: {reference!r:.80}")
    return answers


def has_answer(answer: str | None) -> bool:
    """Whether an answer says anything: a letter or digit is left after SQuAD
    normalisation (``.``, ``:``, ``The`` or a zero-width space are no answer)."""
    return answer is not None and any(c.isalnum() for c in squad_normalize(answer))


def em(answer: str | None, answers: list[str]) -> bool:
    """Search-R1 exact match with the shared guards (``qa.matches_gold``): the normalised
    answer equals a normalised gold; an answer that normalises to nothing matches no
    normalised gold, and a gold that normalises to nothing (``The``) is compared as
    written."""
    return answer is not None and matches_gold(answer, answers)


def reference_field(reference: Any, key: str) -> Any:
    """``reference[key]`` when the reference is a dict, else None."""
    return reference.get(key) if isinstance(reference, dict) else None
