"""Azure mint-graph edges on the demo estate, and on variants of it built here for the negative cases."""

from __future__ import annotations

import functools
from dataclasses import replace
from datetime import UTC, datetime

import pytest

import simulator.azure.edges as edges_module
from models import Attachment, AttachmentKind, Cloud, Policy, PolicyKind, Snapshot
from scanner.files import scan_files
from simulator.azure.edges import (
    ACTIVATION,
    ASSIGN_IDENTITY,
    ASSIGN_ROLES,
    FEDERATED,
    JOB_WRITE,
    OWNER,
    RUN_COMMAND,
    RUNBOOK_WRITE,
    RUNS_AS,
    find_admins,
    find_edges,
)
from simulator.core import Edge, EdgeStatus
from simulator.engines import open_estate
from tests.conftest import REPO
from tests.simulator.azure.helpers import assignment, deny_assignment

DEMO_AZURE = REPO / "fixtures" / "demo" / "azure"
AT = datetime(2025, 6, 2, 12, tzinfo=UTC)
PROD = "/subscriptions/1c6a9e42-7b3d-4f8e-a5c1-2d9b8e7f6a30"
GITHUB = "https://token.actions.githubusercontent.com"
SHOP_DEPLOY = "102f1004-b71f-42e7-af38-823b6bddd7b8"
RELEASE_BOT_SP = "1de1aadc-ad52-472b-b04b-952b1da0ff4e"
TERRAFORM_SP = "ac4609f8-70c1-4f49-bd09-cffdfba0ab09"
ALICE = "f02b8c5e-aa64-41d3-a881-38017bbaa9ef"
BOB = "2aad1c83-3cb6-46ab-88ac-51c0c4d4dc0e"
CAROL = "6448bee1-c25d-425a-a7b3-23f19866ee77"
SECURITY_TEAM = "28ccefde-6145-4574-95cb-20a5f6a7b605"
IDM_SYNC_SP = "e339cd93-1b6a-40ad-9546-fb7eff1894fd"
EVERYONE = "00000000-0000-0000-0000-000000000000"


@functools.cache
def demo() -> Snapshot:
    return scan_files([DEMO_AZURE])


def edges_of(snapshot: Snapshot) -> list[Edge]:
    return find_edges(open_estate(snapshot, at=AT))


def workload(name: str) -> str:
    return next(w.id for w in demo().workloads if w.name == name)


def with_deny(snapshot: Snapshot, actions: list[str], scope: str = PROD) -> Snapshot:
    """``snapshot`` plus a deny assignment of ``actions`` to everyone on ``scope`` (the prod subscription)."""
    doc = deny_assignment("edge-test-deny", scope, actions=actions)
    policy = Policy(
        id=doc["id"].lower(),
        cloud=Cloud.AZURE,
        kind=PolicyKind.AZURE_DENY_ASSIGNMENT,
        name="edge-test-deny",
        scope_id=scope,
        document=doc,
    )
    attachment = Attachment(policy_id=policy.id, target_id=scope, kind=AttachmentKind.DENY)
    return replace(snapshot, policies=(*snapshot.policies, policy), attachments=(*snapshot.attachments, attachment))


def find(edges: list[Edge], source: str, target: str, mechanism: str) -> list[Edge]:
    return [e for e in edges if e.source == source and e.target == target and e.mechanism == mechanism]


def test_runs_as_and_github_federated_credential_on_user_assigned_identity() -> None:
    edges = edges_of(demo())
    vm = workload("vm-shop-web-1")
    assert find(edges, vm, SHOP_DEPLOY, RUNS_AS)
    subject = f"{GITHUB}|repo:example/deploy:ref:refs/heads/main"
    [fed] = find(edges, subject, SHOP_DEPLOY, FEDERATED)
    assert fed.status is EdgeStatus.PROVEN
    assert fed.condition == "audience api://AzureADTokenExchange"


def test_application_federated_credential_reaches_its_service_principal() -> None:
    edges = edges_of(demo())
    [fed] = [e for e in edges if e.mechanism == FEDERATED and e.target == RELEASE_BOT_SP]
    assert fed.source == f"{GITHUB}|repo:example/release:*"
    assert fed.condition is not None and "claims['sub'] matches" in fed.condition


def test_run_command_on_a_vm_proven_for_the_owner_and_blocked_by_a_deny_assignment() -> None:
    vm = workload("vm-shop-web-1")
    [edge] = find(edges_of(demo()), RELEASE_BOT_SP, vm, RUN_COMMAND)
    assert edge.status is EdgeStatus.PROVEN
    assert edge.answers[0].witness is not None
    denied = edges_of(with_deny(demo(), [RUN_COMMAND]))
    assert not find(denied, RELEASE_BOT_SP, vm, RUN_COMMAND)


