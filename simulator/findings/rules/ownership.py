"""``ownership``: non-human identities that nobody owns, and who owns what.

A **non-human identity** (NHI) here is an identity that software, not a person, signs in as: an
AWS role (not service-linked: AWS owns those) or an AWS user that authenticates by access keys
only (a machine user: access keys and no console password, or an IAM path starting
``/service/``); a Google Cloud service account; an Azure service principal of the tenant's own
applications (first-party ones, whose application lives in another tenant such as Microsoft's,
are not the tenant's to own) or a managed identity. Humans and groups are not NHIs. Disabled
and deleted identities are left out: they can do nothing.

An NHI's **owner** is, first match wins, for each key of ``settings.owner_keys`` in order:

1. the identity's own tag / label with that key;
2. a tag / label of a workload that runs as it (workloads in id order);
3. a tag / label of the scope it lives in, then of that scope's parents (``Scope.parent_id``):
   project, folder, organization; resource, resource group, subscription, management group;
   account, OU, root, organization. An Azure managed identity also lives in the resource that
   holds it (``resourceId``) and a service principal in its application.

Azure: the identity's Entra owners (``Principal.owners``, and its application's owners) name an
owner too, checked after the identity's own tags. A value that is empty or only spaces is no
owner. Where the Entra owners were not read in full (``owners_known`` false) and nothing else
names an owner, the finding is *unknown*, not proven: an owner may exist unread; so it is where a
coverage gap says the identities (and so their tags) of its scope were not all read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from models import (
    AttachmentKind,
    Cloud,
    Covers,
    CredentialKind,
    Policy,
    PolicyKind,
    Principal,
    PrincipalKind,
    Scope,
    Snapshot,
    Workload,
)
from simulator.findings.context import Context
from simulator.findings.model import Category, Evidence, Finding, Nhi, RuleMeta, Severity

META = RuleMeta(
    id="ownership/no-owner",
    title="Non-human identity with no owner",
    severity=Severity.LOW,
    category=Category.OWNERSHIP,
    nhi=(Nhi.NHI1,),
    rationale=(
        "An identity that no team owns is never reviewed, rotated or removed: when its purpose ends it stays, "
        "with its access and credentials, until an attacker finds it."
    ),
    remediation=(
        "Tag or label the identity (or the workload, project, resource group, subscription or account it lives "
        "in) with an owner key such as `owner`, or assign Entra owners to the application."
    ),
)

_NHI_KINDS = frozenset(
    {
        PrincipalKind.AWS_ROLE,
        PrincipalKind.AWS_USER,
        PrincipalKind.GCP_SERVICE_ACCOUNT,
        PrincipalKind.AZURE_SERVICE_PRINCIPAL,
        PrincipalKind.AZURE_MANAGED_IDENTITY,
    }
)


@dataclass(frozen=True)
class Index:
    """Look-ups over one snapshot that the rules share (built once per call site)."""

    snapshot: Snapshot

    @cached_property
    def principals(self) -> Mapping[str, Principal]:
        return {p.id: p for p in self.snapshot.principals}

    @cached_property
    def scopes(self) -> Mapping[str, Scope]:
        """Scopes by id, also by lower-cased id (Azure ARM ids are case-insensitive)."""
        out: dict[str, Scope] = {}
        for scope in self.snapshot.scopes:
            out.setdefault(scope.id, scope)
            out.setdefault(scope.id.lower(), scope)
        return out

    @cached_property
    def workloads_of(self) -> Mapping[str, tuple[Workload, ...]]:
        """The workloads that run as each principal, in id order."""
        found: dict[str, list[Workload]] = {}
        for workload in sorted(self.snapshot.workloads, key=lambda w: w.id):
            for principal_id in workload.principal_ids:
                found.setdefault(principal_id, []).append(workload)
        return {k: tuple(v) for k, v in found.items()}

    @cached_property
    def workloads(self) -> Mapping[str, Workload]:
        return {w.id: w for w in self.snapshot.workloads}

    @cached_property
    def tenants(self) -> frozenset[str]:
        """The Azure tenant ids the snapshot's scopes name."""
        return frozenset(s.id for s in self.snapshot.scopes if s.cloud is Cloud.AZURE and s.parent_id is None) | (
            frozenset(s.attributes["tenantId"] for s in self.snapshot.scopes if "tenantId" in s.attributes)
        )

    @cached_property
    def machine_users(self) -> frozenset[str]:
        """AWS users that authenticate by access keys only (no console password), or live under ``/service/``."""
        keys: set[str] = set()
        passwords: set[str] = set()
        for credential in self.snapshot.credentials:
            if credential.kind is CredentialKind.ACCESS_KEY:
                keys.add(credential.principal_id)
            elif credential.kind is CredentialKind.PASSWORD and credential.active:
                passwords.add(credential.principal_id)
        users = {p.id for p in self.snapshot.principals if p.kind is PrincipalKind.AWS_USER}
        by_path = {
            p.id
            for p in self.snapshot.principals
            if p.kind is PrincipalKind.AWS_USER and p.path.startswith("/service/")
        }
        return frozenset((users & keys) - passwords) | frozenset(by_path)

    def is_non_human(self, principal: Principal) -> bool:
        """Whether ``principal`` is a non-human identity (see the module docstring)."""
        if principal.disabled or principal.deleted or principal.kind not in _NHI_KINDS:
            return False
        if principal.kind is PrincipalKind.AWS_ROLE:
            return not principal.is_service_linked and not self.human_sessions_only(principal)
        if principal.kind is PrincipalKind.AWS_USER:
            return principal.id in self.machine_users
        if principal.kind is PrincipalKind.AZURE_SERVICE_PRINCIPAL:
            home = principal.attributes.get("appOwnerOrganizationId")
            return home is None or not self.tenants or home in self.tenants
        return True

    @cached_property
    def _trust(self) -> Mapping[str, tuple[Mapping[str, Any], ...]]:
        found: dict[str, list[Mapping[str, Any]]] = {}
        for attachment in self.snapshot.attachments:
            if attachment.kind is AttachmentKind.TRUST:
                policy = self.policies.get(attachment.policy_id)
                body = policy.document.get("Statement") if policy is not None else None
                statements = [body] if isinstance(body, dict) else body if isinstance(body, list) else []
                found.setdefault(attachment.target_id, []).extend(s for s in statements if isinstance(s, dict))
        return {k: tuple(v) for k, v in found.items()}

    def trust_statements(self, role_id: str) -> tuple[Mapping[str, Any], ...]:
        """The statements of the trust policies of AWS role ``role_id``."""
        return self._trust.get(role_id, ())

    def human_sessions_only(self, role: Principal) -> bool:
        """Whether every ``Allow`` of the AWS role's trust admits only SAML federation (people
        signing in through an identity provider): such a role is a person's session, not an NHI.
        A role whose trust was not read is not one."""
        allows = [s for s in self.trust_statements(role.id) if s.get("Effect") == "Allow"]
        if not allows:
            return False
        for statement in allows:
            who = statement.get("Principal")
            actions = statement.get("Action")
            actions = [actions] if isinstance(actions, str) else actions if isinstance(actions, list) else []
            if not isinstance(who, dict) or set(who) != {"Federated"}:
                return False
            if not actions or any(a != "sts:AssumeRoleWithSAML" for a in actions):
                return False
        return True

    def non_human(self) -> Iterator[Principal]:
        """Every non-human identity, in id order."""
        for principal in sorted(self.snapshot.principals, key=lambda p: p.id):
            if self.is_non_human(principal):
                yield principal

    def scope_chain(self, scope_id: str | None) -> Iterator[Scope]:
        """``scope_id``'s scope, then its parents up to the top (each once)."""
        seen: set[str] = set()
        while scope_id is not None and scope_id not in seen:
            seen.add(scope_id)
            scope = self.scopes.get(scope_id) or self.scopes.get(scope_id.lower())
            if scope is None:
                return
            yield scope
            scope_id = scope.parent_id

    @cached_property
    def boundaries(self) -> Mapping[str, tuple[Policy, ...]]:
        """The permission boundaries attached to each principal (by id) that the snapshot holds."""
        found: dict[str, list[Policy]] = {}
        for a in self.snapshot.attachments:
            if a.kind is AttachmentKind.BOUNDARY and a.policy_id in self.policies:
                found.setdefault(a.target_id, []).append(self.policies[a.policy_id])
        return {k: tuple(v) for k, v in found.items()}

    @cached_property
    def policies_lower(self) -> Mapping[str, Policy]:
        """Policies by lower-cased id (Azure ARM ids are case-insensitive)."""
        out: dict[str, Policy] = {}
        for policy in self.snapshot.policies:
            out.setdefault(policy.id.lower(), policy)
        return out

    @cached_property
    def policies(self) -> Mapping[str, Policy]:
        return {p.id: p for p in self.snapshot.policies}

    @cached_property
    def _grants(self) -> Mapping[str, tuple[Grant, ...]]:
        found: dict[str, list[Grant]] = {}
        for attachment in self.snapshot.attachments:
            if attachment.kind in (AttachmentKind.IDENTITY, AttachmentKind.ENTRA):
                policy = self.policies.get(attachment.policy_id)
                if policy is not None:
                    found.setdefault(attachment.target_id, []).append(Grant(policy=policy, where=policy.id))
        for policy in self.snapshot.policies:
            if policy.kind is PolicyKind.GCP_BINDINGS:
                for i, binding in enumerate(policy.document.get("bindings") or ()):
                    if not isinstance(binding, dict):
                        continue
                    for member in binding.get("members") or ():
                        grant = Grant(
                            policy=policy,
                            where=f"{policy.id} bindings[{i}]",
                            role=str(binding.get("role", "")),
                            document=binding,
                        )
                        found.setdefault(str(member), []).append(grant)
            elif policy.kind in (PolicyKind.AZURE_ASSIGNMENT, PolicyKind.AZURE_ELIGIBLE_ASSIGNMENT):
                holder = policy.attributes.get("principalId")
                if holder:
                    role = policy.attributes.get("roleDefinitionPolicyId")
                    found.setdefault(holder, []).append(Grant(policy=policy, where=policy.id, role=role))
        return {k: tuple(v) for k, v in found.items()}

    def grants(self, principal: Principal) -> tuple[Grant, ...]:
        """What grants ``principal`` access, directly or through the groups it is a member of: AWS
        identity policies, Google Cloud bindings that name it, Azure role assignments and PIM
        eligibilities, Entra directory and app-role grants. Trust policies, boundaries and
        resource policies are not grants of the identity's own."""
        out: list[Grant] = []
        for holder in (principal.id, *principal.member_of):
            out.extend(self._grants.get(holder, ()))
        return tuple(out)

    def label(self, principal: Principal) -> str:
        """The principal's name for a sentence; AWS names are unique only within an account, so
        theirs carries the account."""
        if principal.cloud is Cloud.AWS:
            return f"{principal.name} (account {principal.scope_id})"
        return principal.name

    def name(self, node_id: str) -> str:
        principal = self.principals.get(node_id)
        if principal is not None:
            return principal.name
        workload = self.workloads.get(node_id)
        return workload.name if workload is not None else node_id


