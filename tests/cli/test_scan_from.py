"""`scan --from` over folders as people keep them, and over snapshots `export` wrote."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from tests.cli.test_cli import one_error_line, run
from tests.conftest import DEMO_AWS, REPO

DEMO = REPO / "fixtures" / "demo"


def test_a_folder_passes_over_hidden_folders_and_names_the_files_it_did_not_recognise(
    sqlite_url: str, tmp_path: Path
) -> None:
    folder = tmp_path / "exports"
    shutil.copytree(DEMO_AWS, folder)
    (folder / ".git").mkdir()
    (folder / ".git" / "settings.json").write_text('{"core": {"bare": false}}')
    (folder / "notes").mkdir()
    (folder / "notes" / "todo.json").write_text('{"todo": ["rotate keys"]}')
    (folder / "notes" / "sheet.csv").write_text("a,b\n1,2\n")
    result = run("scan", "--from", str(folder), "--json", db=sqlite_url)
    assert result.returncode == 0, result.stderr
    skipped = f"{folder / 'notes' / 'sheet.csv'}, {folder / 'notes' / 'todo.json'}"
    assert result.stderr.splitlines() == [f"iamdrift: warning: not read, not an export iamdrift recognises: {skipped}"]
    summary = json.loads(result.stdout)
    assert summary["meta"]["skipped_files"] == skipped
    assert f"not read (not an export iamdrift recognises): {skipped}" in run("show", db=sqlite_url).stdout
    plain = json.loads(run("scan", "--from", str(DEMO_AWS), "--json", db=sqlite_url).stdout)
    assert summary["counts"] == plain["counts"]


def test_a_named_file_of_no_known_format_and_a_folder_of_none_are_errors(sqlite_url: str, tmp_path: Path) -> None:
    notes = tmp_path / "todo.json"
    notes.write_text('{"todo": []}')
    named = run("scan", "--from", str(notes), db=sqlite_url)
    assert named.returncode == 1 and one_error_line(named).startswith(f"{notes}: not an export iamdrift reads")
    folder = run("scan", "--from", str(tmp_path), db=sqlite_url)
    assert folder.returncode == 1 and f"not recognised: {notes}" in one_error_line(folder)


def without_identity(exported: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in exported.items() if key not in ("id", "created_at")}


def test_an_exported_snapshot_reads_back_as_the_same_snapshot(sqlite_url: str, tmp_path: Path) -> None:
    assert run("demo", "--json", db=sqlite_url).returncode == 0
    first = tmp_path / "first.json"
    assert run("export", "latest", "-o", str(first), db=sqlite_url).returncode == 0
    again = run("scan", "--from", str(first), "--json", db=sqlite_url)
    assert again.returncode == 0, again.stderr
    second = json.loads(run("export", "latest", db=sqlite_url).stdout)
    original = json.loads(first.read_text())
    assert second["id"] != original["id"]
    assert without_identity(second) == without_identity(original)
    relabelled = run("scan", "--from", str(first), "--label", "restored", "--json", db=sqlite_url)
    assert json.loads(relabelled.stdout)["label"] == "restored"


def test_an_exported_snapshot_joins_export_files(sqlite_url: str, tmp_path: Path) -> None:
    assert run("scan", "--from", str(DEMO / "gcp"), db=sqlite_url).returncode == 0
    gcp = tmp_path / "gcp.json"
    assert run("export", "-o", str(gcp), db=sqlite_url).returncode == 0
    both = run("scan", "--from", str(gcp), "--from", str(DEMO / "azure"), "--json", db=sqlite_url)
    assert both.returncode == 0, both.stderr
    direct = run("scan", "--from", str(DEMO / "gcp"), "--from", str(DEMO / "azure"), "--json", db=sqlite_url)
    assert json.loads(both.stdout)["counts"] == json.loads(direct.stdout)["counts"]
