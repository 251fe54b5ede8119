"""Joins between clouds: a minted token reaches the trusts that admit its issuer and subject; an
AWS identity reaches a trust outside AWS that admits its whole account."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from models import Cloud
from simulator.core import Admin, Answer, Ask, Decision, Fact, Witness, edge_from
from simulator.core.edge import Edge
from simulator.graph import MintGraph
from simulator.graph.joins import ACCOUNT_JOIN, TOKEN_JOIN, admits, issuer_key

AT = datetime(2026, 12, 1, tzinfo=UTC)
GH = "https://token.actions.githubusercontent.com"
BRIDGE = "arn:aws:iam::2:role/bridge"


def allowed(source: str, target: str, mechanism: str, cloud: Cloud = Cloud.AWS) -> Edge:
    ask = Ask(principal=source, action=mechanism, resource=target, at=AT)
    witness = Witness(principal=source, action=mechanism, resource=target)
    made = edge_from(
        source,
        target,
        cloud,
        mechanism,
        [Answer(ask=ask, principal=source, decision=Decision.ALLOWED, witness=witness)],
    )
    assert made is not None
    return made


@pytest.mark.parametrize(
    ("pattern", "subject", "expected"),
    [
        ("repo:*", "repo:acme/app:ref:refs/heads/main", True),
        ("repo:acme/*", "repo:acme/app:ref:refs/heads/main", True),
        ("repo:acme/*", "repo:other/app:ref:refs/heads/main", False),
        ("repo:acme/app:ref:refs/heads/main", "repo:acme/app:ref:refs/heads/main", True),
        ("repo:acme/app:ref:refs/heads/mai?", "repo:acme/app:ref:refs/heads/main", True),
        ("repo:acme/app:*", "repo:acme/*", False),  # the pattern admits less than every acme repository
        ("repo:*", "repo:acme/*", True),
        ("*", "anything", True),
        ("repo:a.b", "repo:axb", False),  # a dot is a dot
    ],
)
def test_admits(pattern: str, subject: str, expected: bool) -> None:
    assert admits(pattern, subject) is expected


def test_issuers_compare_without_scheme_and_trailing_slash() -> None:
    assert issuer_key("https://token.actions.githubusercontent.com/") == issuer_key(
        "token.actions.githubusercontent.com"
    )
    assert issuer_key("https://accounts.google.com") != issuer_key("https://accounts.google.com.evil.example")


def test_a_concrete_token_reaches_every_trust_that_admits_it() -> None:
    aws_trust = "token.actions.githubusercontent.com|repo:acme/*"
    azure_trust = f"{GH}|repo:acme/app:ref:refs/heads/main"
    other = f"{GH}|repo:other/*"
    graph = MintGraph(
        [
            allowed(aws_trust, "arn:aws:iam::1:role/ci", "sts:AssumeRoleWithWebIdentity"),
            Edge(source=azure_trust, target="mi-1", cloud=Cloud.AZURE, mechanism="federated-credential",
                 facts=(Fact(what="fic", source="x"),)),
            allowed(other, "arn:aws:iam::1:role/other", "sts:AssumeRoleWithWebIdentity"),
        ]
    )  # fmt: skip
    start = f"{GH}|repo:acme/app:ref:refs/heads/main"
    reached = {c.target: c for c in graph.reach(start)}
    assert {"arn:aws:iam::1:role/ci", "mi-1", aws_trust} <= set(reached)
    assert "arn:aws:iam::1:role/other" not in reached
    first = reached["arn:aws:iam::1:role/ci"].edges[0]
    assert first.mechanism == TOKEN_JOIN and first.facts and first.target == aws_trust


def test_a_google_id_token_reaches_an_aws_role_trusting_it() -> None:
    sa = "serviceAccount:deployer@shop-prod.iam.gserviceaccount.com"
    id_token = "https://accounts.google.com|104857600000000000001"
    graph = MintGraph(
        [
            Edge(source=sa, target=id_token, cloud=Cloud.GCP, mechanism="iam.serviceAccounts.getOpenIdToken",
                 facts=(Fact(what="own id token", source="x"),)),
            allowed("accounts.google.com|104857600000000000001", BRIDGE, "sts:AssumeRoleWithWebIdentity"),
            allowed("accounts.google.com|999", "arn:aws:iam::2:role/not-this", "sts:AssumeRoleWithWebIdentity"),
        ],
        [Admin(id=BRIDGE, cloud=Cloud.AWS, scope="2", why="w")],
    )  # fmt: skip
    reached = {c.target for c in graph.reach(sa)}
    assert "arn:aws:iam::2:role/bridge" in reached and "arn:aws:iam::2:role/not-this" not in reached
    paths = {p.source: p for p in graph.paths_to_admin()}
    assert [e.mechanism for e in paths[sa].edges] == [
        "iam.serviceAccounts.getOpenIdToken",
        TOKEN_JOIN,
        "sts:AssumeRoleWithWebIdentity",
    ]


def test_an_aws_identity_reaches_a_trust_of_its_whole_account_outside_aws() -> None:
    root = "arn:aws:iam::222222222222:root"
    graph = MintGraph(
        [
            allowed(root, "principalSet://pool/*", "iam.workloadIdentityPools.federate", Cloud.GCP),
            allowed("arn:aws:iam::222222222222:user/u", "arn:aws:iam::222222222222:role/r", "sts:AssumeRole"),
        ]
    )
    reached = {c.target: c for c in graph.reach("arn:aws:iam::222222222222:user/u")}
    assert "principalSet://pool/*" in reached
    assert reached[root].edges[-1].mechanism == ACCOUNT_JOIN
    # Another account's identities do not.
    assert "principalSet://pool/*" not in {c.target for c in graph.reach("arn:aws:iam::333333333333:role/x")}


def test_an_aws_root_named_only_by_aws_trusts_is_not_joined() -> None:
    root = "arn:aws:iam::999988887777:root"
    graph = MintGraph([allowed(root, "arn:aws:iam::222222222222:role/vendor", "sts:AssumeRole")])
    assert graph.reach("arn:aws:iam::999988887777:role/x") == []
