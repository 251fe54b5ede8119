from __future__ import annotations

import json
from datetime import datetime

import pytest
from hypothesis import given, settings

from models import Cloud, Policy, PolicyKind, PolicyVersion, Principal, PrincipalKind, Scope, ScopeKind, Snapshot
from models._checks import ModelError
from tests.models.strategies import snapshots


@settings(max_examples=150, deadline=None)
@given(snapshots)
def test_json_round_trip_is_exact(snapshot: Snapshot) -> None:
    text = json.dumps(snapshot.to_json_dict())
    assert Snapshot.from_json_dict(json.loads(text)) == snapshot


def test_timestamps_must_carry_a_zone() -> None:
    with pytest.raises(ModelError, match="timezone-aware"):
        Principal(
            id="arn:aws:iam::111111111111:role/x",
            cloud=Cloud.AWS,
            kind=PrincipalKind.AWS_ROLE,
            name="x",
            scope_id="111111111111",
            created=datetime(2024, 1, 1),
        )


def test_model_objects_are_frozen() -> None:
    scope = Scope(id="1", cloud=Cloud.AWS, kind=ScopeKind.ACCOUNT, name="a")
    with pytest.raises(AttributeError):
        scope.name = "b"  # type: ignore[misc]


def test_fields_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        Scope("1", Cloud.AWS, ScopeKind.ACCOUNT, "a")  # type: ignore[misc]


def test_duplicate_ids_in_a_collection_are_rejected() -> None:
    scope = Scope(id="1", cloud=Cloud.AWS, kind=ScopeKind.ACCOUNT, name="a")
    with pytest.raises(ModelError, match="duplicate ids"):
        Snapshot(scopes=(scope, scope))


def test_managed_policy_needs_exactly_one_default_version() -> None:
    versions = (
        PolicyVersion(version_id="v1", is_default=True, document={}),
        PolicyVersion(version_id="v2", is_default=True, document={}),
    )
    with pytest.raises(ModelError, match="exactly one version"):
        Policy(
            id="p",
            cloud=Cloud.AWS,
            kind=PolicyKind.CUSTOMER_MANAGED,
            name="p",
            scope_id="1",
            document={},
            versions=versions,
        )


def test_unknown_fields_and_formats_are_rejected() -> None:
    data = Snapshot().to_json_dict()
    with pytest.raises(ModelError, match="not an iamdrift snapshot"):
        Snapshot.from_json_dict({**data, "format": "something-else"})
    data["scopes"] = [{"id": "1", "cloud": "aws", "kind": "account", "name": "a", "colour": "red"}]
    with pytest.raises(ValueError, match="unknown fields"):
        Snapshot.from_json_dict(data)
