"""``rm.segments``: Fine-Grained RLHF's R1, a token classifier's error label per sub-sentence.

What it computes: the dense relevance / repetition / incoherence reward R1 of Fine-Grained
RLHF (arXiv 2306.01693, QA-Feedback). The completion is split into sub-sentences; a token
classifier (the paper's was a Longformer; any ``*ForTokenClassification`` checkpoint
works, ``models.token_classifier``) reads ``question: <question> answer: </s> <sub-sentence
1> </s> <sub-sentence 2> ...``, and the label it gives at the ``</s>`` in front of each
sub-sentence decides that sub-sentence's reward: ``+reward`` when the no-error logit is
above the error logit, ``-reward`` otherwise (a tie is an error), placed on the
sub-sentence's last token. ``reward`` is 0.3 in the paper.

Value: the sum over sub-sentences; ``info["segments"]`` keeps the dense form,
``[{"end": character offset in Sample.text, "reward": r}]``, as ``judge.segments`` does, for
a trainer that puts each reward on the token where its sub-sentence ends (the values of
``info["segments"]`` always add up to the value). ``parts["no_error"]`` is the share of
error-free sub-sentences (the paper's relevance ratio); ``info["margins"]`` each
sub-sentence's no-error minus error logit. Range: [-reward x max_segments, reward x
max_segments].

Matched to the paper's code (allenai/FineGrainedRLHF at a1469d4, ``fgrlhf/reward_utils.py``
and ``tasks/qa_feedback/training/reward.py``): the sub-sentence rule (inside a sentence, a
new sub-sentence starts after a word ending in ``,`` ``;`` ``!`` or ``?`` when more than five
words follow; a piece shorter than five words is merged into the one before it, the first
piece of a sentence excepted); the input words (``question:``, the question, ``answer:``,
then ``</s>`` and each sub-sentence, split on whitespace and encoded as pre-split words);
the labels (the paper's classifier has ``Ignore``, ``NF-ERR``, ``O``: index 1 is the error,
2 no error, ``error_label`` and ``no_error_label``); the argmax between those two logits.
The question is ``meta["question"]`` when it is a string, else the prompt's text.

Where it differs, and why: sentences are split by rewardsmith's rule (after ``.`` ``!``
``?`` and CJK stops followed by a space, and at line breaks; ``judges.sentences``), not by
spaCy's parser, which is not a dependency: abbreviations ("e.g. this") can split where
spaCy would not. The separators are placed by position and special-token strings (and the
separator string) are taken out of the text (see the attacks below); the paper searched
the ids for ``</s>``. An empty completion scores ``-reward``, as one erroneous
sub-sentence (the paper's code gave 0: no sub-sentence, no penalty, so saying nothing beat
any answer with an error). An input over the model's limit is never truncated (the
paper's truncation read the wrong positions): see the limits below.

Limits, each the floor (``-reward x max_segments``, status ok, the reason in
``info["reason"]``) since the completion caused it: more than ``max_segments``
sub-sentences, over ``max_chars`` characters, or more tokens than the model takes. An input
too long because the question takes over half the model's tokens is an error status
(``TooLong``: not the completion's fault), as are a model that cannot be loaded or run,
label indices it lacks and a non-finite logit: never a number.

How it can be gamed (think like the policy; the paper's pitfall first): fewer
sub-sentences make fewer errors, so short answers minimise the penalty: R1 must be paired
with a completeness term (the paper's R3: ``rm.score`` with its preference model, scaled
with ``transform.affine``) or a length term. Padding with relevant but empty clauses earns
+reward each: ``max_segments`` bounds the value, and the same pairing pays for content, not
count. Writing ``</s>`` (or any special-token string) to open a sub-sentence or shift the
readings does nothing: such strings become spaces in the completion before it is split
(offsets still hold) and are removed from the question, and the separators are placed by
position. A huge completion earns the floor without a forward pass. What is not guarded: anything the
classifier itself mislabels.

Paper: Fine-Grained Human Feedback Gives Better Rewards for Language Model Training
(arXiv 2306.01693).

Example:
    >>> text = "The capital of France is Paris, which is a large city in Europe."
    >>> [text[a:b] for a, b in subsentence_spans(text)]
    ['The capital of France is Paris,', 'which is a large city in Europe.']
    >>> rm = RMSegments(RMSegmentsParams(model="path/to/rel-rm"))  # doctest: +SKIP
    >>> rm.score([Sample(prompt="Where?", completion="In Paris.")])[0].value  # doctest: +SKIP
    0.3
"""

from __future__ import annotations

import itertools
import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from pydantic import Field, model_validator

from rewardsmith.core import ItemReward, Params, Sample, Score, register
from rewardsmith.core.reward import is_strict
from rewardsmith.errors import ConfigError
from rewardsmith.judges.rm.score import plain_text
from rewardsmith.judges.segments import FINE_GRAINED
from rewardsmith.judges.sentences import sentence_spans
from rewardsmith.models.base import ModelError, Unsupported, failed_score
from rewardsmith.models.token_classifier import Marked, TokenClassifier

