"""Group-relative advantage estimators for RL post-training (numpy only).

Each estimator takes one scalar reward per rollout and the id of the group (prompt) the
rollout belongs to, and returns one advantage per rollout, in input order::

    f(values: Sequence[float | None], groups: Sequence[Hashable], **options)
        -> list[float | None]

Estimators (``g`` is the group of rollout ``i``, ``n`` its size after dropping None):

- ``grpo``: ``A_i = (r_i - mean_g) / (std_g + eps)``, ``std_g`` the *sample* std
  (``ddof=1``, Bessel's correction), as the trainers compute it: verl's
  ``compute_grpo_outcome_advantage`` (``torch.std``) and TRL's ``GRPOTrainer`` (``nanstd``,
  with the correction) both do. ``ddof=0`` (the population std) is an option.
  ``scale_by_std=False`` gives ``r_i - mean_g``. DeepSeekMath (GRPO), arXiv 2402.03300.
- ``dr_grpo``: ``A_i = r_i - mean_g``. Dr. GRPO, "Understanding R1-Zero-Like
  Training: A Critical Perspective", arXiv 2503.20783. Only the advantage half of Dr.
  GRPO lives here: its other fix (no per-response length normalisation, a constant
  token divisor instead) belongs to the policy loss, not to the advantage.
- ``rloo``: leave-one-out baseline, ``A_i = r_i - mean_{j != i} r_j
  = n / (n - 1) * (r_i - mean_g)``. "Back to Basics: Revisiting REINFORCE Style
  Optimization for Learning from Human Feedback in LLMs", arXiv 2402.14740.
- ``reinforce_pp``: REINFORCE++ with a group baseline (verl's
  ``reinforce_plus_plus_baseline``): ``c_i = r_i - mean_g``, then ``A_i = c_i /
  (std_batch(c) + eps)`` with the std of *all* centred values of the batch (singleton
  groups included, as zeros). If that std is 0 the centred values are returned. (The
  batch mean of ``c`` is 0 by construction, so it is not subtracted again.)
  ``group_baseline=False`` is plain REINFORCE++ (verl's ``reinforce_plus_plus`` for an
  outcome reward): ``A_i = (r_i - mean_batch) / (std_batch + eps)``, groups ignored.
  REINFORCE++, arXiv 2501.03262. The std is the population std (``ddof=0``) by default:
  the trainers whiten per *token* (verl's ``masked_whiten``, OpenRLHF), over thousands of
  tokens, where Bessel's correction is negligible; ``ddof=1`` reproduces verl exactly for
  one-token responses.
- ``brpo``: Writing-Zero's Bootstrapped Relative Policy Optimisation, arXiv
  2506.00103. Per group, one reference rollout ``ref`` is drawn uniformly; every other
  rollout gets ``A_i = R_i`` (no normalisation) and the reference gets 0. The paper's
  ``R_i`` is a pairwise GenRM verdict (+1 if ``o_i`` beats ``o_ref`` in every ordering
  and vote, else -1); here the judge is replaced by comparing scalar values: ``win``
  (+1) if ``r_i > r_ref``, ``tie`` (0) if equal, ``loss`` (-1) if less. ``tie=-1.0``
  reproduces the paper's strict "must win" rule. A group is dropped (all 0.0) when
  ``|sum_i R_i| / n > max_imbalance`` (0.6 in the paper, ``None`` disables).
- ``stable_reinforce_filter``: R1-Reward's StableReinforce advantage filter, arXiv
  2505.02835 (code ``yfzhang114/r1_reward``, ``ReplayBuffer.normalize``). Takes
  advantages, not rewards, and no groups: ``Â = (A - μ) / sqrt(max(σ², 1e-8))`` over the
  whole batch, then ``Â = 0`` where it falls outside ``[μ - clip, μ + clip]`` and where
  ``|Â| > max_abs`` (clip 3, max_abs 10).

Degenerate input, the same for every estimator:

- a None value gets advantage None and is left out of its group's statistics;
- a group of size 1 (after dropping None) gets 0.0: it has no baseline. (verl gives it
  its raw reward instead, with baseline 0 and std 1; ``tests/advantages/test_estimators_verl.py``
  checks that this is the only difference from verl's estimators);
- a group whose values are all equal gets 0.0 for every member, exactly (checked
  before any division, so no NaN and no ``eps``-sized residue);
- results are finite floats, correct for any finite rewards: means and stds are taken
  in a scaled form (each group's, or the batch's, values divided by a power of two
  near their largest magnitude, which is exact), so no square overflows and rewards of
  1e300 give the advantages of rewards of 1 (before, a std overflowed to inf beyond
  about 1e154 and every advantage silently became 0.0). A non-finite input value (an
  integer too large for a float included), or a result that itself overflows (centred
  values beyond about 1.8e308: ``dr_grpo`` of ±1.7e308), raises ``InputError``;
- permuting the inputs permutes the outputs, except for ``brpo``, whose random
  reference depends on input order (see its docstring).

Known issues:

- ``reinforce_pp`` whitens over the whole batch, as REINFORCE++ does: a group whose
  rewards are on a far larger scale than the others' (1e160 against 1) takes almost all
  of the batch std, and the other groups' advantages shrink by that ratio (their signs
  and ratios are kept, nothing overflows). Normalise reward scales before mixing tasks.
- ``grpo`` divides by a small std: two near-equal rewards become ±1/(1 + eps/std),
  i.e. noise in a reward is amplified to full-size advantages. Dr. GRPO drops the std
  for this reason (and because it up-weights too-easy and too-hard prompts).
- ``brpo`` with a single random reference is very noisy; the scalar comparison is a
  stand-in for the paper's judge and sees only the sign of the difference.
- ``stable_reinforce_filter`` reproduces a quirk of the reference code: the bounds are
  centred on the *raw* mean μ, not on 0, so when the advantages fed in have a mean
  far from 0 most normalised values are zeroed. ``reference_bounds=False`` centres
  them on 0 (the commonly described 3-sigma clip). The reference code also adds 1e-8
  to every advantage; that offset is left out here so constant input gives exact 0.

ChatShopBuddy's DCPO trajectory selection (arXiv 2603.06065) is in ``dcpo.py``: the
catalog (from a third-party summary) gives only its structure, so the rule there is our
documented reconstruction, not the paper's.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Sequence

import numpy as np
import numpy.typing as npt

from rewardsmith.errors import ConfigError, InputError

__all__ = [
    "brpo",
    "dr_grpo",
    "grpo",
    "reinforce_pp",
    "rloo",
    "stable_reinforce_filter",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
_TINY = float(np.finfo(np.float64).tiny)


def _split(
    values: Sequence[float | None], groups: Sequence[Hashable]
) -> list[tuple[IntArray, FloatArray]]:
    """(indices, values) per group, None dropped, groups in order of first appearance."""
    if len(values) != len(groups):
        raise InputError(f"values has {len(values)} items but groups has {len(groups)}")
    members: dict[Hashable, list[int]] = {}
    bad: list[int] = []
    for i, (v, g) in enumerate(zip(values, groups, strict=True)):
        if v is None:
            continue
        if not _finite(v):
            bad.append(i)
        members.setdefault(g, []).append(i)
    if bad:
        raise InputError(f"non-finite values at indices {bad[:10]}; use None for 'not scored'")
    return [
        (np.asarray(idx, dtype=np.intp), np.asarray([values[i] for i in idx], dtype=np.float64))
        for idx in members.values()
    ]


def _finite(v: float) -> bool:
    try:
        return math.isfinite(v)
    except OverflowError:  # an int too large for a float
        return False


def _scale(v: FloatArray) -> tuple[FloatArray, float]:
    """``(v / s, s)`` with ``s`` a power of two within a factor 2 of ``max |v|`` (1 if 0).

    Dividing by a power of two is exact (short of subnormals), so statistics of ``v / s``
    times ``s`` are those of ``v``; and ``|v / s| < 2``, so no square overflows.
    """
    m = float(np.max(np.abs(v))) if v.size else 0.0
    if m == 0.0:
        return v, 1.0
    e = math.frexp(m)[1] - 1  # 2**e <= m < 2**(e + 1); e <= 1023, so 2**e is finite
    scaled: FloatArray = np.ldexp(v, -e)
    return scaled, math.ldexp(1.0, e)


def _std(w: FloatArray, ddof: int) -> float:
    """The std of ``w`` with ``ddof``; 0 when there are not more than ``ddof`` values."""
    return float(w.std(ddof=ddof)) if w.size > ddof else 0.0


def _assemble(n: int, parts: list[tuple[IntArray, FloatArray]]) -> list[float | None]:
    out: list[float | None] = [None] * n
    for idx, adv in parts:
        if not np.all(np.isfinite(adv)):
            raise InputError(f"advantage overflowed at indices {idx.tolist()[:10]}")
        for i, a in zip(idx.tolist(), adv.tolist(), strict=True):
            out[i] = float(a)
    return out


def _per_group(
    values: Sequence[float | None],
    groups: Sequence[Hashable],
    fn: Callable[[FloatArray], FloatArray],
) -> list[float | None]:
    """Apply ``fn`` to each group of >= 2 distinct values; other groups get zeros."""
    parts = []
    for idx, v in _split(values, groups):
        degenerate = v.size < 2 or bool(np.all(v == v[0]))
        with np.errstate(over="ignore", invalid="ignore"):  # _assemble reports overflow
            parts.append((idx, np.zeros_like(v) if degenerate else fn(v)))
    return _assemble(len(values), parts)


def grpo(
    values: Sequence[float | None],
    groups: Sequence[Hashable],
    *,
    scale_by_std: bool = True,
    eps: float = 1e-6,
    ddof: int = 1,
) -> list[float | None]:
    """GRPO advantage: ``(r - mean_g) / (std_g + eps)`` (DeepSeekMath, arXiv 2402.03300).

    Args:
        values: one reward per rollout; None means "not scored".
        groups: the group (prompt) id of each rollout.
        scale_by_std: divide by the group std; False gives ``r - mean_g``.
        eps: added to the std before dividing (>= 0).
        ddof: 1 (the default) for the sample std, as verl (``torch.std``) and TRL
            (``nanstd``) compute it; 0 for the population std (numpy's default).

    Returns:
        One advantage per rollout in input order (None where the value was None).

    Example:
        >>> [round(a, 4) for a in grpo([1.0, 0.0, 0.0, 1.0], ["p"] * 4)]
        [0.866, -0.866, -0.866, 0.866]
        >>> [round(a, 4) for a in grpo([1.0, 0.0, 0.0, 1.0], ["p"] * 4, ddof=0)]
        [1.0, -1.0, -1.0, 1.0]
    """
    if not eps >= 0 or not math.isfinite(eps):
        raise ConfigError(f"grpo: eps must be a finite number >= 0, got {eps!r}")
    if ddof not in (0, 1):
        raise ConfigError(f"grpo: ddof must be 0 or 1, got {ddof!r}")

    def fn(v: FloatArray) -> FloatArray:
        w, s = _scale(v)
        centred: FloatArray = w - w.mean()
        if not scale_by_std:
            return centred * s
        # (r - mean) / (std + eps) = (w - mean_w) / (std_w + eps / s), with no overflow
        denom = _std(w, ddof) + eps / s
        scaled: FloatArray = centred / denom if denom > 0 else np.zeros_like(v)
        return scaled

    return _per_group(values, groups, fn)


def dr_grpo(values: Sequence[float | None], groups: Sequence[Hashable]) -> list[float | None]:
    """Dr. GRPO advantage: ``r - mean_g`` (arXiv 2503.20783).

    The length-normalisation fix of Dr. GRPO belongs to the loss, not to this function.

    Example:
        >>> dr_grpo([1.0, 2.0, 6.0], ["p"] * 3)
        [-2.0, -1.0, 3.0]
    """
    return _per_group(values, groups, _centred)


def _centred(v: FloatArray) -> FloatArray:
    w, s = _scale(v)
    out: FloatArray = (w - w.mean()) * s
    return out


def rloo(values: Sequence[float | None], groups: Sequence[Hashable]) -> list[float | None]:
    """RLOO advantage: ``r_i - mean_{j != i} r_j = n/(n-1) * (r_i - mean_g)`` (arXiv 2402.14740).

    Example:
        >>> rloo([1.0, 0.0, 0.0], ["p"] * 3)
        [1.0, -0.5, -0.5]
    """

    def fn(v: FloatArray) -> FloatArray:
        w, s = _scale(v)
        out: FloatArray = (v.size / (v.size - 1) * (w - w.mean())) * s
        return out

    return _per_group(values, groups, fn)


def reinforce_pp(
    values: Sequence[float | None],
    groups: Sequence[Hashable],
    *,
    eps: float = 1e-6,
    ddof: int = 0,
    group_baseline: bool = True,
) -> list[float | None]:
    """REINFORCE++ advantage, with a group baseline by default (arXiv 2501.03262).

    ``c_i = r_i - mean_g``, then ``A_i = c_i / (std(c over the batch) + eps)``, the std
    over every scored rollout of the batch (singleton and constant groups contribute
    their zeros). If that std is 0, the centred values are returned.
    ``group_baseline=False``: ``c_i = r_i - mean_batch`` instead (plain REINFORCE++).

    Args:
        values: one reward per rollout; None means "not scored".
        groups: the group (prompt) id of each rollout.
        eps: added to the std before dividing (>= 0).
        ddof: 0 (the default) for the population std, as token-level whitening over
            long responses gives; 1 for the sample std.
        group_baseline: subtract each group's mean (REINFORCE++-baseline) rather than the
            batch's.

    Example:
        >>> [round(a, 4) for a in reinforce_pp([1.0, 0.0, 0.0, 1.0], ["p"] * 4)]
        [1.0, -1.0, -1.0, 1.0]
    """
    if not eps >= 0 or not math.isfinite(eps):
        raise ConfigError(f"reinforce_pp: eps must be a finite number >= 0, got {eps!r}")
    if ddof not in (0, 1):
        raise ConfigError(f"reinforce_pp: ddof must be 0 or 1, got {ddof!r}")
    if len(values) != len(groups):
        raise InputError(f"values has {len(values)} items but groups has {len(groups)}")
    centred = dr_grpo(values, groups if group_baseline else [0] * len(values))
    idx = [i for i, c in enumerate(centred) if c is not None]
    c_all = np.asarray([centred[i] for i in idx], dtype=np.float64)
    w, s = _scale(c_all)
    std = _std(w, ddof)
    if std == 0.0:
        return centred
    with np.errstate(over="ignore", invalid="ignore"):
        adv = w / (std + eps / s)  # c / (std_c + eps), each side divided by s
    return _assemble(len(values), [(np.asarray(idx, dtype=np.intp), adv)])


def brpo(
    values: Sequence[float | None],
    groups: Sequence[Hashable],
    *,
    seed: int = 0,
    win: float = 1.0,
    tie: float = 0.0,
    loss: float = -1.0,
    max_imbalance: float | None = 0.6,
) -> list[float | None]:
    """Writing-Zero's BRPO advantage with a scalar comparison as the judge (arXiv 2506.00103).

    For each group of ``n >= 2`` scored rollouts, in order of the first appearance of
    its id, one reference index is drawn with ``numpy.random.default_rng(seed)
    .integers(n)`` (one shared generator, one draw per such group). So the result is
    deterministic given ``seed`` and the input order, and reordering the input can
    change which rollout is the reference. Each other rollout gets ``win``, ``tie`` or
    ``loss`` as its value is greater than, equal to or less than the reference's; the
    reference gets 0.0. If ``max_imbalance`` is set and ``|sum R| / n`` exceeds it, the
    whole group gets 0.0 (the paper drops it; 0.6 with n = 16).

    Args:
        values: one reward per rollout; None means "not scored".
        groups: the group (prompt) id of each rollout.
        seed: seed of the generator that draws the references.
        win, tie, loss: the advantage for beating, tying or losing to the reference.
            The paper's rule ("+1 only if o_i wins every comparison") is ``tie=-1.0``.
        max_imbalance: the group-dropping threshold, or None to keep every group.

    Example:
        >>> brpo([3.0, 1.0, 2.0, 2.0], ["p"] * 4, max_imbalance=None)  # seed 0 draws ref 3
        [1.0, -1.0, 0.0, 0.0]
    """
    if max_imbalance is not None and not max_imbalance >= 0:
        raise ConfigError(f"brpo: max_imbalance must be >= 0 or None, got {max_imbalance!r}")
    if not all(math.isfinite(x) for x in (win, tie, loss)):
        raise ConfigError("brpo: win, tie and loss must be finite")
    rng = np.random.default_rng(seed)
    parts = []
    for idx, v in _split(values, groups):
        adv = np.zeros_like(v)
        if v.size >= 2:
            ref = int(rng.integers(v.size))
            adv = np.where(v > v[ref], win, np.where(v == v[ref], tie, loss))
            adv[ref] = 0.0
            if max_imbalance is not None and abs(float(adv.sum())) / v.size > max_imbalance:
                adv = np.zeros_like(v)
        parts.append((idx, adv.astype(np.float64)))
    return _assemble(len(values), parts)


def stable_reinforce_filter(
    advantages: Sequence[float | None],
    *,
    clip: float = 3.0,
    max_abs: float = 10.0,
    min_var: float = 1e-8,
    reference_bounds: bool = True,
) -> list[float | None]:
    """R1-Reward's StableReinforce advantage normalisation and filter (arXiv 2505.02835).

    Over all scored (non-None, finite) advantages: ``μ`` = mean, ``σ²`` = population
    variance, ``Â = (A - μ) / sqrt(max(σ², min_var))``. ``Â`` becomes 0 outside
    ``[μ - clip, μ + clip]`` (``reference_bounds=True``, the reference code's bounds,
    centred on the raw mean) or ``[-clip, clip]`` (``reference_bounds=False``), and
    where ``|Â| > max_abs``. None stays None; a NaN or infinite input gets 0.0 and is
    left out of ``μ`` and ``σ`` (the reference code would zero the whole batch).

    Example:
        >>> stable_reinforce_filter([1.0, -1.0])
        [1.0, -1.0]
        >>> stable_reinforce_filter([100.0, 101.0])  # the raw-mean quirk zeroes both
        [0.0, 0.0]
    """
    if not (clip > 0 and max_abs > 0 and min_var > 0):
        raise ConfigError("stable_reinforce_filter: clip, max_abs and min_var must be > 0")
    idx = [i for i, a in enumerate(advantages) if a is not None and math.isfinite(a)]
    a = np.asarray([advantages[i] for i in idx], dtype=np.float64)
    out: list[float | None] = [None if x is None else 0.0 for x in advantages]
    if a.size == 0:
        return out
    w, scale = _scale(a)  # huge advantages: no overflow in the variance
    mu_w = float(w.mean())
    mu = mu_w * scale
    floor = min_var / scale / scale if scale > 1e-150 else math.inf
    norm = (w - mu_w) / math.sqrt(max(float(w.var()), floor, _TINY))
    centre = mu if reference_bounds else 0.0
    keep = (norm >= centre - clip) & (norm <= centre + clip) & (np.abs(norm) <= max_abs)
    norm = np.where(keep & np.isfinite(norm), norm, 0.0)
    for i, x in zip(idx, norm.tolist(), strict=True):
        out[i] = float(x)
    return out
