"""Helpers shared by the escalation, risky-trust and shared-identity rules: short names for nodes,
evidence from edges and answers, the organization's AWS accounts, and findings for collection gaps.

Private to the rules package (the catalogue skips modules whose name starts with ``_``)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from models import Cloud, Covers, PolicyKind, ScopeKind, Snapshot
from simulator.core import Answer, Edge, ExternalToken
from simulator.core.decision import Reason, ReasonKind
from simulator.findings.model import Evidence, Finding, RuleMeta
from simulator.graph.walk import is_outsider

_AWS_NAMED = re.compile(r"arn:aws[a-z-]*:iam::(\d{12}):(?:role|user)/(?:.*/)?([^/]+)")
_AWS_ACCOUNT = re.compile(r"arn:aws[a-z-]*:[a-z0-9-]*:[a-z0-9-]*:(\d{12}):")
_POOL_SET = re.compile(
    r"principalSet://iam\.googleapis\.com/projects/[^/]+/locations/[^/]+/workloadIdentityPools/([^/]+)/\*"
)
_SAML = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:saml-provider/([^|]+)\|.*")
_SHORT_ISSUERS = {
    "token.actions.githubusercontent.com": "github",
    "accounts.google.com": "google-id",
}
#: The kinds of reason that name a deciding document (a statement, binding or assignment).
DECIDING = frozenset({ReasonKind.STATEMENT, ReasonKind.BINDING, ReasonKind.ASSIGNMENT})

Label = Callable[[str], str]

#: Condition keys that limit who the caller is, after Amazon S3's "The meaning of public" (a
#: policy is not public when it grants only to fixed values of these) and the AWS global condition
#: keys on the principal: a "*" principal tested on one of them, with fixed values, is not open
#: to anyone.
LIMITING_KEYS = frozenset(
    {
        "aws:principalorgid",
        "aws:principalorgpaths",
        "aws:principalaccount",
        "aws:principalarn",
        "aws:principalservicename",
        "aws:sourceaccount",
        "aws:sourcearn",
        "aws:sourceowner",
        "aws:sourceorgid",
        "aws:sourceorgpaths",
        "aws:sourceip",
        "aws:sourcevpc",
        "aws:sourcevpce",
        "aws:userid",
        "aws:username",
        "kms:calleraccount",
        "s3:x-amz-server-side-encryption-aws-kms-key-id",
    }
)
#: Values of aws:SourceIp that admit every address.
_ANY_ADDRESS = frozenset({"0.0.0.0/0", "::/0"})


def labeller(snapshot: Snapshot) -> Label:
    """A function from a node id to a short name for sentences (ids stay in ``subject`` and the
    evidence): an AWS role or user by its name (``@ACCOUNT`` added when two accounts hold it), a
    service account by its email without ``.iam.gserviceaccount.com``, an Azure object id by the
    principal's name, a workload or resource by its kind and name, a token ``ISSUER|SUBJECT`` as
    ``github:SUBJECT`` / ``HOST:SUBJECT``, a SAML provider's tokens as "SAML users of NAME", a
    workload identity pool's principal set as "workload identity pool NAME", ``*`` as "anyone",
    another account's root as "AWS account N", a scope by its name (an AWS account as
    ``NAME (ID)``)."""
    names = _names(snapshot)

    def label(node: str) -> str:
        if node in names:
            return names[node]
        if node == "*":
            return "anyone"
        if node.endswith(":root") and (account := aws_account(node)) is not None:
            return f"AWS account {account}"
        pool = _POOL_SET.fullmatch(node)
        if pool is not None:
            return f"workload identity pool {pool.group(1)}"
        saml = _SAML.fullmatch(node)
        if saml is not None:
            return f"SAML users of {saml.group(1)}"
        token = ExternalToken.parse(node)
        if token is not None:
            host = token.issuer.removeprefix("https://").rstrip("/")
            return f"{_SHORT_ISSUERS.get(host, host)}:{token.subject or '*'}"
        return node

    return label


def _names(snapshot: Snapshot) -> dict[str, str]:
    """The short names of the snapshot's principals, resources, scopes and workloads, by id."""
    names: dict[str, str] = {}
    aws_names = Counter(m.group(2) for p in snapshot.principals if (m := _AWS_NAMED.fullmatch(p.id)))
    for p in snapshot.principals:
        m = _AWS_NAMED.fullmatch(p.id)
        if m is not None:
            names[p.id] = m.group(2) if aws_names[m.group(2)] == 1 else f"{m.group(2)}@{m.group(1)}"
        elif p.id.startswith("serviceAccount:"):
            names[p.id] = p.id.removeprefix("serviceAccount:").removesuffix(".iam.gserviceaccount.com")
        elif p.name and p.name != p.id and len(p.id) == 36 and p.id.count("-") == 4:
            names[p.id] = p.name
    for r in snapshot.resources:
        names.setdefault(r.id, f"{r.kind} {r.name}")
    for scope in snapshot.scopes:
        if scope.name and scope.name != scope.id:
            names.setdefault(scope.id, f"{scope.name} ({scope.id})" if scope.kind is ScopeKind.ACCOUNT else scope.name)
    for w in snapshot.workloads:
        names[w.id] = f"{w.kind.value.replace('_', ' ')} {w.name}"
    return names


