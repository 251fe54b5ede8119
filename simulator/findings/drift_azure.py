"""Azure drift in access: role assignments, role definitions and conditions.

An assignment grants its principal a role at a scope, under an optional condition; two versions
with the same principal, role, scope and condition are ``equivalent`` (the text around them —
timestamps, descriptions, names — grants nothing). A role definition's permission blocks
(actions, notActions, dataActions, notDataActions and their conditions, compared as sets,
case-insensitively) decide the same way.

For an assignment that differs, the requests it could affect are (principal, operation, scope)
for the operations of its role(s); for a role definition that differs, (principal, operation,
scope) for every assignment of it and every operation only one version grants. An operation
pattern with a wildcard is expanded through the snapshot's operations catalog (the provider
operations the scan read), else through the operation names the snapshot's role definitions spell
out (real names, but maybe not all: the change is then ``unknown`` unless a difference is proven).
A changed assignment whose new role's patterns cover the old one's (same principal, scope and
condition) can only gain access, and the reverse only lose it. Each request is confirmed on both estates
(:mod:`simulator.findings.drift_probe`) and the verdict read as for Google Cloud
(:func:`simulator.findings.drift_gcp.classify`).

Deny assignments and Entra directory roles are not compared yet (``unknown``); a PIM eligibility
grants nothing until it is activated (``none``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

from models import Cloud, Policy, PolicyKind
from simulator.findings.drift_gcp import MAX_PROBES, Plan, decide
from simulator.findings.drift_index import SideIndex
from simulator.findings.drift_model import Access, Change, ChangeKind, ChangeType
from simulator.findings.drift_probe import Probe, Prober

#: The kind of the resource that carries the provider operations catalog (scanner.azure.normalize).
OPERATIONS_KIND = "authorization:providerOperations"
ASSIGNMENT_KINDS = (PolicyKind.AZURE_ASSIGNMENT,)
_GUID = re.compile(r"roledefinitions/([^/]+)$", re.IGNORECASE)

Operations = frozenset[tuple[str, bool]]  # (operation lower-case, data action)


def role_guid(role_id: str) -> str:
    m = _GUID.search(role_id.strip())
    return (m.group(1) if m else role_id).lower()


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in value) if isinstance(value, list | tuple) else ()


def blocks(document: Mapping[str, Any] | None) -> frozenset[tuple[Any, ...]]:
    """A role definition's permission blocks, normalized (sets, lower case, condition trimmed)."""
    out = set()
    for p in (document or {}).get("permissions") or ():
        if isinstance(p, Mapping):
            out.add(
                (
                    *(
                        frozenset(s.lower() for s in _strings(p.get(k)))
                        for k in ("actions", "notActions", "dataActions", "notDataActions")
                    ),
                    str(p.get("condition") or "").strip(),
                )
            )
    return frozenset(out)


def assignment_key(document: Mapping[str, Any]) -> tuple[str, str, str, str]:
    """(principal, role, scope, condition): what an assignment grants."""
    scope = str(document.get("scope") or "").lower().rstrip("/") or "/"
    return (
        str(document.get("principalId") or "").lower(),
        role_guid(str(document.get("roleDefinitionId") or "")),
        scope,
        str(document.get("condition") or "").strip(),
    )


class Catalog:
    """The operation names one snapshot knows: its provider operations catalog (``complete``: a
    wildcard's expansion is then all there is), and the names its role definitions spell out
    (real operations, but not all of them)."""

    def __init__(self, side: SideIndex) -> None:
        ops: set[tuple[str, bool]] = set()
        for r in side.snapshot.resources:
            if r.cloud is Cloud.AZURE and r.kind == OPERATIONS_KIND:
                for is_data, key in ((False, "actions"), (True, "dataActions")):
                    ops.update((name, is_data) for name in r.attributes.get(key, "").split())
        self.complete = bool(ops)
        for policy in side.snapshot.policies:
            if policy.kind is PolicyKind.AZURE_ROLE_DEFINITION:
                for p in policy.document.get("permissions") or ():
                    if isinstance(p, Mapping):
                        for is_data, key in ((False, "actions"), (True, "dataActions")):
                            ops.update((name, is_data) for name in _strings(p.get(key)) if "*" not in name)
        self.operations = sorted(ops)

    def expand(self, pattern: str, data: bool) -> tuple[list[str], bool]:
        """Concrete operations matching ``pattern``, and whether they are all there are."""
        if "*" not in pattern:
            return [pattern], True
        rx = re.compile("^" + ".*".join(re.escape(part) for part in pattern.split("*")) + "$", re.IGNORECASE)
        return [op for op, is_data in self.operations if is_data == data and rx.match(op)], self.complete


