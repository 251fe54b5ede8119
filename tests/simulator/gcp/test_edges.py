"""Google Cloud mint-graph edges and admins: small snapshots built here (each edge kind, with the
same permissions blocked by a deny policy, a condition, a wrong resource, a missing second
permission or a disabled account, and unknown for a role the snapshot lacks), and the demo estate.

The estate: organizations/1 > projects/app (number 100) and projects/other (number 200). Service
accounts target, ci and old (disabled) in app, far in other; users alice, bob, carol, dave, erin.
Test roles ``roles/t.*`` hold exactly the permissions named; the token roles are Google's own.
"""

from __future__ import annotations

import functools
import gzip
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

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
    Principal,
    PrincipalKind,
    Resource,
    Scope,
    ScopeKind,
    Snapshot,
    Workload,
    WorkloadKind,
)
from simulator.core import Decision, Edge, EdgeStatus, Estate, ReasonKind
from simulator.engines import open_estate
from simulator.gcp import edges as gcp_edges
from simulator.gcp.edges import find_admins, find_edges
from simulator.graph.walk import MintGraph
from tests.conftest import REPO, SHARED_DATA

ROLES_FILE = SHARED_DATA / "gcp-predefined-roles.json.gz"
DEMO = REPO / "fixtures" / "demo" / "gcp"
pytestmark = pytest.mark.skipif(not ROLES_FILE.exists(), reason="needs ../shared/data/gcp-predefined-roles.json.gz")

AT = datetime(2025, 6, 2, 12, tzinfo=UTC)
ORG, APP, OTHER = "organizations/1", "projects/app", "projects/other"
TARGET = "serviceAccount:target@app.iam.gserviceaccount.com"
CI = "serviceAccount:ci@app.iam.gserviceaccount.com"
OLD = "serviceAccount:old@app.iam.gserviceaccount.com"
FAR = "serviceAccount:far@other.iam.gserviceaccount.com"
UIDS = {TARGET: "9001", CI: "9002", OLD: "9003", FAR: "9004"}
ALICE, BOB, CAROL, DAVE, ERIN = (f"user:{n}@example.com" for n in ("alice", "bob", "carol", "dave", "erin"))
TOKEN_CREATOR = "roles/iam.serviceAccountTokenCreator"
SA_USER = "roles/iam.serviceAccountUser"
WI_USER = "roles/iam.workloadIdentityUser"
AGENT = "serviceAccount:100@cloudservices.gserviceaccount.com"
POOL = "projects/100/locations/global/workloadIdentityPools/gh"
POOL_SET = f"principalSet://iam.googleapis.com/{POOL}/*"
AWS_POOL = "projects/100/locations/global/workloadIdentityPools/aws"
AWS_SET = f"principalSet://iam.googleapis.com/{AWS_POOL}/*"
GITHUB = "https://token.actions.githubusercontent.com"
GKE = "serviceAccount:app.svc.id.goog[web/frontend]"
CUSTOM = "organizations/1/roles/mine"
EXPIRED = {"title": "until 2020", "expression": 'request.time < timestamp("2020-01-01T00:00:00Z")'}
UNTIL_2030 = {"title": "until 2030", "expression": 'request.time < timestamp("2030-01-01T00:00:00Z")'}
TEST_ROLES: dict[str, tuple[str, ...]] = {
    "roles/t.run": ("run.services.create",),
    "roles/t.runUpdate": ("run.services.update",),
    "roles/t.vm": (
        "compute.instances.create",
        "compute.disks.create",
        "compute.instances.setMetadata",
        "compute.instances.setServiceAccount",
    ),
    "roles/t.vmNoSetServiceAccount": (
        "compute.instances.create",
        "compute.disks.create",
        "compute.instances.setMetadata",
    ),
    "roles/t.fn": ("cloudfunctions.functions.create",),
    "roles/t.fnUpdate": ("cloudfunctions.functions.update",),
    "roles/t.build": ("cloudbuild.builds.create",),
    "roles/t.scheduler": ("cloudscheduler.jobs.create",),
    "roles/t.schedulerUpdate": ("cloudscheduler.jobs.update",),
    "roles/t.composer": ("composer.environments.create",),
    "roles/t.composerUpdate": ("composer.environments.update",),
    "roles/t.hmac": ("storage.hmacKeys.create",),
    "roles/t.dm": ("deploymentmanager.deployments.create",),
    "roles/t.metadata": ("compute.instances.setMetadata",),
    "roles/t.projectMetadata": ("compute.projects.setCommonInstanceMetadata",),
    "roles/t.saAdmin": ("iam.serviceAccounts.setIamPolicy",),
    "roles/t.delegate": ("iam.serviceAccounts.implicitDelegation",),
    "roles/t.idToken": ("iam.serviceAccounts.getOpenIdToken",),
    "roles/t.roleAdmin": ("iam.roles.update",),
    "roles/t.projectIamAdmin": ("resourcemanager.projects.setIamPolicy",),
    CUSTOM: ("storage.buckets.get",),
}


@functools.cache
def predefined() -> dict[str, Any]:
    with gzip.open(ROLES_FILE, "rt") as f:
        data: dict[str, Any] = json.load(f)
    return data


