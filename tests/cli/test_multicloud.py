"""All three clouds from the command line: export files of AWS, Google Cloud and Azure in one
snapshot, and the live options' usage rules."""

from __future__ import annotations

import json

from tests.cli.test_cli import run
from tests.conftest import REPO

DEMO = REPO / "fixtures" / "demo"


def test_scan_from_every_cloud_makes_one_snapshot(sqlite_url: str) -> None:
    result = run("scan", "--from", str(DEMO / "gcp"), "--from", str(DEMO / "azure"), "--json", db=sqlite_url)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["gaps"] == []
    shown = json.loads(run("export", "latest", "--json", db=sqlite_url).stdout)
    clouds = {p["cloud"] for p in shown["principals"]}
    assert clouds == {"gcp", "azure"}
    kinds = {p["kind"] for p in shown["policies"]}
    assert {"gcp_bindings", "gcp_deny", "gcp_role", "azure_assignment", "azure_deny_assignment"} <= kinds
    # No secret material from any export reaches the snapshot.
    text = json.dumps(shown)
    assert "privateKeyData" not in text and "secretText" not in text


def test_demo_holds_all_three_clouds(sqlite_url: str) -> None:
    result = run("demo", "--json", db=sqlite_url)
    assert result.returncode == 0, result.stderr
    shown = json.loads(run("export", "latest", "--json", db=sqlite_url).stdout)
    assert {s["cloud"] for s in shown["scopes"]} == {"aws", "gcp", "azure"}


def test_live_options_do_not_mix_with_files(sqlite_url: str) -> None:
    result = run("scan", "--from", str(DEMO / "gcp"), "--project", "shop-prod", db=sqlite_url)
    assert result.returncode == 2
    assert "--from reads files" in result.stderr
