"""Local fakes of the Google Cloud APIs the live collector calls, speaking the real protocols.

- Resource Manager v3 over REST (JSON over plain http on 127.0.0.1), as the REST transport calls it; on
  the same server the IAM v1 workload identity pool and Compute v1 aggregated instance lists.
- IAM admin v1 (``google.iam.admin.v1.IAM``) and IAM v2 (``google.iam.v2.Policies``) over gRPC, built
  from the SDK's own message types.

Both serve one estate (the export fixtures, turned into API messages with ``ParseDict``), answer list
calls one item per page (so pagination must be followed), record every method called, and answer
PERMISSION_DENIED for the (method, resource) pairs in ``denied``.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

import grpc
from google.cloud import iam_admin_v1, iam_v2
from google.iam.v1 import iam_policy_pb2, policy_pb2
from google.protobuf import json_format

JsonObject = dict[str, Any]


@dataclass
class Estate:
    """What the fakes serve: v3 Resource Manager objects, IAM policies by resource name, IAM objects."""

    organizations: list[JsonObject] = field(default_factory=list)
    folders: list[JsonObject] = field(default_factory=list)
    projects: list[JsonObject] = field(default_factory=list)  # v3 shape: name projects/<number>, projectId
    policies: dict[str, JsonObject] = field(default_factory=dict)  # resource name -> IAM policy JSON
    service_accounts: list[JsonObject] = field(default_factory=list)
    keys: dict[str, list[JsonObject]] = field(default_factory=dict)  # SA email -> keys
    roles: dict[str, JsonObject] = field(default_factory=dict)
    deny_policies: list[JsonObject] = field(default_factory=list)
    pools: list[JsonObject] = field(default_factory=list)
    providers: list[JsonObject] = field(default_factory=list)
    instances: list[JsonObject] = field(default_factory=list)
    run_services: list[JsonObject] = field(default_factory=list)  # Cloud Run Admin API v2 JSON
    functions: list[JsonObject] = field(default_factory=list)  # Cloud Functions v2 JSON
    unreachable: list[str] = field(default_factory=list)  # locations functions.list cannot reach
    groups: dict[str, str] = field(default_factory=dict)  # Cloud Identity: group email -> groups/<id>
    memberships: dict[str, list[JsonObject]] = field(default_factory=dict)  # groups/<id> -> memberships
    iam_search: list[JsonObject] = field(default_factory=list)  # Cloud Asset searchAllIamPolicies results
    build_accounts: dict[str, JsonObject] = field(default_factory=dict)  # project id -> default build SA
    scheduler_locations: dict[str, list[str]] = field(default_factory=dict)  # project id -> location ids
    scheduler_jobs: list[JsonObject] = field(default_factory=list)
    composer_environments: list[JsonObject] = field(default_factory=list)
    clusters: list[JsonObject] = field(default_factory=list)  # GKE clusters (selfLink names the project)
    missing_zones: list[str] = field(default_factory=list)  # zones clusters.list cannot reach
    denied: set[tuple[str, str]] = field(default_factory=set)  # (method, resource name)
    unauthenticated: set[str] = field(default_factory=set)  # gRPC methods answering UNAUTHENTICATED
    calls: list[tuple[str, str]] = field(default_factory=list)  # (method, resource name)
    iam_policy_requests: list[int] = field(default_factory=list)  # requested policy versions
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, method: str, resource: str) -> bool:
        """Record a call; ``False`` when it is to be denied."""
        with self.lock:
            self.calls.append((method, resource))
        return (method, resource) not in self.denied

    def project(self, ident: str) -> JsonObject | None:
        for project in self.projects:
            if ident in (project["projectId"], project["name"].removeprefix("projects/")):
                return project
        return None

    def canonical(self, resource: str) -> str:
        """``projects/<number>`` -> ``projects/<id>`` (policies are stored by id)."""
        kind, _, ident = resource.partition("/")
        project = self.project(ident) if kind == "projects" else None
        return f"projects/{project['projectId']}" if project else resource


def page(items: list[Any], token: str) -> tuple[list[Any], str]:
    """One item per page; the token is the index of the next item."""
    start = int(token or 0)
    rest = items[start : start + 1]
    return rest, str(start + 1) if start + 1 < len(items) else ""


# --- Resource Manager v3 over REST --------------------------------------------------------------------

READ_REST = re.compile(
    r"^(GET /(v3|v2|v1|compute/v1)/.*|POST /v3/(organizations|folders|projects)/[^/:]+:getIamPolicy)$"
)
POOLS_PATH = re.compile(r"^/v1/projects/(?P<project>[^/]+)/locations/global/workloadIdentityPools$")
PROVIDERS_PATH = re.compile(r"^/v1/(?P<pool>projects/[^/]+/locations/global/workloadIdentityPools/[^/]+)/providers$")
INSTANCES_PATH = re.compile(r"^/compute/v1/projects/(?P<project>[^/]+)/aggregated/instances$")
RUN_PATH = re.compile(r"^/v2/projects/(?P<project>[^/]+)/locations/-/services$")
FUNCTIONS_PATH = re.compile(r"^/v2/projects/(?P<project>[^/]+)/locations/-/functions$")
MEMBERSHIPS_PATH = re.compile(r"^/v1/(?P<group>groups/[^/]+)/memberships$")
SEARCH_PATH = re.compile(r"^/v1/(?P<scope>(organizations|folders|projects)/[^/:]+):searchAllIamPolicies$")
RESOURCES_PATH = re.compile(r"^/v1/(?P<scope>(organizations|folders|projects)/[^/:]+):searchAllResources$")
BUILD_PATH = re.compile(r"^/v1/projects/(?P<project>[^/]+)/locations/global/defaultServiceAccount$")
LOCATIONS_PATH = re.compile(r"^/v1/projects/(?P<project>[^/]+)/locations$")
JOBS_PATH = re.compile(r"^/v1/projects/(?P<project>[^/]+)/locations/(?P<location>[^/-][^/]*)/jobs$")
ENVIRONMENTS_PATH = re.compile(r"^/v1/projects/(?P<project>[^/]+)/locations/(?P<location>[^/-][^/]*)/environments$")
CLUSTERS_PATH = re.compile(r"^/v1/projects/(?P<project>[^/]+)/locations/-/clusters$")


class ResourceManagerFake:
    """``http://127.0.0.1:<port>``: the v3 organizations, folders and projects endpoints the collector uses."""

    def __init__(self, estate: Estate) -> None:
        self.estate = estate
        handler = type("Handler", (_RestHandler,), {"estate": estate})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> ResourceManagerFake:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


