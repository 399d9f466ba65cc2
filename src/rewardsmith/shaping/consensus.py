"""Label-free group rewards: ``consensus.majority_vote`` and ``consensus.co_reward``.

``consensus.majority_vote`` (test-time RL pseudo-labels):

What it checks: agreement with the group. No gold answer is used. For the rollouts of one
prompt (``Sample.group``), each rollout's final answer is extracted and normalised; the
most frequent answer is the pseudo-label, and a rollout earns 1.0 if its answer equals
it, else 0.0. Range {0, 1}.

Details:

- Extraction: ``rewardsmith.verifiable.answers.extract_answer`` (the last ``\\boxed{}``,
  then "the answer is", then ``####``, then an ``<answer>`` block; the last number in the
  text only with ``fallback_last_number``), then ``normalize_answer``. Votes are compared
  as normalised text: ``1/2`` and ``0.5`` are different answers.
- A rollout with no extractable answer (or an empty one) casts no vote and earns 0.0.
- A tie between the most frequent answers is no majority: the group gets no pseudo-label
  and every rollout earns 0.0 (``ties: none``, the default). Breaking it toward the
  smallest answer in string order (``ties: smallest``, deterministic and independent of
  batch order) pays a policy for answers that sort first whenever its group splits.
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

Paper: TTRL: Test-Time Reinforcement Learning (arXiv 2504.16084).

``consensus.co_reward`` (Co-rewarding-I, cross-question agreement): each question ``x``
has a paraphrase ``x′``; both are rolled out in the same batch. The pseudo-label of ``x``
is the majority answer of the rollouts of ``x′``, and the reverse::

    y′ = mode{ans(o′_j)}        r_i = 1[ans(o_i) = y′ and y′ ≠ ""]      (symmetric for x′)

Range {0, 1}. How the pairing reaches the reward:

- ``Sample.group`` is the question id (as for GRPO groups); ``Sample.meta["pair"]`` is the
  id of the paired question's group (a str or int equal to that group's ``Sample.group``).
  Each group is paid by the vote of the group it names; the paired group normally names
  it back (Co-rewarding-I is symmetric), but that is not required.
- Both groups must be in the same ``score`` call. The reward reads the whole batch, so
  compute GRPO advantages per group afterwards, as the paper does (each view separately).
- Skipped (value None, status ``skipped``, the reason in ``info``), never a made-up 0: a
  sample with no ``group``; a group none of whose rollouts has ``meta["pair"]``; a pair
  that is not in the batch.
- Errors (value None, status ``error``, ``InputError``): a ``pair`` that is not a str or
  int, rollouts of one group naming different pairs (or some naming none), a group
  naming itself.
- The vote is the majority vote's (same extraction, normalisation, tie rule,
  ``min_share`` and ``fallback_last_number``, applied to the paired group): if no
  rollout of ``x′`` gives an answer, every rollout of ``x`` earns 0.0, the paper's
  ``y′ ≠ ""`` condition. A rollout of ``x`` with no answer earns 0.0.
- Order independent: the label depends only on the paired group's multiset of answers.

``info`` holds the rollout's ``answer``, the ``pair``, its ``pseudo_label`` and ``share``.
In a spec: ``use: consensus.co_reward``. Not here: Co-rewarding-II and -III (an EMA
teacher's vote), which need the teacher's rollouts from the trainer.

Paper: Co-rewarding (first released as Co-Reward), arXiv 2508.00410; code
github.com/tmlr-group/Co-rewarding, ``Co-rewarding-I/verl/workers/reward_manager/co_reward.py``.

Known failure modes and how it could be gamed: the reward pays for agreement, not for
being right, so a policy can collapse onto one confident wrong answer and be paid for it
by every rollout; it only helps while the majority is usually right. A format that makes
every rollout answer the same constant wins. Use it with held-out accuracy monitoring.
Co-reward makes the collapse harder (both views must agree) but not impossible, and it
only works if the paraphrase keeps the answer: a paraphrase that changes the answer
pays the policy for the wrong one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import Field

from rewardsmith.core import GroupReward, Paper, Params, Sample, Score, register
from rewardsmith.core.reward import is_strict
from rewardsmith.errors import InputError
from rewardsmith.verifiable.answer_text import normalize_answer
from rewardsmith.verifiable.answers import extract_answer

__all__ = [
    "CO_REWARDING",
    "TTRL",
    "CoReward",
    "CoRewardParams",
    "MajorityVote",
    "MajorityVoteParams",
    "majority_label",
    "vote_of",
]

TTRL = Paper("TTRL: Test-Time Reinforcement Learning", "2504.16084")
MAX_CHARS = 100_000


def vote_of(sample: Sample, *, fallback_last_number: bool = False) -> str | None:
    """The normalised answer a rollout votes for, or None (no answer, empty, over MAX_CHARS)."""
    text = sample.text
    if len(text) > MAX_CHARS:
        return None
    found = extract_answer(text, fallback_last_number=fallback_last_number)
    if found.text is None:
        return None
    return normalize_answer(found.text) or None


def majority_label(answers: Sequence[str | None], ties: str = "none") -> tuple[str | None, int]:
    """The most frequent non-None answer and its vote count; a tie is no label (``none``)
    or goes to the smallest string (``smallest``)."""
    votes = Counter(a for a in answers if a is not None)
    if not votes:
        return None, 0
    top = max(votes.values())
    leaders = [a for a, c in votes.items() if c == top]
    if len(leaders) > 1 and ties == "none":
        return None, top
    return min(leaders), top


class MajorityVoteParams(Params):
    min_share: float = Field(default=0.0, ge=0.0, le=1.0)
    """Below this share of the group's votes, the pseudo-label is dropped (all 0.0)."""
    fallback_last_number: bool = False
    """Use the last number in the text when no other rule finds an answer."""
    ties: Literal["none", "smallest"] = "none"
    """A tie for the most votes: no pseudo-label (none), or the smallest answer."""


