"""Finding mislabelled preference pairs by ensemble disagreement, and flipping them.

Paper: Secrets of RLHF in Large Language Models Part II: Reward Modeling (Wang et al.,
arXiv 2401.06080). Train M reward models on the same data, differing only in seed (head
initialisation and data order). For pair i and model m, ``d[m][i] = r_m(chosen) −
r_m(rejected)``; the pair's preference strength is the mean ``μ̂_i`` over the models, with
spread ``σ̂_i`` (population standard deviation). The paper finds about a quarter of the
pairs of a real data set with ``μ̂ < 0``, the lowest ~20% by strength hurting training
and 20–40% near chance; it flips the labels of the lowest-strength pairs, and pairs the
flip with an adaptive margin ``m_i = μ̂_i`` in the Bradley-Terry loss.

The rule here: a pair is suspect when it is among the ``fraction`` lowest by ``μ̂``
(default 0.2, the paper's bottom ~20% per the catalog), ``μ̂ < −margin`` (default 0: the
ensemble prefers the other response on average) and more than ``min_agreement`` of the
models prefer the other response (default 0.5: a majority). Suspects are flipped
(``action="flip"``) or dropped (``"drop"``). The paper's rule is the first condition
alone; the other two keep a clean data set from losing its weakest correct pairs (with
them off, ``margin=None, min_agreement=None``, this is the paper's rule exactly).
``adaptive_margin=True`` sets each kept pair's margin to its strength (flipped pairs:
``−μ̂``), for ``train_reward_model(margin="data")``.

Defaults: M = 10 members in ``ensemble_margins`` (the catalog marks that figure as
recalled, not verified); the 20% comes from notes on the paper's code.

Known issues: the ensemble costs M trainings; the models score the pairs they were trained
on, so a small model that memorises its data agrees with every label (train the members
briefly, or on folds, when the data set is small); a pair the ensemble cannot learn
either way (``μ̂`` near 0) is not flipped under the default margin, which is the point.

Example:
    >>> report = find_flips([[1.0, -2.0, 0.5], [0.8, -1.5, 0.7]], fraction=0.5)
    >>> report.suspects
    (1,)
"""

from __future__ import annotations

import math
import os
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from rewardsmith.errors import ConfigError
from rewardsmith.training.preferences import Pair

__all__ = [
    "FlipReport",
    "Strength",
    "apply_flips",
    "ensemble_margins",
    "find_flips",
    "preference_strength",
]


@dataclass(frozen=True, slots=True)
class Strength:
    """One pair's preference strength over the ensemble: the mean ``μ̂`` and spread ``σ̂``
    of ``r(chosen) − r(rejected)``, and the share of models that prefer ``rejected``."""

    mean: float
    std: float
    against: float


@dataclass(frozen=True, slots=True)
class FlipReport:
    """Each pair's strength and the indices of the suspects (lowest strength first)."""

    strengths: tuple[Strength, ...]
    suspects: tuple[int, ...]


def preference_strength(margins: Sequence[Sequence[float]]) -> list[Strength]:
    """Strength of every pair from ``margins[m][i] = r_m(chosen_i) − r_m(rejected_i)``.

    Raises:
        ConfigError: no models, or models with different numbers of pairs.
    """
    if not margins:
        raise ConfigError("preference_strength: no ensemble members")
    n = len(margins[0])
    if any(len(row) != n for row in margins):
        raise ConfigError("preference_strength: members scored different numbers of pairs")
    out = []
    for i in range(n):
        column = [float(row[i]) for row in margins]
        against = sum(d < 0 for d in column) / len(column)
        out.append(Strength(statistics.fmean(column), statistics.pstdev(column), against))
    return out


