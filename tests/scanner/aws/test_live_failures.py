"""Live scans when AWS says no: throttling, AccessDenied, expired or missing credentials."""

from __future__ import annotations

import boto3
import pytest

from models import CoverageStatus
from scanner.aws import AwsClients, scan_live
from scanner.errors import ScanError
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
