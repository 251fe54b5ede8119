"""shared-identity rules over the demo estate (fixtures/demo/*/README.md, planted problems)."""

from __future__ import annotations

import dataclasses
import functools
from datetime import UTC, datetime

from models import Cloud, CoverageEntry, CoverageStatus, Covers, CredentialKind, Snapshot
from scanner.files import scan_files
from simulator.engines import open_estate
from simulator.findings import Context, Finding, Settings, load_rules, run_rules
from simulator.graph import MintGraph
from simulator.graph.build import build

AT = datetime(2025, 6, 2, 12, tzinfo=UTC)
DEMO = ["fixtures/demo/aws", "fixtures/demo/gcp", "fixtures/demo/azure"]
PROD = "arn:aws:iam::222222222222"
DEFAULT_COMPUTE = "serviceAccount:318204957316-compute@developer.gserviceaccount.com"
ID_SHOP_DEPLOY = "102f1004-b71f-42e7-af38-823b6bddd7b8"
ID_DEV_CI = "b8403ec7-9334-4564-9cb2-e11975652cdf"


@functools.cache
def demo() -> tuple[Snapshot, MintGraph]:
    snapshot = scan_files(DEMO)
    return snapshot, build(open_estate(snapshot, at=AT))


def run(rule: str, settings: Settings | None = None, snapshot: Snapshot | None = None) -> dict[str, Finding]:
    """One rule's findings by subject, over the demo (or ``snapshot``, with the demo's graph)."""
    demo_snapshot, graph = demo()
    context = Context(open_estate(snapshot or demo_snapshot, at=AT), lambda: graph, settings)
    outcome = run_rules(context, [r for r in load_rules(["shared_identity"]) if r.meta.id == rule])
    assert outcome.failures == ()
    return {f.subject: f for f in outcome.findings}


def test_identities_of_several_workloads_are_found_in_all_three_clouds() -> None:
    found = run("shared-identity/many-workloads")
    expected = {
        f"{PROD}:role/app-shared-role": 5,  # AWS #6: 3 instances, a function, a task definition
        DEFAULT_COMPUTE: 8,  # GCP #5, #13, #16: 5 VMs, Cloud Run storefront, Cloud Build, the GKE node pool
        "serviceAccount:payments-api@shop-prod.iam.gserviceaccount.com": 3,  # GCP #6: VM, function, GKE KSA
        "serviceAccount:etl@data-prod.iam.gserviceaccount.com": 3,  # GCP #15: VM, scheduler job, Composer
        ID_SHOP_DEPLOY: 3,  # Azure #1: a VM, a function app, an app service (and a GitHub workflow)
        ID_DEV_CI: 1,  # Azure #9: app-shop-dev, and the GitHub workflow of environment dev
    }
    assert set(found) == set(expected)
    for principal, count in expected.items():
        finding = found[principal]
        assert f"identity of {count} workload" in finding.sentence, finding.sentence
        assert len([e for e in finding.evidence if e.document and "workload" in e.document]) == count
        assert finding.principal == principal
    assert "default compute service account" in found[DEFAULT_COMPUTE].sentence
    assert found[ID_SHOP_DEPLOY].cloud is Cloud.AZURE
    # An outside workflow that federates into the identity counts beside its workloads.
    assert "github:repo:example/deploy:ref:refs/heads/main" in found[ID_SHOP_DEPLOY].sentence
    assert "github:repo:example/deploy:environment:dev" in found[ID_DEV_CI].sentence
    assert any("federated credential" in e.what for e in found[ID_DEV_CI].evidence)


def test_identities_of_one_workload_are_not_shared() -> None:
    found = run("shared-identity/many-workloads")
    # The ECS execution role, the function roles of one function each, a VM's own service account;
    # a role only GitHub federates into (no workload), an identity attached to nothing (id-data-etl).
    for single in (
        f"{PROD}:role/ecs-task-execution-role",
        f"{PROD}:role/invoice-renderer-role",
        "arn:aws:iam::333333333333:role/prod-kms-consumer",
        "serviceAccount:ci-runner@shop-dev.iam.gserviceaccount.com",
        f"{PROD}:role/github-deploy-prod",
        "b524974f-5d6b-4bef-a09e-9f655eabb352",
    ):
        assert single not in found