@register(
    paper=TTRL,
    summary="1 if the rollout's answer is its group's majority answer (test-time RL pseudo-label)",
)
class MajorityVote(GroupReward):
    name = "consensus.majority_vote"

    def __init__(self, params: MajorityVoteParams) -> None:
        self.params = params

    def answer(self, sample: Sample) -> str | None:
        return vote_of(sample, fallback_last_number=self.params.fallback_last_number)

    def score_group(self, samples: Sequence[Sample]) -> list[Score]:
        answers = [self.answer(s) for s in samples]
        label, count = majority_label(answers, self.params.ties)
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


# --- Co-rewarding-I: cross-question agreement ------------------------------------------

CO_REWARDING = Paper(
    "Co-rewarding (first released as Co-Reward): self-supervised RL via contrastive agreement",
    "2508.00410",
)
PAIR_KEY = "pair"


class CoRewardParams(MajorityVoteParams):
    """The majority vote's parameters, applied to the paired question's vote."""


class _Unpaired(Exception):
    """A group that has no usable pair in this batch: its items are skipped, not failed."""


@register(
    paper=CO_REWARDING,
    summary="1 if the rollout's answer is the majority answer of its paired "
    "(paraphrased) question's rollouts (Co-rewarding-I)",
)
class CoReward(GroupReward):
    """Cross-question agreement; see the module docstring. Scores a whole batch at once."""

    name = "consensus.co_reward"

    def __init__(self, params: CoRewardParams) -> None:
        self.params = params

    def score_group(self, samples: Sequence[Sample]) -> list[Score]:
        # One group on its own has no partner; scoring it as a batch says so per item.
        return self.score(samples)

    def score(self, samples: Sequence[Sample]) -> list[Score]:
        answers = [
            vote_of(s, fallback_last_number=self.params.fallback_last_number) for s in samples
        ]
        members: dict[object, list[int]] = {}
        for i, s in enumerate(samples):
            if s.group is not None:
                members.setdefault(s.group, []).append(i)
        labels = {g: self._label([answers[i] for i in idx]) for g, idx in members.items()}
        out = [Score.skipped("no Sample.group (the question id)") for _ in samples]
        for g, idx in members.items():
            try:
                pair = _pair_of(g, [samples[i] for i in idx], members)
            except _Unpaired as why:
                for i in idx:
                    out[i] = Score.skipped(str(why))
                continue
            except Exception as exc:
                if is_strict():
                    raise
                for i in idx:
                    out[i] = Score.failed(exc)
                continue
            label, share = labels[pair]
            info = {"pair": pair, "pseudo_label": label, "share": share}
            for i in idx:
                hit = label is not None and answers[i] == label
                out[i] = Score(float(hit), info={"answer": answers[i], **info})
        return out

    def _label(self, answers: Sequence[str | None]) -> tuple[str | None, float]:
        label, count = majority_label(answers, self.params.ties)
        share = count / len(answers)
        return (None if share < self.params.min_share else label), share

    def __repr__(self) -> str:
        return f"CoReward({self.params!r})"


def _pair_of(group: object, samples: Sequence[Sample], present: Mapping[object, object]) -> object:
    """The group id that ``group``'s rollouts name in ``meta["pair"]``.

    Raises ``_Unpaired`` (skip) when no rollout names one or the named group is not in
    the batch, and ``InputError`` (error) when the value is not an id, the rollouts of one
    group disagree, or the group names itself.
    """
    named: set[object] = set()
    for s in samples:
        raw: Any = s.meta.get(PAIR_KEY)
        if raw is not None and (isinstance(raw, bool) or not isinstance(raw, str | int)):
            raise InputError(f"meta[{PAIR_KEY!r}] must be a group id (str or int), got {raw!r:.40}")
        named.add(raw)
    if named == {None}:
        raise _Unpaired(f"no meta[{PAIR_KEY!r}]: question {group!r} has no paired question")
    if len(named) > 1:
        shown = ", ".join(sorted(repr(p) for p in named))
        raise InputError(f"rollouts of question {group!r} name different pairs: {shown}")
    (pair,) = named
    if pair == group:
        raise InputError(f"question {group!r} names itself as its pair")
    if pair not in present:
        raise _Unpaired(f"paired question {pair!r} of {group!r} is not in this batch")
    return pair
