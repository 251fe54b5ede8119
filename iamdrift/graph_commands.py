"""``graph``, ``reach`` and ``paths``: the mint graph of a stored snapshot (which identities and
workloads can obtain which others, and the chains to admin-equivalent ones).

The graph is built once per snapshot and kept with it in the store (``iamdrift graph`` builds it
anew); ``reach``, ``paths`` and ``who-can`` read the kept one, or build and keep it when there is
none (or ``--at`` asks for another request time).

JSON shapes: ``reach`` prints ``{"snapshot", "at", "from", "reaches": [CHAIN...]}`` and ``paths
--to-admin`` prints ``{"snapshot", "at", "admins": [{"id", "cloud", "scope", "why"}], "paths":
[CHAIN...]}``, where CHAIN is ``{"from", "to", "status", "edges": [EDGE...]}`` and EDGE is
``{"from", "to", "cloud", "mechanism", "status", "witness", "condition", ...}`` (see
:class:`simulator.core.Edge`). Text shows one chain per line, most dangerous first.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.text import Text

from iamdrift import render
from iamdrift.ask_commands import parse_at
from iamdrift.node_labels import Nodes, node_labeller
from models import Cloud, Principal, PrincipalKind, Snapshot, Workload
from models.store import Store, StoreError
from simulator.core import Answer, Decision, Edge, EdgeStatus, Estate
from simulator.engines import open_estate
from simulator.graph import Chain, MintGraph, persist
from simulator.graph.build import build_encoded
from simulator.graph.joins import TOKEN_JOIN

T = TypeVar("T")
LoadSnapshot = Callable[[click.Context, str], Snapshot]
OpenStore = Callable[[click.Context], Store]


def register(cli: click.Group, load_snapshot: LoadSnapshot, open_store: OpenStore) -> None:
    """Add ``graph``, ``reach`` and ``paths`` to the ``iamdrift`` group."""
    cli.add_command(_graph_command(load_snapshot, open_store))
    cli.add_command(_reach_command(load_snapshot, open_store))
    cli.add_command(_paths_command(load_snapshot, open_store))


def default_jobs() -> int:
    return max(1, min(os.cpu_count() or 1, 4))


@dataclass(frozen=True)
class SnapshotNodes:
    """A stored snapshot's id, principals and workloads, read without the rest of it (what names
    the nodes in text)."""

    id: str
    principals: tuple[Principal, ...]
    workloads: tuple[Workload, ...]


@dataclass(frozen=True)
class Kept:
    """For ``reach`` and ``paths``: a snapshot's graph, the request time it was built for, the
    groups of unread membership that stand for their members in it (id, cloud), and the
    snapshot itself when it was read to build the graph."""

    snapshot_id: str
    graph: MintGraph
    at: datetime
    unread_groups: tuple[tuple[str, Cloud], ...]
    snapshot: Snapshot | None = None


def kept_graph(
    ctx: click.Context, open_store: OpenStore, snapshot_id: str, *, at: datetime | None
) -> persist.LoadedGraph | None:
    """The snapshot's kept graph (for request time ``at`` when given), its edges read from the
    store as chains through them are shown; None when there is none, or it cannot be read (said)."""
    with open_store(ctx) as store:
        kept = store.load_artifact(snapshot_id, persist.KIND, None if at is None else _key(at))
    if kept is None:
        return None
    key, document = kept

    def read(positions: Sequence[int]) -> Sequence[str]:
        with open_store(ctx) as store:
            return store.load_artifact_parts(snapshot_id, persist.KIND, key, positions)

    try:
        return persist.loads(document, read)
    except persist.GraphFormatError as exc:
        render.console(stderr=True).print(f"iamdrift: {exc}; building it anew")
        return None


def graph_of(
    ctx: click.Context,
    snapshot: Snapshot,
    open_store: OpenStore,
    *,
    at: datetime | None,
    rebuild: bool = False,
    jobs: int | None = None,
) -> tuple[MintGraph, datetime]:
    """The snapshot's kept graph (for request time ``at`` when given), else one built now and kept
    (with the groups of unread membership that are sources of its edges, for ``reach``)."""
    if not rebuild:
        kept = kept_graph(ctx, open_store, snapshot.id, at=at)
        if kept is not None:
            return kept.graph, kept.at
    estate = open_estate(snapshot, at=at)
    started = time.monotonic()
    encoded = build_encoded(estate, jobs=jobs or default_jobs(), build=persist.new_build())
    graph = encoded.graph
    took = time.monotonic() - started
    notes = {"unread_groups": [[g, cloud.value] for g, cloud in unread_groups(snapshot, graph)]}
    stored = persist.dumps(encoded, snapshot.id, estate.at, notes=notes)
    with open_store(ctx) as store:
        store.save_artifact(snapshot.id, persist.KIND, _key(at), stored.document, at=estate.at, parts=stored.parts)
    if not ctx.obj.get("quiet_graph"):
        render.console(stderr=True).print(
            f"built the mint graph of snapshot {snapshot.id} in {took:.1f} s ({len(graph.table)} edges); "
            "kept in the store for the next command"
        )
    return graph, estate.at


def _kept(
    ctx: click.Context,
    load: LoadSnapshot,
    open_store: OpenStore,
    ref: str,
    *,
    at: datetime | None,
    rebuild: bool,
    jobs: int | None,
) -> Kept:
    """The kept graph of snapshot ``ref`` (built and kept when there is none, or ``rebuild``):
    the whole snapshot is read only to build one."""
    try:
        with open_store(ctx) as store:
            snapshot_id = store.resolve(ref)
        kept = None if rebuild else kept_graph(ctx, open_store, snapshot_id, at=at)
        if kept is not None:
            unread = tuple((str(g), Cloud(c)) for g, c in kept.notes.get("unread_groups", ()))
            return Kept(snapshot_id, kept.graph, kept.at, unread)
        snapshot = load(ctx, snapshot_id)
        graph, graph_at = graph_of(ctx, snapshot, open_store, at=at, rebuild=True, jobs=jobs)
        return Kept(snapshot.id, graph, graph_at, tuple(unread_groups(snapshot, graph)), snapshot)
    except StoreError as exc:
        raise click.ClickException(str(exc)) from exc


def _nodes(ctx: click.Context, open_store: OpenStore, kept: Kept) -> Nodes:
    """The principals and workloads of the kept graph's snapshot (to name the nodes)."""
    if kept.snapshot is not None:
        return kept.snapshot
    try:
        with open_store(ctx) as store:
            principals = store.load_collection(kept.snapshot_id, "principals")
            workloads = store.load_collection(kept.snapshot_id, "workloads")
    except StoreError as exc:
        raise click.ClickException(str(exc)) from exc
    return SnapshotNodes(kept.snapshot_id, principals, workloads)


