"""Google Cloud normalization: ids, kinds, native documents, attachments, credentials and workloads."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from models import (
    AttachmentKind,
    CoverageStatus,
    CredentialKind,
    PolicyKind,
    PrincipalKind,
    ScopeKind,
    WorkloadKind,
)
from scanner.errors import BadInputError
from scanner.gcp.normalize import normalize_gcp
from scanner.gcp.raw import GcpRaw
from tests.scanner.gcp.conftest import (
    APP,
    CI,
    COMPUTE,
    DEPLOYER,
    FIXTURES,
    OPS,
    ORG,
    by_id,
    fixture_files,
    read,
    write,
)

GITHUB_POOL = "projects/100000000002/locations/global/workloadIdentityPools/github"
AWS_POOL = "projects/100000000002/locations/global/workloadIdentityPools/aws-prod"


@pytest.fixture(scope="module")
def estate():  # type: ignore[no-untyped-def]
    return read(fixture_files())


def test_the_estate_makes_a_snapshot(estate) -> None:  # type: ignore[no-untyped-def]
    snapshot = estate.to_snapshot(source="files", label="gcp", meta={})
    assert len(snapshot.scopes) == 6
    assert {p.cloud for p in snapshot.policies} == {"gcp"}


def test_hierarchy_from_lists(estate) -> None:  # type: ignore[no-untyped-def]
    scopes = by_id(estate.scopes)
    assert scopes[ORG].kind is ScopeKind.GCP_ORGANIZATION and scopes[ORG].name == "example.com"
    assert scopes["folders/333333333333"].parent_id == "folders/111111111111"
    assert scopes["folders/111111111111"].parent_id == ORG
    assert scopes[APP].kind is ScopeKind.PROJECT
    assert scopes[APP].parent_id == "folders/333333333333"
    assert scopes[APP].attributes["projectNumber"] == "100000000001"


def test_hierarchy_from_asset_ancestors_alone() -> None:
    parts = read(fixture_files("asset-export-iam-policy.json", "projects.json"))
    scopes = by_id(parts.scopes)
    assert scopes[APP].parent_id == "folders/333333333333"
    assert scopes["folders/333333333333"].parent_id == "folders/111111111111"
    assert scopes["folders/111111111111"].parent_id == ORG
    assert scopes[OPS].parent_id == "folders/222222222222"
    assert scopes[ORG].parent_id is None
    assert f"{APP}#iam-policy" in by_id(parts.policies)


def test_unresolved_project_numbers_keep_their_number_and_leave_a_gap() -> None:
    parts = read(fixture_files("asset-export-iam-policy.json"))
    scopes = by_id(parts.scopes)
    assert scopes["projects/100000000001"].parent_id == "folders/333333333333"
    gaps = {c.operation: c for c in parts.coverage if c.is_gap}
    gap = gaps["projects.get projects/100000000001"]
    assert gap.status is CoverageStatus.ERROR and "gcloud projects list" in gap.detail


def test_search_results_map_project_numbers_to_ids() -> None:
    parts = read(fixture_files("asset-export-iam-policy.json", "search-all-iam-policies.json"))
    assert APP in by_id(parts.scopes)
    assert "projects/100000000001" not in by_id(parts.scopes)


def test_allow_policies_keep_the_native_document_and_bind_to_their_scope(estate) -> None:  # type: ignore[no-untyped-def]
    policy = by_id(estate.policies)[f"{APP}#iam-policy"]
    assert policy.kind is PolicyKind.GCP_BINDINGS and policy.scope_id == APP
    assert policy.document["version"] == 3
    condition = policy.document["bindings"][2]["condition"]
    assert condition["title"] == "business hours" and "getHours" in condition["expression"]
    attachments = {(a.policy_id, a.target_id, a.kind) for a in estate.attachments}
    assert (f"{APP}#iam-policy", APP, AttachmentKind.BINDING) in attachments
    assert (f"{ORG}#iam-policy", ORG, AttachmentKind.BINDING) in attachments


def test_a_service_accounts_own_policy_is_attached_to_the_account(estate) -> None:  # type: ignore[no-untyped-def]
    policy = by_id(estate.policies)[f"{DEPLOYER}#iam-policy"]
    assert policy.kind is PolicyKind.GCP_BINDINGS and policy.scope_id == APP
    assert policy.document["bindings"][0] == {"role": "roles/iam.serviceAccountTokenCreator", "members": [CI]}
    (attachment,) = [a for a in estate.attachments if a.policy_id == policy.id]
    assert attachment.target_id == DEPLOYER and attachment.kind is AttachmentKind.BINDING


def test_a_service_account_policy_named_by_unique_id_is_resolved(tmp_path: Path) -> None:
    asset = {
        "name": "//iam.googleapis.com/projects/acme-prod-app/serviceAccounts/104000000000000000002",
        "assetType": "iam.googleapis.com/ServiceAccount",
        "iamPolicy": {"bindings": [{"role": "roles/iam.serviceAccountUser", "members": ["user:dan@example.com"]}]},
        "ancestors": ["projects/100000000001"],
    }
    path = write(tmp_path, "sa.json", [asset], ndjson=True)
    parts = read([path, *fixture_files("service-accounts-acme-prod-app.json", "projects.json")])
    assert f"{DEPLOYER}#iam-policy" in by_id(parts.policies)
    alone = read([path, *fixture_files("projects.json")])
    assert not [p for p in alone.policies if p.id.endswith("#iam-policy") and "serviceAccount" in p.id]
    assert [c for c in alone.coverage if c.operation.startswith("serviceAccounts.getIamPolicy") and c.is_gap]


def test_resource_policies_bind_to_a_resource(estate) -> None:  # type: ignore[no-untyped-def]
    bucket = by_id(estate.resources)["//storage.googleapis.com/acme-public"]
    assert bucket.kind == "storage:bucket" and bucket.scope_id == APP
    topic = by_id(estate.resources)["//pubsub.googleapis.com/projects/acme-shared-ops/topics/deploys"]
    assert topic.kind == "pubsub:topic" and topic.scope_id == OPS
    policy = by_id(estate.policies)["//storage.googleapis.com/acme-public#iam-policy"]
    assert policy.document["bindings"][0]["members"] == ["allUsers"]
    assert any(a.target_id == bucket.id and a.policy_id == policy.id for a in estate.attachments)


def test_principals_from_lists_and_from_bindings(estate) -> None:  # type: ignore[no-untyped-def]
    principals = by_id(estate.principals)
    deployer = principals[DEPLOYER]
    assert deployer.kind is PrincipalKind.GCP_SERVICE_ACCOUNT
    assert deployer.native_id == "104000000000000000002" and deployer.scope_id == APP
    assert principals["serviceAccount:old-batch@acme-prod-app.iam.gserviceaccount.com"].attributes["disabled"] == "true"
    assert principals[COMPUTE].scope_id == APP  # listed in the project, though its email names no project
    assert principals["user:alice@example.com"].kind is PrincipalKind.GCP_USER
    assert principals["user:alice@example.com"].scope_id == APP
    assert principals["group:payments-eng@example.com"].scope_id == "folders/333333333333"
    assert principals["domain:example.com"].kind is PrincipalKind.GCP_DOMAIN
    assert principals["allUsers"].kind is PrincipalKind.GCP_ALL_USERS
    assert principals["allAuthenticatedUsers"].kind is PrincipalKind.GCP_ALL_USERS
    assert not [p for p in principals if p.startswith("deleted:")]
    subset = principals[f"principalSet://iam.googleapis.com/{GITHUB_POOL}/attribute.repository/acme/infra"]
    assert subset.kind is PrincipalKind.GCP_WORKLOAD_IDENTITY_POOL and subset.attributes["pool"] == GITHUB_POOL
    assert subset.scope_id == OPS


def test_a_service_account_seen_only_in_a_binding_lives_in_its_project() -> None:
    parts = read(fixture_files("asset-export-iam-policy.json", "projects.json"))
    ci = by_id(parts.principals)[CI]
    assert ci.kind is PrincipalKind.GCP_SERVICE_ACCOUNT and ci.scope_id == OPS and ci.native_id is None


def test_roles_keep_their_permissions_and_missing_roles_are_gaps(estate) -> None:  # type: ignore[no-untyped-def]
    policies = by_id(estate.policies)
    custom = policies["projects/acme-prod-app/roles/deployer"]
    assert custom.kind is PolicyKind.GCP_ROLE and custom.scope_id == APP
    assert "iam.serviceAccounts.actAs" in custom.document["includedPermissions"]
    assert policies["roles/owner"].scope_id == "gcp"
    assert policies["projects/acme-prod-app/roles/legacyReader"].attributes["deleted"] == "true"
    gaps = {c.operation: c for c in estate.coverage if c.is_gap}
    assert set(gaps) == {
        "roles.get roles/resourcemanager.organizationAdmin",
        "roles.get organizations/123456789012/roles/securityAuditor",
        "roles.get roles/iam.serviceAccountUser",
        "roles.get roles/storage.legacyBucketOwner",
        "roles.get roles/pubsub.publisher",
    }
    gap = gaps["roles.get roles/pubsub.publisher"]
    assert (gap.service, gap.status, gap.detail, gap.scope_id) == (
        "iam",
        CoverageStatus.ERROR,
        "role not in the inputs",
        OPS,
    )


def test_deny_policies_attach_where_their_name_says(estate) -> None:  # type: ignore[no-untyped-def]
    deny = [p for p in estate.policies if p.kind is PolicyKind.GCP_DENY]
    by_name = {p.id.rsplit("/", 1)[-1]: p for p in deny}
    org_deny, project_deny = by_name["protect-iam"], by_name["no-sa-keys"]
    targets = {a.policy_id: a.target_id for a in estate.attachments if a.kind is AttachmentKind.DENY}
    assert targets[org_deny.id] == ORG
    assert targets[project_deny.id] == APP  # the name holds the project number
    assert project_deny.document["rules"][0]["denyRule"]["denialCondition"]["expression"].startswith("!resource")
    assert org_deny.created == datetime(2024, 1, 5, 12, 0, 0, 318422, tzinfo=UTC)


def test_a_deny_policy_on_something_else_is_bad_input(tmp_path: Path) -> None:
    policy = json.loads((FIXTURES / "deny-no-keys.json").read_text())
    policy["name"] = "policies/storage.googleapis.com%2Fbuckets%2Fb/denypolicies/x"
    with pytest.raises(BadInputError, match=r"attachment point 'storage\.googleapis\.com/buckets/b'"):
        normalize_gcp(GcpRaw(deny_policies=[policy]))


def test_user_managed_keys_are_credentials_system_managed_are_counted(estate) -> None:  # type: ignore[no-untyped-def]
    keys = [c for c in estate.credentials if c.kind is CredentialKind.SERVICE_ACCOUNT_KEY]
    assert {k.key_id for k in keys} == {
        "3f1e0c1b2a9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f",
        "aa11bb22cc33dd44ee55ff6677889900aabbccdd",
    }
    old = by_id(keys)[
        "projects/acme-prod-app/serviceAccounts/deployer@acme-prod-app.iam.gserviceaccount.com/keys/"
        "3f1e0c1b2a9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f"
    ]
    assert old.principal_id == DEPLOYER and old.active
    assert old.created == datetime(2019, 6, 1, 10, tzinfo=UTC)
    assert old.expires is None  # 9999-12-31: never expires
    disabled = next(k for k in keys if k.key_id and k.key_id.startswith("aa11"))
    assert not disabled.active and disabled.expires == datetime(2025, 1, 10, 10, tzinfo=UTC)
    principals = by_id(estate.principals)
    assert principals[DEPLOYER].attributes["systemManagedKeys"] == "1"
    assert principals[DEPLOYER].attributes["userManagedKeys"] == "2"
    assert principals[CI].attributes["systemManagedKeys"] == "1"
    assert "systemManagedKeys" not in principals[COMPUTE].attributes  # its keys were not read: unknown, not 0


def test_workload_identity_providers(estate) -> None:  # type: ignore[no-untyped-def]
    credentials = by_id(c for c in estate.credentials if c.kind is CredentialKind.FEDERATED)
    github = credentials[f"{GITHUB_POOL}/providers/github-actions"]
    assert github.principal_id == f"principalSet://iam.googleapis.com/{GITHUB_POOL}/*"
    assert github.issuer == "https://token.actions.githubusercontent.com" and github.subjects is None
    assert github.audiences == (
        f"//iam.googleapis.com/{GITHUB_POOL}/providers/github-actions",
        f"https://iam.googleapis.com/{GITHUB_POOL}/providers/github-actions",
    )
    aws = credentials[f"{AWS_POOL}/providers/aws"]
    assert aws.issuer == "https://sts.amazonaws.com" and aws.audiences == ("111122223333",)
    resource = by_id(estate.resources)[f"{GITHUB_POOL}/providers/github-actions"]
    assert resource.kind == "iam:workloadIdentityPoolProvider" and resource.scope_id == OPS
    assert resource.attributes["attributeCondition"] == "assertion.repository_owner == 'acme'"
    assert json.loads(resource.attributes["attributeMapping"])["attribute.repository"] == "assertion.repository"
    assert by_id(estate.resources)[f"{AWS_POOL}/providers/aws"].attributes["awsAccountId"] == "111122223333"
    pool = by_id(estate.principals)[f"principalSet://iam.googleapis.com/{AWS_POOL}/*"]
    assert pool.kind is PrincipalKind.GCP_WORKLOAD_IDENTITY_POOL and pool.attributes["displayName"] == "AWS prod"


def test_instances_are_workloads_of_their_service_accounts(estate) -> None:  # type: ignore[no-untyped-def]
    workloads = by_id(w for w in estate.workloads if w.kind is WorkloadKind.GCE_INSTANCE)
    assert len(workloads) == 3  # the bastion runs as no service account
    web = workloads["//compute.googleapis.com/projects/acme-prod-app/zones/europe-west1-b/instances/web-1"]
    assert web.kind is WorkloadKind.GCE_INSTANCE and web.principal_ids == (COMPUTE,)
    assert web.scope_id == APP and web.region == "europe-west1-b"
    assert web.attributes["oauthScopes"] == "https://www.googleapis.com/auth/cloud-platform"


RUN = "//run.googleapis.com/projects/acme-prod-app/locations"
FUNCTIONS = "//cloudfunctions.googleapis.com/projects/acme-prod-app/locations"


def test_run_services_and_functions_run_as_their_service_accounts_or_the_default(estate) -> None:  # type: ignore[no-untyped-def]
    workloads = by_id(estate.workloads)
    checkout = workloads[f"{RUN}/europe-west1/services/checkout"]
    assert checkout.kind is WorkloadKind.CLOUD_RUN_SERVICE and checkout.principal_ids == (DEPLOYER,)
    assert checkout.scope_id == APP and checkout.region == "europe-west1"
    assert "defaultServiceAccount" not in checkout.attributes
    resizer = workloads[f"{RUN}/us-central1/services/image-resizer"]
    assert resizer.principal_ids == (COMPUTE,) and resizer.attributes["defaultServiceAccount"] == "true"
    pdf = workloads[f"{FUNCTIONS}/europe-west1/functions/invoice-pdf"]
    assert pdf.kind is WorkloadKind.CLOUD_FUNCTION and pdf.principal_ids == (DEPLOYER,)
    assert pdf.attributes["generation"] == "GEN_2"
    # A 1st gen function without a service account runs as the App Engine default one.
    report = workloads[f"{FUNCTIONS}/us-central1/functions/nightly-report"]
    assert report.principal_ids == ("serviceAccount:acme-prod-app@appspot.gserviceaccount.com",)
    assert report.attributes["generation"] == "GEN_1"


def test_both_run_service_shapes_give_the_same_workloads() -> None:
    projects = FIXTURES / "projects.json"
    knative = read([projects, FIXTURES / "run-services-acme-prod-app.json"])
    admin_v2 = read([projects, FIXTURES / "run-services-v2-acme-prod-app.json"])
    shape = {(w.id, w.principal_ids, w.scope_id, w.region) for w in knative.workloads}
    assert shape == {(w.id, w.principal_ids, w.scope_id, w.region) for w in admin_v2.workloads}
    assert len(shape) == 2


def test_a_default_service_account_the_inputs_cannot_name_is_a_gap() -> None:
    # Without the project list the number of acme-prod-app, and so its default compute account, is unknown.
    parts = read([FIXTURES / "run-services-v2-acme-prod-app.json"])
    assert [w.id for w in parts.workloads] == [f"{RUN}/europe-west1/services/checkout"]
    gap = next(c for c in parts.coverage if c.is_gap and "image-resizer" in c.operation)
    assert "project number" in gap.detail and "gcloud projects list" in gap.detail


OTHER = "other@acme-prod-app.iam.gserviceaccount.com"
BUILD = "//cloudbuild.googleapis.com/projects/acme-prod-app/locations/global/builds"
JOBS = "//cloudscheduler.googleapis.com/projects/acme-prod-app/locations/europe-west1/jobs"
COMPOSER = "//composer.googleapis.com/projects/acme-prod-app/locations/europe-west1/environments"
GKE = "//container.googleapis.com/projects/acme-prod-app/locations"
GKE_DEFAULT_SCOPES = (
    "https://www.googleapis.com/auth/devstorage.read_only https://www.googleapis.com/auth/logging.write "
    "https://www.googleapis.com/auth/monitoring https://www.googleapis.com/auth/service.management.readonly "
    "https://www.googleapis.com/auth/servicecontrol https://www.googleapis.com/auth/trace.append"
)
CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform"


def test_cloud_build_runs_as_the_projects_default_build_account(estate) -> None:  # type: ignore[no-untyped-def]
    # The setting names the project by number; the workload, like every other, by id.
    build = by_id(estate.workloads)[BUILD]
    legacy = "serviceAccount:100000000001@cloudbuild.gserviceaccount.com"
    assert build.kind is WorkloadKind.CLOUD_BUILD and build.principal_ids == (legacy,)
    assert build.scope_id == APP and build.region == "global"
    assert build.attributes["legacyServiceAccount"] == "true"
    account = by_id(estate.principals)[legacy]
    assert account.kind is PrincipalKind.GCP_SERVICE_ACCOUNT and account.scope_id == APP


def test_a_build_default_of_the_compute_account_or_of_none(tmp_path: Path) -> None:
    setting = {
        "name": "projects/acme-prod-app/locations/global/defaultServiceAccount",
        "serviceAccountEmail": f"projects/acme-prod-app/serviceAccounts/{COMPUTE.partition(':')[2]}",
    }
    (build,) = read([write(tmp_path, "build.json", setting)]).workloads
    assert build.principal_ids == (COMPUTE,) and "legacyServiceAccount" not in build.attributes
    # An empty answer: builds run as no account unless they name one; nothing runs by default.
    none = read([write(tmp_path, "none.json", {**setting, "serviceAccountEmail": ""})])
    assert not none.workloads and not [c for c in none.coverage if c.is_gap]


def test_scheduler_jobs_run_as_the_account_their_token_names(estate) -> None:  # type: ignore[no-untyped-def]
    workloads = by_id(estate.workloads)
    warmup = workloads[f"{JOBS}/checkout-warmup"]
    assert warmup.kind is WorkloadKind.CLOUD_SCHEDULER_JOB and warmup.principal_ids == (DEPLOYER,)
    assert warmup.attributes["tokenType"] == "oidc" and "oauthScopes" not in warmup.attributes
    # no audience named: the token is for the target's URI
    assert warmup.attributes["oidcAudience"] == "https://checkout-abcdefghij-ew.a.run.app/warmup"
    reindex = workloads[f"{JOBS}/nightly-reindex"]
    assert reindex.principal_ids == (COMPUTE,) and reindex.attributes["tokenType"] == "oauth"
    assert reindex.attributes["oauthScopes"] == CLOUD_PLATFORM and reindex.attributes["state"] == "PAUSED"
    assert f"{JOBS}/purge-tmp" not in workloads  # a Pub/Sub target sends no token: no identity


def test_an_oauth_job_without_a_scope_gets_the_documented_default(tmp_path: Path) -> None:
    job = {
        "name": "projects/acme-prod-app/locations/us-east1/jobs/ping",
        "httpTarget": {"uri": "https://example.com", "oauthToken": {"serviceAccountEmail": OTHER}},
        "schedule": "* * * * *",
    }
    (workload,) = read([write(tmp_path, "jobs.json", [job])]).workloads
    assert workload.attributes["oauthScopes"] == CLOUD_PLATFORM


def test_composer_environments_run_as_their_node_account_or_the_default(estate, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    reporting = by_id(estate.workloads)[f"{COMPOSER}/reporting"]
    assert reporting.kind is WorkloadKind.COMPOSER_ENVIRONMENT and reporting.principal_ids == (COMPUTE,)
    assert reporting.attributes["defaultServiceAccount"] == "true"
    assert reporting.attributes["imageVersion"].startswith("composer-2")
    assert "oauthScopes" not in reporting.attributes  # none named: not taken as a limit
    environment = json.loads((FIXTURES / "composer-environments-acme-prod-app.json").read_text())[0]
    environment["config"]["nodeConfig"].update(serviceAccount=OTHER, oauthScopes=[CLOUD_PLATFORM])
    (named,) = read([write(tmp_path, "envs.json", [environment])]).workloads
    assert named.principal_ids == (f"serviceAccount:{OTHER}",) and named.attributes["oauthScopes"] == CLOUD_PLATFORM
    # without the project list, the default compute account of an environment naming none is a gap
    alone = read([FIXTURES / "composer-environments-acme-prod-app.json"])
    assert not alone.workloads
    assert any(c.is_gap and "environments/reporting" in c.operation for c in alone.coverage)


def test_node_pools_run_as_their_account_with_their_access_scopes(estate) -> None:  # type: ignore[no-untyped-def]
    pools = by_id(w for w in estate.workloads if w.kind is WorkloadKind.GKE_NODE_POOL)
    assert len(pools) == 3
    default = pools[f"{GKE}/europe-west1/clusters/prod-gke/nodePools/default-pool"]
    assert default.principal_ids == (COMPUTE,) and default.attributes["defaultServiceAccount"] == "true"
    assert default.attributes["oauthScopes"] == GKE_DEFAULT_SCOPES  # as a VM keeps them
    assert default.attributes["workloadMetadataMode"] == "GKE_METADATA"
    assert default.attributes["workloadPool"] == "acme-prod-app.svc.id.goog"
    ci = pools[f"{GKE}/europe-west1/clusters/prod-gke/nodePools/ci-pool"]
    assert ci.principal_ids == (DEPLOYER,) and "defaultServiceAccount" not in ci.attributes
    assert ci.name == "prod-gke/ci-pool" and ci.region == "europe-west1" and ci.scope_id == APP
    # a zonal cluster whose selfLink says zones/ is named by its location like the others
    legacy = pools[f"{GKE}/europe-west1-b/clusters/legacy-gke/nodePools/pool-1"]
    assert legacy.attributes["oauthScopes"] == CLOUD_PLATFORM and "workloadMetadataMode" not in legacy.attributes


def test_a_pool_without_config_takes_the_clusters_node_config(tmp_path: Path) -> None:
    cluster = json.loads((FIXTURES / "clusters-acme-prod-app.json").read_text())[1]
    cluster["nodeConfig"] = {"serviceAccount": OTHER, "oauthScopes": [CLOUD_PLATFORM]}
    del cluster["nodePools"][0]["config"]
    (pool,) = read([write(tmp_path, "clusters.json", [cluster])]).workloads
    assert pool.principal_ids == (f"serviceAccount:{OTHER}",) and pool.attributes["oauthScopes"] == CLOUD_PLATFORM
    # no node pools: no nodes, nothing runs (the cluster's nodeConfig alone names no running node)
    cluster["nodePools"] = []
    assert not read([write(tmp_path, "empty.json", [cluster])]).workloads


def test_a_node_pool_on_the_default_account_without_the_project_number_is_a_gap() -> None:
    parts = read([FIXTURES / "clusters-acme-prod-app.json"])
    assert {w.name for w in parts.workloads} == {"prod-gke/ci-pool"}
    gap = next(c for c in parts.coverage if c.is_gap and "default-pool" in c.operation)
    assert gap.covers and "project number" in gap.detail


def test_gke_workload_identity_bindings_are_workloads(tmp_path: Path) -> None:
    ksa = "serviceAccount:acme-prod-app.svc.id.goog[payments/api]"
    assets = [
        {
            "name": f"//iam.googleapis.com/projects/acme-prod-app/serviceAccounts/{email}",
            "assetType": "iam.googleapis.com/ServiceAccount",
            "iamPolicy": {"bindings": [{"role": "roles/iam.workloadIdentityUser", "members": [ksa]}]},
            "ancestors": ["projects/100000000001"],
        }
        for email in ("deployer@acme-prod-app.iam.gserviceaccount.com", "api@acme-prod-app.iam.gserviceaccount.com")
    ]
    assets.append(
        {
            "name": f"//iam.googleapis.com/projects/acme-prod-app/serviceAccounts/{OTHER}",
            "assetType": "iam.googleapis.com/ServiceAccount",
            "iamPolicy": {"bindings": [{"role": "roles/iam.serviceAccountUser", "members": [ksa]}]},
            "ancestors": ["projects/100000000001"],
        }
    )
    parts = read([write(tmp_path, "sa.ndjson", assets, ndjson=True), FIXTURES / "projects.json"])
    (workload,) = parts.workloads
    assert workload.id == ksa and workload.kind is WorkloadKind.GKE_SERVICE_ACCOUNT
    # Only roles/iam.workloadIdentityUser makes a Kubernetes service account run as the account.
    assert set(workload.principal_ids) == {DEPLOYER, "serviceAccount:api@acme-prod-app.iam.gserviceaccount.com"}
    assert workload.scope_id == APP and workload.name == "payments/api"
    assert workload.attributes["workloadPool"] == "acme-prod-app.svc.id.goog"


def test_normalizing_is_pure_and_repeatable() -> None:
    first = read(fixture_files())
    second = read(fixture_files())
    assert first == second


def test_a_binding_without_members_is_bad_input_even_from_raw() -> None:
    raw = GcpRaw(iam_policies={APP: {"bindings": [{"role": "roles/owner", "members": []}]}})
    with pytest.raises(BadInputError, match=r"bindings\[0\]\.members is missing or empty"):
        normalize_gcp(raw)


def test_an_answer_of_the_wrong_shape_is_bad_input_not_a_crash() -> None:
    raw = GcpRaw(source="api", instances=[{"name": "vm", "zone": "projects/p/zones/z", "serviceAccounts": "x"}])
    with pytest.raises(BadInputError, match=r"Google Cloud inputs \(api\)"):
        normalize_gcp(raw)


ENG = "group:payments-eng@example.com"
ONCALL = "group:payments-oncall@example.com"


def test_group_memberships_are_transitive_and_make_members_known(estate) -> None:  # type: ignore[no-untyped-def]
    principals = by_id(estate.principals)
    assert set(principals["user:carol@example.com"].member_of) == {ENG}
    # dave is in on-call, which is in engineering: in both.
    assert set(principals["user:dave@example.com"].member_of) == {ENG, ONCALL}
    assert set(principals[ONCALL].member_of) == {ENG}
    assert CI in principals and ENG in principals[CI].member_of
    assert principals[ENG].attributes["membersKnown"] == "true"
    assert principals[ONCALL].attributes["membersKnown"] == "true"


def _group_files(tmp_path: Path, members: list[dict[str, object]], *, describe: bool = True) -> list[Path]:
    files = [write(tmp_path, "members.json", members)]
    if describe:
        files.append(write(tmp_path, "group.json", {"name": "groups/g1", "groupKey": {"id": "eng@example.com"}}))
    return files


def _membership(email: str, kind: str | None) -> dict[str, object]:
    entry: dict[str, object] = {"name": f"groups/g1/memberships/{email}", "preferredMemberKey": {"id": email}}
    return entry | ({"type": kind} if kind else {})


def test_a_member_of_unknown_type_or_an_unread_nested_group_keeps_members_unknown(tmp_path: Path) -> None:
    untyped = read(_group_files(tmp_path, [_membership("a@example.com", "USER"), _membership("drive", None)]))
    assert by_id(untyped.principals)["group:eng@example.com"].attributes["membersKnown"] == "false"
    assert by_id(untyped.principals)["user:a@example.com"].member_of == ("group:eng@example.com",)
    nested = read(_group_files(tmp_path, [_membership("inner@example.com", "GROUP")]))
    assert by_id(nested.principals)["group:eng@example.com"].attributes["membersKnown"] == "false"


def test_memberships_without_the_group_description_are_a_gap(tmp_path: Path) -> None:
    parts = read(_group_files(tmp_path, [_membership("a@example.com", "USER")], describe=False))
    gap = next(c for c in parts.coverage if c.is_gap and c.operation == "groups.describe groups/g1")
    assert "gcloud identity groups describe" in gap.detail
    assert "user:a@example.com" not in by_id(parts.principals)
