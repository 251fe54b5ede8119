"""Workload readers on answers moto does not give, checked against botocore's own service models.

botocore's ``Stubber`` refuses a stubbed answer that does not have the shape of the operation's
output in the service model (service-2.json), so these answers are AWS's real shapes: App Runner
(which moto lacks) with several pages, a CodeBuild batch-build role, an ECS service in the middle
of a deployment, a service-managed StackSet, SageMaker processing jobs in progress.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from models import CoverageStatus
from scanner.aws.clients import AwsClients
from scanner.aws.fetch_containers import ecs_workloads
from scanner.aws.fetch_services import (
    app_runner_services,
    cloudformation_workloads,
    codebuild_projects,
    sagemaker_workloads,
)
from scanner.aws.recorder import Recorder

ACCOUNT = "222222222222"
REGION = "us-east-1"


@dataclass
class StubbedClients(AwsClients):
    """Hands out one stubbed client per service (botocore checks each answer against its model)."""

    stubs: dict[str, Stubber] = field(default_factory=dict)

    def stub(self, service: str) -> Stubber:
        if service not in self.stubs:
            self.stubs[service] = Stubber(self.session.client(service, region_name=REGION))
            self.stubs[service].activate()
        return self.stubs[service]

    def client(self, service: str, region: str | None = None) -> Any:
        return self.stub(service).client


@pytest.fixture
def clients() -> Iterator[StubbedClients]:
    session = boto3.Session(aws_access_key_id="x", aws_secret_access_key="x", region_name=REGION)
    made = StubbedClients(session=session)
    yield made
    for stub in made.stubs.values():
        stub.assert_no_pending_responses()


def role(name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/{name}"


def app_runner_service(name: str, instance_role: str | None) -> dict[str, Any]:
    arn = f"arn:aws:apprunner:{REGION}:{ACCOUNT}:service/{name}/0123456789abcdef0123456789abcdef"
    service: dict[str, Any] = {
        "ServiceName": name,
        "ServiceId": "0123456789abcdef0123456789abcdef",
        "ServiceArn": arn,
        "CreatedAt": 1717200000,
        "UpdatedAt": 1717200000,
        "Status": "RUNNING",
        "SourceConfiguration": {
            "CodeRepository": {
                "RepositoryUrl": "https://github.com/acme/site",
                "SourceCodeVersion": {"Type": "BRANCH", "Value": "main"},
                "CodeConfiguration": {
                    "ConfigurationSource": "API",
                    "CodeConfigurationValues": {
                        "Runtime": "PYTHON_3",
                        "RuntimeEnvironmentVariables": {"SECRET_KEY": "do-not-keep"},
                    },
                },
            }
        },
        "InstanceConfiguration": {"Cpu": "1024", "Memory": "2048"},
        "AutoScalingConfigurationSummary": {},
        "NetworkConfiguration": {},
    }
    if instance_role:
        service["InstanceConfiguration"]["InstanceRoleArn"] = instance_role
    return service


def summary_of(service: dict[str, Any]) -> dict[str, Any]:
    keys = ("ServiceName", "ServiceId", "ServiceArn", "CreatedAt", "UpdatedAt", "Status")
    return {k: service[k] for k in keys}


def test_app_runner_services_across_pages_run_as_their_instance_role(clients: StubbedClients) -> None:
    site, batch = app_runner_service("site", role("site-instance")), app_runner_service("batch", None)
    stub = clients.stub("apprunner")
    stub.add_response("list_services", {"ServiceSummaryList": [summary_of(site)], "NextToken": "page-2"}, {})
    stub.add_response("list_services", {"ServiceSummaryList": [summary_of(batch)]}, {"NextToken": "page-2"})
    stub.add_response("describe_service", {"Service": site}, {"ServiceArn": site["ServiceArn"]})
    stub.add_response("describe_service", {"Service": batch}, {"ServiceArn": batch["ServiceArn"]})
    rec = Recorder(ACCOUNT)
    found = app_runner_services(clients, rec, REGION)
    # a service without an instance role has no AWS credentials: it runs as no one, and is no workload
    assert [(w["Name"], w["RoleArns"]) for w in found] == [("site", [role("site-instance")])]
    assert "do-not-keep" not in str(found) and "SECRET_KEY" not in str(found)
    [listed] = [e for e in rec.entries() if e.operation == "ListServices"]
    assert listed.items == 2 and not listed.is_gap


def test_app_runner_is_not_asked_where_it_is_not_offered(clients: StubbedClients) -> None:
    rec = Recorder(ACCOUNT)
    assert app_runner_services(clients, rec, "sa-east-1") == []  # no stubbed answer: no call was made
    [entry] = rec.entries()
    assert (entry.service, entry.operation, entry.region) == ("apprunner", "ListServices", "sa-east-1")
    assert not entry.is_gap and entry.items == 0 and "not offered in sa-east-1" in entry.detail


def test_a_region_botocore_does_not_know_is_asked(clients: StubbedClients) -> None:
    assert clients.offers("apprunner", "xx-future-1")
    assert clients.offers("bedrock-agent", REGION)  # botocore lists no regions for it: always asked


def test_codebuild_runs_as_the_service_role_and_the_batch_role(clients: StubbedClients) -> None:
    project = {
        "name": "deploy-infra",
        "arn": f"arn:aws:codebuild:{REGION}:{ACCOUNT}:project/deploy-infra",
        "source": {"type": "GITHUB", "location": "https://github.com/acme/infra"},
        "artifacts": {"type": "NO_ARTIFACTS"},
        "environment": {
            "type": "LINUX_CONTAINER",
            "image": "aws/codebuild/standard:7.0",
            "computeType": "BUILD_GENERAL1_SMALL",
            "environmentVariables": [{"name": "GH_TOKEN", "value": "ghp_do_not_keep", "type": "PLAINTEXT"}],
        },
        "serviceRole": role("codebuild-infra-role"),
        "buildBatchConfig": {"serviceRole": role("codebuild-batch-role")},
    }
    stub = clients.stub("codebuild")
    stub.add_response("list_projects", {"projects": ["deploy-infra"]}, {})
    stub.add_response("batch_get_projects", {"projects": [project]}, {"names": ["deploy-infra"]})
    stub.add_client_error("get_resource_policy", "ResourceNotFoundException", "no policy", 400)
    [policy], [found] = codebuild_projects(clients, Recorder(ACCOUNT), REGION)
    assert policy == {"Service": "codebuild", "Region": REGION, "Arn": project["arn"], "Name": "deploy-infra",
                      "Policy": None}  # fmt: skip
    assert found["RoleArns"] == [role("codebuild-infra-role"), role("codebuild-batch-role")]
    assert found["Attributes"] == {"source_type": "GITHUB", "batch_service_role": role("codebuild-batch-role")}
    assert "ghp_do_not_keep" not in str(found) and "GH_TOKEN" not in str(found)


def test_an_ecs_service_mid_deployment_runs_as_both_task_definitions(clients: StubbedClients) -> None:
    cluster = f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/main"
    old, new = (f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/api:{n}" for n in (6, 7))
    service = {
        "serviceArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/main/api",
        "serviceName": "api",
        "clusterArn": cluster,
        "status": "ACTIVE",
        "taskDefinition": new,
        "deployments": [
            {"id": "ecs-svc/1", "status": "PRIMARY", "taskDefinition": new},
            {"id": "ecs-svc/0", "status": "ACTIVE", "taskDefinition": old},
        ],
        "enableExecuteCommand": True,
        "launchType": "FARGATE",
    }
    stub = clients.stub("ecs")
    stub.add_response("list_task_definitions", {"taskDefinitionArns": []}, {"status": "ACTIVE", "sort": "DESC"})
    stub.add_response("list_clusters", {"clusterArns": [cluster]}, {})
    stub.add_response("list_services", {"serviceArns": [service["serviceArn"]]}, {"cluster": cluster})
    stub.add_response(
        "describe_services", {"services": [service]}, {"cluster": cluster, "services": [service["serviceArn"]]}
    )
    for arn, task_role in ((new, "api-v7"), (old, "api-v6")):
        answer = {"taskDefinition": {"taskDefinitionArn": arn, "taskRoleArn": role(task_role)}}
        stub.add_response("describe_task_definition", answer, {"taskDefinition": arn})
    stub.add_response("list_tasks", {"taskArns": []}, {"cluster": cluster})
    [found] = ecs_workloads(clients, Recorder(ACCOUNT), REGION)
    assert found["Kind"] == "ecs_service" and found["RoleArns"] == [role("api-v7"), role("api-v6")]
    assert found["Attributes"]["execute_command"] == "true"
    assert found["Attributes"]["task_definitions"] == f"{new},{old}"


def test_a_service_managed_stack_set_names_no_role_it_cannot_know(clients: StubbedClients) -> None:
    stub = clients.stub("cloudformation")
    stub.add_response("describe_stacks", {"Stacks": []}, {})
    summary = {"StackSetName": "org-guardrails", "StackSetId": "org-guardrails:1", "Status": "ACTIVE"}
    stub.add_response("list_stack_sets", {"Summaries": [summary]}, {"Status": "ACTIVE"})
    stack_set = {
        "StackSetName": "org-guardrails",
        "StackSetId": "org-guardrails:1",
        "Status": "ACTIVE",
        "StackSetARN": f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stackset/org-guardrails:1",
        "PermissionModel": "SERVICE_MANAGED",
        "Parameters": [{"ParameterKey": "AlertToken", "ParameterValue": "do-not-keep"}],
    }
    stub.add_response("describe_stack_set", {"StackSet": stack_set}, {"StackSetName": "org-guardrails"})
    instance = {"StackSetId": "org-guardrails:1", "Region": REGION, "Account": "333333333333", "Status": "CURRENT"}
    stub.add_response("list_stack_instances", {"Summaries": [instance]}, {"StackSetName": "org-guardrails"})
    [found] = cloudformation_workloads(clients, Recorder(ACCOUNT), REGION, ACCOUNT, "aws")
    assert found["RoleArns"] == []  # stacksets-exec-* in each target: a name the API does not give
    assert found["Attributes"] == {"permission_model": "SERVICE_MANAGED", "target_accounts": "333333333333"}
    assert "do-not-keep" not in str(found)


def test_stack_set_instances_unread_are_a_gap_and_said_so(clients: StubbedClients) -> None:
    stub = clients.stub("cloudformation")
    stub.add_response("describe_stacks", {"Stacks": []}, {})
    summary = {"StackSetName": "baseline", "StackSetId": "baseline:1", "Status": "ACTIVE"}
    stub.add_response("list_stack_sets", {"Summaries": [summary]}, {"Status": "ACTIVE"})
    stack_set = {"StackSetName": "baseline", "StackSetId": "baseline:1", "Status": "ACTIVE"}
    stub.add_response("describe_stack_set", {"StackSet": stack_set}, {"StackSetName": "baseline"})
    stub.add_client_error("list_stack_instances", "AccessDenied", "not authorized", 403)
    rec = Recorder(ACCOUNT)
    [found] = cloudformation_workloads(clients, rec, REGION, ACCOUNT, "aws")
    assert found["RoleArns"] == [role("AWSCloudFormationStackSetAdministrationRole")]
    assert found["Attributes"]["target_accounts_read"] == "false"
    [gap] = [e for e in rec.entries() if e.is_gap]
    assert (gap.operation, gap.status) == ("ListStackInstances", CoverageStatus.DENIED)


def test_sagemaker_processing_jobs_in_progress(clients: StubbedClients) -> None:
    stub = clients.stub("sagemaker")
    stub.add_response("list_notebook_instances", {"NotebookInstances": []}, {})
    stub.add_response("list_training_jobs", {"TrainingJobSummaries": []}, {"StatusEquals": "InProgress"})
    arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:processing-job/features"
    job = {"ProcessingJobName": "features", "ProcessingJobArn": arn, "CreationTime": 1717200000,
           "ProcessingJobStatus": "InProgress"}  # fmt: skip
    stub.add_response("list_processing_jobs", {"ProcessingJobSummaries": [job]}, {"StatusEquals": "InProgress"})
    described = {
        "ProcessingJobName": "features",
        "ProcessingJobArn": arn,
        "ProcessingResources": {
            "ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 10}
        },
        "AppSpecification": {"ImageUri": "features:latest"},
        "Environment": {"WAREHOUSE_PASSWORD": "do-not-keep"},
        "RoleArn": role("feature-jobs"),
        "ProcessingJobStatus": "InProgress",
        "CreationTime": 1717200000,
    }
    stub.add_response("describe_processing_job", described, {"ProcessingJobName": "features"})
    [found] = sagemaker_workloads(clients, Recorder(ACCOUNT), REGION)
    assert (found["Kind"], found["RoleArns"]) == ("sagemaker_job", [role("feature-jobs")])
    assert found["Attributes"] == {"job_type": "processing", "status": "InProgress"}
    assert "do-not-keep" not in str(found) and "WAREHOUSE_PASSWORD" not in str(found)
