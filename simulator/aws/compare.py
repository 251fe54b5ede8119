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

Deadline: the whole comparison (encoding, both directions, every solver check and resource
search) shares one budget of ``timeout_ms``; each check gets what remains. Work the budget does
not cover ends as ``unknown`` with the reason "deadline". A policy larger than AWS accepts is still
compared, with a warning (``warnings``).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import z3

from simulator.aws import reference
from simulator.aws.catalog import load_catalog
from simulator.aws.policy import PolicyDocument, size_warning
from simulator.aws.question import DeadlineExceeded, Question
from simulator.aws.request import Request, classify_principal
from simulator.aws.semantics import RESOURCE_SIDE_REQUIRED_ACTIONS, policy_allows
from simulator.aws.statement_matcher import Z3Matcher
from simulator.aws.values import Pattern
from simulator.aws.witness_decoding import decode_action, decode_context, variable_value
from simulator.aws.z3_session import Z3Session
from simulator.core.z3text import is_printable, string_value

TYPES = ("identity", "resource", "trust")
TRUST_ACTIONS = tuple(sorted(RESOURCE_SIDE_REQUIRED_ACTIONS))  # the role-assumption actions
MAX_WITNESSES = 5
#: Candidate values tried per witness for keys that resource patterns use as variables.
MAX_REALIZATIONS = 64
DEFAULT_TIMEOUT_MS = 10_000
WITNESS_PRINCIPAL = "arn:aws:iam::111122223333:role/iamdrift-witness"


@dataclass
class Comparison:
    relation: str
    gained: list[dict[str, Any]] = field(default_factory=list)
    lost: list[dict[str, Any]] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    unknown_actions: list[str] = field(default_factory=list)
    #: Things the user should know that do not change the answer (a policy past AWS's size limits).
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"relation": self.relation, "gained": self.gained, "lost": self.lost}
        if self.reasons:
            out["reasons"] = self.reasons
        if self.warnings:
            out["warnings"] = self.warnings
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
    """Relation of ``new`` to ``old`` within ``timeout_ms`` in all (see the module docstring). Pass
    one ``session`` to a batch of calls to reuse its z3 context."""
    if kind not in TYPES:
        raise ValueError(f"unknown policy type {kind!r} (identity, resource or trust)")
    deadline = Deadline(time.monotonic() + timeout_ms / 1000)
    warnings = [w for w in (size_warning(old, kind), size_warning(new, kind)) if w]
    try:
        return _compare(old, new, kind, timeout_ms, session, deadline, warnings)
    except DeadlineExceeded as exc:
        return Comparison(relation="unknown", reasons=[f"deadline: {exc}"], warnings=warnings)


def _compare(
    old: PolicyDocument,
    new: PolicyDocument,
    kind: str,
    timeout_ms: int,
    session: Z3Session | None,
    deadline: Deadline,
    warnings: list[str],
) -> Comparison:
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
        deadline=deadline.at,
    )
    m = Z3Matcher(q)
    bounds = {
        (name, bound): policy_allows(doc, m, with_principal=with_principal, bound=bound)
        for name, doc in (("old", old), ("new", new))
        for bound in ("lo", "hi")
    }
    result = Comparison(relation="equivalent", unknown_actions=list(q.unknown_actions), warnings=warnings)
    directions = {"gained": ("new", "old"), "lost": ("old", "new")}
    found: dict[str, str] = {}
    lazy = {id(c) for _, c in q.text_domain}
    solver = _Solver(q.ctx, [d for d in q.domain if id(d) not in lazy], q.text_domain)
    for direction, (yes, no) in directions.items():
        possible = z3.And(bounds[(yes, "hi")], z3.Not(bounds[(no, "lo")]), q.ctx)
        definite = z3.And(bounds[(yes, "lo")], z3.Not(bounds[(no, "hi")]), q.ctx)
        exact = not m.unsupported
        solver.push()  # each direction's constraints and blocked choices are its own
        status, witnesses, reason = _witnesses(
            q, solver, possible, definite, deadline, kind, old, new, direction, exact
        )
        solver.pop()
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


@dataclass(frozen=True)
class Deadline:
    """The monotonic time by which a comparison must end."""

    at: float

    def remaining_ms(self) -> int:
        return int((self.at - time.monotonic()) * 1000)


