"""Microsoft Entra service principal sign-in activity: when each application's service principal
last signed in, per context (Microsoft Graph beta ``GET /reports/servicePrincipalSignInActivities``).

Semantics (Graph docs, servicePrincipalSignInActivity, a beta report): each item names the
application by ``appId`` and carries up to five ``signInActivity`` objects, each with a
``lastSignInDateTime``: ``lastSignInActivity`` (any), ``delegatedClientSignInActivity`` /
``delegatedResourceSignInActivity`` (on behalf of a user, as client or as resource) and
``applicationAuthenticationClientSignInActivity`` / ``applicationAuthenticationResourceSignInActivity``
(app-only). The report states no tracking window, so ``tracked_since`` is ``None`` and a context
without a date proves nothing (``Usage.used`` is ``None``); during the preview a date may stem from
a partial sign-in. Reading it needs ``AuditLog.Read.All`` and a Microsoft Entra ID P1 or P2 license;
a 403 is a gap saying so, never "no sign-ins". A service principal the report does not list has
no record.

Records name the service principal by object id when the scan read the tenant's service
principals (their ``appId``), else ``azure-app:<appId>``.

Files: what ``az rest --method get --url https://graph.microsoft.com/beta/reports/servicePrincipalSignInActivities``
prints (``{"@odata.context": ..., "value": [...]}``; follow ``@odata.nextLink`` and put every page's
items in one ``value``, or keep one file per page). The tenant is not in the answer: it is taken
from the scan's other Azure files when they name exactly one tenant.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ServiceRequestError
from azure.core.rest import HttpRequest

from models import Cloud, CoverageStatus, Covers, PrincipalKind, ScopeKind, Usage, UsageKind
from scanner.errors import BadInputError, ScanError
from scanner.normalized import Normalized, usage_coverage

if TYPE_CHECKING:
    from scanner.azure.clients import AzureClients

SERVICE = "graph"
OPERATION = "reports.servicePrincipalSignInActivities"
PATH = "/beta/reports/servicePrincipalSignInActivities"
CONTEXTS = (
    "lastSignInActivity",
    "delegatedClientSignInActivity",
    "delegatedResourceSignInActivity",
    "applicationAuthenticationClientSignInActivity",
    "applicationAuthenticationResourceSignInActivity",
)
APP_PREFIX = "azure-app:"
UNKNOWN_TENANT = "/"
DENIED_DETAIL = (
    "needs the AuditLog.Read.All permission (application or delegated, with a supported Entra role) and a "
    "Microsoft Entra ID P1 or P2 license in the tenant"
)
WHAT_COUNTS = "last sign-in in this context (beta report; may include partial sign-ins; no tracking window stated)"


def _time(value: Any, where: str) -> datetime | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise ValueError(f"{where} is not a timestamp: {value!r}")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{where} is not an ISO 8601 timestamp: {value!r}") from None
    if parsed.tzinfo is None:
        raise ValueError(f"{where} has no time zone: {value!r}")
    return parsed


_coverage = partial(usage_coverage, Cloud.AZURE, SERVICE)


def normalize_activities(
    items: Sequence[Any], *, tenant: str, source: str, origin: str, principals: Mapping[str, str] | None = None
) -> list[Usage]:
    """One record per sign-in context each item carries. ``principals`` maps lower-case appIds to
    service principal object ids. ``ValueError`` names the item that is not of the shape."""
    out: list[Usage] = []
    for i, item in enumerate(items):
        where = f"value[{i}]"
        if not isinstance(item, dict) or not isinstance(item.get("appId"), str) or not item["appId"]:
            raise ValueError(f"{where} has no appId")
        app_id = item["appId"].lower()
        principal = (principals or {}).get(app_id) or f"{APP_PREFIX}{app_id}"
        for context in CONTEXTS:
            if context not in item:
                continue
            body = item[context]
            if body is not None and not isinstance(body, dict):
                raise ValueError(f"{where}.{context} is not an object")
            out.append(
                Usage(
                    principal_id=principal,
                    cloud=Cloud.AZURE,
                    kind=UsageKind.AUTHENTICATION,
                    subject=context,
                    scope_id=tenant,
                    source=source,
                    origin=origin,
                    last_used=_time((body or {}).get("lastSignInDateTime"), f"{where}.{context}.lastSignInDateTime"),
                    native_id=app_id,
                    detail=WHAT_COUNTS,
                )
            )
    return out


def resolve(part: Normalized) -> None:
    """Name file-read records by the service principals and tenant the same scan read: an
    ``azure-app:<appId>`` record becomes the object id of the service principal with that appId,
    and records and coverage of the unknown tenant take the scan's one Azure tenant, if it has one."""
    by_app = {
        p.attributes["appId"].lower(): p.id
        for p in part.principals
        if p.cloud is Cloud.AZURE and p.kind is PrincipalKind.AZURE_SERVICE_PRINCIPAL and p.attributes.get("appId")
    }
    tenants = {s.id for s in part.scopes if s.cloud is Cloud.AZURE and s.kind is ScopeKind.TENANT}
    tenant = next(iter(tenants)) if len(tenants) == 1 else None
    for i, record in enumerate(part.usage):
        if record.cloud is not Cloud.AZURE:
            continue
        principal = record.principal_id
        if principal.startswith(APP_PREFIX):
            principal = by_app.get(principal.removeprefix(APP_PREFIX), principal)
        scope = tenant if tenant and record.scope_id == UNKNOWN_TENANT else record.scope_id
        part.usage[i] = replace(record, principal_id=principal, scope_id=scope)
    if tenant:
        part.coverage[:] = [
            replace(e, scope_id=tenant)
            if e.cloud is Cloud.AZURE and e.scope_id == UNKNOWN_TENANT and Covers.USAGE in e.covers
            else e
            for e in part.coverage
        ]


