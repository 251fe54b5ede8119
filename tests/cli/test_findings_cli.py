"""``iamdrift findings`` as users and CI run it, on the demo estate in a temporary SQLite store:
every format, first/last seen across snapshots, filters, suppressions, ``--fail-on`` exit codes,
and the failure modes (a bad suppressions file, an unknown format, a failed rule)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from iamdrift import exit_codes, findings_commands
from iamdrift.cli import DEMO_DIR, cli
from simulator.findings import Severity
from tests.cli.test_cli import run
from tests.reports import demo

EVERYTHING = '[[suppress]]\nrule = "*"\nreason = "accepted for the test"\nexpires = 2099-01-01\n'
PLANTED_OPEN_TRUST = "arn:aws:iam::222222222222:role/legacy-open-trust"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('findings') / 'demo.db'}"
    assert run("demo", "--json", db=url).returncode == 0
    return url


def findings_json(*args: str, db: str) -> dict[str, Any]:
    result = run("findings", "--format", "json", *args, db=db)
    assert result.returncode == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_json_report_of_every_rule_most_severe_first(store: str) -> None:
    data = findings_json(db=store)
    assert data["format"] == "iamdrift.findings/1" and data["snapshot"] and data["at"].endswith("Z")
    assert data["summary"]["rules"] == len(findings_commands.load_rules()) > 0
    findings = data["findings"]
    assert findings and data["summary"]["findings"] == len(findings)
    ranks = [Severity(f["severity"]).rank for f in findings]
    assert ranks == sorted(ranks)
    for finding in findings:
        assert {"id", "rule", "category", "severity", "cloud", "principal", "title", "evidence", "nhi"} <= set(finding)
        assert finding["first_seen"] and finding["last_seen"]  # this run recorded them
    assert data["history"]["evaluated"] >= 1
    assert any(f["principal"] == PLANTED_OPEN_TRUST for f in findings)  # the demo's planted open trust


def test_first_and_last_seen_across_snapshots(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'history.db'}"
    aws = str(DEMO_DIR / "aws")
    assert run("scan", "--from", aws, "--json", db=url).returncode == 0
    first = findings_json(db=url)
    assert run("scan", "--from", aws, "--json", db=url).returncode == 0  # not evaluated
    assert run("scan", "--from", aws, "--json", db=url).returncode == 0
    latest = findings_json(db=url)
    assert latest["history"] == {"snapshots": 3, "evaluated": 2}
    old = {f["id"]: f for f in first["findings"]}
    common = [f for f in latest["findings"] if f["id"] in old]
    assert common  # the same estate: the same fingerprints
    for finding in common:
        assert finding["first_seen"] == old[finding["id"]]["first_seen"]
        assert finding["last_seen"] > finding["first_seen"]
    # a report on the older snapshot says the problem is still there later
    again = findings_json("--snapshot", first["snapshot"], db=url)
    assert {f["id"]: f["last_seen"] for f in again["findings"] if f["id"] in old} == {
        f["id"]: f["last_seen"] for f in common
    }


def test_filters_narrow_the_report(store: str) -> None:
    everything = findings_json(db=store)["findings"]
    aws_high = findings_json("--cloud", "aws", "--severity", "high", db=store)
    assert aws_high["filters"] == {"cloud": ["aws"], "severity": ["high"]}
    expected = [f["id"] for f in everything if f["cloud"] == "aws" and Severity(f["severity"]).rank <= 1]
    assert [f["id"] for f in aws_high["findings"]] == expected
    trust = findings_json("--category", "risky-trust", db=store)["findings"]
    assert trust and all(f["category"] == "risky-trust" for f in trust)


def test_fail_on_sets_the_exit_code(store: str) -> None:
    severities = {f["severity"] for f in findings_json(db=store)["findings"]}
    assert "critical" in severities
    failing = run("findings", "--fail-on", "critical", db=store)
    assert failing.returncode == exit_codes.FAILED
    assert "findings at or above critical: failing" in failing.stderr
    passing = run("findings", "--fail-on", "critical", "--category", "ownership", "--severity", "critical", db=store)
    assert passing.returncode == exit_codes.OK, passing.stderr
    assert "no finding at or above critical stands" in passing.stderr


def test_everything_suppressed_is_said_and_passes(store: str, tmp_path: Path) -> None:
    path = tmp_path / "suppress.toml"
    path.write_text(EVERYTHING, encoding="utf-8")
    table = run("findings", "--suppressions", str(path), "--fail-on", "info", db=store)
    assert table.returncode == exit_codes.OK, table.stderr
    assert "every finding is suppressed" in table.stdout
    assert "more at or above it suppressed" in table.stderr
    as_json = run("findings", "--format", "json", "--suppressions", str(path), db=store)
    assert as_json.returncode == 0 and "every finding of this run" in as_json.stderr
    data = json.loads(as_json.stdout)
    assert data["all_suppressed"] is True and data["findings"] == []
    assert data["summary"]["suppressed"] == len(data["suppressed"]) > 0


def test_expired_suppressions_are_reported_and_not_honoured(store: str, tmp_path: Path) -> None:
    path = tmp_path / "expired.toml"
    path.write_text(
        f'[[suppress]]\nrule = "risky-trust/*"\nprincipal = "{PLANTED_OPEN_TRUST}"\nreason = "old"\n'
        "expires = 2020-01-01\n",
        encoding="utf-8",
    )
    data = findings_json("--suppressions", str(path), db=store)
    (expired,) = data["expired_suppressions"]
    assert expired["suppression"]["expires"] == "2020-01-01" and expired["findings"]
    assert set(expired["findings"]) <= {f["id"] for f in data["findings"]}  # still reported
    assert data["suppressed"] == []


def test_a_bad_suppressions_file_is_one_error_naming_it(store: str, tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[[suppress]]\nrule = "x/y"\n', encoding="utf-8")
    result = run("findings", "--suppressions", str(path), db=store)
    assert result.returncode == exit_codes.FAILED and result.stdout == ""
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("iamdrift: error: the suppressions file ") and str(path) in line
    missing = run("findings", "--suppressions", str(tmp_path / "none.toml"), db=store)
    assert missing.returncode == exit_codes.FAILED and "none.toml" in missing.stderr


def test_unknown_format_and_missing_output_folder(store: str, tmp_path: Path) -> None:
    unknown = run("findings", "--format", "pdf", db=store)
    assert unknown.returncode == exit_codes.USAGE and "'pdf' is not one of" in unknown.stderr
    nowhere = run("findings", "-o", str(tmp_path / "no" / "r.json"), db=store)
    assert nowhere.returncode == exit_codes.FAILED and "does not exist" in nowhere.stderr


@pytest.mark.parametrize("fmt", ["json", "sarif", "markdown", "html", "table"])
def test_output_file_in_every_format(store: str, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"report.{fmt}"
    result = run("findings", "--format", fmt, "-o", str(out), db=store)
    assert result.returncode == 0, result.stderr
    assert f"wrote the {fmt} report to {out}" in result.stderr and result.stdout == ""
    text = out.read_text(encoding="utf-8")
    assert PLANTED_OPEN_TRUST.split("/")[-1] in text
    if fmt in ("json", "sarif"):
        json.loads(text)


def test_a_failed_rule_fails_fail_on_even_without_findings(
    store: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A rule that raised could not check its problem: --fail-on must not pass on its silence."""
    monkeypatch.setattr(findings_commands, "load_rules", lambda: (demo.Rule(demo.BROKEN_RULE, demo.broken),))
    runner = CliRunner()
    result = runner.invoke(cli, ["--db", store, "findings", "--format", "json", "--fail-on", "critical"])
    assert result.exit_code == exit_codes.FAILED
    data = json.loads(result.stdout)
    assert data["findings"] == [] and data["failures"][0]["rule"] == demo.BROKEN_RULE.id
    assert "1 rules failed" in result.stderr
    table = runner.invoke(cli, ["--db", store, "findings"])
    assert "rule FAILED ownership/test-broken" in table.stdout and "no findings" not in table.stdout


