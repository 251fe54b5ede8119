"""A local fake of Azure Resource Manager and Microsoft Graph over https (a throw-away ``trustme`` CA).

It answers the real REST paths with the REST JSON the services return (``properties`` nested,
``nextLink`` / ``@odata.nextLink`` paging), checks the bearer token, and records every request. The
estate it serves is built from the export files under ``fixtures/azure-exports`` (the Azure CLI
flattens ``properties``; here they are nested again, as on the wire).
"""

from __future__ import annotations

import json
import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import trustme

from tests.scanner.azure.estate import EXPORTS, SUB_PAYMENTS, SUB_PLATFORM, load

VALID_TOKEN = "fake-arm-token"
SUBSCRIPTION_OF_FILE = {"payments": SUB_PAYMENTS, "platform": SUB_PLATFORM}


@dataclass
class Estate:
    """REST objects by list path (lower-case, without query)."""

    lists: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)


def _nest(item: dict[str, Any], top: tuple[str, ...], drop: tuple[str, ...] = ()) -> dict[str, Any]:
    out = {k: item[k] for k in top if k in item}
    out["properties"] = {k: v for k, v in item.items() if k not in top and k not in drop}
    return out


def _mg_rest(node: dict[str, Any], root: bool) -> dict[str, Any]:
    children = [_mg_rest(c, False) for c in node.get("children") or []] or None
    if not root:
        return {k: node.get(k) for k in ("type", "id", "name", "displayName")} | {"children": children}
    return {
        "id": node["id"],
        "type": node["type"],
        "name": node["name"],
        "properties": {
            "tenantId": node["tenantId"],
            "displayName": node["displayName"],
            "details": node.get("details"),
            "children": children,
        },
    }


def _site_rest(site: dict[str, Any]) -> dict[str, Any]:
    """An ``az webapp list`` entry as ARM's ``Microsoft.Web/sites`` list returns it (``properties`` nested)."""
    top = ("id", "name", "type", "kind", "location", "identity", "tags")
    return _nest(site, top, drop=("resourceGroup",))


def _subscription_lists(lists: dict[str, list[dict[str, Any]]], directory: Path, suffix: str, sub: str) -> None:
    """One subscription's ARM lists, from its export files."""
    base = f"/subscriptions/{sub}"
    auth = f"{base}/providers/microsoft.authorization"
    if (directory / f"group-list-{suffix}.json").exists():
        lists[f"{base}/resourcegroups"] = load(f"group-list-{suffix}.json")
    if (directory / f"resource-list-{suffix}.json").exists():
        lists[f"{base}/resources"] = [
            {k: v for k, v in r.items() if k != "resourceGroup" and not (k == "identity" and v is None)}
            for r in load(f"resource-list-{suffix}.json")
        ]
    lists[f"{auth}/roledefinitions"] = [
        _nest({**d, "type": d["roleType"]}, ("id", "name"), drop=("roleType",))
        | {"type": "Microsoft.Authorization/roleDefinitions"}
        for d in load(f"role-definitions-{suffix}.json")
    ]
    lists[f"{auth}/roleassignments"] = [
        _nest(a, ("id", "name", "type"), drop=("principalName", "roleDefinitionName"))
        for a in load(f"role-assignments-{suffix}.json")
    ]
    if (directory / f"deny-assignments-{suffix}.json").exists():
        lists[f"{auth}/denyassignments"] = load(f"deny-assignments-{suffix}.json")["value"]
    if (directory / f"eligibility-schedules-{suffix}.json").exists():
        lists[f"{auth}/roleeligibilityschedules"] = load(f"eligibility-schedules-{suffix}.json")["value"]
    # Resources az lists with their own commands are in ARM's generic resource list too.
    for name in (
        f"automation-account-list-{suffix}.json",
        f"logic-workflow-list-{suffix}.json",
        f"vmss-list-{suffix}.json",
    ):
        if (directory / name).exists():
            lists[f"{base}/resources"] += [
                {k: r[k] for k in ("id", "name", "type", "location", "identity", "tags") if k in r} for r in load(name)
            ]
    if (directory / f"webapp-list-{suffix}.json").exists():
        lists[f"{base}/providers/microsoft.web/sites"] = [_site_rest(w) for w in load(f"webapp-list-{suffix}.json")]


