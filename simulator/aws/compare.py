"""Compare two policies: the relation of NEW to OLD over every request.

``gained``: requests NEW allows and OLD does not; ``lost``: the reverse. Relation: ``equivalent``
(neither), ``more`` (only gained), ``less`` (only lost), ``incomparable`` (both), or ``unknown``
(a solver timeout, or an unsupported construct that the answer depends on: the reason says
which). Requests range over real actions (the catalog, plus actions the policies name that the
catalog lacks, which are reported), resources of a type the action takes, every context, and
for resource and trust policies every principal. Each witness is replayed through the reference
evaluator before it is returned.

Types: ``identity`` (no Principal element), ``resource`` (the Principal element decides who),
``trust`` (a role trust policy: actions are the ``sts`` role-assumption actions).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import z3

from simulator.aws import reference
from simulator.aws.catalog import load_catalog
from simulator.aws.encode import Question, Z3Matcher, Z3Session, decode_action, decode_context, variable_value
from simulator.aws.policy import PolicyDocument
from simulator.aws.request import Request, classify_principal
from simulator.aws.semantics import RESOURCE_SIDE_REQUIRED_ACTIONS, policy_allows

TYPES = ("identity", "resource", "trust")
TRUST_ACTIONS = tuple(sorted(RESOURCE_SIDE_REQUIRED_ACTIONS))  # the role-assumption actions
MAX_WITNESSES = 5
DEFAULT_TIMEOUT_MS = 10_000
WITNESS_PRINCIPAL = "arn:aws:iam::111122223333:role/iamdrift-witness"
DISAGREEMENTS: list[dict[str, Any]] = []


@dataclass
class Comparison:
    relation: str
    gained: list[dict[str, Any]] = field(default_factory=list)
    lost: list[dict[str, Any]] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    unknown_actions: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"relation": self.relation, "gained": self.gained, "lost": self.lost}
        if self.reasons:
            out["reasons"] = self.reasons
        if self.unknown_actions:
            out["unknown_actions"] = self.unknown_actions
        return out


def compare(
    old: PolicyDocument,
    new: PolicyDocument,
    *,
    kind: str = "identity",
    timeout_ms: int = DEFAULT_TIMEOUT_MS,
    session: Z3Session | None = None,
) -> Comparison:
    """Relation of ``new`` to ``old``. Pass one ``session`` to a batch of calls to reuse its z3 context."""
    if kind not in TYPES:
        raise ValueError(f"unknown policy type {kind!r} (identity, resource or trust)")
    with_principal = kind != "identity"
    q = Question(
        load_catalog(),
        [old, new],
        action=None,
        resource=None,
        principal=None,
        context={},
        free_context=True,
        principal_free=with_principal,
        action_universe=TRUST_ACTIONS if kind == "trust" else None,
        timeout_ms=timeout_ms,
        session=session,
    )
    m = Z3Matcher(q)
    bounds = {
        (name, bound): policy_allows(doc, m, with_principal=with_principal, bound=bound)
        for name, doc in (("old", old), ("new", new))
        for bound in ("lo", "hi")
    }
    result = Comparison(relation="equivalent", unknown_actions=list(q.unknown_actions))
    directions = {"gained": ("new", "old"), "lost": ("old", "new")}
    found: dict[str, str] = {}
    for direction, (yes, no) in directions.items():
        possible = z3.And(bounds[(yes, "hi")], z3.Not(bounds[(no, "lo")]), q.ctx)
        definite = z3.And(bounds[(yes, "lo")], z3.Not(bounds[(no, "hi")]), q.ctx)
        exact = not m.unsupported
        status, witnesses, reason = _witnesses(q, possible, definite, timeout_ms, kind, old, new, direction, exact)
        found[direction] = status
        getattr(result, direction).extend(witnesses)
        if reason:
            result.reasons.append(f"{direction}: {reason}")
    if "unknown" in found.values():
        result.relation = "unknown"
        unsupported = sorted(set(m.unsupported))
        if unsupported:
            result.reasons.append("unsupported: " + "; ".join(unsupported))
    else:
        result.relation = {
            ("none", "none"): "equivalent",
            ("some", "none"): "more",
            ("none", "some"): "less",
            ("some", "some"): "incomparable",
        }[(found["gained"], found["lost"])]
    return result


def _witnesses(
    q: Question,
    possible: Any,
    definite: Any,
    timeout_ms: int,
    kind: str,
    old: PolicyDocument,
    new: PolicyDocument,
    direction: str,
    exact: bool,
) -> tuple[str, list[dict[str, Any]], str]:
    """("none" | "some" | "unknown", witnesses, reason).

    Two phases keep checks cheap: the solver first ignores resource types (a superset of the
    typed requests, so "unsat" there is a proof of none), then looks for a resource of a type
    the chosen action class accepts, one ARN format at a time. A class without a typed witness
    is blocked and the search goes on, so "none" is only said when every class is exhausted.
    ``exact``: no statement is unsupported, so ``possible`` and ``definite`` are the same.
    """
    solver = z3.Solver(ctx=q.ctx)
    solver.set("timeout", timeout_ms)
    solver.add(*q.domain)
    if not exact:
        solver.push()
        solver.add(possible)
        first = solver.check()
        solver.pop()
        if first == z3.unsat:
            return "none", [], ""
        if first == z3.unknown:
            return "unknown", [], f"solver: {solver.reason_unknown()}"
    solver.add(definite)
    witnesses: list[dict[str, Any]] = []
    inconclusive = 0
    while len(witnesses) < MAX_WITNESSES:
        status = solver.check()
        if status == z3.unknown:
            if witnesses:
                break
            return "unknown", [], f"solver: {solver.reason_unknown()}"
        if status == z3.unsat:
            break
        untyped = solver.model()
        chosen = untyped.eval(q.action_var, model_completion=True)
        if q.cells is not None:
            # Cells: the model fixes a cell; a typed resource in it is a pure regex question.
            cell = untyped.eval(q.resource_cell, model_completion=True)
            resource, settled = q.typed_resource(chosen.as_long(), cell.as_long())
            if resource is None:
                solver.add(z3.Not(z3.And(q.action_var == chosen, q.resource_cell == cell, q.ctx)))
                inconclusive += 0 if settled else 1
                continue
            witness = _decode(q, untyped, kind, resource)
        else:
            hint = untyped.eval(q.resource, model_completion=True).as_string()
            model, settled = _typed_model(q, solver, chosen.as_long(), hint)
            if model is None:
                solver.add(q.action_var != chosen)
                inconclusive += 0 if settled else 1
                continue  # no resource of a type this class takes: the class cannot be a witness
            witness = _decode(q, model, kind)
        solver.add(q.action_var != chosen)
        if not _replays(witness, kind, old, new, direction):
            return "unknown", [], "internal: a witness failed replay through the reference evaluator (a bug)"
        witnesses.append(witness)
    if witnesses:
        return "some", witnesses, ""
    if inconclusive:
        return "unknown", [], f"solver: timeout looking for a well-typed resource ({inconclusive} action classes)"
    if exact:
        return "none", [], ""
    return "unknown", [], "depends on an unsupported construct"


def _typed_model(q: Question, solver: Any, index: int, hint: str) -> tuple[Any, bool]:
    """(a model of the solver's constraints with action class ``index`` and a well-typed
    resource, or None; whether that answer is settled — False when a check timed out)."""
    settled = True
    for shape in q.resource_shapes(index, hint):
        solver.push()
        solver.add(q.action_var == index, shape)
        status = solver.check()
        model = solver.model() if status == z3.sat else None
        solver.pop()
        if model is not None:
            return model, True
        settled = settled and status == z3.unsat
    return None, settled


def _decode(q: Question, model: Any, kind: str, resource: str | None = None) -> dict[str, Any]:
    if resource is None:
        resource = model.eval(q.resource, model_completion=True).as_string()
    action, unknown = decode_action(q, model, resource)
    context = decode_context(q, model)
    for pattern, (key, hit) in q.var_patterns.items():
        if key in context:
            context[key] = variable_value(pattern, resource, z3.is_true(model.eval(hit, model_completion=True)))
    witness: dict[str, Any] = {"action": action, "resource": resource, "context": context}
    if kind != "identity":
        index = model.eval(q.principal_var, model_completion=True).as_long()
        witness["principal"] = q.principal_candidates[index].arn
    if unknown:
        witness["unknown_action"] = True
    return witness


def _replays(witness: dict[str, Any], kind: str, old: PolicyDocument, new: PolicyDocument, direction: str) -> bool:
    context = {k: tuple(v) if isinstance(v, list) else (v,) for k, v in witness["context"].items()}
    request = Request(
        principal=classify_principal(witness.get("principal", WITNESS_PRINCIPAL)),
        action=witness["action"],
        resource=witness["resource"],
        context=context,
    )
    matcher = reference.ReferenceMatcher(request)
    with_principal = kind != "identity"
    old_allows = policy_allows(old, matcher, with_principal=with_principal)
    new_allows = policy_allows(new, matcher, with_principal=with_principal)
    ok = (
        (new_allows is True and old_allows is False)
        if direction == "gained"
        else (old_allows is True and new_allows is False)
    )
    if not ok:
        DISAGREEMENTS.append({"direction": direction, "witness": witness, "old": old_allows, "new": new_allows})
    return ok
