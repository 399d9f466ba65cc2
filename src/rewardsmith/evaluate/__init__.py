"""Evaluating rewards: reward models, judges and rule-based rewards on preference data."""

from rewardsmith.evaluate.rm import (
    Bucket,
    PrefRow,
    RMEvaluation,
    SubsetResult,
    best_of_n,
    evaluate_rm,
    expected_calibration_error,
    load_hub_preferences,
    load_preferences,
    pairwise_accuracy,
    parse_row,
    ties_score,
)

__all__ = [
    "Bucket",
    "PrefRow",
    "RMEvaluation",
    "SubsetResult",
    "best_of_n",
    "evaluate_rm",
    "expected_calibration_error",
    "load_hub_preferences",
    "load_preferences",
    "pairwise_accuracy",
    "parse_row",
    "ties_score",
]
