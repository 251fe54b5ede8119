"""The snapshot store: SQLite by default, PostgreSQL for teams, through SQLAlchemy.

A snapshot is written in one transaction (its row and all its objects), so a scan that dies
midway leaves nothing behind: readers see a snapshot whole or not at all. SQLite files run in WAL
mode with a busy timeout, so concurrent scans into one file queue for the write lock instead of
failing or corrupting it.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator, Sequence
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
    inspect,
    select,
)
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, OperationalError, ProgrammingError, SQLAlchemyError

from models.codec import from_json_dict, to_json_dict
from models.snapshot import COLLECTIONS, Snapshot, object_key

ENV_VAR = "IAMDRIFT_DB"
SCHEMA_VERSION = "1"
_INSERT_BATCH = 5000
#: The stores iamdrift drives, as a user writes their URLs (named in errors about other schemes).
SUPPORTED_URLS = "sqlite:///PATH (or a bare file path) and postgresql://USER@HOST[:PORT]/DATABASE"
_BACK_REFERENCE = re.compile(r"latest~([0-9]+)")

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

#: What is derived from a snapshot and kept with it (the mint graph), by kind and key (the
#: parameters it was built with); deleted with its snapshot.
snapshot_artifacts = Table(
    "snapshot_artifacts",
    metadata,
    Column("snapshot_id", String(32), ForeignKey("snapshots.id", ondelete="CASCADE"), primary_key=True),
    Column("kind", String(32), primary_key=True),
    Column("key", String(128), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("payload", Text, nullable=False),
)

#: An artifact's parts, each read on its own (the edges of a stored mint graph, read only for the
#: chains a command shows): written and replaced with their artifact, in its transaction.
snapshot_artifact_parts = Table(
    "snapshot_artifact_parts",
    metadata,
    Column("snapshot_id", String(32), ForeignKey("snapshots.id", ondelete="CASCADE"), primary_key=True),
    Column("kind", String(32), primary_key=True),
    Column("key", String(128), primary_key=True),
    Column("part", Integer, primary_key=True),
    Column("payload", Text, nullable=False),
)

#: Parts read by position in batches of this many (well under every backend's bound parameters).
_PARTS_BATCH = 500


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


def default_path() -> Path:
    """The SQLite file used when neither ``--db`` nor ``$IAMDRIFT_DB`` names a store."""
    return Path(platformdirs.user_data_dir("iamdrift")) / "iamdrift.db"


def default_url() -> str:
    """``$IAMDRIFT_DB`` if set, else a SQLite file in the per-user data directory."""
    env = os.environ.get(ENV_VAR)
    if env:
        return env
    return f"sqlite:///{default_path()}"


def normalize_url(raw: str) -> URL:
    """Accept ``sqlite://`` URLs, bare file paths (SQLite) and ``postgresql://`` (driven by psycopg 3).

    Any other scheme or driver is a :class:`StoreError` naming the supported ones."""
    if "://" not in raw:
        return make_url(f"sqlite:///{Path(raw).expanduser().resolve()}")
    try:
        url = make_url(raw)
    except ArgumentError as exc:
        raise StoreError(f"cannot parse the store URL {raw!r}: {exc}; use {SUPPORTED_URLS}") from exc
    backend, _, driver = url.drivername.partition("+")
    if backend in ("postgresql", "postgres") and driver in ("", "psycopg"):
        return url.set(drivername="postgresql+psycopg")
    if backend == "sqlite" and driver in ("", "pysqlite"):
        return url
    raise StoreError(
        f"unsupported store URL scheme {url.drivername!r} in {_describe(url)}: iamdrift stores snapshots in "
        f"{SUPPORTED_URLS}"
    )


def _describe(url: URL) -> str:
    return url.render_as_string(hide_password=True)


class Store:
    """Snapshots in one database. Create with :meth:`open`; close with :meth:`close`."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self.url = _describe(engine.url)

    @classmethod
    def open(cls, raw_url: str | None = None, *, create: bool = True) -> Store:
        """Open the store at ``raw_url`` (default: :func:`default_url`).

        With ``create`` (the commands that write a snapshot) a missing SQLite file and a database
        without iamdrift's tables are set up; only the per-user default folder is created, since a
        missing folder in a URL someone typed is more likely a typo than a wish. Without ``create``
        (every command that only reads) nothing is created: a store that does not exist is a
        :class:`StoreError` saying how to make one."""
        url = normalize_url(raw_url or default_url())
        if url.drivername.startswith("sqlite"):
            _check_sqlite_file(url, create=create)
            engine = create_engine(url, connect_args={"timeout": 60})
            event.listen(engine, "connect", _sqlite_pragmas)
        else:
            engine = create_engine(url, pool_pre_ping=True)
        store = cls(engine)
        try:
            if create:
                store._migrate_racing()
            else:
                store._check_schema()
        except SQLAlchemyError as exc:
            engine.dispose()
            raise StoreError(f"cannot open the store at {_describe(url)}: {_first_line(exc)}") from exc
        except StoreError:
            engine.dispose()
            raise
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

    def _check_schema(self) -> None:
        """A read-only open: the schema must be there, in the version this iamdrift reads."""
        with self._engine.connect() as conn:
            if not inspect(conn).has_table(schema_info.name):
                raise StoreError(
                    f"there is no iamdrift store at {self.url} (the database has no iamdrift tables); "
                    "`iamdrift scan` or `iamdrift demo` makes one"
                )
            row = conn.execute(select(schema_info.c.value).where(schema_info.c.key == "version")).first()
        if row is None or row[0] != SCHEMA_VERSION:
            found = "no schema version" if row is None else f"schema version {row[0]}"
            raise StoreError(f"the store at {self.url} has {found}, this iamdrift reads {SCHEMA_VERSION}")

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
            back = _back_reference(ref)
            if back >= len(all_ids):
                raise StoreError(f"{ref}: the store holds only {len(all_ids)} snapshot(s)")
            return all_ids[-1 - back]
        matches = [i for i in all_ids if i.startswith(ref)]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise StoreError(f"no snapshot {ref!r} in {self.url} (see `iamdrift snapshots`)")
        raise StoreError(f"snapshot prefix {ref!r} is ambiguous: {', '.join(matches[:5])}")

    def contains(self, snapshot_id: str) -> bool:
        """Whether a snapshot with exactly this id is stored (committed)."""
        with self._read() as conn:
            return conn.execute(select(snapshots.c.id).where(snapshots.c.id == snapshot_id)).first() is not None

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

    def load_object(self, ref: str, collection: str, key: str) -> Any | None:
        """The object of a stored snapshot's ``collection`` stored under ``key`` (a principal's or
        workload's id), None when there is none; nothing else is read."""
        if collection not in COLLECTIONS:
            raise ValueError(f"no snapshot collection {collection!r}")
        snapshot_id = self.resolve(ref)
        with self._read() as conn:
            row = conn.execute(
                select(snapshot_objects.c.payload).where(
                    (snapshot_objects.c.snapshot_id == snapshot_id)
                    & (snapshot_objects.c.collection == collection)
                    & (snapshot_objects.c.object_key == key)
                )
            ).first()
        return None if row is None else from_json_dict(COLLECTIONS[collection], json.loads(row[0]))

    def load_collection(self, ref: str, collection: str) -> tuple[Any, ...]:
        """One collection of a stored snapshot (``principals``, ``workloads``, ...), in its order,
        without reading the rest of it."""
        if collection not in COLLECTIONS:
            raise ValueError(f"no snapshot collection {collection!r}")
        snapshot_id = self.resolve(ref)
        with self._read() as conn:
            rows = conn.execute(
                select(snapshot_objects.c.payload)
                .where((snapshot_objects.c.snapshot_id == snapshot_id) & (snapshot_objects.c.collection == collection))
                .order_by(snapshot_objects.c.position)
            ).all()
        return tuple(from_json_dict(COLLECTIONS[collection], json.loads(payload)) for (payload,) in rows)

    def save_artifact(
        self, snapshot_id: str, kind: str, key: str, payload: str, *, at: datetime, parts: Sequence[str] = ()
    ) -> None:
        """Keep ``payload`` (text, typically JSON) as the ``kind`` artifact of a stored snapshot under
        ``key``, with its ``parts`` (numbered from 0, read on their own with
        :meth:`load_artifact_parts`), replacing one of the same kind and key and its parts, in one
        transaction."""
        if not self.contains(snapshot_id):
            raise StoreError(f"no snapshot {snapshot_id!r} in {self.url} to keep a {kind} with")
        try:
            with self._engine.begin() as conn:
                snapshot_artifacts.create(conn, checkfirst=True)
                snapshot_artifact_parts.create(conn, checkfirst=True)
                for table in (snapshot_artifacts, snapshot_artifact_parts):
                    where = (table.c.snapshot_id == snapshot_id) & (table.c.kind == kind) & (table.c.key == key)
                    conn.execute(delete(table).where(where))
                conn.execute(
                    insert(snapshot_artifacts).values(
                        snapshot_id=snapshot_id, kind=kind, key=key, created_at=at, payload=payload
                    )
                )
                rows = [
                    {"snapshot_id": snapshot_id, "kind": kind, "key": key, "part": i, "payload": part}
                    for i, part in enumerate(parts)
                ]
                for start in range(0, len(rows), 10_000):
                    conn.execute(insert(snapshot_artifact_parts), rows[start : start + 10_000])
        except SQLAlchemyError as exc:
            raise StoreError(
                f"cannot keep the {kind} of snapshot {snapshot_id} in {self.url}: {_first_line(exc)}"
            ) from exc

    def load_artifact(self, snapshot_id: str, kind: str, key: str | None = None) -> tuple[str, str] | None:
        """``(key, payload)`` of the ``kind`` artifact of a snapshot: the one under ``key``, or the
        newest when no key is given; None when there is none (or the store predates artifacts)."""
        with self._read() as conn:
            if not inspect(conn).has_table(snapshot_artifacts.name):
                return None
            query = select(snapshot_artifacts.c.key, snapshot_artifacts.c.payload).where(
                (snapshot_artifacts.c.snapshot_id == snapshot_id) & (snapshot_artifacts.c.kind == kind)
            )
            if key is not None:
                query = query.where(snapshot_artifacts.c.key == key)
            row = conn.execute(query.order_by(snapshot_artifacts.c.created_at.desc()).limit(1)).first()
        return None if row is None else (row[0], row[1])

    def load_artifact_parts(self, snapshot_id: str, kind: str, key: str, parts: Sequence[int]) -> Sequence[str]:
        """The payloads of the artifact's ``parts``, in that order; a part not stored is a
        :class:`StoreError` (the artifact was replaced or deleted since it was read)."""
        wanted = sorted(set(parts))
        found: dict[int, str] = {}
        table = snapshot_artifact_parts
        owner = (table.c.snapshot_id == snapshot_id) & (table.c.kind == kind) & (table.c.key == key)
        try:
            with self._read() as conn:
                if len(wanted) > 8 * _PARTS_BATCH:  # most of them: one pass over all is quicker
                    query = select(table.c.part, table.c.payload).where(owner)
                    found.update((int(i), str(payload)) for i, payload in conn.execute(query).all())
                for start in range(0, len(wanted) if not found else 0, _PARTS_BATCH):
                    batch = wanted[start : start + _PARTS_BATCH]
                    query = select(table.c.part, table.c.payload).where(owner & table.c.part.in_(batch))
                    found.update((int(i), str(payload)) for i, payload in conn.execute(query).all())
        except SQLAlchemyError as exc:
            raise StoreError(
                f"cannot read the {kind} of snapshot {snapshot_id} in {self.url}: {_first_line(exc)}"
            ) from exc
        missing = [i for i in wanted if i not in found]
        if missing:
            raise StoreError(
                f"the {kind} of snapshot {snapshot_id} in {self.url} lacks {len(missing)} of its parts "
                f"(it was replaced or deleted while being read): run the command again"
            )
        return [found[i] for i in parts]

    def delete(self, ref: str) -> str:
        snapshot_id = self.resolve(ref)
        with self._engine.begin() as conn:
            if inspect(conn).has_table(snapshot_artifact_parts.name):
                conn.execute(
                    delete(snapshot_artifact_parts).where(snapshot_artifact_parts.c.snapshot_id == snapshot_id)
                )
            if inspect(conn).has_table(snapshot_artifacts.name):
                conn.execute(delete(snapshot_artifacts).where(snapshot_artifacts.c.snapshot_id == snapshot_id))
            conn.execute(delete(snapshot_objects).where(snapshot_objects.c.snapshot_id == snapshot_id))
            conn.execute(delete(snapshots).where(snapshots.c.id == snapshot_id))
        return snapshot_id

    def _read(self) -> Any:
        try:
            return self._engine.connect()
        except OperationalError as exc:
            raise StoreError(f"cannot read the store at {self.url}: {_first_line(exc)}") from exc


