"""``can`` / ``who_can`` on hand-built Google Cloud snapshots, with real predefined roles.

The estate: organizations/999 > folders/111 > projects/app-prod (number 1001); projects/data-prod
(1002) directly under the organization. Service accounts deployer, ci and old (disabled) in
app-prod; users alice (member of group:devs) and bob; group:ops with unknown members; a public
bucket with its own policy; a deny policy on the organization; deployer's own policy lets ci mint
its tokens.
"""

from __future__ import annotations

import functools
import gzip
import json
from dataclasses import replace
from typing import Any

import pytest

from models import (
    Attachment,
    AttachmentKind,
    Cloud,
    CoverageEntry,
    CoverageStatus,
    Policy,
    PolicyKind,
    Principal,
    PrincipalKind,
    Resource,
    Scope,
    ScopeKind,
    Snapshot,
)
from simulator.gcp.snapshot_queries import GcpIndex, QueryError, can, who_can
from tests.conftest import SHARED_DATA

ROLES_FILE = SHARED_DATA / "gcp-predefined-roles.json.gz"
pytestmark = pytest.mark.skipif(not ROLES_FILE.exists(), reason="needs ../shared/data/gcp-predefined-roles.json.gz")

ORG, FOLDER, APP, DATA = "organizations/999", "folders/111", "projects/app-prod", "projects/data-prod"
DEPLOYER = "serviceAccount:deployer@app-prod.iam.gserviceaccount.com"
CI = "serviceAccount:ci@app-prod.iam.gserviceaccount.com"
OLD = "serviceAccount:old@app-prod.iam.gserviceaccount.com"
ALICE, BOB = "user:alice@example.com", "user:bob@example.com"
DEVS, OPS = "group:devs@example.com", "group:ops@example.com"
POOL_SET = "principalSet://iam.googleapis.com/projects/1001/locations/global/workloadIdentityPools/github/*"
BUCKET = "//storage.googleapis.com/app-prod-public"
OBJECT = "//storage.googleapis.com/projects/_/buckets/app-prod-public/objects/index.html"
DEPLOYER_RESOURCE = "//iam.googleapis.com/projects/app-prod/serviceAccounts/deployer@app-prod.iam.gserviceaccount.com"
DENY_NAME = "policies/cloudresourcemanager.googleapis.com%2Forganizations%2F999/denypolicies/no-bucket-deletes"
USED_ROLES = (
    "roles/storage.objectViewer",
    "roles/storage.admin",
    "roles/iam.serviceAccountTokenCreator",
    "roles/secretmanager.secretAccessor",
)


@functools.cache
def predefined() -> dict[str, Any]:
    with gzip.open(ROLES_FILE, "rt") as f:
        data: dict[str, Any] = json.load(f)
    return data


def role_policy(name: str) -> Policy:
    role = predefined()[name]
    doc = {
        "name": name,
        "title": role["title"],
        "stage": role["stage"],
        "includedPermissions": role["includedPermissions"],
    }
    return Policy(id=name, cloud=Cloud.GCP, kind=PolicyKind.GCP_ROLE, name=name, scope_id="gcp", document=doc)


def bindings_policy(target: str, scope: str, bindings: list[dict[str, Any]]) -> tuple[Policy, Attachment]:
    pid = f"{target}#iam-policy"
    doc = {"version": 3, "bindings": bindings, "etag": "BwX1"}
    policy = Policy(id=pid, cloud=Cloud.GCP, kind=PolicyKind.GCP_BINDINGS, name=pid, scope_id=scope, document=doc)
    return policy, Attachment(policy_id=pid, target_id=target, kind=AttachmentKind.BINDING)


def principal(member: str, kind: PrincipalKind, scope: str, **kw: Any) -> Principal:
    return Principal(id=member, cloud=Cloud.GCP, kind=kind, name=member.split(":")[-1], scope_id=scope, **kw)


