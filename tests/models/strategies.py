"""Hypothesis strategies that build valid model objects."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, timedelta, timezone

from hypothesis import strategies as st

from models import (
    Attachment,
    AttachmentKind,
    Cloud,
    CoverageEntry,
    CoverageStatus,
    Credential,
    CredentialKind,
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

text = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=20)
ids = st.from_regex(r"arn:aws:iam::[0-9]{12}:[a-z]{3,6}/[A-Za-z0-9+=,.@_-]{1,12}", fullmatch=True)
zones = st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))])
times = st.one_of(st.none(), st.datetimes(timezones=zones))
tags = st.dictionaries(text, text, max_size=3)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | text,
    lambda c: st.lists(c, max_size=3) | st.dictionaries(text, c, max_size=3),
)
documents = st.dictionaries(text, json_values, max_size=4)

scopes = st.builds(
    Scope,
    id=text,
    cloud=st.sampled_from(Cloud),
    kind=st.sampled_from(ScopeKind),
    name=text,
    parent_id=st.none() | text,
    attributes=tags,
)
principals = st.builds(
    Principal,
    id=ids,
    cloud=st.sampled_from(Cloud),
    kind=st.sampled_from(PrincipalKind),
    name=text,
    scope_id=text,
    native_id=st.none() | text,
    created=times,
    last_used=times,
    member_of=st.lists(ids, max_size=3).map(tuple),
    tags=tags,
)
credentials = st.builds(
    Credential,
    id=ids,
    principal_id=ids,
    kind=st.sampled_from([k for k in CredentialKind if k is not CredentialKind.FEDERATED]),
    active=st.booleans(),
    key_id=st.none() | text,
    created=times,
    last_used=times,
    expires=times,
    mfa=st.none() | st.booleans(),
    subjects=st.none() | st.lists(text, max_size=2).map(tuple),
    audiences=st.lists(text, max_size=2).map(tuple),
)
versions = st.lists(
    st.builds(PolicyVersion, version_id=text, is_default=st.just(False), document=documents, created=times),
    min_size=1,
    max_size=3,
).map(lambda vs: (replace(vs[0], is_default=True), *vs[1:]))
policies = st.builds(
    Policy,
    id=ids,
    cloud=st.sampled_from(Cloud),
    kind=st.sampled_from(PolicyKind),
    name=text,
    scope_id=text,
    document=documents,
    versions=st.just(()) | versions,
    created=times,
    updated=times,
)
attachments = st.builds(Attachment, policy_id=ids, target_id=ids, kind=st.sampled_from(AttachmentKind))
resources = st.builds(
    Resource, id=ids, cloud=st.sampled_from(Cloud), kind=text, name=text, scope_id=text, region=st.none() | text
)
workloads = st.builds(
    Workload,
    id=ids,
    cloud=st.sampled_from(Cloud),
    kind=st.sampled_from(WorkloadKind),
    name=text,
    scope_id=text,
    principal_ids=st.lists(ids, max_size=3).map(tuple),
    region=st.none() | text,
)
coverage = st.builds(
    CoverageEntry,
    scope_id=text,
    source=st.sampled_from(["api", "file"]),
    service=text,
    operation=text,
    status=st.sampled_from(CoverageStatus),
    region=st.none() | text,
    items=st.integers(0, 10**6),
    detail=st.text(max_size=30),
)


def unique(strategy: st.SearchStrategy, key=lambda o: o.id) -> st.SearchStrategy:  # type: ignore[no-untyped-def]
    return st.lists(strategy, max_size=4, unique_by=key).map(tuple)


snapshots = st.builds(
    Snapshot,
    created_at=st.datetimes(timezones=zones),
    source=st.sampled_from(["live", "files"]),
    label=st.text(max_size=10),
    scopes=unique(scopes),
    principals=unique(principals),
    credentials=unique(credentials),
    policies=unique(policies),
    attachments=unique(attachments),
    resources=unique(resources),
    workloads=unique(workloads),
    coverage=unique(coverage, key=lambda e: (e.scope_id, e.source, e.service, e.operation, e.region or "")),
    meta=st.dictionaries(text, text, max_size=2),
)
