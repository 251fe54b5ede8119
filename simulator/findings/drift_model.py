"""What drift reports: one :class:`Change` per object added, removed or changed between two
snapshots, with the access it gains and loses, and the chains and findings opened and closed.

``access`` of a change says what it did to what principals can do, and only a proof says more
than ``unknown``:

- ``gained`` / ``lost`` / ``both``: requests the new estate allows and the old one denies (or the
  reverse) were found and confirmed by the simulator on both estates; ``gained`` and ``lost`` list
  them (witnesses, as ``can --json`` writes one), and the other direction was proven empty;
- ``equivalent``: the text changed but the access did not (the two documents are proven
  equivalent, or they grant the same set of roles, permissions and conditions);
- ``none``: the object grants nothing itself (a credential, a workload, a principal's
  attributes), or every request the change could affect was asked of both estates and decided
  alike;
- ``unknown``: neither was proven (an answer was unknown, a document could not be compared, the
  requests a change could affect could not all be named). Witnesses found are still listed.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from models import Cloud
from simulator.core import Witness
from simulator.findings.model import Finding
from simulator.graph import Chain


class ChangeKind(StrEnum):
    """What the changed object is: an identity, a credential, a workload, or a grant document —
    an AWS ``policy`` (or one of its attachments), a Google Cloud ``binding`` (an IAM policy of a
    node, or its attachment) or ``role`` (a custom or predefined role), an Azure ``assignment`` or
    ``role`` definition (Google Cloud deny policies and Azure deny assignments are ``policy``)."""

    PRINCIPAL = "principal"
    POLICY = "policy"
    BINDING = "binding"
    ASSIGNMENT = "assignment"
    ROLE = "role"
    CREDENTIAL = "credential"
    WORKLOAD = "workload"


class ChangeType(StrEnum):
    ADDED = "added"
    REMOVED = "removed"
    CHANGED = "changed"


class Access(StrEnum):
    """What a change did to access (see the module docstring)."""

    GAINED = "gained"
    LOST = "lost"
    BOTH = "both"
    EQUIVALENT = "equivalent"
    NONE = "none"
    UNKNOWN = "unknown"


@dataclass(frozen=True, kw_only=True)
class Change:
    """One object that differs between the snapshots, matched by its stable id.

    ``principals``: the identities whose access the change touches (the targets of a document's
    attachments, the members of a binding, the principal of an assignment, the owner of a
    credential). ``reasons``: why ``access`` is what it is when that is not plain from the
    witnesses (an unknown answer, a comparison that timed out, requests not all asked)."""

    id: str
    cloud: Cloud
    kind: ChangeKind
    change: ChangeType
    access: Access
    gained: tuple[Witness, ...] = ()
    lost: tuple[Witness, ...] = ()
    principals: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "cloud": self.cloud.value,
            "kind": self.kind.value,
            "change": self.change.value,
            "access": self.access.value,
            "gained": [w.to_json() for w in self.gained],
            "lost": [w.to_json() for w in self.lost],
            "principals": list(self.principals),
        }


@dataclass(frozen=True, kw_only=True)
class Drift:
    """Drift from snapshot ``from_id`` to ``to_id``.

    ``opened``: chains to admin from a start that had none before (or only an unknown one, where
    it is proven now); ``closed``: the reverse, each as the old graph had it. ``new_admins`` /
    ``former_admins``: nodes that became (stopped being) admin-equivalent. ``findings_new`` /
    ``findings_resolved``: findings by their stable id. ``notes``: what the reader must know that
    no change says (a rule that failed on one side, a snapshot with coverage gaps)."""

    from_id: str
    to_id: str
    changes: tuple[Change, ...]
    opened: tuple[Chain, ...] = ()
    closed: tuple[Chain, ...] = ()
    new_admins: tuple[str, ...] = ()
    former_admins: tuple[str, ...] = ()
    findings_new: tuple[Finding, ...] = ()
    findings_resolved: tuple[Finding, ...] = ()
    notes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "from": self.from_id,
            "to": self.to_id,
            "changes": [c.to_json() for c in self.changes],
            "chains": {"opened": [c.to_json() for c in self.opened], "closed": [c.to_json() for c in self.closed]},
            "findings": {
                "new": [f.to_json() for f in self.findings_new],
                "resolved": [f.to_json() for f in self.findings_resolved],
            },
        }


__all__ = ["Access", "Change", "ChangeKind", "ChangeType", "Drift"]
