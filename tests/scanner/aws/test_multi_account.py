"""An organization scanned through an assumed role in every member account (moto)."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from models import AttachmentKind, CoverageStatus, PolicyKind, ScopeKind
from scanner.aws import AwsClients, scan_live
from tests.scanner.aws import wire
from tests.scanner.aws.seed import ACCOUNT, REGION

ROLE = "OrganizationAccountAccessRole"


@pytest.fixture
def organization(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "false")
    with mock_aws():
        session = boto3.Session(region_name=REGION)
        org = session.client("organizations")
        org.create_organization(FeatureSet="ALL")
        root = org.list_roots()["Roots"][0]["Id"]
        unit = org.create_organizational_unit(ParentId=root, Name="Workloads")["OrganizationalUnit"]["Id"]
        members = []
        for name in ("prod", "dev"):
            status = org.create_account(AccountName=name, Email=f"{name}@example.com")["CreateAccountStatus"]
            account = status["AccountId"]
            org.move_account(AccountId=account, SourceParentId=root, DestinationParentId=unit)
            members.append(account)
            creds = session.client("sts").assume_role(
                RoleArn=f"arn:aws:iam::{account}:role/{ROLE}", RoleSessionName="seed"
            )
            c = creds["Credentials"]
            member = boto3.Session(c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"], region_name=REGION)
            member.client("iam").create_role(
                RoleName=f"{name}-app", AssumeRolePolicyDocument=json.dumps({"Statement": []})
            )
        scp = org.create_policy(
            Name="DenyLeave",
            Description="no leaving",
            Type="SERVICE_CONTROL_POLICY",
            Content=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Deny", "Action": "organizations:LeaveOrganization", "Resource": "*"}],
                }
            ),
        )["Policy"]["PolicySummary"]["Id"]
        org.attach_policy(PolicyId=scp, TargetId=unit)
        yield session, members, unit


def test_every_member_account_is_scanned_through_the_role(organization) -> None:  # type: ignore[no-untyped-def]
    session, members, unit = organization
    snapshot = scan_live(AwsClients(session=session), regions=[REGION], assume_role=ROLE, parallel=2)
    scopes = {s.id: s for s in snapshot.scopes}
    for account in members:
        assert scopes[account].kind is ScopeKind.ACCOUNT and scopes[account].parent_id == unit
    assert scopes[ACCOUNT].attributes["management"] == "true"
    assert scopes[unit].kind is ScopeKind.ORGANIZATIONAL_UNIT
    names = {p.name for p in snapshot.principals}
    assert {"prod-app", "dev-app"} <= names
    prod_role = next(p for p in snapshot.principals if p.name == "prod-app")
    assert prod_role.scope_id == members[0]
    scp = next(p for p in snapshot.policies if p.name == "DenyLeave")
    assert scp.kind is PolicyKind.SCP
    assert scp.document["Statement"][0]["Effect"] == "Deny"
    assert any(
        a.policy_id == scp.id and a.target_id == unit and a.kind is AttachmentKind.SCP for a in snapshot.attachments
    )


def test_an_account_whose_role_cannot_be_assumed_is_a_gap(organization) -> None:  # type: ignore[no-untyped-def]
    session, members, _ = organization
    denied = wire.answer(lambda: wire.query_error("AccessDenied", "not authorized to perform sts:AssumeRole", 403))
    clients = AwsClients(session=session, hooks=[("before-send.sts.AssumeRole", denied)])
    snapshot = scan_live(clients, regions=[REGION], assume_role=ROLE, accounts=members)
    gaps = {(g.scope_id, g.service, g.operation): g for g in snapshot.gaps}
    for account in members:
        assert gaps[(account, "sts", "AssumeRole")].status is CoverageStatus.DENIED
    assert not any(p.scope_id in members and p.kind == "aws_role" for p in snapshot.principals)
