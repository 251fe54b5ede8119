"""The concrete reference evaluator: decides one request with three-valued (Kleene) booleans.

It runs :func:`simulator.aws.semantics.evaluate` with :class:`ReferenceMatcher`, which matches one
statement against one concrete request. ``None`` means *unknown*; it only ever comes from a
statement with unsupported parts (an unknown condition operator, ...), whose conditions are read as
unknown. Kleene logic keeps an unknown that cannot change the answer from spreading (``False and
None`` is ``False``, ``True or None`` is ``True``), so the ``bound`` argument of the matcher
protocol is not needed here.

Matching rules (see also :mod:`simulator.aws.values`):

- Action: a glob over the whole ``service:action`` (``*`` any run, ``?`` one character),
  ASCII-case-insensitive.
- Resource: a case-sensitive glob over the whole string (``*`` crosses ``:`` and ``/``), policy
  variables inserted literally.
- Policy variables (Resource, NotResource, condition values): ``${key}`` resolves to the key's one
  value, or to its default (``${key, 'default'}``) when the key is absent. A variable that does not
  resolve (absent without default, or multi-valued) makes the whole statement invalid (AWS: it
  "fails and causes the statement to be invalid"): it does not apply, so an Allow grants nothing and
  a Deny denies nothing — in particular a NotResource with such a variable matches nothing.
- Conditions: every clause must hold. An empty context value counts as absent.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from simulator.aws.policy import Condition, PolicyDocument, PrincipalSpec, Statement
from simulator.aws.request import Case, Request, facts_for
from simulator.aws.semantics import Algebra, PolicySet, PrincipalMatch, RequestFacts, Verdict, evaluate
from simulator.aws.values import (
    Lit,
    Pattern,
    Star,
    Var,
    parse_bool,
    parse_cidr,
    parse_date,
    parse_ip,
    parse_number,
)

K = bool | None
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def ascii_lower(text: str) -> str:
    """Lower-case A-Z only (AWS compares names this way; no Unicode case folding)."""
    return text.translate(_ASCII_LOWER)


class Kleene:
    """Strong Kleene three-valued logic: ``True``, ``False`` and ``None`` (unknown)."""

    true: K = True
    false: K = False

    def and_(self, items: Iterable[K]) -> K:
        values = list(items)
        return False if False in values else None if None in values else True

    def or_(self, items: Iterable[K]) -> K:
        values = list(items)
        return True if True in values else None if None in values else False

    def not_(self, item: K) -> K:
        return None if item is None else not item


KLEENE = Kleene()


# --- Patterns ---------------------------------------------------------------------------------


@lru_cache(maxsize=65536)
def _glob(pattern: str) -> str:
    """Regex for a plain glob string (actions): ``*`` any run, ``?`` one character (kept: a
    who-can asks the same statements for every principal)."""
    return "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)


def _variable(var: Var, context: dict[str, tuple[str, ...]]) -> str | None:
    """The value a variable stands for: its single context value, else the default when the key
    is absent. ``None`` (it does not resolve) when absent without default or multi-valued."""
    values = context.get(var.key, ())
    if not values:
        return var.default
    return values[0] if len(values) == 1 else None


def _pattern_regex(pattern: Pattern, context: dict[str, tuple[str, ...]], *, arn: bool = False) -> str | None:
    """Regex for a parsed pattern, or ``None`` if a variable cannot be substituted.

    With ``arn``: a wildcard before the fifth literal ``:`` (in a pattern with at least five)
    stays within one ARN segment (matches no ``:``)."""
    total_colons = sum(p.text.count(":") for p in pattern if isinstance(p, Lit))
    colons = 0
    out = []
    for part in pattern:
        if isinstance(part, Lit):
            out.append(re.escape(part.text))
            colons += part.text.count(":")
        elif isinstance(part, Var):
            value = _variable(part, context)
            if value is None:
                return None
            out.append(re.escape(value))
        else:
            segment = arn and total_colons >= 5 and colons < 5
            any_run = isinstance(part, Star)
            out.append(("[^:]*" if any_run else "[^:]") if segment else (".*" if any_run else "."))
    return "".join(out)


def _full_match(regex: str | None, text: str) -> bool:
    return regex is not None and re.fullmatch(regex, text, re.DOTALL) is not None


def _substitute(pattern: Pattern, context: dict[str, tuple[str, ...]]) -> str | None:
    """Literal text of a wildcard-free pattern, or ``None`` if a variable cannot be substituted."""
    out = []
    for part in pattern:
        if isinstance(part, Var):
            value = _variable(part, context)
            if value is None:
                return None
            out.append(value)
        else:
            out.append(part.text if isinstance(part, Lit) else "*" if isinstance(part, Star) else "?")
    return "".join(out)


# --- Conditions -------------------------------------------------------------------------------

_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: a == b,
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
}


def _compare(test: str, parse: Callable[[str], Any], v: str, x: str) -> bool:
    left, right = parse(v), parse(x)
    return left is not None and right is not None and _COMPARE[test](left, right)


def _value_matches(c: Condition, i: int, v: str, context: dict[str, tuple[str, ...]]) -> bool:
    """Does request value ``v`` match the clause's ``i``-th policy value (before negation)?"""
    x = c.values[i]
    if c.family == "string":
        if c.test == "like":
            return _full_match(_pattern_regex(c.patterns[i], context), v)
        text = _substitute(c.patterns[i], context)
        if text is None:
            return False
        return ascii_lower(v) == ascii_lower(text) if c.test == "equals_ignore_case" else v == text
    if c.family == "arn":
        return _full_match(_pattern_regex(c.patterns[i], context, arn=True), v)
    if c.family == "numeric":
        return _compare(c.test, parse_number, v, x)
    if c.family == "date":
        return _compare(c.test, parse_date, v, x)
    if c.family == "bool":
        return _compare("eq", parse_bool, v, x)
    if c.family == "binary":
        return v == x
    if c.family == "ip":
        ip, cidr = parse_ip(v), parse_cidr(x)
        return ip is not None and cidr is not None and cidr.contains(ip)
    raise ValueError(f"unknown condition family {c.family!r}")


