"""Drift between two snapshots, in access: what changed, what it lets principals do or no longer
do (proven with witnesses), the chains to admin it opened and closed, and the findings it raised
and resolved.

Objects are matched by their stable ids (:mod:`simulator.findings.drift_objects`). Each policy
added, removed or changed, and each attachment added or removed on its own (not with its policy),
is judged in access by its cloud's module — AWS by comparing the two documents
(:mod:`simulator.findings.drift_aws`), Google Cloud by bindings, roles and conditions
(:mod:`simulator.findings.drift_gcp`), Azure by assignments, role definitions and conditions
(:mod:`simulator.findings.drift_azure`) — and every difference they claim is confirmed on the old
and the new estate (:mod:`simulator.findings.drift_probe`). Principals, credentials and workloads
grant nothing themselves: their rows are ``none`` (who can now obtain them shows in the chains),
except a principal whose group memberships or disabled state changed, which is ``unknown`` (what
the groups grant is not compared).

A snapshot with coverage gaps is said in ``notes``: drift over what one scan could not read is
not "no drift".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import replace

from models import Attachment, AttachmentKind, Cloud, Credential, Policy, PolicyKind, Principal, Workload
from simulator.core import EdgeStatus, Estate
from simulator.findings.catalogue import Outcome
from simulator.findings.drift_aws import AwsDrift, DocumentComparer
from simulator.findings.drift_azure import AzureDrift
from simulator.findings.drift_gcp import GcpDrift
from simulator.findings.drift_index import SideIndex
from simulator.findings.drift_model import Access, Change, ChangeKind, ChangeType, Drift
from simulator.findings.drift_objects import ObjectChange, object_changes
from simulator.findings.drift_probe import Prober
from simulator.graph import Chain, MintGraph

_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
#: Attachment kinds whose document is a binding or assignment already judged with its policy.
_SCOPED = frozenset({AttachmentKind.BINDING, AttachmentKind.ASSIGNMENT, AttachmentKind.DENY})


def access_changes(old: Estate, new: Estate, *, comparer: DocumentComparer | None = None) -> tuple[Change, ...]:
    """Every object change from ``old`` to ``new``, each with its access (module docstring)."""
    old_side, new_side = SideIndex(old.snapshot), SideIndex(new.snapshot)
    prober = Prober(old=old, new=new, absent_old=_absent(new_side, old_side), absent_new=_absent(old_side, new_side))
    aws = AwsDrift(old=old_side, new=new_side, prober=prober, comparer=comparer)
    gcp = GcpDrift(old=old_side, new=new_side, prober=prober)
    azure = AzureDrift(old=old_side, new=new_side, prober=prober)
    changes = object_changes(old.snapshot, new.snapshot)
    moved_policies = {c.id for c in changes if c.collection == "policies" and c.change is not ChangeType.CHANGED}
    out: list[Change] = []
    for c in changes:
        item = c.current
        if isinstance(item, Policy):
            if item.cloud is Cloud.AWS:
                out.append(aws.policy_change(c.id, c.change, c.old, c.new))
            elif item.cloud is Cloud.GCP:
                out.append(gcp.change(c.id, c.change, c.old, c.new))
            else:
                out.append(azure.change(c.id, c.change, c.old, c.new))
        elif isinstance(item, Attachment):
            if item.policy_id in moved_policies:
                continue  # judged with its policy, which was added or removed with it
            policy = new_side.policy(item.policy_id) or old_side.policy(item.policy_id)
            out.append(_attachment(c, item, policy, aws))
        else:
            out.append(_holder(c, {**old_side.principals, **new_side.principals}))
    return tuple(out)


def _absent(present: SideIndex, other: SideIndex) -> frozenset[str]:
    """Principals ``present`` holds that ``other`` lacks, although ``other`` holds their cloud's
    identities (so they did not exist there: denied everything)."""
    return frozenset(
        p
        for p, principal in present.principals.items()
        if p not in other.principals and other.holds_cloud(principal.cloud)
    )


def _attachment(c: ObjectChange, item: Attachment, policy: Policy | None, aws: AwsDrift) -> Change:
    cloud = policy.cloud if policy is not None else _cloud_of_target(item.target_id)
    if cloud is Cloud.AWS:
        return aws.attachment_change(c.id, c.change, item.policy_id, item.target_id)
    kind = ChangeKind.BINDING if cloud is Cloud.GCP else ChangeKind.ASSIGNMENT
    if policy is not None and policy.kind is PolicyKind.GCP_DENY:
        kind = ChangeKind.POLICY
    reason = f"{item.kind.value} of {item.policy_id} to {item.target_id} moved while the document stayed"
    access = Access.UNKNOWN if item.kind in _SCOPED else Access.NONE
    return Change(id=c.id, cloud=cloud, kind=kind, change=c.change, access=access, reasons=(reason,))


def _cloud_of_target(target: str) -> Cloud:
    """The cloud of an attachment whose policy neither snapshot holds, from its target's form."""
    if target.startswith(("arn:", "r-", "ou-", "o-")) or target.isdigit():
        return Cloud.AWS
    azure = (target.startswith("/") and not target.startswith("//")) or _GUID.fullmatch(target) is not None
    return Cloud.AZURE if azure else Cloud.GCP


