"""Workloads in account-extras files: every kind, names resolved to ARNs, coverage per service."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from models import Covers, WorkloadKind
from scanner.errors import BadInputError
from scanner.files import scan_files
from tests.scanner.aws.test_exports import ACCOUNT, ROLE, auth_details, write

GLUE_ROLE = f"arn:aws:iam::{ACCOUNT}:role/service-role/glue-etl"
PROFILE = f"arn:aws:iam::{ACCOUNT}:instance-profile/app-profile"


def details_with_glue_role_and_profile() -> dict:
    details = auth_details()
    app = details["RoleDetailList"][0]
    app["InstanceProfileList"] = [
        {"InstanceProfileName": "app-profile", "Arn": PROFILE, "Path": "/", "Roles": [{"Arn": ROLE}]}
    ]
    glue = dict(
        app, RoleName="glue-etl", Arn=GLUE_ROLE, Path="/service-role/", RoleId="AROAGLUE", InstanceProfileList=[]
    )
    details["RoleDetailList"].append(glue)
    return details


def extras(*workloads: dict) -> dict:
    return {"Format": "iamdrift.aws.account-extras/1", "AccountId": ACCOUNT, "Workloads": list(workloads)}


def entry(kind: str, service: str, arn: str, roles: list[str], **more: object) -> dict:
    return {"Service": service, "Kind": kind, "Region": "eu-west-1", "Arn": arn, "Name": arn.rsplit("/", 1)[-1],
            "RoleArns": roles, **more}  # fmt: skip


def scan(tmp_path: Path, *workloads: dict):  # type: ignore[no-untyped-def]
    a = write(tmp_path, "auth.json", details_with_glue_role_and_profile())
    return scan_files([a, write(tmp_path, "extras.json", extras(*workloads))])


def test_every_new_kind_reads_back(tmp_path: Path) -> None:
    prefix = f"{ACCOUNT}:"
    kinds = {
        "ecs_service": ("ecs", f"arn:aws:ecs:eu-west-1:{prefix}service/main/api"),
        "ecs_task": ("ecs", f"arn:aws:ecs:eu-west-1:{prefix}task/main/0f3a"),
        "glue_dev_endpoint": ("glue", f"arn:aws:glue:eu-west-1:{prefix}devEndpoint/dev"),
        "glue_job": ("glue", f"arn:aws:glue:eu-west-1:{prefix}job/etl"),
        "cloudformation_stack": ("cloudformation", f"arn:aws:cloudformation:eu-west-1:{prefix}stack/net/1a2b"),
        "cloudformation_stack_set": ("cloudformation", f"arn:aws:cloudformation:eu-west-1:{prefix}stackset/base:1"),
        "codebuild_project": ("codebuild", f"arn:aws:codebuild:eu-west-1:{prefix}project/deploy"),
        "sagemaker_notebook": ("sagemaker", f"arn:aws:sagemaker:eu-west-1:{prefix}notebook-instance/nb"),
        "sagemaker_job": ("sagemaker", f"arn:aws:sagemaker:eu-west-1:{prefix}training-job/train"),
        "app_runner_service": ("apprunner", f"arn:aws:apprunner:eu-west-1:{prefix}service/site/0abc"),
        "step_functions_state_machine": ("stepfunctions", f"arn:aws:states:eu-west-1:{prefix}stateMachine:orders"),
        "bedrock_agent": ("bedrock-agent", f"arn:aws:bedrock:eu-west-1:{prefix}agent/AGENT1"),
    }
    listed = [entry(kind, service, arn, [ROLE], Attributes={"status": "ok"}) for kind, (service, arn) in kinds.items()]
    snapshot = scan(tmp_path, *listed)
    found = {str(w.kind): w for w in snapshot.workloads}
    assert set(found) == set(kinds)
    for kind, (_, arn) in kinds.items():
        assert found[kind].id == arn and found[kind].principal_ids == (ROLE,) and found[kind].region == "eu-west-1"
        assert found[kind].attributes == {"status": "ok"}
    covered = {(e.service, e.region): e.items for e in snapshot.coverage if e.yields(Covers.WORKLOADS)}
    assert covered[("ecs", "eu-west-1")] == 2 and covered[("cloudformation", "eu-west-1")] == 2
    assert covered[("bedrock-agent", "eu-west-1")] == 1 and covered[("stepfunctions", "eu-west-1")] == 1


def test_role_names_resolve_to_the_accounts_roles(tmp_path: Path) -> None:
    job = f"arn:aws:glue:eu-west-1:{ACCOUNT}:job/etl"
    other = f"arn:aws:glue:eu-west-1:{ACCOUNT}:job/other"
    snapshot = scan(
        tmp_path,
        entry("glue_job", "glue", job, ["service-role/glue-etl"]),  # Glue takes path/name
        entry("glue_job", "glue", other, ["missing-role"]),  # a role the export does not hold
    )
    runs = {w.id: w.principal_ids for w in snapshot.workloads}
    assert runs[job] == (GLUE_ROLE,)
    assert runs[other] == (f"arn:aws:iam::{ACCOUNT}:role/missing-role",)


def test_launch_templates_run_as_the_roles_of_the_profiles_they_name(tmp_path: Path) -> None:
    by_name = f"arn:aws:ec2:eu-west-1:{ACCOUNT}:launch-template/lt-0a"
    by_arn = f"arn:aws:ec2:eu-west-1:{ACCOUNT}:launch-template/lt-0b"
    unknown = f"arn:aws:ec2:eu-west-1:{ACCOUNT}:launch-template/lt-0c"
    snapshot = scan(
        tmp_path,
        entry("ec2_launch_template", "ec2", by_name, [], InstanceProfiles=[{"Name": "app-profile"}]),
        entry("ec2_launch_template", "ec2", by_arn, [], InstanceProfiles=[{"Arn": PROFILE}]),
        entry("ec2_launch_template", "ec2", unknown, [], InstanceProfiles=[{"Name": "gone"}]),
    )
    found = {w.id: w for w in snapshot.workloads}
    assert found[by_name].principal_ids == found[by_arn].principal_ids == (ROLE,)
    assert found[by_name].attributes["instance_profile"] == PROFILE
    assert found[unknown].principal_ids == ()  # a profile the export does not hold adds no role
    assert found[unknown].attributes["instance_profile"] == f"arn:aws:iam::{ACCOUNT}:instance-profile/gone"


def test_an_unknown_workload_kind_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match=r"extras\.json: .*'emr_cluster'"):
        scan(tmp_path, entry("emr_cluster", "emr", f"arn:aws:elasticmapreduce:eu-west-1:{ACCOUNT}:cluster/j-1", []))


def test_the_extras_file_is_written_as_read(tmp_path: Path) -> None:
    """What ``scan --save-raw`` writes for a workload is the entry the readers make."""
    from scanner.aws.workload_entry import workload

    made = workload(
        "codebuild",
        WorkloadKind.CODEBUILD_PROJECT,
        "eu-west-1",
        f"arn:aws:codebuild:eu-west-1:{ACCOUNT}:project/p",
        "p",
        [ROLE, None, ROLE],
        attributes={"batch_service_role": None, "execute_command": False, "accounts": ["1", "2"]},
    )
    assert made["RoleArns"] == [ROLE]
    assert made["Attributes"] == {"execute_command": "false", "accounts": "1,2"}
    [read] = scan(tmp_path, json.loads(json.dumps(made))).workloads
    assert read.kind is WorkloadKind.CODEBUILD_PROJECT and read.principal_ids == (ROLE,)
