"""Raw AWS answers, as the APIs (or the AWS CLI) return them, before normalization.

Live fetches and export files both produce these, so one normalizer serves both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from models import CoverageEntry

EXTRAS_FORMAT = "iamdrift.aws.account-extras/1"
ORGANIZATION_FORMAT = "iamdrift.aws.organization/1"


def empty_extras(account_id: str) -> dict[str, Any]:
    """The account-extras document: what ``get-account-authorization-details`` lacks."""
    return {
        "Format": EXTRAS_FORMAT,
        "AccountId": account_id,
        "OpenIDConnectProviders": [],
        "SAMLProviders": [],
        "AccessKeys": [],
        "ResourcePolicies": [],
        "Workloads": [],
    }


@dataclass(kw_only=True)
class RawAccount:
    """One account's answers.

    ``authorization_details``: ``aws iam get-account-authorization-details`` (pages merged), or
    ``None`` where it could not be read. ``credential_report``: the decoded CSV of
    ``aws iam get-credential-report``. ``extras``: an ``iamdrift.aws.account-extras/1`` document.
    ``origin`` names where the authorization details came from, ``report_origin`` and
    ``extras_origin`` the other two, for error messages that name the right file.
    """

    account_id: str
    origin: str
    report_origin: str = ""
    extras_origin: str = ""
    authorization_details: dict[str, Any] | None = None
    credential_report: str | None = None
    extras: dict[str, Any] | None = None
    coverage: list[CoverageEntry] = field(default_factory=list)


@dataclass(kw_only=True)
class RawOrganization:
    """An ``iamdrift.aws.organization/1`` document: the ``aws organizations`` answers gathered."""

    export: dict[str, Any]
    origin: str
    coverage: list[CoverageEntry] = field(default_factory=list)
