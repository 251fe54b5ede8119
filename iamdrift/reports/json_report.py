"""The JSON report (``findings --format json``)::

    {"format": "iamdrift.findings/1", "snapshot", "at",
     "summary": {"findings", "by_severity": {critical..info}, "unknown", "suppressed",
                 "expired_suppressions", "failures", "rules", "gaps"},
     "history": {"snapshots", "evaluated"},
     "filters": {...}, "all_suppressed": bool,
     "findings": [Finding.to_json() + {"first_seen", "last_seen"}],
     "failures": [{"rule", "error"}], "gaps": [...],
     "suppressed": [{"finding": FINDING, "suppression": {...}}],
     "expired_suppressions": [{"suppression": {...}, "findings": [id...]}]}

``first_seen`` / ``last_seen`` are ISO times of the earliest / latest evaluated snapshot holding the
finding (see :mod:`iamdrift.reports.history`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from iamdrift.render import gap_dict
from iamdrift.reports import Report, iso
from simulator.findings import Finding

FORMAT = "iamdrift.findings/1"


def finding_json(report: Report, finding: Finding) -> dict[str, Any]:
    first, last = report.seen(finding)
    return {**finding.to_json(), "first_seen": first, "last_seen": last}


def report_json(report: Report) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "snapshot": report.snapshot.id,
        "at": iso(report.at),
        "summary": report.summary(),
        "history": report.history.to_json() if report.history else None,
        "filters": {k: list(v) for k, v in report.filters.items()},
        "all_suppressed": report.all_suppressed,
        "findings": [finding_json(report, f) for f in report.findings],
        "failures": [f.to_json() for f in report.failures],
        "gaps": [gap_dict(g) for g in report.gaps],
        "suppressed": [
            {"finding": finding_json(report, s.finding), "suppression": s.by.to_json()} for s in report.suppressed
        ],
        "expired_suppressions": [
            {"suppression": e.suppression.to_json(), "findings": [f.id for f in e.findings]} for e in report.expired
        ],
    }


def plain(value: Any) -> Any:
    """For ``json.dumps``: read-only mappings and sets as JSON objects and arrays."""
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=str)
    return str(value)


def render(report: Report) -> str:
    return json.dumps(report_json(report), indent=2, default=plain) + "\n"


__all__ = ["FORMAT", "finding_json", "plain", "render", "report_json"]