def test_a_finding_across_clouds_is_in_each_cloud_its_chain_passes() -> None:
    from models import Cloud
    from simulator.findings import Category

    report = demo.demo_report()
    (across,) = [f for f in report.findings if f.cloud is None]
    assert across.chain is not None
    clouds = {e.cloud for e in across.chain.edges}
    others = set(Cloud) - clouds
    assert clouds and others
    assert findings_commands.Filters(clouds=tuple(clouds)).keep(across)
    assert not findings_commands.Filters(clouds=tuple(others)).keep(across)
    gcp_only = findings_commands.Filters(clouds=(Cloud.GCP,))
    assert all(f.cloud is Cloud.GCP for f in report.findings if gcp_only.keep(f) and f.cloud is not None)
    admin_only = findings_commands.Filters(categories=(Category.EXCESS_PRIVILEGE,), severity=Severity.MEDIUM)
    kept = [f for f in report.findings if admin_only.keep(f)]
    assert kept and all(f.rule is demo.ADMIN_RULE for f in kept)
    assert not findings_commands.Filters(severity=Severity.CRITICAL).keep(kept[0])


def test_demo_prints_the_findings_most_severe_first_after_the_chains(tmp_path: Path) -> None:
    result = run("demo", db=f"sqlite:///{tmp_path / 'demo.db'}")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    chains = next(i for i, line in enumerate(lines) if "chains to admin" in line)
    summary = next(i for i, line in enumerate(lines) if line.startswith("findings of snapshot "))
    assert chains < summary
    header = lines[summary + 1].split()
    assert header == ["severity", "status", "rule", "cloud", "finding"]
    rows = [line.split()[0] for line in lines[summary + 2 :] if line.split() and line.split()[0] in set(Severity)]
    assert rows and rows[0] == "critical"
    assert rows == sorted(rows, key=lambda s: Severity(s).rank)
    assert len(rows) <= 40 or "more: `iamdrift findings` lists them all" in result.stdout
