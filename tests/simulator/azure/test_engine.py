"""``can`` / ``who-can`` on hand-built Azure snapshots that follow the model conventions."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from models import (
    Attachment,
    AttachmentKind,
    Cloud,
    CoverageEntry,
    CoverageStatus,
    Policy,
    PolicyKind,
    Principal,
    PrincipalKind,
    Resource,
    Scope,
    ScopeKind,
    Snapshot,
)
from simulator.azure.abac import attribute_key
from simulator.azure.snapshot_queries import AzureIndex, QueryError, can, who_can
from tests.simulator.azure.helpers import (
    ACCOUNT,
    ALICE,
    BLOB_READ,
    BOB,
    CONTAINER,
    CONTAINER_NAME,
    EVERYONE,
    GROUP,
    MG,
    RG,
    SUB,
    SUB2,
    TENANT,
    assignment,
    custom_role,
    deny_assignment,
    role,
)

APP = "3c4d5e6f-7a8b-4c9d-8e0f-dddddddddddd"
DEPLOYER = "4d5e6f7a-8b9c-4dae-9f10-eeeeeeeeeeee"
CI_1 = "5e6f7a8b-9cad-4ebf-8a21-ffffffffffff"
CI_2 = "6f7a8b9c-adbe-4fc0-9b32-000000000001"
VM = f"{RG}/providers/microsoft.compute/virtualmachines/web-1"
VM_WRITE = "Microsoft.Compute/virtualMachines/write"
CONDITION = f"((!(ActionMatches{{'{BLOB_READ}'}})) OR ({CONTAINER_NAME} StringEquals 'logs'))"
BUILT_INS = ["Owner", "Contributor", "Reader", "Storage Blob Data Reader", "Storage Blob Data Owner",
             "Virtual Machine Contributor", "Storage Account Contributor"]  # fmt: skip
MISSING_ROLE = "99999999-8888-4777-8666-555555555555"


def principal(pid: str, kind: PrincipalKind, name: str, *groups: str) -> Principal:
    return Principal(id=pid, cloud=Cloud.AZURE, kind=kind, name=name, scope_id=TENANT, member_of=groups)


def role_policy(doc: dict[str, Any]) -> Policy:
    rid = (
        f"/providers/microsoft.authorization/roledefinitions/{doc['name']}"
        if doc.get("roleType") != "CustomRole"
        else doc["id"].lower()
    )
    return Policy(
        id=rid, cloud=Cloud.AZURE, kind=PolicyKind.AZURE_ROLE_DEFINITION, name=doc["roleName"], scope_id=TENANT,
        document={**doc, "id": doc.get("id", rid)},
    )  # fmt: skip


def assignment_policy(doc: dict[str, Any]) -> tuple[Policy, Attachment]:
    policy = Policy(
        id=doc["id"].lower(), cloud=Cloud.AZURE, kind=PolicyKind.AZURE_ASSIGNMENT, name=doc["name"],
        scope_id=TENANT, document=doc,
    )  # fmt: skip
    return policy, Attachment(policy_id=policy.id, target_id=doc["scope"].lower(), kind=AttachmentKind.ASSIGNMENT)


def deny_policy(doc: dict[str, Any]) -> tuple[Policy, Attachment]:
    policy = Policy(
        id=doc["id"].lower(), cloud=Cloud.AZURE, kind=PolicyKind.AZURE_DENY_ASSIGNMENT,
        name=doc["denyAssignmentName"], scope_id=TENANT, document=doc,
    )  # fmt: skip
    return policy, Attachment(policy_id=policy.id, target_id=doc["scope"].lower(), kind=AttachmentKind.DENY)


def estate(*, with_sub: bool = True, gaps: tuple[CoverageEntry, ...] = ()) -> Snapshot:
    custom = custom_role("CI Runner", MISSING_ROLE, actions=["Microsoft.Resources/deployments/*"])
    scopes = [
        Scope(id=TENANT, cloud=Cloud.AZURE, kind=ScopeKind.TENANT, name="Contoso"),
        Scope(id=MG, cloud=Cloud.AZURE, kind=ScopeKind.MANAGEMENT_GROUP, name="corp", parent_id=TENANT),
        Scope(id=f"/subscriptions/{SUB2}", cloud=Cloud.AZURE, kind=ScopeKind.SUBSCRIPTION, name="sandbox",
              parent_id=TENANT),
        Scope(id=RG, cloud=Cloud.AZURE, kind=ScopeKind.RESOURCE_GROUP, name="app-rg",
              parent_id=f"/subscriptions/{SUB}"),
    ]  # fmt: skip
    if with_sub:
        scopes.append(
            Scope(id=f"/subscriptions/{SUB}", cloud=Cloud.AZURE, kind=ScopeKind.SUBSCRIPTION, name="prod", parent_id=MG)
        )
    principals = [
        principal(ALICE, PrincipalKind.AZURE_USER, "alice@contoso.com", GROUP),
        principal(BOB, PrincipalKind.AZURE_USER, "bob@contoso.com"),
        principal(GROUP, PrincipalKind.AZURE_GROUP, "platform-admins"),
        principal(APP, PrincipalKind.AZURE_MANAGED_IDENTITY, "app-identity"),
        principal(DEPLOYER, PrincipalKind.AZURE_SERVICE_PRINCIPAL, "deployer"),
        principal(CI_1, PrincipalKind.AZURE_SERVICE_PRINCIPAL, "ci"),
        principal(CI_2, PrincipalKind.AZURE_SERVICE_PRINCIPAL, "ci"),
    ]
    roles = [role(n) for n in BUILT_INS]
    docs = [
        assignment("a-owner", GROUP, role("Owner"), MG, principal_type="Group",
                   role_id=f"/providers/Microsoft.Authorization/roleDefinitions/{role('Owner')['name']}"),
        assignment("a-reader", BOB, role("Reader"), f"/subscriptions/{SUB}"),
        assignment("a-blob", APP, role("Storage Blob Data Reader"), ACCOUNT, principal_type="ServicePrincipal",
                   condition=CONDITION),
        assignment("a-contrib", DEPLOYER, role("Contributor"), RG, principal_type="ServicePrincipal"),
        assignment("a-ci", CI_1, custom, f"/subscriptions/{SUB2}", principal_type="ServicePrincipal"),
        assignment("a-ci2", CI_2, role("Reader"), f"/subscriptions/{SUB2}", principal_type="ServicePrincipal"),
    ]  # fmt: skip
    denies = [
        deny_assignment(
            "protect-storage", RG, actions=["Microsoft.Storage/storageAccounts/delete"],
            exclude=[(DEPLOYER, "ServicePrincipal")],
        ),
        deny_assignment("no-sandbox-writes", f"/subscriptions/{SUB2}", actions=["*/write"]),
    ]  # fmt: skip
    policies = [role_policy(r) for r in roles]
    attachments = []
    for p, a in [*(assignment_policy(d) for d in docs), *(deny_policy(d) for d in denies)]:
        policies.append(p)
        attachments.append(a)
    return Snapshot(
        scopes=tuple(scopes),
        principals=tuple(principals),
        policies=tuple(policies),
        attachments=tuple(attachments),
        coverage=gaps,
    )


@pytest.fixture(scope="module")
def index() -> AzureIndex:
    return AzureIndex(estate())


def test_group_assignment_at_management_group_reaches_a_vm(index: AzureIndex) -> None:
    result = can(index, "alice@contoso.com", VM_WRITE, VM)
    assert result.principal == ALICE
    assert result.answer.decision == "allowed"
    assert "a-owner" in str(result.answer.reasons)
    assert {
        "policy": f"{MG}/providers/microsoft.authorization/roleassignments/a-owner",
        "applies_as": "assignment",
    } in (result.policies)


def test_reader_reads_but_does_not_write(index: AzureIndex) -> None:
    assert can(index, BOB, VM_WRITE, VM).answer.decision == "implicit_deny"
    assert can(index, BOB.upper(), "Microsoft.Compute/virtualMachines/read", VM.upper()).answer.decision == "allowed"


def test_deny_assignment_with_exclusion(index: AzureIndex) -> None:
    delete = "Microsoft.Storage/storageAccounts/delete"
    denied = can(index, ALICE, delete, ACCOUNT)
    assert denied.answer.decision == "explicit_deny"
    assert "protect-storage" in str(denied.answer.reasons)
    # The excluded deployer's Contributor assignment (id given in the subscription-qualified form) applies.
    assert can(index, "deployer", delete, ACCOUNT).answer.decision == "allowed"


def test_abac_condition_reads_the_container_name_from_the_resource_id(index: AzureIndex) -> None:
    # The condition allows blob reads in the container named "logs": CONTAINER is that container.
    logs = can(index, APP, BLOB_READ, CONTAINER)
    assert logs.answer.decision == "allowed"
    assert logs.answer.witness is not None
    assert logs.answer.witness["context"][attribute_key(CONTAINER_NAME)] == "logs"
    assert can(index, APP, BLOB_READ, f"{CONTAINER}/blobs/2026/app.log").answer.decision == "allowed"
    other = f"{ACCOUNT}/blobservices/default/containers/other"
    assert can(index, APP, BLOB_READ, other).answer.decision == "implicit_deny"
    # The id fixes the name: no context can change it.
    assert can(index, APP, BLOB_READ, other, any_context=True).answer.decision == "implicit_deny"
    with pytest.raises(QueryError, match="from its id"):
        can(index, APP, BLOB_READ, CONTAINER, context={CONTAINER_NAME: "other"})
    assert can(index, APP, BLOB_READ, CONTAINER, context={CONTAINER_NAME: "logs"}).answer.decision == "allowed"
    assert can(index, APP, BLOB_READ, CONTAINER, any_context=True, engine="reference").answer.decision == "allowed"


def test_abac_condition_with_and_without_context(index: AzureIndex) -> None:
    # At the account the container name is not determined: absent unless given, free with any_context.
    assert can(index, APP, BLOB_READ, ACCOUNT).answer.decision == "implicit_deny"
    assert can(index, APP, BLOB_READ, ACCOUNT, context={CONTAINER_NAME: "logs"}).answer.decision == "allowed"
    assert can(index, APP, BLOB_READ, ACCOUNT, context={CONTAINER_NAME: ["other"]}).answer.decision == "implicit_deny"
    free = can(index, "app-identity", BLOB_READ, ACCOUNT, any_context=True)
    assert free.answer.decision == "allowed"
    assert free.answer.witness is not None
    assert free.answer.witness["data_action"] is True
    assert free.answer.witness["context"][attribute_key(CONTAINER_NAME)] == "logs"
    reference = can(index, APP, BLOB_READ, ACCOUNT, any_context=True, engine="reference")
    assert reference.answer.decision == "unknown"


def test_data_actions_are_classified_from_role_definitions(index: AzureIndex) -> None:
    assert index.classify(BLOB_READ) is True
    assert index.classify("Microsoft.Storage/storageAccounts/blobServices/containers/read") is False
    assert index.classify(VM_WRITE) is False
    # Owner has no data actions: the blob read is denied although "*" matches it.
    assert can(index, ALICE, BLOB_READ, CONTAINER).answer.decision == "implicit_deny"
    assert can(index, ALICE, BLOB_READ, CONTAINER, data_action=False).answer.decision == "allowed"


def test_ambiguous_plane_decides_both_ways(index: AzureIndex) -> None:
    operation = "Microsoft.Contoso/widgets/read"  # only "*" and "*/read" patterns match it
    assert index.classify(operation) is None
    result = can(index, BOB, operation, VM)
    assert result.answer.decision == "unknown"
    assert result.answer.reasons[0]["kind"] == "ambiguous_plane"
    assert can(index, BOB, operation, VM, data_action=False).answer.decision == "allowed"
    # Both ways denied: a proven deny.
    assert can(index, BOB, "Microsoft.Contoso/widgets/write", VM).answer.decision == "implicit_deny"


def test_principal_references(index: AzureIndex) -> None:
    with pytest.raises(QueryError, match=f"ambiguous.*{CI_1}.*{CI_2}|ambiguous.*{CI_2}.*{CI_1}"):
        can(index, "ci", VM_WRITE, VM)
    with pytest.raises(QueryError, match="no Azure principal"):
        can(index, "mallory", VM_WRITE, VM)
    with pytest.raises(QueryError, match="not an Azure resource id"):
        can(index, BOB, VM_WRITE, "arn:aws:s3:::bucket")


def test_missing_role_definition_is_unknown(index: AzureIndex) -> None:
    sandbox = f"/subscriptions/{SUB2}/resourcegroups/x/providers/microsoft.resources/deployments/d1"
    result = can(index, CI_1, "Microsoft.Resources/deployments/read", sandbox)
    assert result.answer.decision == "unknown"
    assert "role definition ID" in str(result.answer.reasons)


def test_deny_assignment_at_subscription_beats_reader_and_everything(index: AzureIndex) -> None:
    sandbox_vm = f"/subscriptions/{SUB2}/resourcegroups/x/providers/microsoft.compute/virtualmachines/v"
    assert can(index, CI_2, VM_WRITE, sandbox_vm).answer.decision == "explicit_deny"
    assert can(index, CI_2, "Microsoft.Compute/virtualMachines/read", sandbox_vm).answer.decision == "allowed"


def test_coverage_gap_on_the_path_makes_allow_unknown_but_keeps_explicit_deny() -> None:
    gap = CoverageEntry(
        scope_id=f"/subscriptions/{SUB2}", source="api", service="authorization", operation="role_assignments.list",
        status=CoverageStatus.DENIED, detail="AuthorizationFailed",
    )  # fmt: skip
    index = AzureIndex(estate(gaps=(gap,)))
    sandbox_vm = f"/subscriptions/{SUB2}/resourcegroups/x/providers/microsoft.compute/virtualmachines/v"
    read = can(index, CI_2, "Microsoft.Compute/virtualMachines/read", sandbox_vm)
    assert read.answer.decision == "unknown"
    assert "AuthorizationFailed" in str(read.answer.reasons)
    assert can(index, CI_2, VM_WRITE, sandbox_vm).answer.decision == "explicit_deny"
    # A gap elsewhere does not matter.
    assert can(index, BOB, "Microsoft.Compute/virtualMachines/read", VM).answer.decision == "allowed"


def test_unknown_management_group_ancestry_is_unknown() -> None:
    index = AzureIndex(estate(with_sub=False))
    result = can(index, BOB, "Microsoft.Compute/virtualMachines/read", VM)
    assert result.answer.decision == "unknown"
    assert "management groups" in str(result.answer.reasons)


def test_principal_outside_the_snapshot_with_group_assignments_is_unknown(index: AzureIndex) -> None:
    stranger = "7a8b9cad-becf-4d01-8c43-000000000002"
    result = can(index, stranger, VM_WRITE, VM)
    assert result.answer.decision == "unknown"
    assert "group memberships are unknown" in str(result.answer.reasons)


def test_who_can_write_a_vm(index: AzureIndex) -> None:
    results = who_can(index, VM_WRITE, VM)
    decisions = {r.principal: r.answer.decision for r in results}
    assert decisions == {ALICE: "allowed", GROUP: "allowed", DEPLOYER: "allowed"}
    group = next(r for r in results if r.principal == GROUP)
    assert any("is a group" in n for n in group.notes)


def test_who_can_read_blobs(index: AzureIndex) -> None:
    assert [(r.principal, r.answer.decision) for r in who_can(index, BLOB_READ, CONTAINER)] == [(APP, "allowed")]
    assert who_can(index, BLOB_READ, f"{ACCOUNT}/blobservices/default/containers/other") == []
    assert who_can(index, BLOB_READ, ACCOUNT) == []
    allowed = who_can(index, BLOB_READ, ACCOUNT, any_context=True)
    assert [(r.principal, r.answer.decision) for r in allowed] == [(APP, "allowed")]
    assert who_can(estate(), BLOB_READ, ACCOUNT, context={CONTAINER_NAME: "logs"})[0].principal == APP


def test_everyone_deny_applies_to_principals_without_snapshot_entries(index: AzureIndex) -> None:
    stranger = "7a8b9cad-becf-4d01-8c43-000000000003"
    answer = can(index, stranger, "Microsoft.Storage/storageAccounts/delete", ACCOUNT).answer
    assert answer.decision == "explicit_deny"
    # The deciding deny names the SystemDefined everyone principal, not the stranger.
    (deny,) = [d for d in index.snapshot.policies if d.name == "protect-storage"]
    assert deny.document["principals"] == [{"id": EVERYONE, "type": "SystemDefined"}]
    assert "protect-storage" in str(answer.reasons)


def test_scope_path_of_nested_and_extension_resources(index: AzureIndex) -> None:
    problems: list[str] = []
    secret = f"{RG}/providers/Microsoft.KeyVault/vaults/kv1/secrets/db-password"
    path = index.scope_path(secret.upper().replace("/SUBSCRIPTIONS", "/subscriptions"), problems)
    assert path == (
        "/",
        TENANT,
        MG,
        f"/subscriptions/{SUB}",
        RG,
        f"{RG}/providers/microsoft.keyvault/vaults/kv1",
        secret.lower(),
    )
    extension = f"{ACCOUNT}/providers/Microsoft.Authorization/roleAssignments/x"
    assert index.scope_path(extension, problems)[-2:] == (ACCOUNT, extension.lower())
    assert index.scope_path(MG, problems) == ("/", TENANT, MG)
    assert problems == []


def test_custom_role_resolves_by_its_guid_from_another_subscription() -> None:
    custom = custom_role("VM Restarter", "8b8b8b8b-0000-4000-8000-00000000000a", actions=["*/restart/action"])
    doc = assignment("a-restart", BOB, custom, RG)
    doc["roleDefinitionId"] = doc["roleDefinitionId"].replace(SUB, SUB2)  # as listed from the other subscription
    policy, attachment = assignment_policy(doc)
    base = estate()
    snapshot = Snapshot(
        scopes=base.scopes,
        principals=base.principals,
        policies=(*base.policies, role_policy(custom), policy),
        attachments=(*base.attachments, attachment),
    )
    restart = "Microsoft.Compute/virtualMachines/restart/action"
    assert can(snapshot, BOB, restart, VM, data_action=False).answer.decision == "allowed"


def test_intermediate_management_group_missing_is_unknown() -> None:
    base = estate()
    scopes = tuple(
        Scope(id=s.id, cloud=s.cloud, kind=s.kind, name=s.name, parent_id=f"{MG}-parent") if s.id == MG else s
        for s in base.scopes
    )
    index = AzureIndex(Snapshot(scopes=scopes, principals=base.principals, policies=base.policies,
                                attachments=base.attachments))  # fmt: skip
    result = can(index, BOB, "Microsoft.Compute/virtualMachines/read", VM)
    assert result.answer.decision == "unknown"
    assert "not in the snapshot" in str(result.answer.reasons)


OPS = "8a9bacbd-cedf-4e01-9123-000000000007"  # a group whose members the snapshot does not know
BREAK_GLASS = "9bacbdce-dfe0-4f12-8234-000000000008"  # likewise
REGENERATE = "Microsoft.Storage/storageAccounts/regenerateKey/action"


def with_unknown_groups() -> AzureIndex:
    """The estate plus: group OPS is Virtual Machine Contributor on the resource group and is denied
    listing storage keys; a deny on regenerating keys excludes group BREAK_GLASS."""
    base = estate()
    vm_contributor, ops_at = assignment_policy(
        assignment("a-ops", OPS, role("Virtual Machine Contributor"), RG, principal_type="Group")
    )
    keys = "Microsoft.Storage/storageAccounts/listKeys/action"
    no_keys, no_keys_at = deny_policy(
        deny_assignment("no-keys-for-ops", ACCOUNT, actions=[keys], principals=[(OPS, "Group")])
    )
    guard, guard_at = deny_policy(
        deny_assignment("guard", ACCOUNT, actions=[REGENERATE], exclude=[(BREAK_GLASS, "Group")])
    )
    return AzureIndex(
        replace(
            base,
            principals=(*base.principals, principal(OPS, PrincipalKind.AZURE_GROUP, "ops")),
            policies=(*base.policies, vm_contributor, no_keys, guard),
            attachments=(*base.attachments, ops_at, no_keys_at, guard_at),
        )
    )


def test_groups_with_unknown_members_keep_answers_unproven() -> None:
    index = with_unknown_groups()
    # BOB (Reader) would be denied writing the VM, unless he is in OPS: not proven.
    write = can(index, BOB, VM_WRITE, VM).answer
    assert write.decision == "unknown"
    assert any(r["kind"] == "group_membership" and "ops" in r["detail"] for r in write.reasons)
    assert "implicit_deny" in write.reasons[-1]["detail"]
    # Alice's Owner (through a group whose members are known) lists keys, unless she is in OPS.
    keys = can(index, ALICE, "Microsoft.Storage/storageAccounts/listKeys/action", ACCOUNT).answer
    assert keys.decision == "unknown" and "no-keys-for-ops" in str(keys.reasons)
    # The guard denies Alice's key regeneration, unless she is in BREAK_GLASS.
    regenerate = can(index, ALICE, REGENERATE, ACCOUNT).answer
    assert regenerate.decision == "unknown" and "guard" in str(regenerate.reasons)
    # protect-storage denies her deletes whatever her groups: proven.
    assert can(index, ALICE, "Microsoft.Storage/storageAccounts/delete", ACCOUNT).answer.decision == "explicit_deny"
    # What no group could change stays proven: OPS's role does not cover storage deletes.
    assert can(index, BOB, "Microsoft.Storage/storageAccounts/read", ACCOUNT).answer.decision == "allowed"
    assert can(index, BOB, "Microsoft.Sql/servers/write", VM).answer.decision == "implicit_deny"


def test_a_group_member_known_to_the_snapshot_is_decided(index: AzureIndex) -> None:
    # GROUP's members are in the snapshot (alice), so BOB is known not to be one: a proven deny.
    assert can(index, BOB, VM_WRITE, VM).answer.decision == "implicit_deny"


def test_the_operations_catalog_says_which_plane() -> None:
    catalog = Resource(
        id="/providers/microsoft.authorization/provideroperations/microsoft.contoso",
        cloud=Cloud.AZURE,
        kind="authorization:providerOperations",
        name="Microsoft.Contoso",
        scope_id=TENANT,
        attributes={
            "actions": "microsoft.contoso/widgets/read microsoft.contoso/widgets/write",
            "dataActions": "microsoft.contoso/widgets/write microsoft.contoso/widgets/blobs/read",
        },
    )
    index = AzureIndex(replace(estate(), resources=(catalog,)))
    # Without the catalog "widgets/read" is ambiguous (see above); with it, a control-plane action.
    assert index.classify("Microsoft.Contoso/widgets/read") is False
    assert can(index, BOB, "Microsoft.Contoso/widgets/read", VM).answer.decision == "allowed"
    assert index.classify("Microsoft.Contoso/widgets/blobs/read") is True
    assert can(index, BOB, "Microsoft.Contoso/widgets/blobs/read", VM).answer.decision == "implicit_deny"
    # Listed both ways: decided both ways.
    assert index.classify("Microsoft.Contoso/widgets/write") is None
    # Operations the catalog does not list fall back to the role definitions' patterns.
    assert index.classify(BLOB_READ) is True


def test_groups_whose_members_were_read_are_decided() -> None:
    index = with_unknown_groups()
    snapshot = index.snapshot
    read = tuple(
        replace(p, attributes={**p.attributes, "membersKnown": "true"}) if p.id in (OPS, BREAK_GLASS) else p
        for p in snapshot.principals
    )
    break_glass = replace(principal(BREAK_GLASS, PrincipalKind.AZURE_GROUP, "bg"), attributes={"membersKnown": "true"})
    known = AzureIndex(replace(snapshot, principals=(*read, break_glass)))
    # BOB is in neither group (both were read and list nobody): the answers are proven again.
    assert can(known, BOB, VM_WRITE, VM).answer.decision == "implicit_deny"
    assert can(known, ALICE, REGENERATE, ACCOUNT).answer.decision == "explicit_deny"
    member = replace(read[[p.id for p in read].index(BOB)], member_of=(OPS,))
    with_bob = AzureIndex(replace(snapshot, principals=tuple(member if p.id == BOB else p for p in read)))
    assert can(with_bob, BOB, VM_WRITE, VM).answer.decision == "allowed"


def test_an_explicit_deny_no_unread_group_can_lift_stays_proven() -> None:
    index = with_unknown_groups()
    snapshot = index.snapshot
    firm, firm_at = deny_policy(deny_assignment("firm", ACCOUNT, actions=[REGENERATE]))
    both = AzureIndex(
        replace(snapshot, policies=(*snapshot.policies, firm), attachments=(*snapshot.attachments, firm_at))
    )
    # "guard" excludes an unread group, but "firm" denies Alice's key regeneration whatever her groups.
    assert can(both, ALICE, REGENERATE, ACCOUNT).answer.decision == "explicit_deny"
