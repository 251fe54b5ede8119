"""Offline scans: which files are read, how formats are told apart, and how bad input fails."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from models import CredentialKind, PolicyKind
from scanner.errors import BadInputError
from scanner.files import scan_files

ACCOUNT = "444455556666"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/app"
USER = f"arn:aws:iam::{ACCOUNT}:user/bob"
REPORT = (
    "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,"
    "mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,"
    "access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,"
    "access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,"
    "cert_2_last_rotated\n"
    f"<root_account>,arn:aws:iam::{ACCOUNT}:root,2019-01-01T00:00:00+00:00,not_supported,2024-01-01T00:00:00+00:00,"
    "not_supported,not_supported,true,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n"
    f"bob,{USER},2020-01-01T00:00:00+00:00,true,2021-02-03T04:05:06+00:00,2020-01-01T00:00:00+00:00,N/A,false,"
    "true,2020-06-01T00:00:00+00:00,2024-05-01T10:00:00+00:00,us-east-1,s3,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n"
)


def auth_details(**overrides: object) -> dict:
    details = {
        "UserDetailList": [
            {
                "Path": "/",
                "UserName": "bob",
                "UserId": "AIDAEXAMPLE",
                "Arn": USER,
                "CreateDate": "2020-01-01T00:00:00Z",
                "UserPolicyList": [],
                "GroupList": [],
                "AttachedManagedPolicies": [],
                "Tags": [],
            }
        ],
        "GroupDetailList": [],
        "RoleDetailList": [
            {
                "Path": "/",
                "RoleName": "app",
                "RoleId": "AROAEXAMPLE",
                "Arn": ROLE,
                "CreateDate": "2021-01-01T00:00:00Z",
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
                    ],
                },
                "InstanceProfileList": [],
                "RolePolicyList": [
                    {
                        "PolicyName": "inline",
                        "PolicyDocument": "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D",
                    }
                ],
                "AttachedManagedPolicies": [],
                "Tags": [],
                "RoleLastUsed": {"LastUsedDate": "2024-03-01T00:00:00Z", "Region": "eu-west-1"},
            }
        ],
        "Policies": [],
    }
    details.update(overrides)  # type: ignore[arg-type]
    return details


def write(tmp_path: Path, name: str, content: object) -> Path:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def test_formats_are_detected_by_content_not_name(tmp_path: Path) -> None:
    a = write(tmp_path, "one.json", auth_details())
    cli_report = {
        "Content": base64.b64encode(REPORT.encode()).decode(),
        "ReportFormat": "text/csv",
        "GeneratedTime": "x",
    }
    b = write(tmp_path, "two.json", cli_report)
    snapshot = scan_files([a, b])
    roles = [p for p in snapshot.principals if p.id == ROLE]
    assert roles and roles[0].last_used_region == "eu-west-1"
    inline = next(p for p in snapshot.policies if p.kind is PolicyKind.INLINE)
    assert inline.document == {"Version": "2012-10-17", "Statement": []}  # URL-encoded, as the raw API gives it
    creds = {c.id: c for c in snapshot.credentials}
    assert creds[f"{USER}#password"].last_used.isoformat() == "2021-02-03T04:05:06+00:00"
    key = creds[f"{USER}#access-key-1"]
    assert (key.kind, key.active, key.last_used_service) == (CredentialKind.ACCESS_KEY, True, "s3")
    assert all(e.source == "file" and not e.is_gap for e in snapshot.coverage)


def test_a_directory_is_read_recursively_and_other_files_are_passed_over(tmp_path: Path) -> None:
    (tmp_path / "nested").mkdir()
    write(tmp_path / "nested", "auth.json", auth_details())
    write(tmp_path, "report.csv", REPORT)
    write(tmp_path, "README.md", "# notes")
    snapshot = scan_files([tmp_path])
    assert {c.kind for c in snapshot.credentials} == {CredentialKind.PASSWORD, CredentialKind.ACCESS_KEY}


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("broken.json", '{"UserDetailList": [', r"broken.json: malformed JSON \(.* line 1"),
        ("other.json", {"hello": "world"}, "other.json: not an export iamdrift reads"),
        ("list.json", [1, 2], "list.json: not an export iamdrift reads"),
        ("binary.json", "\udcff", None),
    ],
)
def test_unreadable_files_name_themselves(tmp_path: Path, name: str, content: object, message: str | None) -> None:
    path = tmp_path / name
    if content == "\udcff":
        path.write_bytes(b"\xff\xfe\x00garbage")
        message = "binary.json: not UTF-8 text"
    else:
        write(tmp_path, name, content)
    with pytest.raises(BadInputError, match=message):
        scan_files([path])


def test_missing_paths_and_empty_directories(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="no such file or directory"):
        scan_files([tmp_path / "absent.json"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(BadInputError, match=r"holds no \.json, \.jsonl or \.csv export files"):
        scan_files([tmp_path / "empty"])


def test_two_exports_of_one_account_are_refused(tmp_path: Path) -> None:
    a = write(tmp_path, "a.json", auth_details())
    b = write(tmp_path, "b.json", auth_details())
    with pytest.raises(
        BadInputError, match=f"b.json: account {ACCOUNT} already has its authorization details from .*a.json"
    ):
        scan_files([a, b])


def test_a_report_without_authorization_details_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="has no get-account-authorization-details export"):
        scan_files([write(tmp_path, "r.csv", REPORT)])


def test_one_file_with_two_accounts_is_refused(tmp_path: Path) -> None:
    details = auth_details()
    details["RoleDetailList"][0]["Arn"] = "arn:aws:iam::999999999999:role/app"  # type: ignore[index]
    with pytest.raises(BadInputError, match="name several accounts"):
        scan_files([write(tmp_path, "mixed.json", details)])


def test_wrong_shapes_name_the_file_and_the_field(tmp_path: Path) -> None:
    details = auth_details()
    del details["RoleDetailList"][0]["AssumeRolePolicyDocument"]  # type: ignore[index]
    with pytest.raises(
        BadInputError, match=r"bad.json: not the shape AWS returns \(missing field 'AssumeRolePolicyDocument'\)"
    ):
        scan_files([write(tmp_path, "bad.json", details)])


def test_a_malformed_policy_document_names_the_file(tmp_path: Path) -> None:
    details = auth_details()
    details["RoleDetailList"][0]["RolePolicyList"][0]["PolicyDocument"] = '{"Statement": ['  # type: ignore[index]
    with pytest.raises(BadInputError, match=r"bad-policy\.json: policy document is not valid JSON"):
        scan_files([write(tmp_path, "bad-policy.json", details)])


def test_extras_need_a_valid_account_and_known_services(tmp_path: Path) -> None:
    a = write(tmp_path, "a.json", auth_details())
    extras = {"Format": "iamdrift.aws.account-extras/1", "AccountId": "12"}
    with pytest.raises(BadInputError, match="needs AccountId, a 12-digit account id"):
        scan_files([a, write(tmp_path, "x.json", extras)])
    extras = {
        "Format": "iamdrift.aws.account-extras/1",
        "AccountId": ACCOUNT,
        "ResourcePolicies": [{"Service": "dynamodb", "Arn": "arn:aws:dynamodb:::t", "Policy": {}}],
    }
    with pytest.raises(BadInputError, match=r"y\.json: .*unknown Service 'dynamodb'"):
        scan_files([a, write(tmp_path, "y.json", extras)])


def test_an_empty_credential_report_takes_its_account_from_the_file_name(tmp_path: Path) -> None:
    header = REPORT.splitlines()[0] + "\n"
    a = write(tmp_path, "a.json", auth_details())
    snapshot = scan_files([a, write(tmp_path, f"{ACCOUNT}-credential-report.csv", header)])
    assert not [c for c in snapshot.credentials if c.kind is not CredentialKind.FEDERATED]
    with pytest.raises(BadInputError, match="must describe exactly one account, found"):
        scan_files([a, write(tmp_path, "report.csv", header)])
