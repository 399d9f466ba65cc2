"""Code-execution rewards: programs run against unit tests inside the sandbox."""

from rewardsmith.verifiable.code.suites import Suite, extract_program, suite_from_reference

__all__ = ["Suite", "extract_program", "suite_from_reference"]
