"""``scan --config iamdrift.toml``: one scheduled run — scan, findings with the file's thresholds
and suppressions, drift against the previous snapshot or the baseline, the reports written — and
one exit code; a mistake in the file stops the run before anything is scanned."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from models.store import Store
from tests.cli.test_cli import run

DEMO_AZURE = Path(__file__).resolve().parents[2] / "fixtures" / "demo" / "azure"
TERRAFORM_SP = "ac4609f8-70c1-4f49-bd09-cffdfba0ab09"
ASSIGNMENTS = "example-prod-role-assignments.json"


def estate(tmp_path: Path, *, terraform_owner: bool) -> Path:
    """A copy of the Azure demo estate, with or without sp-terraform's Owner on example-prod."""
    where = tmp_path / "azure"
    shutil.rmtree(where, ignore_errors=True)
    shutil.copytree(DEMO_AZURE, where)
    if not terraform_owner:
        assignments = json.loads((where / ASSIGNMENTS).read_text())
        kept = [a for a in assignments if a["principalId"] != TERRAFORM_SP]
        (where / ASSIGNMENTS).write_text(json.dumps(kept, indent=2))
    return where


def config(tmp_path: Path, *, fail_on: str = "critical", against: str = "previous") -> Path:
    (tmp_path / "out").mkdir(exist_ok=True)
    path = tmp_path / "iamdrift.toml"
    path.write_text(
        f"""label = "nightly"
[scan]
from = ["azure"]
[thresholds]
key_max_age_days = 30
[findings]
fail_on = "{fail_on}"
outputs = [{{ format = "sarif", path = "out/f.sarif" }}, {{ format = "json", path = "out/f.json" }}]
[drift]
against = "{against}"
fail_on = "new-admin-path"
outputs = [{{ format = "json", path = "out/drift.json" }}]
"""
    )
    return path


def test_a_scheduled_run_scans_reports_and_fails_on_a_new_path_to_admin(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 's.db'}"
    estate(tmp_path, terraform_owner=False)
    first = run("scan", "--config", str(config(tmp_path, fail_on="critical")), db=db)
    assert "drift: skipped, there is no previous snapshot yet" in first.stdout
    findings = json.loads((tmp_path / "out/f.json").read_text())
    assert findings["findings"] and json.loads((tmp_path / "out/f.sarif").read_text())["version"] == "2.1.0"
    critical = [f for f in findings["findings"] if f["severity"] == "critical"]
    assert first.returncode == (1 if critical else 0), first.stderr
    with Store.open(db, create=False) as store:
        [kept] = store.list()
    assert kept.label == "nightly"

    # The next night sp-terraform is Owner of example-prod again: a chain to admin opens.
    estate(tmp_path, terraform_owner=True)
    second = run("scan", "--config", str(config(tmp_path, fail_on="info")), db=db)
    drift = json.loads((tmp_path / "out/drift.json").read_text())
    assert drift["from"] == kept.id
    [added] = [c for c in drift["changes"] if c["kind"] == "assignment" and c["change"] == "added"]
    # Not "gained": sp-terraform may be in Cloud Platform Admins (members not read), Owner above it.
    assert TERRAFORM_SP in added["principals"] and added["access"] == "unknown"
    assert drift["chains"]["opened"], drift["chains"]
    assert second.returncode == 1 and "chains to admin opened" in second.stderr


def test_drift_against_the_baseline_and_a_harmless_rerun_passes(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 's.db'}"
    estate(tmp_path, terraform_owner=True)
    path = config(tmp_path, against="baseline")
    path.write_text(path.read_text().replace('fail_on = "critical"\n', ""))
    first = run("scan", "--config", str(path), db=db)
    assert first.returncode == 0, first.stderr
    assert "no baseline snapshot yet" in first.stdout
    assert run("baseline", "set", "latest", db=db).returncode == 0
    again = run("scan", "--config", str(path), db=db)
    assert again.returncode == 0, again.stderr
    drift = json.loads((tmp_path / "out/drift.json").read_text())
    assert drift["changes"] == [] and drift["chains"] == {"opened": [], "closed": []}


def test_a_bad_config_or_a_conflicting_option_stops_before_scanning(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 's.db'}"
    estate(tmp_path, terraform_owner=True)
    path = config(tmp_path)
    conflicting = run("scan", "--config", str(path), "--from", "x", db=db)
    assert conflicting.returncode == 2 and "--from cannot be given with it" in conflicting.stderr
    typo = tmp_path / "typo.toml"
    typo.write_text(path.read_text().replace("key_max_age_days", "key_max_age_dayz"))
    bad = run("scan", "--config", str(typo), db=db)
    assert bad.returncode == 1 and str(typo) in bad.stderr and "key_max_age_dayz" in bad.stderr
    shutil.rmtree(tmp_path / "out")
    missing = run("scan", "--config", str(path), db=db)
    assert missing.returncode == 1 and "does not exist" in missing.stderr
    assert not (tmp_path / "s.db").exists() or not Store.open(db, create=False).list()