@dataclass(frozen=True, kw_only=True)
class Grant:
    """One thing that grants an identity access: ``policy``; ``where``, the policy and, for a
    Google Cloud binding, its index; ``role``, the role it grants (Google Cloud role name, Azure
    role definition id), None for AWS and Entra; ``document``, the binding, when it is one."""

    policy: Policy
    where: str
    role: str | None = None
    document: Mapping[str, Any] | None = None


@dataclass(frozen=True, kw_only=True)
class Owner:
    """Who owns a node: ``value`` (a tag value, or an Entra owner's name) and ``source``, where it
    was read (``tag owner on role x``, ``label owner on project p``, ``Entra owner of sp-x``)."""

    value: str
    source: str


def owner_of(snapshot: Snapshot, node_id: str, keys: Sequence[str] = ("owner",)) -> str | None:
    """The owner of ``node_id`` (a principal or workload id) as the module docstring defines it,
    or None when nothing names one. For grouping findings by owner."""
    found = find_owner(Index(snapshot), node_id, keys)
    return found.value if found is not None else None


def owner_lookup(snapshot: Snapshot, keys: Sequence[str] = ("owner",)) -> Callable[[str], str | None]:
    """:func:`owner_of` for many nodes of one snapshot: the look-ups are built once."""
    index = Index(snapshot)

    def lookup(node_id: str) -> str | None:
        found = find_owner(index, node_id, keys)
        return found.value if found is not None else None

    return lookup


