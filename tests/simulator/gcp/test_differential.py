"""Differential tests: the z3 encoding against the reference evaluator on generated cases.

Cases are drawn from small pools (members, roles, permissions, times, resource names), with
conditions generated as CEL text (so the parser is exercised too), including unsupported parts.

- time fixed: the encoding reaches exactly the reference's decision;
- time free, allowed: the witness time replays as allowed through the reference;
- time free, denied: the reference denies (the same kind for explicit_deny) at a sample of times;
  and if the reference allows at any sampled time, the encoding says allowed;
- name free under a prefix, allowed: the witness name has the prefix and replays as allowed.

The principals include sets and identities no snapshot lists (``allAuthenticatedUsers``,
``domain:``, a group, GKE members in both spellings), and roles may be disabled, so the
external-member and disabled-role rules are covered on both sides.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import z3
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulator.core import ReasonKind
from simulator.gcp import cel, encode, reference
from simulator.gcp.encode import decide_smt
from simulator.gcp.reference import Outcome, PolicySet, Request, decide

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

SA = "serviceAccount:app@p1.iam.gserviceaccount.com"
ALICE = "user:alice@example.com"
POOL = "projects/42/locations/global/workloadIdentityPools/gh"
WIF = f"principal://iam.googleapis.com/{POOL}/subject/repo:a/b"
GKE_POOL = "projects/42/locations/global/workloadIdentityPools/p1.svc.id.goog"
GKE = "serviceAccount:p1.svc.id.goog[web/frontend]"
GKE_NEW = f"principal://iam.googleapis.com/{GKE_POOL}/subject/ns/web/sa/frontend"
PRINCIPALS = [SA, ALICE, WIF, "allUsers", "allAuthenticatedUsers", "domain:example.com", GKE, GKE_NEW]
MEMBERS = [
    SA,
    ALICE,
    WIF,
    GKE,
    GKE_NEW,
    f"principalSet://iam.googleapis.com/{GKE_POOL}/namespace/web",
    f"principalSet://iam.googleapis.com/{GKE_POOL}/namespace/batch",
    f"principalSet://iam.googleapis.com/{GKE_POOL}/kubernetes.cluster/https://container.googleapis.com/c",
    "principalSet://cloudresourcemanager.googleapis.com/projects/42/type/ServiceAccount",
    "principalSet://cloudresourcemanager.googleapis.com/folders/7/type/ServiceAccount",
    "user:bob@example.org",
    "group:devs@example.com",
    "group:ops@example.com",
    "domain:example.com",
    "allUsers",
    "allAuthenticatedUsers",
    f"principalSet://iam.googleapis.com/{POOL}/*",
    f"principalSet://iam.googleapis.com/{POOL}/attribute.repo/a",
    f"deleted:{SA}?uid=1",
]
DENY_PRINCIPALS = [
    "principalSet://goog/public:all",
    "principal://goog/subject/alice@example.com",
    "principal://iam.googleapis.com/projects/-/serviceAccounts/app@p1.iam.gserviceaccount.com",
    "principalSet://goog/group/devs@example.com",
    "principalSet://goog/group/ops@example.com",
    f"principalSet://iam.googleapis.com/{POOL}/*",
    "principalSet://goog/cloudIdentityCustomerId/C01",
    GKE_NEW,
    f"principalSet://iam.googleapis.com/{GKE_POOL}/namespace/web",
    f"principalSet://iam.googleapis.com/{GKE_POOL}/*",
    "principalSet://cloudresourcemanager.googleapis.com/organizations/1/type/ServiceAccount",
]
PERMISSIONS = ["storage.objects.get", "storage.objects.delete", "iam.serviceAccounts.getAccessToken"]
ROLES = {
    "roles/viewer": frozenset({"storage.objects.get"}),
    "roles/admin": frozenset(PERMISSIONS),
    "roles/tokens": frozenset({"iam.serviceAccounts.getAccessToken"}),
}
ROLE_NAMES = [*ROLES, "roles/missing"]
DENY_PERMISSIONS = [
    "storage.googleapis.com/*",
    "storage.googleapis.com/objects.delete",
    "storage.googleapis.com/objects.get",
    "iam.googleapis.com/serviceAccounts.*",
    "*.googleapis.com/*",
]
TIMES = [datetime(y, m, 1, tzinfo=UTC) for y, m in ((2020, 1), (2024, 6), (2025, 1), (2026, 1), (2030, 7))]
NAMES = [
    "projects/_/buckets/logs/objects/a.txt",
    "projects/_/buckets/logs/objects/b.csv",
    "projects/_/buckets/data/objects/a.txt",
    "projects/p1",
]
FRAGMENTS = ["projects/_/buckets/logs/", "projects/_/buckets/", ".txt", "a.txt", "projects/p1", "logs"]
NODES = ["projects/p1", "folders/7", "organizations/1"]
#: One verdict cache shared by all examples, as who-can shares one between principals.
VERDICTS: dict[Any, encode.Verdict] = {}


def internal(outcome: Outcome) -> bool:
    """Whether the encoding and the reference evaluator disagreed (a bug)."""
    return any(r.kind is ReasonKind.INTERNAL for r in outcome.reasons)


def _ts(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def _leaf() -> st.SearchStrategy[str]:
    time_cmp = st.builds(
        lambda op, at, flip: (
            f'timestamp("{_ts(at)}") {_flip(op)} request.time' if flip else f'request.time {op} timestamp("{_ts(at)}")'
        ),
        st.sampled_from(["<", "<=", ">", ">=", "==", "!="]),
        st.sampled_from(TIMES),
        st.booleans(),
    )
    name_call = st.builds(
        lambda fn, frag: f'resource.name.{fn}("{frag}")',
        st.sampled_from(["startsWith", "endsWith"]),
        st.sampled_from(FRAGMENTS),
    )
    name_eq = st.builds(
        lambda op, value: f'resource.name {op} "{value}"', st.sampled_from(["==", "!="]), st.sampled_from(NAMES)
    )
    extract = st.builds(
        lambda op, value: f'resource.name.extract("/buckets/{{b}}/") {op} "{value}"',
        st.sampled_from(["==", "!="]),
        st.sampled_from(["logs", "data", ""]),
    )
    other = st.sampled_from(
        [
            'resource.type == "storage.googleapis.com/Object"',
            'resource.service != "storage.googleapis.com"',
            "true",
            "false",
            'request.auth.claims.email == "x"',
            'api.getAttribute("a", "") == "b"',
        ]
    )
    return st.one_of(time_cmp, time_cmp, time_cmp, time_cmp, name_call, name_eq, extract, other)


def _flip(op: str) -> str:
    return {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}[op]


conditions = st.recursive(
    _leaf(),
    lambda inner: st.one_of(
        st.builds(lambda a, b: f"({a}) && ({b})", inner, inner),
        st.builds(lambda a, b: f"({a}) || ({b})", inner, inner),
        st.builds(lambda a: f"!({a})", inner),
    ),
    max_leaves=5,
)


@st.composite
def bindings(draw: Any, principal: str) -> dict[str, Any]:
    members = st.one_of(st.just(principal), st.just(principal), st.sampled_from(MEMBERS))
    out: dict[str, Any] = {
        "role": draw(st.sampled_from(ROLE_NAMES)),
        "members": draw(st.lists(members, min_size=1, max_size=2, unique=True)),
    }
    if draw(st.integers(0, 3)):
        out["condition"] = {"title": "c", "expression": draw(conditions)}
    return out


@st.composite
def deny_rules(draw: Any) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "deniedPrincipals": draw(st.lists(st.sampled_from(DENY_PRINCIPALS), min_size=1, max_size=2, unique=True)),
        "deniedPermissions": draw(st.lists(st.sampled_from(DENY_PERMISSIONS), min_size=1, max_size=2, unique=True)),
    }
    if draw(st.integers(0, 3)) == 0:
        rule["exceptionPrincipals"] = draw(st.lists(st.sampled_from(DENY_PRINCIPALS), max_size=1))
    if draw(st.integers(0, 3)) == 0:
        rule["exceptionPermissions"] = draw(st.lists(st.sampled_from(DENY_PERMISSIONS), max_size=1))
    if draw(st.booleans()):
        rule["denialCondition"] = {"expression": draw(conditions)}
    return {"denyRule": rule}


@st.composite
def cases(draw: Any) -> tuple[Request, PolicySet]:
    principal = draw(st.sampled_from(PRINCIPALS))
    allow = tuple(
        (node, {"version": 3, "bindings": draw(st.lists(bindings(principal), min_size=node == NODES[0], max_size=2))})
        for node in NODES
    )
    rules = draw(st.lists(deny_rules(), max_size=2))
    deny = (("organizations/1", {"name": "policies/org/denypolicies/d", "rules": rules}),) if rules else ()
    policies = PolicySet(
        allow=allow,
        deny=deny,
        roles=ROLES,
        groups=frozenset(draw(st.lists(st.sampled_from(["group:devs@example.com"]), max_size=1))),
        unknown_groups=frozenset(draw(st.lists(st.sampled_from(["group:ops@example.com"]), max_size=1))),
        disabled=draw(st.integers(0, 9)) == 9,
        disabled_roles=frozenset(draw(st.lists(st.sampled_from(ROLE_NAMES), max_size=2))),
        sa_ancestry=draw(
            st.sampled_from(
                [
                    None,
                    frozenset({"projects/42", "folders/7", "organizations/1"}),
                    frozenset({"projects/9", "organizations/1"}),
                ]
            )
        ),
    )
    base = draw(st.sampled_from(TIMES))
    offset = draw(st.sampled_from([0, 0, -1, 1, -86_400_000_000, 86_400_000_000]))
    request = Request(
        principal=principal,
        permission=draw(st.sampled_from(PERMISSIONS)),
        resource="//storage.googleapis.com/projects/_/buckets/logs",
        time=base + timedelta(microseconds=offset),
        name=draw(st.sampled_from(NAMES)),
        type="storage.googleapis.com/Object",
        service="storage.googleapis.com",
    )
    return request, policies


def _sample_times(request: Request) -> list[datetime]:
    out = {request.time} if request.time else set()
    for t in TIMES:
        out |= {t - timedelta(microseconds=1), t, t + timedelta(microseconds=1)}
    out |= {datetime(1975, 1, 1, tzinfo=UTC), datetime(2099, 1, 1, tzinfo=UTC)}
    return sorted(out)


def _replace_time(request: Request, at: datetime) -> Request:
    return Request(
        request.principal, request.permission, request.resource, at, request.name, request.type, request.service
    )


@settings(SETTINGS, max_examples=60)
@given(cases())
def test_time_fixed_agrees_with_the_reference(case: tuple[Request, PolicySet]) -> None:
    """At the request's time and exactly at every timestamp the conditions use (the boundaries)."""
    request, policies = case
    for at in [request.time, *TIMES]:
        assert at is not None
        fixed = _replace_time(request, at)
        ref = decide(fixed, policies)
        smt = decide_smt(fixed, policies, always_solve=True)
        assert not internal(smt), smt
        assert smt.decision == ref.decision, (at, smt, ref)


