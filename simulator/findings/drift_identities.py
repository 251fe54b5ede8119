"""Do two identities grant the same access? (prod's role vs staging's, one service account vs its
twin in another project.)

Each identity has a *home*: its AWS account, its Google Cloud project, its Azure subscription.
Resources are compared with the home abstracted: A's home in A's grants and B's home in B's
grants stand for the same thing, so ``arn:aws:s3:::logs-111`` stays itself while
``arn:aws:iam::111111111111:role/x`` in A's grants and ``arn:aws:iam::222222222222:role/x`` in B's
are the same resource.

- AWS: the identity policies of each (its own and its groups', merged into one document: an
  identity's policies allow what any statement allows and no statement denies) are compared by
  the AWS comparison (:class:`~simulator.findings.drift_aws.DocumentComparer`), B's document with
  B's account written as A's. Every request found is confirmed with the estate: allowed for one
  identity (its witness) and denied for the other at the mapped resource.
- Google Cloud and Azure: the (permission, resource) pairs each identity's bindings or
  assignments grant, with the home abstracted; each pair one has and the other lacks is asked of
  both identities. The same pairs and no conditions: ``equivalent``.

``relation`` is B's access relative to A's: ``equivalent``, ``more`` (B has access A lacks, and
not the reverse), ``less``, ``incomparable`` (both), or ``unknown`` (a comparison or an answer
was not decided, or a difference found in the documents held for neither in the estate).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from models import AttachmentKind, Cloud, PolicyKind, Principal
from simulator.core import Decision, Estate, Method, QueryError, Witness
from simulator.findings.drift_aws import EMPTY_DOCUMENT, DocumentComparer, DocumentRequest, in_account
from simulator.findings.drift_azure import Catalog, assignment_key, operations, role_guid
from simulator.findings.drift_gcp import grants
from simulator.findings.drift_index import SideIndex

#: Pairs asked per comparison of Google Cloud or Azure identities; beyond it, ``unknown`` unless proven.
MAX_PAIRS = 200
HOME = "{home}"


@dataclass(frozen=True, kw_only=True)
class IdentityComparison:
    """B's access relative to A's (module docstring), with the witnesses of each side's extra."""

    first: str
    second: str
    relation: str
    only_first: tuple[Witness, ...] = ()
    only_second: tuple[Witness, ...] = ()
    reasons: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "a": self.first,
            "b": self.second,
            "relation": self.relation,
            "only_a": [w.to_json() for w in self.only_first],
            "only_b": [w.to_json() for w in self.only_second],
            "reasons": list(self.reasons),
        }


def home_of(principal: Principal) -> str:
    """The part of resource names that belongs to the identity's home (see the module docstring)."""
    if principal.cloud is Cloud.AWS:
        return f":{principal.id.split(':')[4]}:"
    if principal.cloud is Cloud.GCP:
        return principal.scope_id if principal.scope_id.startswith("projects/") else ""
    m = re.match(r"/subscriptions/[^/]+", principal.scope_id, re.IGNORECASE)
    return m.group(0).lower() if m else ""


def compare_identities(
    estate: Estate, first: str, second: str, *, comparer: DocumentComparer | None
) -> IdentityComparison:
    """Compare ``first`` and ``second`` of ``estate``'s snapshot (module docstring). Raises
    ValueError for an id the snapshot does not hold, or two identities of different clouds."""
    side = SideIndex(estate.snapshot)
    a, b = side.principals.get(first), side.principals.get(second)
    for ident, p in ((first, a), (second, b)):
        if p is None:
            raise ValueError(
                f"{ident!r} is no identity of snapshot {estate.snapshot.id}: give an id as `export` lists it"
            )
    assert a is not None and b is not None
    if a.cloud is not b.cloud:
        raise ValueError(
            f"{first} is in {a.cloud.value} and {second} in {b.cloud.value}: compare identities of one cloud"
        )
    if a.cloud is Cloud.AWS:
        return _aws(estate, side, a, b, comparer)
    pairs_a, complete_a = _pairs(side, a)
    pairs_b, complete_b = _pairs(side, b)
    return _grants(estate, a, b, pairs_a, pairs_b, complete_a and complete_b)


