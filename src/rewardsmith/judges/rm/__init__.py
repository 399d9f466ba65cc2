"""Discriminative reward models: ``rm.score`` (one completion per sequence) and
``rm.joint`` (a group of completions in one sequence, You Only Judge Once)."""

from rewardsmith.judges.rm.joint import YOJO, RMJoint, RMJointParams
from rewardsmith.judges.rm.score import REFERENCE_TEMPLATE, SKYWORK_REWARD, RMScore, RMScoreParams

__all__ = [
    "REFERENCE_TEMPLATE",
    "SKYWORK_REWARD",
    "YOJO",
    "RMJoint",
    "RMJointParams",
    "RMScore",
    "RMScoreParams",
]
