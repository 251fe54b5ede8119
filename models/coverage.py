"""Coverage: what a scan read, and what it could not. A gap is data, never an empty list."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from models._checks import require_text


class CoverageStatus(StrEnum):
    OK = "ok"
    DENIED = "denied"  # the caller lacks permission (AccessDenied and friends)
    NOT_ENABLED = "not_enabled"  # the service or feature is off (no organization, region not opted in)
    THROTTLED = "throttled"  # still throttled after the retry budget
    ERROR = "error"  # anything else the API answered


@dataclass(frozen=True, kw_only=True)
class CoverageEntry:
    """One read of one API (or file) for one scope and region.

    ``source`` is ``api`` or ``file``; ``operation`` names the API operation or the file path;
    ``items`` counts what the read returned. An entry whose status is not ``ok`` is a gap: that
    part of the estate was not seen, and nothing may be concluded from its absence.
    """

    scope_id: str
    source: str
    service: str
    operation: str
    status: CoverageStatus
    region: str | None = None
    items: int = 0
    detail: str = ""

    def __post_init__(self) -> None:
        require_text("CoverageEntry", "scope_id", self.scope_id)
        require_text("CoverageEntry", "operation", self.operation)
        if self.source not in ("api", "file"):
            raise ValueError(f"CoverageEntry.source must be 'api' or 'file', got {self.source!r}")

    @property
    def is_gap(self) -> bool:
        return self.status is not CoverageStatus.OK
