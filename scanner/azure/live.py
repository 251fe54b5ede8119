"""Live Azure collection through the Azure SDK: list and get calls only.

Order: list the subscriptions (``GET /subscriptions``) and pick the ones to scan; read the
management-group tree of the tenant (``managementGroups.get <tenant id> $expand=children
$recurse=true``); then, per subscription, resource groups, resources (with their identities), role
definitions, role assignments (``listForSubscription``: assignments at, below and above the
subscription), deny assignments, user-assigned identities and each identity's federated
credentials; then the operations catalog (``providerOperations.get``, with ``isDataAction``) of
every resource-provider namespace those roles, deny assignments and resources name; last, service
principals with their secret and certificate metadata from Microsoft Graph (``GET
/v1.0/servicePrincipals?$select=...``), and the transitive members of every group an assignment or
deny assignment names (``GET /v1.0/groups/{id}/transitiveMembers``).

Every read is a coverage entry. A read the caller may not do (403), a missing object (404) or any
other error the service answers is a gap and the scan goes on. Credentials that cannot get a token
or that the service rejects (401) stop the scan with :class:`ScanError`, as does an endpoint that
cannot be reached. The answers are converted to the JSON shapes the Azure CLI prints
(:mod:`scanner.azure.shapes`) so :func:`scanner.azure.normalize.normalize_azure` reads both.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from typing import Any, TypeVar
from urllib.parse import urlencode

from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ServiceRequestError
from azure.core.rest import HttpRequest

from models import Cloud, CoverageEntry, CoverageStatus, Covers, Snapshot
from scanner.azure import shapes
from scanner.azure.clients import AzureClients
from scanner.azure.ids import arm
from scanner.azure.normalize import normalize_azure
from scanner.azure.raw import (
    APP_ROLE_ASSIGNMENT_FIELDS,
    DIRECTORY_ROLE_ASSIGNMENT_FIELDS,
    DIRECTORY_ROLE_DEFINITION_FIELDS,
    DIRECTORY_ROLE_ELIGIBILITY_FIELDS,
    EXPAND_LIMIT,
    AzureRaw,
    deny_body,
    directory_object,
    management_group_body,
    sanitize_app_federated_credential,
    sanitize_application,
    sanitize_graph_object,
)
from scanner.azure.usage import collect as collect_usage
from scanner.errors import ScanError

T = TypeVar("T")
Progress = Callable[[str], None]

SUBSCRIPTIONS_API_VERSION = "2022-12-01"
GRAPH_MEMBER_FIELDS = ("@odata.type", "id", "displayName")
GRAPH_SP_SELECT = (
    "id,appId,displayName,servicePrincipalType,appOwnerOrganizationId,passwordCredentials,keyCredentials,appRoles"
)
GRAPH_APP_SELECT = "id,appId,displayName,signInAudience,createdDateTime,passwordCredentials,keyCredentials"
GRAPH_OWNERS = "owners"
WEB_API_VERSION = "2022-03-01"
#: The resource applications whose app roles (application permissions) can manage the directory:
#: Microsoft Graph and Azure AD Graph. Who holds their app roles is read in full.
DIRECTORY_APIS = {
    "00000003-0000-0000-c000-000000000000": "Microsoft Graph",
    "00000002-0000-0000-c000-000000000000": "Azure AD Graph",
}


class _Recorder:
    """Runs each read, turning a failed one into a gap; authentication failures stop the scan."""

    def __init__(self) -> None:
        self.entries: list[CoverageEntry] = []

    def read(
        self,
        scope_id: str,
        service: str,
        operation: str,
        fetch: Callable[[], Iterable[T]],
        *,
        covers: tuple[Covers, ...],
        target: str | None = None,
    ) -> list[T] | None:
        """All items ``fetch`` yields (every page), or ``None`` if the read failed (a gap is
        recorded). ``covers`` says what kind of data the read yields, ``target`` the one object it
        is about (a group, an identity), so that a gap is matched by structure."""
        try:
            items = list(fetch())
        except ClientAuthenticationError as exc:
            raise ScanError(
                f"Azure rejected the credentials at {service} {operation}: {_first_line(exc).rstrip('.')}; "
                "sign in again (`az login`) or fix the service principal's credentials"
            ) from exc
        except ServiceRequestError as exc:
            raise ScanError(f"cannot reach Azure for {service} {operation}: {_first_line(exc)}") from exc
        except HttpResponseError as exc:
            self.entries.append(
                CoverageEntry(
                    scope_id=scope_id,
                    source="api",
                    service=service,
                    operation=operation,
                    status=_status(exc.status_code),
                    detail=f"HTTP {exc.status_code}: {_error_text(exc)}",
                    cloud=Cloud.AZURE,
                    covers=covers,
                    target=target,
                )
            )
            return None
        self.entries.append(
            CoverageEntry(
                scope_id=scope_id,
                source="api",
                service=service,
                operation=operation,
                status=CoverageStatus.OK,
                items=len(items),
                cloud=Cloud.AZURE,
                covers=covers,
                target=target,
            )
        )
        return items


def collect_azure(
    clients: AzureClients,
    *,
    subscriptions: Sequence[str] | None = None,
    all_subscriptions: bool = False,
    progress: Progress | None = None,
) -> AzureRaw:
    """Read one tenant's IAM through the SDK into an :class:`AzureRaw` (``source="api"``).

    ``subscriptions`` names the subscription GUIDs to scan; ``all_subscriptions`` scans every
    enabled one the caller can list; with neither, the caller must see exactly one subscription.
    """
    rec = _Recorder()
    raw = AzureRaw(source="api")
    say = progress or (lambda _message: None)

    say("subscriptions")
    listed = rec.read(
        "/", "resources", "subscriptions.list", lambda: _list_subscriptions(clients), covers=(Covers.ORGANIZATION,)
    )
    if listed is not None:
        raw.subscriptions = [shapes.subscription(s) for s in listed]
    targets = _pick(raw.subscriptions, listed is not None, subscriptions, all_subscriptions)
    known = {str(s["id"]).lower() for s in raw.subscriptions}
    raw.tenant_id = _tenant(raw.subscriptions, targets)
    tenant_scope = raw.tenant_id or "/"

    if raw.tenant_id:
        say("management groups")
        tree = rec.read(
            tenant_scope,
            "managementgroups",
            f"managementGroups.get {raw.tenant_id}",
            lambda: [
                clients.management_groups().management_groups.get(raw.tenant_id or "", expand="children", recurse=True)
            ],
            covers=(Covers.ORGANIZATION,),
        )
        if tree:
            raw.management_groups.append(shapes.management_group(shapes.rest_json(tree[0])))

    for sub in targets:
        if sub.lower() not in known:
            raw.subscriptions.append({"id": sub, "name": sub, "tenantId": raw.tenant_id, "state": None})
        say(f"subscription {sub}")
        _subscription(clients, rec, raw, sub)
    _not_scanned(rec, raw, targets)

    if targets:
        say("provider operations")
        authorization = clients.authorization(targets[0])
        for namespace in namespaces_in_use(raw):
            operations = rec.read(
                tenant_scope,
                "authorization",
                f"providerOperations.get {namespace}",
                lambda namespace=namespace: [authorization.provider_operations_metadata.get(namespace)],  # type: ignore[misc]
                covers=(Covers.OPERATIONS,),
            )
            raw.provider_operations.extend(shapes.rest_json(o) for o in operations or [])

    say("service principals (Microsoft Graph)")
    principals = rec.read(
        tenant_scope,
        "graph",
        "servicePrincipals.list",
        lambda: _graph_service_principals(clients),
        covers=(Covers.PRINCIPALS, Covers.CREDENTIALS),
    )
    if principals is not None:
        raw.service_principals = [shapes.service_principal(p) for p in principals]
    _entra(clients, rec, raw, tenant_scope, say)
    groups = groups_named(raw)
    if groups:
        say(f"group memberships (Microsoft Graph, {len(groups)} groups)")
    for group in groups:
        members = rec.read(
            tenant_scope,
            "graph",
            f"groups.transitiveMembers {group}",
            lambda group=group: _graph_transitive_members(clients, group),  # type: ignore[misc]
            covers=(Covers.GROUP_MEMBERS,),
            target=group,
        )
        if members is not None:
            raw.group_members[group] = [{k: m.get(k) for k in GRAPH_MEMBER_FIELDS if k in m} for m in members]
    # Subscriptions were listed before the tenant was known.
    raw.coverage = [replace(e, scope_id=tenant_scope) if e.scope_id == "/" else e for e in rec.entries]
    return raw


def scan_live(
    clients: AzureClients,
    *,
    subscriptions: Sequence[str] | None = None,
    all_subscriptions: bool = False,
    label: str = "",
    progress: Progress | None = None,
    usage: bool = False,
) -> Snapshot:
    """:func:`collect_azure`, normalized into a snapshot (not stored: the caller stores it). ``usage``
    also reads the service principals' sign-in activity (:mod:`scanner.azure.usage`)."""
    raw = collect_azure(clients, subscriptions=subscriptions, all_subscriptions=all_subscriptions, progress=progress)
    if progress:
        progress("normalizing")
    parts = normalize_azure(raw)
    if usage:
        used = collect_usage(clients, raw.tenant_id, raw.service_principals)
        parts.usage.extend(used.usage)
        parts.coverage.extend(used.coverage)
    return parts.to_snapshot(source="live", label=label, meta={"azure_tenant": raw.tenant_id or ""})


