"""verl adapter: rewardsmith specs as verl's ``reward.custom_reward_function``.

Three entry points, one per way verl calls a reward function:

- ``compute_score(data_source, solution_str, ground_truth, extra_info=None, **kwargs)``: one
  item, for the reward-loop managers (``naive``, ``dapo``, ...) that the trainer uses;
- ``compute_score_async``: the same as an ``async def``, which verl awaits on its event loop
  instead of running it in a thread, so slow rewards (judges, reward models) overlap;
- ``compute_score_batch(data_sources, solution_strs, ground_truths, extra_infos, **kwargs)``:
  the whole batch at once, for the legacy ``batch`` manager
  (``verl.workers.reward_manager.BatchRewardManager``; the 0.9.1 trainer's reward loop calls
  per item); group rewards see the whole group.

Each returns ``{"score": ..., "scored": ..., <part>: ...}`` per item with ALWAYS the same
keys (verl takes the keys from the first item and indexes every other item with them):
``score`` is the spec's value, or ``on_error`` (default 0.0) when the item could not be
scored; ``scored`` is 1.0 or 0.0, so failures show in verl's metrics; then every part the
spec declares (``rewardsmith.core.tree.part_names``: every depth of the tree, leaves' own
parts such as ``qa.f1/precision`` included), with ``missing`` (default 0.0) where the item
did not compute it (the gate branch not taken, a failed child, a part of another data
source's spec), and beside each ``computed/<part>``, 1.0 or 0.0: verl averages each key,
so a part's mean over the items that computed it is ``mean(<part>) / mean(computed/<part>)``.
The union of the parts of every configured spec is used, so mixed data sources still share
one key set; ``parts=[...]`` reports only the parts listed.

Which spec scores an item, first match wins:

1. keyword arguments, set in verl's config as
   ``'+reward.custom_reward_function.reward_kwargs.specs={openai/gsm8k: math-r1,
   default: qa-f1}'`` (a data source -> spec mapping, with an optional ``default``) or
   ``+reward.custom_reward_function.reward_kwargs.spec=path/to/spec.yaml`` (one spec for all);
2. the environment variable ``REWARDSMITH_SPEC``: a spec file or built-in name, or a JSON
   object mapping data sources to specs like ``specs`` above;
3. the built-in spec ``math-r1``.

A data source missing from a mapping that has no ``default`` raises ``ConfigError``: a
configuration mistake stops training instead of quietly scoring zeros. ``on_error`` and
``missing`` come from keyword arguments too, else ``REWARDSMITH_ON_ERROR`` for ``on_error``.

Sample fields: ``solution_str`` is the completion, ``ground_truth`` the reference,
``data_source`` goes to ``Sample.meta``, and the keys of ``extra_info`` are read as a rollout
file's fields are (the one field table, ``rewardsmith.rollouts.fields``): the prompt from
``prompt``, ``query`` or ``question`` (verl's example data sets keep the question there),
the group from ``group``, ``group_id``, ``prompt_id`` or ``uid`` (else the prompt), the rest
into ``Sample.meta``. verl's own arguments win over ``extra_info`` keys of the same
field. verl does not pass the training step to a reward function: the step is
read from ``extra_info`` (``STEP_KEYS``), where ``rewardsmith.integrations.verl_manager
.RewardsmithRewardManager`` puts the trainer's ``global_steps``; without it, schedules
follow the rollout servers' weight version when the agent loop scores, and stay at the
last step seen otherwise.

Example (verl config)::

    reward:
      custom_reward_function:
        path: pkg://rewardsmith.integrations.verl    # or this module's file path
        name: compute_score        # or compute_score_async, or compute_score_batch
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rewardsmith.core import Reward, Sample, Score, set_step
from rewardsmith.core.tree import part_names
from rewardsmith.errors import ConfigError, InputError
from rewardsmith.integrations._common import part_columns, resolve_reward
from rewardsmith.rollouts.fields import to_sample

__all__ = [
    "DEFAULT_SPEC",
    "ENV_ON_ERROR",
    "ENV_SPEC",
    "compute_score",
    "compute_score_async",
    "compute_score_batch",
    "result_keys",
]

DEFAULT_SPEC = "math-r1"
ENV_SPEC = "REWARDSMITH_SPEC"
ENV_ON_ERROR = "REWARDSMITH_ON_ERROR"

SpecLike = Reward | str | Path


class _Setup:
    """The specs by data source and the values for unscored items and absent parts.

    A plain class, not a dataclass: verl may load this file by path, outside
    ``sys.modules``, where ``dataclasses`` cannot resolve the module's annotations.
    """

    __slots__ = ("by_source", "default", "missing", "on_error", "parts")

    def __init__(
        self,
        by_source: Mapping[str, SpecLike],
        default: SpecLike | None,
        on_error: float,
        missing: float,
        parts: Sequence[str] | None = None,
    ) -> None:
        self.by_source = by_source
        self.default = default
        self.on_error = on_error
        self.missing = missing
        self.parts = None if parts is None else [str(p) for p in parts]

    def reward_for(self, data_source: str) -> Reward:
        spec = self.by_source.get(data_source, self.default)
        if spec is None:
            raise ConfigError(
                f"no rewardsmith spec for data source {data_source!r}: map it in 'specs' "
                f"(known: {sorted(self.by_source)}) or add a 'default' entry"
            )
        return resolve_reward(spec)

    def part_names(self) -> list[str]:
        """The parts reported for every item: ``parts`` as given, else the union of the
        configured specs' declared parts (``core.tree.part_names``)."""
        if self.parts is not None:
            return list(dict.fromkeys(self.parts))
        specs = [*self.by_source.values(), *([self.default] if self.default is not None else [])]
        names: dict[str, None] = {}
        for spec in specs:
            names.update(dict.fromkeys(part_names(resolve_reward(spec))))
        return list(names)

    def keys(self) -> list[str]:
        names = self.part_names()
        return ["score", "scored", *names, *(f"computed/{n}" for n in names)]


