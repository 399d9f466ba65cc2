"""``process.*``: rewards on how the model reasons, not on its final answer.

Modules: ``step_rewards`` (``process.clip`` and ``process.delta``: Gao et al.'s bounded
returns from a process reward model's per-step scores), ``reasoning_pattern``
(``process.reasoning_pattern``, RPR) and ``trust`` (``process.trust_think``,
Trust-GRPO's trust-weighted thinking reward).
"""

from rewardsmith.shaping.process.reasoning_pattern import ReasoningPattern, ReasoningPatternParams
from rewardsmith.shaping.process.step_rewards import Clip, ClipParams, Delta, DeltaParams
from rewardsmith.shaping.process.trust import TrustParams, TrustThink

__all__ = [
    "Clip",
    "ClipParams",
    "Delta",
    "DeltaParams",
    "ReasoningPattern",
    "ReasoningPatternParams",
    "TrustParams",
    "TrustThink",
]
