"""Google Cloud export files -> raw answers. Formats are told apart by content, never by file name.

What ``iamdrift scan --from`` reads for Google Cloud (one file per command invocation, JSON output):

1. ``gcloud asset export --content-type=iam-policy --organization=N --output-path=gs://BUCKET/iam.ndjson``
   (then ``gcloud storage cp`` it here): newline-delimited Cloud Asset Inventory assets
   ``{"name": "//cloudresourcemanager.googleapis.com/projects/123", "assetType", "iamPolicy", "ancestors"}``.
   Organization, folder and project assets give each scope's allow policy and, through ``ancestors``,
   the hierarchy; ``iam.googleapis.com/ServiceAccount`` assets give a service account's own policy
   (who may impersonate it); other assets (buckets, topics, ...) give resource-level policies.
2. ``gcloud asset search-all-iam-policies --scope=organizations/N --format=json``: a list of
   ``{"resource", "assetType", "project", "folders", "organization", "policy"}``. Where a file of
   format 1 holds the same policy, format 1 wins.
3. ``gcloud organizations list --format=json``, ``gcloud resource-manager folders list
   --organization=N --format=json`` (and ``--folder=F`` for nested folders), ``gcloud projects list
   --format=json``: names, display names and parents; the project list maps project numbers to ids.
4. ``gcloud iam service-accounts list --project=P --format=json``.
5. ``gcloud iam service-accounts keys list --iam-account=EMAIL --format=json``: key metadata,
   user- and system-managed. A ``privateKeyData`` field, if present, is dropped on reading.
6. ``gcloud iam roles describe ROLE --format=json`` (one role, predefined or custom) and
   ``gcloud iam roles list --project=P --show-deleted --view=FULL --format=json`` (a list). A role
   listed without ``includedPermissions`` (no ``--view=FULL``) is not taken as granting nothing:
   it is a coverage gap until a ``describe`` of it is read.
7. ``gcloud iam policies get NAME --attachment-point=cloudresourcemanager.googleapis.com/projects/P
   --kind=denypolicies --format=json`` (one deny policy; ``gcloud iam policies list ...`` lists
   them without rules, so use ``get`` for each).
8. ``gcloud iam workload-identity-pools list --location=global --project=P --format=json`` and
   ``gcloud iam workload-identity-pools providers list --workload-identity-pool=POOL --location=global
   --project=P --format=json``.
9. ``gcloud compute instances list --project=P --format=json``.
10. ``gcloud run services list --project=P --format=json`` (Knative ``serving.knative.dev/v1``
    objects) or the Cloud Run Admin API v2 ``services.list`` JSON.
11. ``gcloud functions list --project=P --format=json`` (v2 JSON, listing 1st and 2nd gen functions;
    older gcloud versions print the v1 JSON of 1st gen functions: both are read).
12. ``gcloud builds get-default-service-account --project=P --format=json`` (one object: the
    service account builds run as when they name none, ``projects/P/serviceAccounts/EMAIL``; the legacy
    Cloud Build account ``NUMBER@cloudbuild.gserviceaccount.com`` or the Compute Engine default one).
13. ``gcloud scheduler jobs list --location=L --project=P --format=json`` (HTTP targets carry the
    ``oidcToken`` / ``oauthToken`` service account the job's requests are signed as).
14. ``gcloud composer environments list --locations=L --project=P --format=json``.
15. ``gcloud container clusters list --project=P --format=json`` (each cluster with its ``nodePools``).
16. Group memberships, per group: ``gcloud identity groups describe EMAIL --format=json`` (ties the
    group's ``groups/<id>`` name to its email) and ``gcloud identity groups memberships list
    --group-email=EMAIL --format=json`` (its direct members with their types). A group with both
    files has known members (nested groups too, when theirs are read); other groups' members stay
    unknown.

An empty list (``[]``) names no cloud and is not claimed here. Every file read becomes a coverage
entry (source ``file``, operation = the path).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from models import Cloud, CoverageEntry, CoverageStatus, Covers
from scanner.errors import BadInputError
from scanner.gcp import shapes
from scanner.gcp.raw import GcpRaw, JsonObject

CRM = "cloudresourcemanager.googleapis.com"
SCOPE_ASSET_TYPES = {f"{CRM}/Organization", f"{CRM}/Folder", f"{CRM}/Project"}
SA_ASSET_TYPE = "iam.googleapis.com/ServiceAccount"
ROLE_NAME = re.compile(r"^(roles/[^/]+|(projects|organizations)/[^/]+/roles/[^/]+)$")
#: Text that only Google Cloud exports contain: a malformed file holding it is reported, not passed on.
GCP_MARKERS = (
    "googleapis.com",
    "gserviceaccount.com",
    '"projectId"',
    '"assetType"',
    '"includedPermissions"',
    '"keyType"',
    "workloadIdentityPools/",
    "serving.knative.dev",
)
SECRET_FIELDS = ("privateKeyData",)
SCHEDULER_TARGETS = ("httpTarget", "pubsubTarget", "appEngineHttpTarget")

KINDS = (
    "cai",
    "iam_search",
    "organizations",
    "folders",
    "projects",
    "service_accounts",
    "keys",
    "roles",
    "deny_policies",
    "pools",
    "providers",
    "instances",
    "run_services",
    "functions",
    "build_accounts",
    "scheduler_jobs",
    "composer_environments",
    "clusters",
    "groups",
    "memberships",
)
SERVICES = {
    "cai": "cloudasset",
    "iam_search": "cloudasset",
    "organizations": "cloudresourcemanager",
    "folders": "cloudresourcemanager",
    "projects": "cloudresourcemanager",
    "instances": "compute",
    "run_services": "run",
    "functions": "cloudfunctions",
    "build_accounts": "cloudbuild",
    "scheduler_jobs": "cloudscheduler",
    "composer_environments": "composer",
    "clusters": "container",
    "groups": "cloudidentity",
    "memberships": "cloudidentity",
}
#: Which export wins when two hold the allow policy of one scope.
PRIORITY = {"cai": 2, "iam_search": 1}


@dataclass(frozen=True)
class Detected:
    """One Google Cloud export file: its format (one of :data:`KINDS`) and its items, checked."""

    path: Path
    kind: str
    items: list[JsonObject]


def detect(path: Path, text: str) -> Detected | None:
    """Classify a file's text; ``None`` if it is no Google Cloud export (so other clouds' readers may try).

    Raises :class:`BadInputError` for a Google Cloud export that is malformed, naming the file and field.
    """
    stripped = text.strip()
    if not stripped:
        return None
    try:
        data = json.loads(stripped)
    except json.JSONDecodeError as exc:
        assets = _ndjson_assets(path, stripped)
        if assets is not None:
            return _checked(path, "cai", assets)
        if any(marker in stripped for marker in GCP_MARKERS):
            raise BadInputError(
                f"{path}: malformed JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}); "
                "export it again with --format=json"
            ) from exc
        return None
    if isinstance(data, dict):
        kind = _kind_of(data)
        single = ("cai", "roles", "deny_policies", "groups", "build_accounts")
        return _checked(path, kind, [data]) if kind in single else None
    if isinstance(data, list) and data and isinstance(data[0], dict):
        kind = _kind_of(data[0])
        return _checked(path, kind, data) if kind else None
    return None


def _ndjson_assets(path: Path, text: str) -> list[JsonObject] | None:
    """Newline-delimited Cloud Asset Inventory assets, or ``None`` if the first line is not one."""
    lines = text.splitlines()
    try:
        head = json.loads(lines[0])
    except json.JSONDecodeError:
        return None
    if not isinstance(head, dict) or _kind_of(head) != "cai":
        return None
    assets = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            asset = json.loads(line)
        except json.JSONDecodeError as exc:
            raise BadInputError(
                f"{path}: line {number} is not a JSON object ({exc.msg} at column {exc.colno}); "
                "a Cloud Asset Inventory export holds one asset per line"
            ) from exc
        assets.append(asset)
    return assets


def _kind_of(item: dict[str, Any]) -> str | None:
    name = item.get("name")
    name = name if isinstance(name, str) else ""
    if "assetType" in item and "resource" in item and "policy" in item:
        return "iam_search"
    if "assetType" in item and name.startswith("//"):
        return "cai"
    if "projectId" in item and ("projectNumber" in item or "lifecycleState" in item) and "email" not in item:
        return "projects"
    if "keyType" in item or shapes.KEY_NAME.match(name):
        return "keys"
    if "email" in item and ("uniqueId" in item or shapes.SA_NAME.match(name)):
        return "service_accounts"
    if name.startswith("folders/"):
        return "folders"
    if ROLE_NAME.match(name):
        return "roles"
    if name.startswith("organizations/"):
        return "organizations"
    if shapes.DENY_NAME.match(name):
        return "deny_policies"
    if "/workloadIdentityPools/" in name:
        return "providers" if "/providers/" in name else "pools"
    if item.get("kind") == "compute#instance":
        return "instances"
    if (item.get("apiVersion") == shapes.KNATIVE_SERVICE and item.get("kind") == "Service") or (
        shapes.RUN_SERVICE_NAME.match(name)
    ):
        return "run_services"
    if shapes.FUNCTION_NAME.match(name):
        return "functions"
    if shapes.BUILD_ACCOUNT_NAME.match(name) and "serviceAccountEmail" in item:
        return "build_accounts"
    if shapes.SCHEDULER_JOB_NAME.match(name) and any(k in item for k in (*SCHEDULER_TARGETS, "schedule")):
        return "scheduler_jobs"  # (Cloud Run jobs share the name form, not these fields)
    if shapes.COMPOSER_NAME.match(name) and isinstance(item.get("config"), dict):
        return "composer_environments"
    if shapes.CLUSTER_URL.match(str(item.get("selfLink") or "")):
        return "clusters"
    if shapes.GROUP_NAME.match(name) and isinstance(item.get("groupKey"), dict):
        return "groups"
    if shapes.MEMBERSHIP_NAME.match(name) and "preferredMemberKey" in item:
        return "memberships"
    return None


def _checked(path: Path, kind: str | None, items: list[Any]) -> Detected | None:
    if kind is None:
        return None
    checker = CHECKS[kind]
    kept = []
    for i, item in enumerate(items):
        single = ("cai", "roles", "deny_policies", "build_accounts")
        where = f"item {i}" if len(items) > 1 or kind not in single else "the object"
        if not isinstance(item, dict):
            raise BadInputError(f"{path}: {where} is not a JSON object")
        try:
            checker(item, where)
        except shapes.ShapeError as exc:
            raise BadInputError(f"{path}: not the shape {_command(kind)} prints: {exc}") from exc
        kept.append({k: v for k, v in item.items() if k not in SECRET_FIELDS})
    return Detected(path, kind, kept)


# --- per-format checks ------------------------------------------------------------------------


def _check_cai(item: JsonObject, where: str) -> None:
    name = shapes.need_text(item, "name", where)
    if not name.startswith("//"):
        raise shapes.ShapeError(f"{where}.name {name!r} is not a full resource name (//service/...)")
    shapes.need_text(item, "assetType", where)
    if "iamPolicy" in item:
        shapes.check_iam_policy(item["iamPolicy"], f"{where}.iamPolicy")
    ancestors = shapes.need_list(item, "ancestors", where, optional=True)
    if not all(isinstance(a, str) for a in ancestors):
        raise shapes.ShapeError(f"{where}.ancestors must be strings")


def _check_search(item: JsonObject, where: str) -> None:
    resource = shapes.need_text(item, "resource", where)
    if not resource.startswith("//"):
        raise shapes.ShapeError(f"{where}.resource {resource!r} is not a full resource name (//service/...)")
    shapes.need_text(item, "assetType", where)
    shapes.check_iam_policy(item.get("policy"), f"{where}.policy")
    shapes.need_list(item, "folders", where, optional=True)


def _check_project(item: JsonObject, where: str) -> None:
    shapes.need_text(item, "projectId", where)
    number = item.get("projectNumber")
    if not (isinstance(number, str | int) and str(number).isdigit()):
        raise shapes.ShapeError(f"{where}.projectNumber is missing or not a number")


def _check_folder(item: JsonObject, where: str) -> None:
    shapes.need_text(item, "name", where)
    parent = shapes.need_text(item, "parent", where)
    if not parent.startswith(("organizations/", "folders/")):
        raise shapes.ShapeError(f"{where}.parent {parent!r} is not organizations/<n> or folders/<n>")


def _check_organization(item: JsonObject, where: str) -> None:
    shapes.need_text(item, "name", where)


def _check_service_account(item: JsonObject, where: str) -> None:
    shapes.need_text(item, "email", where)
    shapes.need_text(item, "uniqueId", where)
    if not item.get("projectId"):
        name = shapes.need_text(item, "name", where)
        if not shapes.SA_NAME.match(name):
            raise shapes.ShapeError(f"{where}.name {name!r} is not projects/<p>/serviceAccounts/<email>")


def _check_key(item: JsonObject, where: str) -> None:
    name = shapes.need_text(item, "name", where)
    if not shapes.KEY_NAME.match(name):
        raise shapes.ShapeError(f"{where}.name {name!r} is not projects/<p>/serviceAccounts/<email>/keys/<id>")
    key_type = shapes.need_text(item, "keyType", where)
    if key_type not in ("USER_MANAGED", "SYSTEM_MANAGED"):
        raise shapes.ShapeError(f"{where}.keyType {key_type!r} is not USER_MANAGED or SYSTEM_MANAGED")
    for stamp in ("validAfterTime", "validBeforeTime"):
        shapes.parse_time(item.get(stamp), f"{where}.{stamp}")


def _check_role(item: JsonObject, where: str) -> None:
    name = shapes.need_text(item, "name", where)
    if not ROLE_NAME.match(name):
        raise shapes.ShapeError(f"{where}.name {name!r} is not a role name")
    permissions = shapes.need_list(item, "includedPermissions", where, optional=True)
    if not all(isinstance(p, str) for p in permissions):
        raise shapes.ShapeError(f"{where}.includedPermissions must be strings")


def _check_pool(item: JsonObject, where: str) -> None:
    name = shapes.need_text(item, "name", where)
    if not shapes.POOL_NAME.match(name):
        raise shapes.ShapeError(f"{where}.name {name!r} is not projects/<n>/locations/<l>/workloadIdentityPools/<id>")


def _check_provider(item: JsonObject, where: str) -> None:
    name = shapes.need_text(item, "name", where)
    if not shapes.PROVIDER_NAME.match(name):
        raise shapes.ShapeError(f"{where}.name {name!r} is not <pool name>/providers/<id>")
    if isinstance(item.get("oidc"), dict):
        shapes.need_text(item["oidc"], "issuerUri", f"{where}.oidc")
    elif isinstance(item.get("aws"), dict):
        shapes.need_text(item["aws"], "accountId", f"{where}.aws")
    elif not isinstance(item.get("saml"), dict):
        raise shapes.ShapeError(f"{where} has none of oidc, aws, saml")


def _check_instance(item: JsonObject, where: str) -> None:
    shapes.need_text(item, "name", where)
    zone = shapes.need_text(item, "zone", where)
    if not shapes.ZONE_URL.search(zone):
        raise shapes.ShapeError(f"{where}.zone {zone!r} is not .../projects/<p>/zones/<z>")
    for j, account in enumerate(shapes.need_list(item, "serviceAccounts", where, optional=True)):
        shapes.need_text(account, "email", f"{where}.serviceAccounts[{j}]")


def _check_run_service(item: JsonObject, where: str) -> None:
    if item.get("apiVersion") == shapes.KNATIVE_SERVICE:
        meta = item.get("metadata")
        shapes.need_text(meta, "name", f"{where}.metadata")
        shapes.need_text(meta, "namespace", f"{where}.metadata")
        return
    template = item.get("template")
    if template is not None and not isinstance(template, dict):
        raise shapes.ShapeError(f"{where}.template must be a JSON object")


def _check_function(item: JsonObject, where: str) -> None:
    config = item.get("serviceConfig")
    if config is not None and not isinstance(config, dict):
        raise shapes.ShapeError(f"{where}.serviceConfig must be a JSON object")


def _check_build_account(item: JsonObject, where: str) -> None:
    email = item.get("serviceAccountEmail")
    if not isinstance(email, str):
        raise shapes.ShapeError(f"{where}.serviceAccountEmail is missing or not a string")
    if email and not shapes.BUILD_ACCOUNT_EMAIL.match(email):
        raise shapes.ShapeError(f"{where}.serviceAccountEmail {email!r} is not projects/<p>/serviceAccounts/<email>")


def _check_scheduler_job(item: JsonObject, where: str) -> None:
    target = item.get("httpTarget")
    if target is None:
        return
    if not isinstance(target, dict):
        raise shapes.ShapeError(f"{where}.httpTarget must be a JSON object")
    for token in ("oidcToken", "oauthToken"):
        if token in target:
            shapes.need_text(target[token], "serviceAccountEmail", f"{where}.httpTarget.{token}")


def _check_composer(item: JsonObject, where: str) -> None:
    node = item["config"].get("nodeConfig")
    if node is not None and not isinstance(node, dict):
        raise shapes.ShapeError(f"{where}.config.nodeConfig must be a JSON object")


def _check_cluster(item: JsonObject, where: str) -> None:
    shapes.need_text(item, "name", where)
    for j, pool in enumerate(shapes.need_list(item, "nodePools", where, optional=True)):
        shapes.need_text(pool, "name", f"{where}.nodePools[{j}]")
        config = pool.get("config")
        if config is not None and not isinstance(config, dict):
            raise shapes.ShapeError(f"{where}.nodePools[{j}].config must be a JSON object")
        scopes = (config or {}).get("oauthScopes")
        if scopes is not None and not (isinstance(scopes, list) and all(isinstance(x, str) for x in scopes)):
            raise shapes.ShapeError(f"{where}.nodePools[{j}].config.oauthScopes must be a list of strings")


def _check_group(item: JsonObject, where: str) -> None:
    shapes.need_text(item.get("groupKey"), "id", f"{where}.groupKey")


def _check_membership(item: JsonObject, where: str) -> None:
    shapes.need_text(item.get("preferredMemberKey"), "id", f"{where}.preferredMemberKey")


CHECKS = {
    "cai": _check_cai,
    "iam_search": _check_search,
    "organizations": _check_organization,
    "folders": _check_folder,
    "projects": _check_project,
    "service_accounts": _check_service_account,
    "keys": _check_key,
    "roles": _check_role,
    "deny_policies": lambda item, where: shapes.check_deny_policy(item, where),
    "pools": _check_pool,
    "providers": _check_provider,
    "instances": _check_instance,
    "run_services": _check_run_service,
    "functions": _check_function,
    "build_accounts": _check_build_account,
    "scheduler_jobs": _check_scheduler_job,
    "composer_environments": _check_composer,
    "clusters": _check_cluster,
    "groups": _check_group,
    "memberships": _check_membership,
}


def _command(kind: str) -> str:
    return {
        "cai": "`gcloud asset export --content-type=iam-policy`",
        "iam_search": "`gcloud asset search-all-iam-policies`",
        "organizations": "`gcloud organizations list`",
        "folders": "`gcloud resource-manager folders list`",
        "projects": "`gcloud projects list`",
        "service_accounts": "`gcloud iam service-accounts list`",
        "keys": "`gcloud iam service-accounts keys list`",
        "roles": "`gcloud iam roles describe` / `roles list --view=FULL`",
        "deny_policies": "`gcloud iam policies get --kind=denypolicies`",
        "pools": "`gcloud iam workload-identity-pools list`",
        "providers": "`gcloud iam workload-identity-pools providers list`",
        "instances": "`gcloud compute instances list`",
        "run_services": "`gcloud run services list`",
        "functions": "`gcloud functions list`",
        "build_accounts": "`gcloud builds get-default-service-account`",
        "scheduler_jobs": "`gcloud scheduler jobs list`",
        "composer_environments": "`gcloud composer environments list`",
        "clusters": "`gcloud container clusters list`",
        "groups": "`gcloud identity groups describe`",
        "memberships": "`gcloud identity groups memberships list`",
    }[kind]


# --- assembling -------------------------------------------------------------------------------


def assemble(detected: list[Detected]) -> GcpRaw:
    """Merge detected files into one :class:`GcpRaw`.

    Allow policies of one scope from two files: a CAI export beats ``search-all-iam-policies``;
    two files of one format that disagree are an error naming both.
    """
    return _Assembler().run(detected)


@dataclass
class _Assembler:
    raw: GcpRaw = field(default_factory=lambda: GcpRaw(source="file"))
    #: Where each allow policy came from: (priority, file), by iam_policies / sa_policies key.
    scope_origins: dict[str, tuple[int, Path]] = field(default_factory=dict)
    account_origins: dict[str, tuple[int, Path]] = field(default_factory=dict)
    listed_only: dict[str, Path] = field(default_factory=dict)  # roles seen without their permissions
    seen: dict[str, set[str]] = field(default_factory=dict)

    def run(self, detected: list[Detected]) -> GcpRaw:
        raw = self.raw
        for item in detected:
            if not self.once("files", str(item.path.resolve())):
                continue
            raw.coverage.append(_file_entry(item))
            if item.kind == "cai":
                for asset in item.items:
                    ancestors = asset.get("ancestors") or []
                    if ancestors:
                        raw.ancestors[ancestors[0]] = list(ancestors)
                    if "iamPolicy" in asset:
                        self.place(asset["name"], asset["assetType"], asset["iamPolicy"], ancestors, item)
            elif item.kind == "iam_search":
                for result in item.items:
                    self.search_result(result, item)
            elif item.kind == "keys":
                for key in item.items:
                    match = shapes.KEY_NAME.match(key["name"])
                    assert match is not None  # checked on detection
                    if self.once("keys", key["name"]):
                        raw.keys.setdefault(match.group("account"), []).append(key)
            elif item.kind == "memberships":
                for membership in item.items:
                    group = shapes.MEMBERSHIP_NAME.match(membership["name"])
                    assert group is not None  # checked on detection
                    if self.once("memberships", membership["name"]):
                        raw.memberships.setdefault(group["group"], []).append(membership)
            elif item.kind == "roles":
                for role in item.items:
                    if "includedPermissions" in role:
                        raw.roles[role["name"]] = role
                        self.listed_only.pop(role["name"], None)
                    elif role["name"] not in raw.roles:
                        self.listed_only[role["name"]] = item.path
            else:
                target, key_field = {
                    "organizations": (raw.organizations, "name"),
                    "folders": (raw.folders, "name"),
                    "projects": (raw.projects, "projectId"),
                    "service_accounts": (raw.service_accounts, "email"),
                    "deny_policies": (raw.deny_policies, "name"),
                    "pools": (raw.pools, "name"),
                    "providers": (raw.providers, "name"),
                    "instances": (raw.instances, "selfLink"),
                    "run_services": (raw.run_services, "name"),
                    "functions": (raw.functions, "name"),
                    "build_accounts": (raw.build_accounts, "name"),
                    "scheduler_jobs": (raw.scheduler_jobs, "name"),
                    "composer_environments": (raw.composer_environments, "name"),
                    "clusters": (raw.clusters, "selfLink"),
                    "groups": (raw.groups, "name"),
                }[item.kind]
                for obj in item.items:
                    if self.once(item.kind, str(obj.get(key_field) or json.dumps(obj, sort_keys=True))):
                        target.append(obj)
        raw.listed_roles = {name: str(path) for name, path in sorted(self.listed_only.items())}
        self.prefer_ids()
        return raw

    def once(self, bucket: str, key: str) -> bool:
        keys = self.seen.setdefault(bucket, set())
        if key in keys:
            return False
        keys.add(key)
        return True

    def put_policy(
        self,
        store: dict[str, JsonObject],
        origins: dict[str, tuple[int, Path]],
        key: str,
        policy: JsonObject,
        item: Detected,
    ) -> None:
        rank = PRIORITY[item.kind]
        if key in origins:
            old_rank, old_path = origins[key]
            if old_rank > rank:
                return
            if old_rank == rank and _bindings(store[key]) != _bindings(policy):
                raise BadInputError(f"{item.path}: the IAM policy of {key} differs from the one in {old_path}")
        store[key] = policy
        origins[key] = (rank, item.path)

    def place(self, name: str, asset_type: str, policy: JsonObject, ancestors: list[str], item: Detected) -> None:
        """File one allow policy under the scope, service account or resource its asset names."""
        service, _, path = name[2:].partition("/")
        if asset_type in SCOPE_ASSET_TYPES and service == CRM:
            self.put_policy(self.raw.iam_policies, self.scope_origins, path, policy, item)
        elif asset_type == SA_ASSET_TYPE and (match := shapes.SA_NAME.match(path)):
            self.put_policy(self.raw.sa_policies, self.account_origins, match.group("account"), policy, item)
        elif self.once("resource_policies", name):
            self.raw.resource_policies.append(
                {"name": name, "assetType": asset_type, "iamPolicy": policy, "ancestors": ancestors}
            )

    def search_result(self, result: JsonObject, item: Detected) -> None:
        resource = result["resource"]
        project = result.get("project") or ""
        service, _, path = resource[2:].partition("/")
        if service == CRM and path.startswith("projects/") and project.startswith("projects/"):
            number, project_id = project.partition("/")[2], path.partition("/")[2]
            if number.isdigit() and not project_id.isdigit():
                self.raw.project_numbers.setdefault(number, project_id)
        chain, unordered = shapes.search_ancestry(result)
        if chain and not unordered:
            self.raw.ancestors.setdefault(chain[0], chain)
        if unordered:
            self.raw.ancestor_sets.setdefault(chain[0] if chain else path, unordered)
        self.place(resource, result["assetType"], result["policy"], chain, item)

    def prefer_ids(self) -> None:
        """Key allow policies by ``projects/<id>`` where the number is known; of two, the higher priority wins."""
        raw = self.raw
        numbers = {str(p["projectNumber"]): p["projectId"] for p in raw.projects}
        numbers.update({k: v for k, v in raw.project_numbers.items() if k not in numbers})
        for key in list(raw.iam_policies):
            kind, _, ident = key.partition("/")
            if kind != "projects" or not ident.isdigit() or ident not in numbers:
                continue
            target = f"projects/{numbers[ident]}"
            policy = raw.iam_policies.pop(key)
            rank, path = self.scope_origins.pop(key)
            if target in raw.iam_policies:
                other_rank, other_path = self.scope_origins[target]
                if other_rank > rank:
                    continue
                if other_rank == rank and _bindings(raw.iam_policies[target]) != _bindings(policy):
                    raise BadInputError(
                        f"{path}: the IAM policy of {key} ({target}) differs from the one in {other_path}"
                    )
            raw.iam_policies[target] = policy
            self.scope_origins[target] = (rank, path)


def _bindings(policy: JsonObject) -> str:
    bindings = [{**b, "members": sorted(b.get("members", []))} for b in policy.get("bindings", [])]
    return json.dumps(sorted(bindings, key=lambda b: json.dumps(b, sort_keys=True)), sort_keys=True)


def _file_entry(item: Detected) -> CoverageEntry:
    scope = "gcp"
    first = item.items[0] if item.items else {}
    if item.kind in ("service_accounts", "keys"):
        match = shapes.SA_NAME.match(first.get("name", "")) or shapes.KEY_NAME.match(first.get("name", ""))
        project = first.get("projectId") or (match.group("project") if match else None)
        scope = f"projects/{project}" if project and project != "-" else scope
    return CoverageEntry(
        scope_id=scope,
        source="file",
        service=SERVICES.get(item.kind, "iam"),
        operation=str(item.path),
        status=CoverageStatus.OK,
        items=len(item.items),
        cloud=Cloud.GCP,
        covers=FILE_COVERS[item.kind],
    )


#: What each kind of export file yields.
FILE_COVERS: dict[str, tuple[Covers, ...]] = {
    "cai": (Covers.ALLOW_POLICIES, Covers.RESOURCE_POLICIES, Covers.ORGANIZATION),
    "iam_search": (Covers.ALLOW_POLICIES, Covers.RESOURCE_POLICIES, Covers.ORGANIZATION),
    "organizations": (Covers.ORGANIZATION,),
    "folders": (Covers.ORGANIZATION,),
    "projects": (Covers.ORGANIZATION,),
    "service_accounts": (Covers.PRINCIPALS,),
    "keys": (Covers.CREDENTIALS,),
    "roles": (Covers.ROLES,),
    "deny_policies": (Covers.DENY_POLICIES,),
    "pools": (Covers.PRINCIPALS,),
    "providers": (Covers.CREDENTIALS,),
    "instances": (Covers.WORKLOADS,),
    "run_services": (Covers.WORKLOADS,),
    "functions": (Covers.WORKLOADS,),
    "build_accounts": (Covers.WORKLOADS,),
    "scheduler_jobs": (Covers.WORKLOADS,),
    "composer_environments": (Covers.WORKLOADS,),
    "clusters": (Covers.WORKLOADS,),
    "groups": (Covers.GROUP_MEMBERS,),
    "memberships": (Covers.GROUP_MEMBERS,),
}
