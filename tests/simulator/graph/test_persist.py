"""A kept graph reads back as the graph that was built: every edge whole (answers, witnesses,
reasons, facts), every admin; another format or a damaged document is a clear error."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from models import Cloud
from simulator.core import Admin, Decision, Edge, Fact
from simulator.graph import MintGraph, persist
from tests.simulator.graph.test_walk import answer, edge, escalation

AT = datetime(2026, 12, 1, 10, 30, tzinfo=UTC)


def test_a_graph_round_trips_whole() -> None:
    runs = Edge(source="w", target="b", cloud=Cloud.GCP, mechanism="runs-as", facts=(Fact(what="runs as", source="s"),),
                condition="the VM's token carries only the access scopes devstorage.read_only")  # fmt: skip
    admin = Admin(
        id="c", cloud=Cloud.AWS, scope="1", why="allowed", answer=answer("c", "iam:CreateUser", "*", Decision.ALLOWED)
    )
    graph = MintGraph([edge("a", "b"), edge("b", "c", Decision.UNKNOWN), runs, escalation("a", "a")], [admin])
    text = persist.dumps(graph, "snap1", AT)
    back, at = persist.loads(text)
    assert at == AT
    assert back.edges == graph.edges
    assert dict(back.admins) == dict(graph.admins)
    assert [c.to_json() for c in back.paths_to_admin()] == [c.to_json() for c in graph.paths_to_admin()]


def test_another_format_or_damage_is_a_clear_error() -> None:
    with pytest.raises(persist.GraphFormatError, match=r"format 'iamdrift\.graph/0'"):
        persist.loads(json.dumps({"format": "iamdrift.graph/0"}))
    with pytest.raises(persist.GraphFormatError, match="rebuild it"):
        persist.loads(
            json.dumps({"format": persist.FORMAT, "at": AT.isoformat(), "edges": [{"nope": 1}], "admins": []})
        )
    with pytest.raises(persist.GraphFormatError):
        persist.loads("not json")
