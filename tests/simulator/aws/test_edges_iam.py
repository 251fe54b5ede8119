"""IAM edges (simulator/aws/edges_iam.py), positive and negative, against AWS's documented rules.

CreateAccessKey: a user holds at most two access keys. CreateLoginProfile fails when the user has
a console password; UpdateLoginProfile needs one. Explicit denies and permissions boundaries cap
every request.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from models import Cloud, CoverageEntry, CoverageStatus, Covers, Credential, CredentialKind, Principal, PrincipalKind
from simulator.aws.edges import find_edges
from simulator.core import EdgeStatus
from tests.simulator.aws.edge_builders import (
    ACCOUNT,
    BOB,
    TARGET,
    allow,
    deny,
    doc,
    estate,
    pick,
    proven,
    reopen,
    trust,
    with_boundary,
    with_credentials,
    with_managed,
    with_scp,
)

ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"
ADMIN_ARN = "arn:aws:iam::aws:policy/AdministratorAccess"


def key(n: int) -> Credential:
    return Credential(id=f"{ALICE}#access-key-{n}", principal_id=ALICE, kind=CredentialKind.ACCESS_KEY)


PASSWORD = Credential(id=f"{ALICE}#password", principal_id=ALICE, kind=CredentialKind.PASSWORD)


def users(policy: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {BOB: policy, ALICE: doc(allow("s3:GetObject"))}


# --- iam:CreateAccessKey --------------------------------------------------------------------------


def test_create_access_key_is_an_edge_until_the_user_has_two_keys() -> None:
    base = estate(users(doc(allow("iam:CreateAccessKey", ALICE))), {})
    edge = proven(find_edges(with_credentials(base, key(1))), BOB, ALICE, "iam:CreateAccessKey")
    assert not edge.escalates and edge.condition is None
    assert not pick(find_edges(with_credentials(base, key(1), key(2))), BOB, ALICE, "iam:CreateAccessKey")


def test_create_access_key_blocked() -> None:
    denied = estate(users(doc(allow("iam:CreateAccessKey"), deny("iam:CreateAccessKey", ALICE))), {})
    assert not pick(find_edges(denied), BOB, ALICE, "iam:CreateAccessKey")
    wrong = estate(users(doc(allow("iam:CreateAccessKey", f"arn:aws:iam::{ACCOUNT}:user/carol"))), {})
    assert not pick(find_edges(wrong), BOB, ALICE, "iam:CreateAccessKey")
    bounded = with_boundary(estate(users(doc(allow("iam:CreateAccessKey"))), {}), BOB, doc(allow("s3:*")))
    assert not pick(find_edges(bounded), BOB, ALICE, "iam:CreateAccessKey")
    never = {"StringEquals": {"aws:PrincipalAccount": "000000000000"}}
    impossible = estate(users(doc(allow("iam:CreateAccessKey", Condition=never))), {})
    assert not pick(find_edges(impossible), BOB, ALICE, "iam:CreateAccessKey")


def test_create_access_key_only_with_mfa_names_the_condition() -> None:
    mfa = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
    edges = find_edges(estate(users(doc(allow("iam:CreateAccessKey", Condition=mfa))), {}))
    edge = pick(edges, BOB, ALICE, "iam:CreateAccessKey")
    assert len(edge) == 1 and edge[0].condition == "only with MFA"
    assert edge[0].status is EdgeStatus.PROVEN and all(a.witness is not None for a in edge[0].answers)


def test_create_access_key_with_an_unsupported_operator_is_unknown() -> None:
    odd = {"StringEqualsWeird": {"aws:username": "bob"}}
    edges = find_edges(estate(users(doc(allow("iam:CreateAccessKey", Condition=odd))), {}))
    found = pick(edges, BOB, ALICE, "iam:CreateAccessKey")
    assert [e.status for e in found] == [EdgeStatus.UNKNOWN]
    assert any("StringEqualsWeird" in r.detail for a in found[0].answers for r in a.reasons)


# --- login profiles -------------------------------------------------------------------------------


def test_create_login_profile_only_without_a_password_update_only_with_one() -> None:
    policy = doc(allow(["iam:CreateLoginProfile", "iam:UpdateLoginProfile"], ALICE))
    base = estate(users(policy), {})
    none = find_edges(base)
    proven(none, BOB, ALICE, "iam:CreateLoginProfile")
    assert not pick(none, BOB, ALICE, "iam:UpdateLoginProfile")
    has = find_edges(with_credentials(base, PASSWORD))
    proven(has, BOB, ALICE, "iam:UpdateLoginProfile")
    assert not pick(has, BOB, ALICE, "iam:CreateLoginProfile")


def test_login_profile_of_a_user_with_mfa_holds_only_with_the_device() -> None:
    base = estate(users(doc(allow("iam:UpdateLoginProfile", ALICE))), {})
    edges = find_edges(with_credentials(base, replace(PASSWORD, mfa=True)))
    edge = proven(edges, BOB, ALICE, "iam:UpdateLoginProfile")
    assert edge.condition is not None and "MFA" in edge.condition


# --- iam:UpdateAssumeRolePolicy -------------------------------------------------------------------


def test_update_assume_role_policy_reaches_the_role() -> None:
    trusts = {TARGET: trust({"Service": "ec2.amazonaws.com"})}
    edges = find_edges(estate({BOB: doc(allow(["iam:UpdateAssumeRolePolicy", "sts:AssumeRole"]))}, trusts))
    edge = pick(edges, BOB, TARGET)
    assert edge and all(e.status is EdgeStatus.PROVEN for e in edge)
    assert any("iam:UpdateAssumeRolePolicy" in e.mechanism for e in edge)
    denied = doc(allow(["iam:UpdateAssumeRolePolicy", "sts:AssumeRole"]), deny("iam:UpdateAssumeRolePolicy", TARGET))
    assert not pick(find_edges(estate({BOB: denied}, trusts)), BOB, TARGET)


# --- escalation -----------------------------------------------------------------------------------


def test_put_user_policy_on_itself_escalates() -> None:
    me = f"arn:aws:iam::{ACCOUNT}:user/bob"
    edges = find_edges(estate({BOB: doc(allow("iam:PutUserPolicy", me))}, {}))
    edge = proven(edges, BOB, BOB, "iam:PutUserPolicy")
    assert edge.escalates
    denied = estate({BOB: doc(allow("iam:PutUserPolicy", me), deny("iam:PutUserPolicy"))}, {})
    assert not pick(find_edges(denied), BOB, BOB, "iam:PutUserPolicy")
    bounded = with_boundary(estate({BOB: doc(allow("iam:PutUserPolicy", me))}, {}), BOB, doc(allow("s3:*")))
    assert not pick(find_edges(bounded), BOB, BOB, "iam:PutUserPolicy")


def test_put_role_policy_on_an_assumable_role_escalates() -> None:
    trusts = {TARGET: trust({"AWS": BOB})}
    edges = find_edges(estate({BOB: doc(allow(["iam:PutRolePolicy", "sts:AssumeRole"], "*"))}, trusts))
    found = [e for e in pick(edges, BOB, TARGET) if "iam:PutRolePolicy" in e.mechanism]
    assert found and all(e.escalates and e.status is EdgeStatus.PROVEN for e in found)
    assert all(a.witness is not None for e in found for a in e.answers)


# --- more blocks: SCPs, conditions, coverage ------------------------------------------------------


def test_create_access_key_blocked_by_an_scp() -> None:
    base = estate(users(doc(allow("iam:CreateAccessKey"))), {})
    assert pick(find_edges(with_scp(base, doc(allow("s3:*")))), BOB, ALICE, "iam:CreateAccessKey")
    guarded = with_scp(base, doc(deny("iam:CreateAccessKey")))
    assert not pick(find_edges(guarded), BOB, ALICE, "iam:CreateAccessKey")


def test_create_access_key_only_from_a_network_names_the_condition() -> None:
    ip = {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}
    edges = find_edges(estate(users(doc(allow("iam:CreateAccessKey", Condition=ip))), {}))
    edge = proven(edges, BOB, ALICE, "iam:CreateAccessKey")
    assert edge.condition is not None and "203.0.113.0/24" in edge.condition


def test_create_access_key_over_plain_http_cannot_hold() -> None:
    # the IAM API is served over TLS only: aws:SecureTransport is always true for it
    plain = {"Bool": {"aws:SecureTransport": "false"}}
    edges = find_edges(estate(users(doc(allow("iam:CreateAccessKey", Condition=plain))), {}))
    assert not pick(edges, BOB, ALICE, "iam:CreateAccessKey")


def test_unread_credentials_make_the_edge_unknown() -> None:
    gap = CoverageEntry(
        scope_id=ACCOUNT,
        source="api",
        service="iam",
        operation="GenerateCredentialReport",
        status=CoverageStatus.DENIED,
        cloud=Cloud.AWS,
        covers=(Covers.CREDENTIALS,),
    )
    base = estate(users(doc(allow("iam:CreateAccessKey", ALICE))), {})
    edges = find_edges(reopen(base, coverage=(*base.snapshot.coverage, gap)))
    found = pick(edges, BOB, ALICE, "iam:CreateAccessKey")
    assert [e.status for e in found] == [EdgeStatus.UNKNOWN]
    assert any("not read" in r.detail for a in found[0].answers for r in a.reasons)


def test_update_assume_role_policy_with_a_boundary_that_caps_it() -> None:
    trusts = {TARGET: trust({"Service": "ec2.amazonaws.com"})}
    base = estate({BOB: doc(allow(["iam:UpdateAssumeRolePolicy", "sts:AssumeRole"]))}, trusts)
    bounded = with_boundary(base, BOB, doc(allow("sts:AssumeRole")))
    assert not pick(find_edges(bounded), BOB, TARGET)


# --- attach / versions / groups / boundaries ------------------------------------------------------


def test_attach_administrator_access_to_itself() -> None:
    arn = {"ArnEquals": {"iam:PolicyARN": ADMIN_ARN}}
    edges = find_edges(estate({BOB: doc(allow("iam:AttachUserPolicy", BOB, Condition=arn))}, {}))
    assert proven(edges, BOB, BOB, "iam:AttachUserPolicy").escalates
    other = {"ArnEquals": {"iam:PolicyARN": "arn:aws:iam::aws:policy/ReadOnlyAccess"}}
    limited = find_edges(estate({BOB: doc(allow("iam:AttachUserPolicy", BOB, Condition=other))}, {}))
    assert not pick(limited, BOB, BOB, "iam:AttachUserPolicy")


def test_create_policy_version_on_an_attached_policy_escalates() -> None:
    base = estate({BOB: doc(allow("s3:GetObject"))}, {})
    mine = with_managed(base, BOB, "mine", ("v1", doc(allow("iam:CreatePolicyVersion"))))
    assert proven(find_edges(mine), BOB, BOB, "iam:CreatePolicyVersion").escalates
    elsewhere = f"arn:aws:iam::{ACCOUNT}:policy/other"
    wrong = with_managed(base, BOB, "mine", ("v1", doc(allow("iam:CreatePolicyVersion", elsewhere))))
    assert not pick(find_edges(wrong), BOB, BOB, "iam:CreatePolicyVersion")


def test_set_default_policy_version_only_to_a_version_that_exists() -> None:
    base = estate({BOB: doc(allow("s3:GetObject"))}, {})
    default = doc(allow("iam:SetDefaultPolicyVersion"))
    kept = with_managed(base, BOB, "mine", ("v1", default), ("v2", doc(allow("*"))))
    edge = proven(find_edges(kept), BOB, BOB, "iam:SetDefaultPolicyVersion")
    assert edge.escalates and any("v2" in f.what for f in edge.facts)
    alone = with_managed(base, BOB, "mine", ("v1", default))
    assert not pick(find_edges(alone), BOB, BOB, "iam:SetDefaultPolicyVersion")
    # the other version grants nothing more: setting it gains nothing
    same = with_managed(base, BOB, "mine", ("v1", default), ("v2", doc(allow("s3:GetObject"))))
    assert not [e for e in pick(find_edges(same), BOB, BOB, "iam:SetDefaultPolicyVersion") if e.escalates]


def test_add_user_to_an_admin_group() -> None:
    admins = f"arn:aws:iam::{ACCOUNT}:group/admins"
    base = estate({BOB: doc(allow("iam:AddUserToGroup", admins)), admins: doc(allow("*"))}, {})
    group = Principal(id=admins, cloud=Cloud.AWS, kind=PrincipalKind.AWS_GROUP, name="admins", scope_id=ACCOUNT)
    principals = tuple(group if p.id == admins else p for p in base.snapshot.principals)
    edge = proven(find_edges(reopen(base, principals=principals)), BOB, BOB, "iam:AddUserToGroup")
    assert edge.escalates
    denied = estate(
        {BOB: doc(allow("iam:AddUserToGroup", admins), deny("iam:AddUserToGroup")), admins: doc(allow("*"))}, {}
    )
    principals = tuple(group if p.id == admins else p for p in denied.snapshot.principals)
    assert not pick(find_edges(reopen(denied, principals=principals)), BOB, BOB, "iam:AddUserToGroup")


def test_deleting_its_own_boundary_escalates() -> None:
    base = estate({BOB: doc(allow("*"))}, {})
    bounded = with_boundary(base, BOB, doc(allow(["s3:*", "iam:DeleteUserPermissionsBoundary"])))
    edge = proven(find_edges(bounded), BOB, BOB, "iam:DeleteUserPermissionsBoundary")
    assert edge.escalates
    no_delete = with_boundary(base, BOB, doc(allow("s3:*")))
    assert not pick(find_edges(no_delete), BOB, BOB, "iam:DeleteUserPermissionsBoundary")


def test_put_role_policy_through_a_trust_demanding_an_external_id() -> None:
    external = {"StringEquals": {"sts:ExternalId": "s3cret"}}
    trusts = {TARGET: trust({"AWS": BOB}, Condition=external)}
    edges = find_edges(estate({BOB: doc(allow(["iam:PutRolePolicy", "sts:AssumeRole"]))}, trusts))
    found = pick(edges, BOB, TARGET, "iam:PutRolePolicy+sts:AssumeRole")
    assert len(found) == 1 and found[0].status is EdgeStatus.PROVEN and found[0].escalates
    assert found[0].condition is not None and "ExternalId" in found[0].condition


def test_login_profile_blocked_by_a_deny_or_another_user() -> None:
    carol = f"arn:aws:iam::{ACCOUNT}:user/carol"
    denied = doc(allow("iam:CreateLoginProfile"), deny("iam:CreateLoginProfile", ALICE))
    assert not pick(find_edges(estate(users(denied), {})), BOB, ALICE, "iam:CreateLoginProfile")
    wrong = estate(users(doc(allow("iam:UpdateLoginProfile", carol))), {})
    assert not pick(find_edges(with_credentials(wrong, PASSWORD)), BOB, ALICE)


def test_set_default_policy_version_blocked_by_an_scp() -> None:
    base = estate({BOB: doc(allow("s3:GetObject"))}, {})
    kept = with_managed(base, BOB, "mine", ("v1", doc(allow("iam:SetDefaultPolicyVersion"))), ("v2", doc(allow("*"))))
    guarded = with_scp(kept, doc(deny("iam:SetDefaultPolicyVersion")))
    assert not pick(find_edges(guarded), BOB, BOB, "iam:SetDefaultPolicyVersion")


def test_an_inactive_key_still_counts_towards_the_two() -> None:
    base = estate(users(doc(allow("iam:CreateAccessKey", ALICE))), {})
    two = with_credentials(base, key(1), replace(key(2), active=False))
    assert not pick(find_edges(two), BOB, ALICE, "iam:CreateAccessKey")
