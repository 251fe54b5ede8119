"""The mint graph's walk: shortest chains, proven ones preferred, undecided edges kept, denied
steps never an edge, admins found at the end of chains."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models import Cloud
from simulator.core import Admin, Answer, Ask, Decision, EdgeStatus, Fact, Reason, ReasonKind, Witness, edge_from
from simulator.core.edge import Edge
from simulator.graph import MintGraph

AT = datetime(2026, 12, 1, tzinfo=UTC)


def answer(principal: str, action: str, resource: str, decision: Decision) -> Answer:
    ask = Ask(principal=principal, action=action, resource=resource, at=AT)
    witness = Witness(principal=principal, action=action, resource=resource) if decision is Decision.ALLOWED else None
    reasons = (Reason(kind=ReasonKind.UNPROVEN, detail="not decided"),) if decision is Decision.UNKNOWN else ()
    return Answer(ask=ask, principal=principal, decision=decision, witness=witness, reasons=reasons)


def edge(source: str, target: str, decision: Decision = Decision.ALLOWED) -> Edge:
    made = edge_from(source, target, Cloud.AWS, "sts:AssumeRole", [answer(source, "sts:AssumeRole", target, decision)])
    assert made is not None
    return made


def test_a_denied_step_is_no_edge() -> None:
    allowed = answer("a", "iam:PassRole", "r", Decision.ALLOWED)
    denied = answer("a", "lambda:CreateFunction", "*", Decision.IMPLICIT_DENY)
    assert edge_from("a", "r", Cloud.AWS, "iam:PassRole+lambda:CreateFunction", [allowed, denied]) is None
    with pytest.raises(ValueError, match="no edge"):
        Edge(source="a", target="r", cloud=Cloud.AWS, mechanism="x", answers=(denied,))
    with pytest.raises(ValueError, match="rests on"):
        Edge(source="a", target="r", cloud=Cloud.AWS, mechanism="x")


def test_status_and_json_follow_the_answers() -> None:
    proven = edge("a", "b")
    undecided = edge("a", "c", Decision.UNKNOWN)
    assert proven.status is EdgeStatus.PROVEN and undecided.status is EdgeStatus.UNKNOWN
    data = proven.to_json()
    assert data["from"] == "a" and data["to"] == "b" and data["status"] == "proven"
    assert data["witness"] == [{"principal": "a", "action": "sts:AssumeRole", "resource": "b", "context": {}}]
    assert undecided.to_json()["reasons"][0]["detail"] == "not decided"
    runs = Edge(source="w", target="b", cloud=Cloud.AWS, mechanism="runs-as", facts=(Fact(what="runs as", source="x"),))
    assert runs.status is EdgeStatus.PROVEN and runs.to_json()["witness"] == []


def test_reach_gives_the_shortest_chain_and_prefers_proven() -> None:
    graph = MintGraph([edge("a", "b"), edge("b", "c"), edge("a", "c", Decision.UNKNOWN), edge("c", "d")])
    chains = {c.target: c for c in graph.reach("a")}
    assert [e.target for e in chains["c"].edges] == ["b", "c"]  # proven, though longer than the unknown edge
    assert chains["c"].status is EdgeStatus.PROVEN
    assert [e.target for e in chains["d"].edges] == ["b", "c", "d"]
    assert set(chains) == {"b", "c", "d"}


def test_an_undecided_chain_is_kept_when_no_proven_one_exists() -> None:
    graph = MintGraph([edge("a", "b", Decision.UNKNOWN), edge("b", "c")])
    chains = {c.target: c for c in graph.reach("a")}
    assert chains["c"].status is EdgeStatus.UNKNOWN


def test_max_depth_bounds_the_walk() -> None:
    graph = MintGraph([edge("a", "b"), edge("b", "c"), edge("c", "d")])
    assert {c.target for c in graph.reach("a", max_depth=2)} == {"b", "c"}


def test_paths_to_admin_start_at_non_admins_only() -> None:
    admin = Admin(id="c", cloud=Cloud.AWS, scope="111111111111", why="allowed every action")
    graph = MintGraph([edge("a", "b"), edge("b", "c"), edge("c", "a"), edge("x", "a", Decision.UNKNOWN)], [admin])
    paths = graph.paths_to_admin()
    assert [(p.source, p.target, p.status) for p in paths] == [
        ("b", "c", EdgeStatus.PROVEN),
        ("a", "c", EdgeStatus.PROVEN),
        ("x", "c", EdgeStatus.UNKNOWN),
    ]
    assert [p.source for p in graph.paths_to_admin("a")] == ["a"]
    assert graph.paths_to_admin("c") == []  # an admin's own chains are not paths to admin


def escalation(source: str, target: str, mechanism: str = "iam:PutRolePolicy") -> Edge:
    made = edge_from(
        source, target, Cloud.AWS, mechanism, [answer(source, mechanism, target, Decision.ALLOWED)], escalates=True
    )
    assert made is not None
    return made


def test_a_start_that_rewrites_its_own_permissions_is_a_path_to_itself() -> None:
    graph = MintGraph([escalation("a", "a"), edge("b", "a")])
    paths = {p.source: p for p in graph.paths_to_admin()}
    assert paths["a"].target == "a" and [e.mechanism for e in paths["a"].edges] == ["iam:PutRolePolicy"]
    # Whoever reaches a escalates through it: the chain ends with a's own edge.
    assert paths["b"].target == "a" and [e.mechanism for e in paths["b"].edges] == [
        "sts:AssumeRole",
        "iam:PutRolePolicy",
    ]
    assert paths["a"].to_json()["edges"][0]["escalates"] is True


def test_an_edge_that_rewrites_another_principal_ends_at_admin_only_through_it() -> None:
    graph = MintGraph([escalation("a", "r", "iam:PutRolePolicy+sts:AssumeRole"), edge("a", "s")])
    paths = graph.paths_to_admin()
    assert [(p.source, p.target) for p in paths] == [("a", "r")]
    # Reaching r by a plain edge is not admin: only the escalating edge makes it so.
    plain = MintGraph([edge("a", "r")])
    assert plain.paths_to_admin() == []


def test_most_dangerous_first_outsiders_before_insiders() -> None:
    admin = Admin(id="adm", cloud=Cloud.AWS, scope="1", why="w")
    token = "https://token.actions.githubusercontent.com|repo:*"
    graph = MintGraph([edge("insider", "adm"), edge(token, "adm"), edge("far", "insider")], [admin])
    assert [p.source for p in graph.paths_to_admin()] == [token, "insider", "far"]


def test_reaching_lists_who_has_a_chain_to_a_node() -> None:
    graph = MintGraph([edge("a", "b"), edge("b", "c"), edge("x", "c", Decision.UNKNOWN), edge("c", "d")])
    into = {c.source: c for c in graph.reaching("c")}
    assert set(into) == {"a", "b", "x"}
    assert [e.target for e in into["a"].edges] == ["b", "c"]
    assert into["x"].status is EdgeStatus.UNKNOWN


def test_alternatives_are_other_simple_chains_to_the_same_node() -> None:
    graph = MintGraph(
        [edge("a", "b"), edge("b", "d"), edge("a", "c"), edge("c", "d"), edge("a", "d", Decision.UNKNOWN)]
    )
    chains = {c.target: c for c in graph.reach("a", alternatives=5)}
    assert [e.target for e in chains["d"].edges] in (["b", "d"], ["c", "d"])
    alts = [[e.target for e in alt] for alt in chains["d"].alternatives]
    assert len(alts) == 2 and ["d"] in alts  # the other two-step chain and the undecided direct edge


NODES = ["a", "b", "c", "d", "e", "f"]
edge_specs = st.lists(
    st.tuples(
        st.sampled_from(NODES),
        st.sampled_from(NODES),
        st.sampled_from([Decision.ALLOWED, Decision.UNKNOWN]),
        st.booleans(),
    ),
    max_size=14,
)


@settings(max_examples=200, deadline=None)
@given(specs=edge_specs, admins=st.sets(st.sampled_from(NODES), max_size=2), depth=st.integers(1, 4))
def test_paths_to_admin_of_every_start_at_once_agree_with_asking_each_start(
    specs: list[tuple[str, str, Decision, bool]], admins: set[str], depth: int
) -> None:
    """The all-starts walk (backwards from the admin ends, once) gives each start a chain of the
    same status and length as walking forwards from that start alone."""
    edges = []
    for n, (source, target, decision, escalates) in enumerate(specs):
        mechanism = f"m{n}"
        made = edge_from(
            source, target, Cloud.AWS, mechanism, [answer(source, mechanism, target, decision)], escalates=escalates
        )
        assert made is not None
        edges.append(made)
    graph = MintGraph(edges, [Admin(id=a, cloud=Cloud.AWS, scope="s", why="test") for a in admins])
    together = {c.source: c for c in graph.paths_to_admin(max_depth=depth)}
    alone = {}
    for start in {e.source for e in edges} - admins:
        found = graph.paths_to_admin(start, max_depth=depth)
        if found:
            alone[start] = found[0]
    assert together.keys() == alone.keys()
    for start, chain in together.items():
        assert (chain.status, len(chain.edges)) == (alone[start].status, len(alone[start].edges))
        assert graph.is_admin_end(chain) and chain.edges[0].source == start
        assert all(x.target == y.source for x, y in zip(chain.edges, chain.edges[1:], strict=False))
