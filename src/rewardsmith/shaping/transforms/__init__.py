"""``transform.*``: transforms for ``shape`` nodes.

Modules: ``pointwise`` (affine, clamp, sigmoid, threshold: one value at a time),
``normalize`` (group and batch z-score, min-max, rank), ``noise`` (reward noise for
robustness studies) and ``par`` (Preference As Reward, a win-rate against references).
"""

from rewardsmith.shaping.transforms.noise import Noise, NoiseParams
from rewardsmith.shaping.transforms.normalize import (
    BatchZScore,
    GroupMinMax,
    GroupRank,
    GroupZScore,
    ZScoreParams,
)
from rewardsmith.shaping.transforms.par import Par, ParParams
from rewardsmith.shaping.transforms.pointwise import (
    Affine,
    AffineParams,
    Clamp,
    ClampParams,
    Sigmoid,
    SigmoidParams,
    Threshold,
    ThresholdParams,
    sigmoid,
)

__all__ = [
    "Affine",
    "AffineParams",
    "BatchZScore",
    "Clamp",
    "ClampParams",
    "GroupMinMax",
    "GroupRank",
    "GroupZScore",
    "Noise",
    "NoiseParams",
    "Par",
    "ParParams",
    "Sigmoid",
    "SigmoidParams",
    "Threshold",
    "ThresholdParams",
    "ZScoreParams",
    "sigmoid",
]
