"""SubSearch's intrinsic process reward: exact match, plus a bonus for good sub-queries.

What it checks::

    r = r_ans + β_t · r_int · (1 − r_ans)          r_int = 0.5·r_answerability + 0.5·r_decomp

- r_ans: Search-R1 exact match of the last ``<answer>`` against the gold answers, {0, 1}.
  The process bonus counts only when the answer is wrong.
- r_answerability: for each search step, for each sub-query, the mean cosine between the
  sub-query and the first ``top_k_docs`` (3) documents retrieved for it; averaged over the
  step's sub-queries, then over steps. Embeddings: all-MiniLM-L6-v2, normalised.
- r_decomp: for each search step, the parent question against its sub-queries
  ("children"), averaged over steps. One child: max(0, 1 − |cos − 0.85| / 0.15), a
  rephrasing that peaks at cosine 0.85. Several: 0.5·cos(parent, normalised centroid of
  the children) + 0.5·mean_i[cos(parent, c_i)·(1 − mean cosine of c_i to its siblings)].

Score range [0, 1]; parts ``ans``, ``answerability``, ``decomp``, ``intrinsic``, ``beta``.

How a trajectory is read (``read_trajectory``): a step is one ``<search>`` block, its
sub-queries split on ``##``, and the block of retrieved text after it, which SubSearch
splits on ``##``, one part per sub-query in order; a part is cut into documents at each
``Doc N(Title:`` marker (Search-R1's retriever format), or is one document when it has
none. As in the code, empty search and retrieved blocks are dropped and the k-th search
is paired with the k-th retrieved block; a sub-query without a part scores nothing and
is not averaged. Retrieved blocks come only from where the trainer knows them
(``search.trajectory``): in tagged text, ``meta["info_spans"]`` or
``meta["response_mask"]``; chat trajectories: a step is one assistant message's search
calls and the tool results that answer them, each result one sub-query's part (a single
result is split on ``##``).

The parent question is ``reference["question"]``, else ``meta["question"]``, else the
``Question:`` line of the prompt (the code's regex), else the whole prompt text (the last
user message for chat prompts). Put the question in ``meta`` when the prompt is long.

β_t (``schedule="warmup_cosine"``, the code's "smart" schedule; ``set_step`` drives it,
step 0 until it is called): over ``warmup_steps`` (200) β moves from β0 (``beta``, 0.2)
to max(min_beta, 0.75·β0) along progress^1.5, then decays along a half cosine over
``decay_steps`` (2000) to ``min_beta`` (0.02), and stays there. ``schedule="constant"``
keeps β0.

``adaptive_beta`` (off by default): the code's gate on an EMA (decay 0.98) of r_ans,
updated once per scored item in batch order. If the EMA is below ``target_em`` (0.65)
and flat (|slope| ≤ 5e-4), β_t moves up by rate·gap·(β_hi − β_t); if above and rising,
down by rate·gap·(β_t − β_lo); never more than ``max_beta_step`` (0.01) from β_t, and
within [min(min_beta, β0), max(min_beta, β0)]. Pitfall, as the catalog warns: the EMA is
mutable state (the code keeps it per process; here, per reward object), so an item's
score depends on what was scored before it and on how the batch was cut; it breaks
"same input, same output" and "a batch scores like its items one by one". Leave it off
unless you want exactly that behaviour.

Paper: SubSearch: Intermediate Rewards for Unsupervised Guided Reasoning in Complex
Retrieval (Petcu, Kanoulas, de Rijke; arXiv 2604.07415); code ``RoxanaPetcu/SubSearch``, ``verl/utils/reward_score/qa_em.py``,
``compute_score_em_plus_answerability_decomposition``.

Departures: r_answerability and r_decomp are clipped to [0, 1] before they are combined
(cosines can be negative; the raw values are in ``info``), so the range holds. Only the
response is read (the code regex-scans the decoded prompt too). The Search-R1 format
wrapper the code applies afterwards (structure 0.2, final 0.1, retrieval 0.1) is not
applied: compose a format reward if you want one. Note that in the code a wrong answer
with a valid format earns 0.2 when r_int is 0 but only β·r_int (at most 0.2) when it is
positive, because the wrapper treats any positive score as a correct one. At most
``max_steps`` (16) steps and ``max_subqueries`` (8) sub-queries per step are read.

How it can be gamed, and the guard (on by default; ``trust_information_tags=True`` is
the paper's code): the bonus is at most β_t and only on wrong answers, so it cannot
outweigh a right one, but within it r_answerability compares sub-queries with the text
after them. In tagged text the code cannot tell retrieved ``<information>`` from text the
policy typed: documents that copy the policy's own sub-queries, with no answer, earned
r_answerability 1 and 75-81% of the bonus's cap. Guard: retrieved text is taken only
from chat ``tool`` messages or the spans in ``meta``; in plain text without them
r_answerability is 0 and ``info["reason"]`` says why (r_decomp, which reads only the
queries and the question, still counts). Still open: r_answerability pays for
sub-queries that look like what the retriever returns (a copied title), and r_decomp
for children that paraphrase the question at cosine 0.85 or split it into fragments
that differ from each other, useful or not. A missing answer earns the bonus like a
wrong one, as in the code (so not answering never pays more than answering).
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
from pydantic import Field

from rewardsmith.core import ItemReward, Paper, Params, Sample, Score, register
from rewardsmith.models.embeddings import (
    DEFAULT_EMBEDDING_MODEL,
    Embedder,
    Prepared,
    SentenceEmbedder,
    Vectors,
    score_with_embeddings,
)
from rewardsmith.verifiable.search._common import em, gold_answers, reference_field
from rewardsmith.verifiable.search.trajectory import (
    DEFAULT_SEARCH_TOOLS,
    message_searches,
    message_text,
    read_trajectory,
    response_messages,
    retrieved,
)

__all__ = [
    "SUBSEARCH",
    "SubSearch",
    "SubSearchParams",
    "answerability",
    "decomposition",
    "parent_question",
    "scheduled_beta",
    "split_docs",
]

SUBSEARCH = Paper(
    "SubSearch: Intermediate Rewards for Unsupervised Guided Reasoning in Complex Retrieval",
    "2604.07415",
)
_DOC = re.compile(r"(?=\bDoc\s+\d+\(Title:)")
_QUESTION = re.compile(r"Question:\s*(.*?)(?:\n|$)")


class SubSearchParams(Params):
    beta: float = Field(0.2, ge=0.0, le=1.0)
    """β0, the largest weight of the process bonus."""
    schedule: Literal["warmup_cosine", "constant"] = "warmup_cosine"
    warmup_steps: int = Field(200, ge=0)
    decay_steps: int = Field(2000, ge=0)
    min_beta: float = Field(0.02, ge=0.0, le=1.0)
    adaptive_beta: bool = False
    """The EMA gate; mutable state, see the module docstring before turning it on."""
    ema_decay: float = Field(0.98, ge=0.0, le=0.9999)
    target_em: float = Field(0.65, ge=0.0, le=1.0)
    ema_slope_tol: float = Field(5e-4, ge=0.0)
    adaptive_rate: float = Field(0.2, ge=0.0)
    max_beta_step: float = Field(0.01, ge=0.0)
    top_k_docs: int = Field(3, ge=1)
    rephrase_peak: float = Field(0.85, gt=0.0, lt=1.0)
    """The one-child cosine that earns the full decomposition score."""
    max_steps: int = Field(16, ge=1)
    max_subqueries: int = Field(8, ge=1)
    model: str = DEFAULT_EMBEDDING_MODEL
    device: str = "cpu"
    search_tools: frozenset[str] = DEFAULT_SEARCH_TOOLS
    trust_information_tags: bool = False
    """Take ``<information>`` blocks in plain text as retrieved when ``meta`` does not say
    where the environment's text is (the code; a policy can write them itself)."""


