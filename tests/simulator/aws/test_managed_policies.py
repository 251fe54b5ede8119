"""AWS managed policies (as moto ships them) through both engines and through compare.

A sample (every 10th policy by name, plus the well-known broad ones) is parsed and:

- simulated on concrete requests built from each policy's own statements: both engines agree
  and neither says "unknown";
- compared with itself: "equivalent", never unknown;
- related pairs (read-only vs full access) compare as "more" / "less", with witnesses the
  reference evaluator confirms.
"""

from __future__ import annotations

import fnmatch
import json
from functools import cache
from typing import Any

import pytest

from simulator.aws import reference, simulate
from simulator.aws.catalog import load_catalog
from simulator.aws.compare import WITNESS_PRINCIPAL, Comparison, compare
from simulator.aws.encode import Z3Session
from simulator.aws.policy import PolicyDocument, Statement, parse_policy
from simulator.aws.request import Request, classify_principal, normalize_context, parse_case
from simulator.aws.semantics import policy_allows
from simulator.aws.values import AnyChar, Lit, Star, Var

USER = "arn:aws:iam::111111111111:user/alice"
OUTSIDE = "arn:aws:iamdrift:::outside-every-pattern"
WELL_KNOWN = ("AdministratorAccess", "ReadOnlyAccess", "PowerUserAccess", "SecurityAudit", "AmazonS3FullAccess")


@cache
def managed() -> dict[str, dict[str, Any]]:
    """Policy name -> policy document."""
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    return {name: entry["Document"] for name, entry in json.loads(aws_managed_policies_data).items()}


def sample() -> list[str]:
    names = sorted(managed())
    return list(dict.fromkeys([*names[::10], *WELL_KNOWN]))


def sample_params() -> list[Any]:
    return [pytest.param(n, id=n) for n in sample()]


def policy(name: str) -> PolicyDocument:
    return parse_policy(managed()[name], name, kind="identity")


def test_every_managed_policy_passes_the_identity_grammar() -> None:
    for name, document in managed().items():
        parse_policy(document, name, kind="identity")


@cache
def z3_session() -> Z3Session:
    """One z3 context for every comparison here (a fresh one per call costs ~0.5 s of set-up)."""
    return Z3Session()


def compare_in_session(old: PolicyDocument, new: PolicyDocument, **options: Any) -> Comparison:
    # These tests assert relations, not speed: a generous budget keeps a loaded machine from
    # turning an answer into "unknown: deadline" (make bench measures the time).
    options.setdefault("timeout_ms", 120_000)
    result = compare(old, new, session=z3_session(), **options)
    assert not [r for r in result.reasons if "internal" in r], result.reasons  # an encoding bug
    return result


def test_sample_covers_the_catalogue() -> None:
    assert len(managed()) > 1000
    assert set(WELL_KNOWN) <= set(sample())
    assert len(sample()) > 100


# --- (a) simulate: requests built from each policy's own statements ----------------------------


def concrete_action(statement: Statement) -> str:
    """An action the statement names (a catalog action its pattern matches), or for NotAction
    one it does not name."""
    catalog = load_catalog()
    if statement.not_actions is not None:
        return next(
            (
                catalog.actions[a].name
                for a in ("sts:getcalleridentity", "s3:getobject", "ec2:describeinstances")
                if not any(fnmatch.fnmatchcase(a, p) for p in statement.not_actions)
            ),
            "iamdrift:Nothing",
        )
    pattern = (statement.actions or ("*",))[0]
    if "*" not in pattern and "?" not in pattern:
        info = catalog.action(pattern)
        return info.name if info else pattern
    service = pattern.split(":", 1)[0]
    candidates = catalog.by_service.get(service, ()) if "*" not in service else sorted(catalog.actions)
    hit = next((a for a in candidates if fnmatch.fnmatchcase(a, pattern)), None)
    return catalog.actions[hit].name if hit else pattern.replace("*", "X").replace("?", "X")


