"""Evaluating rewards: reward models, judges and rule-based rewards on preference data;
linear probes on a reward model's representations (MRMBench)."""

from rewardsmith.evaluate.probe import (
    DimensionResult,
    ProbeConfig,
    ProbeEvaluation,
    probe_accuracy,
    probe_rm,
    train_probe,
)
from rewardsmith.evaluate.probe_data import (
    Dimension,
    LabelledText,
    load_hub_mrmbench,
    load_label_files,
    load_mrmbench,
)
from rewardsmith.evaluate.probe_features import FeatureOptions
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
    "Dimension",
    "DimensionResult",
    "FeatureOptions",
    "LabelledText",
    "PrefRow",
    "ProbeConfig",
    "ProbeEvaluation",
    "RMEvaluation",
    "SubsetResult",
    "best_of_n",
    "evaluate_rm",
    "expected_calibration_error",
    "load_hub_mrmbench",
    "load_hub_preferences",
    "load_label_files",
    "load_mrmbench",
    "load_preferences",
    "pairwise_accuracy",
    "parse_row",
    "probe_accuracy",
    "probe_rm",
    "ties_score",
    "train_probe",
]
