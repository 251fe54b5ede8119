"""What the store keeps beside a snapshot (its mint graph): written whole with its parts, the
newest read back, parts read by position, replaced under the same key (parts too), deleted with
the snapshot; a store from before artifacts reads as having none. One object or one collection of
a snapshot reads without the rest."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, text

from models.store import Store, StoreError
from tests.models.store_writer import make_snapshot

T1 = datetime(2026, 12, 1, tzinfo=UTC)
T2 = datetime(2026, 12, 2, tzinfo=UTC)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest) -> str:
    name = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    return str(request.getfixturevalue(name))


def test_artifacts_round_trip_newest_first_and_replace(store_url: str) -> None:
    snapshot = make_snapshot(2, "g")
    with Store.open(store_url) as store:
        store.save(snapshot)
        assert store.load_artifact(snapshot.id, "graph") is None
        store.save_artifact(snapshot.id, "graph", "at=1", '{"n": 1}', at=T1)
        store.save_artifact(snapshot.id, "graph", "at=2", '{"n": 2}', at=T2)
    with Store.open(store_url, create=False) as store:
        assert store.load_artifact(snapshot.id, "graph") == ("at=2", '{"n": 2}')
        assert store.load_artifact(snapshot.id, "graph", "at=1") == ("at=1", '{"n": 1}')
        assert store.load_artifact(snapshot.id, "other") is None
        store.save_artifact(snapshot.id, "graph", "at=1", '{"n": 3}', at=T1)
        assert store.load_artifact(snapshot.id, "graph", "at=1") == ("at=1", '{"n": 3}')


def test_artifacts_go_with_their_snapshot(store_url: str) -> None:
    kept, dropped = make_snapshot(1, "kept"), make_snapshot(1, "dropped")
    with Store.open(store_url) as store:
        store.save(kept)
        store.save(dropped)
        store.save_artifact(kept.id, "graph", "k", "{}", at=T1)
        store.save_artifact(dropped.id, "graph", "k", "{}", at=T1)
        store.delete(dropped.id)
        assert store.load_artifact(dropped.id, "graph") is None
        assert store.load_artifact(kept.id, "graph") == ("k", "{}")
        with pytest.raises(StoreError, match="no snapshot"):
            store.save_artifact(dropped.id, "graph", "k", "{}", at=T1)


def test_parts_are_read_by_position_and_replaced_with_their_artifact(store_url: str) -> None:
    snapshot = make_snapshot(1, "p")
    parts = [f'{{"edge": {i}}}' for i in range(1203)]
    with Store.open(store_url) as store:
        store.save(snapshot)
        store.save_artifact(snapshot.id, "graph", "k", "{}", at=T1, parts=parts)
        assert store.load_artifact_parts(snapshot.id, "graph", "k", [1202, 0, 7, 7]) == [
            parts[1202],
            parts[0],
            parts[7],
            parts[7],
        ]
        assert store.load_artifact_parts(snapshot.id, "graph", "k", range(1203)) == parts  # in batches
        assert store.load_artifact_parts(snapshot.id, "graph", "k", []) == []
        store.save_artifact(snapshot.id, "graph", "k", "{}", at=T1, parts=["new"])
        assert store.load_artifact_parts(snapshot.id, "graph", "k", [0]) == ["new"]
        with pytest.raises(StoreError, match="lacks 1 of its parts"):
            store.load_artifact_parts(snapshot.id, "graph", "k", [0, 1])
        store.delete(snapshot.id)
        store.save(snapshot)
        with pytest.raises(StoreError, match="replaced or deleted"):
            store.load_artifact_parts(snapshot.id, "graph", "k", [0])


def test_one_object_or_collection_reads_without_the_rest(store_url: str) -> None:
    snapshot = make_snapshot(3, "objects")
    with Store.open(store_url) as store:
        store.save(snapshot)
    with Store.open(store_url, create=False) as store:
        assert store.load_collection(snapshot.id, "principals") == snapshot.principals
        first = snapshot.principals[0]
        assert store.load_object(snapshot.id, "principals", first.id) == first
        assert store.load_object(snapshot.id, "principals", "no-such-id") is None
        with pytest.raises(ValueError, match="no snapshot collection"):
            store.load_collection(snapshot.id, "nonsense")


def test_a_store_made_before_artifacts_reads_as_having_none(sqlite_url: str) -> None:
    snapshot = make_snapshot(1, "old")
    with Store.open(sqlite_url) as store:
        store.save(snapshot)
    engine = create_engine(sqlite_url)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE snapshot_artifacts"))
    engine.dispose()
    with Store.open(sqlite_url, create=False) as store:
        assert store.load_artifact(snapshot.id, "graph") is None
        store.save_artifact(snapshot.id, "graph", "k", "{}", at=T1)  # the table is made on first write
        assert store.load_artifact(snapshot.id, "graph") == ("k", "{}")
