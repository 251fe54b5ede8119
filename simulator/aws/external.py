"""Principals no scan lists, answered from the resource's own policy (a role's trust policy, a
bucket or key policy).

Who they are, read from the Allow statements of that policy:

- **OIDC tokens**: ``Principal {"Federated": "arn:aws:iam::A:oidc-provider/HOST"}`` (GitHub
  Actions ``token.actions.githubusercontent.com``, EKS ``oidc.eks.REGION.amazonaws.com/id/ID``)
  or a web identity domain (``accounts.google.com``, ``cognito-identity.amazonaws.com``). The
  request is ``sts:AssumeRoleWithWebIdentity`` by the provider, and the token's claims are the
  keys ``HOST:sub``, ``HOST:aud`` (and the provider's other claims): those the caller does not
  give are free, every AWS-internal key (``aws:PrincipalOrgID``, ``aws:PrincipalArn``, ...) is
  absent — a token minted outside AWS carries none. The principal's id is ``ISSUER|SUBJECT``
  with the subject patterns the trust admits (``*`` when it tests none); the witness names one
  concrete subject (for GitHub, a repository of someone else where the trust admits one).
- **SAML assertions**: ``Principal {"Federated": "arn:aws:iam::A:saml-provider/NAME"}``, the
  request ``sts:AssumeRoleWithSAML``, the claims ``saml:aud``, ``saml:sub``, ...; the issuer is
  the provider's ARN.
- **Another account** (its id or ``arn:aws:iam::B:root``) or a user or role of an account the
  snapshot does not hold: what that account's own policies allow is that account's to decide,
  outside the snapshot, so they are taken as allowing (a note says so); the resource's policy,
  the RCPs of the resource's account and AWS's cross-account rule decide. The id is the root ARN
  (or the principal's ARN).
- **Anyone** (``"*"`` / ``{"AWS": "*"}``): any principal in any AWS account, and for a
  ``"*"`` in a bucket policy anonymous callers too; the id is ``*``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from models import AttachmentKind
from simulator.aws.action_classes import action_matches
from simulator.aws.action_names import carried
from simulator.aws.context_keys import key_usage
from simulator.aws.policy import PolicyDocument, Statement, parse_policy
from simulator.aws.reference import decide as reference_decide
from simulator.aws.request import WEB_IDENTITY_PROVIDERS, Case, Request, classify_principal
from simulator.aws.semantics import PolicySet
from simulator.core import Answer, Ask, ExternalToken, Gap, QueryError, ReasonKind, Witness

if TYPE_CHECKING:
    from simulator.aws.engine import AwsEngine, Plan

OUTSIDER_ACCOUNT = "999999999999"
#: A subject no trust author means to admit: the witness GitHub subject where the trust allows it.
GITHUB_OUTSIDER_SUBJECT = "repo:someone-else/anything:ref:refs/heads/main"
GITHUB_HOST = "token.actions.githubusercontent.com"
#: Keys only AWS sets, from an IAM principal: never in a request made with an outside token.
AWS_INTERNAL_PREFIXES = ("aws:principal", "aws:userid", "aws:username", "aws:sourceidentity", "aws:calledvia")
_OWN_POLICIES = {
    "Version": "2012-10-17",
    "Statement": [{"Sid": "OutsideTheSnapshot", "Effect": "Allow", "Action": "*", "Resource": "*"}],
}
ANONYMOUS_NOTE = 'a Principal "*" also admits anonymous requests where the service takes them'
_ACCOUNT_ARN = re.compile(r"^arn:[\w-]+:(?:iam|sts)::(\d{12}):")


@dataclass(frozen=True, kw_only=True)
class Provider:
    """A federation provider as a trust policy names it: ``name`` (the Principal's Federated
    value), ``issuer`` (token issuer URL, or the SAML provider's ARN), ``prefix`` (its claim keys'
    prefix, lower-cased, with the colon) and ``saml``."""

    name: str
    issuer: str
    prefix: str
    saml: bool


def provider_of(federated: str) -> Provider:
    if ":saml-provider/" in federated:
        return Provider(name=federated, issuer=federated, prefix="saml:", saml=True)
    host = federated.split(":oidc-provider/", 1)[1] if ":oidc-provider/" in federated else federated
    host = host.removeprefix("https://").rstrip("/")
    return Provider(name=federated, issuer=f"https://{host}", prefix=f"{host.lower()}:", saml=False)


def own_policies() -> PolicyDocument:
    return parse_policy(_OWN_POLICIES, "the account's own policies (outside the snapshot)", kind="identity")


def _names_action(s: Statement, lowered: str) -> bool:
    if s.actions is not None:
        return any(action_matches(p, lowered) for p in s.actions)
    return s.not_actions is not None and not any(action_matches(p, lowered) for p in s.not_actions)


def _allow_statements(doc: PolicyDocument, action: str) -> list[Statement]:
    """The Allow statements of ``doc`` that name a principal and could match ``action``."""
    lowered = action.lower()
    return [s for s in doc.statements if s.effect == "Allow" and s.principal is not None and _names_action(s, lowered)]


def _account_of(value: str) -> str | None:
    if re.fullmatch(r"\d{12}", value):
        return value
    match = _ACCOUNT_ARN.match(value)
    return match.group(1) if match else None


def _scanned_accounts(engine: AwsEngine) -> frozenset[str]:
    return engine.index.accounts


# --- building and deciding one outside request --------------------------------------------------


def _plan(
    engine: AwsEngine,
    ask: Ask,
    *,
    principal_arn: str,
    identity: tuple[PolicyDocument, ...],
    context: dict[str, tuple[str, ...]],
    free_prefix: str | None,
    notes: list[str],
    gaps: list[Gap] | None = None,
) -> Plan:
    """The plan for one outside principal (without a resource policy of its own, the resource
    grants an outsider nothing: the answer says so)."""
    from simulator.aws.engine import Plan, ambient, lowered_context, split_context

    index = engine.index
    gaps = list(gaps or [])
    service = ask.action.split(":", 1)[0].lower()
    account, _ = index.resource_account(service, ask.resource, None)
    resource_doc = index.resource_side(ask.action, ask.resource, account, gaps, notes)
    rcps = index.org_levels(account, AttachmentKind.RCP, gaps)
    policies = PolicySet(
        identity=identity,
        resource=resource_doc.document if resource_doc else None,
        rcps=tuple(tuple(a.document for a in level) for level in rcps),
    )
    full = ambient(index, ask.resource, engine.at)
    if account:
        full["aws:resourceaccount"] = (account,)
    full.update(context)
    given, dropped = split_context(ask.action, lowered_context(ask.context))
    full.update(given)
    used = key_usage(policies.documents())
    free = frozenset(k for k in used if free_prefix and k.startswith(free_prefix) and k not in full)
    closed = frozenset(
        k
        for k in used
        if not carried(ask.action, k) or (free_prefix is not None and k.startswith(AWS_INTERNAL_PREFIXES))
    )
    request = Request(
        principal=classify_principal(principal_arn),
        action=ask.action,
        resource=ask.resource,
        resource_account=account,
        context=full,
    )
    applied = [resource_doc] if resource_doc else []
    applied += [a for level in rcps for a in level]
    return Plan(
        case=Case(id=None, request=request, policies=policies),
        applied=applied,
        gaps=gaps,
        notes=dropped + notes,
        free_keys=free,
        closed_keys=closed - free,
    )


def _settle(engine: AwsEngine, ask: Ask, answer_id: str, plan: Plan, shown_as: str | None = None) -> Answer:
    decided = engine.run(ask, plan)
    answer = engine.answer(ask, answer_id, plan, decided)
    if answer.witness is not None and shown_as is not None:
        answer = replace(answer, witness=replace(answer.witness, principal=shown_as))
    return answer


# --- tokens ---------------------------------------------------------------------------------------


def _token_context(provider: Provider, token: ExternalToken) -> dict[str, tuple[str, ...]]:
    context: dict[str, tuple[str, ...]] = {}
    if token.subject:
        context[provider.prefix + "sub"] = (token.subject,)
    if token.audiences:
        context[provider.prefix + "aud"] = tuple(token.audiences)
    if not provider.saml:
        context["aws:federatedprovider"] = (provider.name,)
    return context


def can_token(engine: AwsEngine, ask: Ask, token: ExternalToken) -> Answer:
    """A token some outside issuer signed, presented for ``ask`` (usually a role's
    ``sts:AssumeRoleWithWebIdentity`` / ``sts:AssumeRoleWithSAML``)."""
    issuer = token.issuer.removeprefix("https://").rstrip("/")
    role_account = _account_of(ask.resource)
    if issuer.startswith("arn:") and ":saml-provider/" in issuer:
        federated = issuer
    elif issuer.lower() in WEB_IDENTITY_PROVIDERS:
        federated = issuer.lower()
    elif role_account:
        federated = f"arn:aws:iam::{role_account}:oidc-provider/{issuer}"
    else:
        raise QueryError(f"{ask.resource}: a token is presented to a role; give the role's ARN")
    provider = provider_of(federated)
    notes: list[str] = []
    plan = _plan(
        engine,
        ask,
        principal_arn=federated,
        identity=(),
        context=_token_context(provider, token),
        free_prefix=provider.prefix,
        notes=notes,
    )
    return _settle(engine, ask, token.id, plan, shown_as=token.id)


def _subject_patterns(statements: Iterable[Statement], provider: Provider) -> list[str]:
    key = provider.prefix + "sub"
    found: list[str] = []
    for s in statements:
        for c in s.conditions:
            if c.key == key and not c.negated and c.family == "string":
                found += list(c.values)
    return list(dict.fromkeys(found))


def _nicer_subject(plan: Plan, answer: Answer, provider: Provider, patterns: list[str]) -> Answer:
    """The witness with a telling subject (another owner's repository) where the trust admits one."""
    if answer.witness is None:
        return answer
    key = provider.prefix + "sub"
    candidates = [GITHUB_OUTSIDER_SUBJECT] if provider.prefix == GITHUB_HOST + ":" else []
    candidates += [p.replace("*", "someone-else").replace("?", "x") for p in patterns]
    base = {k: tuple(v) for k, v in answer.witness.context.items()}
    for subject in candidates:
        context = {**base, key: (subject,)}
        request = replace(plan.case.request, context=context)
        if reference_decide(request, plan.case.policies).decision == "allowed":
            witness = Witness(
                principal=f"{provider.issuer}|{subject}",
                action=answer.witness.action,
                resource=answer.witness.resource,
                context=context,
            )
            return replace(answer, witness=witness)
    subject = base.get(key, ("",))[0]
    return replace(answer, witness=replace(answer.witness, principal=f"{provider.issuer}|{subject}"))


# --- accounts and anyone ----------------------------------------------------------------------------


def _aws_outsider_context(arn: str) -> dict[str, tuple[str, ...]]:
    account = _account_of(arn) or OUTSIDER_ACCOUNT
    kind = "Account" if arn.endswith(":root") else "User" if ":user/" in arn else "AssumedRole"
    return {
        "aws:principalarn": (arn,),
        "aws:principalaccount": (account,),
        "aws:principaltype": (kind,),
        "aws:principalisawsservice": ("false",),
    }


def _outside_account(engine: AwsEngine, ask: Ask, arn: str, answer_id: str, extra_note: str) -> Answer:
    account = _account_of(arn) or OUTSIDER_ACCOUNT
    note = (
        f"what account {account}'s own policies allow is outside the snapshot: taken as allowing "
        f"(its administrators decide it){extra_note}"
    )
    plan = _plan(
        engine,
        ask,
        principal_arn=arn,
        identity=(own_policies(),),
        context=_aws_outsider_context(arn),
        free_prefix=None,
        notes=[note],
    )
    return _settle(engine, ask, answer_id, plan)


def can_outsider(engine: AwsEngine, ask: Ask, ref: str) -> Answer:
    """A principal the snapshot does not list: ``*``, an account (id or root ARN), or an IAM
    ARN. In an account the snapshot holds, a user or role it does not list has no known
    policies: what it could do is unknown unless the resource's policy decides."""
    if ref == "*":
        answer = _outside_account(engine, ask, f"arn:aws:iam::{OUTSIDER_ACCOUNT}:root", "*", "; stands for anyone")
        return answer
    account = _account_of(ref)
    if account is None:
        try:
            classify_principal(ref)
        except ValueError as exc:
            raise QueryError(f"no AWS user or role {ref!r} in snapshot {engine.snapshot.id}: {exc}") from exc
        raise QueryError(f"no AWS user or role {ref!r} in snapshot {engine.snapshot.id}")
    arn = f"arn:aws:iam::{account}:root" if re.fullmatch(r"\d{12}", ref) else ref
    if account not in _scanned_accounts(engine) or arn.endswith(":root"):
        answer = _outside_account(engine, ask, arn, arn, "")
        return answer
    gap = Gap(
        detail=f"{arn} is not in the snapshot of account {account}: its policies are unknown",
        could_allow=True,
        could_deny=True,
        kind=ReasonKind.MISSING,
    )
    plan = _plan(
        engine,
        ask,
        principal_arn=arn,
        identity=(),
        context=_aws_outsider_context(arn),
        free_prefix=None,
        notes=[],
        gaps=[gap],
    )
    return _settle(engine, ask, arn, plan)


def who_can_outside(engine: AwsEngine, ask: Ask) -> list[Answer]:
    """Those outside the snapshot that the resource's policy admits, allowed or unknown."""
    index = engine.index
    service = ask.action.split(":", 1)[0].lower()
    account, _ = index.resource_account(service, ask.resource, None)
    resource_doc = index.resource_side(ask.action, ask.resource, account, [], [])
    if resource_doc is None:
        return []
    statements = _allow_statements(resource_doc.document, ask.action)
    scanned = _scanned_accounts(engine)
    out: list[Answer] = []
    providers = list(dict.fromkeys(f for s in statements for f in (s.principal.federated if s.principal else ())))
    for federated in providers:
        provider = provider_of(federated)
        naming = [s for s in statements if s.principal and federated in s.principal.federated]
        patterns = _subject_patterns(naming, provider)
        plan = _plan(
            engine,
            ask,
            principal_arn=federated,
            identity=(),
            context={} if provider.saml else {"aws:federatedprovider": (provider.name,)},
            free_prefix=provider.prefix,
            notes=[],
        )
        answer_id = f"{provider.issuer}|{','.join(patterns) or '*'}"
        answer = _settle(engine, ask, answer_id, plan)
        out.append(_nicer_subject(plan, answer, provider, patterns))
    everyone = any(s.principal is not None and s.principal.everyone for s in statements)
    accounts: list[str] = []
    for s in statements:
        assert s.principal is not None
        for value in s.principal.aws:
            acct = _account_of(value)
            if acct is None or acct in scanned:
                continue
            accounts.append(f"arn:aws:iam::{acct}:root" if re.fullmatch(r"\d{12}", value) else value)
    for arn in dict.fromkeys(accounts):
        out.append(_outside_account(engine, ask, arn, arn, ""))
    if everyone:
        anyone = _outside_account(
            engine, ask, f"arn:aws:iam::{OUTSIDER_ACCOUNT}:root", "*", "; stands for any principal in any AWS account"
        )
        out.append(anyone.with_notes([ANONYMOUS_NOTE]))
    return [a for a in out if not a.decision.denied]
