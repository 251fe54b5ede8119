"""Typed coverage from AWS scans: what each read or file covers, and the management account."""

from __future__ import annotations

import json
from pathlib import Path

from models import Cloud, CoverageStatus, Covers, ScopeKind
from scanner.aws.recorder import Recorder
from scanner.files import scan_files
from tests.conftest import DEMO_AWS


def test_extras_file_covers_its_services_per_region() -> None:
    snapshot = scan_files([DEMO_AWS])
    covered = {
        (e.scope_id, e.service, e.region)
        for e in snapshot.coverage
        if e.source == "file" and e.yields(Covers.RESOURCE_POLICIES)
    }
    for service in ("s3", "kms", "sqs", "sns", "secretsmanager", "lambda", "codebuild"):
        assert ("222222222222", service, "us-east-1") in covered
    assert all(e.cloud is Cloud.AWS for e in snapshot.coverage if e.source == "file")
    iam = [e for e in snapshot.coverage if e.operation.startswith("authorization_details:")]
    assert iam and all(e.yields(Covers.IDENTITY_POLICIES) for e in iam)


def test_extras_without_regions_cover_what_they_list(tmp_path: Path) -> None:
    for source in DEMO_AWS.iterdir():
        if source.name.startswith("222222222222") or source.name == "organization.json":
            (tmp_path / source.name).write_text(source.read_text())
    extras = tmp_path / "222222222222-extras.json"
    data = json.loads(extras.read_text())
    data.pop("Regions")
    data["ResourcePolicies"] = [p for p in data["ResourcePolicies"] if p["Service"] == "kms"]
    data["Workloads"] = []
    extras.write_text(json.dumps(data))
    snapshot = scan_files([tmp_path])
    covered = {(e.service, e.region) for e in snapshot.coverage if e.yields(Covers.RESOURCE_POLICIES)}
    assert ("kms", "us-east-1") in covered
    assert not any(s == "lambda" for s, _ in covered)


def test_management_account_is_a_typed_field() -> None:
    snapshot = scan_files([DEMO_AWS])
    org = next(s for s in snapshot.scopes if s.kind is ScopeKind.ORGANIZATION)
    assert org.management_account_id == "111111111111"


def test_recorded_reads_say_what_they_cover() -> None:
    rec = Recorder("111111111111")
    rec.call("lambda", "GetPolicy", lambda: {"Policy": "{}"}, region="us-east-1")
    rec.gap("s3", "GetBucketPolicy", CoverageStatus.DENIED, "AccessDenied", region="eu-west-1")
    entries = {e.operation: e for e in rec.entries()}
    assert entries["GetPolicy"].covers == (Covers.RESOURCE_POLICIES,)
    assert entries["GetBucketPolicy"].is_gap and entries["GetBucketPolicy"].yields(Covers.RESOURCE_POLICIES)
    assert all(e.cloud is Cloud.AWS for e in entries.values())


def test_extras_regions_cover_only_the_services_the_file_says(tmp_path: Path) -> None:
    """A file written before CodeBuild project policies were read (no ``RegionServices``) says
    nothing about CodeBuild: its ``Regions`` cover the six services read then."""
    for source in DEMO_AWS.iterdir():
        if source.name.startswith("222222222222") or source.name == "organization.json":
            (tmp_path / source.name).write_text(source.read_text())
    extras = tmp_path / "222222222222-extras.json"
    data = json.loads(extras.read_text())
    data.pop("RegionServices")
    data["ResourcePolicies"] = [p for p in data["ResourcePolicies"] if p["Service"] != "codebuild"]
    extras.write_text(json.dumps(data))
    covered = {
        e.service
        for e in scan_files([tmp_path]).coverage
        if e.source == "file" and e.yields(Covers.RESOURCE_POLICIES) and e.region == "us-east-1"
    }
    assert covered == {"s3", "kms", "sqs", "sns", "secretsmanager", "lambda"}
