"""risky-trust rules over the demo estate, and over variants of its export files with the planted
problems fixed (fixtures/demo/*/README.md)."""

from __future__ import annotations

import dataclasses
import functools
import json
import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from models import Snapshot
from scanner.files import scan_files
from simulator.engines import open_estate
from simulator.findings import Context, Finding, load_rules, run_rules
from simulator.findings.rules._graph_helpers import limits_caller
from simulator.graph import MintGraph
from simulator.graph.build import build

AT = datetime(2025, 6, 2, 12, tzinfo=UTC)
DEMO = Path("fixtures/demo")
PROD = "arn:aws:iam::222222222222"
MODULES = ["risky_trust", "risky_trust_federation", "risky_trust_members", "risky_trust_resources"]


def graph_of(snapshot: Snapshot) -> MintGraph:
    return build(open_estate(snapshot, at=AT))


@functools.cache
def demo() -> tuple[Snapshot, MintGraph]:
    snapshot = scan_files([str(DEMO / c) for c in ("aws", "gcp", "azure")])
    return snapshot, graph_of(snapshot)


def run(snapshot: Snapshot, graph: MintGraph) -> list[Finding]:
    outcome = run_rules(Context(open_estate(snapshot, at=AT), lambda: graph), load_rules(MODULES))
    assert outcome.failures == ()
    return list(outcome.findings)


def demo_findings() -> list[Finding]:
    return run(*demo())


def of(found: list[Finding], rule: str) -> dict[str, Finding]:
    return {f.subject: f for f in found if f.rule.id == rule}


# --- the demo estate: every planted problem, none of the fine cases -------------------------


def test_a_role_open_to_anyone_is_found_with_an_outsider_witness() -> None:
    # AWS #3: legacy-open-trust trusts {"AWS": "*"} with no condition.
    found = of(demo_findings(), "risky-trust/open-to-anyone")
    assert set(found) == {f"{PROD}:role/legacy-open-trust"}
    finding = found[f"{PROD}:role/legacy-open-trust"]
    assert finding.severity.value == "critical" and not finding.unknown
    witness = finding.shown_witness
    assert witness is not None and witness.action == "sts:AssumeRole"
    assert not witness.principal.startswith(("arn:aws:iam::111111111111", "arn:aws:iam::222222222222"))
    assert any(
        e.document == {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}
        for e in finding.evidence
    )
    assert "any principal of any AWS account" in finding.sentence


def test_a_third_party_account_without_external_id_is_found_and_the_audited_one_is_not() -> None:
    # AWS #2: vendor-integration trusts 999988887777 without sts:ExternalId. Fine: audit-readonly (with one).
    found = of(demo_findings(), "risky-trust/cross-account-no-external-id")
    assert set(found) == {f"{PROD}:role/vendor-integration"}
    finding = found[f"{PROD}:role/vendor-integration"]
    assert "999988887777" in finding.sentence and "outside the organization" in finding.sentence
    assert finding.shown_witness is not None and finding.shown_witness.principal == "arn:aws:iam::999988887777:root"
    assert finding.key == ("999988887777",)


def test_an_oidc_trust_of_any_repository_is_found_and_pinned_ones_are_not() -> None:
    # AWS #1: github-ci-any-repo, sub repo:*. Fine: github-deploy-prod, github-deploy-dev, gcp-deployer-bridge
    # (a pinned Google subject) and the SAML roles (not OIDC).
    found = of(demo_findings(), "risky-trust/oidc-subject-not-pinned")
    assert set(found) == {f"{PROD}:role/github-ci-any-repo"}
    finding = found[f"{PROD}:role/github-ci-any-repo"]
    assert "does not fix the repository" in finding.sentence
    witness = finding.shown_witness
    assert witness is not None and witness.action == "sts:AssumeRoleWithWebIdentity"
    assert "repo:acme/" not in witness.principal  # someone else's repository gets in
    assert any(e.source and e.source.endswith("#trust statement 0") for e in finding.evidence)


