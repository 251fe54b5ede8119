from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from models.store import Store, StoreError, normalize_url
from tests.conftest import REPO
from tests.models.store_writer import make_snapshot


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest) -> str:
    name = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    return str(request.getfixturevalue(name))


def test_save_load_round_trip(store_url: str) -> None:
    snapshot = make_snapshot(50, "first")
    with Store.open(store_url) as store:
        store.save(snapshot)
    with Store.open(store_url) as store:  # a new connection sees it whole
        assert store.load(snapshot.id) == snapshot
        [summary] = store.list()
    assert summary.id == snapshot.id
    assert summary.counts["principals"] == 50
    assert summary.gaps == 0


def test_resolve_latest_back_references_and_prefixes(store_url: str) -> None:
    with Store.open(store_url) as store:
        first, second = make_snapshot(1, "a"), make_snapshot(1, "b")
        store.save(first)
        store.save(second)
        assert store.resolve("latest") == second.id
        assert store.resolve("latest~1") == first.id
        assert store.resolve(second.id[:10]) == second.id
        with pytest.raises(StoreError, match="holds only 2"):
            store.resolve("latest~2")
        with pytest.raises(StoreError, match="no snapshot 'zzz'"):
            store.resolve("zzz")


def test_empty_store_says_how_to_fill_it(store_url: str) -> None:
    with Store.open(store_url) as store, pytest.raises(StoreError, match="iamdrift scan"):
        store.load("latest")


def test_failed_write_leaves_nothing(store_url: str) -> None:
    snapshot = make_snapshot(20, "x")
    with Store.open(store_url) as store:
        store.save(snapshot)
        with pytest.raises(StoreError, match=f"cannot write snapshot {snapshot.id}"):
            store.save(snapshot)  # same id again: the insert of the snapshot row fails
        assert [s.id for s in store.list()] == [snapshot.id]
        assert store.load(snapshot.id) == snapshot


@pytest.mark.slow
def test_scan_killed_midway_leaves_no_partial_snapshot(store_url: str) -> None:
    with Store.open(store_url) as store:
        store.save(make_snapshot(3, "before"))
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.models.store_writer", store_url, "1", "20000", "--stall"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "WRITING"  # inside the transaction, objects half written
        child.kill()
    finally:
        child.wait(timeout=30)
        if child.stdout is not None:
            child.stdout.close()
    with Store.open(store_url) as store:
        assert [s.label for s in store.list()] == ["before"]
    engine = create_engine(normalize_url(store_url))
    with engine.connect() as conn:
        orphans = conn.execute(
            text("SELECT count(*) FROM snapshot_objects WHERE snapshot_id NOT IN (SELECT id FROM snapshots)")
        ).scalar()
        if store_url.startswith("sqlite"):
            assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
    engine.dispose()
    assert orphans == 0


@pytest.mark.slow
def test_concurrent_scans_into_one_sqlite_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    writers = [
        subprocess.Popen([sys.executable, "-m", "tests.models.store_writer", url, "5", "3000"], cwd=REPO)
        for _ in range(3)
    ]
    assert [w.wait(timeout=300) for w in writers] == [0, 0, 0]
    with Store.open(url) as store:
        summaries = store.list()
        assert len(summaries) == 15
        assert all(s.counts["principals"] == 3000 for s in summaries)
        assert len(store.load(summaries[7].id).principals) == 3000
    engine = create_engine(normalize_url(url))
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    engine.dispose()


def test_bad_urls_and_unreachable_servers_are_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="cannot open the store at postgresql"):
        Store.open("postgresql://nobody@127.0.0.1:1/none")
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises((StoreError, OSError)):
        Store.open(f"sqlite:///{blocker}/sub/store.db")


def test_bare_paths_and_postgres_urls_are_normalized(tmp_path: Path) -> None:
    assert normalize_url(str(tmp_path / "x.db")).drivername == "sqlite"
    assert normalize_url("postgresql://u@h/db").drivername == "postgresql+psycopg"


@pytest.mark.parametrize("ref", ["latest~-1", "latest~x", "latest~", "latest~ 1", "latest~1~1"])
def test_back_references_are_whole_numbers_only(sqlite_url: str, ref: str) -> None:
    with Store.open(sqlite_url) as store:
        store.save(make_snapshot(1, "a"))
        assert store.resolve("latest~0") == store.resolve("latest")
        with pytest.raises(StoreError, match=r"latest~N with N a whole number 0 or more"):
            store.resolve(ref)


def test_reading_creates_no_store(tmp_path: Path) -> None:
    missing = tmp_path / "missing.db"
    with pytest.raises(StoreError, match=f"there is no store at {missing}"):
        Store.open(f"sqlite:///{missing}", create=False)
    with pytest.raises(StoreError, match="there is no store at"):
        Store.open(str(tmp_path / "no" / "folder.db"), create=False)
    assert list(tmp_path.iterdir()) == []
    empty = tmp_path / "other.db"
    sqlite3.connect(empty).close()  # a SQLite file, but no iamdrift store in it
    with pytest.raises(StoreError, match="no iamdrift tables"):
        Store.open(str(empty), create=False)
    with Store.open(str(missing)) as store:  # writing creates it
        store.save(make_snapshot(1, "a"))
    with Store.open(str(missing), create=False) as store:
        assert [s.label for s in store.list()] == ["a"]


def test_writing_invents_no_folder(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match=r"the folder .* does not exist; create it first"):
        Store.open(str(tmp_path / "no" / "store.db"))
    assert not (tmp_path / "no").exists()


@pytest.mark.parametrize("url", ["mysql://u@h/db", "file:///tmp/x.db", "postgresql+psycopg2://u@h/db", "sqlite+x:///"])
def test_unsupported_schemes_name_the_supported_ones(url: str) -> None:
    with pytest.raises(StoreError, match="unsupported store URL scheme") as caught:
        Store.open(url)
    assert "sqlite:///PATH" in str(caught.value) and "postgresql://" in str(caught.value)


def test_contains_tells_stored_ids(store_url: str) -> None:
    snapshot = make_snapshot(1, "a")
    with Store.open(store_url) as store:
        assert not store.contains(snapshot.id)
        store.save(snapshot)
        assert store.contains(snapshot.id) and not store.contains(snapshot.id[:8])