__all__ = [
    "MIN_SUBSENTENCE_WORDS",
    "RMSegments",
    "RMSegmentsParams",
    "subsentence_spans",
    "subsentence_starts",
]

MIN_SUBSENTENCE_WORDS = 5
_CLAUSE_END = frozenset(",;!?")


class RMSegmentsParams(Params):
    """Parameters of ``rm.segments`` (see the module docstring)."""

    model: str = Field(min_length=1)
    """A local directory or hub id of a ``*ForTokenClassification`` model."""
    reward: float = Field(0.3, gt=0.0, le=10.0, allow_inf_nan=False)
    """+reward for a sub-sentence without error, -reward for one with (the paper's R1: 0.3)."""
    max_segments: int = Field(64, ge=1, le=1024)
    error_label: int = Field(1, ge=0)
    """The label index that means an error (the paper's ``NF-ERR``)."""
    no_error_label: int = Field(2, ge=0)
    """The label index that means no error (the paper's ``O``)."""
    separator: str = Field("</s>", min_length=1, pattern=r"^\S+$")
    """The word in front of each sub-sentence, as the classifier was trained."""
    max_batch_tokens: int | None = Field(None, ge=1)
    """Tokens per forward pass, padding counted; None: 2,048 on a CPU, 16,384 on a GPU."""
    max_length: int | None = Field(None, ge=2)
    """Tokens per input; None: the model's limit (4,096 for the paper's Longformer)."""
    dtype: Literal["float32", "bfloat16", "float16", "auto"] = "float32"
    device: str = "cpu"

    @model_validator(mode="after")
    def _two_labels(self) -> RMSegmentsParams:
        if self.error_label == self.no_error_label:
            raise ValueError("error_label and no_error_label must differ")
        return self


def subsentence_starts(words: Sequence[str], min_words: int = MIN_SUBSENTENCE_WORDS) -> list[bool]:
    """For each word of one sentence, whether a sub-sentence starts at it (the paper's
    rule; see the module docstring).

    Example:
        >>> words = "It is in Paris, a city, and it is very large indeed.".split()
        >>> [w for w, start in zip(words, subsentence_starts(words)) if start]
        ['It', 'and']
    """
    starts = [True] + [False] * (len(words) - 1)
    current = 0
    for k in range(1, len(words)):
        if words[k - 1][-1] not in _CLAUSE_END or k + min_words >= len(words):
            continue
        if k - current >= min_words:
            starts[k], current = True, k
        elif current > 0:  # the piece since `current` is too short: it joins the one before
            starts[current], starts[k], current = False, True, k
    return starts


