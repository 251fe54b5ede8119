"""aws:EpochTime is documented as both a Date and a Numeric key (global condition keys): Numeric
and Date operators on it are decided exactly by both engines, with a free context too."""

from __future__ import annotations

from typing import Any

import pytest

from simulator.aws import reference, simulate
from simulator.aws.compare import compare
from simulator.aws.policy import parse_policy
from simulator.aws.request import normalize_context, parse_case

USER = "arn:aws:iam::111111111111:user/alice"
OBJ = "arn:aws:s3:::b/k"
JAN_2024 = 1704067200  # 2024-01-01T00:00:00Z


def only_if(block: dict[str, Any]) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": block}],
    }


def case(block: dict[str, Any], context: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"principal": USER, "action": "s3:GetObject", "resource": OBJ}
    out["identityPolicies"] = [only_if(block)]
    if context is not None:
        out["context"] = context
    return out


@pytest.mark.parametrize(
    ("block", "value", "expected"),
    [
        ({"NumericLessThan": {"aws:EpochTime": JAN_2024}}, JAN_2024 - 1, "allowed"),
        ({"NumericLessThan": {"aws:EpochTime": JAN_2024}}, JAN_2024, "implicit_deny"),
        ({"NumericGreaterThanEquals": {"aws:EpochTime": "1704067200"}}, JAN_2024, "allowed"),
        ({"DateLessThan": {"aws:EpochTime": "2024-01-01T00:00:00Z"}}, JAN_2024 - 1, "allowed"),
        ({"DateLessThan": {"aws:EpochTime": "2024-01-01T00:00:00Z"}}, JAN_2024, "implicit_deny"),
        ({"DateEquals": {"aws:EpochTime": str(JAN_2024)}}, JAN_2024, "allowed"),
    ],
)
@pytest.mark.parametrize("engine", ["reference", "smt"])
def test_concrete(engine: str, block: dict[str, Any], value: int, expected: str) -> None:
    data = case(block, {"aws:EpochTime": str(value)})
    assert simulate.decide(parse_case(data), engine=engine).decision == expected


@pytest.mark.parametrize(
    "block",
    [
        {"NumericLessThan": {"aws:EpochTime": JAN_2024}},
        {"NumericGreaterThan": {"aws:EpochTime": JAN_2024}, "DateLessThan": {"aws:EpochTime": "2024-01-02"}},
        {"NumericEquals": {"aws:EpochTime": "1704067200"}},
    ],
)
def test_any_context_is_decided_with_a_witness(block: dict[str, Any]) -> None:
    """Before: "unsupported" (a Numeric operator on a Date key) made these unknown."""
    parsed = parse_case(case(block))
    answer = simulate.decide(parsed, engine="smt", any_context=True)
    assert answer.decision == "allowed", answer.to_json()
    assert answer.witness is not None
    context = normalize_context(answer.witness["context"])
    request = parsed.request.__class__(**{**parsed.request.__dict__, "context": context})
    assert reference.decide(request, parsed.policies).decision == "allowed"


def test_any_context_contradiction_is_proven() -> None:
    block = {"NumericGreaterThan": {"aws:EpochTime": JAN_2024}, "DateLessThan": {"aws:EpochTime": "2024-01-01"}}
    answer = simulate.decide(parse_case(case(block)), engine="smt", any_context=True)
    assert answer.decision == "implicit_deny", answer.to_json()


def test_compare_numeric_and_date_on_epoch_time() -> None:
    numeric = parse_policy(only_if({"NumericGreaterThan": {"aws:EpochTime": "100"}}), "numeric", kind="identity")
    date = parse_policy(only_if({"DateGreaterThan": {"aws:EpochTime": "1970-01-01T00:01:40Z"}}), "date")
    assert compare(numeric, date).relation == "equivalent"
    wider = parse_policy(only_if({"NumericGreaterThan": {"aws:EpochTime": "99"}}), "wider")
    result = compare(numeric, wider)
    assert result.relation == "more", result.to_json()
    for witness in result.gained:
        assert witness["context"]["aws:epochtime"] == "100"
