"""AWS admin-equivalence: small snapshots for each rule, and the demo estate."""

from __future__ import annotations

from dataclasses import dataclass, field
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
from simulator.aws.admins import (
    AdminAssessment,
    Status,
    assess_admins,
    decide_admin,
    find_admins,
    undecided_admins,
)
from simulator.core import Decision, Estate
from simulator.engines import open_estate
from tests.conftest import DEMO_AWS

AT = datetime(2025, 6, 2, 12, tzinfo=UTC)
ACCOUNT = "123456789012"
MANAGEMENT = "210987654321"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/ops"
OTHER = f"arn:aws:iam::{ACCOUNT}:role/other"
USER = f"arn:aws:iam::{ACCOUNT}:user/alice"
GROUP = f"arn:aws:iam::{ACCOUNT}:group/Admins"
ADMIN_POLICY = "arn:aws:iam::aws:policy/AdministratorAccess"
PROD = "222222222222"
DEV = "333333333333"


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action: str | list[str] = "*", resource: str | list[str] = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: str | list[str], resource: str = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


ADMIN = doc(allow())
FULL_ACCESS_SCP = doc(allow())
REGION_LOCK = doc(
    {
        "Sid": "DenyOutsideApprovedRegions",
        "Effect": "Deny",
        "NotAction": ["iam:*", "sts:*", "organizations:*", "support:*", "cloudfront:*", "route53:*"],
        "Resource": "*",
        "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["us-east-1", "eu-west-1"]}},
    }
)
REQUIRE_MFA = doc(
    {
        "Sid": "DenyAllExceptMfaSetupWithoutMFA",
        "Effect": "Deny",
        "NotAction": ["iam:ChangePassword", "iam:EnableMFADevice", "sts:GetSessionToken"],
        "Resource": "*",
        "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
    }
)


