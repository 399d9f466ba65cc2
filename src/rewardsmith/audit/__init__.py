"""Reward-hacking audits: probes from the literature, run against a reward, per-probe verdicts."""

from rewardsmith.audit.probes import ALL, Base, Kind, Probe, ProbeSample, probes_named
from rewardsmith.audit.run import AuditReport, Example, ProbeResult, Verdict, audit

__all__ = [
    "ALL",
    "AuditReport",
    "Base",
    "Example",
    "Kind",
    "Probe",
    "ProbeResult",
    "ProbeSample",
    "Verdict",
    "audit",
    "probes_named",
]
