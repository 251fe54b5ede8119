"""Live Azure collection: the real SDK clients against a local fake of ARM and Graph over https."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.core.credentials import AccessToken
from azure.identity import CredentialUnavailableError

from models import Cloud, CoverageStatus, Covers, PolicyKind
from scanner.azure.clients import GRAPH_SCOPE, AzureClients
from scanner.azure.live import collect_azure, namespaces_in_use, scan_live
from scanner.azure.normalize import normalize_azure
from scanner.errors import ScanError
from scanner.normalized import Normalized
from tests.scanner.azure.estate import (
    ADMINS,
    ALICE,
    CI_SP,
    EXPORTS,
    PAYMENTS,
    PLATFORM,
    SUB_PAYMENTS,
    SUB_PLATFORM,
    TENANT,
    read_dir,
)
from tests.scanner.azure.fake_azure import VALID_TOKEN, FakeAzure, estate_from_exports

COLLECTIONS = ("scopes", "principals", "credentials", "policies", "attachments", "workloads")


class StaticToken:
    """A TokenCredential (the azure.core protocol) handing out one fixed bearer token."""

    def __init__(self, token: str = VALID_TOKEN) -> None:
        self.token = token
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.scopes.append(scopes)
        return AccessToken(self.token, int(time.time()) + 3600)


class NoCredential:
    """What azure.identity raises when no credential source is configured."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        raise CredentialUnavailableError(
            message="DefaultAzureCredential failed to retrieve a token from the included credentials.\n"
            "Attempted credentials:\n\tEnvironmentCredential: EnvironmentCredential authentication unavailable."
        )


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAzure]:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    with FakeAzure(estate_from_exports(), tmp_path) as server:
        yield server


def clients_for(fake: FakeAzure, credential: Any = None) -> AzureClients:
    return AzureClients(
        credential=credential or StaticToken(),
        base_url=fake.base_url,
        graph_url=fake.base_url,
        connection_verify=fake.ca_bundle,
        retry_total=0,
    )


def ids(parts: Normalized) -> dict[str, set[tuple[str, str]]]:
    return {name: {(o.id, str(o.kind)) for o in getattr(parts, name)} for name in COLLECTIONS}


def test_live_collection_equals_the_export_files_of_the_same_estate(fake: FakeAzure) -> None:
    credential = StaticToken()
    raw = collect_azure(clients_for(fake, credential), all_subscriptions=True)
    live = normalize_azure(raw)
    files = read_dir(EXPORTS)
    # The catalog file lists more providers than the estate uses; live scans read the ones in use.
    in_use = {f"/providers/microsoft.authorization/provideroperations/{n.lower()}" for n in namespaces_in_use(raw)}
    assert "/providers/microsoft.authorization/provideroperations/microsoft.storage" in in_use
    files.resources = [r for r in files.resources if r.kind != "authorization:providerOperations" or r.id in in_use]
    assert ids(live) == ids(files)
    assert {r.id: r.attributes for r in live.resources} == {r.id: r.attributes for r in files.resources}
    assert raw.tenant_id == TENANT
    # The same gap (a role definition not in the inputs) is found either way.
    live_gaps = {(e.scope_id, e.operation, e.source) for e in live.coverage if e.is_gap}
    file_gaps = {(e.scope_id, e.operation, e.source) for e in files.coverage if e.is_gap}
    assert {(s, o) for s, o, _ in live_gaps} == {(s, o) for s, o, _ in file_gaps}
    assert {src for _, _, src in live_gaps} == {"api"}
    # Documents read through the SDK match the files where az prints the wire shape unchanged.
    live_deny = next(p for p in live.policies if p.kind is PolicyKind.AZURE_DENY_ASSIGNMENT)
    file_deny = next(p for p in files.policies if p.kind is PolicyKind.AZURE_DENY_ASSIGNMENT)
    # (the SDK re-serializes timestamps it parsed: compare the rest)
    dates = ("createdOn", "updatedOn")
    assert {k: v for k, v in live_deny.document.items() if k not in dates} == {
        k: v for k, v in file_deny.document.items() if k not in dates
    }
    assert live_deny.document["createdOn"].startswith("2024-02-15T12:00:00")
    live_roles = {p.id: p.document["permissions"] for p in live.policies if p.kind is PolicyKind.AZURE_ROLE_DEFINITION}
    file_roles = {
        p.id: [{k: v for k, v in perm.items() if v is not None} for perm in p.document["permissions"]]
        for p in files.policies
        if p.kind is PolicyKind.AZURE_ROLE_DEFINITION
    }
    assert live_roles == file_roles
    assignments = {p.id: p.attributes for p in live.policies if p.kind is PolicyKind.AZURE_ASSIGNMENT}
    assert assignments == {p.id: p.attributes for p in files.policies if p.kind is PolicyKind.AZURE_ASSIGNMENT}
    # Every read is a coverage entry; the Graph call used a Graph token.
    ok = [e for e in live.coverage if e.status is CoverageStatus.OK]
    # 17 reads before the Entra side; + per subscription PIM eligibilities and web apps (4); + applications, the
    # owners of applications and of service principals, the applications' federated credentials (2), directory
    # role definitions, assignments, eligibilities and Graph's app-role holders (9); the catalogs in use; the
    # admins group's members.
    assert len(ok) == 17 + 4 + 9 + len(in_use) + 1 and all(e.source == "api" for e in ok)
    assert (GRAPH_SCOPE,) in credential.scopes
    # The Entra side reads the same through Graph as from the files.
    assert {p.id: (p.owners, p.owners_known, p.attributes) for p in live.principals} == {
        p.id: (p.owners, p.owners_known, p.attributes) for p in files.principals
    }
    assert sorted(map(repr, live.credentials)) == sorted(map(repr, files.credentials))
    entra = {"entra_role_definition", "entra_directory_role_assignment", "entra_eligible_role_assignment"}
    entra |= {"entra_app_role_assignment", "azure_eligible_assignment"}
    assert {p.id: p.attributes for p in live.policies if p.kind in entra} == {
        p.id: p.attributes for p in files.policies if p.kind in entra
    }
    sites = {w.id: w.attributes.get("keyVaultReferenceIdentity") for w in live.workloads}
    assert sites == {w.id: w.attributes.get("keyVaultReferenceIdentity") for w in files.workloads}