def _entra_lists(lists: dict[str, list[dict[str, Any]]], directory: Path) -> None:
    """Microsoft Graph's lists: service principals and applications with their owners, federated
    credentials of applications, directory roles, and who holds Microsoft Graph's app roles."""
    graph_owners = {o["id"]: o["owners"] for name in ("sp-owners.json", "app-owners.json") for o in load(name)["value"]}
    # Graph puts owners in each object when asked with $expand=owners (the fake drops them otherwise).
    lists["/v1.0/serviceprincipals"] = [sp | {"owners": graph_owners.get(sp["id"], [])} for sp in load("sp-list.json")]
    lists["/v1.0/applications"] = [app | {"owners": graph_owners.get(app["id"], [])} for app in load("app-list.json")]
    for app in load("app-list.json"):
        lists[f"/v1.0/applications/{app['id']}/federatedidentitycredentials"] = []
    for path in sorted(directory.glob("app-federated-credentials-*.json")):
        data = json.loads(path.read_text())
        items = data["value"] if isinstance(data, dict) else data
        for cred in items:
            app = cred.get("@odata.id", "") or data["@odata.context"]
            app_id = app.split("pplication('")[1].split("'")[0] if "pplication('" in app else app.split("s('")[1][:36]
            lists[f"/v1.0/applications/{app_id}/federatedidentitycredentials"].append(cred)
    directory_lists = {
        "roledefinitions": "directory-role-definitions.json",
        "roleassignments": "directory-role-assignments.json",
        "roleeligibilityschedules": "directory-role-eligibility-schedules.json",
    }
    for segment, name in directory_lists.items():
        lists[f"/v1.0/rolemanagement/directory/{segment}"] = load(name)["value"]
    for sp in load("sp-list.json"):
        if sp["appId"] in ("00000003-0000-0000-c000-000000000000", "00000002-0000-0000-c000-000000000000"):
            lists[f"/v1.0/serviceprincipals/{sp['id']}/approleassignedto"] = []
    assigned = load("graph-app-role-assigned-to.json")
    graph_sp = assigned["@odata.context"].split("servicePrincipals('")[1].split("'")[0]
    lists[f"/v1.0/serviceprincipals/{graph_sp}/approleassignedto"] = assigned["value"]


def estate_from_exports(directory: Path = EXPORTS) -> Estate:
    """The fixture estate as ARM and Graph serve it."""
    estate = Estate()
    lists = estate.lists
    tree = load("management-groups.json")
    estate.objects[f"/providers/microsoft.management/managementgroups/{tree['name']}"] = _mg_rest(tree, True)
    lists["/subscriptions"] = [
        {
            "id": f"/subscriptions/{s['id']}",
            "authorizationSource": "RoleBased",
            "subscriptionId": s["id"],
            "tenantId": s["tenantId"],
            "displayName": s["name"],
            "state": s["state"],
            "subscriptionPolicies": {
                "locationPlacementId": "Public_2014-09-01",
                "quotaId": "EnterpriseAgreement_2014-09-01",
            },
        }
        for s in load("account-list.json")
    ]
    for sub in SUBSCRIPTION_OF_FILE.values():
        base = f"/subscriptions/{sub}"
        for path in ("resourcegroups", "resources"):
            lists[f"{base}/{path}"] = []
        for kind in ("roledefinitions", "roleassignments", "denyassignments"):
            lists[f"{base}/providers/microsoft.authorization/{kind}"] = []
        lists[f"{base}/providers/microsoft.managedidentity/userassignedidentities"] = []
        lists[f"{base}/providers/microsoft.authorization/roleeligibilityschedules"] = []
        lists[f"{base}/providers/microsoft.web/sites"] = []
    for suffix, sub in SUBSCRIPTION_OF_FILE.items():
        _subscription_lists(lists, directory, suffix, sub)
    for identity in load("identity-list.json"):
        sub = identity["id"].split("/")[2]
        rest = _nest(identity, ("id", "name", "type", "location", "tags"), drop=("resourceGroup", "systemData"))
        lists[f"/subscriptions/{sub}/providers/microsoft.managedidentity/userassignedidentities"].append(rest)
        lists[f"{identity['id'].lower()}/federatedidentitycredentials"] = []
    for path in sorted(directory.glob("federated-credentials-*.json")):
        for cred in json.loads(path.read_text()):
            parent = cred["id"].lower().split("/federatedidentitycredentials/")[0]
            lists[f"{parent}/federatedidentitycredentials"].append(
                _nest(cred, ("id", "name", "type"), drop=("resourceGroup", "systemData"))
            )
    _entra_lists(lists, directory)
    for assignment in [*load("role-assignments-payments.json"), *load("role-assignments-platform.json")]:
        if assignment["principalType"] == "Group":  # members: none unless a test gives some
            lists[f"/v1.0/groups/{assignment['principalId'].lower()}/transitivemembers"] = []
    for provider in load("provider-operations.json"):
        estate.objects[f"/providers/microsoft.authorization/provideroperations/{provider['name'].lower()}"] = provider
    return estate


