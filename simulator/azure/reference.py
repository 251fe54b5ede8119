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

from typing import Any

from simulator.aws.simulate import Answer
from simulator.azure.abac import Facts, K, evaluate, kleene_and, kleene_or, unknown_reasons
from simulator.azure.rbac import Applicable, Compiled, DenyAssignment, Request, RoleAssignment, compile_request


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


def witness_of(request: Request) -> dict[str, Any]:
    context = {k: (v[0] if len(v) == 1 else list(v)) for k, v in sorted(request.attributes.items())}
    out: dict[str, Any] = {
        "principal": request.principal,
        "action": request.operation,
        "data_action": request.data_action,
        "resource": request.resource,
        "context": context,
    }
    if request.sub_operation:
        out["sub_operation"] = request.sub_operation
    return out


def _assignment_reason(a: RoleAssignment, kind: str, detail: str) -> dict[str, Any]:
    return {"kind": kind, "policy": a.id, "role": a.role_name or a.role_id, "scope": a.scope, "detail": detail}


def _deny_reason(d: DenyAssignment, kind: str, detail: str) -> dict[str, Any]:
    return {"kind": kind, "policy": d.id, "scope": d.scope, "detail": detail}


def _unknown_detail(a: RoleAssignment, blocks: tuple[Any, ...]) -> str:
    reasons = [r for b in blocks if b.condition is not None for r in unknown_reasons(b.condition)]
    if a.condition is not None:
        reasons += unknown_reasons(a.condition)
    return "; ".join(dict.fromkeys(reasons)) or "condition undecided"


def decide_compiled(request: Request, compiled: Compiled) -> Answer:
    facts = facts_of(request)
    op = request.operation
    deny_values = [(d, deny_value(d, facts)) for d in compiled.denies]
    grant_values = [(a, blocks, grant_value(a, blocks, facts)) for a, blocks in compiled.grants]
    denied = kleene_or(v for _, v in deny_values)
    granted = kleene_or([*(v for _, _, v in grant_values), *(None for _ in compiled.missing_roles)])
    reasons: list[dict[str, Any]]
    if denied is True:
        reasons = [
            _deny_reason(d, "deny_assignment", f"deny assignment {d.name} at {d.scope} denies {op}")
            for d, v in deny_values
            if v is True
        ]
        return Answer(None, "explicit_deny", reasons)
    if granted is False:
        reasons = [
            _assignment_reason(a, "condition", f"the condition of {a.label()} does not hold for this request")
            for a, _, v in grant_values
        ]
        if not grant_values:
            reasons.append(
                {
                    "kind": "no_allow",
                    "detail": f"no role assignment for the principal or its groups at the resource's scopes grants {op}"
                    f" ({compiled.considered} assignments apply to it there)",
                }
            )
        reasons += [
            _deny_reason(d, "deny_assignment", f"deny assignment {d.name} might apply: {_deny_detail(d)}")
            for d, v in deny_values
            if v is None
        ]
        return Answer(None, "implicit_deny", reasons)
    if granted is True and denied is False:
        reasons = [
            _assignment_reason(a, "assignment", f"{a.label()} grants {op}") for a, _, v in grant_values if v is True
        ]
        return Answer(None, "allowed", reasons, witness_of(request))
    reasons = [
        _assignment_reason(a, "unsupported", f"{a.label()}: {_unknown_detail(a, blocks)}")
        for a, blocks, v in grant_values
        if v is None
    ]
    reasons += [
        _assignment_reason(a, "missing_role", f"role definition ID {a.role_id} not in the snapshot ({a.label()})")
        for a in compiled.missing_roles
    ]
    reasons += [
        _deny_reason(d, "unsupported", f"deny assignment {d.name}: {_deny_detail(d)}")
        for d, v in deny_values
        if v is None
    ]
    return Answer(None, "unknown", reasons)


def _deny_detail(d: DenyAssignment) -> str:
    return "; ".join(unknown_reasons(d.condition)) if d.condition is not None else "undecided"


def decide(request: Request, applicable: Applicable) -> Answer:
    """Decide one concrete request (its attributes as given; a missing attribute is absent)."""
    return decide_compiled(request, compile_request(request, applicable))
