"""The bundled demo estate, scanned offline: the planted problems are all in the snapshot."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from models import AttachmentKind, CredentialKind, PolicyKind, ScopeKind, Snapshot
from scanner.files import scan_files
from tests.conftest import DEMO_AWS

PROD = "222222222222"


@pytest.fixture(scope="module")
def demo() -> Snapshot:
    return scan_files([DEMO_AWS])


def test_organization_tree_and_policies(demo: Snapshot) -> None:
    scopes = {s.id: s for s in demo.scopes}
    assert scopes[PROD].parent_id == "ou-ab12-7k2m9p4q"
    assert scopes["ou-ab12-7k2m9p4q"].parent_id == "r-ab12"
    assert scopes["111111111111"].attributes.get("management") == "true"
    assert sum(s.kind is ScopeKind.ACCOUNT for s in demo.scopes) == 3
    scps = {p.name: p for p in demo.policies if p.kind is PolicyKind.SCP}
    assert {"FullAWSAccess", "DenyLeaveOrg", "RegionLock"} <= set(scps)
    attached = {(a.policy_id, a.target_id) for a in demo.attachments if a.kind is AttachmentKind.SCP}
    assert (scps["RegionLock"].id, "ou-ab12-7k2m9p4q") in attached
    assert any(p.kind is PolicyKind.RCP for p in demo.policies)
    assert not demo.gaps


def test_github_trusts(demo: Snapshot) -> None:
    federated = {c.principal_id.rsplit("/", 1)[-1]: c for c in demo.credentials if c.kind is CredentialKind.FEDERATED}
    assert federated["github-ci-any-repo"].subjects == ("repo:*",)
    assert federated["github-deploy-prod"].subjects == ("repo:acme/payments:ref:refs/heads/main",)
    assert federated["okta-admin"].issuer.endswith("saml-provider/AcmeOkta")


def test_open_and_cross_account_trust(demo: Snapshot) -> None:
    trust = {
        p.id.removesuffix("#trust").rsplit("/", 1)[-1]: p.document for p in demo.policies if p.kind is PolicyKind.TRUST
    }
    assert trust["legacy-open-trust"]["Statement"][0]["Principal"] == {"AWS": "*"}
    vendor = trust["vendor-integration"]["Statement"][0]
    assert "999988887777" in str(vendor["Principal"]) and "sts:ExternalId" not in str(vendor.get("Condition", {}))
    assert "sts:ExternalId" in str(trust["audit-readonly"])


def test_user_with_password_and_two_old_keys(demo: Snapshot) -> None:
    user = f"arn:aws:iam::{PROD}:user/legacy-batch"
    creds = [c for c in demo.credentials if c.principal_id == user]
    kinds = sorted(str(c.kind) for c in creds)
    assert kinds == ["access_key", "access_key", "password"]
    keys = [c for c in creds if c.kind is CredentialKind.ACCESS_KEY]
    assert all(c.created < datetime(2023, 1, 1, tzinfo=UTC) for c in keys)
    assert all(c.key_id and c.key_id.startswith("AKIA") for c in keys)
    assert [c.id.rsplit("-", 1)[-1] for c in sorted(keys, key=lambda c: c.created)] == ["1", "2"]


def test_shared_role_boundary_and_resources(demo: Snapshot) -> None:
    shared = f"arn:aws:iam::{PROD}:role/app-shared-role"
    assert sum(shared in w.principal_ids for w in demo.workloads) >= 4
    boundary_targets = {a.target_id.rsplit("/", 1)[-1] for a in demo.attachments if a.kind is AttachmentKind.BOUNDARY}
    assert {"dev-sandbox-role", "heidi.dev"} <= boundary_targets
    policies = {p.id: p for p in demo.policies}
    assert policies["arn:aws:s3:::acme-public-assets#policy"].document["Statement"][0]["Principal"] == "*"
    kms = next(p for p in demo.policies if p.id.startswith(f"arn:aws:kms:us-east-1:{PROD}:key/"))
    assert "arn:aws:iam::333333333333:root" in str(kms.document)
    pipeline = policies[f"arn:aws:iam::{PROD}:policy/DataPipelineAccess"]
    assert len(pipeline.versions) >= 2 and sum(v.is_default for v in pipeline.versions) == 1