def _subscription(clients: AzureClients, rec: _Recorder, raw: AzureRaw, sub: str) -> None:
    scope = f"/subscriptions/{sub}".lower()
    resources = clients.resources(sub)
    authorization = clients.authorization(sub)
    msi = clients.msi(sub)

    groups = rec.read(
        scope,
        "resources",
        "resourceGroups.list",
        lambda: resources.resource_groups.list(),
        covers=(Covers.ORGANIZATION,),
    )
    raw.resource_groups.extend(shapes.resource_group(shapes.rest_json(g)) for g in groups or [])
    listed = rec.read(
        scope,
        "resources",
        "resources.list",
        lambda: resources.resources.list(),
        covers=(Covers.RESOURCES, Covers.WORKLOADS),
    )
    raw.resources.extend(shapes.resource(shapes.rest_json(r)) for r in listed or [])

    definitions = rec.read(
        scope,
        "authorization",
        "roleDefinitions.list",
        lambda: authorization.role_definitions.list(scope=scope.lstrip("/")),
        covers=(Covers.ROLES,),
    )
    raw.role_definitions.extend(shapes.role_definition(shapes.rest_json(d)) for d in definitions or [])
    assignments = rec.read(
        scope,
        "authorization",
        "roleAssignments.listForSubscription",
        lambda: authorization.role_assignments.list_for_subscription(),
        covers=(Covers.ASSIGNMENTS,),
    )
    raw.role_assignments.extend(shapes.role_assignment(shapes.rest_json(a)) for a in assignments or [])
    denies = rec.read(
        scope,
        "authorization",
        "denyAssignments.list",
        lambda: authorization.deny_assignments.list(),
        covers=(Covers.DENY_ASSIGNMENTS,),
    )
    raw.deny_assignments.extend(shapes.deny_assignment(shapes.rest_json(d)) for d in denies or [])
    eligible = rec.read(
        scope,
        "authorization",
        "roleEligibilitySchedules.listForScope",
        lambda: authorization.role_eligibility_schedules.list_for_scope(scope.lstrip("/")),
        covers=(Covers.ELIGIBLE_ASSIGNMENTS,),
    )
    raw.eligible_assignments.extend(shapes.role_eligibility(shapes.rest_json(e)) for e in eligible or [])
    sites = rec.read(
        scope,
        "web",
        "sites.list",
        lambda: _pages(
            resources,
            f"{scope}/providers/Microsoft.Web/sites?{urlencode({'api-version': WEB_API_VERSION})}",
            "nextLink",
        ),
        covers=(Covers.WORKLOADS,),
    )
    listed_ids = {arm(r["id"]): r for r in raw.resources if r.get("id")}
    for item in sites or []:
        site = shapes.site(item)
        known = listed_ids.get(arm(site["id"]))
        if known is None:
            raw.resources.append(site)
        elif site.get("keyVaultReferenceIdentity"):
            known["keyVaultReferenceIdentity"] = site["keyVaultReferenceIdentity"]

    identities = rec.read(
        scope,
        "managedidentity",
        "userAssignedIdentities.listBySubscription",
        lambda: msi.user_assigned_identities.list_by_subscription(),
        covers=(Covers.PRINCIPALS, Covers.WORKLOADS),
    )
    for item in identities or []:
        identity = shapes.identity(shapes.rest_json(item))
        raw.identities.append(identity)
        identity_id = str(identity["id"])
        group, name = str(identity.get("resourceGroup") or ""), str(identity["name"])
        credentials = rec.read(
            scope,
            "managedidentity",
            f"federatedIdentityCredentials.list {arm(identity_id)}",
            lambda group=group, name=name: msi.federated_identity_credentials.list(group, name),  # type: ignore[misc]
            covers=(Covers.CREDENTIALS,),
            target=arm(identity_id),
        )
        if credentials is not None:
            raw.federated_credentials[identity_id] = [
                shapes.federated_credential(shapes.rest_json(c)) for c in credentials
            ]


