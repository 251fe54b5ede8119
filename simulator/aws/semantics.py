"""AWS's policy evaluation logic, written once over an abstract boolean algebra.

The reference evaluator runs it with three-valued (Kleene) booleans; the z3 encoder runs it with
z3 terms. What differs between the engines is only how one statement is matched against a
request (:class:`Matcher`); the order of evaluation below is shared.

Evaluation order for one request (principal P, action, resource R, context):

1. **Explicit deny.** A matching Deny statement in any policy that applies — identity policies,
   the resource policy (its Principal must match P), the permission boundary, the session policy,
   every SCP level (when SCPs apply) and every RCP level (when RCPs apply) — denies. Nothing
   overrides it. A resource-policy Deny with NotPrincipal denies every IAM principal that has a
   permissions boundary, whatever the NotPrincipal lists (AWS documents this for boundaries).
2. **SCPs** apply to principals of member accounts (not the management account, not
   service-linked roles, not AWS service principals). Every level from the root to the account
   must have a matching Allow; a level without one is an implicit deny.
3. **RCPs** apply to resources of member accounts (not to service-linked roles). They are
   deny-only: their Allow statements grant nothing and their absence denies nothing.
4. **Grants.** ``capped`` = an identity policy allows ∧ the boundary (if any) allows ∧ the session
   policy (if any) allows. A resource-policy Allow matches P in one of four ways (see
   :class:`PrincipalMatch`): *exactly* (P's own ARN, or the service / provider name), by the
   *wildcard* (``"*"`` or ``{"AWS": "*"}``), *capped* (a role session named by its role's ARN; a
   NotPrincipal that does not list P), or to P's *account* (its id or
   ``arn:aws:iam::ACCOUNT:root``: this delegates to the account's identity policies).

   - For an IAM user or a role session, a grant to its own ARN escapes the boundary and the
     session policy; a grant by the wildcard escapes the boundary (not the session policy). A
     grant to the session's role ARN, or to the account, does not escape the boundary: it is
     capped like an identity policy. For every other principal (a role itself, root) every
     resource-policy grant is capped.
   - Same account, ordinary actions: allowed if the resource policy grants (exactly, by the
     wildcard or capped, each as above) or ``capped`` holds.
   - Same account, actions whose resource side is required — role trust (``sts:AssumeRole*``,
     ``sts:TagSession``, ``sts:SetSourceIdentity``, ``sts:SetContext``) and KMS (``kms:*``):
     identity policies count only where the resource policy grants to the account.
   - Across accounts: the resource policy must grant (in any of the four ways) **and** ``capped``
     must hold. No resource policy, no cross-account access.
   - Principals that are not IAM identities (AWS services, federated providers, canonical users)
     have no identity policies: the resource policy alone decides.
5. Anything else is an **implicit deny**.

Statements a matcher cannot decide (unsupported operators) are handled by polarity: the decision
is monotone — more matching Allows can only allow more, more matching Denies only deny more — so
the lower bound takes unsupported Allows as not matching and unsupported Denies as matching, the
upper bound the opposite. An answer holds only if both bounds agree; otherwise it is unknown.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from simulator.aws.policy import PolicyDocument, Statement

B = TypeVar("B")

#: Actions whose resource policy (trust policy, key policy) must grant: identity policies alone never suffice.
RESOURCE_SIDE_REQUIRED_PREFIXES = ("kms:",)
RESOURCE_SIDE_REQUIRED_ACTIONS = frozenset(
    {
        "sts:assumerole",
        "sts:assumerolewithwebidentity",
        "sts:assumerolewithsaml",
        "sts:tagsession",
        "sts:setsourceidentity",
        "sts:setcontext",
    }
)


def requires_resource_side(action: str) -> bool:
    lowered = action.lower()
    return lowered in RESOURCE_SIDE_REQUIRED_ACTIONS or lowered.startswith(RESOURCE_SIDE_REQUIRED_PREFIXES)


class Algebra(Protocol[B]):
    true: B
    false: B

    def and_(self, items: Iterable[B]) -> B: ...
    def or_(self, items: Iterable[B]) -> B: ...
    def not_(self, item: B) -> B: ...


@dataclass(frozen=True)
class PrincipalMatch(Generic[B]):
    """How a statement's Principal / NotPrincipal matches the request's principal.

    ``exact``: P's own ARN (or service / provider name) is listed. ``wildcard``: ``"*"`` or
    ``{"AWS": "*"}``. ``capped``: a grant that the boundary and session policy cap whoever P is —
    a role session named by its role's ARN, or a NotPrincipal that does not list P. ``account``:
    P's account id or root ARN is listed."""

    exact: B
    wildcard: B
    capped: B
    account: B

    def any(self, alg: Algebra[B]) -> B:
        return alg.or_([self.exact, self.wildcard, self.capped, self.account])


class Matcher(Protocol[B]):
    alg: Algebra[B]

    def statement(self, policy: PolicyDocument, statement: Statement, bound: str) -> B:
        """Action, resource and conditions match (the principal is asked separately).
        ``bound`` is "lo" or "hi": how to read parts the matcher cannot decide (see module doc)."""
        ...

    def principal(self, policy: PolicyDocument, statement: Statement) -> PrincipalMatch[B]: ...


