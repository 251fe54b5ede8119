"""``can`` and ``who-can`` on a stored snapshot (AWS).

For a principal, the policies that apply are gathered from the snapshot: its inline and attached
managed policies, those of its groups, its permission boundary, the SCPs on every level from the
organization root to its account (unless it is the management account or a service-linked role),
the RCPs on the resource's account path, and the resource's own policy — a role's trust policy
for ``sts:AssumeRole*``, a bucket's policy for its objects.

The request context holds what AWS would set from the principal (``aws:PrincipalArn``,
``aws:PrincipalAccount``, ``aws:PrincipalType``, ``aws:username``, ``aws:userid``,
``aws:PrincipalTag/*``, ``aws:PrincipalOrgID``, ``aws:ResourceAccount``) plus what the caller
gives; with ``any_context`` every other key is free.

Soundness: where the snapshot cannot say what the resource's policy is — its service keeps
resource policies iamdrift does not collect, or the read failed (a coverage gap) — no answer is
proven: the result is ``unknown`` and says why. So is a policy an attachment names but the
snapshot lacks.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from models import AttachmentKind, PrincipalKind, ScopeKind, Snapshot
from simulator.aws.encode import Z3Session, action_matches
from simulator.aws.policy import PolicyDocument, PolicyError, parse_policy
from simulator.aws.request import Case, Request, arn_account, classify_principal, normalize_context
from simulator.aws.semantics import PolicySet, requires_resource_side
from simulator.aws.simulate import Answer, decide_reference, decide_smt

#: Services whose resource policies the AWS collector reads, and how a resource ARN maps to the
#: ARN of the resource that holds the policy.
COLLECTED_RESOURCE_POLICIES = ("s3", "kms", "sqs", "sns", "secretsmanager", "lambda")
#: Services that support resource-based policies the collector does not read (AWS documentation).
UNCOLLECTED_RESOURCE_POLICIES = frozenset(
    {
        "ecr", "glacier", "backup", "dynamodb", "es", "events", "logs", "execute-api", "elasticfilesystem",
        "codeartifact", "glue", "serverlessrepo", "ses", "mediastore", "lex", "iot", "s3-object-lambda",
        "s3express", "kinesis", "secretsmanager-", "ram", "cloud9", "codebuild", "aps", "bedrock",
        "lakeformation", "schemas", "acm-pca", "vpc-lattice", "redshift-serverless", "signer", "airflow",
    }
)  # fmt: skip
PRINCIPAL_KINDS = (PrincipalKind.AWS_USER, PrincipalKind.AWS_ROLE)


class QueryError(ValueError):
    """The question cannot be asked of this snapshot (unknown principal, ...)."""


@dataclass
class CanAnswer:
    principal: str
    answer: Answer
    policies: list[dict[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        out = {"principal": self.principal, **self.answer.to_json(), "policies": self.policies}
        out.pop("id", None)
        if self.notes:
            out["notes"] = self.notes
        return out


class SnapshotIndex:
    """A snapshot's AWS policies indexed by what they apply to; documents parsed once."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self.principals = {p.id: p for p in snapshot.principals}
        self.policies = {p.id: p for p in snapshot.policies}
        self.scopes = {s.id: s for s in snapshot.scopes}
        self.attached: dict[tuple[str, AttachmentKind], list[str]] = defaultdict(list)
        for a in snapshot.attachments:
            self.attached[(a.target_id, a.kind)].append(a.policy_id)
        self.resources = {r.id: r for r in snapshot.resources}
        self.gaps = [g for g in snapshot.coverage if g.is_gap]
        self.read = {(e.scope_id, e.service, e.region) for e in snapshot.coverage if not e.is_gap}
        self._parsed: dict[str, PolicyDocument | str] = {}
        self.session = Z3Session()
        self.management = {
            s.attributes.get("management_account_id") for s in snapshot.scopes if s.kind is ScopeKind.ORGANIZATION
        }

    def resolve_principal(self, ref: str) -> str:
        if ref in self.principals:
            return ref
        named = [p.id for p in self.principals.values() if p.name == ref and p.kind in PRINCIPAL_KINDS]
        if len(named) == 1:
            return named[0]
        if len(named) > 1:
            raise QueryError(f"principal name {ref!r} is ambiguous: {', '.join(sorted(named))}")
        raise QueryError(f"no AWS user or role {ref!r} in snapshot {self.snapshot.id}")

    def document(self, policy_id: str, notes: list[str]) -> PolicyDocument | None:
        if policy_id not in self._parsed:
            policy = self.policies.get(policy_id)
            if policy is None:
                self._parsed[policy_id] = f"policy {policy_id} is attached but not in the snapshot"
            else:
                try:
                    self._parsed[policy_id] = parse_policy(policy.document, policy_id)
                except PolicyError as exc:
                    self._parsed[policy_id] = f"policy {policy_id} cannot be read: {exc}"
        parsed = self._parsed[policy_id]
        if isinstance(parsed, str):
            notes.append(parsed)
            return None
        return parsed

    def documents(self, target: str, kind: AttachmentKind, notes: list[str]) -> list[PolicyDocument]:
        docs = [self.document(pid, notes) for pid in self.attached.get((target, kind), [])]
        return [d for d in docs if d is not None]

    def scope_path(self, account: str) -> list[str]:
        """Root first, account last; empty if the account is not in an organization."""
        path = []
        current = self.scopes.get(account)
        while current is not None and current.kind is not ScopeKind.ORGANIZATION:
            path.append(current.id)
            current = self.scopes.get(current.parent_id) if current.parent_id else None
        return list(reversed(path)) if current is not None else []

    def org_levels(
        self, account: str | None, kind: AttachmentKind, notes: list[str]
    ) -> tuple[tuple[PolicyDocument, ...], ...]:
        if account is None or account in self.management:
            return ()
        return tuple(tuple(self.documents(scope, kind, notes)) for scope in self.scope_path(account))

    def resource_policy(
        self, action: str, resource: str, problems: list[str], notes: list[str]
    ) -> PolicyDocument | None:
        """The resource's policy, or None. Where the snapshot cannot tell, says why in ``problems``."""
        service = action.split(":", 1)[0].lower()
        if requires_resource_side(action) and service == "sts":
            docs = self.documents(resource, AttachmentKind.TRUST, problems)
            if resource not in self.principals:
                problems.append(f"role {resource} is not in the snapshot: its trust policy is unknown")
            return docs[0] if docs else None
        holder = resource.split("/", 1)[0] if service == "s3" else resource
        if service in COLLECTED_RESOURCE_POLICIES:
            docs = self.documents(holder, AttachmentKind.RESOURCE, problems)
            if holder in self.resources:
                return docs[0] if docs else None
            account = arn_account(holder) or arn_account(resource)
            region = holder.split(":")[3] if holder.count(":") >= 5 else ""
            if any(
                s == service and (not region or r in (region, None)) and (account is None or a == account)
                for a, s, r in self.read
            ):
                notes.append(f"{holder} was not seen by the scan, which read {service} here: taken as having no policy")
                return None
            problems.append(f"the scan did not read {service} resource policies where {holder} lives")
            return None
        if service in UNCOLLECTED_RESOURCE_POLICIES:
            problems.append(f"{service} resources can carry resource policies, which iamdrift does not collect")
        return None

    def context_for(self, principal_id: str, resource: str) -> dict[str, tuple[str, ...]]:
        p = self.principals[principal_id]
        account = p.scope_id
        context: dict[str, tuple[str, ...]] = {
            "aws:principalarn": (p.id,),
            "aws:principalaccount": (account,),
            "aws:principaltype": ("User" if p.kind is PrincipalKind.AWS_USER else "AssumedRole",),
            "aws:principalisawsservice": ("false",),
        }
        if p.kind is PrincipalKind.AWS_USER:
            context["aws:username"] = (p.name,)
            if p.native_id:
                context["aws:userid"] = (p.native_id,)
        for key, value in p.tags.items():
            context[f"aws:principaltag/{key.lower()}"] = (value,)
        orgs = [s.id for s in self.scopes.values() if s.kind is ScopeKind.ORGANIZATION]
        if orgs and self.scope_path(account):
            context["aws:principalorgid"] = (orgs[0],)
        resource_account = arn_account(resource)
        if resource_account:
            context["aws:resourceaccount"] = (resource_account,)
        context.update(self.ambient(resource))
        return context

    def ambient(self, resource: str) -> dict[str, tuple[str, ...]]:
        """Keys AWS sets on every request: the region (the resource's, else us-east-1 for
        global resources), the time, TLS. Callers override them with ``--context``."""
        holder = self.resources.get(resource.split("/", 1)[0]) or self.resources.get(resource)
        parts = resource.split(":")
        region = (holder.region if holder and holder.region else None) or (
            parts[3] if len(parts) > 5 and parts[3] else "us-east-1"
        )
        now = datetime.now(UTC).replace(microsecond=0)
        return {
            "aws:requestedregion": (region,),
            "aws:currenttime": (now.strftime("%Y-%m-%dT%H:%M:%SZ"),),
            "aws:epochtime": (str(int(now.timestamp())),),
            "aws:securetransport": ("true",),
        }

    def case_for(
        self, principal_id: str, action: str, resource: str, extra: dict[str, Any]
    ) -> tuple[Case, list[str], list[str]]:
        """(the case, what blocks a proof, informational notes)."""
        problems: list[str] = []
        notes: list[str] = []
        p = self.principals[principal_id]
        identity = self.documents(principal_id, AttachmentKind.IDENTITY, problems)
        for group in p.member_of:
            identity += self.documents(group, AttachmentKind.IDENTITY, problems)
        boundaries = self.documents(principal_id, AttachmentKind.BOUNDARY, problems)
        resource_doc = self.resource_policy(action, resource, problems, notes)
        resource_account = arn_account(resource) or (p.scope_id if resource_doc is None else None)
        policies = PolicySet(
            identity=tuple(identity),
            resource=resource_doc,
            boundary=boundaries[0] if boundaries else None,
            scps=self.org_levels(p.scope_id, AttachmentKind.SCP, problems),
            rcps=self.org_levels(resource_account, AttachmentKind.RCP, problems),
        )
        context = self.context_for(principal_id, resource)
        context.update(normalize_context(extra, "--context"))
        request = Request(
            principal=classify_principal(principal_id),
            action=action,
            resource=resource,
            resource_account=resource_account,
            context=context,
        )
        return Case(id=None, request=request, policies=policies), problems, notes


