"""Model backends for model-based rewards (sentence embeddings so far).

Nothing heavy is imported here: ``torch`` and ``transformers`` load inside
``rewardsmith.models.embeddings`` the first time a model is needed.
"""

from rewardsmith.models.embeddings import (
    DEFAULT_EMBEDDING_MODEL,
    Embedder,
    SentenceEmbedder,
    score_with_embeddings,
)

__all__ = ["DEFAULT_EMBEDDING_MODEL", "Embedder", "SentenceEmbedder", "score_with_embeddings"]
