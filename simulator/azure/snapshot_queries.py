"""``can`` and ``who-can`` on a stored snapshot (Azure).

What applies to a request is gathered from the snapshot (model conventions: ids are ARM ids
lower-cased):

- The resource's scope path: ``/`` (root), the tenant, the management groups above its
  subscription (from the snapshot's scope tree), the subscription, the resource group, and every
  parent resource of the resource id (``.../storageaccounts/sa`` above
  ``.../storageaccounts/sa/blobservices/default/containers/c``), the resource last.
- Role assignments: policies of kind ``AZURE_ASSIGNMENT`` attached (``ASSIGNMENT``) to a scope of
  the path; their role definitions (``AZURE_ROLE_DEFINITION``) by ``roleDefinitionId``,
  case-insensitively; a subscription-qualified id of a built-in role
  (``/subscriptions/X/providers/Microsoft.Authorization/roleDefinitions/GUID``) resolves to
  ``/providers/microsoft.authorization/roledefinitions/GUID``, and otherwise a role definition
  GUID that is unique in the snapshot resolves to that definition.
- Deny assignments: ``AZURE_DENY_ASSIGNMENT`` attached (``DENY``) to a scope of the path.
- The principal's groups: ``Principal.member_of``.

Control plane or data plane (when the caller does not say): the snapshot's operations catalog
(``az provider operation show``, collected for the namespaces in use; resources of kind
``authorization:providerOperations``) says which an operation is; one it lists both ways is
ambiguous. For an operation the catalog does not list, the patterns of every role definition
and deny assignment in the snapshot that match the operation are weighed; a pattern counts only
when it spells out the provider namespace (``Microsoft.Storage/...``, not ``*`` or ``*/read``), and
the most specific one wins (the longest text before its first ``*``; an exact match beats any
wildcard). A ``dataActions`` winner makes it a data action, an ``actions`` winner a control-plane
action. A tie, or no such pattern at all, is ambiguous: the request is decided both ways, and the
answer is that decision when both agree, else ``unknown`` naming both.

Soundness: a coverage gap at a scope of the path (its assignments or deny assignments could not be
read), a subscription whose management groups the snapshot does not know while management-group
assignments exist, or a principal the snapshot lacks (its groups unknown) while group assignments
could grant: no allow or implicit deny is proven, the answer is ``unknown`` and says why. An
explicit deny stays proven (nothing unseen can lift it). Groups whose members the snapshot does not
hold (memberships not read: file scans, or Graph refused) are weighed both ways: a group's role assignment that
covers the operation leaves an implicit deny unproven, a deny assignment naming such a group an
allow, and one excluding such a group an explicit deny (``group_membership`` reasons). A role
definition the snapshot lacks is ``unknown`` for that assignment (see :mod:`simulator.azure.reference`).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from models import AttachmentKind, Cloud, Policy, PolicyKind, Principal, PrincipalKind, ScopeKind, Snapshot
from simulator.aws.simulate import Answer
from simulator.aws.snapshot_queries import CanAnswer, QueryError
from simulator.azure import encode
from simulator.azure.abac import action_matches
from simulator.azure.rbac import (
    Applicable,
    AppliedAssignment,
    Request,
    blocks_of,
    compile_deny,
    deny_properties,
    normalize_attributes,
    resource_attributes,
)

ROLE_DEFINITION = re.compile(r"^(?:/subscriptions/[^/]+)?/providers/microsoft\.authorization/roledefinitions/([^/]+)$")
GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
MANAGEMENT_GROUP = "/providers/microsoft.management/managementgroups/"
PROVIDER_OPERATIONS_KIND = "authorization:providerOperations"
AZURE_PRINCIPALS = (
    PrincipalKind.AZURE_SERVICE_PRINCIPAL,
    PrincipalKind.AZURE_MANAGED_IDENTITY,
    PrincipalKind.AZURE_USER,
    PrincipalKind.AZURE_GROUP,
)


class AzureIndex:
    """A snapshot's Azure RBAC documents indexed for requests; build once, ask many."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self.principals: dict[str, Principal] = {
            p.id.lower(): p for p in snapshot.principals if p.cloud is Cloud.AZURE and p.kind in AZURE_PRINCIPALS
        }
        self.members: dict[str, list[str]] = defaultdict(list)
        for who in self.principals.values():
            for g in who.member_of:
                self.members[g.lower()].append(who.id.lower())
        policies = [p for p in snapshot.policies if p.cloud is Cloud.AZURE]
        self.policies: dict[str, Policy] = {p.id.lower(): p for p in policies}
        self.roles: dict[str, Policy] = {
            p.id.lower(): p for p in policies if p.kind is PolicyKind.AZURE_ROLE_DEFINITION
        }
        self.roles_by_guid: dict[str, list[Policy]] = defaultdict(list)
        for rid, definition in self.roles.items():
            m = ROLE_DEFINITION.match(rid)
            guid = m.group(1) if m else str(definition.document.get("name", "")).lower()
            self.roles_by_guid[guid].append(definition)
        self.attached: dict[tuple[str, AttachmentKind], list[str]] = defaultdict(list)
        for a in snapshot.attachments:
            if a.kind in (AttachmentKind.ASSIGNMENT, AttachmentKind.DENY):
                self.attached[(a.target_id.lower().rstrip("/") or "/", a.kind)].append(a.policy_id.lower())
        self.scopes = {s.id.lower(): s for s in snapshot.scopes if s.cloud is Cloud.AZURE}
        self.tenants = [s.id.lower() for s in self.scopes.values() if s.kind is ScopeKind.TENANT]
        self.gaps: dict[str, list[str]] = defaultdict(list)
        for entry in snapshot.coverage:
            if entry.is_gap:
                detail = f" ({entry.detail})" if entry.detail else ""
                self.gaps[entry.scope_id.lower().rstrip("/") or "/"].append(
                    f"{entry.service} {entry.operation}: {entry.status}{detail}"
                )
        self.mg_assignments = any(target.startswith(MANAGEMENT_GROUP) for target, _ in self.attached)
        self._planes: dict[str, bool | None] = {}
        self.catalog: dict[str, set[bool]] = defaultdict(set)
        for resource in snapshot.resources:
            if resource.cloud is Cloud.AZURE and resource.kind == PROVIDER_OPERATIONS_KIND:
                for is_data, key in ((False, "actions"), (True, "dataActions")):
                    for name in resource.attributes.get(key, "").split():
                        self.catalog[name].add(is_data)
        self._paths: dict[tuple[str, ...], tuple[list[AppliedAssignment], list[Mapping[str, Any]], list[str]]] = {}
        self.data_patterns: list[str] = []
        self.control_patterns: list[str] = []
        for pol in policies:
            doc = deny_properties(pol.document) if pol.kind is PolicyKind.AZURE_DENY_ASSIGNMENT else pol.document
            if pol.kind in (PolicyKind.AZURE_ROLE_DEFINITION, PolicyKind.AZURE_DENY_ASSIGNMENT):
                for block in doc.get("permissions") or []:
                    if isinstance(block, Mapping):
                        self.control_patterns += [str(x) for x in block.get("actions") or []]
                        self.data_patterns += [str(x) for x in block.get("dataActions") or []]

    def members_known(self, group: str) -> bool:
        """The snapshot holds every member of ``group``: the collector read them (``membersKnown``),
        or, where it does not say, some principal lists the group."""
        said = self.principals[group].attributes.get("membersKnown") if group in self.principals else None
        return said == "true" or (said is None and group in self.members)

    # --- resolution ---------------------------------------------------------------------------

    def resolve_principal(self, ref: str) -> str:
        key = ref.strip().lower()
        if key in self.principals or GUID.match(key):
            return key
        named = sorted(i for i, p in self.principals.items() if p.name == ref)
        if not named:
            named = sorted(i for i, p in self.principals.items() if p.name.lower() == key)
        if len(named) == 1:
            return named[0]
        if len(named) > 1:
            listed = ", ".join(f"{i} ({self.principals[i].kind})" for i in named)
            raise QueryError(f"principal name {ref!r} is ambiguous in snapshot {self.snapshot.id}: {listed}")
        raise QueryError(f"no Azure principal with object id or name {ref!r} in snapshot {self.snapshot.id}")

    def role_definition(self, role_id: str) -> Mapping[str, Any] | None:
        rid = role_id.lower()
        if rid in self.roles:
            return self.roles[rid].document
        m = ROLE_DEFINITION.match(rid)
        if m is None:
            return None
        built_in = f"/providers/microsoft.authorization/roledefinitions/{m.group(1)}"
        if built_in in self.roles:
            return self.roles[built_in].document
        same = self.roles_by_guid.get(m.group(1), [])
        return same[0].document if len(same) == 1 else None

    def scope_path(self, resource: str, problems: list[str]) -> tuple[str, ...]:
        """``/``, tenant, management groups, subscription, resource group, parent resources, the
        resource (lower-cased)."""
        rid = resource.strip().lower().rstrip("/") or "/"
        if rid == "/":
            return ("/",)
        below: list[str] = []
        parts = rid.strip("/").split("/")
        if parts[0] == "subscriptions" and len(parts) >= 2:
            top = f"/subscriptions/{parts[1]}"
            below = [top]
            i = 2
            if len(parts) >= 4 and parts[2] == "resourcegroups":
                below.append(f"{top}/resourcegroups/{parts[3]}")
                i = 4
            below += _resource_prefixes(parts, i, below[-1])
        elif rid.startswith(MANAGEMENT_GROUP):
            top = MANAGEMENT_GROUP + parts[3]
            below = [top, *_resource_prefixes(parts, 4, top)]
        elif rid in self.scopes:  # the tenant itself
            return ("/", rid)
        else:
            raise QueryError(f"{resource!r} is not an Azure resource id (/subscriptions/..., a management group, or /)")
        above = self.ancestors(top, problems)
        path = ["/", *above, *below]
        if path[-1] != rid:
            path.append(rid)
        return tuple(dict.fromkeys(path))

    def ancestors(self, top: str, problems: list[str]) -> list[str]:
        """The scopes above a subscription or management group, top first (tenant included)."""
        chain: list[str] = []
        scope = self.scopes.get(top)
        if scope is None:
            if self.mg_assignments:
                problems.append(
                    f"{top} is not in the snapshot: which management groups (with their assignments) are above it is"
                    " unknown"
                )
            return list(self.tenants)
        if scope.parent_id is None and self.mg_assignments:
            problems.append(f"the parent of {top} is unknown: management-group assignments above it may apply")
        seen = {top}
        while scope is not None and scope.parent_id:
            parent = scope.parent_id.lower()
            if parent in seen:
                break
            seen.add(parent)
            chain.append(parent)
            scope = self.scopes.get(parent)
            if scope is None and parent not in self.tenants and self.mg_assignments:
                problems.append(f"{parent} (above {top}) is not in the snapshot: the scopes above it are unknown")
        chain.reverse()
        if not any(c in self.tenants for c in chain):
            chain = [*self.tenants, *chain]
        return chain

    def at_path(self, path: tuple[str, ...]) -> tuple[list[AppliedAssignment], list[Mapping[str, Any]], list[str]]:
        """The role assignments (with their role definitions) and deny assignments attached at
        the scopes of ``path``, and notes on attachments whose policy is missing; cached."""
        if path in self._paths:
            return self._paths[path]
        assignments: list[AppliedAssignment] = []
        denies: list[Mapping[str, Any]] = []
        notes: list[str] = []
        for scope in path:
            for pid in self.attached.get((scope, AttachmentKind.ASSIGNMENT), []):
                policy = self.policies.get(pid)
                if policy is None:
                    notes.append(f"role assignment {pid} is attached at {scope} but not in the snapshot")
                    continue
                role_id = str(policy.document.get("roleDefinitionId") or "")
                doc = _with_scope(policy.document, scope)
                assignments.append(AppliedAssignment(assignment=doc, role_definition=self.role_definition(role_id)))
            for pid in self.attached.get((scope, AttachmentKind.DENY), []):
                policy = self.policies.get(pid)
                if policy is None:
                    notes.append(f"deny assignment {pid} is attached at {scope} but not in the snapshot")
                    continue
                denies.append(policy.document)
        self._paths[path] = (assignments, denies, notes)
        return self._paths[path]

    def applicable(self, principal: str, path: tuple[str, ...], notes: list[str]) -> Applicable:
        """What applies to ``principal`` at ``path``: only its own and its groups' assignments."""
        assignments, denies, missing = self.at_path(path)
        notes += missing
        p = self.principals.get(principal)
        groups = tuple(g.lower() for g in p.member_of) if p else ()
        holders = {principal, *groups}
        mine = tuple(a for a in assignments if str(a.assignment.get("principalId") or "").lower() in holders)
        return Applicable(scope_path=path, assignments=mine, deny_assignments=tuple(denies), groups=groups)

    # --- control plane or data plane ----------------------------------------------------------

    def classify(self, operation: str) -> bool | None:
        """True: data action; False: control plane; None: ambiguous (see the module docstring)."""
        key = operation.lower()
        if key in self.catalog:
            listed = self.catalog[key]
            return None if len(listed) > 1 else True in listed
        if key not in self._planes:
            data = _best(self.data_patterns, operation)
            control = _best(self.control_patterns, operation)
            self._planes[key] = None if data == control else data > control
        return self._planes[key]


