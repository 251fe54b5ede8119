"""The AWS edge finder's shortcuts never change its edges: each is compared with the
straightforward path it replaces, on the demo estate and a small generated account."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from scanner.files import scan_files
from simulator.aws import edges_iam
from simulator.aws.edge_support import roles
from simulator.aws.edges import find_part
from simulator.aws.edges_assume import Grants, assume_edges, names_action
from simulator.core import Edge, Estate
from simulator.engines import open_estate
from tests.conftest import DEMO_AWS

AT = datetime(2025, 6, 2, 12, tzinfo=UTC)
BENCH = Path(__file__).resolve().parents[3] / "bench"

ACTIONS = (
    "sts:AssumeRole",
    "iam:PassRole",
    "iam:CreateAccessKey",
    "iam:CreateLoginProfile",
    "iam:UpdateLoginProfile",
    "iam:UpdateAssumeRolePolicy",
    "iam:PutRolePolicy",
    "iam:AttachUserPolicy",
    "iam:CreatePolicyVersion",
    "s3:GetObject",
    "lambda:CreateFunction",
)


def _generated(tmp: Path) -> Path:
    sys.path.insert(0, str(BENCH))
    try:
        from gen_aws_export import generate  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(BENCH))
    out = tmp / "generated"
    generate(out, 30)
    return out


@pytest.fixture(scope="module", params=["demo", "generated"])
def estate(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Estate]:
    source = DEMO_AWS if request.param == "demo" else _generated(tmp_path_factory.mktemp("aws"))
    yield open_estate(scan_files([source]), at=AT)


def _key(edges: list[Edge]) -> list[str]:
    return sorted(repr(e) for e in edges)


def _may_reference(grants: Grants, pid: str, action: str, resource: str | None) -> bool:
    """Grants.may as a plain loop over the principal's statements (no indexes)."""
    statements = grants.statements(pid)
    if statements is None:
        return True
    lowered = action.lower()
    return any(names_action(s, lowered) and (resource is None or grants._resource_may(s, resource)) for s in statements)


def test_grants_index_agrees_with_a_plain_loop(estate: Estate) -> None:
    grants = Grants(estate)
    targets = [None, "*", *grants.principals]
    for pid in grants.principals:
        for action in ACTIONS:
            anywhere = grants.may(pid, action)
            assert anywhere == _may_reference(grants, pid, action, None)
            for target in targets:
                fast = grants.may(pid, action, target)
                assert fast == _may_reference(grants, pid, action, target), (pid, action, target)
                # the any-resource prefilter the IAM finder uses is a superset
                assert anywhere or not fast


def test_shared_assume_asker_gives_the_per_role_edges(estate: Estate) -> None:
    per_role = [e for role in roles(estate) for e in assume_edges(estate, role)]
    halves = [e for part in ("assume", "assume-2") for e in find_part(estate, part)[0]]
    assert _key(halves) == _key(per_role)
    assert find_part(estate, "assume")[0] and find_part(estate, "assume-2")[0]  # each half has work


def test_iam_edges_match_asking_every_actor_of_an_empty_trust(estate: Estate, monkeypatch: pytest.MonkeyPatch) -> None:
    fast = _key(find_part(estate, "iam")[0])
    original = edges_iam.trust_candidates

    def everyone_when_empty(grants: Grants, role: str, action: str) -> list[str] | None:
        return original(grants, role, action) or None

    monkeypatch.setattr(edges_iam, "trust_candidates", everyone_when_empty)
    assert fast == _key(find_part(estate, "iam")[0])