def scheduled_beta(step: int, p: SubSearchParams) -> float:
    """β_t of the code's "smart" schedule (or β0 for ``schedule="constant"``)."""
    beta = p.beta
    if p.schedule == "constant":
        return beta
    step = max(0, int(step))
    warmup, decay = max(1, p.warmup_steps), max(1, p.decay_steps)
    lo = max(0.0, min(p.min_beta, beta))
    after = max(lo, 0.75 * beta)
    if step < warmup:
        value = beta + (after - beta) * math.pow(step / warmup, 1.5)
    elif step < warmup + decay:
        value = lo + (after - lo) * 0.5 * (1.0 + math.cos(math.pi * (step - warmup) / decay))
    else:
        value = lo
    return min(1.0, max(0.0, value))


def split_docs(block: str) -> list[str]:
    """One retrieved part cut into documents at ``Doc N(Title:``; the whole part if none."""
    block = block.strip()
    if not block:
        return []
    docs = [d.strip() for d in _DOC.split(block) if d.strip()]
    return docs if len(docs) > 1 or _DOC.search(block) else [block]


def parent_question(sample: Sample) -> str:
    """The question the sub-queries decompose (see the module docstring), or ''."""
    for value in (reference_field(sample.reference, "question"), sample.meta.get("question")):
        if isinstance(value, str) and value.strip():
            return value.strip()
    prompt = sample.prompt
    if isinstance(prompt, str):
        text = prompt
    else:
        users = [m for m in prompt if isinstance(m, Mapping) and m.get("role") == "user"]
        text = message_text(users[-1]) if users else ""
    match = _QUESTION.search(text)
    if match and match.group(1).strip():
        return match.group(1).strip()
    return text.strip()