def covers(wide: Mapping[str, Any] | None, narrow: Mapping[str, Any] | None) -> bool:
    """Whether role definition ``wide`` grants every operation ``narrow`` does, read from the
    patterns alone: each of ``narrow``'s allow patterns is matched, as text, by an allow pattern
    of a block of ``wide`` that subtracts nothing and has no condition."""
    open_blocks = [
        p
        for p in (wide or {}).get("permissions") or ()
        if isinstance(p, Mapping) and not p.get("notActions") and not p.get("notDataActions") and not p.get("condition")
    ]
    for p in (narrow or {}).get("permissions") or ():
        if not isinstance(p, Mapping):
            continue
        for key in ("actions", "dataActions"):
            for pattern in _strings(p.get(key)):
                if not any(_matches(q, pattern) for b in open_blocks for q in _strings(b.get(key))):
                    return False
    return True


def _matches(pattern: str, operation: str) -> bool:
    rx = "^" + ".*".join(re.escape(part) for part in pattern.split("*")) + "$"
    return re.match(rx, operation, re.IGNORECASE) is not None


def operations(document: Mapping[str, Any] | None, catalog: Catalog) -> tuple[frozenset[str], bool]:
    """The concrete operations a role definition grants (notActions taken out), and whether every
    pattern could be expanded."""
    out: set[str] = set()
    complete = True
    for p in (document or {}).get("permissions") or ():
        if not isinstance(p, Mapping):
            continue
        for allow, subtract, data in (("actions", "notActions", False), ("dataActions", "notDataActions", True)):
            minus = _strings(p.get(subtract))
            for pattern in _strings(p.get(allow)):
                ops, named = catalog.expand(pattern, data)
                complete = complete and named
                out.update(op for op in ops if not any(_matches(m, op) for m in minus))
    return frozenset(out), complete


