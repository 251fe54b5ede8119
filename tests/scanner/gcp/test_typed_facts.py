"""Typed facts the Google Cloud readers hand the simulator: disabled roles and accounts, groups'
known members, what each read covers, and resources under nested folders, read from files in the
shapes gcloud prints and answered end to end by the engine."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from google.api_core import exceptions as api

from models import Cloud, CoverageStatus, Covers, Policy, Scope
from scanner.gcp.recorder import Recorder
from simulator.core import Ask, Decision, ReasonKind
from simulator.gcp.engine import GcpEngine
from tests.scanner.gcp.conftest import APP, FIXTURES, ORG, by_id, fixture_files, read, write

AT = datetime(2026, 6, 1, tzinfo=UTC)
ROLE = "projects/acme-prod-app/roles/secretReader"
ALICE = "user:alice@example.com"
BUCKET = "//storage.googleapis.com/acme-nested-assets"


def engine(paths: list[Path]) -> GcpEngine:
    return GcpEngine(read(paths).to_snapshot(source="files", label="", meta={}), AT)


def ask(principal: str, action: str, resource: str) -> Ask:
    return Ask(principal=principal, action=action, resource=resource, at=AT)


def role_describe(stage: str) -> dict[str, Any]:
    """``gcloud iam roles describe projects/acme-prod-app/roles/secretReader --format=json``."""
    return {
        "description": "Reads secret versions",
        "etag": "BwYB3nX9oUc=",
        "includedPermissions": ["secretmanager.versions.access", "secretmanager.versions.get"],
        "name": ROLE,
        "stage": stage,
        "title": "Secret reader",
    }


def project_policy(tmp_path: Path) -> Path:
    """A CAI export line granting alice the custom role on the project."""
    asset = {
        "name": "//cloudresourcemanager.googleapis.com/projects/acme-prod-app",
        "assetType": "cloudresourcemanager.googleapis.com/Project",
        "ancestors": ["projects/100000000001", "folders/333333333333", "folders/111111111111", ORG],
        "iamPolicy": {"version": 3, "bindings": [{"role": ROLE, "members": [ALICE]}], "etag": "BwX1"},
    }
    return write(tmp_path, "asset-export.json", [asset], ndjson=True)


def test_a_disabled_custom_role_read_from_describe_grants_nothing(tmp_path: Path) -> None:
    base = [project_policy(tmp_path), *fixture_files("projects.json")]
    disabled = write(tmp_path, "role.json", role_describe("DISABLED"))
    parts = read([*base, disabled])
    role = by_id(parts.policies)[ROLE]
    assert isinstance(role, Policy) and role.disabled and not role.deleted
    answer = engine([*base, disabled]).can(ask(ALICE, "secretmanager.versions.access", APP))
    assert answer.decision is Decision.IMPLICIT_DENY
    assert any(r.kind is ReasonKind.DISABLED and r.role == ROLE for r in answer.reasons)
    ga = write(tmp_path, "role.json", role_describe("GA"))
    assert engine([*base, ga]).can(ask(ALICE, "secretmanager.versions.access", APP)).decision is Decision.ALLOWED


def test_a_deleted_role_from_a_roles_list_grants_nothing(tmp_path: Path) -> None:
    """``gcloud iam roles list --project=P --show-deleted --view=FULL --format=json``."""
    listed = [{**role_describe("GA"), "deleted": True}]
    base = [project_policy(tmp_path), *fixture_files("projects.json")]
    roles = write(tmp_path, "roles.json", listed)
    role = by_id(read([*base, roles]).policies)[ROLE]
    assert isinstance(role, Policy) and role.deleted
    answer = engine([*base, roles]).can(ask(ALICE, "secretmanager.versions.access", APP))
    assert answer.decision is Decision.IMPLICIT_DENY


def test_disabled_accounts_and_known_groups_are_typed(tmp_path: Path) -> None:
    accounts = [
        {
            "email": "old@acme-prod-app.iam.gserviceaccount.com",
            "name": "projects/acme-prod-app/serviceAccounts/old@acme-prod-app.iam.gserviceaccount.com",
            "projectId": "acme-prod-app",
            "uniqueId": "1099",
            "disabled": True,
        }
    ]
    parts = read([write(tmp_path, "sa.json", accounts)])
    old = by_id(parts.principals)["serviceAccount:old@acme-prod-app.iam.gserviceaccount.com"]
    assert old.disabled is True  # type: ignore[attr-defined]
    group = {"name": "groups/01", "groupKey": {"id": "devs@example.com"}}
    members = [
        {
            "name": "groups/01/memberships/m1",
            "preferredMemberKey": {"id": "alice@example.com"},
            "type": "USER",
        }
    ]
    parts = read([write(tmp_path, "group.json", group), write(tmp_path, "members.json", members)])
    devs = by_id(parts.principals)["group:devs@example.com"]
    assert devs.members_known is True  # type: ignore[attr-defined]


def test_every_file_read_says_what_it_covers() -> None:
    parts = read(fixture_files())
    files = {c.operation: c for c in parts.coverage if c.source == "file"}
    assert all(c.cloud is Cloud.GCP and c.covers for c in files.values())
    assert files[str(FIXTURES / "deny-no-keys.json")].covers == (Covers.DENY_POLICIES,)
    assert Covers.RESOURCE_POLICIES in files[str(FIXTURES / "asset-export-iam-policy.json")].covers


def test_a_role_the_inputs_lack_is_a_gap_about_that_role(tmp_path: Path) -> None:
    parts = read([project_policy(tmp_path)])
    (gap,) = [c for c in parts.coverage if c.operation == f"roles.get {ROLE}"]
    assert (gap.cloud, gap.covers, gap.target) == (Cloud.GCP, (Covers.ROLES,), ROLE)


def test_a_failed_api_read_says_what_it_would_have_covered() -> None:
    recorder = Recorder()

    def denied() -> None:
        raise api.PermissionDenied("no")

    recorder.call("projects/p", "cloudresourcemanager", "projects.getIamPolicy", denied)
    recorder.call("gcp", "iam", "roles.get", denied, target=ROLE, fail_as=f"roles.get {ROLE}")
    entries = {e.operation: e for e in recorder.entries()}
    policy = entries["projects.getIamPolicy"]
    assert policy.status is CoverageStatus.DENIED
    assert (policy.cloud, policy.covers, policy.target) == (Cloud.GCP, (Covers.ALLOW_POLICIES,), None)
    assert entries[f"roles.get {ROLE}"].target == ROLE


def nested_search(tmp_path: Path, *, with_folders: bool) -> Path:
    """``gcloud asset search-all-iam-policies`` results: a bucket two folders deep (the folders
    listed in no particular order), and optionally the folders' own policies."""
    org = "organizations/123456789012"
    results: list[dict[str, Any]] = [
        {
            "resource": BUCKET,
            "assetType": "storage.googleapis.com/Bucket",
            "project": "projects/100000000001",
            "folders": ["folders/111111111111", "folders/333333333333"],
            "organization": org,
            "policy": {"bindings": [{"role": "roles/storage.objectViewer", "members": ["user:bob@example.com"]}]},
        }
    ]
    if with_folders:
        results += [
            {
                "resource": "//cloudresourcemanager.googleapis.com/folders/333333333333",
                "assetType": "cloudresourcemanager.googleapis.com/Folder",
                "folders": ["folders/333333333333", "folders/111111111111"],
                "organization": org,
                "policy": {"bindings": [{"role": "roles/storage.admin", "members": [ALICE]}]},
            },
            {
                "resource": "//cloudresourcemanager.googleapis.com/folders/111111111111",
                "assetType": "cloudresourcemanager.googleapis.com/Folder",
                "folders": ["folders/111111111111"],
                "organization": org,
                "policy": {"bindings": [{"role": "roles/viewer", "members": ["user:carol@example.com"]}]},
            },
        ]
    return write(tmp_path, "search.json", results)