class _Solver:
    """The z3 solver of one direction's witness search, with the printable-text constraints of
    free context values (``lazy``) left out until a model breaks one of them.

    Those constraints (a regex membership per free string) are most of z3's work on the string
    constraints here, and most models keep them anyway: a model that keeps them all is a model of
    the whole set, and "unsat" without them is "unsat" with them, so adding them only when a model
    breaks one changes no answer.
    """

    def __init__(self, ctx: Any, constraints: list[Any], lazy: list[tuple[Any, Any]]) -> None:
        self._solver = z3.Solver(ctx=ctx)
        self._solver.add(*constraints)
        self.lazy = list(lazy)
        self._depth = 0

    def add(self, *constraints: Any) -> None:
        self._solver.add(*constraints)

    def push(self) -> None:
        self._solver.push()
        self._depth += 1

    def pop(self) -> None:
        self._solver.pop()
        self._depth -= 1

    def check(self, deadline: Deadline) -> Any:
        """Satisfiability within what remains of the deadline (``z3.unknown`` when nothing does)."""
        while True:
            remaining = deadline.remaining_ms()
            if remaining <= 0:
                return z3.unknown
            self._solver.set("timeout", remaining)
            status = self._solver.check()
            if status != z3.sat or not self.lazy:
                return status
            model = self._solver.model()
            broken = [c for text, c in self.lazy if not is_printable(string_value(model.eval(text, True)))]
            if not broken:
                return status
            self._solver.add(*broken)
            if self._depth == 0:  # kept for good; inside a push, a pop drops them, so they stay lazy
                ids = {id(c) for c in broken}
                self.lazy = [(text, c) for text, c in self.lazy if id(c) not in ids]

    def model(self) -> Any:
        return self._solver.model()

    def reason_unknown(self) -> str:
        return str(self._solver.reason_unknown())


def _check(solver: _Solver, deadline: Deadline) -> Any:
    """``solver.check()`` within what remains of the deadline (``z3.unknown`` when nothing does)."""
    return solver.check(deadline)


def _unknown_reason(solver: _Solver, deadline: Deadline) -> str:
    if deadline.remaining_ms() <= 0:
        return "deadline: the comparison's time budget ran out"
    return f"solver: {solver.reason_unknown()}"


