"""What compare's speed-ups must keep: witness strings decoded character for character, the
printable constraints of free context values still honoured when checked lazily, and action
classes the same partition as computed the plain way."""

from __future__ import annotations

import time
from functools import cache
from typing import Any

import z3
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.aws import reference
from simulator.aws.catalog import load_catalog
from simulator.aws.compare import WITNESS_PRINCIPAL, Deadline, _Solver, compare
from simulator.aws.encode import Z3Session, action_classes, is_printable, string_value, zstr
from simulator.aws.policy import PolicyDocument, parse_policy
from simulator.aws.request import Request, classify_principal, normalize_context
from simulator.aws.semantics import policy_allows

PATTERNS = [
    "s3:getobject", "s3:*", "s3:put*tagging", "ec2:describe*", "iam:get*", "kms:*", "lambda:invokefunction",
    "dynamodb:*", "sts:assumerole", "*", "*:get*", "s?:*", "s3:getobjekt",
]  # fmt: skip


@cache
def session() -> Z3Session:
    return Z3Session()


def doc(*statements: dict[str, Any], label: str) -> PolicyDocument:
    return parse_policy({"Version": "2012-10-17", "Statement": list(statements)}, label, kind="identity")


def allows(policy: PolicyDocument, witness: dict[str, Any]) -> bool | None:
    request = Request(
        principal=classify_principal(WITNESS_PRINCIPAL),
        action=witness["action"],
        resource=witness["resource"],
        context=normalize_context(witness["context"]),
    )
    return policy_allows(policy, reference.ReferenceMatcher(request), with_principal=False)


def test_non_ascii_condition_value_gives_a_replayed_witness() -> None:
    """The witness carries the very value the condition names (before: ``as_string`` wrote
    "\\u{43a}\\u{43e}...", the witness failed replay and the answer was unknown)."""
    grant = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}
    tagged = {**grant, "Condition": {"StringEquals": {"aws:PrincipalTag/team": "команда"}}}
    result = compare(doc(label="old"), doc(tagged, label="new"), session=session())
    assert result.relation == "more", result.to_json()
    assert result.gained
    for witness in result.gained:
        assert witness["context"]["aws:principaltag/team"] == "команда"
        assert allows(doc(tagged, label="new"), witness) is True


@settings(max_examples=60, deadline=None)
@given(st.text(st.characters(max_codepoint=0x2FFFF), max_size=12))  # z3's characters end there
def test_string_value_reads_every_character(text: str) -> None:
    value = zstr(text, session().ctx)
    assert string_value(z3.simplify(value)) == text


def test_lazy_printable_constraint_joins_when_a_model_breaks_it() -> None:
    """A model outside the printable characters is not returned: the constraint is added and
    the check repeated; unsat stays unsat."""
    c = session().ctx
    x = z3.String("lazy-x", c)
    printable = z3.InRe(x, session().printable)
    ascii_printable = z3.Star(z3.Range(" ", "~", ctx=c))
    solver = _Solver(c, [z3.Length(x) == 2, z3.Not(z3.InRe(x, ascii_printable))], [(x, printable)])
    deadline = Deadline(at=time.monotonic() + 30)
    assert solver.check(deadline) == z3.sat
    text = string_value(solver.model().eval(x, True))
    assert len(text) == 2 and is_printable(text) and not text.isascii()
    wide = z3.Star(z3.Range("\u00a0", "\ud7ff", ctx=c))
    solver.add(z3.Not(z3.InRe(x, wide)), z3.InRe(x, wide))
    assert solver.check(deadline) == z3.unsat


def test_free_context_witnesses_are_printable() -> None:
    old = doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}, label="old")
    new = doc(
        {
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": "*",
            "Condition": {"StringNotLike": {"aws:PrincipalTag/a": ["*a*", "*b*"]}},
        },
        label="new",
    )
    result = compare(new, old, session=session())
    assert result.relation == "more", result.to_json()
    for witness in result.gained:
        for value in witness["context"].values():
            for text in value if isinstance(value, list) else [value]:
                assert is_printable(text), witness


@settings(max_examples=25, deadline=None)
@given(st.sets(st.sampled_from(PATTERNS), min_size=1, max_size=6), st.booleans())
def test_action_classes_are_the_partition_by_pattern_hits(patterns: set[str], keep: bool) -> None:
    """Each class's formats and ``*`` flag are those of its members, no action is in two
    classes, classes differ in their signatures, and with unmatched actions kept every catalog
    action is in one."""
    catalog = load_catalog()
    classes = action_classes(catalog, tuple(sorted(patterns)), keep)
    known = [k for k in classes if not k.unknown]
    seen: set[str] = set()
    for k in known:
        infos = [catalog.actions[a] for a in k.actions]
        assert k.formats == tuple(sorted({f for info in infos for f in info.formats}))
        assert k.any_resource == any(info.any_resource for info in infos)
        assert list(k.actions) == sorted(k.actions)
        assert not seen & set(k.actions)
        seen |= set(k.actions)
    assert len({k.signature for k in known}) == len(known)
    if keep or "*" in patterns:
        assert seen == set(catalog.actions)


def test_lazy_printable_constraint_survives_a_pop() -> None:
    """A constraint joined inside a push is dropped by the pop, and joins again when needed."""
    c = session().ctx
    x = z3.String("lazy-y", c)
    printable = z3.InRe(x, session().printable)
    solver = _Solver(c, [z3.Length(x) == 1], [(x, printable)])
    deadline = Deadline(at=time.monotonic() + 30)
    for _ in range(2):
        solver.push()
        solver.add(z3.Not(z3.InRe(x, z3.Star(z3.Range(" ", "~", ctx=c)))))
        assert solver.check(deadline) == z3.sat
        assert is_printable(string_value(solver.model().eval(x, True)))
        solver.pop()
    solver.add(z3.Not(z3.InRe(x, z3.Star(z3.Range(" ", "\ud7ff", ctx=c)))))
    assert solver.check(deadline) == z3.unsat
