"""The rule catalogue: every rule's metadata is checked when it loads, ids are unique and stable,
and a rule that fails is reported, never taken for "no findings"."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from models import Cloud, Snapshot
from simulator.engines import open_estate
from simulator.findings import (
    Category,
    Context,
    Finding,
    Nhi,
    Rule,
    RuleError,
    RuleMeta,
    Settings,
    Severity,
    load_rules,
    run_rules,
)
from simulator.findings.catalogue import rule_modules
from simulator.graph import MintGraph

AT = datetime(2025, 6, 2, 12, tzinfo=UTC)


def meta(**overrides: object) -> RuleMeta:
    fields: dict[str, object] = {
        "id": "risky-trust/test-rule",
        "title": "a test rule",
        "severity": Severity.HIGH,
        "category": Category.RISKY_TRUST,
        "nhi": (Nhi.NHI5,),
        "rationale": "because",
        "remediation": "fix it",
    }
    fields.update(overrides)
    return RuleMeta(**fields)  # type: ignore[arg-type]


def test_every_rule_of_the_catalogue_loads_with_valid_unique_metadata() -> None:
    rules = load_rules()
    assert rules, "the catalogue is empty"
    assert len({r.meta.id for r in rules}) == len(rules)
    categories = {r.meta.category for r in rules}
    for wanted in (
        Category.ESCALATION_PATH,
        Category.EXCESS_PRIVILEGE,
        Category.RISKY_TRUST,
        Category.SHARED_IDENTITY,
        Category.STALE_CREDENTIAL,
        Category.OWNERSHIP,
    ):
        assert wanted in categories, f"no rule of category {wanted}"
    assert set(rule_modules()) >= {"escalation_path", "risky_trust", "stale_credential"}


@pytest.mark.parametrize(
    ("overrides", "said"),
    [
        ({"id": "Risky-Trust/x"}, "kebab case"),
        ({"id": "excess-privilege/x"}, "must start with its category"),
        ({"title": " "}, "title must be"),
        ({"nhi": ()}, "nhi must name"),
        ({"remediation": ""}, "remediation must be"),
    ],
)
def test_invalid_metadata_is_refused_when_the_rule_is_made(overrides: dict[str, object], said: str) -> None:
    with pytest.raises(RuleError, match=said):
        meta(**overrides)


def finding(rule: RuleMeta, subject: str, key: tuple[str, ...] = ()) -> Finding:
    return Finding(
        rule=rule, subject=subject, principal=subject, cloud=Cloud.AWS, sentence=f"{subject} is bad", key=key
    )


def test_the_fingerprint_follows_rule_subject_and_decisive_evidence_only() -> None:
    rule = meta()
    a = finding(rule, "arn:aws:iam::1:role/a", ("sts:AssumeRole",))
    again = Finding(
        rule=rule,
        subject="arn:aws:iam::1:role/a",
        principal="x",
        cloud=Cloud.AWS,
        sentence="worded differently",
        key=("sts:AssumeRole",),
    )
    assert a.id == again.id
    assert a.id != finding(rule, "arn:aws:iam::1:role/b", ("sts:AssumeRole",)).id
    assert a.id != finding(rule, "arn:aws:iam::1:role/a", ("iam:PassRole",)).id
    assert a.id != finding(meta(id="risky-trust/other"), "arn:aws:iam::1:role/a", ("sts:AssumeRole",)).id


def test_a_failing_rule_is_reported_and_the_others_still_run() -> None:
    good, bad = meta(id="risky-trust/good", severity=Severity.LOW), meta(id="risky-trust/bad")

    def check_good(context: Context) -> Iterable[Finding]:
        return [finding(good, "s1"), finding(good, "s1")]  # the same finding twice is one

    def check_bad(context: Context) -> Iterable[Finding]:
        raise KeyError("boom")

    context = Context(open_estate(Snapshot(), at=AT), lambda: MintGraph([]))
    outcome = run_rules(context, [Rule(bad, check_bad), Rule(good, check_good)])
    assert [f.subject for f in outcome.findings] == ["s1"]
    assert [(f.rule, "KeyError" in f.error) for f in outcome.failures] == [("risky-trust/bad", True)]


def test_findings_run_most_severe_first() -> None:
    low, critical = (
        meta(id="risky-trust/low", severity=Severity.LOW),
        meta(id="risky-trust/crit", severity=Severity.CRITICAL),
    )
    context = Context(open_estate(Snapshot(), at=AT), lambda: MintGraph([]))
    outcome = run_rules(
        context, [Rule(low, lambda c: [finding(low, "a")]), Rule(critical, lambda c: [finding(critical, "b")])]
    )
    assert [f.severity for f in outcome.findings] == [Severity.CRITICAL, Severity.LOW]


def test_findings_carry_the_owner_their_principal_is_tagged_with() -> None:
    from models import Principal, PrincipalKind, Scope, ScopeKind

    account = Scope(id="111111111111", cloud=Cloud.AWS, kind=ScopeKind.ACCOUNT, name="acme")
    tagged = Principal(
        id="arn:aws:iam::111111111111:role/a",
        cloud=Cloud.AWS,
        kind=PrincipalKind.AWS_ROLE,
        name="a",
        scope_id="111111111111",
        tags={"team": "payments"},
    )
    untagged = replace(tagged, id="arn:aws:iam::111111111111:role/b", name="b", tags={})
    snapshot = Snapshot(scopes=(account,), principals=(tagged, untagged))
    rule = meta(id="risky-trust/owned")
    check = lambda c: [finding(rule, tagged.id), finding(rule, untagged.id)]  # noqa: E731
    context = Context(open_estate(snapshot, at=AT), lambda: MintGraph([]), Settings(owner_keys=("team",)))
    owners = {f.subject: f.owner for f in run_rules(context, [Rule(rule, check)]).findings}
    assert owners == {tagged.id: "payments", untagged.id: None}
    default = Context(open_estate(snapshot, at=AT), lambda: MintGraph([]))  # the key is "owner": not set
    assert {f.owner for f in run_rules(default, [Rule(rule, check)]).findings} == {None}
