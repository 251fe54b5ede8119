"""When each finding was first and last seen, across the store's snapshots.

Each ``findings`` run keeps, as the ``findings`` artifact of its snapshot, the ids of every finding
the rules produced (before filters and suppressions, so the record does not depend on how the run
was asked) with the snapshot's time. A finding's ``first_seen`` / ``last_seen`` are the creation
times of the earliest / latest *evaluated* snapshot whose record holds its id — older and newer
than the one reported on, so a report on an old snapshot says whether the problem is still there.

A snapshot never evaluated (no ``findings`` run on it) has no record and is not evaluated now (that
would build its graph): it counts as neither seen nor not seen, so ``first_seen`` is a bound — the
problem may be older than the first evaluated snapshot. :class:`History` says how many of the
store's snapshots were evaluated, so a report can say so.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from models import Snapshot
from models.store import Store
from simulator.findings import Finding

KIND = "findings"
KEY = "all-rules"
FORMAT = "iamdrift.findings-record/1"


@dataclass(frozen=True, kw_only=True)
class Seen:
    """The first and last evaluated snapshot (id, time) holding a finding."""

    first: datetime
    first_snapshot: str
    last: datetime
    last_snapshot: str


@dataclass(frozen=True, kw_only=True)
class History:
    """``seen`` by finding id; ``snapshots``: how many the store holds; ``evaluated``: how many of
    them have a findings record (this one included)."""

    seen: Mapping[str, Seen]
    snapshots: int
    evaluated: int

    def to_json(self) -> dict[str, int]:
        return {"snapshots": self.snapshots, "evaluated": self.evaluated}


def record(store: Store, snapshot: Snapshot, at: datetime, findings: Iterable[Finding], rules: Iterable[str]) -> None:
    """Keep this run's finding ids as the snapshot's findings record (replacing an earlier one)."""
    payload = {
        "format": FORMAT,
        "snapshot": snapshot.id,
        "created_at": snapshot.created_at.isoformat(),
        "at": at.isoformat(),
        "rules": sorted(rules),
        "findings": sorted(f.id for f in findings),
    }
    store.save_artifact(snapshot.id, KIND, KEY, json.dumps(payload), at=at)


def history(store: Store, ids: Iterable[str]) -> History:
    """First and last seen of ``ids`` over every evaluated snapshot of ``store`` (module docstring)."""
    wanted = set(ids)
    seen: dict[str, Seen] = {}
    summaries = store.list()
    evaluated = 0
    for summary in sorted(summaries, key=lambda s: (s.created_at, s.id)):
        kept = store.load_artifact(summary.id, KIND, KEY)
        if kept is None:
            continue
        found = _ids(kept[1])
        if found is None:
            continue
        evaluated += 1
        for finding_id in wanted & found:
            earlier = seen.get(finding_id)
            seen[finding_id] = Seen(
                first=earlier.first if earlier else summary.created_at,
                first_snapshot=earlier.first_snapshot if earlier else summary.id,
                last=summary.created_at,
                last_snapshot=summary.id,
            )
    return History(seen=seen, snapshots=len(summaries), evaluated=evaluated)


def _ids(payload: str) -> set[str] | None:
    """The ids of a record, None for one this version cannot read (then the snapshot counts as not evaluated)."""
    try:
        data: Any = json.loads(payload)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("findings"), list):
        return None
    return {str(i) for i in data["findings"]}


__all__ = ["KIND", "History", "Seen", "history", "record"]
