"""Chains through the mint graph: shortest first, proven before undecided.

A chain is proven when every edge in it is; a chain with an undecided edge is ``unknown`` (kept,
never dropped: the edge may exist). For each node a start reaches, the chain reported is the
shortest chain of proven edges when there is one, else the shortest through undecided edges;
up to ``alternatives`` further chains to the same node are kept beside it.

A chain ends *at admin* when its last node is admin-equivalent, or its last edge ``escalates``
(it rewrites its target's permissions: ``P -> P`` for a principal that changes its own).

Besides the edges the clouds' finders prove, the walk follows the joins between clouds
(:mod:`simulator.graph.joins`): a token whose issuer and subject a federation trust admits.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from simulator.core import Admin, Edge, EdgeStatus
from simulator.graph.joins import TOKEN_JOIN, Joins


@dataclass(frozen=True, kw_only=True)
class Chain:
    """``edges`` lead from ``source`` to ``target`` (a start that escalates by changing its own
    permissions has ``target == source``). ``alternatives``: further chains to the same target,
    each an edge list, shortest first."""

    source: str
    target: str
    edges: tuple[Edge, ...]
    alternatives: tuple[tuple[Edge, ...], ...] = ()

    @property
    def status(self) -> EdgeStatus:
        proven = all(e.status is EdgeStatus.PROVEN for e in self.edges)
        return EdgeStatus.PROVEN if proven else EdgeStatus.UNKNOWN

    @property
    def escalates(self) -> bool:
        """Whether the last edge rewrites its target's permissions."""
        return bool(self.edges) and self.edges[-1].escalates

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "from": self.source,
            "to": self.target,
            "status": self.status.value,
            "edges": [e.to_json() for e in self.edges],
        }
        if self.alternatives:
            out["alternatives"] = [[e.to_json() for e in alt] for alt in self.alternatives]
        return out