def estate(*, coverage: tuple[CoverageEntry, ...] = ()) -> Snapshot:
    scopes = (
        Scope(id=ORG, cloud=Cloud.GCP, kind=ScopeKind.GCP_ORGANIZATION, name="example.com"),
        Scope(id=FOLDER, cloud=Cloud.GCP, kind=ScopeKind.FOLDER, name="prod", parent_id=ORG),
        Scope(
            id=APP, cloud=Cloud.GCP, kind=ScopeKind.PROJECT, name="app-prod", parent_id=FOLDER,
            attributes={"projectNumber": "1001"},
        ),
        Scope(
            id=DATA, cloud=Cloud.GCP, kind=ScopeKind.PROJECT, name="data-prod", parent_id=ORG,
            attributes={"projectNumber": "1002"},
        ),
    )  # fmt: skip
    principals = (
        principal(DEPLOYER, PrincipalKind.GCP_SERVICE_ACCOUNT, APP, native_id="1099"),
        principal(CI, PrincipalKind.GCP_SERVICE_ACCOUNT, APP, native_id="1100"),
        principal(OLD, PrincipalKind.GCP_SERVICE_ACCOUNT, APP, native_id="1101", attributes={"disabled": "true"}),
        principal(ALICE, PrincipalKind.GCP_USER, ORG, member_of=(DEVS,)),
        principal(BOB, PrincipalKind.GCP_USER, FOLDER),
        principal(DEVS, PrincipalKind.GCP_GROUP, ORG),
        principal(OPS, PrincipalKind.GCP_GROUP, DATA),
        principal("allUsers", PrincipalKind.GCP_ALL_USERS, APP),
        principal(POOL_SET, PrincipalKind.GCP_WORKLOAD_IDENTITY_POOL, APP),
    )
    allow = [
        bindings_policy(ORG, ORG, [{"role": "roles/storage.objectViewer", "members": [DEVS]}]),
        bindings_policy(
            FOLDER,
            FOLDER,
            [
                {
                    "role": "roles/storage.objectViewer",
                    "members": [BOB],
                    "condition": {
                        "title": "until 2025",
                        "expression": 'request.time < timestamp("2025-01-01T00:00:00Z")',
                    },
                }
            ],
        ),
        bindings_policy(
            APP,
            APP,
            [
                {"role": "roles/storage.admin", "members": [DEPLOYER, OLD]},
                {
                    "role": "roles/storage.objectViewer",
                    "members": [CI],
                    "condition": {
                        "title": "public bucket only",
                        "expression": 'resource.name.startsWith("projects/_/buckets/app-prod-public/")',
                    },
                },
                {"role": "projects/app-prod/roles/secretReader", "members": [DEPLOYER]},
            ],
        ),
        bindings_policy(DATA, DATA, [{"role": "roles/secretmanager.secretAccessor", "members": [OPS]}]),
        bindings_policy(DEPLOYER, APP, [{"role": "roles/iam.serviceAccountTokenCreator", "members": [CI]}]),
        bindings_policy(BUCKET, APP, [{"role": "roles/storage.objectViewer", "members": ["allUsers", POOL_SET]}]),
    ]
    deny = Policy(
        id=DENY_NAME,
        cloud=Cloud.GCP,
        kind=PolicyKind.GCP_DENY,
        name="no-bucket-deletes",
        scope_id=ORG,
        document={
            "name": DENY_NAME,
            "kind": "DenyPolicy",
            "rules": [
                {
                    "denyRule": {
                        "deniedPrincipals": ["principalSet://goog/public:all"],
                        "exceptionPrincipals": ["principalSet://goog/group/devs@example.com"],
                        "deniedPermissions": ["storage.googleapis.com/buckets.delete"],
                    }
                }
            ],
        },
    )
    return Snapshot(
        source="files",
        scopes=scopes,
        principals=principals,
        policies=(*(p for p, _ in allow), *(role_policy(r) for r in USED_ROLES), deny),
        attachments=(*(a for _, a in allow), Attachment(policy_id=DENY_NAME, target_id=ORG, kind=AttachmentKind.DENY)),
        resources=(Resource(id=BUCKET, cloud=Cloud.GCP, kind="storage:bucket", name="app-prod-public", scope_id=APP),),
        coverage=(
            CoverageEntry(
                scope_id=ORG, source="file", service="cloudasset", operation="export.json", status=CoverageStatus.OK
            ),
            *coverage,
        ),
    )


def test_impersonation_through_the_service_accounts_own_policy() -> None:
    result = can(estate(), CI, "iam.serviceAccounts.getAccessToken", DEPLOYER_RESOURCE)
    assert result.answer.decision == "allowed"
    assert result.answer.reasons[0]["detail"] == f"{DEPLOYER}#roles/iam.serviceAccountTokenCreator {CI}"
    assert result.answer.witness is not None and result.answer.witness["principal"] == CI
    # nobody else may mint deployer's tokens
    assert can(
        estate(), "bob@example.com", "iam.serviceAccounts.getAccessToken", DEPLOYER_RESOURCE
    ).answer.decision == ("implicit_deny")
    listed = {
        r.principal: r.answer.decision
        for r in who_can(estate(), "iam.serviceAccounts.getAccessToken", DEPLOYER_RESOURCE)
    }
    assert listed == {CI: "allowed", DEPLOYER: "unknown"}  # deployer holds a custom role the snapshot lacks


