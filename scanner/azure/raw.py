"""Raw Azure answers, in the JSON shapes the Azure CLI prints, before normalization.

Export files (``az ... -o json``) and live collection (the Azure SDK, converted to the same
shapes) both produce an :class:`AzureRaw`, so one normalizer serves both. Nothing here holds
secret material: service principals' credentials are reduced to :data:`SP_CREDENTIAL_FIELDS`
when they enter (:func:`sanitize_service_principal`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from models import CoverageEntry

#: The only fields of a ``passwordCredentials`` / ``keyCredentials`` entry ever kept. Anything else
#: (``secretText``, ``key``, ``customKeyIdentifier``) is dropped on the way in.
SP_CREDENTIAL_FIELDS = ("keyId", "displayName", "startDateTime", "endDateTime", "hint", "type", "usage")
SP_FIELDS = (
    "id",
    "appId",
    "displayName",
    "servicePrincipalType",
    "appOwnerOrganizationId",
    "accountEnabled",
    "tags",
)
APP_FIELDS = ("id", "appId", "displayName", "signInAudience", "createdDateTime", "tags")
#: The fields of an app role (``appRoles`` of a service principal) kept: which permission an id names.
APP_ROLE_FIELDS = ("id", "value", "displayName", "isEnabled", "allowedMemberTypes")
#: The fields of a directory object (an owner, an expanded ``principal``) kept.
DIRECTORY_OBJECT_FIELDS = ("@odata.type", "id", "displayName", "userPrincipalName")
#: The fields of an application's federated identity credential kept.
APP_FIC_FIELDS = ("id", "name", "issuer", "subject", "audiences", "description", "claimsMatchingExpression")
#: What ``$expand`` returns at most of a directory-object relationship (owners): a list this long may be cut.
EXPAND_LIMIT = 20
#: The fields of a resource kept from any listing (``az resource list``, ``az vmss list``, ``az logic
#: workflow list``, ``az webapp list``, ...): a Logic App's definition or a site's configuration may hold
#: secrets and is never kept.
RESOURCE_FIELDS = (
    "id",
    "name",
    "type",
    "kind",
    "location",
    "identity",
    "tags",
    "resourceGroup",
    "state",
    "keyVaultReferenceIdentity",
)


def _credentials_metadata(obj: dict[str, Any], out: dict[str, Any]) -> None:
    """The credentials' metadata, for the lists the input has (absent: not read, e.g. ``$select``-ed out)."""
    for key in ("passwordCredentials", "keyCredentials"):
        if key not in obj:
            continue
        creds = obj[key] or []
        if not isinstance(creds, list):
            raise TypeError(f"{key} must be a list")
        out[key] = [{k: c[k] for k in SP_CREDENTIAL_FIELDS if k in c} for c in creds if isinstance(c, dict)]


def directory_object(obj: Any) -> dict[str, Any]:
    """A directory object (``@odata.type``, ``id``, ``displayName``), nothing else."""
    if not isinstance(obj, dict):
        raise TypeError("a directory object must be a JSON object")
    return {k: obj[k] for k in DIRECTORY_OBJECT_FIELDS if k in obj}


def _owners(obj: dict[str, Any], out: dict[str, Any]) -> None:
    """``owners`` as ``$expand=owners`` gives them, when the input has them (absent: not read)."""
    if "owners" not in obj:
        return
    owners = obj["owners"]
    if not isinstance(owners, list):
        raise TypeError("owners must be a list")
    out["owners"] = [directory_object(o) for o in owners]


def sanitize_service_principal(sp: dict[str, Any]) -> dict[str, Any]:
    """A service principal as ``az ad sp list`` prints it, reduced to metadata (no secret text): its
    credentials' metadata, its app roles (what each app-role id means) and, when expanded, its owners."""
    out = {k: sp[k] for k in SP_FIELDS if k in sp}
    _credentials_metadata(sp, out)
    roles = sp.get("appRoles")
    if roles is not None:
        if not isinstance(roles, list):
            raise TypeError("appRoles must be a list")
        out["appRoles"] = [{k: r[k] for k in APP_ROLE_FIELDS if k in r} for r in roles if isinstance(r, dict)]
    _owners(sp, out)
    return out


def sanitize_application(app: dict[str, Any]) -> dict[str, Any]:
    """An application (app registration) as ``az ad app list`` prints it, reduced to its ids, name,
    audience, credentials' metadata and, when expanded, owners."""
    out = {k: app[k] for k in APP_FIELDS if k in app}
    _credentials_metadata(app, out)
    _owners(app, out)
    return out


def sanitize_app_federated_credential(cred: dict[str, Any]) -> dict[str, Any]:
    return {k: cred[k] for k in APP_FIC_FIELDS if k in cred}


DIRECTORY_ROLE_DEFINITION_FIELDS = (
    "id",
    "displayName",
    "description",
    "templateId",
    "isBuiltIn",
    "isEnabled",
    "rolePermissions",
    "resourceScopes",
    "version",
)
DIRECTORY_ROLE_ASSIGNMENT_FIELDS = ("id", "principalId", "roleDefinitionId", "directoryScopeId", "appScopeId")
DIRECTORY_ROLE_ELIGIBILITY_FIELDS = (
    *DIRECTORY_ROLE_ASSIGNMENT_FIELDS,
    "memberType",
    "status",
    "scheduleInfo",
    "createdDateTime",
    "modifiedDateTime",
    "createdUsing",
)
APP_ROLE_ASSIGNMENT_FIELDS = (
    "id",
    "appRoleId",
    "principalId",
    "principalType",
    "principalDisplayName",
    "resourceId",
    "resourceDisplayName",
    "createdDateTime",
    "deletedDateTime",
)