def find_flips(
    margins: Sequence[Sequence[float]],
    *,
    fraction: float = 0.2,
    margin: float | None = 0.0,
    min_agreement: float | None = 0.5,
) -> FlipReport:
    """The pairs an ensemble says are mislabelled (see the module docstring).

    Args:
        margins: ``margins[m][i]``, model m's ``r(chosen) − r(rejected)`` on pair i.
        fraction: only the lowest ``fraction`` of pairs by mean strength can be suspects.
        margin: a suspect's mean strength is below ``−margin``; None: no such condition.
        min_agreement: more than this share of the models prefer the rejected response;
            None: no such condition.
    """
    problems = []
    if not 0.0 <= fraction <= 1.0:
        problems.append(f"fraction: in [0, 1], not {fraction}")
    if margin is not None and math.isnan(margin):
        problems.append("margin: a number, not NaN")
    if min_agreement is not None and not 0.0 <= min_agreement <= 1.0:
        problems.append(f"min_agreement: in [0, 1], not {min_agreement}")
    if problems:
        raise ConfigError("find_flips: " + "; ".join(problems))
    strengths = preference_strength(margins)
    lowest = sorted(range(len(strengths)), key=lambda i: (strengths[i].mean, i))
    pool = lowest[: math.floor(fraction * len(strengths))]
    suspects = tuple(
        i
        for i in pool
        if (margin is None or strengths[i].mean < -margin)
        and (min_agreement is None or strengths[i].against > min_agreement)
    )
    return FlipReport(tuple(strengths), suspects)


def apply_flips(
    pairs: Sequence[Pair],
    report: FlipReport,
    *,
    action: str = "flip",
    adaptive_margin: bool = False,
) -> list[Pair]:
    """The pairs with the suspects flipped (or dropped), in their original order.

    Args:
        action: ``flip`` (swap chosen and rejected) or ``drop``.
        adaptive_margin: set each pair's margin to its strength, measured after the flip.
    """
    if action not in ("flip", "drop"):
        raise ConfigError(f"apply_flips: action is 'flip' or 'drop', not {action!r}")
    if len(pairs) != len(report.strengths):
        raise ConfigError(f"apply_flips: {len(pairs)} pairs but {len(report.strengths)} strengths")
    suspects = set(report.suspects)
    out = []
    for i, (pair, strength) in enumerate(zip(pairs, report.strengths, strict=True)):
        sign = 1.0
        if i in suspects:
            if action == "drop":
                continue
            pair, sign = pair.swapped(), -1.0
            pair = replace(pair, origin=f"{pair.origin} (flipped)")
        if adaptive_margin:
            pair = replace(pair, margin=sign * strength.mean)
        out.append(pair)
    return out


def ensemble_margins(
    pairs: Sequence[Pair],
    base_model: str | os.PathLike[str],
    work_dir: str | os.PathLike[str],
    config: Any = None,
    members: int = 10,
    progress: bool = True,
) -> list[list[float]]:
    """Train ``members`` reward models on ``pairs`` (seeds ``config.seed + m``, nothing
    held out) and return each one's ``r(chosen) − r(rejected)`` on every pair.

    Args:
        config: a ``TrainConfig`` (its loss must be ``bt``); None: the defaults.
        work_dir: member m is saved in ``work_dir/member-m``.
    """
    from rewardsmith.training.preferences import PreferenceData
    from rewardsmith.training.train import TrainConfig, score_responses, train_from_config

    base = config if config is not None else TrainConfig()
    if members < 1:
        raise ConfigError(f"ensemble_margins: members at least 1, not {members}")
    if base.loss != "bt":
        raise ConfigError("ensemble_margins: the members train with loss='bt'")
    data = PreferenceData(tuple(pairs), (), "ensemble pairs", {"records": len(pairs)})
    items = [(p.prompt, r) for p in pairs for r in (p.chosen, p.rejected)]
    out = []
    for m in range(members):
        member = replace(base, seed=base.seed + m, eval_fraction=0.0)
        folder = Path(work_dir) / f"member-{m}"
        train_from_config(member, data, base_model, folder, progress=progress)
        scores = score_responses(
            folder, items, render=member.render, max_length=member.max_length,
            batch_size=member.batch_size, device=member.device,
        )  # fmt: skip
        out.append([c - r for c, r in zip(scores[0::2], scores[1::2], strict=True)])
    return out