def test_a_flexible_azure_federated_credential_is_found_and_exact_ones_are_not() -> None:
    # Azure #10: app-release-bot's github-release-any. Fine: id-shop-deploy, id-dev-ci, id-data-etl (exact subjects).
    found = of(demo_findings(), "risky-trust/broad-federated-credential")
    assert list(found) == [
        "/applications/fd4811b0-3429-4d72-b034-949f3dbe8849/federatedidentitycredentials/github-release-any"
    ]
    finding = next(iter(found.values()))
    assert finding.cloud is not None and finding.cloud.value == "azure"
    assert "flexible credential" in finding.sentence and "app-release-bot" in finding.sentence
    assert finding.principal == "fd4811b0-3429-4d72-b034-949f3dbe8849"
    assert any(e.document and e.document.get("claimsMatchingExpression") for e in finding.evidence)


def test_a_workload_identity_provider_without_a_condition_is_found_and_the_pinned_one_is_not() -> None:
    # GCP #7: pool aws-prod, provider aws-222222222222. Fine by itself: GCP #8's github-actions provider.
    found = of(demo_findings(), "risky-trust/wif-no-attribute-condition")
    assert list(found) == [
        "projects/741963258014/locations/global/workloadIdentityPools/aws-prod/providers/aws-222222222222"
    ]
    finding = next(iter(found.values()))
    assert "any identity of AWS account 222222222222" in finding.sentence
    assert "aws-bridge@data-prod" in finding.sentence
    assert finding.shown_witness is not None
    assert finding.shown_witness.action == "iam.serviceAccounts.getAccessToken"


def test_the_cross_cloud_bridges_are_found_with_the_outermost_chain() -> None:
    # AWS #20: GitHub -> Google Cloud (pool github, deployer) -> AWS gcp-deployer-bridge; GCP #7 from AWS.
    found = of(demo_findings(), "risky-trust/cross-cloud-federation")
    bridge = found[f"{PROD}:role/gcp-deployer-bridge"]
    assert bridge.chain is not None
    assert bridge.chain.source == "https://token.actions.githubusercontent.com|repo:example/shop:*"
    assert [e.cloud.value for e in bridge.chain.edges] == ["gcp", "gcp", "aws"]
    assert bridge.cloud is None
    pool = found[
        "principalSet://iam.googleapis.com/projects/741963258014/locations/global/workloadIdentityPools/aws-prod/*"
    ]
    assert pool.chain is not None and pool.chain.source == "*"  # through legacy-open-trust (AWS #3)
    assert set(found) == {f"{PROD}:role/gcp-deployer-bridge", pool.subject}


def test_public_resources_are_proven_public_and_the_limited_ones_are_not() -> None:
    # AWS #8 acme-public-assets, GCP #9 shop-prod-public-assets. Fine: SNS payments-alerts (AWS:SourceOwner),
    # SQS payments-events (aws:SourceArn), Lambda payments-webhook, the scoped and deny-only buckets.
    found = of(demo_findings(), "risky-trust/public-resource-policy")
    assert set(found) == {"arn:aws:s3:::acme-public-assets", "//storage.googleapis.com/shop-prod-public-assets"}
    s3 = found["arn:aws:s3:::acme-public-assets"]
    assert not s3.unknown and s3.witness is not None and s3.witness.action == "s3:GetObject"
    assert s3.answers and s3.answers[0].decision.value == "allowed"
    assert any(e.document and e.document.get("Sid") == "PublicReadGetObject" for e in s3.evidence)
    gcs = found["//storage.googleapis.com/shop-prod-public-assets"]
    assert gcs.witness is not None and gcs.witness.principal == "allUsers"
    assert gcs.witness.action == "storage.objects.get"


