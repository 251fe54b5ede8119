"""AWS mint-graph edges: on the demo estate, and on small snapshots built here for the negative cases."""

from __future__ import annotations

import pytest

from scanner.files import scan_files
from simulator.aws.edges import find_admins, find_edges
from simulator.aws.edges_compute import PASSROLE_LAMBDA
from simulator.core import Edge, EdgeStatus
from simulator.engines import open_estate
from tests.conftest import DEMO_AWS
from tests.simulator.aws.edge_builders import (
    ACCOUNT,
    AT,
    BOB,
    FN,
    GITHUB,
    PROD,
    TARGET,
    allow,
    deny,
    doc,
    estate,
    function,
    pick,
    trust,
)


@pytest.fixture(scope="module")
def demo_edges() -> list[Edge]:
    return find_edges(open_estate(scan_files([DEMO_AWS]), at=AT))


def prod(kind: str, name: str) -> str:
    return f"arn:aws:iam::{PROD}:{kind}/{name}"


# --- sts:AssumeRole ---------------------------------------------------------------------------------


def test_who_can_assume_lambda_deployer(demo_edges: list[Edge]) -> None:
    deployer = prod("role", "lambda-deployer")
    sources = {e.source for e in demo_edges if e.target == deployer and e.mechanism == "sts:AssumeRole"}
    assert sources == {prod("user", "dave.dev"), prod("role", "github-ci-any-repo")}
    edge = pick(demo_edges, prod("user", "dave.dev"), deployer, "sts:AssumeRole")[0]
    assert edge.status is EdgeStatus.PROVEN and edge.condition is None
    assert edge.answers[0].witness is not None
    assert all(e.escalates for e in demo_edges if e.source == e.target)


def test_outsiders_are_nodes_with_the_engines_ids(demo_edges: list[Edge]) -> None:
    assert pick(demo_edges, "arn:aws:iam::999988887777:root", prod("role", "vendor-integration"), "sts:AssumeRole")
    assert pick(demo_edges, "*", prod("role", "legacy-open-trust"), "sts:AssumeRole")
    # audit-readonly demands an ExternalId: a principal of the management account outside the snapshot is no edge
    assert not [e for e in demo_edges if e.target == prod("role", "audit-readonly") and e.source == "*"]


def test_assume_role_blocked_by_a_deny_is_no_edge() -> None:
    trusts = {TARGET: trust({"AWS": BOB})}
    allowed = find_edges(estate({BOB: doc(allow("sts:AssumeRole"))}, trusts))
    assert [e.status for e in pick(allowed, BOB, TARGET, "sts:AssumeRole")] == [EdgeStatus.PROVEN]
    denied = find_edges(estate({BOB: doc(allow("sts:AssumeRole"), deny("sts:AssumeRole", TARGET))}, trusts))
    assert not pick(denied, BOB, TARGET)
    untrusted = find_edges(estate({BOB: doc(allow("sts:AssumeRole"))}, {TARGET: trust({"AWS": TARGET})}))
    assert not pick(untrusted, BOB, TARGET)


# --- federation -------------------------------------------------------------------------------------


def test_any_github_repo_and_a_pinned_subject(demo_edges: list[Edge]) -> None:
    any_repo = pick(demo_edges, f"{GITHUB}|repo:*", prod("role", "github-ci-any-repo"), "sts:AssumeRoleWithWebIdentity")
    assert len(any_repo) == 1 and any_repo[0].status is EdgeStatus.PROVEN
    main = "repo:acme/payments:ref:refs/heads/main"
    pinned = pick(demo_edges, f"{GITHUB}|{main}", prod("role", "github-deploy-prod"), "sts:AssumeRoleWithWebIdentity")
    assert [e.condition for e in pinned] == [f"only for subjects {main}"]


def test_saml_provider_edge(demo_edges: list[Edge]) -> None:
    okta = "arn:aws:iam::111111111111:saml-provider/AcmeOkta|*"
    edges = pick(demo_edges, okta, "arn:aws:iam::111111111111:role/okta-admin", "sts:AssumeRoleWithSAML")
    assert len(edges) == 1 and edges[0].condition is None


def test_web_identity_denied_by_the_trust_is_no_edge() -> None:
    provider = f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"
    sub = {"StringLike": {"token.actions.githubusercontent.com:sub": "repo:acme/*"}}
    statement = {
        "Effect": "Allow",
        "Principal": {"Federated": provider},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": sub,
    }
    edges = find_edges(estate({}, {TARGET: doc(statement)}))
    federated = [e for e in edges if e.mechanism == "sts:AssumeRoleWithWebIdentity"]
    assert [(e.source, e.condition) for e in federated] == [(f"{GITHUB}|repo:acme/*", "only for subjects repo:acme/*")]
    blocked = {"Effect": "Deny", "Principal": "*", "Action": "sts:AssumeRoleWithWebIdentity"}
    assert not [e for e in find_edges(estate({}, {TARGET: doc(statement, blocked)})) if e.target == TARGET]


