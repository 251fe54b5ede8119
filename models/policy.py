"""Policies in their native form, and where each one applies."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from functools import cached_property
from typing import Any

from models._checks import ModelError, require_aware, require_text, require_tuple
from models.scope import Cloud


class PolicyKind(StrEnum):
    """What a policy document is (not where it applies: see :class:`AttachmentKind`)."""

    AWS_MANAGED = "aws_managed"
    CUSTOMER_MANAGED = "customer_managed"
    INLINE = "inline"
    TRUST = "trust"
    SCP = "scp"
    RCP = "rcp"
    RESOURCE = "resource"
    GCP_BINDINGS = "gcp_bindings"
    GCP_DENY = "gcp_deny"
    GCP_ROLE = "gcp_role"
    AZURE_ROLE_DEFINITION = "azure_role_definition"
    AZURE_ASSIGNMENT = "azure_assignment"
    AZURE_DENY_ASSIGNMENT = "azure_deny_assignment"
    #: A PIM eligibility schedule (Azure RBAC): a role the principal may activate, granting nothing until then.
    AZURE_ELIGIBLE_ASSIGNMENT = "azure_eligible_assignment"
    #: Microsoft Entra: a directory role definition, an active directory role assignment, a PIM eligible
    #: directory role assignment, and an app-role assignment (an application permission such as a
    #: Microsoft Graph one granted to a service principal).
    ENTRA_ROLE_DEFINITION = "entra_role_definition"
    ENTRA_DIRECTORY_ROLE_ASSIGNMENT = "entra_directory_role_assignment"
    ENTRA_ELIGIBLE_ROLE_ASSIGNMENT = "entra_eligible_role_assignment"
    ENTRA_APP_ROLE_ASSIGNMENT = "entra_app_role_assignment"


class AttachmentKind(StrEnum):
    """How a policy applies to its target.

    ``identity``: grants to the target principal (user, group, role). ``boundary``: caps the
    target principal's identity policies. ``trust``: the role's trust policy (who may assume it).
    ``scp`` / ``rcp``: an organization policy on a root, OU or account. ``resource``: the target
    resource's own policy. ``binding`` / ``assignment`` / ``deny``: GCP and Azure grants at a scope.
    ``eligible``: an Azure PIM eligibility at the target scope (grants nothing until activated).
    ``entra``: a Microsoft Entra grant (directory role assignment or eligibility, app-role
    assignment) to the target principal, by object id.
    """

    IDENTITY = "identity"
    BOUNDARY = "boundary"
    TRUST = "trust"
    SCP = "scp"
    RCP = "rcp"
    RESOURCE = "resource"
    BINDING = "binding"
    ASSIGNMENT = "assignment"
    DENY = "deny"
    ELIGIBLE = "eligible"
    ENTRA = "entra"


@dataclass(frozen=True, kw_only=True)
class PolicyVersion:
    version_id: str
    is_default: bool
    document: dict[str, Any]
    created: datetime | None = None

    def __post_init__(self) -> None:
        require_text("PolicyVersion", "version_id", self.version_id)
        require_aware("PolicyVersion", "created", self.created)


@dataclass(frozen=True, kw_only=True)
class Policy:
    """A policy document as the cloud stores it.

    ``document`` is the effective document: the default version of a managed policy. All stored
    versions are in ``versions`` (empty for documents that have no versions). ``scope_id`` is the
    scope the policy belongs to (its account), not where it applies.

    ``disabled``: the document grants nothing although it is stored (a Google Cloud custom role
    whose launch stage is ``DISABLED``); ``deleted``: it was deleted (a soft-deleted custom role).
    :attr:`digest` is the sha256 of the document's canonical JSON: answers name the documents that
    decided them by it, and caches key on it.
    """

    id: str
    cloud: Cloud
    kind: PolicyKind
    name: str
    scope_id: str
    document: dict[str, Any]
    versions: tuple[PolicyVersion, ...] = ()
    native_id: str | None = None
    description: str | None = None
    created: datetime | None = None
    updated: datetime | None = None
    attributes: dict[str, str] = field(default_factory=dict)
    disabled: bool = False
    deleted: bool = False

    def __post_init__(self) -> None:
        require_text("Policy", "id", self.id)
        require_text("Policy", "name", self.name)
        require_tuple("Policy", "versions", self.versions)
        require_aware("Policy", "created", self.created)
        require_aware("Policy", "updated", self.updated)
        if not isinstance(self.document, dict):
            raise ModelError(f"Policy {self.id}: document must be a JSON object")
        defaults = [v for v in self.versions if v.is_default]
        if self.versions and len(defaults) != 1:
            raise ModelError(f"Policy {self.id}: exactly one version must be the default")

    @cached_property
    def digest(self) -> str:
        """``sha256:HEX`` of the canonical JSON of ``document`` (sorted keys, no spaces)."""
        return document_digest(self.document)


def document_digest(document: Any) -> str:
    """``sha256:HEX`` of a JSON document's canonical form: sorted keys, no insignificant spaces."""
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True, kw_only=True)
class Attachment:
    """``policy_id`` applies to ``target_id`` (a principal, scope or resource id) as ``kind``."""

    policy_id: str
    target_id: str
    kind: AttachmentKind

    def __post_init__(self) -> None:
        require_text("Attachment", "policy_id", self.policy_id)
        require_text("Attachment", "target_id", self.target_id)

    @property
    def id(self) -> str:
        return f"{self.kind}:{self.target_id}:{self.policy_id}"
