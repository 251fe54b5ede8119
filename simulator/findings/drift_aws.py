"""AWS drift in access: a changed policy document is compared with its old self over every
request, and the requests that differ are confirmed on both estates.

The comparison is the AWS simulator's ``compare`` (see :mod:`simulator.aws.compare`), handed in as
a :class:`DocumentComparer` so that this package asks the clouds only through interfaces: the CLI
passes :func:`iamdrift.drift_commands.aws_comparer`. Without one, every changed AWS document is
``unknown``.

For a document of one principal's grants (identity, inline, managed, boundary, SCP) the
comparison's witnesses name no principal: each is asked as every principal the document applies
to (the targets of its attachments, a group's members; for an organization policy a sample of the
principals below its target). For a trust policy the witness names who assumes, asked of the
role; for a resource policy the witness names who acts. The verdict:

- the comparison says ``equivalent``: the change is ``equivalent`` (nothing any principal can do
  depends on the text alone);
- it says ``more`` / ``less`` / ``incomparable``: each direction it found is confirmed only when
  some witness holds in the estates (the new one allows it, the old one, asked the very request,
  denies it); a direction the comparison found that no witness confirmed (another policy, a
  boundary or an SCP may cap it; the sample may have missed the principals it matters for) makes
  the change ``unknown``;
- it says ``unknown`` (timeout, unsupported construct): ``unknown``, with its reasons.

A document attached to nothing grants nothing: its change is ``none``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from models import AttachmentKind, Cloud, Policy, PolicyKind
from simulator.findings.drift_index import SideIndex
from simulator.findings.drift_model import Access, Change, ChangeKind, ChangeType
from simulator.findings.drift_probe import Probe, Prober, summarize

EMPTY_DOCUMENT: dict[str, Any] = {"Version": "2012-10-17", "Statement": []}
GRANT_KINDS = frozenset({AttachmentKind.IDENTITY, AttachmentKind.BOUNDARY})
ORG_KINDS = frozenset({AttachmentKind.SCP, AttachmentKind.RCP})


@dataclass(frozen=True, kw_only=True)
class DocumentRequest:
    """A request on which two documents differ: ``principal`` is None for a document that names
    none (an identity policy: it applies to whoever holds it)."""

    principal: str | None
    action: str
    resource: str
    context: Mapping[str, tuple[str, ...]]


@dataclass(frozen=True, kw_only=True)
class DocumentDiff:
    """The relation of a new document to an old one: ``equivalent``, ``more``, ``less``,
    ``incomparable`` or ``unknown``, with requests allowed only by the new one (``gained``) and
    only by the old one (``lost``), and why when unknown."""

    relation: str
    gained: tuple[DocumentRequest, ...] = ()
    lost: tuple[DocumentRequest, ...] = ()
    reasons: tuple[str, ...] = ()


class DocumentComparer(Protocol):
    """Compares two AWS policy documents of one type (``identity``, ``trust`` or ``resource``)."""

    def __call__(self, old: dict[str, Any], new: dict[str, Any], *, kind: str) -> DocumentDiff: ...


def compare_type(kind: PolicyKind) -> str:
    """How a document of ``kind`` is compared: trust policies as ``trust``, resource policies and
    RCPs as ``resource`` (their Principal element decides), the rest as ``identity``."""
    if kind is PolicyKind.TRUST:
        return "trust"
    if kind in (PolicyKind.RESOURCE, PolicyKind.RCP):
        return "resource"
    return "identity"


@dataclass(frozen=True, kw_only=True)
class AwsDrift:
    """The AWS access of one change, from the two sides' indexes and the prober."""

    old: SideIndex
    new: SideIndex
    prober: Prober
    comparer: DocumentComparer | None

    def policy_change(self, ident: str, change: ChangeType, old: Policy | None, new: Policy | None) -> Change:
        policy = new or old
        assert policy is not None
        targets, complete = self._targets(policy, (self.old, self.new))
        return self._compare(
            ident, change, policy, _document(old), _document(new), targets, complete, kind=ChangeKind.POLICY
        )

    def attachment_change(self, ident: str, change: ChangeType, policy_id: str, target: str) -> Change:
        side = self.new if change is ChangeType.ADDED else self.old
        policy = side.policy(policy_id) or self.new.policy(policy_id) or self.old.policy(policy_id)
        if policy is None:
            return Change(
                id=ident,
                cloud=Cloud.AWS,
                kind=ChangeKind.POLICY,
                change=change,
                access=Access.UNKNOWN,
                principals=(target,),
                reasons=(f"the policy {policy_id} is in neither snapshot",),
            )
        doc = _document(policy)
        before, after = (None, doc) if change is ChangeType.ADDED else (doc, None)
        if policy.kind in (PolicyKind.SCP, PolicyKind.RCP):
            found, complete = side.under_scope(target)
            targets = found
        else:
            targets, complete = side.expand([target]), True
        return self._compare(ident, change, policy, before, after, targets, complete, kind=ChangeKind.POLICY)

    def _targets(self, policy: Policy, sides: tuple[SideIndex, ...]) -> tuple[list[str], bool]:
        out: dict[str, None] = {}
        complete = True
        for side in sides:
            if policy.kind in (PolicyKind.SCP, PolicyKind.RCP):
                for scope in side.targets(policy.id, ORG_KINDS):
                    found, whole = side.under_scope(scope)
                    out.update(dict.fromkeys(found))
                    complete = complete and whole
            elif policy.kind is PolicyKind.TRUST:
                out.update(dict.fromkeys(side.targets(policy.id, frozenset({AttachmentKind.TRUST}))))
            elif policy.kind is PolicyKind.RESOURCE:
                out.update(dict.fromkeys(side.targets(policy.id, frozenset({AttachmentKind.RESOURCE}))))
            else:
                out.update(dict.fromkeys(side.expand(side.targets(policy.id, GRANT_KINDS))))
        return list(out), complete

    def _compare(
        self,
        ident: str,
        change: ChangeType,
        policy: Policy,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
        targets: list[str],
        complete: bool,
        *,
        kind: ChangeKind,
    ) -> Change:
        base = Change(id=ident, cloud=Cloud.AWS, kind=kind, change=change, access=Access.UNKNOWN)
        ctype = compare_type(policy.kind)
        holders = () if ctype == "resource" else tuple(targets)
        base = _with(base, principals=holders)
        if not targets:
            return _with(base, access=Access.NONE, reasons=("the document applies to nothing in either snapshot",))
        if self.comparer is None:
            return _with(base, reasons=("no AWS document comparer was given",))
        diff = self.comparer(before or EMPTY_DOCUMENT, after or EMPTY_DOCUMENT, kind=ctype)
        if diff.relation == "equivalent":
            access = Access.EQUIVALENT if change is ChangeType.CHANGED else Access.NONE
            return _with(base, access=access)
        if diff.relation == "unknown":
            return _with(base, reasons=diff.reasons or ("the comparison was not decided",))
        probes = [p for r in (*diff.gained, *diff.lost) for p in _probes(r, ctype, targets)]
        confirmed = self.prober.confirm(probes, ask_all=True)  # the comparison's few witnesses
        wants_gain = diff.relation in ("more", "incomparable")
        wants_loss = diff.relation in ("less", "incomparable")
        principals = holders or tuple(dict.fromkeys(w.principal for w in (*confirmed.gained, *confirmed.lost)))
        reasons = list(summarize(confirmed.unknown))
        if wants_gain and not confirmed.gained:
            reasons.append("the document allows more, but no request it adds was confirmed allowed in the new estate")
        if wants_loss and not confirmed.lost:
            reasons.append("the document allows less, but no request it drops was confirmed denied in the new estate")
        if not complete:
            reasons.append("only a sample of the principals below the organization policy's target was asked")
        settled = (not wants_gain or confirmed.gained) and (not wants_loss or confirmed.lost)
        access = Access.UNKNOWN
        if settled:  # the directions the comparison found hold; the others it proved empty
            access = {(True, True): Access.BOTH, (True, False): Access.GAINED, (False, True): Access.LOST}[
                (wants_gain, wants_loss)
            ]
        return _with(
            base,
            access=access,
            gained=confirmed.gained,
            lost=confirmed.lost,
            principals=principals,
            reasons=tuple(reasons),
        )