def _setup(
    spec: SpecLike | None,
    specs: Mapping[str, SpecLike] | None,
    on_error: float | None,
    missing: float,
    parts: Sequence[str] | None = None,
) -> _Setup:
    if on_error is None:
        on_error = float(os.environ.get(ENV_ON_ERROR, "0.0"))
    if specs is None and spec is None:
        raw = os.environ.get(ENV_SPEC, "").strip()
        if raw.startswith("{"):
            try:
                specs = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise ConfigError(f"{ENV_SPEC}: not a JSON object of specs: {exc}") from None
        else:
            spec = raw or DEFAULT_SPEC
    mapping = dict(specs or {})
    default = mapping.pop("default", None) or spec
    return _Setup(mapping, default, float(on_error), float(missing), parts)


def result_keys(
    spec: SpecLike | None = None,
    specs: Mapping[str, SpecLike] | None = None,
    parts: Sequence[str] | None = None,
) -> list[str]:
    """The keys every result dict has, for the configuration these arguments give."""
    return _setup(spec, specs, 0.0, 0.0, parts).keys()


def _sample(
    data_source: str, solution_str: str, ground_truth: Any, extra_info: Mapping[str, Any] | None
) -> Sample:
    # extra_info is read as a rollout record (copied: verl changes it in place after the
    # call); verl's own arguments, by their canonical names, win over its keys
    record = {
        **(extra_info or {}),
        "completion": solution_str,
        "reference": ground_truth,
        "data_source": data_source,
    }
    return to_sample(record)


STEP_KEYS = ("global_step", "global_steps", "max_global_steps")
"""``extra_info`` keys read for the training step, first present wins: rewardsmith's own
(set by ``RewardsmithRewardManager`` or by the data), then the weights' step verl's
rollout servers tag outputs with (merged into ``extra_info`` by the naive manager)."""


def _step(extra_infos: Sequence[Mapping[str, Any] | None]) -> int | None:
    for extra in extra_infos:
        for key in STEP_KEYS:
            value = extra.get(key) if extra else None
            if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
                return int(value)
    return None