@settings(SETTINGS, max_examples=200)
@given(cases())
def test_time_free(case: tuple[Request, PolicySet]) -> None:
    request, policies = case
    smt = decide_smt(request, policies, any_time=True, always_solve=True)
    # the closed-question short cut and the verdict cache answer the same
    assert decide_smt(request, policies, any_time=True, cache=VERDICTS).decision == smt.decision
    assert not internal(smt), smt
    samples = {t: decide(_replace_time(request, t), policies).decision for t in _sample_times(request)}
    if smt.decision == "allowed":
        assert smt.witness is not None
        at = datetime.fromisoformat(smt.witness.context["request.time"][0].replace("Z", "+00:00"))
        assert decide(_replace_time(request, at), policies).decision == "allowed"
    elif smt.decision == "explicit_deny":
        assert set(samples.values()) == {"explicit_deny"}, samples
    elif smt.decision == "implicit_deny":
        assert set(samples.values()) <= {"explicit_deny", "implicit_deny"}, samples
    if "allowed" in samples.values():
        assert smt.decision == "allowed"


@settings(SETTINGS, max_examples=80)
@given(cases())
def test_a_disabled_role_decides_as_a_role_without_permissions(case: tuple[Request, PolicySet]) -> None:
    """A disabled role is bound but grants nothing: both evaluators decide as if the role held no
    permission at all (and its bindings were not there)."""
    request, policies = case
    emptied = {name: frozenset() if name in policies.disabled_roles else perms for name, perms in ROLES.items()}
    emptied.update({name: frozenset() for name in policies.disabled_roles if name not in ROLES})
    plain = replace(policies, roles=emptied, disabled_roles=frozenset())
    want = decide(request, plain).decision
    assert decide(request, policies).decision == want
    smt = decide_smt(request, policies, always_solve=True)
    assert not internal(smt), smt
    assert smt.decision == want


