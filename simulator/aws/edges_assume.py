"""Role assumption edges (``sts:AssumeRole``, ``sts:AssumeRoleWithWebIdentity``,
``sts:AssumeRoleWithSAML``), and what every AWS edge finder asks through: a sound prefilter over
identity policies (:class:`Grants`) and requests asked over every context the caller controls
(:class:`Asker`), with the condition an edge holds under.

**Who may assume a role.** A role's trust policy must admit the caller (the resource side of
``sts:AssumeRole*`` is required, :mod:`simulator.aws.semantics`). Only principals one of its Allow
statements can match are asked about, each with ``can``; everyone else is implicitly denied:

- a principal named by its ARN (a user, a role, a role session by its role): asked, whatever its
  own policies say (in the same account the trust alone can grant, the engine decides);
- an account (``"123456789012"`` or ``arn:aws:iam::123456789012:root``): the account delegates to
  its principals' own policies, so the principals of that account whose identity policies have
  an Allow statement that could match the action on the role; an account the snapshot does not
  hold is one node, its root ARN (the engine answers it as outside the snapshot);
- ``"*"``: every principal of the snapshot (in the role's account the trust grants directly; in
  other accounts only those whose own policies could allow), and anyone outside it (``*``);
- federated providers (OIDC, SAML): tokens, ``ISSUER|SUBJECTS`` (the engine lists them).

A trust the snapshot cannot read (missing, malformed) falls back to the engine's ``who_can``.

**Context.** Each request is asked with ``free_context``: a key the caller can set or satisfy
(``sts:ExternalId``, MFA, source address, VPC, request tags, session name, the policy ARN it
attaches) is free, and allowed means "for some values", which the witness names. Keys that are
facts about the principal or the target (principal tags, the target's tags and permissions
boundary, a direct call not made through a service) are then fixed to what the snapshot holds and
the request asked again; a fact the snapshot does not record (the caller's organization path,
say) is never guessed: an answer that needs it is unknown. An edge's ``condition`` names what
the witness needed and the caller must bring: ``only with sts:ExternalId VALUE``, ``only with
MFA``, ``only from CIDR``, ``only from VPC ID``, ``only through VPC endpoint ID``, ``only for
principals of organization ID``, and for federation ``only for subjects PATTERNS``. A key counts
as needed when the witness request without it is not allowed (the reference evaluator decides).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace

from models import AttachmentKind, Cloud
from simulator.aws import external
from simulator.aws.action_classes import action_matches
from simulator.aws.engine import AwsEngine, ambient
from simulator.aws.policy import Statement
from simulator.aws.request import classify_principal
from simulator.aws.values import AnyChar, Lit, Pattern
from simulator.core import Answer, Ask, Decision, Edge, Estate, ExternalToken, Gap, Method, Reason, ReasonKind
from simulator.core import edge_from as core_edge_from

ASSUME_ACTIONS = ("sts:AssumeRole", "sts:AssumeRoleWithWebIdentity", "sts:AssumeRoleWithSAML")

#: Keys the caller sets, or satisfies by how it calls: free in every request.
CALLER_KEYS = frozenset(
    {
        "sts:externalid", "sts:rolesessionname", "sts:transitivetagkeys", "sts:durationseconds",
        "aws:multifactorauthpresent", "aws:multifactorauthage", "aws:sourceip", "aws:vpcsourceip",
        "aws:sourcevpc", "aws:sourcevpce", "aws:tagkeys", "aws:useragent", "aws:referer",
        "aws:tokenissuetime", "aws:requestedregion", "iam:policyarn",
    }
)  # fmt: skip
CALLER_PREFIXES = ("aws:requesttag/",)
#: Keys whose values a direct API call by an IAM user or role has: not through a service.
DIRECT_CALL = {
    "aws:viaawsservice": ("false",),
    **{
        k: ()
        for k in (
            "aws:calledvia", "aws:calledviafirst", "aws:calledvialast", "aws:sourcearn", "aws:sourceaccount",
            "aws:sourceorgid", "aws:sourceorgpaths", "aws:sourceowner", "aws:principalservicename",
            "aws:principalservicenameslist", "aws:federatedprovider",
        )
    },
}  # fmt: skip
#: Key groups an edge's condition names, when the witness needs them.
_CONDITION_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("mfa", ("aws:multifactorauthpresent", "aws:multifactorauthage")),
    ("externalid", ("sts:externalid",)),
    ("ip", ("aws:sourceip", "aws:vpcsourceip")),
    ("vpc", ("aws:sourcevpc",)),
    ("vpce", ("aws:sourcevpce",)),
    ("org", ("aws:principalorgid",)),
)
_MAX_REFINE = 4
_ACCOUNT = re.compile(r"^\d{12}$")


def live(answers: Iterable[Answer]) -> list[Answer]:
    """The answers that can make an edge: allowed, or undecided (kept, never dropped)."""
    return [a for a in answers if a.decision in (Decision.ALLOWED, Decision.UNKNOWN)]


def aws_engine(estate: Estate) -> AwsEngine | None:
    engine = estate.engine(Cloud.AWS)
    return engine if isinstance(engine, AwsEngine) else None


# --- the identity prefilter ------------------------------------------------------------------------------


def _pattern_regex(pattern: Pattern) -> re.Pattern[str]:
    """A resource pattern as a regex; a policy variable may stand for anything (a superset)."""
    parts = []
    for part in pattern:
        if isinstance(part, Lit):
            parts.append(re.escape(part.text))
        elif isinstance(part, AnyChar):
            parts.append(".")
        else:
            parts.append(".*")  # Star, or Var: any value
    return re.compile("".join(parts), re.S)


def names_action(s: Statement, action: str) -> bool:
    """The statement's Action / NotAction element can match ``action``."""
    lowered = action.lower()
    if s.actions is not None:
        return any(action_matches(p, lowered) for p in s.actions)
    return s.not_actions is not None and not any(action_matches(p, lowered) for p in s.not_actions)


