"""SARIF 2.1.0 (``findings --format sarif``), shaped for GitHub code scanning.

- ``tool.driver.rules``: every rule that ran (not only those with results, so an alert closes
  when its problem is gone), with ``shortDescription`` (title), ``fullDescription`` (rationale),
  ``help`` (remediation), ``defaultConfiguration.level`` and ``properties``: ``security-severity``
  (GitHub's 0-10 scale: critical 9.5, high 8.0, medium 5.5, low 3.0, info 1.0), ``precision``
  and ``tags`` (``security``, the category, each OWASP NHI item as ``NHI5``, and
  ``NHI5: Overprivileged NHI``).
- each result: ``ruleId``/``ruleIndex``, ``level`` (critical/high: error, medium: warning,
  low/info: note), ``message`` (the finding's sentence, ``[unknown]`` first when it rests on an
  unproven answer), ``partialFingerprints`` ``{"iamdriftFindingId/v1": id}`` (the finding's stable
  fingerprint), and one location: a physical location whose ``artifactLocation.uri`` is
  ``iamdrift://CLOUD/SUBJECT`` (IAM objects have no file; ``multi`` for a finding across clouds)
  with ``region.startLine`` 1, plus a logical location naming the subject.
- suppressed findings are results too, with a SARIF ``suppressions`` entry (kind ``external``,
  status ``accepted``, the reason as justification), so a viewer hides them and says why.
- ``invocations[0]``: ``executionSuccessful`` is false when a rule failed; failed rules and
  collection gaps are ``toolExecutionNotifications`` (error / warning).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from iamdrift import __version__
from iamdrift.reports import Report, iso, steps
from iamdrift.reports.json_report import plain
from iamdrift.reports.suppressions import Suppression
from simulator.findings import Finding, RuleMeta, Severity

SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
FINGERPRINT = "iamdriftFindingId/v1"
SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFO: "1.0",
}
LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}


def rule_name(rule_id: str) -> str:
    """``risky-trust/oidc-subject-not-pinned`` -> ``RiskyTrustOidcSubjectNotPinned``."""
    return "".join(part.capitalize() for part in rule_id.replace("/", "-").split("-"))


def subject_uri(finding: Finding) -> str:
    cloud = finding.cloud.value if finding.cloud is not None else "multi"
    return f"iamdrift://{cloud}/{quote(finding.subject, safe=':/@.-_')}"


def descriptor(rule: RuleMeta) -> dict[str, Any]:
    nhi = [n.value for n in rule.nhi] + [f"{n.value}: {n.label}" for n in rule.nhi]
    return {
        "id": rule.id,
        "name": rule_name(rule.id),
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": rule.rationale},
        "help": {
            "text": rule.remediation,
            "markdown": f"**{rule.title}**\n\n{rule.rationale}\n\n**Remediation:** {rule.remediation}",
        },
        "defaultConfiguration": {"level": LEVEL[rule.severity]},
        "properties": {
            "security-severity": SECURITY_SEVERITY[rule.severity],
            "precision": "high",
            "tags": ["security", rule.category.value, *nhi],
        },
    }


def result(finding: Finding, index: int, report: Report, suppression: Suppression | None = None) -> dict[str, Any]:
    first, last = report.seen(finding)
    text = ("[unknown] " if finding.unknown else "") + finding.sentence
    if finding.chain is not None:
        text += " Chain: " + " → ".join([finding.chain.source, *(s.target for s in steps(finding.chain))]) + "."
    out: dict[str, Any] = {
        "ruleId": finding.rule.id,
        "ruleIndex": index,
        "level": LEVEL[finding.severity],
        "message": {"text": text},
        "partialFingerprints": {FINGERPRINT: finding.id},
        "locations": [
            {
                "physicalLocation": {"artifactLocation": {"uri": subject_uri(finding)}, "region": {"startLine": 1}},
                "logicalLocations": [{"name": finding.subject, "fullyQualifiedName": finding.subject}],
            }
        ],
        "properties": {
            "findingId": finding.id,
            "status": "unknown" if finding.unknown else "proven",
            "principal": finding.principal,
            "cloud": finding.cloud.value if finding.cloud is not None else None,
            "firstSeen": first,
            "lastSeen": last,
            "finding": finding.to_json(),
        },
    }
    if suppression is not None:
        out["suppressions"] = [
            {
                "kind": "external",
                "status": "accepted",
                "justification": f"{suppression.reason} (until {suppression.expires.isoformat()})",
            }
        ]
    return out


def notifications(report: Report) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [
        {
            "descriptor": {"id": failure.rule},
            "level": "error",
            "message": {"text": f"rule {failure.rule} failed; its findings are missing: {failure.error}"},
        }
        for failure in report.failures
    ]
    out += [
        {
            "descriptor": {"id": "collection-gap"},
            "level": "warning",
            "message": {
                "text": f"collection gap: {gap.service} {gap.operation} in {gap.scope_id} ({gap.status}); "
                f"the snapshot is blind there{': ' + gap.detail if gap.detail else ''}"
            },
        }
        for gap in report.gaps
    ]
    out += [
        {
            "descriptor": {"id": "expired-suppression"},
            "level": "warning",
            "message": {
                "text": f"suppression {e.suppression.index} ({e.suppression.rule} / {e.suppression.principal}) "
                f"expired on {e.suppression.expires.isoformat()} and is not honoured ({len(e.findings)} findings)"
            },
        }
        for e in report.expired
    ]
    return out


def sarif(report: Report) -> dict[str, Any]:
    rules = {rule.id: rule for rule in report.rules}
    for finding in (*report.findings, *(s.finding for s in report.suppressed)):
        rules.setdefault(finding.rule.id, finding.rule)
    index = {rule_id: i for i, rule_id in enumerate(rules)}
    results = [result(f, index[f.rule.id], report) for f in report.findings]
    results += [result(s.finding, index[s.finding.rule.id], report, s.by) for s in report.suppressed]
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "iamdrift",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "rules": [descriptor(rule) for rule in rules.values()],
                    }
                },
                # GitHub's category is what precedes the last "/": stable, so alerts carry over between runs.
                "automationDetails": {"id": f"iamdrift/findings/{report.snapshot.id}"},
                "invocations": [
                    {
                        "executionSuccessful": not report.failures,
                        "toolExecutionNotifications": notifications(report),
                    }
                ],
                "results": results,
                "properties": {"snapshot": report.snapshot.id, "at": iso(report.at), "summary": report.summary()},
            }
        ],
    }


def render(report: Report) -> str:
    return json.dumps(sarif(report), indent=2, default=plain) + "\n"


__all__ = ["FINGERPRINT", "SCHEMA", "render", "rule_name", "sarif", "subject_uri"]
