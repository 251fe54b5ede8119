"""What every AWS edge finder shares: the answers that can make an edge, the roles and workloads."""

from __future__ import annotations

from collections.abc import Iterable

from models import Cloud, PrincipalKind, Workload
from simulator.core import Answer, Decision, Estate


def live(answers: Iterable[Answer]) -> list[Answer]:
    """The answers that can make an edge: allowed, or undecided (kept, never dropped)."""
    return [a for a in answers if a.decision in (Decision.ALLOWED, Decision.UNKNOWN)]


def roles(estate: Estate) -> list[str]:
    """The ids of the roles that can be assumed (not disabled, not deleted)."""
    return [
        p.id
        for p in estate.snapshot.principals
        if p.cloud is Cloud.AWS and p.kind is PrincipalKind.AWS_ROLE and not p.disabled and not p.deleted
    ]


def workloads(estate: Estate) -> list[Workload]:
    return [w for w in estate.snapshot.workloads if w.cloud is Cloud.AWS]


__all__ = ["live", "roles", "workloads"]
