"""Azure RBAC documents and requests as the evaluators read them.

Native JSON in, frozen structures out: role definitions (``az role definition list`` shape), role
assignments (``az role assignment list``) and deny assignments (the ARM object's ``properties``
plus ``id``), each compiled once. Both evaluators (:mod:`simulator.azure.reference`,
:mod:`simulator.azure.encode`) decide from these, so they cannot disagree on what a document says.

Matching rules (Azure RBAC documentation, "How Azure RBAC determines if a user has access"):

- Scope: an assignment applies at its scope and every scope below it. ``Applicable.scope_path``
  lists the resource's scopes top first (``/``, the tenant, management groups, subscription,
  resource group, parent resources, the resource), lower-cased; ids compare case-insensitively.
  A deny assignment with ``doNotApplyToChildScopes`` applies only when its scope is the
  resource's own.
- Permissions: a permission block grants a control-plane operation when one of its ``actions``
  matches and none of its ``notActions`` does; a data operation likewise with ``dataActions`` /
  ``notDataActions``. ``Not*`` subtracts within its block only; it never denies. Patterns have
  ``*`` wildcards anywhere and compare case-insensitively. A block with its own ABAC condition
  grants only where that condition holds.
- Principal: an assignment's ``principalId`` must be the principal or one of its groups. A deny
  assignment names ``principals`` (the everyone id ``00000000-0000-0000-0000-000000000000`` of
  type ``SystemDefined`` matches all) minus ``excludePrincipals`` (by id, also via a group).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from simulator.azure.abac import (
    Node,
    Unsupported,
    action_matches,
    attribute_key,
    parse_assignment_condition,
)

EVERYONE = "00000000-0000-0000-0000-000000000000"
ROLE_ASSIGNMENTS = "/providers/microsoft.authorization/roleassignments/"
DENY_ASSIGNMENTS = "/providers/microsoft.authorization/denyassignments/"


@dataclass(frozen=True, kw_only=True)
class Request:
    """One request. ``attributes`` maps canonical ABAC attribute keys
    (:func:`simulator.azure.abac.attribute_key`) to their values; a missing key is absent."""

    principal: str
    operation: str
    resource: str
    data_action: bool
    sub_operation: str | None = None
    attributes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


def normalize_attributes(raw: Mapping[str, Any] | None) -> dict[str, tuple[str, ...]]:
    """``{"@Resource[type:name]": "v" | ["v", ...]}`` -> canonical keys, tuples of strings."""
    out: dict[str, tuple[str, ...]] = {}
    for key, value in (raw or {}).items():
        values = tuple(str(v) for v in value) if isinstance(value, list | tuple) else (str(value),)
        out[attribute_key(key)] = values
    return out


def resource_attributes(resource: str) -> dict[str, tuple[str, ...]]:
    """The ``@Resource`` attributes an ARM id itself determines, by canonical key: the name of
    each resource level (``@Resource[Microsoft.Storage/storageAccounts:name]``,
    ``...storageAccounts/blobServices/containers:name``) and, below ``.../containers/<c>/blobs/``,
    the blob's path (``...containers/blobs:path``, the rest of the id, slashes kept). Names keep the
    id's case. Attributes held by the resource rather than its id (tags, metadata, versions) are not
    derived: a condition on them reads what the request gives, else they are absent (or free with
    ``any_context``)."""
    parts = [p for p in resource.strip().split("/") if p]
    out: dict[str, tuple[str, ...]] = {}
    i = 0
    while i < len(parts) and parts[i].lower() != "providers":
        i += 1
    types: list[str] = []
    while i + 3 < len(parts) or (types and i + 1 < len(parts)):
        if parts[i].lower() == "providers" and i + 3 < len(parts):
            types = [parts[i + 1], parts[i + 2]]  # an extension resource starts a new type path
            name = parts[i + 3]
            i += 4
        else:
            types.append(parts[i])
            name = parts[i + 1]
            i += 2
        if types[-1].lower() == "blobs" and len(types) >= 2 and types[-2].lower() == "containers":
            out[attribute_key(f"@Resource[{'/'.join(types)}:path]")] = ("/".join(parts[i - 1 :]),)
            break
        out[attribute_key(f"@Resource[{'/'.join(types)}:name]")] = (name,)
    return out


@dataclass(frozen=True, kw_only=True)
class AppliedAssignment:
    """A role assignment (native JSON) with its role definition (native JSON; ``None`` when the
    snapshot lacks it)."""

    assignment: Mapping[str, Any]
    role_definition: Mapping[str, Any] | None


@dataclass(frozen=True, kw_only=True)
class Applicable:
    """Everything that can decide one request, as plain data: the resource's scope path (top
    first, lower-cased), the role assignments and deny assignments at those scopes, and the
    principal's groups (object ids)."""

    scope_path: tuple[str, ...]
    assignments: tuple[AppliedAssignment, ...] = ()
    deny_assignments: tuple[Mapping[str, Any], ...] = ()
    groups: tuple[str, ...] = ()


# --- Compiled documents -----------------------------------------------------------------------


@dataclass(frozen=True)
class Block:
    actions: tuple[str, ...]
    not_actions: tuple[str, ...]
    data_actions: tuple[str, ...]
    not_data_actions: tuple[str, ...]
    condition: Node | Unsupported | None

    def matches(self, operation: str, data_action: bool) -> bool:
        """The block's patterns cover the operation (its condition aside)."""
        allow, subtract = (
            (self.data_actions, self.not_data_actions) if data_action else (self.actions, self.not_actions)
        )
        return any(action_matches(p, operation) for p in allow) and not any(
            action_matches(p, operation) for p in subtract
        )


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in value) if isinstance(value, list | tuple) else ()


