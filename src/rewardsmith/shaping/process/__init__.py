"""``process.*``: rewards on how the model reasons, not on its final answer.

Modules: ``step_rewards`` (``process.clip`` and ``process.delta``: Gao et al.'s bounded
returns from a process reward model's per-step scores), ``reasoning_pattern``
(``process.reasoning_pattern``, RPR), ``trust`` (``process.trust_think``,
Trust-GRPO's trust-weighted thinking reward), ``confidence`` (``process.confidence``,
DRM's confidence from the policy's own token log-probs) and ``relevance``
(``process.relevance``, DRM's relevance from an NLI model and sentence embeddings).
"""

from rewardsmith.shaping.process.confidence import Confidence, ConfidenceParams
from rewardsmith.shaping.process.reasoning_pattern import ReasoningPattern, ReasoningPatternParams
from rewardsmith.shaping.process.relevance import Relevance, RelevanceParams
from rewardsmith.shaping.process.step_rewards import Clip, ClipParams, Delta, DeltaParams
from rewardsmith.shaping.process.trust import TrustParams, TrustThink

__all__ = [
    "Clip",
    "ClipParams",
    "Confidence",
    "ConfidenceParams",
    "Delta",
    "DeltaParams",
    "ReasoningPattern",
    "ReasoningPatternParams",
    "Relevance",
    "RelevanceParams",
    "TrustParams",
    "TrustThink",
]