def _holder(c: ObjectChange, principals: Mapping[str, Principal]) -> Change:
    """The row of a principal, credential or workload (``principals``: both sides' by id)."""
    item = c.current
    if isinstance(item, Principal):
        access = Access.NONE
        reasons: tuple[str, ...] = ()
        if c.change is ChangeType.CHANGED and (
            c.old.member_of != c.new.member_of or (c.old.disabled, c.old.deleted) != (c.new.disabled, c.new.deleted)
        ):
            access = Access.UNKNOWN
            reasons = ("its group memberships or disabled state changed: what that grants is not compared",)
        return Change(
            id=c.id,
            cloud=item.cloud,
            kind=ChangeKind.PRINCIPAL,
            change=c.change,
            access=access,
            principals=(item.id,),
            reasons=reasons,
        )
    if isinstance(item, Credential):
        owner = principals.get(item.principal_id)
        cloud = owner.cloud if owner is not None else _cloud_of_credential(item)
        return Change(
            id=c.id,
            cloud=cloud,
            kind=ChangeKind.CREDENTIAL,
            change=c.change,
            access=Access.NONE,
            principals=(item.principal_id,),
        )
    assert isinstance(item, Workload)
    return Change(
        id=c.id,
        cloud=item.cloud,
        kind=ChangeKind.WORKLOAD,
        change=c.change,
        access=Access.NONE,
        principals=tuple(item.principal_ids),
    )


def _cloud_of_credential(credential: Credential) -> Cloud:
    """The cloud of a credential whose principal neither snapshot holds, from the id's form."""
    ident = credential.principal_id
    if ident.startswith("arn:"):
        return Cloud.AWS
    if ":" in ident or "@" in ident:
        return Cloud.GCP
    return Cloud.AZURE


def chain_changes(old: MintGraph, new: MintGraph) -> tuple[tuple[Chain, ...], tuple[Chain, ...]]:
    """(opened, closed): the chains to admin of ``new`` from starts that had none in ``old`` (or an
    unknown one where the new one is proven), and the reverse (as ``old`` had them)."""
    before = _best(old.paths_to_admin())
    after = _best(new.paths_to_admin())
    opened = tuple(c for s, c in after.items() if _stronger(c, before.get(s)))
    closed = tuple(c for s, c in before.items() if _stronger(c, after.get(s)))
    return opened, closed


def _best(chains: Iterable[Chain]) -> dict[str, Chain]:
    out: dict[str, Chain] = {}
    for chain in chains:
        kept = out.get(chain.source)
        if kept is None or (kept.status is EdgeStatus.UNKNOWN and chain.status is EdgeStatus.PROVEN):
            out[chain.source] = chain
    return out


def _stronger(chain: Chain, other: Chain | None) -> bool:
    if other is None:
        return True
    return chain.status is EdgeStatus.PROVEN and other.status is EdgeStatus.UNKNOWN


def drift(
    old: Estate,
    new: Estate,
    *,
    comparer: DocumentComparer | None = None,
    graphs: tuple[MintGraph, MintGraph] | None = None,
    findings: tuple[Outcome, Outcome] | None = None,
) -> Drift:
    """Drift from ``old`` to ``new``: access changes, and (when given) the chains of the two mint
    graphs and the two findings runs compared."""
    changes = access_changes(old, new, comparer=comparer)
    notes: list[str] = []
    for label, estate in (("old", old), ("new", new)):
        gaps = estate.snapshot.gaps
        if gaps:
            notes.append(
                f"the {label} snapshot {estate.snapshot.id} has {len(gaps)} coverage gap(s): drift in what it "
                "could not read is not seen (`iamdrift show --coverage`)"
            )
    result = Drift(from_id=old.snapshot.id, to_id=new.snapshot.id, changes=changes)
    if graphs is not None:
        opened, closed = chain_changes(*graphs)
        result = replace(
            result,
            opened=opened,
            closed=closed,
            new_admins=tuple(sorted(set(graphs[1].admins) - set(graphs[0].admins))),
            former_admins=tuple(sorted(set(graphs[0].admins) - set(graphs[1].admins))),
        )
    if findings is not None:
        before = {f.id: f for f in findings[0].findings}
        after = {f.id: f for f in findings[1].findings}
        result = replace(
            result,
            findings_new=tuple(f for i, f in after.items() if i not in before),
            findings_resolved=tuple(f for i, f in before.items() if i not in after),
        )
        for label, outcome in (("old", findings[0]), ("new", findings[1])):
            for failure in outcome.failures:
                notes.append(
                    f"rule {failure.rule} failed on the {label} snapshot ({failure.error}): "
                    "its findings are not compared"
                )
    return replace(result, notes=tuple(notes))


__all__ = ["access_changes", "chain_changes", "drift"]
