"""Rollout files in and out: JSONL, Parquet and saved Hugging Face datasets."""

from rewardsmith.rollouts.fields import ALIASES, FieldMap, build_sample, to_sample
from rewardsmith.rollouts.read import (
    Block,
    Row,
    arrow_schema,
    detect_format,
    read_blocks,
    read_rollouts,
)
from rewardsmith.rollouts.stream import Processed, process_block, score_blocks, score_chunk
from rewardsmith.rollouts.summary import Summary
from rewardsmith.rollouts.write import OUTPUT_COLUMNS, Renderer, RolloutWriter

__all__ = [
    "ALIASES",
    "OUTPUT_COLUMNS",
    "Block",
    "FieldMap",
    "Processed",
    "Renderer",
    "RolloutWriter",
    "Row",
    "Summary",
    "arrow_schema",
    "build_sample",
    "detect_format",
    "process_block",
    "read_blocks",
    "read_rollouts",
    "score_blocks",
    "score_chunk",
    "to_sample",
]
