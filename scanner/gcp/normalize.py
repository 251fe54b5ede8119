"""Raw Google Cloud answers -> model objects. Pure: no network, no clock, no files.

Ids (the contract with the simulator):

- Scopes: ``organizations/<number>``, ``folders/<number>``, ``projects/<projectId>`` (attribute
  ``projectNumber``). A project the inputs name only by number is resolved through the project lists
  (or ``search-all-iam-policies``); one that cannot be resolved keeps ``projects/<number>`` and a gap
  says so. Parents come from project / folder lists first, then Cloud Asset Inventory ``ancestors``.
- Principals: the IAM member string: ``serviceAccount:<email>``, ``user:<email>``, ``group:<email>``,
  ``domain:<d>``, ``allUsers`` / ``allAuthenticatedUsers``, workload identity pools as
  ``principalSet://iam.googleapis.com/<pool name>/*``, and every other ``principal://`` /
  ``principalSet://`` member of a pool as itself (attribute ``pool``). Members seen only in bindings
  are principals too (scope: a service account's project when its email names one, else the scope of
  the first binding naming them). ``deleted:`` members are not principals (they cannot act).
- Policies: ``<scope id>#iam-policy`` (GCP_BINDINGS, attached BINDING to the scope);
  ``serviceAccount:<email>#iam-policy`` (the SA's own policy, attached BINDING to the SA principal);
  ``<CAI resource name>#iam-policy`` for a resource below a project (attached BINDING to a
  :class:`Resource` whose id is the CAI name, e.g. ``//storage.googleapis.com/bucket``, kind
  ``storage:bucket``); roles by role name (GCP_ROLE; predefined ``roles/*`` have scope ``gcp``);
  deny policies by ``name`` (GCP_DENY, attached DENY to the scope decoded from the name).
  Documents are the native JSON, untouched. An allow policy without bindings grants nothing and is
  not recorded (the API returns one for every scope; asset exports leave it out).
- Credentials: user-managed keys by key ``name`` (SERVICE_ACCOUNT_KEY; never the key material);
  workload identity providers by provider ``name`` (FEDERATED on the pool principal), with a
  ``iam:workloadIdentityPoolProvider`` Resource of the same id holding the attribute condition and mapping.
- Workloads: Compute Engine instances by ``//compute.googleapis.com/projects/<p>/zones/<z>/instances/<name>``;
  Cloud Run services by ``//run.googleapis.com/projects/<p>/locations/<l>/services/<name>`` and Cloud
  Functions by ``//cloudfunctions.googleapis.com/projects/<p>/locations/<l>/functions/<name>``, each
  running as its service account, or when it names none as the project's default one (2nd gen
  functions and Cloud Run: ``<number>-compute@developer.gserviceaccount.com``; 1st gen functions:
  ``<projectId>@appspot.gserviceaccount.com``; attribute ``defaultServiceAccount``; a default that
  needs a project number the inputs lack is a gap). Cloud Build: the runs of a project's builds that
  name no service account, ``//cloudbuild.googleapis.com/projects/<p>/locations/<l>/builds``, running
  as its default build account (``gcloud builds get-default-service-account``; attribute
  ``legacyServiceAccount`` for ``<number>@cloudbuild.gserviceaccount.com``; an empty answer means
  builds run as no default account: no workload). Cloud Scheduler jobs,
  ``//cloudscheduler.googleapis.com/projects/<p>/locations/<l>/jobs/<j>``, whose HTTP target sends
  an OIDC (ID) token or an OAuth access token of a service account (attribute ``tokenType``
  ``oidc`` / ``oauth``, with ``oidcAudience`` or ``oauthScopes``); jobs that send no token run as
  no one and are no workloads. Cloud Composer environments,
  ``//composer.googleapis.com/projects/<p>/locations/<l>/environments/<e>``, running as
  ``config.nodeConfig.serviceAccount`` (the project's default compute account when unset). GKE
  node pools, ``//container.googleapis.com/projects/<p>/locations/<l>/clusters/<c>/nodePools/<np>``,
  running as ``config.serviceAccount`` (``default`` or unset: the default compute account; a pool
  without ``config`` takes the cluster's ``nodeConfig``), with ``oauthScopes`` as a VM keeps them
  (space-separated; absent when the input names none). GKE workload identity: each Kubernetes service
  account that a service account's own policy lets act as it (``roles/iam.workloadIdentityUser`` to
  ``serviceAccount:<p>.svc.id.goog[<ns>/<ksa>]``) is a workload with that member string as its id,
  running as every service account that grants it so.

Roles a binding names that the inputs do not define become a coverage gap (``roles.get <role>``), so
the simulator answers unknown for them rather than "grants nothing".
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from itertools import pairwise
from typing import Any

from models import (
    Attachment,
    AttachmentKind,
    Cloud,
    CoverageEntry,
    CoverageStatus,
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
from scanner.errors import BadInputError
from scanner.gcp import shapes
from scanner.gcp.raw import GcpRaw, JsonObject
from scanner.normalized import Normalized

PREDEFINED_ROLE_SCOPE = "gcp"
AWS_STS_ISSUER = "https://sts.amazonaws.com"
SCOPE_KINDS = {
    "organizations": ScopeKind.GCP_ORGANIZATION,
    "folders": ScopeKind.FOLDER,
    "projects": ScopeKind.PROJECT,
}
SIMPLE_MEMBERS = {
    "user": PrincipalKind.GCP_USER,
    "group": PrincipalKind.GCP_GROUP,
    "domain": PrincipalKind.GCP_DOMAIN,
    "serviceAccount": PrincipalKind.GCP_SERVICE_ACCOUNT,
}
#: Bucket ACL-style members: the owners / editors / viewers of a project, as a group.
CONVENIENCE_MEMBERS = ("projectOwner", "projectEditor", "projectViewer")
#: The scope of a Cloud Scheduler OAuth token that names none (documented default).
CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"


def normalize_gcp(raw: GcpRaw) -> Normalized:
    """Normalize one Google Cloud read. Raises :class:`BadInputError` for answers without the shape
    Google Cloud gives them (naming the object and field)."""
    try:
        return _Builder(raw).build()
    except shapes.ShapeError as exc:
        raise BadInputError(f"Google Cloud inputs ({raw.source}): {exc}") from exc
    except (KeyError, TypeError, AttributeError) as exc:
        what = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
        raise BadInputError(f"Google Cloud inputs ({raw.source}): not the shape Google Cloud returns ({what})") from exc


@dataclass
class _Builder:
    raw: GcpRaw
    out: Normalized = field(default_factory=Normalized)
    numbers: dict[str, str] = field(default_factory=dict)  # project number -> project id
    scopes: dict[str, dict[str, Any]] = field(default_factory=dict)
    principals: dict[str, Principal] = field(default_factory=dict)
    principal_attrs: dict[str, dict[str, str]] = field(default_factory=dict)
    role_users: dict[str, str] = field(default_factory=dict)  # role -> scope of the first binding naming it
    policy_docs: dict[str, JsonObject] = field(default_factory=dict)
    gaps: list[CoverageEntry] = field(default_factory=list)
    unresolved: set[str] = field(default_factory=set)
    member_of: dict[str, set[str]] = field(default_factory=dict)  # principal -> groups it is in (transitively)
    members_known: dict[str, bool] = field(default_factory=dict)  # group -> whether all its members were read

    def build(self) -> Normalized:
        raw = self.raw
        for project in raw.projects:
            self.numbers[str(project.get("projectNumber", ""))] = shapes.need_text(project, "projectId", "project")
        for number, project_id in raw.project_numbers.items():
            self.numbers.setdefault(number, project_id)
        self._hierarchy()
        self._service_accounts()
        self._pools()
        for key in sorted(raw.iam_policies, key=_scope_order):
            scope = self.scope_id(key)
            self._allow_policy(f"{scope}#iam-policy", scope, scope, raw.iam_policies[key], scope)
        self._sa_policies()
        self._resource_policies()
        self._roles()
        self._deny_policies()
        self._keys()
        self._providers()
        self._instances()
        self._run_services()
        self._functions()
        self._cloud_build()
        self._scheduler_jobs()
        self._composer_environments()
        self._node_pools()
        self._gke_service_accounts()
        self._group_memberships()
        self._finish()
        return self.out

    # --- scopes -------------------------------------------------------------------------------

    def scope_id(self, name: str) -> str:
        """``projects/<number>`` -> ``projects/<projectId>`` when known; other names unchanged."""
        kind, _, ident = name.partition("/")
        if kind == "projects" and ident.isdigit():
            if ident in self.numbers:
                return f"projects/{self.numbers[ident]}"
            self.unresolved.add(ident)
        return name

    def ensure_scope(self, scope_id: str, *, name: str | None = None, parent: str | None = None) -> str:
        kind = scope_id.partition("/")[0]
        if kind not in SCOPE_KINDS or not scope_id.partition("/")[2]:
            raise shapes.ShapeError(f"{scope_id!r} is not organizations/<n>, folders/<n> or projects/<id>")
        entry = self.scopes.setdefault(scope_id, {"name": None, "parent": None, "attributes": {}, "tags": {}})
        if name and not entry["name"]:
            entry["name"] = name
        if parent and not entry["parent"] and parent != scope_id:
            entry["parent"] = parent
        return scope_id

    def _hierarchy(self) -> None:
        raw = self.raw
        for org in raw.organizations:
            name = shapes.need_text(org, "name", "organization")
            self.ensure_scope(name, name=org.get("displayName"))
        for folder in raw.folders:
            name = shapes.need_text(folder, "name", "folder")
            parent = folder.get("parent")
            self.ensure_scope(name, name=folder.get("displayName"), parent=self.scope_id(parent) if parent else None)
        for project in raw.projects:
            scope = self.ensure_scope(
                f"projects/{project['projectId']}",
                name=project.get("name") or project.get("displayName"),
                parent=_project_parent(project.get("parent")),
            )
            if project.get("projectNumber"):
                self.scopes[scope]["attributes"]["projectNumber"] = str(project["projectNumber"])
            if project.get("lifecycleState"):
                self.scopes[scope]["attributes"]["lifecycleState"] = str(project["lifecycleState"])
            self.scopes[scope]["tags"].update(labels_of(project, f"projects[{project['projectId']}]"))
        for first in sorted(raw.ancestors):
            chain = [self.scope_id(a) for a in raw.ancestors[first] if a.partition("/")[0] in SCOPE_KINDS]
            for child, parent in pairwise(chain):
                self.ensure_scope(child, parent=parent)
            if chain:
                self.ensure_scope(chain[-1])
        for key in sorted(raw.ancestor_sets):
            scope = self.ensure_scope(self.scope_id(key))
            above = [self.ensure_scope(self.scope_id(a)) for a in raw.ancestor_sets[key]]
            self.scopes[scope]["attributes"]["ancestors"] = " ".join(dict.fromkeys(above))
        for number, project_id in self.numbers.items():
            if number and f"projects/{project_id}" in self.scopes:
                self.scopes[f"projects/{project_id}"]["attributes"].setdefault("projectNumber", number)

    def _parents_from_ancestor_sets(self) -> None:
        """A scope whose ancestors are known as a set (``ancestors`` attribute) but whose parent is
        not: its parent is the one folder of the set whose own known chain holds all the others
        (the organization when the set holds no folder)."""
        for entry in self.scopes.values():
            listed = entry["attributes"].get("ancestors")
            if entry["parent"] or not listed:
                continue
            above = listed.split()
            folders = {a for a in above if a.startswith("folders/")}
            if not folders:
                entry["parent"] = above[0] if above else None
                continue
            for folder in sorted(folders):
                if folders <= set(self._chain(folder)):
                    entry["parent"] = folder
                    break

    def _chain(self, scope: str) -> list[str]:
        out: list[str] = []
        current: str | None = scope
        while current and current not in out:
            out.append(current)
            parent = (self.scopes.get(current) or {}).get("parent")
            current = self.scope_id(parent) if parent else None
        return out

    # --- principals ---------------------------------------------------------------------------

    def add_principal(self, principal: Principal) -> None:
        self.principals.setdefault(principal.id, principal)

    def _service_accounts(self) -> None:
        for i, account in enumerate(self.raw.service_accounts):
            email = shapes.need_text(account, "email", f"serviceAccounts[{i}]")
            project = (
                account.get("projectId") or _sa_project(account.get("name", "")) or shapes.sa_project_from_email(email)
            )
            if not project:
                raise shapes.ShapeError(f"serviceAccounts[{i}] ({email}) names no project")
            attributes = {"displayName": str(account.get("displayName", ""))}
            if account.get("disabled"):
                attributes["disabled"] = "true"  # also for readers of snapshots before the typed field
            if account.get("description"):
                attributes["description"] = str(account["description"])
            self.add_principal(
                Principal(
                    id=f"serviceAccount:{email}",
                    cloud=Cloud.GCP,
                    kind=PrincipalKind.GCP_SERVICE_ACCOUNT,
                    name=email,
                    scope_id=self.ensure_scope(self.scope_id(f"projects/{project}")),
                    native_id=account.get("uniqueId"),
                    attributes=attributes,
                    disabled=bool(account.get("disabled")),
                )
            )

    def _pools(self) -> None:
        for i, pool in enumerate(self.raw.pools):
            name = shapes.need_text(pool, "name", f"workloadIdentityPools[{i}]")
            attributes = {"state": str(pool.get("state", ""))}
            if pool.get("displayName"):
                attributes["displayName"] = str(pool["displayName"])
            if pool.get("disabled"):
                attributes["disabled"] = "true"
            self._pool_principal(name, attributes)

    def _pool_principal(self, pool_name: str, attributes: dict[str, str] | None = None) -> str:
        """The pool as a principal (``principalSet://.../*``); a disabled or deleted pool (``disabled``,
        ``state`` ``DELETED``) admits no one."""
        match = shapes.POOL_NAME.match(pool_name)
        if not match:
            raise shapes.ShapeError(f"{pool_name!r} is not projects/<n>/locations/<l>/workloadIdentityPools/<pool>")
        principal_id = f"principalSet://iam.googleapis.com/{pool_name}/*"
        self.add_principal(
            Principal(
                id=principal_id,
                cloud=Cloud.GCP,
                kind=PrincipalKind.GCP_WORKLOAD_IDENTITY_POOL,
                name=match.group("pool"),
                scope_id=self.ensure_scope(self.scope_id(f"projects/{match.group('project')}")),
                native_id=pool_name,
                attributes={"pool": pool_name, **(attributes or {})},
                disabled=(attributes or {}).get("disabled") == "true",
                deleted=(attributes or {}).get("state") == "DELETED",
            )
        )
        return principal_id

    def member_principal(self, member: str, binding_scope: str) -> None:
        """Record the principal a binding member names (nothing for ``deleted:`` and unknown forms)."""
        if member in self.principals:
            return
        if member in ("allUsers", "allAuthenticatedUsers"):
            self._simple(member, PrincipalKind.GCP_ALL_USERS, member, binding_scope)
            return
        prefix, sep, value = member.partition(":")
        if sep and not value.startswith("//") and prefix in SIMPLE_MEMBERS:
            scope = binding_scope
            if prefix == "serviceAccount" and (project := shapes.sa_project_from_email(value)):
                scope = self.ensure_scope(self.scope_id(f"projects/{project}"))
            self._simple(member, SIMPLE_MEMBERS[prefix], value, scope)
        elif sep and prefix in CONVENIENCE_MEMBERS:
            self._simple(member, PrincipalKind.GCP_GROUP, member, binding_scope, {"convenience": "true"})
        elif member.startswith(("principal://", "principalSet://")):
            path = member.split("://", 1)[1]
            service, _, rest = path.partition("/")
            if service == "iam.googleapis.com" and (match := shapes.POOL_NAME.match(rest)):
                pool_name = match.group(0)
                if member != f"principalSet://iam.googleapis.com/{pool_name}/*":
                    pool_scope = self.ensure_scope(self.scope_id(f"projects/{match.group('project')}"))
                    self._simple(
                        member, PrincipalKind.GCP_WORKLOAD_IDENTITY_POOL, member, pool_scope, {"pool": pool_name}
                    )
                else:
                    self._pool_principal(pool_name)
            elif service == "iam.googleapis.com" and "/workforcePools/" in rest:
                pool = rest.split("/subject/")[0].split("/group/")[0].split("/attribute.")[0].rstrip("/*")
                self._simple(
                    member, PrincipalKind.GCP_WORKLOAD_IDENTITY_POOL, member, binding_scope, {"workforcePool": pool}
                )

    def _simple(
        self, member: str, kind: PrincipalKind, name: str, scope: str, attributes: dict[str, str] | None = None
    ) -> None:
        self.add_principal(
            Principal(id=member, cloud=Cloud.GCP, kind=kind, name=name, scope_id=scope, attributes=attributes or {})
        )

    # --- allow policies -----------------------------------------------------------------------

    def _allow_policy(self, policy_id: str, scope: str, target: str, document: JsonObject, binding_scope: str) -> None:
        shapes.check_iam_policy(document, policy_id)
        if not document.get("bindings"):  # grants nothing; the read itself is in the coverage
            return
        if policy_id in self.policy_docs:
            if _bindings_key(self.policy_docs[policy_id]) != _bindings_key(document):
                raise shapes.ShapeError(f"the inputs hold two different IAM policies for {target}")
            return
        self.policy_docs[policy_id] = document
        if scope.partition("/")[0] in SCOPE_KINDS:
            self.ensure_scope(scope)
        for binding in document.get("bindings", []):
            self.role_users.setdefault(binding["role"], binding_scope)
            for member in binding["members"]:
                self.member_principal(member, binding_scope)
        self.out.policies.append(
            Policy(
                id=policy_id,
                cloud=Cloud.GCP,
                kind=PolicyKind.GCP_BINDINGS,
                name=f"IAM policy of {target}",
                scope_id=scope,
                document=document,
                attributes={"etag": str(document["etag"])} if document.get("etag") else {},
            )
        )
        self.out.attachments.append(Attachment(policy_id=policy_id, target_id=target, kind=AttachmentKind.BINDING))

    def sa_policy_owners(self) -> list[tuple[str, str | None]]:
        """Each service-account policy's key (an email, or a unique id as CAI names it) and the
        account's email (``None`` when no service account list names that unique id)."""
        by_unique_id = {str(a.get("uniqueId")): a["email"] for a in self.raw.service_accounts if a.get("uniqueId")}
        return [(key, key if "@" in key else by_unique_id.get(key)) for key in sorted(self.raw.sa_policies)]

    def _sa_policies(self) -> None:
        for key, email in self.sa_policy_owners():
            if email is None:
                self.gap(
                    "gcp",
                    "iam",
                    f"serviceAccounts.getIamPolicy {key}",
                    f"the IAM policy of service account {key} (unique id) was read, but no service account list "
                    "names it; add `gcloud iam service-accounts list --format=json`",
                )
                continue
            principal_id = f"serviceAccount:{email}"
            self.member_principal(principal_id, "gcp")
            scope = self.principals[principal_id].scope_id
            self._allow_policy(f"{principal_id}#iam-policy", scope, principal_id, self.raw.sa_policies[key], scope)

    def _resource_policies(self) -> None:
        for i, asset in enumerate(self.raw.resource_policies):
            name = shapes.need_text(asset, "name", f"resourcePolicies[{i}]")
            asset_type = shapes.need_text(asset, "assetType", name)
            chain = [self.scope_id(a) for a in asset.get("ancestors", []) if a.partition("/")[0] in SCOPE_KINDS]
            scope = chain[0] if chain else "gcp"
            if chain:
                self.ensure_scope(scope)
            service, _, type_name = asset_type.partition("/")
            self.out.resources.append(
                Resource(
                    id=name,
                    cloud=Cloud.GCP,
                    kind=f"{service.split('.')[0]}:{type_name[:1].lower()}{type_name[1:]}",
                    name=name.rstrip("/").rsplit("/", 1)[-1],
                    scope_id=scope,
                    attributes={"assetType": asset_type},
                )
            )
            self._allow_policy(f"{name}#iam-policy", scope, name, asset["iamPolicy"], scope)

    # --- roles and deny policies --------------------------------------------------------------

    def _roles(self) -> None:
        for name in sorted(self.raw.roles):
            role = self.raw.roles[name]
            shapes.need_list(role, "includedPermissions", f"role {name}", optional=True)
            owner = name.rsplit("/roles/", 1)[0] if "/roles/" in name else PREDEFINED_ROLE_SCOPE
            if owner != PREDEFINED_ROLE_SCOPE:
                self.ensure_scope(self.scope_id(owner))
            attributes = {"stage": str(role.get("stage", ""))}
            if role.get("deleted"):
                attributes["deleted"] = "true"
            # RoleLaunchStage DISABLED: the role "will not contribute permissions to any principals
            # it is granted to"; a deleted custom role's bindings stay but grant nothing.
            disabled = str(role.get("stage", "")).upper() == "DISABLED"
            self.out.policies.append(
                Policy(
                    id=name,
                    cloud=Cloud.GCP,
                    kind=PolicyKind.GCP_ROLE,
                    name=str(role.get("title") or name),
                    scope_id=self.scope_id(owner) if owner != PREDEFINED_ROLE_SCOPE else owner,
                    document=role,
                    description=role.get("description"),
                    attributes=attributes,
                    disabled=disabled,
                    deleted=bool(role.get("deleted")),
                )
            )
        for role_name, scope in self.role_users.items():
            if role_name in self.raw.roles:
                continue
            detail = "role not in the inputs"
            if role_name in self.raw.listed_roles:
                detail = (
                    f"role not in the inputs with its permissions: {self.raw.listed_roles[role_name]} lists it "
                    f"without includedPermissions (no --view=FULL); add `gcloud iam roles describe {role_name} "
                    "--format=json`"
                )
            self.gap(scope, "iam", f"roles.get {role_name}", detail)

    def _deny_policies(self) -> None:
        for i, policy in enumerate(self.raw.deny_policies):
            shapes.check_deny_policy(policy, f"denyPolicies[{i}]")
            scope = self.ensure_scope(self.scope_id(shapes.deny_attachment_scope(policy["name"])))
            self.out.policies.append(
                Policy(
                    id=policy["name"],
                    cloud=Cloud.GCP,
                    kind=PolicyKind.GCP_DENY,
                    name=str(policy.get("displayName") or policy["name"].rsplit("/", 1)[-1]),
                    scope_id=scope,
                    document=policy,
                    native_id=policy.get("uid"),
                    created=shapes.parse_time(policy.get("createTime"), f"{policy['name']}.createTime"),
                    updated=shapes.parse_time(policy.get("updateTime"), f"{policy['name']}.updateTime"),
                )
            )
            self.out.attachments.append(Attachment(policy_id=policy["name"], target_id=scope, kind=AttachmentKind.DENY))

    # --- credentials --------------------------------------------------------------------------

    def _keys(self) -> None:
        for email in sorted(self.raw.keys):
            principal_id = f"serviceAccount:{email}"
            system = user = 0
            for i, key in enumerate(self.raw.keys[email]):
                where = f"keys of {email}[{i}]"
                name = shapes.need_text(key, "name", where)
                match = shapes.KEY_NAME.match(name)
                if not match:
                    raise shapes.ShapeError(f"{where}.name {name!r} is not projects/<p>/serviceAccounts/<sa>/keys/<id>")
                if principal_id not in self.principals:
                    project = match["project"] if match["project"] != "-" else shapes.sa_project_from_email(email)
                    self.member_principal(principal_id, self.ensure_scope(self.scope_id(f"projects/{project}")))
                if key.get("keyType") == "SYSTEM_MANAGED":
                    system += 1
                    continue
                user += 1
                expires = shapes.parse_time(key.get("validBeforeTime"), f"{where}.validBeforeTime")
                self.out.credentials.append(
                    Credential(
                        id=name,
                        principal_id=principal_id,
                        kind=CredentialKind.SERVICE_ACCOUNT_KEY,
                        active=not key.get("disabled", False),
                        key_id=match.group("key"),
                        created=shapes.parse_time(key.get("validAfterTime"), f"{where}.validAfterTime"),
                        expires=None if expires is None or expires.year == shapes.NEVER_YEAR else expires,
                    )
                )
            attrs = self.principal_attrs.setdefault(principal_id, {})
            attrs["systemManagedKeys"] = str(system)
            attrs["userManagedKeys"] = str(user)

    def _providers(self) -> None:
        for i, provider in enumerate(self.raw.providers):
            name = shapes.need_text(provider, "name", f"workloadIdentityPoolProviders[{i}]")
            match = shapes.PROVIDER_NAME.match(name)
            if not match:
                raise shapes.ShapeError(f"provider name {name!r} is not <pool name>/providers/<id>")
            pool_id = self._pool_principal(match.group("pool"))
            mapping = provider.get("attributeMapping") or {}
            attributes = {
                "state": str(provider.get("state", "")),
                "attributeCondition": str(provider.get("attributeCondition", "")),
                "attributeMapping": json.dumps(mapping, sort_keys=True),
            }
            issuer: str | None = None
            audiences: tuple[str, ...] = ()
            if isinstance(provider.get("oidc"), dict):
                issuer = shapes.need_text(provider["oidc"], "issuerUri", f"{name}.oidc")
                audiences = tuple(provider["oidc"].get("allowedAudiences") or ())
                if not audiences:  # the documented default: the provider's own resource name
                    audiences = (f"//iam.googleapis.com/{name}", f"https://iam.googleapis.com/{name}")
                attributes["protocol"] = "oidc"
            elif isinstance(provider.get("aws"), dict):
                account = shapes.need_text(provider["aws"], "accountId", f"{name}.aws")
                issuer, audiences = AWS_STS_ISSUER, (account,)
                attributes["awsAccountId"] = account
                attributes["protocol"] = "aws"
            elif isinstance(provider.get("saml"), dict):
                attributes["protocol"] = "saml"
            else:
                raise shapes.ShapeError(f"{name} has none of oidc, aws, saml")
            if provider.get("disabled"):
                attributes["disabled"] = "true"
            scope = self.principals[pool_id].scope_id
            self.out.resources.append(
                Resource(
                    id=name,
                    cloud=Cloud.GCP,
                    kind="iam:workloadIdentityPoolProvider",
                    name=match.group("provider"),
                    scope_id=scope,
                    attributes=attributes,
                )
            )
            if issuer is None:  # SAML: the issuer is inside the IdP metadata XML, which is not parsed here
                continue
            self.out.credentials.append(
                Credential(
                    id=name,
                    principal_id=pool_id,
                    kind=CredentialKind.FEDERATED,
                    active=provider.get("state", "ACTIVE") == "ACTIVE" and not provider.get("disabled", False),
                    issuer=issuer,
                    subjects=None,
                    audiences=audiences,
                )
            )

    # --- workloads ----------------------------------------------------------------------------

    def _instances(self) -> None:
        for i, instance in enumerate(self.raw.instances):
            where = f"instances[{i}]"
            name = shapes.need_text(instance, "name", where)
            zone_url = shapes.need_text(instance, "zone", where)
            match = shapes.ZONE_URL.search(zone_url)
            if not match:
                raise shapes.ShapeError(f"{where}.zone {zone_url!r} is not .../projects/<p>/zones/<z>")
            emails = [
                shapes.need_text(sa, "email", f"{where}.serviceAccounts[{j}]")
                for j, sa in enumerate(instance.get("serviceAccounts") or [])
            ]
            if not emails:
                continue
            scope = self.ensure_scope(self.scope_id(f"projects/{match['project']}"))
            principal_ids = tuple(f"serviceAccount:{e}" for e in emails)
            for principal_id in principal_ids:
                self.member_principal(principal_id, scope)
            scopes = sorted({s for sa in instance["serviceAccounts"] for s in sa.get("scopes") or ()})
            self.out.workloads.append(
                Workload(
                    id=f"//compute.googleapis.com/projects/{match['project']}/zones/{match['zone']}/instances/{name}",
                    cloud=Cloud.GCP,
                    kind=WorkloadKind.GCE_INSTANCE,
                    name=name,
                    scope_id=scope,
                    principal_ids=principal_ids,
                    region=match.group("zone"),
                    attributes={
                        "instanceId": str(instance.get("id", "")),
                        "status": str(instance.get("status", "")),
                        "oauthScopes": " ".join(scopes),
                    },
                    tags=labels_of(instance, where),
                )
            )

    def default_account(self, project: str, flavour: str, what: str) -> str | None:
        """The default service account ``flavour`` (``compute`` or ``appspot``) of ``project`` (id or
        number); ``None``, with a gap naming ``what``, when the inputs lack the number or id it needs."""
        numbers = {pid: number for number, pid in self.numbers.items()}
        project_id = self.numbers.get(project) if project.isdigit() else project
        number = project if project.isdigit() else numbers.get(project)
        if flavour == "compute" and number:
            return f"serviceAccount:{number}-compute@developer.gserviceaccount.com"
        if flavour == "appspot" and project_id:
            return f"serviceAccount:{project_id}@appspot.gserviceaccount.com"
        needed = "number" if flavour == "compute" else "id"
        self.gap(
            self.scope_id(f"projects/{project}"),
            "iam",
            f"default service account of {what}",
            f"{what} names no service account, so it runs as the project's default one, whose email needs the "
            f"project {needed}; add `gcloud projects list --format=json`",
        )
        return None

    def _workload(
        self,
        ident: str,
        kind: WorkloadKind,
        name: str,
        project: str,
        location: str,
        principal: str,
        attrs: JsonObject,
        labels: dict[str, str] | None = None,
    ) -> None:
        if any(w.id == ident for w in self.out.workloads):
            return  # the same service in both of its export shapes
        scope = self.ensure_scope(self.scope_id(f"projects/{project}"))
        self.member_principal(principal, scope)
        self.out.workloads.append(
            Workload(
                id=ident,
                cloud=Cloud.GCP,
                kind=kind,
                name=name,
                scope_id=scope,
                principal_ids=(principal,),
                region=location,
                attributes={k: str(v) for k, v in attrs.items() if v not in (None, "")},
                tags=dict(labels or {}),
            )
        )

    def _run_services(self) -> None:
        """Cloud Run services: Admin API v2 objects, or Knative v1 objects (``gcloud run services list``)."""
        for i, service in enumerate(self.raw.run_services):
            where = f"runServices[{i}]"
            if service.get("apiVersion") == shapes.KNATIVE_SERVICE:
                meta = service.get("metadata") or {}
                name = shapes.need_text(meta, "name", f"{where}.metadata")
                project = shapes.need_text(meta, "namespace", f"{where}.metadata")
                location = str((meta.get("labels") or {}).get("cloud.googleapis.com/location") or "")
                spec = ((service.get("spec") or {}).get("template") or {}).get("spec") or {}
                email = spec.get("serviceAccountName")
                attrs = {"url": (service.get("status") or {}).get("url")}
                labels = user_labels(labels_of(meta, f"{where}.metadata"))
            else:
                full = shapes.need_text(service, "name", where)
                match = shapes.RUN_SERVICE_NAME.match(full)
                if not match:
                    raise shapes.ShapeError(f"{where}.name {full!r} is not projects/<p>/locations/<l>/services/<s>")
                name, project, location = match["name"], match["project"], match["location"]
                email = (service.get("template") or {}).get("serviceAccount")
                attrs = {"url": service.get("uri"), "ingress": service.get("ingress")}
                labels = user_labels(labels_of(service, where))
            project = self.scope_id(f"projects/{project}").partition("/")[2]
            ident = f"//run.googleapis.com/projects/{project}/locations/{location}/services/{name}"
            principal = f"serviceAccount:{email}" if email else self.default_account(project, "compute", ident)
            if principal is None:
                continue
            attrs["defaultServiceAccount"] = "" if email else "true"
            self._workload(ident, WorkloadKind.CLOUD_RUN_SERVICE, name, project, location, principal, attrs, labels)

    def _functions(self) -> None:
        """Cloud Functions: v2 objects (``environment`` GEN_1 or GEN_2) or v1 objects (1st gen)."""
        for i, function in enumerate(self.raw.functions):
            where = f"functions[{i}]"
            full = shapes.need_text(function, "name", where)
            match = shapes.FUNCTION_NAME.match(full)
            if not match:
                raise shapes.ShapeError(f"{where}.name {full!r} is not projects/<p>/locations/<l>/functions/<f>")
            config = function.get("serviceConfig")
            if isinstance(config, dict):  # v2
                generation = str(function.get("environment") or "GEN_2")
                email, url = config.get("serviceAccountEmail"), config.get("uri") or function.get("url")
            else:
                generation = "GEN_1"
                email, url = function.get("serviceAccountEmail"), (function.get("httpsTrigger") or {}).get("url")
            project = self.scope_id(f"projects/{match['project']}").partition("/")[2]
            location = match["location"]
            ident = f"//cloudfunctions.googleapis.com/projects/{project}/locations/{location}/functions/{match['name']}"
            flavour = "appspot" if generation == "GEN_1" else "compute"
            principal = f"serviceAccount:{email}" if email else self.default_account(project, flavour, ident)
            if principal is None:
                continue
            attrs = {
                "generation": generation,
                "url": url,
                "state": function.get("state") or function.get("status"),
                "defaultServiceAccount": "" if email else "true",
            }
            labels = user_labels(labels_of(function, where))
            self._workload(
                ident, WorkloadKind.CLOUD_FUNCTION, match["name"], project, location, principal, attrs, labels
            )

    def _cloud_build(self) -> None:
        """The default service account of each project's builds (``getDefaultServiceAccount``)."""
        for i, setting in enumerate(self.raw.build_accounts):
            where = f"buildDefaultServiceAccounts[{i}]"
            full = shapes.need_text(setting, "name", where)
            match = shapes.BUILD_ACCOUNT_NAME.match(full)
            if not match:
                raise shapes.ShapeError(
                    f"{where}.name {full!r} is not projects/<p>/locations/<l>/defaultServiceAccount"
                )
            value = setting.get("serviceAccountEmail")
            if not isinstance(value, str):
                raise shapes.ShapeError(f"{where}.serviceAccountEmail is missing or not a string")
            if not value:
                continue  # no default: each build must name its account (actAs), nothing runs as one by default
            email = shapes.BUILD_ACCOUNT_EMAIL.match(value)
            if not email:
                raise shapes.ShapeError(f"{where}.serviceAccountEmail {value!r} is not an email or a SA name")
            project = self.scope_id(f"projects/{match['project']}").partition("/")[2]
            location = match["location"]
            ident = f"//cloudbuild.googleapis.com/projects/{project}/locations/{location}/builds"
            legacy = bool(shapes.LEGACY_BUILD_ACCOUNT.match(email["email"]))
            attrs = {"legacyServiceAccount": "true" if legacy else ""}
            principal = f"serviceAccount:{email['email']}"
            name = f"{project}/{location}"
            self._workload(ident, WorkloadKind.CLOUD_BUILD, name, project, location, principal, attrs)

    def _scheduler_jobs(self) -> None:
        """Cloud Scheduler jobs whose HTTP target authenticates as a service account."""
        for i, job in enumerate(self.raw.scheduler_jobs):
            where = f"schedulerJobs[{i}]"
            full = shapes.need_text(job, "name", where)
            match = shapes.SCHEDULER_JOB_NAME.match(full)
            if not match:
                raise shapes.ShapeError(f"{where}.name {full!r} is not projects/<p>/locations/<l>/jobs/<j>")
            target = job.get("httpTarget") or {}
            if not isinstance(target, dict):
                raise shapes.ShapeError(f"{where}.httpTarget must be a JSON object")
            attrs: JsonObject = {
                "targetUri": target.get("uri"),
                "httpMethod": target.get("httpMethod"),
                "schedule": job.get("schedule"),
                "state": job.get("state"),
            }
            if isinstance(target.get("oidcToken"), dict):
                token = target["oidcToken"]
                # the documented default audience is the target's URI
                attrs.update(tokenType="oidc", oidcAudience=token.get("audience") or target.get("uri"))
            elif isinstance(target.get("oauthToken"), dict):
                token = target["oauthToken"]
                attrs.update(tokenType="oauth", oauthScopes=token.get("scope") or CLOUD_PLATFORM_SCOPE)
            else:
                continue  # Pub/Sub and App Engine targets, and HTTP targets without a token: no identity
            email = shapes.need_text(token, "serviceAccountEmail", f"{where}.httpTarget.{attrs['tokenType']}Token")
            project = self.scope_id(f"projects/{match['project']}").partition("/")[2]
            location = match["location"]
            ident = f"//cloudscheduler.googleapis.com/projects/{project}/locations/{location}/jobs/{match['name']}"
            principal = f"serviceAccount:{email}"
            self._workload(ident, WorkloadKind.CLOUD_SCHEDULER_JOB, match["name"], project, location, principal, attrs)

    def _composer_environments(self) -> None:
        for i, environment in enumerate(self.raw.composer_environments):
            where = f"composerEnvironments[{i}]"
            full = shapes.need_text(environment, "name", where)
            match = shapes.COMPOSER_NAME.match(full)
            if not match:
                raise shapes.ShapeError(f"{where}.name {full!r} is not projects/<p>/locations/<l>/environments/<e>")
            config = environment.get("config") or {}
            node = config.get("nodeConfig") or {}
            if not isinstance(config, dict) or not isinstance(node, dict):
                raise shapes.ShapeError(f"{where}.config.nodeConfig must be a JSON object")
            project = self.scope_id(f"projects/{match['project']}").partition("/")[2]
            location = match["location"]
            ident = f"//composer.googleapis.com/projects/{project}/locations/{location}/environments/{match['name']}"
            email = node.get("serviceAccount")
            principal = f"serviceAccount:{email}" if email else self.default_account(project, "compute", ident)
            if principal is None:
                continue
            attrs = {
                "state": environment.get("state"),
                "imageVersion": (config.get("softwareConfig") or {}).get("imageVersion"),
                "gkeCluster": config.get("gkeCluster"),
                "oauthScopes": " ".join(sorted(_strings(node.get("oauthScopes"), f"{where}.config.nodeConfig"))),
                "defaultServiceAccount": "" if email else "true",
            }
            labels = labels_of(environment, where)
            self._workload(
                ident, WorkloadKind.COMPOSER_ENVIRONMENT, match["name"], project, location, principal, attrs, labels
            )

    def _node_pools(self) -> None:
        """GKE node pools: each node runs as its pool's service account, with its pool's access scopes."""
        for i, cluster in enumerate(self.raw.clusters):
            where = f"clusters[{i}]"
            link = shapes.need_text(cluster, "selfLink", where)
            match = shapes.CLUSTER_URL.match(link)
            if not match:
                raise shapes.ShapeError(f"{where}.selfLink {link!r} is not .../projects/<p>/locations/<l>/clusters/<c>")
            project = self.scope_id(f"projects/{match['project']}").partition("/")[2]
            location = str(cluster.get("location") or match["location"])
            base = f"//container.googleapis.com/projects/{project}/locations/{location}/clusters/{match['name']}"
            fallback = cluster.get("nodeConfig") or {}
            workload_pool = ((cluster.get("workloadIdentityConfig") or {}).get("workloadPool")) or ""
            cluster_labels = labels_of(cluster, where, "resourceLabels")
            for j, pool in enumerate(cluster.get("nodePools") or []):
                at = f"{where}.nodePools[{j}]"
                pool_name = shapes.need_text(pool, "name", at)
                config = pool.get("config") or fallback
                if not isinstance(config, dict):
                    raise shapes.ShapeError(f"{at}.config must be a JSON object")
                ident = f"{base}/nodePools/{pool_name}"
                account = config.get("serviceAccount")
                default = not account or account == "default"
                principal = self.default_account(project, "compute", ident) if default else f"serviceAccount:{account}"
                if principal is None:
                    continue
                attrs = {
                    "cluster": match["name"],
                    "nodePool": pool_name,
                    "status": pool.get("status"),
                    "oauthScopes": " ".join(sorted(_strings(config.get("oauthScopes"), f"{at}.config"))),
                    "defaultServiceAccount": "true" if default else "",
                    "workloadMetadataMode": (config.get("workloadMetadataConfig") or {}).get("mode"),
                    "workloadPool": workload_pool,
                }
                name = f"{match['name']}/{pool_name}"
                self._workload(
                    ident, WorkloadKind.GKE_NODE_POOL, name, project, location, principal, attrs, cluster_labels
                )

    def _gke_service_accounts(self) -> None:
        """Kubernetes service accounts allowed to act as a service account (workload identity)."""
        runs_as: dict[str, list[str]] = {}
        conditional: set[str] = set()
        for key, email in self.sa_policy_owners():
            if email is None:
                continue  # a gap already (see _sa_policies)
            for binding in self.raw.sa_policies[key].get("bindings") or []:
                if not isinstance(binding, dict) or binding.get("role") != "roles/iam.workloadIdentityUser":
                    continue
                for member in binding.get("members") or []:
                    if isinstance(member, str) and shapes.GKE_MEMBER.match(member):
                        accounts = runs_as.setdefault(member, [])
                        if f"serviceAccount:{email}" not in accounts:
                            accounts.append(f"serviceAccount:{email}")
                        if binding.get("condition"):
                            conditional.add(member)
        for member, accounts in sorted(runs_as.items()):
            match = shapes.GKE_MEMBER.match(member)
            assert match is not None
            scope = self.ensure_scope(self.scope_id(f"projects/{match['project']}"))
            self.member_principal(member, scope)
            for account in accounts:
                self.member_principal(account, scope)
            self.out.workloads.append(
                Workload(
                    id=member,
                    cloud=Cloud.GCP,
                    kind=WorkloadKind.GKE_SERVICE_ACCOUNT,
                    name=f"{match['namespace']}/{match['name']}",
                    scope_id=scope,
                    principal_ids=tuple(accounts),
                    attributes={
                        "workloadPool": match["pool"],
                        "namespace": match["namespace"],
                        "kubernetesServiceAccount": match["name"],
                        **({"conditional": "true"} if member in conditional else {}),
                    },
                )
            )

    def _group_memberships(self) -> None:
        """Members of the groups the inputs name, transitively. A group is ``membersKnown`` when its
        memberships were read, every member's type is known, and so are those of the groups in it."""
        emails: dict[str, str] = {}
        for i, described in enumerate(self.raw.groups):
            emails[shapes.need_text(described, "name", f"groups[{i}]")] = shapes.need_text(
                described.get("groupKey"), "id", f"groups[{i}].groupKey"
            )
        direct: dict[str, list[str]] = {}
        complete: dict[str, bool] = {}
        for name, memberships in sorted(self.raw.memberships.items()):
            if name not in emails:
                self.gap(
                    "gcp",
                    "cloudidentity",
                    f"groups.describe {name}",
                    f"memberships of {name} were read but no group description names its email; add "
                    "`gcloud identity groups describe EMAIL --format=json`",
                )
                continue
            group = f"group:{emails[name]}"
            direct[group], complete[group] = [], True
            for j, membership in enumerate(memberships):
                key = shapes.need_text(membership.get("preferredMemberKey"), "id", f"{name} memberships[{j}]")
                prefix = shapes.MEMBER_TYPES.get(str(membership.get("type") or ""))
                if prefix is None:  # a shared drive, "OTHER", or no type: cannot be matched to a member
                    complete[group] = False
                    continue
                direct[group].append(f"{prefix}:{key}")

        def expand(group: str, path: frozenset[str]) -> tuple[set[str], bool]:
            if group not in direct:
                return set(), False
            members, known = set(direct[group]), complete[group]
            for member in direct[group]:
                if member.startswith("group:") and member not in path:
                    inner, inner_known = expand(member, path | {group})
                    members |= inner
                    known = known and inner_known
            return members, known

        for group in sorted(direct):
            members, known = expand(group, frozenset())
            if group not in self.principals:
                self._simple(group, PrincipalKind.GCP_GROUP, group.split(":", 1)[1], "gcp")
            scope = self.principals[group].scope_id
            for member in sorted(members - {group}):
                self.member_principal(member, scope)
                self.member_of.setdefault(member, set()).add(group)
            self.principal_attrs.setdefault(group, {})["membersKnown"] = "true" if known else "false"
            self.members_known[group] = known

    # --- output -------------------------------------------------------------------------------

    def gap(self, scope_id: str, service: str, operation: str, detail: str) -> None:
        """A gap the inputs leave; an operation ``VERB OBJECT`` is about that object (``target``)."""
        if any(e.operation == operation for e in (*self.raw.coverage, *self.gaps)):
            return
        verb, _, target = operation.partition(" ")
        self.gaps.append(
            CoverageEntry(
                scope_id=scope_id,
                source=self.raw.source,
                service=service,
                operation=operation,
                status=CoverageStatus.ERROR,
                detail=detail,
                cloud=Cloud.GCP,
                covers=shapes.covers_of(service, operation),
                target=None if verb == "default" else target or None,
            )
        )

    def _finish(self) -> None:
        for number in sorted(self.unresolved):
            if number not in self.numbers:
                self.gap(
                    f"projects/{number}",
                    "cloudresourcemanager",
                    f"projects.get projects/{number}",
                    f"project number {number} has no project id in the inputs, so its scope id stays "
                    f"projects/{number}; add `gcloud projects list --format=json`",
                )
        self._parents_from_ancestor_sets()
        for scope_id, entry in self.scopes.items():
            parent = entry["parent"]
            if parent:
                parent = self.scope_id(parent)
            self.out.scopes.append(
                Scope(
                    id=scope_id,
                    cloud=Cloud.GCP,
                    kind=SCOPE_KINDS[scope_id.partition("/")[0]],
                    name=str(entry["name"] or scope_id.partition("/")[2]),
                    parent_id=parent,
                    attributes=dict(entry["attributes"]),
                    tags=dict(entry["tags"]),
                )
            )
        for principal_id, principal in self.principals.items():
            if principal_id in self.member_of:
                groups = tuple(sorted(set(principal.member_of) | self.member_of[principal_id]))
                principal = replace(principal, member_of=groups)
            extra = self.principal_attrs.get(principal_id)
            if extra:
                principal = _with_attributes(principal, extra)
            if principal_id in self.members_known:
                principal = replace(principal, members_known=self.members_known[principal_id])
            self.out.principals.append(principal)
        self.out.coverage.extend(self.raw.coverage)
        self.out.coverage.extend(self.gaps)


