"""Model backends for model-based rewards: one interface, local or remote models.

``Backend`` (``models.base``) is what every model-based reward calls; ``load_backend``
(``models.load``) turns a model name or URL into one: ``HFBackend`` (``models.local``,
``transformers`` on this machine) or a server client. Sentence embeddings live in
``models.embeddings``, P(entailment) from an NLI classifier in ``models.nli``.

Nothing heavy is imported here: the names below are loaded from their modules on first
access, and ``torch`` and ``transformers`` only when a model is first needed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rewardsmith.models.base import (
        Backend,
        ModelError,
        ModelInput,
        TokenLogprobs,
        Unsupported,
        failed_score,
    )
    from rewardsmith.models.embeddings import (
        DEFAULT_EMBEDDING_MODEL,
        Embedder,
        SentenceEmbedder,
        score_with_embeddings,
    )
    from rewardsmith.models.load import load_backend, resolve_backend
    from rewardsmith.models.local import HFBackend

__all__ = [
    "DEFAULT_EMBEDDING_MODEL",
    "Backend",
    "Embedder",
    "HFBackend",
    "ModelError",
    "ModelInput",
    "SentenceEmbedder",
    "TokenLogprobs",
    "Unsupported",
    "failed_score",
    "load_backend",
    "resolve_backend",
    "score_with_embeddings",
]

_WHERE = {
    "Backend": "base",
    "ModelError": "base",
    "ModelInput": "base",
    "TokenLogprobs": "base",
    "Unsupported": "base",
    "failed_score": "base",
    "DEFAULT_EMBEDDING_MODEL": "embeddings",
    "Embedder": "embeddings",
    "SentenceEmbedder": "embeddings",
    "score_with_embeddings": "embeddings",
    "load_backend": "load",
    "resolve_backend": "load",
    "HFBackend": "local",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f"rewardsmith.models.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'rewardsmith.models' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
