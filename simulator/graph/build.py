"""Building the mint graph from each cloud's edge finder, in work units a process pool can run.

A cloud's finder (``simulator.<cloud>.edges``, through :func:`simulator.engines.edge_finder`)
may split its work into named parts (``PARTS`` and ``find_part(estate, part)``); one that does not
is one part, ``all`` (``find_edges`` and ``find_admins``). A :class:`WorkUnit` names one part of
one cloud; :func:`run_unit` runs it over a snapshot at a request time. Both are plain picklable
values, so the units run in worker processes (``jobs`` > 1) — or, later, anywhere else — and the
graph is the union of what they return, in unit order (the same graph whatever ran them).
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from models import Cloud, Snapshot
from simulator.core import Admin, Edge, Estate
from simulator.engines import PartedEdgeFinder, edge_finder, open_estate
from simulator.graph import persist
from simulator.graph.walk import MintGraph

WHOLE = "all"


@dataclass(frozen=True)
class WorkUnit:
    """One part of one cloud's edge finding."""

    cloud: Cloud
    part: str = WHOLE


def clouds_of(snapshot: Snapshot) -> tuple[Cloud, ...]:
    """The clouds the snapshot holds principals of, in order of first appearance."""
    return tuple(dict.fromkeys(p.cloud for p in snapshot.principals))


def work_units(clouds: Sequence[Cloud]) -> list[WorkUnit]:
    """Every part of every cloud's finder."""
    units = []
    for cloud in clouds:
        finder = edge_finder(cloud)
        units += [WorkUnit(cloud, part) for part in getattr(finder, "PARTS", (WHOLE,))]
    return units


def run_part(estate: Estate, unit: WorkUnit) -> tuple[list[Edge], list[Admin]]:
    """The edges and admins of one unit over ``estate``."""
    finder = edge_finder(unit.cloud)
    if unit.part == WHOLE:
        return finder.find_edges(estate), finder.find_admins(estate)
    edges, admins = cast(PartedEdgeFinder, finder).find_part(estate, unit.part)
    return list(edges), list(admins)


def run_unit(snapshot: Snapshot, at: datetime, unit: WorkUnit) -> tuple[list[Edge], list[Admin]]:
    """:func:`run_part` in a process of its own: a fresh estate over ``snapshot`` at ``at``."""
    return run_part(open_estate(snapshot, at=at), unit)


class _Worker:
    """What a worker process of :func:`build_encoded`'s pool runs its units over: one estate,
    opened once from the snapshot the pool was started with (the pool's processes are forked
    where the platform allows, so the snapshot is not copied to them; elsewhere it is sent once
    to each), and the build its parts are encoded for."""

    estate: Estate | None = None
    build: str = ""


def _start_worker(snapshot: Snapshot, at: datetime, build: str) -> None:
    _Worker.estate = open_estate(snapshot, at=at)
    _Worker.build = build


def _run_in_worker(unit: WorkUnit) -> persist.EncodedUnit:
    estate = _Worker.estate
    if estate is None:  # pragma: no cover - the pool's initializer sets it
        raise RuntimeError("a graph worker without its estate")
    return persist.encode_unit(*run_part(estate, unit), _Worker.build)


def build(estate: Estate, clouds: Sequence[Cloud] | None = None, *, jobs: int = 1) -> MintGraph:
    """The graph of every cloud the snapshot holds principals of (or of ``clouds``), its units run
    in this process (``jobs`` 1) or in a pool of ``jobs`` worker processes (see
    :func:`build_encoded`)."""
    if jobs > 1:
        return build_encoded(estate, clouds, jobs=jobs, build=persist.new_build()).graph
    units = work_units(clouds if clouds is not None else clouds_of(estate.snapshot))
    results = [run_part(estate, unit) for unit in units]
    edges = [e for found, _ in results for e in found]
    admins = [a for _, found in results for a in found]
    return MintGraph(_unique(edges), _unique_admins(admins))


def build_encoded(
    estate: Estate, clouds: Sequence[Cloud] | None = None, *, jobs: int = 1, build: str
) -> persist.EncodedGraph:
    """:func:`build`, each unit's edges encoded for the kept graph (of build ``build``) where they
    were found — in a worker process when ``jobs`` > 1 —, so the graph is kept without encoding
    it again and a worker sends back text, not objects."""
    units = work_units(clouds if clouds is not None else clouds_of(estate.snapshot))
    if jobs <= 1 or len(units) <= 1:
        encoded = [persist.encode_unit(*run_part(estate, unit), build) for unit in units]
    else:
        context = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else None)
        with ProcessPoolExecutor(
            max_workers=min(jobs, len(units)),
            mp_context=context,
            initializer=_start_worker,
            initargs=(estate.snapshot, estate.at, build),
        ) as pool:
            futures = [pool.submit(_run_in_worker, unit) for unit in units]
            encoded = [f.result() for f in futures]
    return persist.join_units(encoded, build)


def _unique(edges: list[Edge]) -> list[Edge]:
    """Each (source, target, mechanism) once: the proven edge when parts found both."""
    kept: dict[tuple[str, str, str], Edge] = {}
    for edge in edges:
        key = (edge.source, edge.target, edge.mechanism)
        if key not in kept or (kept[key].status != "proven" and edge.status == "proven"):
            kept[key] = edge
    return list(kept.values())


def _unique_admins(admins: list[Admin]) -> list[Admin]:
    kept: dict[str, Admin] = {}
    for admin in admins:
        kept.setdefault(admin.id, admin)
    return list(kept.values())


__all__ = ["WHOLE", "WorkUnit", "build", "build_encoded", "clouds_of", "run_part", "run_unit", "work_units"]
