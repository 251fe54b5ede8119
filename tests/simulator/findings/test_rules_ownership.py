"""The ownership rule and ``owner_of`` on the demo estate and on variants of it with owner tags
and labels on identities, workloads and scopes."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

from models import Cloud, CoverageEntry, CoverageStatus, Covers, Snapshot
from scanner.files import scan_files
from simulator.engines import open_estate
from simulator.findings import Context, Finding, Settings, load_rules, run_rules
from simulator.findings.rules.ownership import owner_lookup, owner_of
from simulator.graph import MintGraph

DEMO = Path(__file__).resolve().parents[3] / "fixtures" / "demo"
AT = datetime(2025, 6, 2, 12, tzinfo=UTC)
PROD = "222222222222"
APP_SHARED = "arn:aws:iam::222222222222:role/app-shared-role"
CI_ANY_REPO = "arn:aws:iam::222222222222:role/github-ci-any-repo"
OKTA_ADMIN = "arn:aws:iam::111111111111:role/okta-admin"
SVC_TERRAFORM = "arn:aws:iam::111111111111:user/service/svc-terraform"
LEGACY_BATCH = "arn:aws:iam::222222222222:user/legacy-batch"
DAVE = "arn:aws:iam::222222222222:user/dave.dev"
ECS_SLR = "arn:aws:iam::222222222222:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS"
ADMINS_GROUP = "arn:aws:iam::222222222222:group/Admins"
WEB_1 = "arn:aws:ec2:us-east-1:222222222222:instance/i-0a4f1c9e7b2d38e51"
ETL = "serviceAccount:etl@data-prod.iam.gserviceaccount.com"
ETL_WORKER = "//compute.googleapis.com/projects/data-prod/zones/europe-west1-b/instances/etl-worker-1"
SP_TERRAFORM = "ac4609f8-70c1-4f49-bd09-cffdfba0ab09"
SP_BREAK_GLASS = "d3c84065-d2c0-4704-9b0d-d5a5f1ca6760"
SP_LEGACY_REPORTING = "e5f39b01-46b6-424f-a576-177f6bdb32e7"
ID_SHOP_DEPLOY = "102f1004-b71f-42e7-af38-823b6bddd7b8"
GRAPH_SP = "065e0b60-5098-43c3-8f44-63d057782035"
ALICE = "f02b8c5e-aa64-41d3-a881-38017bbaa9ef"
RG_IDENTITY_PROD = "/subscriptions/1c6a9e42-7b3d-4f8e-a5c1-2d9b8e7f6a30/resourcegroups/rg-identity-prod"


@cache
def demo(cloud: str) -> Snapshot:
    return scan_files([DEMO / cloud])


def no_graph() -> MintGraph:
    raise AssertionError("the ownership rule must not need the mint graph")


def unowned(snapshot: Snapshot, settings: Settings | None = None) -> dict[str, Finding]:
    outcome = run_rules(Context(open_estate(snapshot, at=AT), no_graph, settings), load_rules(["ownership"]))
    assert outcome.failures == ()
    return {f.subject: f for f in outcome.findings}


def retag_principal(snapshot: Snapshot, principal_id: str, **changes: object) -> Snapshot:
    principals = tuple(replace(p, **changes) if p.id == principal_id else p for p in snapshot.principals)  # type: ignore[arg-type]
    return replace(snapshot, principals=principals)


def retag_scope(snapshot: Snapshot, scope_id: str, tags: dict[str, str]) -> Snapshot:
    scopes = tuple(replace(s, tags=tags) if s.id == scope_id else s for s in snapshot.scopes)
    return replace(snapshot, scopes=scopes)


def retag_workload(snapshot: Snapshot, workload_id: str, tags: dict[str, str]) -> Snapshot:
    workloads = tuple(replace(w, tags=tags) if w.id == workload_id else w for w in snapshot.workloads)
    return replace(snapshot, workloads=workloads)


def test_aws_roles_without_owner_tag_are_reported() -> None:
    found = unowned(demo("aws"))
    assert APP_SHARED in found  # tags app and managed-by, no owner
    assert "app-shared-role (account 222222222222) has no owner" in found[APP_SHARED].sentence
    assert SVC_TERRAFORM in found  # a machine user (access key, no password) tagged only managed-by
    assert CI_ANY_REPO not in found  # owner=platform


def test_aws_people_groups_saml_roles_and_service_linked_roles_are_not_nhis() -> None:
    found = unowned(demo("aws"))
    for subject in (DAVE, LEGACY_BATCH, ADMINS_GROUP, ECS_SLR, OKTA_ADMIN):
        assert subject not in found


def test_owner_of_reads_the_identity_then_workload_then_scopes() -> None:
    snapshot = demo("aws")
    assert owner_of(snapshot, CI_ANY_REPO) == "platform"
    assert owner_of(snapshot, APP_SHARED) is None
    with_workload = retag_workload(snapshot, WEB_1, {"Owner": "payments-team"})
    assert owner_of(with_workload, APP_SHARED) == "payments-team"  # tag keys match case-insensitively
    assert owner_of(with_workload, WEB_1) == "payments-team"
    with_account = retag_scope(snapshot, PROD, {"owner": "prod-platform"})
    assert owner_of(with_account, APP_SHARED) == "prod-platform"
    assert owner_of(with_account, CI_ANY_REPO) == "platform"  # its own tag wins
    with_root = retag_scope(snapshot, "r-ab12", {"owner": "cloud-office"})
    assert owner_of(with_root, APP_SHARED) == "cloud-office"  # walked up account > OU > root
    assert owner_of(snapshot, "arn:aws:iam::222222222222:role/not-there") is None


def test_owner_from_scope_clears_the_finding() -> None:
    found = unowned(retag_scope(demo("aws"), PROD, {"owner": "prod-platform"}))
    assert not [f for f in found.values() if f.principal.startswith(f"arn:aws:iam::{PROD}:")]
    assert "arn:aws:iam::333333333333:role/dev-sandbox-role" in found


def test_owner_keys_come_from_settings_and_blank_values_are_no_owner() -> None:
    found = unowned(demo("aws"), Settings(owner_keys=("team", "owner")))
    assert "arn:aws:iam::222222222222:role/codebuild-infra-role" not in found  # team=platform
    blank = retag_principal(demo("aws"), CI_ANY_REPO, tags={"owner": "  "})
    assert CI_ANY_REPO in unowned(blank)


def test_gcp_service_accounts_owned_through_project_and_workload_labels() -> None:
    snapshot = demo("gcp")
    found = unowned(snapshot)
    assert ETL in found
    assert (
        "deployer@shop-prod.iam.gserviceaccount.com"
        in found["serviceAccount:deployer@shop-prod.iam.gserviceaccount.com"].sentence
    )
    labelled = replace(
        snapshot,
        scopes=tuple(
            replace(s, tags={**s.tags, "owner": "data-team"}) if s.id == "projects/data-prod" else s
            for s in snapshot.scopes
        ),
    )
    assert owner_of(labelled, ETL) == "data-team"
    assert ETL not in unowned(labelled)
    assert "serviceAccount:deployer@shop-prod.iam.gserviceaccount.com" in unowned(labelled)
    by_vm = retag_workload(snapshot, ETL_WORKER, {"owner": "etl-oncall"})
    assert owner_of(by_vm, ETL) == "etl-oncall"


def test_gcp_project_labels_are_kept_but_name_no_owner() -> None:
    shop_prod = next(s for s in demo("gcp").scopes if s.id == "projects/shop-prod")
    assert shop_prod.tags == {"env": "prod", "team": "shop"}
    assert owner_of(demo("gcp"), "serviceAccount:payments-api@shop-prod.iam.gserviceaccount.com") is None
    assert owner_of(demo("gcp"), "serviceAccount:payments-api@shop-prod.iam.gserviceaccount.com", ("team",)) == "shop"


def test_azure_entra_owners_count() -> None:
    found = unowned(demo("azure"))
    assert SP_TERRAFORM not in found  # its application is owned by carol
    assert owner_of(demo("azure"), SP_TERRAFORM) == "carol@example.com"
    assert owner_of(demo("azure"), SP_BREAK_GLASS) == "alice@example.com"
    assert SP_LEGACY_REPORTING in found
    assert ID_SHOP_DEPLOY in found
    assert GRAPH_SP not in found  # first-party: Microsoft's, not the tenant's
    assert ALICE not in found  # a person


def test_azure_managed_identity_owned_through_its_resource_group() -> None:
    tagged = retag_scope(demo("azure"), RG_IDENTITY_PROD, {"env": "prod", "owner": "platform"})
    assert owner_of(tagged, ID_SHOP_DEPLOY) == "platform"
    assert ID_SHOP_DEPLOY not in unowned(tagged)


def test_azure_unread_owners_make_the_finding_unknown() -> None:
    snapshot = demo("azure")
    principal = next(p for p in snapshot.principals if p.id == SP_LEGACY_REPORTING)
    application = principal.attributes["applicationId"]
    partial = retag_principal(snapshot, application, owners_known=False)
    finding = unowned(partial)[SP_LEGACY_REPORTING]
    assert finding.unknown
    assert finding.notes
    assert not unowned(snapshot)[SP_LEGACY_REPORTING].unknown


def test_disabled_identities_are_left_out() -> None:
    snapshot = retag_principal(demo("aws"), APP_SHARED, disabled=True)
    assert APP_SHARED not in unowned(snapshot)


def test_a_principals_gap_makes_no_owner_unknown() -> None:
    gap = CoverageEntry(
        scope_id=PROD,
        source="api",
        service="iam",
        operation="iam:ListRoleTags",
        status=CoverageStatus.DENIED,
        detail="AccessDenied",
        cloud=Cloud.AWS,
        covers=(Covers.PRINCIPALS,),
    )
    snapshot = replace(demo("aws"), coverage=(*demo("aws").coverage, gap))
    found = unowned(snapshot)
    assert found[APP_SHARED].unknown and "tags may be unread" in found[APP_SHARED].notes[-1]
    assert not found["arn:aws:iam::333333333333:role/dev-sandbox-role"].unknown


def test_owner_lookup_answers_like_owner_of() -> None:
    snapshot = demo("aws")
    lookup = owner_lookup(snapshot)
    for node in (CI_ANY_REPO, APP_SHARED, WEB_1, "nothing"):
        assert lookup(node) == owner_of(snapshot, node)
