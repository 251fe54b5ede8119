"""Live collection with the real SDK clients against local fakes (REST Resource Manager, gRPC IAM)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.auth.credentials import AnonymousCredentials
from google.auth.transport.requests import AuthorizedSession
from google.cloud import iam_admin_v1, iam_v2, resourcemanager_v3
from google.cloud.iam_admin_v1.services.iam.transports import IAMGrpcTransport
from google.cloud.iam_v2.services.policies.transports import PoliciesGrpcTransport

from models import CoverageStatus, Covers, WorkloadKind
from scanner.errors import ScanError
from scanner.gcp.live import GcpClients, collect_gcp, default_clients, scan_gcp
from scanner.gcp.normalize import normalize_gcp
from scanner.gcp.rest import RestReader
from scanner.normalized import Normalized
from tests.scanner.gcp.conftest import APP, DEPLOYER, FIXTURES, OPS, ORG, by_id, read, serialised
from tests.scanner.gcp.fakes import READ_REST, Estate, IamFake, ResourceManagerFake

#: The export files describing what the live collector reads (no resource policies, pools or instances).
FILES = [
    "organizations.json",
    "folders.json",
    "folders-prod.json",
    "projects.json",
    "service-accounts-acme-prod-app.json",
    "service-accounts-acme-shared-ops.json",
    "keys-deployer.json",
    "keys-ci-builder.json",
    "role-owner.json",
    "role-editor.json",
    "role-viewer.json",
    "role-storage.objectViewer.json",
    "role-iam.serviceAccountTokenCreator.json",
    "role-iam.workloadIdentityUser.json",
    "roles-acme-prod-app.json",
    "deny-protect-iam.json",
    "deny-no-keys.json",
    "workload-identity-pools-acme-shared-ops.json",
    "providers-github.json",
    "providers-aws-prod.json",
    "instances-acme-prod-app.json",
    "run-services-v2-acme-prod-app.json",
    "functions-acme-prod-app.json",
    "build-default-service-account-acme-prod-app.json",
    "scheduler-jobs-acme-prod-app.json",
    "composer-environments-acme-prod-app.json",
    "clusters-acme-prod-app.json",
    "group-payments-eng.json",
    "group-payments-eng-memberships.json",
    "group-payments-oncall.json",
    "group-payments-oncall-memberships.json",
]
READ_METHODS = {
    "searchAllIamPolicies",
    "organizations.get",
    "organizations.getIamPolicy",
    "folders.get",
    "folders.list",
    "folders.getIamPolicy",
    "projects.get",
    "projects.list",
    "projects.getIamPolicy",
    "serviceAccounts.list",
    "serviceAccounts.keys.list",
    "serviceAccounts.getIamPolicy",
    "roles.list",
    "roles.get",
    "policies.list",
    "policies.get",
    "workloadIdentityPools.list",
    "workloadIdentityPools.providers.list",
    "instances.aggregatedList",
    "services.list",
    "functions.list",
    "defaultServiceAccount.get",
    "locations.list",
    "jobs.list",
    "searchAllResources",
    "environments.list",
    "clusters.list",
    "groups.lookup",
    "groups.memberships.list",
}


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def scope_assets() -> list[dict[str, Any]]:
    """The asset export's organization, folder, project and service-account assets."""
    lines = (FIXTURES / "asset-export-iam-policy.json").read_text().splitlines()
    assets = [json.loads(line) for line in lines]
    return [a for a in assets if a["assetType"].startswith(("cloudresourcemanager.", "iam.googleapis.com/Service"))]


