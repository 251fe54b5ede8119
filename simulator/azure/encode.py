"""The z3 encoding of Azure RBAC decisions, with the request's ABAC attributes free.

The principal, operation, scope path and sub-operation are concrete, so which assignments and
deny assignments could matter is decided in Python (:func:`simulator.azure.rbac.compile_request`).
What is left are the ABAC conditions over ``@Resource`` / ``@Request`` attributes, and those z3
decides. Each attribute is two variables: ``present`` (a Bool) and its single ``value`` (a string
of printable ASCII and the characters the conditions name, so that a witness prints; a value
outside that alphabet satisfies no more conditions than one inside it, short of conditions that
exclude every printable character at one position). Attributes the request gives are constrained
to its value (multi-valued ones are evaluated concretely); with ``any_context`` every other
attribute is free, without it they are absent. ``any_context`` therefore ranges over
single-valued attributes.

Three-valued conditions are encoded as a pair of formulas (``lo``, ``hi``): ``lo`` holds where the
Kleene value is definitely true, ``hi`` where it may be true (``Opaque`` atoms: ``lo`` false, ``hi``
true; ``NOT`` swaps them). Then:

- some context makes ``allowed.lo`` true -> ``allowed`` with that context as the witness, which
  the reference evaluator must confirm on replay;
- no context makes ``allowed.hi`` true -> denied, proven for every context (``explicit_deny`` when
  a deny assignment definitely applies in every context);
- otherwise ``unknown``, naming the unsupported parts.

Where no relevant assignment has a condition, no attribute is read and the reference evaluator's
answer is exact; it is returned without building a z3 context. A disagreement with the reference
evaluator is a bug: it is recorded in :data:`DISAGREEMENTS` and answered ``unknown``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import z3

from simulator.aws.simulate import Answer
from simulator.azure import reference
from simulator.azure.abac import (
    ActionMatches,
    And,
    Compare,
    Facts,
    Node,
    Not,
    Opaque,
    Or,
    SubOperationMatches,
    Unsupported,
    ascii_lower,
    attributes_of,
    comparisons,
    evaluate,
    evaluate_compare,
    unicode_cased,
    unknown_reasons,
)
from simulator.azure.rbac import Applicable, Compiled, Request, compile_request

DEFAULT_TIMEOUT_MS = 10_000
DISAGREEMENTS: list[dict[str, Any]] = []

Pair = tuple[z3.BoolRef, z3.BoolRef]


def folding_is_ascii(extra: list[str]) -> bool:
    """Whether, over strings of printable ASCII and the characters ``extra``, ASCII case folding
    (what the encoding models) and Unicode case folding always agree: no character of ``extra``
    folds to ASCII or to several characters, and no two of them fold to one character. Then an
    ``IgnoreCase`` comparison's value is the same under both, and the reference evaluator decides
    it (see :func:`simulator.azure.abac.compare_one`)."""
    folded: dict[str, str] = {}
    for c in extra:
        f = c.casefold()
        if len(f) != 1 or f.isascii() or folded.setdefault(f, c) != c:
            return False
    return True


class Encoder:
    """Owns one z3 context and the attribute variables of one question."""

    def __init__(self, request: Request, *, any_context: bool, extra_chars: str = "") -> None:
        self.ctx = z3.Context()
        self.request = request
        self.any_context = any_context
        self.facts = Facts(request.operation, request.sub_operation, request.attributes)
        self.present: dict[str, z3.BoolRef] = {}
        self.value: dict[str, z3.SeqRef] = {}
        self.domain: list[z3.BoolRef] = []
        # The characters a value may hold: printable ASCII plus every character the conditions
        # name and the request gives, so that restricting witnesses to printable text loses no satisfiable condition.
        given = "".join(v for values in request.attributes.values() for v in values)
        extra = sorted({c for c in extra_chars + given if not " " <= c <= "~"})
        self.printable = (
            z3.Union(z3.Range(" ", "~", ctx=self.ctx), *(z3.Re(z3.StringVal(c, ctx=self.ctx)) for c in extra))
            if extra
            else z3.Range(" ", "~", ctx=self.ctx)
        )
        self.exact_folding = folding_is_ascii(extra)
        self.true = z3.BoolVal(True, ctx=self.ctx)
        self.false = z3.BoolVal(False, ctx=self.ctx)

    def const(self, value: bool | None) -> Pair:
        if value is None:
            return self.false, self.true
        return (self.true, self.true) if value else (self.false, self.false)

    def free(self, key: str) -> bool:
        return self.any_context and key not in self.request.attributes

    def variables(self, key: str) -> tuple[z3.BoolRef, z3.SeqRef]:
        if key not in self.value:
            index = len(self.value)
            self.present[key] = z3.Bool(f"present_{index}", ctx=self.ctx)
            self.value[key] = z3.String(f"value_{index}", ctx=self.ctx)
            self.domain.append(z3.InRe(self.value[key], z3.Star(self.printable)))
            if not self.free(key):
                given = tuple(self.request.attributes.get(key, ()))
                self.domain.append(self.present[key] == z3.BoolVal(bool(given), ctx=self.ctx))
                if given:
                    self.domain.append(self.value[key] == z3.StringVal(given[0], ctx=self.ctx))
        return self.present[key], self.value[key]

    # --- conditions ---------------------------------------------------------------------------

    def condition(self, node: Node | Unsupported | None) -> Pair:
        if node is None:
            return self.true, self.true
        if isinstance(node, Unsupported | Opaque):
            return self.false, self.true
        if isinstance(node, And | Or):
            pairs = [self.condition(i) for i in node.items]
            join = z3.And if isinstance(node, And) else z3.Or
            return join([p[0] for p in pairs]), join([p[1] for p in pairs])
        if isinstance(node, Not):
            lo, hi = self.condition(node.item)
            return z3.Not(hi), z3.Not(lo)
        if isinstance(node, ActionMatches | SubOperationMatches):
            return self.const(evaluate(node, self.facts))
        return self.compare(node)

    def compare(self, node: Compare) -> Pair:
        key = node.attr.key
        given = tuple(self.request.attributes.get(key, ()))
        folding = node.ignore_case and (unicode_cased("".join(node.values)) or unicode_cased("".join(given)))
        if len(given) > 1 or (folding and not self.free(key)):
            return self.const(evaluate_compare(node, given))
        if folding and not self.exact_folding:
            return self.false, self.true  # values where ASCII and Unicode folding differ: not encoded
        present, value = self.variables(key)
        if node.cross:
            hit = z3.Or([self.base(node, value, t) != node.negated for t in node.values])
            formula = z3.And(present, hit)
            return formula, formula
        match = self.base(node, value, node.values[0])
        if not node.negated:
            formula = z3.And(present, match)
            return formula, formula
        return z3.And(present, z3.Not(match)), z3.Or(z3.Not(present), z3.Not(match))

    def base(self, node: Compare, value: z3.SeqRef, target: str) -> z3.BoolRef:
        ctx = self.ctx
        if node.op == "StringEquals":
            if node.ignore_case:
                return z3.InRe(value, self.literal(target, True))
            return value == z3.StringVal(target, ctx=ctx)
        if node.op == "StringStartsWith":
            if node.ignore_case:
                return z3.InRe(value, z3.Concat(self.literal(target, True), z3.Star(self.printable)))
            return z3.PrefixOf(z3.StringVal(target, ctx=ctx), value)
        if node.op == "StringLike":
            return z3.InRe(value, self.like(target, node.ignore_case))
        raise ValueError(f"unknown base operator {node.op}")

    def char(self, c: str, ignore_case: bool) -> z3.ReRef:
        ctx = self.ctx
        lower, upper = ascii_lower(c), c.upper() if "a" <= ascii_lower(c) <= "z" else c
        if ignore_case and lower != upper:
            return z3.Union(z3.Re(z3.StringVal(lower, ctx=ctx)), z3.Re(z3.StringVal(upper, ctx=ctx)))
        return z3.Re(z3.StringVal(c, ctx=ctx))

    def literal(self, text: str, ignore_case: bool) -> z3.ReRef:
        if not text:
            return z3.Re(z3.StringVal("", ctx=self.ctx))
        parts = [self.char(c, ignore_case) for c in text]
        return parts[0] if len(parts) == 1 else z3.Concat(*parts)

    def like(self, pattern: str, ignore_case: bool) -> z3.ReRef:
        parts: list[z3.ReRef] = []
        i = 0
        while i < len(pattern):
            c = pattern[i]
            if c == "\\" and i + 1 < len(pattern) and pattern[i + 1] in "*?":
                parts.append(self.char(pattern[i + 1], ignore_case))
                i += 2
                continue
            if c == "*":
                parts.append(z3.Star(self.printable))
            elif c == "?":
                parts.append(self.printable)
            else:
                parts.append(self.char(c, ignore_case))
            i += 1
        if not parts:
            return z3.Re(z3.StringVal("", ctx=self.ctx))
        return parts[0] if len(parts) == 1 else z3.Concat(*parts)

    # --- the decision -------------------------------------------------------------------------

    def decision(self, compiled: Compiled) -> tuple[Pair, Pair]:
        """((allowed lo, hi), (explicit deny lo, hi))."""
        grants: list[Pair] = []
        for assignment, blocks in compiled.grants:
            block_pairs = [self.condition(b.condition) for b in blocks]
            own = self.condition(assignment.condition)
            grants.append(
                (
                    z3.And(z3.Or([p[0] for p in block_pairs]), own[0]),
                    z3.And(z3.Or([p[1] for p in block_pairs]), own[1]),
                )
            )
        grants += [(self.false, self.true) for _ in compiled.missing_roles]
        denies = [self.condition(d.condition) for d in compiled.denies]
        grant = (z3.Or([g[0] for g in grants] or [self.false]), z3.Or([g[1] for g in grants] or [self.false]))
        deny = (z3.Or([d[0] for d in denies] or [self.false]), z3.Or([d[1] for d in denies] or [self.false]))
        allowed = (z3.And(grant[0], z3.Not(deny[1])), z3.And(grant[1], z3.Not(deny[0])))
        return allowed, deny

    def check(self, *constraints: z3.BoolRef, timeout_ms: int) -> tuple[z3.CheckSatResult, Any]:
        solver = z3.Solver(ctx=self.ctx)
        solver.set("timeout", timeout_ms)
        solver.add(*self.domain, *constraints)
        result = solver.check()
        return result, (solver.model() if result == z3.sat else solver.reason_unknown())

    def witness_attributes(self, model: z3.ModelRef) -> dict[str, tuple[str, ...]]:
        out = dict(self.request.attributes)
        for key, present in self.present.items():
            if z3.is_true(model.eval(present, model_completion=True)):
                out[key] = (model.eval(self.value[key], model_completion=True).as_string(),)
        return out


def _unknown(reason: str) -> Answer:
    return Answer(None, "unknown", [{"kind": "unknown", "detail": reason}])


def _disagree(request: Request, smt: str, ref: str) -> Answer:
    DISAGREEMENTS.append({"smt": smt, "reference": ref, "request": reference.witness_of(request)})
    detail = f"the encoding said {smt} but the reference evaluator says {ref}: a bug"
    return Answer(None, "unknown", [{"kind": "internal", "detail": detail}])


def _unsupported_reasons(compiled: Compiled) -> list[str]:
    out: list[str] = []
    for assignment, blocks in compiled.grants:
        for node in [b.condition for b in blocks] + [assignment.condition]:
            if node is not None:
                out += [f"{assignment.label()}: {r}" for r in unknown_reasons(node)]
    out += [f"role definition ID {a.role_id} not in the snapshot ({a.label()})" for a in compiled.missing_roles]
    for d in compiled.denies:
        if d.condition is not None:
            out += [f"deny assignment {d.name}: {r}" for r in unknown_reasons(d.condition)]
    return list(dict.fromkeys(out))


def _conditions(compiled: Compiled) -> list[Node | Unsupported]:
    nodes = [b.condition for _, blocks in compiled.grants for b in blocks]
    nodes += [a.condition for a, _ in compiled.grants] + [d.condition for d in compiled.denies]
    return [n for n in nodes if n is not None]


def _constant_chars(compiled: Compiled) -> str:
    """Every character of the strings the relevant conditions compare attributes with."""
    chars = {c for node in _conditions(compiled) for compare in comparisons(node) for v in compare.values for c in v}
    return "".join(sorted(chars))


def free_attributes(request: Request, compiled: Compiled) -> list[str]:
    """Attribute keys the relevant conditions compare that the request does not give."""
    keys = [attr.key for n in _conditions(compiled) for attr in attributes_of(n)]
    return [k for k in dict.fromkeys(keys) if k not in request.attributes]


def decide_smt(
    request: Request, applicable: Applicable, any_context: bool = False, *, timeout_ms: int = DEFAULT_TIMEOUT_MS
) -> Answer:
    """Decide with z3. With ``any_context`` the attributes the request does not give are free:
    ``allowed`` means some values allow it (the witness gives them), a deny that none do."""
    compiled = compile_request(request, applicable)
    if not _conditions(compiled):
        return reference.decide_compiled(request, compiled)  # no attribute is read: nothing for z3
    enc = Encoder(request, any_context=any_context, extra_chars=_constant_chars(compiled))
    allowed, deny = enc.decision(compiled)
    result, model = enc.check(allowed[0], timeout_ms=timeout_ms)
    if result == z3.sat:
        witness = replace(request, attributes=enc.witness_attributes(model))
        replay = reference.decide_compiled(witness, compiled)
        if replay.decision != "allowed":
            return _disagree(witness, "allowed", replay.decision)
        return replay
    if result == z3.unknown:
        return _unknown(f"solver: {model}")
    result, model = enc.check(allowed[1], timeout_ms=timeout_ms)
    if result == z3.unknown:
        return _unknown(f"solver: {model}")
    if result == z3.sat:
        reasons = _unsupported_reasons(compiled) or ["undecided"]
        return Answer(None, "unknown", [{"kind": "unsupported", "detail": r} for r in reasons])
    always_explicit, _ = enc.check(z3.Not(deny[0]), timeout_ms=timeout_ms)
    if always_explicit == z3.unknown:
        return _unknown(f"solver: {_}")
    decision = "explicit_deny" if always_explicit == z3.unsat else "implicit_deny"
    replay = reference.decide_compiled(request, compiled)
    # The request's own context is one of those z3 ranged over: the reference must deny it too
    # (and the same way when it is the only context).
    if replay.decision not in ("explicit_deny", "implicit_deny") or (not any_context and replay.decision != decision):
        return _disagree(request, decision, replay.decision)
    free = free_attributes(request, compiled) if any_context else []
    if not free and replay.decision == decision:
        return Answer(None, decision, replay.reasons)
    proven = {"kind": decision, "detail": "proven for every value of " + ", ".join(free) if free else "proven"}
    kept = [r for r in replay.reasons if r.get("kind") not in ("condition", "unsupported", "missing_role")]
    return Answer(None, decision, [proven, *kept])


def decide_reference(request: Request, applicable: Applicable, any_context: bool = False) -> Answer:
    """The reference evaluator; with ``any_context`` it decides only when no condition it would
    read compares an attribute the request does not give (else unknown: use the smt engine)."""
    compiled = compile_request(request, applicable)
    answer = reference.decide_compiled(request, compiled)
    if any_context and answer.decision != "unknown" and free_attributes(request, compiled):
        detail = "the reference engine decides one context; use the smt engine with --any-context"
        return Answer(None, "unknown", [{"kind": "engine", "detail": detail}])
    return answer