@dataclass
class Account:
    """One account's principals and documents (``inline``: principal or group -> its inline
    documents), optionally in an organization whose root carries ``scps``."""

    inline: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    managed: dict[str, list[str]] = field(default_factory=dict)
    boundaries: dict[str, dict[str, Any]] = field(default_factory=dict)
    groups: dict[str, tuple[str, ...]] = field(default_factory=dict)
    scps: list[dict[str, Any]] | None = None
    account: str = ACCOUNT
    missing: dict[str, str] = field(default_factory=dict)
    coverage: tuple[CoverageEntry, ...] = ()
    tags: dict[str, dict[str, str]] = field(default_factory=dict)

    def estate(self) -> Estate:
        ids = list(
            dict.fromkeys([*self.inline, *self.managed, *self.boundaries, *self.groups, *self.missing, *self.tags])
        )
        for members in self.groups.values():
            ids += [g for g in members if g not in ids]
        principals = []
        for pid in ids:
            kind = (
                PrincipalKind.AWS_GROUP
                if ":group/" in pid
                else PrincipalKind.AWS_ROLE
                if ":role/" in pid
                else PrincipalKind.AWS_USER
            )
            principals.append(
                Principal(
                    id=pid,
                    cloud=Cloud.AWS,
                    kind=kind,
                    name=pid.rsplit("/", 1)[1],
                    scope_id=self.account,
                    member_of=self.groups.get(pid, ()),
                    tags=self.tags.get(pid, {}),
                )
            )
        policies: list[Policy] = []
        attachments: list[Attachment] = []
        for pid, documents in self.inline.items():
            for i, document in enumerate(documents):
                policy_id = f"{pid}#inline:p{i}"
                policies.append(
                    Policy(
                        id=policy_id,
                        cloud=Cloud.AWS,
                        kind=PolicyKind.INLINE,
                        name=f"p{i}",
                        scope_id=self.account,
                        document=document,
                    )
                )
                attachments.append(Attachment(policy_id=policy_id, target_id=pid, kind=AttachmentKind.IDENTITY))
        if any(ADMIN_POLICY in names for names in self.managed.values()):
            policies.append(
                Policy(
                    id=ADMIN_POLICY,
                    cloud=Cloud.AWS,
                    kind=PolicyKind.AWS_MANAGED,
                    name="AdministratorAccess",
                    scope_id=self.account,
                    document=ADMIN,
                )
            )
        for pid, names in self.managed.items():
            attachments += [Attachment(policy_id=n, target_id=pid, kind=AttachmentKind.IDENTITY) for n in names]
        for pid, policy_id in self.missing.items():
            attachments.append(Attachment(policy_id=policy_id, target_id=pid, kind=AttachmentKind.IDENTITY))
        for pid, document in self.boundaries.items():
            policy_id = f"arn:aws:iam::{self.account}:policy/boundary-{pid.rsplit('/', 1)[1]}"
            policies.append(
                Policy(
                    id=policy_id,
                    cloud=Cloud.AWS,
                    kind=PolicyKind.CUSTOMER_MANAGED,
                    name="Boundary",
                    scope_id=self.account,
                    document=document,
                )
            )
            attachments.append(Attachment(policy_id=policy_id, target_id=pid, kind=AttachmentKind.BOUNDARY))
        scopes = [Scope(id=self.account, cloud=Cloud.AWS, kind=ScopeKind.ACCOUNT, name="a", parent_id=None)]
        if self.scps is not None:
            scopes = [
                Scope(
                    id="o-test",
                    cloud=Cloud.AWS,
                    kind=ScopeKind.ORGANIZATION,
                    name="org",
                    management_account_id=MANAGEMENT,
                ),
                Scope(id="r-test", cloud=Cloud.AWS, kind=ScopeKind.ROOT, name="Root", parent_id="o-test"),
                Scope(id=self.account, cloud=Cloud.AWS, kind=ScopeKind.ACCOUNT, name="a", parent_id="r-test"),
            ]
            for i, document in enumerate([FULL_ACCESS_SCP, *self.scps]):
                policy_id = f"p-scp{i}"
                policies.append(
                    Policy(
                        id=policy_id,
                        cloud=Cloud.AWS,
                        kind=PolicyKind.SCP,
                        name=f"scp{i}",
                        scope_id="r-test",
                        document=document,
                    )
                )
                attachments.append(Attachment(policy_id=policy_id, target_id="r-test", kind=AttachmentKind.SCP))
            # Every level needs an Allow: FullAWSAccess on the account too, as AWS attaches it.
            attachments.append(Attachment(policy_id="p-scp0", target_id=self.account, kind=AttachmentKind.SCP))
        snapshot = Snapshot(
            scopes=tuple(scopes),
            principals=tuple(principals),
            policies=tuple(policies),
            attachments=tuple(attachments),
            coverage=self.coverage,
        )
        return open_estate(snapshot, at=AT)


def admin_ids(estate: Estate) -> set[str]:
    return {a.id for a in find_admins(estate)}


def undecided(estate: Estate) -> dict[str, str]:
    return dict(undecided_admins(estate))


# --- positive -----------------------------------------------------------------------------------------------


def test_administrator_access_role_is_admin() -> None:
    estate = Account(managed={ROLE: [ADMIN_POLICY]}, inline={OTHER: [doc(allow("s3:*"))]}).estate()
    admins = find_admins(estate)
    assert [a.id for a in admins] == [ROLE]
    admin = admins[0]
    assert admin.cloud is Cloud.AWS and admin.scope == ACCOUNT
    assert admin.why.startswith(f"allowed every action on every resource of account {ACCOUNT} (AdministratorAccess")
    assert admin.answer is not None and admin.answer.decision is Decision.ALLOWED
    assert admin.answer.witness is not None and admin.answer.witness.action == "iam:CreateUser"
    assert admin.to_json()["witness"]["principal"] == ROLE


def test_star_star_inline_user_is_admin() -> None:
    assert admin_ids(Account(inline={USER: [ADMIN]}).estate()) == {USER}


def test_not_action_allows_that_together_cover_everything() -> None:
    covering = doc({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}, allow("iam:*"))
    assert admin_ids(Account(inline={ROLE: [covering]}).estate()) == {ROLE}


def test_a_user_is_admin_through_its_group() -> None:
    estate = Account(managed={GROUP: [ADMIN_POLICY]}, groups={USER: (GROUP,)}).estate()
    assert admin_ids(estate) == {USER}
    assert GROUP not in admin_ids(estate)  # a group makes no request itself