def find_owner(index: Index, node_id: str, keys: Sequence[str]) -> Owner | None:
    """The first owner of ``node_id`` with where it was found; None when nothing names one."""
    principal = index.principals.get(node_id)
    workload = index.workloads.get(node_id)
    if principal is None and workload is None:
        return None
    for key in keys:
        found = _owner_by_key(index, node_id, principal, workload, key)
        if found is not None:
            return found
    return None


def _owner_by_key(
    index: Index, node_id: str, principal: Principal | None, workload: Workload | None, key: str
) -> Owner | None:
    if principal is not None:
        if value := _tag(principal.tags, key):
            return Owner(value=value, source=f"tag {key} on {principal.name}")
        if entra := _entra_owner(index, principal):
            return entra
        workloads = index.workloads_of.get(node_id, ())
        scopes: list[str | None] = [principal.scope_id]
        resource = principal.attributes.get("resourceId")
        if resource:
            scopes.insert(0, resource)
    else:
        assert workload is not None
        workloads = (workload,)
        scopes = []
    for each in workloads:
        if value := _tag(each.tags, key):
            return Owner(value=value, source=f"tag {key} on workload {each.name}")
    for each in workloads:
        scopes.append(each.scope_id)
    for scope_id in scopes:
        for scope in index.scope_chain(scope_id):
            if value := _tag(scope.tags, key):
                return Owner(value=value, source=f"tag {key} on {scope.kind.value.replace('_', ' ')} {scope.name}")
    return None


