"""The excess-privilege rules on the demo estate (with its mint graph) and on variants of it."""

from __future__ import annotations

from dataclasses import fields, replace
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from models import Cloud, CoverageEntry, CoverageStatus, Covers, Snapshot
from scanner.files import scan_files
from simulator.engines import open_estate
from simulator.findings import Context, Finding, Settings, load_rules, run_rules
from simulator.findings.rules.excess_privilege import aws_sensitive
from simulator.graph import MintGraph
from simulator.graph.build import build

DEMO = Path(__file__).resolve().parents[3] / "fixtures" / "demo"
AT = datetime(2025, 6, 2, 12, tzinfo=UTC)
ADMIN_LAMBDA = "arn:aws:iam::222222222222:role/admin-lambda-exec"
CFN_DEPLOY = "arn:aws:iam::222222222222:role/cfn-deploy-role"
CODEBUILD_INFRA = "arn:aws:iam::222222222222:role/codebuild-infra-role"
ORG_ACCESS_PROD = "arn:aws:iam::222222222222:role/OrganizationAccountAccessRole"
OKTA_ADMIN = "arn:aws:iam::111111111111:role/okta-admin"
AUDIT = "arn:aws:iam::222222222222:role/audit-readonly"
DEV_SANDBOX = "arn:aws:iam::333333333333:role/dev-sandbox-role"
LEGACY_OPEN = "arn:aws:iam::222222222222:role/legacy-open-trust"
DEV_LAMBDA = "arn:aws:iam::333333333333:role/service-role/dev-lambda-basic-exec"
QA_RUNNER = "arn:aws:iam::333333333333:role/service-role/qa-test-runner"
DATA_PIPELINE = "arn:aws:iam::222222222222:policy/DataPipelineAccess"
LEGACY_S3 = "arn:aws:iam::222222222222:policy/LegacyS3FullAccess"
BOUNDARY = "arn:aws:iam::333333333333:policy/DeveloperBoundary"
SHOP_PROD_COMPUTE = "serviceAccount:318204957316-compute@developer.gserviceaccount.com"
LEGACY_EXPORTER = "serviceAccount:legacy-exporter@shop-prod.iam.gserviceaccount.com"
ETL = "serviceAccount:etl@data-prod.iam.gserviceaccount.com"
SP_TERRAFORM = "ac4609f8-70c1-4f49-bd09-cffdfba0ab09"
VM_DATA_WORKER = "4e153ceb-bd68-40a1-8a9c-ff530b204712"
VMSS = "e134cbaa-930e-4199-9fb0-ffecbeb958df"


@cache
def demo(cloud: str) -> Snapshot:
    return scan_files([DEMO / cloud])


@cache
def demo_graph(cloud: str) -> MintGraph:
    return build(open_estate(demo(cloud), at=AT))


def run(snapshot: Snapshot, graph: MintGraph, settings: Settings | None = None) -> tuple[Finding, ...]:
    outcome = run_rules(
        Context(open_estate(snapshot, at=AT), lambda: graph, settings), load_rules(["excess_privilege", "excess_usage"])
    )
    assert outcome.failures == ()
    return outcome.findings


@cache
def demo_findings(cloud: str) -> tuple[Finding, ...]:
    return run(demo(cloud), demo_graph(cloud))


def by_rule(findings: tuple[Finding, ...], name: str) -> dict[str, list[Finding]]:
    out: dict[str, list[Finding]] = {}
    for finding in findings:
        if finding.rule.id == f"excess-privilege/{name}":
            out.setdefault(finding.subject, []).append(finding)
    return out


def with_principal(snapshot: Snapshot, principal_id: str, **changes: object) -> Snapshot:
    principals = tuple(replace(p, **changes) if p.id == principal_id else p for p in snapshot.principals)  # type: ignore[arg-type]
    return replace(snapshot, principals=principals)


# --- admin-equivalent workload identities ----------------------------------------------------