def role_policies() -> list[Policy]:
    roles = {name: predefined()[name]["includedPermissions"] for name in (TOKEN_CREATOR, SA_USER, WI_USER)}
    roles.update({name: list(perms) for name, perms in TEST_ROLES.items()})
    return [
        Policy(
            id=name,
            cloud=Cloud.GCP,
            kind=PolicyKind.GCP_ROLE,
            name=name,
            scope_id=ORG if name.startswith("organizations/") else "gcp",
            document={"name": name, "stage": "GA", "includedPermissions": perms},
        )
        for name, perms in roles.items()
    ]


def principal(member: str, kind: PrincipalKind, scope: str, **kw: Any) -> Principal:
    return Principal(id=member, cloud=Cloud.GCP, kind=kind, name=member.split(":")[-1], scope_id=scope, **kw)


def base_principals() -> list[Principal]:
    out = [
        principal(TARGET, PrincipalKind.GCP_SERVICE_ACCOUNT, APP, native_id=UIDS[TARGET]),
        principal(CI, PrincipalKind.GCP_SERVICE_ACCOUNT, APP, native_id=UIDS[CI]),
        principal(OLD, PrincipalKind.GCP_SERVICE_ACCOUNT, APP, native_id=UIDS[OLD], disabled=True),
        principal(FAR, PrincipalKind.GCP_SERVICE_ACCOUNT, OTHER, native_id=UIDS[FAR]),
    ]
    out += [principal(u, PrincipalKind.GCP_USER, ORG) for u in (ALICE, BOB, CAROL, DAVE, ERIN)]
    return out


def deny(rule: dict[str, Any], name: str = "d") -> Policy:
    pid = f"policies/cloudresourcemanager.googleapis.com%2Forganizations%2F1/denypolicies/{name}"
    return Policy(
        id=pid,
        cloud=Cloud.GCP,
        kind=PolicyKind.GCP_DENY,
        name=name,
        scope_id=ORG,
        document={"name": pid, "kind": "DenyPolicy", "rules": [{"denyRule": rule}]},
    )


def world(
    bindings: Mapping[str, Sequence[dict[str, Any]]],
    *,
    denies: Sequence[Policy] = (),
    principals: Sequence[Principal] = (),
    workloads: Sequence[Workload] = (),
    resources: Sequence[Resource] = (),
    credentials: Sequence[Credential] = (),
) -> Estate:
    """``bindings``: node (a scope, a service account's member string, a bucket) -> its bindings."""
    scopes = (
        Scope(id=ORG, cloud=Cloud.GCP, kind=ScopeKind.GCP_ORGANIZATION, name="example.com"),
        Scope(id=APP, cloud=Cloud.GCP, kind=ScopeKind.PROJECT, name="app", parent_id=ORG,
              attributes={"projectNumber": "100"}),
        Scope(id=OTHER, cloud=Cloud.GCP, kind=ScopeKind.PROJECT, name="other", parent_id=ORG,
              attributes={"projectNumber": "200"}),
    )  # fmt: skip
    listed = {p.id: p for p in [*base_principals(), *principals]}
    policies: list[Policy] = [*role_policies(), *denies]
    attachments = [Attachment(policy_id=d.id, target_id=ORG, kind=AttachmentKind.DENY) for d in denies]
    for node, items in bindings.items():
        pid = f"{node}#iam-policy"
        scope = listed[node].scope_id if node in listed else (node if node.startswith(("projects/", "org")) else APP)
        policies.append(
            Policy(
                id=pid,
                cloud=Cloud.GCP,
                kind=PolicyKind.GCP_BINDINGS,
                name=pid,
                scope_id=scope,
                document={"version": 3, "bindings": list(items)},
            )
        )
        attachments.append(Attachment(policy_id=pid, target_id=node, kind=AttachmentKind.BINDING))
        for b in items:
            for m in b["members"]:
                if m not in listed and m.startswith(("user:", "serviceAccount:", "group:", "domain:", "principal")):
                    kind = PrincipalKind.GCP_USER if m.startswith("user:") else PrincipalKind.GCP_GROUP
                    if m.startswith("serviceAccount:"):
                        kind = PrincipalKind.GCP_SERVICE_ACCOUNT
                    elif m.startswith("principal"):
                        kind = PrincipalKind.GCP_WORKLOAD_IDENTITY_POOL
                    elif m.startswith("domain:"):
                        kind = PrincipalKind.GCP_DOMAIN
                    listed[m] = principal(m, kind, scope)
    snapshot = Snapshot(
        source="files",
        scopes=scopes,
        principals=tuple(listed.values()),
        policies=tuple(policies),
        attachments=tuple(attachments),
        resources=tuple(resources),
        workloads=tuple(workloads),
        credentials=tuple(credentials),
        coverage=(
            CoverageEntry(
                scope_id=ORG, source="file", service="cloudasset", operation="export.json", status=CoverageStatus.OK
            ),
        ),
    )
    return open_estate(snapshot, at=AT)


def b(role: str, *members: str, condition: dict[str, str] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"role": role, "members": list(members)}
    if condition:
        out["condition"] = condition
    return out


def pick(edges: Sequence[Edge], source: str, target: str, mechanism: str | None = None) -> list[Edge]:
    return [e for e in edges if e.source == source and e.target == target and mechanism in (None, e.mechanism)]


def one(edges: Sequence[Edge], source: str, target: str, mechanism: str) -> Edge:
    found = pick(edges, source, target, mechanism)
    assert len(found) == 1, [(e.source, e.target, e.mechanism) for e in edges if e.source == source]
    return found[0]


def id_token(member: str) -> str:
    return f"https://accounts.google.com|{UIDS[member]}"


