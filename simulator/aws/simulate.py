"""Decide simulate cases with either engine.

Answers: ``allowed`` (with a witness request), ``explicit_deny`` / ``implicit_deny`` (proven), or
``unknown`` (with the reason). With ``any_context`` the context keys a case does not give are
free: ``allowed`` means some context allows the request (the witness gives one), a deny means no
context does (``explicit_deny`` when every context is explicitly denied).

The smt engine feeds the one proof ladder (:func:`simulator.core.prove`) with bounds from
:func:`simulator.aws.semantics.evaluate`, and its answer is always checked by the reference
evaluator: an allowed witness is replayed, and where the case's own request is one the question
ranges over, the reference must not contradict a deny. A disagreement is an encoding bug; it is
answered ``unknown`` with a reason of kind ``internal`` (never as an answer): callers and tests
look for that reason, nothing is recorded on the side.

:func:`decide_case` returns a typed :class:`Decided` (core decision and reasons, the witness
request); :func:`decide` returns the simulate contract's :class:`Answer` (JSON-ready dicts).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from simulator.aws import reference
from simulator.aws.catalog import EMPTY, load_catalog
from simulator.aws.context_keys import key_usage
from simulator.aws.question import Question
from simulator.aws.request import Case, Request, facts_for
from simulator.aws.semantics import RequestFacts, evaluate
from simulator.aws.statement_matcher import Z3Matcher
from simulator.aws.witness_decoding import decode_context
from simulator.aws.z3_session import Z3Session
from simulator.core import Bounds, Decision, Reason, ReasonKind, Rung, checker, prove

DEFAULT_TIMEOUT_MS = 10_000

#: Extra constraints on a question's variables (a free key's range), built once its keys exist.
Constrain = Callable[[Question], Sequence[Any]]


@dataclass(frozen=True, kw_only=True)
class Decided:
    """One case decided. ``witness``: for ``allowed``, the request the reference evaluator
    replayed and allowed (its context holds every key the decision read); None otherwise."""

    decision: Decision
    reasons: tuple[Reason, ...] = ()
    witness: Request | None = None

    def answer(self, case_id: Any) -> Answer:
        """The simulate contract's form of this decision."""
        witness = witness_of(self.witness) if self.witness is not None else None
        return Answer(case_id, self.decision.value, [r.to_json() for r in self.reasons], witness)


@dataclass
class Answer:
    """A simulate answer as JSON shows it: ``decision`` is a :class:`Decision` value, ``reasons``
    are :meth:`Reason.to_json` dicts, ``witness`` is :func:`witness_of` the witness request."""

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
    context = {k: (list(v) if len(v) != 1 else v[0]) for k, v in sorted(request.context.items()) if v}
    return {
        "principal": request.principal.arn,
        "action": request.action,
        "resource": request.resource,
        "context": context,
    }


def reasons_of(raw: Sequence[dict[str, Any]], default: ReasonKind = ReasonKind.UNKNOWN) -> tuple[Reason, ...]:
    """The reference evaluator's reason dicts as typed reasons."""
    return tuple(Reason.of(dict(r), default) for r in raw)


def decide_reference(case: Case, *, any_context: bool = False, free_keys: frozenset[str] = frozenset()) -> Decided:
    """The reference evaluator. It decides one concrete request; with ``any_context`` (or keys
    left free) it cannot range over contexts, so any answer that a free key could change is
    unknown."""
    decision = reference.decide(case.request, case.policies)
    mentioned = set(key_usage(case.policies.documents()))
    given = {k for k, v in case.request.context.items() if v}
    open_keys = (mentioned - given) if any_context else (mentioned & free_keys) - given
    if decision.decision != "unknown" and open_keys:
        detail = "the reference engine decides one context; use --engine smt with --any-context"
        return Decided(decision=Decision.UNKNOWN, reasons=(Reason(kind=ReasonKind.ENGINE, detail=detail),))
    kind = Decision(decision.decision)
    witness = case.request if kind is Decision.ALLOWED else None
    return Decided(decision=kind, reasons=reasons_of(decision.reasons), witness=witness)


