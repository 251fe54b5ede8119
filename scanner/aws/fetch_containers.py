"""ECS task definitions, services and running tasks; EC2 launch templates (see scanner/aws/fetch_workloads.py)."""

from __future__ import annotations

from typing import Any

from models import WorkloadKind
from scanner.aws.clients import AwsClients
from scanner.aws.recorder import Recorder
from scanner.aws.workload_entry import Entry, chunks, every, get, workload

# --- ECS ----------------------------------------------------------------------------------------


class _TaskDefinitions:
    """DescribeTaskDefinition answers, each asked once per scan of a region."""

    def __init__(self, ecs: Any, rec: Recorder, region: str) -> None:
        self._ecs, self._rec, self._region = ecs, rec, region
        self._seen: dict[str, dict[str, Any] | None] = {}

    def describe(self, arn: str) -> dict[str, Any] | None:
        if arn not in self._seen:
            self._seen[arn] = self._rec.call(
                "ecs",
                "DescribeTaskDefinition",
                get(self._ecs.describe_task_definition, "taskDefinition", taskDefinition=arn),
                region=self._region,
            )
        return self._seen[arn]

    def read(self, arn: str) -> bool:
        """Whether ``arn`` was described (False: its roles are unknown, and a gap says so)."""
        return self.describe(arn) is not None

    def roles(self, arn: str) -> list[str]:
        answer = self.describe(arn) or {}
        return [r for r in (answer.get("taskRoleArn"), answer.get("executionRoleArn")) if r]


def ecs_workloads(clients: AwsClients, rec: Recorder, region: str) -> list[Entry]:
    """Task definitions (latest revision per family), services and running tasks."""
    ecs = clients.client("ecs", region)
    definitions = _TaskDefinitions(ecs, rec, region)
    found = _ecs_task_definitions(ecs, rec, region, definitions)
    clusters = rec.call("ecs", "ListClusters", every(ecs, "list_clusters", "clusterArns"), region=region, count=len)
    for cluster in clusters or []:
        found.extend(_ecs_services(ecs, rec, region, cluster, definitions))
        found.extend(_ecs_tasks(ecs, rec, region, cluster, definitions))
    return found


def _ecs_task_definitions(ecs: Any, rec: Recorder, region: str, definitions: _TaskDefinitions) -> list[Entry]:
    arns = rec.call(
        "ecs",
        "ListTaskDefinitions",
        every(ecs, "list_task_definitions", "taskDefinitionArns", status="ACTIVE", sort="DESC"),
        region=region,
        count=len,
    )
    latest: dict[str, str] = {}
    for arn in arns or []:
        family = arn.rsplit("/", 1)[-1].rsplit(":", 1)[0]
        latest.setdefault(family, arn)
    found = []
    for family, arn in sorted(latest.items()):
        roles = definitions.roles(arn)
        if roles:
            found.append(workload("ecs", WorkloadKind.ECS_TASK_DEFINITION, region, arn, family, roles))
    return found


def _ecs_services(ecs: Any, rec: Recorder, region: str, cluster: str, definitions: _TaskDefinitions) -> list[Entry]:
    arns = rec.call(
        "ecs", "ListServices", every(ecs, "list_services", "serviceArns", cluster=cluster), region=region, count=len
    )
    found = []
    for chunk in chunks(list(arns or []), 10):  # DescribeServices takes at most 10
        described = rec.call(
            "ecs",
            "DescribeServices",
            get(ecs.describe_services, "services", cluster=cluster, services=chunk),
            region=region,
            count=len,
        )
        for service in described or []:
            if service.get("status") == "INACTIVE":
                continue
            deployed = [service.get("taskDefinition")]
            deployed += [d.get("taskDefinition") for d in service.get("deployments") or []]
            deployed += [t.get("taskDefinition") for t in service.get("taskSets") or []]
            task_definitions = list(dict.fromkeys(d for d in deployed if d))
            roles = [role for arn in task_definitions for role in definitions.roles(arn)]
            if not roles and all(definitions.read(arn) for arn in task_definitions):
                continue  # its tasks run as no role
            attributes = {
                "cluster": cluster,
                "task_definitions": task_definitions,
                "launch_type": service.get("launchType"),
                "execute_command": service.get("enableExecuteCommand"),
            }
            found.append(
                workload(
                    "ecs",
                    WorkloadKind.ECS_SERVICE,
                    region,
                    service["serviceArn"],
                    service.get("serviceName") or service["serviceArn"].rsplit("/", 1)[-1],
                    roles,
                    attributes=attributes,
                )
            )
    return found