def _principal(ctx: click.Context, open_store: OpenStore, kept: Kept, node: str) -> Principal | None:
    if kept.snapshot is not None:
        return next((p for p in kept.snapshot.principals if p.id == node), None)
    try:
        with open_store(ctx) as store:
            found = store.load_object(kept.snapshot_id, "principals", node)
    except StoreError as exc:
        raise click.ClickException(str(exc)) from exc
    return found if isinstance(found, Principal) else None


def _is_workload(ctx: click.Context, open_store: OpenStore, kept: Kept, node: str) -> bool:
    if kept.snapshot is not None:
        return any(w.id == node for w in kept.snapshot.workloads)
    try:
        with open_store(ctx) as store:
            return store.load_object(kept.snapshot_id, "workloads", node) is not None
    except StoreError as exc:
        raise click.ClickException(str(exc)) from exc


def _key(at: datetime | None) -> str:
    """The stored graph's key: its request time when one was asked for; a graph built for the
    time of its building replaces the last such one (its payload says when that was)."""
    return "at=build-time" if at is None else "at=" + at.isoformat()


def _header(snapshot: Snapshot | str, at: datetime) -> dict[str, str]:
    snapshot_id = snapshot if isinstance(snapshot, str) else snapshot.id
    return {"snapshot": snapshot_id, "at": at.isoformat().replace("+00:00", "Z")}