class Grants:
    """Whose identity policies could allow an action on a resource: a sound prefilter.

    ``may(P, ACTION, RESOURCE)`` is False only when no Allow statement of P's identity policies
    (its own and its groups') has an Action that can match ACTION and a Resource that can match
    RESOURCE (a policy variable matches anything, a NotResource anything): without one, identity
    policies allow nothing, whatever boundaries, SCPs and conditions say. A principal whose
    policies the snapshot cannot read (missing, malformed) may do anything. Statements are read
    once per principal, matches once per statement and action.
    """

    def __init__(self, estate: Estate) -> None:
        self.engine = aws_engine(estate)
        self.principals: tuple[str, ...] = estate.engine(Cloud.AWS).principals()
        self.by_account: dict[str, list[str]] = {}
        if self.engine is not None:
            for pid in self.principals:
                self.by_account.setdefault(self.engine.index.principals[pid].scope_id, []).append(pid)
        self._statements: dict[str, tuple[Statement, ...] | None] = {}
        self._action_hits: dict[tuple[int, str], bool] = {}
        # (principal, action) -> the statements naming it; asked millions of times on large accounts.
        self._naming: dict[tuple[str, str], tuple[Statement, ...] | None] = {}
        self._regexes: dict[Pattern, re.Pattern[str]] = {}

    def statements(self, pid: str) -> tuple[Statement, ...] | None:
        """The Allow statements of ``pid``'s identity policies; None when some cannot be read."""
        if pid not in self._statements:
            self._statements[pid] = self._read(pid)
        return self._statements[pid]

    def _read(self, pid: str) -> tuple[Statement, ...] | None:
        if self.engine is None:
            return None
        index = self.engine.index
        principal = index.principals.get(pid)
        if principal is None:
            return None
        gaps: list[Gap] = []
        docs = index.documents(pid, AttachmentKind.IDENTITY, gaps)
        for group in principal.member_of:
            docs += index.documents(group, AttachmentKind.IDENTITY, gaps)
        if gaps:
            return None
        return tuple(s for d in docs for s in d.document.statements if s.effect == "Allow")

    def may(self, pid: str, action: str, resource: str | None = None) -> bool:
        """Whether some Allow statement of ``pid`` could match (see the class docstring);
        ``resource`` None: any resource."""
        key = (pid, action)
        if key not in self._naming:
            self._naming[key] = self._statements_naming(pid, action.lower())
        naming = self._naming[key]
        if naming is None:
            return True
        if resource is None:
            return bool(naming)
        return any(self._resource_may(s, resource) for s in naming)

    def _statements_naming(self, pid: str, lowered: str) -> tuple[Statement, ...] | None:
        """The Allow statements of ``pid`` whose Action can match ``lowered`` (None: unreadable)."""
        statements = self.statements(pid)
        if statements is None:
            return None
        out: list[Statement] = []
        for s in statements:
            key = (id(s), lowered)
            hit = self._action_hits.get(key)
            if hit is None:
                hit = self._action_hits[key] = names_action(s, lowered)
            if hit:
                out.append(s)
        return tuple(out)

    def _resource_may(self, s: Statement, resource: str) -> bool:
        if s.resources is None or s.not_resources is not None:
            return True
        for pattern in s.resources:
            regex = self._regexes.get(pattern)
            if regex is None:
                regex = self._regexes[pattern] = _pattern_regex(pattern)
            if regex.fullmatch(resource):
                return True
        return False


