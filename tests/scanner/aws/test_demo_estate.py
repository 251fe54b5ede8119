"""The bundled demo estate, scanned offline: the planted problems are all in the snapshot."""

from __future__ import annotations

import importlib.util
import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from models import AttachmentKind, CredentialKind, PolicyKind, ScopeKind, Snapshot, WorkloadKind
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


def test_codebuild_project_runs_as_a_role_with_iam_star_that_dave_can_start(demo: Snapshot) -> None:
    project = f"arn:aws:codebuild:us-east-1:{PROD}:project/deploy-infra"
    infra = f"arn:aws:iam::{PROD}:role/codebuild-infra-role"
    [workload] = [w for w in demo.workloads if w.id == project]
    assert workload.kind is WorkloadKind.CODEBUILD_PROJECT and workload.principal_ids == (infra,)
    policies = {p.id: p.document for p in demo.policies}
    assert {"Sid": "ManageIamForInfra", "Effect": "Allow", "Action": "iam:*", "Resource": "*"} in policies[
        f"{infra}#inline:infra-deploy"
    ]["Statement"]
    assert project in {r.id for r in demo.resources} and f"{project}#policy" not in policies  # no project policy
    dave = policies[f"arn:aws:iam::{PROD}:user/dave.dev#inline:start-infra-builds"]["Statement"][0]
    assert "codebuild:StartBuild" in dave["Action"] and dave["Resource"] == project


def test_cloudformation_stack_runs_as_an_admin_service_role(demo: Snapshot) -> None:
    [stack] = [w for w in demo.workloads if w.kind is WorkloadKind.CLOUDFORMATION_STACK]
    assert stack.name == "network-baseline" and stack.id.startswith(f"arn:aws:cloudformation:us-east-1:{PROD}:stack/")
    cfn = f"arn:aws:iam::{PROD}:role/cfn-deploy-role"
    assert stack.principal_ids == (cfn,)
    attached = {(a.policy_id, a.target_id) for a in demo.attachments if a.kind is AttachmentKind.IDENTITY}
    assert ("arn:aws:iam::aws:policy/AdministratorAccess", cfn) in attached


def test_a_prod_role_trusts_the_gcp_deployer_service_account(demo: Snapshot) -> None:
    bridge = f"arn:aws:iam::{PROD}:role/gcp-deployer-bridge"
    gcp = json.loads((DEMO_AWS.parent / "gcp" / "shop-prod-service-accounts.json").read_text())
    [deployer] = [a["uniqueId"] for a in gcp if a["email"] == "deployer@shop-prod.iam.gserviceaccount.com"]
    [federated] = [c for c in demo.credentials if c.principal_id == bridge and c.kind is CredentialKind.FEDERATED]
    assert federated.issuer == "accounts.google.com" and federated.subjects == (deployer,)
    read = {p.id: p.document for p in demo.policies}[f"{bridge}#inline:read-app-data"]["Statement"][0]
    assert read["Action"] == ["s3:GetObject", "s3:ListBucket"]
    assert read["Resource"] == ["arn:aws:s3:::acme-prod-app-data", "arn:aws:s3:::acme-prod-app-data/*"]


def test_demo_counts(demo: Snapshot) -> None:
    """The README's numbers: 43 users and roles, 12 workloads (9 in prod)."""
    kinds = Counter(str(p.kind) for p in demo.principals)
    assert kinds["aws_user"] + kinds["aws_role"] == 43
    assert len(demo.workloads) == 12 and sum(w.scope_id == PROD for w in demo.workloads) == 9


def test_committed_demo_is_what_the_generator_writes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = importlib.util.spec_from_file_location("generate_aws", DEMO_AWS.parent / "generate_aws.py")
    assert spec and spec.loader
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    monkeypatch.setattr(generator, "OUT", str(tmp_path))
    generator.main()
    fresh = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    committed = {p.name: p.read_bytes() for p in DEMO_AWS.iterdir() if p.name != "README.md"}
    assert sorted(fresh) == sorted(committed)
    assert [name for name in fresh if fresh[name] != committed[name]] == []