def condition_holds(c: Condition, context: dict[str, tuple[str, ...]]) -> bool:
    """One clause against the request context.

    - ``Null``: holds if some policy value (``true``/``false``) equals "the key is absent".
    - Per request value ``v``: some policy value matches (negated operators: none does).
    - No qualifier: present → some ``v`` passes; absent → true with IfExists or a negated operator.
    - ForAnyValue: present → some ``v`` passes; absent → true only with IfExists.
    - ForAllValues: present → every ``v`` passes; absent → true.
    """
    values = context.get(c.key, ())
    absent = not values
    if c.family == "null":
        return any(parse_bool(x) == absent for x in c.values if parse_bool(x) is not None)

    def passes(v: str) -> bool:
        hit = any(_value_matches(c, i, v, context) for i in range(len(c.values)))
        return not hit if c.negated else hit

    if c.qualifier == "all":
        return absent or all(passes(v) for v in values)
    if absent:
        return c.if_exists or (c.negated and c.qualifier is None)
    return any(passes(v) for v in values)


# --- The matcher ------------------------------------------------------------------------------


class ReferenceMatcher:
    """Matches statements against one concrete request (see the module docstring)."""

    alg: Algebra[K] = KLEENE

    def __init__(self, request: Request) -> None:
        self.request = request
        self.context = request.context
        p = request.principal
        self.partition = p.arn.split(":")[1] if p.arn.startswith("arn:") else "aws"

    def action(self, stmt: Statement) -> bool:
        action = ascii_lower(self.request.action)
        hit = any(_full_match(_glob(ascii_lower(a)), action) for a in stmt.action_patterns)
        return hit if stmt.actions is not None else not hit

    def resource(self, stmt: Statement) -> bool:
        patterns = stmt.resources if stmt.resources is not None else stmt.not_resources
        if patterns is None:
            return True
        hit = any(_full_match(_pattern_regex(p, self.context), self.request.resource) for p in patterns)
        return hit if stmt.resources is not None else not hit

    def resolves(self, stmt: Statement) -> bool:
        """Every policy variable of the statement resolves (else the statement is invalid)."""
        return all(_variable(v, self.context) is not None for v in stmt.variables)

    def conditions(self, stmt: Statement) -> K:
        if stmt.unsupported:
            return None
        return all(condition_holds(c, self.context) for c in stmt.conditions)

    def statement(self, policy: PolicyDocument, statement: Statement, bound: str = "lo") -> K:
        """The statement is valid (its variables resolve) ∧ action ∧ resource ∧ conditions (unknown
        conditions when the statement has unsupported parts). ``bound`` is ignored: Kleene logic
        needs no bounds."""
        if not self.resolves(statement):
            return False
        return KLEENE.and_([self.action(statement), self.resource(statement), self.conditions(statement)])

    def _listed(self, spec: PrincipalSpec) -> tuple[bool, bool, bool]:
        """(exact, session's role named, account) for a principal element."""
        p = self.request.principal
        names = {"aws": spec.aws, "service": spec.service, "federated": spec.federated, "canonical": spec.canonical}
        exact = p.arn in names[p.kind]
        role = p.is_session and p.identity_arn in spec.aws
        account = (
            p.kind == "aws"
            and p.account is not None
            and any(a in (p.account, f"arn:{self.partition}:iam::{p.account}:root") for a in spec.aws)
        )
        return exact, role, account

    def principal(self, policy: PolicyDocument, statement: Statement) -> PrincipalMatch[K]:
        """Principal: exact (P's own name), wildcard (``*``), capped (a session's role ARN) or
        account. NotPrincipal: capped unless P is listed in any of those ways."""
        if statement.principal is not None:
            exact, role, account = self._listed(statement.principal)
            return PrincipalMatch(exact=exact, wildcard=statement.principal.everyone, capped=role, account=account)
        if statement.not_principal is not None:
            listed = statement.not_principal.everyone or any(self._listed(statement.not_principal))
            return PrincipalMatch(exact=False, wildcard=False, capped=not listed, account=False)
        return PrincipalMatch(exact=False, wildcard=False, capped=False, account=False)


