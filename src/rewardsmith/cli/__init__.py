"""The ``rewardsmith`` command line."""

from rewardsmith.cli.app import app, main

__all__ = ["app", "main"]
