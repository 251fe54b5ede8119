"""The command line as users and CI run it: a subprocess, its output and its exit code."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from models import Snapshot
from tests.conftest import DEMO_AWS, REPO


def run(*args: str, db: str | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    if db:
        full_env["IAMDRIFT_DB"] = db
    return subprocess.run(
        [sys.executable, "-m", "iamdrift", *args], cwd=REPO, env=full_env, capture_output=True, text=True, timeout=300
    )


def test_demo_then_list_show_and_export(sqlite_url: str, tmp_path: Path) -> None:
    demo = run("demo", "--json", db=sqlite_url)
    assert demo.returncode == 0, demo.stderr
    summary = json.loads(demo.stdout)
    assert summary["counts"]["principals"] > 40 and summary["gaps"] == []
    listed = json.loads(run("snapshots", "--json", db=sqlite_url).stdout)
    assert [s["id"] for s in listed] == [summary["id"]]
    shown = run("show", summary["id"][:8], "--json", "--coverage", db=sqlite_url)
    assert json.loads(shown.stdout)["counts"] == summary["counts"]
    out = tmp_path / "snap.json"
    exported = run("export", "latest", "-o", str(out), db=sqlite_url)
    assert exported.returncode == 0, exported.stderr
    snapshot = Snapshot.from_json_dict(json.loads(out.read_text()))
    assert snapshot.id == summary["id"] and len(snapshot.principals) == summary["counts"]["principals"]


def test_scan_from_prints_a_readable_summary(sqlite_url: str) -> None:
    result = run("scan", "--from", str(DEMO_AWS), "--label", "nightly", db=sqlite_url)
    assert result.returncode == 0, result.stderr
    assert "principals" in result.stdout and "coverage: complete" in result.stdout
    assert "nightly" in run("snapshots", db=sqlite_url).stdout


def test_bad_input_is_one_line_and_exit_1(sqlite_url: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"RoleDetailList": [')
    result = run("scan", "--from", str(bad), db=sqlite_url)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"iamdrift: error: {bad}: malformed JSON (Expecting value at line 1, column 21)"
    ]
    listed = run("snapshots", "--json", db=sqlite_url)
    assert listed.returncode == 1 and "there is no store" in listed.stderr  # nothing was written, not even a store
    debug = run("--debug", "scan", "--from", str(bad), db=sqlite_url)
    assert debug.returncode == 1 and "Traceback" in debug.stderr


def test_usage_errors_exit_2(sqlite_url: str) -> None:
    result = run("scan", "--no-such-option", db=sqlite_url)
    assert result.returncode == 2 and "No such option" in result.stderr
    mixed = run("scan", "--from", str(DEMO_AWS), "--assume-role", "X", db=sqlite_url)
    assert mixed.returncode == 2 and "--from reads files" in mixed.stderr


def test_unknown_snapshot_and_unreachable_store(sqlite_url: str) -> None:
    missing = run("show", "nope", db=sqlite_url)
    assert missing.returncode == 1 and "iamdrift scan" in missing.stderr
    unreachable = run("snapshots", db="postgresql://nobody@127.0.0.1:1/none")
    assert unreachable.returncode == 1
    assert unreachable.stderr.startswith(
        "iamdrift: error: cannot open the store at postgresql+psycopg://nobody@127.0.0.1:1/none"
    )


@pytest.fixture
def moto_server() -> Iterator[str]:
    """moto's server on loopback: boto3 inside the CLI talks real HTTP to it."""
    from moto.server import ThreadedMotoServer

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def test_live_scan_end_to_end_with_strict_gaps(moto_server: str, sqlite_url: str, tmp_path: Path) -> None:
    import boto3

    iam = boto3.client("iam", endpoint_url=moto_server)
    iam.create_role(
        RoleName="deployer", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []})
    )
    env = {"AWS_ENDPOINT_URL": moto_server, "MOTO_IAM_LOAD_MANAGED_POLICIES": "false"}
    raw = tmp_path / "raw"
    result = run("scan", "--region", "us-east-1", "--json", "--strict", "--save-raw", str(raw), db=sqlite_url, env=env)
    assert result.returncode == 3, result.stderr  # stored, but the organization was not readable
    summary = json.loads(result.stdout)
    assert summary["kinds"]["principals"]["aws_role"] == 1
    # moto has no App Runner backend: that read fails, and a strict scan says so too.
    assert sorted((g["service"], g["status"]) for g in summary["gaps"]) == [
        ("apprunner", "error"),
        ("organizations", "not_enabled"),
    ]
    assert len(json.loads(run("snapshots", "--json", db=sqlite_url).stdout)) == 1
    again = run("scan", "--from", str(raw), "--json", db=sqlite_url)
    assert again.returncode == 0 and json.loads(again.stdout)["kinds"]["principals"] == summary["kinds"]["principals"]
    lenient = run("scan", "--region", "us-east-1", db=sqlite_url, env=env)
    assert lenient.returncode == 0 and "coverage gap" in lenient.stdout


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    """The single line a failed command prints (no traceback, nothing else)."""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("iamdrift: error: "), result.stderr
    return lines[0].removeprefix("iamdrift: error: ")