def _result(score: Score, names: Sequence[str], setup: _Setup) -> dict[str, float]:
    out = {"score": setup.on_error if score.value is None else float(score.value)}
    out["scored"] = 0.0 if score.value is None else 1.0
    for name, column in part_columns([score], names, setup.missing).items():
        out[name] = column[0]
    return out


def _one(
    data_source: str,
    solution_str: str,
    ground_truth: Any,
    extra_info: Mapping[str, Any] | None,
    spec: SpecLike | None,
    specs: Mapping[str, SpecLike] | None,
    on_error: float | None,
    missing: float,
    parts: Sequence[str] | None,
) -> tuple[_Setup, Reward, Sample]:
    """What both per-item forms need: the setup, the item's reward at its step, the sample."""
    setup = _setup(spec, specs, on_error, missing, parts)
    reward = setup.reward_for(str(data_source))
    step = _step([extra_info])
    if step is not None:
        set_step(reward, step)
    return setup, reward, _sample(str(data_source), solution_str, ground_truth, extra_info)


def compute_score(
    data_source: str,
    solution_str: str,
    ground_truth: Any,
    extra_info: Mapping[str, Any] | None = None,
    *,
    spec: SpecLike | None = None,
    specs: Mapping[str, SpecLike] | None = None,
    on_error: float | None = None,
    missing: float = 0.0,
    parts: Sequence[str] | None = None,
    **_: Any,
) -> dict[str, float]:
    """Score one rollout for verl (see the module docstring for the arguments and keys).

    Example:
        >>> compute_score("gsm8k", "<think>2+2</think><answer>4</answer>", "4")["score"]
        1.0
    """
    setup, reward, sample = _one(
        data_source, solution_str, ground_truth, extra_info, spec, specs, on_error, missing, parts
    )
    return _result(reward.score([sample])[0], setup.part_names(), setup)


async def compute_score_async(
    data_source: str,
    solution_str: str,
    ground_truth: Any,
    extra_info: Mapping[str, Any] | None = None,
    *,
    spec: SpecLike | None = None,
    specs: Mapping[str, SpecLike] | None = None,
    on_error: float | None = None,
    missing: float = 0.0,
    parts: Sequence[str] | None = None,
    **_: Any,
) -> dict[str, float]:
    """``compute_score`` as an ``async def``: verl awaits it on its reward loop."""
    setup, reward, sample = _one(
        data_source, solution_str, ground_truth, extra_info, spec, specs, on_error, missing, parts
    )
    return _result((await reward.ascore([sample]))[0], setup.part_names(), setup)


def compute_score_batch(
    data_sources: Sequence[str],
    solution_strs: Sequence[str],
    ground_truths: Sequence[Any],
    extra_infos: Sequence[Mapping[str, Any] | None] | None = None,
    *,
    spec: SpecLike | None = None,
    specs: Mapping[str, SpecLike] | None = None,
    on_error: float | None = None,
    missing: float = 0.0,
    parts: Sequence[str] | None = None,
    **_: Any,
) -> list[dict[str, float]]:
    """Score a whole batch for verl's ``batch`` reward manager: one spec call per data source."""
    setup = _setup(spec, specs, on_error, missing, parts)
    n = len(solution_strs)
    if len(data_sources) != n or len(ground_truths) != n:
        raise InputError(
            f"{len(data_sources)} data sources, {n} solutions and {len(ground_truths)} "
            "ground truths: one of each per rollout"
        )
    extras: Sequence[Mapping[str, Any] | None] = (
        list(extra_infos) if extra_infos is not None else [None] * n
    )
    by_source: dict[str, list[int]] = {}
    for i, ds in enumerate(data_sources):
        by_source.setdefault(str(ds), []).append(i)
    scores: dict[int, Score] = {}
    step = _step(extras)
    for ds, indices in by_source.items():
        reward = setup.reward_for(ds)
        if step is not None:
            set_step(reward, step)
        samples = [_sample(ds, solution_strs[i], ground_truths[i], extras[i]) for i in indices]
        scores.update(zip(indices, reward.score(samples), strict=True))
    names = setup.part_names()
    return [_result(scores[i], names, setup) for i in range(n)]
