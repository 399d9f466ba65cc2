"""Reward-model training: preference data, losses, label flipping and the trainer.

Nothing heavy is imported here: ``torch`` and ``transformers`` load when a loss is
computed or a model trained.
"""

from rewardsmith.training.flip import (
    FlipReport,
    Strength,
    apply_flips,
    ensemble_margins,
    find_flips,
    preference_strength,
)
from rewardsmith.training.preferences import (
    Pair,
    PreferenceData,
    Ranking,
    Turn,
    load_preferences,
    parse_records,
    tree_pairs,
)
from rewardsmith.training.train import (
    TrainConfig,
    TrainResult,
    score_responses,
    train_from_config,
    train_reward_model,
)

__all__ = [
    "FlipReport",
    "Pair",
    "PreferenceData",
    "Ranking",
    "Strength",
    "TrainConfig",
    "TrainResult",
    "Turn",
    "apply_flips",
    "ensemble_margins",
    "find_flips",
    "load_preferences",
    "parse_records",
    "preference_strength",
    "score_responses",
    "train_from_config",
    "train_reward_model",
    "tree_pairs",
]