def test_resources_shared_outside_and_across_the_organization_are_told_apart() -> None:
    found = demo_findings()
    external = of(found, "risky-trust/external-resource-access")
    # AWS #11: invoice-renderer invokable by the third-party account 999988887777.
    assert set(external) == {"arn:aws:lambda:us-east-1:222222222222:function:invoice-renderer"}
    invoke = external["arn:aws:lambda:us-east-1:222222222222:function:invoice-renderer"]
    assert invoke.witness is not None and invoke.witness.principal == "arn:aws:iam::999988887777:root"
    inside = of(found, "risky-trust/cross-account-resource-access")
    # AWS #9 (the prod KMS key to the dev account) and #10 (the prod secret to a dev role).
    key = "arn:aws:kms:us-east-1:222222222222:key/7f1c2e9a-4b3d-4c8e-9a21-5d6e8f0b3c47"
    secret = "arn:aws:secretsmanager:us-east-1:222222222222:secret:prod/payments/db-Xk3p9Q"
    assert set(inside) == {key, secret}
    key_witness, secret_witness = inside[key].witness, inside[secret].witness
    assert key_witness is not None and key_witness.principal.startswith("arn:aws:iam::333333333333:")
    assert key_witness.action == "kms:Decrypt"
    assert secret_witness is not None
    assert secret_witness.principal == "arn:aws:iam::333333333333:role/prod-kms-consumer"
    assert inside[key].severity.value == "medium" and invoke.severity.value == "high"


def test_a_consumer_account_outside_the_directory_is_found_and_directory_members_are_not() -> None:
    # GCP #11: user:mallory.contractor@gmail.com is editor of sandbox-dev. The example.com members are fine.
    found = of(demo_findings(), "risky-trust/external-member")
    assert list(found) == ["projects/sandbox-dev#roles/editor#user:mallory.contractor@gmail.com"]
    finding = next(iter(found.values()))
    assert finding.principal == "user:mallory.contractor@gmail.com" and not finding.unknown
    assert finding.witness is not None and finding.witness.resource == "projects/sandbox-dev"
    assert "gmail.com, not example.com" in finding.evidence[0].what


def test_without_the_organization_the_directory_domain_is_not_guessed() -> None:
    snapshot, graph = demo()
    orgless = dataclasses.replace(
        snapshot, scopes=tuple(s for s in snapshot.scopes if s.kind.value != "gcp_organization")
    )
    assert of(run(orgless, graph), "risky-trust/external-member") == {}


def test_ids_are_stable_across_two_runs() -> None:
    assert sorted(f.id for f in demo_findings()) == sorted(f.id for f in demo_findings())


# --- variants of the export files with the problems fixed ------------------------------------


def edit(path: Path, change: Callable[[Any], None]) -> None:
    document = json.loads(path.read_text())
    change(document)
    path.write_text(json.dumps(document, indent=1))


def role(document: Any, name: str) -> Any:
    return next(r for r in document["RoleDetailList"] if r["RoleName"] == name)


def resource_policy(document: Any, arn: str) -> Any:
    return next(p for p in document["ResourcePolicies"] if p["Arn"] == arn)


def fix_aws(root: Path) -> None:
    def trusts(document: Any) -> None:
        org = {"StringEquals": {"aws:PrincipalOrgID": "o-demo1234ab"}}
        role(document, "legacy-open-trust")["AssumeRolePolicyDocument"]["Statement"][0]["Condition"] = org
        vendor = role(document, "vendor-integration")["AssumeRolePolicyDocument"]["Statement"][0]
        vendor["Condition"] = {"StringEquals": {"sts:ExternalId": "acme-7f3k"}}
        github = role(document, "github-ci-any-repo")["AssumeRolePolicyDocument"]["Statement"][0]
        github["Condition"]["StringLike"] = {
            "token.actions.githubusercontent.com:sub": "repo:acme/ci:ref:refs/heads/main"
        }

    def resources(document: Any) -> None:
        bucket = resource_policy(document, "arn:aws:s3:::acme-public-assets")["Policy"]["Statement"][0]
        bucket["Condition"] = {"StringEquals": {"aws:PrincipalOrgID": "o-demo1234ab"}}
        function = resource_policy(document, "arn:aws:lambda:us-east-1:222222222222:function:invoice-renderer")
        function["Policy"]["Statement"][0]["Principal"] = {"AWS": "arn:aws:iam::111111111111:root"}

    edit(root / "aws" / "222222222222-authorization-details.json", trusts)
    edit(root / "aws" / "222222222222-extras.json", resources)