# --- workloads and their code -----------------------------------------------------------------------


def test_workloads_run_as_their_roles(demo_edges: list[Edge]) -> None:
    task = f"arn:aws:ecs:us-east-1:{PROD}:task-definition/payments-api:14"
    runs = {e.target for e in demo_edges if e.source == task and e.mechanism == "runs-as"}
    assert runs == {prod("role", "app-shared-role"), prod("role", "ecs-task-execution-role")}
    web1 = f"arn:aws:ec2:us-east-1:{PROD}:instance/i-0a4f1c9e7b2d38e51"
    edge = pick(demo_edges, web1, prod("role", "app-shared-role"), "runs-as")[0]
    assert edge.answers == () and "EC2 instance" in edge.facts[0].what and web1 in edge.facts[0].source


def test_lambda_deployer_can_replace_nightly_cleanup(demo_edges: list[Edge]) -> None:
    fn = f"arn:aws:lambda:us-east-1:{PROD}:function:nightly-cleanup"
    edge = pick(demo_edges, prod("role", "lambda-deployer"), fn, "lambda:UpdateFunctionCode")
    assert [e.status for e in edge] == [EdgeStatus.PROVEN]
    assert pick(demo_edges, fn, prod("role", "admin-lambda-exec"), "runs-as")
    assert not pick(demo_edges, prod("user", "dave.dev"), fn)


def test_update_code_on_another_function_is_no_edge() -> None:
    exec_role = f"arn:aws:iam::{ACCOUNT}:role/exec"
    trusts = {exec_role: trust({"Service": "lambda.amazonaws.com"})}
    other = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:other"
    wrong = find_edges(
        estate({BOB: doc(allow("lambda:UpdateFunctionCode", other))}, trusts, workloads=(function(exec_role),))
    )
    assert not pick(wrong, BOB, FN)
    assert pick(wrong, FN, exec_role, "runs-as")
    right = find_edges(
        estate({BOB: doc(allow("lambda:UpdateFunctionCode", FN))}, trusts, workloads=(function(exec_role),))
    )
    assert [e.status for e in pick(right, BOB, FN, "lambda:UpdateFunctionCode")] == [EdgeStatus.PROVEN]


# --- iam:PassRole to Lambda -------------------------------------------------------------------------


def test_lambda_deployer_passes_admin_lambda_exec(demo_edges: list[Edge]) -> None:
    edge = pick(demo_edges, prod("role", "lambda-deployer"), prod("role", "admin-lambda-exec"), PASSROLE_LAMBDA)
    assert len(edge) == 1 and edge[0].status is EdgeStatus.PROVEN
    actions = [a.ask.action for a in edge[0].answers]
    assert actions == ["iam:PassRole", "lambda:CreateFunction", "lambda:InvokeFunction", "sts:AssumeRole"]
    assert edge[0].answers[3].principal == "lambda.amazonaws.com"
    # lambda-deployer's trust does not name Lambda: nobody reaches it by passing it to a function
    assert not [e for e in demo_edges if e.target == prod("role", "lambda-deployer") and e.mechanism == PASSROLE_LAMBDA]


def test_passrole_without_create_function_is_no_edge() -> None:
    trusts = {TARGET: trust({"Service": "lambda.amazonaws.com"})}
    full = doc(allow(["iam:PassRole", "lambda:CreateFunction", "lambda:InvokeFunction"]))
    edges = find_edges(estate({BOB: full}, trusts))
    assert [e.status for e in pick(edges, BOB, TARGET, PASSROLE_LAMBDA)] == [EdgeStatus.PROVEN]
    no_create = doc(allow(["iam:PassRole", "lambda:InvokeFunction"]))
    assert not pick(find_edges(estate({BOB: no_create}, trusts)), BOB, TARGET)
    no_lambda_trust = {TARGET: trust({"Service": "ec2.amazonaws.com"})}
    assert not pick(find_edges(estate({BOB: full}, no_lambda_trust)), BOB, TARGET)
    other_service = doc(
        allow("iam:PassRole", Condition={"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}),
        allow(["lambda:CreateFunction", "lambda:InvokeFunction"]),
    )
    assert not pick(find_edges(estate({BOB: other_service}, trusts)), BOB, TARGET)


def test_a_principal_allowed_everything_is_admin_and_one_denied_iam_is_not() -> None:
    assert [a.id for a in find_admins(estate({BOB: doc(allow("*"))}, {}))] == [BOB]
    assert find_admins(estate({BOB: doc(allow("*"), deny("iam:*"))}, {})) == []
