"""The stale-credential rules on the demo estate (every planted credential problem found, the
deliberately fine keys left alone) and on variants of it built here."""

from __future__ import annotations

from dataclasses import fields, replace
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from models import Cloud, CoverageEntry, CoverageStatus, Covers, Credential, CredentialKind, Snapshot
from scanner.files import scan_files
from simulator.engines import open_estate
from simulator.findings import Context, Finding, Settings, load_rules, run_rules
from simulator.graph import MintGraph

DEMO = Path(__file__).resolve().parents[3] / "fixtures" / "demo"
AT = datetime(2025, 6, 2, 12, tzinfo=UTC)
LEGACY_BATCH = "arn:aws:iam::222222222222:user/legacy-batch"
SVC_TERRAFORM = "arn:aws:iam::111111111111:user/service/svc-terraform"
IVAN = "arn:aws:iam::333333333333:user/ivan.contractor"
LEGACY_EXPORTER_KEY = (
    "projects/shop-prod/serviceAccounts/legacy-exporter@shop-prod.iam.gserviceaccount.com/keys/"
    "97a955ebaaf766e1b42b2cd03f178227703d11d1"
)
ETL_KEY = (
    "projects/data-prod/serviceAccounts/etl@data-prod.iam.gserviceaccount.com/keys/"
    "746d1a450e75551321794172aa6aca016e931cac"
)
CI_RUNNER_KEY = (
    "projects/shop-dev/serviceAccounts/ci-runner@shop-dev.iam.gserviceaccount.com/keys/"
    "2ed6f6ece058419bd4e310a79aa4e8ef7a9a49d1"
)
TERRAFORM_SECRET = "ac4609f8-70c1-4f49-bd09-cffdfba0ab09#secret-2646e4d5-b21b-4304-9687-0ba8d6c26d12"
LEGACY_REPORTING_CERT = "e5f39b01-46b6-424f-a576-177f6bdb32e7#certificate-078e92dd-a1dc-4767-8c5a-b59acf4ab59f"
BREAK_GLASS = "d3c84065-d2c0-4704-9b0d-d5a5f1ca6760"
IDM_SYNC_APP = "d5b97963-76d0-4f70-9f37-801aa8b0e8c0"


@cache
def demo(cloud: str) -> Snapshot:
    return scan_files([DEMO / cloud])


def no_graph() -> MintGraph:
    raise AssertionError("the stale-credential rules must not need the mint graph")


def run(snapshot: Snapshot, settings: Settings | None = None, at: datetime = AT) -> tuple[Finding, ...]:
    outcome = run_rules(Context(open_estate(snapshot, at=at), no_graph, settings), load_rules(["stale_credential"]))
    assert outcome.failures == ()
    return outcome.findings


@cache
def demo_findings(cloud: str) -> tuple[Finding, ...]:
    return run(demo(cloud))


def by_rule(findings: tuple[Finding, ...], name: str) -> dict[str, Finding]:
    return {f.subject: f for f in findings if f.rule.id == f"stale-credential/{name}"}


def with_credentials(snapshot: Snapshot, *extra: Credential, drop: str | None = None) -> Snapshot:
    kept = tuple(c for c in snapshot.credentials if c.id != drop)
    return replace(snapshot, credentials=kept + extra)


# --- AWS -------------------------------------------------------------------------------------


def test_aws_planted_legacy_batch_keys() -> None:
    """#7: two active keys, key 1 old, key 2 never used; the password last used 2022."""
    findings = demo_findings("aws")
    long_lived = by_rule(findings, "long-lived-key")
    assert f"{LEGACY_BATCH}#access-key-1" in long_lived
    assert "1552 days old" in long_lived[f"{LEGACY_BATCH}#access-key-1"].sentence
    unused = by_rule(findings, "unused-credential")
    assert "never been used" in unused[f"{LEGACY_BATCH}#access-key-2"].sentence
    assert "last used 991 days ago" in unused[f"{LEGACY_BATCH}#password"].sentence
    assert f"{LEGACY_BATCH}#access-key-1" not in unused  # used on 2025-05-28
    multiple = by_rule(findings, "multiple-active-keys")
    assert set(multiple) == {LEGACY_BATCH}
    assert multiple[LEGACY_BATCH].key == (f"{LEGACY_BATCH}#access-key-1", f"{LEGACY_BATCH}#access-key-2")