def _with_scope(doc: Mapping[str, Any], scope: str) -> Mapping[str, Any]:
    """The assignment as attached: the attachment's scope is where it applies (the model's
    contract), whatever case or form the document's own ``scope`` has."""
    return doc if str(doc.get("scope") or "").lower().rstrip("/") == scope.rstrip("/") else {**doc, "scope": scope}


def _resource_prefixes(parts: list[str], start: int, base: str) -> list[str]:
    """Each resource level below ``base``: ``providers/<ns>/<type>/<name>[/<type>/<name>]...``,
    with nested ``providers`` (extension resources) handled alike."""
    out: list[str] = []
    current = base
    i = start
    while i < len(parts):
        if parts[i] == "providers" and i + 3 < len(parts):
            current = f"{current}/providers/{parts[i + 1]}/{parts[i + 2]}/{parts[i + 3]}"
            i += 4
        elif i + 1 < len(parts):
            current = f"{current}/{parts[i]}/{parts[i + 1]}"
            i += 2
        else:
            current = f"{current}/{parts[i]}"
            i += 1
        out.append(current)
    return out


def _best(patterns: list[str], operation: str) -> int:
    """The specificity of the most specific matching pattern that spells out its namespace."""
    best = 0
    for p in patterns:
        namespace = p.split("/", 1)[0]
        if not namespace or "*" in namespace or not action_matches(p, operation):
            continue
        score = 2 * len(p) + 1 if "*" not in p else 2 * p.index("*")
        best = max(best, score)
    return best


