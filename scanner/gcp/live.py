"""Live Google Cloud collection with the official clients -> :class:`GcpRaw` (the shapes gcloud prints).

Order: the organization (``--organization``) and its folder tree, or the named projects and the
folders and organization above them; each scope's allow policy (version 3, so conditions come back)
and deny policies; per project its service accounts, their keys (metadata) and own IAM policies, and
its custom roles; then every role a binding names that is still undefined (``roles.get``).

Only read calls are made: ``get*``, ``list*``, ``search*`` and ``getIamPolicy``. Each failed read is
a coverage gap (denied / not enabled / throttled / error) and the scan goes on; unusable credentials
stop it with :class:`ScanError`.

Workload identity pools and providers (IAM v1), Compute Engine instances, Cloud Run services,
Cloud Functions, Cloud Build's default service account, GKE clusters (with their node pools), Cloud
Scheduler jobs and Cloud Composer environments are read over REST with an authorized session
(``GcpClients.rest``); without one they are recorded as gaps. Scheduler jobs are listed per
location, in each location Scheduler's ``locations.list`` names (a failed locations list is a gap
of ``jobs.list``); Composer has no locations list, so the locations holding environments come from
Cloud Asset ``searchAllResources`` over the scanned scopes, and a failed search is a gap of
``environments.list`` in each of them. GKE workload identity bindings are the service accounts' own IAM policies
(read above). Group memberships come from Cloud Identity (``groups.lookup`` and
``groups.memberships.list``, also over REST) for every group the policies name, nested groups
included; reading them needs Cloud Identity / Workspace admin rights, and a group that cannot be
read is a gap (its members stay unknown).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any
from urllib.parse import quote

from google.cloud import iam_admin_v1, iam_v2, resourcemanager_v3
from google.iam.v1 import iam_policy_pb2, options_pb2
from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message

from models import Cloud, CoverageEntry, CoverageStatus, Snapshot
from scanner.errors import ScanError
from scanner.gcp import shapes
from scanner.gcp.exports import SECRET_FIELDS
from scanner.gcp.normalize import normalize_gcp
from scanner.gcp.raw import GcpRaw, JsonObject
from scanner.gcp.recorder import Recorder, fatal
from scanner.gcp.rest import RestReader
from scanner.gcp.shapes import covers_of
from scanner.gcp.usage import collect as collect_usage

Progress = Callable[[str], None]
POLICY_VERSION = 3
CRM = "cloudresourcemanager.googleapis.com"
COMPOSER_ASSET = re.compile(
    r"^//composer\.googleapis\.com/projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)/environments/[^/]+$"
)
#: Reads that need ``GcpClients.rest``; without it each scan records them as gaps.
NOT_COLLECTED = (
    ("iam", "workloadIdentityPools.list", "no REST session to read workload identity pools and providers"),
    ("compute", "instances.list", "no REST session to read Compute Engine instances"),
    ("run", "services.list", "no REST session to read Cloud Run services"),
    ("cloudfunctions", "functions.list", "no REST session to read Cloud Functions"),
    ("cloudbuild", "defaultServiceAccount.get", "no REST session to read Cloud Build's default service account"),
    ("container", "clusters.list", "no REST session to read GKE clusters and node pools"),
    ("cloudscheduler", "jobs.list", "no REST session to read Cloud Scheduler jobs"),
    ("composer", "environments.list", "no REST session to read Cloud Composer environments"),
    ("cloudidentity", "groups.memberships.list", "no REST session to read group memberships"),
    ("cloudasset", "searchAllIamPolicies", "no REST session to search resource-level IAM policies"),
)


@dataclass
class GcpClients:
    """The clients a live scan uses; tests point them at local fakes."""

    organizations: resourcemanager_v3.OrganizationsClient
    folders: resourcemanager_v3.FoldersClient
    projects: resourcemanager_v3.ProjectsClient
    iam: iam_admin_v1.IAMClient
    policies: iam_v2.PoliciesClient
    rest: RestReader | None = None
    timeout: float = 60.0


def default_clients() -> GcpClients:
    """Clients with Application Default Credentials (Resource Manager over REST, IAM over gRPC)."""
    import google.auth
    from google.auth import exceptions as auth_exceptions
    from google.auth.transport.requests import AuthorizedSession

    try:
        credentials, _ = google.auth.default(scopes=["https://www.googleapis.com/auth/cloud-platform"])
    except auth_exceptions.DefaultCredentialsError as exc:
        raise fatal(exc, "Application Default Credentials") from exc  # type: ignore[misc]
    return GcpClients(
        organizations=resourcemanager_v3.OrganizationsClient(credentials=credentials, transport="rest"),
        folders=resourcemanager_v3.FoldersClient(credentials=credentials, transport="rest"),
        projects=resourcemanager_v3.ProjectsClient(credentials=credentials, transport="rest"),
        iam=iam_admin_v1.IAMClient(credentials=credentials),
        policies=iam_v2.PoliciesClient(credentials=credentials),
        rest=RestReader(session=AuthorizedSession(credentials)),  # type: ignore[no-untyped-call]
    )


def collect_gcp(
    clients: GcpClients,
    *,
    organization: str | None,
    projects: Sequence[str],
    progress: Progress | None = None,
) -> GcpRaw:
    """Read Google Cloud: every project under ``organization`` (``123`` or ``organizations/123``), or
    just ``projects`` (ids) with the folders and organization above them when readable."""
    if not organization and not projects:
        raise ScanError("name a Google Cloud organization (--organization ID) or projects (--project ID ...)")
    collector = _Collector(clients, progress)
    return collector.run(organization, [p.removeprefix("projects/") for p in projects])


def scan_gcp(
    clients: GcpClients,
    *,
    organization: str | None,
    projects: Sequence[str],
    label: str = "",
    progress: Progress | None = None,
    usage: bool = False,
) -> Snapshot:
    """Collect and normalize one Google Cloud scan (not stored: the caller stores it). ``usage`` also
    queries each project's Activity Analyzer (:mod:`scanner.gcp.usage`)."""
    raw = collect_gcp(clients, organization=organization, projects=projects, progress=progress)
    meta = {"organization": organization or "", "projects": ",".join(projects)}
    parts = normalize_gcp(raw)
    if usage:
        used = collect_usage(clients.rest, list(projects) or [str(p["projectId"]) for p in raw.projects])
        parts.usage.extend(used.usage)
        parts.coverage.extend(used.coverage)
    return parts.to_snapshot(source="live", label=label, meta=meta)


