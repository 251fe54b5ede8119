"""The concrete reference evaluator for Azure RBAC: decides one request in Kleene logic.

Evaluation order (Azure RBAC documentation):

1. Deny assignments: one that applies at the resource's scope path (only at its own scope with
   ``doNotApplyToChildScopes``), names the principal (or everyone, or one of its groups) without
   excluding it, and whose permissions cover the operation denies: ``explicit_deny``, whatever
   grants.
2. Role assignments at the scope path for the principal or one of its groups: one grants when a
   permission block of its role definition covers the operation (control-plane: ``actions`` minus
   ``notActions``; data: ``dataActions`` minus ``notDataActions``), the block's own condition (if
   any) holds and the assignment's ABAC condition (if any) holds: ``allowed``.
3. Nothing grants: ``implicit_deny``.

Unknown (``None``) comes from ABAC conditions outside the supported subset
(:mod:`simulator.azure.abac`) and from a role definition the snapshot lacks; it is the answer
only where it could change the decision. A deny assignment that only *might* apply next to no
grant at all still denies (reported as ``implicit_deny``, naming it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from simulator.azure.abac import Facts, K, evaluate, kleene_and, kleene_or, unknown_reasons
from simulator.azure.rbac import Applicable, Compiled, DenyAssignment, Request, RoleAssignment, compile_request
from simulator.core import Decision, Reason, ReasonKind, Witness


@dataclass(frozen=True, kw_only=True)
class Verdict:
    """One evaluator's decision on one request (one plane): the decision, its reasons, and for
    ``allowed`` the request as a witness."""

    decision: Decision
    reasons: tuple[Reason, ...] = ()
    witness: Witness | None = None


def facts_of(request: Request) -> Facts:
    return Facts(request.operation, request.sub_operation, request.attributes)


def condition_value(condition: Any, facts: Facts) -> K:
    return True if condition is None else evaluate(condition, facts)


def grant_value(assignment: RoleAssignment, blocks: tuple[Any, ...], facts: Facts) -> K:
    """Whether one assignment grants, given blocks that cover the operation."""
    block = kleene_or(condition_value(b.condition, facts) for b in blocks)
    return kleene_and([block, condition_value(assignment.condition, facts)])


def deny_value(deny: DenyAssignment, facts: Facts) -> K:
    return condition_value(deny.condition, facts)


def witness_of(request: Request) -> Witness:
    return Witness(
        principal=request.principal,
        action=request.operation,
        resource=request.resource,
        context=dict(sorted(request.attributes.items())),
        plane="data" if request.data_action else "control",
        sub_operation=request.sub_operation,
    )


def assignment_reason(a: RoleAssignment, kind: ReasonKind, detail: str) -> Reason:
    return Reason(kind=kind, policy=a.id, role=a.role_name or a.role_id, scope=a.scope, detail=detail)


def deny_reason(d: DenyAssignment, kind: ReasonKind, detail: str) -> Reason:
    return Reason(kind=kind, policy=d.id, scope=d.scope, detail=detail)


def _unknown_detail(a: RoleAssignment, blocks: tuple[Any, ...]) -> str:
    reasons = [r for b in blocks if b.condition is not None for r in unknown_reasons(b.condition)]
    if a.condition is not None:
        reasons += unknown_reasons(a.condition)
    return "; ".join(dict.fromkeys(reasons)) or "condition undecided"


def decide_compiled(request: Request, compiled: Compiled) -> Verdict:
    facts = facts_of(request)
    op = request.operation
    deny_values = [(d, deny_value(d, facts)) for d in compiled.denies]
    grant_values = [(a, blocks, grant_value(a, blocks, facts)) for a, blocks in compiled.grants]
    denied = kleene_or(v for _, v in deny_values)
    granted = kleene_or([*(v for _, _, v in grant_values), *(None for _ in compiled.missing_roles)])
    reasons: list[Reason]
    if denied is True:
        reasons = [
            deny_reason(d, ReasonKind.DENY_ASSIGNMENT, f"deny assignment {d.name} at {d.scope} denies {op}")
            for d, v in deny_values
            if v is True
        ]
        return Verdict(decision=Decision.EXPLICIT_DENY, reasons=tuple(reasons))
    if granted is False:
        reasons = [
            assignment_reason(a, ReasonKind.CONDITION, f"the condition of {a.label()} does not hold for this request")
            for a, _, v in grant_values
        ]
        if not grant_values:
            reasons.append(
                Reason(
                    kind=ReasonKind.NO_ALLOW,
                    detail=f"no role assignment for the principal or its groups at the resource's scopes grants {op}"
                    f" ({compiled.considered} assignments apply to it there)",
                )
            )
        reasons += [
            deny_reason(d, ReasonKind.DENY_ASSIGNMENT, f"deny assignment {d.name} might apply: {_deny_detail(d)}")
            for d, v in deny_values
            if v is None
        ]
        return Verdict(decision=Decision.IMPLICIT_DENY, reasons=tuple(reasons))
    if granted is True and denied is False:
        reasons = [
            assignment_reason(a, ReasonKind.ASSIGNMENT, f"{a.label()} grants {op}")
            for a, _, v in grant_values
            if v is True
        ]
        return Verdict(decision=Decision.ALLOWED, reasons=tuple(reasons), witness=witness_of(request))
    reasons = [
        assignment_reason(a, ReasonKind.UNSUPPORTED, f"{a.label()}: {_unknown_detail(a, blocks)}")
        for a, blocks, v in grant_values
        if v is None
    ]
    reasons += [
        assignment_reason(a, ReasonKind.MISSING, f"role definition ID {a.role_id} not in the snapshot ({a.label()})")
        for a in compiled.missing_roles
    ]
    reasons += [
        deny_reason(d, ReasonKind.UNSUPPORTED, f"deny assignment {d.name}: {_deny_detail(d)}")
        for d, v in deny_values
        if v is None
    ]
    return Verdict(decision=Decision.UNKNOWN, reasons=tuple(reasons))


def _deny_detail(d: DenyAssignment) -> str:
    return "; ".join(unknown_reasons(d.condition)) if d.condition is not None else "undecided"


def decide(request: Request, applicable: Applicable) -> Verdict:
    """Decide one concrete request (its attributes as given; a missing attribute is absent)."""
    return decide_compiled(request, compile_request(request, applicable))
