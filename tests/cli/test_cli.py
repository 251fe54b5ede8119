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
    assert run("snapshots", "--json", db=sqlite_url).stdout.strip() == "[]"  # nothing was written
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
    assert [(g["service"], g["status"]) for g in summary["gaps"]] == [("organizations", "not_enabled")]
    assert len(json.loads(run("snapshots", "--json", db=sqlite_url).stdout)) == 1
    again = run("scan", "--from", str(raw), "--json", db=sqlite_url)
    assert again.returncode == 0 and json.loads(again.stdout)["kinds"]["principals"] == summary["kinds"]["principals"]
    lenient = run("scan", "--region", "us-east-1", db=sqlite_url, env=env)
    assert lenient.returncode == 0 and "coverage gap" in lenient.stdout
