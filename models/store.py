"""The snapshot store: SQLite by default, PostgreSQL for teams, through SQLAlchemy.

A snapshot is written in one transaction (its row and all its objects), so a scan that dies
midway leaves nothing behind: readers see a snapshot whole or not at all. SQLite files run in WAL
mode with a busy timeout, so concurrent scans into one file queue for the write lock instead of
failing or corrupting it.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import platformdirs
from sqlalchemy import (
    Column,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    delete,
    event,
    insert,
    select,
)
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, OperationalError, ProgrammingError, SQLAlchemyError

from models.codec import from_json_dict, to_json_dict
from models.snapshot import COLLECTIONS, Snapshot, object_key

ENV_VAR = "IAMDRIFT_DB"
SCHEMA_VERSION = "1"
_INSERT_BATCH = 5000

metadata = MetaData()

schema_info = Table(
    "iamdrift_schema",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", String(256), nullable=False),
)

snapshots = Table(
    "snapshots",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False, index=True),
    Column("source", String(32), nullable=False),
    Column("label", Text, nullable=False),
    Column("summary", Text, nullable=False),  # JSON: counts, gaps, meta
)

snapshot_objects = Table(
    "snapshot_objects",
    metadata,
    Column("snapshot_id", String(32), ForeignKey("snapshots.id", ondelete="CASCADE"), primary_key=True),
    Column("collection", String(32), primary_key=True),
    Column("object_key", Text, primary_key=True),
    Column("position", Integer, nullable=False),
    Column("payload", Text, nullable=False),  # JSON of the model object
)


class StoreError(Exception):
    """The store could not be opened, read or written; the message says which and why."""


@dataclass(frozen=True, kw_only=True)
class SnapshotSummary:
    id: str
    created_at: datetime
    source: str
    label: str
    counts: dict[str, int]
    gaps: int
    meta: dict[str, str]


def default_url() -> str:
    """``$IAMDRIFT_DB`` if set, else a SQLite file in the per-user data directory."""
    env = os.environ.get(ENV_VAR)
    if env:
        return env
    path = Path(platformdirs.user_data_dir("iamdrift")) / "iamdrift.db"
    return f"sqlite:///{path}"


def normalize_url(raw: str) -> URL:
    """Accept SQLAlchemy URLs, ``postgresql://`` (driven by psycopg 3) and bare file paths."""
    if "://" not in raw:
        return make_url(f"sqlite:///{Path(raw).expanduser().resolve()}")
    try:
        url = make_url(raw)
    except ArgumentError as exc:
        raise StoreError(f"cannot parse database URL {raw!r}: {exc}") from exc
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    return url


def _describe(url: URL) -> str:
    return url.render_as_string(hide_password=True)


