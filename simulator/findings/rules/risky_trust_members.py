"""``risky-trust/external-member``: Google Cloud grants to people and groups outside the
organization's directory.

A binding's ``user:`` / ``group:`` / ``domain:`` member whose domain is not the organization's
(the snapshot's Google Cloud organizations are named by their directory domain, ``example.com``)
is an identity the organization does not manage: a consumer account (``gmail.com``), another
company's. Its access outlives any offboarding here. Each grant is proven by asking the estate
whether that member may use one permission of the bound role on the bound resource; an unknown
answer is a finding marked unknown, a denied one (a deny policy, a false condition) no finding.

Without a Google Cloud organization in the snapshot the organization's domain is not known, and
the rule decides nothing (service accounts are not checked: Google's service agents live in
projects outside every organization). Azure guest users are not in the snapshot's model as such.
"""

from __future__ import annotations

from collections.abc import Iterator

from models import Cloud, Covers, PolicyKind, ScopeKind, Snapshot
from simulator.core import Decision
from simulator.findings.context import Context
from simulator.findings.model import Category, Evidence, Finding, Nhi, RuleMeta, Severity
from simulator.findings.rules._graph_helpers import (
    answer_evidence,
    as_list,
    gap_findings,
    labeller,
    role_permissions,
    unique,
)

META = RuleMeta(
    id="risky-trust/external-member",
    title="A binding grants a person or group outside the organization's directory",
    severity=Severity.MEDIUM,
    category=Category.RISKY_TRUST,
    nhi=(Nhi.NHI1, Nhi.NHI3),
    rationale=(
        "An account of another domain (a consumer account, a partner's) is not managed by the organization's "
        "directory: it is not offboarded with the person, its sign-in policy (MFA) is not yours, and its access "
        "stays until someone removes the binding."
    ),
    remediation=(
        "Give contractors accounts in the organization's directory (or a federated one), and remove the binding "
        "of the outside account; restrict who may be granted with the domain-restricted sharing organization policy."
    ),
    clouds=(Cloud.GCP,),
)

MEMBER_PREFIXES = ("user:", "group:", "domain:")
#: Permissions asked first for a grant on a scope: reading the scope itself.
SCOPE_PERMISSIONS = ("resourcemanager.projects.get", "resourcemanager.folders.get", "resourcemanager.organizations.get")


def org_domains(snapshot: Snapshot) -> frozenset[str]:
    """The directory domains of the snapshot's Google Cloud organizations (their names)."""
    return frozenset(
        s.name.lower() for s in snapshot.scopes if s.cloud is Cloud.GCP and s.kind is ScopeKind.GCP_ORGANIZATION
    )


def domain_of(member: str) -> str | None:
    """``example.com`` of ``user:a@example.com``, ``group:g@example.com``, ``domain:example.com``."""
    kind, _, rest = member.partition(":")
    if f"{kind}:" not in MEMBER_PREFIXES or not rest:
        return None
    return rest.rsplit("@", 1)[-1].lower() if kind != "domain" else rest.lower()


def probe(snapshot: Snapshot, role: str) -> str | None:
    permissions = role_permissions(snapshot, role)
    for wanted in SCOPE_PERMISSIONS:
        if wanted in permissions:
            return wanted
    return permissions[0] if permissions else None


def check(context: Context) -> Iterator[Finding]:
    """Bindings of members outside the organization's domains, each proven by the estate."""
    snapshot = context.snapshot
    estate = context.estate
    label = labeller(snapshot)
    domains = org_domains(snapshot)
    if not domains:
        return
    targets = {a.policy_id: a.target_id for a in snapshot.attachments}
    for policy in snapshot.policies:
        if policy.cloud is not Cloud.GCP or policy.kind is not PolicyKind.GCP_BINDINGS:
            continue
        target = targets.get(policy.id, policy.id.split("#", 1)[0])
        for binding in policy.document.get("bindings") or ():
            if not isinstance(binding, dict):
                continue
            role = str(binding.get("role", ""))
            for member in as_list(binding.get("members")):
                domain = domain_of(member)
                if domain is None or domain in domains:
                    continue
                permission = probe(snapshot, role)
                answer = estate.can(estate.ask(member, permission, target)) if permission else None
                if answer is not None and answer.decision in (Decision.EXPLICIT_DENY, Decision.IMPLICIT_DENY):
                    continue
                unknown = answer is None or answer.decision is Decision.UNKNOWN
                evidence = [
                    Evidence(
                        what=f"{member} ({domain}, not {', '.join(sorted(domains))}) holds {role}",
                        source=f"{policy.id} role {role}",
                        document=dict(binding),
                    )
                ]
                if answer is not None:
                    evidence.extend(answer_evidence(snapshot, answer, f"asked: {member} {permission}"))
                verb = "may" if unknown else "can"
                yield Finding(
                    rule=META,
                    subject=f"{target}#{role}#{member}",
                    principal=member,
                    cloud=Cloud.GCP,
                    sentence=(
                        f"{member}, outside the organization's directory, holds {role} on {label(target)}: it "
                        f"{verb} {permission or 'use the role'} there."
                    ),
                    evidence=unique(evidence),
                    answers=(answer,) if answer is not None else (),
                    witness=answer.witness if answer is not None else None,
                    key=(member, role),
                    unknown=unknown,
                    notes=() if permission else (f"the definition of {role} is not in the snapshot",),
                )
    yield from gap_findings(snapshot, META, (Covers.ALLOW_POLICIES,), "grants to outside members", (Cloud.GCP,))