def test_aws_planted_svc_terraform_and_ivan() -> None:
    """#14: svc-terraform's long-lived key; #16: ivan.contractor's password unused since 2023,
    while his inactive key is reported by none of the rules."""
    findings = demo_findings("aws")
    assert f"{SVC_TERRAFORM}#access-key-1" in by_rule(findings, "long-lived-key")
    assert f"{SVC_TERRAFORM}#access-key-1" not in by_rule(findings, "unused-credential")
    assert f"{IVAN}#password" in by_rule(findings, "unused-credential")
    assert not [f for f in findings if f.subject == f"{IVAN}#access-key-1"]


def test_aws_has_usage_data_so_no_gap_finding() -> None:
    findings = demo_findings("aws")
    assert not by_rule(findings, "no-usage-data")
    assert not by_rule(findings, "credentials-not-read")
    assert not by_rule(findings, "non-expiring-secret")  # AWS keys have no expiry: their age is what counts


def test_aws_new_key_never_used_is_not_unused_yet() -> None:
    fresh = Credential(
        id=f"{SVC_TERRAFORM}#access-key-2",
        principal_id=SVC_TERRAFORM,
        kind=CredentialKind.ACCESS_KEY,
        key_id="AKIAFRESHFRESHFRESH1",
        created=AT - timedelta(days=10),
    )
    findings = run(with_credentials(demo("aws"), fresh))
    assert fresh.id not in by_rule(findings, "unused-credential")
    assert fresh.id not in by_rule(findings, "long-lived-key")
    assert SVC_TERRAFORM in by_rule(findings, "multiple-active-keys")


def test_unknown_creation_date_is_unknown_not_fine() -> None:
    undated = Credential(
        id=f"{SVC_TERRAFORM}#access-key-2", principal_id=SVC_TERRAFORM, kind=CredentialKind.ACCESS_KEY, active=True
    )
    finding = by_rule(run(with_credentials(demo("aws"), undated)), "long-lived-key")[undated.id]
    assert finding.unknown
    assert "no known creation date" in finding.sentence


def test_thresholds_come_from_settings() -> None:
    findings = run(demo("aws"), Settings(key_max_age_days=1200, unused_days=800))
    long_lived = by_rule(findings, "long-lived-key")
    assert set(long_lived) == {f"{LEGACY_BATCH}#access-key-1"}  # 1552 days; key 2 is 1048
    unused = by_rule(findings, "unused-credential")
    assert f"{LEGACY_BATCH}#password" in unused  # 991 days
    assert f"{IVAN}#password" not in unused  # 641 days


def test_finding_ids_do_not_depend_on_the_time_of_the_scan() -> None:
    later = run(demo("aws"), at=AT + timedelta(days=30))
    assert {f.id for f in by_rule(later, "long-lived-key").values()} >= {
        f.id for f in by_rule(demo_findings("aws"), "long-lived-key").values()
    }


def test_a_credentials_gap_is_said() -> None:
    gap = CoverageEntry(
        scope_id="222222222222",
        source="api",
        service="iam",
        operation="iam:ListAccessKeys",
        status=CoverageStatus.DENIED,
        detail="AccessDenied",
        cloud=Cloud.AWS,
        covers=(Covers.CREDENTIALS,),
    )
    snapshot = replace(demo("aws"), coverage=(*demo("aws").coverage, gap))
    (finding,) = by_rule(run(snapshot), "credentials-not-read").values()
    assert finding.unknown and "222222222222" in finding.sentence


# --- Google Cloud ----------------------------------------------------------------------------


def test_gcp_planted_legacy_exporter_key() -> None:
    """#4: a user-managed key from 2023 that never expires (validBeforeTime 9999)."""
    findings = demo_findings("gcp")
    assert "never expires" in by_rule(findings, "non-expiring-secret")[LEGACY_EXPORTER_KEY].sentence
    assert LEGACY_EXPORTER_KEY in by_rule(findings, "long-lived-key")


def test_gcp_deliberately_fine_keys() -> None:
    """etl's 90-day key made 2025-04-07 and ci-runner's disabled key are not reported."""
    subjects = {f.subject for f in demo_findings("gcp")}
    assert ETL_KEY not in subjects
    assert CI_RUNNER_KEY not in subjects


