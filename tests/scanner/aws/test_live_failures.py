"""Live scans when AWS says no: throttling, AccessDenied, expired or missing credentials."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

from models import CoverageStatus, Covers
from scanner.aws import AwsClients, scan_live
from scanner.errors import ScanError
from scanner.files import scan_files
from tests.scanner.aws import wire
from tests.scanner.aws.seed import REGION


def scan(session: boto3.Session, *hooks: tuple[str, object], **kwargs: object):  # type: ignore[no-untyped-def]
    clients = AwsClients(session=session, max_attempts=3, hooks=list(hooks))  # type: ignore[arg-type]
    return scan_live(clients, regions=[REGION], **kwargs)  # type: ignore[arg-type]


def gap(snapshot, service: str, operation: str):  # type: ignore[no-untyped-def]
    return next(g for g in snapshot.gaps if (g.service, g.operation) == (service, operation))


def test_throttling_is_retried_then_recorded_as_a_gap(small_account: boto3.Session) -> None:
    attempts: list[int] = []
    throttle = wire.answer(lambda: wire.json_error("ThrottlingException", "Rate exceeded"), attempts)
    snapshot = scan(small_account, ("before-send.kms.ListKeys", throttle))
    entry = gap(snapshot, "kms", "ListKeys")
    assert entry.status is CoverageStatus.THROTTLED
    assert entry.region == REGION and "Rate exceeded" in entry.detail
    assert len(attempts) >= 3  # botocore retried (adaptive mode) before the gap was recorded
    assert any(p.name == "only" for p in snapshot.principals)  # the rest of the scan went on
    assert any(r.kind == "sqs:queue" for r in snapshot.resources)


def test_access_denied_is_a_gap_not_an_empty_answer(small_account: boto3.Session) -> None:
    denied = wire.answer(lambda: wire.s3_error("AccessDenied", "Access Denied"))
    snapshot = scan(small_account, ("before-send.s3.ListBuckets", denied))
    entry = gap(snapshot, "s3", "ListBuckets")
    assert entry.status is CoverageStatus.DENIED
    assert entry.detail.startswith("AccessDenied")


def test_denied_iam_read_leaves_the_account_without_principals_but_says_so(small_account: boto3.Session) -> None:
    denied = wire.answer(lambda: wire.query_error("AccessDenied", "not authorized", 403))
    snapshot = scan(small_account, ("before-send.iam.GetAccountAuthorizationDetails", denied))
    assert gap(snapshot, "iam", "GetAccountAuthorizationDetails").status is CoverageStatus.DENIED
    assert not any(p.kind == "aws_role" for p in snapshot.principals)


def test_expired_credentials_stop_the_scan_with_a_clear_message(small_account: boto3.Session) -> None:
    expired = wire.answer(
        lambda: wire.query_error("ExpiredToken", "The security token included in the request is expired")
    )
    with pytest.raises(ScanError, match=r"sts:GetCallerIdentity \(ExpiredToken"):
        scan(small_account, ("before-send.sts.GetCallerIdentity", expired))


def test_credentials_expiring_midway_stop_the_scan(small_account: boto3.Session) -> None:
    expired = wire.answer(lambda: wire.query_error("ExpiredToken", "expired"))
    with pytest.raises(ScanError, match=r"ExpiredToken.*iam:GetAccountAuthorizationDetails.*Refresh them"):
        scan(small_account, ("before-send.iam.GetAccountAuthorizationDetails", expired))


def test_missing_credentials_are_reported(monkeypatch: pytest.MonkeyPatch, small_account: boto3.Session) -> None:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(key)
    with pytest.raises(ScanError, match="no AWS credentials found"):
        scan(boto3.Session(region_name=REGION))


def test_assume_role_needs_an_account_list(small_account: boto3.Session) -> None:
    with pytest.raises(ScanError, match="--assume-role needs the organization's account list"):
        scan(small_account, assume_role="Audit")


def test_workload_reads_refused_or_throttled_are_gaps_and_the_scan_goes_on(small_account: boto3.Session) -> None:
    throttle = wire.answer(lambda: wire.json_error("ThrottlingException", "Rate exceeded"))
    denied_json = wire.answer(lambda: wire.json_error("AccessDeniedException", "not authorized", 403))
    denied_query = wire.answer(lambda: wire.query_error("AccessDenied", "not authorized", 403))
    snapshot = scan(
        small_account,
        ("before-send.codebuild.ListProjects", throttle),
        ("before-send.ecs.ListClusters", denied_json),
        ("before-send.cloudformation.DescribeStacks", denied_query),
    )
    assert gap(snapshot, "codebuild", "ListProjects").status is CoverageStatus.THROTTLED
    assert gap(snapshot, "ecs", "ListClusters").status is CoverageStatus.DENIED
    entry = gap(snapshot, "cloudformation", "DescribeStacks")
    assert entry.status is CoverageStatus.DENIED and entry.region == REGION
    assert all(g.yields(Covers.WORKLOADS) for g in (entry, gap(snapshot, "ecs", "ListClusters")))
    assert not gap(snapshot, "ecs", "ListClusters").yields(Covers.RESOURCE_POLICIES)
    assert any(r.kind == "sqs:queue" for r in snapshot.resources)  # the rest of the scan went on
    assert any(e.service == "stepfunctions" and not e.is_gap for e in snapshot.coverage)


def test_unreadable_codebuild_policies_leave_the_other_services_regions_whole(
    small_account: boto3.Session, tmp_path: Path
) -> None:
    """ReadOnlyAccess does not allow codebuild:GetResourcePolicy: that read is a gap, and a file
    written from the scan no longer claims CodeBuild, but still covers the other services."""
    role = small_account.client("iam").get_role(RoleName="only")["Role"]["Arn"]
    small_account.client("codebuild", region_name=REGION).create_project(
        name="deploy",
        source={"type": "S3", "location": "src/deploy.zip"},
        artifacts={"type": "NO_ARTIFACTS"},
        environment={"type": "LINUX_CONTAINER", "image": "img", "computeType": "BUILD_GENERAL1_SMALL"},
        serviceRole=role,
    )
    denied = wire.refused("AccessDeniedException", "not authorized to perform codebuild:GetResourcePolicy")
    snapshot = scan(small_account, ("before-call.codebuild.GetResourcePolicy", denied), save_raw=tmp_path)
    assert gap(snapshot, "codebuild", "GetResourcePolicy").status is CoverageStatus.DENIED
    assert any(w.name == "deploy" and w.principal_ids == (role,) for w in snapshot.workloads)
    extras = json.loads(next(tmp_path.glob("*-extras.json")).read_text())
    assert extras["Regions"] == [REGION] and "codebuild" not in extras["RegionServices"]
    offline = scan_files([tmp_path])
    covered = {e.service for e in offline.coverage if e.source == "file" and e.yields(Covers.RESOURCE_POLICIES)}
    assert "sqs" in covered and "codebuild" not in covered
