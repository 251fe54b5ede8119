"""``drift``, ``baseline`` and ``compare-identities`` on a temporary SQLite store holding snapshots
of the Azure demo estate (its mint graph builds in a fraction of a second), as scripts use them:
the JSON shape, the text summary, the baseline, and the refusals."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Any

from models import Snapshot
from models.store import Store
from scanner.files import scan_files
from tests.cli.test_cli import run

DEMO_AZURE = Path(__file__).resolve().parents[2] / "fixtures" / "demo" / "azure"
KV_SECRETS_USER = "/providers/microsoft.authorization/roledefinitions/4633458b-17de-408a-b874-0445c86b69e6"
READ_METADATA = "Microsoft.KeyVault/vaults/secrets/readMetadata/action"
VM_DATA_WORKER = "4e153ceb-bd68-40a1-8a9c-ff530b204712"
LOGIC_INVOICE_SYNC = "46f66a2d-a7e2-4b60-b461-7377a7029fdf"
ID_DATA_ETL = "b524974f-5d6b-4bef-a09e-9f655eabb352"
CHANGE_KEYS = {"id", "cloud", "kind", "change", "access", "gained", "lost", "principals"}


@cache
def first() -> Snapshot:
    return replace(scan_files([DEMO_AZURE]), id="a" * 16, label="before")


def later(snapshot: Snapshot, n: int, edit: Any = None) -> Snapshot:
    """``snapshot`` ``n`` hours later, with the Key Vault Secrets User role edited by ``edit``."""
    policies = snapshot.policies
    if edit is not None:
        policy = next(p for p in policies if p.id == KV_SECRETS_USER)
        document = copy.deepcopy(policy.document)
        edit(document)
        policies = tuple(replace(p, document=document) if p.id == KV_SECRETS_USER else p for p in policies)
    return replace(
        snapshot, id=str(n) * 16, created_at=snapshot.created_at + timedelta(hours=n), policies=policies, label=f"+{n}h"
    )


def store_of(tmp_path: Path, *snapshots: Snapshot) -> str:
    url = f"sqlite:///{tmp_path / 'drift.db'}"
    with Store.open(url, create=True) as store:
        for s in snapshots:
            store.save(s)
    return url


def drop_read_metadata(document: dict[str, Any]) -> None:
    document["permissions"][0]["dataActions"].remove(READ_METADATA)


def json_of(*args: str, db: str) -> Any:
    result = run(*args, "--json", db=db)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_drift_of_the_last_two_snapshots_as_json(tmp_path: Path) -> None:
    db = store_of(tmp_path, first(), later(first(), 1, drop_read_metadata))
    data = json_of("drift", db=db)
    assert set(data) == {"from", "to", "changes", "chains", "findings"}
    assert (data["from"], data["to"]) == ("a" * 16, "1" * 16)
    assert set(data["chains"]) == {"opened", "closed"} and set(data["findings"]) == {"new", "resolved"}
    (change,) = data["changes"]
    assert set(change) == CHANGE_KEYS
    assert (change["id"], change["cloud"], change["kind"], change["change"], change["access"]) == (
        KV_SECRETS_USER,
        "azure",
        "role",
        "changed",
        "lost",
    )
    assert change["gained"] == [] and {VM_DATA_WORKER, LOGIC_INVOICE_SYNC} <= set(change["principals"])
    witness = change["lost"][0]
    assert {"principal", "action", "resource", "context"} <= set(witness) and witness["action"] == READ_METADATA


def test_drift_text_summary_and_a_rewrite(tmp_path: Path) -> None:
    def rewrite(document: dict[str, Any]) -> None:
        document["permissions"][0]["dataActions"].reverse()
        document["description"] = "reworded"

    db = store_of(tmp_path, first(), later(first(), 1, rewrite))
    result = run("drift", db=db)
    assert result.returncode == 0, result.stderr
    assert "1 changes" in result.stdout and "text changed, access equivalent" in result.stdout
    assert "chains to admin opened: 0" in result.stdout
    data = json_of("drift", db=db)
    assert [c["access"] for c in data["changes"]] == ["equivalent"]


def test_drift_needs_two_snapshots(tmp_path: Path) -> None:
    db = store_of(tmp_path, first())
    result = run("drift", db=db)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.strip().startswith("iamdrift: error: drift compares two snapshots")
    assert "holds 1" in result.stderr and "Traceback" not in result.stderr


def test_drift_from_an_unknown_snapshot_is_one_clear_line(tmp_path: Path) -> None:
    db = store_of(tmp_path, first(), later(first(), 1))
    result = run("drift", "--from", "nope", db=db)
    assert result.returncode == 1
    assert result.stderr.strip() == f"iamdrift: error: no snapshot 'nope' in {db} (see `iamdrift snapshots`)"


def test_same_snapshot_twice_has_no_changes(tmp_path: Path) -> None:
    db = store_of(tmp_path, first(), later(first(), 1))
    data = json_of("drift", "--from", "a" * 8, "--to", "a" * 8, db=db)
    assert data["changes"] == [] and data["chains"] == {"opened": [], "closed": []}


def test_baseline_set_show_and_drift_from_it(tmp_path: Path) -> None:
    db = store_of(tmp_path, first(), later(first(), 1), later(first(), 2, drop_read_metadata))
    missing = run("drift", "--baseline", db=db)
    assert missing.returncode == 1 and "no baseline is set" in missing.stderr
    assert json_of("baseline", "show", db=db) == {"baseline": None}
    assert json_of("baseline", "set", "latest~2", db=db)["baseline"] == "a" * 16
    assert json_of("baseline", "show", db=db) == {"baseline": "a" * 16}
    data = json_of("drift", "--baseline", db=db)
    assert (data["from"], data["to"]) == ("a" * 16, "2" * 16)
    assert [c["access"] for c in data["changes"]] == ["lost"]
    # The last one set wins.
    assert json_of("baseline", "set", "1111", db=db)["baseline"] == "1" * 16
    assert json_of("drift", "--baseline", db=db)["from"] == "1" * 16
    both = run("drift", "--baseline", "--from", "latest", db=db)
    assert both.returncode == 2 and "--baseline" in both.stderr


def test_compare_identities(tmp_path: Path) -> None:
    db = store_of(tmp_path, first())
    same = json_of("compare-identities", VM_DATA_WORKER, LOGIC_INVOICE_SYNC, db=db)
    assert (same["relation"], same["only_a"], same["only_b"]) == ("equivalent", [], [])
    differ = json_of("compare-identities", VM_DATA_WORKER, ID_DATA_ETL, db=db)
    assert differ["relation"] in ("incomparable", "unknown") and differ["only_a"] and differ["only_b"]
    assert {w["principal"] for w in differ["only_a"]} == {VM_DATA_WORKER}
    assert {w["principal"] for w in differ["only_b"]} == {ID_DATA_ETL}
    unknown = run("compare-identities", VM_DATA_WORKER, "no-such-id", db=db)
    assert unknown.returncode == 1 and "no-such-id" in unknown.stderr
