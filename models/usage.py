"""Usage: when a cloud last saw a principal use a grant, a service or a credential.

This is the evidence for "granted but unused". It is only as good as the cloud's own tracking, so
every record says over which window the cloud vouches for it, and a principal without a record is
*not* unused: nothing is known about it unless a coverage entry with ``Covers.USAGE`` says its
scope's usage was read in full (and even then only within the window the records state). A scope
with no such entry had its usage not collected at all (live scans read it only when asked, and
snapshots written before usage existed hold none): every question of use there is unknown.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from models._checks import ModelError, require_aware, require_text
from models.scope import Cloud


class UsageKind(StrEnum):
    """What a record is about.

    - ``service``: one service the principal's policies allow (AWS service last accessed data;
      ``subject`` is the service namespace, ``s3``). The report lists every service the policies
      allow, so a listed service with no ``last_used`` was granted and not used in the window.
    - ``authentication``: the principal authenticating at all (a Google Cloud service account's
      last authentication; an Entra service principal's sign-ins, ``subject`` naming the sign-in
      context: ``lastSignIn``, ``delegatedClient``, ``applicationAuthenticationClient``, ...).
    - ``credential``: one credential (a Google Cloud service-account key; ``subject`` is the key's
      name, as the key's ``Credential.id``).
    """

    SERVICE = "service"
    AUTHENTICATION = "authentication"
    CREDENTIAL = "credential"


@dataclass(frozen=True, kw_only=True)
class Usage:
    """One usage fact the cloud reported.

    ``principal_id`` is the model's principal id (an ARN, ``serviceAccount:EMAIL``, an Entra object
    id) when the source names the principal so; otherwise the cloud's own name for it, prefixed to
    say which (``azure-app:<appId>`` for an Entra application whose service principal the scan did
    not read). ``native_id`` is the identifier the cloud reported (the ARN, the service account's
    unique id, the appId).

    ``last_used``: the last time the cloud saw it used; ``None`` means *not used within the window*
    ``tracked_since`` .. ``observed_at`` (never "never"). ``tracked_since`` is where the window
    starts, ``None`` when the cloud does not say (then a ``None`` ``last_used`` proves nothing about
    any particular age). ``observed_at`` is when the report was made (the window's end).

    What counts as a use is the cloud's definition, recorded in ``detail``: AWS counts every
    authenticated attempt, denied ones included; Google Cloud's Activity Analyzer counts
    authentications (failed API calls included) by day; Entra may count partial sign-ins.

    ``source`` is ``api`` or ``file``; ``origin`` names the API operation or the file; ``scope_id``
    the account, project or tenant it was read for. ``entity`` is who used it when the report is
    about more than the principal itself (AWS ``LastAuthenticatedEntity``), ``region`` where
    (``LastAuthenticatedRegion``), ``count`` how many entities used it where the cloud says
    (``TotalAuthenticatedEntities``). Never secret material.
    """

    principal_id: str
    cloud: Cloud
    kind: UsageKind
    subject: str
    scope_id: str
    source: str
    origin: str
    last_used: datetime | None = None
    tracked_since: datetime | None = None
    observed_at: datetime | None = None
    native_id: str | None = None
    entity: str | None = None
    region: str | None = None
    count: int | None = None
    detail: str = ""

    def __post_init__(self) -> None:
        for name in ("principal_id", "subject", "scope_id", "origin"):
            require_text("Usage", name, getattr(self, name))
        for name in ("last_used", "tracked_since", "observed_at"):
            require_aware("Usage", name, getattr(self, name))
        if self.source not in ("api", "file"):
            raise ModelError(f"Usage.source must be 'api' or 'file', got {self.source!r}")
        if self.tracked_since and self.observed_at and self.tracked_since > self.observed_at:
            raise ModelError(f"Usage {self.id}: tracked_since is after observed_at")

    @property
    def id(self) -> str:
        """Unique within a snapshot: one record per principal, kind and subject."""
        return f"{self.principal_id}|{self.kind.value}|{self.subject}"

    @property
    def used(self) -> bool | None:
        """True: used within the window; False: not used within it; None: the window is unknown."""
        if self.last_used is not None:
            return True
        return False if self.tracked_since is not None else None