def test_aws_admin_lambda_exec_is_an_admin_workload_identity() -> None:
    """#5 (and #19): Lambda's and CloudFormation's admin roles; the humans' admin roles are not
    workload identities."""
    admins = by_rule(demo_findings("aws"), "admin-workload-identity")
    assert set(admins) == {ADMIN_LAMBDA, CFN_DEPLOY}
    (finding,) = admins[ADMIN_LAMBDA]
    assert "nightly-cleanup runs as it" in finding.sentence
    assert finding.answers and finding.shown_witness is not None
    assert finding.severity.value == "critical"


def test_azure_sp_terraform_owner_of_prod_is_an_admin_workload_identity() -> None:
    """#2: Owner at subscription scope to sp-terraform."""
    admins = by_rule(demo_findings("azure"), "admin-workload-identity")
    assert set(admins) == {SP_TERRAFORM}
    assert admins[SP_TERRAFORM][0].key == ("/subscriptions/1c6a9e42-7b3d-4f8e-a5c1-2d9b8e7f6a30",)


def test_gcp_has_no_admin_workload_identity() -> None:
    assert not by_rule(demo_findings("gcp"), "admin-workload-identity")


# --- sensitive wildcards -----------------------------------------------------------------------


def test_aws_sensitive_wildcards() -> None:
    found = by_rule(demo_findings("aws"), "sensitive-wildcard")
    (infra,) = found[CODEBUILD_INFRA]  # #18
    assert "iam:* by infra-deploy" in infra.sentence
    assert infra.evidence[0].document == {
        "Sid": "ManageIamForInfra",
        "Effect": "Allow",
        "Action": "iam:*",
        "Resource": "*",
    }
    assert infra.evidence[0].source is not None and infra.evidence[0].source.endswith("Statement[ManageIamForInfra]")
    assert ADMIN_LAMBDA in found
    for fine in (OKTA_ADMIN, AUDIT, DEV_SANDBOX):  # SAML session; read-only patterns; boundary caps it
        assert fine not in found


def test_aws_statement_classification() -> None:
    assert aws_sensitive({"Effect": "Allow", "Action": "*", "Resource": "*"}) == ["*"]
    assert aws_sensitive({"Effect": "Allow", "Action": ["kms:*", "s3:*"], "Resource": "*"}) == ["kms:*"]
    assert aws_sensitive({"Effect": "Allow", "Action": "iam:Get*", "Resource": "*"}) == []
    assert aws_sensitive({"Effect": "Allow", "Action": "secretsmanager:Get*", "Resource": "*"}) == [
        "secretsmanager:Get*"
    ]
    assert aws_sensitive({"Effect": "Deny", "Action": "*", "Resource": "*"}) == []
    assert aws_sensitive({"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"}) == []
    (text,) = aws_sensitive({"Effect": "Allow", "NotAction": ["iam:*"], "Resource": "*"})
    assert "sts:*" in text and "iam:* " not in text
    closed = aws_sensitive({"Effect": "Allow", "Action": "kms:*", "Resource": "*"}, lambda s: s != "kms")
    assert closed == []


def test_gcp_basic_roles() -> None:
    """#5: roles/editor on the default compute service accounts of all four projects; #10 the
    developers group's editor on folder dev; #11 an outside consumer account's editor."""
    found = by_rule(demo_findings("gcp"), "basic-role")
    compute = {s for s in found if s.endswith("-compute@developer.gserviceaccount.com")}
    assert len(compute) == 4
    (finding,) = found[SHOP_PROD_COMPUTE]
    assert finding.sentence.endswith("holds basic role roles/editor on project shop-prod")
    assert finding.evidence[0].document is not None and finding.evidence[0].document["role"] == "roles/editor"
    assert finding.key == ("projects/shop-prod", "roles/editor", "")
    assert "folder dev" in found["group:developers@example.com"][0].sentence
    assert "user:mallory.contractor@gmail.com" in found
    assert LEGACY_EXPORTER not in found  # storage.admin: broad, but not a basic role
    assert not by_rule(demo_findings("gcp"), "sensitive-wildcard")  # no role of the demo writes IAM


