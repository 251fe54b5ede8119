"""Glue, CloudFormation, CodeBuild, SageMaker, App Runner, Step Functions and Bedrock agents as workloads.

What runs as which role, and what is never kept: scanner/aws/fetch_workloads.py.
"""

from __future__ import annotations

from typing import Any

from models import WorkloadKind
from scanner.aws.clients import AwsClients
from scanner.aws.recorder import Recorder
from scanner.aws.workload_entry import Entry, chunks, every, get, skip_unoffered, workload

#: CloudFormation's documented role names for self-managed StackSets that name none.
STACK_SET_ADMINISTRATION_ROLE = "AWSCloudFormationStackSetAdministrationRole"
STACK_SET_EXECUTION_ROLE = "AWSCloudFormationStackSetExecutionRole"

# --- Glue -----------------------------------------------------------------------------------------


def glue_workloads(clients: AwsClients, rec: Recorder, region: str, account: str, partition: str) -> list[Entry]:
    """Dev endpoints and jobs (their arguments are never kept: they may carry secrets)."""
    if skip_unoffered(clients, rec, "glue", "GetJobs", region):
        return []
    glue = clients.client("glue", region)
    prefix = f"arn:{partition}:glue:{region}:{account}"
    found = []
    endpoints = rec.call(
        "glue", "GetDevEndpoints", every(glue, "get_dev_endpoints", "DevEndpoints"), region=region, count=len
    )
    for endpoint in endpoints or []:
        name = endpoint["EndpointName"]
        attributes = {"status": endpoint.get("Status"), "ssh_keys": len(endpoint.get("PublicKeys") or []) or None}
        found.append(
            workload(
                "glue",
                WorkloadKind.GLUE_DEV_ENDPOINT,
                region,
                f"{prefix}:devEndpoint/{name}",
                name,
                [endpoint.get("RoleArn")],
                attributes=attributes,
            )
        )
    jobs = rec.call("glue", "GetJobs", every(glue, "get_jobs", "Jobs"), region=region, count=len)
    for job in jobs or []:
        command = job.get("Command") or {}
        script = str(command.get("ScriptLocation") or "")
        attributes = {"command": command.get("Name"), "script_location": script if script.startswith("s3://") else None}
        found.append(
            workload(
                "glue",
                WorkloadKind.GLUE_JOB,
                region,
                f"{prefix}:job/{job['Name']}",
                job["Name"],
                [job.get("Role")],
                attributes=attributes,
            )
        )
    return found


# --- CloudFormation -------------------------------------------------------------------------------


def cloudformation_workloads(
    clients: AwsClients, rec: Recorder, region: str, account: str, partition: str
) -> list[Entry]:
    """Stacks with a service role, and StackSets (parameters, outputs and templates are not kept)."""
    cfn = clients.client("cloudformation", region)
    found = []
    stacks = rec.call("cloudformation", "DescribeStacks", every(cfn, "describe_stacks", "Stacks"), region=region)
    for stack in stacks or []:
        if not stack.get("RoleARN"):
            continue
        attributes = {"status": stack.get("StackStatus"), "parent": stack.get("ParentId")}
        found.append(
            workload(
                "cloudformation",
                WorkloadKind.CLOUDFORMATION_STACK,
                region,
                stack["StackId"],
                stack["StackName"],
                [stack["RoleARN"]],
                attributes=attributes,
            )
        )
    summaries = rec.call(
        "cloudformation",
        "ListStackSets",
        every(cfn, "list_stack_sets", "Summaries", Status="ACTIVE"),
        region=region,
        count=len,
    )
    for summary in summaries or []:
        entry = _stack_set(cfn, rec, region, account, partition, summary["StackSetName"])
        if entry is not None:
            found.append(entry)
    return found


def _stack_set(cfn: Any, rec: Recorder, region: str, account: str, partition: str, name: str) -> Entry | None:
    stack_set = rec.call(
        "cloudformation",
        "DescribeStackSet",
        get(cfn.describe_stack_set, "StackSet", StackSetName=name),
        region=region,
        absent=frozenset({"StackSetNotFoundException"}),
    )
    if stack_set is None:
        return None
    instances = rec.call(
        "cloudformation",
        "ListStackInstances",
        every(cfn, "list_stack_instances", "Summaries", StackSetName=name),
        region=region,
    )
    targets = sorted({str(i["Account"]) for i in instances or [] if i.get("Account")})
    model = stack_set.get("PermissionModel") or "SELF_MANAGED"
    attributes: dict[str, Any] = {"permission_model": model, "target_accounts": targets}
    if instances is None:  # a gap is recorded; the execution roles in other accounts are not known
        attributes["target_accounts_read"] = False
    roles: list[str] = []
    if model == "SELF_MANAGED":
        admin = (
            stack_set.get("AdministrationRoleARN")
            or f"arn:{partition}:iam::{account}:role/{STACK_SET_ADMINISTRATION_ROLE}"
        )
        execution = stack_set.get("ExecutionRoleName") or STACK_SET_EXECUTION_ROLE
        roles = [admin, *(f"arn:{partition}:iam::{target}:role/{execution}" for target in targets)]
        attributes["execution_role_name"] = execution
    arn = stack_set.get("StackSetARN") or f"arn:{partition}:cloudformation:{region}:{account}:stackset/{name}"
    return workload(
        "cloudformation", WorkloadKind.CLOUDFORMATION_STACK_SET, region, arn, name, roles, attributes=attributes
    )