def test_only_get_requests_with_api_versions(fake: FakeAzure) -> None:
    collect_azure(clients_for(fake), all_subscriptions=True)
    assert fake.requests
    assert {method for method, _path, _query in fake.requests} == {"GET"}
    versions = {
        path.split("/providers/")[-1].split("/")[0]: q["api-version"][0]
        for _m, path, q in fake.requests
        if "api-version" in q
    }
    assert versions["microsoft.authorization"] == "2022-04-01"
    arm_requests = [q for _m, path, q in fake.requests if not path.startswith("/v1.0/")]
    assert all("api-version" in q for q in arm_requests)


def test_paging_is_followed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    with FakeAzure(estate_from_exports(), tmp_path, page_size=1) as fake:
        raw = collect_azure(clients_for(fake), all_subscriptions=True)
        paged = [(path, q["$skiptoken"][0]) for _m, path, q in fake.requests if "$skiptoken" in q]
    assert len(raw.role_assignments) == 8 and len(raw.role_definitions) == 9
    # + an Automation account, a Logic App and a scale set; + Microsoft Graph's service principal
    assert len(raw.resources) == 8 and len(raw.service_principals) == 3 and len(raw.subscriptions) == 2
    assert (f"{PAYMENTS}/providers/microsoft.authorization/roleassignments", "5") in paged
    assert ("/v1.0/serviceprincipals", "1") in paged
    assert ("/subscriptions", "1") in paged


def test_a_forbidden_read_is_a_gap_and_the_scan_goes_on(fake: FakeAzure) -> None:
    fake.forbidden.add(f"{PLATFORM}/providers/microsoft.authorization/denyassignments")
    fake.forbidden.add(f"/providers/microsoft.management/managementgroups/{TENANT}")
    raw = collect_azure(clients_for(fake), all_subscriptions=True)
    gaps = {(e.scope_id, e.operation): e for e in raw.coverage if e.is_gap}
    deny_gap = gaps[(PLATFORM, "denyAssignments.list")]
    assert deny_gap.status is CoverageStatus.DENIED and deny_gap.service == "authorization"
    assert "AuthorizationFailed" in deny_gap.detail and "HTTP 403" in deny_gap.detail
    assert (deny_gap.cloud, deny_gap.covers, deny_gap.target) == (Cloud.AZURE, (Covers.DENY_ASSIGNMENTS,), None)
    tree_gap = gaps[(TENANT, f"managementGroups.get {TENANT}")]
    assert tree_gap.status is CoverageStatus.DENIED and tree_gap.covers == (Covers.ORGANIZATION,)
    assert len(gaps) == 2
    # The other subscription's deny assignments and the platform's other reads still arrived.
    assert [d["properties"]["scope"].split("/")[2] for d in raw.deny_assignments] == [SUB_PAYMENTS]
    assert any(a["scope"].startswith(f"/subscriptions/{SUB_PLATFORM}") for a in raw.role_assignments)
    parts = normalize_azure(raw)
    scopes = {s.id: s for s in parts.scopes}
    assert scopes[PAYMENTS].parent_id == TENANT  # no tree: the subscription hangs off the tenant


NESTED = "5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d"
ADMINS_MEMBERS = f"/v1.0/groups/{ADMINS}/transitivemembers"


