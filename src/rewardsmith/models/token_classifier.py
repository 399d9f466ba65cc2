"""A ``*ForTokenClassification`` model read at marked positions: one label row per segment.

What it computes: the logits a token classifier gives at the separator in front of each
segment of a text, as Fine-Grained RLHF (arXiv 2306.01693) reads its Longformer error
classifiers (``rm.segments`` uses it for R1). Any token-classification checkpoint works
(Longformer, RoBERTa, BERT, DeBERTa, ...): raw logits, no softmax.

Layout (the paper's): a list of words, ``lead`` (``question: ... answer:``), then for each
segment the separator word (``</s>`` by default) and the segment's words, encoded as
pre-split words (``is_split_into_words``) between the tokenizer's own special tokens
(``<s> ... </s>`` for Longformer, ``[CLS] ... [SEP]`` for BERT). A fast tokenizer encodes
each word on its own, so building the ids piece by piece gives the ids of the whole word
list; the tests check that against the paper's one-call encoding. The logits are read at
the first token of each separator word, where training put the segment's label (the first
token of each word).

What text cannot do: ``blank`` turns the tokenizer's special-token strings and the
separator string into spaces (for a text that is split into segments afterwards: such a
string opens no segment, and offsets still hold); ``mark`` removes them from every word
(until none is left; a word left empty is dropped); the separators are placed by
position, never searched for afterwards. A completion that writes ``</s>`` therefore
neither opens a segment nor shifts which position is read for which segment (the paper's
code searched the ids for ``</s>``, so it did both).

Length: ``mark`` never cuts; a ``Marked`` longer than ``limit()`` is the caller's to
handle, and ``logits_at`` refuses one (the paper truncated, and then read the wrong
positions or failed). Batches are sorted by length under a token budget
(``models.batching``), right-padded, run under ``inference_mode``; padding changes a
reading only by float rounding.

Loading follows ``models.loading`` (a directory as it is, no hub lookup for a missing
path, a checkpoint with weights to initialise at random refused); a checkpoint whose
``architectures`` names no ``*ForTokenClassification`` class is refused too, since a
sequence classifier's ``classifier`` weights load into a token head without a word of
complaint. One model per (source, dtype, device) per process, shared under a lock; the
handle is a few strings and numbers, so it pickles.

Example:
    >>> clf = TokenClassifier("path/to/token-classifier")  # doctest: +SKIP
    >>> lead, segments = ["question:", "Why?", "answer:"], [["Because,"], ["it", "is."]]
    >>> marked = clf.mark(lead, segments)  # doctest: +SKIP
    >>> clf.logits_at([marked])[0]  # doctest: +SKIP
    [[0.1, 1.3, -0.8], [0.0, -0.2, 2.1]]
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rewardsmith.errors import MissingExtraError
from rewardsmith.models.base import Unsupported
from rewardsmith.models.batching import default_batch_tokens, right_padded, token_budget_batches
from rewardsmith.models.joint import strip_specials
from rewardsmith.models.loading import load_pretrained, load_tokenizer, model_limit, model_source

__all__ = ["Marked", "TokenClassifier"]


@dataclass(frozen=True, slots=True)
class Marked:
    """An encoded input: its ``ids``, the position read for each segment, and how many of
    the ids are not the segments' (special tokens and the lead's words)."""

    ids: tuple[int, ...]
    positions: tuple[int, ...]
    fixed: int


@dataclass(frozen=True, slots=True)
class TokenClassifier:
    """A handle on a shared token classifier; cheap to copy, pickle and compare.

    Args:
        model: a local directory or a hub id.
        separator: the word put in front of each segment (the paper's ``</s>``).
        dtype: ``float32``, ``bfloat16``, ``float16`` or ``auto``.
        device: a torch device string.
        max_batch_tokens: tokens per forward pass, padding counted (None: the device's
            default, ``models.batching``).
        max_length: tokens per input (None: the model's limit).
    """

    model: str
    separator: str = "</s>"
    dtype: str = "float32"
    device: str = "cpu"
    max_batch_tokens: int | None = None
    max_length: int | None = None

    def _loaded(self) -> _Loaded:
        return _loaded(self.model, self.separator, self.dtype, self.device)

    def labels(self) -> tuple[str, ...]:
        """The model's label names by index (loads the model)."""
        return self._loaded().labels

    def limit(self) -> int:
        """The most tokens one input may have: ``max_length`` or the model's limit."""
        own = self._loaded().limit
        return own if self.max_length is None else min(own, self.max_length)

    def blank(self, text: str) -> str:
        """``text`` with every special-token string and the separator turned into spaces
        (as many as it had characters, so offsets into ``text`` still hold)."""
        return self._loaded().blank(text)

    def mark(self, lead: Sequence[str], segments: Sequence[Sequence[str]]) -> Marked:
        """The ids of ``lead`` then each segment behind a separator (see the layout)."""
        loaded = self._loaded()
        with loaded.lock:
            return loaded.mark(lead, segments)

    def logits_at(self, inputs: Sequence[Marked]) -> list[list[list[float]]]:
        """For each input, the label logits at each of its positions, in order. Raises
        when the model cannot run (the caller fails the items that needed it)."""
        limit = self.limit()
        too_long = [len(m.ids) for m in inputs if len(m.ids) > limit]
        if too_long:
            raise ValueError(f"an input of {too_long[0]} tokens is over the limit of {limit}")
        loaded = self._loaded()
        budget = self.max_batch_tokens or default_batch_tokens(self.device)
        with loaded.lock:
            return loaded.logits_at(inputs, budget)


class _Loaded:
    """A loaded tokenizer and token classifier; every call holds the lock."""

    def __init__(self, source: str, separator: str, dtype: str, device: str) -> None:
        try:
            import torch
            import transformers
        except ImportError as exc:
            raise MissingExtraError(exc.name or "transformers", "hf") from None
        self.torch = torch
        self.lock = threading.Lock()
        self.device = device
        archs = list(
            getattr(transformers.AutoConfig.from_pretrained(source), "architectures", None) or []
        )
        if archs and not any(str(a).endswith("ForTokenClassification") for a in archs):
            raise Unsupported(f"{source} is a {archs[0]}, not a *ForTokenClassification model")
        tok = load_tokenizer(transformers, source)
        torch_dtype: Any = dtype if dtype == "auto" else getattr(torch, dtype)
        model = load_pretrained(transformers.AutoModelForTokenClassification, source, torch_dtype)
        self.model = model.to(device).eval()
        config = model.config
        self.labels = tuple(str(config.id2label[i]) for i in range(int(config.num_labels)))
        self.limit = model_limit(tok, config)
        self.tokenizer = tok
        self.pad = tok.pad_token_id if tok.pad_token_id is not None else 0
        self.pre, self.post = _wrapping(tok)
        self.separator = self.words([separator], strip=False)
        if not self.separator:
            raise Unsupported(f"{source}: the separator {separator!r} encodes to no token")
        self._strip = _pattern(tok, separator)

    def blank(self, text: str) -> str:
        return self._strip.sub(lambda m: " " * len(m.group()), text)

    def words(self, words: Sequence[str], strip: bool = True) -> list[int]:
        """The ids of ``words`` encoded as pre-split words, no special tokens added."""
        if strip:
            words = [w for w in (strip_specials(self._strip, w) for w in words) if w.strip()]
        if not words:
            return []
        enc = self.tokenizer(list(words), is_split_into_words=True, add_special_tokens=False)
        return [int(i) for i in enc["input_ids"]]

    def mark(self, lead: Sequence[str], segments: Sequence[Sequence[str]]) -> Marked:
        ids = [*self.pre, *self.words(lead)]
        fixed = len(ids) + len(self.post)
        positions = []
        for segment in segments:
            positions.append(len(ids))
            ids += self.separator
            ids += self.words(segment)
        ids += self.post
        return Marked(tuple(ids), tuple(positions), fixed)

    def logits_at(self, inputs: Sequence[Marked], budget: int) -> list[list[list[float]]]:
        torch = self.torch
        out: list[list[list[float]]] = [[] for _ in inputs]
        batches = token_budget_batches([len(m.ids) for m in inputs], budget)
        with torch.inference_mode():
            for batch in batches:
                ids, mask = right_padded(torch, [inputs[i].ids for i in batch], self.pad)
                logits = self.model(
                    input_ids=ids.to(self.device), attention_mask=mask.to(self.device)
                ).logits.float()
                for row, i in enumerate(batch):
                    at = torch.tensor(inputs[i].positions, dtype=torch.long, device=logits.device)
                    out[i] = logits[row].index_select(0, at).cpu().tolist()
        return out


def _wrapping(tok: Any) -> tuple[list[int], list[int]]:
    """The special tokens the tokenizer puts before and after a word list."""
    bare = [
        int(i) for i in tok(["x"], is_split_into_words=True, add_special_tokens=False)["input_ids"]
    ]
    full = [int(i) for i in tok(["x"], is_split_into_words=True)["input_ids"]]
    for k in range(len(full) - len(bare) + 1):
        if full[k : k + len(bare)] == bare:
            return full[:k], full[k + len(bare) :]
    raise Unsupported("the tokenizer's special tokens do not wrap a word list")


def _pattern(tok: Any, separator: str) -> re.Pattern[str]:
    """Every special-token string of ``tok`` and ``separator``, longest first."""
    strings = {str(t.content) for t in tok.added_tokens_decoder.values() if t.special}
    strings |= {str(t) for t in tok.all_special_tokens} | {separator}
    found = sorted((t for t in strings if t), key=len, reverse=True)
    return re.compile("|".join(re.escape(t) for t in found))


_MODELS: dict[tuple[str, str, str, str], _Loaded] = {}
_MODELS_LOCK = threading.Lock()


def _loaded(model: str, separator: str, dtype: str, device: str) -> _Loaded:
    key = (model_source(model), separator, dtype, device)
    found = _MODELS.get(key)
    if found is None:
        with _MODELS_LOCK:
            found = _MODELS.get(key)
            if found is None:
                found = _MODELS[key] = _Loaded(*key)
    return found
