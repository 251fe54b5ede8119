"""Differential tests: the z3 encoding against the reference evaluator on generated cases, drawn
from small pools of real and custom roles, assignments (with ABAC conditions rendered as text and
parsed back), deny assignments and requests.

- With the request's attributes fixed, both engines reach the same decision.
- With ``any_context``, an ``allowed`` answer's witness replays as allowed through the reference.
- With ``any_context``, a deny holds for every sampled (single-valued) context: the reference
  denies each one, explicitly so when the smt answer is ``explicit_deny``.
- No answer carries an ``internal`` reason (the encoder and the reference disagreed).
- Each comparison operator (strings, GUIDs, every cross-product quantifier) and each RBAC action
  pattern, in z3 and in the reference, on every sampled value.
"""

from __future__ import annotations

import itertools
from typing import Any

import z3
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulator.azure import encode, reference
from simulator.azure.abac import Compare, action_matches, evaluate_compare, parse_condition, unicode_cased
from simulator.azure.encode import Encoder, action_regex
from simulator.azure.rbac import Applicable, AppliedAssignment, Request, normalize_attributes
from simulator.azure.reference import Verdict
from simulator.core import ReasonKind
from tests.simulator.azure.helpers import (
    ACCOUNT,
    ALICE,
    BLOB_READ,
    BOB,
    CONTAINER,
    CONTAINER_NAME,
    EVERYONE,
    GROUP,
    RG,
    SUB,
    assignment,
    custom_role,
    deny_assignment,
    role,
    scope_path,
)

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TAG = "@Resource[Microsoft.Storage/storageAccounts/blobServices/containers/blobs/tags:Project<$key_case_sensitive$>]"
REQ_TAG = "@Request[Microsoft.Storage/storageAccounts/blobServices/containers/blobs/tags:Project<$key_case_sensitive$>]"
ROLE_ID = "@Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId]"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
GUIDS = (READER, READER.upper(), OWNER, "ba92f5b4-2d11-453d-a403-e96b0029c9fe")
ATTRIBUTES = (CONTAINER_NAME, TAG, REQ_TAG, ROLE_ID)
VALUES = ("a", "ab", "AB", "b", "", "a*", "x?z", "logs", "Ab", "xyz", "Éa", "éa")
GUID_VALUES = (READER, READER.upper(), OWNER, OWNER.upper(), "acdd72a7", "", "x")
PATTERNS = ("a?", "a", "A*", "ab", "a*", "*b", "?", "a\\*", "", "LOGS", "l*s", "?b*", "x\\?z", "éA*")
OPERATIONS = (
    (BLOB_READ, True),
    ("Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write", True),
    ("Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete", True),
    ("Microsoft.Storage/storageAccounts/blobServices/containers/read", False),
    ("Microsoft.Storage/storageAccounts/delete", False),
    ("Microsoft.Authorization/roleAssignments/write", False),
)
ROLES = [
    role("Owner"),
    role("Contributor"),
    role("Reader"),
    role("Storage Blob Data Reader"),
    role("Storage Blob Data Contributor"),
    role("Storage Blob Data Owner"),
    custom_role("No Delete", "7e0c0b0a-0000-4000-8000-000000000001", actions=["Microsoft.Storage/*"],
                notActions=["*/delete"], dataActions=["*"], notDataActions=["*/blobs/delete"]),
    custom_role("Blob Writer", "7e0c0b0a-0000-4000-8000-000000000002",
                dataActions=["microsoft.storage/storageaccounts/blobservices/containers/blobs/WRITE"]),
]  # fmt: skip
DATA_ROLES = [r for r in ROLES if any(b["dataActions"] for b in r["permissions"])]
SCOPES = ("/", f"/subscriptions/{SUB}", RG, ACCOUNT, CONTAINER, "/subscriptions/other")
QUANTIFIERS = ("ForAnyOfAnyValues", "ForAllOfAnyValues", "ForAnyOfAllValues", "ForAllOfAllValues")
GUID_OPERATORS = ("GuidEquals", "GuidNotEquals")
ACTION_PATTERNS = (
    "*", "*/read", "Microsoft.Storage/*", "Microsoft.Storage/storageAccounts/*/containers/read",
    "microsoft.storage/storageaccounts/blobservices/*/blobs/*", "Microsoft.Storage/*/*/delete", "*/blobs/*",
    "Microsoft.Storage/storageAccounts/blobServices/containers/*/read", "Microsoft.Authorization/*/write",
    "Microsoft.Storage/storageAccounts*", "*/*/*", "a/*/b", "a/*/*/b",
)  # fmt: skip
OPERATORS = (
    "StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase", "StringLike",
    "StringNotLike", "StringLikeIgnoreCase", "StringStartsWith", "StringNotStartsWith", "StringStartsWithIgnoreCase",
)  # fmt: skip