# --- Queries ----------------------------------------------------------------------------------


def _index(snapshot: Snapshot | AzureIndex) -> AzureIndex:
    return snapshot if isinstance(snapshot, AzureIndex) else AzureIndex(snapshot)


def _decide(request: Request, applicable: Applicable, any_context: bool, engine: str) -> Answer:
    if engine == "reference":
        return encode.decide_reference(request, applicable, any_context)
    if engine != "smt":
        raise QueryError(f"unknown engine {engine!r} (smt or reference)")
    return encode.decide_smt(request, applicable, any_context)


def _coverage_problems(index: AzureIndex, principal: str, path: tuple[str, ...], applicable: Applicable) -> list[str]:
    problems = [f"coverage gap at {scope}: {gap}" for scope in path for gap in index.gaps.get(scope, [])]
    if principal not in index.principals:
        assignments, _, _ = index.at_path(path)
        compiled_groups = [
            a.assignment.get("principalId") for a in assignments
            if str(a.assignment.get("principalType") or "").lower() == "group"
        ]  # fmt: skip
        deny_groups = any(
            t.lower() == "group" for d in applicable.deny_assignments for _, t in compile_deny(d).principals
        ) or any(compile_deny(d).excluded for d in applicable.deny_assignments)
        if compiled_groups or deny_groups:
            problems.append(
                f"principal {principal} is not in the snapshot: its group memberships are unknown, and group"
                " assignments apply at the resource's scopes"
            )
    return problems


