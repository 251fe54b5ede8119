"""Human-readable renderings of snapshots and their summaries, and the console they are printed on.

Text that comes from the estate (ids, names, labels, policy text, error details) is never read as
rich markup or emoji: the consoles made here parse neither, and styling is applied with
:class:`rich.text.Text` spans. On a terminal, tables fit the window and long cells wrap; piped or
redirected, lines are never wrapped, cut or padded (tables become plain columns separated by two
spaces), so ids survive ``grep`` and ``cut`` whole.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Sequence
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table
from rich.text import Text

from models import CoverageEntry, Snapshot
from models.store import SnapshotSummary
from scanner import SKIPPED_FILES_META

Cell = str | Text


def console(*, stderr: bool = False) -> Console:
    """A console on stdout (or stderr) that reads no markup or emoji; it never wraps when piped."""
    out = Console(stderr=stderr, markup=False, emoji=False, highlight=False)
    if out.is_terminal:
        return out
    return Console(stderr=stderr, markup=False, emoji=False, highlight=False, soft_wrap=True)


def echo_json(data: Any) -> None:
    """``data`` as indented JSON on stdout, a newline after it (``json.dumps(indent=2)``'s layout;
    text other than ASCII is written as UTF-8, not escaped)."""
    sys.stdout.flush()
    sys.stdout.buffer.write(orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE))
    sys.stdout.flush()


def styled(*parts: str | tuple[str, str]) -> Text:
    """Literal text with styled spans: ``styled(("allowed", "bold"), ": ", principal)``."""
    return Text.assemble(*parts)


def print_table(
    out: Console,
    columns: Sequence[str],
    rows: Sequence[Sequence[Cell]],
    *,
    right: Sequence[str] = (),
    title: str | None = None,
    row_styles: Sequence[str] | None = None,
) -> None:
    """A table: rich's on a terminal (cells fold rather than being cut), plain columns when piped."""
    if not out.is_terminal:
        _print_plain_table(out, columns, rows, right=right, title=title)
        return
    table = Table(show_header=True, header_style="bold", box=None, title=title, title_justify="left")
    for column in columns:
        table.add_column(column, justify="right" if column in right else "left", overflow="fold")
    for index, row in enumerate(rows):
        style = row_styles[index] if row_styles else None
        table.add_row(*(cell if isinstance(cell, Text) else Text(cell) for cell in row), style=style or None)
    out.print(table)


def _print_plain_table(
    out: Console, columns: Sequence[str], rows: Sequence[Sequence[Cell]], *, right: Sequence[str], title: str | None
) -> None:
    texts = [list(columns)] + [[cell.plain if isinstance(cell, Text) else cell for cell in row] for row in rows]
    widths = [max(len(line[i]) for line in texts) for i in range(len(columns))]
    if title:
        out.print(title)
    for line in texts:
        cells = [
            value.rjust(width) if column in right else value.ljust(width)
            for column, value, width in zip(columns, line, widths, strict=True)
        ]
        out.print("  ".join(cells).rstrip())


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


def print_snapshot(out: Console, snapshot: Snapshot, *, coverage: bool = False) -> None:
    label = f"  label: {snapshot.label}" if snapshot.label else ""
    when = f"{snapshot.created_at:%Y-%m-%d %H:%M:%S %Z}"
    out.print(styled((f"snapshot {snapshot.id}", "bold"), f"  {when}  source: {snapshot.source}{label}"))
    summary = snapshot_summary_dict(snapshot)
    rows = [
        (name, str(count), ", ".join(f"{k} {n}" for k, n in sorted(summary["kinds"].get(name, {}).items())))
        for name, count in summary["counts"].items()
        if name != "coverage"
    ]
    print_table(out, ("collection", "count", "by kind"), rows, right=("count",))
    if coverage:
        print_coverage(out, snapshot.coverage)
    print_gaps(out, snapshot.gaps)
    skipped = snapshot.meta.get(SKIPPED_FILES_META)
    if skipped:
        out.print(f"not read (not an export iamdrift recognises): {skipped}")


def print_coverage(out: Console, entries: tuple[CoverageEntry, ...]) -> None:
    columns = ("scope", "source", "service", "operation", "region", "status", "items")
    rows = [
        (e.scope_id, e.source, e.service, e.operation, e.region or "-", str(e.status), str(e.items)) for e in entries
    ]
    print_table(
        out, columns, rows, right=("items",), title="coverage", row_styles=["red" if e.is_gap else "" for e in entries]
    )


def print_gaps(out: Console, gaps: tuple[CoverageEntry, ...]) -> None:
    if not gaps:
        out.print("coverage: complete, every read succeeded")
        return
    out.print(
        styled(
            (f"{len(gaps)} coverage gap(s)", "bold red"), ": these parts were not seen; nothing is concluded about them"
        )
    )
    for gap in gaps:
        where = gap.scope_id + (f" {gap.region}" if gap.region else "")
        out.print(styled("  ", (str(gap.status), "red"), f" {where} {gap.service}:{gap.operation}  {gap.detail}"))


def print_snapshot_list(out: Console, items: list[SnapshotSummary]) -> None:
    if not items:
        out.print("no snapshots yet; run `iamdrift scan` (or `iamdrift demo`)")
        return
    numbers = ("principals", "policies", "credentials", "gaps")
    rows = [
        (
            s.id,
            f"{s.created_at:%Y-%m-%d %H:%M:%S}",
            s.source,
            s.label,
            *(str(s.counts.get(name, 0)) for name in numbers[:3]),
            str(s.gaps),
        )
        for s in items
    ]
    print_table(out, ("id", "created", "source", "label", *numbers), rows, right=numbers)


def summary_list_dict(item: SnapshotSummary) -> dict[str, Any]:
    return {
        "id": item.id,
        "created_at": item.created_at.isoformat(),
        "source": item.source,
        "label": item.label,
        "counts": item.counts,
        "gaps": item.gaps,
    }