def _common(fn: Any) -> Any:
    for option in reversed(
        (
            click.option("--snapshot", "snapshot_ref", default="latest", show_default=True),
            click.option("--at", "at_text", metavar="TIME", help="Request time, ISO 8601 (default: the kept graph's)."),
            click.option("--rebuild", is_flag=True, help="Build the graph anew instead of reading the kept one."),
            click.option("--jobs", type=click.IntRange(1, 64), help="Worker processes for building (default: cores)."),
            click.option("--json", "as_json", is_flag=True, help="Machine-readable JSON on stdout."),
        )
    ):
        fn = option(fn)
    return fn


def _graph_command(load: LoadSnapshot, open_store: OpenStore) -> click.Command:
    @click.command("graph")
    @_common
    @click.pass_context
    def graph_command(
        ctx: click.Context, snapshot_ref: str, at_text: str | None, rebuild: bool, jobs: int | None, as_json: bool
    ) -> None:
        """Build the mint graph of a snapshot (every edge proven by the simulator) and keep it in the store."""
        snapshot = load(ctx, snapshot_ref)
        graph, at = graph_of(ctx, snapshot, open_store, at=parse_at(at_text), rebuild=True, jobs=jobs)
        summary = graph_summary(graph)
        if as_json:
            click.echo(json.dumps({**_header(snapshot, at), **summary}, indent=2))
            return
        out = render.console()
        out.print(
            f"mint graph of snapshot {snapshot.id}: {summary['nodes']} nodes, {summary['edges']['total']} edges "
            f"({summary['edges']['proven']} proven, {summary['edges']['unknown']} unknown), "
            f"{len(graph.admins)} admin-equivalent identities, {summary['paths_to_admin']} starts with a chain to admin"
        )
        rows = [(m, str(n)) for m, n in summary["mechanisms"].items()]
        render.print_table(out, ("mechanism", "edges"), rows, right=("edges",))

    return graph_command


def graph_summary(graph: MintGraph) -> dict[str, Any]:
    proven = sum(graph.table.proven)
    return {
        "nodes": len(graph.nodes),
        "edges": {"total": len(graph.table), "proven": proven, "unknown": len(graph.table) - proven},
        "admins": len(graph.admins),
        "paths_to_admin": len(graph.path_positions()),
        "mechanisms": dict(Counter(graph.table.mechanism).most_common()),
    }


def _reach_command(load: LoadSnapshot, open_store: OpenStore) -> click.Command:
    @click.command("reach")
    @click.argument("node")
    @click.option("--max-depth", type=click.IntRange(1, 20), default=6, show_default=True)
    @click.option(
        "--alternatives", type=click.IntRange(0, 20), default=2, show_default=True, help="More chains per node."
    )
    @_common
    @click.pass_context
    def reach_command(
        ctx: click.Context,
        node: str,
        max_depth: int,
        alternatives: int,
        snapshot_ref: str,
        at_text: str | None,
        rebuild: bool,
        jobs: int | None,
        as_json: bool,
    ) -> None:
        """What NODE (an identity, a workload, or ISSUER|SUBJECT) can obtain, directly or through a chain."""
        kept = _kept(ctx, load, open_store, snapshot_ref, at=parse_at(at_text), rebuild=rebuild, jobs=jobs)
        graph, at = kept.graph, kept.at
        principal = None if "|" in node else _principal(ctx, open_store, kept, node)
        known = "|" in node or principal is not None or node in graph.sources or node in graph.nodes
        if not known and not _is_workload(ctx, open_store, kept, node):
            raise click.ClickException(
                f"{node!r} is no identity, workload or node of the graph of snapshot {kept.snapshot_id}: give an "
                "id as `iamdrift export` lists them, or an external identity as ISSUER|SUBJECT"
            )
        chains = _shown(lambda: graph.reach(node, max_depth, alternatives))
        groups = maybe_member_of(principal, kept.unread_groups)
        if as_json:
            data = {**_header(kept.snapshot_id, at), "from": node, "reaches": [c.to_json(edge_json()) for c in chains]}
            data["maybe_member_of"] = groups
            render.echo_json(data)
            return
        label = node_labeller(_nodes(ctx, open_store, kept))
        out = render.console()
        if not chains:
            out.print(f"{label(node)} reaches nothing through the edges this graph knows")
        for chain in chains:
            out.print(describe_chain(chain, graph, label))
        if groups:
            names = ", ".join(label(g) for g in groups)
            out.print(
                f"not proven either way: {label(node)} may be a member of {names} (members not read); "
                "what they reach: `iamdrift reach GROUP`"
            )

    return reach_command


