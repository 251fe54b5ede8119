"""End to end: the Google Cloud demo estate's export files (fixtures/demo/gcp), read by the scanner,
answer the planted problems the demo README lists."""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from simulator.core import Answer, Ask, Decision, context_tuples
from simulator.gcp.engine import GcpEngine

DEMO = Path(__file__).resolve().parents[3] / "fixtures" / "demo" / "gcp"
ORG_ADMIN_UNTIL = "2025-06-29T23:59:59.999999Z"
pytestmark = pytest.mark.skipif(not DEMO.is_dir(), reason="no Google Cloud demo estate")


AT = datetime(2026, 6, 1, tzinfo=UTC)


@functools.cache
def demo() -> GcpEngine:
    from scanner.files import scan_files

    return GcpEngine(scan_files([DEMO]), AT)


def can(principal: str, action: str, resource: str, **kw: Any) -> Answer:
    context = context_tuples(kw.get("context") or {})
    return demo().can(
        Ask(
            principal=principal,
            action=action,
            resource=resource,
            at=AT,
            context=context,
            free_context=kw.get("free_context", False),
        )
    )


def who_can(action: str, resource: str) -> dict[str, str]:
    answers = demo().who_can(Ask(principal=None, action=action, resource=resource, at=AT))
    return {a.principal: a.decision.value for a in answers}


def sa(email: str) -> str:
    project = email.split("@")[1].split(".")[0]
    return f"//iam.googleapis.com/projects/{project}/serviceAccounts/{email}"


def test_dev_ci_runner_can_mint_tokens_of_a_prod_service_account() -> None:  # planted 6
    result = can(
        "ci-runner@shop-dev.iam.gserviceaccount.com",
        "iam.serviceAccounts.getAccessToken",
        sa("payments-api@shop-prod.iam.gserviceaccount.com"),
    )
    assert result.decision is Decision.ALLOWED
    assert result.reasons[0].role == "roles/iam.serviceAccountTokenCreator"


def test_any_identity_of_the_trusted_aws_account_can_become_aws_bridge() -> None:  # planted 7
    pool = "principalSet://iam.googleapis.com/projects/741963258014/locations/global/workloadIdentityPools/aws-prod/*"
    listed = who_can("iam.serviceAccounts.getAccessToken", sa("aws-bridge@data-prod.iam.gserviceaccount.com"))
    assert listed.get(pool) == "allowed"


def test_time_bound_organization_admin() -> None:  # planted 1
    question = ("user:alice@example.com", "resourcemanager.projects.setIamPolicy", "projects/data-prod")
    assert can(*question, context={"request.time": "2025-06-02T00:00:00Z"}).decision is Decision.ALLOWED
    later = can(*question, context={"request.time": "2025-07-02T00:00:00Z"})
    # after the window only the org-admins group could grant it, and its members are not known
    assert later.decision is Decision.UNKNOWN
    assert any("group:gcp-org-admins@example.com" in r.detail for r in later.reasons)
    anytime = can(*question, free_context=True)
    assert anytime.decision is Decision.ALLOWED
    assert anytime.witness is not None and anytime.witness.context["request.time"][0] <= ORG_ADMIN_UNTIL


def test_resource_name_conditional_reader() -> None:  # planted 2
    invoices = "//storage.googleapis.com/projects/_/buckets/shop-prod-invoices/objects/"
    assert can("user:bob@example.com", "storage.objects.get", invoices + "2025/jan.pdf").decision is Decision.ALLOWED
    later = can("user:bob@example.com", "storage.objects.get", invoices + "2024/jan.pdf")
    assert later.decision is Decision.IMPLICIT_DENY


def test_key_creation_deny_with_a_break_glass_group() -> None:  # planted 3
    answer = can(
        "318204957316-compute@developer.gserviceaccount.com",
        "iam.serviceAccountKeys.create",
        "projects/shop-prod",
    )
    # denied to everyone but break-glass members; whether the SA is one is not known
    assert answer.decision is Decision.UNKNOWN
    assert any("break-glass@example.com" in r.detail for r in answer.reasons)


def test_public_bucket() -> None:  # planted 9
    obj = "//storage.googleapis.com/projects/_/buckets/shop-prod-public-assets/objects/logo.png"
    listed = who_can("storage.objects.get", obj)
    assert listed["allUsers"] == "allowed"
    assert "user:bob@example.com" not in listed  # allowed only as one of allUsers
