"""The z3 encoding of Google Cloud IAM decisions, with the request's attributes free.

The principal, the permission and the resource's ancestry are fixed, so
:func:`simulator.gcp.reference.prepare` decides every member, role and permission test once; what
is left are the CEL conditions, encoded here over:

- ``request.time``: an integer, microseconds since the epoch, in [1970-01-01, 9999-12-31]; fixed
  to the request's time unless ``any_time``;
- ``resource.name``: the request's concrete name, or with ``name_prefix`` a z3 string that starts
  with the prefix (``startsWith`` / ``endsWith`` / ``==`` are encoded; ``extract`` over a free
  name is not, and reads as unknown);
- ``resource.type`` / ``resource.service``: concrete (or unknown when not given).

Each condition is a pair (lo, hi) of z3 booleans: lo "certainly true", hi "possibly true" — the
exact image of the reference evaluator's strong Kleene logic (an unsupported construct is
(false, true)). With allow/deny the disjunctions over grants and deny rules, the bounds of the
core proof ladder (:mod:`simulator.core.prove`) are

- ``allowed_surely`` = allow.lo and not deny.hi; ``allowed_possibly`` = allow.hi and not deny.lo;
- ``explicit_surely`` = deny.lo; ``explicit_possibly`` = deny.hi.

Every answer is checked by the reference evaluator: an allowed witness is replayed; with the time
fixed the reference must reach the same decision; a deny for every time must not be allowed at the
request's own time. A disagreement is a bug, answered ``unknown`` with a reason of kind
``internal`` (nothing is kept between calls).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import z3

from simulator.core import Bounds, Checker, Decision, Reason, ReasonKind, Rung, checker, prove
from simulator.gcp import cel
from simulator.gcp.reference import (
    DenyCase,
    Outcome,
    PolicySet,
    Prepared,
    Request,
    condition_notes,
    doubt,
    evaluate_prepared,
    prepare,
)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_MICROS = 253402300799999999  # 9999-12-31T23:59:59.999999Z
DEFAULT_TIMEOUT_MS = 10_000


def to_micros(at: datetime) -> int:
    delta = at.astimezone(UTC) - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(micros: int) -> datetime:
    return EPOCH + timedelta(microseconds=micros)


class _Encoder:
    """Encodes conditions over one request's variables (see the module docstring)."""

    def __init__(self, request: Request, name_prefix: str | None) -> None:
        self.ctx = z3.Context()
        self.request = request
        self.time = z3.Int("request.time", self.ctx)
        self.name: z3.SeqRef | None = z3.String("resource.name", self.ctx) if name_prefix is not None else None
        self.name_prefix = name_prefix
        self.true = z3.BoolVal(True, self.ctx)
        self.false = z3.BoolVal(False, self.ctx)

    def domain(self) -> list[z3.BoolRef]:
        out = [self.time >= 0, self.time <= MAX_MICROS]
        if self.name is not None:
            out.append(z3.PrefixOf(z3.StringVal(self.name_prefix or "", self.ctx), self.name))
        return out

    def const(self, value: bool | None) -> tuple[z3.BoolRef, z3.BoolRef]:
        if value is None:
            return self.false, self.true
        return (self.true, self.true) if value else (self.false, self.false)

    def cond(self, cond: cel.Cond) -> tuple[z3.BoolRef, z3.BoolRef]:
        if isinstance(cond, cel.Const):
            return self.const(cond.value)
        if isinstance(cond, cel.Opaque):
            return self.false, self.true
        if isinstance(cond, cel.TimeCmp):
            at = to_micros(cond.at)
            t = self.time
            x = {"<": t < at, "<=": t <= at, ">": t > at, ">=": t >= at, "==": t == at, "!=": t != at}[cond.op]
            return x, x
        if isinstance(cond, cel.StrEq | cel.StrCall):
            return self.string(cond)
        if isinstance(cond, cel.Not):
            lo, hi = self.cond(cond.item)
            return z3.Not(hi), z3.Not(lo)
        parts = [self.cond(item) for item in cond.items]
        los, his = [p[0] for p in parts], [p[1] for p in parts]
        if isinstance(cond, cel.And):
            return z3.And(*los), z3.And(*his)
        return z3.Or(*los), z3.Or(*his)

    def string(self, cond: cel.StrEq | cel.StrCall) -> tuple[z3.BoolRef, z3.BoolRef]:
        on_name = (isinstance(cond, cel.StrCall) and cond.attr == "resource.name") or (
            isinstance(cond, cel.StrEq) and (isinstance(cond.term, cel.Extract) or cond.term.name == "resource.name")
        )
        if not on_name or self.name is None:
            return self.const(cel.evaluate(cond, self.request.env()))
        name = self.name
        if isinstance(cond, cel.StrCall):
            arg = z3.StringVal(cond.arg, self.ctx)
            x = z3.PrefixOf(arg, name) if cond.fn == "startsWith" else z3.SuffixOf(arg, name)
            return x, x
        if isinstance(cond.term, cel.Extract):
            return self.false, self.true
        eq = name == z3.StringVal(cond.value, self.ctx)
        x = z3.Not(eq) if cond.negated else eq
        return x, x