def _back_reference(ref: str) -> int:
    """N of ``latest~N`` (``latest`` is ``latest~0``); anything else after ``latest~`` is an error."""
    if ref == "latest":
        return 0
    match = _BACK_REFERENCE.fullmatch(ref)
    if match is None:
        raise StoreError(
            f"{ref!r} is not a snapshot reference: use latest, latest~N with N a whole number 0 or more "
            "(latest~1 is the snapshot before the latest), an id or an id prefix"
        )
    return int(match.group(1))


def _check_sqlite_file(url: URL, *, create: bool) -> None:
    """Refuse to read a SQLite store that is not there, or to create one in a folder that is not."""
    if not url.database or url.database == ":memory:":
        return
    path = Path(url.database)
    if path.is_dir():
        raise StoreError(f"the store path {path} is a folder; name a file in it, such as {path / 'iamdrift.db'}")
    if not create:
        if not path.exists():
            where = "there" if path.parent.is_dir() else f"once the folder {path.parent} exists"
            raise StoreError(
                f"there is no store at {path}: `iamdrift scan` (or `iamdrift demo`) makes one {where}, "
                "or pick another with --db / IAMDRIFT_DB"
            )
        return
    if path.parent.is_dir():
        return
    if path == default_path():
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the folder {path.parent} for the store: {exc.strerror}") from exc
        return
    raise StoreError(f"cannot create the store at {path}: the folder {path.parent} does not exist; create it first")


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
