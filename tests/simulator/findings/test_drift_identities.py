"""``compare-identities``: do two identities grant the same access once their account / project /
subscription is abstracted? On the demo estate, with twins built in the test."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from iamdrift.drift_commands import aws_comparer
from models import Attachment, AttachmentKind, Policy, PolicyKind, Snapshot
from simulator.engines import open_estate
from simulator.findings.drift_identities import compare_identities
from tests.simulator.findings.test_drift import demo

AT = datetime(2025, 6, 2, 12, tzinfo=UTC)
PROD_DEPLOYER = "arn:aws:iam::222222222222:role/lambda-deployer"
DEV_DEPLOYER = "arn:aws:iam::333333333333:role/lambda-deployer"
INLINE = f"{PROD_DEPLOYER}#inline:deploy-functions"


def with_dev_twin(statements: list[dict[str, Any]] | None = None) -> Snapshot:
    """The AWS demo with a dev-account copy of prod's lambda-deployer (its inline policy's
    statements replaced by ``statements`` when given)."""
    snapshot = demo("aws")
    role = next(p for p in snapshot.principals if p.id == PROD_DEPLOYER)
    inline = next(p for p in snapshot.policies if p.id == INLINE)
    document = json.loads(json.dumps(inline.document).replace("222222222222", "333333333333"))
    if statements is not None:
        document["Statement"] = statements
    twin = replace(role, id=DEV_DEPLOYER, scope_id="333333333333", native_id="AROATWIN")
    policy = Policy(
        id=f"{DEV_DEPLOYER}#inline:deploy-functions",
        cloud=inline.cloud,
        kind=PolicyKind.INLINE,
        name=inline.name,
        scope_id="333333333333",
        document=document,
    )
    attachment = Attachment(policy_id=policy.id, target_id=DEV_DEPLOYER, kind=AttachmentKind.IDENTITY)
    return replace(
        snapshot,
        id="twin",
        principals=(*snapshot.principals, twin),
        policies=(*snapshot.policies, policy),
        attachments=(*snapshot.attachments, attachment),
    )


def test_aws_twins_in_two_accounts_are_equivalent() -> None:
    result = compare_identities(
        open_estate(with_dev_twin(), at=AT), PROD_DEPLOYER, DEV_DEPLOYER, comparer=aws_comparer()
    )
    assert (result.relation, result.only_first, result.only_second) == ("equivalent", (), ())


def test_aws_twin_missing_a_permission_has_less_with_a_witness() -> None:
    inline = next(p for p in demo("aws").policies if p.id == INLINE)
    statements = copy.deepcopy(inline.document["Statement"])
    statements[1]["Action"] = [a for a in statements[1]["Action"] if a != "lambda:UpdateFunctionCode"]
    result = compare_identities(
        open_estate(with_dev_twin(statements), at=AT), PROD_DEPLOYER, DEV_DEPLOYER, comparer=aws_comparer()
    )
    assert result.relation == "less" and not result.only_second
    assert {(w.principal, w.action) for w in result.only_first} == {(PROD_DEPLOYER, "lambda:UpdateFunctionCode")}
    data = result.to_json()
    assert set(data) == {"a", "b", "relation", "only_a", "only_b", "reasons"}


def test_gcp_service_accounts_with_different_roles_differ() -> None:
    etl = "serviceAccount:etl@data-prod.iam.gserviceaccount.com"
    bridge = "serviceAccount:aws-bridge@data-prod.iam.gserviceaccount.com"
    result = compare_identities(open_estate(demo("gcp"), at=AT), etl, bridge, comparer=None)
    assert result.relation in ("less", "incomparable", "unknown")
    assert result.only_first and all(w.principal == etl for w in result.only_first)
    assert all(w.principal == bridge for w in result.only_second)


def test_an_identity_the_snapshot_lacks_is_refused() -> None:
    estate = open_estate(demo("aws"), at=AT)
    with pytest.raises(ValueError, match="no identity"):
        compare_identities(estate, PROD_DEPLOYER, "arn:aws:iam::222222222222:role/nope", comparer=None)


def test_a_role_created_with_its_inline_policy_gains_what_the_policy_grants() -> None:
    from simulator.findings.drift import access_changes
    from simulator.findings.drift_model import Access, ChangeKind, ChangeType

    old, new = demo("aws"), with_dev_twin()
    changes = access_changes(open_estate(old, at=AT), open_estate(new, at=AT), comparer=aws_comparer())
    rows = {(c.kind, c.id): c for c in changes}
    assert rows[(ChangeKind.PRINCIPAL, DEV_DEPLOYER)].change is ChangeType.ADDED
    policy = rows[(ChangeKind.POLICY, f"{DEV_DEPLOYER}#inline:deploy-functions")]
    assert (policy.change, policy.access) == (ChangeType.ADDED, Access.GAINED)
    assert {w.principal for w in policy.gained} == {DEV_DEPLOYER}
    assert len(changes) == 2  # the attachment is judged with its policy