def _unknown_groups(index: AzureIndex, principal: str, path: tuple[str, ...]) -> set[str]:
    """Groups named at the path (by role assignments, or by deny assignments as principals or
    exclusions) whose members the snapshot does not know and that ``principal`` is not known to be
    in: it may or may not be a member."""
    assignments, denies, _ = index.at_path(path)
    named = {
        str(a.assignment.get("principalId") or "").lower()
        for a in assignments
        if str(a.assignment.get("principalType") or "").lower() == "group"
        or _is_group(index, str(a.assignment.get("principalId") or ""))
    }
    for doc in denies:
        d = compile_deny(doc)
        named |= {i for i, kind in (*d.principals, *d.excluded) if kind.lower() == "group" or _is_group(index, i)}
    p = index.principals.get(principal)
    mine = {g.lower() for g in p.member_of} if p else set()
    return {g for g in named if g and g != principal and not index.members_known(g) and g not in mine}


def _is_group(index: AzureIndex, ident: str) -> bool:
    p = index.principals.get(ident.lower())
    return p is not None and p.kind is PrincipalKind.AZURE_GROUP


def _group_doubts(
    index: AzureIndex, principal: str, path: tuple[str, ...], operation: str, plane: bool, answer: Answer
) -> list[str]:
    """Why ``answer`` could change if ``principal`` were in groups whose members are unknown: a
    group's role assignment that covers the operation (against a deny by omission), a deny
    assignment naming such a group (against an allow), one excluding such a group (against an
    explicit deny)."""
    groups = _unknown_groups(index, principal, path)
    if not groups or answer.decision == "unknown":
        return []
    assignments, denies, _ = index.at_path(path)
    doubts: list[str] = []
    if answer.decision == "implicit_deny":
        for a in assignments:
            holder = str(a.assignment.get("principalId") or "").lower()
            if holder in groups and (a.role_definition is None or _covers(a.role_definition, operation, [plane])):
                name = index.principals[holder].name if holder in index.principals else holder
                role = a.role_definition.get("roleName") if a.role_definition else a.assignment.get("roleDefinitionId")
                doubts.append(f"group {name} holds {role} at {a.assignment.get('scope')}")
        return doubts
    own = path[-1] if path else ""
    deciding = {str(r.get("policy")) for r in answer.reasons if r.get("kind") == "deny_assignment"}
    firm = False  # an explicit deny that no unread group can lift
    for doc in denies:
        d = compile_deny(doc)
        applies = d.scope == own if not d.children else d.scope in path
        if not applies or not any(b.matches(operation, plane) for b in d.blocks):
            continue
        if answer.decision == "allowed":
            named = [i for i, _ in d.principals if i in groups]
            if named and not d.matches_principal(frozenset({principal})):
                doubts.append(f"deny assignment {d.name} applies to group(s) {', '.join(named)}")
        elif answer.decision == "explicit_deny" and (not deciding or d.id in deciding):
            excluded = [i for i, _ in d.excluded if i in groups]
            if excluded:
                doubts.append(f"deny assignment {d.name} excludes group(s) {', '.join(excluded)}")
            else:
                firm = True
    return [] if firm else doubts


