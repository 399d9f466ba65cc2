"""Reward-model losses (torch): Bradley-Terry with margin and label smoothing, centering,
and two listwise losses.

Notation: ``r_c`` and ``r_r`` are the rewards of the chosen and the rejected response of
a pair, ``m`` its margin, ``Δ = r_c − r_r − m`` and ``σ`` the logistic function.

- Bradley-Terry: ``−log σ(Δ)``. With ``m = 0`` this is the usual reward-model loss
  (InstructGPT, arXiv 2203.02155); a per-pair margin asks the chosen response to win by
  ``m`` (Llama 2's rating margins; Secrets of RLHF Part II's adaptive margin, where ``m``
  is the ensemble's mean preference strength, arXiv 2401.06080).
- Label smoothing (Secrets of RLHF Part II): ``−(1−ε) log σ(Δ) − ε log σ(−Δ)``: the label
  is trusted with probability ``1−ε``, which bounds how far a mislabelled pair pulls.
- Centering (Helping or Herding?, Eisenstein et al., arXiv 2312.09244): an auxiliary
  ``λ (r_c + r_r)²`` per pair, which pins the otherwise free offset of a Bradley-Terry
  reward near zero so that rewards from different prompts sit on one scale; that paper
  used λ = 0.01 (from recall: the catalog has no entry for it). For a group of N
  responses the term is ``λ (Σ_j s_j)²``, the same at N = 2.
- Listwise softmax (You Only Judge Once, arXiv 2604.10966, as the catalog gives it):
  ``−log(exp(s_1) / Σ_j exp(s_j))`` over the N scores of one prompt, response 1 being the
  best; at N = 2 it is Bradley-Terry.
- Plackett-Luce: ``Σ_{k<N} [−s_k + log Σ_{j≥k} exp(s_j)]``, the likelihood of the whole
  ranking (the catalog says YOJO's handling of full rankings was not found; this is the
  standard generalisation, offered as an option). At N = 2 it is Bradley-Terry too.

Every loss returns the mean over pairs (or groups). Groups of unequal size are padded:
``mask`` marks the real responses, and padded slots never enter a sum.

Example:
    >>> import torch
    >>> round(bradley_terry(torch.tensor([1.0]), torch.tensor([1.0])).item(), 4)  # log 2
    0.6931
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from torch import Tensor

__all__ = [
    "bradley_terry",
    "centering",
    "listwise_softmax",
    "plackett_luce",
]


def bradley_terry(
    chosen: Tensor,
    rejected: Tensor,
    margin: Tensor | float | None = None,
    label_smoothing: float = 0.0,
) -> Tensor:
    """Mean of ``−(1−ε) log σ(Δ) − ε log σ(−Δ)``, ``Δ = r_c − r_r − m``.

    Args:
        chosen, rejected: rewards, shape (B,).
        margin: a per-pair margin of shape (B,), one number for all, or None (0).
        label_smoothing: ε in [0, 0.5); 0 is plain Bradley-Terry.
    """
    import torch.nn.functional as F

    if not 0.0 <= label_smoothing < 0.5:
        raise ValueError(f"label_smoothing must be in [0, 0.5), got {label_smoothing}")
    delta = chosen - rejected
    if margin is not None:
        delta = delta - margin
    loss = -F.logsigmoid(delta)
    if label_smoothing:
        loss = (1.0 - label_smoothing) * loss - label_smoothing * F.logsigmoid(-delta)
    return loss.mean()


def centering(scores: Tensor, coef: float, mask: Tensor | None = None) -> Tensor:
    """Mean over rows of ``coef · (Σ_j s_j)²``; for pairs pass ``stack([r_c, r_r], 1)``.

    Args:
        scores: shape (B, N).
        mask: (B, N) booleans, True for real responses; None: all are.
    """
    total = scores.sum(dim=1) if mask is None else scores.masked_fill(~mask, 0.0).sum(dim=1)
    return coef * (total**2).mean()


def listwise_softmax(scores: Tensor, mask: Tensor | None = None) -> Tensor:
    """Mean over groups of ``−log softmax(s)_1``: column 0 holds the best response.

    Args:
        scores: shape (B, N), each row best first.
        mask: (B, N) booleans, True for real responses; None: all are.
    """
    import torch

    if mask is not None:  # a finite floor: -inf would put NaN in the padded gradients
        scores = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
    return (torch.logsumexp(scores, dim=1) - scores[:, 0]).mean()


def plackett_luce(scores: Tensor, mask: Tensor | None = None) -> Tensor:
    """Mean over groups of the Plackett-Luce negative log-likelihood of the order given.

    Args:
        scores: shape (B, N), each row best first; padded slots at the end of a row.
        mask: (B, N) booleans, True for real responses (a prefix of each row); None: all.
    """
    import torch

    if mask is None:
        mask = torch.ones_like(scores, dtype=torch.bool)
    scores = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
    # log Σ_{j≥k} exp(s_j) for every k: a reversed running logsumexp
    tail = torch.logcumsumexp(scores.flip(1), dim=1).flip(1)
    valid = mask.clone()
    last = mask.sum(dim=1) - 1  # the last real position's term is log(exp(s)/exp(s)) = 0
    valid[torch.arange(scores.shape[0]), last] = False
    return (tail - scores).masked_fill(~valid, 0.0).sum(dim=1).mean()
