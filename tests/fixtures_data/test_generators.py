"""The Google Cloud and Azure demo estates and the cloud bench generator.

The committed demo files must be exactly what their generators write (so they never drift), every file must have
the shape of the command output it stands for, the planted problems listed in each README must be in the files,
and nothing may carry secret material. The bench generator must produce the counts it is asked for.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import re
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "fixtures" / "demo"
SHARED = REPO.parent / "shared" / "data"
NEVER = "9999-12-31T23:59:59Z"
SECRET_MARKERS = ("privateKeyData", "privateKey", "secretText", "-----BEGIN", "clientSecret")


def load_module(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gcp_gen = load_module(DEMO / "generate_gcp.py")
azure_gen = load_module(DEMO / "generate_azure.py")
bench = load_module(REPO / "bench" / "gen_cloud_exports.py")
needs_shared = pytest.mark.skipif(not SHARED.exists(), reason=f"{SHARED} (the shared iam-dataset) is absent")


def load(path: Path) -> Any:
    return json.loads(path.read_text())


def keys_of(obj: dict[str, Any], *required: str) -> None:
    missing = [k for k in required if k not in obj]
    assert not missing, f"missing {missing} in {json.dumps(obj)[:200]}"


# --------------------------------------------------------------------------- shape checkers, one per format

Checker = Callable[[Any], None]


def cai_export(text: str) -> None:
    lines = text.splitlines()
    assert lines
    for line in lines:
        asset = json.loads(line)
        keys_of(asset, "name", "assetType", "iamPolicy", "ancestors", "updateTime")
        assert asset["name"].startswith("//") and asset["ancestors"][-1].startswith("organizations/")
        keys_of(asset["iamPolicy"], "version", "bindings", "etag")
        for b in asset["iamPolicy"]["bindings"]:
            keys_of(b, "role", "members")
            assert b["members"] and b["role"].count("roles/") == 1
            if "condition" in b:
                keys_of(b["condition"], "expression", "title")
                assert asset["iamPolicy"]["version"] == 3


def each(*required: str, check: Callable[[dict[str, Any]], bool] = lambda _: True) -> Checker:
    def checker(content: Any) -> None:
        assert isinstance(content, list) and content, "expected a non-empty JSON list"
        for item in content:
            keys_of(item, *required)
            assert check(item), json.dumps(item)[:200]

    return checker


def gcp_role(content: Any) -> None:
    keys_of(content, "name", "title", "includedPermissions", "stage", "etag")
    assert content["includedPermissions"] == sorted(set(content["includedPermissions"]))


def gcp_deny(content: Any) -> None:
    keys_of(content, "name", "uid", "kind", "displayName", "rules", "etag", "createTime")
    assert content["kind"] == "DenyPolicy" and "/denypolicies/" in content["name"]
    assert content["name"].startswith("policies/cloudresourcemanager.googleapis.com%2F")
    for rule in content["rules"]:
        keys_of(rule["denyRule"], "deniedPrincipals", "deniedPermissions")
        assert all(re.fullmatch(r"[a-z]+\.googleapis\.com/\w+\.\w+", p) for p in rule["denyRule"]["deniedPermissions"])


def gcp_provider(item: dict[str, Any]) -> bool:
    return "/providers/" in item["name"] and (("oidc" in item) != ("aws" in item))


def gcp_instance(item: dict[str, Any]) -> bool:
    return item["zone"].startswith("https://www.googleapis.com/compute/v1/projects/") and all(
        {"email", "scopes"} <= set(s) for s in item.get("serviceAccounts", [])
    )


def gcp_build_account(content: Any) -> None:
    assert set(content) == {"name", "serviceAccountEmail"}
    assert re.fullmatch(r"projects/[^/]+/locations/[^/]+/defaultServiceAccount", content["name"])
    assert re.fullmatch(r"projects/[^/]+/serviceAccounts/[^/@]+@[^/@]+", content["serviceAccountEmail"])


def gcp_cluster(item: dict[str, Any]) -> bool:
    return item["selfLink"].startswith("https://container.googleapis.com/v1/projects/") and all(
        {"serviceAccount", "oauthScopes"} <= set(pool["config"]) and pool["selfLink"].startswith(item["selfLink"])
        for pool in item["nodePools"]
    )


def gcp_job_target(job: dict[str, Any]) -> bool:
    targets = [t for t in ("httpTarget", "pubsubTarget", "appEngineHttpTarget") if t in job]
    http = job.get("httpTarget") or {}
    return len(targets) == 1 and all("serviceAccountEmail" in http[t] for t in ("oidcToken", "oauthToken") if t in http)


AZ_PERMISSION = {"actions", "notActions", "dataActions", "notDataActions"}


def az_definition(item: dict[str, Any]) -> bool:
    return item["roleType"] in ("BuiltInRole", "CustomRole") and all(
        set(p) >= AZ_PERMISSION for p in item["permissions"]
    )


def az_deny(content: Any) -> None:
    assert set(content) == {"value"} and content["value"]
    for item in content["value"]:
        keys_of(item, "id", "name", "type", "properties")
        assert item["type"] == "Microsoft.Authorization/denyAssignments"
        keys_of(item["properties"], "denyAssignmentName", "permissions", "scope", "principals", "excludePrincipals")
        keys_of(item["properties"], "doNotApplyToChildScopes", "isSystemProtected")
        assert all(set(p) >= AZ_PERMISSION for p in item["properties"]["permissions"])


def az_management_group(content: Any) -> None:
    keys_of(content, "id", "name", "displayName", "tenantId", "type", "children")

    def walk(node: dict[str, Any]) -> None:
        keys_of(node, "id", "name", "displayName", "type")
        assert node["type"] in ("Microsoft.Management/managementGroups", "/subscriptions")
        for child in node.get("children") or []:
            walk(child)

    walk(content)


def az_sp(item: dict[str, Any]) -> bool:
    creds_ok = all(
        {"keyId", "displayName", "startDateTime", "endDateTime"} <= set(c) for c in item["passwordCredentials"]
    )
    keys_ok = all({"keyId", "type", "usage", "startDateTime", "endDateTime"} <= set(c) for c in item["keyCredentials"])
    return item["servicePrincipalType"] in ("Application", "ManagedIdentity") and creds_ok and keys_ok


def az_resource(item: dict[str, Any]) -> bool:
    identity = item["identity"]
    return identity is None or ("type" in identity and all(
        {"principalId", "clientId"} <= set(v) for v in (identity.get("userAssignedIdentities") or {}).values()
    ))  # fmt: skip


def graph(context: str, *required: str, check: Callable[[dict[str, Any]], bool] = lambda _: True) -> Checker:
    """An `az rest` answer of Microsoft Graph: its collection named by @odata.context, each item with ``required``."""

    def checker(content: Any) -> None:
        assert set(content) == {"@odata.context", "value"} and content["value"], "expected a Graph collection"
        assert content["@odata.context"].startswith("https://graph.microsoft.com/v1.0/$metadata#" + context)
        each(*required, check=check)(content["value"])

    return checker


def az_eligibility(content: Any) -> None:
    assert set(content) == {"value"} and content["value"]
    for item in content["value"]:
        keys_of(item, "id", "name", "type", "properties")
        assert item["type"] == "Microsoft.Authorization/roleEligibilitySchedules"
        keys_of(item["properties"], "scope", "roleDefinitionId", "principalId", "principalType", "status", "memberType")
        assert item["id"].startswith(item["properties"]["scope"] + "/providers/Microsoft.Authorization/")


def az_app_settings(content: Any) -> None:
    keys_of(content, "id", "name", "type", "properties")
    assert content["type"] == "Microsoft.Web/sites/config" and content["id"].endswith("/config/appsettings")


GCP_FORMATS: list[tuple[str, Checker]] = [
    (r"organization-\d+-iam-policy-export\.ndjson", cai_export),
    (r"organizations-list\.json", each("name", "displayName", check=lambda o: o["name"].startswith("organizations/"))),
    (r"folders-list.*\.json", each("name", "displayName", "parent", check=lambda f: f["name"].startswith("folders/"))),
    (r"projects-list\.json", each("projectId", "projectNumber", "name", "parent", "lifecycleState")),
    (r".*-service-accounts\.json", each("name", "projectId", "uniqueId", "email", "displayName")),
    (
        r"keys-.*\.json",
        each(
            "name",
            "keyType",
            "keyAlgorithm",
            "keyOrigin",
            "validAfterTime",
            "validBeforeTime",
            check=lambda k: k["keyType"] in ("USER_MANAGED", "SYSTEM_MANAGED") and "/keys/" in k["name"],
        ),
    ),
    (r"role-.*\.json", gcp_role),
    (r"deny-policy-.*\.json", gcp_deny),
    (r".*-workload-identity-pools\.json", each("name", "state", "displayName")),
    (r".*-providers\.json", each("name", "state", "attributeMapping", check=gcp_provider)),
    (r".*-compute-instances\.json", each("name", "id", "zone", "selfLink", "status", check=gcp_instance)),
    (
        r".*-run-services\.json",
        each("apiVersion", "kind", "metadata", "spec", "status", check=lambda s: s["kind"] == "Service"),
    ),
    (r"group-[a-z-]+(?<!-memberships)\.json", lambda g: keys_of(g, "name", "groupKey", "parent", "displayName")),
    (
        r"group-[a-z-]+-memberships\.json",
        each(
            "name",
            "preferredMemberKey",
            "roles",
            "type",
            check=lambda m: "/memberships/" in m["name"] and m["type"] in ("USER", "SERVICE_ACCOUNT", "GROUP"),
        ),
    ),
    (
        r".*-functions\.json",
        each("name", "environment", "serviceConfig", "state", check=lambda f: "/functions/" in f["name"]),
    ),
    (r".*-build-default-service-account\.json", gcp_build_account),
    (r".*-gke-clusters\.json", each("name", "location", "selfLink", "status", "nodePools", check=gcp_cluster)),
    (
        r".*-scheduler-jobs-[a-z0-9-]+\.json",
        each("name", "schedule", "state", "timeZone", check=lambda j: "/jobs/" in j["name"] and gcp_job_target(j)),
    ),
    (
        r".*-composer-environments-[a-z0-9-]+\.json",
        each("name", "config", "state", "uuid", check=lambda e: "/environments/" in e["name"]),
    ),
]
AZURE_FORMATS: list[tuple[str, Checker]] = [
    (r"management-groups\.json", az_management_group),
    (r"accounts\.json", each("id", "name", "tenantId", "state", "isDefault")),
    (r".*-resource-groups\.json", each("id", "name", "location", "type")),
    (r".*-resources\.json", each("id", "name", "type", "location", "resourceGroup", "identity", check=az_resource)),
    (
        r".*-role-assignments\.json",
        each(
            "id",
            "name",
            "principalId",
            "principalType",
            "roleDefinitionId",
            "scope",
            "condition",
            "conditionVersion",
            "type",
            check=lambda a: a["id"].lower().startswith(a["scope"].lower() + "/providers/microsoft.authorization/"),
        ),
    ),
    (
        r"role-definitions\.json",
        each("id", "name", "roleName", "roleType", "type", "assignableScopes", "permissions", check=az_definition),
    ),
    (r".*-deny-assignments\.json", az_deny),
    (
        r".*-identities\.json",
        each(
            "id",
            "name",
            "type",
            "location",
            "resourceGroup",
            "principalId",
            "clientId",
            "tenantId",
            check=lambda i: i["type"] == bench.UAI,
        ),
    ),
    (
        r"federated-credentials-.*\.json",
        each(
            "id",
            "name",
            "issuer",
            "subject",
            "audiences",
            "type",
            check=lambda c: "/federatedIdentityCredentials/" in c["id"],
        ),
    ),
    (
        r"service-principals\.json",
        each(
            "id",
            "appId",
            "displayName",
            "servicePrincipalType",
            "appOwnerOrganizationId",
            "passwordCredentials",
            "keyCredentials",
            check=az_sp,
        ),
    ),
    (
        r"provider-operations\.json",
        each(
            "id",
            "name",
            "type",
            "operations",
            "resourceTypes",
            check=lambda p: all(
                {"name", "isDataAction", "displayName"} <= set(op) and op["name"].startswith(p["name"] + "/")
                for rtype in p["resourceTypes"]
                for op in rtype["operations"]
            ),
        ),
    ),
    (
        r"applications\.json",
        graph("applications", "id", "appId", "displayName", "signInAudience", "owners", "passwordCredentials"),
    ),
    (r"service-principal-owners\.json", graph("servicePrincipals", "id", "owners")),
    (
        r"app-federated-credentials-.*\.json",
        graph(
            "applications('",
            "id",
            "name",
            "issuer",
            "audiences",
            check=lambda c: bool(c.get("subject") or c.get("claimsMatchingExpression")),
        ),
    ),
    (
        r"entra-role-definitions\.json",
        graph("roleManagement/directory/roleDefinitions", "id", "displayName", "templateId", "rolePermissions"),
    ),
    (
        r"entra-active-roles\.json",
        graph("roleManagement/directory/roleAssignments", "id", "principalId", "roleDefinitionId", "directoryScopeId"),
    ),
    (
        r"entra-eligible-roles\.json",
        graph(
            "roleManagement/directory/roleEligibilitySchedules",
            "id",
            "principalId",
            "roleDefinitionId",
            "directoryScopeId",
            "scheduleInfo",
            "status",
        ),
    ),
    (
        r"graph-app-roles-assigned-to\.json",
        graph("servicePrincipals('", "id", "appRoleId", "principalId", "principalType", "resourceId"),
    ),
    (r".*-eligibility-schedules\.json", az_eligibility),
    (r".*-automation-accounts\.json", each("id", "name", "type", "identity", "state", "sku", check=az_resource)),
    (r".*-logic-workflows\.json", each("id", "name", "type", "identity", "state", "definition", check=az_resource)),
    (r".*-vmss\.json", each("id", "name", "type", "identity", "sku", check=az_resource)),
    (
        r".*-webapps\.json",
        each("id", "name", "type", "kind", "identity", "keyVaultReferenceIdentity", check=az_resource),
    ),
    (r"appsettings-.*\.json", az_app_settings),
]


def check_formats(directory: Path, formats: list[tuple[str, Checker]]) -> int:
    """Every file (but README.md) matches exactly one format and has its shape; returns the number of files."""
    files = sorted(p for p in directory.iterdir() if p.name != "README.md")
    for path in files:
        matching = [check for pattern, check in formats if re.fullmatch(pattern, path.name)]
        assert len(matching) == 1, f"{path.name}: {len(matching)} formats match"
        text = path.read_text()
        matching[0](text if path.suffix == ".ndjson" else json.loads(text))
        assert not any(marker in text for marker in SECRET_MARKERS), f"secret-looking field in {path.name}"
    return len(files)


# --------------------------------------------------------------------------- the demo estates


@needs_shared
@pytest.mark.parametrize("generator,name", [(gcp_gen, "gcp"), (azure_gen, "azure")])
def test_committed_demo_is_what_the_generator_writes(generator: ModuleType, name: str, tmp_path: Path) -> None:
    generator.generate(tmp_path)
    generator.validate(tmp_path)
    committed = {p.name: p.read_bytes() for p in (DEMO / name).iterdir() if p.name != "README.md"}
    fresh = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert sorted(fresh) == sorted(committed)
    assert [n for n in fresh if fresh[n] != committed[n]] == []


@pytest.mark.parametrize("name,formats", [("gcp", GCP_FORMATS), ("azure", AZURE_FORMATS)])
def test_demo_files_have_their_command_shapes_and_no_secrets(name: str, formats: list[tuple[str, Checker]]) -> None:
    assert check_formats(DEMO / name, formats) > 10
    assert sum(p.stat().st_size for p in (DEMO / name).iterdir()) < 1_000_000


GCP = DEMO / "gcp"
AZ = DEMO / "azure"


def gcp_assets() -> list[dict[str, Any]]:
    return [
        json.loads(line)
        for line in (GCP / "organization-584739201946-iam-policy-export.ndjson").read_text().splitlines()
    ]


def gcp_policy_of(asset_name: str) -> list[dict[str, Any]]:
    return next(a["iamPolicy"]["bindings"] for a in gcp_assets() if a["name"] == asset_name)


def sa_policy_of(email: str) -> list[dict[str, Any]]:
    project = email.split("@")[1].split(".")[0]
    unique = next(a["uniqueId"] for a in load(GCP / f"{project}-service-accounts.json") if a["email"] == email)
    return gcp_policy_of(f"//iam.googleapis.com/projects/{project}/serviceAccounts/{unique}")


def test_gcp_conditional_bindings() -> None:
    org = gcp_policy_of("//cloudresourcemanager.googleapis.com/organizations/584739201946")
    alice = next(b for b in org if b["members"] == ["user:alice@example.com"])
    assert alice["role"] == "roles/resourcemanager.organizationAdmin"
    assert alice["condition"]["expression"] == 'request.time < timestamp("2025-06-30T00:00:00Z")'
    shop = gcp_policy_of("//cloudresourcemanager.googleapis.com/projects/318204957316")
    bob = next(b for b in shop if b["members"] == ["user:bob@example.com"])
    assert bob["condition"]["expression"].startswith('resource.name.startsWith("projects/_/buckets/shop-prod-invoices/')


def test_gcp_deny_policy_spares_only_break_glass() -> None:
    deny = load(GCP / "deny-policy-deny-sa-key-creation.json")
    assert "%2Forganizations%2F584739201946/" in deny["name"]
    [rule] = [r["denyRule"] for r in deny["rules"]]
    assert rule["deniedPermissions"] == ["iam.googleapis.com/serviceAccountKeys.create"]
    assert rule["deniedPrincipals"] == ["principalSet://goog/public:all"]
    assert rule["exceptionPrincipals"] == ["principalSet://goog/group/break-glass@example.com"]


def test_gcp_old_never_expiring_user_key() -> None:
    email = "legacy-exporter@shop-prod.iam.gserviceaccount.com"
    [key] = [k for k in load(GCP / f"keys-{email}.json") if k["keyType"] == "USER_MANAGED"]
    assert key["validAfterTime"].startswith("2023-") and key["validBeforeTime"] == NEVER
    assert not key.get("disabled") and key["name"].startswith(f"projects/shop-prod/serviceAccounts/{email}/keys/")
    assert key["name"].rsplit("/", 1)[1] in (GCP / "README.md").read_text()


def test_gcp_default_compute_sa_is_editor_and_shared_by_vms() -> None:
    email = "318204957316-compute@developer.gserviceaccount.com"
    shop = gcp_policy_of("//cloudresourcemanager.googleapis.com/projects/318204957316")
    assert any(b["role"] == "roles/editor" and f"serviceAccount:{email}" in b["members"] for b in shop)
    vms = [
        vm["name"]
        for vm in load(GCP / "shop-prod-compute-instances.json")
        if vm["serviceAccounts"][0]["email"] == email
    ]
    assert len(vms) >= 3


def test_gcp_workloads_beyond_vms_run_as_planted_accounts() -> None:
    compute = "318204957316-compute@developer.gserviceaccount.com"
    build = load(GCP / "shop-prod-build-default-service-account.json")
    assert build["serviceAccountEmail"].endswith(f"/serviceAccounts/{compute}")
    [cluster] = load(GCP / "shop-prod-gke-clusters.json")
    [pool] = cluster["nodePools"]
    assert pool["config"]["serviceAccount"] == "default"
    assert pool["config"]["oauthScopes"] == ["https://www.googleapis.com/auth/cloud-platform"]
    [job] = load(GCP / "data-prod-scheduler-jobs-europe-west1.json")
    assert job["httpTarget"]["oidcToken"] == {"serviceAccountEmail": "etl@data-prod.iam.gserviceaccount.com"}
    [environment] = load(GCP / "data-prod-composer-environments-europe-west1.json")
    assert environment["config"]["nodeConfig"]["serviceAccount"] == "etl@data-prod.iam.gserviceaccount.com"


def test_gcp_dev_sa_may_impersonate_prod_sa() -> None:
    bindings = sa_policy_of("payments-api@shop-prod.iam.gserviceaccount.com")
    assert {"role": "roles/iam.serviceAccountTokenCreator",
            "members": ["serviceAccount:ci-runner@shop-dev.iam.gserviceaccount.com"]} in bindings  # fmt: skip


def test_gcp_workload_identity_pools() -> None:
    [aws] = load(GCP / "data-prod-aws-prod-providers.json")
    assert aws["aws"] == {"accountId": "222222222222"} and "attributeCondition" not in aws
    [github] = load(GCP / "shop-prod-github-providers.json")
    assert github["oidc"]["issuerUri"] == "https://token.actions.githubusercontent.com"
    assert github["attributeCondition"] == "assertion.repository == 'example/shop'"
    pool_set = "principalSet://iam.googleapis.com/projects/318204957316/locations/global/workloadIdentityPools/github/*"
    deployer = sa_policy_of("deployer@shop-prod.iam.gserviceaccount.com")
    assert {"role": "roles/iam.workloadIdentityUser", "members": [pool_set]} in deployer
    bridge = sa_policy_of("aws-bridge@data-prod.iam.gserviceaccount.com")
    assert bridge[0]["members"][0].endswith("/workloadIdentityPools/aws-prod/*")


def test_gcp_public_bucket_and_roles_described() -> None:
    public = gcp_policy_of("//storage.googleapis.com/shop-prod-public-assets")
    assert {"role": "roles/storage.objectViewer", "members": ["allUsers"]} in public
    used = {b["role"] for a in gcp_assets() for b in a["iamPolicy"]["bindings"]}
    described = {load(p)["name"] for p in GCP.glob("role-*.json")}
    assert used == described and "organizations/584739201946/roles/shopDeployer" in described


@needs_shared
def test_gcp_predefined_roles_carry_the_dataset_permissions() -> None:
    with gzip.open(SHARED / "gcp-predefined-roles.json.gz", "rt") as f:
        dataset = json.load(f)
    editor = load(GCP / "role-roles_editor.json")
    assert editor["includedPermissions"] == sorted(dataset["roles/editor"]["includedPermissions"])


def az_all_assignments() -> list[dict[str, Any]]:
    return [a for p in sorted(AZ.glob("*-role-assignments.json")) for a in load(p)]


def sp_named(name: str) -> dict[str, Any]:
    return next(sp for sp in load(AZ / "service-principals.json") if sp["displayName"] == name)


def test_azure_shared_identity_with_github_federation_and_contributor() -> None:
    [identity] = [i for i in load(AZ / "example-prod-identities.json") if i["name"] == "id-shop-deploy"]
    users = []
    for r in load(AZ / "example-prod-resources.json"):
        attached = {k.lower() for k in ((r["identity"] or {}).get("userAssignedIdentities") or {})}
        if identity["id"].lower() in attached:
            users.append((r["type"], r["kind"]))
    assert sorted(users) == [
        ("Microsoft.Compute/virtualMachines", None),
        ("Microsoft.Web/sites", "app,linux"),
        ("Microsoft.Web/sites", "functionapp,linux"),
    ]
    [cred] = load(AZ / "federated-credentials-id-shop-deploy.json")
    assert cred["issuer"] == "https://token.actions.githubusercontent.com"
    assert cred["subject"] == "repo:example/deploy:ref:refs/heads/main"
    assert cred["id"].startswith(identity["id"] + "/federatedIdentityCredentials/")
    assert any(
        a["principalId"] == identity["principalId"]
        and a["roleDefinitionName"] == "Contributor"
        and a["scope"].endswith("/resourceGroups/rg-shop-prod")
        for a in az_all_assignments()
    )


def test_azure_owner_at_subscription_to_service_principal() -> None:
    terraform = sp_named("sp-terraform")
    [owner] = [a for a in load(AZ / "example-prod-role-assignments.json") if a["principalId"] == terraform["id"]]
    assert owner["roleDefinitionName"] == "Owner" and owner["principalType"] == "ServicePrincipal"
    assert owner["scope"] == "/subscriptions/1c6a9e42-7b3d-4f8e-a5c1-2d9b8e7f6a30"
    owner_guid = next(d["name"] for d in load(AZ / "role-definitions.json") if d["roleName"] == "Owner")
    assert owner["roleDefinitionId"].endswith(owner_guid)


def test_azure_deny_assignment_excludes_break_glass() -> None:
    [deny] = load(AZ / "example-prod-deny-assignments.json")["value"]
    props = deny["properties"]
    assert props["permissions"][0]["actions"] == ["Microsoft.Storage/storageAccounts/delete"]
    assert props["principals"] == [{"id": "00000000-0000-0000-0000-000000000000", "type": "SystemDefined"}]
    assert props["excludePrincipals"] == [{"id": sp_named("sp-break-glass")["id"], "type": "ServicePrincipal"}]
    assert props["doNotApplyToChildScopes"] is False
    assert deny["name"] in (AZ / "README.md").read_text()


def test_azure_service_principal_credentials() -> None:
    [secret] = sp_named("sp-terraform")["passwordCredentials"]
    assert secret["endDateTime"].startswith("2299-12-31") and secret["keyId"] in (AZ / "README.md").read_text()
    [cert] = sp_named("sp-legacy-reporting")["keyCredentials"]
    assert cert["type"] == "AsymmetricX509Cert" and cert["endDateTime"] < "2025-06-02"
    assert all(sp["id"] != sp["appId"] for sp in load(AZ / "service-principals.json"))


def test_azure_abac_condition_limits_one_container() -> None:
    [abac] = [a for a in az_all_assignments() if a["condition"]]
    assert abac["roleDefinitionName"] == "Storage Blob Data Reader" and abac["conditionVersion"] == "2.0"
    assert "StringEquals 'invoices'" in abac["condition"]
    assert abac["scope"].endswith("/providers/Microsoft.Storage/storageAccounts/stshopdataprod")


def test_azure_management_group_assignments_listed_in_every_subscription() -> None:
    per_file = [
        {a["id"] for a in load(p) if "managementGroups" in a["scope"]} for p in AZ.glob("*-role-assignments.json")
    ]
    assert len(per_file) == 2 and per_file[0] == per_file[1] and len(per_file[0]) == 3
    tree = load(AZ / "management-groups.json")
    corp = next(c for c in tree["children"] if c["name"] == "example-corp")
    assert sorted(c["name"] for c in corp["children"]) == sorted(s["id"] for s in load(AZ / "accounts.json"))


def az_app(name: str) -> dict[str, Any]:
    return next(a for a in load(AZ / "applications.json")["value"] if a["displayName"] == name)


def test_azure_release_bot_trusts_any_workflow_of_a_repository_and_owns_a_resource_group() -> None:
    app = az_app("app-release-bot")
    [cred] = load(AZ / "app-federated-credentials-app-release-bot.json")["value"]
    assert cred["issuer"] == "https://token.actions.githubusercontent.com" and cred["subject"] is None
    assert cred["claimsMatchingExpression"]["value"] == "claims['sub'] matches 'repo:example/release:*'"
    assert (
        f"applications('{app['id']}')" in load(AZ / "app-federated-credentials-app-release-bot.json")["@odata.context"]
    )
    sp = sp_named("app-release-bot")
    assert sp["appId"] == app["appId"]
    assert any(
        a["principalId"] == sp["id"] and a["roleDefinitionName"] == "Owner" and a["scope"].endswith("/rg-shop-prod")
        for a in az_all_assignments()
    )


def test_azure_a_contractor_owns_the_application_of_the_prod_owner() -> None:
    owners = az_app("sp-terraform")["owners"]
    assert [o["userPrincipalName"] for o in owners] == ["carol@example.com"]
    assert az_app("sp-terraform")["appId"] == sp_named("sp-terraform")["appId"]


def test_azure_pim_eligible_owner_on_dev_for_a_group() -> None:
    [schedule] = load(AZ / "example-dev-eligibility-schedules.json")["value"]
    props = schedule["properties"]
    assert (
        props["principalType"] == "Group"
        and props["expandedProperties"]["principal"]["displayName"] == "Shop Developers"
    )
    assert props["expandedProperties"]["roleDefinition"]["displayName"] == "Owner" and props["status"] == "Provisioned"
    assert props["scope"] == "/subscriptions/8e2f4a6b-3c1d-4e5f-b7a9-0c1d2e3f4a5b"
    # Eligible only: no active assignment of Owner to the group in dev.
    assert not any(
        a["principalId"] == props["principalId"] and a["roleDefinitionName"] == "Owner"
        for a in load(AZ / "example-dev-role-assignments.json")
    )


def test_azure_automation_account_with_a_contributor_identity() -> None:
    [account] = load(AZ / "example-prod-automation-accounts.json")
    assert account["identity"]["type"] == "SystemAssigned"
    assert any(
        a["principalId"] == account["identity"]["principalId"]
        and a["roleDefinitionName"] == "Contributor"
        and a["scope"].endswith("/resourceGroups/rg-data-prod")
        for a in az_all_assignments()
    )
    assert account["id"] in {r["id"] for r in load(AZ / "example-prod-resources.json")}


def test_azure_graph_application_permissions_and_directory_roles() -> None:
    graph = sp_named("Microsoft Graph")
    roles = {r["id"]: r["value"] for r in graph["appRoles"]}
    held = {
        (g["principalDisplayName"], roles[g["appRoleId"]])
        for g in load(AZ / "graph-app-roles-assigned-to.json")["value"]
    }
    assert ("sp-idm-sync", "RoleManagement.ReadWrite.Directory") in held
    definitions = {d["id"]: d["displayName"] for d in load(AZ / "entra-role-definitions.json")["value"]}
    active = {
        (a["principal"].get("userPrincipalName"), definitions[a["roleDefinitionId"]])
        for a in load(AZ / "entra-active-roles.json")["value"]
    }
    assert ("bob@example.com", "Cloud Application Administrator") in active
    [eligible] = load(AZ / "entra-eligible-roles.json")["value"]
    assert definitions[eligible["roleDefinitionId"]] == "Privileged Role Administrator"
    assert eligible["principal"]["displayName"] == "Security Team"


def test_azure_web_app_settings_name_an_identity_and_hold_no_secret() -> None:
    settings = load(AZ / "appsettings-app-shop-frontend.json")["properties"]
    assert settings["AZURE_CLIENT_ID"] == next(
        i["clientId"] for i in load(AZ / "example-prod-identities.json") if i["name"] == "id-shop-deploy"
    )
    assert all(
        v == "1" or v.startswith("@Microsoft.KeyVault(") or v == settings["AZURE_CLIENT_ID"] for v in settings.values()
    )
    frontend = next(w for w in load(AZ / "example-prod-webapps.json") if w["name"] == "app-shop-frontend")
    assert frontend["keyVaultReferenceIdentity"].endswith("/userAssignedIdentities/id-shop-deploy")


# --------------------------------------------------------------------------- the bench generator

SMALL = {"projects": 10, "service_accounts": 40, "bindings": 300, "subscriptions": 3, "assignments": 150}


def bench_counts(out: Path) -> dict[str, int]:
    gcp, az = out / "gcp", out / "azure"
    [export] = gcp.glob("*.ndjson")
    assets = [json.loads(line) for line in export.read_text().splitlines()]
    return {
        "projects": len(load(gcp / "projects-list.json")),
        "service_accounts": sum(len(load(p)) for p in gcp.glob("*-service-accounts.json")),
        "bindings": sum(len(a["iamPolicy"]["bindings"]) for a in assets),
        "subscriptions": len(load(az / "accounts.json")),
        "assignments": len({a["id"] for p in az.glob("*-role-assignments.json") for a in load(p)}),
    }


@needs_shared
def test_bench_generator_produces_the_counts_and_shapes(tmp_path: Path) -> None:
    bench.generate(tmp_path, **SMALL)
    assert bench_counts(tmp_path) == SMALL
    check_formats(tmp_path / "gcp", GCP_FORMATS)
    check_formats(tmp_path / "azure", AZURE_FORMATS)
    assets = [json.loads(line) for line in next((tmp_path / "gcp").glob("*.ndjson")).read_text().splitlines()]
    kinds = {a["assetType"] for a in assets}
    assert {"cloudresourcemanager.googleapis.com/Folder", "iam.googleapis.com/ServiceAccount"} <= kinds
    for asset in assets:
        pairs = [(b["role"], json.dumps(b.get("condition"), sort_keys=True)) for b in asset["iamPolicy"]["bindings"]]
        assert len(pairs) == len(set(pairs)), asset["name"]


@needs_shared
def test_bench_generator_is_deterministic_and_runs_from_the_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bench.generate(tmp_path / "a", **SMALL)
    args = [f"--{k.replace('_', '-')}={v}" for k, v in SMALL.items()]
    monkeypatch.setattr("sys.argv", ["gen_cloud_exports.py", str(tmp_path / "b"), *args])
    bench.main()
    first = {p.relative_to(tmp_path / "a"): p.read_bytes() for p in (tmp_path / "a").rglob("*") if p.is_file()}
    second = {p.relative_to(tmp_path / "b"): p.read_bytes() for p in (tmp_path / "b").rglob("*") if p.is_file()}
    assert first == second


def test_bench_generator_without_the_shared_dataset_says_where_to_find_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bench, "DATA", tmp_path / "absent")
    with pytest.raises(SystemExit, match="IAMDRIFT_SHARED_DATA"):
        bench.generate(tmp_path / "out", **SMALL)


@needs_shared
def test_bench_generator_at_degenerate_sizes(tmp_path: Path) -> None:
    tiny = {"projects": 3, "service_accounts": 3, "bindings": 50, "subscriptions": 1, "assignments": 5}
    facts = bench.generate(tmp_path, **tiny)
    assert bench_counts(tmp_path) == tiny and set(facts["who_can"]) == {"gcp", "azure"}
    with pytest.raises(ValueError):
        bench.generate(tmp_path, projects=5, service_accounts=4)


def test_the_test_estate_has_the_demo_operations_catalog() -> None:
    catalog = REPO / "fixtures" / "azure-exports" / "provider-operations.json"
    assert catalog.read_text() == (DEMO / "azure" / "provider-operations.json").read_text()
    assert catalog.read_text() == azure_gen.dump(azure_gen.provider_operations(sorted(azure_gen.OPERATIONS)))
