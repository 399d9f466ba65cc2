"""Spec files: YAML/TOML reward trees validated into Reward objects."""

from rewardsmith.spec.build import build_tree
from rewardsmith.spec.files import builtin_specs, load_spec, parse_spec, read_spec

__all__ = ["build_tree", "builtin_specs", "load_spec", "parse_spec", "read_spec"]
