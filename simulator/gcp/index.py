"""A snapshot's Google Cloud objects indexed for questions, and how a question's principal and
resource are resolved against them.

What applies to a request is gathered from the snapshot (conventions in the model docs):

- the resource's ancestry: the resource itself when the snapshot holds its own IAM policy (a
  :class:`models.Resource` whose id is the Cloud Asset name, e.g. a bucket; a service account's
  own policy, attached to ``serviceAccount:EMAIL``), its project, the project's folders and its
  organization (``Scope.parent_id``; where Cloud Asset named a project's folders but not their
  order, the scope's ``ancestors`` attribute lists them all: evaluation is a union over the
  ancestry, so the order does not change a decision);
- the allow policies (GCP_BINDINGS, attached BINDING) and deny policies (GCP_DENY, attached DENY)
  on those nodes; the role definitions (GCP_ROLE, by role name; ``Policy.disabled`` / ``deleted``:
  the role grants nothing);
- the principal's groups (``Principal.member_of``), whether each group's members are known
  (``Principal.members_known``) and whether the principal is disabled or deleted.

Snapshots stored before the typed fields carry the same facts in ``attributes`` (``membersKnown``,
``disabled``, ``deleted``; a role's ``stage`` and ``deleted`` in its document): those are read when
the typed field says nothing.

Coverage gaps are matched by their typed fields (``cloud``, ``scope_id``, ``covers``, ``target``)
and weighed by what the missing data could do (:mod:`simulator.core.gaps`): allow policies not
read could allow, deny policies not read could deny, a hierarchy not read could do both. Entries
written before ``covers`` existed are matched by their service and operation.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass

from models import AttachmentKind, Cloud, CoverageEntry, Covers, PolicyKind, Principal, Snapshot
from simulator.core import Gap, QueryError
from simulator.gcp.encode import Verdict
from simulator.gcp.reference import CompiledBinding, PolicySet, compile_bindings, gke_identity

SCOPE_PREFIXES = ("projects/", "folders/", "organizations/")
FULL_NAME = re.compile(r"//(?P<host>[^/]+)/(?P<path>.*)")
SA_PATH = re.compile(r"projects/(?P<project>[^/]+)/serviceAccounts/(?P<sa>[^/]+)")
EMAIL = re.compile(r"[^@\s:/]+@[^@\s:/]+\.[^@\s:/]+")
SA_EMAIL_PROJECT = re.compile(r"[^@]+@([a-z][a-z0-9-]+)\.iam\.gserviceaccount\.com")
#: Default service accounts name their project: ``N-compute@developer...`` by number, ``P@appspot...`` by id.
DEFAULT_SA_PROJECT = re.compile(
    r"(\d+)-compute@developer\.gserviceaccount\.com|([a-z][a-z0-9-]+)@appspot\.gserviceaccount\.com"
)
DOMAIN = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+")
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
PRINCIPAL_FORMS = (
    "serviceAccount:EMAIL, user:EMAIL, group:EMAIL, domain:DOMAIN, allUsers, allAuthenticatedUsers, "
    "serviceAccount:PROJECT.svc.id.goog[NAMESPACE/KSA] or a principal:// / principalSet:// identifier"
)


@dataclass(frozen=True, kw_only=True)
class Target:
    """A resolved resource: its nodes (resource first), the CEL attributes, the coverage gaps that
    touch it and notes for the caller."""

    resource: str
    nodes: tuple[str, ...]
    name: str | None
    type: str | None
    service: str | None
    gaps: tuple[Gap, ...]
    notes: tuple[str, ...]


def covers(entry: CoverageEntry) -> frozenset[Covers]:
    """What ``entry`` covers: its typed ``covers``, or for an entry written before them, what its
    service and operation read."""
    if entry.covers:
        return frozenset(entry.covers)
    op = entry.operation
    if op.startswith("policies."):
        return frozenset({Covers.DENY_POLICIES})
    if "getIamPolicy" in op:
        return frozenset({Covers.RESOURCE_POLICIES if op.startswith("serviceAccounts.") else Covers.ALLOW_POLICIES})
    if entry.service == "cloudasset":
        return frozenset({Covers.ORGANIZATION, Covers.ALLOW_POLICIES, Covers.RESOURCE_POLICIES})
    if entry.service == "cloudresourcemanager":
        return frozenset({Covers.ORGANIZATION})
    if op.startswith("roles."):
        return frozenset({Covers.ROLES})
    return frozenset()


def principal_disabled(p: Principal) -> bool:
    """Disabled or deleted: typed fields, else the attributes of older snapshots."""
    return p.disabled or p.deleted or p.attributes.get("disabled") == "true" or p.attributes.get("deleted") == "true"


def members_known(p: Principal) -> bool | None:
    if p.members_known is not None:
        return p.members_known
    said = p.attributes.get("membersKnown")
    return None if said is None else said == "true"


class GcpIndex:
    """A snapshot's Google Cloud objects indexed for questions (module docstring)."""

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
        # Compiled on first use: a batch of questions touches few of a large estate's policies.
        self.compiled: dict[int, tuple[CompiledBinding, ...]] = {}
        # The bindings of a compiled document whose role may grant a permission (reference._relevant).
        self.relevant: dict[tuple[int, str], tuple[tuple[CompiledBinding, bool | None], ...]] = {}
        self.verdicts: dict[object, Verdict] = {}
        self.roles: dict[str, frozenset[str]] = {}
        disabled: set[str] = set()
        for policy in self.policies.values():
            if policy.kind is PolicyKind.GCP_ROLE:
                doc = policy.document
                perms = doc.get("includedPermissions") or ()
                self.roles[policy.id] = frozenset(str(x) for x in perms)
                if (
                    policy.disabled
                    or policy.deleted
                    or policy.attributes.get("deleted") == "true"
                    or bool(doc.get("deleted"))
                    or str(doc.get("stage", "")).upper() == "DISABLED"
                ):
                    disabled.add(policy.id)
        self.disabled_roles = frozenset(disabled)
        self.catalog = frozenset().union(*self.roles.values()) if self.roles else frozenset()
        self.members: dict[str, set[str]] = defaultdict(set)
        for p in self.principals.values():
            for group in p.member_of:
                self.members[group].add(p.id)
        # A group is known when its members were read in full (members_known), or (snapshots that
        # do not say) some principal lists it; never when the collector says they were not.
        said = {p.id: members_known(p) for p in self.principals.values()}
        self.known_groups = {g for g in self.members if said.get(g) is not False} | {
            g for g, known in said.items() if known is True
        }
        self.named_groups = self._groups_named()
        # Groups named somewhere whose members are not known: one frozenset shared by every
        # question (facts() removes the principal's own groups only when it has any).
        self._unknown_named = frozenset(g for g in self.named_groups if g not in self.known_groups)
        self._facts: dict[str, tuple[frozenset[str], frozenset[str], frozenset[str], bool]] = {}
        # Whether any policy names the service accounts of a project, folder or organization.
        self._names_sa_sets = any(
            "/type/ServiceAccount" in json.dumps(p.document)
            for p in self.policies.values()
            if p.kind in (PolicyKind.GCP_BINDINGS, PolicyKind.GCP_DENY)
        )
        self.gaps = [(e, covers(e)) for e in snapshot.coverage if e.is_gap and e.cloud in (None, Cloud.GCP)]
        self.asset_inventory_read = any(
            not e.is_gap
            and e.cloud in (None, Cloud.GCP)
            and e.service == "cloudasset"
            and Covers.RESOURCE_POLICIES in covers(e)
            for e in snapshot.coverage
        )
        self._targets: dict[str, Target] = {}
        self._sa_ancestry: dict[str, frozenset[str] | None] = {}

    # --- principals ---------------------------------------------------------------------------

    def resolve_principal(self, ref: str) -> tuple[str, tuple[str, ...]]:
        """The member string for ``ref`` (a member string, or a bare email) and notes about it.
        A well-formed principal the snapshot does not list is answered, not refused; text that is
        no Google Cloud principal raises :class:`QueryError`."""
        ref = ref.strip()
        member = self._member(ref)
        if member in self.principals or member in ("allUsers", "allAuthenticatedUsers"):
            return member, ()
        return member, (
            f"{member} is not in snapshot {self.snapshot.id}: it is answered from the bindings that name it "
            "or a set that holds it",
        )

    def _member(self, ref: str) -> str:
        if ref in ("allUsers", "allAuthenticatedUsers"):
            return ref
        if ref.startswith(("principal://", "principalSet://")):
            if not re.fullmatch(r"principal(?:Set)?://[^/\s]+/\S+", ref):
                raise QueryError(f"{ref!r} is not a principal:// or principalSet:// identifier")
            return ref
        prefix, sep, value = ref.partition(":")
        value = value.lower()
        if sep and prefix in ("user", "group"):
            if not EMAIL.fullmatch(value):
                raise QueryError(f"{ref!r}: {prefix}: takes an email address")
            return f"{prefix}:{value}"
        if sep and prefix == "domain":
            if not DOMAIN.fullmatch(value):
                raise QueryError(f"{ref!r}: domain: takes a domain name")
            return f"domain:{value}"
        if sep and prefix == "serviceAccount":
            member = f"serviceAccount:{value}"
            if not EMAIL.fullmatch(value) and gke_identity(member) is None:
                raise QueryError(f"{ref!r}: serviceAccount: takes an email or PROJECT.svc.id.goog[NAMESPACE/KSA]")
            return member
        if not sep and gke_identity(f"serviceAccount:{ref}") is not None:
            return f"serviceAccount:{ref.lower()}"
        if not sep and EMAIL.fullmatch(ref):
            email = ref.lower()
            for kind in ("serviceAccount", "user", "group"):
                if f"{kind}:{email}" in self.principals:
                    return f"{kind}:{email}"
            if email.endswith(".gserviceaccount.com"):
                return f"serviceAccount:{email}"
            return f"user:{email}"  # an email of no listed kind: a Google Account is the usual one
        raise QueryError(f"{ref!r} is not a Google Cloud principal: use {PRINCIPAL_FORMS}")

    def facts(self, member: str) -> tuple[frozenset[str], frozenset[str], frozenset[str], bool]:
        """(groups, groups with unknown members, aliases, disabled) of a principal. A principal the
        snapshot does not list is in no group whose members are known, and may be in any other.
        Cached per member (the snapshot does not change under the index)."""
        cached = self._facts.get(member)
        if cached is not None:
            return cached
        p = self.principals.get(member)
        groups = set(p.member_of) if p else set()
        if member.startswith("group:"):
            groups.add(member)
        unknown = self._unknown_named - groups if groups & self._unknown_named else self._unknown_named
        aliases = frozenset({p.native_id} if p and p.native_id else ())
        out = (frozenset(groups), unknown, aliases, bool(p and principal_disabled(p)))
        self._facts[member] = out
        return out

    def sa_project(self, member: str) -> str | None:
        """The project (scope id) a service account belongs to: from a service account list, or
        from its email; None when neither says (a principal seen only in a binding is filed under
        the binding's scope, which says nothing about where it lives)."""
        if not member.startswith("serviceAccount:") or gke_identity(member) is not None:
            return None
        p = self.principals.get(member)
        if p is not None and p.native_id:
            return p.scope_id
        email = member[len("serviceAccount:") :]
        m = SA_EMAIL_PROJECT.fullmatch(email)
        if m:
            return self.project_of(m.group(1)) or f"projects/{m.group(1)}"
        d = DEFAULT_SA_PROJECT.fullmatch(email)
        if d:
            ident = d.group(1) or d.group(2)
            return self.project_of(ident) or f"projects/{ident}"
        return None

    def sa_ancestry(self, member: str) -> frozenset[str] | None:
        """A service account's project and the project's ancestors by number (``projects/123``,
        ``folders/4``, ``organizations/5``), or None when any of it is not known."""
        if member in self._sa_ancestry:
            return self._sa_ancestry[member]
        out: frozenset[str] | None = None
        project = self.sa_project(member)
        if project is not None:
            gaps: list[Gap] = []
            nodes = self.ancestry(project, gaps)
            numbers = set()
            for node in nodes:
                scope = self.scopes[node]
                number = scope.attributes.get("projectNumber") if node.startswith("projects/") else node
                if number is None:
                    break
                numbers.add(number if "/" in number else f"projects/{number}")
            else:
                # only a hierarchy that cannot be followed hides where the project sits
                out = None if any(g.could_allow and g.could_deny for g in gaps) else frozenset(numbers)
        self._sa_ancestry[member] = out
        return out

    def principal_gaps(self, member: str) -> tuple[Gap, ...]:
        """Gaps about the principal itself: a service account list of its project that was not
        read leaves open whether it is disabled or deleted (which would make it deny everything),
        so a proven allow is not proven."""
        if not member.startswith("serviceAccount:") or gke_identity(member) is not None:
            return ()
        p = self.principals.get(member)
        project = p.scope_id if p else None
        if project is None:
            m = SA_EMAIL_PROJECT.fullmatch(member[len("serviceAccount:") :])
            project = (self.project_of(m.group(1)) or f"projects/{m.group(1)}") if m else None
        return tuple(
            Gap(
                detail=f"whether {member} is disabled is not known: {entry.service} {entry.operation} on "
                f"{entry.scope_id}: {entry.detail or entry.status}",
                could_deny=True,
                scope=entry.scope_id,
            )
            for entry, what in self.gaps
            if Covers.PRINCIPALS in what and entry.service == "iam" and entry.scope_id == project
        )

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
        """The resource's nodes, attributes and gaps (cached: a batch asks about few resources)."""
        ref = ref.strip()
        if ref not in self._targets:
            self._targets[ref] = self._resolve(ref)
        return self._targets[ref]

    def _resolve(self, ref: str) -> Target:
        m = FULL_NAME.fullmatch(ref)
        host, path = (m.group("host"), m.group("path")) if m else (None, ref)
        gaps: list[Gap] = []
        notes: list[str] = []
        scope_id: str | None = None
        own = self._own_policy_nodes(ref, path, host, gaps, notes)
        sa = SA_PATH.fullmatch(path)
        if host in (None, "cloudresourcemanager.googleapis.com") and re.fullmatch(
            r"(projects|folders|organizations)/[^/]+", path
        ):
            kind, _, ident = path.partition("/")
            scope_id = (self.project_of(ident) if kind == "projects" else path) or path
        elif sa:
            principal = self.principals.get("serviceAccount:" + sa.group("sa").lower())
            project = sa.group("project")
            scope_id = self.project_of(project) if project != "-" else None
            if scope_id is None and principal is not None:
                scope_id = principal.scope_id
            if scope_id is None and project == "-":
                raise QueryError(f"cannot tell which project service account resource {ref} belongs to")
            scope_id = scope_id or f"projects/{project}"
        elif host is not None:
            held = [r for r in own if r in self.resources]
            pm = re.match(r"projects/([^/]+)", path)
            if pm and pm.group(1) != "_":
                scope_id = self.project_of(pm.group(1)) or f"projects/{pm.group(1)}"
            elif held and self.resources[held[0]].scope_id.startswith(SCOPE_PREFIXES):
                scope_id = self.resources[held[0]].scope_id
        if scope_id is None:
            raise QueryError(
                f"cannot tell which project {ref} belongs to: give a full name with its project "
                "(//SERVICE.googleapis.com/projects/P/...) or a resource the snapshot holds"
            )
        nodes = [*own, *self.ancestry(scope_id, gaps)]
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
            gaps=tuple(dict.fromkeys(gaps)),
            notes=tuple(notes),
        )

    def _own_policy_nodes(self, ref: str, path: str, host: str | None, gaps: list[Gap], notes: list[str]) -> list[str]:
        """Nodes below the project whose own IAM policy applies (resource first)."""
        sa = SA_PATH.fullmatch(path)
        if sa:
            member = "serviceAccount:" + sa.group("sa").lower()
            owner = self.principals.get(member)
            names = {
                member,
                member[len("serviceAccount:") :],
                *([owner.native_id] if owner and owner.native_id else []),
            }
            for entry, what in self.gaps:
                if Covers.RESOURCE_POLICIES not in what or entry.service != "iam":
                    continue
                if (entry.target is not None and entry.target in names) or (
                    entry.target is None and owner is not None and entry.scope_id == owner.scope_id
                ):
                    gaps.append(
                        Gap(
                            detail=f"the IAM policy of {member} was not read: {entry.detail or entry.status}",
                            could_allow=True,
                            scope=entry.scope_id,
                        )
                    )
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
                # A resource's own allow policy can only grant (deny policies attach to scopes).
                gaps.append(
                    Gap(
                        detail=f"the resource-level IAM policy of {ref} was not collected (no asset inventory read)",
                        could_allow=True,
                    )
                )
        return held

    def ancestry(self, scope_id: str, gaps: list[Gap]) -> list[str]:
        """The scope and its ancestors, bottom up; a chain that cannot be followed is a gap. A
        scope's ``ancestors`` attribute (Cloud Asset named its folders, not their order) adds all
        of them, whether its parent is known or not."""
        out: list[str] = []
        pending: list[str] = [scope_id]
        while pending:
            current = pending.pop(0)
            if current in out:
                continue
            scope = self.scopes.get(current)
            if scope is None:
                gaps.append(
                    Gap(
                        detail=f"{current} is not in the snapshot: its policies and ancestors are unknown",
                        could_allow=True,
                        could_deny=True,
                        scope=current,
                    )
                )
                continue
            out.append(current)
            gaps.extend(self._scope_gaps(current))
            listed = scope.attributes.get("ancestors", "").split()
            if scope.parent_id is not None:
                pending.append(scope.parent_id)
            elif current.startswith("folders/") and not listed:
                # every folder has a parent (a folder or the organization): one not known hides both
                gaps.append(
                    Gap(
                        detail=f"the parent of {current} is not in the snapshot: its ancestors' policies are unknown",
                        could_allow=True,
                        could_deny=True,
                        scope=current,
                    )
                )
            pending.extend(a for a in listed if a not in out)
        return out

    def _scope_gaps(self, node: str) -> list[Gap]:
        out = []
        for entry, what in self.gaps:
            about = (
                entry.scope_id == node or entry.target == node or (not entry.covers and node in entry.operation.split())
            )
            if not about:
                continue
            text = f"{entry.service} {entry.operation} on {entry.scope_id}: {entry.detail or entry.status}"
            if Covers.ORGANIZATION in what:
                out.append(Gap(detail=f"hierarchy not read: {text}", could_allow=True, could_deny=True, scope=node))
            if Covers.DENY_POLICIES in what:
                out.append(Gap(detail=f"deny policies not read: {text}", could_deny=True, scope=node))
            if Covers.ALLOW_POLICIES in what:
                out.append(Gap(detail=f"IAM policy not read: {text}", could_allow=True, scope=node))
        return out

    @staticmethod
    def _type_of(path: str, host: str | None) -> tuple[str | None, str | None]:
        for pattern, service, rtype in TYPES:
            if pattern.fullmatch(path) and (host is None or host == service):
                return service, rtype
        return host, None

    # --- policies -----------------------------------------------------------------------------

    def policy_set(self, principal: str, target: Target) -> PolicySet:
        allow_ids = [pid for node in target.nodes for pid in self.attached.get((node, AttachmentKind.BINDING), ())]
        for pid in allow_ids:
            document = self.policies[pid].document
            if id(document) not in self.compiled:
                self.compiled[id(document)] = compile_bindings(document)
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
            allow_ids=tuple(allow_ids),
            disabled_roles=self.disabled_roles,
            sa_ancestry=self.sa_ancestry(principal) if self._names_sa_sets else None,
            relevant=self.relevant,
        )
