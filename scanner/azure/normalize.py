"""Raw Azure answers -> model objects. Pure: no network, no clock, no files.

Ids (every ARM id is compared case-insensitively and stored lower-cased):

- Scopes: the tenant GUID (tenant; ``/``, the root scope, is the tenant); management groups
  ``/providers/microsoft.management/managementgroups/<name>`` (parent: the parent group, else the
  tenant); ``/subscriptions/<guid>`` (parent: its management group when the tree is known, else
  its tenant); ``/subscriptions/<guid>/resourcegroups/<name>``; a resource's ARM id, only for
  resources that matter (user-assigned identities, resources with an identity, resources that are
  the scope of an assignment or deny assignment), parent: its resource group.
- Principals: the Entra object id (lower-case GUID). Kind from ``principalType`` /
  ``servicePrincipalType``; an object id that is a user-assigned identity's ``principalId``, a
  resource's system-assigned identity or a ``ManagedIdentity`` service principal is a managed
  identity. Principals named only by role or deny assignments are principals too (scope: tenant).
  Managed identities' ``scope_id`` is the ARM id of the identity resource (user-assigned) or of the
  resource that carries it (system-assigned).
- Policies: role definitions by ARM id, built-in ones as
  ``/providers/microsoft.authorization/roledefinitions/<guid>`` whatever subscription listed them
  (a custom role listed under several ids keeps the smallest); role and deny assignments by ARM id.
  Documents are native (``az role definition list`` / ``az role assignment list`` entries; a deny
  assignment's ``properties`` plus ``id``). An assignment's ``attributes["roleDefinitionPolicyId"]``
  is the id of its role definition's policy (matched by GUID), absent when the definition is not in
  the inputs: then a coverage gap ``roleDefinitions.get <id>`` says so and nothing may be concluded
  about what the assignment grants.
- Group memberships (live scans): a principal's ``member_of`` lists the groups it is in,
  transitively (Graph ``transitiveMembers``); such a group has ``members_known = True``.
- Credentials: ``<object id>#secret-<keyId>`` (client secrets) and ``<object id>#certificate-<keyId>``
  (certificates), metadata only; federated identity credentials by ARM id, on the identity's principal.
- Workloads: resources with an identity, by ARM id; ``principal_ids`` are the identities' object ids.
- Resources: each resource provider's operations catalog (``az provider operation show``) as a
  :class:`Resource` of kind ``authorization:providerOperations``, id
  ``/providers/microsoft.authorization/provideroperations/<namespace>``, its operations (lower-case,
  space-separated) in ``attributes["actions"]`` (control plane) and ``attributes["dataActions"]``;
  an operation Azure lists both ways is in both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from models import (
    Attachment,
    AttachmentKind,
    Cloud,
    CoverageEntry,
    CoverageStatus,
    Covers,
    Credential,
    CredentialKind,
    Policy,
    PolicyKind,
    Principal,
    PrincipalKind,
    Resource,
    Scope,
    ScopeKind,
    Workload,
    WorkloadKind,
)
from scanner.azure.ids import (
    BUILTIN_ROLE_PREFIX,
    EVERYONE,
    arm,
    derived_parent,
    last_segment,
    parse_time,
    scope_kind,
    scope_of_extension,
)
from scanner.azure.raw import AzureRaw, management_group_body, provider_operation_entries, sanitize_service_principal
from scanner.errors import BadInputError
from scanner.normalized import Normalized

UAI_TYPE = "microsoft.managedidentity/userassignedidentities"

_SCOPE_KINDS = {
    "tenant": ScopeKind.TENANT,
    "management_group": ScopeKind.MANAGEMENT_GROUP,
    "subscription": ScopeKind.SUBSCRIPTION,
    "resource_group": ScopeKind.RESOURCE_GROUP,
    "resource": ScopeKind.AZURE_RESOURCE,
}
_PRINCIPAL_KINDS = {
    "user": PrincipalKind.AZURE_USER,
    "group": PrincipalKind.AZURE_GROUP,
    "foreigngroup": PrincipalKind.AZURE_GROUP,
    "serviceprincipal": PrincipalKind.AZURE_SERVICE_PRINCIPAL,
}
# When two inputs disagree on a principal's kind, the more specific one wins.
_KIND_RANK = {
    PrincipalKind.AZURE_MANAGED_IDENTITY: 3,
    PrincipalKind.AZURE_SERVICE_PRINCIPAL: 1,
    PrincipalKind.AZURE_USER: 2,
    PrincipalKind.AZURE_GROUP: 2,
}


def normalize_azure(raw: AzureRaw) -> Normalized:
    """Normalize one tenant's answers into the model's collections (see the module docstring).

    Raises :class:`BadInputError` when an answer does not have the shape Azure gives it.
    """
    try:
        return _Builder(raw).build()
    except BadInputError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        what = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
        raise BadInputError(f"Azure inputs ({raw.source}): not the shape Azure returns ({what})") from exc


@dataclass
class _ScopeInfo:
    kind: ScopeKind
    name: str
    parent: str | None
    attributes: dict[str, str] = field(default_factory=dict)
    authoritative: bool = False


@dataclass
class _PrincipalInfo:
    kind: PrincipalKind
    name: str
    name_rank: int
    scope_id: str
    attributes: dict[str, str] = field(default_factory=dict)
    members_known: bool | None = None


class _Builder:
    def __init__(self, raw: AzureRaw) -> None:
        self.raw = raw
        self.out = Normalized()
        self.tenant = _tenant_of(raw)
        self.scopes: dict[str, _ScopeInfo] = {}
        self.principals: dict[str, _PrincipalInfo] = {}
        self.subscription_parent: dict[str, str] = {}
        self.identity_principal: dict[str, str] = {}  # user-assigned identity ARM id -> object id
        self.gap_keys: set[tuple[str, str]] = set()
        self.member_of: dict[str, set[str]] = {}  # object id -> groups it is in (transitively)

    def build(self) -> Normalized:
        self._tenants()
        for tree in self.raw.management_groups:
            self._management_group(tree, self.tenant)
        self._subscriptions()
        self._resource_groups()
        self._identities()
        self._resources()
        self._service_principals()
        definitions = self._role_definitions()
        self._role_assignments(definitions)
        self._deny_assignments()
        self._federated_credentials()
        self._provider_operations()
        self._group_members()
        self._emit_scopes()
        self._emit_principals()
        self.out.coverage[:0] = self.raw.coverage
        return self.out

    # --- scopes ------------------------------------------------------------------------------

    def _scope_id(self, scope: str) -> str:
        """The model scope id of an ARM scope; ``/`` is the tenant."""
        lowered = arm(scope)
        return self.tenant if lowered == "/" else lowered

    def _set_scope(self, scope_id: str, info: _ScopeInfo) -> None:
        old = self.scopes.get(scope_id)
        if old is not None and old.authoritative and not info.authoritative:
            return
        if old is not None and old.authoritative:
            info.attributes = {**old.attributes, **info.attributes}
            info.parent = info.parent or old.parent
        self.scopes[scope_id] = info

    def _ensure_scope(self, scope_id: str, name: str | None = None, attributes: dict[str, str] | None = None) -> str:
        """Make sure ``scope_id`` (already a model id) and its parents exist; returns it."""
        if scope_id == self.tenant:
            return scope_id
        existing = self.scopes.get(scope_id)
        if existing is not None:
            if attributes and not existing.attributes:
                existing.attributes = dict(attributes)
            return scope_id
        kind = scope_kind(scope_id)
        parent = derived_parent(scope_id)
        if kind == "subscription":
            parent = self.subscription_parent.get(scope_id, self.tenant)
        elif parent is None:
            parent = self.tenant
        self.scopes[scope_id] = _ScopeInfo(
            kind=_SCOPE_KINDS[kind], name=name or last_segment(scope_id), parent=parent, attributes=attributes or {}
        )
        if parent is not None:
            self._ensure_scope(parent)
        return scope_id

    def _tenants(self) -> None:
        tenants = {self.tenant}
        for sub in self.raw.subscriptions:
            if sub.get("tenantId"):
                tenants.add(str(sub["tenantId"]).lower())
        for tenant in sorted(tenants):
            self.scopes[tenant] = _ScopeInfo(
                kind=ScopeKind.TENANT, name=tenant if tenant != "/" else "tenant", parent=None, authoritative=True
            )

    def _management_group(self, node: dict[str, Any], parent: str) -> None:
        body = management_group_body(node)
        node_id = arm(node["id"])
        kind = scope_kind(node_id)
        name = str(body.get("displayName") or node.get("displayName") or node.get("name") or last_segment(node_id))
        if kind == "subscription":
            self.subscription_parent[node_id] = parent
            self._set_scope(
                node_id, _ScopeInfo(kind=ScopeKind.SUBSCRIPTION, name=name, parent=parent, authoritative=True)
            )
            return
        if kind != "management_group":
            raise ValueError(f"management-group tree holds {node['id']!r}, neither a group nor a subscription")
        self._set_scope(
            node_id,
            _ScopeInfo(
                kind=ScopeKind.MANAGEMENT_GROUP,
                name=name,
                parent=parent,
                attributes={"name": str(node.get("name") or last_segment(node_id))},
                authoritative=True,
            ),
        )
        for child in body.get("children") or []:
            self._management_group(child, node_id)

    def _subscriptions(self) -> None:
        for sub in self.raw.subscriptions:
            sub_id = arm(f"/subscriptions/{sub['id']}" if not str(sub["id"]).startswith("/") else sub["id"])
            tenant = str(sub.get("tenantId") or self.tenant).lower()
            parent = self.subscription_parent.get(sub_id, tenant)
            attributes = {"state": str(sub.get("state", "")), "tenantId": tenant}
            self._set_scope(
                sub_id,
                _ScopeInfo(
                    kind=ScopeKind.SUBSCRIPTION,
                    name=str(sub.get("name") or last_segment(sub_id)),
                    parent=parent,
                    attributes=attributes,
                    authoritative=True,
                ),
            )

    def _resource_groups(self) -> None:
        for group in self.raw.resource_groups:
            group_id = arm(group["id"])
            if scope_kind(group_id) != "resource_group":
                raise ValueError(f"not a resource group id: {group['id']!r}")
            self._set_scope(
                group_id,
                _ScopeInfo(
                    kind=ScopeKind.RESOURCE_GROUP,
                    name=str(group.get("name") or last_segment(group_id)),
                    parent=derived_parent(group_id),
                    attributes={"location": str(group.get("location", ""))},
                    authoritative=True,
                ),
            )

    def _emit_scopes(self) -> None:
        for scope_id in list(self.scopes):
            info = self.scopes[scope_id]
            if info.parent is not None:
                self._ensure_scope(info.parent)
        for scope_id, info in self.scopes.items():
            self.out.scopes.append(
                Scope(
                    id=scope_id,
                    cloud=Cloud.AZURE,
                    kind=info.kind,
                    name=info.name,
                    parent_id=info.parent,
                    attributes=info.attributes,
                )
            )

    # --- principals --------------------------------------------------------------------------

    def _principal(
        self,
        object_id: Any,
        kind: PrincipalKind,
        *,
        name: str | None,
        name_rank: int,
        scope_id: str,
        attributes: dict[str, str] | None = None,
    ) -> str:
        oid = str(object_id).strip().lower()
        if not oid:
            raise ValueError("a principal without an object id")
        attrs = {k: v for k, v in (attributes or {}).items() if v}
        info = self.principals.get(oid)
        if info is None:
            self.principals[oid] = _PrincipalInfo(
                kind=kind, name=name or oid, name_rank=name_rank if name else 0, scope_id=scope_id, attributes=attrs
            )
            return oid
        # Sources rank: identity/resource lists (3) > Graph (2) > assignments (1); the better-informed
        # source names the principal and wins attribute conflicts; the more specific kind wins.
        richer = name_rank > info.name_rank
        if _KIND_RANK.get(kind, 0) > _KIND_RANK.get(info.kind, 0):
            info.kind = kind
        if name and richer:
            info.name, info.name_rank = name, name_rank
        if kind is PrincipalKind.AZURE_MANAGED_IDENTITY and scope_id != self.tenant:
            info.scope_id = scope_id
        info.attributes = {**info.attributes, **attrs} if richer else {**attrs, **info.attributes}
        return oid

    def _named_principal(self, object_id: Any, principal_type: Any, name: Any = None) -> str:
        """A principal known only by an assignment's ``principalId`` and ``principalType``."""
        ptype = str(principal_type or "Unknown")
        kind = _PRINCIPAL_KINDS.get(ptype.lower(), PrincipalKind.AZURE_SERVICE_PRINCIPAL)
        return self._principal(
            object_id,
            kind,
            name=str(name) if name else None,
            name_rank=1,
            scope_id=self.tenant,
            attributes={"principalType": ptype},
        )

    def _emit_principals(self) -> None:
        for oid, info in self.principals.items():
            self.out.principals.append(
                Principal(
                    id=oid,
                    cloud=Cloud.AZURE,
                    kind=info.kind,
                    name=info.name,
                    scope_id=info.scope_id,
                    native_id=oid,
                    attributes=info.attributes,
                    member_of=tuple(sorted(self.member_of.get(oid, ()))),
                    members_known=info.members_known,
                )
            )

    def _identities(self) -> None:
        for identity in self.raw.identities:
            identity_id = arm(identity["id"])
            self._ensure_scope(
                identity_id,
                name=str(identity.get("name") or last_segment(identity_id)),
                attributes={"type": "Microsoft.ManagedIdentity/userAssignedIdentities"}
                | ({"location": str(identity["location"])} if identity.get("location") else {}),
            )
            oid = self._principal(
                identity["principalId"],
                PrincipalKind.AZURE_MANAGED_IDENTITY,
                name=str(identity.get("name") or last_segment(identity_id)),
                name_rank=3,
                scope_id=identity_id,
                attributes={
                    "clientId": str(identity.get("clientId") or ""),
                    "resourceId": identity_id,
                    "identityType": "UserAssigned",
                },
            )
            self.identity_principal[identity_id] = oid

    def _service_principals(self) -> None:
        for sp in self.raw.service_principals:
            clean = sanitize_service_principal(sp)
            sp_type = str(clean.get("servicePrincipalType") or "")
            kind = (
                PrincipalKind.AZURE_MANAGED_IDENTITY
                if sp_type.lower() == "managedidentity"
                else PrincipalKind.AZURE_SERVICE_PRINCIPAL
            )
            oid = self._principal(
                clean["id"],
                kind,
                name=str(clean.get("displayName") or "") or None,
                name_rank=2,
                scope_id=self.tenant,
                attributes={
                    "appId": str(clean.get("appId") or ""),
                    "servicePrincipalType": sp_type,
                    "appOwnerOrganizationId": str(clean.get("appOwnerOrganizationId") or ""),
                },
            )
            for suffix, key, cred_kind in (
                ("secret", "passwordCredentials", CredentialKind.CLIENT_SECRET),
                ("certificate", "keyCredentials", CredentialKind.CERTIFICATE),
            ):
                for cred in clean[key]:
                    key_id = str(cred["keyId"]).lower()
                    self.out.credentials.append(
                        Credential(
                            id=f"{oid}#{suffix}-{key_id}",
                            principal_id=oid,
                            kind=cred_kind,
                            key_id=key_id,
                            created=parse_time(cred.get("startDateTime")),
                            expires=parse_time(cred.get("endDateTime")),
                        )
                    )

    # --- workloads ---------------------------------------------------------------------------

    def _resources(self) -> None:
        for resource in self.raw.resources:
            identity = resource.get("identity")
            if not isinstance(identity, dict):
                continue
            id_type = str(identity.get("type") or "").lower()
            if id_type in ("", "none"):
                continue
            resource_id = arm(resource["id"])
            rtype = str(resource.get("type") or "")
            name = str(resource.get("name") or last_segment(resource_id))
            attributes = {"type": rtype, "location": str(resource.get("location") or "")}
            if resource.get("kind"):
                attributes["kind"] = str(resource["kind"])
            self._ensure_scope(resource_id, name=name, attributes=attributes)
            principal_ids: list[str] = []
            if "systemassigned" in id_type.replace(" ", "") and identity.get("principalId"):
                principal_ids.append(
                    self._principal(
                        identity["principalId"],
                        PrincipalKind.AZURE_MANAGED_IDENTITY,
                        name=name,
                        name_rank=3,
                        scope_id=resource_id,
                        attributes={"resourceId": resource_id, "identityType": "SystemAssigned"},
                    )
                )
            elif "systemassigned" in id_type.replace(" ", ""):
                self._gap(
                    resource_id,
                    "managedidentity",
                    f"systemAssignedIdentity {resource_id}",
                    "no principalId",
                    covers=(Covers.PRINCIPALS, Covers.WORKLOADS),
                    target=resource_id,
                )
            for uai_id, detail in (identity.get("userAssignedIdentities") or {}).items():
                uai = arm(uai_id)
                self._ensure_scope(uai, attributes={"type": "Microsoft.ManagedIdentity/userAssignedIdentities"})
                oid = self.identity_principal.get(uai)
                if oid is None and isinstance(detail, dict) and detail.get("principalId"):
                    oid = self._principal(
                        detail["principalId"],
                        PrincipalKind.AZURE_MANAGED_IDENTITY,
                        name=last_segment(uai),
                        name_rank=2,
                        scope_id=uai,
                        attributes={
                            "clientId": str(detail.get("clientId") or ""),
                            "resourceId": uai,
                            "identityType": "UserAssigned",
                        },
                    )
                    self.identity_principal[uai] = oid
                if oid is None:
                    self._gap(
                        resource_id,
                        "managedidentity",
                        f"userAssignedIdentities.get {uai}",
                        "user-assigned identity not in the inputs; its principal is unknown",
                        covers=(Covers.PRINCIPALS, Covers.WORKLOADS),
                        target=uai,
                    )
                    continue
                if oid not in principal_ids:
                    principal_ids.append(oid)
            self.out.workloads.append(
                Workload(
                    id=resource_id,
                    cloud=Cloud.AZURE,
                    kind=_workload_kind(rtype, str(resource.get("kind") or "")),
                    name=name,
                    scope_id=resource_id,
                    principal_ids=tuple(principal_ids),
                    region=str(resource.get("location") or "") or None,
                    attributes=attributes,
                )
            )

    def _federated_credentials(self) -> None:
        for identity_key, creds in self.raw.federated_credentials.items():
            identity_id = arm(identity_key)
            oid = self.identity_principal.get(identity_id)
            if oid is None:
                self._gap(
                    identity_id,
                    "managedidentity",
                    f"userAssignedIdentities.get {identity_id}",
                    f"{len(creds)} federated credential(s) for an identity not in the inputs; "
                    "export `az identity list` too",
                    covers=(Covers.PRINCIPALS, Covers.CREDENTIALS),
                    target=identity_id,
                )
                continue
            for cred in creds:
                audiences = cred.get("audiences") or []
                subject = cred.get("subject")
                self.out.credentials.append(
                    Credential(
                        id=arm(cred["id"]),
                        principal_id=oid,
                        kind=CredentialKind.FEDERATED,
                        issuer=str(cred["issuer"]),
                        # A flexible credential (claimsMatchingExpression, no subject) does not
                        # constrain the subject in a way recorded here: None, "any subject".
                        subjects=(str(subject),) if subject else None,
                        audiences=tuple(str(a) for a in audiences),
                    )
                )

    # --- policies ----------------------------------------------------------------------------

    def _role_definitions(self) -> dict[str, str]:
        """Add role definitions; returns definition GUID -> policy id."""
        by_guid: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        for item in self.raw.role_definitions:
            guid = last_segment(str(item.get("id") or item["name"]))
            builtin = str(item.get("roleType") or "") == "BuiltInRole"
            policy_id = BUILTIN_ROLE_PREFIX + guid if builtin or not item.get("id") else arm(item["id"])
            by_guid.setdefault(guid, []).append((policy_id, item))
        result: dict[str, str] = {}
        for guid, candidates in by_guid.items():
            policy_id, item = min(candidates, key=lambda c: c[0])
            result[guid] = policy_id
            document = dict(item)
            document.setdefault("id", item.get("id") or policy_id)
            owner = scope_of_extension(policy_id)
            scope_id = self._ensure_scope(self._scope_id(owner))
            self.out.policies.append(
                Policy(
                    id=policy_id,
                    cloud=Cloud.AZURE,
                    kind=PolicyKind.AZURE_ROLE_DEFINITION,
                    name=str(item.get("roleName") or guid),
                    scope_id=scope_id,
                    document=document,
                    native_id=guid,
                    description=str(item["description"]) if item.get("description") else None,
                    attributes={"roleType": str(item.get("roleType") or "")},
                )
            )
        return result

    def _role_assignments(self, definitions: dict[str, str]) -> None:
        seen: set[str] = set()
        for item in self.raw.role_assignments:
            policy_id = arm(item["id"])
            if policy_id in seen:
                continue
            seen.add(policy_id)
            target = self._ensure_scope(self._scope_id(item["scope"]))
            oid = self._named_principal(item["principalId"], item.get("principalType"), item.get("principalName"))
            role_ref = arm(item["roleDefinitionId"])
            attributes = {"principalId": oid, "principalType": str(item.get("principalType") or "")}
            definition = definitions.get(last_segment(role_ref))
            if definition is not None:
                attributes["roleDefinitionPolicyId"] = definition
            else:
                self._gap(
                    self._ensure_scope(self._scope_id(scope_of_extension(role_ref))),
                    "authorization",
                    f"roleDefinitions.get {role_ref}",
                    "role definition not in the inputs",
                    covers=(Covers.ROLES,),
                    target=role_ref.lower(),
                )
            self.out.policies.append(
                Policy(
                    id=policy_id,
                    cloud=Cloud.AZURE,
                    kind=PolicyKind.AZURE_ASSIGNMENT,
                    name=str(item.get("name") or last_segment(policy_id)),
                    scope_id=target,
                    document=dict(item),
                    native_id=str(item.get("name") or last_segment(policy_id)),
                    description=str(item["description"]) if item.get("description") else None,
                    created=parse_time(item.get("createdOn")),
                    updated=parse_time(item.get("updatedOn")),
                    attributes=attributes,
                )
            )
            self.out.attachments.append(
                Attachment(policy_id=policy_id, target_id=target, kind=AttachmentKind.ASSIGNMENT)
            )

    def _deny_assignments(self) -> None:
        seen: set[str] = set()
        for item in self.raw.deny_assignments:
            policy_id = arm(item["id"])
            if policy_id in seen:
                continue
            seen.add(policy_id)
            props = item["properties"]
            target = self._ensure_scope(self._scope_id(props["scope"]))
            for entry in [*(props.get("principals") or []), *(props.get("excludePrincipals") or [])]:
                if str(entry["id"]).lower() == EVERYONE or str(entry.get("type")) == "SystemDefined":
                    continue
                self._named_principal(entry["id"], entry.get("type"))
            document = {**props, "id": item["id"]}
            self.out.policies.append(
                Policy(
                    id=policy_id,
                    cloud=Cloud.AZURE,
                    kind=PolicyKind.AZURE_DENY_ASSIGNMENT,
                    name=str(props.get("denyAssignmentName") or item.get("name") or last_segment(policy_id)),
                    scope_id=target,
                    document=document,
                    native_id=str(item.get("name") or last_segment(policy_id)),
                    description=str(props["description"]) if props.get("description") else None,
                    attributes={"isSystemProtected": str(bool(props.get("isSystemProtected"))).lower()},
                )
            )
            self.out.attachments.append(Attachment(policy_id=policy_id, target_id=target, kind=AttachmentKind.DENY))

    def _group_members(self) -> None:
        """Groups whose transitive members were read: each member's ``member_of`` names the group,
        and the group's ``members_known`` is True. Members that are neither users, service principals nor
        groups (devices, contacts) cannot hold roles and are left out."""
        for group_id, members in sorted(self.raw.group_members.items()):
            group = self._principal(group_id, PrincipalKind.AZURE_GROUP, name=None, name_rank=0, scope_id=self.tenant)
            self.principals[group].members_known = True
            for member in members:
                kind = _GRAPH_KINDS.get(str(member.get("@odata.type") or "").lower())
                if kind is None or not member.get("id"):
                    continue
                name = str(member["displayName"]) if member.get("displayName") else None
                oid = self._principal(member["id"], kind, name=name, name_rank=2, scope_id=self.tenant)
                self.member_of.setdefault(oid, set()).add(group)

    def _provider_operations(self) -> None:
        for provider in self.raw.provider_operations:
            namespace = str(provider["name"])
            planes: dict[bool, set[str]] = {False: set(), True: set()}
            for op in provider_operation_entries(provider):
                planes[bool(op.get("isDataAction", False))].add(str(op["name"]).lower())
            self.out.resources.append(
                Resource(
                    id=f"{PROVIDER_OPERATIONS_PREFIX}{namespace.lower()}",
                    cloud=Cloud.AZURE,
                    kind=PROVIDER_OPERATIONS_KIND,
                    name=namespace,
                    scope_id=self.tenant,
                    attributes={
                        "actions": " ".join(sorted(planes[False])),
                        "dataActions": " ".join(sorted(planes[True])),
                    },
                )
            )

    def _gap(
        self,
        scope_id: str,
        service: str,
        operation: str,
        detail: str,
        *,
        covers: tuple[Covers, ...],
        target: str | None = None,
    ) -> None:
        """A gap in the inputs: what it ``covers`` (typed) and the one object it is about."""
        key = (scope_id, operation)
        if key in self.gap_keys:
            return
        self.gap_keys.add(key)
        self.out.coverage.append(
            CoverageEntry(
                scope_id=scope_id,
                source=self.raw.source,
                service=service,
                operation=operation,
                status=CoverageStatus.ERROR,
                detail=detail,
                cloud=Cloud.AZURE,
                covers=covers,
                target=target,
            )
        )