def test_an_action_outside_the_catalog_does_not_count() -> None:
    """The claim ranges over the catalog's actions: a Deny of a name it lacks (a typo) takes nothing away."""
    estate = Account(inline={ROLE: [doc(allow(), deny("s3:GetObjectz"))]}).estate()
    assert admin_ids(estate) == {ROLE}


def test_management_account_principals_are_not_bound_by_scps() -> None:
    role = f"arn:aws:iam::{MANAGEMENT}:role/ops"
    estate = Account(inline={role: [ADMIN]}, scps=[doc(deny("iam:*"))], account=MANAGEMENT).estate()
    assert admin_ids(estate) == {role}


# --- negative -----------------------------------------------------------------------------------------------


def test_iam_star_only_is_not_admin_and_not_undecided() -> None:
    estate = Account(inline={ROLE: [doc(allow("iam:*"))]}).estate()
    assert admin_ids(estate) == set()
    assert undecided(estate) == {}
    verdict = decide_admin(estate, ROLE)
    assert verdict.status is Status.NOT_ADMIN and "names" in verdict.why  # the prefilter decided it


def test_explicit_deny_of_one_action_is_not_admin() -> None:
    estate = Account(inline={ROLE: [doc(allow(), deny("s3:DeleteBucket"))]}).estate()
    assert admin_ids(estate) == set() and undecided(estate) == {}
    verdict = decide_admin(estate, ROLE)
    assert verdict.status is Status.NOT_ADMIN
    assert verdict.counterexample is not None and verdict.counterexample["action"] == "s3:DeleteBucket"


def test_boundary_limiting_to_s3_is_not_admin() -> None:
    estate = Account(inline={ROLE: [ADMIN]}, boundaries={ROLE: doc(allow("s3:*"))}).estate()
    assert admin_ids(estate) == set() and undecided(estate) == {}


def test_boundary_allowing_everything_keeps_admin() -> None:
    estate = Account(inline={ROLE: [ADMIN]}, boundaries={ROLE: doc(allow())}).estate()
    admins = find_admins(estate)
    assert [a.id for a in admins] == [ROLE] and "boundary Boundary" in admins[0].why


def test_scp_denying_iam_is_not_admin() -> None:
    estate = Account(inline={ROLE: [ADMIN]}, scps=[doc(deny("iam:*"))]).estate()
    assert admin_ids(estate) == set() and undecided(estate) == {}
    verdict = decide_admin(estate, ROLE)
    assert verdict.counterexample is not None and verdict.counterexample["action"].startswith("iam:")


def test_scp_denying_one_iam_action_is_not_admin() -> None:
    estate = Account(inline={ROLE: [ADMIN]}, scps=[doc(deny("iam:CreateUser"))]).estate()
    assert admin_ids(estate) == set()


def test_scp_deny_by_principal_arn_keeps_only_the_exempt_role_admin() -> None:
    """A Deny that reads the principal is no account guardrail: it limits the principals it names."""
    scp = doc(deny("cloudtrail:*", Condition={"ArnNotLike": {"aws:PrincipalArn": ROLE}}))
    estate = Account(inline={ROLE: [ADMIN], OTHER: [ADMIN]}, scps=[scp]).estate()
    assert admin_ids(estate) == {ROLE}
    verdict = decide_admin(estate, OTHER)
    assert verdict.status is Status.NOT_ADMIN
    assert verdict.counterexample is not None and verdict.counterexample["action"].startswith("cloudtrail:")


def test_not_action_allow_without_iam_is_not_admin() -> None:
    power_user = doc({"Effect": "Allow", "NotAction": ["iam:*", "organizations:*"], "Resource": "*"})
    estate = Account(inline={ROLE: [power_user]}).estate()
    assert admin_ids(estate) == set() and undecided(estate) == {}


def test_resources_of_one_service_only_is_not_admin() -> None:
    estate = Account(inline={ROLE: [doc(allow("*", ["arn:aws:s3:::*", "arn:aws:iam::*:*"]))]}).estate()
    assert admin_ids(estate) == set()
    verdict = decide_admin(estate, ROLE)
    assert verdict.status is Status.NOT_ADMIN and verdict.counterexample is not None


