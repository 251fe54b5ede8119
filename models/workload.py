"""Workloads: compute that runs as an identity. A principal with several is a shared identity."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from models._checks import require_text, require_tuple
from models.scope import Cloud


class WorkloadKind(StrEnum):
    EC2_INSTANCE = "ec2_instance"
    LAMBDA_FUNCTION = "lambda_function"
    ECS_TASK_DEFINITION = "ecs_task_definition"
    ECS_SERVICE = "ecs_service"
    ECS_TASK = "ecs_task"
    EKS_SERVICE_ACCOUNT = "eks_service_account"
    EC2_LAUNCH_TEMPLATE = "ec2_launch_template"
    GLUE_DEV_ENDPOINT = "glue_dev_endpoint"
    GLUE_JOB = "glue_job"
    CLOUDFORMATION_STACK = "cloudformation_stack"
    CLOUDFORMATION_STACK_SET = "cloudformation_stack_set"
    CODEBUILD_PROJECT = "codebuild_project"
    SAGEMAKER_NOTEBOOK = "sagemaker_notebook"
    SAGEMAKER_JOB = "sagemaker_job"
    APP_RUNNER_SERVICE = "app_runner_service"
    STEP_FUNCTIONS_STATE_MACHINE = "step_functions_state_machine"
    BEDROCK_AGENT = "bedrock_agent"
    GCE_INSTANCE = "gce_instance"
    CLOUD_RUN_SERVICE = "cloud_run_service"
    CLOUD_FUNCTION = "cloud_function"
    GKE_SERVICE_ACCOUNT = "gke_service_account"
    GKE_NODE_POOL = "gke_node_pool"
    CLOUD_BUILD = "cloud_build"
    CLOUD_SCHEDULER_JOB = "cloud_scheduler_job"
    COMPOSER_ENVIRONMENT = "composer_environment"
    AZURE_VM = "azure_vm"
    AZURE_APP_SERVICE = "azure_app_service"
    AZURE_FUNCTION = "azure_function"
    AZURE_VM_SCALE_SET = "azure_vm_scale_set"
    AZURE_AUTOMATION_ACCOUNT = "azure_automation_account"
    AZURE_LOGIC_APP = "azure_logic_app"
    AZURE_RESOURCE = "azure_resource"


@dataclass(frozen=True, kw_only=True)
class Workload:
    """Compute ``id`` that runs as every principal in ``principal_ids`` (an ECS task definition
    has a task role and an execution role; an EC2 instance, the role of its instance profile).
    ``tags``: the workload's own tags or labels (Google Cloud labels, Azure resource tags, AWS tags),
    key to value; empty when it has none or they were not read."""

    id: str
    cloud: Cloud
    kind: WorkloadKind
    name: str
    scope_id: str
    principal_ids: tuple[str, ...]
    region: str | None = None
    attributes: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        require_text("Workload", "id", self.id)
        require_text("Workload", "scope_id", self.scope_id)
        require_tuple("Workload", "principal_ids", self.principal_ids)
