"""Group-relative advantage estimators (GRPO, Dr. GRPO, RLOO, REINFORCE++, BRPO, StableReinforce)."""

from rewardsmith.advantages.estimators import (
    brpo,
    dr_grpo,
    grpo,
    reinforce_pp,
    rloo,
    stable_reinforce_filter,
)

__all__ = [
    "brpo",
    "dr_grpo",
    "grpo",
    "reinforce_pp",
    "rloo",
    "stable_reinforce_filter",
]
