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
(false, true)). Then, with allow/deny the disjunctions over grants and deny rules:

- ``allowed`` if some assignment has allow.lo and not deny.hi (the model is the witness);
- ``explicit_deny`` if every assignment has deny.lo; ``implicit_deny`` if none has allow.hi
  without deny.lo;
- ``unknown`` otherwise (some assignment might allow, none certainly does).

Every answer is checked by the reference evaluator: an allowed witness is replayed; with the time
fixed the reference must reach the same decision; a deny for every time must not be allowed at the
request's own time. A disagreement is a bug: it is recorded in :data:`DISAGREEMENTS` and answered
``unknown`` (reason ``internal``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import z3

from simulator.aws.simulate import Answer
from simulator.gcp import cel
from simulator.gcp.reference import PolicySet, Prepared, Request, evaluate_prepared, prepare

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_MICROS = 253402300799999999  # 9999-12-31T23:59:59.999999Z
DEFAULT_TIMEOUT_MS = 10_000
DISAGREEMENTS: list[dict[str, Any]] = []


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
    """What the solver found, independent of whose request it was: ``kind`` is allowed,
    explicit_deny, implicit_deny, undecided or solver (``detail`` says why); an allowed verdict
    carries the witness time (microseconds) and, with a free name, the witness name."""

    kind: str
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
) -> Answer:
    """Decide ``request`` with z3. ``any_time``: ``request.time`` is free (allowed = at some time,
    denied = at every time). ``name_prefix``: ``resource.name`` is free among names with that
    prefix. The answer is checked by the reference evaluator (see the module docstring).

    A question with nothing free (no condition reads a free attribute) is closed: every condition
    is a constant, and the reference evaluator's answer is the encoding's, so the solver is skipped
    unless ``always_solve``. ``cache`` (one dict for a batch of questions) reuses verdicts between
    principals whose grants and deny rules differ only in their members."""
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
        verdict = _solve(prepared, request, any_time, name_prefix, timeout_ms)
        if cache is not None:
            cache[key] = verdict
    free_any = any_time or name_prefix is not None
    if verdict.kind == "allowed":
        witness = request
        if verdict.micros is not None:
            witness = replace(witness, time=from_micros(verdict.micros))
        if verdict.name is not None:
            witness = replace(witness, name=verdict.name)
        replay = evaluate_prepared(prepared, witness)
        return replay if replay.decision == "allowed" else _disagree("allowed", replay.decision, witness)
    if verdict.kind in ("explicit_deny", "implicit_deny"):
        outside = name_prefix is not None and not (request.name or "").startswith(name_prefix)
        return _confirm_denied(prepared, request, verdict.kind, free_any, outside)
    if verdict.kind == "solver":
        return _unknown(f"solver: {verdict.detail}")
    return _undecided(prepared, request, free_any, name_prefix is not None)


def _solve(prepared: Prepared, request: Request, any_time: bool, name_prefix: str | None, timeout_ms: int) -> Verdict:
    enc = _Encoder(request, name_prefix)
    domain = enc.domain()
    if not any_time:
        domain.append(enc.time == to_micros(request.time))  # type: ignore[arg-type]
    grants = [_static_and(enc, g.static, g.condition) for g in prepared.grants]
    denies = [_static_and(enc, d.static, d.condition) for d in prepared.denies]
    allow_lo = z3.Or(enc.false, *[lo for lo, _ in grants])
    allow_hi = z3.Or(enc.false, *[hi for _, hi in grants])
    deny_lo = z3.Or(enc.false, *[lo for lo, _ in denies])
    deny_hi = z3.Or(enc.false, *[hi for _, hi in denies])

    def check(*constraints: z3.BoolRef) -> tuple[z3.CheckSatResult, Any]:
        solver = z3.Solver(ctx=enc.ctx)
        solver.set("timeout", timeout_ms)
        solver.add(*domain, *constraints)
        result = solver.check()
        return result, (solver.model() if result == z3.sat else solver.reason_unknown())

    allows = z3.And(allow_lo, z3.Not(deny_hi))
    result, model = check(allows)
    if result == z3.sat:
        if any_time:
            model = _nearest(check, allows, enc, prepared, request) or model
        micros = model.eval(enc.time, model_completion=True).as_long() if any_time else None
        name = model.eval(enc.name, model_completion=True).as_string() if enc.name is not None else None
        return Verdict("allowed", micros, name)
    if result == z3.unknown:
        return Verdict("solver", detail=str(model))
    result, why = check(allow_hi, z3.Not(deny_lo))
    if result == z3.unsat:
        always_explicit, why = check(z3.Not(deny_lo))
        if always_explicit == z3.unknown:
            return Verdict("solver", detail=str(why))
        return Verdict("explicit_deny" if always_explicit == z3.unsat else "implicit_deny")
    if result == z3.unknown:
        return Verdict("solver", detail=str(why))
    return Verdict("undecided")


def _nearest(check: Any, allows: z3.BoolRef, enc: _Encoder, prepared: Prepared, request: Request) -> Any:
    """A model whose time is the allowed time nearest the request's own (or now): the allowed
    times are intervals bounded by the conditions' timestamps, so the nearest is the request's time
    or one of those timestamps, or one microsecond off one."""
    origin = to_micros(request.time or datetime.now(UTC))
    literals = {to_micros(t) for item in prepared.cases() for t in _times(item.condition)}
    candidates = sorted({origin} | {x + d for x in literals for d in (-1, 0, 1)}, key=lambda x: (abs(x - origin), x))
    for candidate in candidates[:64]:
        if 0 <= candidate <= MAX_MICROS:
            result, model = check(allows, enc.time == candidate)
            if result == z3.sat:
                return model
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


def _unknown(detail: str, kind: str = "unknown") -> Answer:
    return Answer(None, "unknown", [{"kind": kind, "detail": detail}])


def _confirm_denied(prepared: Prepared, request: Request, decision: str, free: bool, outside: bool) -> Answer:
    """``outside``: the request's own name is not among the names asked about (no replay)."""
    if request.time is None or outside:
        return Answer(None, decision, [{"kind": decision, "detail": "proven for every request time"}])
    replay = evaluate_prepared(prepared, request)
    if replay.decision == "allowed" or (not free and replay.decision != decision):
        return _disagree(decision, replay.decision, request)
    if replay.decision == decision:
        return Answer(None, decision, replay.reasons)
    return Answer(None, decision, [{"kind": decision, "detail": "proven for every request time and name"}])


def _undecided(prepared: Prepared, request: Request, free: bool, free_name: bool) -> Answer:
    if not free and request.time is not None:
        replay = evaluate_prepared(prepared, request)
        if replay.decision != "unknown":
            return _disagree("unknown", replay.decision, request)
        return replay
    reasons: list[dict[str, Any]] = []
    for item in prepared.cases():
        why = list(item.notes) + _opaque_reasons(item.condition, free_name)
        if item.condition is not None:
            env = request.env()
            why += [
                f"{a} is not known"
                for a in sorted(cel.attributes_used(item.condition))
                if a != "request.time" and (a != "resource.name" or not free_name) and env.attribute(a) is None
            ]
        if why:
            reasons.append({"kind": "unknown", "detail": f"{item.label}: {'; '.join(why)}", "node": item.node})
    return Answer(None, "unknown", reasons or [{"kind": "unknown", "detail": "undecided"}])


def _disagree(smt: str, ref: str, request: Request) -> Answer:
    DISAGREEMENTS.append({"smt": smt, "reference": ref, "request": request.witness()})
    return _unknown(f"the encoding said {smt} but the reference evaluator says {ref}: a bug", "internal")
