"""normalize_azure: the id conventions and the gaps, on raw answers in the shapes the Azure CLI prints."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from models import CoverageStatus, CredentialKind, PolicyKind, PrincipalKind, ScopeKind
from models.codec import to_json_dict
from scanner.azure.normalize import normalize_azure
from scanner.azure.raw import AzureRaw
from scanner.errors import BadInputError
from tests.scanner.azure.estate import by_id

TENANT = "11111111-2222-4333-8444-555555555555"
SUB = "6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c9d"
SUBID = f"/subscriptions/{SUB}"
RG = f"{SUBID}/resourcegroups/rg-ops"
UAI = f"{RG}/providers/microsoft.managedidentity/userassignedidentities/id-ops"
UAI_PID = "aaaaaaaa-1111-4222-8333-444444444444"
UAI_TYPE = "Microsoft.ManagedIdentity/userAssignedIdentities"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
CUSTOM = "dddddddd-0000-4000-8000-000000000001"


def assignment(guid: str, scope: str, principal: str, ptype: str, role: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": f"{scope.rstrip('/')}/providers/Microsoft.Authorization/roleAssignments/{guid}",
        "name": guid,
        "principalId": principal,
        "principalType": ptype,
        "roleDefinitionId": f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{role}",
        "scope": scope,
        "condition": None,
        "conditionVersion": None,
        "type": "Microsoft.Authorization/roleAssignments",
        **extra,
    }


def reader_definition(sub: str = SUB) -> dict[str, Any]:
    return {
        "id": f"/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{READER}",
        "name": READER,
        "roleName": "Reader",
        "roleType": "BuiltInRole",
        "type": "Microsoft.Authorization/roleDefinitions",
        "assignableScopes": ["/"],
        "permissions": [{"actions": ["*/read"], "notActions": [], "dataActions": [], "notDataActions": []}],
    }


def identity(name: str = "id-ops", pid: str = UAI_PID) -> dict[str, Any]:
    return {
        "id": f"/subscriptions/{SUB}/resourceGroups/rg-ops/providers/{UAI_TYPE}/{name}",
        "name": name,
        "type": "Microsoft.ManagedIdentity/userAssignedIdentities",
        "location": "northeurope",
        "resourceGroup": "rg-ops",
        "principalId": pid,
        "clientId": "cccccccc-1111-4222-8333-444444444444",
        "tenantId": TENANT,
    }


def resource(name: str, rtype: str, identity_block: dict[str, Any] | None, kind: str | None = None) -> dict[str, Any]:
    return {
        "id": f"/subscriptions/{SUB}/resourceGroups/rg-ops/providers/{rtype}/{name}",
        "name": name,
        "type": rtype,
        "kind": kind,
        "location": "northeurope",
        "resourceGroup": "rg-ops",
        "identity": identity_block,
    }


def uai_block(*ids: str) -> dict[str, Any]:
    return {"type": "UserAssigned", "userAssignedIdentities": {i: {"principalId": None, "clientId": None} for i in ids}}


def test_root_scope_is_the_tenant_and_a_subscription_outside_the_tree_hangs_off_it() -> None:
    raw = AzureRaw(
        tenant_id=TENANT.upper(),
        subscriptions=[{"id": SUB, "name": "ops", "tenantId": TENANT, "state": "Enabled", "isDefault": True}],
        role_definitions=[reader_definition()],
        role_assignments=[assignment("a1", "/", "bbbbbbbb-0000-4000-8000-000000000001", "User", READER)],
    )
    parts = normalize_azure(raw)
    scopes = by_id(parts.scopes)
    assert scopes[TENANT].kind is ScopeKind.TENANT
    assert scopes[SUBID].parent_id == TENANT and scopes[SUBID].name == "ops"
    (attachment,) = parts.attachments
    assert attachment.target_id == TENANT
    policy = by_id(parts.policies)["/providers/microsoft.authorization/roleassignments/a1"]
    assert policy.scope_id == TENANT


def test_custom_role_listed_under_two_subscriptions_is_one_policy_found_by_guid() -> None:
    other = "0f0f0f0f-0000-4000-8000-000000000000"
    custom = {
        "id": f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{CUSTOM}",
        "name": CUSTOM,
        "roleName": "Ops",
        "roleType": "CustomRole",
        "assignableScopes": [SUBID, f"/subscriptions/{other}"],
        "permissions": [
            {"actions": ["Microsoft.Compute/*/read"], "notActions": [], "dataActions": [], "notDataActions": []}
        ],
    }
    listed_elsewhere = {**custom, "id": custom["id"].replace(SUB, other)}
    ref = assignment("a2", f"/subscriptions/{other}", "bbbbbbbb-0000-4000-8000-000000000002", "Group", CUSTOM)
    ref["roleDefinitionId"] = ref["roleDefinitionId"].replace(SUB, other)
    raw = AzureRaw(
        tenant_id=TENANT, role_definitions=[custom, listed_elsewhere, reader_definition(other)], role_assignments=[ref]
    )
    parts = normalize_azure(raw)
    definitions = [p for p in parts.policies if p.kind is PolicyKind.AZURE_ROLE_DEFINITION]
    assert sorted(p.id for p in definitions) == sorted(
        [
            f"/subscriptions/{other}/providers/microsoft.authorization/roledefinitions/{CUSTOM}",
            f"/providers/microsoft.authorization/roledefinitions/{READER}",
        ]
    )
    policy = next(p for p in parts.policies if p.kind is PolicyKind.AZURE_ASSIGNMENT)
    assert policy.attributes["roleDefinitionPolicyId"].endswith(CUSTOM)
    assert not [e for e in parts.coverage if e.is_gap]


def test_missing_role_definition_is_a_gap_once_per_definition() -> None:
    missing = "99999999-0000-4000-8000-000000000000"
    raw = AzureRaw(
        tenant_id=TENANT,
        source="api",
        role_assignments=[
            assignment("a3", SUBID, "bbbbbbbb-0000-4000-8000-000000000003", "User", missing),
            assignment("a4", RG, "bbbbbbbb-0000-4000-8000-000000000004", "User", missing),
        ],
    )
    parts = normalize_azure(raw)
    assert len([p for p in parts.policies if p.kind is PolicyKind.AZURE_ASSIGNMENT]) == 2
    (gap,) = [e for e in parts.coverage if e.is_gap]
    assert gap.source == "api" and gap.status is CoverageStatus.ERROR
    assert gap.operation == f"roleDefinitions.get {SUBID}/providers/microsoft.authorization/roledefinitions/{missing}"


def test_deny_assignment_principals() -> None:
    deny = {
        "id": f"{SUBID}/providers/Microsoft.Authorization/denyAssignments/d1",
        "name": "d1",
        "type": "Microsoft.Authorization/denyAssignments",
        "properties": {
            "denyAssignmentName": "Blueprint lock",
            "permissions": [{"actions": ["*"], "notActions": ["*/read"], "dataActions": [], "notDataActions": []}],
            "scope": SUBID,
            "principals": [{"id": "00000000-0000-0000-0000-000000000000", "type": "SystemDefined"}],
            "excludePrincipals": [
                {"id": "EEEEEEEE-0000-4000-8000-000000000001", "type": "ServicePrincipal"},
                {"id": "eeeeeeee-0000-4000-8000-000000000002", "type": "Group"},
            ],
            "doNotApplyToChildScopes": True,
            "isSystemProtected": True,
        },
    }
    parts = normalize_azure(AzureRaw(tenant_id=TENANT, deny_assignments=[deny]))
    (policy,) = parts.policies
    assert policy.id == f"{SUBID}/providers/microsoft.authorization/denyassignments/d1"
    assert policy.name == "Blueprint lock"
    assert policy.document == {**deny["properties"], "id": deny["id"]}
    principals = by_id(parts.principals)
    assert set(principals) == {"eeeeeeee-0000-4000-8000-000000000001", "eeeeeeee-0000-4000-8000-000000000002"}
    assert principals["eeeeeeee-0000-4000-8000-000000000002"].kind is PrincipalKind.AZURE_GROUP


def test_identity_shared_by_resources_and_unknown_identities_are_gaps() -> None:
    unknown = (
        f"/subscriptions/{SUB}/resourceGroups/rg-ops/providers/Microsoft.ManagedIdentity/userAssignedIdentities/gone"
    )
    raw = AzureRaw(
        tenant_id=TENANT,
        identities=[identity()],
        resources=[
            resource(
                "vm1",
                "Microsoft.Compute/virtualMachines",
                uai_block(UAI.upper().replace("/SUBSCRIPTIONS", "/subscriptions")),
            ),
            resource("vm2", "Microsoft.Compute/virtualMachines", uai_block(identity()["id"])),
            resource("aca", "Microsoft.App/containerApps", uai_block(identity()["id"], unknown)),
            resource("plain", "Microsoft.Storage/storageAccounts", None),
            resource("off", "Microsoft.Web/sites", {"type": "None"}),
        ],
    )
    parts = normalize_azure(raw)
    workloads = by_id(parts.workloads)
    assert len(workloads) == 3
    assert all(w.principal_ids == (UAI_PID,) for w in workloads.values())
    assert workloads[f"{RG}/providers/microsoft.app/containerapps/aca"].kind.value == "azure_resource"
    (gap,) = [e for e in parts.coverage if e.is_gap]
    assert gap.operation == f"userAssignedIdentities.get {unknown.lower()}"
    assert gap.scope_id == f"{RG}/providers/microsoft.app/containerapps/aca"


def test_federated_credentials() -> None:
    flexible = {
        "id": f"{identity()['id']}/federatedIdentityCredentials/gh-any-branch",
        "name": "gh-any-branch",
        "issuer": "https://token.actions.githubusercontent.com",
        "claimsMatchingExpression": {
            "value": "claims['sub'] matches 'repo:contoso/ops:ref:refs/heads/*'",
            "languageVersion": 1,
        },
        "audiences": ["api://AzureADTokenExchange"],
    }
    orphan = {
        "id": f"{RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/other/federatedIdentityCredentials/x",
        "name": "x",
        "issuer": "https://token.actions.githubusercontent.com",
        "subject": "repo:contoso/ops:ref:refs/heads/main",
        "audiences": ["api://AzureADTokenExchange"],
    }
    raw = AzureRaw(
        tenant_id=TENANT,
        identities=[identity()],
        federated_credentials={
            identity()["id"]: [flexible],
            orphan["id"].split("/federatedIdentityCredentials/")[0]: [orphan],
        },
    )
    parts = normalize_azure(raw)
    (credential,) = parts.credentials
    assert credential.kind is CredentialKind.FEDERATED and credential.principal_id == UAI_PID
    # The expression's one subject clause gives the pattern; the whole expression is the condition.
    assert credential.subjects == ("repo:contoso/ops:ref:refs/heads/*",)
    assert credential.condition == "claims['sub'] matches 'repo:contoso/ops:ref:refs/heads/*'"
    (gap,) = [e for e in parts.coverage if e.is_gap]
    assert "other" in gap.operation and "export `az identity list` too" in gap.detail


def test_service_principal_kinds_and_secrets_dropped() -> None:
    mi_sp = {
        "id": UAI_PID.upper(),
        "appId": "cccccccc-1111-4222-8333-444444444444",
        "displayName": "id-ops",
        "servicePrincipalType": "ManagedIdentity",
        "passwordCredentials": [],
        "keyCredentials": [],
    }
    secret = {
        "keyId": "K1",
        "secretText": "very-secret",
        "startDateTime": "2024-01-01T00:00:00Z",
        "endDateTime": None,
        "hint": "ver",
        "displayName": "x",
    }
    app_sp = {
        "id": "ffffffff-0000-4000-8000-000000000001",
        "appId": "ffffffff-0000-4000-8000-0000000000aa",
        "displayName": "deploy-bot",
        "servicePrincipalType": "Application",
        "passwordCredentials": [secret],
        "keyCredentials": [],
    }
    raw = AzureRaw(tenant_id=TENANT, service_principals=[mi_sp, app_sp], identities=[identity()])
    parts = normalize_azure(raw)
    principals = by_id(parts.principals)
    assert principals[UAI_PID].kind is PrincipalKind.AZURE_MANAGED_IDENTITY
    assert principals[UAI_PID].name == "id-ops" and principals[UAI_PID].scope_id == UAI
    assert principals["ffffffff-0000-4000-8000-000000000001"].kind is PrincipalKind.AZURE_SERVICE_PRINCIPAL
    (secret,) = parts.credentials
    assert secret.id == "ffffffff-0000-4000-8000-000000000001#secret-k1" and secret.expires is None
    assert "very-secret" not in str(to_json_dict(parts.credentials)) + str(to_json_dict(parts.principals))


def test_normalize_is_pure() -> None:
    raw = AzureRaw(
        tenant_id=TENANT,
        identities=[identity()],
        role_definitions=[reader_definition()],
        role_assignments=[assignment("a5", RG, UAI_PID, "ServicePrincipal", READER)],
        resources=[resource("vm1", "Microsoft.Compute/virtualMachines", uai_block(identity()["id"]))],
    )
    before = copy.deepcopy(raw)
    first, second = normalize_azure(raw), normalize_azure(raw)
    assert to_json_dict(first) == to_json_dict(second)
    assert raw == before


def test_shape_errors_are_bad_input() -> None:
    raw = AzureRaw(
        tenant_id=TENANT, role_assignments=[{"id": "/x/providers/Microsoft.Authorization/roleAssignments/a"}]
    )
    with pytest.raises(BadInputError, match="missing field"):
        normalize_azure(raw)


def test_tenant_and_subscription_level_extension_scopes() -> None:
    raw = AzureRaw(
        tenant_id=TENANT,
        role_definitions=[reader_definition()],
        role_assignments=[
            assignment("a6", "/providers/Microsoft.aadiam", "bbbbbbbb-0000-4000-8000-000000000006", "User", READER),
            assignment(
                "a7",
                f"{SUBID}/providers/Microsoft.Security/pricings/VirtualMachines",
                "bbbbbbbb-0000-4000-8000-000000000007",
                "Group",
                READER,
            ),
        ],
    )
    scopes = by_id(normalize_azure(raw).scopes)
    assert scopes["/providers/microsoft.aadiam"].kind is ScopeKind.AZURE_RESOURCE
    assert scopes["/providers/microsoft.aadiam"].parent_id == TENANT
    pricing = f"{SUBID}/providers/microsoft.security/pricings/virtualmachines"
    assert scopes[pricing].parent_id == SUBID and scopes[SUBID].parent_id == TENANT
