"""``can`` and ``who-can`` on a stored snapshot (Google Cloud).

What applies to a request is gathered from the snapshot (conventions in the model docs):

- the resource's ancestry: the resource itself when the snapshot holds its own IAM policy (a
  :class:`models.Resource` whose id is the Cloud Asset name, e.g. a bucket; a service account's
  own policy, attached to ``serviceAccount:EMAIL``), its project, the project's folders and its
  organization (``Scope.parent_id``);
- the allow policies (GCP_BINDINGS, attached BINDING) and deny policies (GCP_DENY, attached DENY)
  on those nodes; the role definitions (GCP_ROLE, by role name);
- the principal's groups (``Principal.member_of``) and whether it is disabled.

Request attributes: ``request.time`` is now unless ``context["request.time"]`` gives one (with
``any_context`` it is free); ``resource.name`` / ``resource.type`` / ``resource.service`` follow
from the resource where Google documents them (Cloud Storage names ``projects/_/buckets/B/objects/O``,
the relative name ``projects/P/...`` of other services; Resource Manager and IAM resources do not
carry ``resource.name``) and ``context`` may set them.

Soundness: a gap in the snapshot's coverage that could hide an allow (an ancestor's IAM policy not
read, the resource's own policy not collected) turns a deny into ``unknown``; one that could hide a
deny (deny policies not read) turns ``allowed`` into ``unknown``; a hierarchy that cannot be
followed (a parent or project missing) does both. A group whose members the snapshot does not know
makes its bindings unknown for individual principals.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from models import AttachmentKind, Cloud, PolicyKind, PrincipalKind, Snapshot
from simulator.aws.simulate import Answer
from simulator.aws.snapshot_queries import CanAnswer, QueryError
from simulator.gcp import cel
from simulator.gcp.encode import Verdict, decide_smt
from simulator.gcp.reference import (
    PolicySet,
    Request,
    binding_members,
    compile_bindings,
    evaluate_prepared,
    prepare,
    principal_keys,
)

#: Principal kinds that act as themselves; the other kinds are sets (a group, a domain, everyone).
INDIVIDUAL_KINDS = (PrincipalKind.GCP_SERVICE_ACCOUNT, PrincipalKind.GCP_USER)
SCOPE_PREFIXES = ("projects/", "folders/", "organizations/")
FULL_NAME = re.compile(r"//(?P<host>[^/]+)/(?P<path>.*)")
SA_PATH = re.compile(r"projects/(?P<project>[^/]+)/serviceAccounts/(?P<sa>[^/]+)")
#: Resource types of the full names this module recognizes (the CEL ``resource.type``).
TYPES = (
    (
        re.compile(r"projects/[^/]+"),
        "cloudresourcemanager.googleapis.com",
        "cloudresourcemanager.googleapis.com/Project",
    ),
    (re.compile(r"folders/[^/]+"), "cloudresourcemanager.googleapis.com", "cloudresourcemanager.googleapis.com/Folder"),
    (
        re.compile(r"organizations/[^/]+"),
        "cloudresourcemanager.googleapis.com",
        "cloudresourcemanager.googleapis.com/Organization",
    ),
    (SA_PATH, "iam.googleapis.com", "iam.googleapis.com/ServiceAccount"),
    (re.compile(r"projects/_/buckets/[^/]+"), "storage.googleapis.com", "storage.googleapis.com/Bucket"),
    (re.compile(r"projects/_/buckets/[^/]+/objects/.+"), "storage.googleapis.com", "storage.googleapis.com/Object"),
)
#: Services whose requests carry ``resource.name`` (Google's resource attribute reference).
NAMED_SERVICES = frozenset(
    {
        "bigquery.googleapis.com",
        "bigqueryreservation.googleapis.com",
        "cloudkms.googleapis.com",
        "compute.googleapis.com",
        "container.googleapis.com",
        "logging.googleapis.com",
        "sqladmin.googleapis.com",
        "storage.googleapis.com",
        "secretmanager.googleapis.com",
        "spanner.googleapis.com",
        "pubsub.googleapis.com",
    }
)


@dataclass(frozen=True)
class Target:
    """A resolved resource: its nodes (resource first), the CEL attributes, and what is missing."""

    resource: str
    nodes: tuple[str, ...]
    name: str | None
    type: str | None
    service: str | None
    allow_gaps: tuple[str, ...]
    deny_gaps: tuple[str, ...]
    notes: tuple[str, ...]


class GcpIndex:
    """A snapshot's Google Cloud objects indexed for questions."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self.scopes = {s.id: s for s in snapshot.scopes if s.cloud is Cloud.GCP}
        self.by_number = {
            s.attributes["projectNumber"]: s.id for s in self.scopes.values() if s.attributes.get("projectNumber")
        }
        self.principals = {p.id: p for p in snapshot.principals if p.cloud is Cloud.GCP}
        self.policies = {p.id: p for p in snapshot.policies if p.cloud is Cloud.GCP}
        self.resources = {r.id: r for r in snapshot.resources if r.cloud is Cloud.GCP}
        self.attached: dict[tuple[str, AttachmentKind], list[str]] = defaultdict(list)
        for a in snapshot.attachments:
            if a.policy_id in self.policies:
                self.attached[(a.target_id, a.kind)].append(a.policy_id)
        self.compiled = {
            id(p.document): compile_bindings(p.document)
            for p in self.policies.values()
            if p.kind is PolicyKind.GCP_BINDINGS
        }
        self.verdicts: dict[Any, Verdict] = {}
        self.roles: dict[str, frozenset[str]] = {}
        for policy in self.policies.values():
            if policy.kind is PolicyKind.GCP_ROLE:
                deleted = policy.attributes.get("deleted") == "true" or bool(policy.document.get("deleted"))
                perms = () if deleted else policy.document.get("includedPermissions") or ()
                self.roles[policy.id] = frozenset(str(x) for x in perms)
        self.catalog = frozenset().union(*self.roles.values()) if self.roles else frozenset()
        self.members: dict[str, set[str]] = defaultdict(set)
        for p in self.principals.values():
            for group in p.member_of:
                self.members[group].add(p.id)
        # A group is known when its members were read in full: membersKnown "true", or (snapshots
        # that do not say) some principal lists it; never when the collector says "false" (a nested
        # group or a member of unknown type was not read).
        said = {p.id: p.attributes.get("membersKnown") for p in self.principals.values()}
        self.known_groups = {g for g in self.members if said.get(g) != "false"} | {
            g for g, known in said.items() if known == "true"
        }
        self.named_groups = self._groups_named()
        self.gaps = [e for e in snapshot.coverage if e.is_gap]
        self.asset_inventory_read = any(not e.is_gap and e.service == "cloudasset" for e in snapshot.coverage)

    # --- principals ---------------------------------------------------------------------------

    def resolve_principal(self, ref: str) -> str:
        """The member string for ``ref`` (a member string, or a bare email)."""
        ref = ref.strip()
        if ref in ("allUsers", "allAuthenticatedUsers") or ref.startswith(("principal://", "principalSet://")):
            return ref
        prefix, sep, value = ref.partition(":")
        if sep and prefix in ("user", "group", "domain"):
            return f"{prefix}:{value.lower()}"
        if sep and prefix == "serviceAccount":
            member = f"serviceAccount:{value.lower()}"
            if member not in self.principals:
                raise QueryError(f"no service account {value} in snapshot {self.snapshot.id}")
            return member
        if "@" in ref and not sep:
            email = ref.lower()
            for kind in ("serviceAccount", "user", "group"):
                if f"{kind}:{email}" in self.principals:
                    return f"{kind}:{email}"
            if email.endswith(".gserviceaccount.com"):
                raise QueryError(f"no service account {email} in snapshot {self.snapshot.id}")
            raise QueryError(f"{ref} is not in snapshot {self.snapshot.id}: give it as user:{email} or group:{email}")
        raise QueryError(
            f"{ref!r} is not a Google Cloud principal: use serviceAccount:EMAIL, user:EMAIL, group:EMAIL, "
            "domain:DOMAIN, allUsers, allAuthenticatedUsers or a principal:// / principalSet:// identifier"
        )

    def facts(self, member: str) -> tuple[frozenset[str], frozenset[str], frozenset[str], bool]:
        """(groups, groups with unknown members, aliases, disabled) of a principal."""
        p = self.principals.get(member)
        groups = set(p.member_of) if p else set()
        if member.startswith("group:"):
            groups.add(member)
        unknown = frozenset(g for g in self.named_groups if g not in self.known_groups and g not in groups)
        aliases = frozenset({p.native_id} if p and p.native_id else ())
        disabled = bool(p and (p.attributes.get("disabled") == "true" or p.attributes.get("deleted") == "true"))
        return frozenset(groups), unknown, aliases, disabled

    def _groups_named(self) -> frozenset[str]:
        """Every group the snapshot names: group principals, binding members, deny principal sets."""
        named: set[str] = {p for p in self.principals if p.startswith("group:")}
        for p in self.policies.values():
            if p.kind is PolicyKind.GCP_BINDINGS:
                for b in p.document.get("bindings") or ():
                    named |= {str(m).lower() for m in b.get("members") or () if str(m).startswith("group:")}
            elif p.kind is PolicyKind.GCP_DENY:
                for r in p.document.get("rules") or ():
                    rule = r.get("denyRule") or {}
                    for m in (*(rule.get("deniedPrincipals") or ()), *(rule.get("exceptionPrincipals") or ())):
                        if str(m).startswith("principalSet://goog/group/"):
                            named.add("group:" + str(m).rsplit("/", 1)[1].lower())
        return frozenset(named)

    # --- resources ----------------------------------------------------------------------------

    def project_of(self, ref: str) -> str | None:
        """``projects/<id>`` for a project id or number, if the snapshot knows it."""
        if f"projects/{ref}" in self.scopes:
            return f"projects/{ref}"
        return self.by_number.get(ref)

    def resolve_resource(self, ref: str) -> Target:
        ref = ref.strip()
        m = FULL_NAME.fullmatch(ref)
        host, path = (m.group("host"), m.group("path")) if m else (None, ref)
        allow_gaps: list[str] = []
        notes: list[str] = []
        nodes: list[str] = []
        scope_id: str | None = None
        own = self._own_policy_nodes(ref, path, host, allow_gaps, notes)
        sa = SA_PATH.fullmatch(path)
        if host in (None, "cloudresourcemanager.googleapis.com") and re.fullmatch(
            r"(projects|folders|organizations)/[^/]+", path
        ):
            kind, _, ident = path.partition("/")
            scope_id = self.project_of(ident) if kind == "projects" else path
            if scope_id is None:
                scope_id = path
        elif sa:
            principal = self.principals.get("serviceAccount:" + sa.group("sa").lower())
            project = sa.group("project")
            scope_id = self.project_of(project) if project != "-" else (principal.scope_id if principal else None)
            if scope_id is None and principal is not None:
                scope_id = principal.scope_id
            if scope_id is None:
                raise QueryError(f"cannot tell which project service account resource {ref} belongs to")
        elif host is not None:
            held = [r for r in own if r in self.resources]
            pm = re.match(r"projects/([^/]+)", path)
            if pm and pm.group(1) != "_":
                scope_id = self.project_of(pm.group(1)) or f"projects/{pm.group(1)}"
            elif held:
                scope_id = self.resources[held[0]].scope_id
        if scope_id is None:
            raise QueryError(
                f"cannot tell which project {ref} belongs to: give a full name with its project "
                "(//SERVICE.googleapis.com/projects/P/...) or a resource the snapshot holds"
            )
        nodes.extend(own)
        deny_gaps: list[str] = []
        nodes.extend(self.ancestry(scope_id, allow_gaps, deny_gaps))
        if host == "storage.googleapis.com" and "/" not in path:
            path = f"projects/_/buckets/{path}"  # the Cloud Asset name of a bucket
        service, rtype = self._type_of(path, host)
        name = path if (service in NAMED_SERVICES or (host and host in NAMED_SERVICES)) else None
        return Target(
            resource=ref,
            nodes=tuple(dict.fromkeys(nodes)),
            name=name,
            type=rtype,
            service=service or host,
            allow_gaps=tuple(allow_gaps),
            deny_gaps=tuple(deny_gaps),
            notes=tuple(notes),
        )

    def _own_policy_nodes(
        self, ref: str, path: str, host: str | None, allow_gaps: list[str], notes: list[str]
    ) -> list[str]:
        """Nodes below the project whose own IAM policy applies (resource first)."""
        sa = SA_PATH.fullmatch(path)
        if sa:
            member = "serviceAccount:" + sa.group("sa").lower()
            owner = self.principals.get(member)
            for g in self.gaps:
                if g.operation.startswith("serviceAccounts.getIamPolicy") and (
                    member[15:] in f"{g.operation} {g.detail}".lower() or (owner and g.scope_id == owner.scope_id)
                ):
                    allow_gaps.append(f"the IAM policy of {member} was not read: {g.detail or g.status}")
            return [member]
        if host is None or host == "cloudresourcemanager.googleapis.com":
            return []
        candidates = [f"//{host}/{path}"]
        if host == "storage.googleapis.com":
            bm = re.match(r"projects/_/buckets/([^/]+)", path)
            if bm:
                candidates = [
                    f"//{host}/{path}",
                    f"//{host}/{bm.group(1)}",
                    f"//{host}/projects/_/buckets/{bm.group(1)}",
                ]
        else:
            parts = path.split("/")
            candidates = [f"//{host}/{'/'.join(parts[:i])}" for i in range(len(parts), 0, -1)]
        held = [
            c
            for c in dict.fromkeys(candidates)
            if c in self.resources or self.attached.get((c, AttachmentKind.BINDING))
        ]
        if not held:
            if self.asset_inventory_read:
                notes.append(f"{ref}: no resource-level IAM policy in the asset inventory the scan read")
            else:
                allow_gaps.append(f"the resource-level IAM policy of {ref} was not collected (no asset inventory read)")
        return held

    def ancestry(self, scope_id: str, allow_gaps: list[str], deny_gaps: list[str]) -> list[str]:
        """The scope and its ancestors, bottom up; a chain that cannot be followed is a gap."""
        out: list[str] = []
        current: str | None = scope_id
        while current is not None:
            scope = self.scopes.get(current)
            if scope is None:
                gap = f"{current} is not in the snapshot: its policies and ancestors are unknown"
                allow_gaps.append(gap)
                deny_gaps.append(gap)
                break
            out.append(current)
            for entry in self.gaps:
                if entry.scope_id != current and current not in entry.operation.split():
                    continue
                text = f"{entry.service} {entry.operation} on {entry.scope_id}: {entry.status}"
                if entry.operation.startswith("policies."):
                    deny_gaps.append(f"deny policies not read: {text}")
                elif "getIamPolicy" in entry.operation:
                    allow_gaps.append(f"IAM policy not read: {text}")
                elif entry.service in ("cloudresourcemanager", "cloudasset"):
                    allow_gaps.append(f"hierarchy not read: {text}")
                    deny_gaps.append(f"hierarchy not read: {text}")
            current = scope.parent_id
        return out

    @staticmethod
    def _type_of(path: str, host: str | None) -> tuple[str | None, str | None]:
        for pattern, service, rtype in TYPES:
            if pattern.fullmatch(path) and (host is None or host == service):
                return service, rtype
        return host, None

    # --- policies -----------------------------------------------------------------------------

    def policy_set(self, principal: str, target: Target) -> PolicySet:
        allow = [
            (node, self.policies[pid].document)
            for node in target.nodes
            for pid in self.attached.get((node, AttachmentKind.BINDING), ())
        ]
        deny = [
            (node, self.policies[pid].document)
            for node in target.nodes
            for pid in self.attached.get((node, AttachmentKind.DENY), ())
        ]
        groups, unknown, aliases, disabled = self.facts(principal)
        return PolicySet(
            allow=tuple(allow),
            deny=tuple(deny),
            roles=self.roles,
            groups=groups,
            unknown_groups=unknown,
            aliases=aliases,
            disabled=disabled,
            compiled=self.compiled,
        )


