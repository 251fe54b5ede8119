"""Policies checked against the IAM policy grammar (as AWS's policy validation checks them), and
simulate cases against their field list: each error names the document, statement and element."""

from __future__ import annotations

from typing import Any

import pytest

from simulator.aws.policy import KINDS, PolicyError, parse_policy
from simulator.aws.request import CaseError, parse_case

ALICE = "arn:aws:iam::111111111111:user/alice"


def doc(*statements: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements), **top}


ALLOW = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}
GRANT = {**ALLOW, "Principal": {"AWS": ALICE}}


@pytest.mark.parametrize(
    ("document", "kind", "words"),
    [
        (doc({"Effect": "Allow", "Action": "*", "Resources": "*", "Sid": "Read"}), "identity",
         ["p.json statement 0 (Read)", "'Resources'", "did you mean 'Resource'?"]),
        (doc({"Efect": "Allow", "Action": "*", "Resource": "*"}), None, ["statement 0", "'Efect'", "'Effect'"]),
        (doc({**ALLOW, "Conditions": {}}), "identity", ["'Conditions'", "did you mean 'Condition'?"]),
        ({"Version": "2012-10-17", "Statment": [ALLOW]}, None, ["p.json", "'Statment'", "did you mean 'Statement'?"]),
        (doc({"Effect": "Allow", "Action": "*"}), "identity", ["statement 0", "'Resource'"]),
        (doc({"Effect": "Allow", "Action": "*"}), "boundary", ["'Resource'"]),
        (doc({"Effect": "Deny", "Action": "*"}), "scp", ["'Resource'", "Deny"]),
        (doc({"Effect": "Deny", "Action": "*", "Principal": "*"}), "rcp", ["'Resource'"]),
        (doc(ALLOW), "resource", ["'Principal' is required"]),
        (doc({"Effect": "Allow", "Action": "sts:AssumeRole"}), "trust", ["'Principal' is required"]),
        (doc({**ALLOW, "Principal": "*", "Sid": "X"}), "identity", ["statement 0 (X)", "'Principal' is not allowed"]),
        (doc({**ALLOW, "Principal": "*"}), "scp", ["'Principal' is not allowed"]),
        (doc({"Effect": "Deny", "Action": "*", "NotPrincipal": {"AWS": ALICE}}), "trust", ["'NotPrincipal'"]),
        (doc({**ALLOW, "Condition": {"StringEqulas": {"aws:username": "a"}}}), None,
         ["'Condition'", "'StringEqulas'", "did you mean 'StringEquals'?"]),
        (doc({**ALLOW, "Condition": {"ForAnyValues:StringLike": {"aws:TagKeys": "a"}}}), None,
         ["'ForAnyValues'", "did you mean 'ForAnyValue'?"]),
        (doc({**ALLOW, "Condition": {"NumericLessThanIfExist": {"aws:MultiFactorAuthAge": "1"}}}), None,
         ["did you mean 'NumericLessThanIfExists'?"]),
        (doc(ALLOW, Version="2012-10-18"), None, ["Version"]),
    ],
)  # fmt: skip
def test_grammar_errors(document: dict[str, Any], kind: str | None, words: list[str]) -> None:
    with pytest.raises(PolicyError) as caught:
        parse_policy(document, "p.json", kind=kind)
    for word in words:
        assert word in str(caught.value), str(caught.value)


@pytest.mark.parametrize(
    ("document", "kind"),
    [
        (doc(ALLOW), "identity"),
        (doc(ALLOW), None),
        (doc({"Effect": "Allow", "Action": "*"}), None),  # the kind decides whether Resource is needed
        (doc({"Effect": "Allow", "Action": "*"}), "scp"),  # SCP Allow statements may omit it
        (doc({"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "ec2.amazonaws.com"}}), "trust"),
        (doc({"Effect": "Allow", "Action": "ecr:*", "Principal": "*"}), "resource"),  # ECR omits Resource
        (doc({"Effect": "Deny", "Action": "*", "Resource": "*", "NotPrincipal": {"AWS": ALICE}}), "resource"),
        (doc({"Effect": "Deny", "Action": "s3:*", "Resource": "*", "Principal": "*"}), "rcp"),
        (doc(GRANT), "resource"),
        ({"Statement": []}, None),
    ],
)
def test_grammar_accepts(document: dict[str, Any], kind: str | None) -> None:
    parse_policy(document, "p.json", kind=kind)


def test_unknown_kind_is_a_programming_error() -> None:
    assert "identity" in KINDS
    with pytest.raises(ValueError, match="unknown policy kind"):
        parse_policy(doc(ALLOW), "p.json", kind="bucket")


CASE = {"principal": ALICE, "action": "s3:GetObject", "resource": "arn:aws:s3:::b/k"}


@pytest.mark.parametrize(
    ("field", "hint"),
    [("identityPolicy", "identityPolicies"), ("contxt", "context"), ("resource_account", "resourceAccount")],
)
def test_case_unknown_field(field: str, hint: str) -> None:
    with pytest.raises(CaseError) as caught:
        parse_case({**CASE, field: {}}, line=3)
    message = str(caught.value)
    assert "line 3" in message and repr(field) in message and f"did you mean {hint!r}?" in message


def test_case_unknown_field_without_near_name() -> None:
    with pytest.raises(CaseError, match="unknown field 'zzz'"):
        parse_case({**CASE, "zzz": 1})


def test_case_policies_checked_by_kind() -> None:
    with pytest.raises(CaseError, match=r"resourcePolicy statement 0: element 'Principal' is required"):
        parse_case({**CASE, "resourcePolicy": doc(ALLOW)})
    with pytest.raises(CaseError, match=r"permissionBoundary statement 0: element 'Principal' is not allowed"):
        parse_case({**CASE, "permissionBoundary": doc(GRANT)})
    parsed = parse_case({**CASE, "resourcePolicy": doc(GRANT), "identityPolicies": [doc(ALLOW)]})
    assert parsed.policies.resource is not None
