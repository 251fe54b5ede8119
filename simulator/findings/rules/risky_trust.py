"""``risky-trust`` of AWS role trusts that let outsiders in, each with the witness outsider.

The rules read the mint graph's edges whose source is outside every cloud
(:func:`simulator.graph.walk.is_outsider`: a token ``ISSUER|SUBJECT``, another AWS account's root,
anyone ``*``) — each such edge is the estate's proof (an answer with its witness request) that the
outsider gets in. What makes the trust risky is read from the trust statement the edge's answer
names as deciding (kept small: the Principal and Condition keys only):

- ``risky-trust/open-to-anyone``: an AWS trust that admits any principal (``"Principal": "*"`` or
  ``{"AWS": "*"}``) with no condition that limits who the caller is (``limits_caller`` in
  :mod:`simulator.findings.rules._graph_helpers`: fixed values of the caller's org, account,
  ARN, source, network).
- ``risky-trust/cross-account-no-external-id``: an AWS trust of an account outside the
  organization (the snapshot's AWS scopes of kind account) without an ``sts:ExternalId``
  condition: the confused deputy (AWS IAM User Guide, "The confused deputy problem").
- ``risky-trust/oidc-subject-not-pinned``: an AWS OIDC trust (``sts:AssumeRoleWithWebIdentity``)
  whose subject is not pinned. For GitHub Actions (``token.actions.githubusercontent.com``), whose
  ``sub`` is ``repo:OWNER/REPO:...``: the ``sub`` test is missing, or a wildcard reaches into the
  owner or repository (``repo:*``, ``repo:acme/*``), or the subject is a pull request's
  (``repo:OWNER/REPO:pull_request``, which any pull request's workflow gets). A wildcard only
  after a fixed repository (``repo:acme/app:*``) pins the repository and is not reported here. For
  other issuers: a missing subject test or one with a wildcard. SAML trusts are not OIDC trusts.

Federation trusts of Azure and Google Cloud, and bridges between clouds, are in
:mod:`simulator.findings.rules.risky_trust_federation`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from models import Cloud, Covers, Snapshot
from simulator.core import Edge, EdgeStatus, ExternalToken
from simulator.findings.context import Context
from simulator.findings.model import Category, Evidence, Finding, Nhi, RuleMeta, Severity
from simulator.findings.rules._graph_helpers import (
    Label,
    aws_account,
    aws_statement,
    condition_keys,
    edge_evidence,
    gap_findings,
    labeller,
    limits_caller,
    org_accounts,
    outsider_edges,
    unique,
)

OPEN = RuleMeta(
    id="risky-trust/open-to-anyone",
    title="A role trusts any principal of any account",
    severity=Severity.CRITICAL,
    category=Category.RISKY_TRUST,
    nhi=(Nhi.NHI6, Nhi.NHI3),
    rationale=(
        'A trust policy with "Principal": "*" (or {"AWS": "*"}) and no condition on who the caller is lets any '
        "principal of any AWS account assume the role."
    ),
    remediation=(
        "Name the accounts or roles that may assume it, or add a condition that limits the caller "
        "(aws:PrincipalOrgID, aws:PrincipalArn, aws:SourceAccount)."
    ),
    clouds=(Cloud.AWS,),
)

NO_EXTERNAL_ID = RuleMeta(
    id="risky-trust/cross-account-no-external-id",
    title="A role trusts an account outside the organization without an ExternalId",
    severity=Severity.HIGH,
    category=Category.RISKY_TRUST,
    nhi=(Nhi.NHI3,),
    rationale=(
        "A third party that assumes roles for many customers can be tricked into using its access on behalf of "
        "another customer (the confused deputy); an sts:ExternalId condition ties each assumption to this customer."
    ),
    remediation='Add "Condition": {"StringEquals": {"sts:ExternalId": "<the value the third party gave you>"}}.',
    clouds=(Cloud.AWS,),
)

OIDC_UNPINNED = RuleMeta(
    id="risky-trust/oidc-subject-not-pinned",
    title="An OIDC trust does not pin the token's subject",
    severity=Severity.CRITICAL,
    category=Category.RISKY_TRUST,
    nhi=(Nhi.NHI3, Nhi.NHI6),
    rationale=(
        "An OIDC provider such as GitHub Actions signs tokens for every repository and workflow it runs; a trust "
        "that checks only the audience, or a subject pattern with a wildcard in the owner or repository, or a pull "
        "request's subject, lets workflows nobody here controls assume the role."
    ),
    remediation=(
        "Pin the sub claim with StringEquals to the repository and the branch or environment that deploys "
        "(repo:OWNER/REPO:ref:refs/heads/main, repo:OWNER/REPO:environment:prod)."
    ),
    clouds=(Cloud.AWS,),
)

GITHUB = "token.actions.githubusercontent.com"
_PINNED_REPO = re.compile(r"repo:[^*?/:]+/[^*?/:]+:")


# --- reading the trust documents ------------------------------------------------------------


def trust_statements(snapshot: Snapshot, edge: Edge) -> list[tuple[str, int, Mapping[str, Any]]]:
    """The trust-policy statements the edge's answers name as deciding: (policy id, index, statement)."""
    out = []
    for answer in edge.answers:
        for reason in answer.reasons:
            if reason.policy is None or not reason.policy.endswith("#trust") or reason.statement is None:
                continue
            statement = aws_statement(snapshot, reason.policy, reason.statement)
            if statement is not None and (reason.policy, reason.statement, statement) not in out:
                out.append((reason.policy, reason.statement, statement))
    return out


