"""The concrete reference evaluator for Google Cloud IAM: decides one request.

A request is (principal member string, permission ``service.resource.verb``, resource, request
attributes: time, resource name / type / service). What applies to it is a :class:`PolicySet`:
the allow policies (IAM Policy JSON, version 3) of every node of the resource's ancestry — the
resource itself (a service account's own policy), its project, folders and organization — the
deny policies (IAM v2 JSON) attached on that ancestry, the role -> permissions map, and what is
known about the principal (its groups, whether it is disabled).

Evaluation, as Google documents it:

1. A disabled or deleted service account cannot act: ``implicit_deny``.
2. A deny rule denies when the principal is one of ``deniedPrincipals`` and none of
   ``exceptionPrincipals``, the permission matches one of ``deniedPermissions`` and none of
   ``exceptionPermissions``, and ``denialCondition`` (if any) holds. Any denying rule anywhere on
   the ancestry: ``explicit_deny`` — deny overrides allow.
3. Otherwise a binding on any ancestor grants when its role includes the permission, one of its
   members matches the principal, and its condition (if any) holds: ``allowed``. A custom role
   whose launch stage is ``DISABLED`` (or that was deleted) contributes no permissions, though its
   bindings stay in the policy (IAM Role reference, ``RoleLaunchStage``).
4. Otherwise ``implicit_deny``.

Every test is three-valued: ``True``, ``False`` or ``None`` (unknown: a CEL construct outside the
supported subset, a role whose permissions the snapshot lacks, a group whose members are unknown,
a principal form the evaluator does not read). Strong Kleene logic keeps an unknown that cannot
change the answer from spreading; an unknown that can makes the decision ``unknown``, never allowed
and never denied.

Member matching (allow bindings): the principal itself; ``group:G`` when the principal is in G;
``domain:D`` when the principal's email is in D; ``allUsers`` (everyone, even anonymous);
``allAuthenticatedUsers`` (everyone but anonymous ``allUsers``); ``principalSet://.../workloadIdentityPools/P/*``
for the pool's ``principal://.../workloadIdentityPools/P/subject/S``. ``deleted:`` members match no one.
A GKE Kubernetes service account has two spellings, ``serviceAccount:P.svc.id.goog[NS/KSA]`` and
``principal://iam.googleapis.com/projects/N/locations/global/workloadIdentityPools/P.svc.id.goog/subject/ns/NS/sa/KSA``;
they are one identity, and ``principalSet://.../P.svc.id.goog/namespace/NS`` (or ``/*``) holds it.
``principalSet://cloudresourcemanager.googleapis.com/projects/N/type/ServiceAccount`` (likewise
``folders/N``, ``organizations/N``) holds the service accounts of the projects there.
Deny principals: ``principalSet://goog/public:all`` (everyone, even the anonymous),
``principal://goog/subject/EMAIL`` (the user), ``principalSet://goog/group/G``,
``principal://iam.googleapis.com/projects/-/serviceAccounts/EMAIL_OR_UNIQUE_ID``, and the workload
identity forms above. Denied permissions are ``FQDN/resource.verb`` globs
(``storage.googleapis.com/*``); ``resourcemanager.*`` permissions are
``cloudresourcemanager.googleapis.com/...`` there.

A principal that is a *set* (``group:G``, ``domain:D``, ``allAuthenticatedUsers``, a pool's
``principalSet://``, ``allUsers``) stands for one member of the set that is named nowhere else:
it matches the bindings and deny rules that name the set or a set containing it.

The cases below are what :func:`prepare` computes once per request; the z3 encoding
(:mod:`simulator.gcp.encode`) reuses them and differs only in how conditions are decided.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from simulator.core import Decision, Reason, ReasonKind, Witness
from simulator.gcp import cel

K = bool | None
#: Why a test is unknown: the kind of doubt and its text.
Note = tuple[ReasonKind, str]

WIF_POOL = re.compile(
    r"(?:principal|principalSet)://iam\.googleapis\.com/projects/([^/]+)/locations/global/workloadIdentityPools/([^/]+)/(.*)"
)
GKE_LEGACY = re.compile(r"serviceAccount:(?P<project>[^\[\]]+)\.svc\.id\.goog\[(?P<ns>[^/\]]+)/(?P<ksa>[^\]]+)\]")
SET_PRINCIPALS = ("group:", "domain:")
SA_SET = re.compile(
    r"principalSet://cloudresourcemanager\.googleapis\.com/((?:projects|folders|organizations)/[^/]+)/type/ServiceAccount"
)


@dataclass(frozen=True, kw_only=True)
class Outcome:
    """What the evaluators decide about one request: the decision, its typed reasons and, for
    ``allowed``, the witness request."""

    decision: Decision
    reasons: tuple[Reason, ...] = ()
    witness: Witness | None = None


@dataclass(frozen=True)
class Request:
    """One concrete request. ``name`` / ``type`` / ``service`` are the CEL ``resource.*``
    attributes (None: not known); ``time`` is ``request.time`` (aware)."""

    principal: str
    permission: str
    resource: str
    time: datetime | None
    name: str | None = None
    type: str | None = None
    service: str | None = None

    def env(self) -> cel.Env:
        return cel.Env(time=self.time, name=self.name, type=self.type, service=self.service)

    def witness(self) -> Witness:
        context: dict[str, tuple[str, ...]] = {}
        if self.time is not None:
            context["request.time"] = (self.time.isoformat().replace("+00:00", "Z"),)
        for key, value in (
            ("resource.name", self.name),
            ("resource.type", self.type),
            ("resource.service", self.service),
        ):
            if value is not None:
                context[key] = (value,)
        return Witness(principal=self.principal, action=self.permission, resource=self.resource, context=context)


@dataclass(frozen=True)
class PolicySet:
    """What applies to a request, as plain data.

    ``allow``: (node, IAM Policy JSON) for each node of the ancestry, the resource first;
    ``allow_ids``: the policy id of each (default ``NODE#iam-policy``). ``deny``: (node it is
    attached to, deny policy JSON). ``roles``: role name -> permissions; ``disabled_roles``: roles
    that grant nothing although bound (a custom role whose stage is ``DISABLED``, or deleted).
    ``sa_ancestry``: for a service account, its project and that project's folders and
    organization by number (``projects/123``, ``folders/4``, ``organizations/5``), which the
    ``principalSet://cloudresourcemanager.googleapis.com/.../type/ServiceAccount`` sets test; None
    when not known.
    ``groups``: the principal's groups (``group:EMAIL``); ``unknown_groups``: groups whose
    membership is not known (a binding to one of them may or may not include the principal).
    ``aliases``: other ids of the principal (a service account's unique id). ``disabled``: a
    disabled or deleted service account. ``compiled``: optional, :func:`compile_bindings` of
    allow documents by ``id(document)`` (a cache for callers that ask many questions).
    """

    allow: tuple[tuple[str, Mapping[str, object]], ...] = ()
    deny: tuple[tuple[str, Mapping[str, object]], ...] = ()
    roles: Mapping[str, frozenset[str]] = field(default_factory=dict)
    groups: frozenset[str] = frozenset()
    unknown_groups: frozenset[str] = frozenset()
    aliases: frozenset[str] = frozenset()
    disabled: bool = False
    compiled: Mapping[int, tuple[CompiledBinding, ...]] = field(default_factory=dict)
    allow_ids: tuple[str, ...] = ()
    disabled_roles: frozenset[str] = frozenset()
    sa_ancestry: frozenset[str] | None = None
    #: Optional cache, shared by callers that keep ``roles`` and ``compiled`` fixed: the bindings
    #: of a compiled document whose role may grant a permission, by (id(document), permission).
    relevant: dict[tuple[int, str], tuple[tuple[CompiledBinding, K], ...]] | None = None

    def allow_id(self, index: int) -> str:
        return self.allow_ids[index] if index < len(self.allow_ids) else f"{self.allow[index][0]}#iam-policy"


@dataclass(frozen=True)
class Grant:
    """One (binding, member) that could grant: the parts that do not depend on the request's
    attributes are decided (``static``), the condition is left to the engine."""

    node: str
    role: str
    member: str
    static: K
    condition: cel.Cond | None
    title: str | None
    notes: tuple[Note, ...]
    policy: str = ""

    @property
    def label(self) -> str:
        return f"{self.node}#{self.role} {self.member}"

    def reason(self) -> Reason:
        detail = self.label + (f" (condition: {self.title})" if self.title else "")
        return Reason(
            kind=ReasonKind.BINDING,
            detail=detail,
            policy=self.policy or None,
            role=self.role,
            member=self.member,
            scope=self.node,
        )


@dataclass(frozen=True)
class DenyCase:
    """One deny rule with its request-independent parts decided."""

    policy: str
    node: str
    rule: int
    static: K
    condition: cel.Cond | None
    notes: tuple[Note, ...]

    @property
    def label(self) -> str:
        return f"{self.policy}#rule {self.rule}"

    def reason(self) -> Reason:
        return Reason(
            kind=ReasonKind.DENY_RULE, detail=self.label, policy=self.policy, statement=self.rule, scope=self.node
        )


@dataclass(frozen=True)
class Inert:
    """A binding that would grant the permission to the principal but for its role being disabled."""

    grant: Grant

    def reason(self) -> Reason:
        return Reason(
            kind=ReasonKind.DISABLED,
            detail=f"{self.grant.label}: role {self.grant.role} is disabled or deleted and grants nothing",
            policy=self.grant.policy or None,
            role=self.grant.role,
            member=self.grant.member,
            scope=self.grant.node,
        )


@dataclass(frozen=True)
class Prepared:
    grants: tuple[Grant, ...]
    denies: tuple[DenyCase, ...]
    disabled: bool
    nodes: tuple[str, ...]
    inert: tuple[Inert, ...] = ()

    def cases(self) -> tuple[Grant | DenyCase, ...]:
        return (*self.grants, *self.denies)


# --- Kleene helpers ---------------------------------------------------------------------------


def k_and(values: Iterable[K]) -> K:
    vs = list(values)
    return False if False in vs else None if None in vs else True


def k_or(values: Iterable[K]) -> K:
    vs = list(values)
    return True if True in vs else None if None in vs else False


def k_not(value: K) -> K:
    return None if value is None else not value


# --- Identities -------------------------------------------------------------------------------


def _email(member: str) -> str | None:
    for prefix in ("user:", "serviceAccount:", "group:"):
        if member.startswith(prefix):
            return member[len(prefix) :].lower()
    return None


def _individual(principal: str) -> bool:
    """A single identity (not a set standing for one of its members)."""
    return principal.startswith(("user:", "serviceAccount:")) or (
        principal.startswith("principal://") and "/subject/" in principal
    )


@functools.lru_cache(maxsize=1 << 16)
def normalize_member(member: str) -> str:
    """Member strings compare with their email part lower-cased (cached: a pure function of the
    text, asked for the same members by every question)."""
    email = _email(member)
    if email is not None:
        return member.split(":", 1)[0] + ":" + email
    if member.startswith("domain:"):
        return "domain:" + member[7:].lower()
    return member


@functools.lru_cache(maxsize=1024)
def normalized_set(members: frozenset[str]) -> frozenset[str]:
    """:func:`normalize_member` of each member (cached: a principal's group sets are the same
    frozensets across the questions asked about it)."""
    return frozenset(normalize_member(m) for m in members)


def gke_identity(text: str) -> tuple[str, str, str] | None:
    """(project id, namespace, Kubernetes service account) of a GKE workload identity in either
    spelling (module docstring), else None."""
    legacy = GKE_LEGACY.fullmatch(text)
    if legacy:
        return legacy.group("project").lower(), legacy.group("ns"), legacy.group("ksa")
    m = WIF_POOL.fullmatch(text)
    if m and text.startswith("principal://") and m.group(2).endswith(".svc.id.goog"):
        sub = re.fullmatch(r"subject/ns/([^/]+)/sa/([^/]+)", m.group(3))
        if sub:
            return m.group(2)[: -len(".svc.id.goog")].lower(), sub.group(1), sub.group(2)
    return None


def _gke_pool_match(pattern: str, identity: tuple[str, str, str]) -> tuple[K, Note | None]:
    """A workload identity ``principal://`` / ``principalSet://`` against a GKE identity."""
    m = WIF_POOL.fullmatch(pattern)
    if m is None:
        return None, (ReasonKind.UNSUPPORTED, f"principal form {pattern} is not supported")
    project, namespace, _ = identity
    if m.group(2).lower() != f"{project}.svc.id.goog":
        return False, None
    rest = m.group(3)
    if pattern.startswith("principal://"):
        return gke_identity(pattern) == identity, None
    if rest == "*":
        return True, None
    if rest.startswith("namespace/"):
        return rest == f"namespace/{namespace}", None
    return None, (ReasonKind.UNSUPPORTED, f"{pattern}: the Kubernetes workload's attributes are not known")


def _pool_match(pattern: str, principal: str) -> tuple[K, Note | None]:
    """A workload identity ``principalSet://`` / ``principal://`` against the principal."""
    identity = gke_identity(principal)
    if identity is not None:
        return _gke_pool_match(pattern, identity)
    m, p = WIF_POOL.fullmatch(pattern), WIF_POOL.fullmatch(principal)
    if m is None:
        return None, (ReasonKind.UNSUPPORTED, f"principal form {pattern} is not supported")
    if pattern == principal:
        return True, None
    if p is None or p.group(1, 2) != m.group(1, 2):
        return False, None
    rest, own = m.group(3), p.group(3)
    if pattern.startswith("principal://"):
        return False, None  # a single subject, and not this one
    if rest == "*":
        return True, None
    if own.startswith("subject/") or own == "*":
        return None, (ReasonKind.UNSUPPORTED, f"{pattern}: the federated principal's attributes are not known")
    return False, None


def _sa_set_match(entry: str, principal: str, policies: PolicySet) -> tuple[K, Note | None] | None:
    """Every service account of a project, folder or organization against the principal (None: not
    that form). Only a service account is in such a set, and only by where its project sits."""
    m = SA_SET.fullmatch(entry)
    if m is None:
        return None
    if not principal.startswith("serviceAccount:") or gke_identity(principal) is not None:
        return False, None
    if policies.sa_ancestry is None:
        return None, (ReasonKind.UNSUPPORTED, f"{entry}: which project {principal} belongs to is not known")
    return m.group(1) in policies.sa_ancestry, None


def member_matches(member: str, principal: str, policies: PolicySet) -> tuple[K, Note | None]:
    """Does allow-binding ``member`` include ``principal``? (value, why unknown)."""
    member, principal = normalize_member(member), normalize_member(principal)
    if member == principal:
        return True, None
    in_set = _sa_set_match(member, principal, policies)
    if in_set is not None:
        return in_set
    if member == "allUsers":
        return True, None
    if member == "allAuthenticatedUsers":
        return principal != "allUsers", None
    if member.startswith("deleted:"):
        return False, None
    if member.startswith("group:"):
        if member in normalized_set(policies.groups):
            return True, None
        if member in normalized_set(policies.unknown_groups) and _individual(principal):
            return None, (ReasonKind.GROUP_MEMBERSHIP, f"the members of {member} are not known")
        return False, None
    if member.startswith("domain:"):
        email = _email(principal)
        return (email is not None and not principal.startswith("group:") and email.endswith("@" + member[7:])), None
    if member.startswith(("user:", "serviceAccount:")):
        own = gke_identity(member)
        return (own is not None and own == gke_identity(principal)), None
    if member.startswith(("principal://", "principalSet://")) and "workloadIdentityPools" in member:
        return _pool_match(member, principal)
    if member.startswith(("projectOwner:", "projectEditor:", "projectViewer:")):
        if principal == "allUsers":
            return False, None
        return None, (ReasonKind.UNSUPPORTED, f"{member} (holders of a basic role on the project) is not expanded")
    if principal == "allUsers":
        return False, None
    return None, (ReasonKind.UNSUPPORTED, f"member form {member} is not supported")


def deny_principal_matches(entry: str, principal: str, policies: PolicySet) -> tuple[K, Note | None]:
    """Does a deny rule's principal identifier include ``principal``?"""
    principal = normalize_member(principal)
    if entry == "principalSet://goog/public:all":
        return True, None
    if entry.startswith("deleted:"):
        return False, None
    if entry.startswith("principal://goog/subject/"):
        return principal == "user:" + entry[len("principal://goog/subject/") :].lower(), None
    if entry.startswith("principalSet://goog/group/"):
        return member_matches("group:" + entry[len("principalSet://goog/group/") :], principal, policies)
    m = re.fullmatch(r"principal://iam\.googleapis\.com/projects/[^/]+/serviceAccounts/(.+)", entry)
    if m:
        ident = m.group(1)
        return (principal == "serviceAccount:" + ident.lower() or ident in policies.aliases), None
    if entry.startswith(("principal://", "principalSet://")) and "workloadIdentityPools" in entry:
        return _pool_match(entry, principal)
    if principal == "allUsers":
        return False, None
    if entry.startswith("principalSet://goog/cloudIdentityCustomerId/"):
        if principal.startswith("serviceAccount:"):
            return False, None
        return None, (ReasonKind.UNSUPPORTED, f"{entry}: which users the Cloud Identity customer holds is not known")
    in_set = _sa_set_match(entry, principal, policies)
    if in_set is not None:
        return in_set
    return None, (ReasonKind.UNSUPPORTED, f"deny principal form {entry} is not supported")


# --- Permissions ------------------------------------------------------------------------------


def deny_form(permission: str) -> str:
    """``storage.objects.get`` -> ``storage.googleapis.com/objects.get`` (the IAM v2 deny form)."""
    service, _, rest = permission.partition(".")
    fqdn = "cloudresourcemanager.googleapis.com" if service == "resourcemanager" else f"{service}.googleapis.com"
    return f"{fqdn}/{rest}"


@functools.lru_cache(maxsize=4096)
def _glob(pattern: str) -> re.Pattern[str]:
    return re.compile("".join(".*" if c == "*" else re.escape(c) for c in pattern))


def deny_permission_matches(pattern: str, permission: str) -> bool:
    """A denied-permission pattern (``FQDN/resource.verb``, ``*`` any run) against a v1 permission."""
    target = deny_form(permission) if "/" in pattern else permission
    return _glob(pattern).fullmatch(target) is not None


@functools.lru_cache(maxsize=4096)
def condition_of(expression: str) -> cel.Cond:
    return cel.parse_or_opaque(expression)


# --- Preparing a request ----------------------------------------------------------------------


@dataclass(frozen=True)
class CompiledBinding:
    """A binding with its members indexed: ``direct`` holds the forms that match exactly the
    principals whose keys (:func:`principal_keys`) include them (``user:``, ``serviceAccount:``,
    ``group:``, ``domain:``, ``allUsers``, ``allAuthenticatedUsers``; normalized -> as written);
    ``others`` the forms :func:`member_matches` decides one by one (a GKE member is both: it is
    also held by the workload identity forms of its pool)."""

    role: str
    condition: cel.Cond | None
    title: str | None
    direct: Mapping[str, str]
    others: tuple[str, ...]


DIRECT_FORMS = ("user:", "serviceAccount:", "group:", "domain:")


def compile_bindings(policy: Mapping[str, object]) -> tuple[CompiledBinding, ...]:
    """An IAM Policy JSON's bindings, compiled (see :class:`CompiledBinding`)."""
    out = []
    for binding in _list(policy.get("bindings")):
        if not isinstance(binding, Mapping):
            continue
        cond_doc = binding.get("condition") or None
        direct: dict[str, str] = {}
        others: list[str] = []
        for raw in _list(binding.get("members")):
            member = str(raw)
            if member.startswith("deleted:"):
                continue
            if (member.startswith(DIRECT_FORMS) or member in ("allUsers", "allAuthenticatedUsers")) and (
                gke_identity(member) is None
            ):
                direct.setdefault(normalize_member(member), member)
            else:
                others.append(member)
        cond_map = cond_doc if isinstance(cond_doc, Mapping) else None
        out.append(
            CompiledBinding(
                role=str(binding.get("role", "")),
                condition=condition_of(str(cond_map.get("expression", ""))) if cond_map else None,
                title=str(cond_map.get("title") or cond_map.get("expression")) if cond_map else None,
                direct=direct,
                others=tuple(others),
            )
        )
    return tuple(out)


def _list(value: object) -> list[object]:
    return list(value) if isinstance(value, list | tuple) else []


def principal_keys(principal: str, policies: PolicySet) -> frozenset[str]:
    """The direct member forms that include ``principal``: itself, its groups, its email's domain,
    ``allUsers`` and (unless it is the anonymous ``allUsers``) ``allAuthenticatedUsers``."""
    p = normalize_member(principal)
    keys = {p, "allUsers", *normalized_set(policies.groups)}
    if p != "allUsers":
        keys.add("allAuthenticatedUsers")
    email = _email(p)
    if email is not None and not p.startswith("group:"):
        keys.add("domain:" + email.rpartition("@")[2])
    return frozenset(keys)


def binding_members(
    binding: CompiledBinding, principal: str, keys: frozenset[str], unknown_groups: frozenset[str], policies: PolicySet
) -> list[tuple[str, K, Note | None]]:
    """The members of ``binding`` that include (True) or may include (None) ``principal``; the
    same as :func:`member_matches` on each member, without visiting every member."""
    out: list[tuple[str, K, Note | None]] = [
        (binding.direct[k], True, None) for k in sorted(keys & binding.direct.keys())
    ]
    if unknown_groups and _individual(normalize_member(principal)):
        for g in sorted(unknown_groups & binding.direct.keys()):
            if g not in keys:
                out.append(
                    (binding.direct[g], None, (ReasonKind.GROUP_MEMBERSHIP, f"the members of {g} are not known"))
                )
    for member in binding.others:
        matched, why = member_matches(member, principal, policies)
        if matched is not False:
            out.append((member, matched, why))
    return out


def _relevant(
    policy: Mapping[str, object], permission: str, policies: PolicySet
) -> tuple[tuple[CompiledBinding, K], ...]:
    """The bindings of ``policy`` whose role grants ``permission`` (True) or is not in the
    snapshot (None), in order; cached in ``policies.relevant`` when the caller gives one."""
    key = (id(policy), permission)
    cache = policies.relevant
    if cache is not None and key in cache:
        return cache[key]
    out: list[tuple[CompiledBinding, K]] = []
    for binding in policies.compiled.get(id(policy)) or compile_bindings(policy):
        perms = policies.roles.get(binding.role)
        role_value: K = None if perms is None else permission in perms
        if role_value is not False:
            out.append((binding, role_value))
    found = tuple(out)
    if cache is not None:
        cache[key] = found
    return found


def prepare(principal: str, permission: str, policies: PolicySet) -> Prepared:
    """The grants and deny rules that could apply to (principal, permission), with every part
    that does not depend on request attributes decided."""
    grants: list[Grant] = []
    inert: list[Inert] = []
    keys = principal_keys(principal, policies)
    unknown_groups = normalized_set(policies.unknown_groups)
    for index, (node, policy) in enumerate(policies.allow):
        policy_id = policies.allow_id(index)
        for binding, role_value in _relevant(policy, permission, policies):
            disabled_role = binding.role in policies.disabled_roles
            for member, matched, why in binding_members(binding, principal, keys, unknown_groups, policies):
                grant_notes = [n for n in (why,) if n]
                if role_value is None:
                    grant_notes.append((ReasonKind.MISSING, f"role {binding.role} not in the snapshot"))
                grant = Grant(
                    node,
                    binding.role,
                    member,
                    k_and((role_value, matched)),
                    binding.condition,
                    binding.title,
                    tuple(grant_notes),
                    policy_id,
                )
                if disabled_role:
                    inert.append(Inert(grant))
                else:
                    grants.append(grant)
    denies: list[DenyCase] = []
    for node, policy in policies.deny:
        name = str(policy.get("name") or node)
        for i, wrapper in enumerate(_list(policy.get("rules"))):
            rule = wrapper.get("denyRule") if isinstance(wrapper, Mapping) else None
            rule = rule if isinstance(rule, Mapping) else {}
            notes: list[Note] = []
            value = k_and(
                (
                    _any_principal(_list(rule.get("deniedPrincipals")), principal, policies, notes),
                    k_not(_any_principal(_list(rule.get("exceptionPrincipals")), principal, policies, notes)),
                    any(deny_permission_matches(str(p), permission) for p in _list(rule.get("deniedPermissions"))),
                    not any(
                        deny_permission_matches(str(p), permission) for p in _list(rule.get("exceptionPermissions"))
                    ),
                )
            )
            if value is False:
                continue
            cond_doc = rule.get("denialCondition") or None
            cond = condition_of(str(cond_doc.get("expression", ""))) if isinstance(cond_doc, Mapping) else None
            denies.append(DenyCase(name, node, i, value, cond, tuple(notes)))
    return Prepared(
        tuple(grants), tuple(denies), policies.disabled, tuple(node for node, _ in policies.allow), tuple(inert)
    )


def _any_principal(entries: Iterable[object], principal: str, policies: PolicySet, notes: list[Note]) -> K:
    values: list[K] = []
    for entry in entries:
        value, why = deny_principal_matches(str(entry), principal, policies)
        values.append(value)
        if why and value is None:
            notes.append(why)
    return k_or(values)


# --- Deciding ---------------------------------------------------------------------------------


def doubt(label: str, notes: Iterable[Note], *, policy: str | None, scope: str, statement: int | None = None) -> Reason:
    """One unknown case as a reason: its kind is the first note's (group membership, a missing
    role, an unsupported construct), its detail all of them."""
    items = list(dict.fromkeys(notes))
    kind = items[0][0] if items else ReasonKind.UNKNOWN
    detail = f"{label}: {'; '.join(text for _, text in items)}" if items else label
    return Reason(kind=kind, detail=detail, policy=policy, scope=scope, statement=statement)


def combine(
    prepared: Prepared,
    principal: str,
    permission: str,
    grant_values: list[tuple[Grant, K, list[Note]]],
    deny_values: list[tuple[DenyCase, K, list[Note]]],
) -> Outcome:
    """The decision from each grant's and deny rule's value (with the notes of unknown ones)."""
    if prepared.disabled:
        return Outcome(
            decision=Decision.IMPLICIT_DENY,
            reasons=(Reason(kind=ReasonKind.DISABLED, detail=f"{principal} is disabled or deleted: it cannot act"),),
        )
    deny = k_or(v for _, v, _ in deny_values)
    allow = k_or(v for _, v, _ in grant_values)
    if deny is True:
        return Outcome(
            decision=Decision.EXPLICIT_DENY, reasons=tuple(d.reason() for d, v, _ in deny_values if v is True)
        )
    if allow is True and deny is False:
        return Outcome(decision=Decision.ALLOWED, reasons=tuple(g.reason() for g, v, _ in grant_values if v is True))
    if allow is False:
        where = ", ".join(prepared.nodes) or "no node"
        no_allow = Reason(kind=ReasonKind.NO_ALLOW, detail=f"no binding on {where} grants {permission} to {principal}")
        return Outcome(decision=Decision.IMPLICIT_DENY, reasons=(no_allow, *(i.reason() for i in prepared.inert)))
    reasons: list[Reason] = []
    for grant, value, why in grant_values:
        if value is None:
            reasons.append(doubt(grant.label, why, policy=grant.policy or None, scope=grant.node))
    for case, value, why in deny_values:
        if value is None:
            reasons.append(doubt(case.label, why, policy=case.policy, scope=case.node, statement=case.rule))
    return Outcome(decision=Decision.UNKNOWN, reasons=tuple(reasons))


def condition_notes(texts: Iterable[str]) -> list[Note]:
    return [(ReasonKind.UNSUPPORTED, t) for t in texts]


def evaluate_prepared(prepared: Prepared, request: Request) -> Outcome:
    env = request.env()
    grant_values: list[tuple[Grant, K, list[Note]]] = []
    for grant in prepared.grants:
        texts: list[str] = []
        value = k_and((grant.static, True if grant.condition is None else cel.evaluate(grant.condition, env, texts)))
        grant_values.append((grant, value, [*grant.notes, *condition_notes(texts)]))
    deny_values: list[tuple[DenyCase, K, list[Note]]] = []
    for case in prepared.denies:
        texts = []
        value = k_and((case.static, True if case.condition is None else cel.evaluate(case.condition, env, texts)))
        deny_values.append((case, value, [*case.notes, *condition_notes(texts)]))
    outcome = combine(prepared, request.principal, request.permission, grant_values, deny_values)
    if outcome.decision is Decision.ALLOWED:
        return Outcome(decision=outcome.decision, reasons=outcome.reasons, witness=request.witness())
    return outcome


def decide(request: Request, policies: PolicySet) -> Outcome:
    """Decide one concrete request (see the module docstring for the order)."""
    return evaluate_prepared(prepare(request.principal, request.permission, policies), request)