def workload(ident: str, kind: WorkloadKind, runs_as: str, **attributes: str) -> Workload:
    return Workload(
        id=ident,
        cloud=Cloud.GCP,
        kind=kind,
        name=ident.rsplit("/", 1)[-1],
        scope_id=APP,
        principal_ids=(runs_as,),
        attributes=dict(attributes),
    )


# --- impersonation -----------------------------------------------------------------------------


def test_token_creator_on_the_account_mints_its_tokens() -> None:
    edges = find_edges(world({TARGET: [b(TOKEN_CREATOR, BOB)]}))
    for permission in (
        "iam.serviceAccounts.getAccessToken",
        "iam.serviceAccounts.signJwt",
        "iam.serviceAccounts.signBlob",
    ):
        edge = one(edges, BOB, TARGET, permission)
        assert edge.status is EdgeStatus.PROVEN and edge.condition is None
        assert [a.witness.principal for a in edge.answers if a.witness] == [BOB]
        assert edge.to_json()["witness"][0]["resource"].endswith("/serviceAccounts/target@app.iam.gserviceaccount.com")
    # an ID token, not an access token: the edge goes to the external node of the account's ID token
    assert one(edges, BOB, id_token(TARGET), "iam.serviceAccounts.getOpenIdToken").status is EdgeStatus.PROVEN
    assert not pick(edges, BOB, CI)  # a wrong resource: its own policy names bob, no other account's does


def test_a_deny_policy_blocks_the_permission_it_names() -> None:
    rule = {"deniedPrincipals": [f"principal://goog/subject/{BOB[5:]}"],
            "deniedPermissions": ["iam.googleapis.com/serviceAccounts.getAccessToken"]}  # fmt: skip
    edges = find_edges(world({TARGET: [b(TOKEN_CREATOR, BOB)]}, denies=[deny(rule)]))
    assert not pick(edges, BOB, TARGET, "iam.serviceAccounts.getAccessToken")
    assert pick(edges, BOB, TARGET, "iam.serviceAccounts.signJwt")  # not denied


def test_a_binding_condition_expired_is_no_edge_and_a_live_one_is_the_condition() -> None:
    assert not pick(find_edges(world({TARGET: [b(TOKEN_CREATOR, BOB, condition=EXPIRED)]})), BOB, TARGET)
    edge = one(
        find_edges(world({TARGET: [b(TOKEN_CREATOR, BOB, condition=UNTIL_2030)]})),
        BOB,
        TARGET,
        "iam.serviceAccounts.getAccessToken",
    )
    assert edge.status is EdgeStatus.PROVEN
    assert edge.condition is not None and "'until 2030'" in edge.condition


def test_a_disabled_account_is_no_target() -> None:
    edges = find_edges(world({OLD: [b(TOKEN_CREATOR, BOB)], APP: [b(TOKEN_CREATOR, CAROL)]}))
    assert not [e for e in edges if e.target in (OLD, id_token(OLD)) or e.source == OLD]
    assert pick(edges, CAROL, TARGET, "iam.serviceAccounts.getAccessToken")


def test_a_role_the_snapshot_lacks_is_an_unknown_edge() -> None:
    edge = one(find_edges(world({APP: [b("roles/t.absent", BOB)]})), BOB, TARGET, "iam.serviceAccounts.getAccessToken")
    assert edge.status is EdgeStatus.UNKNOWN
    assert any(r.kind is ReasonKind.MISSING and "roles/t.absent" in r.detail for r in edge.reasons)


def test_accounts_with_the_same_ancestry_share_answers_each_about_its_own_resource() -> None:
    extra = [principal(f"serviceAccount:s{i}@app.iam.gserviceaccount.com", PrincipalKind.GCP_SERVICE_ACCOUNT, APP)
             for i in range(3)]  # fmt: skip
    edges = find_edges(world({APP: [b(TOKEN_CREATOR, BOB)]}, principals=extra))
    for p in extra:
        edge = one(edges, BOB, p.id, "iam.serviceAccounts.getAccessToken")
        (answer,) = edge.answers
        assert answer.witness is not None and answer.witness.resource.endswith(p.id.partition(":")[2])
        assert answer.ask.resource == answer.witness.resource


def test_implicit_delegation_reaches_the_delegators_target_not_the_delegate() -> None:
    edges = find_edges(world({CI: [b("roles/t.delegate", ALICE)], TARGET: [b(TOKEN_CREATOR, CI)]}))
    edge = one(edges, ALICE, TARGET, "iam.serviceAccounts.implicitDelegation+iam.serviceAccounts.getAccessToken")
    assert edge.status is EdgeStatus.PROVEN
    assert [a.ask.action for a in edge.answers] == [
        "iam.serviceAccounts.implicitDelegation",
        "iam.serviceAccounts.getAccessToken",
    ]
    assert not pick(edges, ALICE, CI)  # delegation never yields the delegate's own token
    # the second step missing: no edge
    assert not pick(find_edges(world({CI: [b("roles/t.delegate", ALICE)]})), ALICE, TARGET)


# --- ID tokens -------------------------------------------------------------------------------------


