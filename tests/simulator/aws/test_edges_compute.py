"""Compute edges (simulator/aws/edges_compute.py): iam:PassRole to each service that runs the
caller's code as the passed role, and code execution in existing workloads.

AWS's rules tested here: passing a role needs ``iam:PassRole`` on it (with ``iam:PassedToService``
naming the service the role is passed to) *and* the service's own create/run permissions; the
role's trust must admit the service's principal; an EC2 instance gets a role only through an
instance profile. Explicit denies, boundaries and SCPs cap every step.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from models import Cloud, Workload, WorkloadKind
from scanner.files import scan_files
from simulator.aws.edges import find_edges
from simulator.aws.edges_compute import LAUNCHES, PASSROLE_LAMBDA, Launch
from simulator.core import Edge, EdgeStatus, Estate
from simulator.engines import open_estate
from tests.conftest import DEMO_AWS
from tests.simulator.aws.edge_builders import (
    ACCOUNT,
    AT,
    BOB,
    FN,
    TARGET,
    allow,
    deny,
    doc,
    estate,
    function,
    pick,
    proven,
    reopen,
    trust,
    with_boundary,
    with_scp,
)

#: The recipes that create a new resource (no existing workload, no instance profile).
FRESH = [r for r in LAUNCHES if r.existing is None and not r.profile]
RUN_INSTANCES = "iam:PassRole+ec2:RunInstances"


def launch_estate(recipe: Launch, policy: dict[str, Any], service: str | None = None) -> Estate:
    return estate({BOB: policy}, {TARGET: trust({"Service": service or recipe.trusted[0]})})


def everything(recipe: Launch) -> dict[str, Any]:
    return doc(allow(["iam:PassRole", *recipe.actions]))


def by(edges: list[Edge], mechanism: str) -> list[Edge]:
    return pick(edges, BOB, TARGET, mechanism)


#: Recipes whose step on the resource just created is left unknown, against AWS's semantics: a
#: CodeBuild project just created has no resource policy (only the engine's coverage rule, which
#: does not know the step acts on a created resource, stands in the way); Glue resource policies
#: govern Data Catalog resources only (catalog, databases, tables, connections, functions), never
#: jobs or sessions. Both live in simulator/aws/engine.py's resource-policy rule.
CREATED_UNKNOWN = {
    "iam:PassRole+codebuild:CreateProject+codebuild:StartBuild": "a new CodeBuild project has no resource policy",
    "iam:PassRole+codebuild:CreateProject+codebuild:StartBuildBatch": "a new CodeBuild project has no resource policy",
}


def fresh_params() -> list[Any]:
    return [
        pytest.param(
            r,
            id=r.mechanism,
            marks=[pytest.mark.xfail(strict=True, reason=CREATED_UNKNOWN[r.mechanism])]
            if r.mechanism in CREATED_UNKNOWN
            else [],
        )
        for r in FRESH
    ]


def test_the_fresh_recipes_cover_the_services() -> None:
    services = {r.trusted[0] for r in FRESH}
    assert {
        "lambda.amazonaws.com",
        "ecs-tasks.amazonaws.com",
        "cloudformation.amazonaws.com",
        "codebuild.amazonaws.com",
        "glue.amazonaws.com",
        "sagemaker.amazonaws.com",
        "datapipeline.amazonaws.com",
        "tasks.apprunner.amazonaws.com",
        "states.amazonaws.com",
    } <= services


@pytest.mark.parametrize("recipe", fresh_params())
def test_each_new_passrole_recipe_is_proven(recipe: Launch) -> None:
    edges = find_edges(launch_estate(recipe, everything(recipe)))
    # within a service the first proven recipe is the edge: with only this recipe's actions, it is this one
    edge = proven(edges, BOB, TARGET, recipe.mechanism)
    assert not edge.escalates and edge.condition is None
    passes = [a for a in edge.answers if a.ask.action == "iam:PassRole"]
    assert [a.ask.resource for a in passes] == [TARGET]
    assert passes[0].ask.context.get("iam:PassedToService") == (recipe.passed_to,)
    last = edge.answers[-1]
    assert last.ask.action == "sts:AssumeRole" and last.ask.principal_id in recipe.trusted


def test_created_codebuild_project_is_proven_where_the_scan_read_codebuild() -> None:
    recipe = next(r for r in FRESH if r.mechanism == "iam:PassRole+codebuild:CreateProject+codebuild:StartBuild")
    base = launch_estate(recipe, everything(recipe))
    read = replace(base.snapshot.coverage[0], service="codebuild", operation="ListProjects")
    edges = find_edges(reopen(base, coverage=(*base.snapshot.coverage, read)))
    proven(edges, BOB, TARGET, recipe.mechanism)


@pytest.mark.parametrize("recipe", FRESH, ids=lambda r: r.mechanism)
def test_each_recipe_needs_every_step(recipe: Launch) -> None:
    assert by(find_edges(launch_estate(recipe, everything(recipe))), recipe.mechanism)
    for missing in ["iam:PassRole", *recipe.actions]:
        rest = [a for a in ["iam:PassRole", *recipe.actions] if a != missing]
        assert not by(find_edges(launch_estate(recipe, doc(allow(rest)))), recipe.mechanism), missing


@pytest.mark.parametrize("recipe", FRESH, ids=lambda r: r.mechanism)
def test_each_recipe_blocked_by_deny_trust_and_passed_to_service(recipe: Launch) -> None:
    denied = doc(allow(["iam:PassRole", *recipe.actions]), deny("iam:PassRole", TARGET))
    assert not pick(find_edges(launch_estate(recipe, denied)), BOB, TARGET)
    assert not by(find_edges(launch_estate(recipe, everything(recipe), service="ec2.amazonaws.com")), recipe.mechanism)
    other = "ec2.amazonaws.com"
    wrong_service = doc(
        allow("iam:PassRole", Condition={"StringEquals": {"iam:PassedToService": other}}),
        allow(list(recipe.actions)),
    )
    assert not by(find_edges(launch_estate(recipe, wrong_service)), recipe.mechanism)
    right_service = doc(
        allow("iam:PassRole", Condition={"StringEquals": {"iam:PassedToService": recipe.passed_to}}),
        allow(list(recipe.actions)),
    )
    assert by(find_edges(launch_estate(recipe, right_service)), recipe.mechanism)


LAMBDA = next(r for r in LAUNCHES if r.mechanism == PASSROLE_LAMBDA)
FULL = everything(LAMBDA)


def test_passrole_lambda_blocked_by_a_boundary_and_an_scp() -> None:
    base = launch_estate(LAMBDA, FULL)
    proven(find_edges(base), BOB, TARGET, PASSROLE_LAMBDA)
    assert not pick(find_edges(with_boundary(base, BOB, doc(allow("lambda:*")))), BOB, TARGET)
    assert not pick(find_edges(with_scp(base, doc(deny("iam:PassRole")))), BOB, TARGET)
    proven(find_edges(with_scp(base, doc(deny("s3:*")))), BOB, TARGET, PASSROLE_LAMBDA)


def test_passrole_on_another_role_is_no_edge() -> None:
    other = f"arn:aws:iam::{ACCOUNT}:role/other"
    policy = doc(allow("iam:PassRole", other), allow(["lambda:CreateFunction", "lambda:InvokeFunction"]))
    assert not pick(find_edges(launch_estate(LAMBDA, policy)), BOB, TARGET)


def test_passrole_with_mfa_names_the_condition() -> None:
    mfa = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
    policy = doc(allow("iam:PassRole", Condition=mfa), allow(["lambda:CreateFunction", "lambda:InvokeFunction"]))
    edge = proven(find_edges(launch_estate(LAMBDA, policy)), BOB, TARGET, PASSROLE_LAMBDA)
    assert edge.condition is not None and "MFA" in edge.condition


def test_passrole_under_an_impossible_condition_is_no_edge() -> None:
    never = {"StringEquals": {"aws:PrincipalAccount": "000000000000"}}
    policy = doc(allow("iam:PassRole", Condition=never), allow(["lambda:CreateFunction", "lambda:InvokeFunction"]))
    assert not pick(find_edges(launch_estate(LAMBDA, policy)), BOB, TARGET)


def test_passrole_with_an_unsupported_operator_is_unknown_with_a_reason() -> None:
    odd = {"StringEqualsWeird": {"aws:username": "bob"}}
    policy = doc(allow("iam:PassRole", Condition=odd), allow(["lambda:CreateFunction", "lambda:InvokeFunction"]))
    found = by(find_edges(launch_estate(LAMBDA, policy)), PASSROLE_LAMBDA)
    assert [e.status for e in found] == [EdgeStatus.UNKNOWN]
    passes = found[0].answers[0]
    assert passes.ask.action == "iam:PassRole" and passes.decision.value == "unknown"
    assert any("StringEqualsWeird" in r.detail for r in passes.reasons)


def test_trust_with_external_id_or_a_deny_for_the_service() -> None:
    # a trust Deny for the service principal stops the service from assuming the role
    blocked = doc(
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"},
        {"Effect": "Deny", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"},
    )
    assert not pick(find_edges(estate({BOB: FULL}, {TARGET: blocked})), BOB, TARGET)


# --- EC2 and instance profiles --------------------------------------------------------------------


def with_profiles(base: Estate, profiles: str) -> Estate:
    principals = tuple(
        replace(p, attributes={**p.attributes, "instance_profiles": profiles}) if p.id == TARGET else p
        for p in base.snapshot.principals
    )
    return reopen(base, principals=principals)


def test_run_instances_needs_an_instance_profile() -> None:
    policy = doc(allow(["iam:PassRole", "ec2:RunInstances"]))
    base = estate({BOB: policy}, {TARGET: trust({"Service": "ec2.amazonaws.com"})})
    profile = f"arn:aws:iam::{ACCOUNT}:instance-profile/target"
    edge = proven(find_edges(with_profiles(base, profile)), BOB, TARGET, RUN_INSTANCES)
    assert any(profile in f.what for f in edge.facts)
    assert not pick(find_edges(with_profiles(base, "")), BOB, TARGET)
    unknown = pick(find_edges(base), BOB, TARGET)
    assert unknown and all(e.status is EdgeStatus.UNKNOWN for e in unknown)
    create = doc(
        allow(["iam:PassRole", "ec2:RunInstances", "iam:CreateInstanceProfile", "iam:AddRoleToInstanceProfile"])
    )
    made = find_edges(with_profiles(estate({BOB: create}, {TARGET: trust({"Service": "ec2.amazonaws.com"})}), ""))
    proven(made, BOB, TARGET, f"iam:CreateInstanceProfile+iam:AddRoleToInstanceProfile+{RUN_INSTANCES}")


# --- code execution in existing workloads ---------------------------------------------------------


EXEC_ROLE = f"arn:aws:iam::{ACCOUNT}:role/exec"
EXEC_TRUST = {EXEC_ROLE: trust({"Service": "lambda.amazonaws.com"})}


def test_update_function_code_blocked() -> None:
    workloads = (function(EXEC_ROLE),)
    right = estate({BOB: doc(allow("lambda:UpdateFunctionCode", FN))}, EXEC_TRUST, workloads=workloads)
    edge = proven(find_edges(right), BOB, FN, "lambda:UpdateFunctionCode")
    assert edge.answers[0].ask.resource == FN
    denied = doc(allow("lambda:UpdateFunctionCode"), deny("lambda:UpdateFunctionCode", FN))
    assert not pick(find_edges(estate({BOB: denied}, EXEC_TRUST, workloads=workloads)), BOB, FN)
    bounded = with_boundary(right, BOB, doc(allow("s3:*")))
    assert not pick(find_edges(bounded), BOB, FN)
    scp = with_scp(right, doc(deny("lambda:Update*")))
    assert not pick(find_edges(scp), BOB, FN)


def instance(role: str) -> Workload:
    return Workload(
        id=f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/i-0123456789abcdef0",
        cloud=Cloud.AWS,
        kind=WorkloadKind.EC2_INSTANCE,
        name="i-0123456789abcdef0",
        scope_id=ACCOUNT,
        principal_ids=(role,),
        region="us-east-1",
        attributes={"instance_profile": f"arn:aws:iam::{ACCOUNT}:instance-profile/exec"},
    )


def test_ssm_send_command_needs_the_shell_document() -> None:
    box = instance(EXEC_ROLE)
    trusts = {EXEC_ROLE: trust({"Service": "ec2.amazonaws.com"})}
    both = estate({BOB: doc(allow("ssm:SendCommand"))}, trusts, workloads=(box,))
    edge = proven(find_edges(both), BOB, box.id, "ssm:SendCommand")
    assert {a.ask.resource for a in edge.answers} == {box.id, "arn:aws:ssm:us-east-1::document/AWS-RunShellScript"}
    only_instance = estate({BOB: doc(allow("ssm:SendCommand", box.id))}, trusts, workloads=(box,))
    assert not pick(find_edges(only_instance), BOB, box.id, "ssm:SendCommand")
    session = estate({BOB: doc(allow("ssm:StartSession", box.id))}, trusts, workloads=(box,))
    proven(find_edges(session), BOB, box.id, "ssm:StartSession")
    assert pick(find_edges(session), box.id, EXEC_ROLE, "runs-as")


def workload(kind: WorkloadKind, wid: str, role: str, **attributes: str) -> Workload:
    return Workload(
        id=wid,
        cloud=Cloud.AWS,
        kind=kind,
        name=wid.rsplit("/", 1)[-1],
        scope_id=ACCOUNT,
        principal_ids=(role,),
        region="us-east-1",
        attributes=attributes,
    )


CLUSTER = f"arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/main"
TASK = f"arn:aws:ecs:us-east-1:{ACCOUNT}:task/main/0123456789abcdef0123456789abcdef"
ECS_TRUST = {EXEC_ROLE: trust({"Service": "ecs-tasks.amazonaws.com"})}


def test_ecs_exec_only_where_the_task_enables_it() -> None:
    policy = doc(allow("ecs:ExecuteCommand"))
    on = workload(WorkloadKind.ECS_TASK, TASK, EXEC_ROLE, cluster=CLUSTER, execute_command="true")
    edge = proven(find_edges(estate({BOB: policy}, ECS_TRUST, workloads=(on,))), BOB, TASK, "ecs:ExecuteCommand")
    assert {a.ask.resource for a in edge.answers} == {TASK, CLUSTER}
    off = replace(on, attributes={"cluster": CLUSTER, "execute_command": "false"})
    assert not pick(find_edges(estate({BOB: policy}, ECS_TRUST, workloads=(off,))), BOB, TASK)
    unsaid = replace(on, attributes={"cluster": CLUSTER})
    found = pick(find_edges(estate({BOB: policy}, ECS_TRUST, workloads=(unsaid,))), BOB, TASK)
    assert [e.status for e in found] == [EdgeStatus.UNKNOWN]
    cluster_only = doc(allow("ecs:ExecuteCommand", CLUSTER))
    assert not pick(find_edges(estate({BOB: cluster_only}, ECS_TRUST, workloads=(on,))), BOB, TASK)


def test_run_task_of_an_existing_definition_passes_its_role() -> None:
    definition = f"arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/app:3"
    on = workload(WorkloadKind.ECS_TASK_DEFINITION, definition, EXEC_ROLE)
    both = estate({BOB: doc(allow(["ecs:RunTask", "iam:PassRole"]))}, ECS_TRUST, workloads=(on,))
    edge = proven(find_edges(both), BOB, definition, "iam:PassRole+ecs:RunTask")
    assert edge.answers[0].ask.resource == EXEC_ROLE
    no_pass = estate({BOB: doc(allow("ecs:RunTask"))}, ECS_TRUST, workloads=(on,))
    assert not pick(find_edges(no_pass), BOB, definition, "iam:PassRole+ecs:RunTask")
    to_lambda = {"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}}
    wrong = doc(allow("ecs:RunTask"), allow("iam:PassRole", Condition=to_lambda))
    assert not pick(find_edges(estate({BOB: wrong}, ECS_TRUST, workloads=(on,))), BOB, definition)


def test_update_stack_on_a_stack_with_a_service_role() -> None:
    stack = f"arn:aws:cloudformation:us-east-1:{ACCOUNT}:stack/infra/0a1b2c3d-0000-0000-0000-000000000000"
    on = workload(WorkloadKind.CLOUDFORMATION_STACK, stack, EXEC_ROLE)
    trusts = {EXEC_ROLE: trust({"Service": "cloudformation.amazonaws.com"})}
    right = estate({BOB: doc(allow("cloudformation:UpdateStack", stack))}, trusts, workloads=(on,))
    proven(find_edges(right), BOB, stack, "cloudformation:UpdateStack")
    assert pick(find_edges(right), stack, EXEC_ROLE, "runs-as")
    other = f"arn:aws:cloudformation:us-east-1:{ACCOUNT}:stack/other/*"
    wrong = estate({BOB: doc(allow("cloudformation:UpdateStack", other))}, trusts, workloads=(on,))
    assert not pick(find_edges(wrong), BOB, stack)
    denied = doc(allow("cloudformation:UpdateStack"), deny("cloudformation:*", stack))
    assert not pick(find_edges(estate({BOB: denied}, trusts, workloads=(on,))), BOB, stack)


def test_start_build_on_an_existing_project() -> None:
    project = f"arn:aws:codebuild:us-east-1:{ACCOUNT}:project/deploy"
    on = workload(WorkloadKind.CODEBUILD_PROJECT, project, EXEC_ROLE)
    trusts = {EXEC_ROLE: trust({"Service": "codebuild.amazonaws.com"})}
    base = estate({BOB: doc(allow("codebuild:StartBuild", project))}, trusts, workloads=(on,))
    read = replace(base.snapshot.coverage[0], service="codebuild", operation="ListProjects")
    proven(find_edges(reopen(base, coverage=(*base.snapshot.coverage, read))), BOB, project, "codebuild:StartBuild")
    bounded = with_boundary(reopen(base, coverage=(*base.snapshot.coverage, read)), BOB, doc(allow("s3:*")))
    assert not pick(find_edges(bounded), BOB, project)


def test_instance_connect_names_its_network_condition() -> None:
    box = instance(EXEC_ROLE)
    trusts = {EXEC_ROLE: trust({"Service": "ec2.amazonaws.com"})}
    policy = doc(allow("ec2-instance-connect:SendSSHPublicKey", box.id))
    edge = proven(
        find_edges(estate({BOB: policy}, trusts, workloads=(box,))),
        BOB,
        box.id,
        "ec2-instance-connect:SendSSHPublicKey",
    )
    assert edge.condition is not None and "SSH" in edge.condition


# --- the demo estate's planted chains -------------------------------------------------------------


DEMO = "222222222222"
#: fixtures/demo/generate_aws.py GCP_DEPLOYER_UNIQUE_ID: the Google service account deployer@shop-prod
GCP_DEPLOYER_UNIQUE_ID = "199187881811580658842"


def demo(kind: str, name: str) -> str:
    return f"arn:aws:iam::{DEMO}:{kind}/{name}"


@pytest.fixture(scope="module")
def demo_edges() -> list[Edge]:
    return find_edges(open_estate(scan_files([DEMO_AWS]), at=AT))


def test_demo_passrole_chain_to_admin_lambda_exec(demo_edges: list[Edge]) -> None:
    target = demo("role", "admin-lambda-exec")
    edges = [e for e in demo_edges if e.target == target and e.mechanism == PASSROLE_LAMBDA]
    assert demo("role", "lambda-deployer") in {e.source for e in edges}
    for e in edges:
        assert e.status is EdgeStatus.PROVEN and all(a.witness is not None for a in e.answers)


def test_demo_federated_entry_points(demo_edges: list[Edge]) -> None:
    github = [
        e
        for e in demo_edges
        if e.target == demo("role", "github-ci-any-repo") and e.mechanism == "sts:AssumeRoleWithWebIdentity"
    ]
    assert [e.source for e in github] == ["https://token.actions.githubusercontent.com|repo:*"]
    google = [
        e
        for e in demo_edges
        if e.target == demo("role", "gcp-deployer-bridge") and e.mechanism == "sts:AssumeRoleWithWebIdentity"
    ]
    assert [e.source for e in google] == [f"https://accounts.google.com|{GCP_DEPLOYER_UNIQUE_ID}"]
    assert all(e.status is EdgeStatus.PROVEN for e in [*github, *google])


def test_repointing_an_existing_function_at_another_role() -> None:
    mechanism = "iam:PassRole+lambda:UpdateFunctionConfiguration+lambda:UpdateFunctionCode"
    trusts = {**EXEC_TRUST, TARGET: trust({"Service": "lambda.amazonaws.com"})}
    actions = ["iam:PassRole", "lambda:UpdateFunctionConfiguration", "lambda:UpdateFunctionCode"]
    edges = find_edges(estate({BOB: doc(allow(actions))}, trusts, workloads=(function(EXEC_ROLE),)))
    edge = proven(edges, BOB, TARGET, mechanism)
    assert any(FN in f.source for f in edge.facts)
    denied = doc(allow(actions), deny("iam:PassRole", TARGET))
    assert not pick(find_edges(estate({BOB: denied}, trusts, workloads=(function(EXEC_ROLE),))), BOB, TARGET)
