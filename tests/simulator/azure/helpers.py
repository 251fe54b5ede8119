"""Shared builders for Azure simulator tests: real built-in roles and native-JSON documents."""

from __future__ import annotations

import functools
import gzip
import json
from typing import Any

from tests.conftest import SHARED_DATA

BUILT_IN_ROLES = SHARED_DATA / "azure-built-in-roles.json.gz"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
SUB = "0b1f6471-1bf0-4dda-aec3-111122223333"
SUB2 = "9c2a1b7e-5d0f-4a3e-8b1c-444455556666"
MG = f"/providers/microsoft.management/managementgroups/{'corp'}"
RG = f"/subscriptions/{SUB}/resourcegroups/app-rg"
ACCOUNT = f"{RG}/providers/microsoft.storage/storageaccounts/appdata"
CONTAINER = f"{ACCOUNT}/blobservices/default/containers/logs"
BLOB_READ = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"
CONTAINER_NAME = "@Resource[Microsoft.Storage/storageAccounts/blobServices/containers:name]"
ALICE = "6f1c2a1e-0c3b-4d5e-9f00-aaaaaaaaaaaa"
BOB = "0d2e3f4a-5b6c-4d7e-8f90-bbbbbbbbbbbb"
GROUP = "1a2b3c4d-5e6f-4a7b-8c9d-cccccccccccc"
EVERYONE = "00000000-0000-0000-0000-000000000000"


@functools.cache
def _roles() -> dict[str, dict[str, Any]]:
    with gzip.open(BUILT_IN_ROLES, "rt", encoding="utf-8") as fh:
        roles = json.load(fh)
    out = {}
    for r in roles:
        r = dict(r)
        r.setdefault("id", f"/providers/Microsoft.Authorization/roleDefinitions/{r['name']}")
        out[r["roleName"]] = r
    return out


def role(name: str) -> dict[str, Any]:
    """A built-in role definition as ``az role definition list`` prints it."""
    return _roles()[name]


def all_roles() -> list[dict[str, Any]]:
    return list(_roles().values())


def custom_role(name: str, guid: str, **permissions: list[str]) -> dict[str, Any]:
    block = {
        "actions": permissions.get("actions", []),
        "notActions": permissions.get("notActions", []),
        "dataActions": permissions.get("dataActions", []),
        "notDataActions": permissions.get("notDataActions", []),
    }
    return {
        "id": f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{guid}",
        "name": guid,
        "roleName": name,
        "roleType": "CustomRole",
        "type": "Microsoft.Authorization/roleDefinitions",
        "assignableScopes": [f"/subscriptions/{SUB}"],
        "permissions": [block],
    }


def assignment(
    name: str,
    principal: str,
    role_def: dict[str, Any],
    scope: str,
    *,
    principal_type: str = "User",
    condition: str | None = None,
    role_id: str | None = None,
) -> dict[str, Any]:
    """A role assignment as ``az role assignment list`` prints it (scope in ARM's own case)."""
    scope_text = scope.replace("resourcegroups", "resourceGroups").replace("managementgroups", "managementGroups")
    definition = role_id or f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{role_def['name']}"
    return {
        "id": f"{scope_text.rstrip('/')}/providers/Microsoft.Authorization/roleAssignments/{name}",
        "name": name,
        "principalId": principal,
        "principalType": principal_type,
        "roleDefinitionId": definition,
        "roleDefinitionName": role_def.get("roleName"),
        "scope": scope_text,
        "condition": condition,
        "conditionVersion": "2.0" if condition else None,
        "type": "Microsoft.Authorization/roleAssignments",
    }


def deny_assignment(
    name: str,
    scope: str,
    *,
    actions: list[str] | None = None,
    not_actions: list[str] | None = None,
    data_actions: list[str] | None = None,
    principals: list[tuple[str, str]] | None = None,
    exclude: list[tuple[str, str]] | None = None,
    children: bool = True,
) -> dict[str, Any]:
    """A deny assignment: the ARM object's ``properties`` plus ``id``."""
    return {
        "id": f"{scope.rstrip('/')}/providers/Microsoft.Authorization/denyAssignments/{name}",
        "denyAssignmentName": name,
        "permissions": [
            {
                "actions": actions or [],
                "notActions": not_actions or [],
                "dataActions": data_actions or [],
                "notDataActions": [],
            }
        ],
        "scope": scope,
        "principals": [{"id": i, "type": t} for i, t in (principals or [(EVERYONE, "SystemDefined")])],
        "excludePrincipals": [{"id": i, "type": t} for i, t in (exclude or [])],
        "doNotApplyToChildScopes": not children,
        "isSystemProtected": True,
    }


def scope_path(resource: str, *, under_mg: bool = True) -> tuple[str, ...]:
    """The scope path of a resource in subscription SUB (under management group MG)."""
    parts = resource.lower().strip("/").split("/")
    prefixes = ["/" + "/".join(parts[: i + 1]) for i in range(1, len(parts), 2)]
    top = ("/", TENANT, MG) if under_mg else ("/", TENANT)
    return (*top, *prefixes)
