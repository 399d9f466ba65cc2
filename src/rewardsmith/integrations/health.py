"""Reward health: is a GRPO run getting any learning signal from its rewards?

A GRPO run learns nothing, silently, when every group's rewards are equal (all right or
all wrong: the group-relative advantages are all 0, TRL#5697) or when every completion
is cut at the length limit (the reward never sees an answer). ``batch_health`` measures
one batch; ``RewardHealth`` follows a run, warns once when ``patience`` batches in a row
had no signal, and can stop a TRL run through ``RewardHealth.callback()``.

What one batch reports (``BatchHealth``):

- ``zero_spread``: the share of groups (two members or more, with values) whose values
  are all equal within ``tol``: no advantage, no gradient from the reward;
- ``clipped``: the share of completions that hit the length limit, known when the
  samples carry token ids (``Sample.tokens.ids``, as TRL passes ``completion_ids``) and
  the limit or the EOS token is given: a completion is clipped when it has
  ``max_completion_length`` tokens or more, or, when ``eos_token_id`` is known (TRL's own
  rule, its ``completions/clipped_ratio``), when it does not end in it; None when unknown;
- ``mean`` and ``parts``: the mean value, and each part's mean over the items that
  computed it;
- ``statuses``: the share of items with status ``error``, ``timeout``, ``skipped``
  (parse failures of a judge are errors).

A batch has no signal when it has groups and all of them have zero spread, or when every
completion was clipped. A run is also wrong when its mean reward falls: GRPO maximises the
reward, so the mean of the last ``patience`` batches lying below the first ``patience``
batches' by more than three standard errors means the optimiser is chasing something
else (a term outside a gate that group normalisation blows up to a full-size advantage,
say). ``RewardHealth`` warns once for that too (``falling``). The reward server reports the same spread counts on ``/metrics``
(``rewardsmith_groups_total{spread}``).

Example:
    >>> from rewardsmith.core import Sample, Score
    >>> h = batch_health([Sample(group=1), Sample(group=1)], [Score(1.0), Score(1.0)])
    >>> h.zero_spread, h.signal
    (1.0, False)
"""

from __future__ import annotations

import logging
import math
import statistics
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from rewardsmith.core import Sample, Score
from rewardsmith.core.reward import group_indices
from rewardsmith.integrations._common import part_means, status_shares

__all__ = ["BatchHealth", "RewardHealth", "RewardHealthWarning", "batch_health", "group_spread"]

_log = logging.getLogger("rewardsmith.health")


class RewardHealthWarning(UserWarning):
    """A run has had no learning signal from its rewards for ``patience`` batches."""


@dataclass(frozen=True)
class BatchHealth:
    """One batch's reward health (see the module docstring)."""

    items: int
    groups: int
    zero_spread: float | None
    clipped: float | None
    mean: float | None
    statuses: dict[str, float] = field(default_factory=dict)
    parts: dict[str, float] = field(default_factory=dict)
    step: int | None = None

    @property
    def signal(self) -> bool:
        """Whether the rewards can move a GRPO policy at all on this batch."""
        if self.clipped is not None and self.items and self.clipped >= 1.0:
            return False
        return not (self.groups and self.zero_spread is not None and self.zero_spread >= 1.0)

    def metrics(self) -> dict[str, float]:
        """The figures as ``rewardsmith/...`` metrics (those that are known)."""
        out: dict[str, float] = {}
        if self.zero_spread is not None:
            out["rewardsmith/zero_spread_groups"] = self.zero_spread
        if self.clipped is not None:
            out["rewardsmith/clipped"] = self.clipped
        return out

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "signal": self.signal}


def group_spread(
    samples: Sequence[Sample], scores: Sequence[Score], tol: float = 1e-9
) -> tuple[int, int]:
    """``(groups, flat)``: the groups with at least two valued members, and how many of
    them have all values within ``tol`` of each other."""
    groups = flat = 0
    for members in group_indices(samples):
        values = [float(v) for i in members if (v := scores[i].value) is not None]
        finite = [v for v in values if math.isfinite(v)]
        if len(finite) < 2:
            continue
        groups += 1
        flat += max(finite) - min(finite) <= tol
    return groups, flat


def batch_health(
    samples: Sequence[Sample],
    scores: Sequence[Score],
    *,
    part_names: Sequence[str] = (),
    max_completion_length: int | None = None,
    eos_token_id: int | None = None,
    tol: float = 1e-9,
    step: int | None = None,
) -> BatchHealth:
    """The health of one scored batch (see the module docstring)."""
    groups, flat = group_spread(samples, scores, tol)
    values = [float(s.value) for s in scores if s.value is not None]
    shares = status_shares(scores) if scores else {}
    return BatchHealth(
        items=len(scores),
        groups=groups,
        zero_spread=flat / groups if groups else None,
        clipped=_clipped_share(samples, max_completion_length, eos_token_id),
        mean=math.fsum(values) / len(values) if values else None,
        statuses={k: v for k, v in shares.items() if k in ("error", "timeout", "skipped")},
        parts=part_means(scores, part_names) if part_names else {},
        step=step,
    )