# --- CodeBuild ------------------------------------------------------------------------------------


def codebuild_projects(clients: AwsClients, rec: Recorder, region: str) -> tuple[list[Entry], list[Entry]]:
    """(resource policies, workloads) of the region's CodeBuild projects: each project's resource
    policy (``Policy`` ``None`` where it has none) and the project as a workload running as its
    service role and batch-build service role (environment variables are not kept)."""
    if skip_unoffered(clients, rec, "codebuild", "ListProjects", region):
        return [], []
    codebuild = clients.client("codebuild", region)
    names = rec.call(
        "codebuild", "ListProjects", every(codebuild, "list_projects", "projects"), region=region, count=len
    )
    policies, found = [], []
    for chunk in chunks(list(names or []), 100):  # BatchGetProjects takes at most 100
        projects = rec.call(
            "codebuild",
            "BatchGetProjects",
            get(codebuild.batch_get_projects, "projects", names=chunk),
            region=region,
            count=len,
        )
        for project in projects or []:
            arn = project["arn"]
            policy = rec.call(
                "codebuild",
                "GetResourcePolicy",
                get(codebuild.get_resource_policy, resourceArn=arn),
                region=region,
                absent=frozenset({"ResourceNotFoundException"}),
            )
            policies.append(
                {
                    "Service": "codebuild",
                    "Region": region,
                    "Arn": arn,
                    "Name": project["name"],
                    "Policy": (policy or {}).get("policy") or None,
                }
            )
            batch_role = (project.get("buildBatchConfig") or {}).get("serviceRole")
            attributes = {"source_type": (project.get("source") or {}).get("type"), "batch_service_role": batch_role}
            found.append(
                workload(
                    "codebuild",
                    WorkloadKind.CODEBUILD_PROJECT,
                    region,
                    arn,
                    project["name"],
                    [project.get("serviceRole"), batch_role],
                    attributes=attributes,
                )
            )
    return policies, found


# --- SageMaker ------------------------------------------------------------------------------------


def sagemaker_workloads(clients: AwsClients, rec: Recorder, region: str) -> list[Entry]:
    """Notebook instances (any status) and training and processing jobs in progress."""
    if skip_unoffered(clients, rec, "sagemaker", "ListNotebookInstances", region):
        return []
    sm = clients.client("sagemaker", region)
    found = []
    notebooks = rec.call(
        "sagemaker",
        "ListNotebookInstances",
        every(sm, "list_notebook_instances", "NotebookInstances"),
        region=region,
        count=len,
    )
    for notebook in notebooks or []:
        name = notebook["NotebookInstanceName"]
        described = rec.call(
            "sagemaker",
            "DescribeNotebookInstance",
            get(sm.describe_notebook_instance, NotebookInstanceName=name),
            region=region,
        )
        answer = described or {}
        attributes = {
            "status": answer.get("NotebookInstanceStatus") or notebook.get("NotebookInstanceStatus"),
            "root_access": answer.get("RootAccess"),
            "direct_internet_access": answer.get("DirectInternetAccess"),
        }
        found.append(
            workload(
                "sagemaker",
                WorkloadKind.SAGEMAKER_NOTEBOOK,
                region,
                notebook["NotebookInstanceArn"],
                name,
                [answer.get("RoleArn")],
                attributes=attributes,
            )
        )
    jobs = (
        ("training", "ListTrainingJobs", "list_training_jobs", "TrainingJobSummaries", "DescribeTrainingJob"),
        ("processing", "ListProcessingJobs", "list_processing_jobs", "ProcessingJobSummaries", "DescribeProcessingJob"),
    )
    for job_type, list_op, method, key, describe_op in jobs:
        summaries = rec.call(
            "sagemaker", list_op, every(sm, method, key, StatusEquals="InProgress"), region=region, count=len
        )
        prefix = "Training" if job_type == "training" else "Processing"
        describe = sm.describe_training_job if job_type == "training" else sm.describe_processing_job
        for summary in summaries or []:
            name = summary[f"{prefix}JobName"]
            described = rec.call("sagemaker", describe_op, get(describe, **{f"{prefix}JobName": name}), region=region)
            answer = described or {}
            attributes = {"job_type": job_type, "status": summary.get(f"{prefix}JobStatus")}
            found.append(
                workload(
                    "sagemaker",
                    WorkloadKind.SAGEMAKER_JOB,
                    region,
                    summary[f"{prefix}JobArn"],
                    name,
                    [answer.get("RoleArn")],
                    attributes=attributes,
                )
            )
    return found


