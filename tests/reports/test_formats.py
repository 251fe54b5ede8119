"""JSON, table and Markdown reports of the demo estate's test findings: the shapes, the order
(most severe first), and that unknown findings, failed rules, suppressions and gaps are said."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date

from iamdrift.reports import json_report, markdown, table
from iamdrift.reports.suppressions import Suppression
from models import CoverageEntry
from simulator.findings import Severity
from tests.reports.demo import ADMIN_RULE, BROKEN_RULE, CHAIN_RULE, UNKNOWN_RULE, demo_report, demo_snapshot

FAR = date(2099, 1, 1)
FINDING_KEYS = {"id", "rule", "category", "severity", "cloud", "principal", "title", "evidence", "nhi"}


def test_json_has_the_documented_shape_most_severe_first() -> None:
    data = json.loads(json_report.render(demo_report(with_broken=True)))
    assert data["format"] == "iamdrift.findings/1" and data["snapshot"] == demo_snapshot().id
    assert data["at"] == "2025-06-02T12:00:00Z"
    findings = data["findings"]
    assert findings and all(FINDING_KEYS | {"first_seen", "last_seen"} <= set(f) for f in findings)
    ranks = [list(Severity).index(Severity(f["severity"])) for f in findings]
    assert ranks == sorted(ranks)
    summary = data["summary"]
    assert summary["findings"] == len(findings) == sum(summary["by_severity"].values())
    assert summary["by_severity"]["critical"] == sum(f["rule"] == CHAIN_RULE.id for f in findings)
    assert summary["unknown"] == sum(f["status"] == "unknown" for f in findings) == 1
    assert data["failures"] == [{"rule": BROKEN_RULE.id, "error": "RuntimeError: this rule is broken on purpose"}]
    assert summary["failures"] == 1 and data["suppressed"] == [] and data["all_suppressed"] is False
    chained = next(f for f in findings if f["rule"] == CHAIN_RULE.id)
    assert chained["chain"]["edges"] and chained["chain"]["from"] == chained["principal"]


def test_json_lists_suppressed_and_expired() -> None:
    entries = (
        Suppression(rule=ADMIN_RULE.id, principal="*", reason="ok", expires=FAR, index=1),
        Suppression(rule="escalation-path/*", principal="*", reason="old", expires=date(2020, 1, 1), index=2),
    )
    data = json.loads(json_report.render(demo_report(suppressions=entries)))
    assert data["summary"]["suppressed"] == len(data["suppressed"]) > 0
    assert {s["finding"]["rule"] for s in data["suppressed"]} == {ADMIN_RULE.id}
    assert data["suppressed"][0]["suppression"] == {
        "rule": ADMIN_RULE.id,
        "principal": "*",
        "reason": "ok",
        "expires": "2099-01-01",
    }
    (expired,) = data["expired_suppressions"]
    assert expired["suppression"]["expires"] == "2020-01-01"
    assert set(expired["findings"]) == {f["id"] for f in data["findings"] if f["rule"] == CHAIN_RULE.id}


def test_table_marks_unknown_findings_and_failures() -> None:
    text = table.render(demo_report(with_broken=True))
    lines = text.splitlines()
    assert lines[0].startswith(f"findings of snapshot {demo_snapshot().id}: ")
    rows = [line for line in lines if line.startswith(("critical", "high", "medium", "low", "info"))]
    assert [r.split()[0] for r in rows] == sorted((r.split()[0] for r in rows), key=lambda s: Severity(s).rank)
    unknown = [r for r in rows if UNKNOWN_RULE.id in r]
    assert unknown and all("UNKNOWN?" in r for r in unknown)
    assert all("UNKNOWN?" not in r for r in rows if ADMIN_RULE.id in r)
    assert f"rule FAILED {BROKEN_RULE.id}" in text


def test_table_says_when_every_finding_is_suppressed_and_when_there_are_gaps() -> None:
    everything = (Suppression(rule="*", principal="*", reason="r", expires=FAR),)
    text = table.render(demo_report(suppressions=everything))
    assert "every finding is suppressed" in text and "no findings" not in text
    gap = CoverageEntry(scope_id="222222222222", service="iam", operation="ListRoles", source="api", status="denied")
    blind = replace(demo_snapshot(), coverage=(*demo_snapshot().coverage, gap))
    text = table.render(demo_report(snapshot=blind))
    assert "gap iam ListRoles in 222222222222: the snapshot is blind there" in text
    assert "1 collection gaps" in text.splitlines()[0]


def test_markdown_summary_then_findings_with_steps_and_evidence() -> None:
    report = demo_report(with_broken=True)
    text = markdown.render(report)
    assert text.startswith(f"## iamdrift findings — snapshot `{demo_snapshot().id}`")
    assert "| critical | " in text and "| rules failed | 1 |" in text
    headings = [line for line in text.splitlines() if line.startswith("### ")]
    assert len(headings) == len(report.findings)
    severities = [h.split(": ", 1)[0].split(". ", 1)[1].lower() for h in headings]
    assert severities == sorted(severities, key=lambda s: Severity(s).rank)
    assert "1. `" in text and " by `" in text  # chain steps as a numbered list
    assert text.count("<details><summary>Evidence</summary>") >= 1
    assert text.count("<details>") == text.count("</details>")
    assert "**UNKNOWN**" in text
    # estate and rule text cannot become markup: the remediation's * and | stay literal
    assert r"\*do not\* trust \| pipes" in text


def test_markdown_fits_a_comment_and_says_what_it_left_out() -> None:
    report = demo_report()
    text = markdown.render(report, limit=6_000)
    assert len(text) <= 6_000
    shown = sum(line.startswith("### ") for line in text.splitlines())
    assert 0 < shown < len(report.findings)
    assert f"**{len(report.findings) - shown} more findings are not shown**" in text
    assert "more findings are not shown" not in markdown.render(report)


def test_markdown_escaping_and_code() -> None:
    assert markdown.escape("a*b|c<d>") == r"a\*b\|c\<d\>"
    assert markdown.code("x`y") == "``x`y``"
    assert markdown.code("plain") == "`plain`"