def quote(text: str) -> str:
    return f"'{text}'"


def atoms(operation: str) -> st.SearchStrategy[str]:
    plain = st.builds(
        lambda a, op, v: f"{a} {op} {quote(v)}", st.sampled_from(ATTRIBUTES), st.sampled_from(OPERATORS),
        st.sampled_from(PATTERNS),
    )  # fmt: skip
    cross = st.builds(
        lambda a, q, op, vs: f"{a} {q}:{op} {{{', '.join(quote(v) for v in vs)}}}",
        st.sampled_from(ATTRIBUTES),
        st.sampled_from(QUANTIFIERS),
        st.sampled_from(OPERATORS),
        st.lists(st.sampled_from(PATTERNS), min_size=1, max_size=3),
    )
    guid = st.builds(
        lambda a, op, g, q: f"{a} {op} {quote(g) if q else g}",
        st.sampled_from([ROLE_ID, ROLE_ID, CONTAINER_NAME]),
        st.sampled_from(GUID_OPERATORS),
        st.sampled_from(GUIDS),
        st.booleans(),
    )
    guid_cross = st.builds(
        lambda a, q, op, gs: f"{a} {q}:{op} {{{', '.join(gs)}}}",
        st.sampled_from([ROLE_ID, ROLE_ID, TAG]),
        st.sampled_from(QUANTIFIERS),
        st.sampled_from(GUID_OPERATORS),
        st.lists(st.sampled_from(GUIDS), min_size=1, max_size=3),
    )
    action = st.builds(
        lambda p: f"ActionMatches{{{quote(p)}}}",
        st.sampled_from([op for op, _ in OPERATIONS] + list(ACTION_PATTERNS)),
    )
    other = st.sampled_from(
        [
            "SubOperationMatches{'Blob.List'}",
            "@Environment[isPrivateLink] BoolEquals true",
            "@Principal[Microsoft.Directory/CustomSecurityAttributes/Id:Dept] StringEquals 'x'",
        ]
    )
    return st.one_of(plain, plain, plain, cross, guid, guid_cross, action, other)


def actions(operation: str) -> st.SearchStrategy[str]:
    """Mostly the request's own operation (so that conditions targeting it are reached)."""
    return st.sampled_from([operation, operation, operation.upper(), "*/blobs/*", *(op for op, _ in OPERATIONS)])


