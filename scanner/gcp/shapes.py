"""Shape checks and name parsing shared by the Google Cloud readers and the normalizer.

Each check raises :class:`ShapeError` naming the field (``bindings[2].members``); callers add the file
or API the object came from and raise :class:`scanner.errors.BadInputError`.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from urllib.parse import unquote

from models import Covers

#: ``validBeforeTime`` of a key that never expires.
NEVER_YEAR = 9999

DENY_NAME = re.compile(r"^policies/(?P<point>[^/]+)/denypolicies/(?P<id>[^/]+)$")
KEY_NAME = re.compile(r"^projects/(?P<project>[^/]+)/serviceAccounts/(?P<account>[^/]+)/keys/(?P<key>[^/]+)$")
SA_NAME = re.compile(r"^projects/(?P<project>[^/]+)/serviceAccounts/(?P<account>[^/]+)$")
POOL_NAME = re.compile(
    r"^projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)/workloadIdentityPools/(?P<pool>[^/]+)"
)
PROVIDER_NAME = re.compile(
    r"^(?P<pool>projects/[^/]+/locations/[^/]+/workloadIdentityPools/[^/]+)/providers/(?P<provider>[^/]+)$"
)
ZONE_URL = re.compile(r"/projects/(?P<project>[^/]+)/zones/(?P<zone>[^/]+)$")
RUN_SERVICE_NAME = re.compile(r"^projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)/services/(?P<name>[^/]+)$")
FUNCTION_NAME = re.compile(r"^projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)/functions/(?P<name>[^/]+)$")
#: ``gcloud builds get-default-service-account``: the project's Cloud Build default service account setting.
BUILD_ACCOUNT_NAME = re.compile(r"^projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)/defaultServiceAccount$")
#: Cloud Build's ``serviceAccountEmail``: ``projects/<p>/serviceAccounts/<email>`` (or a bare email).
BUILD_ACCOUNT_EMAIL = re.compile(r"^(?:projects/[^/]+/serviceAccounts/)?(?P<email>[^/@]+@[^/@]+)$")
#: The legacy Cloud Build service account, ``<project number>@cloudbuild.gserviceaccount.com``.
LEGACY_BUILD_ACCOUNT = re.compile(r"^\d+@cloudbuild\.gserviceaccount\.com$")
SCHEDULER_JOB_NAME = re.compile(r"^projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)/jobs/(?P<name>[^/]+)$")
COMPOSER_NAME = re.compile(r"^projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)/environments/(?P<name>[^/]+)$")
#: A GKE cluster's ``selfLink`` (``.../v1/projects/<p>/locations/<l>/clusters/<c>``; zonal ones may say ``zones``).
CLUSTER_URL = re.compile(
    r"^https://container\.googleapis\.com/v1[^/]*/projects/(?P<project>[^/]+)/(?:locations|zones)/"
    r"(?P<location>[^/]+)/clusters/(?P<name>[^/]+)$"
)
#: A GKE Kubernetes service account as an IAM member: ``serviceAccount:<pool>.svc.id.goog[<namespace>/<name>]``.
GKE_MEMBER = re.compile(
    r"^serviceAccount:(?P<pool>(?P<project>[^\[\]]+)\.svc\.id\.goog)\[(?P<namespace>[^/\]]+)/(?P<name>[^\]]+)\]$"
)
KNATIVE_SERVICE = "serving.knative.dev/v1"
GROUP_NAME = re.compile(r"^groups/[^/]+$")
MEMBERSHIP_NAME = re.compile(r"^(?P<group>groups/[^/]+)/memberships/[^/]+$")
#: Cloud Identity membership types -> IAM member prefixes.
MEMBER_TYPES = {"USER": "user", "SERVICE_ACCOUNT": "serviceAccount", "GROUP": "group"}
SA_EMAIL_PROJECT = re.compile(r"^[^@]+@(?P<project>[a-z][a-z0-9-]{4,28}[a-z0-9])\.iam\.gserviceaccount\.com$")


class ShapeError(ValueError):
    """An object lacks a field, or a field has the wrong type; the message names the field."""


def need_text(obj: Any, key: str, where: str) -> str:
    if not isinstance(obj, dict):
        raise ShapeError(f"{where} must be a JSON object")
    value = obj.get(key)
    if not isinstance(value, str) or not value:
        raise ShapeError(f"{where}.{key} is missing or not a string")
    return value


def need_list(obj: dict[str, Any], key: str, where: str, *, optional: bool = False) -> list[Any]:
    value = obj.get(key)
    if value is None and optional:
        return []
    if not isinstance(value, list):
        raise ShapeError(f"{where}.{key} is missing or not a list")
    return value


def check_iam_policy(policy: Any, where: str) -> None:
    """An IAM Policy JSON: ``bindings`` (absent means none) of ``{"role", "members": [...], "condition"?}``."""
    if not isinstance(policy, dict):
        raise ShapeError(f"{where} must be a JSON object (an IAM policy)")
    for i, binding in enumerate(need_list(policy, "bindings", where, optional=True)):
        at = f"{where}.bindings[{i}]"
        need_text(binding, "role", at)
        members = binding.get("members")
        if not isinstance(members, list) or not members:
            raise ShapeError(f"{at}.members is missing or empty (a binding names at least one member)")
        if not all(isinstance(m, str) and m for m in members):
            raise ShapeError(f"{at}.members must be strings")
        condition = binding.get("condition")
        if condition is not None:
            need_text(condition, "expression", f"{at}.condition")


def check_deny_policy(policy: Any, where: str) -> None:
    name = need_text(policy, "name", where)
    if not DENY_NAME.match(name):
        raise ShapeError(f"{where}.name {name!r} is not policies/<attachment point>/denypolicies/<id>")
    for i, rule in enumerate(need_list(policy, "rules", where, optional=True)):
        at = f"{where}.rules[{i}]"
        if not isinstance(rule, dict) or not isinstance(rule.get("denyRule"), dict):
            raise ShapeError(f"{at}.denyRule is missing or not an object")
        deny = rule["denyRule"]
        for key in ("deniedPrincipals", "exceptionPrincipals", "deniedPermissions", "exceptionPermissions"):
            need_list(deny, key, f"{at}.denyRule", optional=True)


def deny_attachment_scope(name: str) -> str:
    """``policies/cloudresourcemanager.googleapis.com%2Fprojects%2Fp/denypolicies/x`` -> ``projects/p``."""
    match = DENY_NAME.match(name)
    if not match:
        raise ShapeError(f"deny policy name {name!r} is not policies/<attachment point>/denypolicies/<id>")
    point = unquote(match.group("point"))
    service, _, scope = point.partition("/")
    if service != "cloudresourcemanager.googleapis.com" or not re.match(
        r"^(organizations|folders|projects)/[^/]+$", scope
    ):
        raise ShapeError(f"deny policy {name!r}: attachment point {point!r} is not an organization, folder or project")
    return scope


def parse_time(value: Any, where: str) -> datetime | None:
    """An RFC 3339 timestamp as the APIs print it; ``None`` when absent."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ShapeError(f"{where} is not a timestamp string")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise ShapeError(f"{where} is not an RFC 3339 timestamp: {value!r}") from exc
    if parsed.tzinfo is None:
        raise ShapeError(f"{where} has no time zone: {value!r}")
    return parsed