def can(
    index: SnapshotIndex,
    principal_ref: str,
    action: str,
    resource: str,
    *,
    context: dict[str, Any] | None = None,
    any_context: bool = False,
    engine: str = "smt",
) -> CanAnswer:
    principal_id = index.resolve_principal(principal_ref)
    case, problems, notes = index.case_for(principal_id, action, resource, context or {})
    if engine == "reference":
        answer = decide_reference(case, any_context=any_context)
    else:
        answer = decide_smt(case, any_context=any_context, session=index.session)
    if problems and answer.decision != "unknown":
        answer = Answer(
            None,
            "unknown",
            [{"kind": "coverage", "detail": n} for n in problems]
            + [{"kind": "unproven", "detail": f"with what the snapshot holds the answer would be {answer.decision}"}],
        )
    applied = [{"policy": d.label, "applies_as": role} for role, d in _roles(case.policies)]
    return CanAnswer(principal=principal_id, answer=answer, policies=applied, notes=problems + notes)


def _roles(policies: PolicySet) -> list[tuple[str, PolicyDocument]]:
    out = [("identity", d) for d in policies.identity]
    if policies.boundary:
        out.append(("boundary", policies.boundary))
    if policies.resource:
        out.append(("resource", policies.resource))
    out += [(f"scp level {i}", d) for i, level in enumerate(policies.scps) for d in level]
    out += [(f"rcp level {i}", d) for i, level in enumerate(policies.rcps) for d in level]
    return out


