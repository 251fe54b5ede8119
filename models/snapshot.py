"""A snapshot: everything one scan saw, with its coverage."""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

from models._checks import ModelError, require_aware, require_tuple
from models.codec import from_json_dict, to_json_dict
from models.coverage import CoverageEntry
from models.credential import Credential
from models.policy import Attachment, Policy
from models.principal import Principal
from models.resource import Resource
from models.scope import Scope
from models.usage import Usage
from models.workload import Workload

FORMAT = "iamdrift.snapshot/1"

#: The snapshot's collections, in the order they are stored and exported, with their types.
COLLECTIONS: dict[str, type] = {
    "scopes": Scope,
    "principals": Principal,
    "credentials": Credential,
    "policies": Policy,
    "attachments": Attachment,
    "resources": Resource,
    "workloads": Workload,
    "coverage": CoverageEntry,
    "usage": Usage,
}


def new_snapshot_id() -> str:
    return uuid.uuid4().hex[:16]


def object_key(obj: Any) -> str:
    """The key an object is stored under; unique within its collection."""
    if isinstance(obj, CoverageEntry):
        return "|".join((obj.scope_id, obj.source, obj.service, obj.operation, obj.region or ""))
    return str(obj.id)


@dataclass(frozen=True, kw_only=True)
class Snapshot:
    """Everything one scan saw.

    ``source`` says how it was collected (``live``, ``files``), ``label`` is free text from the
    user. Collections hold unique ids (checked). ``coverage`` lists every read; entries that are
    gaps say where the snapshot is blind. ``usage`` holds what the clouds reported of last use
    (service last accessed, last authentication, sign-ins); snapshots written before it load with
    none, which says nothing about use (see :mod:`models.usage`).
    """

    id: str = field(default_factory=new_snapshot_id)
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    source: str = "live"
    label: str = ""
    scopes: tuple[Scope, ...] = ()
    principals: tuple[Principal, ...] = ()
    credentials: tuple[Credential, ...] = ()
    policies: tuple[Policy, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    resources: tuple[Resource, ...] = ()
    workloads: tuple[Workload, ...] = ()
    coverage: tuple[CoverageEntry, ...] = ()
    meta: dict[str, str] = field(default_factory=dict)
    usage: tuple[Usage, ...] = ()

    def __post_init__(self) -> None:
        require_aware("Snapshot", "created_at", self.created_at)
        for name in COLLECTIONS:
            items = getattr(self, name)
            require_tuple("Snapshot", name, items)
            keys = Counter(object_key(item) for item in items)
            duplicated = [k for k, n in keys.items() if n > 1]
            if duplicated:
                raise ModelError(f"Snapshot.{name}: duplicate ids {duplicated[:5]}")

    @property
    def gaps(self) -> tuple[CoverageEntry, ...]:
        return tuple(e for e in self.coverage if e.is_gap)

    def counts(self) -> dict[str, int]:
        return {name: len(getattr(self, name)) for name in COLLECTIONS}

    def to_json_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"format": FORMAT}
        for f in fields(self):
            data[f.name] = to_json_dict(getattr(self, f.name))
        return data

    @classmethod
    def from_json_dict(cls, data: dict[str, Any]) -> Snapshot:
        if data.get("format") != FORMAT:
            raise ModelError(f"not an iamdrift snapshot (format {data.get('format')!r}, want {FORMAT})")
        body = {k: v for k, v in data.items() if k != "format"}
        return from_json_dict(cls, body)