def decide_smt(
    case: Case,
    *,
    any_context: bool = False,
    timeout_ms: int = DEFAULT_TIMEOUT_MS,
    facts: RequestFacts | None = None,
    session: Z3Session | None = None,
    free_keys: frozenset[str] = frozenset(),
    closed_keys: frozenset[str] = frozenset(),
    constrain: Constrain | None = None,
    deadline: float | None = None,
    free_resource: bool = False,
) -> Decided:
    """The z3 encoding through the proof ladder.

    Keys the case does not give are absent, except: with ``any_context`` every such key is free
    but those in ``closed_keys`` (keys the request cannot carry); ``free_keys`` are free even
    without it (a role session's ``aws:TokenIssueTime``). ``constrain`` bounds free keys (a
    session's issue time is before the request). Keys are lower-cased.

    ``free_resource``: the resource is free too (the case's resource only stands for it); its
    range is what ``constrain`` says (``can`` about any resource of an action's types). Allowed
    then names the resource in the witness, a deny holds for every resource in the range.
    """
    request, policies = case.request, case.policies
    facts = facts or facts_for(request, policies)
    documents = policies.documents()
    context = dict(request.context)
    used = key_usage(documents)
    if not any_context and not (free_keys & set(used)):
        # nothing reads the free keys: a closed question (a free resource keeps its range)
        free_keys, constrain = frozenset(), (constrain if free_resource else None)
    opened = any_context or bool(free_keys)
    if opened:
        for key in used:
            if key not in context and (key in closed_keys or (not any_context and key not in free_keys)):
                context[key] = ()  # given as absent: never free
    q = Question(
        load_catalog() if any_context or free_resource else EMPTY,  # a closed, concrete request needs no catalog
        documents,
        action=request.action,
        resource=None if free_resource else request.resource,
        principal=request.principal,
        context=context,
        free_context=opened,
        timeout_ms=timeout_ms,
        session=session,
        resource_cells=not free_resource,
    )
    m = Z3Matcher(q)
    lo = evaluate(policies, facts, m, "lo")
    hi = evaluate(policies, facts, m, "hi")
    extra = list(constrain(q)) if constrain is not None else []
    check = checker(q.ctx, [*q.domain, *extra], timeout_ms, deadline=deadline)
    # "lo" reads undecided Allows as not matching and undecided Denies as matching, so its
    # allowed is the sure one and its explicit deny the possible one; "hi" the opposite.
    proof = prove(
        check,
        Bounds(
            allowed_surely=lo.allowed,
            allowed_possibly=hi.allowed,
            explicit_surely=hi.explicit_deny,
            explicit_possibly=lo.explicit_deny,
        ),
    )
    if proof.rung is Rung.ALLOWED:
        witness_context = {k: v for k, v in request.context.items() if v}
        for key, value in decode_context(q, proof.model).items():
            if key not in witness_context:
                witness_context[key] = tuple(value) if isinstance(value, list) else (value,)
        witness = replace(request, context=witness_context)
        if free_resource:
            witness = replace(witness, resource=proof.model.eval(q.resource, model_completion=True).as_string())
        return _confirm_allowed(case, witness, facts)
    if proof.rung is Rung.SOLVER:
        return _unknown(ReasonKind.SOLVER, f"solver: {proof.detail}")
    if proof.rung is Rung.UNDECIDED:
        unsupported = sorted(set(m.unsupported))
        return _unknown(ReasonKind.UNSUPPORTED, "depends on: " + ("; ".join(unsupported) or proof.detail))
    decision = Decision.EXPLICIT_DENY if proof.rung is Rung.EXPLICIT_DENY else Decision.IMPLICIT_DENY
    # The case's own request is one the question ranges over unless a constraint forces a free
    # key present (then that request is outside the question and proves nothing either way).
    own_request_asked = constrain is None and not free_resource
    return _confirm_denied(case, decision, exact=not opened, own_request_asked=own_request_asked, detail=proof.detail)


def _unknown(kind: ReasonKind, detail: str) -> Decided:
    return Decided(decision=Decision.UNKNOWN, reasons=(Reason(kind=kind, detail=detail),))


def _confirm_allowed(case: Case, witness: Request, facts: RequestFacts) -> Decided:
    replay = reference.decide(witness, case.policies, facts)
    if replay.decision != "allowed":
        return _disagree("allowed", replay.decision, witness)
    return Decided(decision=Decision.ALLOWED, reasons=reasons_of(replay.reasons), witness=witness)


def _confirm_denied(case: Case, decision: Decision, *, exact: bool, own_request_asked: bool, detail: str) -> Decided:
    replay = reference.decide(case.request, case.policies)
    if own_request_asked and (
        replay.decision == "allowed" or (exact and replay.decision not in (decision.value, "unknown"))
    ):
        return _disagree(decision.value, replay.decision, case.request)
    if replay.decision == decision.value:
        reasons = reasons_of(replay.reasons)
    else:
        reasons = (Reason(kind=ReasonKind.PROVEN, detail=detail or "proven for every context"),)
    return Decided(decision=decision, reasons=reasons)


def _disagree(smt: str, ref: str, request: Request) -> Decided:
    detail = f"the encoding said {smt} but the reference evaluator says {ref} for {witness_of(request)}: a bug"
    return _unknown(ReasonKind.INTERNAL, detail)


def decide_case(
    case: Case,
    *,
    engine: str = "smt",
    any_context: bool = False,
    timeout_ms: int = DEFAULT_TIMEOUT_MS,
    session: Z3Session | None = None,
) -> Decided:
    """Decide one case with ``engine`` (smt or reference)."""
    if engine == "reference":
        return decide_reference(case, any_context=any_context)
    if engine != "smt":
        raise ValueError(f"unknown engine {engine!r} (smt or reference)")
    return decide_smt(case, any_context=any_context, timeout_ms=timeout_ms, session=session)


def decide(
    case: Case,
    *,
    engine: str = "smt",
    any_context: bool = False,
    timeout_ms: int = DEFAULT_TIMEOUT_MS,
    session: Z3Session | None = None,
) -> Answer:
    """Decide one case (the ``simulate`` command). Pass one ``session`` to a batch of calls to
    reuse its z3 context."""
    decided = decide_case(case, engine=engine, any_context=any_context, timeout_ms=timeout_ms, session=session)
    return decided.answer(case.id)
