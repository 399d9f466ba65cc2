"""Rollout files in and out: JSONL, Parquet and saved Hugging Face datasets."""

from rewardsmith.rollouts.read import (
    ALIASES,
    FieldMap,
    Row,
    arrow_schema,
    detect_format,
    read_rollouts,
    to_sample,
)
from rewardsmith.rollouts.stream import score_chunk, score_stream
from rewardsmith.rollouts.summary import Summary
from rewardsmith.rollouts.write import OUTPUT_COLUMNS, RolloutWriter

__all__ = [
    "ALIASES",
    "OUTPUT_COLUMNS",
    "FieldMap",
    "RolloutWriter",
    "Row",
    "Summary",
    "arrow_schema",
    "detect_format",
    "read_rollouts",
    "score_chunk",
    "score_stream",
    "to_sample",
]
