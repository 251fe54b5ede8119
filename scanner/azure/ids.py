"""Azure Resource Manager ids: case-insensitive, compared and stored lower-cased.

An ARM id names a scope (``/``, a management group, a subscription, a resource group, a resource)
or an extension resource below one (``<scope>/providers/Microsoft.Authorization/roleAssignments/<guid>``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

AUTHORIZATION = "/providers/microsoft.authorization/"
MANAGEMENT_GROUPS = "/providers/microsoft.management/managementgroups/"
BUILTIN_ROLE_PREFIX = "/providers/microsoft.authorization/roledefinitions/"
EVERYONE = "00000000-0000-0000-0000-000000000000"


def arm(value: Any) -> str:
    """The model id of an ARM id: lower-cased, without a trailing slash (``/`` stays ``/``)."""
    if not isinstance(value, str) or not value.startswith("/"):
        raise ValueError(f"not an ARM id: {value!r}")
    text = value.strip().lower()
    return text.rstrip("/") or "/"


def scope_of_extension(resource_id: str) -> str:
    """The scope an authorization object (assignment, definition, deny assignment) sits at."""
    lowered = arm(resource_id)
    index = lowered.find(AUTHORIZATION)
    if index < 0:
        raise ValueError(f"not a Microsoft.Authorization id: {resource_id!r}")
    return lowered[:index] or "/"


def last_segment(value: str) -> str:
    return value.rstrip("/").rsplit("/", 1)[-1].lower()


def scope_kind(scope_id: str) -> str:
    """``tenant`` | ``management_group`` | ``subscription`` | ``resource_group`` | ``resource``.

    Anything else below ``/providers/...`` or ``/subscriptions/<s>/providers/...`` (a tenant- or
    subscription-level extension resource such as ``/providers/Microsoft.aadiam``) is a resource.
    """
    parts = [p for p in scope_id.split("/") if p]
    if not parts:
        return "tenant"
    if scope_id.startswith(MANAGEMENT_GROUPS) and len(parts) == 4:
        return "management_group"
    if parts[0] == "subscriptions" and len(parts) >= 2:
        if len(parts) == 2:
            return "subscription"
        if parts[2] == "resourcegroups" and len(parts) == 4:
            return "resource_group"
        if parts[2] in ("resourcegroups", "providers") and len(parts) > 4:
            return "resource"
    if parts[0] == "providers" and len(parts) >= 2:
        return "resource"
    raise ValueError(f"not an Azure scope: {scope_id!r}")


def derived_parent(scope_id: str) -> str | None:
    """The parent a scope id itself names (a resource's group, subscription or management group,
    a group's subscription); ``None`` for the tenant's direct children and the tenant itself."""
    parts = [p for p in scope_id.split("/") if p]
    kind = scope_kind(scope_id)
    if kind == "resource":
        if parts[0] == "subscriptions":
            return "/" + "/".join(parts[:4] if parts[2] == "resourcegroups" else parts[:2])
        if scope_id.startswith(MANAGEMENT_GROUPS):
            return "/" + "/".join(parts[:4])
        return None
    if kind == "resource_group":
        return "/" + "/".join(parts[:2])
    return None


def parse_time(value: Any) -> datetime | None:
    """ISO 8601 as ARM and Microsoft Graph print it (``Z``, up to 7 fractional digits); naive is UTC."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        text = value.strip()
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        if "." in text:
            head, _, rest = text.partition(".")
            digits = len(rest) - len(rest.lstrip("0123456789"))
            text = f"{head}.{rest[:digits][:6].ljust(6, '0')}{rest[digits:]}"
        parsed = datetime.fromisoformat(text)
    else:
        raise ValueError(f"not a timestamp: {value!r}")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
