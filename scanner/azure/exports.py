"""Azure export files -> raw answers. Formats are told apart by content, never by file name.

Each file is what one command prints with ``-o json`` (one file per invocation; any number of
files of one kind, e.g. one deny-assignment file per subscription, are merged):

- ``az role assignment list --all -o json``: role assignments (at every scope of the subscription,
  including inherited ones; run once per subscription, or add ``--scope`` for management groups).
- ``az role definition list -o json``: built-in and custom role definitions (entries have the shape
  of the shared iam-dataset's ``azure-built-in-roles.json.gz``; a built-in role without ``id`` is fine).
- ``az rest --method get --url "https://management.azure.com/subscriptions/SUB/providers/Microsoft.Authorization/denyAssignments?api-version=2022-04-01"``:
  ``{"value": [...]}`` deny assignments (``az`` has no deny-assignment command).
- ``az identity list -o json``: user-assigned managed identities.
- ``az identity federated-credential list --identity-name N --resource-group RG -o json``:
  federated identity credentials of one identity.
- ``az ad sp list --all -o json``: service principals with their secret and certificate metadata
  (``keyId``, dates, ``displayName``, ``hint``; any secret text in the file is dropped on reading).
- ``az account management-group show --name ROOT --expand --recurse -o json``: the management-group
  tree with its subscriptions.
- ``az account list --all -o json``: subscriptions; ``az group list -o json``: resource groups.
- ``az resource list -o json``: resources; those with an ``identity`` become workloads.
- ``az provider operation show --namespace NS -o json`` (one provider) or ``az provider operation
  list -o json`` (all): each operation with ``isDataAction``, so the simulator knows which
  operations are data actions.

A file of a recognised format whose content is malformed raises :class:`BadInputError` naming the
file and the field. Content of no Azure format gives ``None`` (another cloud's reader may know it).
An empty JSON list (what ``az identity federated-credential list`` prints for an identity without
federated credentials, say) is claimed as an empty export: read, nothing in it.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from models import Cloud, CoverageEntry, CoverageStatus, Covers
from scanner.azure.ids import arm, last_segment, scope_kind
from scanner.azure.raw import AzureRaw, management_group_body, provider_operation_entries, sanitize_service_principal
from scanner.errors import BadInputError

ROLE_ASSIGNMENTS = "role_assignments"
ROLE_DEFINITIONS = "role_definitions"
DENY_ASSIGNMENTS = "deny_assignments"
IDENTITIES = "identities"
FEDERATED_CREDENTIALS = "federated_credentials"
SERVICE_PRINCIPALS = "service_principals"
MANAGEMENT_GROUPS = "management_groups"
SUBSCRIPTIONS = "subscriptions"
RESOURCE_GROUPS = "resource_groups"
RESOURCES = "resources"
PROVIDER_OPERATIONS = "provider_operations"
EMPTY = "empty"

COMMANDS = {
    ROLE_ASSIGNMENTS: "az role assignment list --all -o json",
    ROLE_DEFINITIONS: "az role definition list -o json",
    DENY_ASSIGNMENTS: "az rest --method get --url <subscription>/providers/Microsoft.Authorization/denyAssignments",
    IDENTITIES: "az identity list -o json",
    FEDERATED_CREDENTIALS: "az identity federated-credential list -o json",
    SERVICE_PRINCIPALS: "az ad sp list --all -o json",
    MANAGEMENT_GROUPS: "az account management-group show --expand --recurse -o json",
    SUBSCRIPTIONS: "az account list --all -o json",
    RESOURCE_GROUPS: "az group list -o json",
    RESOURCES: "az resource list -o json",
    PROVIDER_OPERATIONS: "az provider operation show --namespace NS -o json",
    EMPTY: "any of the above",
}
SERVICES = {
    ROLE_ASSIGNMENTS: "authorization",
    ROLE_DEFINITIONS: "authorization",
    DENY_ASSIGNMENTS: "authorization",
    IDENTITIES: "managedidentity",
    FEDERATED_CREDENTIALS: "managedidentity",
    SERVICE_PRINCIPALS: "graph",
    MANAGEMENT_GROUPS: "managementgroups",
    SUBSCRIPTIONS: "resources",
    RESOURCE_GROUPS: "resources",
    RESOURCES: "resources",
    PROVIDER_OPERATIONS: "authorization",
    EMPTY: "azure",
}

#: What each kind of file yields (the typed coverage of its entry).
COVERS: dict[str, tuple[Covers, ...]] = {
    ROLE_ASSIGNMENTS: (Covers.ASSIGNMENTS,),
    ROLE_DEFINITIONS: (Covers.ROLES,),
    DENY_ASSIGNMENTS: (Covers.DENY_ASSIGNMENTS,),
    IDENTITIES: (Covers.PRINCIPALS, Covers.WORKLOADS),
    FEDERATED_CREDENTIALS: (Covers.CREDENTIALS,),
    SERVICE_PRINCIPALS: (Covers.PRINCIPALS, Covers.CREDENTIALS),
    MANAGEMENT_GROUPS: (Covers.ORGANIZATION,),
    SUBSCRIPTIONS: (Covers.ORGANIZATION,),
    RESOURCE_GROUPS: (Covers.ORGANIZATION,),
    RESOURCES: (Covers.RESOURCES, Covers.WORKLOADS),
    PROVIDER_OPERATIONS: (Covers.OPERATIONS,),
    EMPTY: (),
}

UAI = "microsoft.managedidentity/userassignedidentities"
PROVIDER_OPERATIONS_TYPE = "microsoft.authorization/provideroperations"
FIC_SEGMENT = "/federatedidentitycredentials/"
GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
# Strings only Azure exports contain: malformed JSON holding one of them is a broken Azure file.
AZURE_MARKERS = (
    "Microsoft.Authorization/",
    "Microsoft.ManagedIdentity/",
    "Microsoft.Management/",
    "servicePrincipalType",
)


@dataclass(frozen=True)
class Detected:
    """One Azure export file: its format (``kind``) and its parsed, checked content."""

    path: Path
    kind: str
    content: Any

    @property
    def items(self) -> list[dict[str, Any]]:
        if self.kind == DENY_ASSIGNMENTS:
            return list(self.content["value"])
        if self.kind == MANAGEMENT_GROUPS or (self.kind == PROVIDER_OPERATIONS and isinstance(self.content, dict)):
            return [self.content]
        return list(self.content)


def _type(item: dict[str, Any]) -> str:
    return str(item.get("type") or "").lower()


def _kind_of_item(item: Any) -> str | None:
    if not isinstance(item, dict):
        return None
    rtype = _type(item)
    if rtype == PROVIDER_OPERATIONS_TYPE:
        return PROVIDER_OPERATIONS
    if rtype == "microsoft.authorization/roleassignments" or ("principalId" in item and "roleDefinitionId" in item):
        return ROLE_ASSIGNMENTS
    if rtype == "microsoft.authorization/roledefinitions" or ("roleName" in item and "permissions" in item):
        return ROLE_DEFINITIONS
    if rtype.endswith("/federatedidentitycredentials") or FIC_SEGMENT in str(item.get("id", "")).lower():
        return FEDERATED_CREDENTIALS
    if "identity" in item and str(item.get("id", "")).lower().startswith("/subscriptions/") and "type" in item:
        return RESOURCES
    if rtype == UAI and "principalId" in item:
        return IDENTITIES
    if "servicePrincipalType" in item or (
        "appId" in item and any(k in item for k in ("passwordCredentials", "keyCredentials", "servicePrincipalNames"))
    ):
        return SERVICE_PRINCIPALS
    if rtype == "microsoft.resources/resourcegroups":
        return RESOURCE_GROUPS
    if "resourceGroup" in item and "type" in item and "/providers/" in str(item.get("id", "")).lower():
        return RESOURCES
    if (
        "tenantId" in item
        and GUID.match(str(item.get("id", "")))
        and any(k in item for k in ("isDefault", "cloudName", "state", "homeTenantId"))
    ):
        return SUBSCRIPTIONS
    return None


def _kind_of(data: Any) -> str | None:
    if isinstance(data, list):
        return _kind_of_item(data[0]) if data else EMPTY
    if not isinstance(data, dict):
        return None
    if isinstance(data.get("value"), list) and set(data) <= {"value", "nextLink"}:
        values = data["value"]
        if not values or any(
            isinstance(v, dict)
            and (
                _type(v) == "microsoft.authorization/denyassignments"
                or "denyAssignmentName" in (v.get("properties") or {})
            )
            for v in values
        ):
            return DENY_ASSIGNMENTS
        return None
    if _type(data) == PROVIDER_OPERATIONS_TYPE:
        return PROVIDER_OPERATIONS
    node_id = str(data.get("id", "")).lower()
    if _type(data) == "microsoft.management/managementgroups" or node_id.startswith(
        "/providers/microsoft.management/managementgroups/"
    ):
        return MANAGEMENT_GROUPS
    return None


def detect(path: Path, text: Any) -> Detected | None:
    """Classify a file's text (or its already-parsed JSON); ``None`` if it is no Azure export.

    Raises :class:`BadInputError` for a recognised format with malformed content.
    """
    if isinstance(text, str):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            if any(marker in text for marker in AZURE_MARKERS):
                raise BadInputError(
                    f"{path}: malformed JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}); "
                    "export it again with `-o json`"
                ) from exc
            return None
    else:
        data = text
    kind = _kind_of(data)
    if kind is None:
        return None
    detected = Detected(path, kind, data)
    _CHECKS[kind](detected)
    return detected


# --- checks: a recognised format must carry the fields iamdrift reads ----------------------------


def _bad(detected: Detected, index: int | None, message: str) -> BadInputError:
    where = f"item {index}: " if index is not None else ""
    return BadInputError(f"{detected.path}: {where}{message} (expected the output of `{COMMANDS[detected.kind]}`)")


def _require(detected: Detected, index: int | None, item: Any, *fields: str, arm_ids: tuple[str, ...] = ()) -> None:
    if not isinstance(item, dict):
        raise _bad(detected, index, f"expected a JSON object, got {type(item).__name__}")
    for name in fields:
        if item.get(name) in (None, ""):
            raise _bad(detected, index, f"missing field {name!r}")
    for name in arm_ids:
        value = item.get(name)
        if not isinstance(value, str) or not value.startswith("/"):
            raise _bad(detected, index, f"field {name!r} is not an Azure resource id: {value!r}")


def _require_list(detected: Detected, index: int | None, item: dict[str, Any], name: str, *, optional: bool) -> None:
    value = item.get(name)
    if value is None and optional:
        return
    if not isinstance(value, list):
        raise _bad(detected, index, f"field {name!r} must be a list, got {type(value).__name__}")


def _same_kind(detected: Detected) -> None:
    for index, item in enumerate(detected.items):
        kind = _kind_of_item(item)
        if kind != detected.kind:
            raise _bad(detected, index, f"not a {detected.kind.replace('_', ' ')} entry like the first")


def _check_assignments(d: Detected) -> None:
    _same_kind(d)
    for i, item in enumerate(d.items):
        _require(
            d, i, item, "id", "principalId", "roleDefinitionId", "scope", arm_ids=("id", "roleDefinitionId", "scope")
        )


def _check_definitions(d: Detected) -> None:
    _same_kind(d)
    for i, item in enumerate(d.items):
        _require(d, i, item, "name", "roleName")
        if item.get("roleType") != "BuiltInRole":
            _require(d, i, item, "id", arm_ids=("id",))
        _require_list(d, i, item, "assignableScopes", optional=True)
        _require_list(d, i, item, "permissions", optional=False)
        for permission in item["permissions"]:
            if not isinstance(permission, dict):
                raise _bad(d, i, "permissions entries must be objects")
            for name in ("actions", "notActions", "dataActions", "notDataActions"):
                _require_list(d, i, permission, name, optional=True)


def _check_deny(d: Detected) -> None:
    for i, item in enumerate(d.items):
        _require(d, i, item, "id", "properties", arm_ids=("id",))
        props = item["properties"]
        if not isinstance(props, dict):
            raise _bad(d, i, "field 'properties' must be an object")
        _require(d, i, props, "scope", arm_ids=("scope",))
        _require_list(d, i, props, "permissions", optional=False)
        _require_list(d, i, props, "principals", optional=False)
        _require_list(d, i, props, "excludePrincipals", optional=True)
        for entry in [*props["principals"], *(props.get("excludePrincipals") or [])]:
            _require(d, i, entry, "id")


def _check_identities(d: Detected) -> None:
    _same_kind(d)
    for i, item in enumerate(d.items):
        _require(d, i, item, "id", "name", "principalId", arm_ids=("id",))


def _check_federated(d: Detected) -> None:
    _same_kind(d)
    for i, item in enumerate(d.items):
        _require(d, i, item, "id", "issuer", arm_ids=("id",))
        if FIC_SEGMENT not in item["id"].lower():
            raise _bad(d, i, f"field 'id' is not a federated identity credential id: {item['id']!r}")
        if not item.get("subject") and not item.get("claimsMatchingExpression"):
            raise _bad(d, i, "missing field 'subject'")
        _require_list(d, i, item, "audiences", optional=False)


def _check_service_principals(d: Detected) -> None:
    _same_kind(d)
    for i, item in enumerate(d.items):
        _require(d, i, item, "id")
        for name in ("passwordCredentials", "keyCredentials"):
            _require_list(d, i, item, name, optional=True)
            for cred in item.get(name) or []:
                _require(d, i, cred, "keyId")


def _check_tree(d: Detected) -> None:
    def walk(node: Any) -> None:
        _require(d, None, node, "id", arm_ids=("id",))
        try:
            kind = scope_kind(arm(node["id"]))
        except ValueError:
            kind = ""
        if kind not in ("management_group", "subscription"):
            raise _bad(d, None, f"{node['id']!r} is neither a management group nor a subscription")
        children = management_group_body(node).get("children")
        if children is not None and not isinstance(children, list):
            raise _bad(d, None, f"children of {node['id']!r} must be a list")
        for child in children or []:
            walk(child)

    walk(d.content)


def _check_subscriptions(d: Detected) -> None:
    _same_kind(d)
    for i, item in enumerate(d.items):
        _require(d, i, item, "id", "tenantId")


def _check_groups(d: Detected) -> None:
    _same_kind(d)
    for i, item in enumerate(d.items):
        _require(d, i, item, "id", arm_ids=("id",))
        if scope_kind(arm(item["id"])) != "resource_group":
            raise _bad(d, i, f"field 'id' is not a resource group id: {item['id']!r}")


def _check_resources(d: Detected) -> None:
    _same_kind(d)
    for i, item in enumerate(d.items):
        _require(d, i, item, "id", "type", arm_ids=("id",))
        identity = item.get("identity")
        if identity is None:
            continue
        if not isinstance(identity, dict):
            raise _bad(d, i, "field 'identity' must be an object or null")
        uais = identity.get("userAssignedIdentities")
        if uais is not None and not isinstance(uais, dict):
            raise _bad(d, i, "field 'identity.userAssignedIdentities' must be an object")
        for key in uais or {}:
            if not str(key).startswith("/"):
                raise _bad(d, i, f"identity.userAssignedIdentities key {key!r} is not an Azure resource id")


def _check_provider_operations(d: Detected) -> None:
    for i, item in enumerate(d.items):
        _require(d, i, item, "name")
        _require_list(d, i, item, "operations", optional=True)
        _require_list(d, i, item, "resourceTypes", optional=True)
        for rtype in item.get("resourceTypes") or []:
            if not isinstance(rtype, dict):
                raise _bad(d, i, "resourceTypes entries must be objects")
            _require_list(d, i, rtype, "operations", optional=True)
        for op in provider_operation_entries(item):
            if not isinstance(op, dict) or not isinstance(op.get("name"), str):
                raise _bad(d, i, f"operation {op!r} has no name")
            if not isinstance(op.get("isDataAction", False), bool):
                raise _bad(d, i, f"operation {op['name']!r}: isDataAction must be true or false")


_CHECKS: dict[str, Callable[[Detected], None]] = {
    ROLE_ASSIGNMENTS: _check_assignments,
    ROLE_DEFINITIONS: _check_definitions,
    DENY_ASSIGNMENTS: _check_deny,
    IDENTITIES: _check_identities,
    FEDERATED_CREDENTIALS: _check_federated,
    SERVICE_PRINCIPALS: _check_service_principals,
    MANAGEMENT_GROUPS: _check_tree,
    SUBSCRIPTIONS: _check_subscriptions,
    RESOURCE_GROUPS: _check_groups,
    RESOURCES: _check_resources,
    PROVIDER_OPERATIONS: _check_provider_operations,
    EMPTY: lambda _detected: None,
}


# --- assembly ----------------------------------------------------------------------------------


def assemble(detected: list[Detected]) -> AzureRaw:
    """Merge detected files into one tenant's raw answers, in input order.

    Objects listed in several files (the same role definition from two subscriptions, say) are kept
    once, by their id compared case-insensitively. Every file read is an ``ok`` coverage entry.
    Inputs naming two management-group trees of different tenants are an error: scan one tenant.
    """
    raw = AzureRaw(source="file")
    raw.tenant_id = _tenant(detected)
    seen: dict[str, set[str]] = {}

    def fresh(kind: str, key: str) -> bool:
        keys = seen.setdefault(kind, set())
        if key in keys:
            return False
        keys.add(key)
        return True

    for item in detected:
        kind = item.kind
        entries = item.items
        if kind == EMPTY:
            pass
        elif kind == MANAGEMENT_GROUPS:
            raw.management_groups.append(item.content)
        elif kind == DENY_ASSIGNMENTS:
            raw.deny_assignments.extend(e for e in entries if fresh(kind, arm(e["id"])))
        elif kind == FEDERATED_CREDENTIALS:
            for cred in entries:
                if fresh(kind, arm(cred["id"])):
                    identity = arm(cred["id"]).split(FIC_SEGMENT)[0]
                    raw.federated_credentials.setdefault(identity, []).append(cred)
        elif kind == SERVICE_PRINCIPALS:
            raw.service_principals.extend(
                sanitize_service_principal(e) for e in entries if fresh(kind, str(e["id"]).lower())
            )
        elif kind == SUBSCRIPTIONS:
            raw.subscriptions.extend(e for e in entries if fresh(kind, str(e["id"]).lower()))
        elif kind == PROVIDER_OPERATIONS:
            raw.provider_operations.extend(e for e in entries if fresh(kind, str(e["name"]).lower()))
        elif kind == ROLE_DEFINITIONS:
            raw.role_definitions.extend(
                e for e in entries if fresh(kind, f"{str(e.get('id') or '').lower()}|{str(e['name']).lower()}")
            )
        else:
            getattr(raw, kind).extend(e for e in entries if fresh(kind, arm(e["id"])))
        raw.coverage.append(
            CoverageEntry(
                scope_id=_file_scope(item, raw.tenant_id),
                source="file",
                service=SERVICES[kind],
                operation=str(item.path),
                status=CoverageStatus.OK,
                items=_count(item),
                cloud=Cloud.AZURE,
                covers=COVERS[kind],
            )
        )
    return raw


def _count(item: Detected) -> int:
    if item.kind != MANAGEMENT_GROUPS:
        return len(item.items)

    def nodes(node: dict[str, Any]) -> int:
        children: list[dict[str, Any]] = management_group_body(node).get("children") or []
        return 1 + sum(nodes(c) for c in children)

    return nodes(item.content)


def _tenant(detected: list[Detected]) -> str | None:
    trees = {
        str(d.content["tenantId"]).lower()
        for d in detected
        if d.kind == MANAGEMENT_GROUPS and d.content.get("tenantId")
    }
    if len(trees) > 1:
        paths = ", ".join(str(d.path) for d in detected if d.kind == MANAGEMENT_GROUPS)
        raise BadInputError(f"{paths}: management-group trees of several tenants {sorted(trees)}; scan one tenant")
    if trees:
        return trees.pop()
    named = Counter(
        str(e["tenantId"]).lower()
        for d in detected
        if d.kind in (SUBSCRIPTIONS, IDENTITIES)
        for e in d.items
        if e.get("tenantId")
    )
    if not named:
        return None
    return sorted(named.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]


def _file_scope(item: Detected, tenant: str | None) -> str:
    """The subscription every entry of the file belongs to, else the tenant."""
    subs = set()
    for entry in item.items:
        if item.kind == PROVIDER_OPERATIONS:
            subs.add("")
            continue
        ref = entry.get("properties", {}).get("scope") if item.kind == DENY_ASSIGNMENTS else entry.get("id")
        text = str(ref or "").lower()
        if text.startswith("/subscriptions/"):
            subs.add("/subscriptions/" + last_segment(text.split("/")[2]))
        else:
            subs.add("")
    if len(subs) == 1 and "" not in subs:
        return subs.pop()
    return tenant or "/"
