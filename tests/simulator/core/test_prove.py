"""The proof ladder against brute force: every rung it claims holds for every meaning of the
undecided construct, over every request of a small domain."""

from __future__ import annotations

import itertools

import z3
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.core import Bounds, Rung, checker, prove

VARS = ("x", "y", "z")

# A formula: a variable, the undecided construct "u", a constant, or not/and/or of formulas.
formulas = st.recursive(
    st.sampled_from([*VARS, "u", True, False]),
    lambda sub: st.tuples(st.just("not"), sub) | st.tuples(st.sampled_from(["and", "or"]), sub, sub),
    max_leaves=6,
)


def evaluate(f: object, env: dict[str, bool]) -> bool:
    if isinstance(f, bool):
        return f
    if isinstance(f, str):
        return env[f]
    assert isinstance(f, tuple)
    if f[0] == "not":
        return not evaluate(f[1], env)
    left, right = evaluate(f[1], env), evaluate(f[2], env)
    return (left and right) if f[0] == "and" else (left or right)


def encode(f: object, ctx: z3.Context, xs: dict[str, z3.BoolRef], u: bool) -> z3.BoolRef:
    if isinstance(f, bool):
        return z3.BoolVal(f, ctx=ctx)
    if isinstance(f, str):
        return z3.BoolVal(u, ctx=ctx) if f == "u" else xs[f]
    assert isinstance(f, tuple)
    if f[0] == "not":
        return z3.Not(encode(f[1], ctx, xs, u))
    parts = [encode(f[1], ctx, xs, u), encode(f[2], ctx, xs, u)]
    return z3.And(*parts) if f[0] == "and" else z3.Or(*parts)


def requests() -> list[dict[str, bool]]:
    return [dict(zip(VARS, values, strict=True)) for values in itertools.product([False, True], repeat=3)]


def truth(f: object, env: dict[str, bool]) -> set[bool]:
    """The values ``f`` takes at ``env`` over both meanings of the undecided construct."""
    return {evaluate(f, {**env, "u": u}) for u in (False, True)}


@settings(max_examples=150, deadline=None)
@given(allowed=formulas, explicit=formulas)
def test_every_rung_holds_whatever_the_undecided_construct_means(allowed: object, explicit: object) -> None:
    ctx = z3.Context()
    xs = {v: z3.Bool(v, ctx=ctx) for v in VARS}

    def surely(f: object) -> z3.BoolRef:
        return z3.And(encode(f, ctx, xs, False), encode(f, ctx, xs, True))

    def possibly(f: object) -> z3.BoolRef:
        return z3.Or(encode(f, ctx, xs, False), encode(f, ctx, xs, True))

    bounds = Bounds(
        allowed_surely=surely(allowed),
        allowed_possibly=possibly(allowed),
        explicit_surely=surely(explicit),
        explicit_possibly=possibly(explicit),
    )
    proof = prove(checker(ctx, [], 1000), bounds)
    envs = requests()
    if proof.rung is Rung.ALLOWED:
        env = {v: z3.is_true(proof.model.eval(xs[v], model_completion=True)) for v in VARS}
        assert truth(allowed, env) == {True}
    elif proof.rung is Rung.EXPLICIT_DENY:
        assert all(truth(allowed, e) == {False} and truth(explicit, e) == {True} for e in envs)
    elif proof.rung is Rung.IMPLICIT_DENY:
        assert all(truth(allowed, e) == {False} for e in envs)
        assert not all(truth(explicit, e) == {True} for e in envs)
    else:
        assert proof.rung is Rung.UNDECIDED
        # Undecided only when the undecided construct really matters to allowed.
        assert any(truth(allowed, e) == {False, True} for e in envs)
        assert not any(truth(allowed, e) == {True} for e in envs)


def test_a_deadline_already_passed_is_a_solver_answer_never_a_deny() -> None:
    ctx = z3.Context()
    x = z3.Bool("x", ctx=ctx)
    false = z3.BoolVal(False, ctx=ctx)
    bounds = Bounds(allowed_surely=false, allowed_possibly=false, explicit_surely=x, explicit_possibly=x)
    proof = prove(checker(ctx, [], 1000, deadline=0.0), bounds)
    assert proof.rung is Rung.SOLVER
    assert "deadline" in proof.detail
