"""Every planted problem of the demo estate (``fixtures/demo/*/README.md``) is found by its rule, at
the estate's "now" (2025-06-02), over the three clouds in one snapshot with their mint graph — the
way ``make demo`` runs them. Planted items that are semantics for the simulator rather than
problems (a conditional binding, a deny policy, a pinned trust, an ABAC condition) are listed
apart, with the command that shows them."""

from __future__ import annotations

import functools
from datetime import UTC, datetime

import pytest

from models import Snapshot
from scanner.files import scan_files
from simulator.engines import open_estate
from simulator.findings import Context, Finding, load_rules, run_rules
from simulator.graph.build import build
from tests.conftest import REPO

AT = datetime(2025, 6, 2, 12, tzinfo=UTC)
DEMO = REPO / "fixtures" / "demo"

#: (planted item, rule id, a text the finding's subject or principal contains)
PLANTED = [
    ("aws 1", "risky-trust/oidc-subject-not-pinned", "role/github-ci-any-repo"),
    ("aws 2", "risky-trust/cross-account-no-external-id", "role/vendor-integration"),
    ("aws 3", "risky-trust/open-to-anyone", "role/legacy-open-trust"),
    ("aws 4", "escalation-path/outsider-to-admin", "token.actions.githubusercontent.com|repo:*"),
    ("aws 4", "escalation-path/to-admin", "role/lambda-deployer"),
    ("aws 5", "excess-privilege/admin-workload-identity", "role/admin-lambda-exec"),
    ("aws 6", "shared-identity/many-workloads", "role/app-shared-role"),
    ("aws 7", "stale-credential/multiple-active-keys", "user/legacy-batch"),
    ("aws 7", "shared-identity/human-and-machine-use", "user/legacy-batch"),
    ("aws 7", "insecure-authentication/console-without-mfa", "user/legacy-batch"),
    ("aws 8", "risky-trust/public-resource-policy", "acme-public-assets"),
    ("aws 9", "risky-trust/cross-account-resource-access", "key/7f1c2e9a"),
    ("aws 10", "risky-trust/cross-account-resource-access", "prod/payments/db"),
    ("aws 11", "risky-trust/external-resource-access", "function:invoice-renderer"),
    ("aws 12", "excess-privilege/service-wildcard-policy", "DataPipelineAccess"),
    ("aws 13", "excess-privilege/service-wildcard-policy", "LegacyS3FullAccess"),
    ("aws 14", "escalation-path/to-admin", "user/service/svc-terraform"),
    ("aws 15", "insecure-authentication/console-without-mfa", "user/carol.finance"),
    ("aws 16", "insecure-authentication/console-without-mfa", "user/ivan.contractor"),
    ("aws 17", "insecure-authentication/root-without-mfa", "222222222222:root"),
    ("aws 17", "insecure-authentication/root-without-mfa", "333333333333:root"),
    ("aws 18", "escalation-path/to-admin", "project/deploy-infra"),
    ("aws 19", "escalation-path/to-admin", "stack/network-baseline"),
    ("aws 20", "risky-trust/cross-cloud-federation", "role/gcp-deployer-bridge"),
    ("gcp 4", "stale-credential/non-expiring-secret", "legacy-exporter@shop-prod"),
    ("gcp 5", "excess-privilege/basic-role", "318204957316-compute@developer"),
    ("gcp 5", "shared-identity/many-workloads", "318204957316-compute@developer"),
    ("gcp 6", "risky-trust/cross-environment-mint", "ci-runner@shop-dev"),
    ("gcp 7", "risky-trust/wif-no-attribute-condition", "aws-prod"),
    ("gcp 9", "risky-trust/public-resource-policy", "shop-prod-public-assets"),
    ("gcp 10", "excess-privilege/basic-role", "developers@example.com"),
    ("gcp 11", "risky-trust/external-member", "mallory.contractor@gmail.com"),
    ("gcp 15", "shared-identity/many-workloads", "etl@data-prod"),
    ("azure 1", "shared-identity/many-workloads", "102f1004-b71f-42e7-af38-823b6bddd7b8"),
    ("azure 2", "excess-privilege/admin-workload-identity", "ac4609f8-70c1-4f49-bd09-cffdfba0ab09"),
    ("azure 3", "stale-credential/non-expiring-secret", "ac4609f8-70c1-4f49-bd09-cffdfba0ab09"),
    ("azure 4", "stale-credential/expired-credential", "e5f39b01-46b6-424f-a576-177f6bdb32e7"),
    ("azure 7", "excess-privilege/sensitive-wildcard", ""),
    ("azure 9", "shared-identity/many-workloads", "b8403ec7-9334-4564-9cb2-e11975652cdf"),
    ("azure 10", "risky-trust/broad-federated-credential", "fd4811b0-3429-4d72-b034-949f3dbe8849"),
    ("azure 11", "escalation-path/to-admin", "6448bee1-c25d-425a-a7b3-23f19866ee77"),
    ("azure 12", "escalation-path/to-admin", "16af1a92"),
    ("azure 13", "excess-privilege/sensitive-wildcard", "c6b8125b-27e6-44a9-9799-ca8ea434b995"),
    ("azure 14", "escalation-path/to-admin", "e339cd93-1b6a-40ad-9546-fb7eff1894fd"),
    ("azure 15", "escalation-path/to-admin", "2aad1c83-3cb6-46ab-88ac-51c0c4d4dc0e"),
]


