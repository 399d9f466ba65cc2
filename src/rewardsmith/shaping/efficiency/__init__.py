"""``efficiency.*``: terms that pay for reaching a right answer with less.

Modules: ``crf`` (``efficiency.crf``, the Conciseness Reward Function) and ``pear``
(``efficiency.pear``, Phase Entropy Aware Reward).
"""

from rewardsmith.shaping.efficiency.crf import Crf, CrfParams
from rewardsmith.shaping.efficiency.pear import Pear, PearParams

__all__ = ["Crf", "CrfParams", "Pear", "PearParams"]
