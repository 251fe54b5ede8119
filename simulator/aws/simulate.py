"""Decide simulate cases with either engine.

Answers: ``allowed`` (with a witness request), ``explicit_deny`` / ``implicit_deny`` (proven), or
``unknown`` (with the reason). With ``any_context`` the context keys a case does not give are
free: ``allowed`` means some context allows the request (the witness gives one), a deny means no
context does (``explicit_deny`` when every context is explicitly denied).

The smt engine's answer is always checked by the reference evaluator: an allowed witness is
replayed, and with a closed context the reference must reach the same decision. A disagreement is
an encoding bug; it is reported as ``unknown`` with reason ``internal`` (never as an answer), and
counted in :data:`DISAGREEMENTS` so tests catch it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import z3

from simulator.aws import reference
from simulator.aws.catalog import EMPTY, load_catalog
from simulator.aws.encode import Question, Z3Matcher, Z3Session, decode_context
from simulator.aws.request import Case, Request, facts_for
from simulator.aws.semantics import PolicySet, RequestFacts, evaluate

DEFAULT_TIMEOUT_MS = 10_000
DISAGREEMENTS: list[dict[str, Any]] = []


@dataclass
class Answer:
    id: Any
    decision: str
    reasons: list[dict[str, Any]] = field(default_factory=list)
    witness: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "decision": self.decision, "reasons": self.reasons}
        if self.witness is not None:
            out["witness"] = self.witness
        return out


def witness_of(request: Request) -> dict[str, Any]:
    context = {k: (list(v) if len(v) != 1 else v[0]) for k, v in sorted(request.context.items())}
    return {
        "principal": request.principal.arn,
        "action": request.action,
        "resource": request.resource,
        "context": context,
    }


def decide_reference(case: Case, *, any_context: bool = False) -> Answer:
    """The reference evaluator. It decides one concrete request; with ``any_context`` it cannot
    range over contexts, so any answer that a free key could change is unknown."""
    decision = reference.decide(case.request, case.policies)
    if any_context and decision.decision != "unknown" and _mentions_absent_keys(case):
        return Answer(
            case.id,
            "unknown",
            [
                {
                    "kind": "engine",
                    "detail": "the reference engine decides one context; use --engine smt with --any-context",
                }
            ],
        )
    witness = witness_of(case.request) if decision.decision == "allowed" else None
    return Answer(case.id, decision.decision, decision.reasons, witness)


def _mentions_absent_keys(case: Case) -> bool:
    from simulator.aws.encode import key_usage

    keys = set(key_usage(case.policies.documents()))
    return bool(keys - set(case.request.context))


def decide_smt(
    case: Case,
    *,
    any_context: bool = False,
    timeout_ms: int = DEFAULT_TIMEOUT_MS,
    facts: RequestFacts | None = None,
    session: Z3Session | None = None,
) -> Answer:
    request, policies = case.request, case.policies
    facts = facts or facts_for(request, policies)
    q = Question(
        load_catalog() if any_context else EMPTY,  # a closed, concrete request needs no catalog
        policies.documents(),
        action=request.action,
        resource=request.resource,
        principal=request.principal,
        context=request.context,
        free_context=any_context,
        timeout_ms=timeout_ms,
        session=session,
    )
    m = Z3Matcher(q)
    lo = evaluate(policies, facts, m, "lo")
    hi = evaluate(policies, facts, m, "hi")
    unsupported = sorted(set(m.unsupported))

    def check(*constraints: Any) -> tuple[z3.CheckSatResult, Any]:
        solver = z3.Solver(ctx=q.ctx)
        solver.set("timeout", timeout_ms)
        solver.add(*q.domain, *constraints)
        result = solver.check()
        return result, (solver.model() if result == z3.sat else solver.reason_unknown())

    result, model = check(lo.allowed)
    if result == z3.sat:
        context = dict(request.context)
        for key, value in decode_context(q, model).items():
            context.setdefault(key, tuple(value) if isinstance(value, list) else (value,))
        witness_request = replace(request, context=context)
        return _confirm_allowed(case, witness_request, policies, facts)
    if result == z3.unknown:
        return _unknown(case, f"solver: {model}")
    result, _ = check(hi.allowed)
    if result != z3.unsat:
        reason = "solver: " + str(_) if result == z3.unknown else "depends on: " + "; ".join(unsupported)
        return _unknown(case, reason)
    always_explicit, _ = check(z3.Not(hi.explicit_deny))
    if always_explicit == z3.unsat:
        return _confirm_denied(case, "explicit_deny", any_context)
    some_implicit, _ = check(z3.Not(lo.explicit_deny))
    if some_implicit == z3.sat:
        return _confirm_denied(case, "implicit_deny", any_context)
    if some_implicit == z3.unknown or always_explicit == z3.unknown:
        return _unknown(case, "solver: " + str(_))
    return _unknown(case, "depends on: " + "; ".join(unsupported))


def _unknown(case: Case, reason: str) -> Answer:
    return Answer(case.id, "unknown", [{"kind": "unknown", "detail": reason}])


def _confirm_allowed(case: Case, witness: Request, policies: PolicySet, facts: RequestFacts) -> Answer:
    replay = reference.decide(witness, policies, facts)
    if replay.decision != "allowed":
        return _disagree(case, "allowed", replay.decision, witness_of(witness))
    return Answer(case.id, "allowed", replay.reasons, witness_of(witness))


def _confirm_denied(case: Case, decision: str, any_context: bool) -> Answer:
    replay = reference.decide(case.request, case.policies)
    if replay.decision == "allowed" or (not any_context and replay.decision not in (decision, "unknown")):
        return _disagree(case, decision, replay.decision, witness_of(case.request))
    reasons = (
        replay.reasons if replay.decision == decision else [{"kind": decision, "detail": "proven for every context"}]
    )
    return Answer(case.id, decision, reasons)


def _disagree(case: Case, smt: str, ref: str, request: dict[str, Any]) -> Answer:
    DISAGREEMENTS.append({"id": case.id, "smt": smt, "reference": ref, "request": request})
    return Answer(
        case.id,
        "unknown",
        [{"kind": "internal", "detail": f"the encoding said {smt} but the reference evaluator says {ref}: a bug"}],
    )


def decide(
    case: Case,
    *,
    engine: str = "smt",
    any_context: bool = False,
    timeout_ms: int = DEFAULT_TIMEOUT_MS,
    session: Z3Session | None = None,
) -> Answer:
    """Decide one case. Pass one ``session`` to a batch of calls to reuse its z3 context."""
    if engine == "reference":
        return decide_reference(case, any_context=any_context)
    if engine != "smt":
        raise ValueError(f"unknown engine {engine!r} (smt or reference)")
    return decide_smt(case, any_context=any_context, timeout_ms=timeout_ms, session=session)
