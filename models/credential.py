"""Credentials: what lets a principal authenticate. Metadata only, never secret material."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from models._checks import ModelError, require_aware, require_text, require_tuple


class CredentialKind(StrEnum):
    ACCESS_KEY = "access_key"  # AWS IAM user access key
    PASSWORD = "password"  # AWS console password
    SERVICE_ACCOUNT_KEY = "service_account_key"  # GCP user-managed key
    CLIENT_SECRET = "client_secret"  # Azure application password
    CERTIFICATE = "certificate"  # Azure application certificate
    FEDERATED = "federated"  # OIDC / SAML trust, Azure federated identity credential


STATIC_KINDS = frozenset(
    {
        CredentialKind.ACCESS_KEY,
        CredentialKind.PASSWORD,
        CredentialKind.SERVICE_ACCOUNT_KEY,
        CredentialKind.CLIENT_SECRET,
        CredentialKind.CERTIFICATE,
    }
)


@dataclass(frozen=True, kw_only=True)
class Credential:
    """One way to authenticate as ``principal_id``.

    Static credentials carry ``created`` / ``last_used`` / ``expires`` and ``active``.
    ``key_id`` is the credential's public identifier where the source reported one (an AWS
    access key id ``AKIA...`` is an identifier, not a secret); an AWS credential report names
    access keys only by slot, so ``id`` is ``<user arn>#access-key-<slot>`` either way.

    Federated credentials describe a trust: tokens from ``issuer`` whose subject matches one of
    ``subjects`` (glob patterns, ``*`` matches anything; ``None`` means the trust does not
    constrain the subject at all) and whose audience is one of ``audiences``. ``condition`` is a
    further test the trust applies to the token, in the cloud's own words, that ``subjects`` does
    not capture (an Azure flexible credential's ``claimsMatchingExpression``); ``None``: none.
    """

    id: str
    principal_id: str
    kind: CredentialKind
    active: bool = True
    key_id: str | None = None
    created: datetime | None = None
    last_used: datetime | None = None
    last_used_service: str | None = None
    last_used_region: str | None = None
    expires: datetime | None = None
    mfa: bool | None = None
    issuer: str | None = None
    subjects: tuple[str, ...] | None = None
    audiences: tuple[str, ...] = ()
    source_policy_id: str | None = None
    condition: str | None = None

    def __post_init__(self) -> None:
        require_text("Credential", "id", self.id)
        require_text("Credential", "principal_id", self.principal_id)
        for name in ("created", "last_used", "expires"):
            require_aware("Credential", name, getattr(self, name))
        require_tuple("Credential", "audiences", self.audiences)
        if self.subjects is not None:
            require_tuple("Credential", "subjects", self.subjects)
        if self.kind is CredentialKind.FEDERATED and not self.issuer:
            raise ModelError(f"Credential {self.id}: a federated credential needs an issuer")

    @property
    def is_static(self) -> bool:
        return self.kind in STATIC_KINDS
