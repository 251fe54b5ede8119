"""Drift in access on the demo estate: in each cloud a change that grants access, one that
removes it and one that only rewrites the text, each second snapshot built from the demo one by
editing a document; chains opened and closed, findings compared by id, and the object diff."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from iamdrift.drift_commands import aws_comparer
from models import Attachment, AttachmentKind, Snapshot
from scanner.files import scan_files
from simulator.engines import open_estate
from simulator.findings import Category, Finding, Nhi, Outcome, RuleMeta, Severity
from simulator.findings.drift import access_changes, chain_changes, drift
from simulator.findings.drift_model import Access, Change, ChangeKind, ChangeType
from simulator.graph.build import build

DEMO = Path(__file__).resolve().parents[3] / "fixtures" / "demo"
AT = datetime(2025, 6, 2, 12, tzinfo=UTC)
TERRAFORM_POLICY = "arn:aws:iam::111111111111:policy/TerraformStateAccess"
SVC_TERRAFORM = "arn:aws:iam::111111111111:user/service/svc-terraform"
DATA_PROD = "projects/data-prod#iam-policy"
ETL = "serviceAccount:etl@data-prod.iam.gserviceaccount.com"
KV_SECRETS_USER = "/providers/microsoft.authorization/roledefinitions/4633458b-17de-408a-b874-0445c86b69e6"
VM_DATA_WORKER = "4e153ceb-bd68-40a1-8a9c-ff530b204712"
#: sp-terraform's Owner of the prod subscription: what makes it admin-equivalent (bob and carol reach it).
TERRAFORM_OWNER = (
    "/subscriptions/1c6a9e42-7b3d-4f8e-a5c1-2d9b8e7f6a30/providers/microsoft.authorization/roleassignments/"
    "55867c38-3aef-4a5a-baec-14f007344391"
)


@cache
def demo(cloud: str) -> Snapshot:
    return scan_files([DEMO / cloud])


def edited(snapshot: Snapshot, policy_id: str, edit: Callable[[dict[str, Any]], None]) -> Snapshot:
    """``snapshot`` with one policy document edited (a new snapshot id)."""
    policy = next(p for p in snapshot.policies if p.id == policy_id)
    document = copy.deepcopy(policy.document)
    edit(document)
    policies = tuple(replace(p, document=document) if p.id == policy_id else p for p in snapshot.policies)
    return replace(snapshot, id=snapshot.id + "-new", policies=policies)


def changes_of(old: Snapshot, new: Snapshot, *, comparer: bool = False) -> list[Change]:
    return list(
        access_changes(open_estate(old, at=AT), open_estate(new, at=AT), comparer=aws_comparer() if comparer else None)
    )


def only(changes: list[Change]) -> Change:
    assert len(changes) == 1, [c.id for c in changes]
    return changes[0]


# --- AWS ------------------------------------------------------------------------------------------


def test_aws_statement_added_gains_access_with_a_witness_for_the_policy_holder() -> None:
    new = edited(
        demo("aws"),
        TERRAFORM_POLICY,
        lambda d: d["Statement"].append(
            {"Effect": "Allow", "Action": "s3:DeleteObject", "Resource": "arn:aws:s3:::acme-terraform-state/*"}
        ),
    )
    change = only(changes_of(demo("aws"), new, comparer=True))
    assert (change.id, change.kind, change.change, change.access) == (
        TERRAFORM_POLICY,
        ChangeKind.POLICY,
        ChangeType.CHANGED,
        Access.GAINED,
    )
    assert change.principals == (SVC_TERRAFORM,) and not change.lost
    witness = change.gained[0]
    assert (witness.principal, witness.action) == (SVC_TERRAFORM, "s3:DeleteObject")
    assert witness.resource.startswith("arn:aws:s3:::acme-terraform-state/")
    assert set(change.to_json()) == {"id", "cloud", "kind", "change", "access", "gained", "lost", "principals"}


def test_aws_statement_removed_loses_access() -> None:
    new = edited(demo("aws"), TERRAFORM_POLICY, lambda d: d["Statement"].pop(0))  # s3:ListBucket on the bucket
    change = only(changes_of(demo("aws"), new, comparer=True))
    assert change.access is Access.LOST and not change.gained
    assert [(w.principal, w.action, w.resource) for w in change.lost] == [
        (SVC_TERRAFORM, "s3:ListBucket", "arn:aws:s3:::acme-terraform-state")
    ]


def test_aws_rewrite_is_text_changed_access_equivalent() -> None:
    def rewrite(d: dict[str, Any]) -> None:
        d["Statement"].reverse()
        d["Statement"][0]["Sid"] = "Locks"

    change = only(changes_of(demo("aws"), edited(demo("aws"), TERRAFORM_POLICY, rewrite), comparer=True))
    assert change.access is Access.EQUIVALENT and not change.gained and not change.lost


def test_aws_without_a_comparer_is_unknown_never_equivalent() -> None:
    new = edited(demo("aws"), TERRAFORM_POLICY, lambda d: d["Statement"].reverse())
    change = only(changes_of(demo("aws"), new))
    assert change.access is Access.UNKNOWN and change.reasons


def test_aws_attachment_added_gains_what_the_policy_grants() -> None:
    old = demo("aws")
    carol = "arn:aws:iam::111111111111:user/carol.finance"  # read-only: writes to the state bucket are new
    attachment = Attachment(policy_id=TERRAFORM_POLICY, target_id=carol, kind=AttachmentKind.IDENTITY)
    new = replace(old, id="attached", attachments=(*old.attachments, attachment))
    change = only(changes_of(old, new, comparer=True))
    assert (change.id, change.change, change.access) == (attachment.id, ChangeType.ADDED, Access.GAINED)
    assert {w.principal for w in change.gained} == {carol} and not change.lost


def test_aws_attachment_to_an_admin_shows_no_confirmed_gain_and_is_unknown_not_none() -> None:
    old = demo("aws")
    alice = "arn:aws:iam::111111111111:user/alice.admin"  # AdministratorAccess through her group already
    attachment = Attachment(policy_id=TERRAFORM_POLICY, target_id=alice, kind=AttachmentKind.IDENTITY)
    change = only(
        changes_of(old, replace(old, id="attached", attachments=(*old.attachments, attachment)), comparer=True)
    )
    assert change.access is Access.UNKNOWN and not change.gained and change.reasons


# --- Google Cloud ---------------------------------------------------------------------------------


def test_gcp_binding_added_gains_the_roles_permissions() -> None:
    new = edited(
        demo("gcp"),
        DATA_PROD,
        lambda d: d["bindings"].append({"role": "roles/secretmanager.secretAccessor", "members": [ETL]}),
    )
    change = only(changes_of(demo("gcp"), new))
    assert (change.kind, change.access, change.principals) == (ChangeKind.BINDING, Access.GAINED, (ETL,))
    assert {w.action for w in change.gained} <= {"secretmanager.versions.access", "resourcemanager.projects.get"}
    assert change.gained and all(w.principal == ETL and w.resource == "projects/data-prod" for w in change.gained)


def test_gcp_binding_removed_loses_access() -> None:
    def drop(d: dict[str, Any]) -> None:
        d["bindings"] = [b for b in d["bindings"] if b["role"] != "roles/bigquery.dataEditor"]

    change = only(changes_of(demo("gcp"), edited(demo("gcp"), DATA_PROD, drop)))
    assert change.access is Access.LOST and change.lost and not change.gained
    assert all(w.principal == ETL and w.action.startswith("bigquery.") for w in change.lost)


def test_gcp_rewrite_is_equivalent() -> None:
    def rewrite(d: dict[str, Any]) -> None:
        d["bindings"].reverse()
        d["etag"] = "rewritten"
        for binding in d["bindings"]:
            binding["members"].reverse()

    change = only(changes_of(demo("gcp"), edited(demo("gcp"), DATA_PROD, rewrite)))
    assert change.access is Access.EQUIVALENT and change.principals == ()


def test_gcp_condition_added_with_no_difference_found_is_unknown_not_none() -> None:
    def conditional(d: dict[str, Any]) -> None:
        for binding in d["bindings"]:
            if binding["role"] == "roles/bigquery.dataEditor":
                binding["condition"] = {"title": "t", "expression": "request.time < timestamp('2099-01-01T00:00:00Z')"}

    change = only(changes_of(demo("gcp"), edited(demo("gcp"), DATA_PROD, conditional)))
    assert change.access is Access.UNKNOWN and not change.gained and not change.lost
    assert any("condition" in r for r in change.reasons)


# --- Azure ----------------------------------------------------------------------------------------


def test_azure_role_definition_widened_gains_access_for_its_assignees() -> None:
    new = edited(
        demo("azure"),
        KV_SECRETS_USER,
        lambda d: d["permissions"][0]["dataActions"].append("Microsoft.KeyVault/vaults/secrets/setSecret/action"),
    )
    change = only(changes_of(demo("azure"), new))
    assert (change.kind, change.access) == (ChangeKind.ROLE, Access.GAINED)
    assert VM_DATA_WORKER in change.principals
    assert {w.action for w in change.gained} == {"Microsoft.KeyVault/vaults/secrets/setSecret/action"}
    assert VM_DATA_WORKER in {w.principal for w in change.gained}


def test_azure_assignment_removed_loses_access() -> None:
    old = demo("azure")
    assignment = next(
        p
        for p in old.policies
        if p.kind.value == "azure_assignment" and p.document.get("principalId") == VM_DATA_WORKER
    )
    new = replace(
        old,
        id="removed",
        policies=tuple(p for p in old.policies if p.id != assignment.id),
        attachments=tuple(a for a in old.attachments if a.policy_id != assignment.id),
    )
    change = only(changes_of(old, new))
    assert (change.id, change.kind, change.change, change.access) == (
        assignment.id,
        ChangeKind.ASSIGNMENT,
        ChangeType.REMOVED,
        Access.LOST,
    )
    assert {w.principal for w in change.lost} == {VM_DATA_WORKER}


def test_azure_rewrite_is_equivalent() -> None:
    def rewrite(d: dict[str, Any]) -> None:
        d["permissions"][0]["dataActions"].reverse()
        d["description"] = "reworded"

    change = only(changes_of(demo("azure"), edited(demo("azure"), KV_SECRETS_USER, rewrite)))
    assert change.access is Access.EQUIVALENT


# --- objects, chains, findings --------------------------------------------------------------------


def test_principals_credentials_and_workloads_are_matched_by_id_and_use_alone_is_no_change() -> None:
    old = demo("aws")
    used = tuple(replace(p, last_used=AT) for p in old.principals)
    assert changes_of(old, replace(old, id="used", principals=used)) == []
    gone = old.credentials[0]
    renamed = replace(old.principals[1], tags={"owner": "team-x"})
    new = replace(
        old,
        id="edited",
        credentials=old.credentials[1:],
        principals=(old.principals[0], renamed, *old.principals[2:]),
    )
    rows = {(c.kind, c.change): c for c in changes_of(old, new)}
    assert rows[(ChangeKind.CREDENTIAL, ChangeType.REMOVED)].principals == (gone.principal_id,)
    assert rows[(ChangeKind.PRINCIPAL, ChangeType.CHANGED)].access is Access.NONE
    assert len(rows) == 2


def test_group_membership_change_is_unknown_in_access() -> None:
    old = demo("aws")
    user = next(p for p in old.principals if p.member_of)
    new = replace(
        old, id="left", principals=tuple(replace(p, member_of=()) if p.id == user.id else p for p in old.principals)
    )
    change = only(changes_of(old, new))
    assert (change.kind, change.access) == (ChangeKind.PRINCIPAL, Access.UNKNOWN)


@cache
def azure_graph(snapshot_id: str) -> Any:
    snapshot = demo("azure") if snapshot_id == demo("azure").id else without_terraform_owner()
    return build(open_estate(snapshot, at=AT), jobs=1)


@cache
def without_terraform_owner() -> Snapshot:
    old = demo("azure")
    return replace(
        old,
        id="no-owner",
        policies=tuple(p for p in old.policies if p.id != TERRAFORM_OWNER),
        attachments=tuple(a for a in old.attachments if a.policy_id != TERRAFORM_OWNER),
    )


def terraform_id() -> str:
    return next(p.id for p in demo("azure").principals if p.name == "sp-terraform")


def test_removing_an_owner_assignment_closes_its_chain_and_reopening_opens_it() -> None:
    old, new = demo("azure"), without_terraform_owner()
    before, after = azure_graph(old.id), azure_graph(new.id)
    opened, closed = chain_changes(before, after)
    assert opened == () and closed
    starts = {c.source for c in closed}
    names = {p.id: p.name for p in old.principals}
    assert "carol@example.com" in {names.get(s) for s in starts}  # she owns sp-terraform
    assert all(c.target == terraform_id() for c in closed)
    reopened, reclosed = chain_changes(after, before)
    assert {c.source for c in reopened} == starts and reclosed == ()
    result = drift(open_estate(old, at=AT), open_estate(new, at=AT), graphs=(before, after))
    assert result.former_admins == (terraform_id(),) and result.new_admins == ()
    data = result.to_json()
    assert set(data) == {"from", "to", "changes", "chains", "findings"}
    assert data["chains"]["closed"] and data["chains"]["opened"] == []
    assert {"from", "to", "status", "edges"} <= set(data["chains"]["closed"][0])
    owner = next(c for c in data["changes"] if c["id"] == TERRAFORM_OWNER)
    assert (owner["change"], owner["kind"]) == ("removed", "assignment")
    assert owner["access"] in ("lost", "unknown")


def _finding(subject: str) -> Finding:
    meta = RuleMeta(
        id="excess-privilege/test-rule",
        title="A test rule",
        severity=Severity.HIGH,
        category=Category.EXCESS_PRIVILEGE,
        nhi=(Nhi.NHI5,),
        rationale="for the test",
        remediation="none",
    )
    return Finding(rule=meta, subject=subject, principal=subject, cloud=None, sentence=f"{subject} is wrong")


def test_findings_are_compared_by_their_stable_id() -> None:
    old, new = demo("azure"), demo("azure")
    before = Outcome(findings=(_finding("a"), _finding("b")), failures=())
    after = Outcome(findings=(_finding("b"), _finding("c")), failures=())
    result = drift(open_estate(old, at=AT), open_estate(new, at=AT), findings=(before, after))
    assert [f.subject for f in result.findings_new] == ["c"]
    assert [f.subject for f in result.findings_resolved] == ["a"]
    assert json.loads(json.dumps(result.to_json()))["findings"]["new"][0]["id"] == _finding("c").id


def test_a_coverage_gap_is_said_not_turned_into_no_drift() -> None:
    from models import CoverageStatus

    old = demo("azure")
    entry = replace(old.coverage[0], status=CoverageStatus.DENIED, detail="AuthorizationFailed")
    new = replace(old, id="gap", coverage=(entry, *old.coverage[1:]))
    result = drift(open_estate(old, at=AT), open_estate(new, at=AT))
    assert result.changes == ()
    assert any("new snapshot gap has 1 coverage gap" in n for n in result.notes)
    assert not any("old snapshot" in n for n in result.notes)