@settings(SETTINGS, max_examples=80)
@given(cases(), st.sampled_from(["projects/_/buckets/logs/", "projects/_/buckets/", "projects/"]))
def test_name_free_under_a_prefix(case: tuple[Request, PolicySet], prefix: str) -> None:
    request, policies = case
    smt = decide_smt(request, policies, name_prefix=prefix, always_solve=True)
    assert not internal(smt), smt
    if smt.decision == "allowed":
        assert smt.witness is not None
        (name,) = smt.witness.context["resource.name"]
        assert name.startswith(prefix)
        replay = Request(
            request.principal, request.permission, request.resource, request.time, name, request.type, request.service
        )
        assert decide(replay, policies).decision == "allowed"
    names = [n for n in NAMES if n.startswith(prefix)]
    if smt.decision in ("explicit_deny", "implicit_deny"):
        for n in names:
            replay = Request(
                request.principal, request.permission, request.resource, request.time, n, request.type, request.service
            )
            assert decide(replay, policies).decision in ("explicit_deny", "implicit_deny")


@settings(SETTINGS, max_examples=400)
@given(conditions, st.sampled_from(NAMES), st.booleans())
def test_condition_encoding_is_the_kleene_value(text: str, name: str, free_name: bool) -> None:
    """Each condition's (lo, hi) pair, at every boundary time (and, with the name free, at every
    pooled name), is (value is True, value is not False) of the reference's Kleene value."""
    cond = cel.parse_or_opaque(text)
    request = Request(
        SA, PERMISSIONS[0], "r", TIMES[0], name, "storage.googleapis.com/Object", "storage.googleapis.com"
    )
    enc = encode._Encoder(request, "" if free_name else None)
    lo, hi = enc.cond(cond)
    names = NAMES if free_name else [name]
    for at in _sample_times(request):
        for n in names:
            env = cel.Env(time=at, name=n, type=request.type, service=request.service)
            value = cel.evaluate(cond, env)
            pairs = [(enc.time, z3.IntVal(encode.to_micros(at), enc.ctx))]
            if enc.name is not None:
                if "extract" in text:
                    continue  # extract over a free name is opaque by design
                pairs.append((enc.name, z3.StringVal(n, enc.ctx)))
            got_lo = z3.is_true(z3.simplify(z3.substitute(lo, *pairs)))
            got_hi = z3.is_true(z3.simplify(z3.substitute(hi, *pairs)))
            assert (got_lo, got_hi) == (value is True, value is not False), (text, at, n, value)


