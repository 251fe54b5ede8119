"""``risky-trust`` of resource policies: public resources and resources shared with other accounts.

- ``risky-trust/public-resource-policy``: an AWS resource policy (S3, KMS, SQS, SNS, Lambda,
  Secrets Manager, ...) with an Allow statement for ``"Principal": "*"`` (or ``{"AWS": "*"}``) and
  no condition that limits who the caller is (aws:SourceOwner, aws:SourceArn, aws:PrincipalOrgID,
  ... — see :data:`simulator.findings.rules._graph_helpers.LIMITING_KEYS`); and a Google Cloud
  binding of ``allUsers`` or ``allAuthenticatedUsers``. Each is **proven** by asking the estate
  whether an outsider may act: ``*`` (an anonymous caller of another account) for AWS, with only
  the context the engine fills in (no condition key chosen freely); ``allUsers`` /
  ``allAuthenticatedUsers`` for Google Cloud, with one permission of the bound role. Allowed: a
  finding with that witness; unknown: a finding marked unknown; denied (a deny statement, an RCP,
  a deny policy stops it): no finding.
- ``risky-trust/external-resource-access``: an AWS resource policy that grants an account outside
  the organization (the snapshot's AWS accounts) — its root, or a principal there — proven by
  asking as that principal.
- ``risky-trust/cross-account-resource-access``: an AWS resource policy that grants another
  account *of* the organization (a dev account reading prod's key or secret): environment
  isolation. Proven by asking as the named principal, or, for an account root, by who-can: the
  principals of that account the estate allows.

The statements are read here, in their native JSON, only to find the grants and the action and
resource to ask about; the decision is the estate's.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from models import Cloud, Covers, Policy, PolicyKind, Snapshot
from simulator.core import Answer, Decision
from simulator.findings.context import Context
from simulator.findings.model import Category, Evidence, Finding, Nhi, RuleMeta, Severity
from simulator.findings.rules._graph_helpers import (
    Label,
    answer_evidence,
    as_list,
    aws_account,
    gap_findings,
    labeller,
    limits_caller,
    org_accounts,
    role_permissions,
    unique,
)

PUBLIC = RuleMeta(
    id="risky-trust/public-resource-policy",
    title="A resource policy or binding makes a resource public",
    severity=Severity.HIGH,
    category=Category.RISKY_TRUST,
    nhi=(Nhi.NHI6,),
    rationale=(
        'A resource policy that allows "Principal": "*" without a condition on the caller, or a binding of '
        "allUsers / allAuthenticatedUsers, lets anyone on the internet (or any account of the cloud) use the resource."
    ),
    remediation=(
        "Remove the public statement or binding; serve public content through a CDN origin access control, or add "
        "a condition that limits the caller (aws:PrincipalOrgID, aws:SourceArn)."
    ),
    clouds=(Cloud.AWS, Cloud.GCP),
)

EXTERNAL = RuleMeta(
    id="risky-trust/external-resource-access",
    title="A resource policy grants an account outside the organization",
    severity=Severity.HIGH,
    category=Category.RISKY_TRUST,
    nhi=(Nhi.NHI3,),
    rationale=(
        "A resource policy that names another organization's account lets every principal that account allows "
        "use the resource, under that account's control, not yours."
    ),
    remediation=(
        "Remove the grant, or narrow it to the one role that needs it and add conditions (aws:SourceArn, "
        "aws:SourceAccount) that tie it to the integration."
    ),
    clouds=(Cloud.AWS,),
)

CROSS_ACCOUNT = RuleMeta(
    id="risky-trust/cross-account-resource-access",
    title="A resource policy grants another account of the organization",
    severity=Severity.MEDIUM,
    category=Category.RISKY_TRUST,
    nhi=(Nhi.NHI8,),
    rationale=(
        "A resource policy that grants another account of the organization (a development account on a "
        "production key or secret) breaks the isolation between environments: whoever controls that account "
        "reaches this one's data."
    ),
    remediation="Grant the one role that needs it, or replicate the data into the consuming account.",
    clouds=(Cloud.AWS,),
)

#: The action asked, per service, when a statement names only wildcards (``kms:*``).
PROBE_ACTIONS: Mapping[str, str] = {
    "s3": "s3:GetObject",
    "kms": "kms:Decrypt",
    "sqs": "sqs:SendMessage",
    "sns": "sns:Publish",
    "lambda": "lambda:InvokeFunction",
    "secretsmanager": "secretsmanager:GetSecretValue",
    "ecr": "ecr:BatchGetImage",
    "glacier": "glacier:InitiateJobs",
    "logs": "logs:PutLogEvents",
    "codebuild": "codebuild:StartBuild",
    "es": "es:ESHttpGet",
}
#: Permissions asked first when a public role holds them: the ones that read the data.
PREFERRED_PERMISSIONS = frozenset({"storage.objects.get", "bigquery.tables.getData", "run.routes.invoke"})
PUBLIC_MEMBERS = ("allUsers", "allAuthenticatedUsers")
PROBE_NAME = "iamdrift-probe"


@dataclass(frozen=True, kw_only=True)
class Grant:
    """One Allow statement of a resource policy: the policy, the statement's index and JSON, the
    resource the policy is attached to, and the AWS principals it names."""

    policy: Policy
    index: int
    statement: Mapping[str, Any]
    target: str
    principals: tuple[str, ...]


def attached_resource(snapshot: Snapshot, policy: Policy) -> str:
    """The resource a resource policy is attached to (the attachment's target, else the policy id
    without its ``#policy`` suffix)."""
    for attachment in snapshot.attachments:
        if attachment.policy_id == policy.id:
            return attachment.target_id
    return policy.id.split("#", 1)[0]


def aws_principals(statement: Mapping[str, Any]) -> tuple[str, ...]:
    """The AWS principals (``*``, account ids as roots, ARNs) a statement's Principal names."""
    principal = statement.get("Principal")
    if principal == "*":
        return ("*",)
    if not isinstance(principal, dict):
        return ()
    out = []
    for value in as_list(principal.get("AWS")):
        out.append(f"arn:aws:iam::{value}:root" if value.isdigit() and len(value) == 12 else value)
    return tuple(out)


def grants(snapshot: Snapshot) -> Iterator[Grant]:
    """Every Allow statement of the AWS resource policies, with the AWS principals it names."""
    for policy in snapshot.policies:
        if policy.cloud is not Cloud.AWS or policy.kind is not PolicyKind.RESOURCE:
            continue
        statements = policy.document.get("Statement")
        if isinstance(statements, dict):
            statements = [statements]
        if not isinstance(statements, list):
            continue
        target = attached_resource(snapshot, policy)
        for index, statement in enumerate(statements):
            if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
                continue
            principals = aws_principals(statement)
            if principals:
                yield Grant(policy=policy, index=index, statement=statement, target=target, principals=principals)


def probe_action(grant: Grant) -> str | None:
    """A concrete action the statement allows: its first action without a wildcard, else the
    service's probe action when the statement's patterns match it; None for NotAction statements
    or when neither fits."""
    actions = as_list(grant.statement.get("Action"))
    for action in actions:
        if "*" not in action and "?" not in action:
            service, _, name = action.partition(":")
            return f"{service.lower()}:{name}"
    service = grant.target.split(":")[2] if grant.target.startswith("arn:") else ""
    probe = PROBE_ACTIONS.get(service)
    if probe is not None and any(fnmatch.fnmatchcase(probe.lower(), a.lower()) for a in actions):
        return probe
    return None


def probe_resource(grant: Grant, action: str) -> str:
    """A concrete resource the statement covers: its first Resource with wildcards filled, the
    attached resource for ``*`` (an S3 object under the bucket for object actions)."""
    for pattern in as_list(grant.statement.get("Resource")):
        if pattern == "*":
            break
        return pattern.replace("*", PROBE_NAME).replace("?", "x")
    if action.startswith("s3:") and action.endswith("Object") and grant.target.startswith("arn:aws:s3:::"):
        return f"{grant.target}/{PROBE_NAME}"
    return grant.target


def statement_evidence(grant: Grant, what: str) -> Evidence:
    sid = grant.statement.get("Sid")
    source = f"{grant.policy.id} statement {grant.index}" + (f" ({sid})" if sid else "")
    return Evidence(what=what, source=source, document=dict(grant.statement))


def decided(answers: list[Answer]) -> tuple[Answer | None, bool]:
    """The allowed answer (else the first unknown one) and whether the access is unproven;
    (None, False) when every answer is a deny."""
    for answer in answers:
        if answer.decision is Decision.ALLOWED:
            return answer, False
    for answer in answers:
        if answer.decision is Decision.UNKNOWN:
            return answer, True
    return None, False


def grant_finding(
    context: Context,
    meta: RuleMeta,
    grant: Grant,
    who: str,
    answer: Answer,
    unknown: bool,
    sentence: str,
    label: Label,
) -> Finding:
    what = f"{grant.policy.name} allows {who}"
    evidence = [statement_evidence(grant, what), *answer_evidence(context.snapshot, answer, f"asked: {who}")]
    return Finding(
        rule=meta,
        subject=grant.target,
        principal=grant.target,
        cloud=Cloud.AWS,
        sentence=sentence,
        evidence=unique(evidence),
        answers=(answer,),
        witness=answer.witness,
        key=(who, str(grant.statement.get("Sid") or grant.index)),
        unknown=unknown,
        notes=() if not unknown else tuple(r.detail or r.kind.value for r in answer.reasons),
    )


# --- public ------------------------------------------------------------------------------


def check_public(context: Context) -> Iterator[Finding]:
    """Public AWS resource policies and Google Cloud public bindings, each proven by the estate."""
    yield from public_aws(context)
    yield from public_gcp(context)
    yield from gap_findings(
        context.snapshot,
        PUBLIC,
        (Covers.RESOURCE_POLICIES, Covers.ALLOW_POLICIES),
        "public resource policies and bindings",
        (Cloud.AWS, Cloud.GCP),
    )


def public_aws(context: Context) -> Iterator[Finding]:
    label = labeller(context.snapshot)
    estate = context.estate
    for grant in grants(context.snapshot):
        if "*" not in grant.principals or limits_caller(grant.statement):
            continue
        action = probe_action(grant)
        if action is None:
            continue
        resource = probe_resource(grant, action)
        answer, unknown = decided([estate.can(estate.ask("*", action, resource))])
        if answer is None:
            continue
        verb = "may" if unknown else "can"
        witness = answer.witness.principal if answer.witness is not None else "any principal"
        sentence = (
            f"{label(grant.target)} is public: its policy allows any principal {action} with no condition on the "
            f"caller ({witness}, an outsider, {verb} {action} on {resource})."
        )
        yield grant_finding(context, PUBLIC, grant, "*", answer, unknown, sentence, label)


def probe_permission(snapshot: Snapshot, role: str, resource: str) -> str | None:
    """A permission of ``role`` of the resource's own service (``storage.`` for a bucket), else
    its first one; None when the role's definition is not in the snapshot."""
    permissions = role_permissions(snapshot, role)
    service = resource.removeprefix("//").split(".", 1)[0] + "."
    own = [p for p in permissions if p.startswith(service)]
    preferred = [p for p in own if p in PREFERRED_PERMISSIONS]
    ranked = preferred or own or permissions
    return ranked[0] if ranked else None


def public_gcp(context: Context) -> Iterator[Finding]:
    snapshot = context.snapshot
    estate = context.estate
    label = labeller(snapshot)
    targets = {a.policy_id: a.target_id for a in snapshot.attachments}
    for policy in snapshot.policies:
        if policy.cloud is not Cloud.GCP or policy.kind is not PolicyKind.GCP_BINDINGS:
            continue
        target = targets.get(policy.id, policy.id.split("#", 1)[0])
        for binding in policy.document.get("bindings") or ():
            if not isinstance(binding, dict):
                continue
            public = [m for m in as_list(binding.get("members")) if m in PUBLIC_MEMBERS]
            role = str(binding.get("role", ""))
            for member in public:
                permission = probe_permission(snapshot, role, target)
                if permission is None:
                    answer, unknown = None, True
                else:
                    answer, unknown = decided([estate.can(estate.ask(member, permission, target))])
                    if answer is None:
                        continue
                what = f"{member} holds {role} on {label(target)}"
                evidence = [Evidence(what=what, source=f"{policy.id} role {role}", document=dict(binding))]
                if answer is not None:
                    evidence.extend(answer_evidence(snapshot, answer, f"asked: {member} {permission}"))
                verb = "can" if not unknown else "may"
                anyone = "anyone on the internet" if member == "allUsers" else "any signed-in Google account"
                yield Finding(
                    rule=PUBLIC,
                    subject=target,
                    principal=target,
                    cloud=Cloud.GCP,
                    sentence=(
                        f"{label(target)} is public: {member} holds {role}, so {anyone} {verb} "
                        f"{permission or 'use it'}."
                    ),
                    evidence=unique(evidence),
                    answers=(answer,) if answer is not None else (),
                    witness=answer.witness if answer is not None else None,
                    key=(member, role),
                    unknown=unknown,
                    notes=() if permission else (f"the definition of {role} is not in the snapshot",),
                )


# --- shared with other accounts ----------------------------------------------------------


def check_external(context: Context) -> Iterator[Finding]:
    """AWS resource policies that grant accounts outside the organization."""
    yield from shared(context, inside=False)
    yield from gap_findings(context.snapshot, EXTERNAL, (Covers.RESOURCE_POLICIES,), "resource policies", (Cloud.AWS,))


def check_cross_account(context: Context) -> Iterator[Finding]:
    """AWS resource policies that grant other accounts of the organization."""
    yield from shared(context, inside=True)


def shared(context: Context, *, inside: bool) -> Iterator[Finding]:
    snapshot = context.snapshot
    estate = context.estate
    label = labeller(snapshot)
    accounts = org_accounts(snapshot)
    known = {p.id for p in snapshot.principals}
    for grant in grants(snapshot):
        owner = aws_account(grant.target) or grant.policy.scope_id
        action = probe_action(grant)
        if action is None:
            continue
        resource = probe_resource(grant, action)
        for principal in grant.principals:
            account = aws_account(principal)
            if principal == "*" or account is None or account == owner or (account in accounts) != inside:
                continue
            if principal.endswith(":root") and inside:
                # The account's own policies decide who of it may: ask who-can, keep that account's.
                asked = estate.who_can(estate.ask(None, action, resource))
                answers = [a for a in asked if aws_account(a.principal) == account and a.principal in known]
            else:
                answers = [estate.can(estate.ask(principal, action, resource))]
            answer, unknown = decided(answers)
            if answer is None:
                continue
            meta = CROSS_ACCOUNT if inside else EXTERNAL
            where = "another account of the organization" if inside else "an account outside the organization"
            who = answer.witness.principal if answer.witness is not None else principal
            verb = "may" if unknown else "can"
            sentence = (
                f"The policy of {label(grant.target)} grants {label(principal)} ({where}): "
                f"{label(who)} {verb} {action} on {label(resource)}."
            )
            yield grant_finding(context, meta, grant, principal, answer, unknown, sentence, label)


RULES = (
    (PUBLIC, check_public),
    (EXTERNAL, check_external),
    (CROSS_ACCOUNT, check_cross_account),
)
