"""Google Cloud labels kept on reading: project labels on the project scope, and the labels of
instances, Cloud Run services, functions, Composer environments and GKE clusters (for their node
pools) on the workloads, without the labels Google Cloud sets itself."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from models import Snapshot, WorkloadKind
from scanner.errors import BadInputError
from scanner.files import scan_files
from scanner.gcp import shapes
from scanner.gcp.live import v1_project
from scanner.gcp.normalize import labels_of, user_labels

DEMO = Path(__file__).resolve().parents[3] / "fixtures" / "demo" / "gcp"


def edit(path: Path, change: Any) -> None:
    data = json.loads(path.read_text())
    for item in data:
        change(item)
    path.write_text(json.dumps(data))


def labelled_estate(tmp_path: Path) -> Snapshot:
    root = tmp_path / "gcp"
    shutil.copytree(DEMO, root)

    def on_instance(instance: dict[str, Any]) -> None:
        if instance["name"] == "etl-worker-1":
            instance["labels"] = {"owner": "etl-oncall", "goog-ops-agent-policy": "v2"}

    def on_service(service: dict[str, Any]) -> None:
        service["metadata"]["labels"] = {**service["metadata"]["labels"], "owner": "storefront-team"}

    def on_function(function: dict[str, Any]) -> None:
        function["labels"] = {"owner": "payments", "deployment-tool": "cli-gcloud"}

    def on_composer(environment: dict[str, Any]) -> None:
        environment["labels"] = {"owner": "data"}

    def on_cluster(cluster: dict[str, Any]) -> None:
        cluster["resourceLabels"] = {"owner": "k8s-platform"}

    edit(root / "data-prod-compute-instances.json", on_instance)
    edit(root / "shop-prod-run-services.json", on_service)
    edit(root / "shop-prod-functions.json", on_function)
    edit(root / "data-prod-composer-environments-europe-west1.json", on_composer)
    edit(root / "shop-prod-gke-clusters.json", on_cluster)
    return scan_files([root])


def test_demo_project_labels_are_kept() -> None:
    snapshot = scan_files([DEMO])
    labels = {s.id: s.tags for s in snapshot.scopes if s.id.startswith("projects/")}
    assert labels == {
        "projects/shop-prod": {"env": "prod", "team": "shop"},
        "projects/data-prod": {"env": "prod", "team": "data"},
        "projects/shop-dev": {"env": "dev", "team": "shop"},
        "projects/sandbox-dev": {"env": "dev", "team": "sandbox"},
    }
    assert all(not s.tags for s in snapshot.scopes if not s.id.startswith("projects/"))
    storefront = next(w for w in snapshot.workloads if w.name == "storefront")
    assert storefront.tags == {}  # only cloud.googleapis.com/location, which Google Cloud sets


def test_workload_labels_are_kept(tmp_path: Path) -> None:
    workloads = {w.name: w for w in labelled_estate(tmp_path).workloads}
    assert workloads["etl-worker-1"].tags == {"owner": "etl-oncall", "goog-ops-agent-policy": "v2"}
    assert workloads["storefront"].tags == {"owner": "storefront-team"}
    assert workloads["order-webhook"].tags == {"owner": "payments", "deployment-tool": "cli-gcloud"}
    assert workloads["orders-airflow"].tags == {"owner": "data"}
    pool = workloads["shop-gke/default-pool"]
    assert pool.kind is WorkloadKind.GKE_NODE_POOL and pool.tags == {"owner": "k8s-platform"}
    assert workloads["nightly-load"].tags == {}  # Scheduler jobs have no labels


def test_label_helpers() -> None:
    assert labels_of({"labels": {"a": "b"}}, "x") == {"a": "b"}
    assert labels_of({}, "x") == {}
    assert labels_of({"resourceLabels": {"k": "v"}}, "x", "resourceLabels") == {"k": "v"}
    with pytest.raises(shapes.ShapeError, match="must be a JSON object"):
        labels_of({"labels": ["a"]}, "x")
    assert user_labels({"cloud.googleapis.com/location": "eu", "goog-x": "1", "team": "a"}) == {"team": "a"}


def test_live_projects_keep_their_labels() -> None:
    project = {"name": "projects/123", "projectId": "p", "labels": {"owner": "me"}, "state": "ACTIVE"}
    assert v1_project(project)["labels"] == {"owner": "me"}
    assert "labels" not in v1_project({**project, "labels": {}})


def test_bad_labels_are_bad_input(tmp_path: Path) -> None:
    root = tmp_path / "gcp"
    shutil.copytree(DEMO, root)

    def broken(project: dict[str, Any]) -> None:
        project["labels"] = ["not", "an", "object"]

    edit(root / "projects-list.json", broken)
    with pytest.raises(BadInputError, match="labels must be a JSON object"):
        scan_files([root])


def test_labels_round_trip_through_the_codec(tmp_path: Path) -> None:
    snapshot = labelled_estate(tmp_path)
    again = Snapshot.from_json_dict(json.loads(json.dumps(snapshot.to_json_dict())))
    assert again == snapshot
    assert {w.id: w.tags for w in again.workloads} == {w.id: w.tags for w in snapshot.workloads}
