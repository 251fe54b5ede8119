"""A kept graph reads back as the graph that was built: every edge whole (answers, witnesses,
reasons, facts), every admin, the chains to admin; an edge is read only when a chain through it
is shown; another format, a damaged document or part, or a part of another build is a clear error."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from models import Cloud
from simulator.core import Admin, Decision, Edge, ExternalToken, Fact
from simulator.graph import MintGraph, persist
from tests.simulator.graph.test_walk import answer, edge, escalation

AT = datetime(2026, 12, 1, 10, 30, tzinfo=UTC)


def sample() -> MintGraph:
    runs = Edge(source="w", target="b", cloud=Cloud.GCP, mechanism="runs-as", facts=(Fact(what="runs as", source="s"),),
                condition="the VM's token carries only the access scopes devstorage.read_only")  # fmt: skip
    admin = Admin(
        id="c", cloud=Cloud.AWS, scope="1", why="allowed", answer=answer("c", "iam:CreateUser", "*", Decision.ALLOWED)
    )
    token = "https://token.actions.githubusercontent.com|repo:acme/app:*"
    plain = edge(token, "a")
    asked = tuple(replace(a, ask=replace(a.ask, principal=ExternalToken.parse(token))) for a in plain.answers)
    federated = replace(plain, mechanism="sts:AssumeRoleWithWebIdentity", answers=asked)
    edges = [edge("a", "b"), edge("b", "c", Decision.UNKNOWN), runs, escalation("a", "a"), federated]
    return MintGraph(edges, [admin])


class Parts:
    """The stored parts, counting which are read."""

    def __init__(self, parts: Sequence[str]) -> None:
        self.parts = list(parts)
        self.read: list[int] = []

    def __call__(self, positions: Sequence[int]) -> list[str]:
        self.read += positions
        return [self.parts[i] for i in positions]


def test_a_graph_round_trips_whole() -> None:
    graph = sample()
    stored = persist.dumps(graph, "snap1", AT)
    loaded = persist.loads(stored.document, Parts(stored.parts))
    back = loaded.graph
    assert loaded.at == AT and loaded.notes == {}
    assert back.edges == graph.edges
    assert dict(back.admins) == dict(graph.admins)
    assert [c.to_json() for c in back.paths_to_admin()] == [c.to_json() for c in graph.paths_to_admin()]
    assert [c.to_json() for c in back.reach("a", alternatives=2)] == [
        c.to_json() for c in graph.reach("a", alternatives=2)
    ]


def test_only_the_edges_of_the_chains_shown_are_read() -> None:
    graph = sample()
    stored = persist.dumps(graph, "snap1", AT)
    parts = Parts(stored.parts)
    back = persist.loads(stored.document, parts).graph
    assert parts.read == []
    assert len(back.table) == len(graph.edges) and back.sources == graph.sources
    reached = back.reach("b")
    shown = {(e.source, e.target, e.mechanism) for c in reached for e in c.edges}
    assert {(back.table.source[i], back.table.target[i], back.table.mechanism[i]) for i in parts.read} == shown
    again = list(parts.read)
    back.reach("b")
    assert parts.read == again  # made once


def test_notes_are_kept_with_the_graph() -> None:
    stored = persist.dumps(sample(), "snap1", AT, notes={"unread_groups": [["g", "gcp"]]})
    assert persist.loads(stored.document, Parts(stored.parts)).notes == {"unread_groups": [["g", "gcp"]]}


def test_a_part_of_another_build_is_never_mixed_in() -> None:
    graph = sample()
    first = persist.dumps(graph, "snap1", AT)
    second = persist.dumps(graph, "snap1", AT)
    assert json.loads(first.document)["build"] != json.loads(second.document)["build"]
    back = persist.loads(first.document, Parts(second.parts)).graph
    with pytest.raises(persist.GraphFormatError, match="rebuilt while it was being read"):
        back.paths_to_admin()


def test_another_format_or_damage_is_a_clear_error() -> None:
    def none(_: Sequence[int]) -> list[str]:
        return []

    with pytest.raises(persist.GraphFormatError, match=r"format 'iamdrift\.graph/2'"):
        persist.loads(json.dumps({"format": "iamdrift.graph/2"}), none)
    with pytest.raises(persist.GraphFormatError, match="rebuild it"):
        persist.loads(json.dumps({"format": persist.FORMAT, "at": AT.isoformat(), "edges": [{"nope": 1}]}), none)
    with pytest.raises(persist.GraphFormatError):
        persist.loads("not json", none)
    stored = persist.dumps(sample(), "snap1", AT)
    damaged = [p.replace('"allowed"', '"maybe"') for p in stored.parts]
    back = persist.loads(stored.document, Parts(damaged)).graph
    with pytest.raises(persist.GraphFormatError, match=r"edge \d+ of the stored graph cannot be read"):
        assert back.edges