GROUP_KINDS = (PrincipalKind.AZURE_GROUP, PrincipalKind.GCP_GROUP)


def unread_groups(snapshot: Snapshot, graph: MintGraph) -> list[tuple[str, Cloud]]:
    """The groups whose members were not read that are the source of an edge (id, cloud): a group
    stands for its unread members in the graph (see :func:`maybe_member_of`)."""
    listed = {g.lower() for p in snapshot.principals for g in p.member_of}

    def unread(group: Principal) -> bool:
        # Where the collector did not say, a group some principal lists was read (the engines' rule).
        return group.members_known is False or (group.members_known is None and group.id.lower() not in listed)

    return sorted(
        (p.id, p.cloud) for p in snapshot.principals if p.kind in GROUP_KINDS and unread(p) and p.id in graph.sources
    )


def maybe_member_of(principal: Principal | None, unread: Sequence[tuple[str, Cloud]]) -> list[str]:
    """The groups of ``unread`` (see :func:`unread_groups`) of ``principal``'s cloud that it is not
    known to be in: what they reach, it may reach too (not proven either way). None for a group."""
    if principal is None or principal.kind in GROUP_KINDS:
        return []
    mine = {g.lower() for g in principal.member_of}
    return sorted(g for g, cloud in unread if cloud is principal.cloud and g.lower() not in mine)


def _paths_command(load: LoadSnapshot, open_store: OpenStore) -> click.Command:
    @click.command("paths")
    @click.option("--to-admin", is_flag=True, required=True, help="Chains that end at admin-equivalence.")
    @click.option("--from", "start", metavar="ID", help="Only chains from this node.")
    @click.option("--max-depth", type=click.IntRange(1, 20), default=6, show_default=True)
    @_common
    @click.pass_context
    def paths_command(
        ctx: click.Context,
        to_admin: bool,
        start: str | None,
        max_depth: int,
        snapshot_ref: str,
        at_text: str | None,
        rebuild: bool,
        jobs: int | None,
        as_json: bool,
    ) -> None:
        """Every identity or workload that is not admin-equivalent, with a chain to one that is (or to
        admin over itself, by changing its own permissions)."""
        kept = _kept(ctx, load, open_store, snapshot_ref, at=parse_at(at_text), rebuild=rebuild, jobs=jobs)
        graph = kept.graph
        chains = _shown(lambda: graph.paths_to_admin(start, max_depth))
        if as_json:
            admins = _shown(lambda: [a.to_json() for a in graph.admins.values()])
            written = edge_json()
            data = {
                **_header(kept.snapshot_id, kept.at),
                "admins": admins,
                "paths": [c.to_json(written) for c in chains],
            }
            render.echo_json(data)
            return
        print_paths(render.console(), _nodes(ctx, open_store, kept), graph, chains=chains)

    return paths_command


def edge_json() -> Callable[[Edge], dict[str, Any]]:
    """:meth:`Edge.to_json`, each edge's made once (chains share edges; the JSON is not changed
    after it is made)."""
    made: dict[int, tuple[Edge, dict[str, Any]]] = {}

    def write(edge: Edge) -> dict[str, Any]:
        kept = made.get(id(edge))
        if kept is None or kept[0] is not edge:
            kept = made[id(edge)] = (edge, edge.to_json())
        return kept[1]

    return write


def _shown(made: Callable[[], T]) -> T:
    """What a command shows of a kept graph: reading its edges and admins from the store can fail
    (said in one line)."""
    try:
        return made()
    except (StoreError, persist.GraphFormatError) as exc:
        raise click.ClickException(str(exc)) from exc