def fixture_estate() -> Estate:
    """The export fixtures as the APIs hold them (Resource Manager v3 shapes)."""
    estate = Estate()
    for org in load("organizations.json"):
        estate.organizations.append({"name": org["name"], "displayName": org["displayName"], "state": "ACTIVE"})
    for folder in [*load("folders.json"), *load("folders-prod.json")]:
        estate.folders.append({k: folder[k] for k in ("name", "parent", "displayName")} | {"state": "ACTIVE"})
    for project in load("projects.json"):
        estate.projects.append(
            {
                "name": f"projects/{project['projectNumber']}",
                "projectId": project["projectId"],
                "parent": f"{project['parent']['type']}s/{project['parent']['id']}",
                "displayName": project["name"],
                "state": "ACTIVE",
            }
        )
    for asset in scope_assets():
        path = asset["name"].split("/", 3)[3]
        if asset["assetType"] == "iam.googleapis.com/ServiceAccount":
            estate.policies[f"serviceAccount:{path.rsplit('/', 1)[-1]}"] = asset["iamPolicy"]
        else:
            estate.policies[estate.canonical(path)] = asset["iamPolicy"]
    estate.service_accounts = [*load(FILES[4]), *load(FILES[5])]
    for name in ("keys-deployer.json", "keys-ci-builder.json"):
        for key in load(name):
            estate.keys.setdefault(key["name"].split("/")[3], []).append(key)
    for name in FILES[8:15]:
        data = load(name)
        for role in data if isinstance(data, list) else [data]:
            estate.roles[role["name"]] = role
    estate.deny_policies = [load("deny-protect-iam.json"), load("deny-no-keys.json")]
    estate.pools = load("workload-identity-pools-acme-shared-ops.json")
    estate.providers = [*load("providers-github.json"), *load("providers-aws-prod.json")]
    estate.instances = load("instances-acme-prod-app.json")
    estate.run_services = load("run-services-v2-acme-prod-app.json")
    estate.functions = load("functions-acme-prod-app.json")
    estate.build_accounts["acme-prod-app"] = load("build-default-service-account-acme-prod-app.json")
    estate.scheduler_locations = {"acme-prod-app": ["europe-west1", "us-central1"], "acme-shared-ops": ["us-east1"]}
    estate.scheduler_jobs = load("scheduler-jobs-acme-prod-app.json")
    estate.composer_environments = load("composer-environments-acme-prod-app.json")
    estate.clusters = load("clusters-acme-prod-app.json")
    for name in ("payments-eng", "payments-oncall"):
        group = load(f"group-{name}.json")
        estate.groups[group["groupKey"]["id"]] = group["name"]
        estate.memberships[group["name"]] = load(f"group-{name}-memberships.json")
    return estate


@contextmanager
def live_clients(estate: Estate) -> Iterator[GcpClients]:
    with ExitStack() as stack:
        rest = stack.enter_context(ResourceManagerFake(estate))
        grpc_fake = stack.enter_context(IamFake(estate))
        options = {"api_endpoint": rest.endpoint}
        credentials = AnonymousCredentials()  # type: ignore[no-untyped-call]
        channel = grpc.insecure_channel(grpc_fake.target)
        stack.callback(channel.close)
        session = AuthorizedSession(credentials)  # type: ignore[no-untyped-call]
        stack.callback(session.close)
        clients = GcpClients(
            organizations=resourcemanager_v3.OrganizationsClient(
                credentials=credentials, transport="rest", client_options=options
            ),
            folders=resourcemanager_v3.FoldersClient(credentials=credentials, transport="rest", client_options=options),
            projects=resourcemanager_v3.ProjectsClient(
                credentials=credentials, transport="rest", client_options=options
            ),
            iam=iam_admin_v1.IAMClient(transport=IAMGrpcTransport(channel=channel)),
            policies=iam_v2.PoliciesClient(transport=PoliciesGrpcTransport(channel=channel)),
            rest=RestReader(
                session=session,
                iam_endpoint=rest.endpoint,
                compute_endpoint=rest.endpoint,
                run_endpoint=rest.endpoint,
                functions_endpoint=rest.endpoint,
                identity_endpoint=rest.endpoint,
                asset_endpoint=rest.endpoint,
                build_endpoint=rest.endpoint,
                scheduler_endpoint=rest.endpoint,
                composer_endpoint=rest.endpoint,
                container_endpoint=rest.endpoint,
            ),
            timeout=10.0,
        )
        for client in (clients.organizations, clients.folders, clients.projects):
            stack.callback(client.transport.close)
        yield clients


def collect(estate: Estate, **kwargs: Any) -> Normalized:
    with live_clients(estate) as clients:
        return normalize_gcp(collect_gcp(clients, **kwargs))


@pytest.fixture(scope="module")
def files_view(tmp_path_factory: pytest.TempPathFactory) -> Normalized:
    directory = tmp_path_factory.mktemp("gcp-files")
    assets = directory / "assets.json"
    assets.write_text("".join(json.dumps(a) + "\n" for a in scope_assets()))
    return read([assets, *(FIXTURES / n for n in FILES)])


@pytest.fixture(scope="module")
def org_scan() -> tuple[Estate, Normalized]:
    estate = fixture_estate()
    return estate, collect(estate, organization="123456789012", projects=[])


def ids(parts: Normalized, name: str) -> set[str]:
    return {getattr(obj, "id", None) or obj.operation for obj in getattr(parts, name)}


