"""The collections a normalizer builds (any cloud), before they become a snapshot."""

from __future__ import annotations

from dataclasses import dataclass, field

from models import (
    Attachment,
    Cloud,
    CoverageEntry,
    CoverageStatus,
    Covers,
    Credential,
    Policy,
    Principal,
    Resource,
    Scope,
    Snapshot,
    Usage,
    Workload,
)
from models._checks import ModelError
from scanner.errors import BadInputError


@dataclass
class Normalized:
    """The collections of a snapshot, before it is given an id."""

    scopes: list[Scope] = field(default_factory=list)
    principals: list[Principal] = field(default_factory=list)
    credentials: list[Credential] = field(default_factory=list)
    policies: list[Policy] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    resources: list[Resource] = field(default_factory=list)
    workloads: list[Workload] = field(default_factory=list)
    coverage: list[CoverageEntry] = field(default_factory=list)
    usage: list[Usage] = field(default_factory=list)

    def to_snapshot(self, *, source: str, label: str, meta: dict[str, str]) -> Snapshot:
        try:
            return Snapshot(
                source=source,
                label=label,
                meta=meta,
                scopes=tuple(self.scopes),
                principals=tuple(self.principals),
                credentials=tuple(self.credentials),
                policies=tuple(self.policies),
                attachments=tuple(self.attachments),
                resources=tuple(self.resources),
                workloads=tuple(self.workloads),
                coverage=tuple(self.coverage),
                usage=tuple(self.usage),
            )
        except ModelError as exc:
            raise BadInputError(f"the inputs describe one object twice: {exc}") from exc

    def add_policy(self, policy: Policy, seen: set[str]) -> None:
        if policy.id not in seen:
            seen.add(policy.id)
            self.policies.append(policy)


def merge(parts: list[Normalized]) -> Normalized:
    """One set of collections from several normalizers (AWS, Google Cloud, Azure)."""
    out = Normalized()
    for part in parts:
        for name in (
            "scopes",
            "principals",
            "credentials",
            "policies",
            "attachments",
            "resources",
            "workloads",
            "coverage",
            "usage",
        ):
            getattr(out, name).extend(getattr(part, name))
    return out


def usage_coverage(
    cloud: Cloud,
    service: str,
    scope_id: str,
    source: str,
    operation: str,
    status: CoverageStatus,
    *,
    items: int = 0,
    detail: str = "",
    target: str | None = None,
) -> CoverageEntry:
    """The coverage entry of one read of usage evidence (``Covers.USAGE``): what a usage gap can
    change, and all it can change (it never blinds the principals' grants)."""
    return CoverageEntry(
        scope_id=scope_id,
        source=source,
        service=service,
        operation=operation,
        status=status,
        items=items,
        detail=detail,
        cloud=cloud,
        covers=(Covers.USAGE,),
        target=target,
    )