def as_json(message: Any) -> JsonObject:
    """A proto-plus or protobuf message as the camelCase JSON the REST API (and gcloud) prints."""
    pb = message if isinstance(message, Message) else type(message).pb(message)
    data: JsonObject = dict(MessageToDict(pb))
    for secret in SECRET_FIELDS:
        data.pop(secret, None)
    return data


def v1_project(project: JsonObject) -> JsonObject:
    """A Resource Manager v3 project in the ``gcloud projects list`` (v1) shape the readers take."""
    out: JsonObject = {
        "projectId": project["projectId"],
        "projectNumber": project["name"].removeprefix("projects/"),
        "name": project.get("displayName", project["projectId"]),
        "lifecycleState": project.get("state", ""),
    }
    kind, _, ident = str(project.get("parent", "")).partition("/")
    if ident:
        out["parent"] = {"type": {"folders": "folder", "organizations": "organization"}.get(kind, kind), "id": ident}
    if project.get("createTime"):
        out["createTime"] = project["createTime"]
    if project.get("labels"):
        out["labels"] = dict(project["labels"])
    return out


@dataclass
class _Collector:
    clients: GcpClients
    progress: Progress | None
    rec: Recorder = field(default_factory=Recorder)
    raw: GcpRaw = field(default_factory=lambda: GcpRaw(source="api"))
    read_scopes: set[str] = field(default_factory=set)

    def say(self, text: str) -> None:
        if self.progress:
            self.progress(text)

    def run(self, organization: str | None, project_ids: list[str]) -> GcpRaw:
        found: list[str] = []
        top = f"projects/{project_ids[0]}" if project_ids else ""
        if organization:
            top = organization if organization.startswith("organizations/") else f"organizations/{organization}"
            found = self.organization_tree(top)
        for project_id in project_ids or found:
            self.project(project_id, known=project_id in found)
        if self.clients.rest is not None:
            scopes = [top] if organization else [f"projects/{p}" for p in project_ids]
            self.asset_policies(self.clients.rest, scopes)
            self.composer_environments(self.clients.rest, scopes)
        self.undefined_roles()
        if self.clients.rest is not None:
            self.group_memberships(self.clients.rest)
        for service, operation, detail in NOT_COLLECTED if self.clients.rest is None else ():
            self.raw.coverage.append(
                CoverageEntry(
                    scope_id=top,
                    source="api",
                    service=service,
                    operation=operation,
                    status=CoverageStatus.ERROR,
                    detail=f"not collected by live scans: {detail}",
                    cloud=Cloud.GCP,
                    covers=covers_of(service, operation),
                )
            )
        self.raw.coverage[:0] = self.rec.entries()
        return self.raw

    # --- hierarchy ----------------------------------------------------------------------------

    def organization_tree(self, org: str) -> list[str]:
        """Read the organization, its folders (recursively) and list its projects; returns project ids."""
        self.say(f"{org}: organization")
        self.org(org)
        project_ids: list[str] = []
        parents = [org]
        while parents:
            parent = parents.pop(0)
            folders = self.rec.call(
                parent,
                "cloudresourcemanager",
                "folders.list",
                partial(self.list_folders, parent),
                count=len,
            )
            for folder in folders or []:
                self.raw.folders.append(folder)
                self.scope_policies(folder["name"])
                parents.append(folder["name"])
            listed = self.rec.call(
                parent,
                "cloudresourcemanager",
                "projects.list",
                partial(self.list_projects, parent),
                count=len,
            )
            for project in listed or []:
                self.raw.projects.append(v1_project(project))
                project_ids.append(project["projectId"])
        return project_ids

    @property
    def timeout(self) -> float:
        return self.clients.timeout

    def list_folders(self, parent: str) -> list[JsonObject]:
        return [as_json(f) for f in self.clients.folders.list_folders(parent=parent, timeout=self.timeout)]

    def list_projects(self, parent: str) -> list[JsonObject]:
        return [as_json(p) for p in self.clients.projects.list_projects(parent=parent, timeout=self.timeout)]

    def get_folder(self, name: str) -> JsonObject:
        return as_json(self.clients.folders.get_folder(name=name, timeout=self.timeout))

    def get_deny_policy(self, name: str) -> JsonObject:
        return as_json(self.clients.policies.get_policy(name=name, timeout=self.timeout))

    def get_role(self, name: str) -> JsonObject:
        return as_json(self.clients.iam.get_role(request={"name": name}, timeout=self.timeout))

    def org(self, org: str) -> None:
        if org in self.read_scopes:
            return
        answer = self.rec.call(
            org,
            "cloudresourcemanager",
            "organizations.get",
            lambda: as_json(self.clients.organizations.get_organization(name=org, timeout=self.timeout)),
        )
        if answer is not None:
            self.raw.organizations.append(answer)
        self.scope_policies(org)
        self.custom_roles(org)

    def ancestors(self, parent: str) -> None:
        """The folders and organization above a project named with ``--project``."""
        while parent and parent not in self.read_scopes:
            if parent.startswith("organizations/"):
                self.org(parent)
                return
            folder = self.rec.call(
                parent,
                "cloudresourcemanager",
                "folders.get",
                partial(self.get_folder, parent),
            )
            self.scope_policies(parent)
            if folder is None:
                return
            self.raw.folders.append(folder)
            parent = folder.get("parent", "")

    def scope_policies(self, scope: str) -> None:
        """The allow policy and deny policies of an organization, folder or project."""
        if scope in self.read_scopes:
            return
        self.read_scopes.add(scope)
        kind = scope.partition("/")[0]
        client: Any = {
            "organizations": self.clients.organizations,
            "folders": self.clients.folders,
            "projects": self.clients.projects,
        }[kind]
        request = iam_policy_pb2.GetIamPolicyRequest(
            resource=scope, options=options_pb2.GetPolicyOptions(requested_policy_version=POLICY_VERSION)
        )
        policy = self.rec.call(
            scope,
            "cloudresourcemanager",
            f"{kind}.getIamPolicy",
            lambda: as_json(client.get_iam_policy(request=request, timeout=self.timeout)),
        )
        if policy is not None:
            self.raw.iam_policies[scope] = policy
        self.deny_policies(scope)

    def deny_policies(self, scope: str) -> None:
        parent = f"policies/{quote(f'{CRM}/{scope}', safe='')}/denypolicies"
        listed = self.rec.call(
            scope,
            "iam",
            "policies.list",
            lambda: [p.name for p in self.clients.policies.list_policies(parent=parent, timeout=self.timeout)],
            count=len,
        )
        for name in listed or []:
            policy = self.rec.call(
                scope,
                "iam",
                "policies.get",
                partial(self.get_deny_policy, name),
                target=name,
            )
            if policy is not None:
                self.raw.deny_policies.append(policy)

    # --- projects -----------------------------------------------------------------------------

    def project(self, project_id: str, *, known: bool) -> None:
        scope = f"projects/{project_id}"
        self.say(f"{scope}: IAM")
        if not known:
            answer = self.rec.call(
                scope,
                "cloudresourcemanager",
                "projects.get",
                lambda: as_json(self.clients.projects.get_project(name=scope, timeout=self.timeout)),
            )
            if answer is not None:
                self.raw.projects.append(v1_project(answer))
                self.ancestors(str(answer.get("parent", "")))
        self.scope_policies(scope)
        self.custom_roles(scope)
        accounts = self.rec.call(
            scope,
            "iam",
            "serviceAccounts.list",
            lambda: [
                as_json(a)
                for a in self.clients.iam.list_service_accounts(
                    request={"name": scope, "page_size": 100}, timeout=self.timeout
                )
            ],
            count=len,
        )
        for account in accounts or []:
            self.raw.service_accounts.append(account)
            self.service_account(scope, account)
        if self.clients.rest is not None:
            self.federation_and_compute(scope, project_id, self.clients.rest)

    def asset_policies(self, rest: RestReader, scopes: list[str]) -> None:
        """Resource-level allow policies (buckets, topics, ...) from Cloud Asset ``searchAllIamPolicies``,
        each filed under its project with the ancestry the result names (its folders as a set when
        there are several). Scope and service account policies are read by ``getIamPolicy``."""
        for scope in scopes:
            self.say(f"{scope}: Cloud Asset IAM policy search")
            results = self.rec.call(
                scope, "cloudasset", "searchAllIamPolicies", partial(rest.iam_policies, scope), count=len
            )
            for result in results or []:
                resource = result.get("resource")
                if not isinstance(resource, str) or not isinstance(result.get("policy"), dict):
                    continue
                chain, unordered = shapes.search_ancestry(result)
                if chain and not unordered:
                    self.raw.ancestors.setdefault(chain[0], chain)
                if unordered:
                    self.raw.ancestor_sets.setdefault(chain[0] if chain else resource.split("/", 3)[-1], unordered)
                service = resource[2:].partition("/")[0]
                asset_type = str(result.get("assetType") or "")
                if (
                    service == "cloudresourcemanager.googleapis.com"
                    or asset_type == "iam.googleapis.com/ServiceAccount"
                ):
                    continue
                if any(p["name"] == resource for p in self.raw.resource_policies):
                    continue
                self.raw.resource_policies.append(
                    {"name": resource, "assetType": asset_type, "iamPolicy": result["policy"], "ancestors": chain}
                )

    def federation_and_compute(self, scope: str, project_id: str, rest: RestReader) -> None:
        pools = self.rec.call(scope, "iam", "workloadIdentityPools.list", partial(rest.pools, project_id), count=len)
        for pool in pools or []:
            self.raw.pools.append(pool)
            providers = self.rec.call(
                scope,
                "iam",
                "workloadIdentityPools.providers.list",
                partial(rest.providers, pool["name"]),
                target=pool["name"],
                count=len,
            )
            self.raw.providers.extend(providers or [])
        instances = self.rec.call(
            scope, "compute", "instances.aggregatedList", partial(rest.instances, project_id), count=len
        )
        self.raw.instances.extend(instances or [])
        services = self.rec.call(scope, "run", "services.list", partial(rest.run_services, project_id), count=len)
        self.raw.run_services.extend(services or [])
        functions = self.rec.call(
            scope, "cloudfunctions", "functions.list", partial(rest.functions, project_id), count=len
        )
        self.raw.functions.extend(functions or [])
        clusters = self.rec.call(scope, "container", "clusters.list", partial(rest.clusters, project_id), count=len)
        self.raw.clusters.extend(clusters or [])
        build = self.rec.call(
            scope, "cloudbuild", "defaultServiceAccount.get", partial(rest.build_default_account, project_id)
        )
        if build is not None:
            self.raw.build_accounts.append(build)
        self.scheduler_jobs(scope, project_id, rest)

    def scheduler_jobs(self, scope: str, project_id: str, rest: RestReader) -> None:
        """Cloud Scheduler jobs in every location Scheduler names for the project."""
        locations = self.rec.call(
            scope,
            "cloudscheduler",
            "locations.list",
            partial(rest.scheduler_locations, project_id),
            target=f"{scope} (the locations whose jobs are to be listed)",
            count=len,
            fail_as="jobs.list",
        )
        for location in locations or []:
            jobs = self.rec.call(
                scope, "cloudscheduler", "jobs.list", partial(rest.scheduler_jobs, location), target=location, count=len
            )
            self.raw.scheduler_jobs.extend(jobs or [])

    def composer_environments(self, rest: RestReader, scopes: list[str]) -> None:
        """Cloud Composer environments: Cloud Asset finds the (project, location) pairs that hold
        one, then ``environments.list`` reads each pair. A failed search leaves a gap of
        ``environments.list`` on the scope searched (the environments there are unknown)."""
        numbers = {str(p.get("projectNumber")): str(p["projectId"]) for p in self.raw.projects}
        for scope in scopes:
            self.say(f"{scope}: Cloud Composer environments")
            found = self.rec.call(
                scope,
                "cloudasset",
                "searchAllResources",
                partial(rest.composer_locations, scope),
                target=f"{scope} (Composer environments)",
                count=len,
            )
            if found is None:
                self.raw.coverage.append(
                    CoverageEntry(
                        scope_id=scope,
                        source="api",
                        service="composer",
                        operation="environments.list",
                        status=CoverageStatus.ERROR,
                        detail="not read: the Cloud Asset search that finds the locations of Composer "
                        "environments failed (see cloudasset searchAllResources)",
                        cloud=Cloud.GCP,
                        covers=covers_of("composer", "environments.list"),
                    )
                )
                continue
            places: dict[str, str] = {}
            for result in found:
                match = COMPOSER_ASSET.match(str(result.get("name") or ""))
                if match:
                    project = numbers.get(match["project"], match["project"])
                    places.setdefault(f"projects/{project}/locations/{match['location']}", project)
            for location, project in sorted(places.items()):
                environments = self.rec.call(
                    f"projects/{project}",
                    "composer",
                    "environments.list",
                    partial(rest.composer_environments, location),
                    target=location,
                    count=len,
                )
                for environment in environments or []:
                    if not any(e.get("name") == environment.get("name") for e in self.raw.composer_environments):
                        self.raw.composer_environments.append(environment)

    def service_account(self, scope: str, account: JsonObject) -> None:
        email = account["email"]
        name = account.get("name") or f"{scope}/serviceAccounts/{email}"
        keys = self.rec.call(
            scope,
            "iam",
            "serviceAccounts.keys.list",
            lambda: [
                as_json(k) for k in self.clients.iam.list_service_account_keys(name=name, timeout=self.timeout).keys
            ],
            target=email,
            count=len,
        )
        if keys is not None:
            self.raw.keys[email] = keys
        request = iam_policy_pb2.GetIamPolicyRequest(
            resource=name, options=options_pb2.GetPolicyOptions(requested_policy_version=POLICY_VERSION)
        )
        policy = self.rec.call(
            scope,
            "iam",
            "serviceAccounts.getIamPolicy",
            lambda: as_json(self.clients.iam.get_iam_policy(request=request, timeout=self.timeout)),
            target=email,
        )
        if policy is not None:
            self.raw.sa_policies[email] = policy

    # --- roles --------------------------------------------------------------------------------

    def custom_roles(self, scope: str) -> None:
        request = iam_admin_v1.ListRolesRequest(
            parent=scope, view=iam_admin_v1.RoleView.FULL, show_deleted=True, page_size=1000
        )
        roles = self.rec.call(
            scope,
            "iam",
            "roles.list",
            lambda: [as_json(r) for r in self.clients.iam.list_roles(request=request, timeout=self.timeout)],
            count=len,
        )
        for role in roles or []:
            self.raw.roles[role["name"]] = role

    def undefined_roles(self) -> None:
        """``roles.get`` for every role a binding names that no listing defined (predefined roles, and
        custom roles of scopes outside the scan). A role that cannot be read is a gap of its own."""
        for role, scope in _roles_named(self._all_policies()).items():
            if role in self.raw.roles:
                continue
            answer = self.rec.call(
                "gcp" if role.startswith("roles/") else role.rsplit("/roles/", 1)[0],
                "iam",
                "roles.get",
                partial(self.get_role, role),
                target=f"{role} (bound at {scope})",
                fail_as=f"roles.get {role}",
            )
            if answer is not None:
                self.raw.roles[role] = answer

    def group_memberships(self, rest: RestReader) -> None:
        """Cloud Identity: each group the policies name (members ``group:``, deny principals
        ``principalSet://goog/group/``) and, through memberships of type GROUP, the groups inside
        them: ``groups.lookup`` and ``groups.memberships.list``. A group that cannot be read keeps
        unknown members (a gap)."""
        pending = sorted(_groups_named(self._all_policies(), self.raw.deny_policies))
        seen = set(pending)
        while pending:
            email = pending.pop(0)
            group = self.rec.call("gcp", "cloudidentity", "groups.lookup", partial(rest.group, email), target=email)
            if group is None:
                continue
            members = self.rec.call(
                "gcp",
                "cloudidentity",
                "groups.memberships.list",
                partial(rest.memberships, group["name"]),
                target=email,
                count=len,
            )
            if members is None:
                continue
            self.raw.groups.append(group)
            self.raw.memberships[group["name"]] = members
            for member in members:
                key = (member.get("preferredMemberKey") or {}).get("id")
                if member.get("type") == "GROUP" and isinstance(key, str) and key not in seen:
                    seen.add(key)
                    pending.append(key)

    def _all_policies(self) -> Iterable[tuple[str, JsonObject]]:
        yield from self.raw.iam_policies.items()
        for email, policy in self.raw.sa_policies.items():
            yield f"serviceAccount:{email}", policy


def _groups_named(policies: Iterable[tuple[str, JsonObject]], deny_policies: Iterable[JsonObject]) -> set[str]:
    """Group emails that allow-policy members or deny-rule principals name."""
    found: set[str] = set()
    for _, policy in policies:
        for binding in policy.get("bindings", []):
            for member in binding.get("members", []) if isinstance(binding, dict) else []:
                if isinstance(member, str) and member.startswith("group:"):
                    found.add(member.split(":", 1)[1].split("?", 1)[0])
    for deny in deny_policies:
        for rule in deny.get("rules") or []:
            body = rule.get("denyRule") or {} if isinstance(rule, dict) else {}
            for entry in [*(body.get("deniedPrincipals") or []), *(body.get("exceptionPrincipals") or [])]:
                if isinstance(entry, str) and entry.startswith("principalSet://goog/group/"):
                    found.add(entry[len("principalSet://goog/group/") :])
    return found


def _roles_named(policies: Iterable[tuple[str, JsonObject]]) -> dict[str, str]:
    roles: dict[str, str] = {}
    for where, policy in policies:
        for binding in policy.get("bindings", []):
            if isinstance(binding, dict) and isinstance(binding.get("role"), str):
                roles.setdefault(binding["role"], where)
    return roles