def test_automation_needs_both_runbook_write_and_job_write() -> None:
    account = workload("aa-ops-prod")
    mechanism = f"{RUNBOOK_WRITE}+{JOB_WRITE}"
    proven = [e for e in find(edges_of(demo()), RELEASE_BOT_SP, account, mechanism) if e.status is EdgeStatus.PROVEN]
    assert proven and len(proven[0].answers) == 2
    # Denying only the second permission removes the edge: the first alone runs nothing.
    assert not find(edges_of(with_deny(demo(), [JOB_WRITE])), RELEASE_BOT_SP, account, mechanism)


def test_role_assignment_write_escalates_and_admins() -> None:
    edges = edges_of(demo())
    [edge] = [e for e in find(edges, TERRAFORM_SP, TERRAFORM_SP, ASSIGN_ROLES) if e.status is EdgeStatus.PROVEN]
    assert edge.escalates
    admins = find_admins(open_estate(demo(), at=AT))
    assert any(a.id == TERRAFORM_SP and a.scope == PROD for a in admins)
    # Not an admin where it holds nothing: the dev subscription.
    assert not any(a.id == TERRAFORM_SP and a.scope != PROD for a in admins)
    denied = open_estate(with_deny(demo(), [ASSIGN_ROLES]), at=AT)
    assert not any(a.id == TERRAFORM_SP and a.scope == PROD for a in find_admins(denied))
    assert not [
        e for e in find(find_edges(denied), TERRAFORM_SP, TERRAFORM_SP, ASSIGN_ROLES) if e.status is EdgeStatus.PROVEN
    ]


def test_owners_can_add_credentials_and_unread_owners_give_no_fact() -> None:
    edges = edges_of(demo())
    [edge] = find(edges, CAROL, TERRAFORM_SP, OWNER)
    assert edge.facts and not edge.answers
    stripped = replace(demo(), principals=tuple(replace(p, owners=(), owners_known=None) for p in demo().principals))
    assert not [e for e in edges_of(stripped) if e.mechanism == OWNER]


def test_entra_roles_and_graph_permissions() -> None:
    edges = edges_of(demo())
    [ga] = find(edges, ALICE, ALICE, "directory role Global Administrator")
    assert ga.escalates
    assert ga.condition is None
    # Cloud Application Administrator adds credentials to applications, but grants no directory role.
    assert [e for e in edges if e.source == BOB and e.target == TERRAFORM_SP]
    assert not [e for e in edges if e.source == BOB and e.target == BOB and "directory role" in e.mechanism]
    [pra] = [e for e in edges if e.source == SECURITY_TEAM and "Privileged Role Administrator" in e.mechanism]
    assert pra.escalates and pra.condition == ACTIVATION
    assert [e for e in edges if e.source == IDM_SYNC_SP and "RoleManagement.ReadWrite.Directory" in e.mechanism]
    admins = find_admins(open_estate(demo(), at=AT))
    tenant_admins = {a.id for a in admins if not a.scope.startswith("/")}
    assert ALICE in tenant_admins
    assert SECURITY_TEAM not in tenant_admins  # eligible only: not an admin until activated


def test_a_deny_of_everything_on_a_subscription_removes_its_rbac_edges() -> None:
    before = [e for e in edges_of(demo()) if any(a.ask.resource.startswith(PROD) for a in e.answers)]
    assert before
    after = edges_of(with_deny(demo(), ["*"]))
    assert not [e for e in after if any(a.ask.resource.startswith(PROD) for a in e.answers)]
    # Facts do not rest on RBAC: the runs-as and federated edges stay.
    assert find(after, workload("vm-shop-web-1"), SHOP_DEPLOY, RUNS_AS)


def test_attaching_a_user_assigned_identity_needs_assign_and_a_compute_write() -> None:
    def attach(edges: list[Edge]) -> list[Edge]:
        return [
            e
            for e in edges
            if e.source == TERRAFORM_SP and e.target == SHOP_DEPLOY and e.mechanism.startswith(ASSIGN_IDENTITY)
        ]

    [edge] = attach(edges_of(demo()))
    assert edge.status is EdgeStatus.PROVEN and len(edge.answers) == 2
    assert not attach(edges_of(with_deny(demo(), [ASSIGN_IDENTITY])))
    # With every compute write in prod denied, no compute there can carry the identity: what remains
    # (if anything) rests on compute outside prod, and is not proven from the deny-free demo.
    writes = ["Microsoft.Compute/virtualMachines/write", "Microsoft.Compute/virtualMachineScaleSets/write"]
    left = attach(edges_of(with_deny(demo(), [*writes, "Microsoft.Web/sites/write"])))
    assert all(not e.answers[1].ask.resource.startswith(PROD) for e in left)
    assert edge.answers[1].ask.resource.startswith(PROD)


