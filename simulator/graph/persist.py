"""The mint graph as JSON, to keep with its snapshot in the store (``iamdrift.graph/1``).

The document holds every edge and admin whole (their answers, witnesses, reasons and the
documents' digests), so a stored graph explains its chains as the freshly built one does.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from models.codec import from_json_dict, to_json_dict
from simulator.core import Admin, Edge
from simulator.graph.walk import MintGraph

FORMAT = "iamdrift.graph/1"
#: The store's artifact kind for a snapshot's graph.
KIND = "graph"


class GraphFormatError(ValueError):
    """A stored graph this iamdrift cannot read (another format, or damaged)."""


def dumps(graph: MintGraph, snapshot_id: str, at: datetime) -> str:
    return json.dumps(
        {
            "format": FORMAT,
            "snapshot": snapshot_id,
            "at": at.isoformat(),
            "edges": [to_json_dict(e) for e in graph.edges],
            "admins": [to_json_dict(a) for a in graph.admins.values()],
        },
        separators=(",", ":"),
    )


def loads(text: str) -> tuple[MintGraph, datetime]:
    """The graph and the request time it was built for."""
    try:
        data: Any = json.loads(text)
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            found = data.get("format") if isinstance(data, dict) else type(data).__name__
            raise GraphFormatError(f"a stored graph of format {found!r}, this iamdrift reads {FORMAT}")
        edges = [from_json_dict(Edge, e) for e in data["edges"]]
        admins = [from_json_dict(Admin, a) for a in data["admins"]]
        return MintGraph(edges, admins), datetime.fromisoformat(data["at"])
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, GraphFormatError):
            raise
        raise GraphFormatError(f"the stored graph cannot be read ({exc}); rebuild it with `iamdrift graph`") from exc


__all__ = ["FORMAT", "KIND", "GraphFormatError", "dumps", "loads"]
