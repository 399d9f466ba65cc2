"""Shaping: transforms over scores, length and efficiency terms, group-relative rewards.

Modules: ``transforms`` (pointwise), ``normalize`` (group and batch normalisation),
``par`` (Preference As Reward), ``noise`` (reward noise), ``step_rewards`` (Clip and
Delta over process rewards), ``length`` and ``length_group`` (length terms),
``consensus`` (majority-vote pseudo-labels, Co-rewarding's cross-question agreement),
``schedules`` (weights over training steps), ``crf`` and ``pear`` (efficiency terms),
``reasoning_pattern`` (RPR), ``gates`` (SearchLLM's gated aggregation), ``trust``
(Trust-GRPO's trust-weighted thinking reward).
"""
