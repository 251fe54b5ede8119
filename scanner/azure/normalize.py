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
- Entra (Microsoft Graph): applications are principals of kind ``AZURE_APPLICATION`` (id: the
  application object id, ``native_id`` and ``attributes["appId"]``: its appId); the tenant's service
  principal of an application has ``attributes["applicationId"]`` (the application object id) and
  the application ``attributes["servicePrincipalId"]``. An application's or service principal's
  owners are ``Principal.owners`` with ``owners_known`` (``True`` only when its owner list was read
  in full: an expanded list of :data:`~scanner.azure.raw.EXPAND_LIMIT` is a gap). Application
  secrets and certificates are credentials as for service principals; its federated identity
  credentials ``/applications/<app oid>/federatedidentitycredentials/<name>`` (lower-case). A
  flexible credential's ``claimsMatchingExpression`` is the credential's ``condition``; its
  ``claims['sub'] matches|eq '...'`` clause, when it has exactly one, gives ``subjects``.
- Entra policies, each attached (``ENTRA``) to the principal it grants to: directory role definitions
  ``/rolemanagement/directory/roledefinitions/<id>`` (``ENTRA_ROLE_DEFINITION``, not attached),
  directory role assignments ``/rolemanagement/directory/roleassignments/<id>``
  (``ENTRA_DIRECTORY_ROLE_ASSIGNMENT``), PIM eligibilities
  ``/rolemanagement/directory/roleeligibilityschedules/<id>`` (``ENTRA_ELIGIBLE_ROLE_ASSIGNMENT``),
  app-role assignments ``/serviceprincipals/<principal>/approleassignments/<id>``
  (``ENTRA_APP_ROLE_ASSIGNMENT``, ``attributes["appRoleValue"]`` the permission, e.g.
  ``RoleManagement.ReadWrite.Directory``, from the resource service principal's ``appRoles``; a
  resource or role not in the inputs is a gap). Graph ids keep their case.
- Azure RBAC PIM eligibilities (``AZURE_ELIGIBLE_ASSIGNMENT``, by ARM id): documents shaped as role
  assignments, attributes as theirs plus ``status`` / ``endDateTime``, attached ``ELIGIBLE`` at
  their scope (never ``ASSIGNMENT``: they grant nothing until activated).
- Workload kinds: VMs, VM scale sets, web and function apps, Automation accounts, Logic Apps (else
  ``AZURE_RESOURCE``); a site's ``keyVaultReferenceIdentity`` and its app-setting NAMES
  (``appSettingNames``, comma-separated) are workload attributes.
- Resources: each resource provider's operations catalog (``az provider operation show``) as a
  :class:`Resource` of kind ``authorization:providerOperations``, id
  ``/providers/microsoft.authorization/provideroperations/<namespace>``, its operations (lower-case,
  space-separated) in ``attributes["actions"]`` (control plane) and ``attributes["dataActions"]``;
  an operation Azure lists both ways is in both.