def test_inheritance_from_the_organization_through_a_known_group() -> None:
    result = can(estate(), ALICE, "storage.objects.get", "//cloudresourcemanager.googleapis.com/projects/app-prod")
    assert result.answer.decision == "allowed"
    assert result.answer.reasons[0]["node"] == ORG


def test_deny_overrides_allow_and_its_exception() -> None:
    result = can(estate(), DEPLOYER, "storage.buckets.delete", "projects/app-prod")
    assert result.answer.decision == "explicit_deny"
    assert result.answer.reasons[0]["detail"] == f"{DENY_NAME}#rule 0"
    assert can(estate(), DEPLOYER, "storage.objects.get", "projects/app-prod").answer.decision == "allowed"


def test_expired_condition_and_any_time() -> None:
    assert can(estate(), BOB, "storage.objects.get", APP).answer.decision == "implicit_deny"
    past = can(estate(), BOB, "storage.objects.get", APP, context={"request.time": "2024-06-01T00:00:00Z"})
    assert past.answer.decision == "allowed"
    anytime = can(estate(), BOB, "storage.objects.get", APP, any_context=True)
    assert anytime.answer.decision == "allowed"
    assert anytime.answer.witness is not None
    assert anytime.answer.witness["context"]["request.time"] == "2024-12-31T23:59:59.999999Z"
    reference = can(estate(), BOB, "storage.objects.get", APP, any_context=True, engine="reference")
    assert reference.answer.decision == "unknown"


def test_disabled_service_account_cannot_act() -> None:
    result = can(estate(), OLD, "storage.objects.get", APP)
    assert result.answer.decision == "implicit_deny"
    assert result.answer.reasons[0]["kind"] == "disabled"


def test_resource_name_condition_on_a_bucket_object() -> None:
    assert can(estate(), CI, "storage.objects.get", OBJECT).answer.decision == "allowed"
    other = "//storage.googleapis.com/projects/_/buckets/app-prod-logs/objects/a"
    # a bucket the snapshot does not hold: its project cannot be told
    with pytest.raises(QueryError, match="cannot tell which project"):
        can(estate(), CI, "storage.objects.get", other)


def test_role_missing_from_the_snapshot_is_unknown() -> None:
    result = can(estate(), DEPLOYER, "secretmanager.versions.access", APP)
    assert result.answer.decision == "unknown"
    assert any("projects/app-prod/roles/secretReader not in the snapshot" in r["detail"] for r in result.answer.reasons)


def test_permission_no_collected_role_grants() -> None:
    result = can(estate(), ALICE, "storage.objects.getIamPoliyc", APP)
    assert result.answer.decision == "implicit_deny"
    assert "no collected role grants storage.objects.getIamPoliyc" in result.notes


def test_group_with_unknown_members_is_unknown_for_individuals() -> None:
    result = can(
        estate(), BOB, "secretmanager.versions.access", "//secretmanager.googleapis.com/projects/data-prod/secrets/db"
    )
    assert result.answer.decision == "unknown"
    assert any("members of group:ops@example.com are not known" in r["detail"] for r in result.answer.reasons)
    listed = {r.principal: r for r in who_can(estate(), "secretmanager.versions.access", "projects/data-prod")}
    assert set(listed) == {OPS}
    assert listed[OPS].answer.decision == "allowed"
    assert any("not known" in n for n in listed[OPS].notes)


def test_who_can_read_the_public_object() -> None:
    listed = {r.principal: r.answer.decision for r in who_can(estate(), "storage.objects.get", OBJECT)}
    # everyone may read it: allUsers stands for every principal that has no grant of its own (bob)
    assert listed == dict.fromkeys(["allUsers", POOL_SET, ALICE, DEPLOYER, CI], "allowed")
    assert OLD not in listed


def test_who_can_on_a_project_lists_individuals_and_sets() -> None:
    listed = {r.principal: r.answer.decision for r in who_can(estate(), "storage.objects.get", APP)}
    assert listed == {ALICE: "allowed", DEPLOYER: "allowed", CI: "unknown"}


