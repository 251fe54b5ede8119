"""Google Cloud export files: recognised by content, checked, assembled; bad input fails with the file named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from models import CoverageStatus, PolicyKind
from scanner.errors import BadInputError
from scanner.gcp import exports
from tests.scanner.gcp.conftest import APP, DEPLOYER, FIXTURES, ORG, by_id, fixture_files, read, serialised, write

EXPECTED_KINDS = {
    "asset-export-iam-policy.json": ("cai", 7),
    "search-all-iam-policies.json": ("iam_search", 2),
    "organizations.json": ("organizations", 1),
    "folders.json": ("folders", 2),
    "folders-prod.json": ("folders", 1),
    "projects.json": ("projects", 2),
    "service-accounts-acme-prod-app.json": ("service_accounts", 3),
    "service-accounts-acme-shared-ops.json": ("service_accounts", 1),
    "keys-deployer.json": ("keys", 3),
    "keys-ci-builder.json": ("keys", 1),
    "role-owner.json": ("roles", 1),
    "roles-acme-prod-app.json": ("roles", 2),
    "deny-protect-iam.json": ("deny_policies", 1),
    "deny-no-keys.json": ("deny_policies", 1),
    "workload-identity-pools-acme-shared-ops.json": ("pools", 2),
    "providers-github.json": ("providers", 1),
    "providers-aws-prod.json": ("providers", 1),
    "instances-acme-prod-app.json": ("instances", 4),
    "build-default-service-account-acme-prod-app.json": ("build_accounts", 1),
    "scheduler-jobs-acme-prod-app.json": ("scheduler_jobs", 3),
    "composer-environments-acme-prod-app.json": ("composer_environments", 1),
    "clusters-acme-prod-app.json": ("clusters", 2),
}

KEY_FILE = [
    {
        "keyAlgorithm": "KEY_ALG_RSA_2048",
        "keyOrigin": "GOOGLE_PROVIDED",
        "keyType": "USER_MANAGED",
        "name": "projects/acme-prod-app/serviceAccounts/deployer@acme-prod-app.iam.gserviceaccount.com/keys/abc123",
        "privateKeyData": "ewogICJ0eXBlIjogInNlcnZpY2VfYWNjb3VudCIsIlNFQ1JFVC1NQVRFUklBTCJ9",
        "privateKeyType": "TYPE_GOOGLE_CREDENTIALS_FILE",
        "validAfterTime": "2024-01-01T00:00:00Z",
        "validBeforeTime": "9999-12-31T23:59:59Z",
    }
]


@pytest.mark.parametrize(("name", "expected"), sorted(EXPECTED_KINDS.items()))
def test_every_format_is_recognised_by_content(name: str, expected: tuple[str, int]) -> None:
    path = FIXTURES / name
    found = exports.detect(path, path.read_text())
    assert found is not None
    assert (found.kind, len(found.items)) == expected


def test_file_names_do_not_matter(tmp_path: Path) -> None:
    renamed = tmp_path / "export-0001.json"
    renamed.write_text((FIXTURES / "keys-deployer.json").read_text())
    found = exports.detect(renamed, renamed.read_text())
    assert found is not None and found.kind == "keys"


@pytest.mark.parametrize(
    "text",
    [
        json.dumps({"UserDetailList": [], "RoleDetailList": [], "GroupDetailList": [], "Policies": []}),
        json.dumps(
            [
                {
                    "id": "/subscriptions/0b1f6471-1bf0-4dda-aec3-111122223333/providers/Microsoft.Authorization/"
                    "roleAssignments/a1b2",
                    "name": "a1b2",
                    "principalId": "9f5e2a8c-0000-4000-8000-000000000001",
                    "principalType": "User",
                    "roleDefinitionId": "/providers/Microsoft.Authorization/roleDefinitions/acdd72a7",
                    "scope": "/subscriptions/0b1f6471-1bf0-4dda-aec3-111122223333",
                    "type": "Microsoft.Authorization/roleAssignments",
                }
            ]
        ),
        "user,arn,user_creation_time\n<root_account>,arn:aws:iam::444455556666:root,2019-01-01T00:00:00+00:00\n",
        "[]",
        "",
        "# README\nnot an export\n",
    ],
    ids=["aws-authorization-details", "azure-role-assignments", "aws-credential-report", "empty-list", "empty", "text"],
)
def test_other_content_is_left_to_other_readers(text: str) -> None:
    assert exports.detect(Path("x.json"), text) is None


def test_other_google_cloud_objects_named_like_scheduler_jobs_or_environments_are_not_claimed() -> None:
    run_job = [{"name": "projects/acme-prod-app/locations/europe-west1/jobs/migrate", "template": {}, "uid": "x"}]
    assert exports.detect(Path("run-jobs.json"), json.dumps(run_job)) is None
    agent_env = [{"name": "projects/p/locations/global/agents/a/environments/draft", "config": {}}]
    assert exports.detect(Path("envs.json"), json.dumps(agent_env)) is None
    other_cluster = [{"name": "c", "selfLink": "https://dataproc.googleapis.com/v1/projects/p/regions/r/clusters/c"}]
    assert exports.detect(Path("dataproc.json"), json.dumps(other_cluster)) is None


def test_malformed_json_names_the_file() -> None:
    text = (FIXTURES / "projects.json").read_text()[:-40]
    with pytest.raises(BadInputError, match=r"truncated\.json: malformed JSON"):
        exports.detect(Path("truncated.json"), text)


def test_a_broken_line_of_an_asset_export_names_the_line() -> None:
    lines = (FIXTURES / "asset-export-iam-policy.json").read_text().splitlines()
    lines[2] = lines[2][:50]
    with pytest.raises(BadInputError, match=r"assets\.json: line 3 is not a JSON object"):
        exports.detect(Path("assets.json"), "\n".join(lines))


def test_a_single_asset_on_one_line_is_an_asset_export() -> None:
    line = (FIXTURES / "asset-export-iam-policy.json").read_text().splitlines()[0]
    found = exports.detect(Path("one.json"), line)
    assert found is not None and found.kind == "cai" and len(found.items) == 1


@pytest.mark.parametrize(
    ("name", "mutate", "message"),
    [
        ("projects.json", lambda d: d[1].pop("projectNumber"), r"item 1\.projectNumber is missing"),
        ("service-accounts-acme-prod-app.json", lambda d: d[0].pop("uniqueId"), r"item 0\.uniqueId"),
        ("keys-deployer.json", lambda d: d[2].update(keyType="SOMETHING"), r"item 2\.keyType"),
        ("keys-deployer.json", lambda d: d[0].update(validAfterTime="yesterday"), r"validAfterTime is not an RFC 3339"),
        ("folders.json", lambda d: d[0].pop("parent"), r"item 0\.parent is missing"),
        ("role-owner.json", lambda d: d.update(includedPermissions="storage.buckets.get"), r"includedPermissions"),
        ("deny-no-keys.json", lambda d: d["rules"][0].pop("denyRule"), r"rules\[0\]\.denyRule"),
        ("providers-github.json", lambda d: d[0].pop("oidc"), r"none of oidc, aws, saml"),
        ("instances-acme-prod-app.json", lambda d: d[0].update(zone="europe-west1-b"), r"item 0\.zone"),
        (
            "build-default-service-account-acme-prod-app.json",
            lambda d: d.update(serviceAccountEmail="projects/acme-prod-app/serviceAccounts/"),
            r"the object\.serviceAccountEmail",
        ),
        (
            "scheduler-jobs-acme-prod-app.json",
            lambda d: d[0]["httpTarget"]["oidcToken"].pop("serviceAccountEmail"),
            r"item 0\.httpTarget\.oidcToken\.serviceAccountEmail is missing",
        ),
        (
            "composer-environments-acme-prod-app.json",
            lambda d: d[0]["config"].update(nodeConfig="default"),
            r"item 0\.config\.nodeConfig must be a JSON object",
        ),
        (
            "clusters-acme-prod-app.json",
            lambda d: d[1]["nodePools"][0]["config"].update(oauthScopes="cloud-platform"),
            r"item 1\.nodePools\[0\]\.config\.oauthScopes must be a list of strings",
        ),
        (
            "search-all-iam-policies.json",
            lambda d: d[1]["policy"]["bindings"][0].update(members=[]),
            r"item 1\.policy\.bindings\[0\]\.members is missing or empty",
        ),
    ],
)
def test_missing_or_wrong_fields_name_file_and_field(tmp_path: Path, name: str, mutate: object, message: str) -> None:
    data = json.loads((FIXTURES / name).read_text())
    mutate(data)  # type: ignore[operator]
    path = write(tmp_path, name, data)
    with pytest.raises(BadInputError, match=message) as info:
        exports.detect(path, path.read_text())
    assert str(path) in str(info.value)


def test_a_binding_without_members_in_an_asset_export_is_bad_input(tmp_path: Path) -> None:
    assets = [json.loads(line) for line in (FIXTURES / "asset-export-iam-policy.json").read_text().splitlines()]
    del assets[3]["iamPolicy"]["bindings"][0]["members"]
    path = write(tmp_path, "assets.json", assets, ndjson=True)
    with pytest.raises(BadInputError, match=r"item 3\.iamPolicy\.bindings\[0\]\.members is missing or empty"):
        exports.detect(path, path.read_text())


def test_private_key_material_is_never_kept(tmp_path: Path) -> None:
    path = write(tmp_path, "keys.json", KEY_FILE)
    found = exports.detect(path, path.read_text())
    assert found is not None
    assert "privateKeyData" not in json.dumps(found.items)
    raw = exports.assemble([found])
    assert "SECRET" not in json.dumps(raw.keys)
    parts = read([path, *fixture_files("service-accounts-acme-prod-app.json")])
    text = serialised(parts)
    assert KEY_FILE[0]["privateKeyData"] not in text
    assert "privateKeyData" not in text
    (key,) = parts.credentials
    assert key.key_id == "abc123" and key.principal_id == DEPLOYER and key.expires is None


def test_each_file_read_is_a_coverage_entry() -> None:
    parts = read(fixture_files())
    files = {c.operation: c for c in parts.coverage if c.source == "file" and c.status is CoverageStatus.OK}
    assert set(files) == {str(p) for p in fixture_files()}
    assert files[str(FIXTURES / "keys-deployer.json")].items == 3
    assert files[str(FIXTURES / "keys-deployer.json")].scope_id == APP
    assert files[str(FIXTURES / "asset-export-iam-policy.json")].service == "cloudasset"


def test_a_role_listed_without_permissions_is_a_gap_not_an_empty_role(tmp_path: Path) -> None:
    listed = [{"name": "projects/acme-prod-app/roles/deployer", "title": "Deployer", "stage": "GA", "etag": "x"}]
    path = write(tmp_path, "roles-basic.json", listed)
    parts = read([path, *fixture_files("asset-export-iam-policy.json")])
    assert "projects/acme-prod-app/roles/deployer" not in by_id(parts.policies)
    (gap,) = [c for c in parts.coverage if c.operation == "roles.get projects/acme-prod-app/roles/deployer"]
    assert gap.status is CoverageStatus.ERROR and "--view=FULL" in gap.detail and str(path) in gap.detail

    predefined = [{"name": "roles/accessapproval.approver", "title": "Access Approval Approver", "stage": "GA"}]
    unused = write(tmp_path, "roles-predefined.json", predefined)
    parts = read([unused, *fixture_files("asset-export-iam-policy.json")])
    assert not [c for c in parts.coverage if "accessapproval" in c.operation]  # bound nowhere: no gap

    parts = read([path, *fixture_files("roles-acme-prod-app.json", "asset-export-iam-policy.json")])
    role = by_id(parts.policies)["projects/acme-prod-app/roles/deployer"]
    assert role.kind is PolicyKind.GCP_ROLE  # type: ignore[attr-defined]
    assert not [c for c in parts.coverage if c.operation == "roles.get projects/acme-prod-app/roles/deployer"]


def test_asset_export_beats_search_results_for_one_scope(tmp_path: Path) -> None:
    search = json.loads((FIXTURES / "search-all-iam-policies.json").read_text())
    search[0]["policy"]["bindings"] = [{"role": "roles/viewer", "members": ["user:mallory@example.com"]}]
    path = write(tmp_path, "search.json", search)
    parts = read([*fixture_files("asset-export-iam-policy.json", "projects.json"), path])
    policy = by_id(parts.policies)[f"{APP}#iam-policy"]
    assert "user:mallory@example.com" not in json.dumps(policy.document)  # type: ignore[attr-defined]
    assert policy.document["etag"] == "BwYB3nX9oUc="  # type: ignore[attr-defined]


def test_two_asset_exports_that_disagree_name_both_files(tmp_path: Path) -> None:
    lines = (FIXTURES / "asset-export-iam-policy.json").read_text().splitlines()
    first = tmp_path / "a.json"
    first.write_text(lines[0] + "\n")
    changed = json.loads(lines[0])
    changed["iamPolicy"]["bindings"][0]["members"] = ["user:mallory@example.com"]
    second = write(tmp_path, "b.json", [changed], ndjson=True)
    with pytest.raises(BadInputError, match=rf"b\.json: the IAM policy of {ORG} differs from the one in .*a\.json"):
        read([first, second])


def test_the_same_file_twice_adds_nothing_twice() -> None:
    once = read(fixture_files())
    twice = read([*fixture_files(), *fixture_files("keys-deployer.json", "projects.json")])
    assert len(twice.credentials) == len(once.credentials)
    assert len(twice.scopes) == len(once.scopes)
    twice.to_snapshot(source="files", label="", meta={})