def test_gcp_roles_that_write_iam_are_sensitive() -> None:
    snapshot = demo("gcp")
    policies = []
    for policy in snapshot.policies:
        if policy.id == "projects/data-prod#iam-policy":
            bindings = [*policy.document["bindings"], {"role": "roles/iam.securityAdmin", "members": [ETL]}]
            policy = replace(policy, document={**policy.document, "bindings": bindings})
        policies.append(policy)
    role = next(p for p in snapshot.policies if p.id == "roles/iam.denyAdmin")
    security_admin = replace(
        role,
        id="roles/iam.securityAdmin",
        name="roles/iam.securityAdmin",
        document={"name": "roles/iam.securityAdmin", "includedPermissions": ["resourcemanager.projects.setIamPolicy"]},
    )
    variant = replace(snapshot, policies=(*policies, security_admin))
    (finding,) = by_rule(run(variant, demo_graph("gcp")), "sensitive-wildcard")[ETL]
    assert "resourcemanager.projects.setIamPolicy" in finding.sentence


def test_azure_star_and_authorization_wildcards() -> None:
    found = by_rule(demo_findings("azure"), "sensitive-wildcard")
    (finding,) = found[SP_TERRAFORM]
    assert "by role Owner assigned at /subscriptions/1c6a9e42" in finding.sentence
    assert VM_DATA_WORKER not in found  # Key Vault Secrets User on one vault
    assert VMSS not in found  # Reader


# --- service-wide wildcards in managed policies ----------------------------------------------


def test_aws_planted_wildcard_policies() -> None:
    """#12: DataPipelineAccess keeps v2 with s3:* on *; #13: LegacyS3FullAccess, attached to nothing.
    DeveloperBoundary's wildcards are a boundary's: they grant nothing."""
    found = by_rule(demo_findings("aws"), "service-wildcard-policy")
    assert set(found) == {DATA_PIPELINE, LEGACY_S3}
    (v2,) = found[DATA_PIPELINE]
    assert "non-default version v2" in v2.sentence and "SetDefaultPolicyVersion" in v2.sentence
    assert v2.key[0] == "v2"
    (legacy,) = found[LEGACY_S3]
    assert "attached to nothing" in legacy.sentence
    assert BOUNDARY not in found


# --- unused ------------------------------------------------------------------------------------


def test_aws_unused_roles_read_role_last_used_as_aws_defines_it() -> None:
    found = by_rule(demo_findings("aws"), "unused-identity")
    assert "last used 841 days ago" in found[LEGACY_OPEN][0].sentence
    assert "not used for at least 400 days" in found[DEV_LAMBDA][0].sentence  # created 2022, RoleLastUsed empty
    assert QA_RUNNER not in found
    assert not by_rule(demo_findings("aws"), "no-usage-data")


def test_aws_empty_role_last_used_on_a_recent_role_is_never_used_since_creation() -> None:
    snapshot = with_principal(demo("aws"), QA_RUNNER, last_used=None, created=AT - timedelta(days=200))
    (finding,) = by_rule(run(snapshot, demo_graph("aws")), "unused-identity")[QA_RUNNER]
    assert "never used since its creation on 2024-11-14" in finding.sentence
    young = with_principal(demo("aws"), QA_RUNNER, last_used=None, created=AT - timedelta(days=30))
    assert QA_RUNNER not in by_rule(run(young, demo_graph("aws")), "unused-identity")


def test_aws_account_without_role_last_used_is_a_gap_not_unused() -> None:
    snapshot = demo("aws")
    blind = replace(
        snapshot,
        principals=tuple(
            replace(p, last_used=None) if p.scope_id == "333333333333" else p for p in snapshot.principals
        ),
    )
    findings = run(blind, demo_graph("aws"))
    assert DEV_LAMBDA not in by_rule(findings, "unused-identity")
    (gap,) = by_rule(findings, "no-usage-data").values()
    assert gap[0].unknown and gap[0].cloud is Cloud.AWS
    assert DEV_LAMBDA in {e.source for e in gap[0].evidence}


def test_gcp_and_azure_say_they_have_no_usage_data() -> None:
    for cloud in ("gcp", "azure"):
        findings = demo_findings(cloud)
        assert not by_rule(findings, "unused-identity")
        (gap,) = by_rule(findings, "no-usage-data").values()
        assert gap[0].unknown and "no usage data" in gap[0].sentence