def _opaque_reasons(cond: cel.Cond | None, free_name: bool) -> list[str]:
    if cond is None:
        return []
    out: list[str] = []
    if isinstance(cond, cel.Opaque):
        out.append(cond.reason)
    elif isinstance(cond, cel.StrEq) and isinstance(cond.term, cel.Extract) and free_name:
        out.append("resource.name.extract() over a free resource name is not encoded")
    elif isinstance(cond, cel.Not):
        out += _opaque_reasons(cond.item, free_name)
    elif isinstance(cond, cel.And | cel.Or):
        for item in cond.items:
            out += _opaque_reasons(item, free_name)
    return out


@dataclass(frozen=True)
class Verdict:
    """What the solver found, independent of whose request it was: ``rung`` is where the proof
    ladder stopped (``detail`` says why for solver); an allowed verdict carries the witness time
    (microseconds) when the time was free and, with a free name, the witness name."""

    rung: Rung
    micros: int | None = None
    name: str | None = None
    detail: str = ""


def decide_smt(
    request: Request,
    policies: PolicySet,
    any_time: bool = False,
    *,
    name_prefix: str | None = None,
    timeout_ms: int = DEFAULT_TIMEOUT_MS,
    cache: dict[Any, Verdict] | None = None,
    always_solve: bool = False,
    deadline: float | None = None,
) -> Outcome:
    """Decide ``request`` with z3. ``any_time``: ``request.time`` is free (allowed = at some time,
    denied = at every time). ``name_prefix``: ``resource.name`` is free among names with that
    prefix. The answer is checked by the reference evaluator (see the module docstring).

    A question with nothing free (no condition reads a free attribute) is closed: every condition
    is a constant, and the reference evaluator's answer is the encoding's, so the solver is skipped
    unless ``always_solve``. ``cache`` (one dict for a batch of questions) reuses verdicts between
    principals whose grants and deny rules differ only in their members. ``deadline`` (a
    ``time.monotonic()`` instant) bounds the solver's checks."""
    if not any_time and request.time is None:
        raise ValueError("decide_smt: a request without a time needs any_time=True")
    prepared = prepare(request.principal, request.permission, policies)
    if prepared.disabled:
        return evaluate_prepared(prepared, request)
    free = {"request.time"} if any_time else set()
    if name_prefix is not None:
        free.add("resource.name")
    reads = set().union(*(cel.attributes_used(c.condition) for c in prepared.cases() if c.condition is not None))
    closed = not (free & reads) and (request.time is not None or "request.time" not in reads)
    if closed and not always_solve and (name_prefix is None or (request.name or "").startswith(name_prefix)):
        return evaluate_prepared(prepared, request)
    key = (
        tuple((g.static, g.condition) for g in prepared.grants),
        tuple((d.static, d.condition) for d in prepared.denies),
        request.time,
        request.name,
        request.type,
        request.service,
        any_time,
        name_prefix,
    )
    verdict = cache.get(key) if cache is not None else None
    if verdict is None:
        verdict = _solve(prepared, request, any_time, name_prefix, timeout_ms, deadline)
        if cache is not None and verdict.rung is not Rung.SOLVER:
            cache[key] = verdict
    free_any = any_time or name_prefix is not None
    if verdict.rung is Rung.ALLOWED:
        witness = request
        if verdict.micros is not None:
            witness = replace(witness, time=from_micros(verdict.micros))
        if verdict.name is not None:
            witness = replace(witness, name=verdict.name)
        replay = evaluate_prepared(prepared, witness)
        return replay if replay.decision is Decision.ALLOWED else _disagree(Decision.ALLOWED, replay.decision, witness)
    if verdict.rung in (Rung.EXPLICIT_DENY, Rung.IMPLICIT_DENY):
        decision = Decision.EXPLICIT_DENY if verdict.rung is Rung.EXPLICIT_DENY else Decision.IMPLICIT_DENY
        outside = name_prefix is not None and not (request.name or "").startswith(name_prefix)
        return _confirm_denied(prepared, request, decision, free_any, outside)
    if verdict.rung is Rung.SOLVER:
        return Outcome(decision=Decision.UNKNOWN, reasons=(Reason(kind=ReasonKind.SOLVER, detail=verdict.detail),))
    return _undecided(prepared, request, free_any, name_prefix is not None)


def bounds(enc: _Encoder, prepared: Prepared) -> Bounds:
    """The ladder's four terms over ``enc``'s variables (module docstring)."""
    grants = [_static_and(enc, g.static, g.condition) for g in prepared.grants]
    denies = [_static_and(enc, d.static, d.condition) for d in prepared.denies]
    allow_lo = z3.Or(enc.false, *[lo for lo, _ in grants])
    allow_hi = z3.Or(enc.false, *[hi for _, hi in grants])
    deny_lo = z3.Or(enc.false, *[lo for lo, _ in denies])
    deny_hi = z3.Or(enc.false, *[hi for _, hi in denies])
    return Bounds(
        allowed_surely=z3.And(allow_lo, z3.Not(deny_hi)),
        allowed_possibly=z3.And(allow_hi, z3.Not(deny_lo)),
        explicit_surely=deny_lo,
        explicit_possibly=deny_hi,
    )