def concrete_resource(statement: Statement, context: dict[str, str]) -> str:
    """A resource the statement's first Resource pattern matches (wildcards and variables filled
    with ``x``, the variables also put in ``context``); for NotResource one outside it."""
    if statement.not_resources is not None:
        return OUTSIDE
    if not statement.resources:
        return "*"
    out = []
    for part in statement.resources[0]:
        if isinstance(part, Lit):
            out.append(part.text)
        elif isinstance(part, Star | AnyChar):
            out.append("x")
        elif isinstance(part, Var):
            context[part.key] = "x"
            out.append("x")
    return "".join(out)


def own_cases(name: str, limit: int = 3) -> list[dict[str, Any]]:
    """Up to ``limit`` simulate cases, one per statement: the statement's action and resource,
    asked by a user whose only identity policy is the managed policy."""
    document = managed()[name]
    out = []
    for statement in policy(name).statements[:limit]:
        context: dict[str, str] = {}
        resource = concrete_resource(statement, context)
        out.append(
            {
                "id": f"{name}#{statement.index}",
                "principal": USER,
                "action": concrete_action(statement),
                "resource": resource,
                "context": context,
                "identityPolicies": [document],
            }
        )
    return out


@pytest.mark.parametrize("name", sample_params())
def test_simulate_own_requests(name: str) -> None:
    for data in own_cases(name):
        case = parse_case(data)
        ref = simulate.decide(case, engine="reference")
        smt = simulate.decide(case, engine="smt")
        assert ref.decision != "unknown", (data, ref.reasons)
        assert smt.decision == ref.decision, (data, smt.reasons, ref.reasons)


def test_own_requests_are_mostly_allowed() -> None:
    """The requests above are aimed at the policies' grants: most are allowed (the rest are
    conditions without their keys, denies, and KMS / role-trust actions without a key or trust
    policy). Guards against the generator silently missing every statement."""
    decisions = [reference.decide_case(parse_case(data)).decision for name in sample() for data in own_cases(name)]
    assert decisions.count("allowed") >= len(decisions) // 2, decisions


# --- (b) compare a policy with itself -------------------------------------------------------------


@pytest.mark.parametrize("name", sample_params())
def test_compare_with_itself(name: str) -> None:
    result = compare_in_session(policy(name), policy(name))
    assert result.relation == "equivalent", result.to_json()
    assert not result.gained and not result.lost and not result.reasons


# --- (c) related pairs ----------------------------------------------------------------------------

RELATED = [
    ("AmazonS3ReadOnlyAccess", "AmazonS3FullAccess"),
    ("AmazonEC2ReadOnlyAccess", "AmazonEC2FullAccess"),
    ("IAMReadOnlyAccess", "IAMFullAccess"),
    ("AmazonSQSReadOnlyAccess", "AmazonSQSFullAccess"),
    ("AmazonDynamoDBReadOnlyAccess", "AmazonDynamoDBFullAccess"),
    ("PowerUserAccess", "AdministratorAccess"),
]
PAIRS = [pytest.param(small, big, "more", id=f"{small}->{big}") for small, big in RELATED]
PAIRS += [pytest.param(big, small, "less", id=f"{big}->{small}") for small, big in RELATED]


def reference_allows(document: PolicyDocument, witness: dict[str, Any]) -> bool | None:
    request = Request(
        principal=classify_principal(WITNESS_PRINCIPAL),
        action=witness["action"],
        resource=witness["resource"],
        context=normalize_context(witness["context"]),
    )
    return policy_allows(document, reference.ReferenceMatcher(request), with_principal=False)


@pytest.mark.parametrize(("old", "new", "relation"), PAIRS)
def test_related_pairs(old: str, new: str, relation: str) -> None:
    before, after = policy(old), policy(new)
    result = compare_in_session(before, after)
    assert result.relation == relation, result.to_json()
    for witness in result.gained:
        assert (reference_allows(after, witness), reference_allows(before, witness)) == (True, False), witness
    for witness in result.lost:
        assert (reference_allows(before, witness), reference_allows(after, witness)) == (True, False), witness


def test_read_only_access_is_less_than_administrator() -> None:
    result = compare_in_session(policy("AdministratorAccess"), policy("ReadOnlyAccess"))
    assert result.relation == "less", result.to_json()
    assert result.lost and not result.gained
