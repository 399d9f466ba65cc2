"""Transforms over scores: length terms, bounded transforms (more in later issues)."""