@pytest.mark.parametrize("ref", ["latest~-1", "latest~x", "latest~", "latest~1.5"])
def test_back_references_take_whole_numbers_only(sqlite_url: str, ref: str) -> None:
    assert run("scan", "--from", str(DEMO_AWS), db=sqlite_url).returncode == 0
    result = run("show", ref, db=sqlite_url)
    assert result.returncode == 1
    assert "latest~N with N a whole number 0 or more" in one_error_line(result)


def test_read_only_commands_never_create_a_store(tmp_path: Path) -> None:
    missing_folder = tmp_path / "no" / "such" / "x.db"
    for command in (["snapshots"], ["show"], ["export"], ["can", "a", "s3:GetObject", "arn:aws:s3:::b/k"]):
        result = run("--db", str(missing_folder), *command)
        assert result.returncode == 1
        assert one_error_line(result).startswith(f"there is no store at {missing_folder}")
    assert not (tmp_path / "no").exists()
    missing_file = tmp_path / "x.db"
    result = run("--db", f"sqlite:///{missing_file}", "snapshots")
    assert result.returncode == 1 and "`iamdrift scan`" in one_error_line(result)
    assert not missing_file.exists()
    # a scan makes one where the folder exists, and refuses to invent folders
    assert run("--db", str(missing_file), "scan", "--from", str(DEMO_AWS)).returncode == 0
    refused = run("--db", str(missing_folder), "scan", "--from", str(DEMO_AWS))
    assert refused.returncode == 1 and "does not exist" in one_error_line(refused)
    assert not (tmp_path / "no").exists()


def test_an_unsupported_store_scheme_names_the_supported_ones() -> None:
    result = run("snapshots", db="mysql://u@h/db")
    assert result.returncode == 1
    message = one_error_line(result)
    assert "unsupported store URL scheme 'mysql'" in message
    assert "sqlite:///PATH" in message and "postgresql://" in message


def test_export_into_a_missing_folder_is_one_clear_error(sqlite_url: str, tmp_path: Path) -> None:
    assert run("scan", "--from", str(DEMO_AWS), db=sqlite_url).returncode == 0
    target = tmp_path / "missing" / "snap.json"
    result = run("export", "-o", str(target), db=sqlite_url)
    assert result.returncode == 1
    assert (
        one_error_line(result) == f"cannot write {target}: the folder {target.parent} does not exist; create it first"
    )


def test_conflicting_scan_options_are_refused(sqlite_url: str) -> None:
    both = run("scan", "--subscription", "1c6a9e42-7b3d-4f8e-a5c1-2d9b8e7f6a30", "--all-subscriptions", db=sqlite_url)
    assert both.returncode == 2 and "--subscription" in both.stderr and "--all-subscriptions" in both.stderr
    files = run("scan", "--from", str(DEMO_AWS), "--parallel", "8", db=sqlite_url)
    assert files.returncode == 2 and "--parallel is for live scans" in files.stderr


def test_azure_without_credentials_is_one_line(sqlite_url: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "IDENTITY_", "MSI_"))}
    # Only the environment-variable source: deterministic, and no network probe of a metadata endpoint.
    env |= {"AZURE_TOKEN_CREDENTIALS": "EnvironmentCredential", "HOME": str(tmp_path), "IAMDRIFT_DB": sqlite_url}
    result = subprocess.run(
        [sys.executable, "-m", "iamdrift", "scan", "--subscription", "1c6a9e42-7b3d-4f8e-a5c1-2d9b8e7f6a30"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    message = one_error_line(result)
    assert message.startswith("no usable Azure credentials") and "az login" in message