def test_group_members_come_from_graph_transitively(fake: FakeAzure) -> None:
    fake.estate.lists[ADMINS_MEMBERS] = [
        {"@odata.type": "#microsoft.graph.user", "id": ALICE, "displayName": "Alice"},
        {"@odata.type": "#microsoft.graph.group", "id": NESTED, "displayName": "admins-eu"},
        {"@odata.type": "#microsoft.graph.servicePrincipal", "id": CI_SP, "displayName": "ci"},
        {"@odata.type": "#microsoft.graph.device", "id": "6b5a4c3d-2e1f-4a0b-9c8d-7e6f5a4b3c2d"},
    ]
    parts = normalize_azure(collect_azure(clients_for(fake), all_subscriptions=True))
    principals = {p.id: p for p in parts.principals}
    assert principals[ADMINS].members_known is True
    assert principals[ALICE].member_of == (ADMINS,) and principals[CI_SP].member_of == (ADMINS,)
    assert principals[NESTED].member_of == (ADMINS,)
    assert "6b5a4c3d-2e1f-4a0b-9c8d-7e6f5a4b3c2d" not in principals  # a device holds no role
    assert any(p == ADMINS_MEMBERS and q.get("$select") == ["id,displayName"] for _m, p, q in fake.requests)


def test_group_members_graph_refuses_are_a_gap(fake: FakeAzure) -> None:
    fake.forbidden.add(ADMINS_MEMBERS)
    parts = normalize_azure(collect_azure(clients_for(fake), all_subscriptions=True))
    gap = next(e for e in parts.coverage if e.is_gap and e.operation == f"groups.transitiveMembers {ADMINS}")
    assert gap.status is CoverageStatus.DENIED and gap.service == "graph"
    assert (gap.cloud, gap.covers, gap.target) == (Cloud.AZURE, (Covers.GROUP_MEMBERS,), ADMINS)
    admins = next(p for p in parts.principals if p.id == ADMINS)
    assert admins.members_known is None


def test_graph_denied_is_a_gap(fake: FakeAzure) -> None:
    fake.forbidden.add("/v1.0/serviceprincipals")
    raw = collect_azure(clients_for(fake), subscriptions=[SUB_PAYMENTS.upper()])
    skipped, gap, holders = sorted((e for e in raw.coverage if e.is_gap), key=lambda e: (e.service, e.status))
    assert (gap.service, gap.status) == ("graph", CoverageStatus.DENIED)
    # Without the service principals, who holds Microsoft Graph's permissions cannot be read either.
    assert holders.covers == (Covers.APP_ROLES,) and holders.status is CoverageStatus.ERROR
    # The subscription left out is said to be unread, not silently empty.
    assert (skipped.scope_id, skipped.operation) == (PLATFORM, "subscription not scanned")
    assert f"--subscription {SUB_PLATFORM}" in skipped.detail
    assert "Authorization_RequestDenied" in gap.detail
    assert raw.service_principals == []
    # Only the subscription asked for was read.
    assert not [p for p in fake.paths() if p.startswith(PLATFORM)]
    principals = {p.id for p in normalize_azure(raw).principals}
    assert CI_SP in principals  # still known from its role assignment


def test_secret_text_from_graph_is_never_kept(fake: FakeAzure) -> None:
    sp = fake.estate.lists["/v1.0/serviceprincipals"][0]
    sp["passwordCredentials"][0]["secretText"] = "Q~LIVE-S3CR3T"
    raw = collect_azure(clients_for(fake), all_subscriptions=True)
    assert "S3CR3T" not in repr(raw)
    snapshot = normalize_azure(raw).to_snapshot(source="live", label="", meta={})
    assert "S3CR3T" not in repr(snapshot.to_json_dict())


@pytest.mark.parametrize("credential", [StaticToken("expired-token"), NoCredential()], ids=["rejected", "unavailable"])
def test_unusable_credentials_stop_the_scan_with_one_line(fake: FakeAzure, credential: Any) -> None:
    with pytest.raises(ScanError) as caught:
        collect_azure(clients_for(fake, credential), all_subscriptions=True)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("Azure rejected the credentials at resources subscriptions.list")
    assert "az login" in message


def test_several_subscriptions_need_a_choice(fake: FakeAzure) -> None:
    with pytest.raises(ScanError, match=r"2 Azure subscriptions.*--all-subscriptions"):
        collect_azure(clients_for(fake), subscriptions=None, all_subscriptions=False)


def test_scan_live_returns_a_snapshot(fake: FakeAzure) -> None:
    steps: list[str] = []
    snapshot = scan_live(clients_for(fake), subscriptions=[SUB_PAYMENTS], label="nightly", progress=steps.append)
    assert snapshot.source == "live" and snapshot.label == "nightly"
    assert snapshot.meta == {"azure_tenant": TENANT}
    assert steps[0] == "subscriptions" and steps[-1] == "normalizing"
    assert {g.operation for g in snapshot.gaps} >= {"subscription not scanned"}