def in_account(arn: str, account: str) -> str:
    """``arn`` with its account field set to ``account`` (unchanged when it has none)."""
    parts = arn.split(":")
    if len(parts) > 5 and parts[0] == "arn" and parts[4].isdigit() and account.isdigit():
        parts[4] = account
    return ":".join(parts)


def _probes(request: DocumentRequest, ctype: str, targets: list[str]) -> list[Probe]:
    """The estate requests that test one of the comparison's witnesses. The comparison may place
    a resource in any account (for ``Resource: *``); a request in the principal's own account is
    asked too (whether it holds is the estate's to say, so any resource is a fair question)."""
    if ctype == "identity":
        out = []
        for t in targets:
            account = t.split(":")[4] if t.count(":") >= 5 else ""
            for resource in dict.fromkeys((request.resource, in_account(request.resource, account))):
                out.append(Probe.fixed(t, request.action, resource, request.context))
        return out
    if request.principal is None:
        return []
    if ctype == "trust":
        return [Probe.fixed(request.principal, request.action, role, request.context) for role in targets]
    return [Probe.fixed(request.principal, request.action, request.resource, request.context)]


def _document(policy: Policy | None) -> dict[str, Any] | None:
    if policy is None or policy.disabled or policy.deleted:
        return None
    return policy.document


def _with(change: Change, **fields: Any) -> Change:
    from dataclasses import replace

    return replace(change, **fields)


__all__ = [
    "EMPTY_DOCUMENT",
    "AwsDrift",
    "DocumentComparer",
    "DocumentDiff",
    "DocumentRequest",
    "compare_type",
    "in_account",
]
