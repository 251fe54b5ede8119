"""All three clouds from the command line: export files of AWS, Google Cloud and Azure in one
snapshot, and the live options' usage rules."""

from __future__ import annotations

import json

from tests.cli.test_cli import run
from tests.conftest import REPO

DEMO = REPO / "fixtures" / "demo"


def test_scan_from_every_cloud_makes_one_snapshot(sqlite_url: str) -> None:
    result = run("scan", "--from", str(DEMO / "gcp"), "--from", str(DEMO / "azure"), "--json", db=sqlite_url)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["gaps"] == []
    shown = json.loads(run("export", "latest", "--json", db=sqlite_url).stdout)
    clouds = {p["cloud"] for p in shown["principals"]}
    assert clouds == {"gcp", "azure"}
    kinds = {p["kind"] for p in shown["policies"]}
    assert {"gcp_bindings", "gcp_deny", "gcp_role", "azure_assignment", "azure_deny_assignment"} <= kinds
    # No secret material from any export reaches the snapshot.
    text = json.dumps(shown)
    assert "privateKeyData" not in text and "secretText" not in text


def test_demo_holds_all_three_clouds(sqlite_url: str) -> None:
    result = run("demo", "--json", db=sqlite_url)
    assert result.returncode == 0, result.stderr
    shown = json.loads(run("export", "latest", "--json", db=sqlite_url).stdout)
    assert {s["cloud"] for s in shown["scopes"]} == {"aws", "gcp", "azure"}


def test_live_options_do_not_mix_with_files(sqlite_url: str) -> None:
    result = run("scan", "--from", str(DEMO / "gcp"), "--project", "shop-prod", db=sqlite_url)
    assert result.returncode == 2
    assert "--from reads files" in result.stderr


PAYMENTS = "//iam.googleapis.com/projects/shop-prod/serviceAccounts/payments-api@shop-prod.iam.gserviceaccount.com"
CI_RUNNER = "serviceAccount:ci-runner@shop-dev.iam.gserviceaccount.com"


def test_gcp_can_and_who_can_on_the_demo(sqlite_url: str) -> None:
    assert run("scan", "--from", str(DEMO / "gcp"), db=sqlite_url).returncode == 0
    can = run("can", CI_RUNNER, "iam.serviceAccounts.getAccessToken", PAYMENTS, "--json", db=sqlite_url)
    assert can.returncode == 0, can.stderr
    answer = json.loads(can.stdout)
    assert answer["decision"] == "allowed" and answer["witness"]["principal"] == CI_RUNNER
    assert any("iam.serviceAccountTokenCreator" in json.dumps(r) for r in answer["reasons"])
    who = run(
        "who-can", "storage.objects.get", "//storage.googleapis.com/shop-prod-public-assets", "--json", db=sqlite_url
    )
    assert who.returncode == 0, who.stderr
    found = {p["principal"]: p["decision"] for p in json.loads(who.stdout)["principals"]}
    assert found.get("allUsers") == "allowed"
    # The token-creator grant is on the service account only, not on its project.
    outside = run("can", CI_RUNNER, "iam.serviceAccounts.getAccessToken", "projects/shop-prod", "--json", db=sqlite_url)
    assert json.loads(outside.stdout)["decision"] == "implicit_deny"


def test_can_names_the_clouds_it_takes(sqlite_url: str) -> None:
    result = run("can", CI_RUNNER, "storage.objects.get", "bucket-without-a-cloud", db=sqlite_url)
    assert result.returncode == 2
    assert "Google Cloud resource name" in result.stderr and "Azure resource id" in result.stderr


PROD = "/subscriptions/1c6a9e42-7b3d-4f8e-a5c1-2d9b8e7f6a30"
STORAGE = f"{PROD}/resourceGroups/rg-data-prod/providers/Microsoft.Storage/storageAccounts/stshopdataprod"
BLOB_READ = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"
BOB = "2aad1c83-3cb6-46ab-88ac-51c0c4d4dc0e"


