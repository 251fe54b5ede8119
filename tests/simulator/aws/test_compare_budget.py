"""compare's budget and hard constructs: one deadline for the whole comparison, a warning for
policies past AWS's size limits, policy variables in Resource / NotResource decided (not
timed out), with every witness replayed through the reference evaluator."""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest

from simulator.aws import reference
from simulator.aws.compare import WITNESS_PRINCIPAL, Comparison, compare
from simulator.aws.encode import Z3Session
from simulator.aws.policy import PolicyDocument, parse_policy
from simulator.aws.request import Request, classify_principal, normalize_context
from simulator.aws.semantics import policy_allows

HOME = "arn:aws:s3:::*/home/${aws:username}/*"
TEAM = "arn:aws:s3:::team/${aws:username}/*"


@cache
def session() -> Z3Session:
    return Z3Session()


def doc(*statements: dict[str, Any], label: str = "p") -> PolicyDocument:
    return parse_policy({"Version": "2012-10-17", "Statement": list(statements)}, label, kind="identity")


def allow(**extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": "s3:GetObject", **extra}


def allows(policy: PolicyDocument, witness: dict[str, Any]) -> bool | None:
    request = Request(
        principal=classify_principal(WITNESS_PRINCIPAL),
        action=witness["action"],
        resource=witness["resource"],
        context=normalize_context(witness["context"]),
    )
    return policy_allows(policy, reference.ReferenceMatcher(request), with_principal=False)


def checked(old: PolicyDocument, new: PolicyDocument, **options: Any) -> Comparison:
    result = compare(old, new, session=session(), **options)
    for witness in result.gained:
        assert (allows(new, witness), allows(old, witness)) == (True, False), witness
    for witness in result.lost:
        assert (allows(old, witness), allows(new, witness)) == (True, False), witness
    return result


def test_unresolved_variable_in_notresource_grants_nothing() -> None:
    """Every request the NotResource statement allows carries aws:username: without it the
    statement is invalid (before: witnesses without the key, as the pattern merely failed)."""
    result = checked(doc(label="old"), doc(allow(NotResource=HOME), label="new"))
    assert result.relation == "more", result.to_json()
    assert result.gained
    for witness in result.gained:
        assert "aws:username" in witness["context"], witness


def test_notresource_variable_is_equivalent_to_itself_and_to_its_spelling() -> None:
    policy = doc(allow(NotResource=HOME), {"Effect": "Deny", "Action": "s3:*", "NotResource": TEAM})
    assert checked(policy, policy).relation == "equivalent"
    respelled = doc(allow(NotResource=[HOME, HOME]), {"Effect": "Deny", "Action": "s3:*", "NotResource": [TEAM]})
    assert checked(policy, respelled).relation == "equivalent"


def test_variable_used_in_two_patterns_is_decided() -> None:
    old = doc(allow(Resource=TEAM), label="old")
    new = doc(allow(Resource=[TEAM, HOME]), label="new")
    result = checked(old, new)
    assert result.relation == "more", result.to_json()
    assert checked(new, old).relation == "less"


def test_defaulted_variable_is_decided() -> None:
    old = doc(allow(Resource="arn:aws:s3:::scratch/${aws:userid, 'anonymous'}/*"), label="old")
    new = doc(allow(Resource="arn:aws:s3:::scratch/anonymous/*"), label="new")
    result = checked(old, new)
    # Without aws:userid both read scratch/anonymous/*: every difference needs the key present.
    assert result.relation == "incomparable", result.to_json()
    assert all("aws:userid" in w["context"] for w in [*result.gained, *result.lost]), result.to_json()
    assert checked(old, doc(allow(Resource="arn:aws:s3:::scratch/${aws:userid, 'anonymous'}/*"))).relation == (
        "equivalent"
    )


def test_variable_in_condition_value_and_resource() -> None:
    condition = {"StringEquals": {"aws:PrincipalTag/team": "${aws:username}"}}
    old = doc(allow(Resource=TEAM, Condition=condition), label="old")
    new = doc(allow(Resource=TEAM), label="new")
    assert checked(old, new).relation == "more"


def test_an_exhausted_budget_is_unknown_with_its_reason() -> None:
    old, new = doc(allow(Resource="*"), label="old"), doc(allow(Resource=HOME), label="new")
    result = compare(old, new, timeout_ms=0, session=session())
    assert result.relation == "unknown"
    assert result.reasons and all("deadline" in r for r in result.reasons), result.reasons


def big(statements: int, label: str) -> PolicyDocument:
    items = [
        allow(
            Resource=f"arn:aws:s3:::bucket-{i % 40}/prefix-{i}/*",
            Sid=f"S{i}",
            Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
        )
        for i in range(statements)
    ]
    return doc(*items, label=label)


def test_policy_past_aws_size_limits_is_compared_with_a_warning() -> None:
    old = big(120, "old")
    new = doc(*[s for s in old.source["Statement"][:-1]], label="new")
    result = checked(old, new)
    assert result.relation == "less", result.to_json()
    warnings = result.to_json()["warnings"]
    assert any("old" in w and "size limit" in w for w in warnings), warnings


def test_small_policy_has_no_warning() -> None:
    result = checked(doc(allow(Resource="*")), doc(allow(Resource="*")))
    assert "warnings" not in result.to_json()


@pytest.mark.parametrize("statements", [1500])
def test_large_policy_is_decided_within_its_budget(statements: int) -> None:
    """A policy this size took minutes of encoding before (one z3 call per connective): it is
    decided now, or unknown for the deadline — never past it by more than the check in hand."""
    old = big(statements, "old")
    new = doc(*old.source["Statement"], allow(Resource="arn:aws:s3:::extra/*"), label="new")
    result = checked(old, new, timeout_ms=60_000)
    assert result.relation == "more", result.to_json()
    assert result.warnings
