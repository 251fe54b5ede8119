"""Building the mint graph: the units run in worker processes (each encoding what it found for
the kept graph) give the same graph as the units run in this process, and the kept form of
either reads back as that graph."""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from pathlib import Path

from models import Snapshot
from scanner.files import scan_files
from simulator.engines import open_estate
from simulator.graph import Chain, MintGraph, build, persist
from simulator.graph.build import build_encoded

DEMO = Path(__file__).resolve().parents[3] / "fixtures" / "demo"
AT = datetime(2026, 6, 1, tzinfo=UTC)


@functools.cache
def demo() -> Snapshot:
    return scan_files([DEMO / "aws", DEMO / "gcp", DEMO / "azure"])


@functools.cache
def in_process() -> MintGraph:
    return build(open_estate(demo(), at=AT), jobs=1)


def steps(chain: Chain) -> tuple[object, ...]:
    return (chain.source, chain.target, chain.status, tuple((e.source, e.target, e.mechanism) for e in chain.edges))


def chains(graph: MintGraph) -> list[tuple[object, ...]]:
    return [steps(c) for c in graph.paths_to_admin()]


def proofs(graph: MintGraph) -> list[tuple[object, ...]]:
    """Every edge with what proves it: the actions asked and their decisions, the documents they
    rest on. (Not the requests' concrete resources and witnesses: a solver in another process may
    pick another request that is as much a proof.)"""
    return sorted(
        (e.source, e.target, e.mechanism, e.status, e.condition, e.escalates, e.depends_on,
         tuple((a.ask.action, a.decision, a.witness is not None) for a in e.answers))
        for e in graph.edges
    )  # fmt: skip


def whole(graph: MintGraph) -> list[str]:
    """Every edge whole (witnesses, reasons, digests too), in a comparable form."""
    return sorted(repr(e) for e in graph.edges)


def test_a_pool_of_workers_builds_the_same_graph() -> None:
    encoded = build_encoded(open_estate(demo(), at=AT), jobs=2, build="b1")
    pooled, alone = encoded.graph, in_process()
    assert len(pooled.table) == len(alone.table) > 100
    assert proofs(pooled) == proofs(alone)
    assert dict(pooled.admins) == dict(alone.admins)
    assert chains(pooled) == chains(alone)
    start = "https://token.actions.githubusercontent.com|repo:example/shop:*"
    assert [steps(c) for c in pooled.reach(start, alternatives=2)] == [
        steps(c) for c in alone.reach(start, alternatives=2)
    ]


def test_the_kept_form_of_a_pooled_or_whole_graph_reads_back_as_it() -> None:
    encoded = build_encoded(open_estate(demo(), at=AT), jobs=2, build="b2")
    for graph in (encoded.graph, in_process()):
        stored = persist.dumps(encoded if graph is encoded.graph else graph, demo().id, AT)
        parts = stored.parts
        back = persist.loads(stored.document, lambda positions, parts=parts: [parts[i] for i in positions]).graph
        assert whole(back) == whole(graph)
        assert dict(back.admins) == dict(graph.admins)
        assert [c.to_json() for c in back.paths_to_admin()] == [c.to_json() for c in graph.paths_to_admin()]
