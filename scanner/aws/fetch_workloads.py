"""Workloads that run as a role, beyond EC2 instances and Lambda functions, in one account and region.

The readers (scanner/aws/fetch_containers.py, scanner/aws/fetch_services.py) return
account-extras ``Workloads`` entries (their shape: scanner/aws/workload_entry.py). What runs as what:

- ECS: task definitions (the latest ACTIVE revision of each family) run as their task role and
  execution role; services as the roles of every task definition they deploy (primary,
  deployments, task sets); running tasks as their task definition's roles unless the task
  overrides them (``overrides.taskRoleArn`` / ``executionRoleArn``).
- EC2 launch templates: the instance profile of their ``$Default`` and ``$Latest`` versions.
- Glue dev endpoints and jobs: their role. CloudFormation stacks: their service role (a stack
  without one runs with its caller's credentials and is no workload). StackSets (self-managed):
  the administration role, and the execution role in every account that has a stack instance;
  defaults ``AWSCloudFormationStackSetAdministrationRole`` / ``AWSCloudFormationStackSetExecutionRole``
  when unnamed. Service-managed StackSets run as service-linked roles whose names the API does not
  give: listed with no roles and ``permission_model`` ``SERVICE_MANAGED``.
- CodeBuild projects: the service role and the batch-build service role (and their resource
  policies, which decide who else may start builds). SageMaker notebook
  instances (any status: a stopped one can be started) and the training and processing jobs in
  progress: their execution role. App Runner services: the instance role (the access role only
  pulls images: kept as an attribute). Step Functions state machines and Bedrock agents: their role.

Never kept: environment variables and secrets (CodeBuild, App Runner, SageMaker), job arguments
(Glue), user data (launch templates), definitions and instructions (Step Functions, Bedrock),
stack parameters and outputs. Only List/Get/Describe/BatchGet operations are called.
"""

from __future__ import annotations

from scanner.aws.clients import AwsClients
from scanner.aws.fetch_containers import ecs_workloads, launch_templates
from scanner.aws.fetch_services import (
    app_runner_services,
    bedrock_agents,
    cloudformation_workloads,
    codebuild_projects,
    glue_workloads,
    sagemaker_workloads,
    state_machines,
)
from scanner.aws.recorder import Recorder
from scanner.aws.workload_entry import Entry


def region_workloads(
    clients: AwsClients, rec: Recorder, region: str, account: str, partition: str
) -> tuple[list[Entry], list[Entry]]:
    """(resource policies, workloads) of the readers of this module in one region: every workload
    but EC2 instances and Lambda functions (read with the resource policies, in
    scanner/aws/fetch_resources.py); the resource policies are CodeBuild projects'."""
    found = ecs_workloads(clients, rec, region)
    found += launch_templates(clients, rec, region, account, partition)
    found += glue_workloads(clients, rec, region, account, partition)
    found += cloudformation_workloads(clients, rec, region, account, partition)
    policies, projects = codebuild_projects(clients, rec, region)
    found += projects
    found += sagemaker_workloads(clients, rec, region)
    found += app_runner_services(clients, rec, region)
    found += state_machines(clients, rec, region)
    found += bedrock_agents(clients, rec, region)
    return policies, found
