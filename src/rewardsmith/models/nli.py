"""Natural language inference: P(entailment) of a (premise, hypothesis) pair from any
``transformers`` sequence-classification model trained on NLI.

What it computes: the pair encoded as the model was trained (``tokenizer(premise,
hypothesis)``: ``[CLS] p [SEP] h [SEP]`` with segment ids for BERT, ``<s> p </s></s> h
</s>`` for RoBERTa and DeBERTa), one forward pass, the softmax over the model's labels,
and the probability of its entailment label. Which label that is comes from the
checkpoint's ``config.id2label``: the one named "entailment" (any case; "ENTAILMENT",
"Entailment"), never one that only contains the word ("not_entailment"). A checkpoint
without one (``LABEL_0``, ``LABEL_1``, ...) is refused when it loads, naming its labels;
``entailment_label`` names the label for such a model. Loading follows
``models.loading``: a directory as it is, a path that does not exist is an error (never
a hub lookup), a checkpoint whose classifier would be initialised at random is refused.
Install with ``pip install 'rewardsmith[hf]'``.

Truncation: each text is cut at ``MAX_CHARS`` characters, then the pair at the model's
limit (``max_length``, default the model's own), taking tokens from the longer side
(``longest_first``). ``keep_end`` takes them from the start of that side instead of the
end: for "the reasoning entails the answer" the end of a long reasoning, where it
concludes, is what must be kept. Each result says whether its pair was cut.

One model per (source, device) per process, loaded on first use under a lock and shared
by every reward and thread (each call holds its lock). The handle a reward keeps
(``NLIModel``) is a few strings and numbers, so rewards pickle. As in
``models.embeddings``, pairs are batched by exact token length (no row is padded) and
every result is kept in an LRU cache of ``CACHE_SIZE`` pairs, so a pair gets the same
probability whatever it is batched with.

Example:
    >>> nli = NLIModel("path/to/nli-model")  # doctest: +SKIP
    >>> nli.entailment([("A man is eating.", "Someone eats.")])[0].probability  # doctest: +SKIP
    0.97
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rewardsmith.errors import MissingExtraError
from rewardsmith.models.base import Unsupported
from rewardsmith.models.loading import load_pretrained, load_tokenizer, model_limit, model_source

__all__ = ["CACHE_SIZE", "MAX_CHARS", "Entailment", "NLIModel", "entailment_index"]

MAX_CHARS = 16_384
CACHE_SIZE = 16_384
_WORD = re.compile(r"[^a-z]")


@dataclass(frozen=True, slots=True)
class Entailment:
    """One pair's P(entailment), and whether the pair was cut to fit."""

    probability: float
    truncated: bool = False


def entailment_index(id2label: Mapping[Any, Any], name: str | None = None) -> int:
    """The index of the entailment label in ``id2label``: the label equal to ``name``
    when given, else the one that reads "entailment" (case and punctuation aside).
    ``Unsupported`` naming the labels when there is none."""
    labels = {int(k): str(v) for k, v in id2label.items()}
    if name is not None:
        found = [k for k, v in labels.items() if v == name]
    else:
        found = [k for k, v in labels.items() if _WORD.sub("", v.lower()) == "entailment"]
    if len(found) != 1:
        wanted = f"a label {name!r}" if name is not None else "one label named 'entailment'"
        raise Unsupported(
            f"an NLI model needs {wanted} in config.id2label, which has "
            f"{[labels[k] for k in sorted(labels)]} (set entailment_label)"
        )
    return found[0]


@dataclass(frozen=True, slots=True)
class NLIModel:
    """A handle on a shared NLI classifier; cheap to copy, pickle and compare.

    Args:
        model: a local directory or a hub id.
        device: a torch device string.
        batch_size: pairs per forward pass.
        max_length: tokens per pair (None: the model's limit).
        entailment_label: the label that means entailment (None: found by name).
    """

    model: str
    device: str = "cpu"
    batch_size: int = 16
    max_length: int | None = None
    entailment_label: str | None = None

    def entailment(
        self, pairs: Sequence[tuple[str, str]], keep_end: bool = False
    ) -> list[Entailment]:
        """P(entailment) of each (premise, hypothesis), in order. Raises when the model
        cannot be loaded or run (the caller fails the items that needed it)."""
        backend = _backend(self.model, self.device)
        index = entailment_index(backend.id2label, self.entailment_label)
        rows = backend.probabilities(list(pairs), keep_end, self.max_length, self.batch_size)
        return [Entailment(probs[index], cut) for probs, cut in rows]