def trust_evidence(snapshot: Snapshot, edge: Edge, label: Label, what: str) -> tuple[Evidence, ...]:
    """The trust statements (saying ``what`` is wrong with them), then the rest of the edge's
    evidence: its witness and the other documents that decided it."""
    statements = [
        Evidence(what=what, source=f"{policy} statement {index}", document=statement)
        for policy, index, statement in trust_statements(snapshot, edge)
    ]
    shown = {e.source for e in statements}
    rest = [e for e in edge_evidence(snapshot, edge, label) if e.document is None or e.source not in shown]
    return unique([*statements, *rest])


def witness_text(edge: Edge, label: Label) -> str:
    """The edge's witness request in words (its first allowed answer's), else its mechanism."""
    for answer in edge.answers:
        if answer.witness is not None:
            w = answer.witness
            return f"{label(w.principal)} may {w.action} on {label(w.resource)}"
    return f"{label(edge.source)} gets in by {edge.mechanism}"


# --- open to anyone --------------------------------------------------------------------------


def check_open(context: Context) -> Iterator[Finding]:
    """Roles whose trust admits ``*`` with no condition on the caller."""
    snapshot = context.snapshot
    label = labeller(snapshot)
    for edge in outsider_edges(context.graph.edges):
        if edge.source != "*" or edge.cloud is not Cloud.AWS:
            continue
        statements = trust_statements(snapshot, edge)
        if any(limits_caller(s) for _, _, s in statements):
            continue
        role = label(edge.target)
        yield Finding(
            rule=OPEN,
            subject=edge.target,
            principal=edge.target,
            cloud=edge.cloud,
            sentence=(
                f"Role {role} trusts any principal of any AWS account with no condition on the caller: "
                f"{witness_text(edge, label)}."
            ),
            evidence=trust_evidence(snapshot, edge, label, f"trust of {role} admits any principal"),
            answers=edge.answers,
            key=("*", edge.mechanism),
            unknown=edge.status is not EdgeStatus.PROVEN,
        )
    yield from gap_findings(snapshot, OPEN, (Covers.TRUST_POLICIES,), "the roles' trusts", (Cloud.AWS,))


# --- cross-account without ExternalId ------------------------------------------------------