def _tag(tags: Mapping[str, str], key: str) -> str | None:
    value = tags.get(key)
    if value is None:
        lowered = {k.lower(): v for k, v in tags.items()}
        value = lowered.get(key.lower())
    return value.strip() if value is not None and value.strip() else None


def _entra_owner(index: Index, principal: Principal) -> Owner | None:
    """The first Entra owner of ``principal`` or of its application, by name where known."""
    for holder in _entra_holders(index, principal):
        for owner_id in sorted(holder.owners):
            return Owner(value=index.name(owner_id), source=f"Entra owner of {holder.name}")
    return None


def _entra_holders(index: Index, principal: Principal) -> Iterable[Principal]:
    if principal.cloud is not Cloud.AZURE:
        return ()
    holders = [principal]
    application = principal.attributes.get("applicationId")
    if application and application in index.principals:
        holders.append(index.principals[application])
    return holders


def owners_unread(index: Index, principal: Principal) -> bool:
    """Whether some of the Entra owners of ``principal`` (or its application) may be unread."""
    return any(holder.owners_known is False for holder in _entra_holders(index, principal))


def tag_gaps(snapshot: Snapshot, index: Index, principal: Principal) -> tuple[str, ...]:
    """The scopes on ``principal``'s path (its own and their parents) whose principals (and so
    their tags) were not read in full: coverage gaps covering principals there, or about it."""
    chain = {s.id for s in index.scope_chain(principal.scope_id)} | {principal.scope_id}
    found = []
    for entry in snapshot.gaps:
        about = entry.target == principal.id or (entry.target is None and entry.scope_id in chain)
        if entry.yields(Covers.PRINCIPALS) and about:
            found.append(entry.scope_id)
    return tuple(dict.fromkeys(found))


def check(context: Context) -> Iterator[Finding]:
    """One finding per non-human identity that has no owner."""
    index = Index(context.snapshot)
    keys = context.settings.owner_keys
    for principal in index.non_human():
        if find_owner(index, principal.id, keys) is not None:
            continue
        unread = tag_gaps(context.snapshot, index, principal)
        unknown = owners_unread(index, principal) or bool(unread)
        looked = ", ".join(repr(k) for k in keys)
        sentence = f"{_what(principal)} {index.label(principal)} has no owner: no {looked} tag or label on it"
        sentence += ", on a workload that runs as it, or on the scopes it lives in"
        if principal.cloud is Cloud.AZURE:
            sentence += ", and no Entra owner"
        notes: tuple[str, ...] = ()
        if owners_unread(index, principal):
            notes = ("Its Entra owners were not read in full (see the coverage): an owner may exist unread.",)
        if unread:
            notes += (f"Identities of {', '.join(unread)} were not all read (see the coverage): tags may be unread.",)
        yield Finding(
            rule=META,
            subject=principal.id,
            principal=principal.id,
            cloud=principal.cloud,
            sentence=sentence,
            evidence=(
                Evidence(what=f"looked for {looked} from {principal.name} up to the top scope", source=principal.id),
            ),
            unknown=unknown,
            notes=notes,
        )


def _what(principal: Principal) -> str:
    return {
        PrincipalKind.AWS_ROLE: "Role",
        PrincipalKind.AWS_USER: "Machine user",
        PrincipalKind.GCP_SERVICE_ACCOUNT: "Service account",
        PrincipalKind.AZURE_SERVICE_PRINCIPAL: "Service principal",
        PrincipalKind.AZURE_MANAGED_IDENTITY: "Managed identity",
    }.get(principal.kind, "Identity")


__all__ = [
    "META",
    "Grant",
    "Index",
    "Owner",
    "check",
    "find_owner",
    "owner_lookup",
    "owner_of",
    "owners_unread",
    "tag_gaps",
]