class _Backend:
    """A loaded tokenizer and classifier; every call holds the lock."""

    def __init__(self, source: str, device: str) -> None:
        try:
            import torch
            import transformers
        except ImportError as exc:
            raise MissingExtraError(exc.name or "transformers", "hf") from None
        self._torch = torch
        self.lock = threading.Lock()
        self.tokenizer = load_tokenizer(transformers, source)
        model = load_pretrained(transformers.AutoModelForSequenceClassification, source)
        self.model = model.to(device).eval()
        self.device = device
        self.id2label: dict[int, str] = {
            int(k): str(v) for k, v in (model.config.id2label or {}).items()
        }
        self.limit = model_limit(self.tokenizer, model.config)
        self._cache: OrderedDict[tuple[str, str, bool, int], tuple[list[float], bool]] = (
            OrderedDict()
        )

    def probabilities(
        self, pairs: list[tuple[str, str]], keep_end: bool, max_length: int | None, batch: int
    ) -> list[tuple[list[float], bool]]:
        limit = min(max_length or self.limit, self.limit)
        keys = [(*_cut(p, h, keep_end), keep_end, limit) for p, h in pairs]
        with self.lock:
            missing = list(dict.fromkeys(k for k in keys if k not in self._cache))
            if missing:
                for key, row in zip(missing, self._forward(missing, batch), strict=True):
                    self._cache[key] = row
            out = []
            for key in keys:
                self._cache.move_to_end(key)
                out.append(self._cache[key])
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return out

    def _encode(
        self, premise: str, hypothesis: str, keep_end: bool, limit: int
    ) -> tuple[Any, bool]:
        tok = self.tokenizer
        enc = tok(premise, hypothesis, truncation=False, verbose=False)
        if len(enc["input_ids"]) <= limit:
            return enc, False
        side = tok.truncation_side
        tok.truncation_side = "left" if keep_end else "right"
        try:
            enc = tok(premise, hypothesis, truncation="longest_first", max_length=limit)
        finally:
            tok.truncation_side = side
        return enc, True

    def _forward(
        self, keys: list[tuple[str, str, bool, int]], batch: int
    ) -> list[tuple[list[float], bool]]:
        torch = self._torch
        encoded = [self._encode(*key) for key in keys]
        out: list[tuple[list[float], bool]] = [([], False)] * len(keys)
        by_length: dict[int, list[int]] = {}
        for i, (enc, _) in enumerate(encoded):
            by_length.setdefault(len(enc["input_ids"]), []).append(i)
        step = max(1, batch)
        with torch.inference_mode():
            for _, rows in sorted(by_length.items()):
                for k in range(0, len(rows), step):
                    chunk = rows[k : k + step]
                    inputs = {
                        name: torch.tensor([encoded[i][0][name] for i in chunk], device=self.device)
                        for name in encoded[chunk[0]][0]
                        if name in ("input_ids", "attention_mask", "token_type_ids")
                    }
                    logits = self.model(**inputs).logits.float()
                    probs = torch.softmax(logits, dim=-1).cpu().tolist()
                    for i, row in zip(chunk, probs, strict=True):
                        out[i] = ([float(x) for x in row], encoded[i][1])
        return out


def _cut(premise: str, hypothesis: str, keep_end: bool) -> tuple[str, str]:
    if keep_end:
        return premise[-MAX_CHARS:], hypothesis[-MAX_CHARS:]
    return premise[:MAX_CHARS], hypothesis[:MAX_CHARS]


_MODELS: dict[tuple[str, str], _Backend] = {}
_MODELS_LOCK = threading.Lock()


def _backend(model: str, device: str) -> _Backend:
    key = (model_source(model), device)
    backend = _MODELS.get(key)
    if backend is None:
        with _MODELS_LOCK:
            backend = _MODELS.get(key)
            if backend is None:
                backend = _MODELS[key] = _Backend(*key)
    return backend