# --- App Runner, Step Functions, Bedrock ----------------------------------------------------------


def app_runner_services(clients: AwsClients, rec: Recorder, region: str) -> list[Entry]:
    """Services and their instance role (runtime environment variables and secrets are not kept)."""
    if skip_unoffered(clients, rec, "apprunner", "ListServices", region):
        return []
    apprunner = clients.client("apprunner", region)

    def every_service() -> list[Any]:  # ListServices has no paginator in botocore
        items: list[Any] = []
        token: dict[str, str] = {}
        while True:
            page = apprunner.list_services(**token)
            items.extend(page.get("ServiceSummaryList", []))
            if not page.get("NextToken"):
                return items
            token = {"NextToken": page["NextToken"]}

    summaries = rec.call("apprunner", "ListServices", every_service, region=region, count=len)
    found = []
    for summary in summaries or []:
        if summary.get("Status") == "DELETED":
            continue
        arn = summary["ServiceArn"]
        described = rec.call(
            "apprunner",
            "DescribeService",
            get(apprunner.describe_service, "Service", ServiceArn=arn),
            region=region,
            absent=frozenset({"ResourceNotFoundException"}),
        )
        if described is None:
            continue
        source = described.get("SourceConfiguration") or {}
        attributes = {
            "status": described.get("Status"),
            "access_role": (source.get("AuthenticationConfiguration") or {}).get("AccessRoleArn"),
        }
        role = (described.get("InstanceConfiguration") or {}).get("InstanceRoleArn")
        if not role:  # no instance role: the service's code has no AWS credentials
            continue
        found.append(
            workload(
                "apprunner",
                WorkloadKind.APP_RUNNER_SERVICE,
                region,
                arn,
                summary.get("ServiceName") or arn,
                [role],
                attributes=attributes,
            )
        )
    return found


def state_machines(clients: AwsClients, rec: Recorder, region: str) -> list[Entry]:
    """Step Functions state machines and their role (the definition is not kept)."""
    if skip_unoffered(clients, rec, "stepfunctions", "ListStateMachines", region):
        return []
    sfn = clients.client("stepfunctions", region)
    listed = rec.call(
        "stepfunctions",
        "ListStateMachines",
        every(sfn, "list_state_machines", "stateMachines"),
        region=region,
        count=len,
    )
    found = []
    for machine in listed or []:
        arn = machine["stateMachineArn"]
        described = rec.call(
            "stepfunctions",
            "DescribeStateMachine",
            get(sfn.describe_state_machine, stateMachineArn=arn),
            region=region,
            absent=frozenset({"StateMachineDoesNotExist"}),
        )
        if described is None:
            continue
        attributes = {"type": described.get("type") or machine.get("type"), "status": described.get("status")}
        found.append(
            workload(
                "stepfunctions",
                WorkloadKind.STEP_FUNCTIONS_STATE_MACHINE,
                region,
                arn,
                machine.get("name") or arn.rsplit(":", 1)[-1],
                [described.get("roleArn")],
                attributes=attributes,
            )
        )
    return found


def bedrock_agents(clients: AwsClients, rec: Recorder, region: str) -> list[Entry]:
    """Bedrock agents and their resource role (instructions and prompts are not kept)."""
    if skip_unoffered(clients, rec, "bedrock-agent", "ListAgents", region):
        return []
    agents = clients.client("bedrock-agent", region)
    listed = rec.call(
        "bedrock-agent", "ListAgents", every(agents, "list_agents", "agentSummaries"), region=region, count=len
    )
    found = []
    for summary in listed or []:
        agent = rec.call(
            "bedrock-agent",
            "GetAgent",
            get(agents.get_agent, "agent", agentId=summary["agentId"]),
            region=region,
            absent=frozenset({"ResourceNotFoundException"}),
        )
        if agent is None:
            continue
        attributes = {"status": agent.get("agentStatus"), "foundation_model": agent.get("foundationModel")}
        found.append(
            workload(
                "bedrock-agent",
                WorkloadKind.BEDROCK_AGENT,
                region,
                agent["agentArn"],
                agent.get("agentName") or summary["agentId"],
                [agent.get("agentResourceRoleArn")],
                attributes=attributes,
            )
        )
    return found
