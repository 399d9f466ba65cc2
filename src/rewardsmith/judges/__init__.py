"""Rewards that ask a model for a verdict: reward models (``rm.score``) and judges.

Nothing heavy is imported here; each module loads its backend on first use.
"""

from rewardsmith.judges.rm import REFERENCE_TEMPLATE, RMScore, RMScoreParams

__all__ = ["REFERENCE_TEMPLATE", "RMScore", "RMScoreParams"]
