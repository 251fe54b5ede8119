"""The mint graph's edges as columns the walk reads, and the whole edges, made on demand.

The walk needs of an edge only its source, target, mechanism, cloud, whether it is proven and
whether it escalates; the whole :class:`~simulator.core.Edge` (answers, witnesses, reasons) is
needed only for the chains a command shows. An :class:`EdgeTable` holds the former for every
edge, and gets the latter from ``load`` — the edges themselves for a graph built in this
process, or a reader of the stored graph that decodes just the edges asked for — keeping each
edge once it is made.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from models import Cloud
from simulator.core import Edge, EdgeStatus

#: Gets the whole edges at the given positions, in that order.
EdgeLoader = Callable[[Sequence[int]], Sequence[Edge]]


class EdgeTable:
    """Column ``i`` of each sequence describes edge ``i``; :meth:`edges` makes the whole ones."""

    def __init__(
        self,
        *,
        source: Sequence[str],
        target: Sequence[str],
        mechanism: Sequence[str],
        cloud: Sequence[Cloud],
        proven: Sequence[bool],
        escalates: Sequence[bool],
        load: EdgeLoader,
    ) -> None:
        n = len(source)
        if any(len(column) != n for column in (target, mechanism, cloud, proven, escalates)):
            raise ValueError("EdgeTable: the columns differ in length")
        self.source = source
        self.target = target
        self.mechanism = mechanism
        self.cloud = cloud
        self.proven = proven
        self.escalates = escalates
        self._load = load
        self._made: dict[int, Edge] = {}

    @classmethod
    def of(cls, edges: Iterable[Edge]) -> EdgeTable:
        """The table of edges already made."""
        made = tuple(edges)
        table = cls(
            source=[e.source for e in made],
            target=[e.target for e in made],
            mechanism=[e.mechanism for e in made],
            cloud=[e.cloud for e in made],
            proven=[e.status is EdgeStatus.PROVEN for e in made],
            escalates=[e.escalates for e in made],
            load=lambda indices: [made[i] for i in indices],
        )
        table._made = dict(enumerate(made))
        return table

    def __len__(self) -> int:
        return len(self.source)

    def edges(self, indices: Iterable[int]) -> list[Edge]:
        """The whole edges at ``indices``, in that order (each made once, in one call to ``load``
        for those not made yet)."""
        wanted = list(indices)
        missing = sorted({i for i in wanted if i not in self._made})
        if missing:
            loaded = self._load(missing)
            if len(loaded) != len(missing):
                raise ValueError(f"EdgeTable: {len(missing)} edges asked for, {len(loaded)} given")
            for i, edge in zip(missing, loaded, strict=True):
                if (edge.source, edge.target, edge.mechanism) != (self.source[i], self.target[i], self.mechanism[i]):
                    raise ValueError(f"EdgeTable: edge {i} is not the edge its columns describe")
                self._made[i] = edge
        return [self._made[i] for i in wanted]

    def all(self) -> tuple[Edge, ...]:
        return tuple(self.edges(range(len(self))))


__all__ = ["EdgeLoader", "EdgeTable"]
