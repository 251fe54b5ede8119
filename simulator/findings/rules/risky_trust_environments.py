"""``risky-trust/cross-environment-mint``: an identity of a non-production environment can obtain
the credentials of (or act as) one of production — one mint-graph edge from dev into prod.

An identity's environment is read from the scopes it lives in, nearest first: a tag or label
``env`` / ``environment`` (``prod``, ``production``, ``prd`` are production; ``dev``,
``development``, ``test``, ``qa``, ``stage``, ``staging``, ``sandbox`` are not), else the same
words as a part of the scope's name (``shop-prod``, ``acme-dev``, ``example-prod``). An identity
whose environment cannot be read is not judged (no claim either way). A workload's environment is
that of its scope. Edges that only restate where something runs (``runs-as``, ``member-of``) are
not environment crossings. An unknown edge gives an unknown finding.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from models import Snapshot
from simulator.core import Edge, EdgeStatus
from simulator.findings.context import Context
from simulator.findings.model import Category, Evidence, Finding, Nhi, RuleMeta, Severity
from simulator.findings.rules.ownership import Index

CROSS_ENVIRONMENT = RuleMeta(
    id="risky-trust/cross-environment-mint",
    title="A non-production identity can obtain a production identity's access",
    severity=Severity.HIGH,
    category=Category.RISKY_TRUST,
    nhi=(Nhi.NHI8,),
    rationale=(
        "Development and test identities are held to weaker controls (more people, looser CI); one that can mint "
        "a production identity's credentials makes production as weak as development."
    ),
    remediation=(
        "Remove the grant that lets the non-production identity impersonate or assume the production one; give "
        "production its own deploy identities, trusted only from production pipelines."
    ),
)
PRODUCTION = frozenset({"prod", "production", "prd"})
NON_PRODUCTION = frozenset({"dev", "development", "test", "qa", "stage", "staging", "sandbox"})
ENV_KEYS = ("env", "environment")
PLACEMENT = frozenset({"runs-as", "member-of"})


def environment(index: Index, scope_id: str | None) -> str | None:
    """``prod``, ``non-prod`` or None (not readable) for the scope and its parents, nearest first."""
    for scope in index.scope_chain(scope_id):
        tags = {k.lower(): v.lower() for k, v in scope.tags.items()}
        for key in ENV_KEYS:
            if key in tags:
                return _classify({tags[key]})
        found = _classify(set(re.split(r"[-_.\s/]+", scope.name.lower())))
        if found is not None:
            return found
    return None


def _classify(words: set[str]) -> str | None:
    if words & PRODUCTION:
        return "prod"
    if words & NON_PRODUCTION:
        return "non-prod"
    return None


def _homes(snapshot: Snapshot) -> dict[str, str]:
    homes = {p.id: p.scope_id for p in snapshot.principals}
    homes.update({w.id: w.scope_id for w in snapshot.workloads})
    return homes


def check(context: Context) -> Iterator[Finding]:
    """One finding per (non-production source, production target) pair of non-human nodes, its
    best edge (proven before unknown) as the evidence and every mechanism named."""
    index = Index(context.snapshot)
    homes = _homes(context.snapshot)
    envs: dict[str, str | None] = {}

    def env_of(node: str) -> str | None:
        if node not in envs:
            envs[node] = environment(index, homes.get(node))
        return envs[node]

    def machine(node: str) -> bool:
        principal = index.principals.get(node)
        return node in index.workloads or (principal is not None and index.is_non_human(principal))

    pairs: dict[tuple[str, str], list[Edge]] = {}
    for edge in context.graph.edges:
        if edge.mechanism in PLACEMENT or edge.source == edge.target:
            continue
        if edge.source not in homes or edge.target not in homes or not (machine(edge.source) and machine(edge.target)):
            continue
        if env_of(edge.source) == "non-prod" and env_of(edge.target) == "prod":
            pairs.setdefault((edge.source, edge.target), []).append(edge)
    for (source_id, target_id), edges in sorted(pairs.items()):
        edges.sort(key=lambda e: (e.status is not EdgeStatus.PROVEN, e.mechanism))
        best = edges[0]
        source, target = index.name(source_id), index.name(target_id)
        unknown = best.status is not EdgeStatus.PROVEN
        verb = "may obtain" if unknown else "can obtain"
        mechanisms = ", ".join(dict.fromkeys(e.mechanism for e in edges))
        yield Finding(
            rule=CROSS_ENVIRONMENT,
            subject=target_id,
            principal=source_id,
            cloud=best.cloud,
            sentence=f"{source} (non-production) {verb} the access of production identity {target} ({mechanisms})",
            evidence=(
                Evidence(what=f"{source} lives in a non-production scope", source=homes[source_id]),
                Evidence(what=f"{target} lives in a production scope", source=homes[target_id]),
                *(
                    Evidence(what=f"{a.ask.action} on {a.ask.resource}: {a.decision}", source=a.principal)
                    for a in best.answers
                ),
            ),
            answers=best.answers,
            key=(source_id,),
            unknown=unknown,
        )


RULES = ((CROSS_ENVIRONMENT, check),)

__all__ = ["RULES", "environment"]
