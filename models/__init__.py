"""The normalized, cloud-neutral model of an IAM estate, its snapshots and their store.

Everything here is a frozen, keyword-only dataclass that checks itself on construction. Ids are
stable across scans (an ARN, a service-account email, an Azure object id), so two snapshots of the
same estate can be compared object by object. This package imports no cloud SDK and no solver.
"""

from models.coverage import CoverageEntry, CoverageStatus, Covers
from models.credential import Credential, CredentialKind
from models.policy import Attachment, AttachmentKind, Policy, PolicyKind, PolicyVersion
from models.principal import Principal, PrincipalKind
from models.resource import Resource
from models.scope import Cloud, Scope, ScopeKind
from models.snapshot import Snapshot
from models.usage import Usage, UsageKind
from models.workload import Workload, WorkloadKind

__all__ = [
    "Attachment",
    "AttachmentKind",
    "Cloud",
    "CoverageEntry",
    "CoverageStatus",
    "Covers",
    "Credential",
    "CredentialKind",
    "Policy",
    "PolicyKind",
    "PolicyVersion",
    "Principal",
    "PrincipalKind",
    "Resource",
    "Scope",
    "ScopeKind",
    "Snapshot",
    "Usage",
    "UsageKind",
    "Workload",
    "WorkloadKind",
]