class MintGraph:
    """Edges by their source, the admin-equivalent nodes, and the joins between clouds."""

    def __init__(self, edges: Iterable[Edge], admins: Iterable[Admin] = ()) -> None:
        self.edges = tuple(edges)
        self.admins: Mapping[str, Admin] = {a.id: a for a in admins}
        self._out: dict[str, list[Edge]] = {}
        for edge in self.edges:
            self._out.setdefault(edge.source, []).append(edge)
        self._joins = Joins(self._out)
        self._into: dict[str, list[Edge]] | None = None

    @property
    def nodes(self) -> tuple[str, ...]:
        found = dict.fromkeys(n for e in self.edges for n in (e.source, e.target))
        found.update(dict.fromkeys(self.admins))
        return tuple(found)

    def out_edges(self, node: str) -> list[Edge]:
        """The edges from ``node``: its own, then the joins that lead out of it."""
        return [*self._out.get(node, ()), *self._joins.out_of(node)]

    def is_admin_end(self, chain: Chain) -> bool:
        return chain.target in self.admins or chain.escalates

    def reach(self, start: str, max_depth: int = 6, alternatives: int = 0) -> list[Chain]:
        """Every node ``start`` reaches within ``max_depth`` edges, with its shortest chain (proven
        chains preferred) and up to ``alternatives`` more; and, for every reached node (``start``
        too) with an escalating edge, that edge's chain. Nearest first."""
        best = self._walk(start, max_depth, proven_only=True)
        for node, found in self._walk(start, max_depth, proven_only=False).items():
            best.setdefault(node, found)
        chains = [Chain(source=start, target=node, edges=edges) for node, edges in best.items()]
        chains += self._escalations(start, best, max_depth)
        if alternatives:
            chains = [self._with_alternatives(c, max_depth, alternatives) for c in chains]
        return sorted(chains, key=lambda c: (c.status is not EdgeStatus.PROVEN, len(c.edges), c.target))

    def paths_to_admin(self, start: str | None = None, max_depth: int = 6) -> list[Chain]:
        """For each start (``start``, or every source of an edge that is not admin-equivalent
        itself), its best chain to admin (see the module docstring): proven before unknown,
        then the shortest. The list runs most dangerous first: proven chains, starts outside
        every cloud (tokens, other accounts, anyone) before insiders, shorter before longer."""
        if start is not None:
            ends = [
                c for c in self.reach(start, max_depth) if self.is_admin_end(c) and (c.target != start or c.escalates)
            ]
            return ends[:1]
        best: dict[str, tuple[Edge, ...]] = {}
        for proven_only in (True, False):
            for node, path in self._to_admin(max_depth, proven_only=proven_only).items():
                best.setdefault(node, path)
        found = [
            Chain(source=node, target=path[-1].target, edges=path)
            for node, path in best.items()
            # Unasked, a token whose best chain starts by matching a wider pattern is left out:
            # the pattern's own chain is listed, and stands for every token it admits.
            if node in self._out and node not in self.admins and path[0].mechanism != TOKEN_JOIN
        ]
        return sorted(found, key=danger)

    def _to_admin(self, max_depth: int, *, proven_only: bool) -> dict[str, tuple[Edge, ...]]:
        """Every node's shortest chain (within ``max_depth`` edges) to an admin end, found once
        for all nodes: breadth first backwards from the admin-equivalent nodes (length 0) and
        from the source of each escalating edge (that edge, length 1)."""
        into = self._reverse()

        def usable(edge: Edge) -> bool:
            return not proven_only or edge.status is EdgeStatus.PROVEN

        path_of: dict[str, tuple[Edge, ...]] = {a: () for a in self.admins}
        seeds = [e for e in [*self.edges, *self._joins.all_joins(self.nodes)] if e.escalates and usable(e)]
        seeds.sort(key=lambda e: (e.status is not EdgeStatus.PROVEN, e.mechanism))
        level = list(self.admins)
        for depth in range(1, max_depth + 1):
            following: list[str] = []
            for edge in seeds if depth == 1 else ():
                if edge.source not in path_of:
                    path_of[edge.source] = (edge,)
                    following.append(edge.source)
            for node in level:
                for edge in into.get(node, ()):
                    if usable(edge) and edge.source not in path_of:
                        path_of[edge.source] = (edge, *path_of[node])
                        following.append(edge.source)
            level = following
        return {node: path for node, path in path_of.items() if path}

    def reaching(self, target: str, max_depth: int = 6) -> list[Chain]:
        """Every node with a chain to ``target`` (its shortest, proven preferred), nearest first."""
        into = self._reverse()
        best: dict[str, tuple[Edge, ...]] = {}
        for proven_only in (True, False):
            for node, path in _bfs(target, max_depth, lambda n: into.get(n, ()), proven_only, forward=False).items():
                best.setdefault(node, path)
        chains = [Chain(source=node, target=target, edges=edges) for node, edges in best.items()]
        return sorted(chains, key=lambda c: (c.status is not EdgeStatus.PROVEN, len(c.edges), c.source))

    def _reverse(self) -> dict[str, list[Edge]]:
        if self._into is None:
            into: dict[str, list[Edge]] = {}
            for edge in [*self.edges, *self._joins.all_joins(self.nodes)]:
                into.setdefault(edge.target, []).append(edge)
            self._into = into
        return self._into

    def _escalations(self, start: str, best: Mapping[str, tuple[Edge, ...]], max_depth: int) -> list[Chain]:
        """Chains that end in an escalating edge, from ``start`` and from each node it reaches."""
        out = []
        for node, path in [(start, ()), *best.items()]:
            if len(path) >= max_depth:
                continue
            escalating = [e for e in self.out_edges(node) if e.escalates]
            escalating.sort(key=lambda e: (e.status is not EdgeStatus.PROVEN, e.mechanism))
            if escalating:
                edge = escalating[0]
                out.append(Chain(source=start, target=edge.target, edges=(*path, edge)))
        return out

    def _with_alternatives(self, chain: Chain, max_depth: int, limit: int) -> Chain:
        """``chain`` with up to ``limit`` other simple chains from its start to its target."""
        others: list[tuple[Edge, ...]] = []
        stack: list[tuple[str, tuple[Edge, ...]]] = [(chain.source, ())]
        while stack and len(others) < limit * 4:
            node, path = stack.pop()
            if len(path) >= max_depth:
                continue
            visited = {chain.source, *(e.target for e in path)}
            for edge in self.out_edges(node):
                step = (*path, edge)
                if edge.target == chain.target and step != chain.edges:
                    others.append(step)
                elif edge.target not in visited:
                    stack.append((edge.target, step))
        others.sort(key=lambda p: (any(e.status is not EdgeStatus.PROVEN for e in p), len(p)))
        return Chain(source=chain.source, target=chain.target, edges=chain.edges, alternatives=tuple(others[:limit]))

    def _walk(self, start: str, max_depth: int, *, proven_only: bool) -> dict[str, tuple[Edge, ...]]:
        return _bfs(start, max_depth, self.out_edges, proven_only, forward=True)


def _bfs(start: str, max_depth: int, step: Any, proven_only: bool, *, forward: bool) -> dict[str, tuple[Edge, ...]]:
    """Breadth first from ``start`` along ``step(node)`` (edges out of, or into, a node): the first
    (shortest) edge list to each node, in walking order from the far end when walking backwards."""
    found: dict[str, tuple[Edge, ...]] = {}
    queue: deque[tuple[str, tuple[Edge, ...]]] = deque([(start, ())])
    seen = {start}
    while queue:
        node, path = queue.popleft()
        if len(path) >= max_depth:
            continue
        for edge in step(node):
            if proven_only and edge.status is not EdgeStatus.PROVEN:
                continue
            other = edge.target if forward else edge.source
            if other in seen:
                continue
            seen.add(other)
            found[other] = (*path, edge) if forward else (edge, *path)
            queue.append((other, found[other]))
    return found


def danger(chain: Chain) -> tuple[bool, bool, int, str]:
    """Sort key, most dangerous first: proven, from outside every cloud, short."""
    return (chain.status is not EdgeStatus.PROVEN, not is_outsider(chain.source), len(chain.edges), chain.source)


def is_outsider(node: str) -> bool:
    """A node outside the clouds' directories: a federated token (``ISSUER|SUBJECT``), anyone
    (``*``), or another AWS account's root."""
    return "|" in node or node == "*" or node.endswith(":root")


__all__ = ["Chain", "MintGraph", "danger", "is_outsider"]
