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
    EKS_SERVICE_ACCOUNT = "eks_service_account"
    GCE_INSTANCE = "gce_instance"
    CLOUD_RUN_SERVICE = "cloud_run_service"
    CLOUD_FUNCTION = "cloud_function"
    GKE_SERVICE_ACCOUNT = "gke_service_account"
    AZURE_VM = "azure_vm"
    AZURE_APP_SERVICE = "azure_app_service"
    AZURE_FUNCTION = "azure_function"
    AZURE_RESOURCE = "azure_resource"


@dataclass(frozen=True, kw_only=True)
class Workload:
    """Compute ``id`` that runs as every principal in ``principal_ids`` (an ECS task definition
    has a task role and an execution role; an EC2 instance, the role of its instance profile)."""

    id: str
    cloud: Cloud
    kind: WorkloadKind
    name: str
    scope_id: str
    principal_ids: tuple[str, ...]
    region: str | None = None
    attributes: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        require_text("Workload", "id", self.id)
        require_text("Workload", "scope_id", self.scope_id)
        require_tuple("Workload", "principal_ids", self.principal_ids)
