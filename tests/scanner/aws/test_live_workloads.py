"""Live collection of the workloads that run as a role beyond EC2 and Lambda (moto; App Runner and
SageMaker's job list answered in AWS's wire format, see tests/scanner/aws/seed_workloads.py)."""

from __future__ import annotations

import json

from models import Covers, Workload, WorkloadKind
from scanner.files import scan_files
from tests.scanner.aws.conftest import LiveScan
from tests.scanner.aws.seed import ACCOUNT, REGION
from tests.scanner.aws.seed_workloads import APP_RUNNER_ARN, OTHER_ACCOUNT, PROJECT_POLICY, SECRET


def workloads(live: LiveScan, kind: WorkloadKind) -> dict[str, Workload]:
    return {w.name: w for w in live.snapshot.workloads if w.kind is kind}


def role(name: str, path: str = "/", account: str = ACCOUNT) -> str:
    return f"arn:aws:iam::{account}:role{path}{name}"


def test_each_kind_runs_as_its_role(live: LiveScan) -> None:
    runs_as = {(str(w.kind), w.name): w.principal_ids for w in live.snapshot.workloads}
    assert runs_as[("glue_dev_endpoint", "notebook-dev")] == (role("glue-dev-role"),)
    assert runs_as[("cloudformation_stack", "network")] == (role("cfn-service-role"),)
    assert runs_as[("codebuild_project", "deploy")] == (role("codebuild-role"),)
    assert runs_as[("sagemaker_notebook", "research")] == (role("notebook-role"),)
    assert runs_as[("sagemaker_job", "churn-model")] == (role("training-role"),)
    jobs = workloads(live, WorkloadKind.SAGEMAKER_JOB)
    assert jobs["churn-model"].attributes == {"job_type": "training", "status": "InProgress"}
    assert set(jobs) == {"churn-model"}
    assert runs_as[("app_runner_service", "storefront")] == (role("apprunner-instance-role"),)
    assert runs_as[("step_functions_state_machine", "orders")] == (role("sfn-role"),)
    assert runs_as[("bedrock_agent", "helpdesk")] == (role("agent-role"),)
    assert runs_as[("ecs_service", "storefront")] == (role("svc-task-role"),)


def test_workloads_are_ided_by_their_arns(live: LiveScan) -> None:
    ids = {w.id for w in live.snapshot.workloads}
    for key in ("stack", "project", "notebook", "training", "service", "task", "state-machine", "agent"):
        assert live.arns[key] in ids, key
    assert APP_RUNNER_ARN in ids
    assert f"arn:aws:glue:{REGION}:{ACCOUNT}:job/nightly-etl" in ids
    assert f"arn:aws:glue:{REGION}:{ACCOUNT}:devEndpoint/notebook-dev" in ids
    assert all(w.scope_id == ACCOUNT and w.region == REGION for w in live.snapshot.workloads)


def test_a_glue_job_naming_its_role_by_path_and_name_runs_as_that_role(live: LiveScan) -> None:
    job = workloads(live, WorkloadKind.GLUE_JOB)["nightly-etl"]
    assert job.principal_ids == (live.arns["glue-etl-role"],) == (role("glue-etl-role", "/service-role/"),)
    assert job.attributes["script_location"] == "s3://acme-scripts/etl.py"


def test_a_launch_template_runs_as_the_role_of_the_profile_it_names(live: LiveScan) -> None:
    templates = workloads(live, WorkloadKind.EC2_LAUNCH_TEMPLATE)
    assert set(templates) == {"workers"}  # the template without an instance profile runs as nothing
    workers = templates["workers"]
    assert workers.id == live.arns["launch-template"]
    assert workers.principal_ids == (role("launch-role"),)
    assert workers.attributes["instance_profile"] == live.arns["launch-profile"]


def test_a_running_task_runs_as_its_override_not_its_definitions_role(live: LiveScan) -> None:
    [task] = [w for w in live.snapshot.workloads if w.kind is WorkloadKind.ECS_TASK]
    assert task.id == live.arns["task"]
    assert task.principal_ids == (role("override-task-role"),)
    assert task.attributes["task_role_override"] == "true"
    assert task.attributes["task_definition"].endswith(":task-definition/storefront:1")
    service = workloads(live, WorkloadKind.ECS_SERVICE)["storefront"]
    assert service.attributes["cluster"] == f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/main"


