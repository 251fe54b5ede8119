"""The suppressions file: what it accepts, what it refuses (one error naming the file), and how
entries hide findings of the demo estate, expired ones hiding nothing."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from iamdrift.reports.suppressions import Suppression, SuppressionError, apply_suppressions, load_suppressions
from tests.reports.demo import ADMIN_RULE, CHAIN_RULE, TODAY, demo_report

GOOD = """
[[suppress]]
rule = "excess-privilege/*"
principal = "arn:aws:iam::111111111111:*"
reason = "break-glass admins of the management account (SEC-1)"
expires = 2025-12-31

[[suppress]]
rule = "escalation-path/test-chain-to-admin"
reason = "old entry"
expires = 2025-01-31
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "suppressions.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_good_file_loads_with_defaults(tmp_path: Path) -> None:
    first, second = load_suppressions(write(tmp_path, GOOD))
    assert first.rule == "excess-privilege/*" and first.expires == date(2025, 12, 31) and first.index == 1
    assert second.principal == "*" and second.index == 2  # principal defaults to every principal
    assert load_suppressions(write(tmp_path, "")) == ()


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("[[suppress]\nrule=", "not valid TOML"),
        ('[[suppress]]\nrule = "a/b"\nexpires = 2026-01-01\n', "reason must be a non-empty string"),
        ('[[suppress]]\nrule = "a/b"\nreason = "r"\nexpires = "2026-01-01"\n', "expires must be a TOML date"),
        ('[[suppress]]\nrule = "a/b"\nreason = "r"\nexpires = 2026-01-01T10:00:00\n', "expires must be a TOML date"),
        ('[[suppress]]\nrule = "a/b"\nreason = "r"\nexpires = 2026-01-01\nprincipals = "x"\n', "unknown key"),
        ('[[suppress]]\nreason = "r"\nexpires = 2026-01-01\n', "rule must be a non-empty string"),
        ('[[ignore]]\nrule = "a/b"\n', "unknown tables"),
        ('suppress = "everything"\n', "array of tables"),
    ],
)
def test_a_bad_file_is_one_error_naming_the_file(tmp_path: Path, text: str, says: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(SuppressionError) as caught:
        load_suppressions(path)
    assert str(path) in str(caught.value) and says in str(caught.value)


def test_a_missing_file_is_an_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(SuppressionError, match=r"cannot read the suppressions file .*nope\.toml"):
        load_suppressions(tmp_path / "nope.toml")


def test_suppressions_hide_what_they_match_and_expired_ones_hide_nothing(tmp_path: Path) -> None:
    entries = load_suppressions(write(tmp_path, GOOD))
    plain = demo_report()
    report = demo_report(suppressions=entries)
    hidden = {s.finding.id for s in report.suppressed}
    admins = [f for f in plain.findings if f.rule is ADMIN_RULE]
    mgmt = {f.id for f in admins if f.principal.startswith("arn:aws:iam::111111111111:")}
    assert mgmt and hidden == mgmt  # only the management account's admins
    assert all(s.by.index == 1 for s in report.suppressed)
    assert any(f.rule is ADMIN_RULE for f in report.findings)  # other admins stand
    # the expired entry matches every chain finding and hides none of them
    (expired,) = report.expired
    assert expired.suppression.index == 2
    chains = {f.id for f in plain.findings if f.rule is CHAIN_RULE}
    assert {f.id for f in expired.findings} == chains
    assert chains <= {f.id for f in report.findings}
    assert len(report.findings) + len(report.suppressed) == len(plain.findings)


def test_a_suppression_holds_through_its_expiry_day() -> None:
    entry = Suppression(rule="*", principal="*", reason="r", expires=TODAY)
    applied = apply_suppressions(demo_report().findings, [entry], TODAY)
    assert not applied.kept and not applied.expired
    later = apply_suppressions(demo_report().findings, [entry], date(2025, 6, 3))
    assert not later.suppressed and later.expired[0].suppression is entry


def test_every_finding_suppressed_is_said() -> None:
    report = demo_report(suppressions=(Suppression(rule="*", principal="*", reason="r", expires=date(2099, 1, 1)),))
    assert report.all_suppressed and not report.findings
    assert "Every finding of this run is suppressed" in report.summary_line()
    assert not demo_report().all_suppressed