def test_every_account_reaches_its_own_id_token_and_get_open_id_token_only_that() -> None:
    unlisted = principal("serviceAccount:nouid@app.iam.gserviceaccount.com", PrincipalKind.GCP_SERVICE_ACCOUNT, APP)
    edges = find_edges(world({TARGET: [b("roles/t.idToken", BOB)]}, principals=[unlisted]))
    own = one(edges, TARGET, id_token(TARGET), "iam.serviceAccounts.getOpenIdToken")
    assert not own.answers and "mint its own ID token" in own.facts[0].what
    assert one(edges, BOB, id_token(TARGET), "iam.serviceAccounts.getOpenIdToken").status is EdgeStatus.PROVEN
    assert not pick(edges, BOB, TARGET)  # an ID token is no access token
    assert not [e for e in edges if e.source == unlisted.id]  # no unique id: no ID-token node


# --- setIamPolicy on an account, HMAC keys -----------------------------------------------------


def test_set_iam_policy_on_an_account_reaches_it_unless_every_token_is_denied() -> None:
    edges = find_edges(world({TARGET: [b("roles/t.saAdmin", CAROL)]}))
    assert one(edges, CAROL, TARGET, "iam.serviceAccounts.setIamPolicy").status is EdgeStatus.PROVEN
    assert not pick(edges, CAROL, CI)
    everything = ["iam.googleapis.com/serviceAccounts.*", "iam.googleapis.com/serviceAccountKeys.*"]
    rule = {"deniedPrincipals": [f"principal://goog/subject/{CAROL[5:]}"], "deniedPermissions": everything}
    denied = find_edges(world({TARGET: [b("roles/t.saAdmin", CAROL)]}, denies=[deny(rule)]))
    assert not pick(denied, CAROL, TARGET)


def test_hmac_key_is_a_cloud_storage_credential_of_accounts_of_that_project() -> None:
    edges = find_edges(world({APP: [b("roles/t.hmac", DAVE)]}))
    edge = one(edges, DAVE, gcp_edges.hmac_node(TARGET), "storage.hmacKeys.create")
    assert edge.status is EdgeStatus.PROVEN and edge.condition == gcp_edges.HMAC_CONDITION
    # A node of its own: the key cannot call IAM, so nothing TARGET could mint follows from it.
    assert not pick(edges, DAVE, TARGET) and not [e for e in edges if e.source == gcp_edges.hmac_node(TARGET)]
    assert not pick(edges, DAVE, FAR)  # another project's account
    assert not pick(edges, DAVE, OLD)  # disabled


# --- actAs with compute ----------------------------------------------------------------------------


DEPLOY_CASES = [
    ("roles/t.run", "run.services.create"),
    ("roles/t.fn", "cloudfunctions.functions.create"),
    ("roles/t.build", "cloudbuild.builds.create"),
    ("roles/t.scheduler", "cloudscheduler.jobs.create"),
    ("roles/t.composer", "composer.environments.create"),
    ("roles/t.vm", "+".join(TEST_ROLES["roles/t.vm"])),
]


@pytest.mark.parametrize(("role", "steps"), DEPLOY_CASES)
def test_act_as_with_compute_that_runs_as_the_account(role: str, steps: str) -> None:
    edges = find_edges(world({TARGET: [b(SA_USER, ALICE)], APP: [b(role, ALICE)]}))
    edge = one(edges, ALICE, TARGET, f"iam.serviceAccounts.actAs+{steps}")
    assert edge.status is EdgeStatus.PROVEN
    assert [a.ask.action for a in edge.answers] == ["iam.serviceAccounts.actAs", *steps.split("+")]
    assert all(a.decision is Decision.ALLOWED and a.witness for a in edge.answers)
    assert not pick(edges, ALICE, CI)  # actAs only on target


@pytest.mark.parametrize(("role", "steps"), DEPLOY_CASES)
def test_act_as_without_the_service_permission_or_the_reverse_is_no_edge(role: str, steps: str) -> None:
    assert not pick(find_edges(world({TARGET: [b(SA_USER, ALICE)]})), ALICE, TARGET)
    assert not pick(find_edges(world({APP: [b(role, ALICE)]})), ALICE, TARGET)


def test_a_vm_needs_set_service_account_too() -> None:
    edges = find_edges(world({TARGET: [b(SA_USER, ALICE)], APP: [b("roles/t.vmNoSetServiceAccount", ALICE)]}))
    assert not pick(edges, ALICE, TARGET)


def test_a_deny_on_the_service_permission_or_an_expired_act_as_is_no_edge() -> None:
    rule = {
        "deniedPrincipals": ["principalSet://goog/public:all"],
        "deniedPermissions": ["run.googleapis.com/services.create"],
    }
    bindings = {TARGET: [b(SA_USER, ALICE)], APP: [b("roles/t.run", ALICE)]}
    assert not pick(find_edges(world(bindings, denies=[deny(rule)])), ALICE, TARGET)
    expired = {TARGET: [b(SA_USER, ALICE, condition=EXPIRED)], APP: [b("roles/t.run", ALICE)]}
    assert not pick(find_edges(world(expired)), ALICE, TARGET)


def test_compute_in_another_project_is_an_unknown_edge() -> None:
    edges = find_edges(world({TARGET: [b(SA_USER, ALICE)], OTHER: [b("roles/t.run", ALICE)]}))
    edge = one(edges, ALICE, TARGET, "iam.serviceAccounts.actAs+run.services.create")
    assert edge.status is EdgeStatus.UNKNOWN
    assert edge.condition is not None and "iam.disableCrossProjectServiceAccountUsage" in edge.condition
    assert any("iam.disableCrossProjectServiceAccountUsage" in r.detail for r in edge.reasons)


# --- existing workloads -------------------------------------------------------------------------