def test_azure_can_and_who_can_on_the_demo(sqlite_url: str) -> None:
    assert run("scan", "--from", str(DEMO / "azure"), db=sqlite_url).returncode == 0
    # bob's blob reads are conditioned on the container name, which the resource id gives.
    invoices = f"{STORAGE}/blobServices/default/containers/invoices/blobs/2025/05.pdf"
    allowed = json.loads(run("can", "bob@example.com", BLOB_READ, invoices, "--json", db=sqlite_url).stdout)
    assert allowed["decision"] == "allowed" and allowed["principal"] == BOB
    container_name = "@Resource[microsoft.storage/storageaccounts/blobservices/containers:name]"
    assert allowed["witness"]["context"][container_name] == "invoices"
    hr = f"{STORAGE}/blobServices/default/containers/hr/blobs/salaries.csv"
    assert json.loads(run("can", BOB, BLOB_READ, hr, "--json", db=sqlite_url).stdout)["decision"] == "implicit_deny"
    # At the account the container is open: some context allows, none is given.
    free = json.loads(run("can", BOB, BLOB_READ, STORAGE, "--any-context", "--json", db=sqlite_url).stdout)
    assert free["decision"] == "allowed"
    # The deny assignment beats sp-terraform's Owner at subscription scope.
    delete = run("can", "sp-terraform", "Microsoft.Storage/storageAccounts/delete", STORAGE, db=sqlite_url)
    assert delete.returncode == 0, delete.stderr
    assert delete.stdout.startswith("explicit_deny") and "data-guard" in delete.stdout
    # The operations catalog makes a VM write a control-plane action: Owner grants it.
    vm = f"{PROD}/resourceGroups/rg-shop-prod/providers/Microsoft.Compute/virtualMachines/vm-shop-web-1"
    write = json.loads(
        run("can", "sp-terraform", "Microsoft.Compute/virtualMachines/write", vm, "--json", db=sqlite_url).stdout
    )
    assert write["decision"] == "allowed" and write["witness"]["data_action"] is False
    # bob holds no role on the VM, but may be in a group that does: not proven either way.
    maybe = json.loads(run("can", BOB, "Microsoft.Compute/virtualMachines/write", vm, "--json", db=sqlite_url).stdout)
    assert maybe["decision"] == "unknown" and "Cloud Platform Admins" in json.dumps(maybe["reasons"])
    # The data-guard deny assignment stops every deletion except by the principal it excludes; that
    # one holds no role itself but may be in a group holding Owner whose members were not read.
    who = json.loads(
        run("who-can", "Microsoft.Storage/storageAccounts/delete", STORAGE, "--direct", "--json", db=sqlite_url).stdout
    )
    assert [p["decision"] for p in who["principals"]] == ["unknown"]
    excluded = who["principals"][0]
    assert "group_membership" in {r["kind"] for r in excluded["reasons"]}
    alone = run(
        "can", excluded["principal"], "Microsoft.Storage/storageAccounts/delete", STORAGE, "--json", db=sqlite_url
    )
    assert json.loads(alone.stdout)["decision"] == "unknown"
    readers = run("who-can", BLOB_READ, invoices, db=sqlite_url)
    assert readers.returncode == 0 and BOB in readers.stdout
    # Text output keeps ABAC attribute names whole (they look like markup).
    text = run("can", BOB, BLOB_READ, invoices, db=sqlite_url).stdout
    assert "@Resource[microsoft.storage/storageaccounts:name]" in text


def test_azure_context_that_contradicts_the_resource_id_is_an_error(sqlite_url: str) -> None:
    assert run("scan", "--from", str(DEMO / "azure"), db=sqlite_url).returncode == 0
    container = f"{STORAGE}/blobServices/default/containers/invoices"
    key = "@Resource[Microsoft.Storage/storageAccounts/blobServices/containers:name]"
    result = run("can", BOB, BLOB_READ, container, "--context", f"{key}=hr", db=sqlite_url)
    assert result.returncode != 0
    assert "from its id" in result.stderr


def test_gcp_group_members_from_cloud_identity_exports_are_decided(sqlite_url: str) -> None:
    exports = REPO / "fixtures" / "gcp-exports"
    assert run("scan", "--from", str(exports), db=sqlite_url).returncode == 0
    project = "projects/acme-prod-app"
    # payments-eng holds roles/editor on the prod folder; dave is in it through payments-oncall.
    for member in ("user:carol@example.com", "user:dave@example.com"):
        answer = json.loads(run("can", member, "compute.instances.create", project, "--json", db=sqlite_url).stdout)
        assert answer["decision"] == "allowed", (member, answer["reasons"])
    # Someone the snapshot knows in no group may still be in groups whose members are unknown.
    outsider = run("can", "user:eve@example.com", "compute.instances.create", project, "--json", db=sqlite_url)
    answer = json.loads(outsider.stdout)
    assert answer["decision"] == "unknown" and "the members of group:gcp-admins@example.com are not known" in (
        json.dumps(answer["reasons"])
    )
    assert "payments-eng" not in json.dumps(answer["reasons"])  # that group's members are known


def test_gcp_group_with_an_unread_nested_group_is_not_known(sqlite_url: str) -> None:
    # developers@ (roles/editor on the dev folder) holds erin, frank and contractors@, whose members were not read.
    assert run("scan", "--from", str(DEMO / "gcp"), db=sqlite_url).returncode == 0
    project = "projects/sandbox-dev"
    erin = json.loads(
        run("can", "user:erin@example.com", "compute.instances.create", project, "--json", db=sqlite_url).stdout
    )
    assert erin["decision"] == "allowed"
    # Someone outside the listed members may still be a contractor: not a proven deny.
    zoe = json.loads(
        run("can", "user:zoe@example.com", "compute.instances.create", project, "--json", db=sqlite_url).stdout
    )
    assert zoe["decision"] == "unknown" and "developers@example.com" in json.dumps(zoe["reasons"])
