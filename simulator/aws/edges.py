"""AWS edges of the mint graph: who can obtain the credentials of, or act as, whom; and the
admin-equivalent principals.

Each kind of edge lives in its own module: role assumption (:mod:`simulator.aws.edges_assume`),
IAM principal access and self-modification (:mod:`simulator.aws.edges_iam`), compute — workloads,
code execution in them, ``iam:PassRole`` to a service (:mod:`simulator.aws.edges_compute`) — and
admin-equivalence (:mod:`simulator.aws.admins`). Each is a part a worker process can run
(:data:`PARTS`, :func:`find_part`).
"""

from __future__ import annotations

from simulator.aws.edge_support import roles
from simulator.core import Admin, Edge, Estate

#: The parts of the work, the largest first (so a pool starts them first).
#: ``assume`` is split in two halves of the roles (every other one), so two workers share it.
PARTS = ("assume", "assume-2", "compute", "iam", "admins")


def find_part(estate: Estate, part: str) -> tuple[list[Edge], list[Admin]]:
    """The edges (or admins) of one part of :data:`PARTS`."""
    if part in ("assume", "assume-2"):
        from simulator.aws.edges_assume import all_assume_edges

        half = roles(estate)[0 if part == "assume" else 1 :: 2]
        return all_assume_edges(estate, half), []
    if part == "compute":
        from simulator.aws.edges_compute import passrole_edges, runs_as_edges, update_code_edges

        return [*runs_as_edges(estate), *update_code_edges(estate), *passrole_edges(estate, roles(estate))], []
    if part == "iam":
        from simulator.aws.edges_iam import iam_edges

        return iam_edges(estate), []
    if part == "admins":
        from simulator.aws.admins import find_admins as admins

        return [], admins(estate)
    raise ValueError(f"no AWS edge part {part!r} (parts: {', '.join(PARTS)})")


def find_edges(estate: Estate) -> list[Edge]:
    """Every AWS edge of the estate (see each module)."""
    return [e for part in PARTS for e in find_part(estate, part)[0]]


def find_admins(estate: Estate) -> list[Admin]:
    """The AWS principals proven admin-equivalent (see :mod:`simulator.aws.admins`)."""
    return find_part(estate, "admins")[1]


__all__ = ["PARTS", "find_admins", "find_edges", "find_part"]
