"""Scopes: the containment tree every cloud has (where policies attach and identities live)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from models._checks import require_text


class Cloud(StrEnum):
    AWS = "aws"
    GCP = "gcp"
    AZURE = "azure"


class ScopeKind(StrEnum):
    """Levels of each cloud's tree, top to bottom.

    AWS: organization > root > organizational_unit (nested) > account.
    GCP: gcp_organization > folder (nested) > project.
    Azure: tenant > management_group (nested) > subscription > resource_group > azure_resource.
    """

    ORGANIZATION = "organization"
    ROOT = "root"
    ORGANIZATIONAL_UNIT = "organizational_unit"
    ACCOUNT = "account"
    GCP_ORGANIZATION = "gcp_organization"
    FOLDER = "folder"
    PROJECT = "project"
    TENANT = "tenant"
    MANAGEMENT_GROUP = "management_group"
    SUBSCRIPTION = "subscription"
    RESOURCE_GROUP = "resource_group"
    AZURE_RESOURCE = "azure_resource"


@dataclass(frozen=True, kw_only=True)
class Scope:
    """One node of a cloud's containment tree.

    ``id`` is the cloud's own stable id (AWS account id, OU id ``ou-...``, root ``r-...``,
    organization ``o-...``). ``tags``: the scope's own tags or labels (Google Cloud project labels;
    Azure subscription, resource group and resource tags; AWS account tags), key to value; empty
    when it has none or they were not read. ``parent_id`` is ``None`` at the top of a tree, and for an account
    whose organization was not readable (the coverage says why). ``management_account_id``, on an
    AWS organization, is its management account (SCPs and RCPs do not bind it).
    """

    id: str
    cloud: Cloud
    kind: ScopeKind
    name: str
    parent_id: str | None = None
    attributes: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    management_account_id: str | None = None

    def __post_init__(self) -> None:
        require_text("Scope", "id", self.id)
        require_text("Scope", "name", self.name)
