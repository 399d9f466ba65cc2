"""Discriminative reward models: ``rm.score`` (one completion per sequence), ``rm.joint``
(a group of completions in one sequence, You Only Judge Once) and ``rm.segments`` (a token
classifier's label per sub-sentence, Fine-Grained RLHF's R1)."""

from rewardsmith.judges.rm.joint import YOJO, RMJoint, RMJointParams
from rewardsmith.judges.rm.score import REFERENCE_TEMPLATE, SKYWORK_REWARD, RMScore, RMScoreParams
from rewardsmith.judges.rm.segments import RMSegments, RMSegmentsParams

__all__ = [
    "REFERENCE_TEMPLATE",
    "SKYWORK_REWARD",
    "YOJO",
    "RMJoint",
    "RMJointParams",
    "RMScore",
    "RMScoreParams",
    "RMSegments",
    "RMSegmentsParams",
]