def _strings(value: Any, where: str) -> list[str]:
    """A list of strings (``oauthScopes``); absent is empty."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise shapes.ShapeError(f"{where}.oauthScopes must be a list of strings")
    return value


def labels_of(obj: Any, where: str, key: str = "labels") -> dict[str, str]:
    """A resource's labels (``labels``: projects, instances, Cloud Run, functions, Composer;
    ``resourceLabels``: GKE clusters), key to value; absent is empty."""
    value = obj.get(key) if isinstance(obj, dict) else None
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise shapes.ShapeError(f"{where}.{key} must be a JSON object of strings")
    return {str(k): str(v) for k, v in value.items()}


def user_labels(labels: dict[str, str]) -> dict[str, str]:
    """Labels without the ones Google Cloud sets itself (``cloud.googleapis.com/location``,
    ``goog-...``, ``run.googleapis.com/...``): keys with a ``googleapis.com/`` prefix or ``goog-``."""
    return {k: v for k, v in labels.items() if "googleapis.com/" not in k and not k.startswith("goog-")}


def _with_attributes(principal: Principal, extra: dict[str, str]) -> Principal:
    return replace(principal, attributes={**principal.attributes, **extra})


def _project_parent(parent: Any) -> str | None:
    """``{"type": "folder", "id": "45"}`` (gcloud) or ``"folders/45"`` (Resource Manager v3) -> ``folders/45``."""
    if isinstance(parent, str) and parent:
        return parent
    if isinstance(parent, dict) and parent.get("type") and parent.get("id"):
        kind = {"organization": "organizations", "folder": "folders"}.get(str(parent["type"]))
        if kind is None:
            raise shapes.ShapeError(f"project parent type {parent['type']!r} is not organization or folder")
        return f"{kind}/{parent['id']}"
    return None


def _sa_project(name: str) -> str | None:
    match = shapes.SA_NAME.match(name)
    return match.group("project") if match and match.group("project") != "-" else None


def _scope_order(name: str) -> tuple[int, str]:
    return (list(SCOPE_KINDS).index(name.partition("/")[0]) if name.partition("/")[0] in SCOPE_KINDS else 9, name)


def _bindings_key(document: JsonObject) -> str:
    bindings = [
        {**b, "members": sorted(b.get("members", []))} for b in document.get("bindings", []) if isinstance(b, dict)
    ]
    return json.dumps(sorted(bindings, key=lambda b: json.dumps(b, sort_keys=True)), sort_keys=True)