class Store:
    """Snapshots in one database. Create with :meth:`open`; close with :meth:`close`."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self.url = _describe(engine.url)

    @classmethod
    def open(cls, raw_url: str | None = None) -> Store:
        url = normalize_url(raw_url or default_url())
        if url.drivername.startswith("sqlite"):
            if url.database and url.database != ":memory:":
                Path(url.database).parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(url, connect_args={"timeout": 60})
            event.listen(engine, "connect", _sqlite_pragmas)
        else:
            engine = create_engine(url, pool_pre_ping=True)
        store = cls(engine)
        try:
            store._migrate_racing()
        except SQLAlchemyError as exc:
            engine.dispose()
            raise StoreError(f"cannot open the store at {_describe(url)}: {_first_line(exc)}") from exc
        return store

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _migrate_racing(self) -> None:
        """Create the schema; another process creating it at the same moment is not an error."""
        for attempt in range(5):
            try:
                self._migrate()
                return
            except (OperationalError, ProgrammingError, IntegrityError) as exc:
                if attempt == 4 or not _is_creation_race(exc):
                    raise
                time.sleep(0.1 * (attempt + 1))

    def _migrate(self) -> None:
        with self._engine.begin() as conn:
            metadata.create_all(conn)
            row = conn.execute(select(schema_info.c.value).where(schema_info.c.key == "version")).first()
            if row is None:
                conn.execute(insert(schema_info).values(key="version", value=SCHEMA_VERSION))
            elif row[0] != SCHEMA_VERSION:
                raise StoreError(
                    f"the store at {self.url} has schema version {row[0]}, this iamdrift reads {SCHEMA_VERSION}"
                )

    def save(self, snapshot: Snapshot) -> None:
        """Write ``snapshot`` whole, in one transaction, or raise and write nothing."""
        summary = {
            "counts": snapshot.counts(),
            "gaps": len(snapshot.gaps),
            "meta": snapshot.meta,
        }
        try:
            with self._engine.begin() as conn:
                conn.execute(
                    insert(snapshots).values(
                        id=snapshot.id,
                        created_at=snapshot.created_at,
                        source=snapshot.source,
                        label=snapshot.label,
                        summary=json.dumps(summary),
                    )
                )
                batch: list[dict[str, Any]] = []
                for row in _object_rows(snapshot):
                    batch.append(row)
                    if len(batch) >= _INSERT_BATCH:
                        conn.execute(insert(snapshot_objects), batch)
                        batch = []
                if batch:
                    conn.execute(insert(snapshot_objects), batch)
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot write snapshot {snapshot.id} to {self.url}: {_first_line(exc)}") from exc

    def list(self) -> list[SnapshotSummary]:
        """Every snapshot, oldest first."""
        with self._read() as conn:
            rows = conn.execute(select(snapshots).order_by(snapshots.c.created_at, snapshots.c.id)).all()
        out = []
        for row in rows:
            summary = json.loads(row.summary)
            out.append(
                SnapshotSummary(
                    id=row.id,
                    created_at=_aware(row.created_at),
                    source=row.source,
                    label=row.label,
                    counts=summary["counts"],
                    gaps=summary["gaps"],
                    meta=summary.get("meta", {}),
                )
            )
        return out

    def resolve(self, ref: str) -> str:
        """Turn ``latest``, ``latest~N`` (N scans before the latest), an id or a unique id prefix
        into a snapshot id."""
        all_ids = [s.id for s in self.list()]
        if not all_ids:
            raise StoreError(f"the store at {self.url} holds no snapshots; run `iamdrift scan` first")
        if ref == "latest" or ref.startswith("latest~"):
            back = int(ref.split("~", 1)[1]) if "~" in ref else 0
            if back >= len(all_ids):
                raise StoreError(f"{ref}: the store holds only {len(all_ids)} snapshot(s)")
            return all_ids[-1 - back]
        matches = [i for i in all_ids if i.startswith(ref)]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise StoreError(f"no snapshot {ref!r} in {self.url} (see `iamdrift snapshots`)")
        raise StoreError(f"snapshot prefix {ref!r} is ambiguous: {', '.join(matches[:5])}")

    def load(self, ref: str) -> Snapshot:
        snapshot_id = self.resolve(ref)
        with self._read() as conn:
            head = conn.execute(select(snapshots).where(snapshots.c.id == snapshot_id)).one()
            rows = conn.execute(
                select(snapshot_objects.c.collection, snapshot_objects.c.payload)
                .where(snapshot_objects.c.snapshot_id == snapshot_id)
                .order_by(snapshot_objects.c.collection, snapshot_objects.c.position)
            ).all()
        grouped: dict[str, list[Any]] = {name: [] for name in COLLECTIONS}
        for collection, payload in rows:
            grouped[collection].append(from_json_dict(COLLECTIONS[collection], json.loads(payload)))
        summary = json.loads(head.summary)
        return Snapshot(
            id=head.id,
            created_at=_aware(head.created_at),
            source=head.source,
            label=head.label,
            meta=summary.get("meta", {}),
            **{name: tuple(items) for name, items in grouped.items()},
        )

    def delete(self, ref: str) -> str:
        snapshot_id = self.resolve(ref)
        with self._engine.begin() as conn:
            conn.execute(delete(snapshot_objects).where(snapshot_objects.c.snapshot_id == snapshot_id))
            conn.execute(delete(snapshots).where(snapshots.c.id == snapshot_id))
        return snapshot_id

    def _read(self) -> Any:
        try:
            return self._engine.connect()
        except OperationalError as exc:
            raise StoreError(f"cannot read the store at {self.url}: {_first_line(exc)}") from exc


def _object_rows(snapshot: Snapshot) -> Iterator[dict[str, Any]]:
    for name in COLLECTIONS:
        for position, obj in enumerate(getattr(snapshot, name)):
            yield {
                "snapshot_id": snapshot.id,
                "collection": name,
                "object_key": object_key(obj),
                "position": position,
                "payload": json.dumps(to_json_dict(obj), separators=(",", ":")),
            }


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=60000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _aware(value: datetime) -> datetime:
    """SQLite returns naive datetimes; everything we write is UTC."""
    from datetime import UTC

    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _is_creation_race(exc: SQLAlchemyError) -> bool:
    text = str(exc).lower()
    return "already exists" in text or "unique" in text or "duplicate" in text or "locked" in text


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__