@pytest.mark.parametrize(
    "collection", ["scopes", "principals", "policies", "attachments", "credentials", "resources", "workloads"]
)
def test_a_live_collection_equals_the_export_reading_of_the_same_estate(
    org_scan: tuple[Estate, Normalized], files_view: Normalized, collection: str
) -> None:
    _, live = org_scan
    assert ids(live, collection) == ids(files_view, collection)


def test_live_documents_and_hierarchy_match_the_exports(
    org_scan: tuple[Estate, Normalized], files_view: Normalized
) -> None:
    _, live = org_scan
    live_policies, file_policies = by_id(live.policies), by_id(files_view.policies)
    for policy_id, policy in file_policies.items():
        assert live_policies[policy_id].document == policy.document, policy_id  # type: ignore[attr-defined]
    assert {(s.id, s.parent_id) for s in live.scopes} == {(s.id, s.parent_id) for s in files_view.scopes}
    assert by_id(live.scopes)[APP].attributes["projectNumber"] == "100000000001"
    assert by_id(live.credentials) == by_id(files_view.credentials)
    assert by_id(live.principals)[DEPLOYER].attributes["systemManagedKeys"] == "1"


def test_roles_no_input_defines_are_the_same_gaps_live_and_from_files(
    org_scan: tuple[Estate, Normalized], files_view: Normalized
) -> None:
    _, live = org_scan
    live_gaps = {c.operation for c in live.coverage if c.is_gap and c.operation.startswith("roles.get ")}
    file_gaps = {c.operation for c in files_view.coverage if c.is_gap and c.operation.startswith("roles.get ")}
    assert live_gaps == file_gaps and "roles.get roles/iam.serviceAccountUser" in live_gaps
    not_found = next(c for c in live.coverage if c.operation == "roles.get roles/iam.serviceAccountUser")
    assert not_found.source == "api" and "NotFound" in not_found.detail


def test_pagination_is_followed(org_scan: tuple[Estate, Normalized]) -> None:
    estate, live = org_scan
    assert len([p for p in live.principals if p.id.endswith("@acme-prod-app.iam.gserviceaccount.com")]) == 2
    assert len(live.scopes) == 6  # folders and projects come one per page
    assert len([c for c in estate.calls if c[0] == "serviceAccounts.list" and c[1] == APP]) == 3
    roles = {p.id for p in live.policies if p.id.startswith(f"{APP}/roles/")}
    assert roles == {f"{APP}/roles/deployer", f"{APP}/roles/legacyReader"}


def test_the_fakes_saw_only_read_methods(org_scan: tuple[Estate, Normalized]) -> None:
    estate, _ = org_scan
    assert {method for method, _ in estate.calls} <= READ_METHODS
    assert set(estate.iam_policy_requests) == {3}  # conditions come back only with version 3
    assert READ_REST.match("POST /v3/projects/p:getIamPolicy")
    assert not READ_REST.match("POST /v3/projects/p:setIamPolicy")


def test_a_denied_read_is_a_gap_and_the_rest_still_arrives() -> None:
    estate = fixture_estate()
    estate.denied = {("projects.getIamPolicy", "projects/acme-shared-ops"), ("serviceAccounts.list", APP)}
    parts = collect(estate, organization="organizations/123456789012", projects=[])
    gaps = {(c.scope_id, c.operation): c for c in parts.coverage if c.is_gap}
    policy_gap = gaps[(OPS, "projects.getIamPolicy")]
    assert policy_gap.status is CoverageStatus.DENIED and "Permission denied" in policy_gap.detail
    assert gaps[(APP, "serviceAccounts.list")].status is CoverageStatus.DENIED
    policies = by_id(parts.policies)
    assert f"{OPS}#iam-policy" not in policies
    assert f"{APP}#iam-policy" in policies and f"{ORG}#iam-policy" in policies
    assert "serviceAccount:ci-builder@acme-shared-ops.iam.gserviceaccount.com" in by_id(parts.principals)
    assert not [c for c in parts.credentials if c.principal_id == DEPLOYER]  # its account list was denied
    ok = {(c.scope_id, c.operation) for c in parts.coverage if not c.is_gap}
    assert (OPS, "serviceAccounts.list") in ok and (APP, "projects.getIamPolicy") in ok