def _clipped_share(samples: Sequence[Sample], limit: int | None, eos: int | None) -> float | None:
    if (limit is None and eos is None) or not samples:
        return None
    clipped = 0
    for s in samples:
        ids = list(s.tokens.ids) if s.tokens is not None else None
        if ids is None:
            return None  # unknown for this batch
        if eos is not None:  # TRL's rule: no EOS, cut by the limit
            clipped += not ids or ids[-1] != eos
        else:
            clipped += limit is not None and len(ids) >= limit
    return clipped / len(samples)


class RewardHealth:
    """Follows a run's reward health batch by batch.

    Args:
        patience: batches in a row without signal before the warning (and the stop).
        stop: with ``callback()`` in a TRL trainer, stop training at that point.
        max_completion_length, eos_token_id: how a clipped completion is recognised
            (the callback fills them from the trainer's config and tokenizer).
        tol: two values closer than this are equal.
    """

    def __init__(
        self,
        patience: int = 10,
        *,
        stop: bool = False,
        max_completion_length: int | None = None,
        eos_token_id: int | None = None,
        tol: float = 1e-9,
    ) -> None:
        if patience < 1:
            raise ValueError("patience must be at least 1")
        self.patience = patience
        self.stop = stop
        self.max_completion_length = max_completion_length
        self.eos_token_id = eos_token_id
        self.tol = tol
        self.history: list[BatchHealth] = []
        self.streak = 0
        self.warned = False
        self.fell_at: int | None = None
        """The batch (1-based) at which the mean reward was first seen falling."""

    @property
    def stalled(self) -> bool:
        """``patience`` batches in a row have had no signal."""
        return self.streak >= self.patience

    def observe(
        self,
        samples: Sequence[Sample],
        scores: Sequence[Score],
        part_names: Sequence[str] = (),
        step: int | None = None,
    ) -> BatchHealth:
        """Measure one batch, keep it, and warn once when the run has stalled."""
        health = batch_health(
            samples,
            scores,
            part_names=part_names,
            max_completion_length=self.max_completion_length,
            eos_token_id=self.eos_token_id,
            tol=self.tol,
            step=step,
        )
        self.history.append(health)
        self.streak = 0 if health.signal else self.streak + 1
        if self.stalled and not self.warned:
            self.warned = True
            message = self.diagnosis()
            _log.warning(message)
            warnings.warn(message, RewardHealthWarning, stacklevel=2)
        if self.fell_at is None and self.falling:
            self.fell_at = len(self.history)
            message = self.fall_diagnosis()
            _log.warning(message)
            warnings.warn(message, RewardHealthWarning, stacklevel=2)
        return health

    @property
    def falling(self) -> bool:
        """The last ``patience`` batches' mean reward is below the first ``patience``
        batches' by more than three standard errors (batch means as the samples)."""
        means = [h.mean for h in self.history if h.mean is not None]
        w = self.patience
        if len(means) < 2 * w:
            return False
        early, recent = means[:w], means[-w:]
        se = math.sqrt((statistics.pvariance(early) + statistics.pvariance(recent)) / w)
        return statistics.fmean(recent) < statistics.fmean(early) - max(3 * se, self.tol)

    def fall_diagnosis(self) -> str:
        means = [h.mean for h in self.history if h.mean is not None]
        w = self.patience
        early, recent = statistics.fmean(means[:w]), statistics.fmean(means[-w:])
        return (
            f"rewardsmith: the mean reward fell from {early:.3g} (first {w} batches) to "
            f"{recent:.3g} (last {w}): GRPO should raise it, so the policy is chasing "
            "something else; a common cause is a small term outside a gate (a length "
            "bonus paid to malformed completions) that per-group normalisation turns into "
            "a full-size advantage: watch each part's mean (rewardsmith/<part>)"
        )

    def diagnosis(self) -> str:
        """What the last batches say, in one sentence a user can act on."""
        recent = self.history[-self.streak :] if self.streak else self.history[-1:]
        clipped = [h.clipped for h in recent if h.clipped is not None]
        if clipped and min(clipped) >= 1.0:
            why = (
                "every completion hit the length limit, so no answer was read: raise "
                "max_completion_length or reward shorter reasoning"
            )
        else:
            means = [h.mean for h in recent if h.mean is not None]
            level = f" (mean reward {sum(means) / len(means):.3g})" if means else ""
            why = (
                "every group's rewards were equal, so every GRPO advantage was 0"
                f"{level}: the task is too hard or too easy for the policy, or the reward "
                "cannot tell its completions apart"
            )
        return f"rewardsmith: no learning signal for {self.streak} batches in a row: {why}"

    def callback(self) -> Any:
        """A ``transformers.TrainerCallback`` that fills in the length limit and the EOS
        token from the trainer at the start and, with ``stop``, ends training once the
        run has stalled."""
        from transformers import TrainerCallback

        health = self

        class RewardHealthCallback(TrainerCallback):
            def on_train_begin(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
                if health.max_completion_length is None:
                    health.max_completion_length = getattr(args, "max_completion_length", None)
                tok = kw.get("processing_class") or kw.get("tokenizer")
                if health.eos_token_id is None and tok is not None:
                    health.eos_token_id = getattr(tok, "eos_token_id", None)

            def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
                if health.stop and health.stalled:
                    control.should_training_stop = True

        return RewardHealthCallback()