SHOP_DEVELOPERS = "963797ee-50ac-43c4-a3a9-f3b82e5f583e"
DEV = "/subscriptions/8e2f4a6b-3c1d-4e5f-b7a9-0c1d2e3f4a5b"


def escalations(edges: list[Edge], source: str) -> list[Edge]:
    return [e for e in edges if e.source == source == e.target and e.mechanism == ASSIGN_ROLES]


def test_a_pim_eligible_owner_escalates_only_after_activation_and_only_until_its_end() -> None:
    eligible = escalations(edges_of(demo()), SHOP_DEVELOPERS)
    activation = [e for e in eligible if e.condition and ACTIVATION in e.condition]
    assert len(activation) == 1 and activation[0].status is EdgeStatus.PROVEN and activation[0].escalates
    witness = activation[0].answers[0].witness
    assert witness is not None and witness.resource.lower() == DEV.lower()
    # The eligibility ended on 2026-02-01: after that it gives nothing.
    later = find_edges(open_estate(demo(), at=datetime(2026, 6, 1, tzinfo=UTC)))
    assert not [e for e in escalations(later, SHOP_DEVELOPERS) if e.condition and ACTIVATION in e.condition]


def test_a_pim_eligible_assignment_under_a_deny_gives_no_edge() -> None:
    denied = with_deny(demo(), ["Microsoft.Authorization/roleAssignments/write"], scope=DEV)
    edges = escalations(edges_of(denied), SHOP_DEVELOPERS)
    assert not [e for e in edges if e.condition and ACTIVATION in e.condition]


def test_answers_shared_across_a_resource_group_equal_those_asked_one_by_one(monkeypatch: pytest.MonkeyPatch) -> None:
    def key(e: Edge) -> tuple[object, ...]:
        steps = tuple((a.decision, a.ask.resource, a.witness.resource if a.witness else None) for a in e.answers)
        return (e.source, e.target, e.mechanism, e.status, e.condition, steps)

    shared = sorted(map(key, edges_of(demo())))
    monkeypatch.setattr(edges_module._SharedWhoCan, "_key", lambda self, action, resource: None)
    assert sorted(map(key, edges_of(demo()))) == shared


OWNER_ROLE = "/providers/Microsoft.Authorization/roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635"


def with_group_owner(snapshot: Snapshot, *, members: tuple[str, ...] | None) -> Snapshot:
    """``snapshot`` with the Security Team group made Owner of the prod subscription; its members
    ``members`` read in full, or (None) not read."""
    doc = assignment("edge-test-group-owner", SECURITY_TEAM, {"roleName": "Owner"}, PROD, role_id=OWNER_ROLE)
    doc["principalType"] = "Group"
    policy = Policy(
        id=doc["id"].lower(),
        cloud=Cloud.AZURE,
        kind=PolicyKind.AZURE_ASSIGNMENT,
        name="edge-test-group-owner",
        scope_id=PROD,
        document=doc,
    )
    attachment = Attachment(policy_id=policy.id, target_id=PROD, kind=AttachmentKind.ASSIGNMENT)
    principals = tuple(
        replace(p, members_known=members is not None)
        if p.id == SECURITY_TEAM
        else replace(p, member_of=(*p.member_of, SECURITY_TEAM))
        if members is not None and p.id in members
        else p
        for p in snapshot.principals
    )
    return replace(
        snapshot,
        principals=principals,
        policies=(*snapshot.policies, policy),
        attachments=(*snapshot.attachments, attachment),
    )


def test_a_group_of_unread_membership_stands_for_its_members() -> None:
    """The group gets the edge (and is an admin); the tenant's other principals get no unknown
    edge of the group's grant each (the group stands for them); read members get their own."""
    unread = with_group_owner(demo(), members=None)
    edges = edges_of(unread)
    [group] = [e for e in find(edges, SECURITY_TEAM, SECURITY_TEAM, ASSIGN_ROLES) if e.answers[0].ask.resource == PROD]
    assert group.status is EdgeStatus.PROVEN and group.escalates
    assert any("were not read" in n for a in group.answers for n in a.notes)
    assert not find(edges, ALICE, ALICE, ASSIGN_ROLES)
    assert SECURITY_TEAM in {a.id for a in find_admins(open_estate(unread, at=AT)) if a.scope == PROD}
    # who-can itself still lists each principal the group could hold, as unknown.
    listed = open_estate(unread, at=AT).who_can(open_estate(unread, at=AT).ask(None, ASSIGN_ROLES, PROD))
    assert any(a.principal == ALICE and a.decision == "unknown" for a in listed)

    read = edges_of(with_group_owner(demo(), members=(ALICE,)))
    [alice] = [e for e in find(read, ALICE, ALICE, ASSIGN_ROLES) if e.answers[0].ask.resource == PROD]
    assert alice.status is EdgeStatus.PROVEN
    assert not find(read, BOB, BOB, ASSIGN_ROLES)