# --- files ------------------------------------------------------------------------------------


def detect(path: Path, text: str) -> Normalized | None:
    """The records of a sign-in activity file, ``None`` if it is not one; a malformed one raises
    :class:`BadInputError` naming the file."""
    if "SignInActivit" not in text:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("value"), list):
        return None
    context = str(data.get("@odata.context") or "")
    items = data["value"]
    ours = "servicePrincipalSignInActivities" in context or (
        bool(items) and all(isinstance(v, dict) and any(c in v for c in CONTEXTS) for v in items)
    )
    if not ours:
        return None
    try:
        records = normalize_activities(items, tenant=UNKNOWN_TENANT, source="file", origin=str(path))
    except ValueError as exc:
        raise BadInputError(f"{path}: not a usable servicePrincipalSignInActivities export ({exc})") from exc
    return Normalized(
        usage=records, coverage=[_coverage(UNKNOWN_TENANT, "file", str(path), CoverageStatus.OK, items=len(items))]
    )


# --- live -------------------------------------------------------------------------------------


def collect(
    clients: AzureClients, tenant: str | None, service_principals: Iterable[Mapping[str, Any]] = ()
) -> Normalized:
    """Every page of the report through the scan's Microsoft Graph pipeline. A 403 (the caller
    lacks AuditLog.Read.All, or the tenant has no Entra ID P1/P2), 429 or other error is one gap;
    rejected credentials (401) or an unreachable endpoint raise :class:`ScanError`."""
    scope = tenant or UNKNOWN_TENANT
    principals = {
        str(p.get("appId") or "").lower(): str(p["id"]) for p in service_principals if p.get("appId") and p.get("id")
    }
    url = f"{clients.graph_url.rstrip('/')}{PATH}"
    items: list[Any] = []
    try:
        while url:
            response = clients.graph().send_request(HttpRequest("GET", url))
            if response.status_code == 401:
                raise ClientAuthenticationError(response=response)
            response.raise_for_status()
            body = response.json()
            items.extend(body.get("value") or [])
            url = str(body.get("@odata.nextLink") or "")
    except ClientAuthenticationError as exc:
        raise ScanError(f"Azure rejected the credentials at {SERVICE} {OPERATION}; sign in again (`az login`)") from exc
    except ServiceRequestError as exc:
        raise ScanError(f"cannot reach Microsoft Graph for {OPERATION}: {exc}") from exc
    except HttpResponseError as exc:
        code = exc.status_code
        status = {403: CoverageStatus.DENIED, 429: CoverageStatus.THROTTLED}.get(code or 0, CoverageStatus.ERROR)
        why = f": {DENIED_DETAIL}" if code == 403 else ""
        message = str(getattr(getattr(exc, "error", None), "message", "") or exc.reason or "")
        out = Normalized()
        out.coverage.append(_coverage(scope, "api", OPERATION, status, detail=f"HTTP {code}{why} ({message})"))
        return out
    try:
        records = normalize_activities(items, tenant=scope, source="api", origin=OPERATION, principals=principals)
    except ValueError as exc:
        return Normalized(
            coverage=[_coverage(scope, "api", OPERATION, CoverageStatus.ERROR, detail=f"unexpected answer: {exc}")]
        )
    return Normalized(usage=records, coverage=[_coverage(scope, "api", OPERATION, CoverageStatus.OK, items=len(items))])
