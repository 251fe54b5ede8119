"""A snapshot's Azure RBAC documents indexed for requests (what :class:`simulator.azure.engine.AzureEngine`
decides from).

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

How gaps weigh on answers (coverage, unknown ancestry, groups whose members are unknown) is the
engine's (:mod:`simulator.azure.engine`); the index records what it needs: the coverage gaps by the
scope (or target) they are about, and which groups' members are known.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from models import (
    AttachmentKind,
    Cloud,
    CoverageEntry,
    Policy,
    PolicyKind,
    Principal,
    PrincipalKind,
    ScopeKind,
    Snapshot,
)
from simulator.azure.abac import action_matches
from simulator.azure.rbac import (
    Applicable,
    AppliedAssignment,
    DenyAssignment,
    compile_deny,
    deny_properties,
)
from simulator.core import QueryError

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
        self.gaps = _gaps_by_subject(snapshot)
        self.mg_assignments = any(target.startswith(MANAGEMENT_GROUP) for target, _ in self.attached)
        self._planes: dict[str, bool | None] = {}
        self.catalog: dict[str, set[bool]] = defaultdict(set)
        for resource in snapshot.resources:
            if resource.cloud is Cloud.AZURE and resource.kind == PROVIDER_OPERATIONS_KIND:
                for is_data, key in ((False, "actions"), (True, "dataActions")):
                    for name in resource.attributes.get(key, "").split():
                        self.catalog[name].add(is_data)
        self._paths: dict[tuple[str, ...], tuple[list[AppliedAssignment], list[Mapping[str, Any]], list[str]]] = {}
        self._by_holder: dict[tuple[str, ...], dict[str, list[tuple[int, AppliedAssignment]]]] = {}
        self._denies: dict[int, DenyAssignment] = {}
        self.data_patterns: list[str] = []
        self.control_patterns: list[str] = []
        for pol in policies:
            doc = deny_properties(pol.document) if pol.kind is PolicyKind.AZURE_DENY_ASSIGNMENT else pol.document
            if pol.kind in (PolicyKind.AZURE_ROLE_DEFINITION, PolicyKind.AZURE_DENY_ASSIGNMENT):
                for block in doc.get("permissions") or []:
                    if isinstance(block, Mapping):
                        self.control_patterns += [str(x) for x in block.get("actions") or []]
                        self.data_patterns += [str(x) for x in block.get("dataActions") or []]

    def members_said(self, group: str) -> bool | None:
        """What the collector said of ``group``'s members: ``Principal.members_known``, or in
        snapshots written before that field, the ``membersKnown`` attribute; None: not said."""
        p = self.principals.get(group)
        if p is None:
            return None
        if p.members_known is not None:
            return p.members_known
        said = p.attributes.get("membersKnown")
        return None if said is None else said == "true"

    def members_known(self, group: str) -> bool:
        """The snapshot holds every member of ``group``: the collector read them, or, where it
        does not say, some principal lists the group."""
        said = self.members_said(group)
        return said is True or (said is None and group in self.members)

    def compiled_deny(self, doc: Mapping[str, Any]) -> DenyAssignment:
        """:func:`simulator.azure.rbac.compile_deny`, once per document of this snapshot."""
        key = id(doc)
        if key not in self._denies:
            self._denies[key] = compile_deny(doc)
        return self._denies[key]

    # --- resolution ---------------------------------------------------------------------------

    def resolve_principal(self, ref: str) -> str:
        """The object id of ``ref`` (an object id, or a principal's unique name); a reference the
        snapshot does not know is kept as given (lower-cased): a principal outside the snapshot."""
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
        if not key:
            raise QueryError("the principal is empty")
        return key

    def role_policy(self, role_id: str) -> Policy | None:
        """The role definition ``roleDefinitionId`` names (see the module docstring), or None."""
        rid = role_id.lower()
        if rid in self.roles:
            return self.roles[rid]
        m = ROLE_DEFINITION.match(rid)
        if m is None:
            return None
        built_in = f"/providers/microsoft.authorization/roledefinitions/{m.group(1)}"
        if built_in in self.roles:
            return self.roles[built_in]
        same = self.roles_by_guid.get(m.group(1), [])
        return same[0] if len(same) == 1 else None

    def role_definition(self, role_id: str) -> Mapping[str, Any] | None:
        policy = self.role_policy(role_id)
        return policy.document if policy is not None else None

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
        _, denies, missing = self.at_path(path)
        notes += missing
        p = self.principals.get(principal)
        groups = tuple(g.lower() for g in p.member_of) if p else ()
        by_holder = self.assignments_by_holder(path)
        held = sorted(x for h in dict.fromkeys((principal, *groups)) for x in by_holder.get(h, ()))
        mine = tuple(a for _, a in held)  # in the order they are attached along the path
        return Applicable(scope_path=path, assignments=mine, deny_assignments=tuple(denies), groups=groups)

    def assignments_by_holder(self, path: tuple[str, ...]) -> dict[str, list[tuple[int, AppliedAssignment]]]:
        """The role assignments at ``path`` by lower-cased principal id, each with its position in
        :meth:`at_path`'s list; cached."""
        if path not in self._by_holder:
            out: dict[str, list[tuple[int, AppliedAssignment]]] = defaultdict(list)
            for n, a in enumerate(self.at_path(path)[0]):
                out[str(a.assignment.get("principalId") or "").lower()].append((n, a))
            self._by_holder[path] = dict(out)
        return self._by_holder[path]

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


def _gaps_by_subject(snapshot: Snapshot) -> dict[str, list[CoverageEntry]]:
    """Gaps by what they are about: their target when they name one (a scope, a group, a role),
    else their scope. Entries of other clouds never match."""
    gaps: dict[str, list[CoverageEntry]] = defaultdict(list)
    for entry in snapshot.coverage:
        if entry.is_gap and entry.cloud in (None, Cloud.AZURE):
            about = entry.target or entry.scope_id
            gaps[about.lower().rstrip("/") or "/"].append(entry)
    return gaps


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


__all__ = ["AZURE_PRINCIPALS", "AzureIndex"]
