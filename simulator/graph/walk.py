"""Chains through the mint graph: shortest first, proven before undecided.

A chain is proven when every edge in it is; a chain with an undecided edge is ``unknown`` (kept,
never dropped: the edge may exist). For each node a start reaches, the chain reported is the
shortest chain of proven edges when there is one, else the shortest through undecided edges;
up to ``alternatives`` further chains to the same node are kept beside it, each through another
edge into that node (another mechanism, or another identity that reaches it).

A chain ends *at admin* when its last node is admin-equivalent, or its last edge ``escalates``
(it rewrites its target's permissions: ``P -> P`` for a principal that changes its own).

Besides the edges the clouds' finders prove, the walk follows the joins between clouds
(:mod:`simulator.graph.joins`): a token whose issuer and subject a federation trust admits.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from models import Cloud
from simulator.core import Admin, Edge, EdgeStatus
from simulator.graph.joins import TOKEN_JOIN, Joins
from simulator.graph.table import EdgeTable


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

    def to_json(self, edge_json: Callable[[Edge], dict[str, Any]] = Edge.to_json) -> dict[str, Any]:
        """The chain as JSON, each edge as ``edge_json`` gives it (one that remembers the edges it
        has written saves the work where many chains share edges)."""
        out: dict[str, Any] = {
            "from": self.source,
            "to": self.target,
            "status": self.status.value,
            "edges": [edge_json(e) for e in self.edges],
        }
        if self.alternatives:
            out["alternatives"] = [[edge_json(e) for e in alt] for alt in self.alternatives]
        return out


Path = tuple[int, ...]
"""A chain as the positions of its edges (see :class:`MintGraph`)."""


class MintGraph:
    """Edges by their source, the admin-equivalent nodes, and the joins between clouds.

    The walk runs over the edges' columns (:class:`~simulator.graph.table.EdgeTable`): edge ``i``
    of the table is position ``i``, and the joins follow the table's edges. Whole edges are made
    only for the chains returned. ``admins``: the admin-equivalent nodes, or a mapping of them by
    id (a stored graph's, which reads their answers when one is first looked at).
    ``known_paths``: the result of :meth:`path_positions` for a depth, when it was found before
    (a stored graph keeps the one for the default depth).
    """

    def __init__(
        self,
        edges: Iterable[Edge] | EdgeTable,
        admins: Iterable[Admin] | Mapping[str, Admin] = (),
        *,
        known_paths: Mapping[int, Sequence[Path]] | None = None,
    ) -> None:
        self.table = edges if isinstance(edges, EdgeTable) else EdgeTable.of(edges)
        self.admins: Mapping[str, Admin] = admins if isinstance(admins, Mapping) else {a.id: a for a in admins}
        table = self.table
        self.sources: frozenset[str] = frozenset(table.source)
        self._nodes: tuple[str, ...] | None = None
        # Only the sources that are tokens or account roots can be trusts a join leads to.
        trusts = {n for n in self.sources if "|" in n or n.endswith(":root")}
        trust_clouds: dict[str, list[Cloud]] = {}
        for source, cloud in zip(table.source, table.cloud, strict=True):
            if source in trusts:
                trust_clouds.setdefault(source, []).append(cloud)
        joins = Joins(trust_clouds).all_joins(self.nodes) if trust_clouds else []
        self._joins = joins
        self._source = [*table.source, *(e.source for e in joins)]
        self._target = [*table.target, *(e.target for e in joins)]
        self._mechanism = [*table.mechanism, *(e.mechanism for e in joins)]
        self._proven = [*table.proven, *(True for _ in joins)]
        self._escalates = [*table.escalates, *(e.escalates for e in joins)]
        self._out: dict[str, list[int]] | None = None
        self._into: dict[str, list[int]] | None = None
        self._paths: dict[int, list[Path]] = {d: list(p) for d, p in (known_paths or {}).items()}

    @property
    def edges(self) -> tuple[Edge, ...]:
        """Every edge the finders proved or left undecided (not the joins), whole."""
        return self.table.all()

    @property
    def nodes(self) -> tuple[str, ...]:
        """Every source and target of an edge, in edge order, then the admins."""
        if self._nodes is None:
            found = dict.fromkeys(itertools.chain.from_iterable(zip(self.table.source, self.table.target, strict=True)))
            found.update(dict.fromkeys(self.admins))
            self._nodes = tuple(found)
        return self._nodes

    def out_edges(self, node: str) -> list[Edge]:
        """The edges from ``node``: its own, then the joins that lead out of it."""
        return self._whole(self._step(node))

    def is_admin_end(self, chain: Chain) -> bool:
        return chain.target in self.admins or chain.escalates

    def reach(self, start: str, max_depth: int = 6, alternatives: int = 0) -> list[Chain]:
        """Every node ``start`` reaches within ``max_depth`` edges, with its shortest chain (proven
        chains preferred) and up to ``alternatives`` more; and, for every reached node (``start``
        too) with an escalating edge, that edge's chain. Nearest first."""
        return self._chains(start, self._reach(start, max_depth, alternatives))

    def paths_to_admin(self, start: str | None = None, max_depth: int = 6) -> list[Chain]:
        """For each start (``start``, or every source of an edge that is not admin-equivalent
        itself), its best chain to admin (see the module docstring): proven before unknown,
        then the shortest. The list runs most dangerous first: proven chains, starts outside
        every cloud (tokens, other accounts, anyone) before insiders, shorter before longer."""
        if start is not None:
            for path, alternatives in self._reach(start, max_depth, 0):
                end = self._target[path[-1]]
                if (end in self.admins or self._escalates[path[-1]]) and (end != start or self._escalates[path[-1]]):
                    return self._chains(start, [(path, alternatives)])
            return []
        paths = self.path_positions(max_depth)
        made = self._made(i for p in paths for i in p)
        return [
            Chain(source=self._source[p[0]], target=self._target[p[-1]], edges=tuple(made[i] for i in p)) for p in paths
        ]

    def path_positions(self, max_depth: int = 6) -> list[Path]:
        """:meth:`paths_to_admin` of every start, as edge positions (found once per depth)."""
        if max_depth not in self._paths:
            best: dict[str, Path] = {}
            for proven_only in (True, False):
                for node, path in self._to_admin(max_depth, proven_only=proven_only).items():
                    best.setdefault(node, path)
            found = [
                path
                for node, path in best.items()
                # Unasked, a token whose best chain starts by matching a wider pattern is left out:
                # the pattern's own chain is listed, and stands for every token it admits.
                if node in self.sources and node not in self.admins and self._mechanism[path[0]] != TOKEN_JOIN
            ]

            def key(path: Path) -> tuple[bool, bool, int, str]:
                source = self._source[path[0]]
                return (not self._all_proven(path), not is_outsider(source), len(path), source)

            self._paths[max_depth] = sorted(found, key=key)
        return self._paths[max_depth]

    def reaching(self, target: str, max_depth: int = 6) -> list[Chain]:
        """Every node with a chain to ``target`` (its shortest, proven preferred), nearest first."""
        into = self._reverse()
        best: dict[str, Path] = {}
        for proven_only in (True, False):
            for node, path in self._bfs(target, max_depth, lambda n: into.get(n, ()), proven_only, False).items():
                best.setdefault(node, path)
        ordered = sorted(best.items(), key=lambda item: (not self._all_proven(item[1]), len(item[1]), item[0]))
        made = self._made({i for _, p in ordered for i in p})
        return [Chain(source=node, target=target, edges=tuple(made[i] for i in p)) for node, p in ordered]

    # --- the walk, over positions ---------------------------------------------------------------

    def _whole(self, positions: Iterable[int]) -> list[Edge]:
        wanted = list(positions)
        n = len(self.table)
        stored = dict(zip((i for i in wanted if i < n), self.table.edges(i for i in wanted if i < n), strict=True))
        return [stored[i] if i < n else self._joins[i - n] for i in wanted]

    def _made(self, positions: Iterable[int]) -> dict[int, Edge]:
        ordered = sorted(set(positions))
        return dict(zip(ordered, self._whole(ordered), strict=True))

    def _all_proven(self, path: Iterable[int]) -> bool:
        return all(self._proven[i] for i in path)

    def _chains(self, start: str, found: list[tuple[Path, tuple[Path, ...]]]) -> list[Chain]:
        made = self._made({i for path, alts in found for p in (path, *alts) for i in p})
        return [
            Chain(
                source=start,
                target=self._target[path[-1]],
                edges=tuple(made[i] for i in path),
                alternatives=tuple(tuple(made[i] for i in alt) for alt in alts),
            )
            for path, alts in found
        ]

    def _reach(self, start: str, max_depth: int, alternatives: int) -> list[tuple[Path, tuple[Path, ...]]]:
        """:meth:`reach` as positions: each chain's path and its alternatives, in order."""
        best = self._bfs(start, max_depth, self._step, True, True)
        for node, found in self._bfs(start, max_depth, self._step, False, True).items():
            best.setdefault(node, found)
        paths = [*best.values(), *self._escalations(start, best, max_depth)]
        with_alternatives = [
            (p, self._alternatives(start, p, best, max_depth, alternatives) if alternatives else ()) for p in paths
        ]
        return sorted(
            with_alternatives,
            key=lambda c: (not self._all_proven(c[0]), len(c[0]), self._target[c[0][-1]]),
        )

    def _step(self, node: str) -> Sequence[int]:
        if self._out is None:
            out: dict[str, list[int]] = {}
            for i, source in enumerate(self._source):
                out.setdefault(source, []).append(i)
            self._out = out
        return self._out.get(node, ())

    def _to_admin(self, max_depth: int, *, proven_only: bool) -> dict[str, Path]:
        """Every node's shortest chain (within ``max_depth`` edges) to an admin end, found once
        for all nodes: breadth first backwards from the admin-equivalent nodes (length 0) and
        from the source of each escalating edge (that edge, length 1)."""
        into = self._reverse()
        proven = self._proven
        source = self._source
        path_of: dict[str, Path] = {a: () for a in self.admins}
        seeds = [i for i, e in enumerate(self._escalates) if e and (proven[i] or not proven_only)]
        seeds.sort(key=lambda i: (not proven[i], self._mechanism[i]))
        level = list(self.admins)
        for depth in range(1, max_depth + 1):
            following: list[str] = []
            for i in seeds if depth == 1 else ():
                if source[i] not in path_of:
                    path_of[source[i]] = (i,)
                    following.append(source[i])
            for node in level:
                for i in into.get(node, ()):
                    if (proven[i] or not proven_only) and source[i] not in path_of:
                        path_of[source[i]] = (i, *path_of[node])
                        following.append(source[i])
            level = following
        return {node: path for node, path in path_of.items() if path}

    def _reverse(self) -> dict[str, list[int]]:
        if self._into is None:
            into: dict[str, list[int]] = {}
            for i, target in enumerate(self._target):
                into.setdefault(target, []).append(i)
            self._into = into
        return self._into

    def _escalations(self, start: str, best: Mapping[str, Path], max_depth: int) -> list[Path]:
        """Chains that end in an escalating edge, from ``start`` and from each node it reaches."""
        out = []
        for node, path in [(start, ()), *best.items()]:
            if len(path) >= max_depth:
                continue
            escalating = [i for i in self._step(node) if self._escalates[i]]
            escalating.sort(key=lambda i: (not self._proven[i], self._mechanism[i]))
            if escalating:
                out.append((*path, escalating[0]))
        return out

    def _alternatives(
        self, start: str, chain: Path, best: Mapping[str, Path], max_depth: int, limit: int
    ) -> tuple[Path, ...]:
        """Up to ``limit`` other simple chains from ``start`` to the end of ``chain``, each ending in
        another edge into it: the best chain to that edge's source (or none, from ``start`` itself)
        and the edge — so each names another way in (another mechanism, another identity), proven
        ones first, then the shortest."""
        end = self._target[chain[-1]]
        others: list[Path] = []
        for i in self._reverse().get(end, ()):
            before = self._source[i]
            prefix = () if before == start else best.get(before)
            if prefix is None or (end == start and prefix):
                continue
            step = (*prefix, i)
            if step != chain and len(step) <= max_depth and all(self._target[j] != end for j in prefix):
                others.append(step)
        others.sort(key=lambda p: (not self._all_proven(p), len(p)))
        return tuple(others[:limit])

    def _bfs(
        self, start: str, max_depth: int, step: Callable[[str], Sequence[int]], proven_only: bool, forward: bool
    ) -> dict[str, Path]:
        """Breadth first from ``start`` along ``step(node)`` (edges out of, or into, a node): the
        first (shortest) path to each node, in walking order from the far end when walking
        backwards."""
        ends = self._target if forward else self._source
        found: dict[str, Path] = {}
        queue: deque[tuple[str, Path]] = deque([(start, ())])
        seen = {start}
        while queue:
            node, path = queue.popleft()
            if len(path) >= max_depth:
                continue
            for i in step(node):
                if proven_only and not self._proven[i]:
                    continue
                other = ends[i]
                if other in seen:
                    continue
                seen.add(other)
                found[other] = (*path, i) if forward else (i, *path)
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
