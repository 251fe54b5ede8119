"""The findings report of one snapshot, and its renderings (one module per format).

A :class:`Report` holds what every format shows: the findings that stand (filtered, not
suppressed, most severe first), the suppressed ones and the suppression that hid each, the
expired suppressions, the rules that failed (what could not be checked), the snapshot's
collection gaps (where it is blind), and when each finding was first and last seen. Every format
says an unknown finding is unknown, a failed rule failed and a gap is a gap: none of them may read
as "no findings".
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from iamdrift.reports.history import History
from iamdrift.reports.suppressions import Expired, Suppressed
from models import CoverageEntry, Snapshot
from simulator.core import Edge
from simulator.findings import Finding, RuleFailure, RuleMeta, Severity
from simulator.graph import Chain

FORMATS = ("table", "json", "sarif", "markdown", "html")


def iso(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


#: How findings whose subject nobody is named to own are grouped.
NO_OWNER = "(none)"


@dataclass(frozen=True, kw_only=True)
class Report:
    """One run's findings of ``snapshot`` at request time ``at`` (see the module docstring).
    ``rules``: every rule that ran; ``filters``: what the user narrowed the report to (shown)."""

    snapshot: Snapshot
    at: datetime
    rules: tuple[RuleMeta, ...]
    findings: tuple[Finding, ...]
    suppressed: tuple[Suppressed, ...] = ()
    expired: tuple[Expired, ...] = ()
    failures: tuple[RuleFailure, ...] = ()
    history: History | None = None
    filters: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def gaps(self) -> tuple[CoverageEntry, ...]:
        return self.snapshot.gaps

    @property
    def all_suppressed(self) -> bool:
        """Every finding there was is suppressed (to be said, never shown as a silent zero)."""
        return not self.findings and bool(self.suppressed)

    def counts(self) -> dict[str, int]:
        """Standing findings by severity, every severity present, most severe first."""
        by = Counter(f.severity for f in self.findings)
        return {s.value: by[s] for s in Severity}

    def summary(self) -> dict[str, Any]:
        return {
            "findings": len(self.findings),
            "by_severity": self.counts(),
            "unknown": sum(f.unknown for f in self.findings),
            "suppressed": len(self.suppressed),
            "expired_suppressions": len(self.expired),
            "failures": len(self.failures),
            "rules": len(self.rules),
            "gaps": len(self.gaps),
            "by_owner": self.by_owner(),
        }

    def by_owner(self) -> dict[str, int]:
        """Standing findings per owner (``(none)``: no tag, label or Entra owner names one), most first."""
        by = Counter(f.owner or NO_OWNER for f in self.findings)
        return dict(sorted(by.items(), key=lambda kv: (-kv[1], kv[0])))

    def seen(self, finding: Finding) -> tuple[str | None, str | None]:
        """``(first_seen, last_seen)`` ISO times, None when the history has no record of it."""
        kept = self.history.seen.get(finding.id) if self.history else None
        return (iso(kept.first), iso(kept.last)) if kept else (None, None)

    def summary_line(self) -> str:
        """One sentence: what was found, what was hidden, what could not be checked."""
        counts = ", ".join(f"{n} {s}" for s, n in self.counts().items() if n)
        parts = [f"{len(self.findings)} findings" + (f" ({counts})" if counts else "")]
        unknown = sum(f.unknown for f in self.findings)
        if unknown:
            parts.append(f"{unknown} of them unknown (resting on an unproven answer or edge)")
        if self.suppressed:
            parts.append(f"{len(self.suppressed)} suppressed")
        if self.expired:
            parts.append(f"{len(self.expired)} expired suppressions not honoured")
        if self.failures:
            parts.append(f"{len(self.failures)} rules FAILED (their findings are missing)")
        if self.gaps:
            parts.append(f"{len(self.gaps)} collection gaps (the snapshot is blind there)")
        line = "; ".join(parts)
        if self.all_suppressed:
            line += f". Every finding of this run is suppressed ({len(self.suppressed)})"
        return line


@dataclass(frozen=True, kw_only=True)
class Step:
    """One edge of a chain, for people: ``source`` —``mechanism``→ ``target``."""

    source: str
    target: str
    mechanism: str
    proven: bool
    condition: str | None


def steps(chain: Chain) -> tuple[Step, ...]:
    return tuple(_step(e) for e in chain.edges)


def _step(edge: Edge) -> Step:
    return Step(
        source=edge.source,
        target=edge.target,
        mechanism=edge.mechanism,
        proven=edge.status.value == "proven",
        condition=edge.condition,
    )


def status(finding: Finding) -> str:
    return "unknown" if finding.unknown else "proven"


__all__ = ["FORMATS", "NO_OWNER", "Report", "Step", "iso", "status", "steps"]