def conditions(operation: str) -> st.SearchStrategy[str]:
    def combine(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        joined = st.builds(
            lambda items, op: "(" + f" {op} ".join(items) + ")",
            st.lists(children, min_size=2, max_size=3),
            st.sampled_from(["AND", "OR", "&&", "||"]),
        )
        negated = st.builds(lambda c, op: f"{op}({c})", children, st.sampled_from(["!", "NOT "]))
        return st.one_of(joined, negated)

    common = st.builds(
        lambda op, e: f"((!(ActionMatches{{{quote(op)}}})) OR ({e}))", actions(operation), atoms(operation)
    )
    return st.one_of(common, common, st.recursive(atoms(operation), combine, max_leaves=5))


@st.composite
def cases(draw: st.DrawFn) -> tuple[Request, Applicable]:
    """Mostly assignments that apply to ALICE at the resource's scopes, mostly with conditions."""
    principals = st.sampled_from([ALICE, ALICE, ALICE, GROUP, BOB])
    scopes = st.sampled_from([*SCOPES[:4], *SCOPES])
    operation, data = draw(st.sampled_from(OPERATIONS))
    pairs = []
    for i in range(draw(st.integers(1, 3))):
        definition = draw(st.sampled_from(DATA_ROLES if data and draw(st.booleans()) else ROLES))
        condition = draw(st.none() | conditions(operation) | conditions(operation))
        doc = assignment(f"a{i}", draw(principals), definition, draw(scopes), condition=condition)
        known = draw(st.integers(0, 15)) > 0
        pairs.append(AppliedAssignment(assignment=doc, role_definition=definition if known else None))
    denies = []
    for i in range(draw(st.integers(0, 1))):
        doc = deny_assignment(
            f"d{i}",
            draw(st.sampled_from(SCOPES[1:])),
            actions=draw(st.sampled_from([["*"], ["*/delete"], []])),
            not_actions=draw(st.sampled_from([[], ["*/read"]])),
            data_actions=draw(st.sampled_from([[], ["*/blobs/write"], ["*"]])),
            principals=[draw(st.sampled_from([(EVERYONE, "SystemDefined"), (ALICE, "User"), (GROUP, "Group")]))],
            exclude=draw(st.sampled_from([[], [(GROUP, "Group")], [(BOB, "User")]])),
            children=draw(st.booleans()),
        )
        if draw(st.booleans()):
            doc["condition"], doc["conditionVersion"] = draw(conditions(operation)), "2.0"
        denies.append(doc)
    resource = draw(st.sampled_from([CONTAINER, CONTAINER, ACCOUNT, RG]))
    request = Request(
        principal=ALICE,
        operation=operation,
        resource=resource,
        data_action=data,
        sub_operation=draw(st.sampled_from([None, None, "Blob.List"])),
        attributes=draw(attribute_values(multi=True)),
    )
    groups = draw(st.sampled_from([(), (GROUP,)]))
    return request, Applicable(
        scope_path=scope_path(resource), assignments=tuple(pairs), deny_assignments=tuple(denies), groups=groups
    )


def attribute_values(*, multi: bool) -> st.SearchStrategy[dict[str, tuple[str, ...]]]:
    single = st.sampled_from(VALUES + PATTERNS + GUID_VALUES).map(lambda v: (v,))
    several = st.lists(st.sampled_from(VALUES), min_size=2, max_size=2).map(tuple)
    value = st.one_of(single, single, single, several) if multi else single
    raw = st.dictionaries(st.sampled_from(ATTRIBUTES), value, max_size=3)
    return raw.map(lambda d: normalize_attributes({k: list(v) for k, v in d.items()}))


def no_internal(verdict: Verdict) -> None:
    assert not [r for r in verdict.reasons if r.kind is ReasonKind.INTERNAL], verdict.reasons


def strip(request: Request, keep: dict[str, Any]) -> Request:
    return Request(
        principal=request.principal,
        operation=request.operation,
        resource=request.resource,
        data_action=request.data_action,
        sub_operation=request.sub_operation,
        attributes=keep,
    )


@SETTINGS
@given(cases())
def test_fixed_context_agrees(case: tuple[Request, Applicable]) -> None:
    request, applicable = case
    ref = reference.decide(request, applicable)
    smt = encode.decide_smt(request, applicable, any_context=False)
    assert smt.decision == ref.decision, (smt.reasons, ref.reasons)
    no_internal(smt)


@SETTINGS
@given(cases(), st.data())
def test_any_context_witnesses_and_denials(case: tuple[Request, Applicable], data: st.DataObject) -> None:
    request, applicable = case
    request = strip(request, {})
    smt = encode.decide_smt(request, applicable, any_context=True)
    no_internal(smt)
    if smt.decision == "allowed":
        assert smt.witness is not None
        assert smt.witness.plane == ("data" if request.data_action else "control")
        replay = strip(request, normalize_attributes(smt.witness.context))
        assert reference.decide(replay, applicable).decision == "allowed"
    elif smt.decision in ("explicit_deny", "implicit_deny"):
        for _ in range(5):
            sample = strip(request, data.draw(attribute_values(multi=False)))
            decision = reference.decide(sample, applicable).decision
            assert decision in ("explicit_deny", "implicit_deny"), (sample, decision)
            if smt.decision == "explicit_deny":
                assert decision == "explicit_deny"
    # A fixed context allowed by the reference is a context the any-context question must allow.
    for _ in range(3):
        fixed = strip(request, data.draw(attribute_values(multi=False)))
        if reference.decide(fixed, applicable).decision == "allowed":
            assert smt.decision == "allowed"


def comparisons_to_check() -> list[str]:
    """Every string operator plain and under every quantifier, and the GUID operators likewise."""
    texts = []
    for prefix, operator, pattern in itertools.product(["", "ForAnyOfAnyValues:"], OPERATORS, PATTERNS):
        rhs = f"{{{quote(pattern)}, 'ab'}}" if prefix else quote(pattern)
        texts.append(f"{CONTAINER_NAME} {prefix}{operator} {rhs}")
    # The other quantifiers combine the same pairwise comparisons: a sample of patterns each.
    for q, operator, pattern in itertools.product(QUANTIFIERS[1:], OPERATORS, PATTERNS[::3]):
        texts.append(f"{CONTAINER_NAME} {q}:{operator} {{{quote(pattern)}, 'ab'}}")
    for operator, guid in itertools.product(GUID_OPERATORS, GUIDS):
        texts += [f"{ROLE_ID} {operator} {guid}", f"{ROLE_ID} {operator} {quote(guid)}"]
        for q in QUANTIFIERS:
            texts += [f"{ROLE_ID} {q}:{operator} {{{guid}, {OWNER}}}", f"{ROLE_ID} {q}:{operator} {{{guid}}}"]
    return texts


def test_every_comparison_matches_the_reference() -> None:
    """Each operator, quantifier, pattern and value (and an absent attribute), decided by z3 and by
    the reference: the z3 (lo, hi) pair must bracket the reference's three-valued result exactly."""
    request = Request(principal=ALICE, operation=BLOB_READ, resource=CONTAINER, data_action=True)
    for text in comparisons_to_check():
        node = parse_condition(text)
        assert isinstance(node, Compare), (text, node)
        enc = Encoder(request, any_context=True, extra_chars="".join([*PATTERNS, *VALUES]))
        lo, hi = enc.condition(node)
        present, value = enc.variables(node.attr.key)
        solver = z3.Solver(ctx=enc.ctx)
        solver.add(*enc.domain)
        samples = GUID_VALUES if "Guid" in text else (*VALUES, *PATTERNS)
        for sample in [None, *samples]:
            expected = evaluate_compare(node, () if sample is None else (sample,))
            fix = z3.Not(present) if sample is None else z3.And(present, value == z3.StringVal(sample, ctx=enc.ctx))
            got = (solver.check(fix, lo) == z3.sat, solver.check(fix, hi) == z3.sat)
            want = {True: (True, True), False: (False, False), None: (False, True)}[expected]
            if node.ignore_case and unicode_cased(text):
                # not encoded: z3 may only be less precise, never wrong
                assert (not got[0] or want[0]) and (not want[1] or got[1]), (node.text, sample, got, expected)
            else:
                assert got == want, (node.text, sample, got, expected)


OPERATION_NAMES = [
    *(op for op, _ in OPERATIONS),
    "Microsoft.Storage/storageAccounts/containers/read",
    "Microsoft.Storage/storageAccounts/x/y/containers/read",
    "Microsoft.Storage/storageAccounts/blobServices/read",
    "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action",
    "a/b",
    "a//b",
    "a/x/y/b",
    "ab",
    "a/bb",
]


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(ACTION_PATTERNS) | st.lists(st.sampled_from(["a", "b", "/", "*", "x"]), max_size=7).map("".join),
    st.sampled_from(OPERATION_NAMES) | st.lists(st.sampled_from(["a", "b", "/", "x"]), max_size=7).map("".join),
)
def test_action_patterns_agree_with_the_reference(pattern: str, operation: str) -> None:
    ctx = z3.Context()
    term = z3.InRe(z3.StringVal(operation.lower(), ctx=ctx), action_regex(pattern, ctx))
    solver = z3.Solver(ctx=ctx)
    assert (solver.check(term) == z3.sat) == action_matches(pattern, operation), (pattern, operation)