def aws_account(arn: str) -> str | None:
    """The 12-digit account of an AWS ARN (``arn:aws:iam::N:root``, a role, a resource), else None."""
    m = _AWS_ACCOUNT.match(arn)
    return m.group(1) if m else None


def org_accounts(snapshot: Snapshot) -> frozenset[str]:
    """The AWS accounts of the organization: the snapshot's AWS scopes of kind account."""
    return frozenset(s.id for s in snapshot.scopes if s.cloud is Cloud.AWS and s.kind is ScopeKind.ACCOUNT)


def aws_statement(snapshot: Snapshot, policy_id: str | None, index: int | None) -> Mapping[str, Any] | None:
    """Statement ``index`` of the AWS policy ``policy_id`` of the snapshot, None when not there."""
    if policy_id is None or index is None:
        return None
    for policy in snapshot.policies:
        if policy.id == policy_id:
            statements = policy.document.get("Statement")
            if isinstance(statements, dict):
                statements = [statements]
            if isinstance(statements, list) and 0 <= index < len(statements) and isinstance(statements[index], dict):
                return dict(statements[index])
            return None
    return None


def reason_source(reason: Reason) -> str:
    """Where a deciding reason points: ``POLICY#statement N``, ``POLICY role ROLE member M``."""
    parts = [reason.policy or "(unnamed document)"]
    if reason.statement is not None:
        parts.append(f"statement {reason.statement}" + (f" ({reason.sid})" if reason.sid else ""))
    if reason.role is not None:
        parts.append(f"role {reason.role}")
    if reason.member is not None:
        parts.append(f"member {reason.member}")
    if reason.scope is not None and reason.scope != reason.policy:
        parts.append(f"at {reason.scope}")
    return " ".join(parts)


def reason_document(snapshot: Snapshot, reason: Reason) -> Mapping[str, Any] | None:
    """The native part a deciding reason names: the AWS statement, or the Google Cloud binding /
    Azure assignment as the reason states it."""
    statement = aws_statement(snapshot, reason.policy, reason.statement)
    if statement is not None:
        return statement
    if reason.kind is ReasonKind.BINDING and reason.role is not None:
        return {"role": reason.role, "members": [reason.member] if reason.member else [], "scope": reason.scope}
    if reason.kind is ReasonKind.ASSIGNMENT and reason.role is not None:
        return {"roleDefinition": reason.role, "scope": reason.scope, "principal": reason.member}
    return None


def answer_evidence(snapshot: Snapshot, answer: Answer, what: str) -> Iterator[Evidence]:
    """One evidence per deciding document of ``answer`` (or, for an undecided one, per reason)."""
    reasons = [r for r in answer.reasons if r.kind in DECIDING] or list(answer.reasons)
    for reason in reasons:
        if reason.kind in DECIDING:
            yield Evidence(what=what, source=reason_source(reason), document=reason_document(snapshot, reason))
        else:
            detail = f": {reason.detail}" if reason.detail else ""
            yield Evidence(what=f"{what} is not decided ({reason.kind.value}{detail})", source=reason.policy)


def edge_evidence(snapshot: Snapshot, edge: Edge, label: Label) -> tuple[Evidence, ...]:
    """The evidence of one edge: its mechanism and each answer's witness and deciding documents,
    then the snapshot facts it rests on."""
    step = f"{label(edge.source)} -> {label(edge.target)} by {edge.mechanism}"
    if edge.condition:
        step += f" ({edge.condition})"
    out: list[Evidence] = []
    for answer in edge.answers:
        witness = answer.witness
        what = step if witness is None else f"{step}: {witness.principal} may {witness.action} on {witness.resource}"
        out.extend(answer_evidence(snapshot, answer, what))
    for fact in edge.facts:
        out.append(Evidence(what=f"{step}: {fact.what}", source=fact.source))
    return unique(out)


