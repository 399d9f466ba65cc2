"""O²-Searcher's open-ended terms on embeddings: R_fact (finding F1) and R_div (query diversity).

The formulas, their sources and departures are in ``rewardsmith.verifiable.search.o2``;
this module holds the arithmetic, on unit vectors from any ``Embedder``, so that tests can
pin the vectors. ``assignment`` is a small Hungarian algorithm (e-maxx's O(n²m) form,
vectorised over columns) standing in for ``scipy.optimize.linear_sum_assignment``, which
is not a dependency.

Example:
    >>> import numpy as np
    >>> assignment(np.array([[4.0, 1.0], [2.0, 0.0]]))
    [(0, 1), (1, 0)]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import numpy.typing as npt

__all__ = [
    "ALL_SIMILAR",
    "assignment",
    "fact_f1",
    "findings",
    "length_factor",
    "quantity_weight",
    "query_diversity",
]

Matrix = npt.NDArray[np.float64]
ALL_SIMILAR = 0.98
"""Above this cosine for every pair, the queries count as one repeated query."""


def findings(answer: str, split: Literal["hyphen", "bullets"] = "hyphen") -> list[str]:
    """The findings of an answer: pieces between hyphens (the code), or "- " bullet lines."""
    content = answer.strip()
    if not content or content.lower() == "and":
        return []
    if split == "hyphen":
        return [p.strip() for p in content.split("-") if p.strip()]
    lines = (line.strip() for line in content.split("\n"))
    return [line[2:].strip() for line in lines if line.startswith("- ") and line[2:].strip()]


def assignment(cost: Matrix) -> list[tuple[int, int]]:
    """A minimum-cost one-to-one assignment of rows to columns: min(rows, cols) pairs."""
    if cost.size == 0:
        return []
    flip = cost.shape[0] > cost.shape[1]
    a = cost.T if flip else cost
    n, m = a.shape
    u, v = np.zeros(n + 1), np.zeros(m + 1)
    owner = np.zeros(m + 1, dtype=np.int64)  # column -> row (1-based), 0 when free
    way = np.zeros(m + 1, dtype=np.int64)
    for i in range(1, n + 1):
        owner[0], j0 = i, 0
        minv = np.full(m + 1, np.inf)
        used = np.zeros(m + 1, dtype=bool)
        while True:
            used[j0] = True
            i0 = owner[j0]
            free = ~used
            cur = np.concatenate(([np.inf], a[i0 - 1] - u[i0] - v[1:]))
            better = free & (cur < minv)
            minv[better], way[better] = cur[better], j0
            masked = np.where(free, minv, np.inf)
            j1 = int(np.argmin(masked))
            delta = masked[j1]
            u[owner[used]] += delta
            v[used] -= delta
            minv[free] -= delta
            j0 = j1
            if owner[j0] == 0:
                break
        while j0:
            j1 = int(way[j0])
            owner[j0] = owner[j1]
            j0 = j1
    pairs = [(int(owner[j]) - 1, j - 1) for j in range(1, m + 1) if owner[j]]
    return sorted((c, r) for r, c in pairs) if flip else sorted(pairs)


def fact_f1(
    generated: Matrix, reference: Matrix, threshold: float, n_generated: int | None = None
) -> tuple[float, float, float]:
    """(P, R, F1) of the findings against the reference findings, the code's matching.

    Args:
        generated: unit rows of the generated findings.
        reference: unit rows of the reference findings.
        threshold: the cosine a match needs.
        n_generated: the number of findings P divides by (default: the rows given).
    """
    n_gen = len(generated) if n_generated is None else n_generated
    if n_gen == 0 or len(reference) == 0 or len(generated) == 0:
        return 0.0, 0.0, 0.0
    sim = generated @ reference.T
    for j in range(sim.shape[1]):
        column = sim[:, j]
        if int(np.sum(column >= threshold)) > 1:  # keep only the best finding of this column
            keep = np.zeros_like(column)
            best = int(np.argmax(column))
            keep[best] = column[best]
            sim[:, j] = keep
    matches = sum(1 for i, j in assignment(1.0 - sim) if sim[i, j] >= threshold)
    p, r = matches / n_gen, matches / len(reference)
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def quantity_weight(n: int) -> float:
    """w(n): 0.5 up to 5 queries, + 0.05 a query to 1.0 at 15, then 0.9 − 0.02(n − 15).

    The drop from 1.0 to 0.88 at 16 is the code's (its comment says "0.55 to 0.9").
    """
    if n <= 5:
        return 0.5
    if n <= 15:
        return 0.5 + 0.05 * (n - 5)
    return 0.9 - 0.02 * (n - 15)


def length_factor(tokens: int) -> float:
    """clip(tokens / 8, 0.1, 1): short queries (special tokens counted) earn less."""
    return min(1.0, max(0.1, tokens / 8))


def query_diversity(queries: Sequence[str], vectors: Matrix, tokens: Sequence[int]) -> float:
    """R_div of the queries (already capped), given their unit rows and token counts."""
    n = len(queries)
    if n < 2:
        return 0.0
    sim = vectors @ vectors.T
    if bool(np.all(sim > ALL_SIMILAR)):
        return 0.5 * 0.2 ** (n - 1)
    w = quantity_weight(n)
    per_query: dict[str, float] = {}
    for i, query in enumerate(queries):
        spread = (float(np.sum(1.0 - sim[i])) - (1.0 - float(sim[i, i]))) / (n - 1)
        per_query[query] = spread * w * length_factor(tokens[i])
    return sum(per_query.values()) / len(per_query)