# --- account guardrails -------------------------------------------------------------------------------------


def test_region_lock_scp_keeps_administrator_access_admin() -> None:
    """A region lock denies every principal of the account alike and no IAM action: set aside, and said so."""
    estate = Account(managed={ROLE: [ADMIN_POLICY]}, scps=[REGION_LOCK]).estate()
    admins = find_admins(estate)
    assert [a.id for a in admins] == [ROLE]
    assert "scp1 statement 0 (DenyOutsideApprovedRegions)" in admins[0].why
    assert "on no IAM action" in admins[0].why


def test_scp_denying_one_service_to_everyone_is_an_account_guardrail() -> None:
    scp = doc({"Sid": "DenyLeave", **deny("organizations:LeaveOrganization")})
    admins = find_admins(Account(inline={ROLE: [ADMIN]}, scps=[scp]).estate())
    assert [a.id for a in admins] == [ROLE] and "scp1 statement 0 (DenyLeave)" in admins[0].why


def test_region_lock_on_iam_too_is_not_admin() -> None:
    """A lock that also denies IAM outside the approved regions refuses IAM actions: no guardrail."""
    scp = doc(
        {
            "Effect": "Deny",
            "Action": "*",
            "Resource": "*",
            "Condition": {"StringNotEquals": {"aws:RequestedRegion": "eu-west-1"}},
        }
    )
    estate = Account(inline={ROLE: [ADMIN]}, scps=[scp]).estate()
    assert admin_ids(estate) == set()
    assert decide_admin(estate, ROLE).status is not Status.ADMIN


# --- contexts -----------------------------------------------------------------------------------------------


def test_admin_only_with_mfa_is_reported_as_conditional() -> None:
    estate = Account(managed={GROUP: [ADMIN_POLICY]}, inline={GROUP: [REQUIRE_MFA]}, groups={USER: (GROUP,)}).estate()
    assert admin_ids(estate) == set()
    reason = undecided(estate)[USER]
    assert reason.startswith("only for some request contexts")
    assert "aws:multifactorauthpresent" in reason
    assert decide_admin(estate, USER).status is Status.CONDITIONAL


def test_admin_only_from_a_network_is_conditional() -> None:
    policy = doc(allow(Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}))
    estate = Account(inline={ROLE: [policy]}).estate()
    assert admin_ids(estate) == set()
    assert undecided(estate)[ROLE].startswith("only for some request contexts")


def test_principal_tag_condition_uses_the_principals_own_tags() -> None:
    """A principal without the tag a Deny tests is not the subject of a free tag value."""
    policy = doc(allow(), deny("*", Condition={"StringEquals": {"aws:PrincipalTag/frozen": "yes"}}))
    estate = Account(inline={ROLE: [policy]}).estate()
    assert admin_ids(estate) == {ROLE}


def test_principals_with_the_same_documents_share_a_proof_but_not_their_denies() -> None:
    estate = Account(
        inline={ROLE: [ADMIN, doc(allow("s3:*"))], USER: [ADMIN], OTHER: [doc(allow(), deny("s3:DeleteBucket"))]}
    ).estate()
    admins = {a.id: a for a in find_admins(estate)}
    assert set(admins) == {ROLE, USER}
    assert "(p0, p1;" in admins[ROLE].why and "(p0;" in admins[USER].why  # each names its own documents
    answer = admins[USER].answer
    assert answer is not None and answer.witness is not None
    assert answer.witness.principal == USER
    assert answer.witness.resource == f"arn:aws:iam::{ACCOUNT}:user/iamdrift-admin-witness"


def test_the_same_documents_read_with_each_principals_tags() -> None:
    policy = doc(allow(), deny("*", Condition={"StringEquals": {"aws:PrincipalTag/frozen": "yes"}}))
    estate = Account(inline={ROLE: [policy], OTHER: [policy]}, tags={OTHER: {"frozen": "yes"}}).estate()
    assert admin_ids(estate) == {ROLE}
    verdict = decide_admin(estate, OTHER)
    assert verdict.status is Status.NOT_ADMIN
    assert verdict.counterexample is not None and verdict.counterexample["principal"] == OTHER