def test_usage_data_when_present_decides() -> None:
    snapshot = with_principal(demo("gcp"), LEGACY_EXPORTER, last_used=AT - timedelta(days=200))
    findings = run(snapshot, demo_graph("gcp"), Settings(unused_days=90))
    assert "last used 200 days ago" in by_rule(findings, "unused-identity")[LEGACY_EXPORTER][0].sentence
    (gap,) = by_rule(findings, "no-usage-data").values()
    assert LEGACY_EXPORTER not in {e.source for e in gap[0].evidence}


# --- usage records (snapshot.usage), where a scan collected them ------------------------------


def usage_record(principal_id: str, kind: str, subject: str, **fields: object) -> object:
    usage = pytest.importorskip("models.usage")
    cloud = Cloud.AWS if principal_id.startswith("arn:aws:") else Cloud.GCP
    return usage.Usage(
        principal_id=principal_id,
        cloud=cloud,
        kind=usage.UsageKind(kind),
        subject=subject,
        scope_id="test",
        source="file",
        origin="test",
        observed_at=AT,
        **fields,
    )


def with_usage(snapshot: Snapshot, *records: object) -> Snapshot:
    if "usage" not in {f.name for f in fields(snapshot)}:
        pytest.skip("this snapshot model has no usage collection")
    changes: dict[str, Any] = {"usage": records}
    return replace(snapshot, **changes)


def test_authentication_records_decide_gcp_usage() -> None:
    etl = ETL
    snapshot = with_usage(
        demo("gcp"),
        usage_record(etl, "authentication", "serviceAccountLastAuthentication", last_used=AT - timedelta(days=1)),
        usage_record(
            LEGACY_EXPORTER,
            "authentication",
            "serviceAccountLastAuthentication",
            tracked_since=AT - timedelta(days=180),
        ),
    )
    findings = run(snapshot, demo_graph("gcp"))
    unused = by_rule(findings, "unused-identity")
    assert "not used since at least 2024-12-04" in unused[LEGACY_EXPORTER][0].sentence
    assert etl not in unused
    (gap,) = by_rule(findings, "no-usage-data").values()
    assert {etl, LEGACY_EXPORTER}.isdisjoint({e.source for e in gap[0].evidence})


def test_a_tracking_window_shorter_than_the_threshold_proves_nothing() -> None:
    record = usage_record(LEGACY_EXPORTER, "authentication", "x", tracked_since=AT - timedelta(days=30))
    findings = run(with_usage(demo("gcp"), record), demo_graph("gcp"))
    assert LEGACY_EXPORTER not in by_rule(findings, "unused-identity")
    (gap,) = by_rule(findings, "no-usage-data").values()
    assert LEGACY_EXPORTER in {e.source for e in gap[0].evidence}


def test_service_records_name_unused_services() -> None:
    snapshot = with_usage(
        demo("aws"),
        usage_record(CODEBUILD_INFRA, "service", "iam", tracked_since=AT - timedelta(days=400)),
        usage_record(CODEBUILD_INFRA, "service", "logs", last_used=AT - timedelta(days=2)),
    )
    (finding,) = by_rule(run(snapshot, demo_graph("aws")), "unused-service")[CODEBUILD_INFRA]
    assert finding.key == ("iam",)
    assert "is granted iam but not used since at least" in finding.sentence


def test_a_grants_gap_is_said() -> None:
    gap = CoverageEntry(
        scope_id="projects/shop-dev",
        source="api",
        service="cloudresourcemanager",
        operation="projects.getIamPolicy projects/shop-dev",
        status=CoverageStatus.DENIED,
        detail="PERMISSION_DENIED",
        cloud=Cloud.GCP,
        covers=(Covers.ALLOW_POLICIES,),
    )
    snapshot = replace(demo("gcp"), coverage=(*demo("gcp").coverage, gap))
    (finding,) = by_rule(run(snapshot, demo_graph("gcp")), "grants-not-read").values()
    assert finding[0].unknown and "projects/shop-dev" in finding[0].sentence
    assert not by_rule(demo_findings("gcp"), "grants-not-read")
