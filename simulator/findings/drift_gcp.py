"""Google Cloud drift in access: bindings, roles' permissions and conditions.

A node's IAM policy grants each member a set of (role, condition) pairs. Two versions of it that
grant every member the same pairs are ``equivalent`` however the text moved (members reordered,
bindings split or merged, etag changed). For each member whose pairs differ, the requests the
change could affect are (member, permission, node) for every permission of the roles concerned:
of the roles whose unconditional grant appeared or disappeared, the permissions only one side's
unconditional roles grant; of a grant whose condition appeared, changed or disappeared, all its
role's permissions. A custom role whose permissions (or stage) changed affects each member bound
to it, for the permissions only one version includes. Each request is confirmed on both estates
(:mod:`simulator.findings.drift_probe`); the change is ``none`` only when every such request was
asked, decided alike on both sides, and no condition is involved (two conditions that admit a
witness each may still differ elsewhere: that is ``unknown``).

Deny policies are not compared yet: a changed one is ``unknown``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from models import AttachmentKind, Cloud, Policy, PolicyKind
from simulator.core import Witness
from simulator.findings.drift_index import SideIndex
from simulator.findings.drift_model import Access, Change, ChangeKind, ChangeType
from simulator.findings.drift_probe import Confirmed, Probe, Prober, summarize

#: Requests asked per member of one change; beyond it the change is ``unknown`` unless proven.
MAX_PROBES = 24

Grant = tuple[str, str]  # (role, condition expression or "")


def grants(document: Mapping[str, Any] | None) -> dict[str, frozenset[Grant]]:
    """Member -> the (role, condition) pairs a bindings document grants it."""
    out: dict[str, set[Grant]] = defaultdict(set)
    for binding in (document or {}).get("bindings") or ():
        if not isinstance(binding, Mapping):
            continue
        role = str(binding.get("role") or "")
        condition = binding.get("condition")
        expression = str(condition.get("expression") or "").strip() if isinstance(condition, Mapping) else ""
        for member in binding.get("members") or ():
            out[str(member)].add((role, expression))
    return {m: frozenset(g) for m, g in out.items()}


@dataclass(frozen=True, kw_only=True)
class Plan:
    """The requests one change could affect, and whether asking them all settles it."""

    probes: tuple[Probe, ...]
    complete: bool
    conditional: bool
    reasons: tuple[str, ...] = ()
    #: ``gained`` / ``lost``: the change can only add (remove) access — grants were only added
    #: (removed) — so one proven witness settles it; None: either could happen.
    only: str | None = None


def classify(confirmed: Confirmed, plan: Plan) -> tuple[Access, tuple[str, ...]]:
    """The access of a change from what its probes confirmed (see the module docstring)."""
    reasons = [*plan.reasons, *summarize(confirmed.unknown)]
    gained, lost = bool(confirmed.gained), bool(confirmed.lost)
    if gained and lost:
        return Access.BOTH, tuple(reasons)
    if plan.only == "gained" and gained:
        return Access.GAINED, tuple(reasons)
    if plan.only == "lost" and lost:
        return Access.LOST, tuple(reasons)
    settled = plan.complete and not plan.conditional and not confirmed.unknown
    if settled:
        return (Access.GAINED if gained else Access.LOST if lost else Access.NONE), tuple(reasons)
    if plan.conditional and not (gained or lost):
        reasons.append("a condition changed: no request decided differently was found, which proves nothing")
    return Access.UNKNOWN, tuple(reasons)


@dataclass(frozen=True, kw_only=True)
class GcpDrift:
    old: SideIndex
    new: SideIndex
    prober: Prober

    def change(self, ident: str, change: ChangeType, old: Policy | None, new: Policy | None) -> Change:
        policy = new or old
        assert policy is not None
        if policy.kind is PolicyKind.GCP_BINDINGS:
            return self._bindings(ident, change, old, new)
        if policy.kind is PolicyKind.GCP_ROLE:
            return self._role(ident, change, old, new)
        return Change(
            id=ident,
            cloud=Cloud.GCP,
            kind=ChangeKind.POLICY,
            change=change,
            access=Access.UNKNOWN,
            reasons=("changes to deny policies are not compared yet",),
        )

    def _node(self, policy: Policy) -> str:
        for side in (self.new, self.old):
            nodes = side.targets(policy.id, frozenset({AttachmentKind.BINDING}))
            if nodes:
                return nodes[0]
        return policy.id.split("#", 1)[0]

    def _bindings(self, ident: str, change: ChangeType, old: Policy | None, new: Policy | None) -> Change:
        policy = new or old
        assert policy is not None
        before, after = grants(_live(old)), grants(_live(new))
        changed = sorted(m for m in before.keys() | after.keys() if before.get(m, frozenset()) != after.get(m))
        base = Change(id=ident, cloud=Cloud.GCP, kind=ChangeKind.BINDING, change=change, access=Access.NONE)
        if not changed:
            access = Access.EQUIVALENT if change is ChangeType.CHANGED else Access.NONE
            return replace(base, access=access)
        node = self._node(policy)
        plans = [self._member_plan(m, node, before.get(m, frozenset()), after.get(m, frozenset())) for m in changed]
        return self._decide(base, plans, tuple(changed))

    def _member_plan(self, member: str, node: str, before: frozenset[Grant], after: frozenset[Grant]) -> Plan:
        reasons: list[str] = []
        permissions: dict[str, None] = {}
        unconditional_old = {r for r, c in before if not c}
        unconditional_new = {r for r, c in after if not c}
        complete = True
        if unconditional_old != unconditional_new:
            old_perms, known_old = self._permissions(unconditional_old, self.old)
            new_perms, known_new = self._permissions(unconditional_new, self.new)
            complete = known_old and known_new
            permissions.update(dict.fromkeys(sorted(old_perms ^ new_perms)))
        conditional_roles = {r for r, c in before ^ after if c}
        for role in sorted(conditional_roles):
            perms, known = self._permissions({role}, self.new if any(r == role for r, _ in after) else self.old)
            complete = complete and known
            permissions.update(dict.fromkeys(sorted(perms)))
        if not complete:
            reasons.append(f"a role bound to {member} is not in the snapshot: its permissions are not known")
        chosen = list(permissions)[:MAX_PROBES]
        if len(chosen) < len(permissions):
            complete = False
            reasons.append(f"{len(permissions)} permissions could differ for {member}; the first {MAX_PROBES} asked")
        probes = tuple(Probe(principal=member, action=p, resource=node) for p in chosen)
        only = "gained" if before <= after else "lost" if after <= before else None
        return Plan(
            probes=probes, complete=complete, conditional=bool(conditional_roles), reasons=tuple(reasons), only=only
        )

    def _permissions(self, roles: Iterable[str], side: SideIndex) -> tuple[frozenset[str], bool]:
        perms: set[str] = set()
        known = True
        for role in roles:
            policy = side.policy(role)
            if policy is None or policy.kind is not PolicyKind.GCP_ROLE:
                known = False
                continue
            if _live(policy) is None:
                continue
            perms.update(str(p) for p in policy.document.get("includedPermissions") or ())
        return frozenset(perms), known

    def _role(self, ident: str, change: ChangeType, old: Policy | None, new: Policy | None) -> Change:
        before = _role_permissions(old)
        after = _role_permissions(new)
        base = Change(id=ident, cloud=Cloud.GCP, kind=ChangeKind.ROLE, change=change, access=Access.NONE)
        if before == after:
            return replace(base, access=Access.EQUIVALENT if change is ChangeType.CHANGED else Access.NONE)
        differing = sorted(before ^ after)
        only = "gained" if before <= after else "lost" if after <= before else None
        holders: dict[tuple[str, str], bool] = {}
        for side in (self.old, self.new):
            for member, node, conditional in _bound(side, ident):
                holders[(member, node)] = holders.get((member, node), False) or conditional
        if not holders:
            return replace(base, reasons=("no binding in either snapshot grants this role",))
        plans = []
        for (member, node), conditional in sorted(holders.items()):
            chosen = differing[:MAX_PROBES]
            reasons = () if len(chosen) == len(differing) else (f"{len(differing)} permissions differ; some asked",)
            probes = tuple(Probe(principal=member, action=p, resource=node) for p in chosen)
            plans.append(
                Plan(
                    probes=probes,
                    complete=len(chosen) == len(differing),
                    conditional=conditional,
                    reasons=reasons,
                    only=only,
                )
            )
        return self._decide(base, plans, tuple(dict.fromkeys(m for m, _ in holders)))

    def _decide(self, base: Change, plans: list[Plan], principals: tuple[str, ...]) -> Change:
        return decide(self.prober, base, plans, principals)


def decide(prober: Prober, base: Change, plans: list[Plan], principals: tuple[str, ...]) -> Change:
    """``base`` with the access its plans prove: each plan (one principal's requests) is asked and
    classified on its own, then combined — access gained by one principal and lost by another is
    ``both``; an undecided plan makes the change unknown (unless that already holds), and the plans
    after it are not asked; otherwise the one direction found (or ``none``)."""
    verdicts: list[Access] = []
    gained: list[Witness] = []
    lost: list[Witness] = []
    reasons: list[str] = []
    for n, plan in enumerate(plans):
        confirmed = prober.confirm(plan.probes, only=plan.only, settled=plan.complete and not plan.conditional)
        access, why = classify(confirmed, plan)
        verdicts.append(access)
        gained.extend(confirmed.gained)
        lost.extend(confirmed.lost)
        reasons.extend(why)
        if access is Access.UNKNOWN or (gained and lost):
            # The verdict can no longer be a plain gained, lost or none: the rest is not asked.
            if n + 1 < len(plans):
                reasons.append(f"{len(plans) - n - 1} more principal(s) not asked once the verdict was settled")
            break
    found = {v for v in verdicts if v is not Access.NONE}
    if (Access.BOTH in found) or (gained and lost):
        access = Access.BOTH
    elif Access.UNKNOWN in found or len(found) > 1:
        access = Access.UNKNOWN
    else:
        access = found.pop() if found else Access.NONE
    return replace(
        base,
        access=access,
        gained=tuple(gained[: prober.limit * 2]),
        lost=tuple(lost[: prober.limit * 2]),
        principals=principals,
        reasons=tuple(dict.fromkeys(reasons))[:6],
    )


def _bound(side: SideIndex, role: str) -> list[tuple[str, str, bool]]:
    """(member, node, conditional) for every binding of ``role`` in ``side``."""
    out = []
    for policy in side.snapshot.policies:
        if policy.kind is not PolicyKind.GCP_BINDINGS or _live(policy) is None:
            continue
        nodes = side.targets(policy.id, frozenset({AttachmentKind.BINDING})) or [policy.id.split("#", 1)[0]]
        for member, pairs in grants(policy.document).items():
            for r, condition in pairs:
                if r == role:
                    out.append((member, nodes[0], bool(condition)))
    return out


def _role_permissions(policy: Policy | None) -> frozenset[str]:
    doc = _live(policy)
    return frozenset(str(p) for p in (doc or {}).get("includedPermissions") or ())


def _live(policy: Policy | None) -> dict[str, Any] | None:
    """The document when it grants (None for a missing, disabled or deleted one)."""
    if policy is None or policy.disabled or policy.deleted:
        return None
    if str(policy.document.get("stage", "")).upper() == "DISABLED" or policy.document.get("deleted"):
        return None
    return policy.document


__all__ = ["MAX_PROBES", "GcpDrift", "Plan", "classify", "decide", "grants"]