"""

from __future__ import annotations

import re
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
from scanner.azure.raw import (
    EXPAND_LIMIT,
    AzureRaw,
    management_group_body,
    provider_operation_entries,
    sanitize_application,
    sanitize_service_principal,
)
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
    PrincipalKind.AZURE_APPLICATION: 4,
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
    native_id: str | None = None
    owners: tuple[str, ...] = ()
    owners_known: bool | None = None


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
        self.app_settings = {arm(site): names for site, names in raw.app_settings.items()}
        self.tags: dict[str, dict[str, str]] = {}  # lower-cased ARM id or object id -> its tags

    def build(self) -> Normalized:
        self._tags()
        self._tenants()
        for tree in self.raw.management_groups:
            self._management_group(tree, self.tenant)
        self._subscriptions()
        self._resource_groups()
        self._identities()
        self._resources()
        self._service_principals()
        self._applications()
        self._owners()
        definitions = self._role_definitions()
        self._role_assignments(definitions)
        self._role_assignments(definitions, eligible=True)
        self._deny_assignments()
        self._federated_credentials()
        self._application_federated_credentials()
        directory_roles = self._directory_role_definitions()
        self._directory_grants(directory_roles)
        self._app_role_assignments()
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

    def _tags(self) -> None:
        """The tags of every subscription, resource group, resource and user-assigned identity the
        inputs list (by ARM id), and of every service principal and application (by object id)."""
        for item in (*self.raw.subscriptions, *self.raw.resource_groups, *self.raw.resources, *self.raw.identities):
            ident = str(item.get("id") or "")
            if not ident:
                continue
            key = arm(ident if ident.startswith("/") else f"/subscriptions/{ident}")
            found = tags_of(item.get("tags"))
            if found:
                self.tags[key] = {**self.tags.get(key, {}), **found}
        for item in (*self.raw.service_principals, *self.raw.applications):
            if item.get("id") and (found := tags_of(item.get("tags"))):
                self.tags[str(item["id"]).strip().lower()] = found

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
                    tags=dict(self.tags.get(scope_id, {})),
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
                    native_id=info.native_id or oid,
                    attributes=info.attributes,
                    member_of=tuple(sorted(self.member_of.get(oid, ()))),
                    members_known=info.members_known,
                    owners=info.owners,
                    owners_known=info.owners_known,
                    tags=dict(self.tags.get(oid) or self._identity_tags(info)),
                )
            )

    def _identity_tags(self, info: _PrincipalInfo) -> dict[str, str]:
        """A user-assigned identity's tags are its resource's (``az identity list``); a
        system-assigned one has none of its own (its resource's tags are the scope's)."""
        if info.attributes.get("identityType") != "UserAssigned":
            return {}
        return self.tags.get(info.attributes.get("resourceId", ""), {})

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
            self._static_credentials(oid, clean)

    def _static_credentials(self, oid: str, clean: dict[str, Any]) -> None:
        """Client secrets and certificates (metadata) of a service principal or application."""
        for suffix, key, cred_kind in (
            ("secret", "passwordCredentials", CredentialKind.CLIENT_SECRET),
            ("certificate", "keyCredentials", CredentialKind.CERTIFICATE),
        ):
            for cred in clean.get(key) or []:
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

    def _applications(self) -> None:
        """Applications, and the link between each and the tenant's service principal of its appId."""
        for app in self.raw.applications:
            clean = sanitize_application(app)
            app_id = str(clean.get("appId") or "").lower()
            oid = self._principal(
                clean["id"],
                PrincipalKind.AZURE_APPLICATION,
                name=str(clean.get("displayName") or "") or None,
                name_rank=2,
                scope_id=self.tenant,
                attributes={"appId": app_id, "signInAudience": str(clean.get("signInAudience") or "")},
            )
            self.principals[oid].native_id = app_id or None
            self._static_credentials(oid, clean)
        applications = {
            info.attributes["appId"]: oid
            for oid, info in self.principals.items()
            if info.kind is PrincipalKind.AZURE_APPLICATION and info.attributes.get("appId")
        }
        for oid, info in self.principals.items():
            if info.kind is PrincipalKind.AZURE_APPLICATION:
                continue
            app_oid = applications.get(info.attributes.get("appId", "").lower())
            if app_oid is not None:
                info.attributes["applicationId"] = app_oid
                self.principals[app_oid].attributes["servicePrincipalId"] = oid

    def _owners(self) -> None:
        """Owners of applications and service principals: an expanded ``owners`` list, or a full read."""
        listed: dict[str, list[dict[str, Any]]] = {}
        for obj in [*self.raw.service_principals, *self.raw.applications]:
            if isinstance(obj.get("owners"), list):
                listed[str(obj["id"]).lower()] = obj["owners"]
        full = {str(k).lower(): v for k, v in self.raw.owners.items()}
        failed = {
            str(e.target).lower()
            for e in self.raw.coverage
            if e.is_gap and Covers.OWNERS in e.covers and e.target is not None
        }
        for oid in sorted({*listed, *full}):
            owners = full.get(oid, listed.get(oid, []))
            cut = oid not in full and len(owners) >= EXPAND_LIMIT
            if cut:
                self._gap(
                    self.tenant,
                    "graph",
                    f"owners.list {oid}",
                    f"the expanded owners list has {len(owners)} entries, the most $expand returns: some may be "
                    f"missing; read GET /v1.0/directoryObjects/{oid}/owners",
                    covers=(Covers.OWNERS,),
                    target=oid,
                )
            ids = [self._directory_object(owner) for owner in owners if owner.get("id")]
            info = self.principals.get(oid)
            if info is None:  # owners of an object the inputs do not otherwise list
                info = self.principals[self._named_principal(oid, None)]
            info.owners = tuple(sorted(set(ids)))
            info.owners_known = not cut and oid not in failed
        for oid in failed:
            if oid in self.principals and oid not in listed and oid not in full:
                self.principals[oid].owners_known = False

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
            attributes = {**attributes, **self._workload_attributes(resource_id, resource)}
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
                    tags=dict(self.tags.get(resource_id, {})),
                )
            )

    def _workload_attributes(self, resource_id: str, resource: dict[str, Any]) -> dict[str, str]:
        """What a listing adds about a workload: a Logic App's or Automation account's ``state``; a site's
        ``keyVaultReferenceIdentity`` and the NAMES of its app settings (never their values)."""
        out: dict[str, str] = {}
        if resource.get("state"):
            out["state"] = str(resource["state"])
        reference = resource.get("keyVaultReferenceIdentity")
        if reference:
            text = str(reference)
            out["keyVaultReferenceIdentity"] = arm(text) if text.startswith("/") else text
        names = self.app_settings.get(resource_id)
        if names is not None:
            out["appSettingNames"] = ",".join(sorted(names))
        return out

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
                subjects, condition = _subjects(cred)
                self.out.credentials.append(
                    Credential(
                        id=arm(cred["id"]),
                        principal_id=oid,
                        kind=CredentialKind.FEDERATED,
                        issuer=str(cred["issuer"]),
                        subjects=subjects,
                        audiences=tuple(str(a) for a in cred.get("audiences") or []),
                        condition=condition,
                    )
                )

    def _application_federated_credentials(self) -> None:
        for app_oid, creds in sorted(self.raw.application_federated_credentials.items()):
            oid = app_oid.lower()
            info = self.principals.get(oid)
            if info is None or info.kind is not PrincipalKind.AZURE_APPLICATION:
                self._gap(
                    self.tenant,
                    "graph",
                    f"applications.get {oid}",
                    f"{len(creds)} federated credential(s) of an application not in the inputs; "
                    "export `az ad app list --all` too",
                    covers=(Covers.PRINCIPALS, Covers.CREDENTIALS),
                    target=oid,
                )
                continue
            for cred in creds:
                subjects, condition = _subjects(cred)
                self.out.credentials.append(
                    Credential(
                        id=f"/applications/{oid}/federatedidentitycredentials/{str(cred['name']).lower()}",
                        principal_id=oid,
                        kind=CredentialKind.FEDERATED,
                        key_id=str(cred["id"]).lower(),
                        issuer=str(cred["issuer"]),
                        subjects=subjects,
                        audiences=tuple(str(a) for a in cred.get("audiences") or []),
                        condition=condition,
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

    def _role_assignments(self, definitions: dict[str, str], *, eligible: bool = False) -> None:
        """Role assignments, or (``eligible``) PIM eligibilities: the same documents, another kind,
        attached ``ELIGIBLE`` rather than ``ASSIGNMENT`` (they grant nothing until activated)."""
        seen: set[str] = set()
        items = self.raw.eligible_assignments if eligible else self.raw.role_assignments
        for item in items:
            policy_id = arm(item["id"])
            if policy_id in seen:
                continue
            seen.add(policy_id)
            target = self._ensure_scope(self._scope_id(item["scope"]))
            oid = self._named_principal(item["principalId"], item.get("principalType"), item.get("principalName"))
            role_ref = arm(item["roleDefinitionId"])
            attributes = {"principalId": oid, "principalType": str(item.get("principalType") or "")}
            if eligible:
                for key in ("status", "memberType", "startDateTime", "endDateTime"):
                    if item.get(key):
                        attributes[key] = str(item[key])
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
                    kind=PolicyKind.AZURE_ELIGIBLE_ASSIGNMENT if eligible else PolicyKind.AZURE_ASSIGNMENT,
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
            kind = AttachmentKind.ELIGIBLE if eligible else AttachmentKind.ASSIGNMENT
            self.out.attachments.append(Attachment(policy_id=policy_id, target_id=target, kind=kind))

    def _directory_role_definitions(self) -> dict[str, str]:
        """Directory role definitions; returns their id and template id (lower-case) -> policy id."""
        found: dict[str, str] = {}
        for item in self.raw.directory_role_definitions:
            role_id = str(item["id"]).lower()
            policy_id = DIRECTORY_ROLE_DEFINITION_PREFIX + role_id
            if policy_id in found.values():
                continue
            found[role_id] = policy_id
            if item.get("templateId"):
                found.setdefault(str(item["templateId"]).lower(), policy_id)
            self.out.policies.append(
                Policy(
                    id=policy_id,
                    cloud=Cloud.AZURE,
                    kind=PolicyKind.ENTRA_ROLE_DEFINITION,
                    name=str(item.get("displayName") or role_id),
                    scope_id=self.tenant,
                    document=dict(item),
                    native_id=str(item["id"]),
                    description=str(item["description"]) if item.get("description") else None,
                    attributes={
                        "templateId": str(item.get("templateId") or "").lower(),
                        "isBuiltIn": str(bool(item.get("isBuiltIn"))).lower(),
                    },
                )
            )
        return found

    def _directory_object(self, obj: dict[str, Any]) -> str:
        """The principal a Graph directory object (an owner, an expanded ``principal``) is. A user is
        named by its ``userPrincipalName`` (as role assignments name it), else, weakly, its display
        name; others by their display name. Untyped: as a role assignment's unknown principal."""
        kind = _GRAPH_KINDS.get(str(obj.get("@odata.type") or "").lower())
        upn, shown = obj.get("userPrincipalName"), obj.get("displayName")
        if kind is None:
            return self._named_principal(obj["id"], None, shown)
        if kind is PrincipalKind.AZURE_USER and upn:
            name, rank = str(upn), 2
        elif shown:
            name, rank = str(shown), 1 if kind is PrincipalKind.AZURE_USER else 2
        else:
            name, rank = None, 0
        return self._principal(obj["id"], kind, name=name, name_rank=rank, scope_id=self.tenant)

    def _graph_principal(self, item: dict[str, Any]) -> str:
        """The principal a Graph grant names: typed by its expanded ``principal`` when there is one."""
        expanded = item.get("principal")
        if isinstance(expanded, dict) and expanded.get("id"):
            return self._directory_object({**expanded, "id": item["principalId"]})
        return self._named_principal(item["principalId"], None)

    def _directory_grants(self, roles: dict[str, str]) -> None:
        """Active directory role assignments and PIM eligible ones, attached to their principals."""
        names = {p.id: p.name for p in self.out.policies if p.kind is PolicyKind.ENTRA_ROLE_DEFINITION}
        templates = {p.id: p.attributes.get("templateId", "") for p in self.out.policies if p.id in names}
        for eligible, items in (
            (False, self.raw.directory_role_assignments),
            (True, self.raw.directory_role_eligibilities),
        ):
            prefix = DIRECTORY_ELIGIBILITY_PREFIX if eligible else DIRECTORY_ASSIGNMENT_PREFIX
            seen: set[str] = set()
            for item in items:
                policy_id = prefix + str(item["id"])
                if policy_id in seen:
                    continue
                seen.add(policy_id)
                oid = self._graph_principal(item)
                role_ref = str(item["roleDefinitionId"]).lower()
                attributes = {
                    "principalId": oid,
                    "roleDefinitionId": role_ref,
                    "directoryScopeId": str(item.get("directoryScopeId") or ""),
                    "appScopeId": str(item.get("appScopeId") or ""),
                }
                definition = roles.get(role_ref)
                if definition is not None:
                    attributes |= {
                        "roleDefinitionPolicyId": definition,
                        "roleName": names[definition],
                        "roleTemplateId": templates[definition] or role_ref,
                    }
                else:
                    self._gap(
                        self.tenant,
                        "graph",
                        f"roleManagement.directory.roleDefinitions.get {role_ref}",
                        "directory role definition not in the inputs",
                        covers=(Covers.ENTRA_ROLES,),
                        target=role_ref,
                    )
                if eligible:
                    attributes |= _schedule_attributes(item)
                self.out.policies.append(
                    Policy(
                        id=policy_id,
                        cloud=Cloud.AZURE,
                        kind=PolicyKind.ENTRA_ELIGIBLE_ROLE_ASSIGNMENT
                        if eligible
                        else PolicyKind.ENTRA_DIRECTORY_ROLE_ASSIGNMENT,
                        name=f"{attributes.get('roleName', role_ref)} for {oid}",
                        scope_id=self.tenant,
                        document=dict(item),
                        native_id=str(item["id"]),
                        created=parse_time(item.get("createdDateTime")),
                        updated=parse_time(item.get("modifiedDateTime")),
                        attributes={k: v for k, v in attributes.items() if v},
                    )
                )
                self.out.attachments.append(Attachment(policy_id=policy_id, target_id=oid, kind=AttachmentKind.ENTRA))

    def _app_role_assignments(self) -> None:
        """App-role assignments (application permissions), attached to the principal holding them; the
        permission's name comes from the resource service principal's ``appRoles``."""
        resources = {str(sp["id"]).lower(): sp for sp in self.raw.service_principals}
        seen: set[str] = set()
        for item in self.raw.app_role_assignments:
            if item.get("deletedDateTime"):
                continue
            principal = str(item["principalId"]).lower()
            policy_id = f"{APP_ROLE_ASSIGNMENT_PREFIX}{principal}/approleassignments/{item['id']}"
            if policy_id in seen:
                continue
            seen.add(policy_id)
            oid = self._named_principal(
                item["principalId"], item.get("principalType"), item.get("principalDisplayName")
            )
            resource_id = str(item["resourceId"]).lower()
            role_id = str(item["appRoleId"]).lower()
            attributes = {
                "principalId": oid,
                "principalType": str(item.get("principalType") or ""),
                "resourceId": resource_id,
                "appRoleId": role_id,
            }
            resource = resources.get(resource_id)
            if resource is not None:
                attributes["resourceAppId"] = str(resource.get("appId") or "").lower()
                attributes["resourceDisplayName"] = str(resource.get("displayName") or "")
            if role_id == EVERYONE:
                attributes["defaultAccess"] = "true"  # access to the resource without a particular role
            else:
                role = next(
                    (r for r in (resource or {}).get("appRoles") or [] if str(r.get("id") or "").lower() == role_id),
                    None,
                )
                if role is not None and role.get("value"):
                    attributes["appRoleValue"] = str(role["value"])
                else:
                    what = "resource service principal" if resource is None else "app role of the resource"
                    self._gap(
                        self.tenant,
                        "graph",
                        f"servicePrincipals.get {resource_id} appRole {role_id}",
                        f"{what} not in the inputs: which permission app role {role_id} is, is unknown",
                        covers=(Covers.APP_ROLES,),
                        target=resource_id,
                    )
            on = attributes.get("resourceDisplayName") or resource_id
            self.out.policies.append(
                Policy(
                    id=policy_id,
                    cloud=Cloud.AZURE,
                    kind=PolicyKind.ENTRA_APP_ROLE_ASSIGNMENT,
                    name=f"{attributes.get('appRoleValue', role_id)} of {on}",
                    scope_id=self.tenant,
                    document=dict(item),
                    native_id=str(item["id"]),
                    created=parse_time(item.get("createdDateTime")),
                    attributes={k: v for k, v in attributes.items() if v},
                )
            )
            self.out.attachments.append(Attachment(policy_id=policy_id, target_id=oid, kind=AttachmentKind.ENTRA))

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
DIRECTORY_ROLE_DEFINITION_PREFIX = "/rolemanagement/directory/roledefinitions/"
DIRECTORY_ASSIGNMENT_PREFIX = "/rolemanagement/directory/roleassignments/"
DIRECTORY_ELIGIBILITY_PREFIX = "/rolemanagement/directory/roleeligibilityschedules/"
APP_ROLE_ASSIGNMENT_PREFIX = "/serviceprincipals/"
_WORKLOAD_KINDS = {
    "microsoft.compute/virtualmachines": WorkloadKind.AZURE_VM,
    "microsoft.compute/virtualmachinescalesets": WorkloadKind.AZURE_VM_SCALE_SET,
    "microsoft.automation/automationaccounts": WorkloadKind.AZURE_AUTOMATION_ACCOUNT,
    "microsoft.logic/workflows": WorkloadKind.AZURE_LOGIC_APP,
}
#: A flexible federated credential's one subject clause: ``claims['sub'] matches 'repo:acme/*'``.
_SUBJECT_CLAUSE = re.compile(r"claims\[\s*'sub'\s*\]\s+(matches|eq)\s+'([^']*)'")


def _subjects(cred: dict[str, Any]) -> tuple[tuple[str, ...] | None, str | None]:
    """``(subjects, condition)`` of a federated credential.

    A ``subject`` is matched exactly. A flexible credential's ``claimsMatchingExpression`` is kept as
    the condition; when it has exactly one ``claims['sub']`` clause, that clause gives the subject
    pattern (``matches``: ``*`` matches anything; ``eq``: exact) — any other clause narrows it
    further, which the condition says. Without such a clause the subject is not constrained in a way
    recorded here: ``None``, "any subject".
    """
    subject = cred.get("subject")
    if subject:
        return (str(subject),), None
    expression = cred.get("claimsMatchingExpression")
    text = str(expression.get("value") or "") if isinstance(expression, dict) else str(expression or "")
    if not text:
        return None, None
    clauses = _SUBJECT_CLAUSE.findall(text)
    if len(clauses) != 1:
        return None, text
    operator, pattern = clauses[0]
    if any(c in pattern for c in "?[]") or (operator == "eq" and "*" in pattern):
        return None, text
    return (pattern,), text


def _schedule_attributes(item: dict[str, Any]) -> dict[str, str]:
    """A Graph eligibility schedule's ``status``, ``memberType`` and window."""
    info: dict[str, Any] = item["scheduleInfo"] if isinstance(item.get("scheduleInfo"), dict) else {}
    expiration: dict[str, Any] = info["expiration"] if isinstance(info.get("expiration"), dict) else {}
    out = {
        "status": str(item.get("status") or ""),
        "memberType": str(item.get("memberType") or ""),
        "startDateTime": str(info.get("startDateTime") or ""),
        "expirationType": str(expiration.get("type") or ""),
        "endDateTime": str(expiration.get("endDateTime") or ""),
    }
    return {k: v for k, v in out.items() if v}


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


def tags_of(value: Any) -> dict[str, str]:
    """Tags as a dict: ARM tags are an object of strings; Microsoft Graph tags (service principals,
    applications) are a list of strings, each ``key:value`` or ``key=value`` split at the first
    separator, a bare word kept as a key with an empty value. Absent or null is empty."""
    if isinstance(value, dict):
        return {str(k): "" if v is None else str(v) for k, v in value.items()}
    if isinstance(value, list):
        out: dict[str, str] = {}
        for item in value:
            if not isinstance(item, str) or not item:
                continue
            cut = min((i for i in (item.find(":"), item.find("=")) if i > 0), default=-1)
            key, text = (item[:cut], item[cut + 1 :]) if cut > 0 else (item, "")
            out.setdefault(key.strip(), text.strip())
        return out
    return {}


def _workload_kind(resource_type: str, kind: str) -> WorkloadKind:
    rtype = resource_type.lower()
    if rtype in _WORKLOAD_KINDS:
        return _WORKLOAD_KINDS[rtype]
    if rtype in ("microsoft.web/sites", "microsoft.web/sites/slots"):
        return WorkloadKind.AZURE_FUNCTION if "functionapp" in kind.lower() else WorkloadKind.AZURE_APP_SERVICE
    return WorkloadKind.AZURE_RESOURCE
