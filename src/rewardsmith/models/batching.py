"""Token-budget batching, shared by the plain and the shared-prefix paths of ``hf_model``:
which rows go into one forward pass, and the right-padded tensors that carry them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = [
    "DEFAULT_MAX_BATCH_TOKENS",
    "default_batch_tokens",
    "right_padded",
    "token_budget_batches",
]

DEFAULT_MAX_BATCH_TOKENS = {"cpu": 2_048, "gpu": 16_384}
"""Tokens per forward pass when none is given. On a GPU large batches pay (a per-sample
loop waits on kernel launches); on a CPU they do not, and past a few thousand tokens they
run slower (activations fall out of cache) while memory grows with the budget."""


def default_batch_tokens(device: str) -> int:
    """``DEFAULT_MAX_BATCH_TOKENS`` for a torch device string."""
    return DEFAULT_MAX_BATCH_TOKENS["cpu" if device.split(":")[0] == "cpu" else "gpu"]


def token_budget_batches(
    lengths: Sequence[int], max_batch_tokens: int, max_padding: float = 1.0
) -> list[list[int]]:
    """Indices into ``lengths`` grouped into batches, longest first, each holding at most
    ``max_batch_tokens`` tokens once padded (rows times its longest row); an item longer
    than the budget is a batch of its own. With ``max_padding`` below 1, a row joins a
    batch only if padding it to the batch's width adds at most that share of the width.

    Example:
        >>> token_budget_batches([5, 100, 6, 7], 20)
        [[1], [3, 2], [0]]
        >>> token_budget_batches([5, 100, 6, 7], 20, max_padding=0.25)
        [[1], [3, 2], [0]]
        >>> token_budget_batches([4, 8, 7, 6], 100, max_padding=0.25)
        [[1, 2, 3], [0]]
    """
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    batches: list[list[int]] = []
    for i in order:
        current = batches[-1] if batches else None
        if (
            current
            and lengths[current[0]] * (len(current) + 1) <= max_batch_tokens
            and lengths[current[0]] - lengths[i] <= max_padding * lengths[current[0]]
        ):
            current.append(i)  # sorted longest first: the first row sets the padded width
        else:
            batches.append([i])
    return batches


def right_padded(torch: Any, rows: Sequence[Sequence[int]], pad: int) -> tuple[Any, Any]:
    """``(input_ids, attention_mask)`` on the CPU: ``rows`` right-padded with ``pad`` to the
    longest, the mask 1 on every real token."""
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for k, row in enumerate(rows):
        ids[k, : len(row)] = torch.tensor(list(row), dtype=torch.long)
        mask[k, : len(row)] = 1
    return ids, mask