def _entra(clients: AzureClients, rec: _Recorder, raw: AzureRaw, tenant_scope: str, say: Progress) -> None:
    """Applications, owners, federated credentials of applications, directory roles and app roles."""
    graph = clients.graph_url.rstrip("/") + "/v1.0"
    say("applications (Microsoft Graph)")
    apps = rec.read(
        tenant_scope,
        "graph",
        "applications.list",
        lambda: _pages(
            clients.graph(), f"{graph}/applications?{urlencode({'$select': GRAPH_APP_SELECT})}", "@odata.nextLink"
        ),
        covers=(Covers.PRINCIPALS, Covers.CREDENTIALS),
    )
    raw.applications = [sanitize_application(a) for a in apps or []]
    say("owners of applications and service principals (Microsoft Graph)")
    for kind, objects in (("applications", raw.applications), ("servicePrincipals", raw.service_principals)):
        _owners(clients, rec, raw, tenant_scope, graph, kind, objects)
    for app in raw.applications:
        oid = str(app["id"]).lower()
        creds = rec.read(
            tenant_scope,
            "graph",
            f"applications.federatedIdentityCredentials {oid}",
            lambda oid=oid: _pages(  # type: ignore[misc]
                clients.graph(), f"{graph}/applications/{oid}/federatedIdentityCredentials", "@odata.nextLink"
            ),
            covers=(Covers.CREDENTIALS,),
            target=oid,
        )
        if creds is not None:
            raw.application_federated_credentials[oid] = [sanitize_app_federated_credential(c) for c in creds]
    say("directory roles (Microsoft Graph)")
    for name, path, fields, target in (
        ("roleDefinitions", "roleDefinitions", DIRECTORY_ROLE_DEFINITION_FIELDS, raw.directory_role_definitions),
        (
            "roleAssignments",
            "roleAssignments?$expand=principal",
            DIRECTORY_ROLE_ASSIGNMENT_FIELDS,
            raw.directory_role_assignments,
        ),
        (
            "roleEligibilitySchedules",
            "roleEligibilitySchedules?$expand=principal",
            DIRECTORY_ROLE_ELIGIBILITY_FIELDS,
            raw.directory_role_eligibilities,
        ),
    ):
        items = rec.read(
            tenant_scope,
            "graph",
            f"roleManagement.directory.{name}.list",
            lambda path=path: _pages(  # type: ignore[misc]
                clients.graph(), f"{graph}/roleManagement/directory/{path}", "@odata.nextLink"
            ),
            covers=(Covers.ENTRA_ROLES,),
        )
        target.extend(sanitize_graph_object(i, fields) for i in items or [])
    _app_role_holders(clients, rec, raw, tenant_scope, graph)