def subsentence_spans(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` character offsets of each sub-sentence of ``text``: from its first
    character to just after its last non-space one (where its reward belongs)."""
    bounds = [0] + [end for _, end in sentence_spans(text)]
    starts: list[int] = []
    for low, high in itertools.pairwise(bounds):
        where, at = [], low
        words = text[low:high].split()
        for word in words:
            at = text.index(word, at, high)
            where.append(at)
            at += len(word)
        starts += [w for w, s in zip(where, subsentence_starts(words), strict=True) if s]
    if not starts:
        return []
    ends = [*starts[1:], len(text)]
    return [(s, s + len(text[s:e].rstrip())) for s, e in zip(starts, ends, strict=True)]


@dataclass(frozen=True, slots=True)
class _Plan:
    marked: Marked
    ends: list[int]


@register(
    summary="a token classifier's error label per sub-sentence as dense +-0.3 rewards, summed",
    paper=FINE_GRAINED,
)
class RMSegments(ItemReward):
    """Fine-Grained RLHF's R1; the whole batch goes to the classifier at once."""

    name = "rm.segments"
    work = "model"

    def __init__(self, params: RMSegmentsParams) -> None:
        self.params = params
        _check_local(params)
        self.classifier = TokenClassifier(
            params.model,
            params.separator,
            params.dtype,
            params.device,
            params.max_batch_tokens,
            params.max_length,
        )

    @property
    def range(self) -> tuple[float, float]:
        bound = self.params.reward * self.params.max_segments
        return (-bound, bound)

    def part_names(self) -> list[str]:
        return ["no_error"]

    def score_one(self, sample: Sample) -> Score:
        return self.score([sample])[0]

    def score(self, samples: Sequence[Sample]) -> list[Score]:
        out: list[Score | None] = [None] * len(samples)
        todo = []
        for i, sample in enumerate(samples):
            if self.max_chars is not None and len(sample.text) > self.max_chars:
                out[i] = self._floor(sample.text, f"completion over {self.max_chars} characters")
            else:
                todo.append(i)
        if todo:
            self._run(todo, samples, out)
        return [s if s is not None else Score.skipped("not scored") for s in out]

    def _run(self, todo: list[int], samples: Sequence[Sample], out: list[Score | None]) -> None:
        """Plan every item, then read the ones that need the classifier in one call."""
        try:
            self._check_labels()
            limit = self.classifier.limit()
        except Exception as exc:
            if is_strict():
                raise
            for i in todo:
                out[i] = failed_score(ModelError.of(exc))
            return
        ready: dict[int, _Plan] = {}
        for i in todo:
            try:
                planned = self._plan(samples[i], limit)
            except Exception as exc:
                if is_strict():
                    raise
                planned = Score.failed(exc)
            if isinstance(planned, Score):
                out[i] = planned
            else:
                ready[i] = planned
        if not ready:
            return
        rows: Sequence[list[list[float]] | ModelError]
        try:
            rows = self.classifier.logits_at([plan.marked for plan in ready.values()])
        except Exception as exc:
            if is_strict():
                raise
            rows = [ModelError.of(exc)] * len(ready)
        for (i, plan), row in zip(ready.items(), rows, strict=True):
            out[i] = self._to_score(row, plan)

    def _plan(self, sample: Sample, limit: int) -> _Plan | Score:
        """The encoded input for ``sample``, or its Score when the classifier is not needed."""
        text = sample.text
        # special-token strings become spaces: they open no sub-sentence, offsets stay
        spans = subsentence_spans(self.classifier.blank(text))
        if not spans:
            r = -self.params.reward
            info = {"reason": "empty completion", "segments": [{"end": len(text), "reward": r}]}
            return Score(r, parts={"no_error": 0.0}, info=info)
        if len(spans) > self.params.max_segments:
            most = self.params.max_segments
            return self._floor(text, f"{len(spans)} sub-sentences, over max_segments={most}")
        question = sample.meta.get("question")
        if not isinstance(question, str):
            question = plain_text(sample.prompt)
        lead = ["question:", *question.split(), "answer:"]
        marked = self.classifier.mark(lead, [text[a:b].split() for a, b in spans])
        if len(marked.ids) <= limit:
            return _Plan(marked, [b for _, b in spans])
        if marked.fixed > limit // 2:  # the question's fault, not the completion's
            why = f"the question takes {marked.fixed} of the model's {limit} tokens"
            return failed_score(ModelError("TooLong", why))
        return self._floor(text, f"{len(marked.ids)} tokens, over {limit}")

    def _floor(self, text: str, reason: str) -> Score:
        floor = self.range[0]
        info = {"reason": reason, "segments": [{"end": len(text), "reward": floor}]}
        return Score(floor, parts={"no_error": 0.0}, info=info)

    def _check_labels(self) -> None:
        labels = self.classifier.labels()
        p = self.params
        if max(p.error_label, p.no_error_label) >= len(labels):
            raise Unsupported(
                f"rm.segments: error_label={p.error_label} and no_error_label="
                f"{p.no_error_label} need a model with more labels than {list(labels)}"
            )

    def _to_score(self, rows: list[list[float]] | ModelError, plan: _Plan) -> Score:
        if isinstance(rows, ModelError):
            return failed_score(rows)
        p = self.params
        margins = [row[p.no_error_label] - row[p.error_label] for row in rows]
        if not all(math.isfinite(m) for m in margins):
            return failed_score(ModelError("NonFinite", f"logits {rows}"[:500]))
        flags = [1 if m > 0 else 0 for m in margins]  # the paper's argmax: a tie is an error
        segments = [
            {"end": end, "reward": p.reward if f else -p.reward}
            for f, end in zip(flags, plan.ends, strict=True)
        ]
        value = sum(s["reward"] for s in segments)  # as a reader adds info["segments"] up
        tokens = len(plan.marked.ids)
        info = {"segments": segments, "no_error": flags, "margins": margins, "tokens": tokens}
        return Score(value, parts={"no_error": sum(flags) / len(flags)}, info=info)


def _check_local(params: RMSegmentsParams) -> None:
    """A local model's files checked at build time (a hub id waits for its first call):
    a token classifier with both label indices."""
    path = os.path.join(os.path.expanduser(params.model), "config.json")
    if not os.path.isfile(path):
        return
    try:
        with open(path, encoding="utf-8") as f:
            config = json.load(f)
    except (OSError, ValueError):
        return
    archs = [str(a) for a in config.get("architectures") or []]
    if archs and not any(a.endswith("ForTokenClassification") for a in archs):
        raise ConfigError(f"rm.segments: {params.model} is a {archs[0]}, not a token classifier")
    id2label = config.get("id2label")
    n = len(id2label) if isinstance(id2label, dict) and id2label else config.get("num_labels", 2)
    if max(params.error_label, params.no_error_label) >= int(n):
        raise ConfigError(
            f"rm.segments: the model has {n} labels; error_label={params.error_label} and "
            f"no_error_label={params.no_error_label} must be below that"
        )
