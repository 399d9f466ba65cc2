"""TRL adapter: rewardsmith specs as ``trl.GRPOTrainer`` reward functions.

``reward_funcs(spec)`` gives one callable per top-level part of the spec and
``reward_weights(spec)`` the matching weights, so TRL logs each part under
``rewards/<name>/mean`` and its weighted sum is the spec's value:

- a spec whose top node is a weighted ``sum`` gives one function per child, named after
  the child's label (``math.answer`` -> ``math_answer``), weighted by the child's weight;
- any other top node (``gate``, ``min``, ``shape``, a single reward, ...) gives one
  function for the whole spec, named after the spec (``math-r1`` -> ``math_r1``), weight 1.

The functions of one call share a scorer: the batch is scored once, on the first call,
and the others read their part of the same scores (keyed on the batch's content and the
training step). ``async_reward_funcs`` gives ``async def`` functions, which TRL runs
concurrently with other async reward functions on its event loop thread.

How TRL's arguments become ``Sample``s: ``prompts`` and ``completions`` as given (strings,
or chat messages for conversational datasets), ``completion_ids`` as ``Sample.tokens``; the
dataset columns are read as a rollout file's fields are (the one field table,
``rewardsmith.rollouts.fields``): the reference from the first of ``reference``,
``ground_truth``, ``answer``, ``label``, ``solution``, ... present (or
``reference_column=``), the group from a ``group``/``group_id``/``prompt_id``/``uid``
column, every other column in ``Sample.meta``. Without a group column rollouts of the
same prompt share a group; ``group_size=`` (TRL's ``num_generations``) groups by position
and wins over a group column. ``trainer_state.global_step`` is passed to
``rewardsmith.set_step`` before scoring, so ``schedule`` nodes follow training.

Unscored items (``Score.value`` None) come back as ``None``, which TRL leaves out of that
function's mean; when the whole spec is unscored every part is None for that item, so an
infrastructure failure never reads as a wrong answer. Through ``log_metric``, once per
batch: the share of items ``rewardsmith/unscored`` (no value), ``rewardsmith/skipped``,
``rewardsmith/error`` and ``rewardsmith/timeout``, and every part the spec declares, at
every depth (``rewardsmith.core.tree.part_names``: ``format.think_answer``,
``math.answer``, ``fmt/format.think_answer``, ``qa.f1/precision``, ...), as
``rewardsmith/<part>``, its mean over the items that computed it (a gate's branch counts
only the items routed to it). Each item's status (``ok``, ``error``, ``timeout``,
``skipped``) goes through ``log_extra`` as the ``rewardsmith/status`` column of TRL's
completions table.

Example:
    >>> from rewardsmith.integrations.trl import reward_funcs, reward_weights
    >>> funcs = reward_funcs("math-r1")
    >>> [f.__name__ for f in funcs], reward_weights("math-r1")
    (['math_r1'], [1.0])
    >>> funcs[0](prompts=["2+2?"], completions=["<think>easy</think><answer>4</answer>"], answer=["4"])
    [1.0]

Pass them as ``GRPOTrainer(reward_funcs=funcs, args=GRPOConfig(reward_weights=weights, ...))``.

Known issues:
    - The weighted sum equals the spec's value only with TRL's default
      ``multi_objective_aggregation="sum_then_normalize"``; ``normalize_then_sum``
      normalises each part first, which is a different reward. Use ``split=False`` to
      give TRL the spec's value as one function.
    - Under a top-level ``on_error: skip`` a failed child is None in its own function
      only, and TRL's ``nansum`` skips it, as the spec does; under ``propagate`` (the
      default) the whole row is None.
    - Default groups follow the prompt text, so two identical prompts in one batch form
      one group; ``group_size=`` groups by position instead.
    - Only the latest batch is kept: calling the functions on interleaved batches
      rescores each time (same values, more work); TRL calls them batch by batch.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from rewardsmith.core import Reward, Sample, Score, Tokens, set_step
from rewardsmith.core.tree import part_names
from rewardsmith.errors import ConfigError
from rewardsmith.integrations._common import (
    Part,
    part_means,
    resolve_reward,
    status_shares,
    top_parts,
)
from rewardsmith.integrations.health import BatchHealth, RewardHealth
from rewardsmith.rollouts.fields import ALIASES, FieldMap

__all__ = [
    "REFERENCE_COLUMNS",
    "AsyncTRLRewardFunc",
    "TRLRewardFunc",
    "async_reward_funcs",
    "reward_funcs",
    "reward_weights",
]

REFERENCE_COLUMNS = ALIASES["reference"]
"""Dataset columns tried for ``Sample.reference``, first present wins (the field table's)."""

Completion = str | Sequence[Mapping[str, Any]]
SpecLike = Reward | str | Path
_COLUMNS = FieldMap()


class _BatchScorer:
    """Scores one TRL batch once and hands the same scores to every part's function."""

    def __init__(
        self,
        reward: Reward,
        reference_column: str | None,
        group_size: int | None,
        health: RewardHealth | None = None,
    ) -> None:
        if group_size is not None and group_size < 1:
            raise ConfigError("group_size must be at least 1")
        self.reward = reward
        self.reference_column = reference_column
        self.group_size = group_size
        self.part_names = part_names(reward)
        self.health = health
        self._init_runtime()

    def _init_runtime(self) -> None:
        self._lock = threading.Lock()
        self._key: bytes | None = None
        self._scores: list[Score] | None = None
        self._task: asyncio.Task[list[Score]] | None = None

    def __getstate__(self) -> dict[str, Any]:
        keep = ("reward", "reference_column", "group_size", "part_names", "health")
        return {k: self.__dict__[k] for k in keep}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._init_runtime()

    def score(self, call: _Call) -> list[Score]:
        key = call.key()
        with self._lock:
            if key != self._key or self._scores is None:
                self._prepare(call)
                samples = self.samples(call)
                self._scores = self.reward.score(samples)
                self._key = key
                call.report(
                    self._scores, self.part_names, self._health(call, samples, self._scores)
                )
            return self._scores

    async def ascore(self, call: _Call) -> list[Score]:
        key = call.key()
        with self._lock:
            if key == self._key and self._scores is not None:
                return self._scores
            if key != self._key or self._task is None:
                self._prepare(call)
                self._key, self._scores = key, None
                samples = self.samples(call)
                self._task = asyncio.create_task(self.reward.ascore(samples))
                task, first = self._task, True
            else:
                task, first = self._task, False
        scores = await task
        if first:
            with self._lock:
                if self._key == key:
                    self._scores = scores
            call.report(scores, self.part_names, self._health(call, samples, scores))
        return scores

    def _health(self, call: _Call, samples: list[Sample], scores: list[Score]) -> Any:
        if self.health is None:
            return None
        return self.health.observe(samples, scores, self.part_names, call.step)

    def _prepare(self, call: _Call) -> None:
        if call.step is not None:
            set_step(self.reward, call.step)

    def samples(self, call: _Call) -> list[Sample]:
        """The rollouts of a TRL call as ``Sample``s: each row's dataset columns read through
        the field table, TRL's own arguments by their canonical names."""
        n = len(call.completions)
        fields = self._fields(call.columns)
        columns = {k: v for k, v in call.columns.items() if _per_row(v, n)}
        out = []
        for i, (prompt, completion) in enumerate(zip(call.prompts, call.completions, strict=True)):
            record = {k: v[i] for k, v in columns.items()}
            record["prompt"], record["completion"] = prompt, completion
            if call.completion_ids is not None:
                record["tokens"] = Tokens(ids=tuple(int(t) for t in call.completion_ids[i]))
            if self.group_size is not None:
                record["group"] = i // self.group_size
            out.append(fields.sample(record))
        return out

    def _fields(self, columns: Mapping[str, Any]) -> FieldMap:
        if self.reference_column is None:
            return _COLUMNS
        if self.reference_column not in columns:
            raise ConfigError(
                f"reference column {self.reference_column!r} is not among the dataset "
                f"columns TRL passed: {sorted(columns)}"
            )
        return FieldMap({"reference": self.reference_column})


def _per_row(values: Any, n: int) -> bool:
    return isinstance(values, Sequence) and not isinstance(values, str) and len(values) == n


class _Call:
    """The arguments of one TRL reward call."""

    def __init__(
        self,
        prompts: Sequence[Completion],
        completions: Sequence[Completion],
        completion_ids: Sequence[Sequence[int]] | None,
        trainer_state: Any,
        log_metric: Callable[[str, float], None] | None,
        log_extra: Callable[[str, list[Any]], None] | None,
        columns: Mapping[str, Any],
    ) -> None:
        self.prompts = prompts
        self.completions = completions
        self.completion_ids = completion_ids
        step = getattr(trainer_state, "global_step", None)
        self.step = int(step) if step is not None else None
        self.log_metric = log_metric
        self.log_extra = log_extra
        self.columns = columns

    def key(self) -> bytes:
        """A digest of the batch: the same rollouts at the same step score the same."""
        content = (self.step, self.prompts, self.completions, sorted(self.columns.items()))
        return hashlib.blake2b(repr(content).encode(), digest_size=16).digest()

    def report(
        self, scores: Sequence[Score], names: Sequence[str], health: BatchHealth | None = None
    ) -> None:
        """Log once per batch (the call that scored it): the share of items per outcome,
        each part's mean over the items that computed it, the reward's health, the
        statuses."""
        if self.log_metric is not None and scores:
            for outcome, share in status_shares(scores).items():
                self.log_metric(f"rewardsmith/{outcome}", share)
            for name, mean in part_means(scores, names).items():
                self.log_metric(f"rewardsmith/{name}", mean)
            for name, value in (health.metrics() if health is not None else {}).items():
                self.log_metric(name, value)
        if self.log_extra is not None:
            self.log_extra("rewardsmith/status", [str(s.status) for s in scores])


class _PartFunc:
    def __init__(self, scorer: _BatchScorer, part: Part) -> None:
        self.scorer = scorer
        self.part = part
        self.__name__ = part.name
        self.__qualname__ = part.name
        self.weight = part.weight

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.part.name!r}, weight={self.part.weight:g})"


