"""rewardsmith: rewards for RL post-training of language models.

Example:
    >>> import rewardsmith
    >>> reward = rewardsmith.load("qa.exact_match")
    >>> reward.score([rewardsmith.Sample(completion="<answer>Paris</answer>", reference="paris")])[0].value
    1.0
"""

from typing import Any

from rewardsmith.core import (
    GroupReward,
    ItemReward,
    Paper,
    Params,
    R,
    Reward,
    Sample,
    Score,
    Status,
    Tokens,
    catalog,
    register,
    set_step,
    set_strict,
)
from rewardsmith.core.registry import build as _build
from rewardsmith.errors import (
    ConfigError,
    InputError,
    MissingExtraError,
    RewardsmithError,
    SpecError,
    UnknownRewardError,
)

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "GroupReward",
    "InputError",
    "ItemReward",
    "MissingExtraError",
    "Paper",
    "Params",
    "R",
    "Reward",
    "RewardsmithError",
    "Sample",
    "Score",
    "SpecError",
    "Status",
    "Tokens",
    "UnknownRewardError",
    "catalog",
    "load",
    "load_spec",
    "register",
    "set_step",
    "set_strict",
]


def load(name: str, **params: Any) -> Reward:
    """Build the registered reward ``name`` with ``params`` (validated; ConfigError if bad)."""
    reward: Reward = _build(name, params, kind="reward")
    return reward


def load_spec(path_or_name: str) -> Reward:
    """Build a whole reward tree from a spec file (YAML/TOML) or a built-in spec's name."""
    from rewardsmith.spec import load_spec as _load_spec

    return _load_spec(path_or_name)
