"""The concrete reference evaluator for Google Cloud IAM: decides one request.

A request is (principal member string, permission ``service.resource.verb``, resource, request
attributes: time, resource name / type / service). What applies to it is a :class:`PolicySet`:
the allow policies (IAM Policy JSON, version 3) of every node of the resource's ancestry — the
resource itself (a service account's own policy), its project, folders and organization — the
deny policies (IAM v2 JSON) attached on that ancestry, the role -> permissions map, and what is
known about the principal (its groups, whether it is disabled).

Evaluation, as Google documents it:

1. A disabled service account cannot act: ``implicit_deny``.
2. A deny rule denies when the principal is one of ``deniedPrincipals`` and none of
   ``exceptionPrincipals``, the permission matches one of ``deniedPermissions`` and none of
   ``exceptionPermissions``, and ``denialCondition`` (if any) holds. Any denying rule anywhere on
   the ancestry: ``explicit_deny`` — deny overrides allow.
3. Otherwise a binding on any ancestor grants when its role includes the permission, one of its
   members matches the principal, and its condition (if any) holds: ``allowed``.
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
Deny principals: ``principalSet://goog/public:all`` (everyone), ``principal://goog/subject/EMAIL``
(the user), ``principalSet://goog/group/G``, ``principal://iam.googleapis.com/projects/-/serviceAccounts/EMAIL_OR_UNIQUE_ID``,
and the workload identity forms above. Denied permissions are ``FQDN/resource.verb`` globs
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
from typing import Any

from simulator.aws.simulate import Answer
from simulator.gcp import cel

K = bool | None

WIF_POOL = re.compile(
    r"(?:principal|principalSet)://iam\.googleapis\.com/projects/([^/]+)/locations/global/workloadIdentityPools/([^/]+)/(.*)"
)
SET_PRINCIPALS = ("group:", "domain:")


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

    def witness(self) -> dict[str, Any]:
        context: dict[str, str] = {}
        if self.time is not None:
            context["request.time"] = self.time.isoformat().replace("+00:00", "Z")
        for key, value in (
            ("resource.name", self.name),
            ("resource.type", self.type),
            ("resource.service", self.service),
        ):
            if value is not None:
                context[key] = value
        return {"principal": self.principal, "action": self.permission, "resource": self.resource, "context": context}


@dataclass(frozen=True)
class PolicySet:
    """What applies to a request, as plain data.

    ``allow``: (node, IAM Policy JSON) for each node of the ancestry, the resource first.
    ``deny``: (node it is attached to, deny policy JSON). ``roles``: role name -> permissions.
    ``groups``: the principal's groups (``group:EMAIL``); ``unknown_groups``: groups whose
    membership is not known (a binding to one of them may or may not include the principal).
    ``aliases``: other ids of the principal (a service account's unique id). ``disabled``: a
    disabled or deleted service account. ``compiled``: optional, :func:`compile_bindings` of
    allow documents by ``id(document)`` (a cache for callers that ask many questions).
    """

    allow: tuple[tuple[str, Mapping[str, Any]], ...] = ()
    deny: tuple[tuple[str, Mapping[str, Any]], ...] = ()
    roles: Mapping[str, frozenset[str]] = field(default_factory=dict)
    groups: frozenset[str] = frozenset()
    unknown_groups: frozenset[str] = frozenset()
    aliases: frozenset[str] = frozenset()
    disabled: bool = False
    compiled: Mapping[int, tuple[CompiledBinding, ...]] = field(default_factory=dict)


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
    notes: tuple[str, ...]

    @property
    def label(self) -> str:
        return f"{self.node}#{self.role} {self.member}"

    def reason(self) -> dict[str, Any]:
        out = {"kind": "binding", "detail": self.label, "node": self.node, "role": self.role, "member": self.member}
        if self.title:
            out["condition"] = self.title
        return out


@dataclass(frozen=True)
class DenyCase:
    """One deny rule with its request-independent parts decided."""

    policy: str
    node: str
    rule: int
    static: K
    condition: cel.Cond | None
    notes: tuple[str, ...]

    @property
    def label(self) -> str:
        return f"{self.policy}#rule {self.rule}"

    def reason(self) -> dict[str, Any]:
        return {"kind": "deny_rule", "detail": self.label, "node": self.node, "rule": self.rule}


@dataclass(frozen=True)
class Prepared:
    grants: tuple[Grant, ...]
    denies: tuple[DenyCase, ...]
    disabled: bool
    nodes: tuple[str, ...]

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


def normalize_member(member: str) -> str:
    """Member strings compare with their email part lower-cased."""
    email = _email(member)
    if email is not None:
        return member.split(":", 1)[0] + ":" + email
    if member.startswith("domain:"):
        return "domain:" + member[7:].lower()
    return member


def _pool_match(pattern: str, principal: str) -> tuple[K, str | None]:
    """A workload identity ``principalSet://`` / ``principal://`` against the principal."""
    m, p = WIF_POOL.fullmatch(pattern), WIF_POOL.fullmatch(principal)
    if m is None:
        return None, f"principal form {pattern} is not supported"
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
        return None, f"{pattern}: the federated principal's attributes are not known"
    return False, None


def member_matches(member: str, principal: str, policies: PolicySet) -> tuple[K, str | None]:
    """Does allow-binding ``member`` include ``principal``? (value, why unknown)."""
    member, principal = normalize_member(member), normalize_member(principal)
    if member == principal:
        return True, None
    if member == "allUsers":
        return True, None
    if member == "allAuthenticatedUsers":
        return principal != "allUsers", None
    if member.startswith("deleted:"):
        return False, None
    if member.startswith("group:"):
        if member in {normalize_member(g) for g in policies.groups}:
            return True, None
        if member in {normalize_member(g) for g in policies.unknown_groups} and _individual(principal):
            return None, f"the members of {member} are not known"
        return False, None
    if member.startswith("domain:"):
        email = _email(principal)
        return (email is not None and not principal.startswith("group:") and email.endswith("@" + member[7:])), None
    if member.startswith(("user:", "serviceAccount:")):
        return False, None
    if member.startswith(("principal://", "principalSet://")) and "workloadIdentityPools" in member:
        return _pool_match(member, principal)
    if member.startswith(("projectOwner:", "projectEditor:", "projectViewer:")):
        if principal == "allUsers":
            return False, None
        return None, f"{member} (holders of a basic role on the project) is not expanded"
    if principal == "allUsers":
        return False, None
    return None, f"member form {member} is not supported"


def deny_principal_matches(entry: str, principal: str, policies: PolicySet) -> tuple[K, str | None]:
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
        return None, f"{entry}: which users the Cloud Identity customer holds is not known"
    if re.fullmatch(r"principalSet://cloudresourcemanager\.googleapis\.com/.+/type/ServiceAccount", entry):
        if not principal.startswith("serviceAccount:"):
            return False, None
        return None, f"{entry}: which project a service account belongs to is not decided here"
    return None, f"deny principal form {entry} is not supported"


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
    ``others`` the forms :func:`member_matches` decides one by one."""

    role: str
    condition: cel.Cond | None
    title: str | None
    direct: Mapping[str, str]
    others: tuple[str, ...]


DIRECT_FORMS = ("user:", "serviceAccount:", "group:", "domain:")


def compile_bindings(policy: Mapping[str, Any]) -> tuple[CompiledBinding, ...]:
    """An IAM Policy JSON's bindings, compiled (see :class:`CompiledBinding`)."""
    out = []
    for binding in policy.get("bindings") or ():
        cond_doc = binding.get("condition") or None
        direct: dict[str, str] = {}
        others: list[str] = []
        for member in binding.get("members") or ():
            member = str(member)
            if member.startswith("deleted:"):
                continue
            if member.startswith(DIRECT_FORMS) or member in ("allUsers", "allAuthenticatedUsers"):
                direct.setdefault(normalize_member(member), member)
            else:
                others.append(member)
        out.append(
            CompiledBinding(
                role=str(binding.get("role", "")),
                condition=condition_of(str(cond_doc.get("expression", ""))) if cond_doc else None,
                title=str(cond_doc.get("title") or cond_doc.get("expression")) if cond_doc else None,
                direct=direct,
                others=tuple(others),
            )
        )
    return tuple(out)


def principal_keys(principal: str, policies: PolicySet) -> frozenset[str]:
    """The direct member forms that include ``principal``: itself, its groups, its email's domain,
    ``allUsers`` and (unless it is the anonymous ``allUsers``) ``allAuthenticatedUsers``."""
    p = normalize_member(principal)
    keys = {p, "allUsers", *(normalize_member(g) for g in policies.groups)}
    if p != "allUsers":
        keys.add("allAuthenticatedUsers")
    email = _email(p)
    if email is not None and not p.startswith("group:"):
        keys.add("domain:" + email.rpartition("@")[2])
    return frozenset(keys)


def binding_members(
    binding: CompiledBinding, principal: str, keys: frozenset[str], unknown_groups: frozenset[str], policies: PolicySet
) -> list[tuple[str, K, str | None]]:
    """The members of ``binding`` that include (True) or may include (None) ``principal``; the
    same as :func:`member_matches` on each member, without visiting every member."""
    out: list[tuple[str, K, str | None]] = [
        (binding.direct[k], True, None) for k in sorted(keys & binding.direct.keys())
    ]
    if unknown_groups and _individual(normalize_member(principal)):
        for g in sorted(unknown_groups & binding.direct.keys()):
            if g not in keys:
                out.append((binding.direct[g], None, f"the members of {g} are not known"))
    for member in binding.others:
        matched, why = member_matches(member, principal, policies)
        if matched is not False:
            out.append((member, matched, why))
    return out


def prepare(principal: str, permission: str, policies: PolicySet) -> Prepared:
    """The grants and deny rules that could apply to (principal, permission), with every part
    that does not depend on request attributes decided."""
    grants: list[Grant] = []
    keys = principal_keys(principal, policies)
    unknown_groups = frozenset(normalize_member(g) for g in policies.unknown_groups)
    for node, policy in policies.allow:
        compiled = policies.compiled.get(id(policy)) or compile_bindings(policy)
        for binding in compiled:
            perms = policies.roles.get(binding.role)
            role_value: K = None if perms is None else permission in perms
            if role_value is False:
                continue
            for member, matched, why in binding_members(binding, principal, keys, unknown_groups, policies):
                grant_notes = [n for n in (why,) if n]
                if role_value is None:
                    grant_notes.append(f"role {binding.role} not in the snapshot")
                value = k_and((role_value, matched))
                grants.append(
                    Grant(node, binding.role, member, value, binding.condition, binding.title, tuple(grant_notes))
                )
    denies: list[DenyCase] = []
    for node, policy in policies.deny:
        name = str(policy.get("name") or node)
        for i, wrapper in enumerate(policy.get("rules") or ()):
            rule = wrapper.get("denyRule") or {}
            notes: list[str] = []
            value = k_and(
                (
                    _any_principal(rule.get("deniedPrincipals") or (), principal, policies, notes),
                    k_not(_any_principal(rule.get("exceptionPrincipals") or (), principal, policies, notes)),
                    any(deny_permission_matches(p, permission) for p in rule.get("deniedPermissions") or ()),
                    not any(deny_permission_matches(p, permission) for p in rule.get("exceptionPermissions") or ()),
                )
            )
            if value is False:
                continue
            cond_doc = rule.get("denialCondition") or None
            cond = condition_of(str(cond_doc.get("expression", ""))) if cond_doc else None
            denies.append(DenyCase(name, node, i, value, cond, tuple(notes)))
    return Prepared(tuple(grants), tuple(denies), policies.disabled, tuple(node for node, _ in policies.allow))


def _any_principal(entries: Iterable[str], principal: str, policies: PolicySet, notes: list[str]) -> K:
    values: list[K] = []
    for entry in entries:
        value, why = deny_principal_matches(str(entry), principal, policies)
        values.append(value)
        if why and value is None:
            notes.append(why)
    return k_or(values)


# --- Deciding ---------------------------------------------------------------------------------


def combine(
    prepared: Prepared,
    principal: str,
    permission: str,
    grant_values: list[tuple[Grant, K, list[str]]],
    deny_values: list[tuple[DenyCase, K, list[str]]],
) -> Answer:
    """The decision from each grant's and deny rule's value (with the reasons of unknown ones)."""
    if prepared.disabled:
        return Answer(
            None,
            "implicit_deny",
            [{"kind": "disabled", "detail": f"{principal} is disabled or deleted: it cannot act"}],
        )
    deny = k_or(v for _, v, _ in deny_values)
    allow = k_or(v for _, v, _ in grant_values)
    if deny is True:
        return Answer(None, "explicit_deny", [d.reason() for d, v, _ in deny_values if v is True])
    if allow is True and deny is False:
        return Answer(None, "allowed", [g.reason() for g, v, _ in grant_values if v is True])
    if allow is False:
        where = ", ".join(prepared.nodes) or "no node"
        return Answer(
            None,
            "implicit_deny",
            [{"kind": "no_allow", "detail": f"no binding on {where} grants {permission} to {principal}"}],
        )
    reasons: list[dict[str, Any]] = []
    for grant, value, why in grant_values:
        if value is None:
            reasons.append({"kind": "unknown", "detail": f"{grant.label}: {'; '.join(why)}", "node": grant.node})
    for case, value, why in deny_values:
        if value is None:
            reasons.append({"kind": "unknown", "detail": f"{case.label}: {'; '.join(why)}", "node": case.node})
    return Answer(None, "unknown", reasons)


def evaluate_prepared(prepared: Prepared, request: Request) -> Answer:
    env = request.env()
    grant_values: list[tuple[Grant, K, list[str]]] = []
    for grant in prepared.grants:
        why = list(grant.notes)
        value = k_and((grant.static, True if grant.condition is None else cel.evaluate(grant.condition, env, why)))
        grant_values.append((grant, value, why))
    deny_values: list[tuple[DenyCase, K, list[str]]] = []
    for case in prepared.denies:
        why = list(case.notes)
        value = k_and((case.static, True if case.condition is None else cel.evaluate(case.condition, env, why)))
        deny_values.append((case, value, why))
    answer = combine(prepared, request.principal, request.permission, grant_values, deny_values)
    if answer.decision == "allowed":
        answer.witness = request.witness()
    return answer


def decide(request: Request, policies: PolicySet) -> Answer:
    """Decide one concrete request (see the module docstring for the order)."""
    return evaluate_prepared(prepare(request.principal, request.permission, policies), request)
