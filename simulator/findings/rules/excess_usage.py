"""``excess-privilege``: non-human identities (and services) granted access they do not use.

A non-human identity (see :mod:`simulator.findings.rules.ownership`) is **unused** when it holds
grants and was not used for ``settings.unused_days``.
AWS leaves ``RoleLastUsed`` empty for a role not used within its 400-day tracking window: with the
role's creation date that reads "never used since creation" (created within 400 days) or "not used
for at least 400 days", never "unknown" — but only in an account where some role carries
``RoleLastUsed`` (so the source reads it at all). (IAM API reference, ``RoleLastUsed``: "Activity
is only reported for the trailing 400 days"; ``LastUsedDate`` "is null if the role has not been
used within the IAM tracking period", which can be shorter in a Region that began tracking within
the last year.) A machine user's last use is its keys' and
password's latest. Usage records (``snapshot.usage``, where the scan collected them: Google Cloud
service-account authentications, Entra sign-ins, AWS service last accessed) count too; a record
with no last use says "not used within its tracking window", which is unused only when the window
is longer than the threshold. Where the snapshot has no usage data for an identity (Google Cloud service
accounts and Azure service principals unless sign-in or Policy Analyzer data was collected), it
is not called used or unused: one info finding per cloud lists them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property

from models import Cloud, Principal, PrincipalKind, Snapshot
from simulator.findings.context import Context
from simulator.findings.model import Category, Evidence, Finding, Nhi, RuleMeta, Severity
from simulator.findings.rules.ownership import Index

AWS_ROLE_LAST_USED_WINDOW = timedelta(days=400)

UNUSED_IDENTITY = RuleMeta(
    id="excess-privilege/unused-identity",
    title="Non-human identity granted access but not used for longer than the unused threshold",
    severity=Severity.MEDIUM,
    category=Category.EXCESS_PRIVILEGE,
    nhi=(Nhi.NHI1, Nhi.NHI5),
    rationale="Access nobody uses can only be used by someone who should not: it is all risk and no value.",
    remediation="Remove the identity's grants (or the identity); re-grant when a real need appears.",
)

UNUSED_SERVICE = RuleMeta(
    id="excess-privilege/unused-service",
    title="Service granted to a non-human identity but not used for longer than the unused threshold",
    severity=Severity.LOW,
    category=Category.EXCESS_PRIVILEGE,
    nhi=(Nhi.NHI5,),
    rationale="Permissions for a service an identity never calls widen what a thief of its credentials can do.",
    remediation=(
        "Remove the service's actions from the identity's policies (AWS: IAM Access Analyzer policy generation)."
    ),
)

NO_USAGE = RuleMeta(
    id="excess-privilege/no-usage-data",
    title="The snapshot has no usage data for a cloud's non-human identities",
    severity=Severity.INFO,
    category=Category.EXCESS_PRIVILEGE,
    nhi=(Nhi.NHI1, Nhi.NHI5),
    rationale=(
        "Without last-use data, unused identities cannot be told from used ones: the absence of unused-identity "
        "findings there means nothing."
    ),
    remediation=(
        "AWS: read RoleLastUsed (`aws iam get-account-authorization-details` carries it); Google Cloud: Policy "
        "Analyzer activities (`gcloud policy-intelligence query-activity --activity-type="
        "serviceAccountLastAuthentication`); Azure: Graph `reports/servicePrincipalSignInActivities`."
    ),
)


# --- usage --------------------------------------------------------------------------------------


def _latest(moments: Iterable[datetime | None]) -> datetime | None:
    known = [m for m in moments if m is not None]
    return max(known) if known else None


@dataclass(frozen=True, kw_only=True)
class Seen:
    """One usage record the snapshot holds (``snapshot.usage``, when the scan collected any):
    ``kind`` ``authentication``, ``credential`` or ``service``; ``subject`` the credential id or
    service; ``last_used`` None means not used within ``tracked_since`` .. the report (unknown
    when ``tracked_since`` is None)."""

    principal_id: str
    kind: str
    subject: str
    last_used: datetime | None
    tracked_since: datetime | None


def usage_records(snapshot: Snapshot) -> tuple[Seen, ...]:
    """The snapshot's usage records (none in snapshots without a ``usage`` collection)."""
    out = []
    for record in snapshot.usage:
        out.append(
            Seen(
                principal_id=record.principal_id,
                kind=record.kind.value,
                subject=record.subject,
                last_used=record.last_used,
                tracked_since=record.tracked_since,
            )
        )
    return tuple(out)