# --- Decisions --------------------------------------------------------------------------------


@dataclass
class Decision:
    """``decision``: "allowed", "explicit_deny", "implicit_deny" or "unknown"; ``reasons``: the
    deciding statements, the causes of an implicit deny, or the unsupported parts."""

    decision: str
    reasons: list[dict[str, Any]] = field(default_factory=list)


def _applicable(policies: PolicySet, facts: RequestFacts) -> list[PolicyDocument]:
    optional = (policies.boundary, policies.session, policies.resource)
    docs = [*policies.identity, *(d for d in optional if d is not None)]
    docs += [d for level in policies.scps for d in level] if facts.scps_apply else []
    docs += [d for level in policies.rcps for d in level] if facts.rcps_apply else []
    return docs


def _applies(m: ReferenceMatcher, doc: PolicyDocument, stmt: Statement, policies: PolicySet) -> K:
    """The statement matches the request (for the resource policy, its principal too; a Deny
    with NotPrincipal holds for every IAM principal with a boundary, see semantics)."""
    hit = m.statement(doc, stmt)
    if doc is policies.resource:
        bounded = policies.boundary is not None and m.request.principal.kind == "aws"
        if not (stmt.effect == "Deny" and stmt.not_principal is not None and bounded):
            hit = KLEENE.and_([hit, m.principal(doc, stmt).any(KLEENE)])
    return hit


def _ref(doc: PolicyDocument, stmt: Statement) -> dict[str, Any]:
    return {"policy": doc.label, "statement": stmt.index, "sid": stmt.sid, "effect": stmt.effect}