def test_named_projects_read_the_folders_and_organization_above_them() -> None:
    estate = fixture_estate()
    estate.denied = {("folders.get", "folders/111111111111")}
    parts = collect(estate, organization=None, projects=["acme-prod-app"])
    scopes = by_id(parts.scopes)
    assert scopes[APP].parent_id == "folders/333333333333"
    assert scopes["folders/333333333333"].parent_id == "folders/111111111111"
    assert "folders/111111111111#iam-policy" in by_id(parts.policies)  # its policy is still readable
    assert not [call for call in estate.calls if "acme-shared-ops" in call[1]]  # only the named project is read
    assert f"{OPS}#iam-policy" not in by_id(parts.policies)
    gap = next(c for c in parts.coverage if c.operation == "folders.get")
    assert gap.status is CoverageStatus.DENIED and gap.scope_id == "folders/111111111111"


def test_secret_key_material_from_the_api_is_dropped() -> None:
    estate = fixture_estate()
    estate.keys[DEPLOYER.removeprefix("serviceAccount:")][0]["privateKeyData"] = "U0VDUkVULUtFWS1NQVRFUklBTA=="
    with live_clients(estate) as clients:
        raw = collect_gcp(clients, organization=None, projects=["acme-prod-app"])
    assert "U0VDUkVULUtFWS1NQVRFUklBTA==" not in json.dumps(raw.keys)
    assert "U0VDUkVULUtFWS1NQVRFUklBTA==" not in serialised(normalize_gcp(raw))


def test_scan_gcp_makes_a_snapshot_and_needs_a_target() -> None:
    estate = fixture_estate()
    with live_clients(estate) as clients:
        snapshot = scan_gcp(clients, organization="123456789012", projects=[], label="t")
        with pytest.raises(ScanError, match="--organization"):
            collect_gcp(clients, organization=None, projects=[])
    assert snapshot.source == "live" and len(snapshot.scopes) == 6


def test_rejected_credentials_stop_the_scan_with_one_line(tmp_path: Path) -> None:
    estate = fixture_estate()
    with live_clients(estate) as clients:
        clients.organizations = resourcemanager_v3.OrganizationsClient(
            credentials=_Refusing(), transport="rest", client_options={"api_endpoint": "http://127.0.0.1:9"}
        )
        with pytest.raises(ScanError, match="could not be refreshed") as info:
            collect_gcp(clients, organization="123456789012", projects=[])
        clients.organizations.transport.close()
    assert "\n" not in str(info.value) and "gcloud auth application-default login" in str(info.value)


class _Refusing(AnonymousCredentials):
    """Credentials whose refresh fails, as expired user credentials do (invalid_grant)."""

    def before_request(self, request: Any, method: Any, url: Any, headers: Any) -> None:
        from google.auth.exceptions import RefreshError

        raise RefreshError("invalid_grant: Token has been expired or revoked.")


def test_without_a_rest_session_pools_and_instances_are_gaps_not_absences() -> None:
    estate = fixture_estate()
    with live_clients(estate) as clients:
        clients.rest = None
        parts = normalize_gcp(collect_gcp(clients, organization=None, projects=["acme-shared-ops"]))
    gaps = {c.operation: c for c in parts.coverage if c.is_gap}
    assert "not collected by live scans" in gaps["workloadIdentityPools.list"].detail
    assert "not collected by live scans" in gaps["instances.list"].detail
    assert "not collected by live scans" in gaps["services.list"].detail
    assert "not collected by live scans" in gaps["functions.list"].detail
    assert "not collected by live scans" in gaps["groups.memberships.list"].detail
    for operation in ("defaultServiceAccount.get", "clusters.list", "jobs.list", "environments.list"):
        assert "not collected by live scans" in gaps[operation].detail and gaps[operation].covers == (Covers.WORKLOADS,)
    assert gaps["instances.list"].scope_id == OPS
    assert not parts.workloads and not [p for p in parts.principals if p.attributes.get("state")]


def test_a_denied_pool_list_is_a_gap_and_instances_still_arrive() -> None:
    estate = fixture_estate()
    estate.denied = {("workloadIdentityPools.list", OPS)}
    parts = collect(estate, organization="123456789012", projects=[])
    gap = next(c for c in parts.coverage if c.operation == "workloadIdentityPools.list" and c.is_gap)
    assert gap.scope_id == OPS and gap.status is CoverageStatus.DENIED
    assert not [c for c in parts.credentials if c.issuer]  # no provider was read
    assert len([w for w in parts.workloads if w.kind is WorkloadKind.GCE_INSTANCE]) == 3
    pages = [c for c in estate.calls if c[0] == "instances.aggregatedList" and c[1] == APP]
    assert len(pages) == 4  # one instance per page, every page followed


