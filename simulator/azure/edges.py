"""Azure edges of the mint graph, and its admins.

Edges (``source`` can obtain the credentials of, or act as, ``target``; node ids are Entra object
ids, lower-cased ARM resource ids and ``ISSUER|SUBJECT``). One convention throughout: a principal
reaches a *workload* by the action that runs code in it, and the workload reaches each identity it
holds by ``runs-as``.

- **runs-as**: a workload holds each managed identity in its ``principal_ids``:
  ``WORKLOAD_ID -> IDENTITY_ID``, a :class:`Fact`.
- **federated-credential**: an active federated identity credential of a user-assigned identity
  or of an application trusts tokens of ``issuer`` with a subject: ``ISSUER|SUBJECT -> IDENTITY``
  (for an application, its tenant service principal, which tokens are issued to; the application
  object itself when the snapshot links no SP), a :class:`Fact`; condition ``audience ...`` when
  the credential names audiences, and the credential's own ``condition`` (a flexible credential's
  claims expression) too. A credential that does not constrain the subject is ``ISSUER|*``.
- **code execution**: on a workload that holds an identity, ``estate.who_can`` of each action in
  :data:`EXECUTE` (VM and scale-set run command and extensions, site write / publishing profile /
  config write, Logic App workflow write); Automation needs *both* runbook write and job write,
  asked with ``estate.can`` for each holder of the first (a second permission proven denied:
  no edge). Each principal allowed (or unknown) is an edge ``P -> WORKLOAD_ID``.
- **grant yourself anything**: ``Microsoft.Authorization/roleAssignments/write`` or
  ``roleDefinitions/write`` allowed (or unknown) at a subscription or management group:
  ``P -> P`` with ``escalates``.
- **Entra owners** (where collected): an owner of an application or service principal can add
  credentials to it: ``OWNER -> SP``, a :class:`Fact`. An object whose owners were not read in full
  (``owners_known`` not True) gets no edge from the unread owners: this module cannot name them, so
  such gaps are the snapshot's coverage entries, not edges.
- **Entra directory roles and Graph application permissions** (facts of the snapshot: the
  simulator's engine decides Azure RBAC, not Entra): Global Administrator, Privileged Role
  Administrator, ``RoleManagement.ReadWrite.Directory`` and ``AppRoleAssignment.ReadWrite.All``
  can grant themselves any directory role or permission: ``P -> P`` with ``escalates``; Global
  Administrator, Application Administrator, Cloud Application Administrator and
  ``Application.ReadWrite.All`` can add credentials to any application: ``P -> SP`` for every
  service principal the snapshot links to an application. A PIM eligible directory role gives the
  same edges with condition ``only after PIM activation``. Directory roles scoped below the tenant
  (``directoryScopeId`` other than ``/``) are left out.

Groups: a group whose members were not read stands for them, as in Google Cloud: the group is
the source of the edges its assignments give (a note on each answer says its members were not
read), and a principal that only such a group could make allowed gets no unknown edge of its own
(one edge from the group, not one from every principal of the tenant). Members the snapshot lists
are asked themselves. Every action asked here is a control-plane action.

Admins: ``Microsoft.Authorization/roleAssignments/write`` on a subscription or management group,
proven allowed (``who_can`` per scope, allowed answers only): admin of that scope (Owner and User
Access Administrator hold it); active Entra Global Administrators and Privileged Role
Administrators: admin of the tenant.

- **attach an identity**: ``Microsoft.ManagedIdentity/userAssignedIdentities/assign/action`` on a
  user-assigned identity (``who_can``) together with write on a compute workload the snapshot lists
  (a VM, scale set or site; ``can`` per holder of the first, the first workload allowed wins, else
  the first unknown): ``P -> IDENTITY``, mechanism ``assign/action+<write>``. Creating new compute is
  not weighed (the snapshot names no resource to be created).

- **PIM-eligible Azure role assignments**: a what-if. The snapshot with every eligible assignment
  made active (the same document attached as an assignment) is asked the same questions; each edge
  it gives that the snapshot as it is does not is kept, with condition ``only after PIM
  activation``. An eligibility whose ``endDateTime`` is before the request time is left out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime

from models import (
    AttachmentKind,
    Cloud,
    CredentialKind,
    PolicyKind,
    Principal,
    PrincipalKind,
    ScopeKind,
    Snapshot,
    WorkloadKind,
)
from simulator.azure.engine import AzureEngine
from simulator.core import Admin, Answer, Ask, Edge, EdgeStatus, Estate, Fact, edge_from
from simulator.core.decision import Decision
from simulator.core.engine import allowed_first, check_action

RUNS_AS = "runs-as"
FEDERATED = "federated-credential"
OWNER = "owner-adds-credential"
RUN_COMMAND = "Microsoft.Compute/virtualMachines/runCommand/action"
VM_EXTENSION = "Microsoft.Compute/virtualMachines/extensions/write"
VMSS_RUN_COMMAND = "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/runCommand/action"
VMSS_EXTENSION = "Microsoft.Compute/virtualMachineScaleSets/extensions/write"
SITE_WRITE = "Microsoft.Web/sites/write"
SITE_PUBLISH_PROFILE = "Microsoft.Web/sites/publishxml/action"
SITE_CONFIG = "Microsoft.Web/sites/config/write"
LOGIC_WRITE = "Microsoft.Logic/workflows/write"
RUNBOOK_WRITE = "Microsoft.Automation/automationAccounts/runbooks/write"
JOB_WRITE = "Microsoft.Automation/automationAccounts/jobs/write"
_SITE = (SITE_WRITE, SITE_PUBLISH_PROFILE, SITE_CONFIG)
#: What gives code execution in a workload of each kind, one action alone.
EXECUTE: dict[WorkloadKind, tuple[str, ...]] = {
    WorkloadKind.AZURE_VM: (RUN_COMMAND, VM_EXTENSION),
    WorkloadKind.AZURE_VM_SCALE_SET: (VMSS_RUN_COMMAND, VMSS_EXTENSION),
    WorkloadKind.AZURE_APP_SERVICE: _SITE,
    WorkloadKind.AZURE_FUNCTION: _SITE,
    WorkloadKind.AZURE_LOGIC_APP: (LOGIC_WRITE,),
}
#: Code execution that needs two actions together: write a runbook, then start it as a job.
EXECUTE_BOTH: dict[WorkloadKind, tuple[str, str]] = {
    WorkloadKind.AZURE_AUTOMATION_ACCOUNT: (RUNBOOK_WRITE, JOB_WRITE),
}
ASSIGN_ROLES = "Microsoft.Authorization/roleAssignments/write"
ASSIGN_IDENTITY = "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action"
#: The write that attaches an identity to compute of each kind.
COMPUTE_WRITE: dict[WorkloadKind, str] = {
    WorkloadKind.AZURE_VM: "Microsoft.Compute/virtualMachines/write",
    WorkloadKind.AZURE_VM_SCALE_SET: "Microsoft.Compute/virtualMachineScaleSets/write",
    WorkloadKind.AZURE_APP_SERVICE: SITE_WRITE,
    WorkloadKind.AZURE_FUNCTION: SITE_WRITE,
}
WRITE_ROLES = "Microsoft.Authorization/roleDefinitions/write"
ADMIN_SCOPES = (ScopeKind.SUBSCRIPTION, ScopeKind.MANAGEMENT_GROUP)
ACTIVATION = "only after PIM activation"
#: Directory role template ids.
GLOBAL_ADMIN = "62e90394-69f5-4237-9190-012177145e10"
PRIVILEGED_ROLE_ADMIN = "e8611ab8-c189-46e8-94e1-60213ab1f814"
APPLICATION_ADMIN = "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3"
CLOUD_APPLICATION_ADMIN = "158c047a-c907-4556-b7ef-446551a6b5f7"
ROLE_NAMES = {
    GLOBAL_ADMIN: "Global Administrator",
    PRIVILEGED_ROLE_ADMIN: "Privileged Role Administrator",
    APPLICATION_ADMIN: "Application Administrator",
    CLOUD_APPLICATION_ADMIN: "Cloud Application Administrator",
}
#: Directory roles and Graph permissions that can grant their holder anything in the directory.
ESCALATING_ROLES = frozenset({GLOBAL_ADMIN, PRIVILEGED_ROLE_ADMIN})
ESCALATING_PERMISSIONS = frozenset({"RoleManagement.ReadWrite.Directory", "AppRoleAssignment.ReadWrite.All"})
#: ... and those that can add credentials to any application.
CREDENTIAL_ROLES = frozenset({GLOBAL_ADMIN, APPLICATION_ADMIN, CLOUD_APPLICATION_ADMIN})
CREDENTIAL_PERMISSIONS = frozenset({"Application.ReadWrite.All"})
TENANT_ADMIN_ROLES = ESCALATING_ROLES


#: The parts of the work (units a process pool can run; see ``simulator.graph.build``).
PARTS = ("execution", "attach", "scopes")


def find_part(estate: Estate, part: str) -> tuple[list[Edge], list[Admin]]:
    """The edges (and, for ``scopes``, the admins) of one part of :data:`PARTS`, each with the
    edges PIM activation would add to it."""
    if part not in PARTS:
        raise ValueError(f"no Azure edge part {part!r} (parts: {', '.join(PARTS)})")
    rbac = _rbac_finders(part)
    edges = [e for finder in rbac for e in finder(estate)]
    admins: list[Admin] = []
    if part == "scopes":
        edges += [*_owner_edges(estate), *_entra_edges(estate)]
        admins = find_admins(estate)
    return edges + _eligible_edges(estate, edges, rbac), admins


def find_edges(estate: Estate) -> list[Edge]:
    """Every Azure edge of the estate (see the module docstring)."""
    return [e for part in PARTS for e in find_part(estate, part)[0]]


_Finder = Callable[[Estate], list[Edge]]


def _rbac_finders(part: str) -> tuple[_Finder, ...]:
    """The finders of ``part`` whose edges Azure role assignments (and the snapshot's facts) give."""
    if part == "execution":
        return (_execution_edges,)
    if part == "attach":
        return (_attach_edges,)
    return (_workload_edges, _federated_edges, _role_assignment_edges)


def activated(snapshot: Snapshot, at: datetime) -> Snapshot | None:
    """``snapshot`` with each PIM-eligible Azure role assignment that has not ended by ``at`` made
    active; None when there is none."""
    eligible = {
        p.id
        for p in snapshot.policies
        if p.kind is PolicyKind.AZURE_ELIGIBLE_ASSIGNMENT and not _ended(p.attributes.get("endDateTime"), at)
    }
    if not eligible:
        return None
    policies = tuple(replace(p, kind=PolicyKind.AZURE_ASSIGNMENT) if p.id in eligible else p for p in snapshot.policies)
    attachments = tuple(
        replace(a, kind=AttachmentKind.ASSIGNMENT) if a.policy_id in eligible else a for a in snapshot.attachments
    )
    return replace(snapshot, policies=policies, attachments=attachments)


def _ended(end: object, at: datetime) -> bool:
    """An eligibility's ``endDateTime`` lies before ``at`` (one without an end, or an unreadable
    one, has not ended)."""
    if not isinstance(end, str) or not end:
        return False
    try:
        when = datetime.fromisoformat(end.replace("Z", "+00:00"))
    except ValueError:
        return False
    return when.tzinfo is not None and when < at


def _azure_only(snapshot: Snapshot, at: datetime) -> AzureEngine:
    return AzureEngine(snapshot, at)


def _eligible_edges(estate: Estate, edges: Sequence[Edge], finders: Sequence[_Finder]) -> list[Edge]:
    """What ``finders`` find with every PIM-eligible assignment activated that ``edges`` (what
    they find without) do not hold, each with condition ``only after PIM activation``."""
    after = activated(estate.snapshot, estate.at)
    if after is None:
        return []
    proven = {(e.source, e.target, e.mechanism) for e in edges if e.status is EdgeStatus.PROVEN}
    unknown = {(e.source, e.target, e.mechanism) for e in edges if e.status is EdgeStatus.UNKNOWN}
    what_if = Estate(after, {Cloud.AZURE: _azure_only}, estate.at)
    out = []
    for edge in (e for finder in finders for e in finder(what_if)):
        key = (edge.source, edge.target, edge.mechanism)
        # The activation is the only change: an edge it adds, or proves where only unknown before.
        if key not in proven and (edge.status is EdgeStatus.PROVEN or key not in unknown):
            condition = ACTIVATION if edge.condition is None else f"{ACTIVATION}; {edge.condition}"
            out.append(replace(edge, condition=condition))
    return out


def find_admins(estate: Estate) -> list[Admin]:
    admins: list[Admin] = []
    for scope in estate.snapshot.scopes:
        if scope.cloud is not Cloud.AZURE or scope.kind not in ADMIN_SCOPES:
            continue
        for a in _who_can(estate, estate.ask(None, ASSIGN_ROLES, scope.id)):
            if a.decision is Decision.ALLOWED:
                why = f"{ASSIGN_ROLES} at {scope.id} ({scope.name}) is allowed: it can assign itself any role there"
                admins.append(Admin(id=a.principal, cloud=Cloud.AZURE, scope=scope.id, why=why, answer=a))
    for grant in _entra_grants(estate):
        if not grant.eligible and grant.role in TENANT_ADMIN_ROLES:
            why = f"holds Entra directory role {ROLE_NAMES[grant.role]} ({grant.policy}) across the tenant"
            admins.append(Admin(id=grant.principal, cloud=Cloud.AZURE, scope=grant.tenant, why=why))
    return admins


def _workload_edges(estate: Estate) -> list[Edge]:
    snapshot = estate.snapshot
    edges = []
    for w in snapshot.workloads:
        if w.cloud is not Cloud.AZURE:
            continue
        for identity in w.principal_ids:
            fact = Fact(
                what=f"{w.kind.value} {w.name} holds managed identity {identity}",
                source=f"snapshot {snapshot.id}: workload {w.id}",
            )
            edges.append(Edge(source=w.id, target=identity, cloud=Cloud.AZURE, mechanism=RUNS_AS, facts=(fact,)))
    return edges


def _federated_edges(estate: Estate) -> list[Edge]:
    snapshot = estate.snapshot
    kinds = (
        PrincipalKind.AZURE_MANAGED_IDENTITY,
        PrincipalKind.AZURE_SERVICE_PRINCIPAL,
        PrincipalKind.AZURE_APPLICATION,
    )
    holders = {p.id: p for p in snapshot.principals if p.cloud is Cloud.AZURE and p.kind in kinds}
    edges = []
    for c in snapshot.credentials:
        if c.kind is not CredentialKind.FEDERATED or not c.active or c.principal_id not in holders or not c.issuer:
            continue
        holder = holders[c.principal_id]
        target = _acting_principal(holder)
        name = c.id.rstrip("/").rsplit("/", 1)[-1]
        conditions = [x for x in (_audience_condition(c.audiences), c.condition and f"claims {c.condition}") if x]
        for subject in c.subjects if c.subjects is not None else ("*",):
            said = "any subject" if c.subjects is None else f"subject {subject}"
            fact = Fact(
                what=f"federated credential {name} of {holder.name} trusts {c.issuer}, {said}",
                source=f"snapshot {snapshot.id}: credential {c.id}",
            )
            edges.append(
                Edge(
                    source=f"{c.issuer}|{subject}",
                    target=target,
                    cloud=Cloud.AZURE,
                    mechanism=FEDERATED,
                    facts=(fact,),
                    condition="; ".join(conditions) or None,
                )
            )
    return edges


def _acting_principal(p: Principal) -> str:
    """Who tokens are issued to: an application's service principal, else the principal itself."""
    if p.kind is PrincipalKind.AZURE_APPLICATION:
        return p.attributes.get("servicePrincipalId") or p.id
    return p.id


def _audience_condition(audiences: Sequence[str]) -> str | None:
    if not audiences:
        return None
    if len(audiences) == 1:
        return f"audience {audiences[0]}"
    return "audience one of " + ", ".join(audiences)


def _execution_edges(estate: Estate) -> list[Edge]:
    edges = []
    who = _SharedWhoCan(estate)
    for w in estate.snapshot.workloads:
        if w.cloud is not Cloud.AZURE or not w.principal_ids:
            continue
        for action in EXECUTE.get(w.kind, ()):
            for a in who.who_can(action, w.id):
                edges.extend(_edge(a.principal, w.id, action, [a]))
        if w.kind in EXECUTE_BOTH:
            first, second = EXECUTE_BOTH[w.kind]
            for a in who.who_can(first, w.id):
                b = _can(estate, estate.ask(a.principal, second, w.id))
                edges.extend(_edge(a.principal, w.id, f"{first}+{second}", [a, b]))
    return edges


class _SharedWhoCan:
    """``who_can`` of a control-plane action on a resource, asked once per parent scope: two
    resources with the same parent (a resource group) and nothing attached at themselves, under
    no conditional assignment, get the same answers (RBAC and deny assignments match by scope and
    action, not by the resource's name), each answer then said of its own resource."""

    def __init__(self, estate: Estate) -> None:
        self.estate = estate
        engine = estate.engine(Cloud.AZURE)
        self.engine = engine if isinstance(engine, AzureEngine) else None
        self.answers: dict[tuple[str, tuple[str, ...]], tuple[Answer, ...]] = {}

    def who_can(self, action: str, resource: str) -> tuple[Answer, ...]:
        ask = self.estate.ask(None, action, resource)
        key = self._key(action, resource)
        if key is None:
            return _who_can(self.estate, ask)
        if key not in self.answers:
            self.answers[key] = _who_can(self.estate, ask)
            return self.answers[key]
        return tuple(a.said_of(resource) for a in self.answers[key])

    def _key(self, action: str, resource: str) -> tuple[str, tuple[str, ...]] | None:
        if self.engine is None:
            return None
        index = self.engine.index
        problems: list[str] = []
        path = index.scope_path(resource, problems)
        if problems or len(path) < 2:
            return None
        own = path[-1]
        if any((own, kind) in index.attached for kind in AttachmentKind):
            return None
        assignments, _, _ = index.at_path(path)
        if any(a.assignment.get("condition") for a in assignments):
            return None
        return (action, path[:-1])


def _who_can(estate: Estate, ask: Ask) -> tuple[Answer, ...]:
    """``estate.who_can(ask)`` of a control-plane action (every action this module asks is one:
    Azure's operation list has them under ``Actions``, not ``DataActions``), with groups of unread
    membership standing for their members (see :meth:`AzureEngine.who_can`) when the estate's
    Azure engine is this package's."""
    engine = estate.engine(Cloud.AZURE)
    if isinstance(engine, AzureEngine):
        check_action(ask.action)
        return allowed_first(engine.who_can(ask, data_action=False, groups_stand_for_members=True))
    return estate.who_can(ask)


def _can(estate: Estate, ask: Ask) -> Answer:
    """``estate.can(ask)`` of a control-plane action (see :func:`_who_can`)."""
    engine = estate.engine(Cloud.AZURE)
    if isinstance(engine, AzureEngine):
        check_action(ask.action)
        return engine.can(ask, data_action=False)
    return estate.can(ask)


def _role_assignment_edges(estate: Estate) -> list[Edge]:
    """``P -> P`` escalates: P may write role assignments or role definitions at a subscription or
    management group (grant itself any role there)."""
    edges = []
    for scope in estate.snapshot.scopes:
        if scope.cloud is not Cloud.AZURE or scope.kind not in ADMIN_SCOPES:
            continue
        for action in (ASSIGN_ROLES, WRITE_ROLES):
            for a in _who_can(estate, estate.ask(None, action, scope.id)):
                edges.extend(_edge(a.principal, a.principal, action, [a], escalates=True))
    return edges


def _attach_edges(estate: Estate) -> list[Edge]:
    """``P -> IDENTITY``: P may assign the user-assigned identity and write compute to attach it to.

    Who may write each compute workload is asked once (``who_can`` per workload): per principal,
    the first workload allowed, else the first unknown, is the edge's second step."""
    snapshot = estate.snapshot
    identities = [
        (p.id, p.attributes.get("resourceId"))
        for p in snapshot.principals
        if p.kind is PrincipalKind.AZURE_MANAGED_IDENTITY and p.attributes.get("identityType") == "UserAssigned"
    ]
    compute = [(w.id, COMPUTE_WRITE[w.kind]) for w in snapshot.workloads if w.kind in COMPUTE_WRITE]
    if not compute or not any(resource for _, resource in identities):
        return []
    who = _SharedWhoCan(estate)
    writers: dict[str, Answer] = {}
    for workload_id, action in compute:
        for b in who.who_can(action, workload_id):
            kept = writers.get(b.principal)
            if kept is None or (b.decision is Decision.ALLOWED and kept.decision is not Decision.ALLOWED):
                writers[b.principal] = b
    edges = []
    for identity, resource in identities:
        if not resource:
            continue
        for a in who.who_can(ASSIGN_IDENTITY, resource):
            best = writers.get(a.principal)
            if best is not None:
                edges.extend(_edge(a.principal, identity, f"{ASSIGN_IDENTITY}+{best.ask.action}", [a, best]))
    return edges


def _owner_edges(estate: Estate) -> list[Edge]:
    """``OWNER -> SP``: an owner of an application or service principal can add it a credential."""
    snapshot = estate.snapshot
    edges = []
    for p in snapshot.principals:
        if p.cloud is not Cloud.AZURE or p.kind not in (
            PrincipalKind.AZURE_APPLICATION,
            PrincipalKind.AZURE_SERVICE_PRINCIPAL,
        ):
            continue
        target = _acting_principal(p)
        for owner in p.owners:
            fact = Fact(
                what=f"{owner} owns {p.kind.value} {p.name}: it can add a credential to it",
                source=f"snapshot {snapshot.id}: principal {p.id} owners",
            )
            edges.append(Edge(source=owner, target=target, cloud=Cloud.AZURE, mechanism=OWNER, facts=(fact,)))
    return edges


class _Grant:
    """An Entra grant: a directory role (``role``, its template id) or a Graph permission."""

    def __init__(self, *, principal: str, role: str, policy: str, tenant: str, eligible: bool, label: str) -> None:
        self.principal = principal
        self.role = role
        self.policy = policy
        self.tenant = tenant
        self.eligible = eligible
        self.label = label


def _entra_grants(estate: Estate) -> list[_Grant]:
    out = []
    for pol in estate.snapshot.policies:
        if pol.cloud is not Cloud.AZURE:
            continue
        attrs = pol.attributes
        principal = attrs.get("principalId")
        if not principal:
            continue
        if pol.kind in (PolicyKind.ENTRA_DIRECTORY_ROLE_ASSIGNMENT, PolicyKind.ENTRA_ELIGIBLE_ROLE_ASSIGNMENT):
            if attrs.get("directoryScopeId", "/") != "/":
                continue  # scoped to an administrative unit or one object: not tenant-wide
            role = attrs.get("roleTemplateId") or attrs.get("roleDefinitionId", "")
            eligible = pol.kind is PolicyKind.ENTRA_ELIGIBLE_ROLE_ASSIGNMENT
            label = f"directory role {attrs.get('roleName', role)}"
            out.append(
                _Grant(
                    principal=principal, role=role, policy=pol.id, tenant=pol.scope_id, eligible=eligible, label=label
                )
            )
        elif pol.kind is PolicyKind.ENTRA_APP_ROLE_ASSIGNMENT and attrs.get("appRoleValue"):
            value = attrs["appRoleValue"]
            label = f"Graph application permission {value}"
            out.append(
                _Grant(principal=principal, role=value, policy=pol.id, tenant=pol.scope_id, eligible=False, label=label)
            )
    return out


def _entra_edges(estate: Estate) -> list[Edge]:
    snapshot = estate.snapshot
    apps = [p for p in snapshot.principals if p.cloud is Cloud.AZURE and p.kind is PrincipalKind.AZURE_APPLICATION]
    edges = []
    for g in _entra_grants(estate):
        condition = ACTIVATION if g.eligible else None
        held = "is eligible for" if g.eligible else "holds"
        source = f"snapshot {snapshot.id}: {g.policy}"
        if g.role in ESCALATING_ROLES or g.role in ESCALATING_PERMISSIONS:
            fact = Fact(what=f"{g.principal} {held} {g.label}: it can grant itself any directory role", source=source)
            edges.append(
                Edge(
                    source=g.principal,
                    target=g.principal,
                    cloud=Cloud.AZURE,
                    mechanism=g.label,
                    facts=(fact,),
                    condition=condition,
                    escalates=True,
                )
            )
        if g.role in CREDENTIAL_ROLES or g.role in CREDENTIAL_PERMISSIONS:
            for app in apps:
                target = _acting_principal(app)
                if target == g.principal:
                    continue
                fact = Fact(
                    what=f"{g.principal} {held} {g.label}: it can add a credential to application {app.name}",
                    source=source,
                )
                edges.append(
                    Edge(
                        source=g.principal,
                        target=target,
                        cloud=Cloud.AZURE,
                        mechanism=f"{g.label}+add credential",
                        facts=(fact,),
                        condition=condition,
                    )
                )
    return edges


def _edge(
    source: str, target: str, mechanism: str, answers: Sequence[Answer], *, escalates: bool = False
) -> list[Edge]:
    edge = edge_from(source, target, Cloud.AZURE, mechanism, answers, escalates=escalates)
    return [edge] if edge is not None else []


__all__ = ["PARTS", "find_admins", "find_edges", "find_part"]