class TRLRewardFunc(_PartFunc):
    """One part of a spec as a TRL reward function (see the module docstring)."""

    def __call__(
        self,
        prompts: Sequence[Completion],
        completions: Sequence[Completion],
        completion_ids: Sequence[Sequence[int]] | None = None,
        trainer_state: Any = None,
        log_metric: Callable[[str, float], None] | None = None,
        log_extra: Callable[[str, list[Any]], None] | None = None,
        **columns: Any,
    ) -> list[float | None]:
        call = _Call(
            prompts, completions, completion_ids, trainer_state, log_metric, log_extra, columns
        )
        return [self.part.value(s) for s in self.scorer.score(call)]


class AsyncTRLRewardFunc(_PartFunc):
    """The ``async def`` form of ``TRLRewardFunc``: rewards that wait overlap."""

    async def __call__(
        self,
        prompts: Sequence[Completion],
        completions: Sequence[Completion],
        completion_ids: Sequence[Sequence[int]] | None = None,
        trainer_state: Any = None,
        log_metric: Callable[[str, float], None] | None = None,
        log_extra: Callable[[str, list[Any]], None] | None = None,
        **columns: Any,
    ) -> list[float | None]:
        call = _Call(
            prompts, completions, completion_ids, trainer_state, log_metric, log_extra, columns
        )
        return [self.part.value(s) for s in await self.scorer.ascore(call)]


