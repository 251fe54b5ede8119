"""``shared-identity``: one identity used by many workloads, trusted by many principals, or used by
people and machines alike.

- ``shared-identity/many-workloads``: an identity that ``settings.shared_workloads`` or more
  workloads run as (``Workload.principal_ids``): an instance profile's role on many instances, one
  Lambda role for many functions, the Google Cloud default compute service account, a
  user-assigned managed identity on many resources. Outside workflows that federate straight
  into the identity (an Azure federated credential, an AWS OIDC trust: a GitHub workflow) count as
  workloads too, but only next to at least one workload of the snapshot. Every workload holds
  every permission any of them needs, and one compromised workload is all of them. The
  fingerprint is the identity alone: adding a workload to it is the same problem, grown.
- ``shared-identity/widely-trusted``: an identity that ``settings.many_trusted`` or more unrelated
  principals may become directly — by one edge of the mint graph whose mechanism is an assumption,
  an impersonation or a federation (:data:`TRUST_MECHANISMS`), not a rewrite of its policies.
  Unrelated: distinct principals, not counting the identity itself, the workloads that run as it,
  or admin-equivalent principals (which can become anyone). ``*`` counts as one.
- ``shared-identity/human-and-machine-use``: an AWS IAM user with both an active console password
  and an active access key — the user signs in as a person and is used by programs. Google Cloud
  service-account keys held by people, and Azure service principals signed into interactively, are
  not in the snapshot (neither cloud exports who holds a key or who signed in how), so they are not
  checked; this is said in the rule's notes, not taken as "none".
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from models import Cloud, Covers, CredentialKind, PrincipalKind, Workload
from simulator.core import Edge, EdgeStatus
from simulator.findings.context import Context
from simulator.findings.model import Category, Evidence, Finding, Nhi, RuleMeta, Severity
from simulator.findings.rules._graph_helpers import edge_evidence, gap_findings, labeller, outsider_edges, unique
from simulator.graph.walk import is_outsider

MANY_WORKLOADS = RuleMeta(
    id="shared-identity/many-workloads",
    title="One identity is used by several workloads",
    severity=Severity.MEDIUM,
    category=Category.SHARED_IDENTITY,
    nhi=(Nhi.NHI9, Nhi.NHI5),
    rationale=(
        "Workloads that share an identity share every permission any of them needs, and whoever compromises one "
        "of them acts as all of them; their access can neither be reviewed nor revoked one by one."
    ),
    remediation=(
        "Give each workload its own identity with only the permissions it uses (one role per function or task, "
        "a dedicated service account instead of the default compute one, one managed identity per app)."
    ),
)

WIDELY_TRUSTED = RuleMeta(
    id="shared-identity/widely-trusted",
    title="One identity may be assumed by many unrelated principals",
    severity=Severity.MEDIUM,
    category=Category.SHARED_IDENTITY,
    nhi=(Nhi.NHI9,),
    rationale=(
        "An identity that many principals may assume or impersonate is shared by all of them: what it does "
        "cannot be attributed to one, and its permissions are the union of what they all need."
    ),
    remediation="Trust only the principals that need it, and give the others identities of their own.",
)

HUMAN_AND_MACHINE = RuleMeta(
    id="shared-identity/human-and-machine-use",
    title="One IAM user is used both by a person and by programs",
    severity=Severity.MEDIUM,
    category=Category.SHARED_IDENTITY,
    nhi=(Nhi.NHI10, Nhi.NHI7),
    rationale=(
        "A user with a console password and access keys is signed into by a person and used by programs: the "
        "program's long-lived keys carry the person's access, and the person's sign-in carries the program's."
    ),
    remediation=(
        "Split it: people sign in through the identity provider (SSO roles), programs use roles of their own "
        "(instance profiles, OIDC federation) or, failing that, a separate user without a password."
    ),
    clouds=(Cloud.AWS,),
)

DEFAULT_COMPUTE = "-compute@developer.gserviceaccount.com"
#: Mechanisms by which a token from outside (a CI workflow's) becomes an identity directly.
FEDERATION_MECHANISMS = frozenset({"federated-credential", "sts:AssumeRoleWithWebIdentity"})
#: Mechanisms by which a source becomes the target directly (rather than rewriting its policies).
TRUST_MECHANISMS = frozenset(
    {
        "sts:AssumeRole",
        "sts:AssumeRoleWithWebIdentity",
        "sts:AssumeRoleWithSAML",
        "iam.serviceAccounts.getAccessToken",
        "iam.serviceAccounts.signJwt",
        "iam.serviceAccounts.signBlob",
        "iam.serviceAccounts.implicitDelegation",
        "workload-identity-federation",
        "federated-credential",
    }
)


# --- many workloads ------------------------------------------------------------------------


def check_many_workloads(context: Context) -> Iterator[Finding]:
    """Identities that ``settings.shared_workloads`` or more workloads run as, counting the
    workloads of the snapshot and the outside workflows that federate into the identity."""
    snapshot = context.snapshot
    label = labeller(snapshot)
    threshold = context.settings.shared_workloads
    users: dict[str, list[Workload]] = defaultdict(list)
    for workload in snapshot.workloads:
        for runs_as_id in dict.fromkeys(workload.principal_ids):
            users[runs_as_id].append(workload)
    federated: dict[str, list[Edge]] = defaultdict(list)
    for edge in outsider_edges(context.graph.edges):
        if edge.mechanism in FEDERATION_MECHANISMS and "|" in edge.source:
            federated[edge.target].append(edge)
    principals = {p.id: p for p in snapshot.principals}
    runs_as = {(e.source, e.target): e for e in context.graph.edges if e.mechanism == "runs-as"}
    for principal_id, workloads in users.items():
        tokens = federated.get(principal_id, [])
        if len(workloads) + len(tokens) < threshold:
            continue
        principal = principals.get(principal_id)
        cloud = principal.cloud if principal is not None else workloads[0].cloud
        kinds = sorted({w.kind.value.replace("_", " ") for w in workloads})
        evidence = [
            Evidence(
                what=f"{label(w.id)} runs as {label(principal_id)}",
                source=w.id,
                document={"workload": w.id, "kind": w.kind.value, "principal_ids": list(w.principal_ids)},
            )
            for w in workloads
        ]
        for w in workloads:
            ran = runs_as.get((w.id, principal_id))
            if ran is not None:
                evidence.extend(edge_evidence(snapshot, ran, label))
        for token in tokens:
            evidence.extend(edge_evidence(snapshot, token, label))
        names = ", ".join(label(w.id) for w in workloads[:6]) + (", ..." if len(workloads) > 6 else "")
        default = " (the project's default compute service account)" if DEFAULT_COMPUTE in principal_id else ""
        plural = "s" if len(workloads) != 1 else ""
        outside = ""
        if tokens:
            outside = f"; outside workflows federate into it too ({', '.join(label(e.source) for e in tokens)})"
        yield Finding(
            rule=MANY_WORKLOADS,
            subject=principal_id,
            principal=principal_id,
            cloud=cloud,
            sentence=(
                f"{label(principal_id)}{default} is the identity of {len(workloads)} workload{plural} "
                f"({', '.join(kinds)}): {names}{outside}."
            ),
            evidence=unique(evidence),
            answers=tuple(a for e in tokens for a in e.answers),
            key=("workloads",),
        )
    yield from gap_findings(snapshot, MANY_WORKLOADS, (Covers.WORKLOADS,), "the identities workloads run as")


# --- widely trusted ------------------------------------------------------------------------


def trusting_edges(context: Context) -> dict[str, list[Edge]]:
    """For each identity, the direct trust edges into it from unrelated principals (module docstring)."""
    graph = context.graph
    workloads_of: dict[str, set[str]] = defaultdict(set)
    for workload in context.snapshot.workloads:
        for principal in workload.principal_ids:
            workloads_of[principal].add(workload.id)
    known = {p.id for p in context.snapshot.principals}
    out: dict[str, dict[str, Edge]] = defaultdict(dict)
    for edge in sorted(graph.edges, key=lambda e: (not is_outsider(e.source), e.source)):
        if edge.mechanism not in TRUST_MECHANISMS or edge.escalates or edge.target not in known:
            continue
        if edge.source == edge.target or edge.source in graph.admins or edge.source in workloads_of[edge.target]:
            continue
        kept = out[edge.target].get(edge.source)
        if kept is None or (kept.status is not EdgeStatus.PROVEN and edge.status is EdgeStatus.PROVEN):
            out[edge.target][edge.source] = edge
    return {target: list(by_source.values()) for target, by_source in out.items()}


def check_widely_trusted(context: Context) -> Iterator[Finding]:
    """Identities that ``settings.many_trusted`` or more unrelated principals may become."""
    snapshot = context.snapshot
    label = labeller(snapshot)
    threshold = context.settings.many_trusted
    principals = {p.id: p for p in snapshot.principals}
    for target, edges in trusting_edges(context).items():
        if len(edges) < threshold:
            continue
        proven = [e for e in edges if e.status is EdgeStatus.PROVEN]
        shown = ", ".join(label(e.source) for e in edges[:6]) + (", ..." if len(edges) > 6 else "")
        mechanisms = ", ".join(sorted({e.mechanism for e in edges}))
        counted = len(proven) if len(proven) >= threshold else len(edges)
        yield Finding(
            rule=WIDELY_TRUSTED,
            subject=target,
            principal=target,
            cloud=principals[target].cloud,
            sentence=(f"{label(target)} may be assumed by {counted} unrelated principals ({mechanisms}): {shown}."),
            evidence=unique(ev for e in edges for ev in edge_evidence(snapshot, e, label)),
            answers=tuple(a for e in edges[:10] for a in e.answers),
            key=("trusted",),
            unknown=len(proven) < threshold,
        )


# --- human and machine use ---------------------------------------------------------------


def check_human_and_machine(context: Context) -> Iterator[Finding]:
    """AWS IAM users with an active console password and an active access key."""
    snapshot = context.snapshot
    label = labeller(snapshot)
    users = {p.id: p for p in snapshot.principals if p.kind is PrincipalKind.AWS_USER}
    passwords: dict[str, list[str]] = defaultdict(list)
    keys: dict[str, list[str]] = defaultdict(list)
    details: dict[str, list[Evidence]] = defaultdict(list)
    for credential in snapshot.credentials:
        if credential.principal_id not in users or not credential.active:
            continue
        if credential.kind is CredentialKind.PASSWORD:
            passwords[credential.principal_id].append(credential.id)
            mfa = {True: "with MFA", False: "without MFA", None: "MFA unknown"}[credential.mfa]
            last = credential.last_used.date().isoformat() if credential.last_used else "never"
            details[credential.principal_id].append(
                Evidence(what=f"console password ({mfa}), last sign-in {last}", source=credential.id)
            )
        elif credential.kind is CredentialKind.ACCESS_KEY:
            keys[credential.principal_id].append(credential.id)
            last = credential.last_used.date().isoformat() if credential.last_used else "never"
            created = credential.created.date().isoformat() if credential.created else "unknown"
            details[credential.principal_id].append(
                Evidence(what=f"active access key, created {created}, last used {last}", source=credential.id)
            )
    for user_id in users:
        if not passwords.get(user_id) or not keys.get(user_id):
            continue
        count = len(keys[user_id])
        yield Finding(
            rule=HUMAN_AND_MACHINE,
            subject=user_id,
            principal=user_id,
            cloud=Cloud.AWS,
            sentence=(
                f"IAM user {label(user_id)} has a console password and {count} active access "
                f"key{'s' if count != 1 else ''}: one identity for a person and for programs."
            ),
            evidence=tuple(details[user_id]),
            key=("password+access_key",),
        )
    yield from gap_findings(snapshot, HUMAN_AND_MACHINE, (Covers.CREDENTIALS,), "the users' credentials", (Cloud.AWS,))


RULES = (
    (MANY_WORKLOADS, check_many_workloads),
    (WIDELY_TRUSTED, check_widely_trusted),
    (HUMAN_AND_MACHINE, check_human_and_machine),
)