class FakeAzure:
    """Serves an :class:`Estate`; ``forbidden`` paths answer 403, ``page_size`` items per page."""

    def __init__(self, estate: Estate, tmp_dir: Path, *, page_size: int = 2) -> None:
        self.estate = estate
        self.page_size = page_size
        self.forbidden: set[str] = set()
        #: (path, query parameter): refused when the request has that parameter (a refused ``$expand``).
        self.forbidden_queries: set[tuple[str, str]] = set()
        self.requests: list[tuple[str, str, dict[str, list[str]]]] = []
        self._lock = threading.Lock()
        ca = trustme.CA()
        cert = ca.issue_cert("127.0.0.1", "localhost")
        self.ca_bundle = str(tmp_dir / "fake-azure-ca.pem")
        ca.cert_pem.write_to_path(self.ca_bundle)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(context)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.base_url = f"https://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> FakeAzure:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def paths(self) -> list[str]:
        return [path for _method, path, _query in self.requests]

    def answer(self, method: str, raw_path: str, headers: Any) -> tuple[int, dict[str, Any]]:
        url = urlsplit(raw_path)
        path = url.path.lower().rstrip("/")
        query = parse_qs(url.query)
        with self._lock:
            self.requests.append((method, path, query))
        graph = path.startswith("/v1.0/")
        if headers.get("Authorization") != f"Bearer {VALID_TOKEN}":
            code = "InvalidAuthenticationToken" if graph else "ExpiredAuthenticationToken"
            return 401, {"error": {"code": code, "message": "The access token has expired or is not valid."}}
        if method != "GET":
            return 405, {"error": {"code": "MethodNotAllowed", "message": f"{method} is not served here"}}
        if not graph and "api-version" not in query:
            return 400, {"error": {"code": "MissingApiVersionParameter", "message": "The api-version is missing."}}
        if path in self.forbidden or any((path, key) in self.forbidden_queries for key in query):
            if graph:
                return 403, {
                    "error": {
                        "code": "Authorization_RequestDenied",
                        "message": "Insufficient privileges to complete the operation.",
                    }
                }
            return 403, {
                "error": {
                    "code": "AuthorizationFailed",
                    "message": "The client 'auditor@contoso.com' does not have authorization to perform action "
                    f"'read' over scope '{path}' or the scope is invalid.",
                }
            }
        if path in self.estate.objects:
            return 200, self.estate.objects[path]
        if path not in self.estate.lists:
            return 404, {"error": {"code": "NotFound", "message": f"no route {path}"}}
        items = self.estate.lists[path]
        start = int(query.get("$skiptoken", ["0"])[0])
        page = items[start : start + self.page_size]
        if graph and "owners" not in query.get("$expand", [""])[0]:  # owners only when expanded, as Graph does
            page = [{k: v for k, v in item.items() if k != "owners"} for item in page]
        body: dict[str, Any] = {"value": page}
        if start + self.page_size < len(items):
            next_query = {k: v[0] for k, v in query.items() if k != "$skiptoken"} | {
                "$skiptoken": str(start + self.page_size)
            }
            link = f"{self.base_url}{url.path}?{urlencode(next_query)}"
            body["@odata.nextLink" if graph else "nextLink"] = link
        if graph:
            body["@odata.context"] = "https://graph.microsoft.com/v1.0/$metadata#servicePrincipals"
        return 200, body

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _reply(self) -> None:
                status, body = fake.answer(self.command, self.path, self.headers)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("x-ms-request-id", "00000000-0000-4000-8000-000000000000")
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _reply

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler
