"""Azure tags kept on reading: subscription, resource group, resource and user-assigned identity
tags (ARM objects), service principal and application tags (Microsoft Graph strings), and their
round trip through the snapshot codec and the store."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from models import Snapshot
from models.store import Store
from scanner.azure.normalize import normalize_azure, tags_of
from scanner.azure.raw import AzureRaw
from scanner.files import scan_files

DEMO = Path(__file__).resolve().parents[3] / "fixtures" / "demo" / "azure"
SUB = "6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c9d"
RG_SHOP_PROD = "/subscriptions/1c6a9e42-7b3d-4f8e-a5c1-2d9b8e7f6a30/resourcegroups/rg-shop-prod"
VM_SHOP_WEB = f"{RG_SHOP_PROD}/providers/microsoft.compute/virtualmachines/vm-shop-web-1"
ID_SHOP_DEPLOY = "102f1004-b71f-42e7-af38-823b6bddd7b8"
SP_TERRAFORM = "ac4609f8-70c1-4f49-bd09-cffdfba0ab09"


def edit(path: Path, change: Any) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def tagged_estate(tmp_path: Path) -> Snapshot:
    """The demo estate with tags on the VM, the identity id-shop-deploy and sp-terraform."""
    root = tmp_path / "azure"
    shutil.copytree(DEMO, root)

    def on_vm(resources: list[dict[str, Any]]) -> None:
        for resource in resources:
            if resource["name"] == "vm-shop-web-1":
                resource["tags"] = {"owner": "web-team", "cost-center": "42"}

    def on_identity(identities: list[dict[str, Any]]) -> None:
        for identity in identities:
            if identity["name"] == "id-shop-deploy":
                identity["tags"] = {"owner": "deploy-team"}

    def on_sp(answer: dict[str, Any]) -> None:
        for sp in answer["value"] if isinstance(answer, dict) else answer:
            if sp["displayName"] == "sp-terraform":
                sp["tags"] = ["owner:platform", "WindowsAzureActiveDirectoryIntegratedApp"]

    edit(root / "example-prod-resources.json", on_vm)
    edit(root / "example-prod-identities.json", on_identity)
    edit(root / "service-principals.json", on_sp)
    return scan_files([root])


def test_demo_resource_group_tags_are_kept() -> None:
    snapshot = scan_files([DEMO])
    scope = next(s for s in snapshot.scopes if s.id == RG_SHOP_PROD)
    assert scope.tags == {"env": "prod"}
    assert all(not w.tags for w in snapshot.workloads)  # the demo's resources have empty tags


def test_resource_identity_and_service_principal_tags(tmp_path: Path) -> None:
    snapshot = tagged_estate(tmp_path)
    vm = next(w for w in snapshot.workloads if w.id == VM_SHOP_WEB)
    assert vm.tags == {"owner": "web-team", "cost-center": "42"}
    assert next(s for s in snapshot.scopes if s.id == VM_SHOP_WEB).tags == vm.tags
    principals = {p.id: p for p in snapshot.principals}
    assert principals[ID_SHOP_DEPLOY].tags == {"owner": "deploy-team"}
    assert principals[SP_TERRAFORM].tags == {"owner": "platform", "WindowsAzureActiveDirectoryIntegratedApp": ""}


def test_subscription_tags_from_arm() -> None:
    raw = AzureRaw(
        tenant_id="11111111-2222-4333-8444-555555555555",
        subscriptions=[
            {
                "id": SUB,
                "name": "ops",
                "state": "Enabled",
                "tenantId": "11111111-2222-4333-8444-555555555555",
                "tags": {"owner": "ops-team"},
            }
        ],
    )
    (sub,) = [s for s in normalize_azure(raw).scopes if s.id == f"/subscriptions/{SUB}"]
    assert sub.tags == {"owner": "ops-team"}


def test_tags_of_reads_both_shapes() -> None:
    assert tags_of({"a": "1", "b": None}) == {"a": "1", "b": ""}
    assert tags_of(["team=x", "k:v:w", "bare", "", 3]) == {"team": "x", "k": "v:w", "bare": ""}
    assert tags_of(None) == {}
    assert tags_of("nonsense") == {}


def test_tags_round_trip_through_the_codec_and_the_store(tmp_path: Path) -> None:
    snapshot = tagged_estate(tmp_path)
    again = Snapshot.from_json_dict(json.loads(json.dumps(snapshot.to_json_dict())))
    assert again == snapshot
    with Store.open(f"sqlite:///{tmp_path / 'store.db'}") as store:
        store.save(snapshot)
        loaded = store.load(snapshot.id)
    assert {w.id: w.tags for w in loaded.workloads} == {w.id: w.tags for w in snapshot.workloads}
    assert {s.id: s.tags for s in loaded.scopes} == {s.id: s.tags for s in snapshot.scopes}
    assert {p.id: p.tags for p in loaded.principals} == {p.id: p.tags for p in snapshot.principals}


def test_a_snapshot_written_before_the_tags_fields_still_loads() -> None:
    snapshot = scan_files([DEMO])
    data = json.loads(json.dumps(snapshot.to_json_dict()))
    for item in (*data["scopes"], *data["workloads"]):
        del item["tags"]
    old = Snapshot.from_json_dict(data)
    assert all(s.tags == {} for s in old.scopes)
    assert all(w.tags == {} for w in old.workloads)
