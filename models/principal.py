"""Principals: anything that can act, or be trusted to act."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from models._checks import require_aware, require_text, require_tuple
from models.scope import Cloud


class PrincipalKind(StrEnum):
    # AWS
    AWS_ROLE = "aws_role"
    AWS_USER = "aws_user"
    AWS_GROUP = "aws_group"
    AWS_ROOT = "aws_root"
    AWS_OIDC_PROVIDER = "aws_oidc_provider"
    AWS_SAML_PROVIDER = "aws_saml_provider"
    # Google Cloud
    GCP_SERVICE_ACCOUNT = "gcp_service_account"
    GCP_USER = "gcp_user"
    GCP_GROUP = "gcp_group"
    GCP_DOMAIN = "gcp_domain"
    GCP_WORKLOAD_IDENTITY_POOL = "gcp_workload_identity_pool"
    GCP_ALL_USERS = "gcp_all_users"
    # Azure
    AZURE_SERVICE_PRINCIPAL = "azure_service_principal"
    AZURE_APPLICATION = "azure_application"
    AZURE_MANAGED_IDENTITY = "azure_managed_identity"
    AZURE_USER = "azure_user"
    AZURE_GROUP = "azure_group"
    # Identities outside every cloud, trusted by federation (a GitHub repository's OIDC subject).
    EXTERNAL = "external"


@dataclass(frozen=True, kw_only=True)
class Principal:
    """An identity in a scope.

    ``id`` is stable across scans: the ARN for AWS. ``member_of`` lists the ids of the groups the
    principal belongs to. ``path`` is the AWS IAM path (``/aws-service-role/`` marks a
    service-linked role, which SCPs do not bind). ``last_used`` is when the cloud last saw it
    authenticate, ``None`` when unknown or never.

    Soundness flags (typed, because answers depend on them):

    - ``members_known``: for a group, whether its members were read in full (every nested group
      followed). ``True``: the principals whose ``member_of`` names it are all its members;
      ``False``: some were not read (an unread nested group, a member of unknown type) and the group
      may hold anyone; ``None``: the collector did not say (only groups some principal lists are
      taken as known).
    - ``disabled``: the identity cannot authenticate (a disabled service account, workload identity
      pool or provider); ``deleted``: it was deleted (soft-deleted service accounts). Either way it
      is granted nothing.
    - ``owners``: for an Entra application or service principal, the object ids of its owners (who
      may add credentials to it). ``owners_known``: ``True``, the owners were read in full (an empty
      ``owners`` then means it has none); ``False``, read in part or the read failed (a coverage gap
      with ``Covers.OWNERS`` names it), some owners may be missing; ``None``, not collected.
    """

    id: str
    cloud: Cloud
    kind: PrincipalKind
    name: str
    scope_id: str
    native_id: str | None = None
    path: str = "/"
    created: datetime | None = None
    last_used: datetime | None = None
    last_used_region: str | None = None
    member_of: tuple[str, ...] = ()
    tags: dict[str, str] = field(default_factory=dict)
    attributes: dict[str, str] = field(default_factory=dict)
    members_known: bool | None = None
    disabled: bool = False
    deleted: bool = False
    owners: tuple[str, ...] = ()
    owners_known: bool | None = None

    def __post_init__(self) -> None:
        require_text("Principal", "id", self.id)
        require_text("Principal", "name", self.name)
        require_text("Principal", "scope_id", self.scope_id)
        require_aware("Principal", "created", self.created)
        require_aware("Principal", "last_used", self.last_used)
        require_tuple("Principal", "member_of", self.member_of)
        require_tuple("Principal", "owners", self.owners)

    @property
    def is_service_linked(self) -> bool:
        return self.kind is PrincipalKind.AWS_ROLE and self.path.startswith("/aws-service-role/")
