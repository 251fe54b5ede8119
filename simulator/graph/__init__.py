"""The mint graph: which identities and workloads can obtain which others, and chains to admin.

:func:`build` asks each cloud's edge finder (``simulator.<cloud>.edges``, through the registry in
:mod:`simulator.engines`) for its proven and undecided edges over one :class:`~simulator.core.Estate`;
:class:`MintGraph` walks them: what a node reaches (the shortest chain to each), and every chain
from a node that is not admin-equivalent to one that is.
"""

from simulator.graph.build import WorkUnit, build, run_unit, work_units
from simulator.graph.walk import Chain, MintGraph

__all__ = ["Chain", "MintGraph", "WorkUnit", "build", "run_unit", "work_units"]
