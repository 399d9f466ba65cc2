"""ReSeek's string-match reward: answer exact match plus a reward for each JUDGE step.

What it checks: the agent follows each block of retrieved text with
``<judge>Yes</judge>`` or ``<judge>No</judge>`` (is this evidence useful?). The reward is::

    R = R_answer + Σ_t R_judge(t)

- R_answer: 1 if the last ``<answer>`` matches a gold answer (Search-R1 exact match),
  ``1 / 4`` of that when the text holds more than ``max_answer_tags`` (10) ``<answer>`` or
  ``</answer>`` tags (an anti-spam rule of the code), else ``format_score`` (0); 0 with
  no answer.
- R_judge, only when there is an answer, for each non-empty retrieved block with a
  judgment: "Yes" and a correct answer: +0.3 + 0.1. Otherwise the block is useful when
  some gold answer, lowercased, is a substring of it, lowercased; a judgment that agrees
  earns +0.3 (+0.1 more when the answer is correct); a wrong "Yes" −0.6, a wrong "No"
  −0.3.

Paper: ReSeek: A Self-Correcting Framework for Search Agents with Instructive Rewards
(arXiv 2510.00568); this is the string-matching variant of its code
(``TencentBAC/ReSeek`` ``verl/utils/reward_score/reseek_regex.py``), not the released
reranker version, which needs bge-reranker-v2-m3.

Departures, on purpose: a judgment belongs to the retrieved block it follows, before
the next block (the code pairs a block with the nearest judgment anywhere after it, so
one final ``<judge>Yes</judge>`` is counted for every block); only the first
``max_judges`` (4, the paper's limit on JUDGE steps) count, so the range is bounded:
[−0.6·k, 1 + 0.4·k] = [−2.4, 2.6]. The answer and the judgments are read from the
policy's text only, never from retrieved text.

How it can be gamed, and the guards (each on by default; the paper's code is
``trust_information_tags=True, wrong_answer_judge_cap=None``):

- Writing the evidence itself. In tagged text the code cannot tell an ``<information>``
  block the retriever inserted from one the policy typed: four self-written blocks, each
  judged "No", and an answer of ``.`` earned 1.2, more than a correct answer alone. Guard:
  retrieved blocks are taken only from where the trainer knows them (chat ``tool``
  messages, ``meta["info_spans"]`` or ``meta["response_mask"]``; see
  ``search.trajectory``); plain text without them earns no judge reward, with
  ``info["reason"]``. ``trust_information_tags`` switches this off.
- An empty answer. The code judges whenever an ``<answer>`` block exists; here the
  answer must hold a letter or digit after normalisation (``.`` or ``:`` is no answer),
  and an answer that normalises to nothing never matches a gold.
- Searching for junk to judge. A correct "No" pays +0.3 whatever the answer, so junk
  queries whose results are easy to reject, judged "No", with any wrong answer, earned
  1.2 from real retrieval. Guard: ``wrong_answer_judge_cap`` (0.5) caps what the
  judgments add to a wrong answer, so it stays under half a correct one; penalties are
  not capped.

Still open, by design of the formula: with a correct answer every block judged "Yes"
earns +0.4 unchecked, and every junk block judged "No" +0.4, so more searches pay more
up to ``max_judges``; compose with a search-count penalty (``search.otc``) to price
them. Substring usefulness calls a block that mentions the answer in passing useful,
and a short gold ("1") matches many blocks.
"""

from __future__ import annotations

import re

from pydantic import Field

from rewardsmith.core import ItemReward, Paper, Params, Sample, Score, register
from rewardsmith.verifiable.search._common import em, gold_answers, has_answer
from rewardsmith.verifiable.search.trajectory import Retrieved, retrieved

__all__ = ["RESEEK", "ReSeekParams", "ReSeekString"]

RESEEK = Paper(
    "ReSeek: A Self-Correcting Framework for Search Agents with Instructive Rewards",
    "2510.00568",
)
_JUDGE = re.compile(r"<judge>\s*(yes|no)\s*</judge>", re.IGNORECASE)


class ReSeekParams(Params):
    format_score: float = 0.0
    """R_answer for a wrong answer."""
    max_answer_tags: int = Field(10, ge=1)
    correct_judge_reward: float = Field(0.3, ge=0.0)
    answer_correct_boost: float = Field(0.1, ge=0.0)
    wrong_yes_penalty: float = Field(-0.6, le=0.0)
    wrong_no_penalty: float = Field(-0.3, le=0.0)
    max_judges: int = Field(4, ge=0)
    """Judgments past this many are ignored (the code has no cap)."""
    trust_information_tags: bool = False
    """Take ``<information>`` blocks in plain text as retrieved when ``meta`` does not say
    where the environment's text is (the code; a policy can write them itself)."""
    wrong_answer_judge_cap: float | None = Field(0.5, ge=0.0)
    """The most the judgments add to a wrong answer; None: no cap (the code)."""


@register(
    paper=RESEEK,
    summary="ReSeek (string variant): EM + per-JUDGE reward for calling evidence useful",
)
class ReSeekString(ItemReward):
    name = "search.reseek"

    def __init__(self, params: ReSeekParams) -> None:
        self.params = params

    @property
    def range(self) -> tuple[float, float]:
        p = self.params
        k = p.max_judges
        worst = min(p.wrong_yes_penalty, p.wrong_no_penalty)
        best = p.correct_judge_reward + p.answer_correct_boost
        return (min(0.0, p.format_score) + k * worst, max(1.0, p.format_score) + k * best)

    def part_names(self) -> list[str]:
        return ["answer", "judge"]

    def score_one(self, sample: Sample) -> Score:
        p = self.params
        answers = gold_answers(sample.reference)
        env = retrieved(sample, p.trust_information_tags)
        text = env.policy_text()
        close = text.rfind("</answer>")
        start = text.rfind("<answer>", 0, close) if close >= 0 else -1
        answer = text[start + 8 : close].strip() if start >= 0 else None
        correct = em(answer, answers)
        base = 0.0
        if answer is not None:
            base = p.format_score
            if correct:
                spam = max(text.count("<answer>"), text.count("</answer>")) > p.max_answer_tags
                base = 0.25 if spam else 1.0
        judged = _judgments(env)[: p.max_judges] if has_answer(answer) else []
        judge = sum(self._judge(info, yes, correct, answers) for info, yes in judged)
        if not correct and p.wrong_answer_judge_cap is not None:
            judge = min(judge, p.wrong_answer_judge_cap)
        info: dict[str, object] = {"judgments": len(judged), "retrieval": env.source}
        if not env.known:
            info["reason"] = env.reason
        return Score(base + judge, parts={"answer": base, "judge": judge}, info=info)

    def _judge(self, info: str, yes: bool, correct: bool, answers: list[str]) -> float:
        p = self.params
        boost = p.answer_correct_boost if correct else 0.0
        if yes and correct:
            return p.correct_judge_reward + boost
        low = info.lower()
        useful = any(g.lower().strip() and g.lower().strip() in low for g in answers)
        if yes == useful:
            return p.correct_judge_reward + boost
        return p.wrong_yes_penalty if yes else p.wrong_no_penalty


def _judgments(env: Retrieved) -> list[tuple[str, bool]]:
    """(retrieved block, said yes) for each non-empty block with a judgment in the
    policy's text after it, before the next block; none when the blocks are unknown."""
    out = []
    for info, after in zip(env.blocks(), env.following(), strict=True):
        judge = _JUDGE.search(after)
        if judge and info:
            out.append((info, judge.group(1).lower() == "yes"))
    return out