def who_can(
    index: SnapshotIndex,
    action: str,
    resource: str,
    *,
    context: dict[str, Any] | None = None,
    any_context: bool = False,
    engine: str = "smt",
) -> list[CanAnswer]:
    """Every AWS user and role of the snapshot that can (allowed), or might (unknown)."""
    out = []
    lowered = action.lower()
    resource_grants = _resource_may_allow(index, action, resource)
    for principal in index.snapshot.principals:
        if principal.kind not in PRINCIPAL_KINDS:
            continue
        if not resource_grants and not _identity_may_allow(index, principal.id, principal.member_of, lowered):
            continue  # no Allow anywhere names the action: implicitly denied, whatever else holds
        result = can(index, principal.id, action, resource, context=context, any_context=any_context, engine=engine)
        if result.answer.decision in ("allowed", "unknown"):
            out.append(result)
    return out


def _may_match(doc: PolicyDocument, action: str) -> bool:
    """Some Allow statement of ``doc`` could match ``action`` (its action patterns allow it)."""
    for s in doc.statements:
        if s.effect != "Allow":
            continue
        if s.actions is not None and any(action_matches(p, action) for p in s.actions):
            return True
        if s.not_actions is not None and not any(action_matches(p, action) for p in s.not_actions):
            return True
    return False


def _identity_may_allow(index: SnapshotIndex, principal_id: str, groups: tuple[str, ...], action: str) -> bool:
    problems: list[str] = []
    docs = index.documents(principal_id, AttachmentKind.IDENTITY, problems)
    for group in groups:
        docs += index.documents(group, AttachmentKind.IDENTITY, problems)
    return bool(problems) or any(_may_match(d, action) for d in docs)


def _resource_may_allow(index: SnapshotIndex, action: str, resource: str) -> bool:
    problems: list[str] = []
    doc = index.resource_policy(action, resource, problems, [])
    return bool(problems) or (doc is not None and _may_match(doc, action.lower()))
