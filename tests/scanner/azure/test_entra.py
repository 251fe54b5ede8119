"""The Entra side and the identity-holding workloads: applications and their owners and federated
credentials, directory roles, app-role assignments, PIM eligibilities, Automation accounts, Logic
Apps, scale sets and web-app settings — from export files and through Graph."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from models import (
    AttachmentKind,
    CoverageEntry,
    CoverageStatus,
    Covers,
    CredentialKind,
    PolicyKind,
    PrincipalKind,
    Snapshot,
    WorkloadKind,
)
from scanner.azure.exports import assemble, detect
from scanner.azure.live import collect_azure
from scanner.azure.normalize import normalize_azure
from scanner.azure.raw import AzureRaw
from scanner.errors import BadInputError
from scanner.normalized import Normalized
from simulator.core.decision import Decision
from simulator.engines import open_estate
from tests.scanner.azure.estate import ADMINS, ALICE, CI_SP, EXPORTS, PAYMENTS, TENANT, load, read_dir
from tests.scanner.azure.fake_azure import FakeAzure
from tests.scanner.azure.test_live import clients_for, fake  # noqa: F401 - the fixture

APP_CI = "6f7a8b9c-0d1e-4f2a-8b3c-4d5e6f7a8b9c"
APP_OPS = "7a8b9c0d-1e2f-4a3b-9c4d-5e6f7a8b9c0d"
BOB = "8e9f0a1b-2c3d-4e4f-9a5b-6c7d8e9f0a1b"
GRAPH_SP = "1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e"
GITHUB = "https://token.actions.githubusercontent.com"
CONTEXT = "https://graph.microsoft.com/v1.0/$metadata#"
SITE = f"{PAYMENTS}/resourcegroups/rg-app/providers/microsoft.web/sites/app-payments"


def read(tmp_path: Path, *files: tuple[str, Any]) -> Normalized:
    detected = []
    for name, content in files:
        path = tmp_path / name
        path.write_text(json.dumps(content))
        found = detect(path, path.read_text())
        assert found is not None, name
        detected.append(found)
    return normalize_azure(assemble(detected))


def principal(parts: Normalized, oid: str) -> Any:
    return next(p for p in parts.principals if p.id == oid)


def gaps(parts: Normalized) -> dict[str, Any]:
    return {e.operation: e for e in parts.coverage if e.is_gap}


# --- applications, owners, federated credentials ---------------------------------------------


def test_applications_are_principals_linked_to_their_service_principals() -> None:
    parts = read_dir(EXPORTS)
    app, sp = principal(parts, APP_CI), principal(parts, CI_SP)
    assert app.kind is PrincipalKind.AZURE_APPLICATION and app.native_id == "e4f5a6b7-c8d9-4e0f-a1b2-c3d4e5f6a7b8"
    assert app.attributes["servicePrincipalId"] == CI_SP and sp.attributes["applicationId"] == APP_CI
    assert app.attributes["appId"] == sp.attributes["appId"]
    # An application without a service principal in the tenant names none.
    assert "servicePrincipalId" not in principal(parts, APP_OPS).attributes
    # The application's own secret and certificate (metadata only).
    kinds = {c.id: c.kind for c in parts.credentials if c.principal_id in (APP_CI, APP_OPS)}
    assert kinds[f"{APP_CI}#secret-0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"] is CredentialKind.CLIENT_SECRET
    assert kinds[f"{APP_OPS}#certificate-cc33dd44-ee55-4f66-8a77-889900aabbcc"] is CredentialKind.CERTIFICATE


def test_owners_from_expanded_reads_are_known_and_typed() -> None:
    parts = read_dir(EXPORTS)
    assert principal(parts, APP_CI).owners == (BOB,) and principal(parts, APP_CI).owners_known is True
    assert principal(parts, APP_OPS).owners == tuple(sorted((ALICE, CI_SP)))
    assert principal(parts, CI_SP).owners == (ALICE,)
    assert principal(parts, GRAPH_SP).owners == () and principal(parts, GRAPH_SP).owners_known is True
    assert principal(parts, BOB).kind is PrincipalKind.AZURE_USER


def test_owners_not_collected_are_not_claimed(tmp_path: Path) -> None:
    parts = read(tmp_path, ("apps.json", load("app-list.json")))
    assert principal(parts, APP_CI).owners == () and principal(parts, APP_CI).owners_known is None


def test_owners_file_read_first_still_merges_with_the_app_list(tmp_path: Path) -> None:
    parts = read(tmp_path, ("a-owners.json", load("app-owners.json")), ("b-apps.json", load("app-list.json")))
    app = principal(parts, APP_CI)
    assert app.owners == (BOB,) and app.name == "ci-deployer" and app.attributes["appId"]
    assert any(c.principal_id == APP_CI and c.kind is CredentialKind.CLIENT_SECRET for c in parts.credentials)


def test_an_expanded_owner_list_at_the_expand_limit_may_be_cut(tmp_path: Path) -> None:
    owners = [{"@odata.type": "#microsoft.graph.user", "id": f"00000000-0000-4000-8000-{i:012d}"} for i in range(20)]
    body = {"@odata.context": CONTEXT + "applications(owners())", "value": [{"id": APP_CI, "owners": owners}]}
    parts = read(tmp_path, ("owners.json", body))
    app = principal(parts, APP_CI)
    assert len(app.owners) == 20 and app.owners_known is False
    gap = gaps(parts)[f"owners.list {APP_CI}"]
    assert gap.covers == (Covers.OWNERS,) and gap.target == APP_CI


def test_a_failed_owner_read_leaves_owners_unknown() -> None:
    raw = AzureRaw(tenant_id=TENANT, applications=[{"id": APP_CI, "appId": "a", "displayName": "x"}])
    raw.coverage.append(
        CoverageEntry(
            scope_id=TENANT,
            source="api",
            service="graph",
            operation=f"applications.owners {APP_CI}",
            status=CoverageStatus.DENIED,
            covers=(Covers.OWNERS,),
            target=APP_CI,
        )
    )
    assert principal(normalize_azure(raw), APP_CI).owners_known is False


def test_application_federated_credentials() -> None:
    parts = read_dir(EXPORTS)
    creds = {c.id: c for c in parts.credentials if c.kind is CredentialKind.FEDERATED and c.principal_id == APP_CI}
    [flexible] = creds.values()
    assert flexible.id == f"/applications/{APP_CI}/federatedidentitycredentials/github-infra-any"
    assert flexible.issuer == GITHUB and flexible.subjects == ("repo:contoso/infra:*",)
    assert flexible.condition == "claims['sub'] matches 'repo:contoso/infra:*'"
    assert flexible.key_id == "d4e5f6a7-b8c9-4d0e-9f1a-2b3c4d5e6f7a"
    # `az ad app federated-credential list` entries name their application in @odata.id.
    [exact] = [c for c in parts.credentials if c.kind is CredentialKind.FEDERATED and c.principal_id == APP_OPS]
    assert exact.subjects == ("repo:contoso/portal:ref:refs/heads/main",) and exact.condition is None


def test_a_federated_credential_list_that_names_no_application_is_refused(tmp_path: Path) -> None:
    entries = [
        {k: v for k, v in c.items() if k != "@odata.id"} for c in load("app-federated-credentials-ops-portal.json")
    ]
    path = tmp_path / "fic.json"
    path.write_text(json.dumps(entries))
    with pytest.raises(BadInputError, match=r"names no application.*az rest"):
        detect(path, path.read_text())


def test_federated_credentials_of_an_application_not_in_the_inputs_are_a_gap(tmp_path: Path) -> None:
    parts = read(tmp_path, ("fic.json", load("app-federated-credentials-ci-deployer.json")))
    assert not [c for c in parts.credentials if c.kind is CredentialKind.FEDERATED]
    gap = gaps(parts)[f"applications.get {APP_CI}"]
    assert gap.target == APP_CI and Covers.CREDENTIALS in gap.covers


@pytest.mark.parametrize(
    "expression,subjects",
    [
        ("claims['sub'] matches 'repo:acme/*'", ("repo:acme/*",)),
        ("claims['sub'] eq 'repo:acme/app:ref:refs/heads/main'", ("repo:acme/app:ref:refs/heads/main",)),
        # Another clause narrows the subject further: the pattern is kept, the whole expression is the condition.
        ("claims['sub'] matches 'repo:acme/*' and claims['job_workflow_ref'] matches 'acme/wf/*'", ("repo:acme/*",)),
        # No one subject clause: not constrained as far as recorded.
        ("claims['sub'] matches 'repo:a/*' or claims['sub'] matches 'repo:b/*'", None),
        ("claims['job_workflow_ref'] matches 'acme/wf/*'", None),
        ("claims['sub'] eq 'repo:acme/*'", None),  # eq is literal: a `*` is no wildcard
    ],
)
def test_flexible_credential_subjects(tmp_path: Path, expression: str, subjects: tuple[str, ...] | None) -> None:
    body = {
        "@odata.context": CONTEXT + f"applications('{APP_CI}')/federatedIdentityCredentials",
        "value": [
            {
                "id": "d4e5f6a7-b8c9-4d0e-9f1a-2b3c4d5e6f7a",
                "name": "flex",
                "issuer": GITHUB,
                "audiences": ["api://AzureADTokenExchange"],
                "claimsMatchingExpression": {"languageVersion": 1, "value": expression},
            }
        ],
    }
    parts = read(tmp_path, ("apps.json", load("app-list.json")), ("fic.json", body))
    [cred] = [c for c in parts.credentials if c.kind is CredentialKind.FEDERATED]
    assert cred.subjects == subjects and cred.condition == expression


# --- directory roles, app roles ---------------------------------------------------------------


def test_directory_role_assignments_and_eligibilities_attach_to_principals() -> None:
    parts = read_dir(EXPORTS)
    policies = {p.id: p for p in parts.policies}
    admins = policies["/rolemanagement/directory/roleassignments/lAPpYvVpN0KRkAEhdxReEJC2sEqbR_9Hr48lds9SGHI-1"]
    assert admins.kind is PolicyKind.ENTRA_DIRECTORY_ROLE_ASSIGNMENT
    assert admins.attributes["roleName"] == "Global Administrator" and admins.attributes["directoryScopeId"] == "/"
    assert admins.attributes["roleTemplateId"] == "62e90394-69f5-4237-9190-012177145e10"
    assert admins.document == load("directory-role-assignments.json")["value"][0] | {
        "principal": {"@odata.type": "#microsoft.graph.group", "id": ADMINS, "displayName": "platform-admins"}
    }
    eligible = policies["/rolemanagement/directory/roleeligibilityschedules/9f1c2d3e-4a5b-4c6d-8e7f-0a1b2c3d4e5f"]
    assert eligible.kind is PolicyKind.ENTRA_ELIGIBLE_ROLE_ASSIGNMENT
    assert eligible.attributes["roleName"] == "Privileged Role Administrator"
    assert (
        eligible.attributes["endDateTime"] == "2026-03-01T10:00:00Z" and eligible.attributes["status"] == "Provisioned"
    )
    attached = {(a.policy_id, a.target_id) for a in parts.attachments if a.kind is AttachmentKind.ENTRA}
    assert (admins.id, ADMINS) in attached and (eligible.id, ALICE) in attached
    # The expanded principal types the principal (a group here; bob is a user).
    assert principal(parts, ADMINS).kind is PrincipalKind.AZURE_GROUP
    assert principal(parts, BOB).kind is PrincipalKind.AZURE_USER and principal(parts, BOB).name == "bob@contoso.com"


def test_a_directory_role_not_in_the_inputs_is_a_gap(tmp_path: Path) -> None:
    body = load("directory-role-assignments.json")
    for item in body["value"]:
        item.pop("principal")
    parts = read(tmp_path, ("assignments.json", body))
    gap = gaps(parts)["roleManagement.directory.roleDefinitions.get 62e90394-69f5-4237-9190-012177145e10"]
    assert gap.covers == (Covers.ENTRA_ROLES,)
    assert all("roleDefinitionPolicyId" not in p.attributes for p in parts.policies)
    # Without $expand=principal, the principal's type is not known.
    assert principal(parts, BOB).attributes["principalType"] == "Unknown"


def test_app_role_assignments_name_the_permission() -> None:
    parts = read_dir(EXPORTS)
    [grant] = [p for p in parts.policies if p.kind is PolicyKind.ENTRA_APP_ROLE_ASSIGNMENT]
    assert grant.attributes["appRoleValue"] == "AppRoleAssignment.ReadWrite.All"
    assert grant.attributes["resourceAppId"] == "00000003-0000-0000-c000-000000000000"
    assert grant.attributes["principalId"] == CI_SP
    assert any(a.policy_id == grant.id and a.target_id == CI_SP for a in parts.attachments)
    # The read names whose app roles it lists in full: Microsoft Graph's.
    holders = [e for e in parts.coverage if e.covers == (Covers.APP_ROLES,) and not e.is_gap]
    assert [e.target for e in holders] == [GRAPH_SP]


def test_app_roles_of_an_unknown_resource_are_a_gap(tmp_path: Path) -> None:
    body = load("graph-app-role-assigned-to.json")
    default = dict(body["value"][0], id="other", appRoleId="00000000-0000-0000-0000-000000000000")
    body["value"].append(default)
    parts = read(tmp_path, ("grants.json", body))
    gap = gaps(parts)[f"servicePrincipals.get {GRAPH_SP} appRole 06b708a9-e830-4db3-a914-8e69da51d44f"]
    assert gap.covers == (Covers.APP_ROLES,) and gap.target == GRAPH_SP
    grants = {p.native_id: p.attributes for p in parts.policies}
    assert "appRoleValue" not in grants["Xj49LWtsjUKRkOBp5lVGj7gJdRZRcfRPmqf0bJt4bYI"]
    assert grants["other"]["defaultAccess"] == "true"  # access without a particular role: no gap


# --- PIM eligibility (Azure RBAC) -------------------------------------------------------------


def test_an_eligible_owner_grants_nothing_until_activated() -> None:
    parts = read_dir(EXPORTS)
    [eligible] = [p for p in parts.policies if p.kind is PolicyKind.AZURE_ELIGIBLE_ASSIGNMENT]
    assert eligible.document["principalId"] == ADMINS and eligible.document["scope"] == PAYMENTS
    assert eligible.attributes["roleDefinitionPolicyId"].endswith("8e3af657-a8ff-443c-a75c-2fe8c4bcb635")
    assert "expandedProperties" not in eligible.document
    [attachment] = [a for a in parts.attachments if a.policy_id == eligible.id]
    assert attachment.kind is AttachmentKind.ELIGIBLE and attachment.target_id == PAYMENTS
    # The RBAC engine does not count it: the group's Contributor at the management group is all it has.
    snapshot = parts.to_snapshot(source="files", label="", meta={})
    estate = open_estate(snapshot, at=datetime(2025, 6, 1, tzinfo=UTC))
    write = estate.can(estate.ask(ADMINS, "Microsoft.Authorization/roleAssignments/write", PAYMENTS))
    assert write.decision is not Decision.ALLOWED


def test_a_next_link_left_in_a_file_is_a_gap(tmp_path: Path) -> None:
    body = load("eligibility-schedules-payments.json") | {"nextLink": "https://management.azure.com/next?page=2"}
    parts = read(tmp_path, ("eligible.json", body))
    [gap] = [e for e in parts.coverage if e.is_gap and e.operation.endswith("(next page)")]
    assert gap.covers == (Covers.ELIGIBLE_ASSIGNMENTS,) and "page=2" in gap.detail


# --- workloads --------------------------------------------------------------------------------


def test_automation_accounts_logic_apps_and_scale_sets_are_workloads() -> None:
    parts = read_dir(EXPORTS)
    kinds = {w.name: (w.kind, w.principal_ids, w.attributes.get("state")) for w in parts.workloads}
    assert kinds["aa-payments-ops"] == (
        WorkloadKind.AZURE_AUTOMATION_ACCOUNT,
        ("3e4f5a6b-7c8d-4e9f-8a0b-1c2d3e4f5a6b",),
        "Ok",
    )
    assert (
        kinds["logic-invoice-sync"][0] is WorkloadKind.AZURE_LOGIC_APP and kinds["logic-invoice-sync"][2] == "Enabled"
    )
    assert kinds["vmss-build"][0] is WorkloadKind.AZURE_VM_SCALE_SET


def test_web_app_settings_keep_names_and_never_values() -> None:
    parts = read_dir(EXPORTS)
    site = next(w for w in parts.workloads if w.id == SITE)
    assert site.attributes["appSettingNames"] == "AZURE_CLIENT_ID,DB_PASSWORD,PAYMENTS_API_KEY,WEBSITE_RUN_FROM_PACKAGE"
    uai = f"{PAYMENTS}/resourcegroups/rg-app/providers/microsoft.managedidentity/userassignedidentities/id-app-shared"
    assert site.attributes["keyVaultReferenceIdentity"] == uai
    text = json.dumps(parts.to_snapshot(source="files", label="", meta={}).to_json_dict())
    # Neither a setting's value nor a Logic App's definition reaches the snapshot.
    assert "not-a-real-key-11c2" not in text and "SecretUri" not in text and "not-a-real-key-7f3e" not in text


# --- live -------------------------------------------------------------------------------------


def test_live_reads_the_entra_side_with_owners_expanded(fake: FakeAzure) -> None:  # noqa: F811
    collect_azure(clients_for(fake), all_subscriptions=True)
    queries: dict[str, list[dict[str, list[str]]]] = {}
    for _m, path, q in fake.requests:
        if "$skiptoken" not in q:  # first pages only
            queries.setdefault(path, []).append(q)
    # Owners are read apart from the objects, so that a refused expansion costs the owners only.
    for path in ("/v1.0/applications", "/v1.0/serviceprincipals"):
        assert [q.get("$expand") for q in queries[path]] == [None, ["owners"]]
    assert "appRoles" in queries["/v1.0/serviceprincipals"][0]["$select"][0].split(",")
    assert queries["/v1.0/rolemanagement/directory/roleassignments"][0]["$expand"] == ["principal"]
    assert f"/v1.0/serviceprincipals/{GRAPH_SP}/approleassignedto" in queries
    assert {m for m, _p, _q in fake.requests} == {"GET"}  # app settings (a POST returning values) are never read


def test_live_follows_up_an_owner_list_at_the_expand_limit(fake: FakeAzure) -> None:  # noqa: F811
    many = [{"@odata.type": "#microsoft.graph.user", "id": f"00000000-0000-4000-8000-{i:012d}"} for i in range(21)]
    app = next(a for a in fake.estate.lists["/v1.0/applications"] if a["id"] == APP_CI)
    app["owners"] = many[:20]
    fake.estate.lists[f"/v1.0/applications/{APP_CI}/owners"] = many
    parts = normalize_azure(collect_azure(clients_for(fake), all_subscriptions=True))
    assert len(principal(parts, APP_CI).owners) == 21 and principal(parts, APP_CI).owners_known is True


def test_live_owners_refused_are_not_collected(fake: FakeAzure) -> None:  # noqa: F811
    fake.forbidden_queries = {("/v1.0/applications", "$expand")}
    parts = normalize_azure(collect_azure(clients_for(fake), all_subscriptions=True))
    gap = gaps(parts)["applications.list $expand=owners"]
    assert gap.status is CoverageStatus.DENIED and gap.covers == (Covers.OWNERS,)
    app = principal(parts, APP_CI)
    assert app.kind is PrincipalKind.AZURE_APPLICATION and app.owners_known is None  # the app itself was read
    assert principal(parts, CI_SP).owners_known is True  # service principals' owners were read


def test_live_refusals_are_gaps_about_their_object(fake: FakeAzure) -> None:  # noqa: F811
    fake.forbidden |= {
        f"/v1.0/applications/{APP_OPS}/federatedidentitycredentials",
        "/v1.0/rolemanagement/directory/roleeligibilityschedules",
        f"{PAYMENTS}/providers/microsoft.authorization/roleeligibilityschedules",
    }
    parts = normalize_azure(collect_azure(clients_for(fake), all_subscriptions=True))
    found = gaps(parts)
    fic = found[f"applications.federatedIdentityCredentials {APP_OPS}"]
    assert (fic.status, fic.target, fic.covers) == (CoverageStatus.DENIED, APP_OPS, (Covers.CREDENTIALS,))
    assert found["roleManagement.directory.roleEligibilitySchedules.list"].covers == (Covers.ENTRA_ROLES,)
    pim = found["roleEligibilitySchedules.listForScope"]
    # A refused PIM read says nothing about active assignments: it does not cover them.
    assert pim.scope_id == PAYMENTS and pim.covers == (Covers.ELIGIBLE_ASSIGNMENTS,)
    assert not [p for p in parts.policies if p.kind is PolicyKind.AZURE_ELIGIBLE_ASSIGNMENT]


def test_the_entra_side_survives_the_snapshot_codec() -> None:
    snapshot = read_dir(EXPORTS).to_snapshot(source="files", label="", meta={})
    again = Snapshot.from_json_dict(json.loads(json.dumps(snapshot.to_json_dict())))
    assert again == snapshot
    app = next(p for p in again.principals if p.id == APP_OPS)
    assert app.owners == tuple(sorted((ALICE, CI_SP))) and app.owners_known is True
    assert any(c.condition for c in again.credentials)
