"""Generated data sets: RandomCalculation arithmetic problems with exact answers, and
master-key probes and Master-RM negatives for testing and training judges."""

from rewardsmith.data.arithmetic import Problem, random_calculation, subsets
from rewardsmith.data.master_keys import MASTER_KEYS, augmentation_negatives, probe_set

__all__ = [
    "MASTER_KEYS",
    "Problem",
    "augmentation_negatives",
    "probe_set",
    "random_calculation",
    "subsets",
]