def can(
    snapshot: Snapshot | AzureIndex,
    principal: str,
    operation: str,
    resource: str,
    *,
    data_action: bool | None = None,
    context: Mapping[str, Any] | None = None,
    any_context: bool = False,
    sub_operation: str | None = None,
    engine: str = "smt",
) -> CanAnswer:
    """Can ``principal`` (object id or unique name) perform ``operation`` on ``resource`` (an ARM
    id)? ``context`` maps ABAC attributes (``@Resource[type:name]``) to values; the attributes the
    resource id determines (resource names, a blob's path: :func:`simulator.azure.rbac.resource_attributes`)
    are added, and a context value that contradicts them is an error. With ``any_context`` the
    attributes neither gives are free."""
    index = _index(snapshot)
    principal_id = index.resolve_principal(principal)
    try:
        given = normalize_attributes(context)
    except ValueError as exc:
        raise QueryError(str(exc)) from exc
    attributes = resource_attributes(resource)
    for key, values in given.items():
        if key in attributes and attributes[key] != values:
            raise QueryError(
                f"{key} is {attributes[key][0]!r} for resource {resource} (from its id); the context gives {values!r}"
            )
        attributes[key] = values
    problems: list[str] = []
    notes: list[str] = []
    path = index.scope_path(resource, problems)
    applicable = index.applicable(principal_id, path, notes)
    if principal_id not in index.principals:
        notes.append(f"principal {principal_id} is not in the snapshot; it is taken as a member of no group")
    planes = [data_action] if data_action is not None else [index.classify(operation)]
    if planes == [None]:
        planes = [False, True]
        notes.append(f"{operation}: whether it is a data action is ambiguous in this snapshot; decided both ways")
    answers = []
    for plane in planes:
        assert plane is not None
        request = Request(
            principal=principal_id,
            operation=operation,
            resource=resource.strip().lower().rstrip("/") or "/",
            data_action=plane,
            sub_operation=sub_operation,
            attributes=attributes,
        )
        answer = _decide(request, applicable, any_context, engine)
        doubts = _group_doubts(index, principal_id, path, operation, plane, answer)
        if doubts:
            answer = Answer(
                None,
                "unknown",
                [
                    {
                        "kind": "group_membership",
                        "detail": f"{d}; whether {principal_id} is a member is not in the snapshot (the group's"
                        " members were not read)",
                    }
                    for d in doubts
                ]
                + [{"kind": "unproven", "detail": f"without those groups the answer would be {answer.decision}"}],
            )
        gaps = problems + _coverage_problems(index, principal_id, path, applicable)
        if gaps and answer.decision in ("allowed", "implicit_deny"):
            answer = Answer(
                None,
                "unknown",
                [{"kind": "coverage", "detail": g} for g in gaps]
                + [
                    {
                        "kind": "unproven",
                        "detail": f"with what the snapshot holds the answer would be {answer.decision}",
                    }
                ],
            )
        notes += [g for g in gaps if g not in notes]
        answers.append((plane, answer))
    answer = _combine(operation, answers)
    policies = [
        {"policy": str(a.assignment.get("id", "")).lower(), "applies_as": "assignment"} for a in applicable.assignments
    ]
    policies += [
        {"policy": str(d.get("id", "")).lower(), "applies_as": "deny_assignment"} for d in applicable.deny_assignments
    ]
    return CanAnswer(principal=principal_id, answer=answer, policies=policies, notes=notes)