def sa_project_from_email(email: str) -> str | None:
    """The project of a user-created service account (``x@<project>.iam.gserviceaccount.com``); ``None`` for
    Google-managed service agents (``gcp-sa-*``) and other domains."""
    match = SA_EMAIL_PROJECT.match(email)
    if not match or match.group("project").startswith("gcp-sa-"):
        return None
    return match.group("project")


#: What each Google Cloud read yields, by (service, operation); an operation with a target after a
#: space (``roles.get ROLE``) is looked up by its first word.
_COVERS: dict[tuple[str, str], tuple[Covers, ...]] = {
    ("cloudresourcemanager", "organizations.get"): (Covers.ORGANIZATION,),
    ("cloudresourcemanager", "folders.list"): (Covers.ORGANIZATION,),
    ("cloudresourcemanager", "folders.get"): (Covers.ORGANIZATION,),
    ("cloudresourcemanager", "projects.list"): (Covers.ORGANIZATION,),
    ("cloudresourcemanager", "projects.get"): (Covers.ORGANIZATION,),
    ("iam", "policies.list"): (Covers.DENY_POLICIES,),
    ("iam", "policies.get"): (Covers.DENY_POLICIES,),
    ("iam", "serviceAccounts.list"): (Covers.PRINCIPALS,),
    ("iam", "serviceAccounts.keys.list"): (Covers.CREDENTIALS,),
    ("iam", "serviceAccounts.getIamPolicy"): (Covers.RESOURCE_POLICIES,),
    ("iam", "workloadIdentityPools.list"): (Covers.PRINCIPALS,),
    ("iam", "workloadIdentityPools.providers.list"): (Covers.CREDENTIALS,),
    ("iam", "roles.list"): (Covers.ROLES,),
    ("iam", "roles.get"): (Covers.ROLES,),
    ("compute", "instances.aggregatedList"): (Covers.WORKLOADS,),
    ("compute", "instances.list"): (Covers.WORKLOADS,),
    ("run", "services.list"): (Covers.WORKLOADS,),
    ("cloudfunctions", "functions.list"): (Covers.WORKLOADS,),
    ("cloudbuild", "defaultServiceAccount.get"): (Covers.WORKLOADS,),
    ("cloudscheduler", "locations.list"): (Covers.WORKLOADS,),
    ("cloudscheduler", "jobs.list"): (Covers.WORKLOADS,),
    ("composer", "environments.list"): (Covers.WORKLOADS,),
    ("container", "clusters.list"): (Covers.WORKLOADS,),
    # finds the locations that hold Composer environments (Composer has no locations list)
    ("cloudasset", "searchAllResources"): (Covers.WORKLOADS,),
    ("cloudidentity", "groups.lookup"): (Covers.GROUP_MEMBERS,),
    ("cloudidentity", "groups.describe"): (Covers.GROUP_MEMBERS,),
    ("cloudidentity", "groups.memberships.list"): (Covers.GROUP_MEMBERS,),
    # live scans read scope policies and the hierarchy from Resource Manager; the search adds
    # resource-level policies only (export files say more: see exports.FILE_COVERS)
    ("cloudasset", "searchAllIamPolicies"): (Covers.RESOURCE_POLICIES,),
}


