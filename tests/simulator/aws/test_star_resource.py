"""``*`` as the RESOURCE of can / who-can: any resource the action takes (service authorization
reference), with a witness naming one concrete resource, replayed through the reference evaluator."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from models import Attachment, AttachmentKind, Cloud, Policy, PolicyKind, Resource, Snapshot
from scanner.files import scan_files
from simulator.aws import reference
from simulator.aws.catalog import load_catalog
from simulator.aws.encode import _format_matches
from simulator.aws.engine import AwsEngine
from simulator.aws.request import Request, classify_principal
from simulator.core import Answer, Ask, Decision, Method, ReasonKind, context_tuples
from tests.conftest import DEMO_AWS
from tests.simulator.aws.test_snapshot_queries_engine import ACCOUNT, PROD, ROLE, allow, deny, doc, snapshot

AT = datetime(2025, 6, 2, 12, tzinfo=UTC)


def ask(principal: Any, action: str, context: dict[str, Any] | None = None, **kw: Any) -> Ask:
    return Ask(principal=principal, action=action, resource="*", at=AT, context=context_tuples(context or {}), **kw)


@pytest.fixture(scope="module")
def demo() -> AwsEngine:
    return AwsEngine(scan_files([DEMO_AWS]), AT)


def assert_typed_witness(engine: AwsEngine, answer: Answer) -> str:
    """The witness names one concrete resource of a type the action takes, and the engine's own
    plan for that resource, replayed through the reference evaluator, allows it."""
    assert answer.decision is Decision.ALLOWED and answer.witness is not None
    resource = answer.witness.resource
    info = load_catalog().action(answer.ask.action)
    assert info is not None
    assert (resource == "*" and info.any_resource) or any(_format_matches(f, resource) for f in info.formats)
    plan = engine.plan(replace(answer.ask, resource=resource), answer.principal)
    request = Request(
        principal=classify_principal(answer.principal),
        action=answer.witness.action,
        resource=resource,
        resource_account=plan.case.request.resource_account,
        context={k: tuple(v) for k, v in answer.witness.context.items()},
    )
    assert reference.decide(request, plan.case.policies).decision == "allowed"
    assert answer.ask.resource == "*"
    return resource


def with_bucket(snap: Snapshot, bucket: str, policy: dict[str, Any]) -> Snapshot:
    arn = f"arn:aws:s3:::{bucket}"
    p = Policy(
        id=f"{arn}#policy", cloud=Cloud.AWS, kind=PolicyKind.RESOURCE, name="b", scope_id=ACCOUNT, document=policy
    )
    r = Resource(id=arn, cloud=Cloud.AWS, kind="s3:bucket", name=bucket, scope_id=ACCOUNT, region="us-east-1")
    return replace(
        snap,
        policies=(*snap.policies, p),
        attachments=(*snap.attachments, Attachment(policy_id=p.id, target_id=arn, kind=AttachmentKind.RESOURCE)),
        resources=(*snap.resources, r),
    )


# --- the demo estate ---------------------------------------------------------------------------------


def test_any_object_the_ci_role_can_read_is_found(demo: AwsEngine) -> None:
    answer = demo.can(ask("github-ci-any-repo", "s3:GetObject"))
    resource = assert_typed_witness(demo, answer)
    assert resource.startswith("arn:aws:s3:::") and "/" in resource


def test_who_can_with_star_lists_principals_with_typed_witnesses(demo: AwsEngine) -> None:
    answers = demo.who_can(ask(None, "iam:PassRole"))
    allowed = {a.principal: a for a in answers if a.decision is Decision.ALLOWED}
    deployer = f"arn:aws:iam::{PROD}:role/lambda-deployer"
    assert deployer in allowed
    assert assert_typed_witness(demo, allowed[deployer]).startswith("arn:aws:iam::")
    assert all(a.decision is not Decision.IMPLICIT_DENY for a in answers)


# --- small snapshots ------------------------------------------------------------------------------------


def test_a_pattern_the_literal_star_does_not_match_is_found() -> None:
    engine = AwsEngine(snapshot(doc(allow("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/deploy-*"))), AT)
    resource = assert_typed_witness(engine, engine.can(ask(ROLE, "iam:PassRole")))
    assert re.fullmatch(rf"arn:aws:iam::{ACCOUNT}:role/deploy-.*", resource)


def test_deny_holds_for_every_resource() -> None:
    explicit = AwsEngine(snapshot(doc(allow("s3:*"), deny("s3:GetObject"))), AT)
    assert explicit.can(ask(ROLE, "s3:GetObject")).decision is Decision.EXPLICIT_DENY
    nothing = AwsEngine(snapshot(doc(allow("s3:ListBucket"))), AT)
    assert nothing.can(ask(ROLE, "iam:PassRole")).decision is Decision.IMPLICIT_DENY
    # a deny of one bucket leaves every other object: allowed, outside it
    partly = AwsEngine(
        snapshot(doc(allow("s3:GetObject", "arn:aws:s3:::*/*"), deny("s3:GetObject", "arn:aws:s3:::b/*"))), AT
    )
    resource = assert_typed_witness(partly, partly.can(ask(ROLE, "s3:GetObject")))
    assert not resource.startswith("arn:aws:s3:::b/")


def test_a_known_resource_keeps_its_policy() -> None:
    """The bucket the identity names denies everyone: no unseen object stands in for it."""
    snap = with_bucket(
        snapshot(doc(allow("s3:GetObject", "arn:aws:s3:::b/*"))),
        "b",
        doc({"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::b/*"}),
    )
    answer = AwsEngine(snap, AT).can(ask(ROLE, "s3:GetObject"))
    assert answer.decision.denied
    opened = with_bucket(
        snapshot(doc(allow("s3:GetObject", "arn:aws:s3:::b/public/*"))),
        "b",
        doc({"Effect": "Deny", "Principal": "*", "Action": "s3:*", "NotResource": "arn:aws:s3:::b/public/*"}),
    )
    engine = AwsEngine(opened, AT)
    assert assert_typed_witness(engine, engine.can(ask(ROLE, "s3:GetObject"))).startswith("arn:aws:s3:::b/public/")


def test_a_resource_in_an_unscanned_account_is_not_a_deny() -> None:
    other = "arn:aws:kms:*:444455556666:key/*"
    engine = AwsEngine(snapshot(doc(allow("kms:Decrypt", other))), AT)
    answer = engine.can(ask(ROLE, "kms:Decrypt"))
    assert answer.decision is Decision.UNKNOWN  # that account's key policy might grant it
    assert any(r.kind is ReasonKind.COVERAGE for r in answer.reasons)
    # an identity-side explicit deny stays proven whatever the unseen resources' policies say
    denied = AwsEngine(snapshot(doc(allow("kms:Decrypt", other), deny("kms:*"))), AT)
    assert denied.can(ask(ROLE, "kms:Decrypt")).decision is Decision.EXPLICIT_DENY


def test_region_of_the_witness_is_the_requested_region() -> None:
    cond = {"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}
    engine = AwsEngine(snapshot(doc(allow("ec2:StartInstances", Condition=cond))), AT)
    answer = engine.can(ask(ROLE, "ec2:StartInstances"))
    resource = assert_typed_witness(engine, answer)
    assert answer.witness is not None and answer.witness.context["aws:requestedregion"] == ("eu-west-1",)
    assert resource.split(":")[3] == "eu-west-1"
    fixed = engine.can(ask(ROLE, "ec2:StartInstances", {"aws:RequestedRegion": "us-east-1"}))
    assert fixed.decision.denied


def test_an_action_that_takes_only_star_and_the_reference_engine() -> None:
    engine = AwsEngine(snapshot(doc(allow("s3:ListAllMyBuckets"), allow("iam:PassRole"))), AT)
    listed = engine.can(ask(ROLE, "s3:ListAllMyBuckets"))
    assert listed.decision is Decision.ALLOWED and listed.witness is not None and listed.witness.resource == "*"
    reference_answer = engine.can(ask(ROLE, "iam:PassRole", method=Method.REFERENCE))
    assert reference_answer.decision is not Decision.IMPLICIT_DENY


def test_outside_principals_with_star(demo: AwsEngine) -> None:
    public = demo.can(ask("*", "s3:GetObject"))
    resource = public.witness.resource if public.witness else ""
    assert public.decision is Decision.ALLOWED and resource.startswith("arn:aws:s3:::acme-public-assets/")
    # the caller's own "*" resources are no access to the snapshot's resources
    assert demo.can(ask("*", "iam:PassRole")).decision is not Decision.ALLOWED
