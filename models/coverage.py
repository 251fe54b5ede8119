"""Coverage: what a scan read, and what it could not. A gap is data, never an empty list."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from models._checks import require_text
from models.scope import Cloud


class Covers(StrEnum):
    """What kind of data a read yields, so that a gap is matched by structure, not by text.

    ``principals`` (users, roles, service accounts, identities), ``identity_policies`` (inline,
    managed, attached), ``trust_policies``, ``boundaries``, ``organization`` (the scope tree),
    ``org_policies`` (SCPs, RCPs), ``resource_policies`` (a service's resource-based policies, or
    a Google Cloud resource's own IAM policy), ``allow_policies`` (Google Cloud IAM policies of
    scopes), ``deny_policies`` (Google Cloud deny policies), ``roles`` (role definitions),
    ``assignments`` / ``deny_assignments`` (Azure), ``group_members``, ``workloads``,
    ``credentials``, ``resources`` (inventory), ``operations`` (Azure's operations catalog),
    ``owners`` (owners of Entra applications and service principals), ``entra_roles`` (Entra directory
    role definitions, assignments and eligibilities), ``app_roles`` (Entra app-role assignments),
    ``eligible_assignments`` (Azure RBAC PIM eligibilities: a gap there leaves active access decided),
    ``usage`` (last-use reports: AWS service last accessed, Google Cloud activities, Entra sign-ins).
    """

    PRINCIPALS = "principals"
    IDENTITY_POLICIES = "identity_policies"
    TRUST_POLICIES = "trust_policies"
    BOUNDARIES = "boundaries"
    ORGANIZATION = "organization"
    ORG_POLICIES = "org_policies"
    RESOURCE_POLICIES = "resource_policies"
    ALLOW_POLICIES = "allow_policies"
    DENY_POLICIES = "deny_policies"
    ROLES = "roles"
    ASSIGNMENTS = "assignments"
    DENY_ASSIGNMENTS = "deny_assignments"
    GROUP_MEMBERS = "group_members"
    WORKLOADS = "workloads"
    CREDENTIALS = "credentials"
    RESOURCES = "resources"
    OPERATIONS = "operations"
    OWNERS = "owners"
    ENTRA_ROLES = "entra_roles"
    APP_ROLES = "app_roles"
    ELIGIBLE_ASSIGNMENTS = "eligible_assignments"
    USAGE = "usage"


class CoverageStatus(StrEnum):
    OK = "ok"
    DENIED = "denied"  # the caller lacks permission (AccessDenied and friends)
    NOT_ENABLED = "not_enabled"  # the service or feature is off (no organization, region not opted in)
    THROTTLED = "throttled"  # still throttled after the retry budget
    ERROR = "error"  # anything else the API answered


@dataclass(frozen=True, kw_only=True)
class CoverageEntry:
    """One read of one API (or file) for one scope and region.

    ``source`` is ``api`` or ``file``; ``operation`` names the API operation or the file path;
    ``items`` counts what the read returned. An entry whose status is not ``ok`` is a gap: that
    part of the estate was not seen, and nothing may be concluded from its absence.

    What the read covers, in typed fields: ``cloud``; ``scope_id`` (the account, project,
    subscription or scope it was made for); ``service`` (``s3``, ``cloudasset``, ...) and ``region``;
    ``covers``, the kinds of data it yields (empty in snapshots written before these fields: such
    an entry is matched by ``service`` alone); ``target``, the one object it was about when it was
    about one (a bucket, a group, a resource id), else None: the whole scope.
    """

    scope_id: str
    source: str
    service: str
    operation: str
    status: CoverageStatus
    region: str | None = None
    items: int = 0
    detail: str = ""
    cloud: Cloud | None = None
    covers: tuple[Covers, ...] = ()
    target: str | None = None

    def __post_init__(self) -> None:
        require_text("CoverageEntry", "scope_id", self.scope_id)
        require_text("CoverageEntry", "operation", self.operation)
        if self.source not in ("api", "file"):
            raise ValueError(f"CoverageEntry.source must be 'api' or 'file', got {self.source!r}")

    @property
    def is_gap(self) -> bool:
        return self.status is not CoverageStatus.OK

    def yields(self, kind: Covers) -> bool:
        """Whether this read yields ``kind`` of data (by its typed ``covers``)."""
        return kind in self.covers