def fix_gcp(root: Path) -> None:
    def providers(document: Any) -> None:
        for provider in document if isinstance(document, list) else document.get("workloadIdentityPoolProviders", []):
            if isinstance(provider, dict) and "aws" in provider:
                provider["attributeCondition"] = "attribute.aws_role == 'arn:aws:sts::222222222222:assumed-role/etl'"

    edit(root / "gcp" / "data-prod-aws-prod-providers.json", providers)


def fix_azure(root: Path) -> None:
    def credential(document: Any) -> None:
        items = document if isinstance(document, list) else document.get("value", [])
        for item in items:
            if item.get("name") == "github-release-any":
                item.pop("claimsMatchingExpression", None)
                item["subject"] = "repo:example/release:environment:release"

    edit(root / "azure" / "app-federated-credentials-app-release-bot.json", credential)


@pytest.fixture(scope="module")
def fixed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Finding]]:
    root = tmp_path_factory.mktemp("fixed")
    for cloud in ("aws", "gcp", "azure"):
        shutil.copytree(DEMO / cloud, root / cloud)
    fix_aws(root)
    fix_gcp(root)
    fix_azure(root)
    snapshot = scan_files([str(root / c) for c in ("aws", "gcp", "azure")])
    yield run(snapshot, graph_of(snapshot))


def test_fixed_trusts_are_no_longer_reported(fixed: list[Finding]) -> None:
    assert of(fixed, "risky-trust/open-to-anyone") == {}
    assert of(fixed, "risky-trust/cross-account-no-external-id") == {}
    assert of(fixed, "risky-trust/oidc-subject-not-pinned") == {}
    assert of(fixed, "risky-trust/wif-no-attribute-condition") == {}
    assert of(fixed, "risky-trust/broad-federated-credential") == {}


def test_fixed_resource_policies_are_no_longer_public_or_external(fixed: list[Finding]) -> None:
    public = of(fixed, "risky-trust/public-resource-policy")
    assert "arn:aws:s3:::acme-public-assets" not in public
    assert "//storage.googleapis.com/shop-prod-public-assets" in public  # not fixed in the variant
    assert of(fixed, "risky-trust/external-resource-access") == {}
    # The function now grants the management account: inside the organization, still cross-account.
    inside = of(fixed, "risky-trust/cross-account-resource-access")
    assert "arn:aws:lambda:us-east-1:222222222222:function:invoice-renderer" in inside


def test_only_a_positive_test_of_fixed_caller_values_limits_a_public_statement() -> None:
    def statement(condition: dict[str, Any]) -> dict[str, Any]:
        return {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Condition": condition}

    assert limits_caller(statement({"StringEquals": {"aws:PrincipalOrgID": "o-demo1234ab"}}))
    assert limits_caller(statement({"StringEquals": {"AWS:SourceOwner": "222222222222"}}))  # keys: any case
    assert limits_caller(statement({"IpAddress": {"aws:SourceIp": ["203.0.113.0/24"]}}))
    assert not limits_caller(statement({"StringNotEquals": {"aws:PrincipalOrgID": "o-demo1234ab"}}))
    assert not limits_caller(statement({"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/*"}}))
    assert not limits_caller(statement({"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}}))
    assert not limits_caller(statement({"Bool": {"aws:SecureTransport": "true"}}))
    assert not limits_caller({"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject"})