@dataclass(frozen=True)
class PolicySet:
    """Everything that applies to one request. ``scps``/``rcps``: levels, root first, account
    last, each a list of documents."""

    identity: tuple[PolicyDocument, ...] = ()
    resource: PolicyDocument | None = None
    boundary: PolicyDocument | None = None
    session: PolicyDocument | None = None
    scps: tuple[tuple[PolicyDocument, ...], ...] = ()
    rcps: tuple[tuple[PolicyDocument, ...], ...] = ()

    def documents(self) -> list[PolicyDocument]:
        docs = list(self.identity)
        docs += [d for d in (self.resource, self.boundary, self.session) if d is not None]
        docs += [d for level in (*self.scps, *self.rcps) for d in level]
        return docs


@dataclass(frozen=True)
class RequestFacts:
    """What is known about the request's parties before any policy is read.

    ``principal_kind``: "aws" (an IAM user, role, role session or root), "service", "federated"
    or "canonical". ``exact_uncapped``: P is an IAM user or a role session: a resource-policy
    grant to its own ARN escapes the boundary and the session policy, a wildcard grant escapes the
    boundary. ``same_account``: P and the
    resource are in one account (an unknown resource account counts as the same).
    """

    principal_kind: str
    same_account: bool
    exact_uncapped: bool
    scps_apply: bool
    rcps_apply: bool
    resource_side_required: bool


@dataclass(frozen=True)
class Verdict(Generic[B]):
    explicit_deny: B
    allowed: B


def evaluate(policies: PolicySet, facts: RequestFacts, m: Matcher[B], bound: str = "lo") -> Verdict[B]:
    """The verdict for one request under ``bound`` (see the module docstring)."""
    a = m.alg
    deny_bound = "hi" if bound == "lo" else "lo"  # unsupported Denies read against the bound

    def matching(docs: Sequence[PolicyDocument], effect: str) -> list[B]:
        use = bound if effect == "Allow" else deny_bound
        return [m.statement(d, s, use) for d in docs for s in d.statements if s.effect == effect]

    identity_like = [*policies.identity, *(d for d in (policies.boundary, policies.session) if d is not None)]
    denies = matching(identity_like, "Deny")
    grants: dict[str, list[B]] = {"exact": [], "wildcard": [], "capped": [], "account": []}
    bounded = policies.boundary is not None and facts.principal_kind == "aws"
    if policies.resource is not None:
        for s in policies.resource.statements:
            who = m.principal(policies.resource, s)
            if s.effect == "Deny":
                anyone = a.true if bounded and s.not_principal is not None else who.any(a)
                denies.append(a.and_([m.statement(policies.resource, s, deny_bound), anyone]))
            else:
                hit = m.statement(policies.resource, s, bound)
                for way, items in grants.items():
                    items.append(a.and_([hit, getattr(who, way)]))
    if facts.scps_apply:
        for level in policies.scps:
            denies += matching(level, "Deny")
    if facts.rcps_apply:
        for level in policies.rcps:
            denies += matching(level, "Deny")
    explicit_deny = a.or_(denies)

    scp_ok = a.true
    if facts.scps_apply and policies.scps:
        scp_ok = a.and_([a.or_(matching(level, "Allow")) for level in policies.scps])

    exact, wildcard, capped_by_name, account = (a.or_(grants[w]) for w in ("exact", "wildcard", "capped", "account"))
    if facts.principal_kind != "aws":
        granted = a.or_([exact, wildcard, capped_by_name])
    else:
        boundary = [a.or_(matching([policies.boundary], "Allow"))] if policies.boundary is not None else []
        session = [a.or_(matching([policies.session], "Allow"))] if policies.session is not None else []
        capped = a.and_([a.or_(matching(policies.identity, "Allow")), *boundary, *session])
        if facts.exact_uncapped:
            direct = a.or_([exact, a.and_([wildcard, *session]), a.and_([capped_by_name, *boundary, *session])])
        else:
            direct = a.and_([a.or_([exact, wildcard, capped_by_name]), *boundary, *session])
        if not facts.same_account:
            granted = a.and_([a.or_([exact, wildcard, capped_by_name, account]), capped])
        elif facts.resource_side_required:
            granted = a.or_([direct, a.and_([account, capped])])
        else:
            granted = a.or_([direct, capped])
    allowed = a.and_([a.not_(explicit_deny), scp_ok, granted])
    return Verdict(explicit_deny=explicit_deny, allowed=allowed)


def policy_allows(policy: PolicyDocument, m: Matcher[B], *, with_principal: bool, bound: str = "lo") -> B:
    """One document on its own: some Allow matches and no Deny does (with the Principal element
    matched in any of its ways when ``with_principal``). This is what ``compare`` compares."""
    a = m.alg
    deny_bound = "hi" if bound == "lo" else "lo"

    def hit(s: Statement, use: str) -> B:
        match = m.statement(policy, s, use)
        if not with_principal:
            return match
        return a.and_([match, m.principal(policy, s).any(a)])

    allows = a.or_([hit(s, bound) for s in policy.statements if s.effect == "Allow"])
    denies = a.or_([hit(s, deny_bound) for s in policy.statements if s.effect == "Deny"])
    return a.and_([allows, a.not_(denies)])
