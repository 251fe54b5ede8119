"""Text output as people and scripts read it: nothing from the estate is read as rich markup or
emoji, and piped tables are plain columns that never cut, wrap or pad an id."""

from __future__ import annotations

import json

from tests.cli.test_cli import run
from tests.conftest import DEMO_AWS

SECRET = "arn:aws:secretsmanager:us-east-1:222222222222:secret:prod/payments/db-Xk3p9Q"
LABEL = "[red]nightly[/red] :secret: [payments/api]"


def test_ids_and_labels_print_as_they_are(sqlite_url: str) -> None:
    assert run("scan", "--from", str(DEMO_AWS), "--label", LABEL, db=sqlite_url).returncode == 0
    listed = run("snapshots", db=sqlite_url)
    assert listed.returncode == 0 and LABEL in listed.stdout
    shown = run("show", "latest", db=sqlite_url)
    assert f"label: {LABEL}" in shown.stdout
    who = run("who-can", "secretsmanager:GetSecretValue", SECRET, db=sqlite_url)
    assert who.returncode == 0, who.stderr
    assert SECRET in who.stdout and "\u3299" not in who.stdout  # ':secret:' is no emoji


def test_piped_tables_keep_every_id_whole_on_one_unpadded_line(sqlite_url: str) -> None:
    assert run("scan", "--from", str(DEMO_AWS), db=sqlite_url).returncode == 0
    who = run("who-can", "secretsmanager:GetSecretValue", SECRET, "--direct", "--json", db=sqlite_url)
    principals = [p["principal"] for p in json.loads(who.stdout)["principals"]]
    text = run("who-can", "secretsmanager:GetSecretValue", SECRET, "--direct", db=sqlite_url).stdout
    lines = text.splitlines()
    assert lines[0].split() == ["principal", "decision", "because"]
    assert [line.split()[0] for line in lines[1:]] == principals  # one row per principal, nothing wrapped
    assert all(line == line.rstrip() for line in lines)  # not padded to any width
    assert "\u2026" not in text and all(SECRET in line for line in lines[1:] if "resource policies" in line)
    coverage = run("show", "latest", "--coverage", db=sqlite_url).stdout.splitlines()
    assert all(line == line.rstrip() for line in coverage) and "\u2026" not in "".join(coverage)
