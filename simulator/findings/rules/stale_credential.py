"""``stale-credential``: long-lived, never-expiring, expired, unused and duplicated static credentials.

Static credentials are AWS access keys and console passwords, Google Cloud user-managed
service-account keys (system-managed keys are Google's and are not in the snapshot), Azure client
secrets and certificates. Federated credentials are trusts, not secrets, and are not looked at.
A credential that is not ``active`` (an inactive access key, a disabled service-account key) cannot
authenticate and is left out, except where said. Ages and dates compare against ``context.now``.

Usage data, as each cloud gives it:

- AWS: the credential report and ``GetAccessKeyLastUsed`` give every key's and password's last use;
  a key or password the report shows as never used (``N/A``) has ``last_used`` None: **never used**.
- Google Cloud: ``keys list`` says nothing about use (Policy Analyzer activities would), and Azure:
  ``passwordCredentials`` / ``keyCredentials`` say nothing about use (sign-in logs would). A
  ``last_used`` of None there is *unknown*: such credentials are not called unused, and one
  info-level finding per cloud says that the snapshot cannot tell — unless a usage record
  (``snapshot.usage``, kind ``credential``, subject the credential id) says when it was last used,
  or that it was not used within a tracking window longer than ``unused_days``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from models import Cloud, Covers, Credential, CredentialKind, Principal, PrincipalKind
from simulator.findings.context import Context
from simulator.findings.model import Category, Evidence, Finding, Nhi, RuleMeta, Severity
from simulator.findings.rules.excess_usage import Seen, usage_records
from simulator.findings.rules.ownership import Grant, Index

#: Credentials that are keys or secrets a program holds (passwords are for people).
KEY_KINDS = frozenset(
    {
        CredentialKind.ACCESS_KEY,
        CredentialKind.SERVICE_ACCOUNT_KEY,
        CredentialKind.CLIENT_SECRET,
        CredentialKind.CERTIFICATE,
    }
)

LONG_LIVED = RuleMeta(
    id="stale-credential/long-lived-key",
    title="Static key or secret older than the maximum key age",
    severity=Severity.MEDIUM,
    category=Category.STALE_CREDENTIAL,
    nhi=(Nhi.NHI7,),
    rationale=(
        "A static key that has lived for months has been copied to laptops, CI variables and config files; "
        "the longer it lives, the likelier it has leaked, and nobody can tell."
    ),
    remediation=(
        "Rotate the key (create a new one, move its users, delete the old one), or better replace it with "
        "short-lived credentials: roles, workload identity federation, managed identities."
    ),
)

NEVER_EXPIRES = RuleMeta(
    id="stale-credential/non-expiring-secret",
    title="Secret or key that never expires, or expires far beyond the maximum lifetime",
    severity=Severity.HIGH,
    category=Category.STALE_CREDENTIAL,
    nhi=(Nhi.NHI7,),
    rationale=(
        "A secret valid for decades (Azure endDateTime 2299, a Google Cloud key valid until 9999) keeps working "
        "after it leaks, after its owner leaves and after everyone forgets it exists."
    ),
    remediation=(
        "Replace it with a secret whose lifetime is within the policy (or with federation), and enforce a "
        "maximum lifetime (Entra application management policies, the iam.serviceAccountKeyExpiryHours "
        "organization policy)."
    ),
    clouds=(Cloud.GCP, Cloud.AZURE),
)

EXPIRED = RuleMeta(
    id="stale-credential/expired-credential",
    title="Expired credential still present on an identity that still holds roles",
    severity=Severity.LOW,
    category=Category.STALE_CREDENTIAL,
    nhi=(Nhi.NHI1,),
    rationale=(
        "An expired secret or certificate left on an identity that still holds roles marks an identity whose "
        "users are gone or broken: it is not maintained but keeps its access, and a new secret brings it back."
    ),
    remediation="Delete the expired credential; if nothing uses the identity any more, remove its roles and it.",
)

UNUSED = RuleMeta(
    id="stale-credential/unused-credential",
    title="Active credential not used for longer than the unused threshold, or never used",
    severity=Severity.MEDIUM,
    category=Category.STALE_CREDENTIAL,
    nhi=(Nhi.NHI1, Nhi.NHI7),
    rationale=("An active credential nobody uses is pure risk: it can only be used by someone who should not have it."),
    remediation="Deactivate it, wait for complaints, then delete it.",
)

MULTIPLE = RuleMeta(
    id="stale-credential/multiple-active-keys",
    title="More than one active key or secret on one identity",
    severity=Severity.MEDIUM,
    category=Category.STALE_CREDENTIAL,
    nhi=(Nhi.NHI7,),
    rationale=(
        "A second active key is meant for rotation and should live for days; two keys that stay active mean a "
        "rotation that never finished, and twice the secrets to leak."
    ),
    remediation="Find which key is in use (its last use), move every user to it and delete the other.",
)

NO_USAGE = RuleMeta(
    id="stale-credential/no-usage-data",
    title="The snapshot has no usage data for a cloud's keys and secrets",
    severity=Severity.INFO,
    category=Category.STALE_CREDENTIAL,
    nhi=(Nhi.NHI1,),
    rationale=(
        "Without last-use data, unused keys and secrets cannot be told from used ones: their absence from the "
        "unused-credential findings means nothing."
    ),
    remediation=(
        "Google Cloud: query Policy Analyzer activities (`gcloud policy-intelligence query-activity "
        "--activity-type=serviceAccountKeyLastAuthentication`); Azure: read service principal sign-in activity "
        "(Graph `reports/servicePrincipalSignInActivities`)."
    ),
    clouds=(Cloud.GCP, Cloud.AZURE),
)

NOT_READ = RuleMeta(
    id="stale-credential/credentials-not-read",
    title="Credentials of a scope could not be read",
    severity=Severity.INFO,
    category=Category.STALE_CREDENTIAL,
    nhi=(Nhi.NHI7,),
    rationale="A scope whose credentials were not read may hold stale keys that no finding names.",
    remediation="Grant the scanner the read permission named in the coverage entry and scan again.",
)


def _days(delta: timedelta) -> int:
    return delta.days


def _date(moment: datetime) -> str:
    return moment.date().isoformat()


def _what(credential: Credential) -> str:
    return {
        CredentialKind.ACCESS_KEY: "Access key",
        CredentialKind.PASSWORD: "Console password",
        CredentialKind.SERVICE_ACCOUNT_KEY: "Service-account key",
        CredentialKind.CLIENT_SECRET: "Client secret",
        CredentialKind.CERTIFICATE: "Certificate",
    }.get(credential.kind, "Credential")


def _label(credential: Credential, owner: Principal | None) -> str:
    name = credential.principal_id
    if owner is not None:
        name = f"{owner.name} (account {owner.scope_id})" if owner.cloud is Cloud.AWS else owner.name
    key = f" {credential.key_id}" if credential.key_id else ""
    return f"{_what(credential)}{key} of {name}"


def _evidence(credential: Credential) -> Evidence:
    facts: dict[str, str | bool | None] = {"kind": credential.kind.value, "active": credential.active}
    for name in ("key_id", "created", "last_used", "last_used_service", "expires"):
        value = getattr(credential, name)
        facts[name] = value.isoformat() if isinstance(value, datetime) else value
    return Evidence(what=f"{_what(credential)} metadata", source=credential.id, document=facts)


def _finding(
    meta: RuleMeta,
    credential: Credential,
    owner: Principal | None,
    sentence: str,
    *,
    unknown: bool = False,
    notes: tuple[str, ...] = (),
    extra: tuple[Evidence, ...] = (),
) -> Finding:
    return Finding(
        rule=meta,
        subject=credential.id,
        principal=credential.principal_id,
        cloud=owner.cloud if owner is not None else None,
        sentence=sentence,
        evidence=(_evidence(credential), *extra),
        unknown=unknown,
        notes=notes,
    )


def _cloud_of(index: Index, credential: Credential) -> Cloud | None:
    owner = index.principals.get(credential.principal_id)
    return owner.cloud if owner is not None else None


def _static(context: Context) -> list[Credential]:
    return sorted((c for c in context.snapshot.credentials if c.is_static), key=lambda c: c.id)


def check_long_lived(context: Context) -> Iterator[Finding]:
    """Active keys and secrets created more than ``key_max_age_days`` ago; a key whose creation
    date is unknown is reported as unknown (it may be old)."""
    index = Index(context.snapshot)
    limit = context.settings.key_max_age_days
    for credential in _static(context):
        if credential.kind not in KEY_KINDS or not credential.active:
            continue
        if credential.expires is not None and credential.expires <= context.now:
            continue  # expired: the expired-credential rule speaks of it
        owner = index.principals.get(credential.principal_id)
        label = _label(credential, owner)
        if credential.created is None:
            yield _finding(
                LONG_LIVED,
                credential,
                owner,
                f"{label} has no known creation date: it may be older than {limit} days",
                unknown=True,
            )
            continue
        age = _days(context.now - credential.created)
        if age > limit:
            yield _finding(
                LONG_LIVED,
                credential,
                owner,
                f"{label} is {age} days old (created {_date(credential.created)}; the maximum is {limit} days)",
            )


def check_never_expires(context: Context) -> Iterator[Finding]:
    """Google Cloud keys and Azure secrets and certificates that never expire (no end date;
    Google Cloud's ``validBeforeTime`` 9999-12-31 is read as none) or whose lifetime from creation
    to expiry is longer than ``secret_max_lifetime_days``. AWS access keys have no expiry at all:
    their age is what the long-lived-key rule measures."""
    index = Index(context.snapshot)
    limit = context.settings.secret_max_lifetime_days
    for credential in _static(context):
        if credential.kind not in KEY_KINDS - {CredentialKind.ACCESS_KEY} or not credential.active:
            continue
        if credential.expires is not None and credential.expires <= context.now:
            continue
        owner = index.principals.get(credential.principal_id)
        label = _label(credential, owner)
        if credential.expires is None:
            yield _finding(NEVER_EXPIRES, credential, owner, f"{label} never expires")
            continue
        start = credential.created or context.now
        lifetime = _days(credential.expires - start)
        if lifetime > limit:
            years = lifetime // 365
            yield _finding(
                NEVER_EXPIRES,
                credential,
                owner,
                f"{label} expires on {_date(credential.expires)}, {lifetime} days ({years} years) after "
                f"{'its creation' if credential.created else 'now'}; the maximum lifetime is {limit} days",
            )


def check_expired(context: Context) -> Iterator[Finding]:
    """Credentials past their expiry still stored on an identity that still holds grants (an
    Entra application's: its service principal's)."""
    index = Index(context.snapshot)
    for credential in _static(context):
        if credential.expires is None or credential.expires > context.now:
            continue
        owner = index.principals.get(credential.principal_id)
        if owner is None:
            continue
        grants = _grants_of_holder(index, owner)
        if not grants:
            continue
        label = _label(credential, owner)
        held = sorted({g.policy.name for g in grants})
        yield _finding(
            EXPIRED,
            credential,
            owner,
            f"{label} expired on {_date(credential.expires)} but is still there, and {owner.name} still holds "
            f"{len(held)} grant{'s' if len(held) != 1 else ''}",
            extra=tuple(Evidence(what="still granted", source=g.where) for g in grants),
        )


def _records(context: Context) -> dict[str, Seen]:
    """Credential usage records (``snapshot.usage``) by credential id."""
    return {r.subject: r for r in usage_records(context.snapshot) if r.kind == "credential"}


def _grants_of_holder(index: Index, owner: Principal) -> tuple[Grant, ...]:
    """What the holder of a credential is granted; for an Entra application, its service
    principal's grants (tokens are issued to the service principal)."""
    grants = index.grants(owner)
    sp = owner.attributes.get("servicePrincipalId")
    if owner.kind is PrincipalKind.AZURE_APPLICATION and sp and sp in index.principals:
        grants += index.grants(index.principals[sp])
    return grants


def check_unused(context: Context) -> Iterator[Finding]:
    """Active AWS access keys and passwords not used for ``unused_days`` (or never used and
    created longer ago than that); other clouds' keys where a usage record (``snapshot.usage``)
    says so. Without a record, other clouds' usage is unknown (see the module docstring)."""
    index = Index(context.snapshot)
    limit = context.settings.unused_days
    records = _records(context)
    for credential in _static(context):
        if not credential.active:
            continue
        owner = index.principals.get(credential.principal_id)
        label = _label(credential, owner)
        record = records.get(credential.id)
        if record is not None and _cloud_of(index, credential) is not Cloud.AWS:
            last = max((m for m in (record.last_used, credential.last_used) if m is not None), default=None)
            if last is not None and (context.now - last).days > limit:
                idle = (context.now - last).days
                yield _finding(UNUSED, credential, owner, f"{label} was last used {idle} days ago ({_date(last)})")
            elif (
                last is None and record.tracked_since is not None and (context.now - record.tracked_since).days > limit
            ):
                since = _date(record.tracked_since)
                yield _finding(UNUSED, credential, owner, f"{label} has not been used since at least {since}")
            continue
        if _cloud_of(index, credential) is not Cloud.AWS:
            continue
        if credential.kind not in (CredentialKind.ACCESS_KEY, CredentialKind.PASSWORD):
            continue
        if credential.last_used is not None:
            idle = _days(context.now - credential.last_used)
            if idle > limit:
                yield _finding(
                    UNUSED,
                    credential,
                    owner,
                    f"{label} was last used {idle} days ago ({_date(credential.last_used)}; the threshold is "
                    f"{limit} days)",
                )
        elif credential.created is None or _days(context.now - credential.created) > limit:
            since = f" since its creation on {_date(credential.created)}" if credential.created else ""
            yield _finding(UNUSED, credential, owner, f"{label} has never been used{since}")


def check_multiple(context: Context) -> Iterator[Finding]:
    """Identities with more than one active key or secret (AWS access keys; Google Cloud
    user-managed keys; Azure client secrets and certificates together)."""
    index = Index(context.snapshot)
    held: dict[str, list[Credential]] = {}
    for credential in _static(context):
        if credential.kind in KEY_KINDS and credential.active:
            if credential.expires is not None and credential.expires <= context.now:
                continue
            held.setdefault(credential.principal_id, []).append(credential)
    for principal_id, credentials in sorted(held.items()):
        if len(credentials) < 2:
            continue
        owner = index.principals.get(principal_id)
        name = index.label(owner) if owner is not None else principal_id
        yield Finding(
            rule=MULTIPLE,
            subject=principal_id,
            principal=principal_id,
            cloud=owner.cloud if owner is not None else None,
            sentence=f"{name} has {len(credentials)} active keys or secrets",
            evidence=tuple(_evidence(c) for c in credentials),
            key=tuple(sorted(c.id for c in credentials)),
        )


def check_no_usage(context: Context) -> Iterator[Finding]:
    """One info finding per cloud other than AWS whose active keys or secrets carry no last use."""
    index = Index(context.snapshot)
    records = _records(context)
    blind: dict[Cloud, list[Credential]] = {}
    for credential in _static(context):
        if credential.id in records:
            continue
        cloud = _cloud_of(index, credential)
        expired = credential.expires is not None and credential.expires <= context.now
        if cloud in (Cloud.GCP, Cloud.AZURE) and credential.active and not expired and credential.last_used is None:
            blind.setdefault(cloud, []).append(credential)
    for cloud, credentials in sorted(blind.items()):
        source = "Policy Analyzer key activity" if cloud is Cloud.GCP else "service principal sign-in activity"
        yield Finding(
            rule=NO_USAGE,
            subject=f"{cloud.value}:credential-usage",
            principal=f"{cloud.value}:credential-usage",
            cloud=cloud,
            sentence=(
                f"{len(credentials)} active {cloud.value} key{'s' if len(credentials) != 1 else ''} or secrets carry "
                f"no last-use data ({source} was not collected): whether they are used is unknown"
            ),
            evidence=tuple(
                Evidence(what=_label(c, index.principals.get(c.principal_id)), source=c.id) for c in credentials
            ),
            unknown=True,
        )


def check_not_read(context: Context) -> Iterator[Finding]:
    """One info finding per coverage gap that covers credentials."""
    for entry in context.snapshot.gaps:
        if not entry.yields(Covers.CREDENTIALS):
            continue
        yield Finding(
            rule=NOT_READ,
            subject=f"{entry.scope_id}|{entry.service}|{entry.operation}",
            principal=entry.target or entry.scope_id,
            cloud=entry.cloud,
            sentence=(
                f"Credentials in {entry.scope_id} were not read ({entry.operation}: {entry.status.value}); "
                "stale keys there cannot be reported"
            ),
            evidence=(Evidence(what=entry.detail or entry.status.value, source=entry.operation),),
            unknown=True,
        )


RULES = (
    (LONG_LIVED, check_long_lived),
    (NEVER_EXPIRES, check_never_expires),
    (EXPIRED, check_expired),
    (UNUSED, check_unused),
    (MULTIPLE, check_multiple),
    (NO_USAGE, check_no_usage),
    (NOT_READ, check_not_read),
)

__all__ = ["RULES"]
