"""Usage records: their checks, the snapshot collection, JSON and store round trips (old data too)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from models import Cloud, Snapshot, Usage, UsageKind
from models._checks import ModelError
from models.store import Store, normalize_url
from scanner.files import scan_files
from tests.conftest import REPO

USAGE = REPO / "fixtures" / "usage"
DEMO = REPO / "fixtures" / "demo"
AT = datetime(2025, 6, 2, 8, tzinfo=UTC)


def usage(**changes: object) -> Usage:
    values: dict[str, object] = {
        "principal_id": "arn:aws:iam::222222222222:role/admin-lambda-exec",
        "cloud": Cloud.AWS,
        "kind": UsageKind.SERVICE,
        "subject": "s3",
        "scope_id": "222222222222",
        "source": "file",
        "origin": "x.json",
        "tracked_since": AT - timedelta(days=400),
        "observed_at": AT,
    }
    values.update(changes)
    return Usage(**values)  # type: ignore[arg-type]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest) -> str:
    name = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    return str(request.getfixturevalue(name))


def test_used_says_unused_only_within_a_stated_window() -> None:
    assert usage(last_used=AT - timedelta(days=3)).used is True
    assert usage().used is False  # listed, no date, window known: granted and not used in it
    assert usage(tracked_since=None).used is None  # no window stated: nothing follows


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"last_used": datetime(2025, 1, 1)}, "timezone-aware"),
        ({"principal_id": ""}, "principal_id"),
        ({"source": "guess"}, "source"),
        ({"tracked_since": AT + timedelta(days=1)}, "tracked_since is after observed_at"),
    ],
)
def test_bad_records_are_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ModelError, match=message):
        usage(**changes)


def test_one_record_per_principal_kind_and_subject() -> None:
    with pytest.raises(ModelError, match=r"Snapshot\.usage: duplicate ids"):
        Snapshot(usage=(usage(), usage(origin="other.json")))
    Snapshot(usage=(usage(), usage(subject="ec2"), usage(kind=UsageKind.AUTHENTICATION)))


def test_snapshot_json_round_trip_and_older_exports_load_without_usage() -> None:
    snapshot = scan_files([DEMO / "aws", USAGE / "aws"])
    assert snapshot.usage
    back = Snapshot.from_json_dict(json.loads(json.dumps(snapshot.to_json_dict())))
    assert back == snapshot
    old = snapshot.to_json_dict()
    del old["usage"]
    assert Snapshot.from_json_dict(old).usage == ()


def test_store_round_trip_of_every_cloud(store_url: str) -> None:
    snapshot = scan_files([DEMO / "aws", DEMO / "gcp", DEMO / "azure", USAGE])
    assert {u.cloud for u in snapshot.usage} == {Cloud.AWS, Cloud.GCP, Cloud.AZURE}
    with Store.open(store_url) as store:
        store.save(snapshot)
    with Store.open(store_url, create=False) as store:
        loaded = store.load(snapshot.id)
        [summary] = store.list()
    assert loaded == snapshot
    assert loaded.usage == snapshot.usage  # same records, same order
    assert summary.counts["usage"] == len(snapshot.usage)


def test_a_snapshot_stored_before_usage_existed_still_loads(sqlite_url: str, tmp_path: Path) -> None:
    snapshot = scan_files([DEMO / "aws"])
    with Store.open(sqlite_url) as store:
        store.save(snapshot)
    # What an older iamdrift wrote: no usage rows, and no "usage" in the summary's counts.
    engine = create_engine(normalize_url(sqlite_url))
    with engine.begin() as conn:
        summary = json.loads(conn.execute(text("SELECT summary FROM snapshots")).scalar_one())
        del summary["counts"]["usage"]
        conn.execute(text("UPDATE snapshots SET summary = :s"), {"s": json.dumps(summary)})
        assert conn.execute(text("SELECT count(*) FROM snapshot_objects WHERE collection = 'usage'")).scalar_one() == 0
    engine.dispose()
    with Store.open(sqlite_url, create=False) as store:
        loaded = store.load("latest")
        [listed] = store.list()
    assert loaded.usage == () and loaded.principals == snapshot.principals
    assert "usage" not in listed.counts


def test_an_exported_snapshot_read_back_keeps_its_usage(tmp_path: Path) -> None:
    snapshot = scan_files([DEMO / "gcp", USAGE / "gcp"])
    exported = tmp_path / "snapshot.json"
    exported.write_text(json.dumps(snapshot.to_json_dict()))
    assert scan_files([exported]).usage == snapshot.usage  # alone: read back as it is
    joined = scan_files([exported, USAGE / "aws"])  # with other files: its objects join theirs
    assert set(snapshot.usage) < set(joined.usage)
    assert {u.cloud for u in joined.usage} == {Cloud.GCP, Cloud.AWS}