def _any_allow(m: ReferenceMatcher, docs: Iterable[PolicyDocument]) -> K:
    return KLEENE.or_(m.statement(d, s) for d in docs for s in d.statements if s.effect == "Allow")


def _implicit_causes(m: ReferenceMatcher, policies: PolicySet, facts: RequestFacts) -> list[dict[str, Any]]:
    """Why nothing allowed: each component of the grant that is definitely missing."""
    causes: list[dict[str, Any]] = []
    if facts.scps_apply:
        for i, level in enumerate(policies.scps):
            if _any_allow(m, level) is False:
                causes.append({"kind": "scp_level", "level": i, "detail": f"no SCP at level {i} allows the request"})
    rp = policies.resource
    statements = [s for s in (rp.statements if rp else ()) if s.effect == "Allow"]
    ways = [m.principal(rp, s) for s in statements if rp and m.statement(rp, s) is not False]
    exact, wildcard, capped, account = (
        KLEENE.or_(getattr(w, k) for w in ways) for k in ("exact", "wildcard", "capped", "account")
    )
    everyone = KLEENE.or_([wildcard, capped])
    if facts.principal_kind != "aws":
        detail = f"a {facts.principal_kind} principal has no identity policies; the resource policy grants nothing"
        return [*causes, {"kind": "no_allow", "detail": detail}]
    identity = _any_allow(m, policies.identity)
    if not facts.same_account:
        missing = [
            side
            for side, value in (("the resource policy", KLEENE.or_([exact, everyone, account])), ("identity", identity))
            if value is False
        ]
        if missing:
            detail = "cross-account access needs both the resource policy and an identity policy to allow; missing: "
            causes.append({"kind": "cross_account", "detail": detail + ", ".join(missing)})
    elif facts.resource_side_required and KLEENE.or_([exact, everyone, account]) is False:
        detail = f"{m.request.action} needs the resource policy (trust or key policy) to grant"
        causes.append({"kind": "resource_policy_required", "detail": detail})
    elif identity is False and KLEENE.or_([exact, everyone]) is False:
        causes.append({"kind": "no_allow", "detail": "no identity or resource policy allows the request"})
    for kind, doc in (("boundary", policies.boundary), ("session", policies.session)):
        if doc is not None and _any_allow(m, [doc]) is False:
            causes.append({"kind": kind, "detail": f"the {doc.label} does not allow the request"})
    return causes or [{"kind": "no_allow", "detail": "no combination of policies grants the request"}]


def decide(request: Request, policies: PolicySet, facts: RequestFacts | None = None) -> Decision:
    """Decide one request: explicit deny, allowed, implicit deny (all definite) or unknown."""
    facts = facts or facts_for(request, policies)
    m = ReferenceMatcher(request)
    verdict: Verdict[K] = evaluate(policies, facts, m)
    docs = _applicable(policies, facts)

    def hits(effect: str, within: list[PolicyDocument]) -> list[dict[str, Any]]:
        return [
            _ref(d, s)
            for d in within
            for s in d.statements
            if s.effect == effect and _applies(m, d, s, policies) is True
        ]

    if verdict.explicit_deny is True:
        return Decision("explicit_deny", hits("Deny", docs))
    if verdict.allowed is True:
        rcps = {id(d) for level in policies.rcps for d in level}
        return Decision("allowed", hits("Allow", [d for d in docs if id(d) not in rcps]))
    if verdict.explicit_deny is False and verdict.allowed is False:
        return Decision("implicit_deny", _implicit_causes(m, policies, facts))
    reasons = [
        {"kind": "unsupported", "detail": list(s.unsupported), "policy": d.label, "statement": s.index}
        for d in docs
        for s in d.statements
        if s.unsupported and m.action(s) and m.resource(s) and _applies(m, d, s, policies) is not False
    ]
    return Decision("unknown", reasons)


def decide_case(case: Case) -> Decision:
    return decide(case.request, case.policies)
