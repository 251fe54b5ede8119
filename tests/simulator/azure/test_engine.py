"""``AzureEngine.can`` / ``who_can`` on hand-built Azure snapshots that follow the model conventions."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from models import (
    Attachment,
    AttachmentKind,
    Cloud,
    CoverageEntry,
    CoverageStatus,
    Covers,
    Policy,
    PolicyKind,
    Principal,
    PrincipalKind,
    Resource,
    Scope,
    ScopeKind,
    Snapshot,
)
from simulator.azure.abac import attribute_key, guid_forms
from simulator.azure.engine import AzureEngine
from simulator.core import Answer, Ask, Decision, Method, QueryError, ReasonKind
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


AT = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def ask(principal: str | None, operation: str, resource: str, **kw: Any) -> Ask:
    context = {k: tuple(v) if isinstance(v, list) else (v,) for k, v in (kw.pop("context", None) or {}).items()}
    return Ask(
        principal=principal,
        action=operation,
        resource=resource,
        at=AT,
        context=context,
        free_context=kw.pop("any_context", False),
        method=Method(kw.pop("engine", "smt")),
    )


def engine_of(snapshot: Snapshot | AzureEngine) -> AzureEngine:
    return snapshot if isinstance(snapshot, AzureEngine) else AzureEngine(snapshot, AT)


def can(snapshot: Snapshot | AzureEngine, principal: str, operation: str, resource: str, **kw: Any) -> Answer:
    data_action = kw.pop("data_action", None)
    return engine_of(snapshot).can(ask(principal, operation, resource, **kw), data_action=data_action)


def who_can(snapshot: Snapshot | AzureEngine, operation: str, resource: str, **kw: Any) -> tuple[Answer, ...]:
    data_action = kw.pop("data_action", None)
    return engine_of(snapshot).who_can(ask(None, operation, resource, **kw), data_action=data_action)


def kinds(answer: Answer) -> list[ReasonKind]:
    return [r.kind for r in answer.reasons]


@pytest.fixture(scope="module")
def index() -> AzureEngine:
    return AzureEngine(estate(), AT)


def test_group_assignment_at_management_group_reaches_a_vm(index: AzureEngine) -> None:
    result = can(index, "alice@contoso.com", VM_WRITE, VM)
    assert result.principal == ALICE
    assert result.decision == "allowed"
    assert "a-owner" in str(result.reasons)
    owner = next(c for c in result.considered if c.policy.endswith("/a-owner"))
    assert owner.policy == f"{MG}/providers/microsoft.authorization/roleassignments/a-owner"
    assert owner.applies_as == "assignment" and owner.digest in result.depends_on


def test_reader_reads_but_does_not_write(index: AzureEngine) -> None:
    assert can(index, BOB, VM_WRITE, VM).decision == "implicit_deny"
    assert can(index, BOB.upper(), "Microsoft.Compute/virtualMachines/read", VM.upper()).decision == "allowed"


def test_deny_assignment_with_exclusion(index: AzureEngine) -> None:
    delete = "Microsoft.Storage/storageAccounts/delete"
    denied = can(index, ALICE, delete, ACCOUNT)
    assert denied.decision == "explicit_deny"
    assert "protect-storage" in str(denied.reasons)
    # The excluded deployer's Contributor assignment (id given in the subscription-qualified form) applies.
    assert can(index, "deployer", delete, ACCOUNT).decision == "allowed"


def test_abac_condition_reads_the_container_name_from_the_resource_id(index: AzureEngine) -> None:
    # The condition allows blob reads in the container named "logs": CONTAINER is that container.
    logs = can(index, APP, BLOB_READ, CONTAINER)
    assert logs.decision == "allowed"
    assert logs.witness is not None
    assert logs.witness.context[attribute_key(CONTAINER_NAME)] == ("logs",)
    assert can(index, APP, BLOB_READ, f"{CONTAINER}/blobs/2026/app.log").decision == "allowed"
    other = f"{ACCOUNT}/blobservices/default/containers/other"
    assert can(index, APP, BLOB_READ, other).decision == "implicit_deny"
    # The id fixes the name: no context can change it.
    assert can(index, APP, BLOB_READ, other, any_context=True).decision == "implicit_deny"
    with pytest.raises(QueryError, match="from its id"):
        can(index, APP, BLOB_READ, CONTAINER, context={CONTAINER_NAME: "other"})
    assert can(index, APP, BLOB_READ, CONTAINER, context={CONTAINER_NAME: "logs"}).decision == "allowed"
    assert can(index, APP, BLOB_READ, CONTAINER, any_context=True, engine="reference").decision == "allowed"


def test_abac_condition_with_and_without_context(index: AzureEngine) -> None:
    # At the account the container name is not determined: absent unless given, free with any_context.
    assert can(index, APP, BLOB_READ, ACCOUNT).decision == "implicit_deny"
    assert can(index, APP, BLOB_READ, ACCOUNT, context={CONTAINER_NAME: "logs"}).decision == "allowed"
    assert can(index, APP, BLOB_READ, ACCOUNT, context={CONTAINER_NAME: ["other"]}).decision == "implicit_deny"
    free = can(index, "app-identity", BLOB_READ, ACCOUNT, any_context=True)
    assert free.decision == "allowed"
    assert free.witness is not None
    assert free.witness.plane == "data"
    assert free.witness.context[attribute_key(CONTAINER_NAME)] == ("logs",)
    reference = can(index, APP, BLOB_READ, ACCOUNT, any_context=True, engine="reference")
    assert reference.decision == "unknown"


def test_data_actions_are_classified_from_role_definitions(index: AzureEngine) -> None:
    assert index.index.classify(BLOB_READ) is True
    assert index.index.classify("Microsoft.Storage/storageAccounts/blobServices/containers/read") is False
    assert index.index.classify(VM_WRITE) is False
    # Owner has no data actions: the blob read is denied although "*" matches it.
    assert can(index, ALICE, BLOB_READ, CONTAINER).decision == "implicit_deny"
    assert can(index, ALICE, BLOB_READ, CONTAINER, data_action=False).decision == "allowed"


def test_ambiguous_plane_decides_both_ways(index: AzureEngine) -> None:
    operation = "Microsoft.Contoso/widgets/read"  # only "*" and "*/read" patterns match it
    assert index.index.classify(operation) is None
    result = can(index, BOB, operation, VM)
    assert result.decision == "unknown"
    assert result.reasons[0].kind is ReasonKind.AMBIGUOUS_PLANE
    assert can(index, BOB, operation, VM, data_action=False).decision == "allowed"
    # Both ways denied: a proven deny.
    assert can(index, BOB, "Microsoft.Contoso/widgets/write", VM).decision == "implicit_deny"


def test_principal_references(index: AzureEngine) -> None:
    with pytest.raises(QueryError, match=f"ambiguous.*{CI_1}.*{CI_2}|ambiguous.*{CI_2}.*{CI_1}"):
        can(index, "ci", VM_WRITE, VM)
    # A principal the snapshot does not name is answered: its groups are unknown, and a group
    # holds Owner above the VM.
    mallory = can(index, "mallory", VM_WRITE, VM)
    assert mallory.principal == "mallory" and mallory.decision == "unknown"
    assert ReasonKind.GROUP_MEMBERSHIP in kinds(mallory)
    # No group assignment covers reading a blob's data: proven denied for anyone.
    assert can(index, "mallory", BLOB_READ, CONTAINER).decision == "implicit_deny"
    with pytest.raises(QueryError, match="not an Azure resource id"):
        can(index, BOB, VM_WRITE, "arn:aws:s3:::bucket")


def test_missing_role_definition_is_unknown(index: AzureEngine) -> None:
    sandbox = f"/subscriptions/{SUB2}/resourcegroups/x/providers/microsoft.resources/deployments/d1"
    result = can(index, CI_1, "Microsoft.Resources/deployments/read", sandbox)
    assert result.decision == "unknown"
    assert "role definition ID" in str(result.reasons)


def test_deny_assignment_at_subscription_beats_reader_and_everything(index: AzureEngine) -> None:
    sandbox_vm = f"/subscriptions/{SUB2}/resourcegroups/x/providers/microsoft.compute/virtualmachines/v"
    assert can(index, CI_2, VM_WRITE, sandbox_vm).decision == "explicit_deny"
    assert can(index, CI_2, "Microsoft.Compute/virtualMachines/read", sandbox_vm).decision == "allowed"


def test_coverage_gap_on_the_path_makes_allow_unknown_but_keeps_explicit_deny() -> None:
    gap = CoverageEntry(
        scope_id=f"/subscriptions/{SUB2}", source="api", service="authorization", operation="role_assignments.list",
        status=CoverageStatus.DENIED, detail="AuthorizationFailed",
    )  # fmt: skip
    index = AzureEngine(estate(gaps=(gap,)), AT)
    sandbox_vm = f"/subscriptions/{SUB2}/resourcegroups/x/providers/microsoft.compute/virtualmachines/v"
    read = can(index, CI_2, "Microsoft.Compute/virtualMachines/read", sandbox_vm)
    assert read.decision == "unknown"
    assert "AuthorizationFailed" in str(read.reasons)
    assert can(index, CI_2, VM_WRITE, sandbox_vm).decision == "explicit_deny"
    # A gap elsewhere does not matter.
    assert can(index, BOB, "Microsoft.Compute/virtualMachines/read", VM).decision == "allowed"


def test_unknown_management_group_ancestry_is_unknown() -> None:
    index = AzureEngine(estate(with_sub=False), AT)
    result = can(index, BOB, "Microsoft.Compute/virtualMachines/read", VM)
    assert result.decision == "unknown"
    assert "management groups" in str(result.reasons)


def test_principal_outside_the_snapshot_with_group_assignments_is_unknown(index: AzureEngine) -> None:
    stranger = "7a8b9cad-becf-4d01-8c43-000000000002"
    result = can(index, stranger, VM_WRITE, VM)
    assert result.decision == "unknown"
    assert "group memberships are unknown" in str(result.reasons)


def test_who_can_write_a_vm(index: AzureEngine) -> None:
    results = who_can(index, VM_WRITE, VM)
    decisions = {r.principal: r.decision for r in results}
    assert decisions == {ALICE: "allowed", GROUP: "allowed", DEPLOYER: "allowed"}
    group = next(r for r in results if r.principal == GROUP)
    assert any("is a group" in n for n in group.notes)


def test_who_can_read_blobs(index: AzureEngine) -> None:
    assert [(r.principal, r.decision) for r in who_can(index, BLOB_READ, CONTAINER)] == [(APP, "allowed")]
    assert who_can(index, BLOB_READ, f"{ACCOUNT}/blobservices/default/containers/other") == ()
    assert who_can(index, BLOB_READ, ACCOUNT) == ()
    allowed = who_can(index, BLOB_READ, ACCOUNT, any_context=True)
    assert [(r.principal, r.decision) for r in allowed] == [(APP, "allowed")]
    assert who_can(estate(), BLOB_READ, ACCOUNT, context={CONTAINER_NAME: "logs"})[0].principal == APP


def test_everyone_deny_applies_to_principals_without_snapshot_entries(index: AzureEngine) -> None:
    stranger = "7a8b9cad-becf-4d01-8c43-000000000003"
    answer = can(index, stranger, "Microsoft.Storage/storageAccounts/delete", ACCOUNT)
    assert answer.decision == "explicit_deny"
    # The deciding deny names the SystemDefined everyone principal, not the stranger.
    (deny,) = [d for d in index.snapshot.policies if d.name == "protect-storage"]
    assert deny.document["principals"] == [{"id": EVERYONE, "type": "SystemDefined"}]
    assert "protect-storage" in str(answer.reasons)


def test_scope_path_of_nested_and_extension_resources(index: AzureEngine) -> None:
    problems: list[str] = []
    secret = f"{RG}/providers/Microsoft.KeyVault/vaults/kv1/secrets/db-password"
    path = index.index.scope_path(secret.upper().replace("/SUBSCRIPTIONS", "/subscriptions"), problems)
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
    assert index.index.scope_path(extension, problems)[-2:] == (ACCOUNT, extension.lower())
    assert index.index.scope_path(MG, problems) == ("/", TENANT, MG)
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
    assert can(snapshot, BOB, restart, VM, data_action=False).decision == "allowed"


def test_intermediate_management_group_missing_is_unknown() -> None:
    base = estate()
    scopes = tuple(
        Scope(id=s.id, cloud=s.cloud, kind=s.kind, name=s.name, parent_id=f"{MG}-parent") if s.id == MG else s
        for s in base.scopes
    )
    index = AzureEngine(Snapshot(scopes=scopes, principals=base.principals, policies=base.policies,
                                attachments=base.attachments), AT)  # fmt: skip
    result = can(index, BOB, "Microsoft.Compute/virtualMachines/read", VM)
    assert result.decision == "unknown"
    assert "not in the snapshot" in str(result.reasons)


OPS = "8a9bacbd-cedf-4e01-9123-000000000007"  # a group whose members the snapshot does not know
BREAK_GLASS = "9bacbdce-dfe0-4f12-8234-000000000008"  # likewise
REGENERATE = "Microsoft.Storage/storageAccounts/regenerateKey/action"


def with_unknown_groups() -> AzureEngine:
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
    return AzureEngine(
        replace(
            base,
            principals=(*base.principals, principal(OPS, PrincipalKind.AZURE_GROUP, "ops")),
            policies=(*base.policies, vm_contributor, no_keys, guard),
            attachments=(*base.attachments, ops_at, no_keys_at, guard_at),
        ),
        AT,
    )


def test_groups_with_unknown_members_keep_answers_unproven() -> None:
    index = with_unknown_groups()
    # BOB (Reader) would be denied writing the VM, unless he is in OPS: not proven.
    write = can(index, BOB, VM_WRITE, VM)
    assert write.decision == "unknown"
    assert any(r.kind is ReasonKind.GROUP_MEMBERSHIP and "ops" in r.detail for r in write.reasons)
    assert any(r.kind is ReasonKind.UNPROVEN and "implicit_deny" in r.detail for r in write.reasons)
    # Alice's Owner (through a group whose members are known) lists keys, unless she is in OPS.
    keys = can(index, ALICE, "Microsoft.Storage/storageAccounts/listKeys/action", ACCOUNT)
    assert keys.decision == "unknown" and "no-keys-for-ops" in str(keys.reasons)
    # The guard denies Alice's key regeneration, unless she is in BREAK_GLASS.
    regenerate = can(index, ALICE, REGENERATE, ACCOUNT)
    assert regenerate.decision == "unknown" and "guard" in str(regenerate.reasons)
    # protect-storage denies her deletes whatever her groups: proven.
    assert can(index, ALICE, "Microsoft.Storage/storageAccounts/delete", ACCOUNT).decision == "explicit_deny"
    # What no group could change stays proven: OPS's role does not cover storage deletes.
    assert can(index, BOB, "Microsoft.Storage/storageAccounts/read", ACCOUNT).decision == "allowed"
    assert can(index, BOB, "Microsoft.Sql/servers/write", VM).decision == "implicit_deny"


def test_a_group_member_known_to_the_snapshot_is_decided(index: AzureEngine) -> None:
    # GROUP's members are in the snapshot (alice), so BOB is known not to be one: a proven deny.
    assert can(index, BOB, VM_WRITE, VM).decision == "implicit_deny"


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
    index = AzureEngine(replace(estate(), resources=(catalog,)), AT)
    # Without the catalog "widgets/read" is ambiguous (see above); with it, a control-plane action.
    assert index.index.classify("Microsoft.Contoso/widgets/read") is False
    assert can(index, BOB, "Microsoft.Contoso/widgets/read", VM).decision == "allowed"
    assert index.index.classify("Microsoft.Contoso/widgets/blobs/read") is True
    assert can(index, BOB, "Microsoft.Contoso/widgets/blobs/read", VM).decision == "implicit_deny"
    # Listed both ways: decided both ways.
    assert index.index.classify("Microsoft.Contoso/widgets/write") is None
    # Operations the catalog does not list fall back to the role definitions' patterns.
    assert index.index.classify(BLOB_READ) is True


def test_groups_whose_members_were_read_are_decided() -> None:
    # Snapshots written before the typed field say it in the "membersKnown" attribute.
    index = with_unknown_groups()
    snapshot = index.snapshot
    read = tuple(
        replace(p, attributes={**p.attributes, "membersKnown": "true"}) if p.id in (OPS, BREAK_GLASS) else p
        for p in snapshot.principals
    )
    break_glass = replace(principal(BREAK_GLASS, PrincipalKind.AZURE_GROUP, "bg"), attributes={"membersKnown": "true"})
    known = AzureEngine(replace(snapshot, principals=(*read, break_glass)), AT)
    # BOB is in neither group (both were read and list nobody): the answers are proven again.
    assert can(known, BOB, VM_WRITE, VM).decision == "implicit_deny"
    assert can(known, ALICE, REGENERATE, ACCOUNT).decision == "explicit_deny"
    member = replace(read[[p.id for p in read].index(BOB)], member_of=(OPS,))
    with_bob = AzureEngine(replace(snapshot, principals=tuple(member if p.id == BOB else p for p in read)), AT)
    assert can(with_bob, BOB, VM_WRITE, VM).decision == "allowed"


def test_an_explicit_deny_no_unread_group_can_lift_stays_proven() -> None:
    index = with_unknown_groups()
    snapshot = index.snapshot
    firm, firm_at = deny_policy(deny_assignment("firm", ACCOUNT, actions=[REGENERATE]))
    both = AzureEngine(
        replace(snapshot, policies=(*snapshot.policies, firm), attachments=(*snapshot.attachments, firm_at)), AT
    )
    # "guard" excludes an unread group, but "firm" denies Alice's key regeneration whatever her groups.
    assert can(both, ALICE, REGENERATE, ACCOUNT).decision == "explicit_deny"


# --- Azure's wildcards, deny assignments that do not cover, delegation conditions, who-can -------

UAI = f"{RG}/providers/microsoft.managedidentity/userassignedidentities/build-identity"
ASSIGN_IDENTITY = "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action"
ROLE_WRITE = "Microsoft.Authorization/roleAssignments/write"
ROLE_DELETE = "Microsoft.Authorization/roleAssignments/delete"
ROLE_ID = "@Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId]"
ASSIGNED_ROLE_ID = "@Resource[Microsoft.Authorization/roleAssignments:RoleDefinitionId]"
PRINCIPAL_TYPE = "@Request[Microsoft.Authorization/roleAssignments:PrincipalType]"
READER_ID = role("Reader")["name"]
OWNER_ID = role("Owner")["name"]
UAA_ID = role("User Access Administrator")["name"]
RBAC_ADMIN_ID = role("Role Based Access Control Administrator")["name"]
# Microsoft's "Constrain roles" delegation example: may assign (and remove) Reader only.
ONLY_READER = (
    f"((!(ActionMatches{{'{ROLE_WRITE}'}})) OR ({ROLE_ID} ForAnyOfAnyValues:GuidEquals {{{READER_ID}}}))"
    f" AND ((!(ActionMatches{{'{ROLE_DELETE}'}})) OR ({ASSIGNED_ROLE_ID} ForAnyOfAnyValues:GuidEquals {{{READER_ID}}}))"
)
# "Allow all except Owner, User Access Administrator and RBAC Administrator", for users and service principals.
NOT_PRIVILEGED = (
    f"((!(ActionMatches{{'{ROLE_WRITE}'}})) OR ({ROLE_ID} ForAnyOfAllValues:GuidNotEquals"
    f" {{{OWNER_ID}, {UAA_ID}, {RBAC_ADMIN_ID}}} AND {PRINCIPAL_TYPE} ForAnyOfAnyValues:StringEqualsIgnoreCase"
    " {'User', 'ServicePrincipal'}))"
)
DELEGATE = "8c9dae0f-1a2b-4c3d-8e4f-000000000009"
HELPDESK = "9daebf10-2b3c-4d4e-9f50-00000000000a"


def with_documents(
    base: Snapshot, *documents: tuple[Policy, Attachment], principals: tuple[Principal, ...] = ()
) -> Snapshot:
    return replace(
        base,
        principals=(*base.principals, *principals),
        policies=(*base.policies, *(p for p, _ in documents)),
        attachments=(*base.attachments, *(a for _, a in documents)),
    )


def delegation() -> AzureEngine:
    """DELEGATE may assign Reader only; HELPDESK anything but the privileged roles."""
    admin = role("Role Based Access Control Administrator")
    return AzureEngine(
        with_documents(
            estate(),
            assignment_policy(assignment("a-delegate", DELEGATE, admin, RG, principal_type="ServicePrincipal",
                                         condition=ONLY_READER)),
            assignment_policy(assignment("a-helpdesk", HELPDESK, admin, RG, principal_type="ServicePrincipal",
                                         condition=NOT_PRIVILEGED)),
            (role_policy(admin), Attachment(policy_id="x", target_id="x", kind=AttachmentKind.IDENTITY)),
            principals=(principal(DELEGATE, PrincipalKind.AZURE_SERVICE_PRINCIPAL, "delegate"),
                        principal(HELPDESK, PrincipalKind.AZURE_SERVICE_PRINCIPAL, "helpdesk")),
        ),
        AT,
    )  # fmt: skip


def test_a_whole_segment_wildcard_also_matches_no_segment() -> None:
    """Managed Identity Operator's ``userAssignedIdentities/*/assign/action`` grants
    ``userAssignedIdentities/assign/action`` (the operation Azure checks when a managed identity
    is attached to a resource); ``*`` inside a segment still needs its segment."""
    operator = role("Managed Identity Operator")
    engine = AzureEngine(
        with_documents(
            estate(),
            assignment_policy(assignment("a-mio", BOB, operator, RG)),
            (role_policy(operator), Attachment(policy_id="y", target_id="y", kind=AttachmentKind.IDENTITY)),
        ),
        AT,
    )
    answer = can(engine, BOB, ASSIGN_IDENTITY, UAI)
    assert answer.decision == "allowed", answer.reasons
    assert answer.witness is not None and answer.witness.plane == "control"
    assert any(r.kind is ReasonKind.ASSIGNMENT and r.role == "Managed Identity Operator" for r in answer.reasons)
    assert can(engine, BOB, ASSIGN_IDENTITY, UAI, engine="reference").decision == "allowed"
    # Owner (through GROUP) and Contributor (DEPLOYER, at the resource group) hold it too.
    assert [a.principal for a in who_can(engine, ASSIGN_IDENTITY, UAI)] == sorted([ALICE, BOB, GROUP, DEPLOYER])
    # The Reader-only principal cannot; nor does the pattern reach other providers' assign actions.
    assert can(engine, CI_2, ASSIGN_IDENTITY, UAI).decision == "implicit_deny"
    assert can(engine, BOB, "Microsoft.Network/virtualNetworks/subnets/join/action", VM).decision == "implicit_deny"


def test_an_everyone_deny_that_does_not_cover_the_operation_does_not_weigh() -> None:
    """A deny assignment on Everyone that excludes a group: for a principal the snapshot does not
    name (its groups unknown), it weighs only where its permissions cover the operation."""
    stranger = "7a8b9cad-becf-4d01-8c43-00000000000b"
    deny = deny_policy(
        deny_assignment("managed-app", ACCOUNT, actions=["Microsoft.Storage/storageAccounts/write"],
                        data_actions=["*/blobs/delete"], exclude=[(OPS, "Group")])
    )  # fmt: skip
    reader = assignment_policy(assignment("a-data", stranger, role("Storage Blob Data Reader"), ACCOUNT))
    engine = AzureEngine(with_documents(estate(), deny, reader), AT)
    # Blob reads: the deny's actions and data actions do not match; the answer is decided.
    assert can(engine, stranger, BLOB_READ, CONTAINER).decision == "allowed"
    blob_write = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write"
    assert can(engine, stranger, blob_write, CONTAINER).decision == "implicit_deny"
    # Where it covers the operation, the excluded group could lift it: not proven.
    write = can(engine, stranger, "Microsoft.Storage/storageAccounts/write", ACCOUNT)
    assert write.decision == "unknown"
    assert ReasonKind.GROUP_MEMBERSHIP in kinds(write) and "managed-app" in str(write.reasons)


def role_write(delegated: AzureEngine, who: str, role_id: str | None, **kw: Any) -> Answer:
    context = {ROLE_ID: role_id} if role_id else {}
    context.update(kw.pop("context", {}))
    return can(delegated, who, ROLE_WRITE, RG, context=context, **kw)


def test_a_may_only_assign_reader_condition_is_decided_both_ways() -> None:
    engine = delegation()
    for method in ("smt", "reference"):
        assert role_write(engine, DELEGATE, READER_ID, engine=method).decision == "allowed"
        assert role_write(engine, DELEGATE, READER_ID.upper(), engine=method).decision == "allowed"
        assert role_write(engine, DELEGATE, OWNER_ID, engine=method).decision == "implicit_deny"
    # Not a GUID: Azure documents GuidEquals on GUIDs only, so it is not decided.
    assert role_write(engine, DELEGATE, "Reader").decision == "unknown"
    # No role given: the operation does not supply the attribute, so the condition fails.
    assert role_write(engine, DELEGATE, None).decision == "implicit_deny"
    # Any role: allowed with Reader as the witness; deleting a Reader assignment likewise.
    free = role_write(engine, DELEGATE, None, any_context=True)
    assert free.decision == "allowed" and free.witness is not None
    assert guid_forms(free.witness.context[attribute_key(ROLE_ID)][0]) == guid_forms(READER_ID)
    delete = can(engine, DELEGATE, ROLE_DELETE, RG, any_context=True)
    assert delete.decision == "allowed" and delete.witness is not None
    assert guid_forms(delete.witness.context[attribute_key(ASSIGNED_ROLE_ID)][0]) == guid_forms(READER_ID)
    # Other operations of the role are not restricted by the condition.
    assert can(engine, DELEGATE, "Microsoft.Compute/virtualMachines/read", VM).decision == "allowed"


def test_an_all_but_privileged_roles_condition_is_decided_both_ways() -> None:
    engine = delegation()
    user = {PRINCIPAL_TYPE: "user"}
    assert role_write(engine, HELPDESK, READER_ID, context=user).decision == "allowed"
    for privileged in (OWNER_ID, UAA_ID, RBAC_ADMIN_ID.upper()):
        assert role_write(engine, HELPDESK, privileged, context=user).decision == "implicit_deny"
    assert role_write(engine, HELPDESK, READER_ID, context={PRINCIPAL_TYPE: "Group"}).decision == "implicit_deny"
    free = role_write(engine, HELPDESK, None, any_context=True)
    assert free.decision == "allowed" and free.witness is not None
    chosen = guid_forms(free.witness.context[attribute_key(ROLE_ID)][0])
    assert chosen not in [guid_forms(g) for g in (OWNER_ID, UAA_ID, RBAC_ADMIN_ID)]
    # Owner, whatever the principal type: proven denied for every value.
    owner = role_write(engine, HELPDESK, OWNER_ID, any_context=True)
    assert owner.decision == "implicit_deny" and ReasonKind.PROVEN in kinds(owner)


def estates() -> list[AzureEngine]:
    gap = CoverageEntry(
        scope_id=f"/subscriptions/{SUB2}", source="api", service="authorization",
        operation="role_assignments.list", status=CoverageStatus.DENIED, detail="AuthorizationFailed",
    )  # fmt: skip
    return [
        AzureEngine(estate(), AT),
        with_unknown_groups(),
        AzureEngine(estate(gaps=(gap,)), AT),
        AzureEngine(estate(with_sub=False), AT),
        delegation(),
    ]


QUESTIONS = [
    (VM_WRITE, VM),
    ("Microsoft.Compute/virtualMachines/read", VM),
    ("Microsoft.Compute/virtualMachines/read", f"/subscriptions/{SUB2}/resourcegroups/x/providers/microsoft.compute/"
     "virtualmachines/v"),
    ("Microsoft.Storage/storageAccounts/listKeys/action", ACCOUNT),
    (REGENERATE, ACCOUNT),
    (BLOB_READ, CONTAINER),
    (ROLE_WRITE, RG),
    ("Microsoft.Contoso/widgets/read", VM),
]  # fmt: skip


@pytest.mark.parametrize("number", range(5))
def test_who_can_lists_every_principal_can_calls_allowed_or_unknown(number: int) -> None:
    """who_can and can agree, principal by principal: who_can lists exactly those can answers
    allowed or unknown, with the same decision."""
    engine = estates()[number]
    for operation, resource in QUESTIONS:
        for free in (False, True):
            listed = {a.principal: a.decision for a in who_can(engine, operation, resource, any_context=free)}
            asked = {p: can(engine, p, operation, resource, any_context=free).decision for p in engine.principals()}
            expected = {p: d for p, d in asked.items() if d in (Decision.ALLOWED, Decision.UNKNOWN)}
            assert {p: d for p, d in listed.items() if p in asked} == expected, (operation, resource, free)


def test_who_can_lists_those_who_might() -> None:
    # BOB might be in OPS (whose members were not read), which may write VMs: listed as unknown.
    listed = {a.principal: a for a in who_can(with_unknown_groups(), VM_WRITE, VM)}
    assert listed[BOB].decision == "unknown"
    assert ReasonKind.GROUP_MEMBERSHIP in kinds(listed[BOB])
    assert listed[ALICE].decision == "allowed"


def test_members_known_is_read_from_the_typed_field() -> None:
    snapshot = with_unknown_groups().snapshot
    typed = tuple(replace(p, members_known=True) if p.id == OPS else p for p in snapshot.principals)
    assert can(AzureEngine(replace(snapshot, principals=typed), AT), BOB, VM_WRITE, VM).decision == "implicit_deny"
    # Said not to be known, even though a principal lists it: not proven.
    unread = tuple(replace(p, members_known=False) if p.id == GROUP else p for p in estate().principals)
    answer = can(AzureEngine(replace(estate(), principals=unread), AT), BOB, VM_WRITE, VM)
    assert answer.decision == "unknown" and ReasonKind.GROUP_MEMBERSHIP in kinds(answer)


def typed_gap(*covers: Covers, target: str | None = None) -> CoverageEntry:
    return CoverageEntry(
        scope_id=f"/subscriptions/{SUB2}", source="api", service="authorization", operation="x.list",
        status=CoverageStatus.DENIED, detail="AuthorizationFailed", cloud=Cloud.AZURE, covers=covers, target=target,
    )  # fmt: skip


def test_typed_coverage_gaps_weigh_by_what_they_cover() -> None:
    sandbox_vm = f"/subscriptions/{SUB2}/resourcegroups/x/providers/microsoft.compute/virtualmachines/v"
    read = "Microsoft.Compute/virtualMachines/read"
    deploy = "Microsoft.Web/sites/restart/action"  # no role grants it; no deny covers it

    def ask_with(gap: CoverageEntry, who: str, operation: str) -> Answer:
        return can(AzureEngine(estate(gaps=(gap,)), AT), who, operation, sandbox_vm)

    # Unread role assignments could allow: a deny by omission is unproven, an allow stands.
    assignments = typed_gap(Covers.ASSIGNMENTS)
    assert ask_with(assignments, CI_2, read).decision == "allowed"
    assert ask_with(assignments, CI_2, deploy).decision == "unknown"
    # Unread deny assignments could deny: an allow is unproven, a deny by omission stands.
    denies = typed_gap(Covers.DENY_ASSIGNMENTS)
    assert ask_with(denies, CI_2, read).decision == "unknown"
    implicit = ask_with(denies, CI_2, deploy)
    assert implicit.decision == "implicit_deny" and any("explicit" in n for n in implicit.notes)
    # Neither (the principals list) changes nothing; nor does a gap about a group, or another cloud.
    assert ask_with(typed_gap(Covers.PRINCIPALS), CI_2, read).decision == "allowed"
    assert ask_with(typed_gap(Covers.ASSIGNMENTS, target=GROUP), CI_2, deploy).decision == "implicit_deny"
    aws = replace(typed_gap(Covers.ASSIGNMENTS), cloud=Cloud.AWS)
    assert ask_with(aws, CI_2, deploy).decision == "implicit_deny"
    # An explicit deny stays proven whatever the gap.
    assert ask_with(typed_gap(Covers.ASSIGNMENTS, Covers.DENY_ASSIGNMENTS), CI_2, VM_WRITE).decision == (
        "explicit_deny"
    )


def test_an_external_token_is_not_an_azure_principal(index: AzureEngine) -> None:
    from simulator.core import ExternalToken

    token = ExternalToken(issuer="https://token.actions.githubusercontent.com", subject="repo:acme/app:ref:x")
    answer = index.can(replace(ask(None, VM_WRITE, VM), principal=token))
    assert answer.decision == "unknown" and kinds(answer) == [ReasonKind.ENGINE]
