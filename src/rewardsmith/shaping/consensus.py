"""Majority-vote pseudo-labels (test-time RL): ``consensus.majority_vote``.

What it checks: agreement with the group. No gold answer is used. For the rollouts of one
prompt (``Sample.group``), each rollout's final answer is extracted and normalised; the
most frequent answer is the pseudo-label, and a rollout earns 1.0 if its answer equals
it, else 0.0. Range {0, 1}.

Details:

- Extraction: ``rewardsmith.verifiable.math_text.extract_answer`` (the last ``\\boxed{}``,
  then "the answer is", then ``####``, then an ``<answer>`` block; the last number in the
  text only with ``fallback_last_number``), then ``normalize_answer``. Votes are compared
  as normalised text: ``1/2`` and ``0.5`` are different answers.
- A rollout with no extractable answer (or an empty one) casts no vote and earns 0.0.
- Ties between the most frequent answers go to the smallest normalised answer in string
  order. That is arbitrary but deterministic and does not depend on batch order, so
  permuting a group permutes its rewards.
- ``share`` is the pseudo-label's votes over the group's size (rollouts without an answer
  included). When it is below ``min_share``, or nobody gave an answer, every rollout of
  the group earns 0.0: a weak consensus is not a label.
- A sample with ``group`` None is a group of one, and agrees with itself (1.0 whenever it
  has an answer): only use this reward on real groups.
- A completion over ``max_chars`` characters is not parsed; it casts no vote and earns 0.

``info`` holds the rollout's ``answer``, the group's ``pseudo_label`` and ``share``.

In a spec::

    use: consensus.majority_vote
    with: {min_share: 0.3}

Paper: TTRL: Test-Time Reinforcement Learning (arXiv 2504.16084). Co-rewarding (arXiv
2508.00410) uses the same vote with the label taken from a paraphrased question's group.

Known failure modes and how it could be gamed: the reward pays for agreement, not for
being right, so a policy can collapse onto one confident wrong answer and be paid for it
by every rollout; it only helps while the majority is usually right. A format that makes
every rollout answer the same constant wins. Use it with held-out accuracy monitoring.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from pydantic import Field

from rewardsmith.core import GroupReward, Paper, Params, Sample, Score, register
from rewardsmith.verifiable.math_text import extract_answer, normalize_answer

__all__ = ["TTRL", "MajorityVote", "MajorityVoteParams", "majority_label"]

TTRL = Paper("TTRL: Test-Time Reinforcement Learning", "2504.16084")
MAX_CHARS = 100_000


def majority_label(answers: Sequence[str | None]) -> tuple[str | None, int]:
    """The most frequent non-None answer (ties: the smallest string) and its vote count."""
    votes = Counter(a for a in answers if a is not None)
    if not votes:
        return None, 0
    top = max(votes.values())
    return min(a for a, c in votes.items() if c == top), top


class MajorityVoteParams(Params):
    min_share: float = Field(default=0.0, ge=0.0, le=1.0)
    """Below this share of the group's votes, the pseudo-label is dropped (all 0.0)."""
    fallback_last_number: bool = False
    """Use the last number in the text when no other rule finds an answer."""


class MajorityVote(GroupReward):
    name = "consensus.majority_vote"

    def __init__(self, params: MajorityVoteParams) -> None:
        self.params = params

    def answer(self, sample: Sample) -> str | None:
        text = sample.text
        if len(text) > MAX_CHARS:
            return None
        found = extract_answer(text, fallback_last_number=self.params.fallback_last_number)
        if found.text is None:
            return None
        return normalize_answer(found.text) or None

    def score_group(self, samples: Sequence[Sample]) -> list[Score]:
        answers = [self.answer(s) for s in samples]
        label, count = majority_label(answers)
        share = count / len(samples)
        if share < self.params.min_share:
            label = None
        info = {"pseudo_label": label, "share": share}
        return [
            Score(float(label is not None and a == label), info={"answer": a, **info})
            for a in answers
        ]

    def __repr__(self) -> str:
        return f"MajorityVote({self.params!r})"


@register("consensus.majority_vote", params=MajorityVoteParams, paper=TTRL, range=(0.0, 1.0),
          summary="1 if the rollout's answer is its group's majority answer (test-time RL pseudo-label)")
def majority_vote(params: MajorityVoteParams) -> MajorityVote:
    return MajorityVote(params)
