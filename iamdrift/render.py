"""Human-readable renderings of snapshots and their summaries (rich tables on a console)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from rich.console import Console
from rich.table import Table

from models import CoverageEntry, Snapshot
from models.store import SnapshotSummary


def snapshot_summary_dict(snapshot: Snapshot) -> dict[str, Any]:
    return {
        "id": snapshot.id,
        "created_at": snapshot.created_at.isoformat(),
        "source": snapshot.source,
        "label": snapshot.label,
        "counts": snapshot.counts(),
        "kinds": {
            "scopes": dict(Counter(str(s.kind) for s in snapshot.scopes)),
            "principals": dict(Counter(str(p.kind) for p in snapshot.principals)),
            "credentials": dict(Counter(str(c.kind) for c in snapshot.credentials)),
            "policies": dict(Counter(str(p.kind) for p in snapshot.policies)),
            "workloads": dict(Counter(str(w.kind) for w in snapshot.workloads)),
        },
        "gaps": [gap_dict(g) for g in snapshot.gaps],
        "meta": snapshot.meta,
    }


def gap_dict(entry: CoverageEntry) -> dict[str, Any]:
    return {
        "scope": entry.scope_id,
        "service": entry.service,
        "operation": entry.operation,
        "region": entry.region,
        "status": str(entry.status),
        "detail": entry.detail,
    }


def print_snapshot(console: Console, snapshot: Snapshot, *, coverage: bool = False) -> None:
    label = f"  label: {snapshot.label}" if snapshot.label else ""
    when = f"{snapshot.created_at:%Y-%m-%d %H:%M:%S %Z}"
    console.print(f"[bold]snapshot {snapshot.id}[/bold]  {when}  source: {snapshot.source}{label}")
    summary = snapshot_summary_dict(snapshot)
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    table.add_column("collection")
    table.add_column("count", justify="right")
    table.add_column("by kind")
    for name, count in summary["counts"].items():
        if name == "coverage":
            continue
        kinds = summary["kinds"].get(name, {})
        table.add_row(name, str(count), ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())))
    console.print(table)
    if coverage:
        print_coverage(console, snapshot.coverage)
    print_gaps(console, snapshot.gaps)


def print_coverage(console: Console, entries: tuple[CoverageEntry, ...]) -> None:
    table = Table(title="coverage", show_header=True, header_style="bold", box=None, title_justify="left")
    for column in ("scope", "source", "service", "operation", "region", "status", "items"):
        table.add_column(column, justify="right" if column == "items" else "left")
    for e in entries:
        style = "" if not e.is_gap else "red"
        table.add_row(
            e.scope_id, e.source, e.service, e.operation, e.region or "-", str(e.status), str(e.items), style=style
        )
    console.print(table)


def print_gaps(console: Console, gaps: tuple[CoverageEntry, ...]) -> None:
    if not gaps:
        console.print("coverage: complete, every read succeeded")
        return
    console.print(
        f"[bold red]{len(gaps)} coverage gap(s)[/bold red]: these parts were not seen; nothing is concluded about them"
    )
    for gap in gaps:
        where = gap.scope_id + (f" {gap.region}" if gap.region else "")
        console.print(f"  [red]{gap.status}[/red] {where} {gap.service}:{gap.operation}  {gap.detail}", highlight=False)


def print_snapshot_list(console: Console, items: list[SnapshotSummary]) -> None:
    if not items:
        console.print("no snapshots yet; run `iamdrift scan` (or `iamdrift demo`)")
        return
    table = Table(show_header=True, header_style="bold", box=None)
    for column in ("id", "created", "source", "label", "principals", "policies", "credentials", "gaps"):
        table.add_column(
            column, justify="right" if column in ("principals", "policies", "credentials", "gaps") else "left"
        )
    for s in items:
        table.add_row(
            s.id,
            f"{s.created_at:%Y-%m-%d %H:%M:%S}",
            s.source,
            s.label,
            str(s.counts.get("principals", 0)),
            str(s.counts.get("policies", 0)),
            str(s.counts.get("credentials", 0)),
            str(s.gaps),
        )
    console.print(table)


def summary_list_dict(item: SnapshotSummary) -> dict[str, Any]:
    return {
        "id": item.id,
        "created_at": item.created_at.isoformat(),
        "source": item.source,
        "label": item.label,
        "counts": item.counts,
        "gaps": item.gaps,
    }