def roles_file(tmp_path: Path) -> Path:
    roles = [
        {"name": "roles/storage.objectViewer", "stage": "GA", "includedPermissions": ["storage.objects.get"]},
        {"name": "roles/storage.admin", "stage": "GA", "includedPermissions": ["storage.objects.get"]},
        {"name": "roles/viewer", "stage": "GA", "includedPermissions": ["resourcemanager.projects.get"]},
    ]
    return write(tmp_path, "roles.json", roles)


def test_a_resource_under_nested_folders_is_filed_under_its_project(tmp_path: Path) -> None:
    paths = [nested_search(tmp_path, with_folders=True), roles_file(tmp_path), *fixture_files("projects.json")]
    parts = read(paths)
    resource = by_id(parts.resources)[BUCKET]
    assert resource.scope_id == APP  # type: ignore[attr-defined]
    scopes = {s.id: s for s in parts.scopes}
    # the folders' own results order them: 333 is inside 111
    assert scopes[APP].parent_id == "folders/333333333333"
    assert scopes["folders/333333333333"].parent_id == "folders/111111111111"
    assert scopes["folders/111111111111"].parent_id == ORG
    gcp = engine(paths)
    obj = "//storage.googleapis.com/projects/_/buckets/acme-nested-assets/objects/a.txt"
    assert gcp.can(ask("user:bob@example.com", "storage.objects.get", obj)).decision is Decision.ALLOWED
    inherited = gcp.can(ask(ALICE, "storage.objects.get", obj))
    assert inherited.decision is Decision.ALLOWED
    assert inherited.reasons[0].scope == "folders/333333333333"


def test_nested_folders_in_no_known_order_still_make_the_ancestry(tmp_path: Path) -> None:
    deny = {
        "name": "policies/cloudresourcemanager.googleapis.com%2Ffolders%2F111111111111/denypolicies/no-reads",
        "kind": "DenyPolicy",
        "uid": "d1",
        "rules": [
            {
                "denyRule": {
                    "deniedPrincipals": ["principal://goog/subject/bob@example.com"],
                    "deniedPermissions": ["storage.googleapis.com/objects.get"],
                }
            }
        ],
    }
    paths = [
        nested_search(tmp_path, with_folders=False),
        roles_file(tmp_path),
        write(tmp_path, "deny.json", deny),
        *fixture_files("projects.json"),
    ]
    parts = read(paths)
    assert by_id(parts.resources)[BUCKET].scope_id == APP  # type: ignore[attr-defined]
    project = by_id(parts.scopes)[APP]
    assert isinstance(project, Scope)
    assert set(project.attributes["ancestors"].split()) == {"folders/111111111111", "folders/333333333333", ORG}
    # the deny policy on the outer folder applies to the bucket, though the folders' order is unknown
    obj = "//storage.googleapis.com/projects/_/buckets/acme-nested-assets/objects/a.txt"
    answer = engine(paths).can(ask("user:bob@example.com", "storage.objects.get", obj))
    assert answer.decision is Decision.EXPLICIT_DENY
    assert answer.reasons[0].scope == "folders/111111111111"


def test_the_fixture_search_results_place_the_project_under_its_folders() -> None:
    """The fixture's project lists two folders; their order comes from the asset export."""
    parts = read(fixture_files("search-all-iam-policies.json", "projects.json"))
    project = by_id(parts.scopes)[APP]
    assert isinstance(project, Scope)
    assert set(project.attributes["ancestors"].split()) >= {"folders/333333333333", "folders/111111111111"}
    json.dumps(project.attributes)