FUNCTION = "//cloudfunctions.googleapis.com/projects/app/locations/europe-west1/functions/hook"
VM = "//compute.googleapis.com/projects/app/zones/europe-west1-b/instances/vm-1"
JOB = "//cloudscheduler.googleapis.com/projects/app/locations/europe-west1/jobs/nightly"
BUILDS = "//cloudbuild.googleapis.com/projects/app/locations/global/builds"
ENV = "//composer.googleapis.com/projects/app/locations/europe-west1/environments/airflow"


def test_updating_a_function_needs_act_as_on_its_account() -> None:
    fn = workload(FUNCTION, WorkloadKind.CLOUD_FUNCTION, TARGET)
    edges = find_edges(world({APP: [b("roles/t.fnUpdate", BOB)], TARGET: [b(SA_USER, BOB)]}, workloads=[fn]))
    edge = one(edges, BOB, FUNCTION, "iam.serviceAccounts.actAs+cloudfunctions.functions.update")
    assert edge.status is EdgeStatus.PROVEN
    assert one(edges, FUNCTION, TARGET, "runs-as").facts
    without = find_edges(world({APP: [b("roles/t.fnUpdate", BOB)]}, workloads=[fn]))
    assert not pick(without, BOB, FUNCTION)
    assert pick(without, FUNCTION, TARGET, "runs-as")


def test_vm_metadata_and_the_vms_access_scopes() -> None:
    scopes = "https://www.googleapis.com/auth/devstorage.read_only https://www.googleapis.com/auth/logging.write"
    vm = workload(VM, WorkloadKind.GCE_INSTANCE, TARGET, oauthScopes=scopes)
    edges = find_edges(world({APP: [b("roles/t.metadata", CAROL), b("roles/t.projectMetadata", DAVE)]}, workloads=[vm]))
    assert one(edges, CAROL, VM, "compute.instances.setMetadata").condition == gcp_edges.METADATA_CONDITION
    project_wide = one(edges, DAVE, VM, "compute.projects.setCommonInstanceMetadata")
    assert project_wide.condition is not None and "project-wide SSH keys" in project_wide.condition
    runs = one(edges, VM, TARGET, "runs-as")
    assert runs.condition is not None and "devstorage.read_only" in runs.condition
    full = workload(VM, WorkloadKind.GCE_INSTANCE, TARGET, oauthScopes=gcp_edges.CLOUD_PLATFORM)
    assert one(find_edges(world({}, workloads=[full])), VM, TARGET, "runs-as").condition is None


def test_a_disabled_account_gives_its_workload_nothing() -> None:
    vm = workload(VM, WorkloadKind.GCE_INSTANCE, OLD, oauthScopes=gcp_edges.CLOUD_PLATFORM)
    assert not pick(find_edges(world({}, workloads=[vm])), VM, OLD)


def test_a_scheduler_job_sends_an_id_token_and_its_updater_picks_the_token() -> None:
    job = workload(JOB, WorkloadKind.CLOUD_SCHEDULER_JOB, TARGET, tokenType="oidc", oidcAudience="https://x.run.app")
    edges = find_edges(world({APP: [b("roles/t.schedulerUpdate", ERIN)], TARGET: [b(SA_USER, ERIN)]}, workloads=[job]))
    runs = one(edges, JOB, id_token(TARGET), "runs-as")
    assert runs.condition is not None and "https://x.run.app" in runs.condition
    assert not pick(edges, JOB, TARGET)
    edge = one(edges, ERIN, TARGET, "iam.serviceAccounts.actAs+cloudscheduler.jobs.update")
    assert edge.status is EdgeStatus.PROVEN
    assert not pick(find_edges(world({APP: [b("roles/t.schedulerUpdate", ERIN)]}, workloads=[job])), ERIN, TARGET)


def test_builds_and_composer_run_as_their_default_accounts() -> None:
    builds = workload(BUILDS, WorkloadKind.CLOUD_BUILD, TARGET)
    env = workload(ENV, WorkloadKind.COMPOSER_ENVIRONMENT, CI)
    edges = find_edges(
        world({APP: [b("roles/t.build", DAVE), b("roles/t.composerUpdate", ERIN)]}, workloads=[builds, env])
    )
    assert one(edges, DAVE, BUILDS, "cloudbuild.builds.create").status is EdgeStatus.PROVEN
    assert one(edges, ERIN, ENV, "composer.environments.update").status is EdgeStatus.PROVEN
    assert pick(edges, BUILDS, TARGET, "runs-as") and pick(edges, ENV, CI, "runs-as")
    assert not pick(edges, DAVE, TARGET)  # no actAs: no build that names the account


def test_deployment_manager_runs_as_the_google_apis_service_agent() -> None:
    edges = find_edges(world({APP: [b("roles/t.projectIamAdmin", AGENT), b("roles/t.dm", ERIN)]}))
    assert one(edges, ERIN, AGENT, "deploymentmanager.deployments.create").status is EdgeStatus.PROVEN
    assert not pick(find_edges(world({OTHER: [b("roles/t.dm", ERIN)]})), ERIN, AGENT)


# --- custom roles --------------------------------------------------------------------------------


