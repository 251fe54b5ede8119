"""Google Cloud IAM evaluation, one rule per case: each case is decided by the reference evaluator
and by the z3 encoding with the time fixed, and both must give the expected decision."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from simulator.core import ReasonKind
from simulator.gcp.encode import decide_smt
from simulator.gcp.reference import Outcome, PolicySet, Request, decide, deny_form, deny_permission_matches

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
SA = "serviceAccount:deployer@app-prod.iam.gserviceaccount.com"
ALICE = "user:alice@example.com"
POOL = "projects/123456/locations/global/workloadIdentityPools/github"
WIF = f"principal://iam.googleapis.com/{POOL}/subject/repo:acme/app:ref:refs/heads/main"
GKE = "serviceAccount:app-prod.svc.id.goog[web/frontend]"
GKE_POOL = "projects/1001/locations/global/workloadIdentityPools/app-prod.svc.id.goog"
GKE_PRINCIPAL = f"principal://iam.googleapis.com/{GKE_POOL}/subject/ns/web/sa/frontend"
ROLES = {
    "roles/storage.objectViewer": frozenset({"storage.objects.get", "storage.objects.list"}),
    "roles/storage.admin": frozenset({"storage.objects.get", "storage.objects.delete", "storage.buckets.delete"}),
    "roles/resourcemanager.projectDeleter": frozenset({"resourcemanager.projects.delete"}),
}
PERM = "storage.objects.get"
PROJECT, FOLDER, ORG = "projects/app-prod", "folders/111", "organizations/999"
BEFORE_NOW = 'request.time < timestamp("2026-01-01T00:00:00Z")'
TYPE_AND_SERVICE = 'resource.type == "storage.googleapis.com/Object" && resource.service == "storage.googleapis.com"'
AFTER_START = 'request.time >= timestamp("2026-01-01T00:00:00Z")'


def binding(role: str, *members: str, cond: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"role": role, "members": list(members)}
    if cond is not None:
        out["condition"] = {"title": "c", "expression": cond}
    return out


def deny_rule(
    principals: list[str],
    permissions: list[str],
    *,
    except_principals: list[str] | None = None,
    except_permissions: list[str] | None = None,
    cond: str | None = None,
) -> dict[str, Any]:
    rule: dict[str, Any] = {"deniedPrincipals": principals, "deniedPermissions": permissions}
    if except_principals:
        rule["exceptionPrincipals"] = except_principals
    if except_permissions:
        rule["exceptionPermissions"] = except_permissions
    if cond:
        rule["denialCondition"] = {"title": "d", "expression": cond}
    return {"denyRule": rule}


@dataclass
class Case:
    id: str
    expected: str
    allow: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    deny: list[dict[str, Any]] = field(default_factory=list)
    principal: str = SA
    permission: str = PERM
    groups: frozenset[str] = frozenset()
    unknown_groups: frozenset[str] = frozenset()
    disabled: bool = False
    aliases: frozenset[str] = frozenset()
    name: str = "projects/_/buckets/acme-logs/objects/a.txt"
    reason: str | None = None  # a text the first reason's detail must contain
    disabled_roles: frozenset[str] = frozenset()
    sa_ancestry: frozenset[str] | None = None


VIEW = "roles/storage.objectViewer"
CASES = [
    # --- inheritance and member forms
    Case("binding on the project", "allowed", {PROJECT: [binding(VIEW, SA)]}, reason=f"{PROJECT}#{VIEW} {SA}"),
    Case("inherited from the folder", "allowed", {FOLDER: [binding(VIEW, SA)]}),
    Case("inherited from the organization", "allowed", {ORG: [binding(VIEW, SA)]}),
    Case("no binding", "implicit_deny", {PROJECT: [binding(VIEW, ALICE)]}, reason="no binding"),
    Case(
        "role lacks the permission",
        "implicit_deny",
        {PROJECT: [binding(VIEW, SA)]},
        permission="storage.objects.delete",
    ),
    Case(
        "member emails compare case-insensitively",
        "allowed",
        {PROJECT: [binding(VIEW, SA.upper().replace("SERVICEACCOUNT", "serviceAccount"))]},
    ),
    Case(
        "group member",
        "allowed",
        {PROJECT: [binding(VIEW, "group:devs@example.com")]},
        groups=frozenset({"group:devs@example.com"}),
    ),
    Case("not in the group", "implicit_deny", {PROJECT: [binding(VIEW, "group:devs@example.com")]}),
    Case(
        "group membership unknown",
        "unknown",
        {PROJECT: [binding(VIEW, "group:devs@example.com")]},
        unknown_groups=frozenset({"group:devs@example.com"}),
        reason="members of group:devs@example.com are not known",
    ),
    Case("domain of the email", "allowed", {PROJECT: [binding(VIEW, "domain:example.com")]}, principal=ALICE),
    Case("other domain", "implicit_deny", {PROJECT: [binding(VIEW, "domain:example.org")]}, principal=ALICE),
    Case("allUsers", "allowed", {PROJECT: [binding(VIEW, "allUsers")]}),
    Case("allUsers for the anonymous", "allowed", {PROJECT: [binding(VIEW, "allUsers")]}, principal="allUsers"),
    Case("allAuthenticatedUsers", "allowed", {PROJECT: [binding(VIEW, "allAuthenticatedUsers")]}),
    Case(
        "allAuthenticatedUsers excludes the anonymous",
        "implicit_deny",
        {PROJECT: [binding(VIEW, "allAuthenticatedUsers")]},
        principal="allUsers",
    ),
    Case(
        "workload identity pool set",
        "allowed",
        {PROJECT: [binding(VIEW, f"principalSet://iam.googleapis.com/{POOL}/*")]},
        principal=WIF,
    ),
    Case(
        "other pool",
        "implicit_deny",
        {
            PROJECT: [
                binding(
                    VIEW,
                    "principalSet://iam.googleapis.com/projects/123456/locations/global/workloadIdentityPools/other/*",
                )
            ]
        },
        principal=WIF,
    ),
    Case(
        "pool attribute set",
        "unknown",
        {PROJECT: [binding(VIEW, f"principalSet://iam.googleapis.com/{POOL}/attribute.repository/acme/app")]},
        principal=WIF,
    ),
    Case("pool subject", "allowed", {PROJECT: [binding(VIEW, WIF)]}, principal=WIF),
    Case("deleted member", "implicit_deny", {PROJECT: [binding(VIEW, f"deleted:{SA}?uid=123")]}),
    Case("disabled service account", "implicit_deny", {PROJECT: [binding(VIEW, SA)]}, disabled=True, reason="disabled"),
    # --- roles
    Case(
        "role not in the snapshot",
        "unknown",
        {PROJECT: [binding("roles/custom.unknown", SA)]},
        reason="role roles/custom.unknown not in the snapshot",
    ),
    Case(
        "missing role for another principal does not matter",
        "implicit_deny",
        {PROJECT: [binding("roles/custom.unknown", ALICE)]},
    ),
    Case(
        "a known grant beats an unknown role",
        "allowed",
        {PROJECT: [binding("roles/custom.unknown", SA), binding(VIEW, SA)]},
    ),
    # --- conditions
    Case("condition holds", "allowed", {PROJECT: [binding(VIEW, SA, cond=AFTER_START)]}),
    Case("condition expired", "implicit_deny", {PROJECT: [binding(VIEW, SA, cond=BEFORE_NOW)]}),
    Case(
        "resource name prefix",
        "allowed",
        {PROJECT: [binding(VIEW, SA, cond='resource.name.startsWith("projects/_/buckets/acme-logs/")')]},
    ),
    Case(
        "resource name prefix does not match",
        "implicit_deny",
        {PROJECT: [binding(VIEW, SA, cond='resource.name.startsWith("projects/_/buckets/other/")')]},
    ),
    Case(
        "extract",
        "allowed",
        {PROJECT: [binding(VIEW, SA, cond='resource.name.extract("/buckets/{b}/") == "acme-logs"')]},
    ),
    Case(
        "type and service",
        "allowed",
        {
            PROJECT: [
                binding(
                    VIEW,
                    SA,
                    cond=TYPE_AND_SERVICE,
                )
            ]
        },
    ),
    Case(
        "unsupported condition",
        "unknown",
        {PROJECT: [binding(VIEW, SA, cond='request.auth.claims.email == "x"')]},
        reason="request.auth.claims.email",
    ),
    Case(
        "unsupported condition beaten by a definite grant",
        "allowed",
        {PROJECT: [binding(VIEW, SA, cond='request.auth.claims.email == "x"')], ORG: [binding(VIEW, SA)]},
    ),
    Case(
        "unsupported part that cannot matter",
        "implicit_deny",
        {PROJECT: [binding(VIEW, SA, cond=f'{BEFORE_NOW} && request.auth.claims.email == "x"')]},
    ),
    Case(
        "condition that is not CEL",
        "unknown",
        {PROJECT: [binding(VIEW, SA, cond="request.time <")]},
        reason="does not parse",
    ),
    # --- deny
    Case(
        "deny the service account",
        "explicit_deny",
        {PROJECT: [binding(VIEW, SA)]},
        [
            deny_rule(
                [f"principal://iam.googleapis.com/projects/-/serviceAccounts/{SA[15:]}"],
                ["storage.googleapis.com/objects.get"],
            )
        ],
        reason="deny#rule 0",
    ),
    Case(
        "deny the service account by unique id",
        "explicit_deny",
        {PROJECT: [binding(VIEW, SA)]},
        [deny_rule(["principal://iam.googleapis.com/projects/-/serviceAccounts/1099"], ["storage.googleapis.com/*"])],
        aliases=frozenset({"1099"}),
    ),
    Case(
        "deny without any allow is explicit",
        "explicit_deny",
        {},
        [deny_rule(["principalSet://goog/public:all"], ["storage.googleapis.com/*"])],
    ),
    Case(
        "deny a user",
        "explicit_deny",
        {PROJECT: [binding(VIEW, ALICE)]},
        [deny_rule(["principal://goog/subject/alice@example.com"], ["storage.googleapis.com/objects.*"])],
        principal=ALICE,
    ),
    Case(
        "user deny does not name the service account",
        "allowed",
        {PROJECT: [binding(VIEW, SA)]},
        [deny_rule(["principal://goog/subject/alice@example.com"], ["storage.googleapis.com/*"])],
    ),
    Case(
        "deny a group",
        "explicit_deny",
        {PROJECT: [binding(VIEW, SA)]},
        [deny_rule(["principalSet://goog/group/devs@example.com"], ["*.googleapis.com/*"])],
        groups=frozenset({"group:devs@example.com"}),
    ),
    Case(
        "deny a group with unknown members",
        "unknown",
        {PROJECT: [binding(VIEW, SA)]},
        [deny_rule(["principalSet://goog/group/devs@example.com"], ["storage.googleapis.com/*"])],
        unknown_groups=frozenset({"group:devs@example.com"}),
    ),
    Case(
        "deny a group with unknown members, no allow",
        "implicit_deny",
        {},
        [deny_rule(["principalSet://goog/group/devs@example.com"], ["storage.googleapis.com/*"])],
        unknown_groups=frozenset({"group:devs@example.com"}),
    ),
    Case(
        "exception principal",
        "allowed",
        {PROJECT: [binding(VIEW, SA)]},
        [
            deny_rule(
                ["principalSet://goog/public:all"],
                ["storage.googleapis.com/*"],
                except_principals=[f"principal://iam.googleapis.com/projects/-/serviceAccounts/{SA[15:]}"],
            )
        ],
    ),
    Case(
        "exception permission",
        "allowed",
        {PROJECT: [binding(VIEW, SA)]},
        [
            deny_rule(
                ["principalSet://goog/public:all"],
                ["storage.googleapis.com/*"],
                except_permissions=["storage.googleapis.com/objects.get"],
            )
        ],
    ),
    Case(
        "other permission denied",
        "allowed",
        {PROJECT: [binding(VIEW, SA)]},
        [deny_rule(["principalSet://goog/public:all"], ["storage.googleapis.com/buckets.delete"])],
    ),
    Case(
        "resourcemanager permissions are cloudresourcemanager in deny rules",
        "explicit_deny",
        {PROJECT: [binding("roles/resourcemanager.projectDeleter", SA)]},
        [deny_rule(["principalSet://goog/public:all"], ["cloudresourcemanager.googleapis.com/projects.delete"])],
        permission="resourcemanager.projects.delete",
    ),
    Case(
        "denial condition not supported",
        "unknown",
        {PROJECT: [binding(VIEW, SA)]},
        [
            deny_rule(
                ["principalSet://goog/public:all"],
                ["storage.googleapis.com/*"],
                cond="resource.matchTag('12/env', 'prod')",
            )
        ],
        reason="resource.matchTag()",
    ),
    Case(
        "denial condition false",
        "allowed",
        {PROJECT: [binding(VIEW, SA)]},
        [deny_rule(["principalSet://goog/public:all"], ["storage.googleapis.com/*"], cond=BEFORE_NOW)],
    ),
    Case(
        "unsupported deny principal form",
        "unknown",
        {PROJECT: [binding(VIEW, ALICE)]},
        [deny_rule(["principalSet://goog/cloudIdentityCustomerId/C0123"], ["storage.googleapis.com/*"])],
        principal=ALICE,
        reason="cloudIdentityCustomerId",
    ),
    Case(
        "deny a pool",
        "explicit_deny",
        {PROJECT: [binding(VIEW, WIF)]},
        [deny_rule([f"principalSet://iam.googleapis.com/{POOL}/*"], ["storage.googleapis.com/*"])],
        principal=WIF,
    ),
    # --- disabled roles (RoleLaunchStage DISABLED, or deleted: bound, but grants nothing)
    Case(
        "disabled role grants nothing",
        "implicit_deny",
        {PROJECT: [binding(VIEW, SA)]},
        disabled_roles=frozenset({VIEW}),
        reason=f"role {VIEW} is disabled",
    ),
    Case(
        "another role still grants",
        "allowed",
        {PROJECT: [binding(VIEW, SA)], ORG: [binding("roles/storage.admin", SA)]},
        disabled_roles=frozenset({VIEW}),
    ),
    Case(
        "disabled role of unknown permissions grants nothing either",
        "implicit_deny",
        {PROJECT: [binding("roles/custom.unknown", SA)]},
        disabled_roles=frozenset({"roles/custom.unknown"}),
    ),
    # --- GKE workload identity: two spellings of one identity
    Case("GKE member itself", "allowed", {PROJECT: [binding(VIEW, GKE)]}, principal=GKE),
    Case("GKE member in the new spelling", "allowed", {PROJECT: [binding(VIEW, GKE_PRINCIPAL)]}, principal=GKE),
    Case("new spelling asks, legacy binding", "allowed", {PROJECT: [binding(VIEW, GKE)]}, principal=GKE_PRINCIPAL),
    Case(
        "GKE namespace set",
        "allowed",
        {PROJECT: [binding(VIEW, f"principalSet://iam.googleapis.com/{GKE_POOL}/namespace/web")]},
        principal=GKE,
    ),
    Case(
        "other namespace",
        "implicit_deny",
        {PROJECT: [binding(VIEW, f"principalSet://iam.googleapis.com/{GKE_POOL}/namespace/batch")]},
        principal=GKE,
    ),
    Case(
        "GKE cluster set is not decided",
        "unknown",
        {PROJECT: [binding(VIEW, f"principalSet://iam.googleapis.com/{GKE_POOL}/kubernetes.cluster/https://c")]},
        principal=GKE,
    ),
    Case(
        "another service account's member does not hold a GKE member",
        "implicit_deny",
        {PROJECT: [binding(VIEW, "serviceAccount:app-prod.svc.id.goog[web/backend]")]},
        principal=GKE,
    ),
    Case(
        "a group of unknown members may hold a GKE workload",
        "unknown",
        {PROJECT: [binding(VIEW, "group:devs@example.com")]},
        unknown_groups=frozenset({"group:devs@example.com"}),
        principal=GKE,
    ),
    Case(
        "deny the GKE workload by its principal identifier",
        "explicit_deny",
        {PROJECT: [binding(VIEW, GKE)]},
        [deny_rule([GKE_PRINCIPAL], ["storage.googleapis.com/*"])],
        principal=GKE,
    ),
    Case(
        "deny the GKE pool",
        "explicit_deny",
        {PROJECT: [binding(VIEW, GKE)]},
        [deny_rule([f"principalSet://iam.googleapis.com/{GKE_POOL}/*"], ["storage.googleapis.com/*"])],
        principal=GKE,
    ),
    Case(
        "a deny on every project service account does not hold a GKE workload",
        "allowed",
        {PROJECT: [binding(VIEW, GKE)]},
        [
            deny_rule(
                ["principalSet://cloudresourcemanager.googleapis.com/projects/1001/type/ServiceAccount"],
                ["storage.googleapis.com/*"],
            )
        ],
        principal=GKE,
    ),
    # --- members no snapshot lists, against deny rules
    Case(
        "public:all denies allAuthenticatedUsers",
        "explicit_deny",
        {PROJECT: [binding(VIEW, "allAuthenticatedUsers")]},
        [deny_rule(["principalSet://goog/public:all"], ["storage.googleapis.com/*"])],
        principal="allAuthenticatedUsers",
    ),
    Case(
        "public:all denies a domain",
        "explicit_deny",
        {PROJECT: [binding(VIEW, "domain:example.com")]},
        [deny_rule(["principalSet://goog/public:all"], ["storage.googleapis.com/*"])],
        principal="domain:example.com",
    ),
    Case(
        "public:all except the group itself",
        "allowed",
        {PROJECT: [binding(VIEW, "group:ext@partner.example")]},
        [
            deny_rule(
                ["principalSet://goog/public:all"],
                ["storage.googleapis.com/*"],
                except_principals=["principalSet://goog/group/ext@partner.example"],
            )
        ],
        principal="group:ext@partner.example",
    ),
    Case(
        "a user deny does not hold the anonymous",
        "allowed",
        {PROJECT: [binding(VIEW, "allUsers")]},
        [deny_rule(["principal://goog/subject/alice@example.com"], ["storage.googleapis.com/*"])],
        principal="allUsers",
    ),
    Case(
        "a customer deny may hold a domain's members",
        "unknown",
        {PROJECT: [binding(VIEW, "domain:example.com")]},
        [deny_rule(["principalSet://goog/cloudIdentityCustomerId/C0123"], ["storage.googleapis.com/*"])],
        principal="domain:example.com",
    ),
    # --- every service account of a project, folder or organization
    Case(
        "service accounts of the project",
        "allowed",
        {
            PROJECT: [
                binding(VIEW, "principalSet://cloudresourcemanager.googleapis.com/projects/1001/type/ServiceAccount")
            ]
        },
        sa_ancestry=frozenset({"projects/1001", "folders/111", "organizations/999"}),
    ),
    Case(
        "service accounts of the folder above",
        "allowed",
        {
            PROJECT: [
                binding(VIEW, "principalSet://cloudresourcemanager.googleapis.com/folders/111/type/ServiceAccount")
            ]
        },
        sa_ancestry=frozenset({"projects/1001", "folders/111", "organizations/999"}),
    ),
    Case(
        "service accounts of another project",
        "implicit_deny",
        {PROJECT: [binding(VIEW, "principalSet://cloudresourcemanager.googleapis.com/projects/7/type/ServiceAccount")]},
        sa_ancestry=frozenset({"projects/1001", "folders/111", "organizations/999"}),
    ),
    Case(
        "a service account whose project is not known",
        "unknown",
        {
            PROJECT: [
                binding(VIEW, "principalSet://cloudresourcemanager.googleapis.com/projects/1001/type/ServiceAccount")
            ]
        },
        reason="which project",
    ),
    Case(
        "a user is no service account",
        "implicit_deny",
        {
            PROJECT: [
                binding(VIEW, "principalSet://cloudresourcemanager.googleapis.com/projects/1001/type/ServiceAccount")
            ]
        },
        principal=ALICE,
    ),
    Case(
        "deny the organization's service accounts",
        "explicit_deny",
        {PROJECT: [binding(VIEW, SA)]},
        [
            deny_rule(
                ["principalSet://cloudresourcemanager.googleapis.com/organizations/999/type/ServiceAccount"],
                ["storage.googleapis.com/*"],
            )
        ],
        sa_ancestry=frozenset({"projects/1001", "folders/111", "organizations/999"}),
    ),
    Case(
        "a pool's principal set against a deny on the pool",
        "explicit_deny",
        {PROJECT: [binding(VIEW, f"principalSet://iam.googleapis.com/{POOL}/*")]},
        [deny_rule([f"principalSet://iam.googleapis.com/{POOL}/*"], ["storage.googleapis.com/*"])],
        principal=f"principalSet://iam.googleapis.com/{POOL}/*",
    ),
]


def _policies(case: Case) -> PolicySet:
    order = [PROJECT, FOLDER, ORG]
    allow = tuple((node, {"version": 3, "bindings": case.allow.get(node, [])}) for node in order)
    deny = ((ORG, {"name": "deny", "rules": case.deny}),) if case.deny else ()
    return PolicySet(
        allow=allow,
        deny=deny,
        roles=ROLES,
        groups=case.groups,
        unknown_groups=case.unknown_groups,
        aliases=case.aliases,
        disabled=case.disabled,
        disabled_roles=case.disabled_roles,
        sa_ancestry=case.sa_ancestry,
    )


def _request(case: Case) -> Request:
    return Request(
        principal=case.principal,
        permission=case.permission,
        resource="//storage.googleapis.com/" + case.name,
        time=NOW,
        name=case.name,
        type="storage.googleapis.com/Object",
        service="storage.googleapis.com",
    )


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_rule(case: Case) -> None:
    reference = decide(_request(case), _policies(case))
    smt = decide_smt(_request(case), _policies(case), always_solve=True)
    assert reference.decision == case.expected, reference.reasons
    assert smt.decision == case.expected, smt.reasons
    assert not internal(smt)
    assert reference.reasons
    if case.reason:
        assert any(case.reason in r.detail for r in reference.reasons), reference.reasons
    if case.expected == "allowed":
        assert reference.witness is not None
        assert reference.witness.context["request.time"] == ("2026-03-01T12:00:00Z",)


def internal(outcome: Outcome) -> bool:
    """Whether the encoding and the reference evaluator disagreed (a bug)."""
    return any(r.kind is ReasonKind.INTERNAL for r in outcome.reasons)


def test_any_time_finds_the_window_nearest_the_request() -> None:
    case = Case("expired", "implicit_deny", {PROJECT: [binding(VIEW, SA, cond=BEFORE_NOW)]})
    answer = decide_smt(_request(case), _policies(case), any_time=True, always_solve=True)
    assert answer.decision == "allowed"
    assert answer.witness is not None
    assert answer.witness.context["request.time"] == ("2025-12-31T23:59:59.999999Z",)


def test_any_time_denied_at_every_time() -> None:
    window = 'request.time >= timestamp("2030-01-01T00:00:00Z") && request.time < timestamp("2020-01-01T00:00:00Z")'
    case = Case("empty window", "implicit_deny", {PROJECT: [binding(VIEW, SA, cond=window)]})
    assert decide_smt(_request(case), _policies(case), any_time=True, always_solve=True).decision == "implicit_deny"


def test_any_time_explicit_only_when_denied_at_every_time() -> None:
    always = Case(
        "deny",
        "explicit_deny",
        {PROJECT: [binding(VIEW, SA)]},
        [deny_rule(["principalSet://goog/public:all"], ["storage.googleapis.com/*"])],
    )
    assert decide_smt(_request(always), _policies(always), any_time=True, always_solve=True).decision == "explicit_deny"
    until = Case(
        "deny until 2026",
        "allowed",
        {PROJECT: [binding(VIEW, SA)]},
        [deny_rule(["principalSet://goog/public:all"], ["storage.googleapis.com/*"], cond=BEFORE_NOW)],
    )
    answer = decide_smt(_request(until), _policies(until), any_time=True, always_solve=True)
    assert answer.decision == "allowed"


def test_any_time_unknown_when_only_an_unsupported_condition_could_allow() -> None:
    case = Case("u", "unknown", {PROJECT: [binding(VIEW, SA, cond='request.auth.claims.email == "x"')]})
    answer = decide_smt(_request(case), _policies(case), any_time=True, always_solve=True)
    assert answer.decision == "unknown"
    assert any("request.auth.claims.email" in r.detail for r in answer.reasons)


def test_free_resource_name_under_a_prefix() -> None:
    cond = 'resource.name.startsWith("projects/_/buckets/acme-logs/objects/public/")'
    case = Case("prefix", "implicit_deny", {PROJECT: [binding(VIEW, SA, cond=cond)]})
    answer = decide_smt(_request(case), _policies(case), name_prefix="projects/_/buckets/acme-logs/", always_solve=True)
    assert answer.decision == "allowed"
    assert answer.witness is not None
    assert answer.witness.context["resource.name"][0].startswith("projects/_/buckets/acme-logs/objects/public/")
    other = decide_smt(_request(case), _policies(case), name_prefix="projects/_/buckets/other/", always_solve=True)
    assert other.decision == "implicit_deny"


@pytest.mark.parametrize(
    ("pattern", "permission", "matches"),
    [
        ("storage.googleapis.com/*", "storage.buckets.delete", True),
        ("storage.googleapis.com/buckets.*", "storage.buckets.delete", True),
        ("storage.googleapis.com/*.delete", "storage.objects.delete", True),
        ("storage.googleapis.com/buckets.*", "storage.objects.delete", False),
        ("iam.googleapis.com/serviceAccounts.getAccessToken", "iam.serviceAccounts.getAccessToken", True),
        ("compute.googleapis.com/*", "storage.buckets.delete", False),
    ],
)
def test_deny_permission_forms(pattern: str, permission: str, matches: bool) -> None:
    assert deny_permission_matches(pattern, permission) is matches


def test_deny_form() -> None:
    assert deny_form("resourcemanager.projects.delete") == "cloudresourcemanager.googleapis.com/projects.delete"
    assert deny_form("storage.objects.get") == "storage.googleapis.com/objects.get"