@settings(SETTINGS, max_examples=300)
@given(
    st.lists(st.sampled_from([*MEMBERS, "user:ALICE@example.com", "domain:example.org"]), max_size=6),
    st.sampled_from([*PRINCIPALS, "group:devs@example.com"]),
    st.sets(st.sampled_from(["group:devs@example.com", "group:ops@example.com"])),
    st.sets(st.sampled_from(["group:devs@example.com", "group:ops@example.com"])),
)
def test_compiled_member_matching_is_member_matches(
    members: list[str], principal: str, groups: set[str], unknown: set[str]
) -> None:
    """The indexed matcher finds exactly the members :func:`member_matches` does, with their values."""
    policies = PolicySet(groups=frozenset(groups), unknown_groups=frozenset(unknown - groups))
    (binding,) = reference.compile_bindings({"bindings": [{"role": "roles/x", "members": members}]})
    keys = reference.principal_keys(principal, policies)
    unknown_norm = frozenset(unknown - groups)
    got = {(m, v) for m, v, _ in reference.binding_members(binding, principal, keys, unknown_norm, policies)}
    want = set()
    for m in dict.fromkeys(members):
        value, _ = reference.member_matches(m, principal, policies)
        if value is not False:
            want.add((m, value))
    assert {(reference.normalize_member(m), v) for m, v in got} == {(reference.normalize_member(m), v) for m, v in want}