def test_gcp_usage_is_unknown_and_said_so() -> None:
    findings = demo_findings("gcp")
    assert not by_rule(findings, "unused-credential")  # no usage data: never called unused
    (gap,) = by_rule(findings, "no-usage-data").values()
    assert gap.unknown and gap.cloud is Cloud.GCP
    assert {e.source for e in gap.evidence} == {LEGACY_EXPORTER_KEY, ETL_KEY}


# --- Azure -----------------------------------------------------------------------------------


def test_azure_planted_secret_2299_and_expired_certificate() -> None:
    """#3: sp-terraform's secret valid until 2299; #4: sp-legacy-reporting's certificate expired
    2024-03-01 while it is still Reader."""
    findings = demo_findings("azure")
    never = by_rule(findings, "non-expiring-secret")
    assert set(never) == {TERRAFORM_SECRET}
    assert "2299-12-31" in never[TERRAFORM_SECRET].sentence
    expired = by_rule(findings, "expired-credential")
    assert set(expired) == {LEGACY_REPORTING_CERT}
    assert "expired on 2024-03-01" in expired[LEGACY_REPORTING_CERT].sentence
    assert LEGACY_REPORTING_CERT not in by_rule(findings, "long-lived-key")


def test_azure_break_glass_90_day_secret_is_fine() -> None:
    assert not [f for f in demo_findings("azure") if f.principal == BREAK_GLASS]


def test_expired_credential_on_identity_without_grants_is_not_reported() -> None:
    snapshot = demo("azure")
    orphan = Credential(
        id=f"{BREAK_GLASS}#secret-old",
        principal_id="00000000-1111-2222-3333-444444444444",
        kind=CredentialKind.CLIENT_SECRET,
        created=datetime(2020, 1, 1, tzinfo=UTC),
        expires=datetime(2021, 1, 1, tzinfo=UTC),
    )
    assert orphan.id not in by_rule(run(with_credentials(snapshot, orphan)), "expired-credential")


def test_a_far_expiry_is_measured_from_creation() -> None:
    snapshot = demo("azure")
    secret = next(c for c in snapshot.credentials if c.principal_id == BREAK_GLASS)
    three_years = replace(secret, expires=secret.created + timedelta(days=3 * 365) if secret.created else None)
    findings = run(with_credentials(snapshot, three_years, drop=secret.id))
    assert secret.id in by_rule(findings, "non-expiring-secret")
    findings = run(with_credentials(snapshot, three_years, drop=secret.id), Settings(secret_max_lifetime_days=1200))
    assert secret.id not in by_rule(findings, "non-expiring-secret")


def test_gcp_key_usage_records_decide() -> None:
    usage = pytest.importorskip("models.usage")
    snapshot = demo("gcp")
    if "usage" not in {f.name for f in fields(snapshot)}:
        pytest.skip("this snapshot model has no usage collection")
    record = usage.Usage(
        principal_id="serviceAccount:legacy-exporter@shop-prod.iam.gserviceaccount.com",
        cloud=Cloud.GCP,
        kind=usage.UsageKind.CREDENTIAL,
        subject=LEGACY_EXPORTER_KEY,
        scope_id="projects/shop-prod",
        source="file",
        origin="test",
        last_used=AT - timedelta(days=120),
        observed_at=AT,
    )
    changes: dict[str, Any] = {"usage": (record,)}  # a collection newer than some snapshot models
    findings = run(replace(snapshot, **changes))
    assert "last used 120 days ago" in by_rule(findings, "unused-credential")[LEGACY_EXPORTER_KEY].sentence
    (gap,) = by_rule(findings, "no-usage-data").values()
    assert {e.source for e in gap.evidence} == {ETL_KEY}


def test_an_expired_application_secret_counts_its_service_principals_grants() -> None:
    """sp-idm-sync's client secret lives on its application object; its grants on its service principal."""
    snapshot = demo("azure")
    secret = next(c for c in snapshot.credentials if c.principal_id == IDM_SYNC_APP)
    expired = replace(secret, expires=datetime(2025, 1, 1, tzinfo=UTC), created=datetime(2024, 1, 1, tzinfo=UTC))
    finding = by_rule(run(with_credentials(snapshot, expired, drop=secret.id)), "expired-credential")[secret.id]
    assert "sp-idm-sync still holds 1 grant" in finding.sentence
