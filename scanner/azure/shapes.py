"""ARM and Microsoft Graph REST objects -> the JSON shapes the Azure CLI prints (``-o json``).

Live collection reads REST objects through the SDK; export files hold what ``az`` prints, which
flattens ``properties`` into the object. Converting here lets one normalizer read both.
"""

from __future__ import annotations

from typing import Any

from scanner.azure.raw import management_group_body, sanitize_service_principal


def rest_json(model: Any) -> dict[str, Any]:
    """The REST JSON of an SDK model: msrest models serialize, TypeSpec models are mappings already."""
    if isinstance(model, dict):
        return dict(model)
    serialize = getattr(model, "serialize", None)
    if callable(serialize):
        return dict(serialize(keep_readonly=True))
    as_dict = getattr(model, "as_dict", None)
    if callable(as_dict):
        return dict(as_dict())
    raise TypeError(f"cannot read {type(model).__name__} as JSON")


def _resource_group(resource_id: str) -> str | None:
    parts = resource_id.split("/")
    return parts[4] if len(parts) > 4 and parts[3].lower() == "resourcegroups" else None


def _flat(obj: dict[str, Any], *keep: str) -> dict[str, Any]:
    out = {k: obj[k] for k in ("id", "name", "type", *keep) if k in obj}
    out.update(obj.get("properties") or {})
    return out


def role_assignment(obj: dict[str, Any]) -> dict[str, Any]:
    """As ``az role assignment list`` prints it (without the names az looks up in Graph)."""
    out = _flat(obj)
    out.setdefault("condition", None)
    out.setdefault("conditionVersion", None)
    return out


def role_eligibility(obj: dict[str, Any]) -> dict[str, Any]:
    """A PIM ``roleEligibilitySchedules`` object flattened like an ``az role assignment list`` entry
    (``properties`` on top, ``expandedProperties`` dropped), so that it reads as the assignment its
    activation would create; ``status``, ``memberType``, ``startDateTime`` / ``endDateTime`` kept."""
    out = _flat(obj)
    out.pop("expandedProperties", None)
    out.setdefault("condition", None)
    out.setdefault("conditionVersion", None)
    return out


def role_definition(obj: dict[str, Any]) -> dict[str, Any]:
    """As ``az role definition list`` prints it: ``properties.type`` becomes ``roleType``."""
    props = dict(obj.get("properties") or {})
    out: dict[str, Any] = {k: obj[k] for k in ("id", "name", "type") if k in obj}
    out["roleType"] = props.pop("type", None)
    out.update(props)
    return out


def deny_assignment(obj: dict[str, Any]) -> dict[str, Any]:
    """``az rest`` prints deny assignments as ARM returns them: nothing to change."""
    return obj


def identity(obj: dict[str, Any]) -> dict[str, Any]:
    """As ``az identity list`` prints it."""
    out = _flat(obj, "location", "tags")
    out["resourceGroup"] = _resource_group(str(obj.get("id", "")))
    return out


def federated_credential(obj: dict[str, Any]) -> dict[str, Any]:
    """As ``az identity federated-credential list`` prints it."""
    out = _flat(obj)
    out["resourceGroup"] = _resource_group(str(obj.get("id", "")))
    return out


def resource(obj: dict[str, Any]) -> dict[str, Any]:
    """As ``az resource list`` prints it (``identity`` is ``null`` when the resource has none)."""
    out = {k: obj.get(k) for k in ("id", "name", "type", "kind", "location", "identity", "tags")}
    out["resourceGroup"] = _resource_group(str(obj.get("id", "")))
    return out


def site(obj: dict[str, Any]) -> dict[str, Any]:
    """A ``Microsoft.Web/sites`` object as ``az webapp list`` prints what iamdrift keeps of it: the
    resource fields and ``keyVaultReferenceIdentity`` (``properties`` flattened; nothing else)."""
    out = resource(obj)
    props = obj.get("properties") or {}
    if isinstance(props, dict) and props.get("keyVaultReferenceIdentity"):
        out["keyVaultReferenceIdentity"] = props["keyVaultReferenceIdentity"]
    return out


def resource_group(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: obj.get(k) for k in ("id", "name", "type", "location", "properties", "tags", "managedBy")}


def subscription(obj: dict[str, Any]) -> dict[str, Any]:
    """As ``az account list`` prints it: ``id`` is the GUID, ``name`` the display name."""
    return {
        "id": obj.get("subscriptionId") or str(obj.get("id", "")).rsplit("/", 1)[-1],
        "name": obj.get("displayName"),
        "state": obj.get("state"),
        "tenantId": obj.get("tenantId"),
        "tags": obj.get("tags"),
    }


def management_group(obj: dict[str, Any]) -> dict[str, Any]:
    """As ``az account management-group show --expand --recurse`` prints it (children nested)."""
    body = management_group_body(obj)
    out: dict[str, Any] = {k: obj.get(k) for k in ("id", "name", "type")}
    out["displayName"] = body.get("displayName")
    if body.get("tenantId"):
        out["tenantId"] = body["tenantId"]
    children = body.get("children")
    out["children"] = [management_group(c) for c in children] if children else None
    return out


def service_principal(obj: dict[str, Any]) -> dict[str, Any]:
    """A Graph servicePrincipal, reduced to what ``az ad sp list`` shows of it, minus any secret."""
    return sanitize_service_principal(obj)