def merged_document(side: SideIndex, principal: Principal) -> dict[str, Any]:
    """One identity document holding every statement of the principal's and its groups' identity
    policies (what they allow together)."""
    holders = [principal.id, *principal.member_of]
    statements: list[Any] = []
    for policy in side.snapshot.policies:
        if policy.disabled or policy.deleted:
            continue
        if any(t in holders for t in side.targets(policy.id, frozenset({AttachmentKind.IDENTITY}))):
            body = policy.document.get("Statement") or []
            statements.extend(body if isinstance(body, list) else [body])
    return {**EMPTY_DOCUMENT, "Statement": statements}


def _aws(
    estate: Estate, side: SideIndex, a: Principal, b: Principal, comparer: DocumentComparer | None
) -> IdentityComparison:
    base = IdentityComparison(first=a.id, second=b.id, relation="unknown")
    if comparer is None:
        return _with(base, reasons=("no AWS document comparer was given",))
    home_a, home_b = home_of(a), home_of(b)
    doc_a = merged_document(side, a)
    doc_b = json.loads(json.dumps(merged_document(side, b)).replace(home_b, home_a))
    diff = comparer(doc_a, doc_b, kind="identity")
    reasons = [
        "identity policies (own and groups') compared; boundaries, organization and resource policies weigh only "
        "in the witnesses' confirmation"
    ]
    if diff.relation == "unknown":
        return _with(base, reasons=(*reasons, *diff.reasons))
    only_b = _confirm(estate, b, a, diff.gained, home_a, home_b, reasons)
    only_a = _confirm(estate, a, b, diff.lost, home_a, home_b, reasons, first_is_home=True)
    wants_b, wants_a = diff.relation in ("more", "incomparable"), diff.relation in ("less", "incomparable")
    relation = diff.relation
    if (wants_b and not only_b) or (wants_a and not only_a):
        relation = "unknown"
        reasons.append("the documents differ, but no request that differs was confirmed in the estate")
    return _with(base, relation=relation, only_first=only_a, only_second=only_b, reasons=tuple(reasons))


def _confirm(
    estate: Estate,
    has: Principal,
    lacks: Principal,
    requests: Iterable[DocumentRequest],
    home_a: str,
    home_b: str,
    reasons: list[str],
    *,
    first_is_home: bool = False,
) -> tuple[Witness, ...]:
    """Witnesses: ``has`` allowed a request (resource mapped to its home) that ``lacks`` is denied
    (resource mapped to its home). Requests are written in A's home."""
    out = []
    for r in requests:
        # The comparison may place a resource in any account (``Resource: *``): it is asked as
        # found, then moved into A's account; the estate decides either way.
        for resource in dict.fromkeys((r.resource, in_account(r.resource, home_a.strip(":")))):
            own = resource if first_is_home else resource.replace(home_a, home_b)
            other = resource.replace(home_a, home_b) if first_is_home else resource
            yes = _ask(estate, has.id, r.action, own, r.context)
            no = _ask(estate, lacks.id, r.action, other, r.context)
            if yes is None or no is None:
                reasons.append(f"{r.action} on {own}: unknown for one of the identities")
            elif yes.decision is Decision.ALLOWED and no.decision.denied and yes.witness is not None:
                out.append(yes.witness)
                break
    return tuple(out)


def _ask(
    estate: Estate, principal: str, action: str, resource: str, context: Mapping[str, tuple[str, ...]] | None
) -> Any:
    try:
        answer = estate.can(
            estate.ask(
                principal,
                action,
                resource,
                context=dict(context or {}),
                free_context=context is None,
                method=Method.SMT,
            )
        )
    except QueryError:
        return None
    return None if answer.decision is Decision.UNKNOWN else answer


Pair = tuple[str, str, bool]  # (permission, resource with the home abstracted, conditional)


