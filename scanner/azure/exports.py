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
- ``az vmss list``, ``az automation account list``, ``az logic workflow list``, ``az webapp list``,
  ``az functionapp list``: resources like ``az resource list`` ones (merged with them by id); what is
  kept of each is :data:`~scanner.azure.raw.RESOURCE_FIELDS` (a site's ``keyVaultReferenceIdentity``,
  a Logic App's ``state``; never a definition or configuration).
- ``az rest --method post --url "https://management.azure.com/SITE_ID/config/appsettings/list?api-version=2022-03-01"``:
  a web or function app's settings; only their NAMES are kept, the values are dropped on reading.
  (``az webapp config appsettings list`` does not name the site, so it cannot be used.)
- ``az rest --method get --url "https://management.azure.com/SCOPE/providers/Microsoft.Authorization/roleEligibilitySchedules?api-version=2020-10-01"``:
  PIM eligible Azure role assignments (``{"value": [...]}``).

Microsoft Entra (Microsoft Graph; ``az rest`` prints ``{"@odata.context", "value"}``, whose context
tells the collection; a file that still has an ``@odata.nextLink`` holds one page only and is read
with a coverage gap saying so):

- ``az ad app list --all -o json``, or ``az rest --method get --url
  "https://graph.microsoft.com/v1.0/applications?$expand=owners"`` (with owners, which
  ``az ad app list`` does not print; an expanded list of 20 owners may be cut, and is a gap).
- ``az ad sp list --all -o json`` (above), or ``az rest --url
  "https://graph.microsoft.com/v1.0/servicePrincipals?$expand=owners"`` for their owners.
- ``az rest --method get --url "https://graph.microsoft.com/v1.0/applications/APP_OBJECT_ID/federatedIdentityCredentials"``,
  or ``az ad app federated-credential list --id APP -o json`` when its entries carry ``@odata.id``
  (which names the application): an application's federated identity credentials.
- ``az rest --method get --url "https://graph.microsoft.com/v1.0/roleManagement/directory/roleDefinitions"``,
  ``.../roleManagement/directory/roleAssignments?$expand=principal`` and
  ``.../roleManagement/directory/roleEligibilitySchedules?$expand=principal``: directory roles, their
  active assignments and PIM eligibilities (``$expand=principal`` types the principals).
- ``az rest --method get --url "https://graph.microsoft.com/v1.0/servicePrincipals/SP_ID/appRoleAssignedTo"``
  (who holds the app roles of SP_ID, e.g. Microsoft Graph's) or ``.../servicePrincipals/SP_ID/appRoleAssignments``
  (the app roles SP_ID holds): app-role assignments.

``az ad app owner list`` and ``az ad sp owner list`` print owners without naming the object they own,
so they cannot be attributed: use the ``$expand=owners`` reads above.

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
from scanner.azure.raw import (
    APP_ROLE_ASSIGNMENT_FIELDS,
    DIRECTORY_ROLE_ASSIGNMENT_FIELDS,
    DIRECTORY_ROLE_DEFINITION_FIELDS,
    DIRECTORY_ROLE_ELIGIBILITY_FIELDS,
    AzureRaw,
    management_group_body,
    provider_operation_entries,
    reduce_resource,
    sanitize_app_federated_credential,
    sanitize_application,
    sanitize_graph_object,
    sanitize_service_principal,
)
from scanner.azure.shapes import role_eligibility
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
APPLICATIONS = "applications"
APP_FEDERATED_CREDENTIALS = "application_federated_credentials"
DIRECTORY_ROLE_DEFINITIONS = "directory_role_definitions"
DIRECTORY_ROLE_ASSIGNMENTS = "directory_role_assignments"
DIRECTORY_ROLE_ELIGIBILITIES = "directory_role_eligibilities"
APP_ROLE_ASSIGNMENTS = "app_role_assignments"
ELIGIBLE_ASSIGNMENTS = "eligible_assignments"
APP_SETTINGS = "app_settings"
EMPTY = "empty"
GRAPH = "https://graph.microsoft.com/v1.0"
AZ_GRAPH = f"az rest --method get --url {GRAPH}"

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
    APPLICATIONS: "az ad app list --all -o json",
    APP_FEDERATED_CREDENTIALS: f"{AZ_GRAPH}/applications/APP_OBJECT_ID/federatedIdentityCredentials",
    DIRECTORY_ROLE_DEFINITIONS: f"{AZ_GRAPH}/roleManagement/directory/roleDefinitions",
    DIRECTORY_ROLE_ASSIGNMENTS: f"{AZ_GRAPH}/roleManagement/directory/roleAssignments",
    DIRECTORY_ROLE_ELIGIBILITIES: f"{AZ_GRAPH}/roleManagement/directory/roleEligibilitySchedules",
    APP_ROLE_ASSIGNMENTS: f"{AZ_GRAPH}/servicePrincipals/SP_ID/appRoleAssignedTo",
    ELIGIBLE_ASSIGNMENTS: "az rest --url <scope>/providers/Microsoft.Authorization/roleEligibilitySchedules",
    APP_SETTINGS: "az rest --method post --url <site id>/config/appsettings/list",
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
    APPLICATIONS: "graph",
    APP_FEDERATED_CREDENTIALS: "graph",
    DIRECTORY_ROLE_DEFINITIONS: "graph",
    DIRECTORY_ROLE_ASSIGNMENTS: "graph",
    DIRECTORY_ROLE_ELIGIBILITIES: "graph",
    APP_ROLE_ASSIGNMENTS: "graph",
    ELIGIBLE_ASSIGNMENTS: "authorization",
    APP_SETTINGS: "web",
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
    APPLICATIONS: (Covers.PRINCIPALS, Covers.CREDENTIALS),
    APP_FEDERATED_CREDENTIALS: (Covers.CREDENTIALS,),
    DIRECTORY_ROLE_DEFINITIONS: (Covers.ENTRA_ROLES,),
    DIRECTORY_ROLE_ASSIGNMENTS: (Covers.ENTRA_ROLES,),
    DIRECTORY_ROLE_ELIGIBILITIES: (Covers.ENTRA_ROLES,),
    APP_ROLE_ASSIGNMENTS: (Covers.APP_ROLES,),
    ELIGIBLE_ASSIGNMENTS: (Covers.ELIGIBLE_ASSIGNMENTS,),
    APP_SETTINGS: (Covers.WORKLOADS,),
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


#: Graph collections by their ``@odata.context`` (after ``$metadata#``); the first group, when the
#: pattern has one, is the object the collection belongs to.
GRAPH_CONTEXTS = (
    (re.compile(r"^applications\('([^']+)'\)/federatedidentitycredentials", re.I), APP_FEDERATED_CREDENTIALS),
    (
        re.compile(r"^serviceprincipals\('([^']+)'\)/(?:approleassignedto|approleassignments)", re.I),
        APP_ROLE_ASSIGNMENTS,
    ),
    (re.compile(r"^applications(?:\(|$)", re.I), APPLICATIONS),
    (re.compile(r"^serviceprincipals(?:\(|$)", re.I), SERVICE_PRINCIPALS),
    (re.compile(r"^rolemanagement/directory/roledefinitions(?:\(|$)", re.I), DIRECTORY_ROLE_DEFINITIONS),
    (re.compile(r"^rolemanagement/directory/roleassignments(?:\(|$)", re.I), DIRECTORY_ROLE_ASSIGNMENTS),
    (re.compile(r"^rolemanagement/directory/roleeligibilityschedules(?:\(|$)", re.I), DIRECTORY_ROLE_ELIGIBILITIES),
)
#: An ``@odata.id`` naming the application a federated identity credential belongs to.
ODATA_APPLICATION = re.compile(r"(?:Application|applications)\('([0-9a-fA-F-]{36})'\)", re.I)
#: Kinds a Graph ``{"value": [...]}`` collection may hold (recognised by its items without a context).
GRAPH_KINDS = (
    APPLICATIONS,
    SERVICE_PRINCIPALS,
    APP_FEDERATED_CREDENTIALS,
    DIRECTORY_ROLE_DEFINITIONS,
    DIRECTORY_ROLE_ASSIGNMENTS,
    DIRECTORY_ROLE_ELIGIBILITIES,
    APP_ROLE_ASSIGNMENTS,
)
APPLICATION_MARKERS = (
    "identifierUris",
    "requiredResourceAccess",
    "signInAudience",
    "web",
    "spa",
    "publicClient",
    "api",
)
ELIGIBILITY_TYPE = "microsoft.authorization/roleeligibilityschedules"
SITE_CONFIG_TYPE = "microsoft.web/sites/config"


@dataclass(frozen=True)
class Detected:
    """One Azure export file: its format (``kind``) and its parsed, checked content."""

    path: Path
    kind: str
    content: Any

    @property
    def items(self) -> list[dict[str, Any]]:
        if isinstance(self.content, dict) and isinstance(self.content.get("value"), list):
            return list(self.content["value"])
        if isinstance(self.content, dict):
            return [self.content]
        return list(self.content)

    @property
    def context(self) -> str:
        """The Graph collection a ``az rest`` answer names (after ``$metadata#``), else ``""``."""
        if not isinstance(self.content, dict):
            return ""
        return str(self.content.get("@odata.context") or "").partition("$metadata#")[2]

    @property
    def owner(self) -> str | None:
        """The object (application, service principal) the collection belongs to, when its context says."""
        for pattern, kind in GRAPH_CONTEXTS:
            match = pattern.match(self.context)
            if match and kind == self.kind and match.groups():
                return match.group(1).lower()
        return None

    @property
    def next_link(self) -> str | None:
        """The link to a further page the file does not hold (``az rest`` follows none)."""
        if not isinstance(self.content, dict):
            return None
        link = self.content.get("@odata.nextLink") or self.content.get("nextLink")
        return str(link) if link else None

    def application_of(self, item: dict[str, Any]) -> str | None:
        """The object id of the application a federated identity credential belongs to."""
        if self.owner:
            return self.owner
        match = ODATA_APPLICATION.search(str(item.get("@odata.id") or ""))
        return match.group(1).lower() if match else None


def _type(item: dict[str, Any]) -> str:
    return str(item.get("type") or "").lower()


def _kind_of_item(item: Any) -> str | None:  # noqa: C901 - one test per format, in order
    if not isinstance(item, dict):
        return None
    rtype = _type(item)
    if rtype == PROVIDER_OPERATIONS_TYPE:
        return PROVIDER_OPERATIONS
    if rtype == ELIGIBILITY_TYPE:
        return ELIGIBLE_ASSIGNMENTS
    if "appRoleId" in item and "resourceId" in item and "principalId" in item:
        return APP_ROLE_ASSIGNMENTS
    if "rolePermissions" in item:
        return DIRECTORY_ROLE_DEFINITIONS
    if "directoryScopeId" in item and "roleDefinitionId" in item:
        scheduled = "scheduleInfo" in item or "memberType" in item
        return DIRECTORY_ROLE_ELIGIBILITIES if scheduled else DIRECTORY_ROLE_ASSIGNMENTS
    if rtype == "microsoft.authorization/roleassignments" or ("principalId" in item and "roleDefinitionId" in item):
        return ROLE_ASSIGNMENTS
    if rtype == "microsoft.authorization/roledefinitions" or ("roleName" in item and "permissions" in item):
        return ROLE_DEFINITIONS
    if rtype.endswith("/federatedidentitycredentials") or FIC_SEGMENT in str(item.get("id", "")).lower():
        return FEDERATED_CREDENTIALS
    if "issuer" in item and "audiences" in item and not str(item.get("id", "")).startswith("/"):
        return APP_FEDERATED_CREDENTIALS
    if "identity" in item and str(item.get("id", "")).lower().startswith("/subscriptions/") and "type" in item:
        return RESOURCES
    if rtype == UAI and "principalId" in item:
        return IDENTITIES
    if (
        "appId" in item
        and "servicePrincipalType" not in item
        and "servicePrincipalNames" not in item
        and any(k in item for k in APPLICATION_MARKERS)
    ):
        return APPLICATIONS
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


def _graph_kind(data: dict[str, Any]) -> str | None:
    context = str(data.get("@odata.context") or "").partition("$metadata#")[2]
    for pattern, kind in GRAPH_CONTEXTS:
        if pattern.match(context):
            return kind
    return None


def _kind_of_collection(data: dict[str, Any]) -> str | None:
    """A ``{"value": [...]}`` answer (``az rest``): Graph by its context, else by its items."""
    by_context = _graph_kind(data)
    if by_context is not None:
        return by_context
    if not set(data) <= {"value", "nextLink", "@odata.context", "@odata.nextLink"}:
        return None
    values = data["value"]
    if not values or any(
        isinstance(v, dict)
        and (
            _type(v) == "microsoft.authorization/denyassignments" or "denyAssignmentName" in (v.get("properties") or {})
        )
        for v in values
    ):
        return DENY_ASSIGNMENTS
    if any(isinstance(v, dict) and _type(v) == ELIGIBILITY_TYPE for v in values):
        return ELIGIBLE_ASSIGNMENTS
    kind = _kind_of_item(values[0])
    return kind if kind in GRAPH_KINDS else None


def _kind_of(data: Any) -> str | None:
    if isinstance(data, list):
        return _kind_of_item(data[0]) if data else EMPTY
    if not isinstance(data, dict):
        return None
    if isinstance(data.get("value"), list):
        return _kind_of_collection(data)
    if _type(data) == PROVIDER_OPERATIONS_TYPE:
        return PROVIDER_OPERATIONS
    if _type(data) == SITE_CONFIG_TYPE and str(data.get("id", "")).lower().endswith("/config/appsettings"):
        return APP_SETTINGS
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
    if detected.context:  # a Graph collection its context names; its items may be $select-ed down
        return
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
        for name in ("passwordCredentials", "keyCredentials", "appRoles"):
            _require_list(d, i, item, name, optional=True)
        for name in ("passwordCredentials", "keyCredentials"):
            for cred in item.get(name) or []:
                _require(d, i, cred, "keyId")
        for role in item.get("appRoles") or []:
            _require(d, i, role, "id")
        _check_owners(d, i, item)


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


def _check_owners(d: Detected, i: int, item: dict[str, Any]) -> None:
    if "owners" in item:
        _require_list(d, i, item, "owners", optional=False)
        for owner in item["owners"]:
            _require(d, i, owner, "id")


def _check_applications(d: Detected) -> None:
    _same_kind(d)
    for i, item in enumerate(d.items):
        _require(d, i, item, "id", *(() if d.context else ("appId",)))
        for name in ("passwordCredentials", "keyCredentials"):
            _require_list(d, i, item, name, optional=True)
            for cred in item.get(name) or []:
                _require(d, i, cred, "keyId")
        _check_owners(d, i, item)


def _check_app_federated(d: Detected) -> None:
    _same_kind(d)
    for i, item in enumerate(d.items):
        _require(d, i, item, "id", "name", "issuer")
        if not item.get("subject") and not item.get("claimsMatchingExpression"):
            raise _bad(d, i, "missing field 'subject'")
        _require_list(d, i, item, "audiences", optional=False)
        if d.application_of(item) is None:
            raise _bad(
                d,
                i,
                "names no application (no @odata.context or @odata.id); export it with "
                f"`az rest --method get --url {GRAPH}/applications/APP_OBJECT_ID/federatedIdentityCredentials`",
            )


def _check_directory_definitions(d: Detected) -> None:
    _same_kind(d)
    for i, item in enumerate(d.items):
        _require(d, i, item, "id", "displayName")
        _require_list(d, i, item, "rolePermissions", optional=False)
        for block in item["rolePermissions"]:
            if not isinstance(block, dict):
                raise _bad(d, i, "rolePermissions entries must be objects")
            _require_list(d, i, block, "allowedResourceActions", optional=False)


def _check_directory_assignments(d: Detected) -> None:
    _same_kind(d)
    for i, item in enumerate(d.items):
        _require(d, i, item, "id", "principalId", "roleDefinitionId")
        if item.get("directoryScopeId") in (None, "") and item.get("appScopeId") in (None, ""):
            raise _bad(d, i, "missing field 'directoryScopeId'")
        if "principal" in item and item["principal"] is not None and not isinstance(item["principal"], dict):
            raise _bad(d, i, "field 'principal' must be an object")


def _check_app_role_assignments(d: Detected) -> None:
    _same_kind(d)
    for i, item in enumerate(d.items):
        _require(d, i, item, "id", "appRoleId", "principalId", "resourceId")


def _check_eligible(d: Detected) -> None:
    for i, item in enumerate(d.items):
        _require(d, i, item, "id", "properties", arm_ids=("id",))
        props = item["properties"]
        if not isinstance(props, dict):
            raise _bad(d, i, "field 'properties' must be an object")
        _require(d, i, props, "scope", "roleDefinitionId", "principalId", arm_ids=("scope", "roleDefinitionId"))


def _check_app_settings(d: Detected) -> None:
    _require(d, None, d.content, "id", arm_ids=("id",))
    if not isinstance(d.content.get("properties"), dict):
        raise _bad(d, None, "field 'properties' must be an object (the settings)")


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
    APPLICATIONS: _check_applications,
    APP_FEDERATED_CREDENTIALS: _check_app_federated,
    DIRECTORY_ROLE_DEFINITIONS: _check_directory_definitions,
    DIRECTORY_ROLE_ASSIGNMENTS: _check_directory_assignments,
    DIRECTORY_ROLE_ELIGIBILITIES: _check_directory_assignments,
    APP_ROLE_ASSIGNMENTS: _check_app_role_assignments,
    ELIGIBLE_ASSIGNMENTS: _check_eligible,
    APP_SETTINGS: _check_app_settings,
    EMPTY: lambda _detected: None,
}


# --- assembly ----------------------------------------------------------------------------------


def assemble(detected: list[Detected]) -> AzureRaw:
    """Merge detected files into one tenant's raw answers, in input order.

    Objects listed in several files (the same role definition from two subscriptions, say) are kept
    once, by their id compared case-insensitively (Graph role-assignment ids, which are
    case-sensitive, exactly); a resource, application or service principal listed again adds the
    fields the first listing lacked (``owners`` from a ``$expand`` read, a Logic App's ``state``).
    Every file read is an ``ok`` coverage entry; a file holding one page of several (a next link)
    is also a gap. Inputs naming two management-group trees of different tenants are an error.
    """
    raw = AzureRaw(source="file")
    raw.tenant_id = _tenant(detected)
    merger = _Merger(raw)
    for item in detected:
        merger.add(item)
        target = item.owner if item.kind in (APP_FEDERATED_CREDENTIALS, APP_ROLE_ASSIGNMENTS) else None
        if item.kind == APP_FEDERATED_CREDENTIALS and target is None and item.items:
            target = item.application_of(item.items[0])
        scope = _file_scope(item, raw.tenant_id)
        raw.coverage.append(
            CoverageEntry(
                scope_id=scope,
                source="file",
                service=SERVICES[item.kind],
                operation=str(item.path),
                status=CoverageStatus.OK,
                items=_count(item),
                cloud=Cloud.AZURE,
                covers=COVERS[item.kind],
                target=target,
            )
        )
        if item.next_link:
            raw.coverage.append(
                CoverageEntry(
                    scope_id=scope,
                    source="file",
                    service=SERVICES[item.kind],
                    operation=f"{item.path} (next page)",
                    status=CoverageStatus.ERROR,
                    detail=f"the file holds one page; more are at {item.next_link} (az rest follows no next link)",
                    cloud=Cloud.AZURE,
                    covers=COVERS[item.kind],
                    target=target,
                )
            )
    return raw


class _Merger:
    """Adds detected files to one :class:`AzureRaw`, each object once."""

    def __init__(self, raw: AzureRaw) -> None:
        self.raw = raw
        self.seen: dict[str, set[str]] = {}
        self.merged: dict[tuple[str, str], dict[str, Any]] = {}

    def fresh(self, kind: str, key: str) -> bool:
        keys = self.seen.setdefault(kind, set())
        if key in keys:
            return False
        keys.add(key)
        return True

    def merge(self, kind: str, key: str, entry: dict[str, Any], into: list[dict[str, Any]]) -> None:
        """``entry`` once by ``key``; listed again, it adds the fields the first listing lacked."""
        known = self.merged.get((kind, key))
        if known is None:
            self.merged[(kind, key)] = entry
            into.append(entry)
            return
        for name, value in entry.items():
            known.setdefault(name, value)

    def add(self, item: Detected) -> None:  # noqa: C901 - one branch per format
        raw, kind, entries = self.raw, item.kind, item.items
        if kind == EMPTY:
            return
        if kind == MANAGEMENT_GROUPS:
            raw.management_groups.append(item.content)
        elif kind == DENY_ASSIGNMENTS:
            raw.deny_assignments.extend(e for e in entries if self.fresh(kind, arm(e["id"])))
        elif kind == FEDERATED_CREDENTIALS:
            for cred in entries:
                if self.fresh(kind, arm(cred["id"])):
                    identity = arm(cred["id"]).split(FIC_SEGMENT)[0]
                    raw.federated_credentials.setdefault(identity, []).append(cred)
        elif kind == SERVICE_PRINCIPALS:
            for e in entries:
                self.merge(kind, str(e["id"]).lower(), sanitize_service_principal(e), raw.service_principals)
        elif kind == APPLICATIONS:
            for e in entries:
                self.merge(kind, str(e["id"]).lower(), sanitize_application(e), raw.applications)
        elif kind == APP_FEDERATED_CREDENTIALS:
            for cred in entries:
                app = item.application_of(cred) or ""
                if self.fresh(kind, f"{app}|{str(cred['id']).lower()}"):
                    bucket = raw.application_federated_credentials.setdefault(app, [])
                    bucket.append(sanitize_app_federated_credential(cred))
        elif kind in (DIRECTORY_ROLE_DEFINITIONS, DIRECTORY_ROLE_ASSIGNMENTS, DIRECTORY_ROLE_ELIGIBILITIES):
            fields = {
                DIRECTORY_ROLE_DEFINITIONS: DIRECTORY_ROLE_DEFINITION_FIELDS,
                DIRECTORY_ROLE_ASSIGNMENTS: DIRECTORY_ROLE_ASSIGNMENT_FIELDS,
                DIRECTORY_ROLE_ELIGIBILITIES: DIRECTORY_ROLE_ELIGIBILITY_FIELDS,
            }[kind]
            key = str.lower if kind == DIRECTORY_ROLE_DEFINITIONS else str
            getattr(raw, kind).extend(
                sanitize_graph_object(e, fields) for e in entries if self.fresh(kind, key(str(e["id"])))
            )
        elif kind == APP_ROLE_ASSIGNMENTS:
            raw.app_role_assignments.extend(
                sanitize_graph_object(e, APP_ROLE_ASSIGNMENT_FIELDS) for e in entries if self.fresh(kind, str(e["id"]))
            )
        elif kind == ELIGIBLE_ASSIGNMENTS:
            raw.eligible_assignments.extend(role_eligibility(e) for e in entries if self.fresh(kind, arm(e["id"])))
        elif kind == APP_SETTINGS:
            site = str(item.content["id"])[: -len("/config/appsettings")]
            raw.app_settings[site] = sorted(str(name) for name in item.content["properties"])
        elif kind == RESOURCES:
            for e in entries:
                self.merge(kind, arm(e["id"]), reduce_resource(e), raw.resources)
        elif kind == SUBSCRIPTIONS:
            raw.subscriptions.extend(e for e in entries if self.fresh(kind, str(e["id"]).lower()))
        elif kind == PROVIDER_OPERATIONS:
            raw.provider_operations.extend(e for e in entries if self.fresh(kind, str(e["name"]).lower()))
        elif kind == ROLE_DEFINITIONS:
            raw.role_definitions.extend(
                e for e in entries if self.fresh(kind, f"{str(e.get('id') or '').lower()}|{str(e['name']).lower()}")
            )
        else:
            getattr(raw, kind).extend(e for e in entries if self.fresh(kind, arm(e["id"])))


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