def answerability(
    steps: Sequence[tuple[Sequence[str], Sequence[Sequence[str]]]],
    vec: Vectors,
) -> float:
    """Mean over steps of the mean over sub-queries of mean cos(sub-query, its docs).

    ``steps`` holds, per step, the sub-queries and the documents of each part (already cut
    to the top k). A step whose sub-queries have no parts scores 0; a sub-query with an
    empty part scores 0.
    """
    scores = []
    for queries, parts in steps:
        m = min(len(queries), len(parts))
        if m == 0:
            scores.append(0.0)
            continue
        per_query = []
        for query, docs in zip(queries[:m], parts[:m], strict=True):
            per_query.append(float(np.mean(vec(docs) @ vec([query])[0])) if docs else 0.0)
        scores.append(sum(per_query) / m)
    return sum(scores) / len(scores) if scores else 0.0


def _decomp_step(parent: np.ndarray, children: np.ndarray, peak: float) -> float:
    if len(children) == 1:
        return max(0.0, 1.0 - abs(float(parent @ children[0]) - peak) / (1.0 - peak))
    centroid = children.mean(axis=0)
    norm = float(np.linalg.norm(centroid))
    coverage = float(parent @ centroid) / norm if norm > 0 else 0.0
    sims = children @ children.T
    n = len(children)
    siblings = (sims.sum(axis=1) - np.diag(sims)) / (n - 1)
    part = float(np.mean((children @ parent) * (1.0 - siblings)))
    return 0.5 * coverage + 0.5 * part


def decomposition(
    parent: str, rounds: Sequence[Sequence[str]], vec: Vectors, peak: float = 0.85
) -> float:
    """Mean over search steps of the parent-vs-children score; 0 without parent or steps."""
    if not parent or not rounds:
        return 0.0
    p = vec([parent])[0]
    return sum(_decomp_step(p, vec(list(r)), peak) for r in rounds) / len(rounds)


class _EmaGate:
    """The code's adaptive β gate, with its state on the reward object, behind a lock."""

    def __init__(self) -> None:
        self.ema: float | None = None
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        return {"ema": self.ema}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.ema, self._lock = state["ema"], threading.Lock()

    def __call__(self, beta_t: float, r_ans: float, p: SubSearchParams) -> tuple[float, str]:
        with self._lock:
            prev = self.ema
            self.ema = r_ans if prev is None else p.ema_decay * prev + (1 - p.ema_decay) * r_ans
            ema, slope = self.ema, 0.0 if prev is None else self.ema - prev
        lo, hi = min(p.min_beta, p.beta), max(p.min_beta, p.beta)
        mode, nxt = "none", beta_t
        if ema < p.target_em and abs(slope) <= p.ema_slope_tol:
            mode, nxt = "increase", beta_t + p.adaptive_rate * (p.target_em - ema) * (hi - beta_t)
        elif ema > p.target_em and slope > p.ema_slope_tol:
            mode, nxt = "decrease", beta_t - p.adaptive_rate * (ema - p.target_em) * (beta_t - lo)
        nxt = max(beta_t - p.max_beta_step, min(beta_t + p.max_beta_step, nxt))
        return max(lo, min(hi, nxt)), mode