def _pairs(side: SideIndex, principal: Principal) -> tuple[set[Pair], bool]:
    home = home_of(principal)
    holders = {principal.id, *principal.member_of}
    pairs: set[Pair] = set()
    complete = True
    if principal.cloud is Cloud.GCP:
        for policy in side.snapshot.policies:
            if policy.kind is not PolicyKind.GCP_BINDINGS:
                continue
            nodes = side.targets(policy.id, frozenset({AttachmentKind.BINDING})) or [policy.id.split("#", 1)[0]]
            for member, held in grants(policy.document).items():
                if member not in holders:
                    continue
                for role, condition in held:
                    role_doc = side.policy(role)
                    if role_doc is None:
                        complete = False
                        continue
                    for perm in role_doc.document.get("includedPermissions") or ():
                        pairs.add((str(perm), _abstract(nodes[0], home), bool(condition)))
        return pairs, complete
    catalog = Catalog(side)
    lowered = {h.lower() for h in holders}
    for policy in side.snapshot.policies:
        if policy.kind is not PolicyKind.AZURE_ASSIGNMENT:
            continue
        holder, guid, scope, condition = assignment_key(policy.document)
        if holder not in lowered:
            continue
        definition = next(
            (
                p
                for p in side.snapshot.policies
                if p.kind is PolicyKind.AZURE_ROLE_DEFINITION and role_guid(p.id) == guid
            ),
            None,
        )
        if definition is None:
            complete = False
            continue
        ops, named = operations(definition.document, catalog)
        complete = complete and named
        pairs.update((op, _abstract(scope, home), bool(condition)) for op in ops)
    return pairs, complete


def _abstract(resource: str, home: str) -> str:
    return resource.replace(home, HOME) if home else resource


def _grants(
    estate: Estate, a: Principal, b: Principal, pairs_a: set[Pair], pairs_b: set[Pair], complete: bool
) -> IdentityComparison:
    base = IdentityComparison(first=a.id, second=b.id, relation="unknown")
    plain_a = {(p, r) for p, r, _ in pairs_a}
    plain_b = {(p, r) for p, r, _ in pairs_b}
    conditional = any(c for *_, c in pairs_a | pairs_b)
    reasons: list[str] = []
    if not complete:
        reasons.append("a role bound to one of them is not in the snapshot, or its operations could not be named")
    if plain_a == plain_b and not conditional and complete:
        return _with(base, relation="equivalent", reasons=tuple(reasons))
    home_a, home_b = home_of(a), home_of(b)
    differing = sorted(plain_a ^ plain_b)
    if len(differing) > MAX_PAIRS:
        reasons.append(f"{len(differing)} permissions differ; the first {MAX_PAIRS} asked")
        complete = False
    only_a: list[Witness] = []
    only_b: list[Witness] = []
    undecided = 0
    for perm, abstract in differing[:MAX_PAIRS]:
        for has, lacks, home_has, home_lacks, found in ((a, b, home_a, home_b, only_a), (b, a, home_b, home_a, only_b)):
            yes = _ask(estate, has.id, perm, abstract.replace(HOME, home_has), None)
            if yes is None:
                undecided += 1
                continue
            if yes.decision is not Decision.ALLOWED:
                continue
            no = _ask(estate, lacks.id, perm, abstract.replace(HOME, home_lacks), None)
            if no is None:
                undecided += 1
            elif no.decision.denied and yes.witness is not None:
                found.append(yes.witness)
    if undecided:
        reasons.append(f"{undecided} question(s) were not decided")
    relation = {
        (False, False): "equivalent",
        (True, False): "less",
        (False, True): "more",
        (True, True): "incomparable",
    }[(bool(only_a), bool(only_b))]
    if relation != "incomparable" and (undecided or not complete or conditional):
        relation = "unknown"
    return _with(
        base, relation=relation, only_first=tuple(only_a[:10]), only_second=tuple(only_b[:10]), reasons=tuple(reasons)
    )


def _with(value: IdentityComparison, **fields: Any) -> IdentityComparison:
    from dataclasses import replace

    return replace(value, **fields)


__all__ = ["IdentityComparison", "compare_identities", "home_of", "merged_document"]