def _index(snapshot: Snapshot | GcpIndex) -> GcpIndex:
    return snapshot if isinstance(snapshot, GcpIndex) else GcpIndex(snapshot)


def _request(target: Target, principal: str, permission: str, context: dict[str, Any] | None) -> Request:
    context = dict(context or {})
    at: datetime = datetime.now(UTC).replace(microsecond=0)
    if "request.time" in context:
        parsed = cel.parse_timestamp(str(context.pop("request.time")))
        if isinstance(parsed, cel.Opaque):
            raise QueryError(f"--context request.time: {parsed.reason}")
        at = parsed
    values = {"resource.name": target.name, "resource.type": target.type, "resource.service": target.service}
    for key in list(context):
        if key not in values:
            raise QueryError(
                f"--context {key}: Google Cloud requests take request.time, resource.name, "
                "resource.type and resource.service"
            )
        values[key] = str(context[key])
    return Request(
        principal=principal,
        permission=permission,
        resource=target.resource,
        time=at,
        name=values["resource.name"],
        type=values["resource.type"],
        service=values["resource.service"],
    )


def can(
    snapshot: Snapshot | GcpIndex,
    principal: str,
    permission: str,
    resource: str,
    *,
    context: dict[str, Any] | None = None,
    any_context: bool = False,
    engine: str = "smt",
) -> CanAnswer:
    """Can ``principal`` use ``permission`` on ``resource``? With ``any_context`` the request time is
    free: allowed at some time (the witness gives one), denied at every time, or unknown. A resource
    ending in ``*`` (``//storage.googleapis.com/projects/_/buckets/b/objects/*``) asks about every
    resource name with that prefix (the witness gives one)."""
    index = _index(snapshot)
    member = index.resolve_principal(principal)
    target = index.resolve_resource(resource)
    return _can(index, member, permission, target, context, any_context, engine)


