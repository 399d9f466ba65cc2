"""Group-relative advantage estimators (GRPO, Dr. GRPO, RLOO, REINFORCE++, BRPO, StableReinforce).

Also a reconstruction of ChatShopBuddy's DCPO trajectory selection (``dcpo``).
"""

from rewardsmith.advantages.dcpo import dcpo, dcpo_select
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
    "dcpo",
    "dcpo_select",
    "dr_grpo",
    "grpo",
    "reinforce_pp",
    "rloo",
    "stable_reinforce_filter",
]