def test_the_threshold_comes_from_the_settings_and_the_id_does_not_depend_on_the_count() -> None:
    assert set(run("shared-identity/many-workloads", Settings(shared_workloads=6))) == {DEFAULT_COMPUTE}
    assert run("shared-identity/many-workloads", Settings(shared_workloads=9)) == {}
    # One workload fewer on app-shared-role: the same problem, the same id.
    snapshot, _ = demo()
    fewer = dataclasses.replace(
        snapshot, workloads=tuple(w for w in snapshot.workloads if not w.id.endswith("instance/i-0a4f1c9e7b2d38e51"))
    )
    before = run("shared-identity/many-workloads")[f"{PROD}:role/app-shared-role"]
    after = run("shared-identity/many-workloads", snapshot=fewer)[f"{PROD}:role/app-shared-role"]
    assert "identity of 4 workloads" in after.sentence
    assert before.id == after.id


def test_a_gap_in_the_workloads_read_is_said_not_taken_as_none() -> None:
    snapshot, _ = demo()
    gap = CoverageEntry(
        scope_id="333333333333",
        source="api",
        service="lambda",
        operation="ListFunctions",
        status=CoverageStatus.DENIED,
        detail="AccessDenied",
        covers=(Covers.WORKLOADS,),
    )
    found = run(
        "shared-identity/many-workloads", snapshot=dataclasses.replace(snapshot, coverage=(*snapshot.coverage, gap))
    )
    gaps = [f for f in found.values() if f.unknown]
    assert len(gaps) == 1 and "could not read lambda" in gaps[0].sentence and "333333333333" in gaps[0].sentence


def test_a_role_anyone_may_assume_is_widely_trusted() -> None:
    # AWS #3 seen as sharing: legacy-open-trust may be assumed by every principal of every account.
    found = run("shared-identity/widely-trusted")
    assert set(found) == {f"{PROD}:role/legacy-open-trust"}
    finding = found[f"{PROD}:role/legacy-open-trust"]
    assert "unrelated principals" in finding.sentence and "anyone" in finding.sentence
    assert finding.evidence and finding.answers


def test_widely_trusted_counts_direct_trusts_from_unrelated_principals_only() -> None:
    lower = run("shared-identity/widely-trusted", Settings(many_trusted=3))
    # The management account's users assume OrganizationAccountAccessRole in prod and dev (3 of them).
    assert f"{PROD}:role/OrganizationAccountAccessRole" in lower
    # Workloads that run as a role are not principals trusting it; a role's own escalations are no trust.
    assert f"{PROD}:role/app-shared-role" not in lower
    assert run("shared-identity/widely-trusted", Settings(many_trusted=100)) == {}


def test_users_with_a_console_password_and_active_keys_are_human_and_machine_use() -> None:
    found = run("shared-identity/human-and-machine-use")
    # AWS #7: legacy-batch, a console password and two active access keys.
    batch = found[f"{PROD}:user/legacy-batch"]
    assert "console password and 2 active access keys" in batch.sentence
    assert any("without MFA" in e.what and "2022-09-14" in e.what for e in batch.evidence)
    assert any("never" in e.what and "access key" in e.what for e in batch.evidence)
    # Not: a password only (carol.finance), keys only (svc-terraform), an inactive key (ivan.contractor).
    for fine in (
        "arn:aws:iam::111111111111:user/carol.finance",
        "arn:aws:iam::111111111111:user/service/svc-terraform",
        "arn:aws:iam::333333333333:user/ivan.contractor",
    ):
        assert fine not in found


def test_deactivating_the_keys_ends_the_machine_use() -> None:
    snapshot, _ = demo()
    batch = f"{PROD}:user/legacy-batch"
    deactivated = tuple(
        dataclasses.replace(c, active=False) if c.principal_id == batch and c.kind is CredentialKind.ACCESS_KEY else c
        for c in snapshot.credentials
    )
    found = run(
        "shared-identity/human-and-machine-use", snapshot=dataclasses.replace(snapshot, credentials=deactivated)
    )
    assert batch not in found