def covers_of(service: str, operation: str) -> tuple[Covers, ...]:
    """What a read of ``operation`` on ``service`` yields (``()`` for one this table lacks)."""
    if service == "cloudresourcemanager" and operation.endswith(".getIamPolicy"):
        return (Covers.ALLOW_POLICIES,)
    if operation.startswith("default service account of "):
        return (Covers.WORKLOADS,)
    return _COVERS.get((service, operation.split(" ", 1)[0]), ())


def search_ancestry(result: dict[str, Any]) -> tuple[list[str], list[str]]:
    """Where a ``searchAllIamPolicies`` result sits: (its chain of ancestors, nearest first, when
    their order is known; every ancestor as an unordered set when it is not). The result names its
    ``project``, ``folders`` and ``organization``; Google documents no order for ``folders``, so a
    chain is built only when at most one folder is above; otherwise the set is returned and the
    chain is ``[project]`` (or empty for a folder), so the resource is still filed under its project."""
    resource = str(result.get("resource") or "")
    project = str(result.get("project") or "")
    organization = str(result.get("organization") or "")
    folders = [f for f in dict.fromkeys(result.get("folders") or []) if isinstance(f, str)]
    top = [organization] if organization else []
    service, _, path = resource[2:].partition("/")
    if service == "cloudresourcemanager.googleapis.com" and path.startswith("folders/"):
        above = [f for f in folders if f != path]
        if len(above) <= 1 and (organization or above):
            return [path, *above, *top], []
        return [], [*above, *top] if above else []
    if not project:
        return [], []
    if len(folders) <= 1:
        return [project, *folders, *top], []
    return [project], [*folders, *top]