def blocks_of(permissions: Any) -> tuple[Block, ...]:
    out = []
    for p in permissions if isinstance(permissions, list) else ():
        if not isinstance(p, Mapping):
            continue
        out.append(
            Block(
                _strings(p.get("actions")),
                _strings(p.get("notActions")),
                _strings(p.get("dataActions")),
                _strings(p.get("notDataActions")),
                parse_assignment_condition(p.get("condition"), p.get("conditionVersion")),
            )
        )
    return tuple(out)


def scope_of_assignment(doc: Mapping[str, Any], marker: str) -> str:
    """The assignment's scope, lower-cased: its ``scope``, else the part of its id before the
    ``/providers/Microsoft.Authorization/...`` suffix (``/`` for the root)."""
    scope = doc.get("scope")
    if not scope:
        ident = str(doc.get("id") or "").lower()
        scope = ident.split(marker, 1)[0] if marker in ident else ""
    scope = str(scope).lower().rstrip("/")
    return scope or "/"


@dataclass(frozen=True)
class RoleAssignment:
    id: str
    scope: str
    principal_id: str
    principal_type: str
    role_id: str
    role_name: str | None
    blocks: tuple[Block, ...] | None  # None: role definition missing
    condition: Node | Unsupported | None

    def label(self) -> str:
        role = self.role_name or self.role_id
        return f"{role} at {self.scope} (assignment {self.id})"


@dataclass(frozen=True)
class DenyAssignment:
    id: str
    name: str
    scope: str
    blocks: tuple[Block, ...]
    principals: tuple[tuple[str, str], ...]  # (id lower-case, type)
    excluded: tuple[tuple[str, str], ...]  # (id lower-case, type)
    children: bool  # applies below its scope (not doNotApplyToChildScopes)
    condition: Node | Unsupported | None

    def matches_principal(self, ids: frozenset[str]) -> bool:
        named = any((i == EVERYONE and t.lower() == "systemdefined") or i in ids for i, t in self.principals)
        return named and not any(e in ids for e, _ in self.excluded)


def compile_assignment(applied: AppliedAssignment) -> RoleAssignment:
    doc = applied.assignment
    role = applied.role_definition
    return RoleAssignment(
        id=str(doc.get("id") or doc.get("name") or "?").lower(),
        scope=scope_of_assignment(doc, ROLE_ASSIGNMENTS),
        principal_id=str(doc.get("principalId") or "").lower(),
        principal_type=str(doc.get("principalType") or ""),
        role_id=str(doc.get("roleDefinitionId") or "").lower(),
        role_name=(str(role.get("roleName")) if role and role.get("roleName") else doc.get("roleDefinitionName")),
        blocks=blocks_of(role.get("permissions")) if role is not None else None,
        condition=parse_assignment_condition(doc.get("condition"), doc.get("conditionVersion")),
    )


def deny_properties(doc: Mapping[str, Any]) -> Mapping[str, Any]:
    """A deny assignment's fields: the ARM object nests them in ``properties``, a flattened one has them on top."""
    props = doc.get("properties")
    return props if isinstance(props, Mapping) else doc


def compile_deny(doc: Mapping[str, Any]) -> DenyAssignment:
    props = deny_properties(doc)
    ident = str(doc.get("id") or props.get("id") or "?").lower()

    def ids(key: str) -> tuple[tuple[str, str], ...]:
        items = props.get(key) or []
        return tuple(
            (str(p.get("id") or "").lower(), str(p.get("type") or "")) for p in items if isinstance(p, Mapping)
        )

    return DenyAssignment(
        id=ident,
        name=str(props.get("denyAssignmentName") or doc.get("name") or ident),
        scope=scope_of_assignment({"scope": props.get("scope"), "id": ident}, DENY_ASSIGNMENTS),
        blocks=blocks_of(props.get("permissions")),
        principals=ids("principals"),
        excluded=ids("excludePrincipals"),
        children=not bool(props.get("doNotApplyToChildScopes")),
        condition=parse_assignment_condition(props.get("condition"), props.get("conditionVersion")),
    )


@dataclass(frozen=True)
class Compiled:
    """An :class:`Applicable` compiled against one request's concrete parts (principal, operation,
    scope): what is left to decide is only the ABAC conditions."""

    grants: tuple[tuple[RoleAssignment, tuple[Block, ...]], ...]  # principal + scope match; blocks cover op
    missing_roles: tuple[RoleAssignment, ...]  # principal + scope match, role definition missing
    denies: tuple[DenyAssignment, ...]  # scope, principal and permissions match
    considered: int  # assignments that apply by scope and principal


def compile_request(request: Request, applicable: Applicable) -> Compiled:
    path = tuple(s.lower() for s in applicable.scope_path)
    in_path = set(path)
    own = path[-1] if path else request.resource.lower()
    ids = frozenset({request.principal.lower(), *(g.lower() for g in applicable.groups)})
    grants = []
    missing = []
    considered = 0
    for applied in applicable.assignments:
        a = compile_assignment(applied)
        if a.scope not in in_path or a.principal_id not in ids:
            continue
        considered += 1
        if a.blocks is None:
            missing.append(a)
            continue
        blocks = tuple(b for b in a.blocks if b.matches(request.operation, request.data_action))
        if blocks:
            grants.append((a, blocks))
    denies = []
    for doc in applicable.deny_assignments:
        d = compile_deny(doc)
        applies = d.scope == own if not d.children else d.scope in in_path
        if (
            applies
            and d.matches_principal(ids)
            and any(b.matches(request.operation, request.data_action) for b in d.blocks)
        ):
            denies.append(d)
    return Compiled(tuple(grants), tuple(missing), tuple(denies), considered)
