"""The Google Cloud engine (``GcpEngine.can`` / ``who_can``) on hand-built snapshots, with real
predefined roles.

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
from datetime import UTC, datetime
from typing import Any

import pytest

from models import (
    Attachment,
    AttachmentKind,
    Cloud,
    CoverageEntry,
    CoverageStatus,
    Covers,
    Policy,
    PolicyKind,
    Principal,
    PrincipalKind,
    Resource,
    Scope,
    ScopeKind,
    Snapshot,
)
from simulator.core import Answer, Ask, Decision, Method, QueryError, ReasonKind, context_tuples
from simulator.gcp.engine import GcpEngine
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
AT = datetime(2026, 6, 1, 12, tzinfo=UTC)
GKE = "serviceAccount:app-prod.svc.id.goog[web/frontend]"
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


def ask(principal: str | None, action: str, resource: str, **kw: Any) -> Ask:
    return Ask(
        principal=principal,
        action=action,
        resource=resource,
        at=AT,
        context=context_tuples(kw.get("context") or {}),
        free_context=kw.get("free_context", False),
        method=Method(kw.get("method", "smt")),
    )


def can(snap: Snapshot | GcpEngine, principal: str, action: str, resource: str, **kw: Any) -> Answer:
    engine = snap if isinstance(snap, GcpEngine) else GcpEngine(snap, AT)
    return engine.can(ask(principal, action, resource, **kw))


def who_can(snap: Snapshot | GcpEngine, action: str, resource: str, **kw: Any) -> dict[str, Answer]:
    engine = snap if isinstance(snap, GcpEngine) else GcpEngine(snap, AT)
    answers = engine.who_can(ask(None, action, resource, **kw))
    assert len({a.principal for a in answers}) == len(answers)
    return {a.principal: a for a in answers}


def decisions(answers: dict[str, Answer]) -> dict[str, str]:
    return {p: a.decision.value for p, a in answers.items()}


def test_impersonation_through_the_service_accounts_own_policy() -> None:
    result = can(estate(), CI, "iam.serviceAccounts.getAccessToken", DEPLOYER_RESOURCE)
    assert result.decision is Decision.ALLOWED
    reason = result.reasons[0]
    assert reason.kind is ReasonKind.BINDING
    assert (reason.scope, reason.role, reason.member) == (DEPLOYER, "roles/iam.serviceAccountTokenCreator", CI)
    assert reason.policy == f"{DEPLOYER}#iam-policy"
    assert result.witness is not None and result.witness.principal == CI
    # the deciding documents: the service account's own policy, the role, and the deny policy that did not deny
    policies = {p.id: p for p in estate().policies}
    assert set(result.depends_on) == {
        policies[f"{DEPLOYER}#iam-policy"].digest,
        policies["roles/iam.serviceAccountTokenCreator"].digest,
        policies[DENY_NAME].digest,
    }
    assert {c.policy for c in result.considered} >= {f"{DEPLOYER}#iam-policy", f"{APP}#iam-policy", DENY_NAME}
    # nobody else may mint deployer's tokens
    denied = can(estate(), "bob@example.com", "iam.serviceAccounts.getAccessToken", DEPLOYER_RESOURCE)
    assert denied.decision is Decision.IMPLICIT_DENY
    assert denied.principal == BOB
    listed = decisions(who_can(estate(), "iam.serviceAccounts.getAccessToken", DEPLOYER_RESOURCE))
    assert listed == {CI: "allowed", DEPLOYER: "unknown"}  # deployer holds a custom role the snapshot lacks


def test_inheritance_from_the_organization_through_a_known_group() -> None:
    result = can(estate(), ALICE, "storage.objects.get", "//cloudresourcemanager.googleapis.com/projects/app-prod")
    assert result.decision is Decision.ALLOWED
    assert result.reasons[0].scope == ORG


def test_deny_overrides_allow_and_its_exception() -> None:
    result = can(estate(), DEPLOYER, "storage.buckets.delete", "projects/app-prod")
    assert result.decision is Decision.EXPLICIT_DENY
    rule = result.reasons[0]
    assert (rule.kind, rule.policy, rule.statement, rule.scope) == (ReasonKind.DENY_RULE, DENY_NAME, 0, ORG)
    policies = {p.id: p for p in estate().policies}
    assert result.depends_on == (policies[DENY_NAME].digest,)
    assert can(estate(), DEPLOYER, "storage.objects.get", "projects/app-prod").decision is Decision.ALLOWED


def test_expired_condition_and_any_time() -> None:
    assert can(estate(), BOB, "storage.objects.get", APP).decision is Decision.IMPLICIT_DENY
    past = can(estate(), BOB, "storage.objects.get", APP, context={"request.time": "2024-06-01T00:00:00Z"})
    assert past.decision is Decision.ALLOWED
    anytime = can(estate(), BOB, "storage.objects.get", APP, free_context=True)
    assert anytime.decision is Decision.ALLOWED
    assert anytime.witness is not None
    assert anytime.witness.context["request.time"] == ("2024-12-31T23:59:59.999999Z",)
    reference = can(estate(), BOB, "storage.objects.get", APP, free_context=True, method="reference")
    assert reference.decision is Decision.UNKNOWN
    assert reference.reasons[0].kind is ReasonKind.ENGINE


def test_the_request_time_is_the_asks() -> None:
    """The same question at two request times: the answer depends on ``ask.at``, not on the clock."""
    engine = GcpEngine(estate(), AT)
    before = Ask(principal=BOB, action="storage.objects.get", resource=APP, at=datetime(2024, 12, 1, tzinfo=UTC))
    assert engine.can(before).decision is Decision.ALLOWED
    assert engine.can(replace(before, at=AT)).decision is Decision.IMPLICIT_DENY


def test_disabled_service_account_cannot_act() -> None:
    result = can(estate(), OLD, "storage.objects.get", APP)
    assert result.decision is Decision.IMPLICIT_DENY
    assert result.reasons[0].kind is ReasonKind.DISABLED


def test_typed_disabled_flag_is_read() -> None:
    snap = estate()
    principals = tuple(replace(p, disabled=True) if p.id == DEPLOYER else p for p in snap.principals)
    result = can(replace(snap, principals=principals), DEPLOYER, "storage.objects.get", APP)
    assert result.decision is Decision.IMPLICIT_DENY
    assert result.reasons[0].kind is ReasonKind.DISABLED


def test_resource_name_condition_on_a_bucket_object() -> None:
    assert can(estate(), CI, "storage.objects.get", OBJECT).decision is Decision.ALLOWED
    other = "//storage.googleapis.com/projects/_/buckets/app-prod-logs/objects/a"
    # a bucket the snapshot does not hold: its project cannot be told
    with pytest.raises(QueryError, match="cannot tell which project"):
        can(estate(), CI, "storage.objects.get", other)


def test_role_missing_from_the_snapshot_is_unknown() -> None:
    result = can(estate(), DEPLOYER, "secretmanager.versions.access", APP)
    assert result.decision is Decision.UNKNOWN
    missing = [r for r in result.reasons if r.kind is ReasonKind.MISSING]
    assert missing and "projects/app-prod/roles/secretReader not in the snapshot" in missing[0].detail


def test_permission_no_collected_role_grants() -> None:
    result = can(estate(), ALICE, "storage.objects.getIamPoliyc", APP)
    assert result.decision is Decision.IMPLICIT_DENY
    assert "no collected role grants storage.objects.getIamPoliyc" in result.notes


def test_group_with_unknown_members_is_unknown_for_individuals() -> None:
    result = can(
        estate(), BOB, "secretmanager.versions.access", "//secretmanager.googleapis.com/projects/data-prod/secrets/db"
    )
    assert result.decision is Decision.UNKNOWN
    assert any(
        r.kind is ReasonKind.GROUP_MEMBERSHIP and "members of group:ops@example.com are not known" in r.detail
        for r in result.reasons
    )
    listed = who_can(estate(), "secretmanager.versions.access", "projects/data-prod")
    assert set(listed) == {OPS}
    assert listed[OPS].decision is Decision.ALLOWED
    assert any("not known" in n for n in listed[OPS].notes)


def test_who_can_read_the_public_object() -> None:
    listed = decisions(who_can(estate(), "storage.objects.get", OBJECT))
    # everyone may read it: allUsers stands for every principal that has no grant of its own (bob)
    assert listed == dict.fromkeys(["allUsers", POOL_SET, ALICE, DEPLOYER, CI], "allowed")
    assert OLD not in listed


def test_who_can_on_a_project_lists_individuals_and_sets() -> None:
    listed = decisions(who_can(estate(), "storage.objects.get", APP))
    assert listed == {ALICE: "allowed", DEPLOYER: "allowed", CI: "unknown"}


def test_coverage_gap_on_an_ancestor_makes_a_deny_unknown() -> None:
    gap = CoverageEntry(
        scope_id=FOLDER,
        source="api",
        service="cloudresourcemanager",
        operation="folders.getIamPolicy",
        status=CoverageStatus.DENIED,
        detail="PermissionDenied",
        cloud=Cloud.GCP,
        covers=(Covers.ALLOW_POLICIES,),
    )
    snap = estate(coverage=(gap,))
    result = can(snap, BOB, "storage.objects.get", APP)
    assert result.decision is Decision.UNKNOWN
    assert any(r.kind is ReasonKind.COVERAGE for r in result.reasons)
    # an allow stays proven: a missing allow policy cannot take it away
    assert can(snap, ALICE, "storage.objects.get", APP).decision is Decision.ALLOWED
    # and an explicit deny stays proven: a missing allow policy cannot lift it
    assert can(snap, DEPLOYER, "storage.buckets.delete", APP).decision is Decision.EXPLICIT_DENY


def test_gaps_are_matched_by_their_typed_fields_not_their_text() -> None:
    """A gap whose text names the folder but whose scope and target do not is about another scope;
    one whose target is the folder is about it, whatever its text says."""
    elsewhere = CoverageEntry(
        scope_id=DATA,
        source="api",
        service="cloudresourcemanager",
        operation="projects.getIamPolicy",
        status=CoverageStatus.DENIED,
        detail=f"PermissionDenied (not {FOLDER})",
        cloud=Cloud.GCP,
        covers=(Covers.ALLOW_POLICIES,),
    )
    assert can(estate(coverage=(elsewhere,)), BOB, "storage.objects.get", APP).decision is Decision.IMPLICIT_DENY
    targeted = replace(elsewhere, scope_id="gcp", target=FOLDER, detail="PermissionDenied")
    assert can(estate(coverage=(targeted,)), BOB, "storage.objects.get", APP).decision is Decision.UNKNOWN


def test_legacy_gap_without_covers_falls_back_to_its_operation() -> None:
    gap = CoverageEntry(
        scope_id=FOLDER,
        source="api",
        service="cloudresourcemanager",
        operation="folders.getIamPolicy",
        status=CoverageStatus.DENIED,
    )
    assert can(estate(coverage=(gap,)), BOB, "storage.objects.get", APP).decision is Decision.UNKNOWN


def test_deny_policies_not_read_make_an_allow_unknown() -> None:
    gap = CoverageEntry(
        scope_id=ORG,
        source="api",
        service="iam",
        operation="policies.list",
        status=CoverageStatus.DENIED,
        cloud=Cloud.GCP,
        covers=(Covers.DENY_POLICIES,),
    )
    snap = estate(coverage=(gap,))
    result = can(snap, ALICE, "storage.objects.get", APP)
    assert result.decision is Decision.UNKNOWN
    assert result.reasons[0].kind is ReasonKind.COVERAGE
    assert any(r.kind is ReasonKind.UNPROVEN and "would be allowed" in r.detail for r in result.reasons)
    # a hidden deny cannot make a denied request allowed
    denied = can(snap, BOB, "storage.objects.get", APP)
    assert denied.decision is Decision.IMPLICIT_DENY
    assert any("deny policies not read" in n for n in denied.notes)


def test_resource_and_principal_forms() -> None:
    engine = GcpEngine(estate(), AT)
    by_number = can(
        engine,
        "deployer@app-prod.iam.gserviceaccount.com",
        "storage.objects.get",
        "//cloudresourcemanager.googleapis.com/projects/1001",
    )
    assert by_number.principal == DEPLOYER and by_number.decision is Decision.ALLOWED
    short = can(
        engine,
        CI,
        "iam.serviceAccounts.getAccessToken",
        "projects/-/serviceAccounts/deployer@app-prod.iam.gserviceaccount.com",
    )
    assert short.decision is Decision.ALLOWED
    vm = "//compute.googleapis.com/projects/app-prod/zones/z/instances/vm"
    assert can(engine, ALICE, "storage.objects.get", vm).decision is Decision.ALLOWED
    for malformed in ("arn:aws:iam::1:user/x", "user:not-an-email", "serviceAccount:nobody", "principal://", "x"):
        with pytest.raises(QueryError):
            can(engine, malformed, "storage.objects.get", APP)
    with pytest.raises(QueryError, match=r"request\.time"):
        can(engine, ALICE, "storage.objects.get", APP, context={"request.time": "yesterday"})


def test_principals_the_snapshot_does_not_name_are_answered() -> None:
    engine = GcpEngine(estate(), AT)
    ghost = can(engine, "serviceAccount:ghost@app-prod.iam.gserviceaccount.com", "storage.objects.get", APP)
    assert ghost.decision is Decision.IMPLICIT_DENY
    assert ghost.reasons[0].kind is ReasonKind.NO_ALLOW
    assert any("not in snapshot" in n for n in ghost.notes)
    gke = can(engine, GKE, "storage.objects.get", APP)
    assert gke.decision is Decision.IMPLICIT_DENY and gke.principal == GKE
    # a group of unknown members bound on data-prod could hold any of them
    secret = "//secretmanager.googleapis.com/projects/data-prod/secrets/db"
    for outsider in (GKE, "user:carol@elsewhere.org", "serviceAccount:x@other.iam.gserviceaccount.com"):
        answer = can(engine, outsider, "secretmanager.versions.access", secret)
        assert answer.decision is Decision.UNKNOWN, outsider
        assert any(r.kind is ReasonKind.GROUP_MEMBERSHIP for r in answer.reasons)
    # but not a member of a group whose members are all known: devs' are, and carol is not one
    carol = can(engine, "carol@elsewhere.org", "storage.objects.get", APP)
    assert carol.principal == "user:carol@elsewhere.org" and carol.decision is Decision.IMPLICIT_DENY
    # the public bucket is readable by anyone, named or not
    public = can(engine, GKE, "storage.objects.get", OBJECT)
    assert public.decision is Decision.ALLOWED
    assert public.witness is not None and public.witness.principal == GKE


def test_who_can_lists_members_outside_the_snapshot() -> None:
    """Members a binding names that no principal of the snapshot is (a GKE member, a domain, a group
    not in the snapshot, another pool's principal set) are answered with witnesses naming them; a
    deny rule on everyone but a group holds for them too."""
    snap = estate()
    outsiders = [GKE, "domain:partner.example", "group:contractors@partner.example", "allAuthenticatedUsers"]
    extra, attachment = bindings_policy(DATA, DATA, [{"role": "roles/storage.admin", "members": outsiders}])
    snap = replace(
        snap,
        policies=(*(p for p in snap.policies if p.id != extra.id), extra),
        attachments=(*(a for a in snap.attachments if a.policy_id != extra.id), attachment),
    )
    read = who_can(snap, "storage.objects.get", DATA)
    for member in outsiders:
        assert read[member].decision is Decision.ALLOWED, member
        assert read[member].witness is not None and read[member].witness.principal == member
    # every one of them is denied buckets.delete by the organization's deny policy (public:all
    # except devs): only alice, a member of devs, keeps it (through allAuthenticatedUsers)
    deletes = who_can(snap, "storage.buckets.delete", DATA)
    assert decisions(deletes) == {ALICE: "allowed"}
    assert {r.member for r in deletes[ALICE].reasons} == {"allAuthenticatedUsers"}
    for member in outsiders:
        assert can(snap, member, "storage.buckets.delete", DATA).decision is Decision.EXPLICIT_DENY, member


def test_project_missing_from_the_snapshot_is_unknown() -> None:
    result = can(
        estate(), ALICE, "storage.objects.get", "//compute.googleapis.com/projects/elsewhere/zones/z/instances/vm"
    )
    assert result.decision is Decision.UNKNOWN
    assert any("projects/elsewhere is not in the snapshot" in r.detail for r in result.reasons)


def test_the_snapshot_survives_a_json_round_trip() -> None:
    snap = Snapshot.from_json_dict(json.loads(json.dumps(estate().to_json_dict())))
    assert can(snap, CI, "iam.serviceAccounts.getAccessToken", DEPLOYER_RESOURCE).decision is Decision.ALLOWED
    assert replace(snap, label="x").label == "x"


def test_bucket_by_its_asset_name() -> None:
    result = can(estate(), ALICE, "storage.objects.list", BUCKET)
    assert result.decision is Decision.ALLOWED
    assert result.witness is not None
    assert result.witness.context["resource.name"] == ("projects/_/buckets/app-prod-public",)
    assert result.witness.context["resource.type"] == ("storage.googleapis.com/Bucket",)


def test_context_sets_request_attributes_and_rejects_others() -> None:
    named = can(
        estate(), CI, "storage.objects.get", APP, context={"resource.name": "projects/_/buckets/app-prod-public/x"}
    )
    assert named.decision is Decision.ALLOWED
    with pytest.raises(QueryError, match="take request"):
        can(estate(), CI, "storage.objects.get", APP, context={"aws:SourceIp": "1.2.3.4"})
    with pytest.raises(QueryError, match="one value"):
        can(estate(), CI, "storage.objects.get", APP, context={"resource.name": ["a", "b"]})


def test_any_object_under_a_prefix() -> None:
    anywhere = "//storage.googleapis.com/projects/_/buckets/app-prod-public/objects/*"
    result = can(estate(), CI, "storage.objects.delete", anywhere)
    assert result.decision is Decision.IMPLICIT_DENY  # the conditional binding is a viewer role
    listed = can(estate(), CI, "storage.objects.get", anywhere)
    assert listed.decision is Decision.ALLOWED
    assert listed.witness is not None
    assert listed.witness.context["resource.name"][0].startswith("projects/_/buckets/app-prod-public/objects/")
    assert can(estate(), CI, "storage.objects.get", anywhere, method="reference").decision is Decision.UNKNOWN


def test_a_disabled_custom_role_grants_nothing() -> None:
    snap = estate()
    role = "projects/app-prod/roles/secretReader"
    doc = {
        "name": role,
        "title": "Secret reader",
        "stage": "DISABLED",
        "includedPermissions": ["secretmanager.versions.access"],
        "etag": "BwX1",
    }
    disabled = Policy(
        id=role, cloud=Cloud.GCP, kind=PolicyKind.GCP_ROLE, name=role, scope_id=APP, document=doc, disabled=True
    )
    result = can(replace(snap, policies=(*snap.policies, disabled)), DEPLOYER, "secretmanager.versions.access", APP)
    assert result.decision is Decision.IMPLICIT_DENY
    assert any(r.kind is ReasonKind.DISABLED and r.role == role for r in result.reasons)
    ga = replace(disabled, document={**doc, "stage": "GA"}, disabled=False)
    granted = can(replace(snap, policies=(*snap.policies, ga)), DEPLOYER, "secretmanager.versions.access", APP)
    assert granted.decision is Decision.ALLOWED
    # a snapshot stored before the typed field: the role's stage in its document says it
    legacy = replace(disabled, disabled=False)
    old = can(replace(snap, policies=(*snap.policies, legacy)), DEPLOYER, "secretmanager.versions.access", APP)
    assert old.decision is Decision.IMPLICIT_DENY
    assert who_can(replace(snap, policies=(*snap.policies, disabled)), "secretmanager.versions.access", APP) == {}


def test_engine_protocol_and_principals() -> None:
    engine = GcpEngine(estate(), AT)
    assert engine.cloud is Cloud.GCP
    assert set(engine.principals()) >= {DEPLOYER, CI, OLD, ALICE, BOB, DEVS, OPS}
    with pytest.raises(QueryError):
        engine.who_can(ask(CI, "storage.objects.get", APP))
    with pytest.raises(QueryError):
        engine.can(ask(None, "storage.objects.get", APP))


def test_legacy_attributes_are_read_when_the_typed_fields_say_nothing() -> None:
    """Snapshots stored before the typed fields: ``membersKnown`` in a group's attributes."""
    snap = estate()
    known = tuple(replace(p, attributes={"membersKnown": "true"}) if p.id == OPS else p for p in snap.principals)
    secret = "//secretmanager.googleapis.com/projects/data-prod/secrets/db"
    # ops's members are all known and bob is none of them: proven denied
    assert can(replace(snap, principals=known), BOB, "secretmanager.versions.access", secret).decision is (
        Decision.IMPLICIT_DENY
    )
    typed = tuple(replace(p, members_known=False) if p.id == DEVS else p for p in snap.principals)
    # devs says its members are not all known: alice's grant through it stands, bob's is unknown
    assert can(replace(snap, principals=typed), ALICE, "storage.objects.get", APP).decision is Decision.ALLOWED
    assert can(replace(snap, principals=typed), BOB, "storage.objects.list", APP).decision is Decision.UNKNOWN


def test_an_unread_service_account_list_leaves_an_allow_unproven() -> None:
    """Whether deployer is disabled is not known when its project's service accounts were not
    listed: its allow is unknown, a deny stays a deny, and other principals are not touched."""
    gap = CoverageEntry(
        scope_id=APP,
        source="api",
        service="iam",
        operation="serviceAccounts.list",
        status=CoverageStatus.DENIED,
        cloud=Cloud.GCP,
        covers=(Covers.PRINCIPALS,),
    )
    snap = estate(coverage=(gap,))
    assert can(snap, DEPLOYER, "storage.objects.get", APP).decision is Decision.UNKNOWN
    assert can(snap, DEPLOYER, "storage.buckets.delete", APP).decision is Decision.EXPLICIT_DENY
    assert can(snap, ALICE, "storage.objects.get", APP).decision is Decision.ALLOWED


def test_service_accounts_of_a_project_or_folder_by_where_their_project_sits() -> None:
    """``principalSet://cloudresourcemanager.googleapis.com/.../type/ServiceAccount`` holds the
    service accounts whose project is (under) that number: deployer and ci live in app-prod
    (number 1001, in folders/111), not in data-prod."""
    snap = estate()
    sa_set = "principalSet://cloudresourcemanager.googleapis.com/folders/111/type/ServiceAccount"
    extra, attachment = bindings_policy(
        DATA, DATA, [{"role": "roles/secretmanager.secretAccessor", "members": [sa_set]}]
    )
    snap = replace(
        snap,
        policies=(*(p for p in snap.policies if p.id != extra.id), extra),
        attachments=(*(a for a in snap.attachments if a.policy_id != extra.id), attachment),
    )
    secret = "//secretmanager.googleapis.com/projects/data-prod/secrets/db"
    allowed = can(snap, DEPLOYER, "secretmanager.versions.access", secret)
    assert allowed.decision is Decision.ALLOWED and allowed.reasons[0].member == sa_set
    # a service account of a project the snapshot does not hold: where it sits is not known
    stranger = can(
        snap, "serviceAccount:x@elsewhere-9.iam.gserviceaccount.com", "secretmanager.versions.access", secret
    )
    assert stranger.decision is Decision.UNKNOWN
    assert any("which project" in r.detail for r in stranger.reasons)
    # a user is in no such set (but ops, of unknown members, could hold bob)
    assert not [r for r in can(snap, BOB, "secretmanager.versions.access", secret).reasons if r.member == sa_set]
