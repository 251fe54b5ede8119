"""Azure export files: every format is recognised by content, read into the model, and bad input fails."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from models import Cloud, CoverageStatus, Covers, CredentialKind, PolicyKind, PrincipalKind, ScopeKind, WorkloadKind
from scanner.azure import exports
from scanner.azure.exports import assemble, detect
from scanner.azure.normalize import normalize_azure
from scanner.errors import BadInputError
from tests.scanner.azure.estate import (
    ADMINS,
    ALICE,
    BUILT_IN_ROLES,
    CI_SP,
    DEPLOYER_IDENTITY,
    DEPLOYER_PID,
    EXPORTS,
    FUNC_SYSTEM_PID,
    MG,
    PAYMENTS,
    PLATFORM,
    RG_APP,
    RG_DATA,
    SHARED_IDENTITY,
    SHARED_PID,
    TENANT,
    VM_SYSTEM_PID,
    by_id,
    load,
    read_dir,
)

FORMATS = {
    "role-assignments-payments.json": exports.ROLE_ASSIGNMENTS,
    "role-assignments-platform.json": exports.ROLE_ASSIGNMENTS,
    "role-definitions-payments.json": exports.ROLE_DEFINITIONS,
    "role-definitions-platform.json": exports.ROLE_DEFINITIONS,
    "deny-assignments-payments.json": exports.DENY_ASSIGNMENTS,
    "identity-list.json": exports.IDENTITIES,
    "federated-credentials-id-deployer.json": exports.FEDERATED_CREDENTIALS,
    "federated-credentials-id-app-shared.json": exports.FEDERATED_CREDENTIALS,
    "sp-list.json": exports.SERVICE_PRINCIPALS,
    "management-groups.json": exports.MANAGEMENT_GROUPS,
    "account-list.json": exports.SUBSCRIPTIONS,
    "group-list-payments.json": exports.RESOURCE_GROUPS,
    "group-list-platform.json": exports.RESOURCE_GROUPS,
    "resource-list-payments.json": exports.RESOURCES,
    "provider-operations.json": exports.PROVIDER_OPERATIONS,
    "app-list.json": exports.APPLICATIONS,
    "app-owners.json": exports.APPLICATIONS,
    "sp-owners.json": exports.SERVICE_PRINCIPALS,
    "app-federated-credentials-ci-deployer.json": exports.APP_FEDERATED_CREDENTIALS,
    "app-federated-credentials-ops-portal.json": exports.APP_FEDERATED_CREDENTIALS,
    "directory-role-definitions.json": exports.DIRECTORY_ROLE_DEFINITIONS,
    "directory-role-assignments.json": exports.DIRECTORY_ROLE_ASSIGNMENTS,
    "directory-role-eligibility-schedules.json": exports.DIRECTORY_ROLE_ELIGIBILITIES,
    "graph-app-role-assigned-to.json": exports.APP_ROLE_ASSIGNMENTS,
    "eligibility-schedules-payments.json": exports.ELIGIBLE_ASSIGNMENTS,
    "automation-account-list-payments.json": exports.RESOURCES,
    "logic-workflow-list-payments.json": exports.RESOURCES,
    "vmss-list-platform.json": exports.RESOURCES,
    "webapp-list-payments.json": exports.RESOURCES,
    "appsettings-app-payments.json": exports.APP_SETTINGS,
}


def write(tmp_path: Path, name: str, data: Any) -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def read(*paths: Path) -> Any:
    detected = []
    for path in paths:
        found = detect(path, path.read_text())
        assert found is not None
        detected.append(found)
    return normalize_azure(assemble(detected))


@pytest.mark.parametrize(("name", "kind"), sorted(FORMATS.items()))
def test_every_format_is_recognised_by_content(tmp_path: Path, name: str, kind: str) -> None:
    # The same content under a name that says nothing is still recognised.
    path = write(tmp_path, "export-0001.json", (EXPORTS / name).read_text())
    found = detect(path, path.read_text())
    assert found is not None and found.kind == kind
    # Already-parsed JSON is accepted too (scanner.files parses once for every reader).
    again = detect(path, json.loads(path.read_text()))
    assert again is not None and again.kind == kind


def test_one_provider_from_az_provider_operation_show(tmp_path: Path) -> None:
    storage = next(
        p for p in json.loads((EXPORTS / "provider-operations.json").read_text()) if p["name"] == "Microsoft.Storage"
    )
    path = write(tmp_path, "storage-ops.json", storage)
    (catalog,) = normalize_azure(assemble([detect(path, path.read_text())])).resources
    assert catalog.id == "/providers/microsoft.authorization/provideroperations/microsoft.storage"
    assert (
        "microsoft.storage/storageaccounts/blobservices/containers/blobs/read"
        in catalog.attributes["dataActions"].split()
    )
    assert "microsoft.storage/storageaccounts/listkeys/action" in catalog.attributes["actions"].split()
    broken = write(tmp_path, "broken.json", {**storage, "operations": [{"name": "x", "isDataAction": "yes"}]})
    with pytest.raises(BadInputError, match="isDataAction must be true or false"):
        detect(broken, broken.read_text())


def test_the_fixture_directory_holds_every_format() -> None:
    assert {p.name for p in EXPORTS.glob("*.json")} == set(FORMATS)


def test_estate_snapshot() -> None:
    parts = read_dir(EXPORTS)
    snapshot = parts.to_snapshot(source="files", label="azure fixtures", meta={})
    assert snapshot.counts() == {
        # 16 before, + the Automation account, Logic App and scale set
        "scopes": 19,
        # 7 before, + Microsoft Graph's SP, 2 applications, bob (an owner and a directory role holder), and the
        # Automation account's, Logic App's and scale set's system identities
        "principals": 14,
        # 7 before, + an application secret and certificate, 2 application federated credentials
        "credentials": 11,
        # 15 before, + 1 PIM eligibility (Azure), 3 directory roles, 2 directory role assignments, 1 directory
        # role eligibility, 1 app-role assignment
        "policies": 23,
        "attachments": 14,  # 9 before, + one per grant or eligibility
        "resources": 14,  # the operations catalogs of 14 resource providers
        "workloads": 6,  # 3 before, + the Automation account, Logic App and scale set
        "coverage": 31,  # one per file (30) and the role definition not in the inputs
        "usage": 0,  # no sign-in activity among these files
    }
    # Every scope's parent is a scope of the snapshot.
    ids = {s.id for s in snapshot.scopes}
    assert all(s.parent_id is None or s.parent_id in ids for s in snapshot.scopes)
    # Role assignments keep the document `az role assignment list` printed.
    policies = by_id(parts.policies)
    owner = policies[
        f"{PAYMENTS}/providers/microsoft.authorization/roleassignments/11aa22bb-0001-4000-8000-000000000001"
    ]
    assert owner.kind is PolicyKind.AZURE_ASSIGNMENT
    assert owner.document == load("role-assignments-payments.json")[0]
    assert owner.attributes["roleDefinitionPolicyId"] == (
        "/providers/microsoft.authorization/roledefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
    )


def test_management_group_tree_becomes_scopes_with_parents() -> None:
    scopes = by_id(read_dir(EXPORTS).scopes)
    root = f"{MG}{TENANT}"
    assert scopes[TENANT].kind is ScopeKind.TENANT and scopes[TENANT].parent_id is None
    assert scopes[root].kind is ScopeKind.MANAGEMENT_GROUP and scopes[root].parent_id == TENANT
    assert scopes[root].name == "Tenant Root Group"
    assert scopes[f"{MG}contoso-landingzones"].parent_id == root
    assert scopes[f"{MG}contoso-prod"].parent_id == f"{MG}contoso-landingzones"
    assert scopes[PAYMENTS].parent_id == f"{MG}contoso-prod"
    assert scopes[PAYMENTS].name == "contoso-prod-payments"
    assert scopes[PAYMENTS].attributes["state"] == "Enabled"
    assert scopes[PLATFORM].parent_id == f"{MG}contoso-platform"
    assert scopes[RG_APP].kind is ScopeKind.RESOURCE_GROUP and scopes[RG_APP].parent_id == PAYMENTS
    assert scopes[SHARED_IDENTITY].kind is ScopeKind.AZURE_RESOURCE and scopes[SHARED_IDENTITY].parent_id == RG_APP


def test_role_definitions_from_several_subscriptions_are_one_policy_each() -> None:
    policies = [p for p in read_dir(EXPORTS).policies if p.kind is PolicyKind.AZURE_ROLE_DEFINITION]
    names = sorted(p.name for p in policies)
    assert names == sorted(
        [
            "Owner",
            "Contributor",
            "Reader",
            "Storage Blob Data Reader",
            "Managed Identity Operator",
            "Contoso VM Operator",
        ]
    )
    custom = next(p for p in policies if p.name == "Contoso VM Operator")
    assert (
        custom.id
        == f"{PAYMENTS}/providers/microsoft.authorization/roledefinitions/c0ffee00-1234-4abc-9def-0123456789ab"
    )
    assert custom.scope_id == PAYMENTS
    assert custom.document["permissions"][0]["actions"][1] == "Microsoft.Compute/virtualMachines/start/action"
    builtin = next(p for p in policies if p.name == "Owner")
    assert builtin.id == "/providers/microsoft.authorization/roledefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
    assert builtin.scope_id == TENANT


def test_assignment_to_a_role_definition_not_in_the_inputs_is_kept_with_a_gap() -> None:
    parts = read_dir(EXPORTS)
    missing = "4633458b-17de-408a-b874-0445c86b69e6"
    assignment = by_id(parts.policies)[
        f"{RG_APP}/providers/microsoft.authorization/roleassignments/11aa22bb-0006-4000-8000-000000000006"
    ]
    assert "roleDefinitionPolicyId" not in assignment.attributes
    gaps = [e for e in parts.coverage if e.is_gap]
    assert len(gaps) == 1
    gap = gaps[0]
    assert gap.service == "authorization" and gap.status is CoverageStatus.ERROR
    assert (
        gap.operation == f"roleDefinitions.get {PAYMENTS}/providers/microsoft.authorization/roledefinitions/{missing}"
    )
    assert gap.detail == "role definition not in the inputs"
    # Typed: it is about that one role definition (not the scope it was assigned at).
    assert gap.cloud is Cloud.AZURE and gap.covers == (Covers.ROLES,)
    assert gap.target == f"{PAYMENTS}/providers/microsoft.authorization/roledefinitions/{missing}"


def test_deny_assignment_with_exclude_principals() -> None:
    parts = read_dir(EXPORTS)
    deny = next(p for p in parts.policies if p.kind is PolicyKind.AZURE_DENY_ASSIGNMENT)
    assert deny.scope_id == RG_DATA
    assert deny.document["excludePrincipals"] == [{"id": DEPLOYER_PID.upper(), "type": "ServicePrincipal"}]
    assert deny.document["principals"][0]["type"] == "SystemDefined"
    assert deny.document["id"].startswith("/subscriptions/")
    assert deny.attributes["isSystemProtected"] == "true"
    attachment = next(a for a in parts.attachments if a.policy_id == deny.id)
    assert attachment.kind.value == "deny" and attachment.target_id == RG_DATA
    principals = by_id(parts.principals)
    # "Everyone" is no principal; the excluded one (upper-case in the file) is the identity itself.
    assert "00000000-0000-0000-0000-000000000000" not in principals
    assert principals[DEPLOYER_PID].kind is PrincipalKind.AZURE_MANAGED_IDENTITY


def test_user_assigned_identity_on_several_resources_is_one_shared_principal() -> None:
    parts = read_dir(EXPORTS)
    workloads = by_id(parts.workloads)
    vm = workloads[f"{RG_APP}/providers/microsoft.compute/virtualmachines/vm-web-01"]
    app = workloads[f"{RG_APP}/providers/microsoft.web/sites/app-payments"]
    func = workloads[f"{RG_APP}/providers/microsoft.web/sites/func-orders"]
    assert (vm.kind, app.kind, func.kind) == (
        WorkloadKind.AZURE_VM,
        WorkloadKind.AZURE_APP_SERVICE,
        WorkloadKind.AZURE_FUNCTION,
    )
    assert vm.principal_ids == (VM_SYSTEM_PID, SHARED_PID)
    assert app.principal_ids == (SHARED_PID,)
    assert func.principal_ids == (FUNC_SYSTEM_PID,)
    sharing = [w.id for w in parts.workloads if SHARED_PID in w.principal_ids]
    assert len(sharing) == 2
    shared = by_id(parts.principals)[SHARED_PID]
    assert shared.kind is PrincipalKind.AZURE_MANAGED_IDENTITY
    assert shared.name == "id-app-shared"
    assert shared.scope_id == SHARED_IDENTITY
    assert shared.attributes["resourceId"] == SHARED_IDENTITY
    assert shared.attributes["clientId"] == "1f2e3d4c-5b6a-4978-8695-a4b3c2d1e0f9"
    # The storage account has no identity: a scope (it is an assignment's target), not a workload.
    storage = f"{RG_DATA}/providers/microsoft.storage/storageaccounts/stcontosodata"
    assert storage in by_id(parts.scopes) and storage not in workloads


def test_mixed_case_ids_from_different_files_meet() -> None:
    parts = read_dir(EXPORTS)
    scope_ids = [s.id for s in parts.scopes]
    assert len(scope_ids) == len({i.lower() for i in scope_ids}) and all(i == i.lower() for i in scope_ids)
    # The assignment's scope says "resourcegroups", the group list "resourceGroups", the VM "RG-APP".
    targets = {a.target_id for a in parts.attachments}
    assert RG_APP in targets
    vm = next(w for w in parts.workloads if w.kind is WorkloadKind.AZURE_VM)
    assert vm.id.startswith(RG_APP + "/")
    # The identity is named in four casings across files; one principal, one scope.
    assert [p.id for p in parts.principals].count(SHARED_PID) == 1
    assert [s.id for s in parts.scopes].count(SHARED_IDENTITY) == 1


def test_principals_named_only_by_assignments() -> None:
    principals = by_id(read_dir(EXPORTS).principals)
    assert principals[ALICE].kind is PrincipalKind.AZURE_USER and principals[ALICE].name == "alice@contoso.com"
    assert principals[ADMINS].kind is PrincipalKind.AZURE_GROUP and principals[ADMINS].name == "platform-admins"
    assert principals[ALICE].scope_id == TENANT
    ci = principals[CI_SP]
    assert ci.kind is PrincipalKind.AZURE_SERVICE_PRINCIPAL and ci.name == "ci-deployer"
    assert ci.attributes["appId"] == "e4f5a6b7-c8d9-4e0f-a1b2-c3d4e5f6a7b8"


def test_credentials_metadata_and_never_expiring_secret() -> None:
    credentials = by_id(read_dir(EXPORTS).credentials)
    never = credentials[f"{CI_SP}#secret-5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9"]
    assert never.kind is CredentialKind.CLIENT_SECRET
    assert never.key_id == "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9"
    assert never.expires is not None and never.expires.year == 2299
    assert never.created is not None and never.created.isoformat() == "2019-03-04T11:22:33.123456+00:00"
    cert = credentials[f"{CI_SP}#certificate-aa11bb22-cc33-4d44-8e55-ff6677889900"]
    assert cert.kind is CredentialKind.CERTIFICATE and cert.expires is not None and cert.expires.year == 2026
    fic = credentials[f"{DEPLOYER_IDENTITY}/federatedidentitycredentials/github-main"]
    assert fic.kind is CredentialKind.FEDERATED and fic.principal_id == DEPLOYER_PID
    assert fic.issuer == "https://token.actions.githubusercontent.com"
    assert fic.subjects == ("repo:contoso/infra:ref:refs/heads/main",)
    assert fic.audiences == ("api://AzureADTokenExchange",)


def test_secret_text_in_an_export_is_never_stored(tmp_path: Path) -> None:
    sps = load("sp-list.json")
    sps[0]["passwordCredentials"][0]["secretText"] = "Q~7zS3CR3T-v4lue.never.stored"
    sps[0]["keyCredentials"][0]["key"] = "TUlJQ1BSSVZBVEVLRVlib2R5"
    path = write(tmp_path, "sp.json", sps)
    found = detect(path, path.read_text())
    assert found is not None
    raw = assemble([found])
    assert "S3CR3T" not in json.dumps(raw.service_principals)
    snapshot = normalize_azure(raw).to_snapshot(source="files", label="", meta={})
    text = json.dumps(snapshot.to_json_dict())
    assert "S3CR3T" not in text and "TUlJQ1BSSVZBVEVLRVlib2R5" not in text
    assert f"{CI_SP}#secret-0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d" in text


def test_file_reads_are_coverage_entries() -> None:
    parts = read_dir(EXPORTS)
    files = {e.operation: e for e in parts.coverage if e.source == "file" and not e.is_gap}
    assert len(files) == len(FORMATS)
    deny = files[str(EXPORTS / "deny-assignments-payments.json")]
    assert (deny.status, deny.items, deny.scope_id, deny.service) == (CoverageStatus.OK, 1, PAYMENTS, "authorization")
    assert deny.cloud is Cloud.AZURE and deny.covers == (Covers.DENY_ASSIGNMENTS,)
    tree = files[str(EXPORTS / "management-groups.json")]
    assert tree.items == 6 and tree.scope_id == TENANT and tree.covers == (Covers.ORGANIZATION,)
    assert all(e.cloud is Cloud.AZURE for e in files.values())


def test_built_in_roles_dataset_reads_as_role_definition_list(tmp_path: Path) -> None:
    if not BUILT_IN_ROLES.exists():
        pytest.skip(f"{BUILT_IN_ROLES} is not on this machine")
    text = gzip.decompress(BUILT_IN_ROLES.read_bytes()).decode()
    path = write(tmp_path, "roles.json", text)
    found = detect(path, text)
    assert found is not None and found.kind == exports.ROLE_DEFINITIONS
    entries = json.loads(text)
    policies = normalize_azure(assemble([found])).policies
    assert len(policies) == len(entries)
    reader = next(p for p in policies if p.name == "Reader")
    assert reader.id == "/providers/microsoft.authorization/roledefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7"
    assert reader.document["permissions"][0]["actions"] == ["*/read"]
    assert reader.document["id"] == reader.id


# --- what is not Azure, and what is broken Azure -------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [
        {"UserDetailList": [], "RoleDetailList": [], "GroupDetailList": [], "Policies": []},
        [{"projectId": "shop-prod", "projectNumber": "123", "name": "shop", "lifecycleState": "ACTIVE"}],
        [{"name": "organizations/6", "displayName": "example.com"}],
        {"value": [{"id": "x", "kind": "something"}]},
        "not json at all {",
        '{"name": "//cloudresourcemanager.googleapis.com/projects/1"}\n{"name": "x"}\n',
    ],
)
def test_content_of_other_clouds_is_not_claimed(tmp_path: Path, content: Any) -> None:
    path = write(tmp_path, "other.json", content)
    assert detect(path, path.read_text()) is None


def test_an_empty_list_is_an_empty_export(tmp_path: Path) -> None:
    path = write(tmp_path, "federated-credentials-id-unused.json", "[]\n")
    found = detect(path, path.read_text())
    assert found is not None and found.kind == exports.EMPTY
    raw = assemble([found])
    (entry,) = raw.coverage
    assert (entry.operation, entry.items, entry.status) == (str(path), 0, CoverageStatus.OK)
    assert normalize_azure(raw).principals == []


def test_malformed_json_of_an_azure_export(tmp_path: Path) -> None:
    text = (EXPORTS / "role-assignments-payments.json").read_text()[:-40]
    path = write(tmp_path, "ra.json", text)
    with pytest.raises(BadInputError, match=r"ra\.json: malformed JSON"):
        detect(path, text)


@pytest.mark.parametrize(
    ("name", "edit", "message"),
    [
        ("role-assignments-payments.json", lambda d: d[2].pop("principalId"), r"item 2: .*'principalId'"),
        ("role-assignments-payments.json", lambda d: d[0].update(scope="subscriptions/x"), r"item 0: field 'scope'"),
        ("role-definitions-payments.json", lambda d: d[5].pop("id"), r"item 5: missing field 'id'"),
        ("role-definitions-payments.json", lambda d: d[1].update(permissions="*"), r"item 1: field 'permissions'"),
        (
            "deny-assignments-payments.json",
            lambda d: d["value"][0]["properties"].pop("scope"),
            r"missing field 'scope'",
        ),
        (
            "deny-assignments-payments.json",
            lambda d: d["value"][0]["properties"]["excludePrincipals"][0].pop("id"),
            r"missing field 'id'",
        ),
        ("identity-list.json", lambda d: d[1].pop("principalId"), r"item 1: .*"),
        ("federated-credentials-id-deployer.json", lambda d: d[0].pop("subject"), r"item 0: missing field 'subject'"),
        ("federated-credentials-id-deployer.json", lambda d: d[1].pop("issuer"), r"item 1: missing field 'issuer'"),
        ("sp-list.json", lambda d: d[0]["passwordCredentials"][1].pop("keyId"), r"item 0: missing field 'keyId'"),
        ("management-groups.json", lambda d: d["children"][0]["children"][0].pop("id"), r"missing field 'id'"),
        ("account-list.json", lambda d: d[1].pop("tenantId"), r"item 1: .*"),
        ("group-list-payments.json", lambda d: d[0].update(id=f"{PAYMENTS}"), r"not a resource group id"),
        ("resource-list-payments.json", lambda d: d[1].update(identity="SystemAssigned"), r"item 1: field 'identity'"),
    ],
)
def test_malformed_content_names_file_and_field(tmp_path: Path, name: str, edit: Any, message: str) -> None:
    data = load(name)
    edit(data)
    path = write(tmp_path, f"broken-{name}", data)
    with pytest.raises(BadInputError, match=message) as caught:
        detect(path, path.read_text())
    assert str(path) in str(caught.value)


def test_a_list_mixing_formats_is_bad_input(tmp_path: Path) -> None:
    data = [load("role-assignments-payments.json")[0], load("role-definitions-payments.json")[0]]
    path = write(tmp_path, "mixed.json", data)
    with pytest.raises(BadInputError, match=r"mixed\.json: item 1: not a role assignments entry"):
        detect(path, path.read_text())


def test_trees_of_two_tenants_are_bad_input(tmp_path: Path) -> None:
    other = load("management-groups.json")
    other["tenantId"] = "99999999-9999-4999-8999-999999999999"
    first = write(tmp_path, "mg-a.json", load("management-groups.json"))
    second = write(tmp_path, "mg-b.json", other)
    detected = [d for d in (detect(p, p.read_text()) for p in (first, second)) if d]
    with pytest.raises(BadInputError, match="several tenants"):
        assemble(detected)


def test_reading_the_same_file_twice_adds_nothing_twice(tmp_path: Path) -> None:
    paths = sorted(EXPORTS.glob("*.json"))
    copies = [write(tmp_path, f"copy-{p.name}", p.read_text()) for p in paths]
    once = read(*paths)
    twice = read(*paths, *copies)
    for name in ("scopes", "principals", "credentials", "policies", "attachments", "workloads"):
        assert [o.id for o in getattr(twice, name)] == [o.id for o in getattr(once, name)], name