def test_coverage_gap_on_an_ancestor_makes_a_deny_unknown() -> None:
    gap = CoverageEntry(
        scope_id=FOLDER,
        source="api",
        service="cloudresourcemanager",
        operation="folders.getIamPolicy",
        status=CoverageStatus.DENIED,
        detail="PermissionDenied",
    )
    snap = estate(coverage=(gap,))
    result = can(snap, BOB, "storage.objects.get", APP)
    assert result.answer.decision == "unknown"
    assert any(r["kind"] == "coverage" for r in result.answer.reasons)
    # an allow stays proven: a missing allow policy cannot take it away
    assert can(snap, ALICE, "storage.objects.get", APP).answer.decision == "allowed"


def test_deny_policies_not_read_make_an_allow_unknown() -> None:
    gap = CoverageEntry(
        scope_id=ORG, source="api", service="iam", operation="policies.list", status=CoverageStatus.DENIED
    )
    result = can(estate(coverage=(gap,)), ALICE, "storage.objects.get", APP)
    assert result.answer.decision == "unknown"
    assert "would be allowed" in result.answer.reasons[-1]["detail"]


def test_resource_and_principal_forms() -> None:
    index = GcpIndex(estate())
    by_number = can(
        index,
        "deployer@app-prod.iam.gserviceaccount.com",
        "storage.objects.get",
        "//cloudresourcemanager.googleapis.com/projects/1001",
    )
    assert by_number.principal == DEPLOYER and by_number.answer.decision == "allowed"
    short = can(
        index,
        CI,
        "iam.serviceAccounts.getAccessToken",
        "projects/-/serviceAccounts/deployer@app-prod.iam.gserviceaccount.com",
    )
    assert short.answer.decision == "allowed"
    assert (
        can(
            index, ALICE, "storage.objects.get", "//compute.googleapis.com/projects/app-prod/zones/z/instances/vm"
        ).answer.decision
        == "allowed"
    )
    with pytest.raises(QueryError, match="no service account"):
        can(index, "serviceAccount:ghost@app-prod.iam.gserviceaccount.com", "storage.objects.get", APP)
    with pytest.raises(QueryError, match="not a Google Cloud principal"):
        can(index, "arn:aws:iam::1:user/x", "storage.objects.get", APP)
    with pytest.raises(QueryError, match=r"request\.time"):
        can(index, ALICE, "storage.objects.get", APP, context={"request.time": "yesterday"})


def test_project_missing_from_the_snapshot_is_unknown() -> None:
    result = can(
        estate(), ALICE, "storage.objects.get", "//compute.googleapis.com/projects/elsewhere/zones/z/instances/vm"
    )
    assert result.answer.decision == "unknown"
    assert any("projects/elsewhere is not in the snapshot" in r["detail"] for r in result.answer.reasons)


def test_the_snapshot_survives_a_json_round_trip() -> None:
    snap = Snapshot.from_json_dict(json.loads(json.dumps(estate().to_json_dict())))
    assert can(snap, CI, "iam.serviceAccounts.getAccessToken", DEPLOYER_RESOURCE).answer.decision == "allowed"
    assert replace(snap, label="x").label == "x"


def test_bucket_by_its_asset_name() -> None:
    result = can(estate(), ALICE, "storage.objects.list", BUCKET)
    assert result.answer.decision == "allowed"
    assert result.answer.witness is not None
    assert result.answer.witness["context"]["resource.name"] == "projects/_/buckets/app-prod-public"
    assert result.answer.witness["context"]["resource.type"] == "storage.googleapis.com/Bucket"


def test_context_sets_request_attributes_and_rejects_others() -> None:
    named = can(
        estate(), CI, "storage.objects.get", APP, context={"resource.name": "projects/_/buckets/app-prod-public/x"}
    )
    assert named.answer.decision == "allowed"
    with pytest.raises(QueryError, match="take request"):
        can(estate(), CI, "storage.objects.get", APP, context={"aws:SourceIp": "1.2.3.4"})


def test_any_object_under_a_prefix() -> None:
    anywhere = "//storage.googleapis.com/projects/_/buckets/app-prod-public/objects/*"
    result = can(estate(), CI, "storage.objects.delete", anywhere)
    assert result.answer.decision == "implicit_deny"  # the conditional binding is a viewer role
    listed = can(estate(), CI, "storage.objects.get", anywhere)
    assert listed.answer.decision == "allowed"
    assert listed.answer.witness is not None
    assert listed.answer.witness["context"]["resource.name"].startswith("projects/_/buckets/app-prod-public/objects/")
    assert can(estate(), CI, "storage.objects.get", anywhere, engine="reference").answer.decision == "unknown"
