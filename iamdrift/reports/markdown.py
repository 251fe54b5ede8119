"""Markdown for a pull-request comment: a summary table (counts by severity, suppressed, failed
rules, gaps), then each finding, most severe first, its chain as a numbered list of steps and its
evidence in a collapsed ``<details>``. Text from the estate is escaped so it cannot turn into
markup (ids with ``*``, ``|`` or ``<`` stay literal)."""

from __future__ import annotations

import json
import re

from iamdrift.reports import Report, steps
from iamdrift.reports.json_report import plain
from simulator.findings import Finding

_SPECIAL = re.compile(r"([\\`*_\[\]|<>~])")


def escape(text: str) -> str:
    """Literal text in Markdown (and in a table cell): the characters that make emphasis, code, links,
    HTML, strike-through and table cells backslashed (a line never starts with estate text, so
    heading and list markers need nothing)."""
    return _SPECIAL.sub(r"\\\1", text).replace("\n", " ")


def code(text: str) -> str:
    """Inline code that holds any text (backticks in it are fenced with longer runs)."""
    fence = "`" * (max((len(m) for m in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text.replace(chr(10), ' ')}{pad}{fence}"


def _finding(report: Report, number: int, finding: Finding) -> list[str]:
    badge = "**UNKNOWN** — rests on an unproven answer or edge; " if finding.unknown else ""
    first, _ = report.seen(finding)
    lines = [
        f"### {number}. {finding.severity.value.upper()}: {escape(finding.sentence)}",
        "",
        f"{badge}rule {code(finding.rule.id)} · {finding.cloud.value if finding.cloud else 'multi-cloud'} · "
        f"principal {code(finding.principal)} · NHI {', '.join(n.value for n in finding.rule.nhi)}"
        + (f" · first seen {first}" if first else "")
        + f" · id {code(finding.id)}",
        "",
    ]
    if finding.chain is not None:
        lines.append(f"Chain from {code(finding.chain.source)}:")
        lines.append("")
        for i, step in enumerate(steps(finding.chain), start=1):
            state = "" if step.proven else " **(unknown)**"
            cond = f" — condition: {escape(step.condition)}" if step.condition else ""
            lines.append(f"{i}. {code(step.source)} → {code(step.target)} by {code(step.mechanism)}{state}{cond}")
        lines.append("")
    lines.append(f"**Fix:** {escape(finding.rule.remediation)}")
    lines.append("")
    if finding.evidence or finding.shown_witness is not None:
        lines += ["<details><summary>Evidence</summary>", ""]
        for evidence in finding.evidence:
            source = f" ({code(evidence.source)})" if evidence.source else ""
            lines.append(f"- {escape(evidence.what)}{source}")
            if evidence.document is not None:
                lines += ["", "  ```json", *("  " + line for line in _json(evidence.document).splitlines()), "  ```"]
        witness = finding.shown_witness
        if witness is not None:
            lines += ["- witness request:", "", "  ```json"]
            lines += ["  " + line for line in _json(witness.to_json()).splitlines()]
            lines.append("  ```")
        lines += ["", "</details>", ""]
    return lines


def _json(value: object) -> str:
    return json.dumps(value, indent=2, default=plain).replace("```", "`\u200b``")


#: GitHub refuses a comment longer than 65,536 characters; findings past this budget are counted, not shown.
LIMIT = 60_000
SUPPRESSED_LISTED = 50


def render(report: Report, *, limit: int = LIMIT) -> str:
    """The comment, at most about ``limit`` characters: the summary always, then as many findings
    (most severe first) as fit, then a line saying how many more there are."""
    summary = report.summary()
    lines = [
        f"## iamdrift findings — snapshot {code(report.snapshot.id)}",
        "",
        escape(report.summary_line()) + ".",
        "",
        "| severity | findings |",
        "| --- | ---: |",
        *(f"| {severity} | {n} |" for severity, n in report.counts().items()),
        f"| unknown (of the above) | {summary['unknown']} |",
        f"| suppressed | {summary['suppressed']} |",
        f"| expired suppressions | {summary['expired_suppressions']} |",
        f"| rules failed | {summary['failures']} |",
        f"| collection gaps | {summary['gaps']} |",
        "",
    ]
    if report.all_suppressed:
        lines += [f"> **Every finding of this run is suppressed** ({len(report.suppressed)}).", ""]
    if report.failures:
        lines += ["> **Rules that failed** (their findings are missing):", ">"]
        lines += [f"> - {code(f.rule)}: {escape(f.error)}" for f in report.failures]
        lines.append("")
    if report.gaps:
        lines += ["> **Collection gaps**: the snapshot is blind there, findings may be missing:", ">"]
        lines += [f"> - {escape(g.service)} {code(g.operation)} in {code(g.scope_id)}" for g in report.gaps]
        lines.append("")
    for expired in report.expired:
        s = expired.suppression
        lines.append(
            f"> Expired suppression #{s.index} ({code(s.rule)} / {code(s.principal)}, {s.expires.isoformat()}) is not "
            f"honoured: {len(expired.findings)} findings."
        )
    if report.expired:
        lines.append("")
    tail: list[str] = []
    if report.suppressed:
        listed = report.suppressed[:SUPPRESSED_LISTED]
        tail += [f"<details><summary>{len(report.suppressed)} suppressed</summary>", ""]
        tail += [
            f"- {code(s.finding.rule.id)} {code(s.finding.principal)}: {escape(s.by.reason)} "
            f"(until {s.by.expires.isoformat()})"
            for s in listed
        ]
        if len(listed) < len(report.suppressed):
            tail.append(f"- and {len(report.suppressed) - len(listed)} more")
        tail += ["", "</details>", ""]
    size = sum(len(line) + 1 for line in lines + tail) + 200
    for number, finding in enumerate(report.findings, start=1):
        block = _finding(report, number, finding)
        cost = sum(len(line) + 1 for line in block)
        if size + cost > limit:
            rest = len(report.findings) - number + 1
            lines += [
                f"**{rest} more findings are not shown** (a comment holds {limit:,} characters): "
                "`iamdrift findings --format html` or `--format json` has them all.",
                "",
            ]
            break
        lines += block
        size += cost
    return "\n".join(lines + tail).rstrip() + "\n"


__all__ = ["code", "escape", "render"]