def _ecs_tasks(ecs: Any, rec: Recorder, region: str, cluster: str, definitions: _TaskDefinitions) -> list[Entry]:
    """Running tasks (ListTasks' default: desired status RUNNING)."""
    arns = rec.call("ecs", "ListTasks", every(ecs, "list_tasks", "taskArns", cluster=cluster), region=region, count=len)
    found = []
    for chunk in chunks(list(arns or []), 100):  # DescribeTasks takes at most 100
        described = rec.call(
            "ecs", "DescribeTasks", get(ecs.describe_tasks, "tasks", cluster=cluster, tasks=chunk), region=region
        )
        for task in described or []:
            definition_arn = task.get("taskDefinitionArn") or ""
            definition = (definitions.describe(definition_arn) if definition_arn else None) or {}
            overrides = task.get("overrides") or {}
            task_role = overrides.get("taskRoleArn") or definition.get("taskRoleArn")
            execution_role = overrides.get("executionRoleArn") or definition.get("executionRoleArn")
            if not (task_role or execution_role) and definition:
                continue  # runs as no role
            attributes = {
                "cluster": cluster,
                "task_definition": definition_arn,
                "started_by": task.get("startedBy"),
                "execute_command": task.get("enableExecuteCommand"),
                "task_role_override": bool(overrides.get("taskRoleArn")) or None,
            }
            found.append(
                workload(
                    "ecs",
                    WorkloadKind.ECS_TASK,
                    region,
                    task["taskArn"],
                    task["taskArn"].rsplit("/", 1)[-1],
                    [task_role, execution_role],
                    attributes=attributes,
                )
            )
    return found


# --- EC2 launch templates -------------------------------------------------------------------------


def launch_templates(clients: AwsClients, rec: Recorder, region: str, account: str, partition: str) -> list[Entry]:
    """Launch templates whose default or latest version names an instance profile (user data is not kept)."""
    ec2 = clients.client("ec2", region)
    templates = rec.call(
        "ec2",
        "DescribeLaunchTemplates",
        every(ec2, "describe_launch_templates", "LaunchTemplates"),
        region=region,
        count=len,
    )
    found = []
    for template in templates or []:
        template_id = template["LaunchTemplateId"]
        versions = rec.call(
            "ec2",
            "DescribeLaunchTemplateVersions",
            every(
                ec2,
                "describe_launch_template_versions",
                "LaunchTemplateVersions",
                LaunchTemplateId=template_id,
                Versions=["$Default", "$Latest"],
            ),
            region=region,
            absent=frozenset({"InvalidLaunchTemplateId.NotFound", "InvalidLaunchTemplateId.VersionNotFound"}),
        )
        profiles: list[dict[str, str]] = []
        for version in versions or []:
            spec = (version.get("LaunchTemplateData") or {}).get("IamInstanceProfile") or {}
            named = {k: str(spec[k]) for k in ("Arn", "Name") if spec.get(k)}
            if named and named not in profiles:
                profiles.append(named)
        if not profiles:
            continue
        attributes = {
            "default_version": template.get("DefaultVersionNumber"),
            "latest_version": template.get("LatestVersionNumber"),
        }
        found.append(
            workload(
                "ec2",
                WorkloadKind.EC2_LAUNCH_TEMPLATE,
                region,
                f"arn:{partition}:ec2:{region}:{account}:launch-template/{template_id}",
                template.get("LaunchTemplateName") or template_id,
                (),
                attributes=attributes,
                profiles=profiles,
            )
        )
    return found
