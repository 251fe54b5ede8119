"""The Google Cloud demo estate (fixtures/demo/gcp) reads cleanly and shows what its README plants."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from models import AttachmentKind, CredentialKind, WorkloadKind
from scanner.normalized import Normalized
from tests.scanner.gcp.conftest import REPO, by_id, read

DEMO = REPO / "fixtures" / "demo" / "gcp"
SHOP_PROD = "projects/shop-prod"


@pytest.fixture(scope="module")
def demo() -> Normalized:
    return read(sorted(p for p in DEMO.iterdir() if p.suffix in (".json", ".ndjson")))


def test_every_demo_file_is_read_and_nothing_is_missing(demo: Normalized) -> None:
    assert not [c for c in demo.coverage if c.is_gap]
    assert len([c for c in demo.coverage if c.source == "file"]) == len(
        [p for p in DEMO.iterdir() if p.suffix in (".json", ".ndjson")]
    )
    scopes = by_id(demo.scopes)
    assert scopes[SHOP_PROD].parent_id == "folders/307514962183"
    assert scopes["folders/629041837552"].parent_id == "organizations/584739201946"
    demo.to_snapshot(source="files", label="demo", meta={})


def test_service_account_assets_named_by_unique_id_attach_to_the_account(demo: Normalized) -> None:
    payments = "serviceAccount:payments-api@shop-prod.iam.gserviceaccount.com"
    policy = by_id(demo.policies)[f"{payments}#iam-policy"]
    members = {m for b in policy.document["bindings"] for m in b["members"]}  # type: ignore[attr-defined]
    assert "serviceAccount:ci-runner@shop-dev.iam.gserviceaccount.com" in members
    assert any(a.target_id == payments and a.kind is AttachmentKind.BINDING for a in demo.attachments)


def test_planted_keys_and_federation(demo: Normalized) -> None:
    keys = {c.key_id: c for c in demo.credentials if c.kind is CredentialKind.SERVICE_ACCOUNT_KEY}
    legacy = keys["97a955ebaaf766e1b42b2cd03f178227703d11d1"]
    assert legacy.expires is None and legacy.active
    assert legacy.created == datetime(2023, 2, 14, 16, 56, 57, tzinfo=UTC)
    assert not keys["2ed6f6ece058419bd4e310a79aa4e8ef7a9a49d1"].active
    aws = next(c for c in demo.credentials if c.issuer == "https://sts.amazonaws.com")
    assert aws.audiences == ("222222222222",)
    provider = by_id(demo.resources)[aws.id]
    assert provider.attributes["attributeCondition"] == ""  # planted: no condition


def test_the_default_compute_account_is_shared_by_five_vms_a_run_service_builds_and_a_node_pool(
    demo: Normalized,
) -> None:
    compute = "serviceAccount:318204957316-compute@developer.gserviceaccount.com"
    kinds = sorted(w.kind for w in demo.workloads if compute in w.principal_ids)
    assert kinds == sorted(
        [WorkloadKind.CLOUD_RUN_SERVICE, WorkloadKind.CLOUD_BUILD, WorkloadKind.GKE_NODE_POOL]
        + [WorkloadKind.GCE_INSTANCE] * 5
    )
    pool = by_id(demo.workloads)[
        "//container.googleapis.com/projects/shop-prod/locations/europe-west1/clusters/shop-gke/nodePools/default-pool"
    ]
    assert pool.attributes["oauthScopes"] == "https://www.googleapis.com/auth/cloud-platform"  # type: ignore[attr-defined]
    assert pool.attributes["defaultServiceAccount"] == "true"  # type: ignore[attr-defined]
    build = by_id(demo.workloads)["//cloudbuild.googleapis.com/projects/shop-prod/locations/global/builds"]
    assert "legacyServiceAccount" not in build.attributes  # type: ignore[attr-defined]
    payments = "serviceAccount:payments-api@shop-prod.iam.gserviceaccount.com"
    runs_as_payments = {w.kind: w for w in demo.workloads if payments in w.principal_ids}
    assert set(runs_as_payments) == {
        WorkloadKind.GCE_INSTANCE,
        WorkloadKind.CLOUD_FUNCTION,
        WorkloadKind.GKE_SERVICE_ACCOUNT,
    }
    assert runs_as_payments[WorkloadKind.GKE_SERVICE_ACCOUNT].id == (
        "serviceAccount:shop-prod.svc.id.goog[payments/payments-api]"
    )
    assert not [w for w in demo.workloads if w.name == "scratch-1"]  # runs as no service account


def test_etl_runs_a_vm_a_scheduler_job_and_a_composer_environment(demo: Normalized) -> None:
    etl = "serviceAccount:etl@data-prod.iam.gserviceaccount.com"
    runs_as_etl = {w.kind: w for w in demo.workloads if etl in w.principal_ids}
    assert set(runs_as_etl) == {
        WorkloadKind.GCE_INSTANCE,
        WorkloadKind.CLOUD_SCHEDULER_JOB,
        WorkloadKind.COMPOSER_ENVIRONMENT,
    }
    job = runs_as_etl[WorkloadKind.CLOUD_SCHEDULER_JOB]
    assert job.id == "//cloudscheduler.googleapis.com/projects/data-prod/locations/europe-west1/jobs/nightly-load"
    assert job.attributes["tokenType"] == "oidc" and job.attributes["oidcAudience"].endswith(".a.run.app/run")
    environment = runs_as_etl[WorkloadKind.COMPOSER_ENVIRONMENT]
    assert environment.id.endswith("/projects/data-prod/locations/europe-west1/environments/orders-airflow")
    assert environment.scope_id == "projects/data-prod"
