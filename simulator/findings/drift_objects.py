"""Matching two snapshots' objects by their stable ids: what was added, removed and changed.

Ids are stable across scans (ARNs, member strings, Azure object and resource ids), so an object
with one id in both snapshots is the same object. A policy is *changed* when its document digest
differs (or it was disabled or deleted in between); a principal, credential or workload when any
field differs except those that record use (``last_used`` and the like change with every scan and
say nothing about access). An attachment is only added or removed (its id is what it says).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from models import Attachment, Cloud, Credential, Policy, Principal, Snapshot, Workload
from models.codec import to_json_dict
from simulator.findings.drift_model import ChangeType

#: Fields that record use, not configuration: left out when telling whether an object changed.
USE_FIELDS = frozenset({"last_used", "last_used_region", "last_used_service"})

Matched = Principal | Credential | Policy | Attachment | Workload


@dataclass(frozen=True, kw_only=True)
class ObjectChange:
    """One object of ``collection`` that differs: ``old`` / ``new`` are its two versions (None on
    the side it is missing from)."""

    collection: str
    id: str
    change: ChangeType
    old: Any = None
    new: Any = None

    @property
    def current(self) -> Any:
        """The newest version there is."""
        return self.new if self.new is not None else self.old


def object_changes(old: Snapshot, new: Snapshot) -> list[ObjectChange]:
    """Every principal, credential, policy, attachment and workload added, removed or changed,
    in that order, each collection sorted by id."""
    out: list[ObjectChange] = []
    for name in ("principals", "credentials", "policies", "attachments", "workloads"):
        out.extend(_diff(name, getattr(old, name), getattr(new, name)))
    return out


def _diff(name: str, old_items: Iterable[Matched], new_items: Iterable[Matched]) -> list[ObjectChange]:
    before = {item.id: item for item in old_items}
    after = {item.id: item for item in new_items}
    out = []
    for ident in sorted(before.keys() | after.keys()):
        a, b = before.get(ident), after.get(ident)
        if a is None:
            out.append(ObjectChange(collection=name, id=ident, change=ChangeType.ADDED, new=b))
        elif b is None:
            out.append(ObjectChange(collection=name, id=ident, change=ChangeType.REMOVED, old=a))
        elif _differs(a, b):
            out.append(ObjectChange(collection=name, id=ident, change=ChangeType.CHANGED, old=a, new=b))
    return out


def _differs(a: Matched, b: Matched) -> bool:
    if isinstance(a, Policy) and isinstance(b, Policy):
        if a.document is b.document:
            return a.disabled != b.disabled or a.deleted != b.deleted
        return a.digest != b.digest or a.disabled != b.disabled or a.deleted != b.deleted
    return a != b and _configuration(a) != _configuration(b)


def _configuration(item: Matched) -> dict[str, Any]:
    data = to_json_dict(item)
    assert isinstance(data, dict)
    return {k: v for k, v in data.items() if k not in USE_FIELDS}


def cloud_of_attachment(attachment: Attachment, policies: Mapping[str, Policy]) -> Cloud | None:
    """The cloud of an attachment: that of its policy (None when neither snapshot holds it)."""
    policy = policies.get(attachment.policy_id)
    return policy.cloud if policy is not None else None


__all__ = ["USE_FIELDS", "ObjectChange", "cloud_of_attachment", "object_changes"]