@register(
    paper=SUBSEARCH,
    summary="SubSearch: EM + β_t·(answerability + decomposition)/2 on wrong answers (MiniLM)",
)
class SubSearch(ItemReward):
    """SubSearch's combined reward; one embedding call per batch.

    Args:
        params: the parameters (``SubSearchParams``).
        embedder: unit vectors and token counts; default the shared MiniLM for
            ``params.model`` on ``params.device``. Tests pass a fake one.

    Example:
        >>> import rewardsmith
        >>> reward = rewardsmith.load("search.subsearch")
        >>> trajectory = (
        ...     "<search>Who won the 1998 World Cup? ## Who won in 2002?</search>"
        ...     "<information>France won in 1998. ## Brazil won in 2002.</information>"
        ...     "<answer>Brazil</answer>"
        ... )
        >>> question = "Question: Who won the 1998 World Cup?"
        >>> env = [[64, 133]]  # where the retriever inserted its <information> block
        >>> (score,) = reward.score([Sample(prompt=question, completion=trajectory,
        ...                                 reference="France", meta={"info_spans": env})])
        >>> score.parts["ans"], score.parts["beta"], 0 < score.value <= 0.2
        (0.0, 0.2, True)
        >>> score.parts["answerability"] > 0
        True
    """

    name = "search.subsearch"
    work = "model"  # an embedding model

    def __init__(self, params: SubSearchParams, embedder: Embedder | None = None) -> None:
        self.params = params
        self.embedder = embedder or SentenceEmbedder(params.model, params.device)
        self.step = 0
        self._gate = _EmaGate()

    def on_step(self, step: int) -> None:
        """Called by ``rewardsmith.set_step``: the training step that drives β_t."""
        self.step = int(step)

    def part_names(self) -> list[str]:
        return ["ans", "answerability", "decomp", "intrinsic", "beta"]

    def score(self, samples: Sequence[Sample]) -> list[Score]:
        return score_with_embeddings(
            samples, self._prepare, self.embedder, max_chars=self.max_chars, floor=self.floor
        )

    def score_one(self, sample: Sample) -> Score:
        return self.score([sample])[0]

    def _prepare(self, sample: Sample) -> Prepared:
        p = self.params
        answers = gold_answers(sample.reference)
        rounds, infos, answer, unknown = _read(sample, p.search_tools, p.trust_information_tags)
        rounds = [r[: p.max_subqueries] for r in rounds[: p.max_steps]]
        steps = [
            (r, [split_docs(part)[: p.top_k_docs] for part in info.split("##") if part.strip()])
            for r, info in zip(rounds, infos[: p.max_steps], strict=False)
        ]
        parent = parent_question(sample)
        texts = [q for r in rounds for q in r] + [
            d for _, parts in steps for ds in parts for d in ds
        ]
        texts += [parent] if parent and rounds else []
        r_ans = float(em(answer, answers))

        def finish(vec: Vectors) -> Score:
            raw_a = answerability(steps, vec)
            raw_d = decomposition(parent, rounds, vec, p.rephrase_peak)
            a, d = min(1.0, max(0.0, raw_a)), min(1.0, max(0.0, raw_d))
            intrinsic = 0.5 * a + 0.5 * d
            beta = scheduled_beta(self.step, p)
            info: dict[str, object] = {"answer": (answer or "")[:200], "steps": len(rounds)}
            if p.adaptive_beta:
                beta, info["gate"] = self._gate(beta, r_ans, p)
            info.update(raw_answerability=raw_a, raw_decomp=raw_d)
            if unknown is not None:
                info["reason"] = unknown
            parts = {"ans": r_ans, "answerability": a, "decomp": d, "intrinsic": intrinsic}
            value = r_ans + beta * intrinsic * (1.0 - r_ans)
            return Score(value, parts={**parts, "beta": beta}, info=info)

        return texts, finish


def _read(
    sample: Sample, tools: frozenset[str], trust_tags: bool
) -> tuple[list[tuple[str, ...]], list[str], str | None, str | None]:
    """Non-empty search steps, non-empty retrieved text per step, the answer, and why the
    retrieved text is unknown (None when it is known)."""
    t = read_trajectory(sample, tools)
    unknown = None
    if isinstance(sample.completion, str):
        env = retrieved(sample, trust_tags)
        infos, unknown = env.blocks(), env.reason
    else:
        infos = _chat_information(sample, tools)
    return [r for r in t.rounds if r], [i for i in infos if i.strip()], t.answer, unknown


def _chat_information(sample: Sample, tools: frozenset[str]) -> list[str]:
    """Per assistant message that searched, its tool results joined with ``##``."""
    messages = response_messages(sample)
    steps: list[list[str]] = []
    pending = 0
    for m in messages:
        if not isinstance(m, Mapping):
            continue
        if m.get("role") == "assistant":
            _, calls = message_searches(m.get("tool_calls"), tools, [])
            if calls:
                steps.append([])
                pending = calls
        elif m.get("role") == "tool" and pending:
            steps[-1].append(message_text(m).strip())
            pending -= 1
    return ["##".join(s) for s in steps]
