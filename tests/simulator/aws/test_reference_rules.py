"""Table tests for the reference evaluator: one row per documented evaluation rule and condition
behaviour, each asserting the exact decision."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from simulator.aws import simulate
from simulator.aws.policy import PolicyDocument
from simulator.aws.reference import KLEENE, ReferenceMatcher, decide_case
from simulator.aws.request import Case, CaseError, parse_case
from simulator.aws.semantics import PolicySet

ACCOUNT = "111111111111"
OTHER = "222222222222"
ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"
BOB = f"arn:aws:iam::{ACCOUNT}:user/bob"
CAROL = f"arn:aws:iam::{OTHER}:user/carol"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/app"
SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/app/s1"
TARGET_ROLE = f"arn:aws:iam::{ACCOUNT}:role/target"
SLR = f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/x.amazonaws.com/AWSServiceRoleForX"
ROOT = f"arn:aws:iam::{ACCOUNT}:root"
KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234"
OBJ = "arn:aws:s3:::bkt/key"


def stmt(effect: str = "Allow", action: Any = "*", resource: Any = "*", **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"Effect": effect}
    if "not_action" in extra:
        out["NotAction"] = extra.pop("not_action")
    else:
        out["Action"] = action
    if "not_resource" in extra:
        out["NotResource"] = extra.pop("not_resource")
    elif resource is not None:
        out["Resource"] = resource
    for key in ("principal", "not_principal", "condition", "sid"):
        if key in extra:
            out["".join(w.capitalize() for w in key.split("_"))] = extra.pop(key)
    assert not extra, extra
    return out


def allow(action: Any = "*", resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return stmt("Allow", action, resource, **extra)


def deny(action: Any = "*", resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return stmt("Deny", action, resource, **extra)


def doc(*statements: dict[str, Any], version: str | None = "2012-10-17") -> dict[str, Any]:
    out: dict[str, Any] = {"Statement": list(statements)}
    if version:
        out["Version"] = version
    return out


def res(*statements: dict[str, Any]) -> dict[str, Any]:
    """A resource policy (statements carry their Principal)."""
    return doc(*statements)


def case(
    principal: str = ALICE,
    action: str = "s3:GetObject",
    resource: str = OBJ,
    identity: list[dict[str, Any]] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    out: dict[str, Any] = {"principal": principal, "action": action, "resource": resource}
    if identity:
        out["identityPolicies"] = [doc(*identity)]
    names = {"resource_policy": "resourcePolicy", "boundary": "permissionBoundary", "session": "sessionPolicy"}
    names |= {"resource_account": "resourceAccount"}
    for key, value in fields.items():
        out[names.get(key, key)] = value
    for level in out.get("rcps", []):  # RCP statements name every principal ("*"), as AWS requires
        for document in level:
            document["Statement"] = [{"Principal": "*", **s} for s in document["Statement"]]
    return out


#: Statements with this Sid are marked unsupported (no grammar construct is: the parser rejects
#: what AWS rejects), to test how both engines read statements they cannot decide.
UNSUPPORTED_SID = "Unsupported"


def _mark_unsupported(document: PolicyDocument) -> PolicyDocument:
    statements = tuple(
        replace(s, unsupported=("a construct the engine does not decide",)) if s.sid == UNSUPPORTED_SID else s
        for s in document.statements
    )
    return replace(document, statements=statements)


def parse(data: dict[str, Any]) -> Case:
    """parse_case, with statements whose Sid is :data:`UNSUPPORTED_SID` marked unsupported."""
    parsed = parse_case(data)
    p = parsed.policies

    def mark(d: PolicyDocument | None) -> PolicyDocument | None:
        return None if d is None else _mark_unsupported(d)

    policies = PolicySet(
        identity=tuple(_mark_unsupported(d) for d in p.identity),
        resource=mark(p.resource),
        boundary=mark(p.boundary),
        session=mark(p.session),
        scps=tuple(tuple(_mark_unsupported(d) for d in level) for level in p.scps),
        rcps=tuple(tuple(_mark_unsupported(d) for d in level) for level in p.rcps),
    )
    return replace(parsed, policies=policies)


ENGINE = {"name": "reference"}


@pytest.fixture(autouse=True, params=["reference", "smt"])
def engine(request: pytest.FixtureRequest) -> Iterator[str]:
    """Every rule row is decided by both engines: the reference evaluator and the z3 encoding
    (whose answers the simulator also replays through the reference)."""
    ENGINE["name"] = request.param
    yield request.param
    ENGINE["name"] = "reference"


def decision(data: dict[str, Any]) -> str:
    case = parse(data)
    if ENGINE["name"] == "smt":
        answer = simulate.decide(case, engine="smt")
        assert not [r for r in answer.reasons if r.get("kind") == "internal"], answer.reasons  # an encoding bug
        return answer.decision
    return decide_case(case).decision


ALLOW_ALL = [allow()]
ALLOW_S3 = [allow("s3:*")]


# --- Kleene algebra ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("items", "and_", "or_"),
    [
        ([], True, False),
        ([True, True], True, True),
        ([True, None], None, True),
        ([False, None], False, None),
        ([None, None], None, None),
        ([True, False], False, True),
    ],
)
def test_kleene(items: list[bool | None], and_: bool | None, or_: bool | None) -> None:
    assert KLEENE.and_(iter(items)) is and_
    assert KLEENE.or_(iter(items)) is or_


@pytest.mark.parametrize(("x", "y"), [(True, False), (False, True), (None, None)])
def test_kleene_not(x: bool | None, y: bool | None) -> None:
    assert KLEENE.not_(x) is y
    assert KLEENE.true is True and KLEENE.false is False


# --- Evaluation order -------------------------------------------------------------------------

P = pytest.param
EVERYONE = {"AWS": "*"}

EVALUATION_ROWS = [
    # explicit deny wins everywhere
    P(case(identity=[allow(), deny("s3:GetObject")]), "explicit_deny", id="deny-identity"),
    P(case(identity=ALLOW_ALL, resource_policy=res(deny(principal="*"))), "explicit_deny", id="deny-resource"),
    P(
        case(identity=ALLOW_ALL, resource_policy=res(deny(principal={"AWS": BOB}))),
        "allowed",
        id="deny-resource-other-principal",
    ),
    P(case(identity=ALLOW_ALL, boundary=doc(allow(), deny("s3:*"))), "explicit_deny", id="deny-boundary"),
    P(case(identity=ALLOW_ALL, session=doc(allow(), deny("s3:*"))), "explicit_deny", id="deny-session"),
    P(case(identity=ALLOW_ALL, scps=[[doc(allow())], [doc(allow(), deny("s3:*"))]]), "explicit_deny", id="deny-scp"),
    P(case(identity=ALLOW_ALL, rcps=[[doc(deny("s3:*"))]]), "explicit_deny", id="deny-rcp"),
    P(
        case(resource_policy=res(allow(principal={"AWS": ALICE})), rcps=[[doc(deny())]]),
        "explicit_deny",
        id="deny-rcp-beats-resource-grant",
    ),
    P(case(), "implicit_deny", id="nothing-implicit-deny"),
    P(case(identity=[allow("ec2:*")]), "implicit_deny", id="identity-other-action"),
    # SCPs
    P(case(identity=ALLOW_ALL, scps=[[doc(allow())], [doc(allow("s3:*"))]]), "allowed", id="scp-every-level"),
    P(case(identity=ALLOW_ALL, scps=[[doc(allow())], [doc(allow("ec2:*"))]]), "implicit_deny", id="scp-level-gap"),
    P(case(identity=ALLOW_ALL, scps=[[doc(allow("ec2:*")), doc(allow("s3:*"))]]), "allowed", id="scp-any-doc-level"),
    P(case(identity=[allow("ec2:*")], scps=[[doc(allow())]]), "implicit_deny", id="scp-grants-nothing"),
    P(case(SLR, identity=ALLOW_ALL, scps=[[doc(deny())]]), "allowed", id="scp-deny-skips-slr"),
    P(case(SLR, identity=ALLOW_ALL, scps=[[doc(allow("ec2:*"))]]), "allowed", id="scp-gap-skips-slr"),
    P(
        case(
            "sqs.amazonaws.com",
            resource_policy=res(allow(principal={"Service": "sqs.amazonaws.com"})),
            scps=[[doc(deny())]],
        ),
        "allowed",
        id="scp-skips-service-principal",
    ),
    # RCPs are deny-only
    P(case(rcps=[[doc(allow())]]), "implicit_deny", id="rcp-allow-grants-nothing"),
    P(case(identity=ALLOW_ALL, rcps=[[doc(allow("ec2:*"))]]), "allowed", id="rcp-absence-denies-nothing"),
    P(case(SLR, identity=ALLOW_ALL, rcps=[[doc(deny())]]), "allowed", id="rcp-skips-slr"),
    # same account, resource policy alone
    P(case(resource_policy=res(allow(principal={"AWS": ALICE}))), "allowed", id="same-account-resource-user"),
    P(case(ROLE, resource_policy=res(allow(principal={"AWS": ROLE}))), "allowed", id="same-account-resource-role"),
    P(case(resource_policy=res(allow(principal="*"))), "allowed", id="same-account-resource-everyone"),
    P(case(resource_policy=res(allow(principal={"AWS": ROOT}))), "implicit_deny", id="account-grant-needs-identity"),
    P(case(resource_policy=res(allow(principal={"AWS": ACCOUNT}))), "implicit_deny", id="account-id-grant-alone"),
    P(
        case(identity=ALLOW_S3, resource_policy=res(allow(principal={"AWS": ROOT}))),
        "allowed",
        id="account-grant-and-identity",
    ),
    P(case(resource_policy=res(allow(principal={"AWS": BOB}))), "implicit_deny", id="resource-other-user"),
    # cross account needs both sides
    P(case(CAROL, identity=ALLOW_ALL, resource_account=ACCOUNT), "implicit_deny", id="cross-identity-only"),
    P(
        case(CAROL, resource_account=ACCOUNT, resource_policy=res(allow(principal={"AWS": CAROL}))),
        "implicit_deny",
        id="cross-resource-only",
    ),
    P(
        case(CAROL, identity=ALLOW_ALL, resource_account=ACCOUNT, resource_policy=res(allow(principal={"AWS": CAROL}))),
        "allowed",
        id="cross-both",
    ),
    P(
        case(
            CAROL,
            identity=ALLOW_ALL,
            resource_account=ACCOUNT,
            resource_policy=res(allow(principal={"AWS": f"arn:aws:iam::{OTHER}:root"})),
        ),
        "allowed",
        id="cross-account-root-and-identity",
    ),
    P(
        case(CAROL, resource_account=ACCOUNT, resource_policy=res(allow(principal={"AWS": OTHER}))),
        "implicit_deny",
        id="cross-account-id-without-identity",
    ),
    P(
        case(
            CAROL,
            identity=ALLOW_ALL,
            boundary=doc(allow("ec2:*")),
            resource_account=ACCOUNT,
            resource_policy=res(allow(principal={"AWS": CAROL})),
        ),
        "implicit_deny",
        id="cross-boundary-caps",
    ),
    P(case(CAROL, identity=ALLOW_ALL, resource=KEY, action="s3:GetObject"), "implicit_deny", id="cross-from-arn"),
    # trust policies
    P(case(action="sts:AssumeRole", resource=TARGET_ROLE, identity=ALLOW_ALL), "implicit_deny", id="trust-missing"),
    P(
        case(
            action="sts:AssumeRole",
            resource=TARGET_ROLE,
            identity=ALLOW_ALL,
            resource_policy=res(allow("sts:AssumeRole", None, principal={"AWS": ROOT})),
        ),
        "allowed",
        id="trust-root-and-identity",
    ),
    P(
        case(
            action="sts:AssumeRole",
            resource=TARGET_ROLE,
            resource_policy=res(allow("sts:AssumeRole", None, principal={"AWS": ROOT})),
        ),
        "implicit_deny",
        id="trust-root-without-identity",
    ),
    P(
        case(
            action="sts:AssumeRole",
            resource=TARGET_ROLE,
            resource_policy=res(allow("sts:AssumeRole", None, principal={"AWS": ALICE})),
        ),
        "allowed",
        id="trust-direct-same-account",
    ),
    P(
        case(
            CAROL,
            action="sts:AssumeRole",
            resource=TARGET_ROLE,
            resource_policy=res(allow("sts:AssumeRole", None, principal={"AWS": CAROL})),
        ),
        "implicit_deny",
        id="trust-direct-cross-needs-identity",
    ),
    P(
        case(
            CAROL,
            action="sts:AssumeRole",
            resource=TARGET_ROLE,
            identity=ALLOW_ALL,
            resource_policy=res(allow("sts:AssumeRole", None, principal={"AWS": CAROL})),
        ),
        "allowed",
        id="trust-direct-cross-with-identity",
    ),
    P(
        case(
            "accounts.google.com",
            action="sts:AssumeRoleWithWebIdentity",
            resource=TARGET_ROLE,
            resource_policy=res(
                allow("sts:AssumeRoleWithWebIdentity", None, principal={"Federated": "accounts.google.com"})
            ),
        ),
        "allowed",
        id="trust-federated",
    ),
    # KMS key policies
    P(case(action="kms:Decrypt", resource=KEY, identity=ALLOW_ALL), "implicit_deny", id="kms-no-key-policy"),
    P(
        case(
            action="kms:Decrypt",
            resource=KEY,
            identity=ALLOW_ALL,
            resource_policy=res(allow("kms:*", principal={"AWS": ROOT})),
        ),
        "allowed",
        id="kms-root-and-identity",
    ),
    P(
        case(action="kms:Decrypt", resource=KEY, resource_policy=res(allow("kms:*", principal={"AWS": ALICE}))),
        "allowed",
        id="kms-direct",
    ),
    # permission boundary
    P(case(identity=ALLOW_S3, boundary=doc(allow("ec2:*"))), "implicit_deny", id="boundary-caps"),
    P(case(identity=ALLOW_S3, boundary=doc(allow("s3:GetObject"))), "allowed", id="boundary-allows"),
    P(case(identity=[allow("ec2:*")], boundary=doc(allow())), "implicit_deny", id="boundary-grants-nothing"),
    P(
        case(boundary=doc(allow("ec2:*")), resource_policy=res(allow(principal={"AWS": ALICE}))),
        "allowed",
        id="boundary-skips-exact-user",
    ),
    P(
        case(ROLE, boundary=doc(allow("ec2:*")), resource_policy=res(allow(principal={"AWS": ROLE}))),
        "implicit_deny",
        id="boundary-caps-exact-role",
    ),
    # a grant to the caller's own ARN, exactly or by the wildcard, is not capped by the boundary;
    # a grant to a role ARN or to the account is
    P(
        case(boundary=doc(allow("ec2:*")), resource_policy=res(allow(principal="*"))),
        "allowed",
        id="boundary-skips-wildcard-user",
    ),
    P(
        case(boundary=doc(allow("ec2:*")), resource_policy=res(allow(principal=EVERYONE))),
        "allowed",
        id="boundary-skips-aws-wildcard-user",
    ),
    P(
        case(SESSION, boundary=doc(allow("ec2:*")), resource_policy=res(allow(principal=EVERYONE))),
        "allowed",
        id="boundary-skips-wildcard-session",
    ),
    P(
        case(ROLE, boundary=doc(allow("ec2:*")), resource_policy=res(allow(principal="*"))),
        "implicit_deny",
        id="boundary-caps-wildcard-role",
    ),
    P(
        case(identity=ALLOW_ALL, boundary=doc(allow("ec2:*")), resource_policy=res(allow(principal={"AWS": ROOT}))),
        "implicit_deny",
        id="boundary-caps-account-grant",
    ),
    P(
        case(SESSION, session=doc(allow("ec2:*")), resource_policy=res(allow(principal="*"))),
        "implicit_deny",
        id="session-policy-caps-wildcard",
    ),
    P(
        case(
            identity=ALLOW_ALL,
            boundary=doc(allow()),
            resource_policy=res(deny(not_principal={"AWS": ALICE}), allow(principal="*")),
        ),
        "explicit_deny",
        id="not-principal-deny-hits-bounded-principal",
    ),
    P(
        case(identity=ALLOW_ALL, resource_policy=res(deny(not_principal={"AWS": ALICE}), allow(principal="*"))),
        "allowed",
        id="not-principal-deny-spares-listed",
    ),
    P(
        case(SESSION, boundary=doc(allow("ec2:*")), resource_policy=res(allow(principal={"AWS": SESSION}))),
        "allowed",
        id="boundary-skips-exact-session",
    ),
    P(
        case(SESSION, boundary=doc(allow("ec2:*")), resource_policy=res(allow(principal={"AWS": ROLE}))),
        "implicit_deny",
        id="boundary-caps-session-via-role",
    ),
    P(case(SESSION, resource_policy=res(allow(principal={"AWS": ROLE}))), "allowed", id="session-via-role-arn"),
    # session policy
    P(case(SESSION, identity=ALLOW_ALL, session=doc(allow("ec2:*"))), "implicit_deny", id="session-caps"),
    P(case(SESSION, identity=ALLOW_ALL, session=doc(allow("s3:*"))), "allowed", id="session-allows"),
    P(
        case(SESSION, session=doc(allow("ec2:*")), resource_policy=res(allow(principal={"AWS": SESSION}))),
        "allowed",
        id="session-skips-exact-session",
    ),
    # service principals: the resource policy alone decides
    P(
        case("lambda.amazonaws.com", resource_policy=res(allow(principal={"Service": "lambda.amazonaws.com"}))),
        "allowed",
        id="service-resource-grant",
    ),
    P(case("lambda.amazonaws.com", identity=ALLOW_ALL), "implicit_deny", id="service-identity-ignored"),
    P(
        case("lambda.amazonaws.com", resource_policy=res(allow(principal={"Service": "sns.amazonaws.com"}))),
        "implicit_deny",
        id="service-other-service",
    ),
    P(
        case("lambda.amazonaws.com", resource_policy=res(allow(principal={"AWS": ROOT}))),
        "implicit_deny",
        id="service-not-account",
    ),
    P(case("lambda.amazonaws.com", resource_policy=res(allow(principal="*"))), "allowed", id="service-everyone"),
    P(
        case("a" * 64, resource_policy=res(allow(principal={"CanonicalUser": "a" * 64}))),
        "allowed",
        id="canonical-user",
    ),
]


@pytest.mark.parametrize(("data", "expected"), EVALUATION_ROWS)
def test_evaluation_rules(data: dict[str, Any], expected: str) -> None:
    assert decision(data) == expected


# --- Actions, resources, principals -----------------------------------------------------------

MATCHING_ROWS = [
    P(case(identity=[allow("s3:get*")]), "allowed", id="action-star"),
    P(case(action="S3:GETOBJECT", identity=[allow("s3:GetObject")]), "allowed", id="action-case-insensitive"),
    P(case(identity=[allow("s3:GetObjec?")]), "allowed", id="action-anychar"),
    P(case(identity=[allow("s3:GetObje?")]), "implicit_deny", id="action-anychar-exactly-one"),
    P(case(identity=[allow("s3:Get")]), "implicit_deny", id="action-whole-string"),
    P(case(identity=[allow("*:GetObject")]), "allowed", id="action-service-star"),
    P(case(identity=[allow(resource="arn:aws:s3:::bkt/*")]), "allowed", id="resource-star"),
    P(case(identity=[allow(resource="arn:aws:s3:::BKT/*")]), "implicit_deny", id="resource-case-sensitive"),
    P(case(identity=[allow(resource="arn:*/key")]), "allowed", id="resource-star-crosses-colon-slash"),
    P(case(identity=[allow(resource="arn:aws:s3:::bkt/ke?")]), "allowed", id="resource-anychar"),
    P(case(identity=[allow(resource="arn:aws:s3:::bkt")]), "implicit_deny", id="resource-whole-string"),
    P(case(identity=[allow(resource=["arn:aws:s3:::x", OBJ])]), "allowed", id="resource-list"),
    P(case(identity=[allow(not_action="iam:*")]), "allowed", id="notaction-allow-outside"),
    P(case(action="iam:CreateUser", identity=[allow(not_action="iam:*")]), "implicit_deny", id="notaction-inside"),
    P(case(identity=[allow(), deny(not_action="s3:*")]), "allowed", id="deny-notaction-outside"),
    P(case(action="ec2:RunInstances", identity=[allow(), deny(not_action="s3:*")]), "explicit_deny", id="deny-nota"),
    P(case(identity=[allow(not_resource="arn:aws:s3:::secret/*")]), "allowed", id="notresource-outside"),
    P(
        case(resource="arn:aws:s3:::secret/k", identity=[allow(not_resource="arn:aws:s3:::secret/*")]),
        "implicit_deny",
        id="notresource-inside",
    ),
    P(
        case(identity=ALLOW_ALL, resource_policy=res(deny(not_principal={"AWS": ALICE}))),
        "allowed",
        id="notprincipal-deny-listed",
    ),
    P(
        case(BOB, identity=ALLOW_ALL, resource_policy=res(deny(not_principal={"AWS": ALICE}))),
        "explicit_deny",
        id="notprincipal-deny-unlisted",
    ),
    P(
        case(identity=ALLOW_ALL, resource_policy=res(deny(not_principal={"AWS": ROOT}))),
        "allowed",
        id="notprincipal-deny-account-listed",
    ),
    P(
        case(SESSION, identity=ALLOW_ALL, resource_policy=res(deny(not_principal={"AWS": ROLE}))),
        "allowed",
        id="notprincipal-deny-session-role-listed",
    ),
    P(
        case(identity=ALLOW_ALL, resource_policy=res(deny(not_principal="*"))),
        "allowed",
        id="notprincipal-everyone-listed",
    ),
    P(case(resource_policy=res(allow(not_principal={"AWS": BOB}))), "allowed", id="notprincipal-allow-unlisted"),
    P(
        case(boundary=doc(allow("ec2:*")), resource_policy=res(allow(not_principal={"AWS": BOB}))),
        "implicit_deny",
        id="notprincipal-allow-is-capped",
    ),
    P(case(resource_policy=res(allow(not_principal={"AWS": ALICE}))), "implicit_deny", id="notprincipal-allow-listed"),
    P(case(ROOT, identity=ALLOW_ALL), "allowed", id="root-identity"),
]


@pytest.mark.parametrize(("data", "expected"), MATCHING_ROWS)
def test_matching(data: dict[str, Any], expected: str) -> None:
    assert decision(data) == expected


# --- Conditions -------------------------------------------------------------------------------


def when(block: dict[str, Any], context: dict[str, Any] | None = None, version: str | None = "2012-10-17") -> str:
    """Decide a request whose only Allow has ``block`` as its Condition."""
    data = case(context=context or {})
    data["identityPolicies"] = [doc(allow(condition=block), version=version)]
    return decision(data)


TAG = "aws:PrincipalTag/env"
KEYS = "aws:TagKeys"
ARN = "aws:PrincipalArn"

CONDITION_ROWS = [
    # strings
    P({"StringEquals": {TAG: "prod"}}, {TAG: "prod"}, "allowed", id="eq"),
    P({"StringEquals": {TAG: "prod"}}, {TAG: "dev"}, "implicit_deny", id="eq-miss"),
    P({"StringEquals": {TAG: "prod"}}, {"aws:principaltag/ENV": "prod"}, "allowed", id="eq-key-case-insensitive"),
    P({"StringEquals": {TAG: "prod"}}, {TAG: "PROD"}, "implicit_deny", id="eq-value-case-sensitive"),
    P({"StringEquals": {TAG: "prod"}}, {}, "implicit_deny", id="eq-absent"),
    P({"StringEquals": {TAG: "prod"}}, {TAG: []}, "implicit_deny", id="eq-empty-list-absent"),
    P({"StringEquals": {TAG: "p*"}}, {TAG: "prod"}, "implicit_deny", id="eq-star-literal"),
    P({"StringEquals": {TAG: ["dev", "prod"]}}, {TAG: "prod"}, "allowed", id="eq-values-or"),
    P({"StringEquals": {TAG: "prod"}}, {TAG: ["dev", "prod"]}, "allowed", id="eq-request-multivalue-any"),
    P({"StringEqualsIfExists": {TAG: "prod"}}, {}, "allowed", id="ifexists-absent"),
    P({"StringEqualsIfExists": {TAG: "prod"}}, {TAG: "dev"}, "implicit_deny", id="ifexists-present-miss"),
    P({"StringNotEquals": {TAG: "prod"}}, {}, "allowed", id="negated-absent"),
    P({"StringNotEquals": {TAG: "prod"}}, {TAG: "prod"}, "implicit_deny", id="negated-hit"),
    P({"StringNotEquals": {TAG: ["dev", "prod"]}}, {TAG: "prod"}, "implicit_deny", id="negated-values-nor"),
    P({"StringNotEquals": {TAG: ["dev", "prod"]}}, {TAG: "test"}, "allowed", id="negated-values-none-hit"),
    P({"StringEqualsIgnoreCase": {TAG: "PROD"}}, {TAG: "prod"}, "allowed", id="ignore-case"),
    P({"StringNotEqualsIgnoreCase": {TAG: "PROD"}}, {TAG: "Prod"}, "implicit_deny", id="not-ignore-case"),
    P({"StringLike": {TAG: "pr*"}}, {TAG: "prod"}, "allowed", id="like-star"),
    P({"StringLike": {TAG: "pr?d"}}, {TAG: "prod"}, "allowed", id="like-anychar"),
    P({"StringLike": {TAG: "pr?"}}, {TAG: "prod"}, "implicit_deny", id="like-whole"),
    P({"StringLike": {TAG: "P*"}}, {TAG: "prod"}, "implicit_deny", id="like-case-sensitive"),
    P({"StringNotLike": {TAG: "pr*"}}, {TAG: "dev"}, "allowed", id="notlike"),
    P({"StringNotLike": {TAG: "pr*"}}, {TAG: "prod"}, "implicit_deny", id="notlike-hit"),
    P({"StringEquals": {TAG: "a"}, "StringLike": {"aws:username": "a*"}}, {TAG: "a"}, "implicit_deny", id="and"),
    # set qualifiers
    P({"ForAnyValue:StringEquals": {KEYS: "env"}}, {KEYS: ["env", "x"]}, "allowed", id="anyvalue-hit"),
    P({"ForAnyValue:StringEquals": {KEYS: "env"}}, {KEYS: ["x"]}, "implicit_deny", id="anyvalue-miss"),
    P({"ForAnyValue:StringEquals": {KEYS: "env"}}, {}, "implicit_deny", id="anyvalue-absent"),
    P({"ForAnyValue:StringNotEquals": {KEYS: "env"}}, {}, "implicit_deny", id="anyvalue-negated-absent"),
    P({"ForAnyValue:StringNotEquals": {KEYS: "env"}}, {KEYS: ["env", "x"]}, "allowed", id="anyvalue-negated-some"),
    P({"ForAnyValue:StringEqualsIfExists": {KEYS: "env"}}, {}, "allowed", id="anyvalue-ifexists-absent"),
    P({"ForAllValues:StringEquals": {KEYS: ["env", "owner"]}}, {KEYS: ["env"]}, "allowed", id="allvalues-subset"),
    P({"ForAllValues:StringEquals": {KEYS: ["env"]}}, {KEYS: ["env", "x"]}, "implicit_deny", id="allvalues-extra"),
    P({"ForAllValues:StringEquals": {KEYS: ["env"]}}, {}, "allowed", id="allvalues-absent"),
    P({"ForAllValues:StringNotEquals": {KEYS: ["a"]}}, {KEYS: ["b", "c"]}, "allowed", id="allvalues-negated"),
    P({"ForAllValues:StringLike": {KEYS: ["e*"]}}, {KEYS: ["env", "ext"]}, "allowed", id="allvalues-like"),
    # Null
    P({"Null": {TAG: "true"}}, {}, "allowed", id="null-true-absent"),
    P({"Null": {TAG: "true"}}, {TAG: "x"}, "implicit_deny", id="null-true-present"),
    P({"Null": {TAG: "false"}}, {TAG: "x"}, "allowed", id="null-false-present"),
    P({"Null": {TAG: False}}, {}, "implicit_deny", id="null-false-absent"),
    P({"Null": {TAG: "maybe"}}, {}, "implicit_deny", id="null-unparseable"),
    # IP addresses
    P({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, {"aws:SourceIp": "10.1.2.3"}, "allowed", id="ipv4-in"),
    P({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, {"aws:SourceIp": "11.1.2.3"}, "implicit_deny", id="ipv4-out"),
    P({"IpAddress": {"aws:SourceIp": "10.1.2.3"}}, {"aws:SourceIp": "10.1.2.3"}, "allowed", id="ipv4-bare"),
    P({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, {"aws:SourceIp": "nope"}, "implicit_deny", id="ip-unparseable"),
    P({"IpAddress": {"aws:SourceIp": "2001:db8::/32"}}, {"aws:SourceIp": "2001:db8::1"}, "allowed", id="ipv6-in"),
    P({"IpAddress": {"aws:SourceIp": "2001:db8::/32"}}, {"aws:SourceIp": "2001:db9::1"}, "implicit_deny", id="v6-out"),
    P({"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}}, {"aws:SourceIp": "2001:db8::1"}, "implicit_deny", id="ip-family"),
    P({"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, {"aws:SourceIp": "11.1.2.3"}, "allowed", id="not-ip-out"),
    P({"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, {"aws:SourceIp": "10.0.0.1"}, "implicit_deny", id="not-ip-in"),
    P({"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, {}, "allowed", id="not-ip-absent"),
    # dates
    P({"DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}}, {"aws:CurrentTime": "2025-06-01"}, "allowed"),
    P(
        {"DateGreaterThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}},
        {"aws:CurrentTime": "2025-06-01T12:00:00Z"},
        "implicit_deny",
        id="date-iso-gt-miss",
    ),
    P({"DateGreaterThan": {"aws:EpochTime": "1700000000"}}, {"aws:EpochTime": "1800000000"}, "allowed", id="epoch"),
    P({"DateLessThan": {"aws:CurrentTime": "2030-01-01"}}, {"aws:CurrentTime": "1700000000"}, "allowed", id="mixed"),
    P({"DateEquals": {"aws:CurrentTime": "1970-01-01T00:00:01Z"}}, {"aws:CurrentTime": "1"}, "allowed", id="date-eq"),
    P({"DateNotEquals": {"aws:CurrentTime": "2030-01-01"}}, {"aws:CurrentTime": "2030-01-01"}, "implicit_deny"),
    P({"DateLessThanEquals": {"aws:CurrentTime": "2030-01-01"}}, {"aws:CurrentTime": "2030-01-01"}, "allowed"),
    P({"DateLessThan": {"aws:CurrentTime": "2030-01-01"}}, {"aws:CurrentTime": "yesterday"}, "implicit_deny"),
    # numbers
    P({"NumericLessThan": {"s3:max-keys": "10"}}, {"s3:max-keys": "5"}, "allowed", id="num-lt"),
    P({"NumericLessThan": {"s3:max-keys": "10"}}, {"s3:max-keys": "15"}, "implicit_deny", id="num-lt-miss"),
    P({"NumericLessThanEquals": {"s3:max-keys": 10}}, {"s3:max-keys": "10"}, "allowed", id="num-le"),
    P({"NumericGreaterThan": {"s3:max-keys": "1.5"}}, {"s3:max-keys": "2"}, "allowed", id="num-gt-decimal"),
    P({"NumericGreaterThanEquals": {"s3:max-keys": "3"}}, {"s3:max-keys": "2"}, "implicit_deny", id="num-ge-miss"),
    P({"NumericEquals": {"s3:max-keys": "1.0"}}, {"s3:max-keys": "1"}, "allowed", id="num-eq-value"),
    P({"NumericEquals": {"s3:max-keys": "1"}}, {"s3:max-keys": "one"}, "implicit_deny", id="num-unparseable"),
    P({"NumericNotEquals": {"s3:max-keys": "1"}}, {"s3:max-keys": "2"}, "allowed", id="num-ne"),
    P({"NumericNotEquals": {"s3:max-keys": "1"}}, {}, "allowed", id="num-ne-absent"),
    # booleans and binary
    P({"Bool": {"aws:SecureTransport": "true"}}, {"aws:SecureTransport": "true"}, "allowed", id="bool"),
    P({"Bool": {"aws:SecureTransport": True}}, {"aws:SecureTransport": "TRUE"}, "allowed", id="bool-json-case"),
    P({"Bool": {"aws:SecureTransport": "true"}}, {"aws:SecureTransport": "false"}, "implicit_deny", id="bool-miss"),
    P({"Bool": {"aws:SecureTransport": "true"}}, {"aws:SecureTransport": "yes"}, "implicit_deny", id="bool-junk"),
    P({"Bool": {"aws:SecureTransport": "true"}}, {}, "implicit_deny", id="bool-absent"),
    P({"BoolIfExists": {"aws:SecureTransport": "true"}}, {}, "allowed", id="bool-ifexists-absent"),
    P({"BinaryEquals": {"x:blob": "QmluYXJ5"}}, {"x:blob": "QmluYXJ5"}, "allowed", id="binary"),
    P({"BinaryEquals": {"x:blob": "QmluYXJ5"}}, {"x:blob": "qmluyxj5"}, "implicit_deny", id="binary-miss"),
    # ARNs
    P({"ArnLike": {ARN: "arn:aws:iam::*:role/x"}}, {ARN: f"arn:aws:iam::{ACCOUNT}:role/x"}, "allowed", id="arn-seg"),
    P({"ArnLike": {ARN: "arn:aws:iam::*:role/x"}}, {ARN: "arn:aws:iam::1:2:role/x"}, "implicit_deny", id="arn-colon"),
    P({"StringLike": {ARN: "arn:aws:iam::*:role/x"}}, {ARN: "arn:aws:iam::1:2:role/x"}, "allowed", id="strlike-colon"),
    P({"ArnEquals": {ARN: "arn:aws:iam::*:role/x"}}, {ARN: f"arn:aws:iam::{ACCOUNT}:role/x"}, "allowed", id="arneq"),
    P({"ArnLike": {ARN: "arn:aws:s3:::bkt/*"}}, {ARN: "arn:aws:s3:::bkt/a:b"}, "allowed", id="arn-last-segment"),
    P({"ArnLike": {ARN: "arn:aws:s3:::bkt/?"}}, {ARN: "arn:aws:s3:::bkt/:"}, "allowed", id="arn-last-anychar"),
    P({"ArnLike": {ARN: "arn:aws:iam::?:role/x"}}, {ARN: "arn:aws:iam:::::role/x"}, "implicit_deny", id="arn-anychar"),
    P({"ArnLike": {ARN: "arn:*"}}, {ARN: "arn:aws:iam::1:role/x"}, "allowed", id="arn-few-colons"),
    P({"ArnLike": {ARN: "arn:aws:iam::*:role/X"}}, {ARN: "arn:aws:iam::1:role/x"}, "implicit_deny", id="arn-case"),
    P({"ArnNotLike": {ARN: "arn:aws:iam::*:role/x"}}, {ARN: "arn:aws:iam::1:role/y"}, "allowed", id="arn-not-like"),
    P({"ArnNotEquals": {ARN: "arn:aws:iam::*:role/x"}}, {ARN: "arn:aws:iam::1:role/x"}, "implicit_deny"),
    P({"ArnNotLike": {ARN: "arn:aws:iam::*:role/x"}}, {}, "allowed", id="arn-not-like-absent"),
    P(
        {"ArnLike": {ARN: "arn:aws:iam::${aws:PrincipalAccount}:role/*"}},
        {ARN: "arn:aws:iam::1:2:role/x", "aws:PrincipalAccount": "1:2"},
        "allowed",
        id="arn-variable-colons-literal",
    ),
    # policy variables in conditions
    P(
        {"StringEquals": {"s3:ExistingObjectTag/team": "${aws:PrincipalTag/team}"}},
        {"s3:ExistingObjectTag/team": "red", "aws:PrincipalTag/team": "red"},
        "allowed",
        id="var-condition",
    ),
    P(
        {"StringEquals": {"s3:ExistingObjectTag/team": "${aws:PrincipalTag/team}"}},
        {"s3:ExistingObjectTag/team": "red", "aws:PrincipalTag/team": "blue"},
        "implicit_deny",
        id="var-condition-miss",
    ),
    P(
        {"StringEquals": {"s3:ExistingObjectTag/team": "${aws:PrincipalTag/team}"}},
        {"s3:ExistingObjectTag/team": "red"},
        "implicit_deny",
        id="var-condition-absent",
    ),
    P(
        {"StringNotEquals": {"s3:ExistingObjectTag/team": "${aws:PrincipalTag/team}"}},
        {"s3:ExistingObjectTag/team": "red"},
        "implicit_deny",  # the variable does not resolve: the statement is invalid, even negated
        id="var-condition-absent-negated",
    ),
    P(
        {"StringEquals": {"s3:ExistingObjectTag/team": "${aws:PrincipalTag/team}"}},
        {"s3:ExistingObjectTag/team": "red", "aws:PrincipalTag/team": ["red", "blue"]},
        "implicit_deny",
        id="var-condition-multivalued",
    ),
    P(
        {"StringEquals": {"s3:ExistingObjectTag/team": "${aws:PrincipalTag/team, 'red'}"}},
        {"s3:ExistingObjectTag/team": "red"},
        "allowed",
        id="var-default",
    ),
    P(
        {"StringLike": {TAG: "${aws:username}-*"}},
        {TAG: "alice-x", "aws:username": "alice"},
        "allowed",
        id="var-in-like",
    ),
    P({"StringLike": {TAG: "${aws:username}"}}, {TAG: "abc", "aws:username": "*"}, "implicit_deny", id="var-literal"),
    P({"StringLike": {TAG: "${aws:username}"}}, {TAG: "*", "aws:username": "*"}, "allowed", id="var-literal-star"),
    P({"StringEquals": {TAG: "a${*}b"}}, {TAG: "a*b"}, "allowed", id="var-star-escape"),
    P({"StringLike": {TAG: "a${?}b"}}, {TAG: "axb"}, "implicit_deny", id="var-question-escape"),
    P(
        {"StringEqualsIgnoreCase": {TAG: "${aws:username}"}},
        {TAG: "ALICE", "aws:username": "alice"},
        "allowed",
        id="var-ignore-case",
    ),
]


@pytest.mark.parametrize(("block", "context", "expected"), CONDITION_ROWS)
def test_conditions(block: dict[str, Any], context: dict[str, Any], expected: str) -> None:
    assert when(block, context) == expected


@pytest.mark.parametrize(
    ("version", "tag", "expected"),
    [
        ("2012-10-17", "${aws:username}", "implicit_deny"),
        ("2012-10-17", "alice", "allowed"),
        ("2008-10-17", "${aws:username}", "allowed"),
        ("2008-10-17", "alice", "implicit_deny"),
        (None, "${aws:username}", "allowed"),
    ],
)
def test_condition_variables_need_version(version: str | None, tag: str, expected: str) -> None:
    context = {TAG: tag, "aws:username": "alice"}
    assert when({"StringEquals": {TAG: "${aws:username}"}}, context, version=version) == expected


# --- Policy variables in resources ------------------------------------------------------------

HOME = "arn:aws:s3:::bkt/${aws:username}/*"

VARIABLE_ROWS = [
    P(HOME, "arn:aws:s3:::bkt/alice/x", {"aws:username": "alice"}, "2012-10-17", "allowed", id="username"),
    P(HOME, "arn:aws:s3:::bkt/bob/x", {"aws:username": "alice"}, "2012-10-17", "implicit_deny", id="username-other"),
    P(HOME, "arn:aws:s3:::bkt/alice/x", {"AWS:UserName": "alice"}, "2012-10-17", "allowed", id="key-case"),
    P(HOME, "arn:aws:s3:::bkt/alice/x", {}, "2012-10-17", "implicit_deny", id="username-absent"),
    P(HOME, "arn:aws:s3:::bkt/a/x", {"aws:username": ["a", "b"]}, "2012-10-17", "implicit_deny", id="multivalued"),
    P(HOME, "arn:aws:s3:::bkt/x/y", {"aws:username": "*"}, "2012-10-17", "implicit_deny", id="value-star-literal"),
    P(HOME, "arn:aws:s3:::bkt/*/y", {"aws:username": "*"}, "2012-10-17", "allowed", id="value-star-itself"),
    P(HOME, "arn:aws:s3:::bkt/${aws:username}/x", {}, "2008-10-17", "allowed", id="v2008-literal"),
    P(HOME, "arn:aws:s3:::bkt/alice/x", {"aws:username": "alice"}, "2008-10-17", "implicit_deny", id="v2008-no-var"),
    P(HOME, "arn:aws:s3:::bkt/alice/x", {"aws:username": "alice"}, None, "implicit_deny", id="no-version-no-var"),
    P("arn:aws:s3:::bkt/${aws:x, 'dflt'}/*", "arn:aws:s3:::bkt/dflt/k", {}, "2012-10-17", "allowed", id="default"),
    P(
        "arn:aws:s3:::bkt/${aws:x, 'dflt'}/*",
        "arn:aws:s3:::bkt/dflt/k",
        {"aws:x": "v"},
        "2012-10-17",
        "implicit_deny",
        id="default-unused-when-present",
    ),
    P("arn:aws:s3:::bkt/${aws:x, 'dflt'}/*", "arn:aws:s3:::bkt/v/k", {"aws:x": "v"}, "2012-10-17", "allowed"),
    P(
        "arn:aws:s3:::bkt/${aws:x, 'dflt'}/*",
        "arn:aws:s3:::bkt/dflt/k",
        {"aws:x": ["a", "b"]},
        "2012-10-17",
        "implicit_deny",
        id="default-not-for-multivalued",
    ),
    P("arn:aws:s3:::bkt/${*}", "arn:aws:s3:::bkt/*", {}, "2012-10-17", "allowed", id="escape-star"),
    P("arn:aws:s3:::bkt/${*}", "arn:aws:s3:::bkt/key", {}, "2012-10-17", "implicit_deny", id="escape-star-literal"),
    P("arn:aws:s3:::bkt/${?}", "arn:aws:s3:::bkt/k", {}, "2012-10-17", "implicit_deny", id="escape-question"),
    P("arn:aws:s3:::bkt/${$}", "arn:aws:s3:::bkt/$", {}, "2012-10-17", "allowed", id="escape-dollar"),
]


HOME_ANY_BUCKET = "arn:aws:s3:::*/home/${aws:username}/*"

#: A variable that does not resolve makes its statement invalid: it neither grants nor denies. A
#: NotResource with such a variable must not start to match every resource.
INVALID_STATEMENT_ROWS = [
    P(
        case(ROLE, identity=ALLOW_ALL, scps=[[doc(allow(not_resource=HOME_ANY_BUCKET))]]),
        "implicit_deny",
        id="scp-allow-notresource-unresolved",
    ),
    P(
        case(identity=ALLOW_ALL, scps=[[doc(allow(not_resource=HOME_ANY_BUCKET))]], context={"aws:username": "bob"}),
        "allowed",
        id="scp-allow-notresource-resolved-outside",
    ),
    P(case(ROLE, identity=[allow(), deny(not_resource=HOME_ANY_BUCKET)]), "allowed", id="deny-notresource-unresolved"),
    P(
        case(identity=[allow(), deny(not_resource=HOME_ANY_BUCKET)], context={"aws:username": "bob"}),
        "explicit_deny",
        id="deny-notresource-resolved-outside",
    ),
    P(
        case(ROLE, identity=[allow(not_resource="arn:aws:s3:::${aws:PrincipalTag/dept}/*")]),
        "implicit_deny",
        id="allow-notresource-unresolved",
    ),
    P(
        case(identity=[allow(), deny(condition={"StringNotEquals": {"s3:prefix": "${aws:username}"}})], principal=ROLE),
        "allowed",
        id="deny-condition-value-unresolved",
    ),
    P(
        case(
            identity=[allow(), deny(condition={"StringNotEquals": {"s3:prefix": "${aws:username}"}})],
            context={"aws:username": "alice"},
        ),
        "explicit_deny",  # a negated operator on an absent key holds once the variable resolves
        id="deny-condition-value-resolved",
    ),
    P(
        case(identity=[allow(resource="arn:aws:s3:::${aws:username, 'bkt'}/*")], principal=ROLE),
        "allowed",
        id="default-resolves",
    ),
]


@pytest.mark.parametrize(("data", "expected"), INVALID_STATEMENT_ROWS)
def test_unresolved_variable_invalidates_statement(data: dict[str, Any], expected: str) -> None:
    assert decision(data) == expected


@pytest.mark.parametrize(("pattern", "resource", "context", "version", "expected"), VARIABLE_ROWS)
def test_resource_variables(
    pattern: str, resource: str, context: dict[str, Any], version: str | None, expected: str
) -> None:
    data = case(resource=resource, context=context)
    data["identityPolicies"] = [doc(allow(resource=pattern), version=version)]
    assert decision(data) == expected


# --- Unsupported constructs -------------------------------------------------------------------


def fancy(effect: str = "Allow", action: Any = "*", **extra: Any) -> dict[str, Any]:
    """A statement both engines must treat as undecidable (see :data:`UNSUPPORTED_SID`)."""
    return stmt(effect, action, sid=UNSUPPORTED_SID, **extra)


UNSUPPORTED_ROWS = [
    P(case(identity=[fancy()]), "unknown", id="unknown-allow-matters"),
    P(case(identity=[allow(), fancy("Deny")]), "unknown", id="unknown-deny-matters"),
    P(case(identity=[deny(), fancy()]), "explicit_deny", id="deny-decides-over-unknown-allow"),
    P(case(identity=[allow(), deny(), fancy("Deny")]), "explicit_deny", id="deny-decides-over-unknown-deny"),
    P(case(identity=[allow(), fancy()]), "allowed", id="unknown-allow-redundant"),
    P(case(identity=[allow(), fancy("Deny", "ec2:*")]), "allowed", id="unknown-deny-other-action"),
    P(case(identity=[fancy("Allow", "ec2:*")]), "implicit_deny", id="unknown-allow-other-action"),
    P(
        case(identity=[fancy()], boundary=doc(allow("ec2:*"))),
        "implicit_deny",
        id="unknown-allow-boundary-decides",
    ),
    P(case(identity=ALLOW_ALL, scps=[[doc(fancy())]]), "unknown", id="unknown-scp-allow"),
    P(
        case(identity=ALLOW_ALL, resource_policy=res(fancy("Deny", principal={"AWS": BOB}))),
        "allowed",
        id="unknown-deny-other-principal",
    ),
]


@pytest.mark.parametrize(("data", "expected"), UNSUPPORTED_ROWS)
def test_unsupported(data: dict[str, Any], expected: str) -> None:
    assert decision(data) == expected


def test_unsupported_statement_ignores_bound() -> None:
    parsed = parse(case(identity=[fancy()]))
    policy = parsed.policies.identity[0]
    m = ReferenceMatcher(parsed.request)
    assert m.statement(policy, policy.statements[0], "lo") is None
    assert m.statement(policy, policy.statements[0], "hi") is None


# --- The policy grammar -------------------------------------------------------------------------

GRAMMAR_ROWS = [
    P(case(identity=[allow(condition={"StringFancy": {TAG: "x"}})]), ["'StringFancy'", "Condition"], id="operator"),
    P(
        case(identity=[allow(condition={"StringEqulas": {TAG: "x"}})]),
        ["'StringEqulas'", "did you mean 'StringEquals'?"],
        id="operator-typo",
    ),
    P(
        case(identity=[allow(condition={"ForSomeValues:StringEquals": {TAG: "x"}})]),
        ["'ForSomeValues'"],
        id="set-operator",
    ),
    P(case(identity=[allow(condition={"NullIfExists": {TAG: "true"}})]), ["'NullIfExists'"], id="null-ifexists"),
    P(case(identity=[allow(condition={"StringEquals": {TAG: {"a": 1}}})]), ["must hold strings"], id="value-shape"),
    P(case(resource_policy=res(allow())), ["resourcePolicy statement 0", "'Principal' is required"], id="no-principal"),
    P(
        case(identity=[allow(principal="*", sid="Grant")]),
        ["identityPolicies[0] statement 0 (Grant)", "'Principal' is not allowed"],
        id="identity-with-principal",
    ),
    P(case(identity=[allow(resource=None)]), ["'Resource' (or 'NotResource') is required"], id="no-resource"),
    P(case(scps=[[doc(deny(resource=None))]]), ["scps[0][0] statement 0", "'Resource'"], id="scp-deny-no-resource"),
]


@pytest.mark.parametrize(("data", "words"), GRAMMAR_ROWS)
def test_grammar_errors(data: dict[str, Any], words: list[str]) -> None:
    with pytest.raises(CaseError) as caught:
        parse_case(data)
    for word in words:
        assert word in str(caught.value)


def test_grammar_allows_scp_allow_without_resource_and_trust_without_resource() -> None:
    parse_case(case(identity=ALLOW_ALL, scps=[[doc(allow(resource=None))]]))
    trust = res(allow("sts:AssumeRole", resource=None, principal={"AWS": ALICE}))
    assert decision(case(action="sts:AssumeRole", resource=TARGET_ROLE, resource_policy=trust)) == "allowed"


# --- Reasons ----------------------------------------------------------------------------------


def reasons(data: dict[str, Any]) -> list[dict[str, Any]]:
    return decide_case(parse(data)).reasons


def test_reasons_explicit_deny() -> None:
    got = reasons(case(identity=[allow(), deny(sid="NoS3")], rcps=[[doc(deny("ec2:*"))]]))
    assert got == [{"policy": "identityPolicies[0]", "statement": 1, "sid": "NoS3", "effect": "Deny"}]


def test_reasons_allowed() -> None:
    got = reasons(case(identity=[allow("ec2:*"), allow("s3:*")], scps=[[doc(allow())]], rcps=[[doc(allow())]]))
    assert got == [
        {"policy": "identityPolicies[0]", "statement": 1, "sid": None, "effect": "Allow"},
        {"policy": "scps[0][0]", "statement": 0, "sid": None, "effect": "Allow"},
    ]


@pytest.mark.parametrize(
    ("data", "kinds"),
    [
        (case(), ["no_allow"]),
        (case(identity=ALLOW_ALL, scps=[[doc(allow())], [doc(allow("ec2:*"))]]), ["scp_level"]),
        (case(identity=ALLOW_ALL, boundary=doc(allow("ec2:*"))), ["boundary"]),
        (case(SESSION, identity=ALLOW_ALL, session=doc(allow("ec2:*"))), ["session"]),
        (case(CAROL, identity=ALLOW_ALL, resource_account=ACCOUNT), ["cross_account"]),
        (case(action="sts:AssumeRole", resource=TARGET_ROLE, identity=ALLOW_ALL), ["resource_policy_required"]),
        (case("lambda.amazonaws.com"), ["no_allow"]),
    ],
)
def test_reasons_implicit_deny(data: dict[str, Any], kinds: list[str]) -> None:
    got = reasons(data)
    assert [r["kind"] for r in got] == kinds
    assert all(r["detail"] for r in got)


def test_reasons_scp_level_names_level() -> None:
    got = reasons(case(identity=ALLOW_ALL, scps=[[doc(allow())], [doc(allow("ec2:*"))]]))
    assert got[0]["level"] == 1


def test_reasons_unknown() -> None:
    got = reasons(case(identity=[fancy(), fancy("Allow", "ec2:*")]))
    assert got == [
        {
            "kind": "unsupported",
            "detail": ["a construct the engine does not decide"],
            "policy": "identityPolicies[0]",
            "statement": 0,
        }
    ]
