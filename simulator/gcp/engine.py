"""Google Cloud behind the core :class:`~simulator.core.Engine` protocol.

``GcpEngine(snapshot, at)`` answers :class:`~simulator.core.Ask` questions about the snapshot's
Google Cloud estate at request time ``at``:

- ``can(ask)``: the principal is a member string (``serviceAccount:EMAIL``, ``user:EMAIL``,
  ``group:EMAIL``, ``domain:D``, ``allUsers``, ``allAuthenticatedUsers``, a GKE member
  ``serviceAccount:P.svc.id.goog[NS/KSA]``, a ``principal://`` / ``principalSet://`` identifier)
  or a bare email. One the snapshot does not list is answered all the same: it is in no group
  whose members are known, so it is allowed only by bindings that name it or a set holding it
  (``allUsers``, ``domain:``), unknown where a group of unknown membership could hold it, else
  an implicit deny with its reason. Text that is no principal is a :class:`QueryError`.
- ``who_can(ask)``: the snapshot's service accounts, users and workload identity subjects, and
  every member the applicable bindings admit that the snapshot does not list as a principal
  (``allUsers``, ``allAuthenticatedUsers``, ``domain:``, groups, workload identity pool sets, GKE
  members), each allowed (with a witness naming that member) or unknown (with the reason); a
  group whose members are known stands for them, one whose members are not stands for any of
  them (an individual that only such a group could hold is represented by the group). A principal
  allowed only as one of ``allUsers`` / ``allAuthenticatedUsers`` (which are listed) is left out,
  and so is everyone proven denied.

Request attributes: ``request.time`` is ``ask.at`` unless ``ask.context["request.time"]`` gives
one; with ``ask.free_context`` (and no time given) it is free: allowed at some time (the witness
gives one), denied at every time. ``resource.name`` / ``resource.type`` / ``resource.service``
follow from the resource (and the context may set them); a resource ending in ``*`` asks about
every resource name with that prefix. ``ask.method`` picks the z3 encoding (``smt``) or the
reference evaluator (``reference``: one concrete request; a free time or name is unknown there).

``depends_on`` names the documents that decided the answer: for ``allowed``, the allow policies
and roles of the deciding bindings and the deny policies on the ancestry (none of which denied);
for ``explicit_deny``, the deny policies of the deciding rules; otherwise every allow and deny
policy on the ancestry and every role they bind.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from models import AttachmentKind, Cloud, PolicyKind, PrincipalKind, Snapshot
from simulator.core import (
    Answer,
    Ask,
    Considered,
    Decision,
    ExternalToken,
    Method,
    QueryError,
    Reason,
    ReasonKind,
    weigh,
)
from simulator.gcp import cel
from simulator.gcp.encode import decide_smt
from simulator.gcp.index import GcpIndex, Target
from simulator.gcp.reference import (
    Outcome,
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
PUBLIC = ("allUsers", "allAuthenticatedUsers")
CONTEXT_KEYS = ("request.time", "resource.name", "resource.type", "resource.service")


class GcpEngine:
    """The Google Cloud engine over one snapshot at one request time (module docstring)."""

    cloud = Cloud.GCP

    def __init__(self, snapshot: Snapshot, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("GcpEngine: the request time must be timezone-aware")
        self.snapshot = snapshot
        self.at = at
        self.index = GcpIndex(snapshot)
        self._considered: dict[tuple[str, ...], tuple[Considered, ...]] = {}
        self._bound_roles: dict[tuple[str, ...], tuple[str, ...]] = {}
        #: What the mint-graph edge finder keeps between find_edges and find_admins on this
        #: engine's estate (simulator.gcp.edges; the engine itself never reads it).
        self.edge_context: object | None = None

    def principals(self) -> tuple[str, ...]:
        """Every Google Cloud principal of the snapshot (member strings)."""
        return tuple(self.index.principals)

    def can(self, ask: Ask) -> Answer:
        if ask.principal is None:
            raise QueryError("can needs a principal (who-can asks about everyone)")
        if isinstance(ask.principal, ExternalToken):
            reason = Reason(
                kind=ReasonKind.ENGINE,
                detail="Google Cloud is asked about a federated identity by its member string: "
                "principal://iam.googleapis.com/projects/N/locations/global/workloadIdentityPools/POOL/subject/SUBJECT",
            )
            return Answer(ask=ask, principal=ask.principal.id, decision=Decision.UNKNOWN, reasons=(reason,))
        member, notes = self.index.resolve_principal(ask.principal)
        target = self.index.resolve_resource(ask.resource)
        return self._answer(ask, member, target, notes)

    def who_can(self, ask: Ask) -> tuple[Answer, ...]:
        if ask.principal is not None:
            raise QueryError("who-can takes no principal")
        index = self.index
        target = index.resolve_resource(ask.resource)
        admitted = self._admitted_members(target, ask.action)
        candidates: dict[str, None] = {}
        for p in index.principals.values():
            if p.kind in INDIVIDUAL_KINDS or (
                p.kind is PrincipalKind.GCP_WORKLOAD_IDENTITY_POOL and "/subject/" in p.id
            ):
                candidates[p.id] = None
        for member in admitted:
            if member.startswith("deleted:"):
                continue
            canonical = _canonical(member)
            if canonical.startswith("group:") and canonical in index.known_groups:
                candidates.update(dict.fromkeys(sorted(index.members.get(canonical, ()))))
                continue
            candidates[canonical] = None
        candidates = dict.fromkeys([*(m for m in PUBLIC if m in candidates), *candidates])  # public sets first
        (named,) = compile_bindings({"bindings": [{"role": "", "members": admitted}]})
        out: list[Answer] = []
        open_to: set[str] = set()
        for member in candidates:
            groups, _, aliases, _ = index.facts(member)
            probe = PolicySet(groups=groups, aliases=aliases)
            if not binding_members(named, member, principal_keys(member, probe), frozenset(), probe):
                continue  # no applicable binding can include it: not allowed, whatever else holds
            notes: tuple[str, ...] = ()
            if member not in index.principals and member not in PUBLIC:
                notes = (f"{member} is not a principal of snapshot {self.snapshot.id}: a binding names it",)
            answer = self._answer(ask, member, target, notes)
            if member in PUBLIC and answer.decision is Decision.ALLOWED:
                open_to.add(member)
            if (
                answer.decision is Decision.ALLOWED
                and member not in PUBLIC
                and open_to
                and all(r.member in open_to for r in answer.reasons if r.kind is ReasonKind.BINDING)
            ):
                continue  # allowed only as one of allUsers / allAuthenticatedUsers, which are listed
            if answer.decision in (Decision.ALLOWED, Decision.UNKNOWN):
                if member.startswith("group:") and member not in index.known_groups:
                    answer = answer.with_notes([f"the members of {member} are not known: this stands for any of them"])
                out.append(answer)
        return tuple(out)

    # --- one answer ---------------------------------------------------------------------------

    def _answer(self, ask: Ask, member: str, target: Target, notes: tuple[str, ...]) -> Answer:
        index = self.index
        request = self._request(ask, target, member)
        policies = index.policy_set(member, target)
        any_time = ask.free_context and "request.time" not in ask.context
        prefix = request.name[:-1] if request.name and request.name.endswith("*") else None
        if ask.method is Method.SMT:
            outcome = decide_smt(request, policies, any_time, name_prefix=prefix, cache=index.verdicts)
        else:
            outcome = self._reference(request, policies, any_time, prefix)
        extra = list(target.notes) + list(notes)
        if ask.action not in index.catalog:
            extra.append(f"no collected role grants {ask.action}")
        considered = self._considered_on(target)
        answer = Answer(
            ask=ask,
            principal=member,
            decision=outcome.decision,
            witness=outcome.witness,
            reasons=outcome.reasons,
            considered=considered,
            depends_on=self._depends_on(outcome, target, considered),
            notes=tuple(dict.fromkeys(extra)),
        )
        return weigh(answer, (*target.gaps, *index.principal_gaps(member)))

    def _reference(self, request: Request, policies: PolicySet, any_time: bool, prefix: str | None) -> Outcome:
        prepared = prepare(request.principal, request.permission, policies)
        outcome = evaluate_prepared(prepared, request)
        reads = set().union(*(cel.attributes_used(c.condition) for c in prepared.cases() if c.condition is not None))
        free = ({"request.time"} if any_time else set()) | ({"resource.name"} if prefix is not None else set())
        if (free & reads) and (outcome.decision is not Decision.ALLOWED or prefix is not None):
            detail = (
                "the reference engine decides one concrete request; use the smt engine for any time or any "
                "resource name under a prefix"
            )
            return Outcome(decision=Decision.UNKNOWN, reasons=(Reason(kind=ReasonKind.ENGINE, detail=detail),))
        return outcome

    def _request(self, ask: Ask, target: Target, principal: str) -> Request:
        at = ask.at
        values: dict[str, str | None] = {
            "resource.name": target.name,
            "resource.type": target.type,
            "resource.service": target.service,
        }
        for key, given in ask.context.items():
            if key not in CONTEXT_KEYS:
                raise QueryError(
                    f"--context {key}: Google Cloud requests take request.time, resource.name, "
                    "resource.type and resource.service"
                )
            if len(given) != 1:
                raise QueryError(f"--context {key}: a Google Cloud request carries one value, got {len(given)}")
            if key == "request.time":
                parsed = cel.parse_timestamp(given[0])
                if isinstance(parsed, cel.Opaque):
                    raise QueryError(f"--context request.time: {parsed.reason}")
                at = parsed
            else:
                values[key] = given[0]
        return Request(
            principal=principal,
            permission=ask.action,
            resource=target.resource,
            time=at,
            name=values["resource.name"],
            type=values["resource.type"],
            service=values["resource.service"],
        )

    # --- documents ----------------------------------------------------------------------------

    def _considered_on(self, target: Target) -> tuple[Considered, ...]:
        if target.nodes not in self._considered:
            policies = self.index.policies
            self._considered[target.nodes] = tuple(
                Considered(policy=pid, applies_as=f"{kind.value} on {node}", digest=policies[pid].digest)
                for kind in (AttachmentKind.BINDING, AttachmentKind.DENY)
                for node in target.nodes
                for pid in self.index.attached.get((node, kind), ())
            )
        return self._considered[target.nodes]

    def _roles_bound(self, target: Target) -> tuple[str, ...]:
        if target.nodes not in self._bound_roles:
            roles: dict[str, None] = {}
            for node in target.nodes:
                for pid in self.index.attached.get((node, AttachmentKind.BINDING), ()):
                    for b in self.index.policies[pid].document.get("bindings") or ():
                        roles[str(b.get("role", ""))] = None
            self._bound_roles[target.nodes] = tuple(r for r in roles if r in self.index.policies)
        return self._bound_roles[target.nodes]

    def _depends_on(self, outcome: Outcome, target: Target, considered: Iterable[Considered]) -> tuple[str, ...]:
        policies = self.index.policies
        items = list(considered)
        if outcome.decision is Decision.ALLOWED:
            deciding = {r.policy for r in outcome.reasons if r.policy}
            roles = {r.role for r in outcome.reasons if r.role and r.role in policies}
            digests = [c.digest for c in items if c.policy in deciding or c.applies_as.startswith("deny ")]
            digests += [policies[r].digest for r in sorted(roles)]
        elif outcome.decision is Decision.EXPLICIT_DENY:
            deciding = {r.policy for r in outcome.reasons if r.policy}
            digests = [c.digest for c in items if c.policy in deciding]
        else:
            digests = [c.digest for c in items]
            digests += [
                policies[r].digest for r in self._roles_bound(target) if policies[r].kind is PolicyKind.GCP_ROLE
            ]
        return tuple(dict.fromkeys(d for d in digests if d))

    def _admitted_members(self, target: Target, permission: str) -> list[str]:
        """Members of the bindings on the ancestry whose role grants ``permission`` or is not in
        the snapshot (a disabled role grants nothing)."""
        index = self.index
        out: dict[str, None] = {}
        for node in target.nodes:
            for pid in index.attached.get((node, AttachmentKind.BINDING), ()):
                for b in index.policies[pid].document.get("bindings") or ():
                    role = str(b.get("role", ""))
                    if role in index.disabled_roles:
                        continue
                    if role not in index.roles or permission in index.roles[role]:
                        out.update(dict.fromkeys(str(m) for m in b.get("members") or ()))
        return list(out)


def _canonical(member: str) -> str:
    """A member string with its email or domain part lower-cased (as IAM compares them)."""
    prefix, sep, value = member.partition(":")
    if sep and prefix in ("user", "group", "serviceAccount", "domain"):
        return f"{prefix}:{value.lower()}"
    return member


__all__ = ["GcpEngine"]