class _RestHandler(BaseHTTPRequestHandler):
    estate: Estate
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms wait for each answer

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PATCH(self) -> None:
        self._serve("PATCH")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def _serve(self, verb: str) -> None:
        url = urlparse(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        path = unquote(url.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}") if length else {}
        if not READ_REST.match(f"{verb} {path}"):
            self.estate.record(f"{verb} {path}", "")
            return self._reply(405, _error(405, "FAILED_PRECONDITION", "this fake serves reads only"))
        status, answer = self._route(verb, path, query, body)
        self._reply(status, answer)

    def _route(self, verb: str, path: str, query: dict[str, str], body: JsonObject) -> tuple[int, JsonObject]:
        estate = self.estate
        if not path.startswith("/v3/"):
            return self._other(path, query)
        resource = path.removeprefix("/v3/")
        if resource.endswith(":getIamPolicy"):
            resource = resource.removesuffix(":getIamPolicy")
            kind = resource.partition("/")[0]
            if not estate.record(f"{kind}.getIamPolicy", resource):
                return 403, _error(403, "PERMISSION_DENIED", f"Permission denied on resource '{resource}'")
            estate.iam_policy_requests.append(int(body.get("options", {}).get("requestedPolicyVersion", 0)))
            return 200, estate.policies.get(estate.canonical(resource), {"etag": "ACAB"})
        if resource in ("folders", "projects"):
            parent = query.get("parent", "")
            if not estate.record(f"{resource}.list", parent):
                return 403, _error(403, "PERMISSION_DENIED", f"Permission denied on '{parent}'")
            items = [x for x in getattr(estate, resource) if x.get("parent") == parent]
            chunk, token = page(items, query.get("pageToken", ""))
            return 200, {resource: chunk, **({"nextPageToken": token} if token else {})}
        kind, _, ident = resource.partition("/")
        if not estate.record(f"{kind}.get", resource):
            return 403, _error(403, "PERMISSION_DENIED", f"Permission denied on '{resource}'")
        found: JsonObject | None = None
        if kind == "projects":
            found = estate.project(ident)
        elif kind in ("organizations", "folders"):
            found = next((x for x in getattr(estate, kind) if x["name"] == resource), None)
        if found is None:
            return 404, _error(404, "NOT_FOUND", f"{resource} not found")
        return 200, found

    def _other(self, path: str, query: dict[str, str]) -> tuple[int, JsonObject]:
        """IAM v1 workload identity pools and providers, Compute v1 aggregated instances, Cloud Run v2
        services and Cloud Functions v2 functions (``locations/-``)."""
        estate = self.estate
        if match := POOLS_PATH.match(path):
            project = estate.project(match["project"])
            if not estate.record("workloadIdentityPools.list", f"projects/{match['project']}"):
                return 403, _error(403, "PERMISSION_DENIED", "Permission 'iam.workloadIdentityPools.list' denied")
            if project is None:
                return 404, _error(404, "NOT_FOUND", f"project {match['project']} not found")
            items = [p for p in estate.pools if p["name"].startswith(f"{project['name']}/")]
            chunk, token = page(items, query.get("pageToken", ""))
            return 200, {"workloadIdentityPools": chunk, **({"nextPageToken": token} if token else {})}
        if match := PROVIDERS_PATH.match(path):
            if not estate.record("workloadIdentityPools.providers.list", match["pool"]):
                return 403, _error(
                    403, "PERMISSION_DENIED", "Permission 'iam.workloadIdentityPoolProviders.list' denied"
                )
            items = [p for p in estate.providers if p["name"].startswith(f"{match['pool']}/providers/")]
            chunk, token = page(items, query.get("pageToken", ""))
            return 200, {"workloadIdentityPoolProviders": chunk, **({"nextPageToken": token} if token else {})}
        if match := INSTANCES_PATH.match(path):
            if not estate.record("instances.aggregatedList", f"projects/{match['project']}"):
                return 403, _error(403, "PERMISSION_DENIED", "Required 'compute.instances.list' permission")
            if query.get("returnPartialSuccess") != "true":
                return 400, _error(400, "INVALID_ARGUMENT", "this fake expects returnPartialSuccess=true")
            items = [i for i in estate.instances if f"/projects/{match['project']}/zones/" in i["zone"]]
            chunk, token = page(items, query.get("pageToken", ""))
            zones: dict[str, JsonObject] = {"zones/us-east1-b": {"warning": {"code": "NO_RESULTS_ON_PAGE"}}}
            for instance in chunk:
                zone = "zones/" + instance["zone"].rsplit("/", 1)[-1]
                zones.setdefault(zone, {"instances": []})["instances"].append(instance)
            answer = {"kind": "compute#instanceAggregatedList", "items": zones}
            return 200, {**answer, **({"nextPageToken": token} if token else {})}
        if match := SEARCH_PATH.match(path):
            if not estate.record("searchAllIamPolicies", match["scope"]):
                return 403, _error(403, "PERMISSION_DENIED", "cloudasset.assets.searchAllIamPolicies denied")
            chunk, token = page(estate.iam_search, query.get("pageToken", ""))
            return 200, {"results": chunk, **({"nextPageToken": token} if token else {})}
        if (answer := self._workloads(path, query)) is not None:
            return answer
        if path == "/v1/groups:lookup":
            email = query.get("groupKey.id", "")
            if not estate.record("groups.lookup", email):
                return 403, _error(403, "PERMISSION_DENIED", "Error(2028): Permission denied for resource")
            if email not in estate.groups:
                return 404, _error(404, "NOT_FOUND", "Error(2028): Group not found")
            return 200, {"name": estate.groups[email]}
        if match := MEMBERSHIPS_PATH.match(path):
            if not estate.record("groups.memberships.list", match["group"]):
                return 403, _error(403, "PERMISSION_DENIED", "Error(2028): Permission denied for resource")
            if query.get("view") != "FULL":
                return 400, _error(400, "INVALID_ARGUMENT", "this fake expects view=FULL (membership types)")
            chunk, token = page(estate.memberships.get(match["group"], []), query.get("pageToken", ""))
            return 200, {"memberships": chunk, **({"nextPageToken": token} if token else {})}
        for pattern, method, key, items in (
            (RUN_PATH, "services.list", "services", estate.run_services),
            (FUNCTIONS_PATH, "functions.list", "functions", estate.functions),
        ):
            if match := pattern.match(path):
                if not estate.record(method, f"projects/{match['project']}"):
                    return 403, _error(403, "PERMISSION_DENIED", f"Permission denied on {method}")
                mine = [i for i in items if i["name"].startswith(f"projects/{match['project']}/")]
                chunk, token = page(mine, query.get("pageToken", ""))
                extra = {"unreachable": estate.unreachable} if key == "functions" and estate.unreachable else {}
                return 200, {key: chunk, **extra, **({"nextPageToken": token} if token else {})}
        estate.record(f"GET {path}", "")
        return 404, _error(404, "NOT_FOUND", f"{path}: not served by this fake")

    def _workloads(self, path: str, query: dict[str, str]) -> tuple[int, JsonObject] | None:
        """Cloud Build's default service account, Cloud Scheduler locations and jobs, Cloud Asset
        resource search (Composer environments only), Composer environments and GKE clusters."""
        estate = self.estate
        if match := BUILD_PATH.match(path):
            project = estate.project(match["project"])
            if not estate.record("defaultServiceAccount.get", f"projects/{match['project']}"):
                return 403, _error(403, "PERMISSION_DENIED", "Permission 'cloudbuild.builds.get' denied")
            if project is None or project["projectId"] not in estate.build_accounts:
                return 403, _error(403, "PERMISSION_DENIED", "Cloud Build API has not been used in project before")
            return 200, estate.build_accounts[project["projectId"]]
        if match := LOCATIONS_PATH.match(path):
            if not estate.record("locations.list", f"projects/{match['project']}"):
                return 403, _error(403, "PERMISSION_DENIED", "Permission 'cloudscheduler.locations.list' denied")
            names = [
                {"locationId": loc, "name": f"projects/{match['project']}/locations/{loc}"}
                for loc in estate.scheduler_locations.get(match["project"], [])
            ]
            chunk, token = page(names, query.get("pageToken", ""))
            return 200, {"locations": chunk, **({"nextPageToken": token} if token else {})}
        for pattern, method, key, items in (
            (JOBS_PATH, "jobs.list", "jobs", estate.scheduler_jobs),
            (ENVIRONMENTS_PATH, "environments.list", "environments", estate.composer_environments),
        ):
            if match := pattern.match(path):
                parent = f"projects/{match['project']}/locations/{match['location']}"
                if not estate.record(method, parent):
                    return 403, _error(403, "PERMISSION_DENIED", f"Permission denied on {method}")
                mine = [i for i in items if i["name"].startswith(f"{parent}/")]
                chunk, token = page(mine, query.get("pageToken", ""))
                return 200, {key: chunk, **({"nextPageToken": token} if token else {})}
        if match := RESOURCES_PATH.match(path):
            if not estate.record("searchAllResources", match["scope"]):
                return 403, _error(403, "PERMISSION_DENIED", "cloudasset.assets.searchAllResources denied")
            if query.get("assetTypes") != "composer.googleapis.com/Environment":
                return 400, _error(400, "INVALID_ARGUMENT", "this fake serves Composer environments only")
            found = [
                {
                    "assetType": "composer.googleapis.com/Environment",
                    "displayName": e["name"].rsplit("/", 1)[-1],
                    "location": e["name"].split("/")[3],
                    "name": f"//composer.googleapis.com/{e['name']}",
                    "project": (estate.project(e["name"].split("/")[1]) or {}).get("name", ""),
                }
                for e in estate.composer_environments
            ]
            chunk, token = page(found, query.get("pageToken", ""))
            return 200, {"results": chunk, **({"nextPageToken": token} if token else {})}
        if match := CLUSTERS_PATH.match(path):
            if not estate.record("clusters.list", f"projects/{match['project']}"):
                return 403, _error(403, "PERMISSION_DENIED", "Required 'container.clusters.list' permission")
            project = estate.project(match["project"])
            ident = project["projectId"] if project else match["project"]
            mine = [c for c in estate.clusters if f"/projects/{ident}/" in c["selfLink"]]
            return 200, {"clusters": mine, **({"missingZones": estate.missing_zones} if estate.missing_zones else {})}
        return None

    def _reply(self, status: int, answer: JsonObject) -> None:
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _error(code: int, status: str, message: str) -> JsonObject:
    return {"error": {"code": code, "message": message, "status": status}}


# --- IAM admin v1 and IAM v2 over gRPC ---------------------------------------------------------------

Handler = Callable[[Any, grpc.ServicerContext], Any]


class IamFake:
    """A gRPC server on 127.0.0.1 serving ``google.iam.admin.v1.IAM`` and ``google.iam.v2.Policies`` reads."""

    def __init__(self, estate: Estate) -> None:
        self.estate = estate
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        self.server.add_generic_rpc_handlers((_Recording(estate, self._methods()),))
        self.port = self.server.add_insecure_port("127.0.0.1:0")

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def __enter__(self) -> IamFake:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop(grace=None).wait()

    def _methods(self) -> dict[str, grpc.RpcMethodHandler]:
        admin, v2 = iam_admin_v1, iam_v2

        def proto_plus(fn: Handler, request: Any, response: Any) -> grpc.RpcMethodHandler:
            return grpc.unary_unary_rpc_method_handler(
                fn, request_deserializer=request.deserialize, response_serializer=response.serialize
            )

        return {
            "/google.iam.admin.v1.IAM/ListServiceAccounts": proto_plus(
                self.list_service_accounts, admin.ListServiceAccountsRequest, admin.ListServiceAccountsResponse
            ),
            "/google.iam.admin.v1.IAM/ListServiceAccountKeys": proto_plus(
                self.list_keys, admin.ListServiceAccountKeysRequest, admin.ListServiceAccountKeysResponse
            ),
            "/google.iam.admin.v1.IAM/GetIamPolicy": grpc.unary_unary_rpc_method_handler(
                self.get_iam_policy,
                request_deserializer=iam_policy_pb2.GetIamPolicyRequest.FromString,
                response_serializer=policy_pb2.Policy.SerializeToString,
            ),
            "/google.iam.admin.v1.IAM/ListRoles": proto_plus(
                self.list_roles, admin.ListRolesRequest, admin.ListRolesResponse
            ),
            "/google.iam.admin.v1.IAM/GetRole": proto_plus(self.get_role, admin.GetRoleRequest, admin.Role),
            "/google.iam.v2.Policies/ListPolicies": proto_plus(
                self.list_policies, v2.ListPoliciesRequest, v2.ListPoliciesResponse
            ),
            "/google.iam.v2.Policies/GetPolicy": proto_plus(self.get_policy, v2.GetPolicyRequest, v2.Policy),
        }

    def _check(self, context: grpc.ServicerContext, method: str, resource: str) -> None:
        if method in self.estate.unauthenticated:
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "Request had invalid authentication credentials.")
        if not self.estate.record(method, resource):
            context.abort(grpc.StatusCode.PERMISSION_DENIED, f"Permission '{method}' denied on resource {resource}")

    def list_service_accounts(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._check(context, "serviceAccounts.list", request.name)
        project = self.estate.project(request.name.removeprefix("projects/"))
        if project is None:
            context.abort(grpc.StatusCode.NOT_FOUND, f"{request.name} not found")
        items = [a for a in self.estate.service_accounts if a["projectId"] == project["projectId"]]
        chunk, token = page(items, request.page_token)
        accounts = [_parse(a, iam_admin_v1.ServiceAccount) for a in chunk]
        return iam_admin_v1.ListServiceAccountsResponse(accounts=accounts, next_page_token=token)

    def list_keys(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._check(context, "serviceAccounts.keys.list", request.name)
        email = request.name.rsplit("/", 1)[-1]
        keys = [_parse(k, iam_admin_v1.ServiceAccountKey) for k in self.estate.keys.get(email, [])]
        return iam_admin_v1.ListServiceAccountKeysResponse(keys=keys)

    def get_iam_policy(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._check(context, "serviceAccounts.getIamPolicy", request.resource)
        self.estate.iam_policy_requests.append(request.options.requested_policy_version)
        email = request.resource.rsplit("/", 1)[-1]
        policy = self.estate.policies.get(f"serviceAccount:{email}", {"etag": "ACAB"})
        return json_format.ParseDict(policy, policy_pb2.Policy())

    def list_roles(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._check(context, "roles.list", request.parent)
        if request.view != iam_admin_v1.RoleView.FULL:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "this fake expects view FULL")
        prefix = f"{self.estate.canonical(request.parent)}/roles/"
        items = [r for name, r in sorted(self.estate.roles.items()) if name.startswith(prefix)]
        chunk, token = page(items, request.page_token)
        return iam_admin_v1.ListRolesResponse(
            roles=[_parse(r, iam_admin_v1.Role) for r in chunk], next_page_token=token
        )

    def get_role(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._check(context, "roles.get", request.name)
        role = self.estate.roles.get(request.name)
        if role is None:
            context.abort(grpc.StatusCode.NOT_FOUND, f"The role named {request.name} was not found.")
        return _parse(role, iam_admin_v1.Role)

    def list_policies(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._check(context, "policies.list", request.parent)
        point = unquote(request.parent.split("/")[1]).removeprefix("cloudresourcemanager.googleapis.com/")
        items = [
            p
            for p in self.estate.deny_policies
            if self.estate.canonical(unquote(p["name"].split("/")[1]).partition("/")[2]) == self.estate.canonical(point)
        ]
        chunk, token = page(items, request.page_token)
        listed = [iam_v2.Policy(name=p["name"], uid=p.get("uid", ""), kind="DenyPolicy") for p in chunk]
        return iam_v2.ListPoliciesResponse(policies=listed, next_page_token=token)

    def get_policy(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._check(context, "policies.get", request.name)
        found = next((p for p in self.estate.deny_policies if p["name"] == request.name), None)
        if found is None:
            context.abort(grpc.StatusCode.NOT_FOUND, f"{request.name} not found")
        return _parse(found, iam_v2.Policy)


class _Recording(grpc.GenericRpcHandler):
    """Dispatches to the known methods; every method asked for, known or not, is recorded."""

    def __init__(self, estate: Estate, methods: dict[str, grpc.RpcMethodHandler]) -> None:
        self.estate = estate
        self.methods = methods

    def service(self, handler_call_details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler | None:
        method = handler_call_details.method  # type: ignore[attr-defined]
        if method not in self.methods:
            self.estate.record(method, "")
        return self.methods.get(method)


def _parse(data: JsonObject, message_type: Any) -> Any:
    pb = json_format.ParseDict(data, message_type.pb()(), ignore_unknown_fields=True)
    return message_type.wrap(pb)
