"""Hostile inputs against ``math.answer``: two hand-labelled corpora and their attacks.

``benchmarks/math_adversarial.py`` holds hard cases in classes (where the answer is,
nested boxes, separators, tolerance, lost symbols, restated problems, labels, relations,
phrasing, forms, self-correction, multi-part answers, attacks, stalls);
``benchmarks/math_holdout.py`` was written blind from ``docs/math.md`` (master keys,
spraying, hedges, hidden text, huge inputs among its classes). Each corpus is scored as
one batch: no case labelled wrong may be paid, attacks earn nothing, and the batch
finishes well inside a hang guard.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import rewardsmith
from helpers_scripts import load_script
from rewardsmith import Sample

CORPORA = {name: load_script(f"benchmarks/math_{name}.py").cases() for name in ("adversarial", "holdout")}
HOSTILE = ("attack", "stall", "master_key", "spray", "huge", "hidden")


@pytest.fixture(scope="module", params=sorted(CORPORA))
def verdicts(request):
    corpus = CORPORA[request.param]
    reward = rewardsmith.load("math.answer")
    samples = [Sample(prompt=c.prompt or "", completion=c.completion, reference=c.reference)
               for c in corpus]
    start = time.monotonic()
    scores = reward.score(samples)
    elapsed = time.monotonic() - start
    return corpus, scores, elapsed


def test_no_wrong_answer_in_the_corpus_is_paid(verdicts):
    corpus, scores, _ = verdicts
    paid = [(c.cls, c.completion[:80], c.reference) for c, s in zip(corpus, scores, strict=True)
            if c.label is False and s.value == 1.0]
    assert paid == []


def test_attacks_earn_nothing(verdicts):
    corpus, scores, _ = verdicts
    hostile = [(c, s) for c, s in zip(corpus, scores, strict=True) if c.cls in HOSTILE]
    assert len(hostile) >= 50
    for case, score in hostile:
        assert score.value == 0.0 or case.label is not False, case.reason
        assert score.status.value in ("ok", "timeout"), (case.reason, score)


def test_right_answers_in_every_class_are_paid(verdicts):
    corpus, scores, _ = verdicts
    missed = [(c.cls, c.completion[:80], c.reference) for c, s in zip(corpus, scores, strict=True)
              if c.label is True and s.value != 1.0]
    # the corpus's known misses (a negated sentence, "The answer is not 5; it is 6") stay few
    assert len(missed) <= 2, missed


def test_the_whole_corpus_scores_inside_a_hang_guard(verdicts):
    _, _, elapsed = verdicts
    assert elapsed < 60  # hang guard, not a speed check: stalls once took 15-34 s each
