"""Azure behind the core :class:`~simulator.core.Engine` protocol: ``can`` and ``who_can`` on a
snapshot, at one request time.

A question (:class:`~simulator.core.Ask`) names a principal (an Entra object id, or a unique name
in the snapshot), an operation (``Microsoft.Compute/virtualMachines/write``), an ARM resource id
and ABAC attributes as context (``@Resource[type:name]`` / ``@Request[type:name]`` keys, each with
a tuple of values). The attributes the resource id determines (resource names, a blob's path:
:func:`simulator.azure.rbac.resource_attributes`) are added; a context value that contradicts them
is a :class:`~simulator.core.QueryError`. With ``free_context`` the attributes neither gives are
free. ``method`` picks the z3 encoding (:mod:`simulator.azure.encode`) or the reference evaluator
(:mod:`simulator.azure.reference`).

Control plane or data plane: the caller may say (``data_action``); otherwise the snapshot's
operations catalog or its role patterns decide (:meth:`AzureIndex.classify`), and an ambiguous
operation is decided both ways: the answer is that decision when both agree, else ``unknown``
(``ambiguous_plane``). A witness names its plane.

What the snapshot lacks is weighed by the core's gap rule (:func:`simulator.core.weigh`), each gap
by what it could change:

- a coverage gap at a scope of the resource's path: unread role assignments could allow
  (``could_allow``), unread deny assignments could deny (``could_deny``); an entry without typed
  ``covers`` (older snapshots) could do both;
- unknown ancestry (a subscription whose management groups are unknown while management-group
  assignments exist): could allow and deny;
- groups the principal might belong to (its membership is unknown: the group's members were not
  read, or the principal is not in the snapshot): such a group's role assignment that covers the
  operation could allow; a deny assignment that covers the operation and names such a group could
  deny; a deny assignment that covers the operation and excludes such a group could lift the
  explicit deny it decides — unless another deciding deny assignment excludes no such group.
  Deny assignments whose scope or permissions do not cover the operation never weigh.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from models import Cloud, Covers, PrincipalKind, Snapshot
from simulator.azure import encode
from simulator.azure.rbac import (
    Applicable,
    Request,
    blocks_of,
    normalize_attributes,
    resource_attributes,
)
from simulator.azure.reference import Verdict
from simulator.azure.snapshot_queries import AzureIndex
from simulator.core import (
    Answer,
    Ask,
    Considered,
    Decision,
    ExternalToken,
    Gap,
    Method,
    QueryError,
    Reason,
    ReasonKind,
    weigh,
)


class AzureEngine:
    """Azure RBAC semantics over one snapshot, at one request time (see the module docstring).

    ``can(ask, data_action=None, sub_operation=None)`` and ``who_can(...)`` take the plane and the
    sub-operation beside the :class:`~simulator.core.Ask` (the core's question has no field for
    them). ``timeout_ms`` bounds each solver check.
    """

    cloud = Cloud.AZURE

    def __init__(self, snapshot: Snapshot, at: datetime, *, timeout_ms: int = encode.DEFAULT_TIMEOUT_MS) -> None:
        if at.tzinfo is None:
            raise ValueError("AzureEngine: the request time must be timezone-aware")
        self.snapshot = snapshot
        self.at = at
        self.timeout_ms = timeout_ms
        self.index = AzureIndex(snapshot)
        self._groups_at: dict[tuple[str, ...], frozenset[str]] = {}
        self._covering: dict[tuple[str, str, bool], bool] = {}

    def principals(self) -> tuple[str, ...]:
        """The object ids of the snapshot's Azure principals (users, service principals, managed
        identities, groups), sorted."""
        return tuple(sorted(self.index.principals))

    # --- can ----------------------------------------------------------------------------------

    def can(self, ask: Ask, *, data_action: bool | None = None, sub_operation: str | None = None) -> Answer:
        """The answer for ``ask.principal`` (see the module docstring)."""
        if ask.principal is None:
            raise QueryError("can needs a principal (who_can asks for every one)")
        if isinstance(ask.principal, ExternalToken):
            detail = (
                "Azure RBAC grants to Entra principals; an external token acts only as the managed identity or"
                " application whose federated credential trusts it: ask about that principal"
            )
            return Answer(
                ask=ask,
                principal=ask.principal.id,
                decision=Decision.UNKNOWN,
                reasons=(Reason(kind=ReasonKind.ENGINE, detail=detail),),
            )
        index = self.index
        principal_id = index.resolve_principal(ask.principal)
        attributes = self._attributes(ask)
        problems: list[str] = []
        notes: list[str] = []
        resource = ask.resource.strip().lower().rstrip("/") or "/"
        path = index.scope_path(ask.resource, problems)
        applicable = index.applicable(principal_id, path, notes)
        if principal_id not in index.principals:
            notes.append(f"principal {principal_id} is not in the snapshot; its group memberships are unknown")
        planes = self._planes(ask.action, data_action, notes)
        answers = []
        for plane in planes:
            request = Request(
                principal=principal_id,
                operation=ask.action,
                resource=resource,
                data_action=plane,
                sub_operation=sub_operation,
                attributes=attributes,
            )
            verdict = self._decide(request, applicable, ask)
            answer = Answer(
                ask=ask,
                principal=principal_id,
                decision=verdict.decision,
                witness=verdict.witness,
                reasons=verdict.reasons,
            )
            gaps = self._gaps(principal_id, path, ask.action, plane, verdict, problems)
            answers.append(_lift_or_keep(weigh(answer, gaps), gaps, self._could_grant(applicable, ask.action, plane)))
        answer = _combine(ask.action, answers)
        considered = self._considered(applicable)
        return replace(
            answer,
            considered=considered,
            depends_on=self._depends_on(answer, considered),
            notes=tuple(dict.fromkeys([*answer.notes, *notes])),
        )

    def _could_grant(self, applicable: Applicable, operation: str, plane: bool) -> bool:
        """Whether an assignment of the principal (or its groups) at the path could grant the
        operation: its role covers it, or its role definition is missing."""
        return any(
            a.role_definition is None or self._role_covers(a.role_definition, operation, plane)
            for a in applicable.assignments
        )

    def _role_covers(self, role: Mapping[str, Any], operation: str, plane: bool) -> bool:
        """Whether a block of ``role`` covers the operation on the plane (its conditions aside); cached."""
        key = (str(role.get("id") or role.get("name") or id(role)).lower(), operation.lower(), plane)
        if key not in self._covering:
            self._covering[key] = _covers(role, operation, [plane])
        return self._covering[key]

    def _attributes(self, ask: Ask) -> dict[str, tuple[str, ...]]:
        try:
            given = normalize_attributes(ask.context)
        except ValueError as exc:
            raise QueryError(str(exc)) from exc
        attributes = resource_attributes(ask.resource)
        for key, values in given.items():
            if key in attributes and attributes[key] != values:
                raise QueryError(
                    f"{key} is {attributes[key][0]!r} for resource {ask.resource} (from its id); the context gives"
                    f" {values!r}"
                )
            attributes[key] = values
        return attributes

    def _planes(self, operation: str, data_action: bool | None, notes: list[str]) -> list[bool]:
        if data_action is not None:
            return [data_action]
        plane = self.index.classify(operation)
        if plane is None:
            notes.append(f"{operation}: whether it is a data action is ambiguous in this snapshot; decided both ways")
            return [False, True]
        return [plane]

    def _decide(self, request: Request, applicable: Applicable, ask: Ask) -> Verdict:
        if ask.method is Method.REFERENCE:
            return encode.decide_reference(request, applicable, ask.free_context)
        return encode.decide_smt(request, applicable, ask.free_context, timeout_ms=self.timeout_ms)

    # --- gaps ---------------------------------------------------------------------------------

    def _gaps(
        self,
        principal: str,
        path: tuple[str, ...],
        operation: str,
        plane: bool,
        verdict: Verdict,
        problems: list[str],
    ) -> list[Gap]:
        gaps = [Gap(detail=p, could_allow=True, could_deny=True) for p in problems]
        gaps += self._coverage_gaps(path)
        gaps += self._group_gaps(principal, path, operation, plane, verdict)
        return gaps

    def _coverage_gaps(self, path: tuple[str, ...]) -> list[Gap]:
        """Gaps in what the scan read at the scopes of ``path`` that could hold an assignment or
        a deny assignment for this request."""
        out = []
        for scope in path:
            for entry in self.index.gaps.get(scope, []):
                if entry.covers:
                    allow = Covers.ASSIGNMENTS in entry.covers
                    deny = Covers.DENY_ASSIGNMENTS in entry.covers
                else:  # an entry written before typed coverage: it could hide either
                    allow = deny = True
                if not (allow or deny):
                    continue
                detail = f" ({entry.detail})" if entry.detail else ""
                out.append(
                    Gap(
                        detail=f"coverage gap at {scope}: {entry.service} {entry.operation}: {entry.status}{detail}",
                        could_allow=allow,
                        could_deny=deny,
                        scope=scope,
                    )
                )
        return out

    def maybe_groups(self, principal: str, path: tuple[str, ...]) -> set[str]:
        """Groups named at ``path`` (by role assignments, or by deny assignments as principals or
        exclusions) that ``principal`` might be in without the snapshot saying so: groups whose
        members are not known and that it is not known to be in; for a principal the snapshot
        does not list, every group whose members were not read in full."""
        index = self.index
        named = self._named_groups(path)
        p = index.principals.get(principal)
        if p is None:
            return {g for g in named if g and g != principal and index.members_said(g) is not True}
        mine = {g.lower() for g in p.member_of}
        return {g for g in named if g and g != principal and not index.members_known(g) and g not in mine}

    def _named_groups(self, path: tuple[str, ...]) -> frozenset[str]:
        """The groups role assignments and deny assignments at ``path`` name; cached per path."""
        if path not in self._groups_at:
            assignments, denies, _ = self.index.at_path(path)
            named = {
                str(a.assignment.get("principalId") or "").lower()
                for a in assignments
                if str(a.assignment.get("principalType") or "").lower() == "group" or self._is_group(a.assignment)
            }
            for doc in denies:
                d = self.index.compiled_deny(doc)
                named |= {
                    i for i, kind in (*d.principals, *d.excluded) if kind.lower() == "group" or self._is_group_id(i)
                }
            self._groups_at[path] = frozenset(named)
        return self._groups_at[path]

    def _is_group(self, assignment: Mapping[str, Any]) -> bool:
        return self._is_group_id(str(assignment.get("principalId") or ""))

    def _is_group_id(self, ident: str) -> bool:
        p = self.index.principals.get(ident.lower())
        return p is not None and p.kind is PrincipalKind.AZURE_GROUP

    def _group_gaps(
        self, principal: str, path: tuple[str, ...], operation: str, plane: bool, verdict: Verdict
    ) -> list[Gap]:
        """What groups ``principal`` might be in could change (module docstring)."""
        index = self.index
        groups = self.maybe_groups(principal, path)
        if not groups:
            return []
        outside = principal not in index.principals
        why = (
            f"principal {principal} is not in the snapshot: its group memberships are unknown"
            if outside
            else f"whether {principal} is a member is not in the snapshot (the group's members were not read)"
        )
        _, denies, _ = index.at_path(path)
        by_holder = index.assignments_by_holder(path)
        held = sorted(x for g in groups for x in by_holder.get(g, ()))
        gaps: list[Gap] = []
        for _, a in held:  # in the order they are attached along the path
            holder = str(a.assignment.get("principalId") or "").lower()
            if a.role_definition is None or self._role_covers(a.role_definition, operation, plane):
                name = index.principals[holder].name if holder in index.principals else holder
                role = a.role_definition.get("roleName") if a.role_definition else a.assignment.get("roleDefinitionId")
                gaps.append(
                    Gap(
                        detail=f"group {name} holds {role} at {a.assignment.get('scope')}; {why}",
                        could_allow=True,
                        kind=ReasonKind.GROUP_MEMBERSHIP,
                    )
                )
        own = path[-1] if path else ""
        p = index.principals.get(principal)
        ids = frozenset({principal, *((g.lower() for g in p.member_of) if p else ())})
        deciding = {r.policy for r in verdict.reasons if r.kind is ReasonKind.DENY_ASSIGNMENT}
        lifts: list[Gap] = []
        firm = False  # an explicit deny that no group of unknown membership can lift
        for doc in denies:
            d = index.compiled_deny(doc)
            applies = d.scope == own if not d.children else d.scope in path
            if not applies or not any(b.matches(operation, plane) for b in d.blocks):
                continue  # it does not cover this request, whoever the principal is
            named = [i for i, _ in d.principals if i in groups]
            if named and not d.matches_principal(ids):
                gaps.append(
                    Gap(
                        detail=f"deny assignment {d.name} applies to group(s) {', '.join(named)}; {why}",
                        could_deny=True,
                        kind=ReasonKind.GROUP_MEMBERSHIP,
                    )
                )
            if d.matches_principal(ids) and (not deciding or d.id in deciding):
                excluded = [i for i, _ in d.excluded if i in groups]
                if excluded:
                    lifts.append(
                        Gap(
                            detail=f"deny assignment {d.name} excludes group(s) {', '.join(excluded)}; {why}",
                            could_lift=True,
                            kind=ReasonKind.GROUP_MEMBERSHIP,
                        )
                    )
                elif d.id in deciding:
                    firm = True
        return gaps if firm else gaps + lifts

    # --- who_can ------------------------------------------------------------------------------

    def who_can(
        self,
        ask: Ask,
        *,
        data_action: bool | None = None,
        sub_operation: str | None = None,
        groups_stand_for_members: bool = False,
    ) -> tuple[Answer, ...]:
        """Every principal that can (allowed) or might (unknown) perform ``ask.action`` on
        ``ask.resource``, each answered as :meth:`can` answers it, sorted by principal id: the
        holders of role assignments at the resource's scopes whose role could grant the operation
        (groups, their known members, principals the snapshot does not list), and every other
        principal of the snapshot whose deny is not proven (a gap that could allow; a group of
        unknown membership that holds such an assignment).

        ``groups_stand_for_members``: a group whose members were not read stands for them — it is
        listed (allowed where its assignments allow, with a note that its unread members hold the
        access), and the principals that only such a group could make allowed are not asked, nor
        listed (the mint graph's convention, as Google Cloud's groups: one edge from the group,
        not one unknown edge from every principal of the tenant)."""
        if ask.principal is not None:
            raise QueryError("who_can takes no principal")
        index = self.index
        problems: list[str] = []
        path = index.scope_path(ask.resource, problems)
        notes: list[str] = []
        planes = self._planes(ask.action, data_action, notes)
        assignments, _, _ = index.at_path(path)
        candidates: set[str] = set()
        doubted_groups = False
        for applied in assignments:
            holder = str(applied.assignment.get("principalId") or "").lower()
            role = applied.role_definition
            if not holder or (role is not None and not any(self._role_covers(role, ask.action, p) for p in planes)):
                continue  # its role cannot grant the operation, whatever its condition
            candidates.add(holder)
            doubted_groups = doubted_groups or (
                (str(applied.assignment.get("principalType") or "").lower() == "group" or self._is_group_id(holder))
                and not index.members_known(holder)
            )
            stack = [holder]
            while stack:
                for member in index.members.get(stack.pop(), []):
                    if member not in candidates:
                        candidates.add(member)
                        stack.append(member)
        # Without a grant a principal is denied unless something unseen could allow: then each
        # one is asked (its answer is unknown, and who_can lists it as can would answer it).
        doubted_groups = doubted_groups and not groups_stand_for_members
        if problems or any(g.could_allow for g in self._coverage_gaps(path)) or doubted_groups:
            candidates |= set(index.principals)
        out = []
        for principal_id in sorted(candidates):
            answer = self.can(
                replace(ask, principal=principal_id), data_action=data_action, sub_operation=sub_operation
            )
            if answer.decision in (Decision.ALLOWED, Decision.UNKNOWN):
                p = index.principals.get(principal_id)
                if p is not None and p.kind is PrincipalKind.AZURE_GROUP:
                    answer = answer.with_notes([f"{p.name} is a group: its members hold this access"])
                    if groups_stand_for_members and not index.members_known(principal_id):
                        answer = answer.with_notes(
                            [f"the members of {p.name} were not read: it stands for any of them"]
                        )
                elif groups_stand_for_members and _only_through_groups(answer):
                    continue  # the groups it might be in are listed themselves
                out.append(answer)
        return tuple(out)

    # --- provenance ---------------------------------------------------------------------------

    def _considered(self, applicable: Applicable) -> tuple[Considered, ...]:
        out: list[Considered] = []
        for a in applicable.assignments:
            pid = str(a.assignment.get("id", "")).lower()
            policy = self.index.policies.get(pid)
            out.append(Considered(policy=pid, applies_as="assignment", digest=policy.digest if policy else None))
            role = self.index.role_policy(str(a.assignment.get("roleDefinitionId") or ""))
            if role is not None:
                out.append(Considered(policy=role.id, applies_as="role_definition", digest=role.digest))
        for d in applicable.deny_assignments:
            pid = str(d.get("id", "")).lower()
            policy = self.index.policies.get(pid)
            out.append(Considered(policy=pid, applies_as="deny_assignment", digest=policy.digest if policy else None))
        return tuple(dict.fromkeys(out))

    def _depends_on(self, answer: Answer, considered: tuple[Considered, ...]) -> tuple[str, ...]:
        """The digests of the documents the reasons name (with the role definitions of named
        assignments); when none is named (nothing grants), of every document considered."""
        named = {r.policy for r in answer.reasons if r.policy}
        digests: list[str] = []
        for pid in named:
            policy = self.index.policies.get(pid)
            if policy is None:
                continue
            digests.append(policy.digest)
            role = self.index.role_policy(str(policy.document.get("roleDefinitionId") or ""))
            if role is not None:
                digests.append(role.digest)
        if not named:
            digests = [c.digest for c in considered if c.digest]
        return tuple(sorted(set(digests)))


def _covers(role: Mapping[str, Any], operation: str, planes: Iterable[bool]) -> bool:
    return any(b.matches(operation, plane) for b in blocks_of(role.get("permissions")) for plane in planes)


def _only_through_groups(answer: Answer) -> bool:
    """An unknown answer that only groups of unread membership leave unproven: without them the
    request is refused by omission."""
    if answer.decision is not Decision.UNKNOWN:
        return False
    kinds = {r.kind for r in answer.reasons}
    would = [r.detail for r in answer.reasons if r.kind is ReasonKind.UNPROVEN]
    return (
        ReasonKind.GROUP_MEMBERSHIP in kinds
        and kinds <= _GROUPS_ONLY
        and all(w.endswith(str(Decision.IMPLICIT_DENY)) for w in would)
    )


_GROUPS_ONLY = frozenset({ReasonKind.GROUP_MEMBERSHIP, ReasonKind.UNPROVEN, ReasonKind.NO_ALLOW})


def _lift_or_keep(answer: Answer, gaps: list[Gap], could_grant: bool) -> Answer:
    """An explicit deny that only gaps able to lift it left unproven, for a principal nothing could
    grant (no assignment of its own covers the operation, and no gap could allow): lifted, the
    request is still refused by omission, so the proven answer is ``implicit_deny``."""
    lifts = [g for g in gaps if g.could_lift]
    if answer.decision is not Decision.UNKNOWN or not lifts or could_grant or any(g.could_allow for g in gaps):
        return answer
    if any(
        r.kind not in (ReasonKind.GROUP_MEMBERSHIP, ReasonKind.UNPROVEN, ReasonKind.DENY_ASSIGNMENT, ReasonKind.PROVEN)
        for r in answer.reasons
    ):
        return answer  # unknown for another reason too
    notes = [f"denied either way; whether the deny assignment applies is not proven: {g.detail}" for g in lifts]
    kept = tuple(r for r in answer.reasons if r.kind is ReasonKind.DENY_ASSIGNMENT)
    none = Reason(kind=ReasonKind.NO_ALLOW, detail="no role assignment of the principal or its groups grants it")
    return replace(answer, decision=Decision.IMPLICIT_DENY, reasons=(none, *kept)).with_notes(notes)


def _combine(operation: str, answers: list[Answer]) -> Answer:
    if len(answers) == 1:
        return answers[0]
    control, data = answers
    if control.decision == data.decision:
        return replace(
            control,
            witness=control.witness or data.witness,
            reasons=control.reasons + data.reasons,
            notes=tuple(dict.fromkeys(control.notes + data.notes)),
        )
    detail = (
        f"{operation} is {control.decision} as a control-plane action and {data.decision} as a data action; the"
        " snapshot does not say which it is (pass data_action)"
    )
    return replace(
        control,
        decision=Decision.UNKNOWN,
        witness=None,
        reasons=(Reason(kind=ReasonKind.AMBIGUOUS_PLANE, detail=detail), *control.reasons, *data.reasons),
        notes=tuple(dict.fromkeys(control.notes + data.notes)),
    )


__all__ = ["AzureEngine"]
