"""One snapshot, indexed for drift: its policies, who each document applies to, group members and
the scope tree. Built from the model alone (no engine)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from functools import cached_property

from models import AttachmentKind, Cloud, Policy, Principal, PrincipalKind, Snapshot

#: How many principals below an organization policy's target drift asks about (an SCP on the
#: root covers every identity of the organization; a sample that shows a difference is a proof,
#: one that shows none is not, and the change is then ``unknown``).
SCOPE_SAMPLE = 12

GROUP_KINDS = frozenset({PrincipalKind.AWS_GROUP, PrincipalKind.GCP_GROUP, PrincipalKind.AZURE_GROUP})


class SideIndex:
    """Lookups over one snapshot (old or new side of a drift)."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self.policies = {p.id: p for p in snapshot.policies}
        self.principals = {p.id: p for p in snapshot.principals}
        self.attached: dict[str, list[tuple[str, AttachmentKind]]] = defaultdict(list)
        for a in snapshot.attachments:
            self.attached[a.policy_id].append((a.target_id, a.kind))

    @cached_property
    def members(self) -> dict[str, tuple[str, ...]]:
        """Group id -> the principals whose ``member_of`` names it."""
        out: dict[str, list[str]] = defaultdict(list)
        for p in self.snapshot.principals:
            for group in p.member_of:
                out[group].append(p.id)
        return {g: tuple(ms) for g, ms in out.items()}

    @cached_property
    def children(self) -> dict[str, tuple[str, ...]]:
        out: dict[str, list[str]] = defaultdict(list)
        for s in self.snapshot.scopes:
            if s.parent_id is not None:
                out[s.parent_id].append(s.id)
        return {k: tuple(v) for k, v in out.items()}

    @cached_property
    def by_scope(self) -> dict[str, tuple[Principal, ...]]:
        out: dict[str, list[Principal]] = defaultdict(list)
        for p in self.snapshot.principals:
            out[p.scope_id].append(p)
        return {k: tuple(v) for k, v in out.items()}

    def expand(self, targets: Iterable[str]) -> list[str]:
        """``targets`` with each group's known members added (an AWS group itself cannot act:
        only its members are kept; a Google Cloud or Azure group is asked as itself too)."""
        out: dict[str, None] = {}
        for t in targets:
            principal = self.principals.get(t)
            if principal is None or principal.kind is not PrincipalKind.AWS_GROUP:
                out[t] = None
            if principal is not None and principal.kind in GROUP_KINDS:
                out.update(dict.fromkeys(self.members.get(t, ())))
        return list(out)

    def targets(self, policy_id: str, kinds: frozenset[AttachmentKind]) -> list[str]:
        """The ids ``policy_id`` is attached to as one of ``kinds``."""
        return [t for t, k in self.attached.get(policy_id, ()) if k in kinds]

    def under_scope(self, scope_id: str) -> tuple[list[str], bool]:
        """(up to :data:`SCOPE_SAMPLE` acting principals in ``scope_id`` and below, whether that is
        all of them)."""
        found: list[str] = []
        stack = [scope_id]
        seen: set[str] = set()
        complete = True
        while stack:
            node = stack.pop()
            if node in seen:
                continue
            seen.add(node)
            for p in self.by_scope.get(node, ()):
                if p.kind in (PrincipalKind.AWS_ROLE, PrincipalKind.AWS_USER) and not p.is_service_linked:
                    if len(found) >= SCOPE_SAMPLE:
                        complete = False
                        break
                    found.append(p.id)
            stack.extend(self.children.get(node, ()))
        return found, complete

    def holds_cloud(self, cloud: Cloud) -> bool:
        return any(p.cloud is cloud for p in self.snapshot.principals)

    def policy(self, policy_id: str) -> Policy | None:
        return self.policies.get(policy_id)


__all__ = ["SCOPE_SAMPLE", "SideIndex"]