def test_denied_or_unreachable_serverless_reads_are_gaps_not_absences() -> None:
    estate = fixture_estate()
    estate.denied = {("services.list", APP)}
    estate.unreachable = ["us-central1"]
    parts = collect(estate, organization=None, projects=["acme-prod-app"])
    gaps = {c.operation: c for c in parts.coverage if c.is_gap}
    assert gaps["services.list"].status is CoverageStatus.DENIED and gaps["services.list"].scope_id == APP
    assert "unreachable locations" in gaps["functions.list"].detail
    kinds = {w.kind for w in parts.workloads}
    assert WorkloadKind.CLOUD_RUN_SERVICE not in kinds and WorkloadKind.CLOUD_FUNCTION not in kinds
    assert WorkloadKind.GCE_INSTANCE in kinds


def test_groups_cloud_identity_will_not_show_keep_unknown_members() -> None:
    estate = fixture_estate()
    estate.denied = {("groups.lookup", "payments-oncall@example.com")}
    parts = collect(estate, organization="123456789012", projects=[])
    gap = next(c for c in parts.coverage if c.operation == "groups.lookup" and c.is_gap)
    assert gap.status is CoverageStatus.DENIED  # (gcp-admins@ is not found; payments-oncall@ is denied)
    assert ("groups.lookup", "payments-oncall@example.com") in estate.calls
    principals = by_id(parts.principals)
    # Engineering's members were read, but the on-call group inside it was not: not fully known.
    assert principals["group:payments-eng@example.com"].attributes["membersKnown"] == "false"
    assert principals["user:carol@example.com"].member_of == ("group:payments-eng@example.com",)
    assert "user:dave@example.com" not in principals


def test_credentials_the_api_rejects_stop_the_scan() -> None:
    estate = fixture_estate()
    estate.unauthenticated = {"serviceAccounts.list"}
    with live_clients(estate) as clients, pytest.raises(ScanError, match="rejected the credentials") as info:
        collect_gcp(clients, organization=None, projects=["acme-prod-app"])
    assert "\n" not in str(info.value)


def test_no_application_default_credentials_is_one_clear_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "missing.json"))
    with pytest.raises(ScanError, match="no Google Cloud credentials found") as info:
        default_clients()
    assert "gcloud auth application-default login" in str(info.value) and "\n" not in str(info.value)


def test_resource_policies_under_nested_folders_come_from_the_asset_search() -> None:
    """Live, a bucket's own policy comes from Cloud Asset ``searchAllIamPolicies``; its result lists
    two folders in no documented order, and the bucket is still filed under its project."""
    estate = fixture_estate()
    bucket = "//storage.googleapis.com/acme-nested-assets"
    estate.iam_search = [
        {
            "resource": bucket,
            "assetType": "storage.googleapis.com/Bucket",
            "project": "projects/100000000001",
            "folders": ["folders/111111111111", "folders/333333333333"],
            "organization": ORG,
            "policy": {"bindings": [{"role": "roles/storage.objectViewer", "members": ["user:bob@example.com"]}]},
        }
    ]
    parts = collect(estate, organization="123456789012", projects=[])
    resource = by_id(parts.resources)[bucket]
    assert resource.scope_id == APP  # type: ignore[attr-defined]
    assert f"{bucket}#iam-policy" in by_id(parts.policies)
    search = next(c for c in parts.coverage if c.operation == "searchAllIamPolicies")
    assert search.status is CoverageStatus.OK and search.scope_id == ORG
    assert ("searchAllIamPolicies", ORG) in estate.calls


def test_a_denied_asset_search_is_a_gap_about_resource_policies_only() -> None:
    estate = fixture_estate()
    estate.denied = {("searchAllIamPolicies", ORG)}
    parts = collect(estate, organization="123456789012", projects=[])
    gap = next(c for c in parts.coverage if c.operation == "searchAllIamPolicies")
    assert gap.status is CoverageStatus.DENIED
    assert gap.covers == (Covers.RESOURCE_POLICIES,)


# --- Cloud Build, Cloud Scheduler, Composer and GKE node pools ------------------------------------------