def _can(
    index: GcpIndex,
    member: str,
    permission: str,
    target: Target,
    context: dict[str, Any] | None,
    any_context: bool,
    engine: str,
) -> CanAnswer:
    if engine not in ("smt", "reference"):
        raise ValueError(f"unknown engine {engine!r} (smt or reference)")
    policies = index.policy_set(member, target)
    request = _request(target, member, permission, context)
    notes = list(target.notes)
    if permission not in index.catalog:
        notes.append(f"no collected role grants {permission}")
    prefix = request.name[:-1] if request.name and request.name.endswith("*") else None
    if engine == "smt":
        answer = decide_smt(request, policies, any_context, name_prefix=prefix, cache=index.verdicts)
    else:
        prepared = prepare(member, permission, policies)
        answer = evaluate_prepared(prepared, request)
        reads = set().union(*(cel.attributes_used(c.condition) for c in prepared.cases() if c.condition is not None))
        free = ({"request.time"} if any_context else set()) | ({"resource.name"} if prefix is not None else set())
        if (free & reads) and (answer.decision != "allowed" or prefix is not None):
            answer = Answer(
                None,
                "unknown",
                [
                    {
                        "kind": "engine",
                        "detail": "the reference engine decides one concrete request; use the smt engine "
                        "for any time or any resource name under a prefix",
                    }
                ],
            )
    answer = _with_gaps(answer, target)
    applied = [
        {"policy": pid, "applies_as": f"{kind.value} on {node}"}
        for kind in (AttachmentKind.BINDING, AttachmentKind.DENY)
        for node in target.nodes
        for pid in index.attached.get((node, kind), ())
    ]
    return CanAnswer(
        principal=member, answer=answer, policies=applied, notes=[*notes, *target.allow_gaps, *target.deny_gaps]
    )


