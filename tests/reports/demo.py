"""The demo estate, its mint graph, and small test rules over them, for the report tests.

The rules are defined here (not the catalogue's, which other work changes) so the tests hold the
reports to findings whose content is known: every chain to admin of the demo graph (proven or
unknown, so both kinds are rendered), every admin-equivalent identity, and a rule that fails.
"""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime

from iamdrift.cli import DEMO_DIR
from iamdrift.reports import Report
from iamdrift.reports.suppressions import Suppression, apply_suppressions
from models import Snapshot
from scanner.files import scan_files
from simulator.engines import open_estate
from simulator.findings import Category, Context, Evidence, Finding, Nhi, Rule, RuleMeta, Severity, run_rules
from simulator.graph import MintGraph, build

AT = datetime(2025, 6, 2, 12, tzinfo=UTC)
TODAY = date(2025, 6, 2)

CHAIN_RULE = RuleMeta(
    id="escalation-path/test-chain-to-admin",
    title="Test: a chain to admin",
    severity=Severity.CRITICAL,
    category=Category.ESCALATION_PATH,
    nhi=(Nhi.NHI5,),
    rationale="A <chain> lets the start act as an admin.",
    remediation="Break the first edge; *do not* trust | pipes.",
)
ADMIN_RULE = RuleMeta(
    id="excess-privilege/test-admin",
    title="Test: an admin-equivalent identity",
    severity=Severity.MEDIUM,
    category=Category.EXCESS_PRIVILEGE,
    nhi=(Nhi.NHI5, Nhi.NHI10),
    rationale="Admins can do anything.",
    remediation="Scope it down.",
)
UNKNOWN_RULE = RuleMeta(
    id="risky-trust/test-unknown",
    title="Test: a finding that rests on an unproven answer",
    severity=Severity.HIGH,
    category=Category.RISKY_TRUST,
    nhi=(Nhi.NHI3,),
    rationale="Unproven: it might hold.",
    remediation="Look at it.",
)
BROKEN_RULE = RuleMeta(
    id="ownership/test-broken",
    title="Test: a rule that raises",
    severity=Severity.LOW,
    category=Category.OWNERSHIP,
    nhi=(Nhi.NHI1,),
    rationale="It fails.",
    remediation="Fix the rule.",
)


@functools.cache
def demo_snapshot() -> Snapshot:
    return scan_files([DEMO_DIR / c for c in ("aws", "gcp", "azure")], label="demo estate")


@functools.cache
def demo_graph() -> MintGraph:
    return build(open_estate(demo_snapshot(), at=AT))


def chains(context: Context) -> list[Finding]:
    out = []
    for chain in context.graph.paths_to_admin():
        clouds = {e.cloud for e in chain.edges}
        out.append(
            Finding(
                rule=CHAIN_RULE,
                subject=chain.source,
                principal=chain.source,
                cloud=clouds.pop() if len(clouds) == 1 else None,
                sentence=f"{chain.source} can become admin through {len(chain.edges)} steps.",
                evidence=tuple(Evidence(what=f"{e.mechanism}: {e.source} -> {e.target}") for e in chain.edges),
                chain=chain,
                key=tuple(e.mechanism for e in chain.edges),
                unknown=chain.status.value == "unknown",
            )
        )
    return out


def admins(context: Context) -> list[Finding]:
    return [
        Finding(
            rule=ADMIN_RULE,
            subject=admin.id,
            principal=admin.id,
            cloud=admin.cloud,
            sentence=f"{admin.id} is admin-equivalent: {admin.why}.",
            evidence=(Evidence(what=admin.why, source=admin.scope, document={"scope": admin.scope}),),
            answers=(admin.answer,) if admin.answer is not None else (),
        )
        for admin in context.graph.admins.values()
    ]


def unknown(context: Context) -> list[Finding]:
    """The longest chain of the graph, as a finding the simulator could not prove (stands for an
    unknown answer: the reports must mark it)."""
    chain = max(context.graph.paths_to_admin(), key=lambda c: (len(c.edges), c.source))
    return [
        Finding(
            rule=UNKNOWN_RULE,
            subject=chain.source,
            principal=chain.source,
            cloud=None,
            sentence=f"{chain.source} might be trusted from outside (unproven).",
            chain=chain,
            unknown=True,
        )
    ]


def broken(context: Context) -> list[Finding]:
    raise RuntimeError("this rule is broken on purpose")


RULES = (Rule(CHAIN_RULE, chains), Rule(ADMIN_RULE, admins), Rule(UNKNOWN_RULE, unknown))
WITH_BROKEN = (*RULES, Rule(BROKEN_RULE, broken))


def demo_report(
    *, suppressions: tuple[Suppression, ...] = (), with_broken: bool = False, snapshot: Snapshot | None = None
) -> Report:
    """The report of the test rules over the demo estate (no store: no history)."""
    snap = snapshot or demo_snapshot()
    graph = demo_graph()
    rules = WITH_BROKEN if with_broken else RULES
    outcome = run_rules(Context(open_estate(snap, at=AT), lambda: graph), rules)
    applied = apply_suppressions(outcome.findings, suppressions, TODAY)
    return Report(
        snapshot=snap,
        at=AT,
        rules=tuple(r.meta for r in rules),
        findings=applied.kept,
        suppressed=applied.suppressed,
        expired=applied.expired,
        failures=outcome.failures,
    )
