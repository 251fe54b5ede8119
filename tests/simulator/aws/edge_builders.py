"""Small AWS snapshots for the mint-graph edge tests: one account, principals with inline
policies, roles with trusts, and helpers that add boundaries, SCPs, credentials and managed
policies to an estate already built."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from models import (
    Attachment,
    AttachmentKind,
    Cloud,
    CoverageEntry,
    CoverageStatus,
    Covers,
    Credential,
    Policy,
    PolicyKind,
    PolicyVersion,
    Principal,
    PrincipalKind,
    Resource,
    Scope,
    ScopeKind,
    Snapshot,
    Workload,
    WorkloadKind,
)
from simulator.core import Edge, EdgeStatus, Estate
from simulator.engines import open_estate

AT = datetime(2025, 6, 2, 12, tzinfo=UTC)
PROD = "222222222222"
ACCOUNT = "123456789012"
GITHUB = "https://token.actions.githubusercontent.com"
BOB = f"arn:aws:iam::{ACCOUNT}:user/bob"
TARGET = f"arn:aws:iam::{ACCOUNT}:role/target"
FN = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:f"


def pick(edges: list[Edge], source: str, target: str, mechanism: str | None = None) -> list[Edge]:
    return [e for e in edges if e.source == source and e.target == target and mechanism in (None, e.mechanism)]


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action: str | list[str], resource: str = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: str | list[str], resource: str = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def trust(principal: Any, action: str = "sts:AssumeRole", **extra: Any) -> dict[str, Any]:
    return doc({"Effect": "Allow", "Principal": principal, "Action": action, **extra})


def estate(
    identity: dict[str, dict[str, Any]],
    trusts: dict[str, dict[str, Any]],
    *,
    workloads: tuple[Workload, ...] = (),
) -> Estate:
    """One account: principals named by ``identity`` (their inline policy) and roles by ``trusts``."""
    ids = list(dict.fromkeys([*identity, *trusts]))
    principals = tuple(
        Principal(
            id=pid,
            cloud=Cloud.AWS,
            kind=PrincipalKind.AWS_ROLE if ":role/" in pid else PrincipalKind.AWS_USER,
            name=pid.rsplit("/", 1)[1],
            scope_id=ACCOUNT,
        )
        for pid in ids
    )
    policies: list[Policy] = []
    attachments: list[Attachment] = []
    for pid, document in identity.items():
        policies.append(
            Policy(
                id=f"{pid}#inline:p",
                cloud=Cloud.AWS,
                kind=PolicyKind.INLINE,
                name="p",
                scope_id=ACCOUNT,
                document=document,
            )
        )
        attachments.append(Attachment(policy_id=f"{pid}#inline:p", target_id=pid, kind=AttachmentKind.IDENTITY))
    for pid, document in trusts.items():
        policies.append(
            Policy(
                id=f"{pid}#trust", cloud=Cloud.AWS, kind=PolicyKind.TRUST, name="t", scope_id=ACCOUNT, document=document
            )
        )
        attachments.append(Attachment(policy_id=f"{pid}#trust", target_id=pid, kind=AttachmentKind.TRUST))
    functions = tuple(
        Resource(id=w.id, cloud=Cloud.AWS, kind="lambda:function", name=w.name, scope_id=ACCOUNT, region="us-east-1")
        for w in workloads
        if w.kind is WorkloadKind.LAMBDA_FUNCTION
    )
    lambda_read = CoverageEntry(
        scope_id=ACCOUNT,
        source="api",
        service="lambda",
        operation="ListFunctions",
        status=CoverageStatus.OK,
        region="us-east-1",
        cloud=Cloud.AWS,
        covers=(Covers.RESOURCES, Covers.RESOURCE_POLICIES),
    )
    snapshot = Snapshot(
        scopes=(Scope(id=ACCOUNT, cloud=Cloud.AWS, kind=ScopeKind.ACCOUNT, name="a"),),
        principals=principals,
        policies=tuple(policies),
        attachments=tuple(attachments),
        resources=functions,
        workloads=workloads,
        coverage=(lambda_read,),
    )
    return open_estate(snapshot, at=AT)


def function(role: str) -> Workload:
    return Workload(
        id=FN,
        cloud=Cloud.AWS,
        kind=WorkloadKind.LAMBDA_FUNCTION,
        name="f",
        scope_id=ACCOUNT,
        principal_ids=(role,),
        region="us-east-1",
    )


def reopen(base: Estate, **changes: Any) -> Estate:
    return open_estate(replace(base.snapshot, **changes), at=AT)


def with_credentials(base: Estate, *creds: Credential) -> Estate:
    return reopen(base, credentials=(*base.snapshot.credentials, *creds))


def with_boundary(base: Estate, pid: str, document: dict[str, Any]) -> Estate:
    """``document`` as ``pid``'s permissions boundary."""
    boundary = Policy(
        id=f"arn:aws:iam::{ACCOUNT}:policy/boundary-{pid.rsplit('/', 1)[1]}",
        cloud=Cloud.AWS,
        kind=PolicyKind.CUSTOMER_MANAGED,
        name="boundary",
        scope_id=ACCOUNT,
        document=document,
    )
    snap = base.snapshot
    attachment = Attachment(policy_id=boundary.id, target_id=pid, kind=AttachmentKind.BOUNDARY)
    return reopen(base, policies=(*snap.policies, boundary), attachments=(*snap.attachments, attachment))


