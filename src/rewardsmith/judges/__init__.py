"""Rewards that ask a model for a verdict: reward models (``rm.score``, ``rm.joint``,
``rm.segments``) and generative judges (``judge.pointwise``, ``judge.pairwise``,
``judge.reference``, ``judge.rubric``, ``judge.principle``, ``judge.faithfulness``,
``judge.critique``, ``judge.sentences``, ``judge.segments``, ``judge.relevance``,
``judge.table_qa``, ``judge.thoughts``), on one judge core (``judges.core``) with a
master-key pre-gate (``judges.pregate``).

Nothing heavy is imported here; each module loads its backend on first use.
"""

from rewardsmith.judges.rm import (
    REFERENCE_TEMPLATE,
    RMJoint,
    RMJointParams,
    RMScore,
    RMScoreParams,
    RMSegments,
    RMSegmentsParams,
)

__all__ = [
    "REFERENCE_TEMPLATE",
    "RMJoint",
    "RMJointParams",
    "RMScore",
    "RMScoreParams",
    "RMSegments",
    "RMSegmentsParams",
]
