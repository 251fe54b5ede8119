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
true; ``NOT`` swaps them). The pairs of "allowed" and "explicitly denied" are the
:class:`~simulator.core.prove.Bounds` of the core's proof ladder (:func:`simulator.core.prove`):

- some context makes ``allowed.lo`` true -> ``allowed`` with that context as the witness, which
  the reference evaluator must confirm on replay;
- no context makes ``allowed.hi`` true -> denied, proven for every context (``explicit_deny`` when
  a deny assignment definitely applies in every context);
- otherwise ``unknown``, naming the unsupported parts; a solver timeout is ``unknown`` (solver).

``ActionMatches`` is a regular-expression membership of the (concrete) operation, built from the
same pieces as the reference matcher (:func:`simulator.azure.abac.action_pieces`). ``GuidEquals``
is a case-insensitive match of a GUID; a value that is not GUID-shaped leaves it undecided, as in
the reference evaluator.

Where no relevant assignment has a condition, no attribute is read and the reference evaluator's
answer is exact; it is returned without building a z3 context. A disagreement with the reference
evaluator is a bug: the answer is ``unknown`` with an ``internal`` reason.
"""

from __future__ import annotations

from dataclasses import replace

import z3

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
    action_pieces,
    ascii_lower,
    attributes_of,
    comparisons,
    evaluate,
    evaluate_compare,
    guid_forms,
    unicode_cased,
    unknown_reasons,
)
from simulator.azure.rbac import Applicable, Compiled, Request, compile_request
from simulator.azure.reference import Verdict
from simulator.core import Bounds, Decision, Reason, ReasonKind, Rung, checker, prove

DEFAULT_TIMEOUT_MS = 10_000

Pair = tuple[z3.BoolRef, z3.BoolRef]
HEX = "0123456789abcdefABCDEF"


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


def action_regex(pattern: str, ctx: z3.Context) -> z3.ReRef:
    """The z3 regular expression of an RBAC action pattern over lower-cased operations: the
    pieces of :func:`simulator.azure.abac.action_pieces` (literal, ``*`` any run, ``/*`` an
    optional ``/`` + any run)."""
    everything = z3.Full(z3.ReSort(z3.StringSort(ctx)))
    parts: list[z3.ReRef] = []
    for piece in action_pieces(ascii_lower(pattern)):
        if piece == "*":
            parts.append(everything)
        elif piece == "/*":
            parts.append(z3.Option(z3.Concat(z3.Re(z3.StringVal("/", ctx=ctx)), everything)))
        else:
            parts.append(z3.Re(z3.StringVal(piece, ctx=ctx)))
    if not parts:
        return z3.Re(z3.StringVal("", ctx=ctx))
    return parts[0] if len(parts) == 1 else z3.Concat(*parts)


def action_matches_smt(patterns: tuple[str, ...], operation: str, ctx: z3.Context) -> z3.BoolRef:
    """Whether ``operation`` matches one of ``patterns`` (case-insensitive), as a z3 term."""
    regexes = [action_regex(p, ctx) for p in patterns]
    union = regexes[0] if len(regexes) == 1 else z3.Union(*regexes)
    return z3.InRe(z3.StringVal(ascii_lower(operation), ctx=ctx), union)


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
        self._guid: z3.ReRef | None = None

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
        if isinstance(node, ActionMatches):
            term = action_matches_smt(node.patterns, self.request.operation, self.ctx)
            return term, term
        if isinstance(node, SubOperationMatches):
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
        pairs = [self.pairwise(node, value, t) for t in node.values]
        if node.any_target:
            lo, hi = z3.Or([p[0] for p in pairs]), z3.Or([p[1] for p in pairs])
        else:
            lo, hi = z3.And([p[0] for p in pairs]), z3.And([p[1] for p in pairs])
        # One value (the encoding's attributes are single-valued): "some value" and "every value"
        # agree when it is present; absent, "some value" is false, and "every value" (a plain
        # negated comparison, or ForAllOf...) is undecided.
        absent_unknown = (not node.cross and node.negated) or not node.any_value
        if absent_unknown:
            return z3.And(present, lo), z3.Or(z3.Not(present), hi)
        return z3.And(present, lo), z3.And(present, hi)

    def pairwise(self, node: Compare, value: z3.SeqRef, target: str) -> Pair:
        """One attribute value against one listed value, negation applied."""
        if node.op == "GuidEquals":
            shaped = z3.InRe(value, self.guid())
            dashed, digits = guid_forms(target)
            equal = z3.InRe(value, z3.Union(self.literal(dashed, True), self.literal(digits, True)))
            if node.negated:
                return z3.And(shaped, z3.Not(equal)), z3.Not(equal)
            return equal, z3.Or(equal, z3.Not(shaped))
        match = self.base(node, value, target)
        return (z3.Not(match), z3.Not(match)) if node.negated else (match, match)

    def guid(self) -> z3.ReRef:
        if self._guid is None:
            hexdigit = z3.Union(*(z3.Re(z3.StringVal(c, ctx=self.ctx)) for c in HEX))
            dash = z3.Re(z3.StringVal("-", ctx=self.ctx))
            groups = [z3.Loop(hexdigit, n, n) for n in (8, 4, 4, 4, 12)]
            self._guid = z3.Concat(groups[0], dash, groups[1], dash, groups[2], dash, groups[3], dash, groups[4])
        return self._guid

    def base(self, node: Compare, value: z3.SeqRef, target: str) -> z3.BoolRef:
        ctx = self.ctx
        if node.op == "StringEquals":
            if node.ignore_case:
                return z3.InRe(value, self.literal(target, True))
            return value == z3.StringVal(target, ctx=ctx)
        if node.op == "StringStartsWith":
            if node.ignore_case:
                return z3.InRe(value, z3.Concat(self.literal(target, True), z3.Star(self.printable)))
            # A regular expression rather than PrefixOf: z3 decides its negation far faster.
            return z3.InRe(value, z3.Concat(self.literal(target, False), z3.Star(self.printable)))
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

    def bounds(self, compiled: Compiled) -> Bounds:
        """The proof ladder's terms: allowed (surely, possibly), explicitly denied (surely, possibly)."""
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
        return Bounds(
            allowed_surely=z3.And(grant[0], z3.Not(deny[1])),
            allowed_possibly=z3.And(grant[1], z3.Not(deny[0])),
            explicit_surely=deny[0],
            explicit_possibly=deny[1],
        )

    def witness_attributes(self, model: z3.ModelRef) -> dict[str, tuple[str, ...]]:
        out = dict(self.request.attributes)
        for key, present in self.present.items():
            if z3.is_true(model.eval(present, model_completion=True)):
                out[key] = (model.eval(self.value[key], model_completion=True).as_string(),)
        return out


def _unknown(kind: ReasonKind, detail: str) -> Verdict:
    return Verdict(decision=Decision.UNKNOWN, reasons=(Reason(kind=kind, detail=detail),))


def _disagree(smt: str, ref: str) -> Verdict:
    detail = f"the encoding said {smt} but the reference evaluator says {ref}: a bug"
    return _unknown(ReasonKind.INTERNAL, detail)


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


_KEPT = (ReasonKind.CONDITION, ReasonKind.UNSUPPORTED, ReasonKind.MISSING)


def decide_smt(
    request: Request,
    applicable: Applicable,
    any_context: bool = False,
    *,
    timeout_ms: int = DEFAULT_TIMEOUT_MS,
    deadline: float | None = None,
) -> Verdict:
    """Decide with z3. With ``any_context`` the attributes the request does not give are free:
    ``allowed`` means some values allow it (the witness gives them), a deny that none do."""
    compiled = compile_request(request, applicable)
    if not _conditions(compiled):
        return reference.decide_compiled(request, compiled)  # no attribute is read: nothing for z3
    enc = Encoder(request, any_context=any_context, extra_chars=_constant_chars(compiled))
    proof = prove(checker(enc.ctx, enc.domain, timeout_ms, deadline=deadline), enc.bounds(compiled))
    if proof.rung is Rung.ALLOWED:
        witness = replace(request, attributes=enc.witness_attributes(proof.model))
        replay = reference.decide_compiled(witness, compiled)
        return replay if replay.decision is Decision.ALLOWED else _disagree("allowed", replay.decision)
    if proof.rung is Rung.SOLVER:
        return _unknown(ReasonKind.SOLVER, f"solver: {proof.detail}")
    if proof.rung is Rung.UNDECIDED:
        reasons = _unsupported_reasons(compiled) or ["undecided"]
        return Verdict(
            decision=Decision.UNKNOWN, reasons=tuple(Reason(kind=ReasonKind.UNSUPPORTED, detail=r) for r in reasons)
        )
    decision = Decision.EXPLICIT_DENY if proof.rung is Rung.EXPLICIT_DENY else Decision.IMPLICIT_DENY
    replay = reference.decide_compiled(request, compiled)
    # The request's own context is one of those z3 ranged over: the reference must deny it too
    # (and the same way when it is the only context).
    if not replay.decision.denied or (not any_context and replay.decision != decision):
        return _disagree(decision, replay.decision)
    free = free_attributes(request, compiled) if any_context else []
    if not free and replay.decision == decision:
        return replay
    detail = "proven for every value of " + ", ".join(free) if free else "proven"
    kept = tuple(r for r in replay.reasons if r.kind not in _KEPT)
    return Verdict(decision=decision, reasons=(Reason(kind=ReasonKind.PROVEN, detail=detail), *kept))


def decide_reference(request: Request, applicable: Applicable, any_context: bool = False) -> Verdict:
    """The reference evaluator; with ``any_context`` it decides only when no condition it would
    read compares an attribute the request does not give (else unknown: use the smt engine)."""
    compiled = compile_request(request, applicable)
    answer = reference.decide_compiled(request, compiled)
    if any_context and answer.decision is not Decision.UNKNOWN and free_attributes(request, compiled):
        detail = "the reference engine decides one context; use the smt engine with --any-context"
        return _unknown(ReasonKind.ENGINE, detail)
    return answer


__all__ = ["DEFAULT_TIMEOUT_MS", "Encoder", "Verdict", "action_regex", "decide_reference", "decide_smt"]