def test_updating_a_custom_role_one_holds_escalates() -> None:
    edges = find_edges(world({APP: [b(CUSTOM, ERIN)], ORG: [b("roles/t.roleAdmin", ERIN, DAVE)]}))
    edge = one(edges, ERIN, ERIN, "iam.roles.update")
    assert edge.escalates and edge.status is EdgeStatus.PROVEN
    assert "holds the custom role" in edge.facts[0].what
    assert not pick(edges, DAVE, DAVE)  # may update it, does not hold it
    rule = {
        "deniedPrincipals": ["principalSet://goog/public:all"],
        "deniedPermissions": ["iam.googleapis.com/roles.update"],
    }
    denied = world({APP: [b(CUSTOM, ERIN)], ORG: [b("roles/t.roleAdmin", ERIN)]}, denies=[deny(rule)])
    assert not pick(find_edges(denied), ERIN, ERIN)


def test_a_custom_role_held_on_a_bucket_only_does_not_escalate() -> None:
    bucket = "//storage.googleapis.com/app-data"
    resource = Resource(id=bucket, cloud=Cloud.GCP, kind="storage:bucket", name="app-data", scope_id=APP)
    edges = find_edges(world({bucket: [b(CUSTOM, ERIN)], ORG: [b("roles/t.roleAdmin", ERIN)]}, resources=[resource]))
    assert not pick(edges, ERIN, ERIN)


# --- workload identity federation and GKE ------------------------------------------------------------


def provider(pool: str, name: str, *, condition: str = "", protocol: str = "oidc", **attrs: str) -> list[Any]:
    ident = f"{pool}/providers/{name}"
    mapping = {"google.subject": "assertion.sub", "attribute.repository": "assertion.repository"}
    if protocol == "aws":
        mapping = {"google.subject": "assertion.arn", "attribute.aws_role": "assertion.arn.extract('{x}')"}
    resource = Resource(
        id=ident,
        cloud=Cloud.GCP,
        kind="iam:workloadIdentityPoolProvider",
        name=name,
        scope_id=APP,
        attributes={"state": "ACTIVE", "attributeCondition": condition, "attributeMapping": json.dumps(mapping),
                    "protocol": protocol, **attrs},
    )  # fmt: skip
    issuer = "https://sts.amazonaws.com" if protocol == "aws" else GITHUB
    credential = Credential(
        id=ident,
        principal_id=f"principalSet://iam.googleapis.com/{pool}/*",
        kind=CredentialKind.FEDERATED,
        active=attrs.get("disabled") != "true",
        issuer=issuer,
    )
    return [resource, credential]


def github_world(
    member: str, *, condition: str = "assertion.repository == 'acme/app'", pool_disabled: bool = False, **attrs: str
) -> Estate:
    resource, credential = provider(POOL, "gh", condition=condition, **attrs)
    pool = principal(POOL_SET, PrincipalKind.GCP_WORKLOAD_IDENTITY_POOL, APP, disabled=pool_disabled)
    return world({TARGET: [b(WI_USER, member)]}, principals=[pool], resources=[resource], credentials=[credential])


def test_github_repository_pinned_by_the_attribute_condition() -> None:
    edges = find_edges(github_world(POOL_SET))
    edge = one(edges, f"{GITHUB}|repo:acme/app:*", POOL_SET, "workload-identity-federation")
    assert edge.condition is not None and "assertion.repository == 'acme/app'" in edge.condition
    assert one(edges, POOL_SET, TARGET, "iam.serviceAccounts.getAccessToken").status is EdgeStatus.PROVEN
    chain = MintGraph(edges).reach(f"{GITHUB}|repo:acme/app:*")
    assert any(c.target == TARGET and c.status is EdgeStatus.PROVEN for c in chain)


def test_github_members_by_subject_and_by_attribute() -> None:
    subject = f"principal://iam.googleapis.com/{POOL}/subject/repo:acme/app:ref:refs/heads/main"
    assert pick(find_edges(github_world(subject)), f"{GITHUB}|repo:acme/app:ref:refs/heads/main", subject)
    same = f"principalSet://iam.googleapis.com/{POOL}/attribute.repository/acme/app"
    assert pick(find_edges(github_world(same)), f"{GITHUB}|repo:acme/app:*", same)
    # the member wants another repository than the provider admits: no token maps to it
    other = f"principalSet://iam.googleapis.com/{POOL}/attribute.repository/acme/other"
    assert not [e for e in find_edges(github_world(other)) if e.target == other and e.mechanism.startswith("workload")]
    # no attribute condition: any repository
    assert pick(find_edges(github_world(POOL_SET, condition="")), f"{GITHUB}|*", POOL_SET)


def test_a_disabled_provider_or_pool_admits_no_one() -> None:
    for edges in (
        find_edges(github_world(POOL_SET, disabled="true")),
        find_edges(github_world(POOL_SET, pool_disabled=True)),
    ):
        assert not [e for e in edges if e.mechanism == "workload-identity-federation"]


def test_an_aws_provider_admits_the_account_or_the_role_it_names() -> None:
    resource, credential = provider(AWS_POOL, "aws", protocol="aws", awsAccountId="222222222222")
    role_set = (
        f"principalSet://iam.googleapis.com/{AWS_POOL}/attribute.aws_role/arn:aws:sts::222222222222:assumed-role/ci"
    )
    estate = world(
        {TARGET: [b(WI_USER, AWS_SET)], CI: [b(WI_USER, role_set)]},
        principals=[principal(AWS_SET, PrincipalKind.GCP_WORKLOAD_IDENTITY_POOL, APP)],
        resources=[resource],
        credentials=[credential],
    )
    edges = find_edges(estate)
    assert pick(edges, "arn:aws:iam::222222222222:root", AWS_SET, "workload-identity-federation")
    assert pick(edges, "arn:aws:iam::222222222222:role/ci", role_set, "workload-identity-federation")
    assert pick(edges, role_set, CI, "iam.serviceAccounts.getAccessToken")