def _owners(
    clients: AzureClients,
    rec: _Recorder,
    raw: AzureRaw,
    tenant_scope: str,
    graph: str,
    kind: str,
    objects: list[dict[str, Any]],
) -> None:
    """Owners of every application or service principal: one ``$expand=owners`` read (apart from the
    object list, so that a refused expansion costs the owners only), then a full ``/owners`` read of
    each object whose expanded list may have been cut at :data:`EXPAND_LIMIT`. Objects whose owners
    were not read keep no ``owners`` (not collected)."""
    if not objects:
        return
    query = urlencode({"$select": "id", "$expand": GRAPH_OWNERS})
    listed = rec.read(
        tenant_scope,
        "graph",
        f"{kind}.list $expand=owners",
        lambda: _pages(clients.graph(), f"{graph}/{kind}?{query}", "@odata.nextLink"),
        covers=(Covers.OWNERS,),
    )
    by_id = {str(o["id"]).lower(): o for o in objects}
    for item in listed or []:
        target = by_id.get(str(item.get("id") or "").lower())
        if target is not None and isinstance(item.get("owners"), list):
            target["owners"] = [directory_object(o) for o in item["owners"]]
    for oid, obj in by_id.items():
        if len(obj.get("owners") or []) < EXPAND_LIMIT:
            continue
        owners = rec.read(
            tenant_scope,
            "graph",
            f"{kind}.owners {oid}",
            lambda oid=oid: _pages(clients.graph(), f"{graph}/{kind}/{oid}/owners", "@odata.nextLink"),  # type: ignore[misc]
            covers=(Covers.OWNERS,),
            target=oid,
        )
        if owners is not None:
            raw.owners[oid] = [directory_object(o) for o in owners]