def test_build_scheduler_composer_and_node_pools_are_read_live(org_scan: tuple[Estate, Normalized]) -> None:
    estate, live = org_scan
    kinds = {w.kind for w in live.workloads}
    assert {
        WorkloadKind.CLOUD_BUILD,
        WorkloadKind.CLOUD_SCHEDULER_JOB,
        WorkloadKind.COMPOSER_ENVIRONMENT,
        WorkloadKind.GKE_NODE_POOL,
    } <= kinds
    # jobs are listed in each location Scheduler names, one job per page
    assert ("jobs.list", "projects/acme-prod-app/locations/us-central1") in estate.calls
    assert len([c for c in estate.calls if c == ("jobs.list", "projects/acme-prod-app/locations/europe-west1")]) == 3
    # Composer is listed only where Cloud Asset found an environment
    assert [c[1] for c in estate.calls if c[0] == "environments.list"] == [
        "projects/acme-prod-app/locations/europe-west1"
    ]
    jobs = {c.scope_id: c for c in live.coverage if c.operation == "jobs.list"}
    assert jobs[APP].status is CoverageStatus.OK and jobs[APP].items == 3
    # shared-ops has no Cloud Build: the API is off there, a gap of its own kind
    build = {c.scope_id: c for c in live.coverage if c.operation == "defaultServiceAccount.get"}
    assert build[APP].status is CoverageStatus.OK and build[OPS].status is CoverageStatus.NOT_ENABLED


def test_live_workload_attributes_match_the_exports(
    org_scan: tuple[Estate, Normalized], files_view: Normalized
) -> None:
    _, live = org_scan
    new = (
        WorkloadKind.CLOUD_BUILD,
        WorkloadKind.CLOUD_SCHEDULER_JOB,
        WorkloadKind.COMPOSER_ENVIRONMENT,
        WorkloadKind.GKE_NODE_POOL,
    )
    shape = {(w.id, w.kind, w.principal_ids, w.region, tuple(sorted(w.attributes.items()))) for w in live.workloads}
    files = {
        (w.id, w.kind, w.principal_ids, w.region, tuple(sorted(w.attributes.items()))) for w in files_view.workloads
    }
    assert {x for x in shape if x[1] in new} == {x for x in files if x[1] in new}
    assert len({x for x in shape if x[1] in new}) == 7


def test_denied_or_partial_workload_reads_are_gaps_not_absences() -> None:
    estate = fixture_estate()
    estate.denied = {("locations.list", APP), ("defaultServiceAccount.get", APP)}
    estate.missing_zones = ["europe-west1-c"]
    parts = collect(estate, organization=None, projects=["acme-prod-app"])
    gaps = {c.operation: c for c in parts.coverage if c.is_gap}
    # the locations could not be listed, so the jobs are unknown: a gap of jobs.list, not of locations only
    assert gaps["jobs.list"].status is CoverageStatus.DENIED and gaps["jobs.list"].scope_id == APP
    assert "the locations whose jobs are to be listed" in gaps["jobs.list"].detail
    assert gaps["defaultServiceAccount.get"].status is CoverageStatus.DENIED
    assert "missing zones" in gaps["clusters.list"].detail
    kinds = {w.kind for w in parts.workloads}
    assert WorkloadKind.CLOUD_SCHEDULER_JOB not in kinds and WorkloadKind.GKE_NODE_POOL not in kinds
    assert WorkloadKind.CLOUD_BUILD not in kinds
    assert WorkloadKind.COMPOSER_ENVIRONMENT in kinds  # the other reads still arrive


def test_a_denied_jobs_list_in_one_location_is_a_gap_and_other_locations_still_arrive() -> None:
    estate = fixture_estate()
    estate.denied = {("jobs.list", "projects/acme-prod-app/locations/us-central1")}
    parts = collect(estate, organization=None, projects=["acme-prod-app"])
    (gap,) = [c for c in parts.coverage if c.operation == "jobs.list"]
    assert gap.status is CoverageStatus.DENIED and "1 of 2 calls failed" in gap.detail
    assert "us-central1" in gap.detail
    assert len([w for w in parts.workloads if w.kind is WorkloadKind.CLOUD_SCHEDULER_JOB]) == 2


def test_a_failed_composer_search_leaves_the_environments_unknown() -> None:
    estate = fixture_estate()
    estate.denied = {("searchAllResources", ORG)}
    parts = collect(estate, organization="123456789012", projects=[])
    search = next(c for c in parts.coverage if c.operation == "searchAllResources")
    assert search.status is CoverageStatus.DENIED
    gap = next(c for c in parts.coverage if c.operation == "environments.list")
    assert gap.is_gap and gap.scope_id == ORG and gap.covers == (Covers.WORKLOADS,)
    assert not [w for w in parts.workloads if w.kind is WorkloadKind.COMPOSER_ENVIRONMENT]
    assert not [c for c in estate.calls if c[0] == "environments.list"]
