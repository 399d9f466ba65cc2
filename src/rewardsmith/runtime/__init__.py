"""Executors, hard timeouts and caching for running rewards."""

from rewardsmith.runtime.executor import (
    Outcome,
    ProcessExecutor,
    default_processes,
    shared_executor,
)
from rewardsmith.runtime.wrappers import Cached, Isolated, Threaded

__all__ = [
    "Cached",
    "Isolated",
    "Outcome",
    "ProcessExecutor",
    "Threaded",
    "default_processes",
    "shared_executor",
]