@dataclass(frozen=True)
class Usage:
    """What the snapshot says of each identity's use, measured at ``now`` against ``limit`` days."""

    index: Index
    now: datetime
    limit: int

    @cached_property
    def _credentials(self) -> Mapping[str, tuple[datetime | None, ...]]:
        found: dict[str, list[datetime | None]] = {}
        for credential in self.index.snapshot.credentials:
            if credential.is_static:
                found.setdefault(credential.principal_id, []).append(credential.last_used)
        return {k: tuple(v) for k, v in found.items()}

    @cached_property
    def _reporting_accounts(self) -> frozenset[str]:
        """AWS accounts where some role carries RoleLastUsed: the source reads it there."""
        return frozenset(
            p.scope_id
            for p in self.index.snapshot.principals
            if p.kind is PrincipalKind.AWS_ROLE and p.last_used is not None
        )

    @cached_property
    def _authentications(self) -> Mapping[str, tuple[Seen, ...]]:
        found: dict[str, list[Seen]] = {}
        for record in usage_records(self.index.snapshot):
            if record.kind == "authentication":
                found.setdefault(record.principal_id, []).append(record)
        return {k: tuple(v) for k, v in found.items()}

    def of(self, principal: Principal) -> tuple[str, str | None]:
        """(``used`` | ``unused`` | ``unknown``, the reason in words when unused); see the module
        docstring for how each cloud's data reads."""
        now, limit = self.now, self.limit
        records = self._authentications.get(principal.id, ())
        credentials = self._credentials.get(principal.id, ())
        last = _latest([principal.last_used, *credentials, *(r.last_used for r in records)])
        if last is not None:
            idle = (now - last).days
            if idle > limit:
                return "unused", f"last used {idle} days ago ({last.date().isoformat()})"
            return "used", None
        windows = [r.tracked_since for r in records if r.tracked_since is not None]
        if windows:
            since = min(windows)
            if (now - since).days > limit:
                return "unused", f"not used since at least {since.date().isoformat()} (the cloud's tracking window)"
            return "unknown", None  # the window is shorter than the threshold: not long enough to tell
        created = principal.created
        young = created is not None and (now - created).days <= limit
        if principal.kind is PrincipalKind.AWS_ROLE and principal.scope_id in self._reporting_accounts:
            if young:
                return "used", None  # too new to call unused
            if created is not None and now - created <= AWS_ROLE_LAST_USED_WINDOW:
                return "unused", f"never used since its creation on {created.date().isoformat()}"
            return "unused", "not used for at least 400 days (AWS keeps RoleLastUsed for 400 days)"
        if principal.kind is PrincipalKind.AWS_USER and credentials:
            if young:
                return "used", None
            return "unused", "never used (no key or password of it was ever used)"
        return "unknown", None


def check_unused_identity(context: Context) -> Iterator[Finding]:
    """Non-human identities that hold grants and were not used for ``unused_days``."""
    index = Index(context.snapshot)
    usage = Usage(index, context.now, context.settings.unused_days)
    for principal in index.non_human():
        grants = index.grants(principal)
        if not grants:
            continue
        state, why = usage.of(principal)
        if state != "unused":
            continue
        held = sorted({g.policy.name for g in grants})
        yield Finding(
            rule=UNUSED_IDENTITY,
            subject=principal.id,
            principal=principal.id,
            cloud=principal.cloud,
            sentence=f"{index.label(principal)} holds {len(held)} grant{'s' if len(held) != 1 else ''} but was {why}",
            evidence=tuple(Evidence(what="granted by", source=g.where) for g in grants),
        )


def check_no_usage(context: Context) -> Iterator[Finding]:
    """One info finding per cloud listing the granted non-human identities without usage data."""
    index = Index(context.snapshot)
    usage = Usage(index, context.now, context.settings.unused_days)
    blind: dict[Cloud, list[Principal]] = {}
    for principal in index.non_human():
        if index.grants(principal) and usage.of(principal)[0] == "unknown":
            blind.setdefault(principal.cloud, []).append(principal)
    for cloud, principals in sorted(blind.items()):
        source = {
            Cloud.AWS: "RoleLastUsed or key last use",
            Cloud.GCP: "Policy Analyzer service-account activity",
            Cloud.AZURE: "service principal sign-in activity",
        }[cloud]
        yield Finding(
            rule=NO_USAGE,
            subject=f"{cloud.value}:identity-usage",
            principal=f"{cloud.value}:identity-usage",
            cloud=cloud,
            sentence=(
                f"{len(principals)} {cloud.value} non-human identit{'y' if len(principals) == 1 else 'ies'} "
                f"with grants carry no usage data ({source} was not collected): whether they are used is unknown"
            ),
            evidence=tuple(Evidence(what=p.name, source=p.id) for p in principals),
            unknown=True,
        )


def check_unused_service(context: Context) -> Iterator[Finding]:
    """Service usage records (AWS service last accessed) of non-human identities: a service last
    used more than ``unused_days`` ago, or not used within a tracking window longer than that."""
    index = Index(context.snapshot)
    limit = context.settings.unused_days
    for record in sorted(usage_records(context.snapshot), key=lambda r: (r.principal_id, r.subject)):
        principal = index.principals.get(record.principal_id)
        if record.kind != "service" or principal is None or not index.is_non_human(principal):
            continue
        if record.last_used is not None:
            idle = (context.now - record.last_used).days
            if idle <= limit:
                continue
            why = f"last used {idle} days ago ({record.last_used.date().isoformat()})"
        elif record.tracked_since is not None and (context.now - record.tracked_since).days > limit:
            why = f"not used since at least {record.tracked_since.date().isoformat()}"
        else:
            continue
        yield Finding(
            rule=UNUSED_SERVICE,
            subject=principal.id,
            principal=principal.id,
            cloud=principal.cloud,
            sentence=f"{index.label(principal)} is granted {record.subject} but {why}",
            evidence=(
                Evidence(what=f"usage of {record.subject}", source=f"{record.principal_id}|service|{record.subject}"),
            ),
            key=(record.subject,),
        )


RULES = (
    (UNUSED_IDENTITY, check_unused_identity),
    (UNUSED_SERVICE, check_unused_service),
    (NO_USAGE, check_no_usage),
)

__all__ = ["RULES", "Seen", "Usage", "usage_records"]
