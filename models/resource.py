"""Resources that carry their own policy (S3 buckets, KMS keys, ...)."""

from __future__ import annotations

from dataclasses import dataclass, field

from models._checks import require_text
from models.scope import Cloud


@dataclass(frozen=True, kw_only=True)
class Resource:
    """A resource known to the snapshot; ``kind`` is ``<service>:<type>``, e.g. ``s3:bucket``."""

    id: str
    cloud: Cloud
    kind: str
    name: str
    scope_id: str
    region: str | None = None
    attributes: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        require_text("Resource", "id", self.id)
        require_text("Resource", "kind", self.kind)
        require_text("Resource", "scope_id", self.scope_id)