PROVIDER_OPERATIONS_PREFIX = "/providers/microsoft.authorization/provideroperations/"
_GRAPH_KINDS = {
    "#microsoft.graph.user": PrincipalKind.AZURE_USER,
    "#microsoft.graph.serviceprincipal": PrincipalKind.AZURE_SERVICE_PRINCIPAL,
    "#microsoft.graph.group": PrincipalKind.AZURE_GROUP,
}
PROVIDER_OPERATIONS_KIND = "authorization:providerOperations"


def _tenant_of(raw: AzureRaw) -> str:
    if raw.tenant_id:
        return raw.tenant_id.lower()
    for tree in raw.management_groups:
        if tree.get("tenantId"):
            return str(tree["tenantId"]).lower()
    for item in [*raw.subscriptions, *raw.identities]:
        if item.get("tenantId"):
            return str(item["tenantId"]).lower()
    return "/"


def _workload_kind(resource_type: str, kind: str) -> WorkloadKind:
    rtype = resource_type.lower()
    if rtype == "microsoft.compute/virtualmachines":
        return WorkloadKind.AZURE_VM
    if rtype in ("microsoft.web/sites", "microsoft.web/sites/slots"):
        return WorkloadKind.AZURE_FUNCTION if "functionapp" in kind.lower() else WorkloadKind.AZURE_APP_SERVICE
    return WorkloadKind.AZURE_RESOURCE