# --- undecided ----------------------------------------------------------------------------------------------


def test_missing_attached_policy_leaves_admin_undecided() -> None:
    missing = f"arn:aws:iam::{ACCOUNT}:policy/unseen"
    estate = Account(inline={ROLE: [ADMIN]}, missing={ROLE: missing}).estate()
    assert admin_ids(estate) == set()
    assert missing in undecided(estate)[ROLE] and undecided(estate)[ROLE].startswith("undecided")


def test_only_a_missing_policy_could_make_it_admin() -> None:
    estate = Account(missing={ROLE: f"arn:aws:iam::{ACCOUNT}:policy/unseen"}).estate()
    assert admin_ids(estate) == set()
    assert undecided(estate)[ROLE].startswith("undecided")


def test_failed_organization_read_leaves_admin_undecided() -> None:
    failed = CoverageEntry(
        scope_id=ACCOUNT,
        source="api",
        service="organizations",
        operation="ListPolicies",
        status=CoverageStatus.DENIED,
        cloud=Cloud.AWS,
        covers=(Covers.ORG_POLICIES,),
    )
    estate = Account(inline={ROLE: [ADMIN]}, scps=[], coverage=(failed,)).estate()
    assert admin_ids(estate) == set()
    assert "ListPolicies" in undecided(estate)[ROLE]


def test_undecided_construct_is_undecided() -> None:
    """A free key read as a number and as a date: the encoding does not decide the Deny."""
    condition = {"NumericLessThan": {"acme:level": "3"}, "DateLessThan": {"acme:level": "2020-01-01T00:00:00Z"}}
    estate = Account(inline={ROLE: [doc(allow(), deny("s3:GetObject", Condition=condition))]}).estate()
    assert admin_ids(estate) == set()
    assert undecided(estate)[ROLE].startswith("undecided")


def test_assessment_gives_both_lists() -> None:
    estate = Account(
        inline={ROLE: [ADMIN], USER: [doc(allow(Condition={"Bool": {"aws:MultiFactorAuthPresent": "true"}}))]}
    ).estate()
    assessment = assess_admins(estate)
    assert isinstance(assessment, AdminAssessment)
    assert [a.id for a in assessment.admins] == [ROLE]
    assert [pid for pid, _ in assessment.undecided] == [USER]


# --- the demo estate ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo() -> AdminAssessment:
    return assess_admins(open_estate(scan_files([DEMO_AWS]), at=AT))


def test_demo_admins(demo: AdminAssessment) -> None:
    ids = {a.id for a in demo.admins}
    assert ids == {
        f"arn:aws:iam::{PROD}:role/admin-lambda-exec",
        f"arn:aws:iam::{PROD}:role/OrganizationAccountAccessRole",
        f"arn:aws:iam::{PROD}:role/cfn-deploy-role",
        f"arn:aws:iam::{DEV}:role/OrganizationAccountAccessRole",
        "arn:aws:iam::111111111111:role/okta-admin",
    }
    lambda_exec = next(a for a in demo.admins if a.id.endswith("admin-lambda-exec"))
    assert lambda_exec.scope == PROD
    assert "RegionLock" in lambda_exec.why and "DenyLeaveOrg" in lambda_exec.why
    assert all(a.answer is not None and a.answer.witness is not None for a in demo.admins)


def test_demo_mfa_admins_are_conditional(demo: AdminAssessment) -> None:
    reasons = dict(demo.undecided)
    for user in ("111111111111:user/alice.admin", f"{PROD}:user/erin.ops", f"{DEV}:user/judy.lead"):
        reason = reasons[f"arn:aws:iam::{user}"]
        assert reason.startswith("only for some request contexts") and "multifactorauthpresent" in reason


def test_demo_non_admins(demo: AdminAssessment) -> None:
    named = {a.id for a in demo.admins} | {pid for pid, _ in demo.undecided}
    for role in ("lambda-deployer", "dev-sandbox-role", "github-ci-any-repo"):
        assert not any(n.endswith(f":role/{role}") for n in named)