def _with_gaps(answer: Answer, target: Target) -> Answer:
    """Where a coverage gap could change the answer, it becomes unknown (and says why)."""
    blocking: tuple[str, ...] = ()
    if answer.decision == "allowed":
        blocking = target.deny_gaps
    elif answer.decision in ("implicit_deny",):
        blocking = target.allow_gaps
    if not blocking:
        return answer
    return Answer(
        None,
        "unknown",
        [{"kind": "coverage", "detail": g} for g in dict.fromkeys(blocking)]
        + [{"kind": "unproven", "detail": f"with what the snapshot holds the answer would be {answer.decision}"}],
        answer.witness,
    )


def who_can(
    snapshot: Snapshot | GcpIndex,
    permission: str,
    resource: str,
    *,
    context: dict[str, Any] | None = None,
    any_context: bool = False,
    engine: str = "smt",
) -> list[CanAnswer]:
    """Every Google Cloud principal that can (allowed) or might (unknown) use ``permission`` on
    ``resource``: the service accounts and users of the snapshot, and the member strings the
    applicable bindings name (``allUsers``, ``domain:...``, a pool's ``principalSet://``, a group
    whose members are unknown; a group with known members is expanded to them). An individual that
    might be included only through a group of unknown members is represented by that group, and
    one allowed only as one of ``allUsers`` / ``allAuthenticatedUsers`` by that entry."""
    index = _index(snapshot)
    target = index.resolve_resource(resource)
    bindings = _applicable_bindings(index, target, permission)
    candidates: dict[str, None] = {}
    for p in index.principals.values():
        if p.kind in INDIVIDUAL_KINDS or (p.kind is PrincipalKind.GCP_WORKLOAD_IDENTITY_POOL and "/subject/" in p.id):
            candidates[p.id] = None
    for member in _members(bindings):
        if member.startswith("deleted:"):
            continue
        if member.startswith("group:") and member in index.known_groups:
            candidates.update(dict.fromkeys(sorted(index.members.get(member, ()))))
            continue
        if member.startswith("serviceAccount:") and member not in index.principals:
            continue
        candidates[member] = None
    out: list[CanAnswer] = []
    public = ("allUsers", "allAuthenticatedUsers")
    candidates = dict.fromkeys([*(m for m in public if m in candidates), *candidates])  # public sets first
    open_to: set[str] = set()
    (named,) = compile_bindings({"bindings": [{"role": "", "members": _members(bindings)}]})
    for member in candidates:
        groups, _, aliases, _ = index.facts(member)
        probe = PolicySet(groups=groups, aliases=aliases)
        if not binding_members(named, member, principal_keys(member, probe), frozenset(), probe):
            continue  # no applicable binding can include it: not allowed, whatever else holds
        result = _can(index, member, permission, target, context, any_context, engine)
        if member in public and result.answer.decision == "allowed":
            open_to.add(member)
        if (
            result.answer.decision == "allowed"
            and member not in public
            and open_to
            and all(r.get("member") in open_to for r in result.answer.reasons)
        ):
            continue  # allowed only as one of allUsers / allAuthenticatedUsers, which are listed
        if result.answer.decision in ("allowed", "unknown"):
            if member.startswith("group:") and member not in index.known_groups:
                result.notes.append(f"the members of {member} are not known: this stands for any of them")
            out.append(result)
    return out


def _applicable_bindings(index: GcpIndex, target: Target, permission: str) -> list[dict[str, Any]]:
    """Bindings on the ancestry whose role grants ``permission`` or is not in the snapshot."""
    out = []
    for node in target.nodes:
        for pid in index.attached.get((node, AttachmentKind.BINDING), ()):
            for b in index.policies[pid].document.get("bindings") or ():
                role = str(b.get("role", ""))
                if role not in index.roles or permission in index.roles[role]:
                    out.append(b)
    return out


def _members(bindings: Iterable[dict[str, Any]]) -> list[str]:
    return list(dict.fromkeys(str(m) for b in bindings for m in b.get("members") or ()))


__all__ = ["CanAnswer", "GcpIndex", "QueryError", "Target", "can", "who_can"]