def _app_role_holders(clients: AzureClients, rec: _Recorder, raw: AzureRaw, tenant_scope: str, graph: str) -> None:
    """Who holds the app roles of each directory API (:data:`DIRECTORY_APIS`) the tenant has."""
    by_app = {str(sp.get("appId") or "").lower(): str(sp["id"]).lower() for sp in raw.service_principals}
    for app_id, label in DIRECTORY_APIS.items():
        sp = by_app.get(app_id)
        if sp is None:
            if not raw.service_principals and app_id == next(iter(DIRECTORY_APIS)):
                rec.entries.append(
                    CoverageEntry(
                        scope_id=tenant_scope,
                        source="api",
                        service="graph",
                        operation=f"servicePrincipals.appRoleAssignedTo ({label})",
                        status=CoverageStatus.ERROR,
                        detail="service principals were not listed: who holds Graph permissions is unknown",
                        cloud=Cloud.AZURE,
                        covers=(Covers.APP_ROLES,),
                    )
                )
            continue
        holders = rec.read(
            tenant_scope,
            "graph",
            f"servicePrincipals.appRoleAssignedTo {sp}",
            lambda sp=sp: _pages(  # type: ignore[misc]
                clients.graph(), f"{graph}/servicePrincipals/{sp}/appRoleAssignedTo", "@odata.nextLink"
            ),
            covers=(Covers.APP_ROLES,),
            target=sp,
        )
        raw.app_role_assignments.extend(sanitize_graph_object(h, APP_ROLE_ASSIGNMENT_FIELDS) for h in holders or [])


def namespaces_in_use(raw: AzureRaw) -> list[str]:
    """The resource-provider namespaces the collected roles, deny assignments and resources name
    (``Microsoft.Storage`` of ``Microsoft.Storage/storageAccounts/read``; patterns whose namespace has
    a wildcard name none), first spelling of each, sorted case-insensitively."""
    found: dict[str, str] = {}

    def add(text: Any) -> None:
        namespace = str(text or "").split("/", 1)[0].strip()
        if namespace and "*" not in namespace and "." in namespace:
            found.setdefault(namespace.lower(), namespace)

    blocks = [b for d in raw.role_definitions for b in d.get("permissions") or []]
    blocks += [b for d in raw.deny_assignments for b in deny_body(d).get("permissions") or []]
    for block in blocks:
        for key in ("actions", "notActions", "dataActions", "notDataActions"):
            for pattern in block.get(key) or [] if isinstance(block, dict) else []:
                add(pattern)
    for resource in raw.resources:
        add(resource.get("type"))
    return [found[k] for k in sorted(found)]


def _list_subscriptions(clients: AzureClients) -> Iterable[dict[str, Any]]:
    """``GET /subscriptions`` through the Resource Manager pipeline, every page."""
    url = f"/subscriptions?{urlencode({'api-version': SUBSCRIPTIONS_API_VERSION})}"
    return _pages(clients.resources("-"), url, "nextLink")


def _graph_service_principals(clients: AzureClients) -> Iterable[dict[str, Any]]:
    """``GET /v1.0/servicePrincipals`` with ``$select`` (metadata only), every page."""
    url = f"{clients.graph_url.rstrip('/')}/v1.0/servicePrincipals?{urlencode({'$select': GRAPH_SP_SELECT})}"
    return _pages(clients.graph(), url, "@odata.nextLink")


def _pages(client: Any, url: str, next_key: str) -> Iterable[dict[str, Any]]:
    """The ``value`` items of every page of a GET, following ``next_key`` links."""
    while url:
        response = client.send_request(HttpRequest("GET", url))
        _raise_for_status(response)
        body = response.json()
        yield from body.get("value") or []
        url = body.get(next_key) or ""