def unique(evidence: Iterable[Evidence]) -> tuple[Evidence, ...]:
    """``evidence`` without repeats, in order (evidence holds dicts, so it is not hashable)."""
    out: list[Evidence] = []
    for item in evidence:
        if item not in out:
            out.append(item)
    return tuple(out)


def condition_keys(statement: Mapping[str, Any]) -> frozenset[str]:
    """Every condition key a statement tests, lower-cased (AWS condition keys are case-insensitive)."""
    condition = statement.get("Condition")
    if not isinstance(condition, dict):
        return frozenset()
    return frozenset(str(k).lower() for tests in condition.values() if isinstance(tests, dict) for k in tests)


def limits_caller(statement: Mapping[str, Any]) -> bool:
    """Whether a statement's Condition limits who the caller is: a :data:`LIMITING_KEYS` key tested
    with a positive operator (not ``...Not...``) against fixed values (no wildcard, not every
    address). A condition on anything else (``aws:SecureTransport``) limits nobody."""
    condition = statement.get("Condition")
    if not isinstance(condition, dict):
        return False
    for operator, tests in condition.items():
        if not isinstance(tests, dict) or "Not" in str(operator):
            continue
        for key, values in tests.items():
            fixed = [v for v in as_list(values) if "*" not in v and "?" not in v and v not in _ANY_ADDRESS]
            if str(key).lower() in LIMITING_KEYS and fixed and len(fixed) == len(as_list(values)):
                return True
    return False


def outsider_edges(edges: Iterable[Edge]) -> list[Edge]:
    """The edges whose source is outside every cloud (:func:`is_outsider`)."""
    return [e for e in edges if is_outsider(e.source)]


def as_list(value: Any) -> list[str]:
    """A JSON value that is a string or a list of them, as a list (anything else: empty)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [str(v) for v in value]
    return []


def role_permissions(snapshot: Snapshot, role: str) -> list[str]:
    """The permissions of the Google Cloud role ``role`` (its definition in the snapshot), else none."""
    for policy in snapshot.policies:
        if policy.cloud is Cloud.GCP and policy.kind is PolicyKind.GCP_ROLE and policy.id == role:
            return as_list(policy.document.get("includedPermissions"))
    return []


def first_witness_answer(answers: Iterable[Answer]) -> Answer | None:
    for answer in answers:
        if answer.witness is not None:
            return answer
    return None


def gap_findings(
    snapshot: Snapshot,
    meta: RuleMeta,
    covers: Iterable[Covers],
    what: str,
    clouds: Iterable[Cloud] = (),
) -> Iterator[Finding]:
    """One ``unknown`` finding per collection gap of the snapshot that yields any of ``covers``
    (in ``clouds``; all when empty): ``what`` names what the rule could not decide there. A gap
    is said, never taken as "nothing found"."""
    kinds = frozenset(covers)
    wanted = frozenset(clouds)
    for entry in snapshot.coverage:
        if not entry.is_gap or not kinds.intersection(entry.covers):
            continue
        if wanted and entry.cloud is not None and entry.cloud not in wanted:
            continue
        where = entry.target or entry.scope_id
        detail = f": {entry.detail}" if entry.detail else ""
        yield Finding(
            rule=meta,
            subject=f"coverage:{entry.scope_id}:{entry.service}:{entry.operation}",
            principal=entry.scope_id,
            cloud=entry.cloud,
            sentence=(
                f"The scan could not read {entry.service} ({entry.operation}) for {where} "
                f"({entry.status.value}{detail}): {what} there are not known."
            ),
            evidence=(Evidence(what=f"coverage gap: {entry.status.value}", source=entry.operation),),
            key=("coverage", entry.status.value),
            unknown=True,
        )


__all__ = [
    "DECIDING",
    "LIMITING_KEYS",
    "Label",
    "answer_evidence",
    "as_list",
    "aws_account",
    "aws_statement",
    "condition_keys",
    "edge_evidence",
    "first_witness_answer",
    "gap_findings",
    "labeller",
    "limits_caller",
    "org_accounts",
    "outsider_edges",
    "reason_source",
    "role_permissions",
    "unique",
]
