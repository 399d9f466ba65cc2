"""Rewards read from a language model's own probabilities (``likelihood.*``): no verifier,
no trained reward model. See ``docs/likelihood.md`` for which to use when."""