@functools.cache
def demo() -> Snapshot:
    return scan_files([DEMO / "aws", DEMO / "gcp", DEMO / "azure"])


@functools.cache
def findings() -> tuple[Finding, ...]:
    estate = open_estate(demo(), at=AT)
    graph = build(estate, jobs=2)
    outcome = run_rules(Context(estate, lambda: graph), load_rules())
    assert outcome.failures == ()
    return outcome.findings


@pytest.mark.parametrize(("item", "rule", "subject"), PLANTED, ids=[f"{i} {r}" for i, r, _ in PLANTED])
def test_the_planted_problem_is_found_by_its_rule(item: str, rule: str, subject: str) -> None:
    found = [f for f in findings() if f.rule.id == rule and (subject in f.subject or subject in f.principal)]
    assert found, f"planted {item}: no {rule} finding about {subject!r}"


def test_every_readme_item_is_held_to_a_rule_or_listed_as_semantics() -> None:
    """Each planted row of the three READMEs is in PLANTED or in SEMANTICS: a new planted problem
    must be given a rule (or a reason) here."""
    import re

    numbered = set()
    for cloud in ("aws", "gcp", "azure"):
        text = (DEMO / cloud / "README.md").read_text()
        planted = text.split("## Planted problems", 1)[1].split("\n## ", 1)[0]
        numbered |= {f"{cloud} {n}" for n in re.findall(r"^\| (\d+) \|", planted, re.MULTILINE)}
    covered = {item for item, _, _ in PLANTED} | set(SEMANTICS)
    assert numbered - covered == set()


#: Planted items that are not problems for a rule to report, and where they show instead.
SEMANTICS = {
    "gcp 1": "a time-bound conditional binding: `can` decides it by request.time (tests/simulator/gcp)",
    "gcp 2": "a resource-name conditional binding: `can` decides it by resource.name",
    "gcp 3": "a deny policy with a break-glass exception: `can` / `who-can` honour it",
    "gcp 8": "a pinned GitHub pool (fine by itself): the chain to AWS is aws 20's finding",
    "gcp 12": "domain-wide roles/browser on the organization (informational)",
    "gcp 13": "a GKE node pool on the default compute account: its workloads are in gcp 5's finding",
    "gcp 14": "a Scheduler job sending etl's ID token: etl's workloads are in gcp 15's finding",
    "gcp 16": "Cloud Build on the default compute account: in gcp 5's finding",
    "azure 5": "a deny assignment (a protection): `can` honours it, exclusions included",
    "azure 6": "an ABAC-conditional blob reader: `can` decides the condition",
    "azure 8": "a pinned AKS federated credential (fine by itself)",
    "azure 16": "a PIM-eligible directory role of a group that is admin already (azure 7)",
}
