"""verl reward manager that hands rewardsmith the training step.

verl calls ``compute_score`` with ``extra_info`` only, and ``extra_info`` comes from the
data set, so a ``schedule`` node would stay at step 0. The step does exist on verl's
side: the trainer sets ``meta_info["global_steps"]`` on the generation batch, and the
rollout servers tag each output with the weights' ``global_steps`` (the agent loop keeps
them in ``non_tensor_batch["max_global_steps"]``). ``RewardsmithRewardManager`` is verl's
``NaiveRewardManager`` that copies the step it finds, first of ``meta_info
["global_steps"]`` then the item's ``max_global_steps``, into ``extra_info
["global_step"]``, which ``rewardsmith.integrations.verl`` passes to ``set_step``.

Use it with the adapter (verl config)::

    reward:
      reward_manager:
        source: importlib
        name: RewardsmithRewardManager
        module: {path: /path/to/rewardsmith/integrations/verl_manager.py}
      custom_reward_function:
        path: /path/to/rewardsmith/integrations/verl.py
        name: compute_score

(``python -c "import rewardsmith.integrations.verl_manager as m; print(m.__file__)"``
prints the path.) With verl's own managers the adapter still reads ``extra_info
["global_steps"]``, which the naive manager merges in from the rollout's extra fields
when the agent loop scores the rollout. Needs ``verl`` installed.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

with warnings.catch_warnings():  # verl imports ray.experimental, which warns on import
    warnings.simplefilter("ignore", DeprecationWarning)
    from verl.experimental.reward_loop.reward_manager.naive import NaiveRewardManager

__all__ = ["RewardsmithRewardManager", "batch_step"]


def batch_step(data: Any) -> int | None:
    """The training step a verl ``DataProto`` carries, or None."""
    step = (getattr(data, "meta_info", None) or {}).get("global_steps")
    if step is None:
        tagged = data.non_tensor_batch.get("max_global_steps")
        found = [s for s in (tagged if tagged is not None else []) if s is not None]
        step = max(found) if found else None
    return None if step is None or int(step) < 0 else int(step)


class RewardsmithRewardManager(NaiveRewardManager):
    """verl's naive manager, with the batch's training step put into ``extra_info``."""

    async def run_single(self, data: Any) -> dict[str, Any]:
        step = batch_step(data)
        if step is not None:
            rows = data.non_tensor_batch.get("extra_info")
            if rows is None:
                rows = np.array([{} for _ in range(len(data))], dtype=object)
                data.non_tensor_batch["extra_info"] = rows
            for i, row in enumerate(rows):
                rows[i] = {**(row or {}), "global_step": step}  # a copy: rows may be shared
        return await super().run_single(data)