def test_stack_sets_run_as_the_administration_role_and_the_execution_role_in_each_target(live: LiveScan) -> None:
    sets = workloads(live, WorkloadKind.CLOUDFORMATION_STACK_SET)
    baseline = sets["baseline"]
    assert baseline.principal_ids == (
        role("stackset-admin-role"),
        role("baseline-exec"),
        role("baseline-exec", account=OTHER_ACCOUNT),
    )
    assert baseline.attributes["target_accounts"] == f"{ACCOUNT},{OTHER_ACCOUNT}"
    # Unnamed roles are CloudFormation's documented defaults; no instances yet: no execution role.
    assert sets["defaults"].principal_ids == (role("AWSCloudFormationStackSetAdministrationRole"),)
    assert sets["defaults"].attributes["execution_role_name"] == "AWSCloudFormationStackSetExecutionRole"


def test_a_stack_without_a_service_role_is_no_workload(live: LiveScan) -> None:
    assert set(workloads(live, WorkloadKind.CLOUDFORMATION_STACK)) == {"network"}


def test_app_runner_keeps_the_access_role_apart(live: LiveScan) -> None:
    service = workloads(live, WorkloadKind.APP_RUNNER_SERVICE)["storefront"]
    assert service.attributes["access_role"] == role("apprunner-ecr-access")
    assert role("apprunner-ecr-access") not in service.principal_ids


def test_only_jobs_in_progress_are_asked_for(live: LiveScan) -> None:
    asked = [p for service, op, p in live.params if (service, op) == ("sagemaker", "ListTrainingJobs")]
    assert asked and all(p.get("StatusEquals") == "InProgress" for p in asked)
    processing = [p for service, op, p in live.params if (service, op) == ("sagemaker", "ListProcessingJobs")]
    assert processing and all(p.get("StatusEquals") == "InProgress" for p in processing)


def test_codebuild_project_policies_are_read_with_the_projects(live: LiveScan) -> None:
    policies = {p.id: p for p in live.snapshot.policies}
    project = live.arns["project"]
    assert policies[f"{project}#policy"].document == PROJECT_POLICY
    assert {r.id: r.kind for r in live.snapshot.resources}[project] == "codebuild:project"
    raw = json.loads((live.raw_dir / f"{ACCOUNT}-extras.json").read_text())
    assert "codebuild" in raw["RegionServices"] and raw["Regions"] == [REGION]


def test_no_secret_material_is_kept(live: LiveScan) -> None:
    snapshot = json.dumps(live.snapshot.to_json_dict())
    raw = (live.raw_dir / f"{ACCOUNT}-extras.json").read_text()
    for text in (snapshot, raw):
        for kept in (SECRET, "DEPLOY_TOKEN", "--db-password"):  # no values, not even these names
            assert kept not in text


def test_every_workload_read_is_covered(live: LiveScan) -> None:
    entries = {(e.service, e.operation): e for e in live.snapshot.coverage if e.source == "api"}
    for service, operation in [
        ("ecs", "ListClusters"),
        ("ecs", "DescribeServices"),
        ("ecs", "DescribeTasks"),
        ("ec2", "DescribeLaunchTemplateVersions"),
        ("glue", "GetJobs"),
        ("glue", "GetDevEndpoints"),
        ("cloudformation", "DescribeStacks"),
        ("cloudformation", "ListStackInstances"),
        ("codebuild", "BatchGetProjects"),
        ("sagemaker", "DescribeTrainingJob"),
        ("apprunner", "DescribeService"),
        ("stepfunctions", "DescribeStateMachine"),
        ("bedrock-agent", "GetAgent"),
    ]:
        entry = entries[(service, operation)]
        assert not entry.is_gap and entry.yields(Covers.WORKLOADS) and entry.region == REGION, (service, operation)
    policy = entries[("codebuild", "GetResourcePolicy")]
    assert not policy.is_gap and policy.covers == (Covers.RESOURCE_POLICIES,)


def test_saved_extras_hold_every_new_workload_and_scan_to_the_same_ones(live: LiveScan) -> None:
    offline = scan_files([live.raw_dir])
    assert offline.workloads == live.snapshot.workloads
    covered = {(e.service, e.region) for e in offline.coverage if e.source == "file" and e.yields(Covers.WORKLOADS)}
    for service in ("ecs", "ec2", "glue", "cloudformation", "codebuild", "sagemaker", "apprunner", "stepfunctions"):
        assert (service, REGION) in covered, service
    assert ("bedrock-agent", REGION) in covered
