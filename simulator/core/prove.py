"""The proof ladder: one place that turns four z3 terms into a decision.

Every cloud's encoder builds, over its symbolic request, bounds on two predicates:

- ``allowed``: the request is allowed (``allowed_surely`` implies it, ``allowed_possibly`` is
  implied by it);
- ``explicit``: the request is explicitly denied (``explicit_surely`` implies it,
  ``explicit_possibly`` is implied by it).

A construct the encoder cannot decide is ``False`` in the *surely* term and ``True`` in the
*possibly* term, so the ladder stays sound: it claims only what holds whatever that construct
means. The steps, each a satisfiability check under the question's domain:

1. some request with ``allowed_surely``: **allowed**, the model is the witness;
2. else some request with ``allowed_possibly``: **undecided** (an undecided construct could allow);
3. else (no request is allowed) every request with ``explicit_surely``: **explicit deny**;
4. else **implicit deny**: no request is allowed and not every one is proven explicitly denied
   (``detail`` says so when no request escapes ``explicit_possibly`` either: whether the deny is
   explicit then depends on an undecided construct, but the denial itself is proven).

A check that answers ``unknown`` (timeout, resource limit) ends the ladder as **solver** with
z3's reason; so does running past the deadline. Nothing here is cloud-specific.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import z3


class Rung(StrEnum):
    ALLOWED = "allowed"
    EXPLICIT_DENY = "explicit_deny"
    IMPLICIT_DENY = "implicit_deny"
    UNDECIDED = "undecided"
    SOLVER = "solver"


@dataclass(frozen=True, kw_only=True)
class Bounds:
    """The four terms of the ladder (see the module docstring)."""

    allowed_surely: Any
    allowed_possibly: Any
    explicit_surely: Any
    explicit_possibly: Any


@dataclass(frozen=True, kw_only=True)
class Proof:
    """Where the ladder stopped: the rung, the model for ``allowed``, z3's reason for ``solver``."""

    rung: Rung
    model: Any = None
    detail: str = ""


@dataclass(frozen=True, kw_only=True)
class Check:
    result: Any
    model: Any = None
    reason: str = ""


Checker = Callable[..., Check]


def checker(ctx: z3.Context, domain: Sequence[Any], timeout_ms: int, *, deadline: float | None = None) -> Checker:
    """A check function: satisfiability of ``domain`` (as it reads when the check runs) plus the
    given constraints, each check limited to ``timeout_ms`` and to what is left before ``deadline``
    (a ``time.monotonic()`` instant). One solver serves every check: the domain stays, each check's
    constraints are pushed and popped."""

    solver = z3.Solver(ctx=ctx)
    added = [0]  # how much of ``domain`` the solver holds (an encoder may extend it after this call)

    def check(*constraints: Any) -> Check:
        budget = timeout_ms
        if deadline is not None:
            left = int((deadline - time.monotonic()) * 1000)
            if left <= 0:
                return Check(result=z3.unknown, reason="deadline reached before the check")
            budget = min(budget, left)
        if len(domain) > added[0]:  # the domain is asserted once, shared by every check
            solver.add(*domain[added[0] :])
            added[0] = len(domain)
        solver.set("timeout", max(1, budget))
        solver.push()
        try:
            solver.add(*constraints)
            result = solver.check()
            if result == z3.sat:
                return Check(result=result, model=solver.model())
            return Check(result=result, reason="" if result == z3.unsat else solver.reason_unknown())
        finally:
            solver.pop()

    return check


def prove(check: Checker, bounds: Bounds) -> Proof:
    """Run the ladder (module docstring) with ``check``."""
    first = check(bounds.allowed_surely)
    if first.result == z3.sat:
        return Proof(rung=Rung.ALLOWED, model=first.model)
    if first.result != z3.unsat:
        return Proof(rung=Rung.SOLVER, detail=first.reason)
    possibly = check(bounds.allowed_possibly)
    if possibly.result == z3.sat:
        return Proof(rung=Rung.UNDECIDED, detail="an undecided construct could allow the request")
    if possibly.result != z3.unsat:
        return Proof(rung=Rung.SOLVER, detail=possibly.reason)
    escape = check(z3.Not(bounds.explicit_surely))
    if escape.result == z3.unsat:
        return Proof(rung=Rung.EXPLICIT_DENY)
    if escape.result != z3.sat:
        return Proof(rung=Rung.SOLVER, detail=escape.reason)
    implicit = check(z3.Not(bounds.explicit_possibly))
    if implicit.result == z3.unsat:
        return Proof(rung=Rung.IMPLICIT_DENY, detail="denied; an explicit deny may also apply (undecided construct)")
    return Proof(rung=Rung.IMPLICIT_DENY)
