"""The statement matcher: :class:`semantics.Matcher` over z3 terms for a :class:`Question`.

A statement matches where its variables resolve (AWS makes a statement with an unresolvable
variable invalid: it neither allows nor denies), and its action, resource and conditions match;
its Principal element is matched separately (:meth:`Z3Matcher.principal`). Each statement and each
distinct condition is encoded once per question. A statement with a construct the encoding does
not decide (:class:`~simulator.aws.question.Unsupported`: a key used with operators of two typed
families while free, a variable inside an IgnoreCase comparison on a free key) is *unsupported*:
it never matches for the lower bound, and matches when its action and resource do for the upper
one (see semantics.py).
"""

from __future__ import annotations

from typing import Any

import z3

from simulator.aws.context_keys import Slot
from simulator.aws.policy import Condition, PolicyDocument, Statement
from simulator.aws.principals import principal_match
from simulator.aws.question import Question, Unsupported
from simulator.aws.request import Principal
from simulator.aws.semantics import Algebra, PrincipalMatch
from simulator.aws.values import (
    parse_bool,
    parse_cidr,
    parse_date,
    parse_number,
)
from simulator.core.z3text import zstr


class Z3Matcher:
    """:class:`semantics.Matcher` over z3 terms for a :class:`Question`."""

    def __init__(self, q: Question) -> None:
        self.q = q
        self.alg: Algebra[Any] = q
        self.unsupported: list[str] = []

    def statement(self, policy: PolicyDocument, stmt: Statement, bound: str) -> Any:
        """The statement matches the request. ``bound`` says what an unsupported statement
        counts as ("lo": never matches, "hi": matches when its action and resource do); a
        supported one is encoded once for both."""
        # Kept by the statement's matching elements when the bound does not matter (a statement
        # both documents of a comparison hold is encoded once), else by (policy, statement, bound).
        # What the parser could not read is part of the key: it is not in the elements.
        content = (
            stmt.actions,
            stmt.not_actions,
            stmt.resources,
            stmt.not_resources,
            stmt.conditions,
            stmt.unsupported,
        )
        key: tuple[Any, ...] = ("content", *content)
        cached = self.q._stmt_cache.get(key)
        if cached is None:
            key = (id(policy), stmt.index, bound)
            cached = self.q._stmt_cache.get(key)
        if cached is not None:
            return cached
        q = self.q
        q.check_deadline(f"encoding {policy.label} ({len(policy.statements)} statements)")
        action = (
            q.action_matches(stmt.actions)
            if stmt.actions is not None
            else q.not_(q.action_matches(stmt.not_actions or ()))
        )
        if z3.is_false(action):
            result = q.FALSE
            key = ("content", *content)
        else:
            reasons = list(stmt.unsupported)
            valid = q.and_(q.variable_guard(v) for v in stmt.variables)
            try:
                resource = self._resource(stmt)
                conditions = [self._condition(c) for c in stmt.conditions]
            except Unsupported as exc:
                reasons.append(str(exc))
                resource, conditions = q.TRUE, []
            if reasons:
                self.unsupported.extend(f"{policy.label} {stmt.label}: {r}" for r in reasons)
                result = q.and_([valid, action, resource, q.TRUE if bound == "hi" else q.FALSE])
            else:
                result = q.and_([valid, action, resource, *conditions])
                key = ("content", *content)
        q._stmt_cache[key] = result
        return result

    def _resource(self, stmt: Statement) -> Any:
        q = self.q
        if stmt.resources is not None:
            return q.element_matches(stmt.resources)
        if stmt.not_resources is not None:
            return q.not_(q.element_matches(stmt.not_resources))
        return q.TRUE

    def principal(self, policy: PolicyDocument, stmt: Statement) -> PrincipalMatch[Any]:
        q = self.q
        key = (id(policy), stmt.index)
        if key in q._principal_cache:
            return q._principal_cache[key]
        if q.principal_candidates:
            matches = [principal_match(p, stmt) for p in q.principal_candidates]
            ways = [q.or_(q.principal_var == i for i, m in enumerate(matches) if m[n]) for n in range(4)]
        else:
            assert q.principal is not None
            ways = list(principal_terms(q, q.principal, stmt))
        result = PrincipalMatch(exact=ways[0], wildcard=ways[1], capped=ways[2], account=ways[3])
        q._principal_cache[key] = result
        return result

    # -- conditions --

    def _condition(self, cond: Condition) -> Any:
        cached = self.q._condition_cache.get(cond)
        if cached is None:
            cached = self.q._condition_cache[cond] = self._encode_condition(cond)
        return cached

    def _encode_condition(self, cond: Condition) -> Any:
        q = self.q
        var = q.key(cond.key)
        present = var.count >= 1
        if cond.family == "null":
            wants = [parse_bool(v) for v in cond.values]
            return q.or_(q.not_(present) if w else present for w in wants if w is not None)
        if var.free:
            family = "string" if cond.family in ("string", "arn", "binary") else cond.family
            if family != var.sort and not (var.sort == "epoch" and family in ("numeric", "date")):
                raise Unsupported(f"{cond.operator} on {cond.key}, a {var.sort} key")
        slot_terms = [self._per_value(cond, slot) for slot in var.slots]
        in_use = [(z3.IntVal(i, q.ctx) < var.count) if var.free else q.TRUE for i in range(len(var.slots))]
        some = q.or_(q.and_([use, t]) for use, t in zip(in_use, slot_terms, strict=True))
        every = q.and_(z3.Implies(use, t) if var.free else t for use, t in zip(in_use, slot_terms, strict=True))
        if cond.qualifier == "all":
            return q.or_([q.not_(present), every]) if var.free else (q.TRUE if not var.slots else every)
        absent_value = q.TRUE if cond.if_exists or (cond.negated and cond.qualifier is None) else q.FALSE
        if not var.free:
            return absent_value if not var.slots else some
        return z3.If(present, some, absent_value)

    def _per_value(self, cond: Condition, slot: Slot) -> Any:
        q = self.q
        if cond.family in ("string", "arn"):
            hits = []
            for pattern in cond.patterns:
                if cond.family == "arn":
                    hits.append(q.matches_pattern(slot.text, pattern, arn=True))
                elif cond.test == "equals_ignore_case":
                    hits.append(q.matches_pattern(slot.text, pattern, ignore_case=True))
                else:
                    hits.append(q.matches_pattern(slot.text, pattern))
        elif cond.family == "binary":
            hits = [slot.text == zstr(v, q.ctx) for v in cond.values]
        else:
            hits = [self._typed(cond, slot, v) for v in cond.values]
        any_hit = q.or_(hits)
        return q.not_(any_hit) if cond.negated else any_hit

    def _typed(self, cond: Condition, slot: Slot, policy_value: str) -> Any:
        q = self.q
        c = q.ctx
        valid, value = slot.typed[cond.family]
        if cond.family == "bool":
            flag = parse_bool(policy_value)
            return q.FALSE if flag is None else q.and_([valid, value == z3.BoolVal(flag, c)])
        if cond.family == "ip":
            cidr = parse_cidr(policy_value)
            if cidr is None:
                return q.FALSE
            version, bits = value
            shift = 128 - cidr.prefix if cidr.version == 6 else 32 - cidr.prefix
            network = z3.BitVecVal(cidr.network, 128, c)
            same = z3.LShR(bits, shift) == z3.LShR(network, shift)
            return q.and_([valid, version == cidr.version, same])
        if cond.family == "numeric":
            number = parse_number(policy_value)
            if number is None:
                return q.FALSE
            target = number * q.numeric_scale
            if target.denominator != 1:
                raise Unsupported(f"numeric value {policy_value} finer than the encoding's scale")
            rhs = z3.IntVal(int(target), c)
        else:
            date = parse_date(policy_value)
            if date is None:
                return q.FALSE
            rhs = z3.IntVal(date, c)
        compare = {"eq": value == rhs, "lt": value < rhs, "le": value <= rhs, "gt": value > rhs, "ge": value >= rhs}
        return q.and_([valid, compare[cond.test]])


def principal_terms(q: Question, p: Principal, stmt: Statement) -> tuple[Any, Any, Any, Any]:
    """(exact, wildcard, capped, account) for a concrete principal (see
    :class:`semantics.PrincipalMatch`), as z3 constants."""
    exact, wildcard, capped, account = (q.TRUE if way else q.FALSE for way in principal_match(p, stmt))
    return exact, wildcard, capped, account