def groups_named(raw: AzureRaw) -> list[str]:
    """Object ids of the groups role assignments and deny assignments (principals or exclusions) name."""
    found = {
        str(a.get("principalId") or "").lower()
        for a in raw.role_assignments
        if str(a.get("principalType") or "").lower() == "group"
    }
    for deny in raw.deny_assignments:
        for key in ("principals", "excludePrincipals"):
            for entry in deny_body(deny).get(key) or []:
                if isinstance(entry, dict) and str(entry.get("type") or "").lower() == "group":
                    found.add(str(entry.get("id") or "").lower())
    return sorted(g for g in found if g)


def _graph_transitive_members(clients: AzureClients, group: str) -> Iterable[dict[str, Any]]:
    """``GET /v1.0/groups/{id}/transitiveMembers`` (nested groups' members included), every page."""
    query = urlencode({"$select": "id,displayName"})
    url = f"{clients.graph_url.rstrip('/')}/v1.0/groups/{group}/transitiveMembers?{query}"
    return _pages(clients.graph(), url, "@odata.nextLink")


def _raise_for_status(response: Any) -> None:
    """As the SDK's generated operations do: 401 is an authentication failure, other errors a gap."""
    if response.status_code == 401:
        raise ClientAuthenticationError(response=response)
    response.raise_for_status()


def _pick(listed: list[dict[str, Any]], could_list: bool, wanted: Sequence[str] | None, every: bool) -> list[str]:
    if wanted:
        return list(dict.fromkeys(str(s).lower() for s in wanted))
    enabled = [str(s["id"]).lower() for s in listed if str(s.get("state") or "Enabled") == "Enabled"]
    if not could_list:
        raise ScanError("cannot list Azure subscriptions; name the ones to scan with --subscription")
    if every:
        if not enabled:
            raise ScanError("the credentials see no enabled Azure subscription")
        return enabled
    if len(enabled) == 1:
        return enabled
    if not enabled:
        raise ScanError("the credentials see no enabled Azure subscription")
    raise ScanError(
        f"the credentials see {len(enabled)} Azure subscriptions; name them with --subscription "
        "or scan them all with --all-subscriptions"
    )


def _not_scanned(rec: _Recorder, raw: AzureRaw, targets: list[str]) -> None:
    """Subscriptions the caller can see but did not scan are gaps: their absence proves nothing."""
    seen = {str(s["id"]).lower(): str(s.get("state") or "") for s in raw.subscriptions}

    def walk(node: dict[str, Any]) -> None:
        node_id = str(node.get("id") or "").lower()
        if node_id.startswith("/subscriptions/"):
            seen.setdefault(node_id.rsplit("/", 1)[-1], "")
        for child in management_group_body(node).get("children") or []:
            walk(child)

    for tree in raw.management_groups:
        walk(tree)
    for sub, state in sorted(seen.items()):
        if sub in targets:
            continue
        why = f"subscription state {state}" if state and state != "Enabled" else "not selected"
        rec.entries.append(
            CoverageEntry(
                scope_id=f"/subscriptions/{sub}",
                source="api",
                service="authorization",
                operation="subscription not scanned",
                status=CoverageStatus.ERROR,
                detail=f"{why}; scan it with --subscription {sub} or --all-subscriptions",
                cloud=Cloud.AZURE,
                covers=NOT_SCANNED,
            )
        )


#: What a subscription that was not scanned leaves unread.
NOT_SCANNED = (
    Covers.ASSIGNMENTS,
    Covers.DENY_ASSIGNMENTS,
    Covers.ROLES,
    Covers.PRINCIPALS,
    Covers.RESOURCES,
    Covers.WORKLOADS,
    Covers.CREDENTIALS,
)


def _tenant(listed: list[dict[str, Any]], targets: list[str]) -> str | None:
    by_id = {str(s["id"]).lower(): s for s in listed}
    for sub in targets:
        tenant = (by_id.get(sub) or {}).get("tenantId")
        if tenant:
            return str(tenant).lower()
    return None


def _status(code: int | None) -> CoverageStatus:
    if code == 403:
        return CoverageStatus.DENIED
    if code == 429:
        return CoverageStatus.THROTTLED
    return CoverageStatus.ERROR


def _error_text(exc: HttpResponseError) -> str:
    error = getattr(exc, "error", None)
    code = getattr(error, "code", None)
    message = getattr(error, "message", None)
    if code or message:
        return f"{code}: {_first(str(message or ''))}"
    return _first_line(exc)


def _first_line(exc: BaseException) -> str:
    return _first(str(exc)) or type(exc).__name__


def _first(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[0].strip() if lines else ""
