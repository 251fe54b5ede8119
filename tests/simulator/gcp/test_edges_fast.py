"""The edge finder's caches change no answer: on small generated estates (the bench generator,
seeds drawn by hypothesis), the shared context, the answer cache and the cached principal facts
give the same edges and admins as a fresh, uncached run, and the index's cached facts equal the
straightforward computation."""

from __future__ import annotations

import importlib.util
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models import Cloud, Snapshot
from scanner.files import scan_files
from simulator.core import Edge, Estate
from simulator.engines import open_estate
from simulator.gcp import reference
from simulator.gcp.edges import find_admins, find_edges
from simulator.gcp.engine import GcpEngine
from simulator.gcp.index import GcpIndex, members_known, principal_disabled

REPO = Path(__file__).resolve().parents[3]
AT = datetime(2026, 1, 1, tzinfo=UTC)
SETTINGS = settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _bench() -> ModuleType:
    path = REPO / "bench" / "gen_cloud_exports.py"
    spec = importlib.util.spec_from_file_location("gen_cloud_exports", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


BENCH = _bench()


def small_snapshot(seed: int) -> Snapshot:
    with tempfile.TemporaryDirectory() as tmp:
        BENCH.generate(tmp, projects=3, service_accounts=12, bindings=40, subscriptions=1, assignments=0, seed=seed)
        return scan_files([Path(tmp) / "gcp"])


def edge_key(e: Edge) -> tuple[Any, ...]:
    return (e.source, e.target, e.mechanism, e.status, e.condition, e.escalates, e.answers, e.facts)


def forget(estate: Estate) -> None:
    """Drop the edge context the estate's Google Cloud engine keeps (the next call starts anew)."""
    engine = estate.engine(Cloud.GCP)
    assert isinstance(engine, GcpEngine)
    engine.edge_context = None


@SETTINGS
@given(st.integers(min_value=0, max_value=10_000))
def test_the_shared_context_gives_the_edges_and_admins_of_fresh_runs(seed: int) -> None:
    snapshot = small_snapshot(seed)
    shared = open_estate(snapshot, at=AT)
    edges, admins = find_edges(shared), find_admins(shared)
    fresh = open_estate(snapshot, at=AT)
    admins_first = find_admins(fresh)
    forget(fresh)
    edges_after = find_edges(fresh)
    assert edges, "the generated estate has edges to compare"
    assert sorted(map(edge_key, edges), key=repr) == sorted(map(edge_key, edges_after), key=repr)
    assert admins == admins_first
    assert len({(e.source, e.target, e.mechanism) for e in edges}) == len(edges)


def straightforward_facts(index: GcpIndex, member: str) -> tuple[Any, ...]:
    p = index.principals.get(member)
    groups = set(p.member_of) if p else set()
    if member.startswith("group:"):
        groups.add(member)
    unknown = frozenset(g for g in index.named_groups if g not in index.known_groups and g not in groups)
    aliases = frozenset({p.native_id} if p and p.native_id else ())
    return frozenset(groups), unknown, aliases, bool(p and principal_disabled(p))


@SETTINGS
@given(st.integers(min_value=0, max_value=10_000), st.data())
def test_cached_facts_and_normalized_sets_are_the_straightforward_ones(seed: int, data: st.DataObject) -> None:
    index = GcpIndex(small_snapshot(seed))
    members = sorted(index.principals) + sorted(index.named_groups) + ["user:nobody@example.com", "allUsers"]
    for member in data.draw(st.lists(st.sampled_from(members), max_size=30)):
        assert index.facts(member) == straightforward_facts(index, member)
        assert index.facts(member) == straightforward_facts(index, member)  # the cached answer
        groups, unknown, _, _ = index.facts(member)
        for s in (groups, unknown):
            assert reference.normalized_set(s) == frozenset(reference.normalize_member(m) for m in s)
    assert all(members_known(p) in (None, True, False) for p in index.principals.values())


@given(st.text(max_size=40))
def test_cached_normalize_member_is_the_function(text: str) -> None:
    expected = reference.normalize_member.__wrapped__(text)
    assert reference.normalize_member(text) == expected
    assert reference.normalize_member(text) == expected
