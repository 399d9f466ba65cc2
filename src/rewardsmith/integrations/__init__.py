"""Trainer adapters: TRL, verl and OpenRLHF call rewardsmith rewards through these modules.

Each adapter is its own module and imports nothing heavy at import time, so
``import rewardsmith.integrations.verl`` works without TRL installed and vice versa:

- ``rewardsmith.integrations.trl``: ``reward_funcs(spec)`` / ``async_reward_funcs(spec)``
  and ``reward_weights(spec)`` for ``trl.GRPOTrainer``;
- ``rewardsmith.integrations.verl``: ``compute_score`` (and ``compute_score_async``,
  ``compute_score_batch``) for verl's ``reward.custom_reward_function``;
- ``rewardsmith.integrations.openrlhf``: OpenRLHF's remote reward protocol.
"""

__all__: list[str] = []