def with_scp(base: Estate, document: dict[str, Any]) -> Estate:
    """The account under an organization root holding FullAWSAccess and ``document`` (the
    management account is another one, so the SCPs bind every principal here)."""
    snap = base.snapshot
    scopes = (
        Scope(
            id="o-test", cloud=Cloud.AWS, kind=ScopeKind.ORGANIZATION, name="org", management_account_id="999999999999"
        ),
        Scope(id="r-test", cloud=Cloud.AWS, kind=ScopeKind.ROOT, name="Root", parent_id="o-test"),
        *(replace(s, parent_id="r-test") if s.id == ACCOUNT else s for s in snap.scopes),
    )
    full = Policy(
        id="p-full", cloud=Cloud.AWS, kind=PolicyKind.SCP, name="full", scope_id="r-test", document=doc(allow("*"))
    )
    scp = Policy(id="p-scp", cloud=Cloud.AWS, kind=PolicyKind.SCP, name="scp", scope_id="r-test", document=document)
    attachments = (
        Attachment(policy_id="p-full", target_id="r-test", kind=AttachmentKind.SCP),
        Attachment(policy_id="p-full", target_id=ACCOUNT, kind=AttachmentKind.SCP),
        Attachment(policy_id="p-scp", target_id="r-test", kind=AttachmentKind.SCP),
    )
    return reopen(
        base,
        scopes=scopes,
        policies=(*snap.policies, full, scp),
        attachments=(*snap.attachments, *attachments),
    )


def with_managed(base: Estate, pid: str, name: str, *versions: tuple[str, dict[str, Any]]) -> Estate:
    """A customer managed policy ``name`` attached to ``pid``; the first version is the default."""
    policy_versions = tuple(
        PolicyVersion(version_id=vid, is_default=i == 0, document=document)
        for i, (vid, document) in enumerate(versions)
    )
    policy = Policy(
        id=f"arn:aws:iam::{ACCOUNT}:policy/{name}",
        cloud=Cloud.AWS,
        kind=PolicyKind.CUSTOMER_MANAGED,
        name=name,
        scope_id=ACCOUNT,
        document=versions[0][1],
        versions=policy_versions,
    )
    snap = base.snapshot
    attachment = Attachment(policy_id=policy.id, target_id=pid, kind=AttachmentKind.IDENTITY)
    return reopen(base, policies=(*snap.policies, policy), attachments=(*snap.attachments, attachment))


def proven(edges: list[Edge], source: str, target: str, mechanism: str) -> Edge:
    """The one edge ``source -> target`` by ``mechanism``: proven, every answer with a witness."""
    found = pick(edges, source, target, mechanism)
    assert len(found) == 1, [(e.mechanism, e.status) for e in pick(edges, source, target)]
    edge = found[0]
    assert edge.status is EdgeStatus.PROVEN
    assert edge.answers and all(a.witness is not None for a in edge.answers)
    return edge