def sanitize_graph_object(item: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    """A Graph object reduced to ``fields``; an expanded ``principal`` to a directory object."""
    out = {k: item[k] for k in fields if k in item}
    if isinstance(item.get("principal"), dict):
        out["principal"] = directory_object(item["principal"])
    return out


def reduce_resource(resource: dict[str, Any]) -> dict[str, Any]:
    """A listed resource, reduced to :data:`RESOURCE_FIELDS` (``keyVaultReferenceIdentity`` from the top
    level, where ``az`` flattens it, or from ``properties``)."""
    out = {k: resource[k] for k in RESOURCE_FIELDS if k in resource}
    props = resource.get("properties")
    if isinstance(props, dict):
        for key in ("keyVaultReferenceIdentity", "state"):
            if key in props and key not in out:
                out[key] = props[key]
    return out


def management_group_body(node: dict[str, Any]) -> dict[str, Any]:
    """A management-group tree node's fields: ARM nests them in ``properties``, ``az`` flattens them."""
    props = node.get("properties")
    return props if isinstance(props, dict) else node


def deny_body(deny: dict[str, Any]) -> dict[str, Any]:
    """A deny assignment's fields: ARM nests them in ``properties``; a flattened copy has them on top."""
    props = deny.get("properties")
    return props if isinstance(props, dict) else deny


def provider_operation_entries(provider: dict[str, Any]) -> list[Any]:
    """Every operation of a provider (``az provider operation show``): its own and its resource types'."""
    ops = list(provider.get("operations") or [])
    for rtype in provider.get("resourceTypes") or []:
        if isinstance(rtype, dict):
            ops += list(rtype.get("operations") or [])
    return ops


@dataclass(kw_only=True)
class AzureRaw:
    """One tenant's answers.

    - ``tenant_id``: the Entra tenant GUID, ``None`` when no input names it.
    - ``management_groups``: trees as ``az account management-group show --expand --recurse``
      prints them (nested ``children``).
    - ``subscriptions``: ``az account list`` entries; ``resource_groups``: ``az group list`` entries.
    - ``role_definitions``: ``az role definition list`` entries; ``role_assignments``:
      ``az role assignment list`` entries; ``deny_assignments``: ARM deny-assignment objects
      (``{"id", "name", "type", "properties": {...}}``).
    - ``identities``: ``az identity list`` entries; ``federated_credentials``: per user-assigned
      identity ARM id (as given), the ``az identity federated-credential list`` entries.
    - ``service_principals``: ``az ad sp list`` entries, sanitized.
    - ``resources``: ``az resource list`` entries (only those with an identity matter).
    - ``applications``: ``az ad app list`` entries, sanitized (with ``owners`` when read with
      ``$expand=owners``); ``application_federated_credentials``: per application object id
      (lower-case), its federated identity credentials (Graph shape).
    - ``owners``: per application or service principal object id (lower-case), its owners read in full
      by a dedicated read (``/owners``); overrides an expanded ``owners`` list, which may be cut at
      :data:`EXPAND_LIMIT`.
    - ``directory_role_definitions`` / ``directory_role_assignments`` / ``directory_role_eligibilities``:
      Microsoft Graph ``unifiedRoleDefinition`` / ``unifiedRoleAssignment`` /
      ``unifiedRoleEligibilitySchedule`` objects (an expanded ``principal`` reduced to a directory object).
    - ``app_role_assignments``: Graph ``appRoleAssignment`` objects (who holds which app role of which
      resource service principal).
    - ``eligible_assignments``: Azure RBAC PIM ``roleEligibilitySchedules``, flattened like ``az role
      assignment list`` entries.
    - ``app_settings``: per web or function app ARM id (as given), the NAMES of its app settings (values
      are never kept).
    - ``group_members``: per Entra group object id (lower-case), its transitive members as Microsoft
      Graph returns them (``{"@odata.type": "#microsoft.graph.user", "id", "displayName"}``); only
      groups whose members were read (live scans; the Azure CLI has no export that names the group).
    - ``provider_operations``: ``az provider operation show/list`` entries: each resource provider's
      operations with ``isDataAction`` (which tells control-plane and data actions apart).
    - ``coverage``: every read (file or API call) and every gap.
    - ``source``: ``file`` or ``api``, for the coverage entries the normalizer adds.
    """

    tenant_id: str | None = None
    management_groups: list[dict[str, Any]] = field(default_factory=list)
    subscriptions: list[dict[str, Any]] = field(default_factory=list)
    resource_groups: list[dict[str, Any]] = field(default_factory=list)
    role_definitions: list[dict[str, Any]] = field(default_factory=list)
    role_assignments: list[dict[str, Any]] = field(default_factory=list)
    deny_assignments: list[dict[str, Any]] = field(default_factory=list)
    identities: list[dict[str, Any]] = field(default_factory=list)
    federated_credentials: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    service_principals: list[dict[str, Any]] = field(default_factory=list)
    resources: list[dict[str, Any]] = field(default_factory=list)
    provider_operations: list[dict[str, Any]] = field(default_factory=list)
    group_members: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    applications: list[dict[str, Any]] = field(default_factory=list)
    application_federated_credentials: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    owners: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    directory_role_definitions: list[dict[str, Any]] = field(default_factory=list)
    directory_role_assignments: list[dict[str, Any]] = field(default_factory=list)
    directory_role_eligibilities: list[dict[str, Any]] = field(default_factory=list)
    app_role_assignments: list[dict[str, Any]] = field(default_factory=list)
    eligible_assignments: list[dict[str, Any]] = field(default_factory=list)
    app_settings: dict[str, list[str]] = field(default_factory=dict)
    coverage: list[CoverageEntry] = field(default_factory=list)
    source: str = "file"