def _covers(role: Mapping[str, Any], operation: str, planes: list[bool]) -> bool:
    return any(b.matches(operation, plane) for b in blocks_of(role.get("permissions")) for plane in planes)


def _combine(operation: str, answers: list[tuple[bool, Answer]]) -> Answer:
    if len(answers) == 1:
        return answers[0][1]
    (_, control), (_, data) = answers
    if control.decision == data.decision:
        return Answer(None, control.decision, control.reasons + data.reasons, control.witness or data.witness)
    detail = (
        f"{operation} is {control.decision} as a control-plane action and {data.decision} as a data action; the"
        " snapshot does not say which it is (pass data_action)"
    )
    return Answer(None, "unknown", [{"kind": "ambiguous_plane", "detail": detail}, *control.reasons, *data.reasons])


def who_can(
    snapshot: Snapshot | AzureIndex,
    operation: str,
    resource: str,
    *,
    data_action: bool | None = None,
    context: Mapping[str, Any] | None = None,
    any_context: bool = False,
    sub_operation: str | None = None,
    engine: str = "smt",
) -> list[CanAnswer]:
    """Every Azure principal that can (allowed), or might (unknown), perform ``operation`` on
    ``resource``: the principals (and groups, and their known members) named by the role
    assignments at the resource's scopes, each decided by :func:`can`. Sorted by principal id."""
    index = _index(snapshot)
    problems: list[str] = []
    path = index.scope_path(resource, problems)
    plane = data_action if data_action is not None else index.classify(operation)
    planes = [plane] if plane is not None else [False, True]
    assignments, _, _ = index.at_path(path)
    candidates: set[str] = set()
    for applied in assignments:
        holder = str(applied.assignment.get("principalId") or "").lower()
        role = applied.role_definition
        if not holder or (role is not None and not _covers(role, operation, planes)):
            continue  # its role cannot grant the operation, whatever its condition
        candidates.add(holder)
        stack = [holder]
        while stack:
            for member in index.members.get(stack.pop(), []):
                if member not in candidates:
                    candidates.add(member)
                    stack.append(member)
    out = []
    for principal_id in sorted(candidates):
        result = can(
            index,
            principal_id,
            operation,
            resource,
            data_action=data_action,
            context=context,
            any_context=any_context,
            sub_operation=sub_operation,
            engine=engine,
        )
        if result.answer.decision in ("allowed", "unknown"):
            p = index.principals.get(principal_id)
            if p is not None and p.kind is PrincipalKind.AZURE_GROUP:
                result.notes.append(f"{p.name} is a group: its members hold this access")
            out.append(result)
    return out


__all__ = ["AzureIndex", "CanAnswer", "QueryError", "can", "who_can"]