def reward_funcs(
    spec: SpecLike,
    *,
    reference_column: str | None = None,
    group_size: int | None = None,
    split: bool = True,
    health: RewardHealth | bool = True,
) -> list[TRLRewardFunc]:
    """TRL reward functions for ``spec``: one per part of a top-level sum, else one.

    Args:
        spec: a Reward, a spec file, or a built-in spec name.
        reference_column: the dataset column holding the ground truth (default: the first
            of ``REFERENCE_COLUMNS``, the field table's reference names, present).
        group_size: rollouts ``i`` and ``j`` share a group when ``i // group_size ==
            j // group_size`` (TRL's ``num_generations``); default: the same prompt.
        split: False gives one function for the whole spec even when it is a sum.
        health: watch the reward's learning signal (``integrations.health``): True (a
            ``RewardHealth()`` that warns after 10 batches without signal), a
            ``RewardHealth`` of your own (pass its ``callback()`` to the trainer to stop
            a stalled run), or False.

    Returns:
        Functions with stable ``__name__``s; pair them with ``reward_weights(spec)``.
    """
    reward = resolve_reward(spec)
    scorer = _BatchScorer(reward, reference_column, group_size, _monitor(health))
    return [TRLRewardFunc(scorer, part) for part in top_parts(reward, split)]


def async_reward_funcs(
    spec: SpecLike,
    *,
    reference_column: str | None = None,
    group_size: int | None = None,
    split: bool = True,
    health: RewardHealth | bool = True,
) -> list[AsyncTRLRewardFunc]:
    """The ``async def`` form of ``reward_funcs`` (same arguments, same names)."""
    reward = resolve_reward(spec)
    scorer = _BatchScorer(reward, reference_column, group_size, _monitor(health))
    return [AsyncTRLRewardFunc(scorer, part) for part in top_parts(reward, split)]


def _monitor(health: RewardHealth | bool) -> RewardHealth | None:
    if isinstance(health, RewardHealth):
        return health
    return RewardHealth() if health else None


def reward_weights(spec: SpecLike, *, split: bool = True) -> list[float]:
    """The weights for ``GRPOConfig(reward_weights=...)``, in ``reward_funcs`` order."""
    return [part.weight for part in top_parts(resolve_reward(spec), split)]
