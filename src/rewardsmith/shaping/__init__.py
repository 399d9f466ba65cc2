"""Shaping: transforms over scores, length and efficiency terms, group-relative rewards.

One module or package per registry prefix: ``transforms`` (``transform.*``: pointwise,
group and batch normalisation, noise, Preference As Reward), ``length`` (``length.*``),
``efficiency`` (``efficiency.*``: CRF, PEAR), ``process`` (``process.*``: Clip and
Delta over process rewards, the reasoning-pattern reward, Trust-GRPO), ``consensus``
(``consensus.*``: majority-vote pseudo-labels, Co-rewarding's cross-question agreement)
and ``aggregate`` (``aggregate.*``: gated aggregations of scores in ``Sample.meta``).
``schedules`` holds the weights over training steps of ``schedule`` nodes.
"""