def foreign_aws_source(snapshot: Snapshot, edge: Edge, accounts: frozenset[str]) -> str | None:
    """The account of the edge's source when it is an AWS principal of an account outside the
    organization (another account's root, or an ARN there the snapshot does not hold), else None."""
    if edge.source == "*" or "|" in edge.source:
        return None
    account = aws_account(edge.source)
    if account is None or account in accounts:
        return None
    return account


def check_no_external_id(context: Context) -> Iterator[Finding]:
    """Roles that an account outside the organization may assume without an ExternalId."""
    snapshot = context.snapshot
    label = labeller(snapshot)
    accounts = org_accounts(snapshot)
    for edge in context.graph.edges:
        if edge.cloud is not Cloud.AWS or not edge.mechanism.startswith("sts:AssumeRole"):
            continue
        account = foreign_aws_source(snapshot, edge, accounts)
        if account is None:
            continue
        statements = trust_statements(snapshot, edge)
        if any("sts:externalid" in condition_keys(s) for _, _, s in statements):
            continue
        role = label(edge.target)
        yield Finding(
            rule=NO_EXTERNAL_ID,
            subject=edge.target,
            principal=edge.target,
            cloud=edge.cloud,
            sentence=(
                f"Role {role} trusts AWS account {account}, outside the organization, without an sts:ExternalId "
                f"condition: {witness_text(edge, label)}."
            ),
            evidence=trust_evidence(snapshot, edge, label, f"trust of {role} admits account {account}"),
            answers=edge.answers,
            key=(account,),
            unknown=edge.status is not EdgeStatus.PROVEN,
        )
    yield from gap_findings(snapshot, NO_EXTERNAL_ID, (Covers.TRUST_POLICIES,), "the roles' trusts", (Cloud.AWS,))


# --- OIDC subject not pinned ---------------------------------------------------------------


def is_github(issuer: str) -> bool:
    return issuer.removeprefix("https://").rstrip("/") == GITHUB


def unpinned(issuer: str, subject: str) -> str | None:
    """Why a trusted OIDC subject (pattern) is not pinned, or None when it is (module docstring)."""
    if subject in ("", "*"):
        return "the subject is not tested"
    if is_github(issuer):
        if subject.endswith(":pull_request") or ":pull_request:" in subject:
            return "the subject is any pull request's"
        if "*" in subject or "?" in subject:
            head = re.split(r"[*?]", subject, maxsplit=1)[0]
            if not _PINNED_REPO.match(head):
                return f"the subject pattern {subject} does not fix the repository"
        return None
    if "*" in subject or "?" in subject:
        return f"the subject pattern {subject} has a wildcard"
    return None


def check_oidc(context: Context) -> Iterator[Finding]:
    """AWS OIDC trusts whose subject is not pinned."""
    snapshot = context.snapshot
    label = labeller(snapshot)
    for edge in outsider_edges(context.graph.edges):
        if edge.cloud is not Cloud.AWS or edge.mechanism != "sts:AssumeRoleWithWebIdentity":
            continue
        token = ExternalToken.parse(edge.source)
        if token is None:
            continue
        why = unpinned(token.issuer, token.subject)
        if why is None:
            continue
        role = label(edge.target)
        yield Finding(
            rule=OIDC_UNPINNED,
            subject=edge.target,
            principal=edge.target,
            cloud=edge.cloud,
            sentence=(f"Role {role} trusts OIDC tokens of {token.issuer} but {why}: {witness_text(edge, label)}."),
            evidence=trust_evidence(snapshot, edge, label, f"trust of {role}: {why}"),
            answers=edge.answers,
            key=(token.issuer, token.subject),
            unknown=edge.status is not EdgeStatus.PROVEN,
        )
    yield from gap_findings(snapshot, OIDC_UNPINNED, (Covers.TRUST_POLICIES,), "the OIDC trusts", (Cloud.AWS,))


RULES = (
    (OPEN, check_open),
    (NO_EXTERNAL_ID, check_no_external_id),
    (OIDC_UNPINNED, check_oidc),
)