def print_paths(
    out: Console, snapshot: Nodes, graph: MintGraph, *, chains: list[Chain] | None = None, limit: int | None = None
) -> None:
    """The chains to admin, one line each, most dangerous first (the first ``limit`` of them)."""
    chains = graph.paths_to_admin() if chains is None else chains
    label = node_labeller(snapshot)
    shown = chains if limit is None else chains[:limit]
    more = f" (the first {len(shown)} shown; `iamdrift paths --to-admin` lists all)" if len(shown) < len(chains) else ""
    out.print(
        f"{len(graph.admins)} admin-equivalent identities; {len(chains)} chains to admin, most dangerous first{more}:"
    )
    if not chains:
        out.print("  no chain to admin through the edges this graph knows")
    for chain in shown:
        out.print(describe_chain(chain, graph, label))


def who_can_chains(
    open_store: OpenStore,
) -> Callable[[click.Context, Estate, tuple[Answer, ...], datetime | None], list[dict[str, Any]]]:
    """For ``who-can``: each node with a chain to a principal the direct answers allow (or might),
    its shortest chain (proven preferred) to the nearest of them. ``decision`` is ``allowed`` when
    the chain is proven and the answer at its end allowed, else ``unknown``."""

    def chains(
        ctx: click.Context, estate: Estate, answers: tuple[Answer, ...], at: datetime | None
    ) -> list[dict[str, Any]]:
        live = {a.principal: a for a in answers if a.decision in (Decision.ALLOWED, Decision.UNKNOWN)}
        if not live:
            return []
        graph, graph_at = graph_of(ctx, estate.snapshot, open_store, at=at)
        label = node_labeller(estate.snapshot)
        best: dict[str, tuple[Chain, Answer]] = {}
        for principal, answer in live.items():
            for chain in graph.reaching(principal):
                if chain.source in live or chain.edges[0].mechanism == TOKEN_JOIN:
                    continue  # a token matching a wider pattern: the pattern's own row stands for it
                kept = best.get(chain.source)
                if kept is None or _better(chain, answer, *kept):
                    best[chain.source] = (chain, answer)
        out = []
        for source, (chain, answer) in best.items():
            allowed = chain.status is EdgeStatus.PROVEN and answer.decision is Decision.ALLOWED
            out.append(
                {
                    "principal": source,
                    "decision": "allowed" if allowed else "unknown",
                    "direct": False,
                    "via": answer.principal,
                    "graph_at": graph_at.isoformat().replace("+00:00", "Z"),
                    "chain": [e.to_json() for e in chain.edges],
                    "summary": describe_chain(chain, graph, label).plain.strip(),
                }
            )
        return sorted(out, key=lambda d: (d["decision"] != "allowed", len(d["chain"]), d["principal"]))

    return chains


def _better(chain: Chain, answer: Answer, kept: Chain, kept_answer: Answer) -> bool:
    def rank(c: Chain, a: Answer) -> tuple[bool, int]:
        return (not (c.status is EdgeStatus.PROVEN and a.decision is Decision.ALLOWED), len(c.edges))

    return rank(chain, answer) < rank(kept, kept_answer)


def describe_chain(chain: Chain, graph: MintGraph, label: Callable[[str], str] = str) -> Text:
    """``[proven] start → node → node ⇒ admin (mechanism + mechanism) [conditions]``: one line."""
    steps = [label(chain.source), *(label(e.target) for e in chain.edges if e.target != e.source)]
    text = " → ".join(steps)
    if graph.is_admin_end(chain):
        text += " ⇒ admin"
    mechanisms = " + ".join(e.mechanism for e in chain.edges)
    conditions = [e.condition for e in chain.edges if e.condition]
    status = "proven" if chain.status is EdgeStatus.PROVEN else "unknown"
    tail = f"  [{'; '.join(conditions)}]" if conditions else ""
    return render.styled((f"{status:7}", "bold"), f" {text}  ({mechanisms}){tail}")


__all__ = ["default_jobs", "describe_chain", "graph_of", "graph_summary", "print_paths", "register", "who_can_chains"]
