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
SP_FIELDS = ("id", "appId", "displayName", "servicePrincipalType", "appOwnerOrganizationId", "accountEnabled")


def sanitize_service_principal(sp: dict[str, Any]) -> dict[str, Any]:
    """A service principal as ``az ad sp list`` prints it, reduced to metadata (no secret text)."""
    out = {k: sp[k] for k in SP_FIELDS if k in sp}
    for key in ("passwordCredentials", "keyCredentials"):
        creds = sp.get(key) or []
        if not isinstance(creds, list):
            raise TypeError(f"{key} must be a list")
        out[key] = [{k: c[k] for k in SP_CREDENTIAL_FIELDS if k in c} for c in creds if isinstance(c, dict)]
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
    coverage: list[CoverageEntry] = field(default_factory=list)
    source: str = "file"
