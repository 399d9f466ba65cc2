"""Generated data sets: RandomCalculation arithmetic problems with exact answers."""

from rewardsmith.data.arithmetic import Problem, random_calculation, subsets

__all__ = ["Problem", "random_calculation", "subsets"]