def _solve(
    prepared: Prepared,
    request: Request,
    any_time: bool,
    name_prefix: str | None,
    timeout_ms: int,
    deadline: float | None,
) -> Verdict:
    enc = _Encoder(request, name_prefix)
    domain = enc.domain()
    if not any_time:
        assert request.time is not None  # checked by decide_smt
        domain.append(enc.time == to_micros(request.time))
    check = checker(enc.ctx, domain, timeout_ms, deadline=deadline)
    terms = bounds(enc, prepared)
    proof = prove(check, terms)
    if proof.rung is not Rung.ALLOWED:
        return Verdict(proof.rung, detail=proof.detail)
    model = proof.model
    if any_time:
        model = _nearest(check, terms.allowed_surely, enc, prepared, request) or model
    micros = model.eval(enc.time, model_completion=True).as_long() if any_time else None
    name = model.eval(enc.name, model_completion=True).as_string() if enc.name is not None else None
    return Verdict(Rung.ALLOWED, micros, name)


def _nearest(check: Checker, allows: z3.BoolRef, enc: _Encoder, prepared: Prepared, request: Request) -> Any:
    """A model whose time is the allowed time nearest the request's own: the allowed times are
    intervals bounded by the conditions' timestamps, so the nearest is the request's time or one
    of those timestamps, or one microsecond off one. (With no request time, the epoch is the origin:
    the answer must not depend on when it is computed.)"""
    origin = to_micros(request.time) if request.time is not None else 0
    literals = {to_micros(t) for item in prepared.cases() for t in _times(item.condition)}
    candidates = sorted({origin} | {x + d for x in literals for d in (-1, 0, 1)}, key=lambda x: (abs(x - origin), x))
    for candidate in candidates[:64]:
        if 0 <= candidate <= MAX_MICROS:
            found = check(allows, enc.time == candidate)
            if found.result == z3.sat:
                return found.model
    return None


def _times(cond: cel.Cond | None) -> list[datetime]:
    if isinstance(cond, cel.TimeCmp):
        return [cond.at]
    if isinstance(cond, cel.Not):
        return _times(cond.item)
    if isinstance(cond, cel.And | cel.Or):
        return [t for item in cond.items for t in _times(item)]
    return []


def _static_and(enc: _Encoder, static: bool | None, cond: cel.Cond | None) -> tuple[z3.BoolRef, z3.BoolRef]:
    lo, hi = enc.cond(cond) if cond is not None else (enc.true, enc.true)
    if static is None:
        return enc.false, hi
    return lo, hi


def _confirm_denied(prepared: Prepared, request: Request, decision: Decision, free: bool, outside: bool) -> Outcome:
    """``outside``: the request's own name is not among the names asked about (no replay)."""
    proven = Reason(kind=ReasonKind.PROVEN, detail="proven for every request time and name")
    if request.time is None or outside:
        return Outcome(decision=decision, reasons=(proven,))
    replay = evaluate_prepared(prepared, request)
    if replay.decision is Decision.ALLOWED or (not free and replay.decision is not decision):
        return _disagree(decision, replay.decision, request)
    if replay.decision is decision:
        return Outcome(decision=decision, reasons=replay.reasons)
    return Outcome(decision=decision, reasons=(proven,))


def _undecided(prepared: Prepared, request: Request, free: bool, free_name: bool) -> Outcome:
    if not free and request.time is not None:
        replay = evaluate_prepared(prepared, request)
        if replay.decision is not Decision.UNKNOWN:
            return _disagree(Decision.UNKNOWN, replay.decision, request)
        return replay
    reasons: list[Reason] = []
    env = request.env()
    for item in prepared.cases():
        why = list(item.notes) + condition_notes(_opaque_reasons(item.condition, free_name))
        if item.condition is not None:
            why += condition_notes(
                f"{a} is not known"
                for a in sorted(cel.attributes_used(item.condition))
                if a != "request.time" and (a != "resource.name" or not free_name) and env.attribute(a) is None
            )
        if why:
            policy = item.policy or None
            statement = item.rule if isinstance(item, DenyCase) else None
            reasons.append(doubt(item.label, why, policy=policy, scope=item.node, statement=statement))
    return Outcome(
        decision=Decision.UNKNOWN,
        reasons=tuple(reasons) or (Reason(kind=ReasonKind.UNSUPPORTED, detail="undecided"),),
    )


def _disagree(smt: Decision, ref: Decision, request: Request) -> Outcome:
    detail = (
        f"the encoding said {smt} but the reference evaluator says {ref} for "
        f"{request.principal} {request.permission} {request.resource} at "
        f"{request.time.isoformat() if request.time else 'any time'}: a bug"
    )
    return Outcome(decision=Decision.UNKNOWN, reasons=(Reason(kind=ReasonKind.INTERNAL, detail=detail),))