def test_gke_workload_identity_is_the_engines_edge() -> None:
    ksa = Workload(id=GKE, cloud=Cloud.GCP, kind=WorkloadKind.GKE_SERVICE_ACCOUNT, name="web/frontend",
                   scope_id=APP, principal_ids=(TARGET,))  # fmt: skip
    edges = find_edges(world({TARGET: [b(WI_USER, GKE)]}, workloads=[ksa]))
    assert one(edges, GKE, TARGET, "iam.serviceAccounts.getAccessToken").status is EdgeStatus.PROVEN
    assert not pick(edges, GKE, TARGET, "runs-as")  # the workload is the member itself
    assert not pick(find_edges(world({TARGET: [b(WI_USER, GKE, condition=EXPIRED)]}, workloads=[ksa])), GKE, TARGET)


# --- domains ---------------------------------------------------------------------------------------


def test_a_domain_stands_for_its_users_that_no_deny_rule_names() -> None:
    rule = {"deniedPrincipals": [f"principal://goog/subject/{BOB[5:]}"],
            "deniedPermissions": ["iam.googleapis.com/serviceAccounts.getAccessToken"]}  # fmt: skip
    edges = find_edges(world({TARGET: [b(TOKEN_CREATOR, "domain:example.com")]}, denies=[deny(rule)]))
    assert one(edges, "domain:example.com", TARGET, "iam.serviceAccounts.getAccessToken").status is EdgeStatus.PROVEN
    assert pick(edges, ALICE, "domain:example.com", "member-of")
    assert not pick(edges, BOB, "domain:example.com")  # denied by name: asked itself
    assert not pick(edges, BOB, TARGET, "iam.serviceAccounts.getAccessToken")
    assert pick(edges, BOB, TARGET, "iam.serviceAccounts.signJwt")


# --- admins ------------------------------------------------------------------------------------------


def test_admins_set_iam_policy_and_owner_without_its_definition() -> None:
    estate = world(
        {
            APP: [b("roles/t.projectIamAdmin", ALICE)],
            OTHER: [b("roles/owner", BOB), b("roles/owner", CAROL, condition=EXPIRED)],
        }
    )
    admins = {(a.id, a.scope): a for a in find_admins(estate)}
    answer = admins[(ALICE, APP)].answer
    assert answer is not None and answer.decision is Decision.ALLOWED
    assert "roles/owner" in admins[(BOB, OTHER)].why
    assert (CAROL, OTHER) not in admins and (ALICE, OTHER) not in admins


# --- the permissions named are Google's ------------------------------------------------------------


def test_every_permission_used_exists() -> None:
    known = {p for r in predefined().values() for p in r.get("includedPermissions", ())}
    used = {
        *gcp_edges.MINT,
        gcp_edges.IMPLICIT_DELEGATION,
        gcp_edges.GET_ID_TOKEN,
        gcp_edges.ACT_AS,
        gcp_edges.SET_SA_POLICY,
        gcp_edges.UPDATE_ROLE,
        gcp_edges.HMAC_CREATE,
        gcp_edges.DM_CREATE,
        gcp_edges.SET_PROJECT_METADATA,
        *gcp_edges.SET_IAM_POLICY.values(),
        *(p for d in gcp_edges.DEPLOYS for p in d.permissions),
        *(p for steps in gcp_edges.SWITCH.values() for p in steps),
        *(p for p, _ in gcp_edges.TAKE_OVER.values()),
        "cloudscheduler.jobs.update",
    }
    assert used - known == set()


# --- the demo estate -------------------------------------------------------------------------------


@functools.cache
def demo() -> tuple[Estate, tuple[Edge, ...]]:
    from scanner.files import scan_files

    estate = open_estate(scan_files([DEMO]), at=AT)
    return estate, tuple(find_edges(estate))


def sa(email: str) -> str:
    return f"serviceAccount:{email}"


needs_demo = pytest.mark.skipif(not Path(DEMO).is_dir(), reason="no Google Cloud demo estate")


@needs_demo
def test_demo_dev_ci_runner_mints_a_prod_token() -> None:  # planted 6
    _, edges = demo()
    edge = one(
        edges,
        sa("ci-runner@shop-dev.iam.gserviceaccount.com"),
        sa("payments-api@shop-prod.iam.gserviceaccount.com"),
        "iam.serviceAccounts.getAccessToken",
    )
    assert edge.status is EdgeStatus.PROVEN
    assert edge.answers[0].reasons[0].role == TOKEN_CREATOR


