"""IAM edges: principal access (P obtains another user's credentials or a role's trust) and
permission rewrites that make a principal admin-equivalent (P -> P, or P -> T it can then act as).

Every request is answered by the AWS engine (through :class:`simulator.aws.edges_assume.Asker`:
over every context the caller controls, facts fixed, the condition named); only principals whose
identity policies could allow the action on the target are asked (:class:`Grants`). IAM has no
resource-based policies, so a principal only ever acts on IAM resources of its own account: the
others are never asked. Service-linked roles are never targets (AWS refuses changes to their
trust and permissions).

**Principal access** (not ``escalates``):

- ``iam:CreateAccessKey`` on user U: P -> U, unless U already holds two access keys (active or
  not: AWS allows two in all); ``iam:CreateLoginProfile`` only when U has no console password,
  ``iam:UpdateLoginProfile`` only when it has one. The snapshot's credentials (credential report,
  listed access keys) say which; when their read failed in U's account the edge is unknown. A
  console sign-in of a user with MFA asks for the MFA device: such an edge holds "only with U's
  MFA device".
- ``iam:UpdateAssumeRolePolicy`` on role R, then ``sts:AssumeRole``: P -> R. P writes R's whole
  trust policy, admitting itself; the second answer is the engine's over the changed snapshot
  (R's trust replaced by one naming P's ARN), so AWS's rules decide whether P's own policies must
  also allow ``sts:AssumeRole`` (across accounts they must; in R's account the trust naming P
  grants it, as far as P's boundary lets it) and SCPs and Denies still apply.

**Escalation** (``escalates``: after the edge its target is admin-equivalent). The changes:

- *write anything*: ``iam:PutUserPolicy`` / ``iam:PutRolePolicy`` (an inline policy allowing
  everything), ``iam:AttachUserPolicy`` / ``iam:AttachRolePolicy`` with ``iam:PolicyARN``
  ``AdministratorAccess``, ``iam:PutGroupPolicy`` / ``iam:AttachGroupPolicy`` on a group the user
  belongs to, ``iam:CreatePolicyVersion`` (set as default, which needs no other permission) on a
  customer managed policy attached to it or its groups — after ``iam:DeletePolicyVersion`` when
  it already has the five versions AWS keeps;
- ``iam:SetDefaultPolicyVersion`` to a version the snapshot holds, ``iam:AddUserToGroup`` into a
  group of its account: what they grant is fixed, so they escalate only when the result is
  admin-equivalent; a version that grants more than the default but not everything is a
  ``P -> P`` edge that does not escalate (a fact names one request it gains);
- ``iam:Delete{User,Role}PermissionsBoundary``, or ``iam:Put{User,Role}PermissionsBoundary`` with
  ``AdministratorAccess`` as the boundary (which caps nothing: taken as removing it): alone, when
  the identity policies were all the boundary held back; or before a write (the write is then
  answered without the boundary).

Whether the target is admin-equivalent *after* the change is decided by
:func:`simulator.aws.admins.decide_admin` over the snapshot with the change made, the same claim
the admin nodes rest on (SCP guardrails, boundaries, denies and contexts included). An edge is
kept when the target is not admin before and is proven admin after; undecided after, it is kept
unknown (with the reason); admin only in some contexts after (a Deny without MFA stays), it is
kept unknown unless the target already was so before. Sources that are admin-equivalent already
get no escalation edges (they are the end of every chain). A write on another principal counts
with a way into it: ``sts:AssumeRole`` as its trust stands, or the trust rewrite above, for a
role; an access key or console password above, for a user — mechanism ``iam:PutRolePolicy+
sts:AssumeRole``, ``iam:PutUserPolicy+iam:CreateAccessKey``, and so on, every answer kept.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from models import (
    Attachment,
    AttachmentKind,
    Cloud,
    Covers,
    CredentialKind,
    Policy,
    PolicyKind,
    Principal,
    PrincipalKind,
    Snapshot,
)
from simulator.aws.admins import AdminVerdict, Memo, Status, decide_admin
from simulator.aws.compare import compare
from simulator.aws.edges_assume import Asker, Grants, aws_engine, trust_candidates
from simulator.aws.engine import AwsEngine
from simulator.aws.policy import PolicyError, parse_policy
from simulator.core import Answer, Edge, Engine, Estate, Fact, Reason, ReasonKind, edge_from

ADMIN_POLICY_ARN = "arn:aws:iam::aws:policy/AdministratorAccess"
ALLOW_ALL: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}
#: AWS allows two access keys per user (active or inactive) and five versions per managed policy.
MAX_ACCESS_KEYS = 2
MAX_POLICY_VERSIONS = 5
ESCALATION_POLICY = "iamdrift-escalation"
_AFTER_SOURCE = "the snapshot with the change made (simulator.aws.admins)"

#: A world: the changes made to the snapshot, e.g. ("add",), ("unbind", "add"), ("replace", X),
#: ("default", X, VERSION), ("join", GROUP); each made for the targets planned with it.
WorldKey = tuple[str, ...]
_REAL: WorldKey = ()


@dataclass(frozen=True, kw_only=True)
class Step:
    """Requests used in order (``mechanism`` their actions joined by ``+``) and the facts they rest on."""

    mechanism: str
    answers: tuple[Answer, ...]
    facts: tuple[Fact, ...] = ()
    condition: str | None = None

    def then(self, other: Step) -> Step:
        parts = [p for c in (self.condition, other.condition) if c for p in c.split("; ")]
        condition = "; ".join(dict.fromkeys(parts)) or None
        return Step(
            mechanism=f"{self.mechanism}+{other.mechanism}",
            answers=self.answers + other.answers,
            facts=self.facts + other.facts,
            condition=condition,
        )


# --- worlds: the estate, or the estate with a change made -------------------------------------------------


class World:
    """An estate with its prefilter, asker and admin verdicts (each computed once)."""

    def __init__(self, estate: Estate) -> None:
        self.estate = estate
        engine = aws_engine(estate)
        assert engine is not None
        self.engine = engine
        self.grants = Grants(estate)
        self.asker = Asker(estate)
        self._memo = Memo()
        self._verdicts: dict[str, AdminVerdict] = {}

    def can(
        self, pid: str, action: str, resource: str, context: dict[str, tuple[str, ...]] | None = None
    ) -> Answer | None:
        """The answer when it can make an edge (allowed or undecided), else None."""
        if not self.grants.may(pid, action, resource):
            return None
        answer = self.asker.can(pid, action, resource, dict(context or {}))
        return None if answer.decision.denied else answer

    def step(self, action: str, answer: Answer, *facts: Fact, condition: str | None = None) -> Step:
        """One request as a step, with the condition its witness needs (asked in this world)."""
        parts = (self.asker.condition(answer), condition)
        return Step(
            mechanism=action, answers=(answer,), facts=facts, condition="; ".join(p for p in parts if p) or None
        )

    def verdict(self, pid: str) -> AdminVerdict:
        if pid not in self._verdicts:
            self._verdicts[pid] = decide_admin(self.estate, pid, engine=self.engine, memo=self._memo)
        return self._verdicts[pid]


def changed(snapshot: Snapshot, key: WorldKey, targets: Iterable[str], versions: dict[str, Policy]) -> Snapshot:
    """``snapshot`` with the changes of ``key`` made for ``targets`` (see :data:`WorldKey`)."""
    targets = set(targets)
    principals = list(snapshot.principals)
    policies = list(snapshot.policies)
    attachments = list(snapshot.attachments)
    ops = list(key)
    if "unbind" in ops:
        attachments = [a for a in attachments if not (a.kind is AttachmentKind.BOUNDARY and a.target_id in targets)]
    if "add" in ops:
        for t in sorted(targets):
            pid = f"{t}#inline:{ESCALATION_POLICY}"
            account = t.split(":")[4]
            policies.append(
                Policy(
                    id=pid,
                    cloud=Cloud.AWS,
                    kind=PolicyKind.INLINE,
                    name=ESCALATION_POLICY,
                    scope_id=account,
                    document=ALLOW_ALL,
                )
            )
            attachments.append(Attachment(policy_id=pid, target_id=t, kind=AttachmentKind.IDENTITY))
    if "replace" in ops or "default" in ops:
        policy_id = ops[ops.index("replace" if "replace" in ops else "default") + 1]
        if "replace" in ops:
            document = ALLOW_ALL
        else:
            version = ops[ops.index("default") + 2]
            document = next(v.document for v in versions[policy_id].versions if v.version_id == version)
        policies = [replace(p, document=document, versions=()) if p.id == policy_id else p for p in policies]
    if "join" in ops:
        group = ops[ops.index("join") + 1]
        principals = [
            replace(p, member_of=(*p.member_of, group)) if p.id in targets and group not in p.member_of else p
            for p in principals
        ]
    return replace(snapshot, principals=tuple(principals), policies=tuple(policies), attachments=tuple(attachments))


def rewritten_trusts(snapshot: Snapshot, admitted: dict[str, list[str]]) -> Snapshot:
    """``snapshot`` with each role's trust replaced by one admitting the principals listed for it
    (by ARN, ``sts:AssumeRole``): what ``iam:UpdateAssumeRolePolicy`` lets them write."""
    trusts: dict[str, str] = {}
    for a in snapshot.attachments:
        if a.kind is AttachmentKind.TRUST and a.target_id in admitted:
            trusts.setdefault(a.policy_id, a.target_id)
    policies = []
    for p in snapshot.policies:
        role = trusts.get(p.id)
        if role is not None:
            statement = {"Effect": "Allow", "Principal": {"AWS": sorted(admitted[role])}, "Action": "sts:AssumeRole"}
            p = replace(p, document={"Version": "2012-10-17", "Statement": [statement]}, versions=())
        policies.append(p)
    attachments = list(snapshot.attachments)
    for role in sorted(set(admitted) - set(trusts.values())):
        pid = f"{role}#trust"
        document = {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": sorted(admitted[role])}, "Action": "sts:AssumeRole"}
            ],
        }
        policies.append(
            Policy(
                id=pid,
                cloud=Cloud.AWS,
                kind=PolicyKind.TRUST,
                name="trust",
                scope_id=role.split(":")[4],
                document=document,
            )
        )
        attachments.append(Attachment(policy_id=pid, target_id=role, kind=AttachmentKind.TRUST))
    return replace(snapshot, policies=tuple(policies), attachments=tuple(attachments))


def _world(base: World, snapshot: Snapshot) -> World:
    timeout = base.engine.timeout_ms
    at = base.estate.at

    def factory(s: Snapshot, when: datetime) -> Engine:
        engine: Engine = AwsEngine(s, when, timeout_ms=timeout)
        return engine

    return World(Estate(snapshot, {Cloud.AWS: factory}, at))


# --- candidates ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Candidate:
    """An escalation to decide: ``steps`` make change ``key`` to ``target`` (then the way in, for
    another principal); the edge goes ``source`` -> ``target``."""

    source: str
    target: str
    steps: Step
    key: WorldKey


class _Finder:
    def __init__(self, estate: Estate) -> None:
        self.real = World(estate)
        index = self.real.engine.index
        self.snapshot = estate.snapshot
        self.index = index
        self.actors = [pid for pid in self.real.engine.principals() if pid in index.principals]
        self.users: dict[str, list[Principal]] = defaultdict(list)
        self.roles: dict[str, list[Principal]] = defaultdict(list)
        self.groups: dict[str, list[Principal]] = defaultdict(list)
        for p in index.principals.values():
            if p.disabled or p.deleted:
                continue
            if p.kind is PrincipalKind.AWS_USER:
                self.users[p.scope_id].append(p)
            elif p.kind is PrincipalKind.AWS_ROLE and not p.is_service_linked:
                self.roles[p.scope_id].append(p)
            elif p.kind is PrincipalKind.AWS_GROUP:
                self.groups[p.scope_id].append(p)
        self.credentials: dict[str, list[Any]] = defaultdict(list)
        for c in estate.snapshot.credentials:
            self.credentials[c.principal_id].append(c)
        self.edges: list[Edge] = []
        self.candidates: list[Candidate] = []
        self.plans: dict[WorldKey, set[str]] = defaultdict(set)
        self.worlds: dict[WorldKey, World] = {_REAL: self.real}
        self.user_ways: dict[tuple[str, str], list[Step]] = defaultdict(list)
        self.role_ways: dict[tuple[str, str], list[Step]] = defaultdict(list)
        self._trust_candidates: dict[str, set[str]] = {}
        self._open_to: dict[str, Mapping[str, list[Principal]]] = {}

    def run(self) -> list[Edge]:
        for pid in self.actors:
            self.credential_edges(pid)
        self.trust_edges()
        for pid in self.actors:
            if self.real.verdict(pid).status is Status.ADMIN:
                continue
            self.self_candidates(pid)
            self.other_candidates(pid)
        self.decide()
        return self.edges

    def account(self, pid: str) -> str:
        return self.index.principals[pid].scope_id

    def emit(self, source: str, target: str, s: Step, *, escalates: bool = False) -> None:
        edge = edge_from(
            source, target, Cloud.AWS, s.mechanism, s.answers, facts=s.facts, condition=s.condition, escalates=escalates
        )
        if edge is not None:
            self.edges.append(edge)

    # -- credentials of users ------------------------------------------------------------------------

    def credential_edges(self, pid: str) -> None:
        # A sound prefilter (any resource): actors whose policies never name an action ask nothing.
        actions = [
            a
            for a in ("iam:CreateAccessKey", "iam:CreateLoginProfile", "iam:UpdateLoginProfile")
            if self.real.grants.may(pid, a)
        ]
        if not actions:
            return
        for user in self.users[self.account(pid)]:
            if user.id == pid:
                continue
            for action in actions:
                s = self.credential_step(pid, user, action)
                if s is not None:
                    self.emit(pid, user.id, s)
                    self.user_ways[(pid, user.id)].append(s)

    def credential_step(self, pid: str, user: Principal, action: str) -> Step | None:
        creds = self.credentials.get(user.id, [])
        keys = [c for c in creds if c.kind is CredentialKind.ACCESS_KEY]
        password = any(c.kind is CredentialKind.PASSWORD for c in creds)
        where = f"snapshot credentials of {user.id}"
        if action == "iam:CreateAccessKey":
            if len(keys) >= MAX_ACCESS_KEYS:
                return None
            fact = Fact(what=f"{user.id} has {len(keys)} of the {MAX_ACCESS_KEYS} access keys AWS allows", source=where)
        elif action == "iam:CreateLoginProfile":
            if password:
                return None
            fact = Fact(what=f"{user.id} has no console password", source=where)
        else:
            fact = Fact(what=f"{user.id} has a console password", source=where)
        gaps = self.index.failed_reads(user.scope_id, (Covers.CREDENTIALS,), ("iam",))
        if action == "iam:UpdateLoginProfile" and not password and not gaps:
            return None
        answer = self.real.can(pid, action, user.id)
        if answer is None:
            return None
        if gaps:
            detail = f"the credentials of {user.scope_id} were not read ({gaps[0].operation}: {gaps[0].status})"
            answer = answer.unknown([Reason(kind=ReasonKind.COVERAGE, detail=detail)])
        mfa = action != "iam:CreateAccessKey" and any(c.mfa for c in creds)
        condition = f"only with an MFA device of {user.id}" if mfa else None
        return self.real.step(action, answer, fact, condition=condition)

    # -- trust rewrites --------------------------------------------------------------------------------

    def trust_edges(self) -> None:
        pending: dict[tuple[str, str], Answer] = {}
        for pid in self.actors:
            if not self.real.grants.may(pid, "iam:UpdateAssumeRolePolicy"):
                continue
            for role in self.roles[self.account(pid)]:
                if role.id != pid:
                    answer = self.real.can(pid, "iam:UpdateAssumeRolePolicy", role.id)
                    if answer is not None:
                        pending[(pid, role.id)] = answer
        if not pending:
            return
        admitted: dict[str, list[str]] = defaultdict(list)
        for source, target in pending:
            admitted[target].append(source)
        world = _world(self.real, rewritten_trusts(self.snapshot, admitted))
        for (pid, role_id), update in pending.items():
            assume = world.asker.can(pid, "sts:AssumeRole", role_id)
            if assume.decision.denied:
                continue
            fact = Fact(
                what=f"{pid} replaces the trust policy of {role_id} with one that admits it; sts:AssumeRole is "
                "answered over that trust",
                source=f"trust policy of {role_id} as iam:UpdateAssumeRolePolicy rewrites it",
            )
            s = self.real.step("iam:UpdateAssumeRolePolicy", update, fact).then(world.step("sts:AssumeRole", assume))
            self.emit(pid, role_id, s)
            self.role_ways[(pid, role_id)].append(s)

    # -- escalation candidates -------------------------------------------------------------------------

    def plan(self, source: str, target: str, s: Step, key: WorldKey) -> None:
        self.candidates.append(Candidate(source=source, target=target, steps=s, key=key))
        self.plans[key].add(target)

    def self_candidates(self, pid: str) -> None:
        p = self.index.principals[pid]
        for write, key in self.writes(self.real, pid, pid):
            self.plan(pid, pid, write, key)
        if self.bounded(pid):
            unbinds = self.unbind_steps(self.real, pid, pid)
            for unbind in unbinds:
                self.plan(pid, pid, unbind, ("unbind",))
            if unbinds:
                world = self.asks_without_boundaries()
                for write, key in self.writes(world, pid, pid):
                    self.plan(pid, pid, unbinds[0].then(write), ("unbind", *key))
        self.default_candidates(pid)
        if p.kind is PrincipalKind.AWS_USER:
            for group in self.groups[p.scope_id]:
                if group.id not in p.member_of:
                    answer = self.real.can(pid, "iam:AddUserToGroup", group.id)
                    if answer is not None:
                        fact = Fact(what=f"{pid} joins group {group.id}", source=f"snapshot group {group.id}")
                        self.plan(pid, pid, self.real.step("iam:AddUserToGroup", answer, fact), ("join", group.id))

    def default_candidates(self, pid: str) -> None:
        for policy, via in self.managed(pid):
            defaults = [v for v in policy.versions if v.is_default]
            others = [v for v in policy.versions if not v.is_default]
            if not others or not defaults:
                continue
            answer = self.real.can(pid, "iam:SetDefaultPolicyVersion", policy.id)
            if answer is None:
                continue
            for version in others:
                fact = Fact(
                    what=f"{policy.id} (attached to {via}) keeps version {version.version_id} (default "
                    f"{defaults[0].version_id})",
                    source=f"snapshot policy {policy.id}",
                )
                s = self.real.step("iam:SetDefaultPolicyVersion", answer, fact)
                self.plan(pid, pid, s, ("default", policy.id, version.version_id))

    def asks_without_boundaries(self) -> World:
        """The world where the bounded actors' boundaries are gone (their writes asked there)."""
        key: WorldKey = ("unbind-asks",)
        if key not in self.worlds:
            bounded = [pid for pid in self.actors if self.bounded(pid)]
            self.worlds[key] = _world(self.real, changed(self.snapshot, ("unbind",), bounded, {}))
        return self.worlds[key]

    def other_candidates(self, pid: str) -> None:
        account = self.account(pid)
        for role in self.roles_open_to(account).get(pid, ()):
            if role.id != pid:
                ways = self.ways_into_role(pid, role.id)
                if ways:
                    self.target_candidates(pid, role.id, ways[0])
        for user in self.users[account]:
            if user.id != pid and self.user_ways.get((pid, user.id)):
                self.target_candidates(pid, user.id, self.user_ways[(pid, user.id)][0])
                self.join_candidates(pid, user, self.user_ways[(pid, user.id)][0])

    def roles_open_to(self, account: str) -> Mapping[str, list[Principal]]:
        """The roles of ``account`` that each actor may have a way into (its trust names the
        actor, or cannot be read; or a trust rewrite of the actor's reaches it), in the account's
        role order: the only roles :meth:`ways_into_role` can answer with a way (built once per
        account, after :meth:`trust_edges`)."""
        if account not in self._open_to:
            rewrites: dict[str, set[str]] = defaultdict(set)
            for source, role_id in self.role_ways:
                rewrites[role_id].add(source)
            found: dict[str, list[Principal]] = defaultdict(list)
            for role in self.roles[account]:
                for pid in sorted(self.trusted_by(role.id) | rewrites.get(role.id, set())):
                    found[pid].append(role)
            self._open_to[account] = found
        return self._open_to[account]

    def trusted_by(self, role: str) -> set[str]:
        """The actors the trust of ``role`` may admit for ``sts:AssumeRole`` (every actor when it
        cannot be read)."""
        if role not in self._trust_candidates:
            # An empty list is an answer (the trust admits no snapshot principal), not "unreadable".
            found = trust_candidates(self.real.grants, role, "sts:AssumeRole")
            self._trust_candidates[role] = set(self.actors if found is None else found)
        return self._trust_candidates[role]

    def ways_into_role(self, pid: str, role: str) -> list[Step]:
        """``sts:AssumeRole`` as the trust stands (first), then the trust rewrites."""
        ways: list[Step] = []
        if pid in self.trusted_by(role):
            answer = self.real.asker.can(pid, "sts:AssumeRole", role)
            if not answer.decision.denied:
                ways.append(self.real.step("sts:AssumeRole", answer))
        return ways + self.role_ways.get((pid, role), [])

    def target_candidates(self, pid: str, target: str, way_in: Step) -> None:
        if self.real.verdict(target).status is Status.ADMIN:
            return
        writes = self.writes(self.real, pid, target)
        for write, key in writes:
            self.plan(pid, target, write.then(way_in), key)
        unbinds = self.unbind_steps(self.real, pid, target) if self.bounded(target) else []
        if unbinds:
            self.plan(pid, target, unbinds[0].then(way_in), ("unbind",))
            for write, key in writes:
                self.plan(pid, target, unbinds[0].then(write).then(way_in), ("unbind", *key))

    def join_candidates(self, pid: str, user: Principal, way_in: Step) -> None:
        for group in self.groups[user.scope_id]:
            if group.id not in user.member_of:
                answer = self.real.can(pid, "iam:AddUserToGroup", group.id)
                if answer is not None:
                    fact = Fact(what=f"{user.id} is added to group {group.id}", source=f"snapshot group {group.id}")
                    s = self.real.step("iam:AddUserToGroup", answer, fact).then(way_in)
                    self.plan(pid, user.id, s, ("join", group.id))

    # -- the changes a principal can make to another's (or its own) permissions --------------------------

    def bounded(self, pid: str) -> bool:
        return bool(self.index.attached.get((pid, AttachmentKind.BOUNDARY)))

    def unbind_steps(self, world: World, pid: str, target: str) -> list[Step]:
        kind = "Role" if ":role/" in target else "User"
        out = []
        delete = world.can(pid, f"iam:Delete{kind}PermissionsBoundary", target)
        if delete is not None:
            out.append(world.step(f"iam:Delete{kind}PermissionsBoundary", delete))
        context: dict[str, tuple[str, ...]] = {"iam:PermissionsBoundary": (ADMIN_POLICY_ARN,)}
        put = world.can(pid, f"iam:Put{kind}PermissionsBoundary", target, context)
        if put is not None:
            fact = Fact(
                what=f"the boundary of {target} becomes {ADMIN_POLICY_ARN}, which caps nothing",
                source="AWS managed policy",
            )
            out.append(world.step(f"iam:Put{kind}PermissionsBoundary", put, fact))
        return out

    def writes(self, world: World, pid: str, target: str) -> list[tuple[Step, WorldKey]]:
        """The ways ``pid`` can write an allow-everything grant into ``target``'s identity policies."""
        t = self.index.principals[target]
        kind = "Role" if t.kind is PrincipalKind.AWS_ROLE else "User"
        attach: dict[str, tuple[str, ...]] = {"iam:PolicyARN": (ADMIN_POLICY_ARN,)}
        asks: list[tuple[str, str, dict[str, tuple[str, ...]] | None, tuple[Fact, ...]]] = [
            (f"iam:Put{kind}Policy", target, None, ()),
            (f"iam:Attach{kind}Policy", target, attach, ()),
        ]
        if kind == "User":
            for group in t.member_of:
                fact = Fact(what=f"{target} is a member of {group}", source=f"snapshot principal {target}")
                asks += [
                    ("iam:PutGroupPolicy", group, None, (fact,)),
                    ("iam:AttachGroupPolicy", group, attach, (fact,)),
                ]
        out: list[tuple[Step, WorldKey]] = []
        for action, resource, context, facts in asks:
            answer = world.can(pid, action, resource, context)
            if answer is not None:
                out.append((world.step(action, answer, *facts), ("add",)))
        for policy, via in self.managed(target):
            s = self.new_version(world, pid, policy, via)
            if s is not None:
                out.append((s, ("replace", policy.id)))
        return out

    def new_version(self, world: World, pid: str, policy: Policy, via: str) -> Step | None:
        create = world.can(pid, "iam:CreatePolicyVersion", policy.id)
        if create is None:
            return None
        count = max(1, len(policy.versions))
        facts = [
            Fact(
                what=f"{policy.id} is attached to {via}; it has {count} version(s)",
                source=f"snapshot policy {policy.id}",
            )
        ]
        s = world.step("iam:CreatePolicyVersion", create, *facts)
        if count < MAX_POLICY_VERSIONS:
            return s
        delete = world.can(pid, "iam:DeletePolicyVersion", policy.id)
        return None if delete is None else world.step("iam:DeletePolicyVersion", delete).then(s)

    def managed(self, pid: str) -> list[tuple[Policy, str]]:
        """The customer managed policies that apply to ``pid``, each with what it is attached to."""
        p = self.index.principals[pid]
        out: list[tuple[Policy, str]] = []
        for holder in (pid, *p.member_of):
            for policy_id in self.index.attached.get((holder, AttachmentKind.IDENTITY), []):
                policy = self.index.policies.get(policy_id)
                if policy is not None and policy.kind is PolicyKind.CUSTOMER_MANAGED:
                    out.append((policy, holder if holder == pid else f"{pid} through group {holder}"))
        return out

    # -- deciding the candidates --------------------------------------------------------------------------

    def world(self, key: WorldKey) -> World:
        if key not in self.worlds:
            snapshot = changed(self.snapshot, key, self.plans[key], self.index.policies)
            self.worlds[key] = _world(self.real, snapshot)
        return self.worlds[key]

    def decide(self) -> None:
        for c in self.candidates:
            before = self.real.verdict(c.target)
            after = self.world(c.key).verdict(c.target)
            self.settle(c, before, after)

    def settle(self, c: Candidate, before: AdminVerdict, after: AdminVerdict) -> None:
        s = c.steps
        if after.status is Status.ADMIN:
            fact = Fact(what=f"after the change {c.target} is admin-equivalent: {after.why}", source=_AFTER_SOURCE)
            self.emit(c.source, c.target, replace(s, facts=(*s.facts, fact)), escalates=True)
        elif after.status is Status.UNDECIDED or (
            after.status is Status.CONDITIONAL and before.status not in (Status.CONDITIONAL, Status.ADMIN)
        ):
            detail = f"whether {c.target} is admin-equivalent after the change is not proven: {after.why}"
            last = s.answers[-1].unknown([Reason(kind=ReasonKind.UNPROVEN, detail=detail)])
            self.emit(c.source, c.target, replace(s, answers=(*s.answers[:-1], last)), escalates=True)
        elif c.key[0] == "default" and c.source == c.target:
            self.gains(c)

    def gains(self, c: Candidate) -> None:
        """A version that grants more than the default, not everything: a ``P -> P`` edge that does
        not escalate, with one request it gains as a fact."""
        policy = self.index.policies[c.key[1]]
        default = next(v for v in policy.versions if v.is_default)
        version = next(v for v in policy.versions if v.version_id == c.key[2])
        try:
            old = parse_policy(default.document, f"{policy.id} {default.version_id}", kind="identity")
            new = parse_policy(version.document, f"{policy.id} {version.version_id}", kind="identity")
        except PolicyError:
            return
        result = compare(old, new, session=self.index.session)
        if result.relation not in ("more", "incomparable") or not result.gained:
            return
        gained = result.gained[0]
        what = (
            f"version {version.version_id} of {policy.id} allows what the default {default.version_id} does not, "
            f"e.g. {gained.get('action')} on {gained.get('resource')}"
        )
        fact = Fact(what=what, source=f"comparison of the versions of {policy.id}")
        self.emit(c.source, c.target, replace(c.steps, facts=(*c.steps.facts, fact)))


def iam_edges(estate: Estate) -> list[Edge]:
    """Every IAM principal-access and escalation edge of the estate (module docstring). Nothing
    when the estate's AWS engine is not iamdrift's (the changed snapshots need it)."""
    if aws_engine(estate) is None:
        return []
    return _Finder(estate).run()


__all__ = ["ADMIN_POLICY_ARN", "MAX_ACCESS_KEYS", "MAX_POLICY_VERSIONS", "Candidate", "Step", "World", "iam_edges"]
