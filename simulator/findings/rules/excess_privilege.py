"""``excess-privilege``: admin-equivalent workload identities, wildcards on sensitive services,
Google Cloud basic roles, service-wide wildcards in managed policies, unread grants.

A **workload identity** is an identity some workload of the snapshot runs as, an AWS role whose
trust policy admits an AWS service (``Principal.Service``), a Google Cloud service account, or an
Azure managed identity or service principal of the tenant (see
:mod:`simulator.findings.rules.ownership` for non-human identities).

**Sensitive wildcards**, read from the documents that grant a non-human identity access (its AWS
identity policies, directly or through its groups; the Google Cloud bindings that name it; its
Azure role assignments), each with the statement, binding or assignment as evidence:

- AWS: an ``Allow`` whose ``Action`` is ``*`` or a wildcard pattern in ``iam``, ``sts``, ``kms``,
  ``secretsmanager`` or ``organizations`` (``iam:*``, ``kms:Create*``); an ``Allow`` with
  ``NotAction`` that does not exclude one of those services whole.
- Google Cloud: roles whose permissions change IAM itself: ``resourcemanager.*.setIamPolicy``,
  ``iam.*.setIamPolicy``, ``iam.roles.create`` / ``update``. The basic roles ``roles/owner`` and
  ``roles/editor`` (write permissions on nearly every service) have a rule of their own,
  ``excess-privilege/basic-role``, for every member they are granted to, people and groups too:
  Google Cloud advises against them in production.
- Azure: a role definition whose ``actions`` hold ``*`` or ``Microsoft.Authorization/*`` (its
  ``notActions`` are shown: Contributor's ``*`` excludes writing role assignments).

Unused identities and services: :mod:`simulator.findings.rules.excess_usage`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from models import AttachmentKind, Cloud, Covers, Policy, PolicyKind, Principal, PrincipalKind
from simulator.core import Decision
from simulator.findings.context import Context
from simulator.findings.model import Category, Evidence, Finding, Nhi, RuleMeta, Severity
from simulator.findings.rules.ownership import Grant, Index

AWS_SENSITIVE = ("iam", "sts", "kms", "secretsmanager", "organizations")
GCP_BASIC = frozenset({"roles/owner", "roles/editor"})
GCP_IAM_WRITE = re.compile(
    r"^(resourcemanager\.[a-zA-Z]+\.setIamPolicy|iam\.[a-zA-Z]+\.setIamPolicy|iam\.roles\.(create|update))$"
)
_IDENTITY_POLICIES = frozenset({PolicyKind.AWS_MANAGED, PolicyKind.CUSTOMER_MANAGED, PolicyKind.INLINE})

ADMIN_WORKLOAD = RuleMeta(
    id="excess-privilege/admin-workload-identity",
    title="Workload identity that is admin-equivalent",
    severity=Severity.CRITICAL,
    category=Category.EXCESS_PRIVILEGE,
    nhi=(Nhi.NHI5,),
    rationale=(
        "Whoever runs code in the workload (a vulnerable dependency, a changed deployment, anyone allowed to "
        "update it) holds every permission of the scope: one bug away from a full takeover."
    ),
    remediation=(
        "Give the workload a role scoped to what it does (generate it from its access logs), and move admin "
        "work to a separate, human-approved path."
    ),
)

SENSITIVE_WILDCARD = RuleMeta(
    id="excess-privilege/sensitive-wildcard",
    title="Non-human identity granted a wildcard on a sensitive service",
    severity=Severity.HIGH,
    category=Category.EXCESS_PRIVILEGE,
    nhi=(Nhi.NHI5,),
    rationale=(
        "Wildcards over IAM, token, key, secret and organization services (or basic roles) grant far more than "
        "any program needs, including the power to change its own permissions."
    ),
    remediation=(
        "Replace the wildcard with the actions the identity uses; replace basic roles with predefined ones; "
        "never grant role-assignment writes to an automation identity without a condition."
    ),
)

BASIC_ROLE = RuleMeta(
    id="excess-privilege/basic-role",
    title="Google Cloud basic role (Owner or Editor) granted on a project, folder or organization",
    severity=Severity.HIGH,
    category=Category.EXCESS_PRIVILEGE,
    nhi=(Nhi.NHI5,),
    rationale=(
        "Basic roles hold thousands of permissions across every service; Google Cloud advises against them in "
        "production. On a service account any code running as it (a VM, a node pool, a build) holds them too."
    ),
    remediation="Replace the basic role with the predefined roles the member needs (IAM recommender helps).",
    clouds=(Cloud.GCP,),
)

SERVICE_WILDCARD_POLICY = RuleMeta(
    id="excess-privilege/service-wildcard-policy",
    title="Managed policy version that allows a whole service (or everything) on every resource",
    severity=Severity.MEDIUM,
    category=Category.EXCESS_PRIVILEGE,
    nhi=(Nhi.NHI5,),
    rationale=(
        "A policy allowing `service:*` on `*` is a loaded gun: attached later, or made the default version with "
        "one SetDefaultPolicyVersion call, it grants every action of the service on everything."
    ),
    remediation=(
        "Delete unused policies and non-default versions you no longer need; scope the actions and resources "
        "of the ones you keep."
    ),
    clouds=(Cloud.AWS,),
)

GRANTS_NOT_READ = RuleMeta(
    id="excess-privilege/grants-not-read",
    title="Grants of a scope could not be read",
    severity=Severity.INFO,
    category=Category.EXCESS_PRIVILEGE,
    nhi=(Nhi.NHI5,),
    rationale=(
        "Where identity policies, IAM bindings, role definitions or role assignments were not read, excess "
        "privilege there cannot be seen: no finding does not mean none."
    ),
    remediation="Grant the scanner the read permission named in the coverage entry and scan again.",
)

# --- workload identities and admins -----------------------------------------------------------


def trusted_services(index: Index, principal: Principal) -> tuple[str, ...]:
    """The AWS services whose ``Allow`` trust statements admit ``principal`` (a role)."""
    found: list[str] = []
    for statement in index.trust_statements(principal.id):
        who = statement.get("Principal")
        if statement.get("Effect") == "Allow" and isinstance(who, dict):
            found.extend(_strings(who.get("Service")))
    return tuple(dict.fromkeys(found))


def is_workload_identity(index: Index, principal: Principal) -> bool:
    """Whether ``principal`` is a workload identity (see the module docstring)."""
    if not index.is_non_human(principal):
        return False
    if principal.id in index.workloads_of:
        return True
    if principal.kind is PrincipalKind.AWS_ROLE:
        return bool(trusted_services(index, principal))
    return principal.kind in (
        PrincipalKind.GCP_SERVICE_ACCOUNT,
        PrincipalKind.AZURE_MANAGED_IDENTITY,
        PrincipalKind.AZURE_SERVICE_PRINCIPAL,
    )


def _scope_words(index: Index, scope_id: str) -> str:
    """``account acme-prod (222222222222)``; the id alone for a scope the snapshot lacks."""
    scope = index.scopes.get(scope_id)
    if scope is None:
        return scope_id
    kind = scope.kind.value.replace("_", " ").removeprefix("gcp ")
    return f"{kind} {scope.name} ({scope.id})" if scope.name != scope.id else f"{kind} {scope.id}"


def check_admin_workload(context: Context) -> Iterator[Finding]:
    """Each admin-equivalent node of the mint graph that is a workload identity."""
    index = Index(context.snapshot)
    for admin in sorted(context.graph.admins.values(), key=lambda a: a.id):
        principal = index.principals.get(admin.id)
        if principal is None or not is_workload_identity(index, principal):
            continue
        runs = [w.name for w in index.workloads_of.get(principal.id, ())]
        services = trusted_services(index, principal) if principal.kind is PrincipalKind.AWS_ROLE else ()
        how = ""
        if runs:
            how = f"; {', '.join(runs)} run{'s' if len(runs) == 1 else ''} as it"
        elif services:
            how = f"; trusted by {', '.join(services)}"
        where = _scope_words(index, admin.scope)
        evidence = [Evidence(what=admin.why, source=admin.scope)]
        evidence.extend(
            Evidence(what=f"runs as it: {w.kind.value} {w.name}", source=w.id)
            for w in index.workloads_of.get(principal.id, ())
        )
        yield Finding(
            rule=ADMIN_WORKLOAD,
            subject=principal.id,
            principal=principal.id,
            cloud=principal.cloud,
            sentence=f"Workload identity {principal.name} is admin-equivalent in {where}{how}",
            evidence=tuple(evidence),
            answers=(admin.answer,) if admin.answer is not None else (),
            key=(admin.scope,),
            unknown=admin.answer is not None and admin.answer.decision is Decision.UNKNOWN,
        )


# --- wildcards ----------------------------------------------------------------------------------


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def _statements(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    body = document.get("Statement")
    if isinstance(body, dict):
        return [body]
    if isinstance(body, list):
        return [s for s in body if isinstance(s, dict)]
    return []


def _read_only(service: str, name: str) -> bool:
    """Whether an action pattern's fixed prefix names only reads that disclose no secret:
    ``List*``, ``Describe*``, ``Get*`` (not in Secrets Manager, where ``GetSecretValue`` is the
    secret, nor in STS, where ``GetSessionToken`` mints credentials)."""
    prefix = name.split("*", 1)[0].split("?", 1)[0].lower()
    if prefix.startswith(("list", "describe")):
        return True
    return prefix.startswith("get") and service not in ("secretsmanager", "sts")


def _every_service(_service: str) -> bool:
    return True


def aws_sensitive(statement: Mapping[str, Any], allowed_services: Callable[[str], bool] = _every_service) -> list[str]:
    """What makes an AWS ``Allow`` statement a wildcard on a sensitive service: ``*``, a
    wildcard pattern in a sensitive service that is not read-only (:func:`_read_only`), or a
    ``NotAction`` that leaves sensitive services open; empty when it is none.
    ``allowed_services(service)`` is false for a service a permissions boundary keeps closed."""
    if statement.get("Effect") != "Allow":
        return []
    if "NotAction" in statement:
        excluded = {a.lower() for a in _strings(statement.get("NotAction"))}
        if "*" in excluded:
            return []
        open_services = [s for s in AWS_SENSITIVE if f"{s}:*" not in excluded and allowed_services(s)]
        if not open_services:
            return []
        but = ", ".join(sorted(excluded))
        return [f"NotAction (every action but {but}, so {', '.join(f'{s}:*' for s in open_services)})"]
    found = []
    for action in _strings(statement.get("Action")):
        if action == "*":
            if any(allowed_services(s) for s in AWS_SENSITIVE):
                found.append(action)
            continue
        service, _, name = action.partition(":")
        service = service.lower()
        if service not in AWS_SENSITIVE or not allowed_services(service):
            continue
        if ("*" in name or "?" in name) and not _read_only(service, name):
            found.append(action)
    return found


def boundary_allows(index: Index, principal: Principal) -> Callable[[str], bool]:
    """For an AWS identity with a permissions boundary: whether the boundary can allow any action
    of a service (an ``Allow`` with ``*``, a pattern of that service, or a ``NotAction``, taken as
    allowing); without a boundary, every service. The boundary caps identity policies, so a
    service it never allows is closed whatever they say."""
    boundaries = index.boundaries.get(principal.id, ())
    if not boundaries:
        return _every_service
    statements = [s for b in boundaries for s in _statements(b.document) if s.get("Effect") == "Allow"]

    def allows(service: str) -> bool:
        for statement in statements:
            if "NotAction" in statement:
                return True
            for action in _strings(statement.get("Action")):
                if action == "*" or action.lower().startswith(f"{service}:"):
                    return True
        return False

    return allows


def _gcp_sensitive(index: Index, grant: Grant) -> list[str]:
    role = grant.role or ""
    if role in GCP_BASIC:
        return []  # the basic-role rule reports those, for every member
    policy = index.policies.get(role)
    if policy is None or policy.kind is not PolicyKind.GCP_ROLE:
        return []
    return [p for p in _strings(policy.document.get("includedPermissions")) if GCP_IAM_WRITE.match(p)]


def _azure_sensitive(index: Index, grant: Grant) -> tuple[list[str], Policy | None]:
    definition = index.policies.get(grant.role or "")
    if definition is None:
        lowered = (grant.role or "").lower()
        definition = index.policies_lower.get(lowered)
    if definition is None:
        return [], None
    found = []
    excluded: list[str] = []
    for block in definition.document.get("permissions") or ():
        if not isinstance(block, dict):
            continue
        excluded.extend(_strings(block.get("notActions")))
        for action in _strings(block.get("actions")):
            if action == "*" or action.lower().startswith("microsoft.authorization/*"):
                found.append(action)
    if found and excluded:
        shown = ", ".join(excluded[:2]) + (", ..." if len(excluded) > 2 else "")
        found[-1] += f" (except {len(excluded)} notActions: {shown})"
    return found, definition


def _wildcards(index: Index, principal: Principal) -> Iterator[tuple[Grant, str, list[str], Mapping[str, Any] | None]]:
    """Each (grant, where, offending patterns, document) of ``principal``."""
    for grant in index.grants(principal):
        policy = grant.policy
        if principal.cloud is Cloud.AWS and policy.kind in _IDENTITY_POLICIES:
            for i, statement in enumerate(_statements(policy.document)):
                if found := aws_sensitive(statement, boundary_allows(index, principal)):
                    yield grant, f"{policy.id} Statement[{statement.get('Sid') or i}]", found, statement
        elif principal.cloud is Cloud.GCP and policy.kind is PolicyKind.GCP_BINDINGS:
            if found := _gcp_sensitive(index, grant):
                yield grant, grant.where, found, grant.document
        elif principal.cloud is Cloud.AZURE and policy.kind is PolicyKind.AZURE_ASSIGNMENT:
            found, definition = _azure_sensitive(index, grant)
            if found and definition is not None:
                grant = Grant(policy=policy, where=grant.where, role=definition.name, document=grant.document)
                document = {
                    "assignment": policy.id,
                    "scope": policy.scope_id,
                    "role": definition.name,
                    "permissions": definition.document.get("permissions"),
                }
                yield grant, policy.id, found, document


def check_sensitive_wildcard(context: Context) -> Iterator[Finding]:
    """One finding per non-human identity and statement / binding / assignment that grants it a
    sensitive wildcard (see the module docstring)."""
    index = Index(context.snapshot)
    attached = {(a.target_id, a.policy_id) for a in context.snapshot.attachments}
    for principal in index.non_human():
        for grant, where, found, document in _wildcards(index, principal):
            via = ""
            if grant.policy.kind in _IDENTITY_POLICIES and (principal.id, grant.policy.id) not in attached:
                via = " (through a group)"
            notes: tuple[str, ...] = ()
            if isinstance(document, Mapping) and document.get("condition"):
                condition = document["condition"]
                title = condition.get("title") if isinstance(condition, Mapping) else None
                notes = (f"The binding is conditional ({title or 'condition'}): it grants only while it holds.",)
            if grant.policy.kind is PolicyKind.AZURE_ASSIGNMENT:
                by = f" by role {grant.role} assigned at {grant.policy.scope_id}"
            elif grant.policy.kind is PolicyKind.GCP_BINDINGS:
                by = f" on {grant.policy.scope_id}"
            else:
                by = f" by {grant.policy.name}{via}"
            yield Finding(
                rule=SENSITIVE_WILDCARD,
                subject=principal.id,
                principal=principal.id,
                cloud=principal.cloud,
                sentence=f"{index.label(principal)} is granted {', '.join(found)}{by}",
                evidence=(Evidence(what=f"grants {', '.join(found)}", source=where, document=document),),
                key=(where,),
                notes=notes,
            )


def check_basic_role(context: Context) -> Iterator[Finding]:
    """Every member of a Google Cloud binding of ``roles/owner`` or ``roles/editor``, one finding
    per member, scope and role (a conditional binding is said so)."""
    index = Index(context.snapshot)
    for policy in sorted(context.snapshot.policies, key=lambda p: p.id):
        if policy.kind is not PolicyKind.GCP_BINDINGS:
            continue
        scope = index.scopes.get(policy.scope_id)
        where_name = f"{scope.kind.value.replace('_', ' ')} {scope.name}" if scope else policy.scope_id
        for i, binding in enumerate(policy.document.get("bindings") or ()):
            if not isinstance(binding, dict) or binding.get("role") not in GCP_BASIC:
                continue
            role = str(binding["role"])
            condition = binding.get("condition")
            title = str(condition.get("title") or "condition") if isinstance(condition, dict) else ""
            for member in sorted(_strings(binding.get("members"))):
                if member.startswith("deleted:"):
                    continue
                principal = index.principals.get(member)
                name = principal.name if principal is not None else member
                yield Finding(
                    rule=BASIC_ROLE,
                    subject=member,
                    principal=member,
                    cloud=Cloud.GCP,
                    sentence=f"{name} holds basic role {role} on {where_name}" + (f" (while {title})" if title else ""),
                    evidence=(
                        Evidence(what=f"binding of {role}", source=f"{policy.id} bindings[{i}]", document=binding),
                    ),
                    key=(policy.scope_id, role, title),
                    notes=(f"The binding is conditional ({title}): it grants only while it holds.",) if title else (),
                )


def _version_wildcards(policy: Policy) -> Iterator[tuple[str, bool, int, Mapping[str, Any], list[str]]]:
    versions: Iterable[tuple[str, bool, Mapping[str, Any]]]
    if policy.versions:
        versions = [(v.version_id, v.is_default, v.document) for v in policy.versions]
    else:
        versions = [("", True, policy.document)]
    for version_id, is_default, document in versions:
        for i, statement in enumerate(_statements(document)):
            if statement.get("Effect") != "Allow" or "*" not in _strings(statement.get("Resource")):
                continue
            broad = [a for a in _strings(statement.get("Action")) if a == "*" or a.endswith(":*")]
            if broad:
                yield version_id, is_default, i, statement, broad


def check_service_wildcard_policy(context: Context) -> Iterator[Finding]:
    """Customer-managed AWS policies with a version (default or kept non-default) whose ``Allow``
    statement names ``service:*`` or ``*`` on resource ``*``. Policies used as permissions
    boundaries are left out (a boundary grants nothing)."""
    attached: dict[str, int] = {}
    boundaries: set[str] = set()
    for attachment in context.snapshot.attachments:
        if attachment.kind is AttachmentKind.IDENTITY:
            attached[attachment.policy_id] = attached.get(attachment.policy_id, 0) + 1
        elif attachment.kind is AttachmentKind.BOUNDARY:
            boundaries.add(attachment.policy_id)
    for policy in sorted(context.snapshot.policies, key=lambda p: p.id):
        if policy.kind is not PolicyKind.CUSTOMER_MANAGED or policy.id in boundaries:
            continue  # a boundary's wildcards cap, they grant nothing
        count = attached.get(policy.id, 0)
        where = f"attached to {count} identit{'y' if count == 1 else 'ies'}" if count else "attached to nothing"
        for version_id, is_default, i, statement, broad in _version_wildcards(policy):
            actions = ", ".join(broad)
            if is_default:
                sentence = f"Policy {policy.name} allows {actions} on every resource ({where})"
            else:
                sentence = (
                    f"Policy {policy.name} keeps non-default version {version_id} that allows {actions} on every "
                    f"resource: one SetDefaultPolicyVersion away ({where})"
                )
            yield Finding(
                rule=SERVICE_WILDCARD_POLICY,
                subject=policy.id,
                principal=policy.id,
                cloud=policy.cloud,
                sentence=sentence,
                evidence=(
                    Evidence(
                        what=f"version {version_id or '(only)'} statement {i}",
                        source=f"{policy.id} {version_id} Statement[{statement.get('Sid') or i}]".replace("  ", " "),
                        document=statement,
                    ),
                ),
                key=(version_id, str(statement.get("Sid") or i), *broad),
            )


_GRANT_COVERS = (Covers.IDENTITY_POLICIES, Covers.ALLOW_POLICIES, Covers.ROLES, Covers.ASSIGNMENTS)


def check_grants_not_read(context: Context) -> Iterator[Finding]:
    """One info finding per coverage gap that covers grants (identity policies, Google Cloud
    allow policies, role definitions, Azure role assignments)."""
    for entry in context.snapshot.gaps:
        covered = [c.value for c in _GRANT_COVERS if entry.yields(c)]
        if not covered:
            continue
        yield Finding(
            rule=GRANTS_NOT_READ,
            subject=f"{entry.scope_id}|{entry.service}|{entry.operation}",
            principal=entry.target or entry.scope_id,
            cloud=entry.cloud,
            sentence=(
                f"{', '.join(covered).replace('_', ' ').capitalize()} in {entry.scope_id} were not read "
                f"({entry.operation}: {entry.status.value}); excess privilege there cannot be reported"
            ),
            evidence=(Evidence(what=entry.detail or entry.status.value, source=entry.operation),),
            unknown=True,
        )


RULES = (
    (ADMIN_WORKLOAD, check_admin_workload),
    (SENSITIVE_WILDCARD, check_sensitive_wildcard),
    (BASIC_ROLE, check_basic_role),
    (SERVICE_WILDCARD_POLICY, check_service_wildcard_policy),
    (GRANTS_NOT_READ, check_grants_not_read),
)

__all__ = ["AWS_SENSITIVE", "RULES", "aws_sensitive", "boundary_allows", "is_workload_identity", "trusted_services"]