@needs_demo
def test_demo_github_repository_deploys_as_any_shop_prod_account() -> None:  # planted 8, 16
    estate, edges = demo()
    repo = f"{GITHUB}|repo:example/shop:*"
    pool = "principalSet://iam.googleapis.com/projects/318204957316/locations/global/workloadIdentityPools/github/*"
    deployer = sa("deployer@shop-prod.iam.gserviceaccount.com")
    editor = sa("318204957316-compute@developer.gserviceaccount.com")
    assert one(edges, repo, pool, "workload-identity-federation").condition
    assert one(edges, pool, deployer, "iam.serviceAccounts.getAccessToken").status is EdgeStatus.PROVEN
    shop_prod = [
        p.id
        for p in estate.snapshot.principals
        if p.kind is PrincipalKind.GCP_SERVICE_ACCOUNT
        and p.scope_id == "projects/shop-prod"
        and p.id != deployer
        and ".svc.id.goog" not in p.id
    ]
    assert editor in shop_prod
    for account in shop_prod:
        assert (
            one(edges, deployer, account, "iam.serviceAccounts.actAs+run.services.create").status is EdgeStatus.PROVEN
        )
    builds = "//cloudbuild.googleapis.com/projects/shop-prod/locations/global/builds"
    assert pick(edges, deployer, builds, "cloudbuild.builds.create") and pick(edges, builds, editor, "runs-as")
    reached = {c.target: c for c in MintGraph(edges).reach(repo)}
    assert reached[editor].status is EdgeStatus.PROVEN and len(reached[editor].edges) == 3


@needs_demo
def test_demo_any_identity_of_the_aws_account_becomes_aws_bridge() -> None:  # planted 7
    _, edges = demo()
    pool = "principalSet://iam.googleapis.com/projects/741963258014/locations/global/workloadIdentityPools/aws-prod/*"
    bridge = sa("aws-bridge@data-prod.iam.gserviceaccount.com")
    edge = one(edges, "arn:aws:iam::222222222222:root", pool, "workload-identity-federation")
    assert edge.condition is None and "no attribute condition" in edge.facts[0].what
    assert one(edges, pool, bridge, "iam.serviceAccounts.getAccessToken").status is EdgeStatus.PROVEN


@needs_demo
def test_demo_key_creation_deny_leaves_no_proven_key_edge() -> None:  # planted 3
    _, edges = demo()
    assert not [e for e in edges if e.mechanism == "iam.serviceAccountKeys.create" and e.status is EdgeStatus.PROVEN]


@needs_demo
def test_demo_bulk_who_can_lists_what_the_engines_who_can_lists() -> None:
    estate, _ = demo()
    g = gcp_edges._Estate(estate)
    for permission in (*gcp_edges.MINT, gcp_edges.ACT_AS, gcp_edges.GET_ID_TOKEN):
        for account, answers in g.asker.each(g.accounts, permission).items():
            engine = {a.principal: a.decision for a in estate.who_can(estate.ask(None, permission, account.resource))}
            ours = {a.principal: a.decision for a in answers}
            assert all(engine.get(p) is d for p, d in ours.items()), (permission, account.member)
            for p, d in engine.items():
                if p not in ours:  # a domain's user, which the domain stands for
                    domain = "domain:" + p.rpartition("@")[2]
                    assert g.asker.stands_for(p) and ours.get(domain) is d, (permission, account.member, p)


def test_bulk_who_can_matches_the_engine_on_sets_and_conditions() -> None:
    ops = principal("group:ops@example.com", PrincipalKind.GCP_GROUP, ORG, members_known=False)
    member = principal("user:zed@example.com", PrincipalKind.GCP_USER, ORG, member_of=("group:ops@example.com",))
    estate = world(
        {
            APP: [
                b(TOKEN_CREATOR, "domain:example.com", condition=UNTIL_2030),
                b(TOKEN_CREATOR, "allAuthenticatedUsers", condition=EXPIRED),
                b(SA_USER, "group:ops@example.com", ALICE),
                b("roles/t.absent", CAROL),
            ],
            TARGET: [b(TOKEN_CREATOR, "allUsers", condition=EXPIRED), b(SA_USER, BOB, condition=UNTIL_2030)],
        },
        principals=[ops, member],
    )
    g = gcp_edges._Estate(estate)
    for permission in (*gcp_edges.MINT, gcp_edges.ACT_AS):
        for account, answers in g.asker.each(g.accounts, permission).items():
            engine = {a.principal: a.decision for a in estate.who_can(estate.ask(None, permission, account.resource))}
            ours = {a.principal: a.decision for a in answers}
            assert all(engine.get(p) is d for p, d in ours.items()), (permission, account.member)
            assert {p for p in engine if p not in ours} <= {p for p in engine if g.asker.stands_for(p)}
            assert all(ours.get("domain:" + p.rpartition("@")[2]) is engine[p] for p in engine if p not in ours)


def test_a_member_form_not_read_here_goes_to_the_engines_who_can() -> None:
    edges = find_edges(world({TARGET: [b(TOKEN_CREATOR, "projectOwner:app")]}))
    edge = one(edges, BOB, TARGET, "iam.serviceAccounts.getAccessToken")
    assert edge.status is EdgeStatus.UNKNOWN
    assert any("projectOwner:app" in r.detail for r in edge.reasons)


def test_a_user_acting_through_its_domain_with_its_own_deploy_permission() -> None:
    edges = find_edges(world({TARGET: [b(SA_USER, "domain:example.com")], APP: [b("roles/t.run", ALICE)]}))
    edge = one(edges, ALICE, TARGET, "iam.serviceAccounts.actAs+run.services.create")
    assert edge.status is EdgeStatus.PROVEN and edge.answers[0].principal == ALICE
    assert not pick(edges, BOB, TARGET)  # bob may act as it, but deploys nothing


def test_a_domain_that_is_admin_makes_its_users_admins() -> None:
    admins = {(a.id, a.scope) for a in find_admins(world({APP: [b("roles/t.projectIamAdmin", "domain:example.com")]}))}
    assert {("domain:example.com", APP), (ALICE, APP), (ERIN, APP)} <= admins