# --- asking over the caller's context -------------------------------------------------------------------


def _lowered(context: Mapping[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    return {k.lower(): tuple(v) for k, v in context.items()}


def caller_key(key: str) -> bool:
    return key in CALLER_KEYS or key.startswith(CALLER_PREFIXES)


class Asker:
    """Requests asked over every context the caller controls, facts fixed (module docstring).

    ``can(P, ACTION, RESOURCE, context)`` asks once per distinct question (answers are reused);
    ``settle(answer)`` fixes the facts of an answer ``who_can`` gave; ``condition(answer)`` is
    what the witness needed that the caller must bring, in words (None: nothing).
    """

    def __init__(self, estate: Estate) -> None:
        self.estate = estate
        self.engine = aws_engine(estate)
        self._answers: dict[tuple[str, str, str, tuple[tuple[str, tuple[str, ...]], ...]], Answer] = {}
        self._fixed: dict[tuple[str, str], frozenset[str]] = {}
        self._conditions: dict[int, tuple[Answer, str | None]] = {}

    def can(
        self, principal: str, action: str, resource: str, context: dict[str, tuple[str, ...]] | None = None
    ) -> Answer:
        given = dict(context or {})
        key = (principal, action, resource, tuple(sorted(given.items())))
        if key not in self._answers:
            estate = self.estate
            free = self.engine is not None
            ask = estate.ask(principal, action, resource, context=given, free_context=free)
            self._answers[key] = self.settle(estate.can(ask))
        return self._answers[key]

    def settle(self, answer: Answer) -> Answer:
        """Fix the facts the witness chose freely (see the module docstring), asking again."""
        engine = self.engine
        if engine is None or answer.decision is not Decision.ALLOWED or answer.principal not in engine.index.principals:
            return answer
        ask = replace(answer.ask, principal=answer.principal)
        fixed = self.fixed_keys(answer.principal, ask.resource)
        given = dict(ask.context)
        seen = set(_lowered(given))
        guessed: list[str] = []
        current = answer
        for _ in range(_MAX_REFINE):
            assert current.witness is not None
            chosen = [k for k in _lowered(current.witness.context) if k not in seen and k not in fixed]
            facts = [k for k in chosen if not caller_key(k)]
            if not facts:
                return current
            for k in facts:
                value, known = self.fact(answer.principal, ask, k)
                given[k] = value
                seen.add(k)
                if not known:
                    guessed.append(k)
            again = self.estate.can(replace(ask, context=given))
            if again.decision is not Decision.ALLOWED:
                if again.decision.denied and guessed:
                    break
                return again
            current = again
        detail = (
            f"allowed only with {', '.join(guessed) or 'context keys'} as the witness sets them: "
            "the snapshot does not record what they are for this request"
        )
        return current.unknown([Reason(kind=ReasonKind.COVERAGE, detail=detail)])

    def fixed_keys(self, pid: str, resource: str) -> frozenset[str]:
        """The keys the engine sets for ``pid``'s requests on ``resource``."""
        assert self.engine is not None
        index = self.engine.index
        account = index.principals[pid].scope_id
        cache_key = (pid, account if resource.startswith("arn:aws:iam::") else resource)
        if cache_key not in self._fixed:
            service = resource.split(":")[2] if resource.count(":") >= 2 else ""
            resource_account, _ = index.resource_account(service, resource, account)
            keys = set(self.engine.principal_context(pid, resource_account))
            keys |= set(ambient(index, resource, self.estate.at)) | {"aws:resourceaccount"}
            self._fixed[cache_key] = frozenset(keys)
        return self._fixed[cache_key]

    def fact(self, pid: str, ask: Ask, key: str) -> tuple[tuple[str, ...], bool]:
        """(the value of ``key`` for ``pid``'s request, whether the snapshot knows it)."""
        assert self.engine is not None
        index = self.engine.index
        if key in DIRECT_CALL:
            return DIRECT_CALL[key], True
        for prefix, subject in (
            ("aws:principaltag/", pid),
            ("aws:resourcetag/", ask.resource),
            ("iam:resourcetag/", ask.resource),
        ):
            if key.startswith(prefix):
                holder = index.principals.get(subject)
                if holder is None:
                    return (), False
                tags = {k.lower(): v for k, v in holder.tags.items()}
                name = key[len(prefix) :]
                return ((tags[name],) if name in tags else ()), True
        if key == "iam:permissionsboundary" and ask.resource in index.principals:
            bounds = index.attached.get((ask.resource, AttachmentKind.BOUNDARY), [])
            return tuple(bounds[:1]), True
        if key == "aws:principalorgid":
            return (), True  # the engine sets it for principals of the organization it holds
        return (), False

    # -- conditions --

    def condition(self, answer: Answer) -> str | None:
        """What the witness needed that the caller brings, in words (None: nothing)."""
        if answer.witness is None:
            return None
        cached = self._conditions.get(id(answer))
        if cached is not None and cached[0] is answer:
            return cached[1]
        witness = _lowered(answer.witness.context)
        given = _lowered(answer.ask.context)
        parts = []
        for name, keys in _CONDITION_GROUPS:
            present = [k for k in keys if k in witness and k not in given]
            if present and self._needed(answer, keys):
                parts.append(self._words(name, present, witness, answer))
        text = "; ".join(dict.fromkeys(parts)) or None
        self._conditions[id(answer)] = (answer, text)
        return text

    def _needed(self, answer: Answer, keys: Sequence[str]) -> bool:
        """Whether the witness request without ``keys`` is not allowed (reference evaluator)."""
        assert answer.witness is not None
        context = {k: v for k, v in _lowered(answer.witness.context).items() if k not in keys}
        context.update({k: () for k in keys})
        principal = answer.ask.principal or answer.principal
        if isinstance(principal, ExternalToken):
            principal = principal.id
        ask = replace(answer.ask, principal=principal, context=context, free_context=False, method=Method.REFERENCE)
        try:
            replay = self.estate.can(ask)
        except ValueError:
            return True
        return replay.decision is not Decision.ALLOWED

    def _words(self, name: str, present: list[str], witness: dict[str, tuple[str, ...]], answer: Answer) -> str:
        value = ", ".join(witness[present[0]])
        if name == "mfa":
            return "only with MFA"
        if name == "externalid":
            return f"only with sts:ExternalId {value}"
        if name == "ip":
            return f"only from {', '.join(self._cidrs(answer, present)) or value}"
        if name == "vpc":
            return f"only from VPC {value}"
        if name == "vpce":
            return f"only through VPC endpoint {value}"
        return f"only for principals of organization {value}"

    def _cidrs(self, answer: Answer, keys: Sequence[str]) -> list[str]:
        """The address ranges the deciding documents admit on ``keys`` (IpAddress in an Allow,
        NotIpAddress in a Deny)."""
        if self.engine is None:
            return []
        found: list[str] = []
        for considered in answer.considered:
            kind = considered.applies_as.split(" ", 1)[0]
            applied = self.engine.index.document(considered.policy, kind, [], considered.applies_as)
            if applied is None:
                continue
            for s in applied.document.statements:
                for c in s.conditions:
                    if c.key in keys and c.family == "ip" and c.negated == (s.effect == "Deny"):
                        found += list(c.values)
        return list(dict.fromkeys(found))


def edge_from(
    asker: Asker,
    source: str,
    target: str,
    mechanism: str,
    answers: Sequence[Answer],
    *,
    extra_condition: Iterable[str | None] = (),
    **kwargs: object,
) -> Edge | None:
    """:func:`simulator.core.edge_from` with the condition the answers need (joined by ``; ``)."""
    parts = [asker.condition(a) for a in answers] + list(extra_condition)
    condition = "; ".join(dict.fromkeys(p for p in parts if p)) or None
    return core_edge_from(source, target, Cloud.AWS, mechanism, answers, condition=condition, **kwargs)  # type: ignore[arg-type]


# --- role assumption -------------------------------------------------------------------------------------


def subject_condition(answer: Answer) -> str | None:
    """The subjects a federation trust admits, from the token id the engine gives
    (``ISSUER|SUBJECT-PATTERNS``): None when it tests no subject."""
    token = ExternalToken.parse(answer.principal)
    if token is None or token.subject in ("", "*"):
        return None
    return f"only for subjects {token.subject}"


def trust_candidates(grants: Grants, role: str, action: str) -> list[str] | None:
    """The snapshot principals the trust of ``role`` could admit for ``action`` (module
    docstring); None when the trust cannot be read (ask everyone)."""
    engine = grants.engine
    if engine is None or role not in engine.index.principals:
        return None
    gaps: list[Gap] = []
    docs = engine.index.documents(role, AttachmentKind.TRUST, gaps, "trust")
    if gaps:
        return None
    role_account = engine.index.principals[role].scope_id
    acting = set(grants.principals)
    found: dict[str, None] = {}
    for s in (s for d in docs for s in d.document.statements if s.effect == "Allow" and names_action(s, action)):
        spec = s.principal or s.not_principal
        if spec is None:
            continue
        if s.not_principal is not None or spec.everyone:
            for pid in grants.principals:
                same = engine.index.principals[pid].scope_id == role_account
                if same or grants.may(pid, action, role):
                    found[pid] = None
            continue
        for value in spec.aws:
            found.update(dict.fromkeys(_named(grants, value, acting, action, role)))
    found.pop(role, None)
    return list(found)


def _named(grants: Grants, value: str, acting: set[str], action: str, role: str) -> list[str]:
    """The snapshot principals a Principal ``AWS`` value names."""
    if value in acting:
        return [value]
    account = value if _ACCOUNT.match(value) else None
    if account is None and re.fullmatch(r"arn:[\w-]+:iam::\d{12}:root", value):
        account = value.split(":")[4]
    if account is not None:
        return [pid for pid in grants.by_account.get(account, []) if grants.may(pid, action, role)]
    try:
        named = classify_principal(value)
    except ValueError:
        return []
    return [named.identity_arn] if named.is_session and named.identity_arn in acting else []


def assume_answers(estate: Estate, role: str, action: str, grants: Grants, asker: Asker) -> list[Answer]:
    """Every principal allowed or undecided for ``action`` on ``role`` (but the role itself),
    each answer settled (module docstring)."""
    candidates = trust_candidates(grants, role, action)
    engine = grants.engine
    if candidates is None or engine is None:
        asked = estate.who_can(estate.ask(None, action, role, free_context=engine is not None))
        return [asker.settle(a) for a in live(asked) if a.principal != role]
    out = [asker.can(pid, action, role) for pid in candidates]
    out += external.who_can_outside(engine, estate.ask(None, action, role, free_context=True))
    return [a for a in live(out) if a.principal != role]


def assume_edges(estate: Estate, role: str, *, grants: Grants | None = None, asker: Asker | None = None) -> list[Edge]:
    """The role-assumption edges into ``role`` (PRINCIPAL -> ROLE). Pass one ``grants`` and
    ``asker`` for many roles (:func:`all_assume_edges`): built per call otherwise."""
    grants = grants or Grants(estate)
    asker = asker or Asker(estate)
    out: list[Edge] = []
    for action in ASSUME_ACTIONS:
        for answer in assume_answers(estate, role, action, grants, asker):
            subjects = subject_condition(answer) if action != "sts:AssumeRole" else None
            edge = edge_from(asker, answer.principal, role, action, [answer], extra_condition=[subjects])
            if edge is not None:
                out.append(edge)
    return out


def all_assume_edges(estate: Estate, roles: Iterable[str]) -> list[Edge]:
    """:func:`assume_edges` for every role of ``roles``, sharing one prefilter and one asker."""
    grants, asker = Grants(estate), Asker(estate)
    return [e for role in roles for e in assume_edges(estate, role, grants=grants, asker=asker)]


__all__ = [
    "ASSUME_ACTIONS",
    "Asker",
    "Grants",
    "all_assume_edges",
    "assume_answers",
    "assume_edges",
    "aws_engine",
    "edge_from",
    "live",
    "names_action",
    "subject_condition",
    "trust_candidates",
]
