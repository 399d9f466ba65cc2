"""A reconstruction of ChatShopBuddy's DCPO trajectory selection (numpy only).

ChatShopBuddy (Cheng, Mao, ... Dou, arXiv 2603.06065) samples K = 16 trajectories per
query, "dynamically" keeps K/2 contrastive ones "selected by reward and by reasoning
length, favouring short high-reward against low-reward", and runs a GRPO-style update
on that subset. That is all our catalog has (entry 17, from a third-party summary): it
does not say how the kept half splits between the two sides, how reward and length
combine, what "dynamic" changes, which length counts, or what happens to groups with too
few distinct rewards. **The rule below is our explicit, parameterised reconstruction,
not the paper's.**

The rule, per group (the ``n`` scored rollouts of one prompt, None dropped):

1. ``m = floor(n · fraction)`` rollouts are kept (``fraction`` 0.5, as K/2).
2. The group is sorted best first by (reward descending, length ascending), ties in
   both kept in input order. So among equal rewards the shorter one is better, and among
   the lowest rewards the longest is the worst.
3. The ``h = ceil(m · high_share)`` best are kept (the "short, high-reward" side) and the
   ``m - h`` worst (the "low-reward" side); ``high_share`` 0.5 splits the kept rollouts
   evenly, the odd one going to the high side. Since ``m <= n`` the sides never overlap.

``dcpo_select`` returns the keep mask; ``dcpo`` returns GRPO advantages (``grpo``'s
options pass through) computed on the kept subset alone, None for dropped rollouts
(leave them out of the loss, which is not the same as an advantage of 0.0).

Degenerate groups:

- None values are never kept and are not counted in ``n``; their length may be None.
- A group with fewer than 2 distinct rewards (all equal, or a single rollout) has no
  contrast: nothing is kept when ``drop_constant`` (the default; its GRPO advantages
  would all be 0 anyway, as in DAPO's dynamic sampling). With ``drop_constant=False`` it
  keeps ``m`` by the same rule, which then ranks by length alone; ``dcpo`` gives them 0.0.
- ``m`` can be 0 (``n = 1`` with fraction 0.5): the group keeps nothing.
- Odd ``n``: ``m`` rounds down (``n = 5`` keeps 2); odd ``m``: the extra goes to the high
  side (``m = 3``: 2 high, 1 low).
- Rollouts with the same reward and the same length are interchangeable; which of them
  is kept follows input order. Otherwise permuting the input permutes the mask.

Known issues: the selection biases the update toward short trajectories (the catalog's
pitfall), and more than that: when few rollouts have a low reward, the "low" side is
filled with the longest high-reward ones, which then get negative advantages within the
subset, so a correct long answer is pushed down. A fraction whose ``n · fraction`` lands
within 1e-9 below an integer is rounded up to it (floating-point slack).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence

from rewardsmith.advantages.estimators import grpo
from rewardsmith.errors import ConfigError, InputError

__all__ = ["dcpo", "dcpo_select"]

_SLACK = 1e-9


def dcpo_select(
    values: Sequence[float | None],
    groups: Sequence[Hashable],
    lengths: Sequence[float | None],
    *,
    fraction: float = 0.5,
    high_share: float = 0.5,
    drop_constant: bool = True,
) -> list[bool]:
    """Which rollouts DCPO keeps: the best and worst by (reward, -length) per group.

    Args:
        values: one reward per rollout; None means "not scored" (never kept).
        groups: the group (prompt) id of each rollout.
        lengths: the reasoning length of each rollout (tokens or characters; >= 0). May
            be None where the value is None.
        fraction: the share of each group kept, ``floor(n · fraction)`` (0 to 1).
        high_share: the share of the kept rollouts taken from the high-reward end (0 to 1).
        drop_constant: keep nothing from groups with fewer than 2 distinct rewards.

    Returns:
        One bool per rollout in input order.

    Example:
        >>> # ranked best first: 1@10, 1@30, 1@50, 0@5, 0@20, 0@40; keep 2 high, 1 low
        >>> dcpo_select([1, 1, 0, 1, 0, 0], ["q"] * 6, [30, 10, 20, 50, 40, 5])
        [True, True, False, False, True, False]
    """
    if not 0.0 <= fraction <= 1.0:
        raise ConfigError(f"dcpo: fraction must be within [0, 1], got {fraction!r}")
    if not 0.0 <= high_share <= 1.0:
        raise ConfigError(f"dcpo: high_share must be within [0, 1], got {high_share!r}")
    members = _members(values, groups, lengths)
    keep = [False] * len(values)
    for idx in members:
        rewards = {values[i] for i in idx}
        if drop_constant and len(rewards) < 2:
            continue
        m = math.floor(len(idx) * fraction + _SLACK)
        h = math.ceil(m * high_share - _SLACK)
        ranked = sorted(idx, key=lambda i: (-_num(values[i]), _num(lengths[i])))
        for i in ranked[:h] + ranked[len(ranked) - (m - h) :]:
            keep[i] = True
    return keep


def dcpo(
    values: Sequence[float | None],
    groups: Sequence[Hashable],
    lengths: Sequence[float | None],
    *,
    fraction: float = 0.5,
    high_share: float = 0.5,
    drop_constant: bool = True,
    scale_by_std: bool = True,
    eps: float = 1e-6,
    ddof: int = 1,
) -> list[float | None]:
    """GRPO advantages over the rollouts ``dcpo_select`` keeps; None for the others.

    The group mean and std are those of the kept subset, as a GRPO update on that subset
    would compute them. Arguments are those of ``dcpo_select`` and of ``grpo`` (whose
    default std is the sample std, ``ddof=1``, as verl's and TRL's).

    Example:
        >>> out = dcpo([1, 0, 1, 0], ["q"] * 4, [30, 20, 10, 40])  # keeps 1@10 and 0@40
        >>> [None if a is None else round(a, 4) for a in out]
        [None, None, 0.7071, -0.7071]
    """
    keep = dcpo_select(
        values,
        groups,
        lengths,
        fraction=fraction,
        high_share=high_share,
        drop_constant=drop_constant,
    )
    kept = [v if k else None for v, k in zip(values, keep, strict=True)]
    return grpo(kept, groups, scale_by_std=scale_by_std, eps=eps, ddof=ddof)


def _num(x: float | None) -> float:
    assert x is not None  # checked in _members
    return float(x)


def _members(
    values: Sequence[float | None],
    groups: Sequence[Hashable],
    lengths: Sequence[float | None],
) -> list[list[int]]:
    """Indices of the scored rollouts of each group, groups in order of first appearance."""
    if not len(values) == len(groups) == len(lengths):
        raise InputError(
            f"values, groups and lengths have {len(values)}, {len(groups)} and {len(lengths)} items"
        )
    members: dict[Hashable, list[int]] = {}
    bad_value, bad_length = [], []
    for i, (v, g, n) in enumerate(zip(values, groups, lengths, strict=True)):
        if v is None:
            continue
        if not math.isfinite(v):
            bad_value.append(i)
        if n is None or isinstance(n, bool) or not (math.isfinite(n) and n >= 0):
            bad_length.append(i)
        members.setdefault(g, []).append(i)
    if bad_value:
        raise InputError(
            f"non-finite values at indices {bad_value[:10]}; use None for 'not scored'"
        )
    if bad_length:
        raise InputError(
            f"scored rollouts need a finite length >= 0; not at indices {bad_length[:10]}"
        )
    return list(members.values())