def _witnesses(
    q: Question,
    solver: _Solver,
    possible: Any,
    definite: Any,
    deadline: Deadline,
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
    ``solver`` holds the question's domain; what this adds stays until the caller pops it.
    """
    if not exact:
        solver.push()
        solver.add(possible)
        first = _check(solver, deadline)
        solver.pop()
        if first == z3.unsat:
            return "none", [], ""
        if first == z3.unknown:
            return "unknown", [], _unknown_reason(solver, deadline)
    solver.add(definite)
    witnesses: list[dict[str, Any]] = []
    outcomes: dict[str, int] = {}
    while len(witnesses) < MAX_WITNESSES:
        status = _check(solver, deadline)
        if status == z3.unknown:
            if witnesses:
                break
            return "unknown", [], _unknown_reason(solver, deadline)
        if status == z3.unsat:
            break
        outcome, witness = _candidate(q, solver, solver.model(), kind, (old, new, direction), deadline)
        if outcome == "bug":
            return "unknown", [], "internal: a witness failed replay through the reference evaluator (a bug)"
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        if witness is not None:
            witnesses.append(witness)
    unrealized, inconclusive = outcomes.get("unrealized", 0), outcomes.get("unsettled", 0)
    if witnesses:
        return "some", witnesses, ""
    if unrealized:
        return (
            "unknown",
            [],
            (
                f"policy variables: {unrealized} candidate requests needed values of a variable used in several "
                "places that no value tried gives"
            ),
        )
    if inconclusive:
        cause = "deadline" if deadline.remaining_ms() <= 0 else "solver"
        return "unknown", [], f"{cause}: timeout looking for a well-typed resource ({inconclusive} action classes)"
    if exact:
        return "none", [], ""
    return "unknown", [], "depends on an unsupported construct"


def _candidate(
    q: Question,
    solver: _Solver,
    untyped: Any,
    kind: str,
    replay: tuple[PolicyDocument, PolicyDocument, str],
    deadline: Deadline,
) -> tuple[str, dict[str, Any] | None]:
    """Turn one model into a witness: ("witness", w), or the model's choice blocked in ``solver``
    and why — "empty" (no typed resource: settled), "unsettled" (a resource search timed out),
    "unrealized" (no value of a repeated variable tried gives the model's pattern hits) — or
    "bug" (an exact encoding's witness failed replay)."""
    old, new, direction = replay
    chosen = untyped.eval(q.action_var, model_completion=True)
    if q.cells is None:
        hint = untyped.eval(q.resource, model_completion=True).as_string()
        model, settled = _typed_model(q, solver, chosen.as_long(), hint, deadline)
        if model is None:
            solver.add(q.action_var != chosen)  # no resource of a type this class takes
            return ("empty" if settled else "unsettled"), None
        witness = _decode(q, model, kind)
        solver.add(q.action_var != chosen)
        return ("witness", witness) if _replays(witness, kind, old, new, direction) else ("bug", None)
    # Cells: the model fixes a cell; a typed resource in it is a pure regex question.
    cell = untyped.eval(q.resource_cell, model_completion=True)
    resource, settled = q.typed_resource(chosen.as_long(), cell.as_long())
    if resource is None:
        solver.add(z3.Not(z3.And(q.action_var == chosen, q.resource_cell == cell, q.ctx)))
        return ("empty" if settled else "unsettled"), None
    witness = _decode(q, untyped, kind, resource)
    if not q.var_patterns:
        solver.add(q.action_var != chosen)
        return ("witness", witness) if _replays(witness, kind, old, new, direction) else ("bug", None)
    realized = next((w for w in _realizations(q, untyped, witness) if _replays(w, kind, old, new, direction)), None)
    if realized is None:
        # The abstraction of repeated variables let the solver choose pattern hits that no value
        # tried gives: block this choice; "none" is then no proof.
        hits = [hit == untyped.eval(hit, model_completion=True) for _, hit in q.var_patterns.values()]
        solver.add(z3.Not(z3.And(q.action_var == chosen, q.resource_cell == cell, *hits, q.ctx)))
        return "unrealized", None
    solver.add(q.action_var != chosen)
    return "witness", realized


def _typed_model(q: Question, solver: _Solver, index: int, hint: str, deadline: Deadline) -> tuple[Any, bool]:
    """(a model of the solver's constraints with action class ``index`` and a well-typed
    resource, or None; whether that answer is settled — False when a check timed out)."""
    settled = True
    for shape in q.resource_shapes(index, hint):
        solver.push()
        solver.add(q.action_var == index, shape)
        status = _check(solver, deadline)
        model = solver.model() if status == z3.sat else None
        solver.pop()
        if model is not None:
            return model, True
        settled = settled and status == z3.unsat
    return None, settled


def _realizations(q: Question, model: Any, witness: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Witnesses that differ from ``witness`` only in the values of keys that resource patterns
    use as variables: the model's own value, the substring each pattern the model says holds
    covers in the resource, and a value no pattern can take (at most :data:`MAX_REALIZATIONS`)."""
    resource = witness["resource"]
    context = witness["context"]
    options: list[tuple[str, list[Any]]] = []
    uses: dict[str, list[tuple[Pattern, bool]]] = {}
    for pattern, (key, hit) in q.var_patterns.items():
        uses.setdefault(key, []).append((pattern, z3.is_true(model.eval(hit, model_completion=True))))
    for key, patterns in uses.items():
        current = context.get(key)
        if current is None:
            continue  # absent: every variable of the key reads its default (or the statement is invalid)
        values = [current[0] if isinstance(current, list) else current]
        values += [variable_value(p, resource, True) for p, held in patterns if held]
        values.append(variable_value(patterns[0][0], resource, False))
        wrap = isinstance(current, list)
        options.append((key, [[v] if wrap else v for v in dict.fromkeys(values)]))
    for combination in itertools.islice(itertools.product(*(values for _, values in options)), MAX_REALIZATIONS):
        realized = dict(context)
        for (key, _), value in zip(options, combination, strict=True):
            realized[key] = value
        yield {**witness, "context": realized}


def _decode(q: Question, model: Any, kind: str, resource: str | None = None) -> dict[str, Any]:
    if resource is None:
        resource = model.eval(q.resource, model_completion=True).as_string()
    action, unknown = decode_action(q, model, resource)
    context = decode_context(q, model)
    witness: dict[str, Any] = {"action": action, "resource": resource, "context": context}
    if kind != "identity":
        index = model.eval(q.principal_var, model_completion=True).as_long()
        witness["principal"] = q.principal_candidates[index].arn
    if unknown:
        witness["unknown_action"] = True
    return witness


def _replays(witness: dict[str, Any], kind: str, old: PolicyDocument, new: PolicyDocument, direction: str) -> bool:
    """The reference evaluator confirms the witness. (With an exact encoding a failure is a bug:
    the caller answers unknown with an "internal" reason.)"""
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
    return (
        (new_allows is True and old_allows is False)
        if direction == "gained"
        else (old_allows is True and new_allows is False)
    )
