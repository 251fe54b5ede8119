"""The table report (the default of ``findings``): a summary line, then one row per finding, most
severe first; an unknown finding's status is ``UNKNOWN?`` in bold. Below it: rules that failed,
collection gaps, expired suppressions, and — when every finding is suppressed — a line saying so."""

from __future__ import annotations

import io

from rich.console import Console
from rich.text import Text

from iamdrift import render as rendering
from iamdrift.reports import Report
from simulator.findings import Severity

STYLES = {
    Severity.CRITICAL: "bold red",
    Severity.HIGH: "red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}


def print_report(out: Console, report: Report, *, limit: int | None = None, compact: bool = False) -> None:
    """The report on ``out`` (the first ``limit`` findings when given; a line says how many more);
    ``compact`` leaves out the principal column (the sentence names it)."""
    out.print(rendering.styled((f"findings of snapshot {report.snapshot.id}", "bold"), f": {report.summary_line()}"))
    shown = report.findings if limit is None else report.findings[:limit]
    rows = []
    for finding in shown:
        marker = Text("UNKNOWN?", style="bold magenta") if finding.unknown else Text("proven")
        rows.append(
            (
                Text(finding.severity.value, style=STYLES[finding.severity]),
                marker,
                finding.rule.id,
                finding.cloud.value if finding.cloud is not None else "multi",
                *(() if compact else (finding.principal,)),
                finding.sentence,
            )
        )
    columns = ("severity", "status", "rule", "cloud", *(() if compact else ("principal",)), "finding")
    if rows:
        rendering.print_table(out, columns, rows)
    if len(shown) < len(report.findings):
        out.print(f"  ... and {len(report.findings) - len(shown)} more: `iamdrift findings` lists them all")
    for failure in report.failures:
        out.print(rendering.styled(("rule FAILED", "bold red"), f" {failure.rule}: {failure.error} (not checked)"))
    for gap in report.gaps:
        where = f"{gap.service} {gap.operation} in {gap.scope_id}"
        out.print(
            rendering.styled(("gap", "bold yellow"), f" {where}: the snapshot is blind there, findings may be missing")
        )
    for expired in report.expired:
        s = expired.suppression
        out.print(
            rendering.styled(("expired suppression", "bold yellow"), f" #{s.index} {s.rule} / {s.principal}")
            + Text(f" expired {s.expires.isoformat()}, not honoured ({len(expired.findings)} findings): {s.reason}")
        )
    if report.all_suppressed:
        out.print(
            rendering.styled(
                ("every finding is suppressed", "bold"), f": {len(report.suppressed)} hidden by the suppressions file"
            )
        )
    elif not report.findings and not report.failures:
        out.print("no findings" + (" (but see the gaps above)" if report.gaps else ""))


def render(report: Report) -> str:
    """The table as plain text (for ``--output``)."""
    buffer = io.StringIO()
    print_report(Console(file=buffer, markup=False, emoji=False, highlight=False, soft_wrap=True), report)
    return buffer.getvalue()


__all__ = ["print_report", "render"]
