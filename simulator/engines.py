"""The explicit registry of engines: one factory per cloud, filled in here and nowhere else.

Each cloud's engine is imported when its factory first runs, so a question about one cloud does
not load the others' code.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

from models import Cloud, Snapshot
from simulator.core import Admin, Edge, Engine, Estate


def _aws(snapshot: Snapshot, at: datetime) -> Engine:
    from simulator.aws.engine import AwsEngine

    engine: Engine = AwsEngine(snapshot, at)
    return engine


def _gcp(snapshot: Snapshot, at: datetime) -> Engine:
    from simulator.gcp.engine import GcpEngine

    engine: Engine = GcpEngine(snapshot, at)
    return engine


def _azure(snapshot: Snapshot, at: datetime) -> Engine:
    from simulator.azure.engine import AzureEngine

    engine: Engine = AzureEngine(snapshot, at)
    return engine


FACTORIES = {Cloud.AWS: _aws, Cloud.GCP: _gcp, Cloud.AZURE: _azure}


def open_estate(
    snapshot: Snapshot, *, at: datetime | None = None, clock: Callable[[], datetime] | None = None
) -> Estate:
    """The estate of ``snapshot`` at request time ``at`` (default: the clock's now, to the second)."""
    if at is None:
        at = (clock or (lambda: datetime.now(UTC)))().replace(microsecond=0)
    return Estate(snapshot, FACTORIES, at)


class EdgeFinder(Protocol):
    """A cloud's mint-graph edges and admin-equivalent nodes over an estate (``simulator.<cloud>.edges``)."""

    def find_edges(self, estate: Estate) -> list[Edge]: ...

    def find_admins(self, estate: Estate) -> list[Admin]: ...


class PartedEdgeFinder(EdgeFinder, Protocol):
    """A finder that splits its work into named parts (units a process pool can run)."""

    PARTS: tuple[str, ...]

    def find_part(self, estate: Estate, part: str) -> tuple[list[Edge], list[Admin]]: ...


#: The module of each cloud's edge finder, imported when first asked for.
EDGE_FINDERS = {
    Cloud.AWS: "simulator.aws.edges",
    Cloud.GCP: "simulator.gcp.edges",
    Cloud.AZURE: "simulator.azure.edges",
}


def edge_finder(cloud: Cloud) -> EdgeFinder:
    module: EdgeFinder = importlib.import_module(EDGE_FINDERS[cloud])
    return module