@dataclass(frozen=True, kw_only=True)
class AzureDrift:
    old: SideIndex
    new: SideIndex
    prober: Prober

    @cached_property
    def _catalogs(self) -> tuple[Catalog, Catalog]:
        return Catalog(self.old), Catalog(self.new)

    def change(self, ident: str, change: ChangeType, old: Policy | None, new: Policy | None) -> Change:
        policy = new or old
        assert policy is not None
        if policy.kind is PolicyKind.AZURE_ASSIGNMENT:
            return self._assignment(ident, change, old, new)
        if policy.kind is PolicyKind.AZURE_ROLE_DEFINITION:
            return self._role(ident, change, old, new)
        kind = ChangeKind.ROLE if policy.kind is PolicyKind.ENTRA_ROLE_DEFINITION else ChangeKind.ASSIGNMENT
        if policy.kind is PolicyKind.AZURE_DENY_ASSIGNMENT:
            kind = ChangeKind.POLICY
        base = Change(id=ident, cloud=Cloud.AZURE, kind=kind, change=change, access=Access.UNKNOWN)
        principal = str(policy.document.get("principalId") or "")
        base = replace(base, principals=(principal,) if principal else ())
        if policy.kind is PolicyKind.AZURE_ELIGIBLE_ASSIGNMENT:
            return replace(base, access=Access.NONE, reasons=("an eligibility grants nothing until activated",))
        return replace(base, reasons=(f"changes of {policy.kind.value} documents are not compared yet",))

    @cached_property
    def _roles(self) -> tuple[dict[str, Policy], dict[str, Policy]]:
        def index(side: SideIndex) -> dict[str, Policy]:
            return {role_guid(p.id): p for p in side.snapshot.policies if p.kind is PolicyKind.AZURE_ROLE_DEFINITION}

        return index(self.old), index(self.new)

    def _assignment(self, ident: str, change: ChangeType, old: Policy | None, new: Policy | None) -> Change:
        base = Change(id=ident, cloud=Cloud.AZURE, kind=ChangeKind.ASSIGNMENT, change=change, access=Access.NONE)
        keys = [assignment_key(p.document) if p is not None else None for p in (old, new)]
        if keys[0] == keys[1]:
            return replace(base, access=Access.EQUIVALENT)
        principals: dict[str, None] = {}
        granted: list[frozenset[str]] = []
        roles: list[Policy | None] = []
        complete, conditional = True, False
        for policy, roles_of, catalog in zip((old, new), self._roles, self._catalogs, strict=True):
            if policy is None:
                granted.append(frozenset())
                roles.append(None)
                continue
            principal, guid, _, condition = assignment_key(policy.document)
            principals[str(policy.document.get("principalId") or principal)] = None
            conditional = conditional or bool(condition)
            role = roles_of.get(guid)
            roles.append(role)
            if role is None:
                complete = False
                granted.append(frozenset())
                continue
            ops, named = operations(role.document, catalog)
            complete = complete and named
            granted.append(ops)
        # What only one side grants first: those are the requests that can differ.
        ops_list = [*sorted(granted[0] ^ granted[1]), *sorted(granted[0] & granted[1])]
        reasons = [] if complete else ["a role's operations could not all be named (role missing, or no catalog)"]
        chosen = ops_list[:MAX_PROBES]
        if len(chosen) < len(ops_list):
            reasons.append(f"{len(ops_list)} operations; the first {MAX_PROBES} asked")
        return self._decide(
            base,
            self._plans(old, new, roles, chosen, complete and len(chosen) == len(ops_list), conditional, reasons),
            tuple(principals),
        )

    def _plans(
        self,
        old: Policy | None,
        new: Policy | None,
        roles: list[Policy | None],
        chosen: list[str],
        complete: bool,
        conditional: bool,
        reasons: list[str],
    ) -> list[Plan]:
        only: str | None = "gained" if old is None else "lost" if new is None else None
        if old is not None and new is not None and None not in roles:
            before, after = assignment_key(old.document), assignment_key(new.document)
            same = (before[0], before[2], before[3]) == (after[0], after[2], after[3])  # principal, scope, condition
            old_role, new_role = (r.document if r is not None else None for r in roles)
            if same and covers(new_role, old_role):
                only = "gained"
            elif same and covers(old_role, new_role):
                only = "lost"
        places = {
            (str(p.document.get("principalId") or ""), str(p.document.get("scope") or "")): None
            for p in (old, new)
            if p is not None
        }
        return [
            Plan(
                probes=tuple(Probe(principal=principal, action=op, resource=scope) for op in chosen),
                complete=complete,
                conditional=conditional,
                reasons=tuple(reasons),
                only=only,
            )
            for principal, scope in places
        ]

    def _role(self, ident: str, change: ChangeType, old: Policy | None, new: Policy | None) -> Change:
        base = Change(id=ident, cloud=Cloud.AZURE, kind=ChangeKind.ROLE, change=change, access=Access.NONE)
        docs = (old.document if old else None, new.document if new else None)
        if blocks(docs[0]) == blocks(docs[1]):
            return replace(base, access=Access.EQUIVALENT if change is ChangeType.CHANGED else Access.NONE)
        catalog_old, catalog_new = self._catalogs
        before, named_old = operations(docs[0], catalog_old)
        after, named_new = operations(docs[1], catalog_new)
        differing = sorted(before ^ after)
        complete = named_old and named_new
        conditional = any(b[-1] for b in blocks(docs[0]) ^ blocks(docs[1]))
        guid = role_guid(ident)
        holders: dict[tuple[str, str], bool] = {}
        for side in (self.old, self.new):
            for doc in self._assignments_of(side, guid):
                principal, _, _, condition = assignment_key(doc)
                key = (str(doc.get("principalId") or principal), str(doc.get("scope") or ""))
                holders[key] = holders.get(key, False) or bool(condition)
        if not holders:
            return replace(base, reasons=("no assignment in either snapshot grants this role",))
        only = None
        if complete and not conditional:
            only = "gained" if before <= after else "lost" if after <= before else None
        chosen = differing[:MAX_PROBES]
        reasons = [] if complete else ["the operations of a wildcard could not be named (no operations catalog)"]
        if len(chosen) < len(differing):
            reasons.append(f"{len(differing)} operations differ; the first {MAX_PROBES} asked")
        plans = [
            Plan(
                probes=tuple(Probe(principal=p, action=op, resource=scope) for op in chosen),
                complete=complete and len(chosen) == len(differing),
                conditional=conditional or cond,
                reasons=tuple(reasons),
                only=only,
            )
            for (p, scope), cond in sorted(holders.items())
        ]
        return self._decide(base, plans, tuple(dict.fromkeys(p for p, _ in holders)))

    def _assignments_of(self, side: SideIndex, guid: str) -> Iterable[Mapping[str, Any]]:
        for p in side.snapshot.policies:
            if p.kind is PolicyKind.AZURE_ASSIGNMENT and assignment_key(p.document)[1] == guid:
                yield p.document

    def _decide(self, base: Change, plans: list[Plan], principals: tuple[str, ...]) -> Change:
        return decide(self.prober, base, plans, principals)


__all__ = ["AzureDrift", "Catalog", "assignment_key", "blocks", "covers", "operations", "role_guid"]
