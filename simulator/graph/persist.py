"""The mint graph as JSON, to keep with its snapshot in the store (``iamdrift.graph/2``).

The document holds every edge and admin whole (their answers, witnesses, reasons and the
documents' digests), so a stored graph explains its chains as the freshly built one does. Values
that repeat across many answers (the same documents decide many requests; one request time) are
written once each, in ``tables``, and answers hold their index: ``reasons``, ``considered`` and
``depends_on`` (each a whole tuple), ``at``, and ``strings``: node ids, mechanisms, and the
principals, actions and resources of requests and witnesses. The codec is written out field by field (a graph
holds hundreds of thousands of answers; a generic one was the slowest part of reading it back).
"""

from __future__ import annotations

import json
from collections.abc import Hashable, Mapping
from datetime import datetime
from typing import Any

from models import Cloud
from simulator.core import Admin, Answer, Ask, Considered, Decision, Edge, ExternalToken, Fact, Method, Reason, Witness
from simulator.core.decision import ReasonKind
from simulator.graph.walk import MintGraph

FORMAT = "iamdrift.graph/2"
#: The store's artifact kind for a snapshot's graph.
KIND = "graph"
TABLES = ("strings", "reasons", "considered", "depends_on", "at")
_REASON_FIELDS = ("detail", "policy", "statement", "sid", "effect", "role", "member", "scope", "level")


class GraphFormatError(ValueError):
    """A stored graph this iamdrift cannot read (another format, or damaged)."""


class _Interner:
    def __init__(self) -> None:
        self.index: dict[str, dict[Hashable, int]] = {name: {} for name in TABLES}
        self.values: dict[str, list[Any]] = {name: [] for name in TABLES}

    def put(self, table: str, value: Hashable, encoded: Any) -> int:
        seen = self.index[table]
        if value not in seen:
            seen[value] = len(seen)
            self.values[table].append(encoded() if callable(encoded) else encoded)
        return seen[value]

    def s(self, text: str) -> int:
        return self.put("strings", text, text)


def dumps(graph: MintGraph, snapshot_id: str, at: datetime) -> str:
    """``graph`` as the stored document."""
    tables = _Interner()
    edges = [_edge_out(e, tables) for e in graph.edges]
    admins = [_admin_out(a, tables) for a in graph.admins.values()]
    return json.dumps(
        {
            "format": FORMAT,
            "snapshot": snapshot_id,
            "at": at.isoformat(),
            "tables": tables.values,
            "edges": edges,
            "admins": admins,
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
        tables = _tables_in(data["tables"])
        edges = [_edge_in(e, tables) for e in data["edges"]]
        admins = [_admin_in(a, tables) for a in data["admins"]]
        return MintGraph(edges, admins), datetime.fromisoformat(data["at"])
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        if isinstance(exc, GraphFormatError):
            raise
        raise GraphFormatError(f"the stored graph cannot be read ({exc}); rebuild it with `iamdrift graph`") from exc


# --- out ------------------------------------------------------------------------------------


def _edge_out(edge: Edge, tables: _Interner) -> dict[str, Any]:
    return {
        "source": tables.s(edge.source),
        "target": tables.s(edge.target),
        "cloud": edge.cloud.value,
        "mechanism": tables.s(edge.mechanism),
        "answers": [_answer_out(a, tables) for a in edge.answers],
        "facts": [[f.what, f.source] for f in edge.facts],
        "condition": edge.condition,
        "escalates": edge.escalates,
    }


def _admin_out(admin: Admin, tables: _Interner) -> dict[str, Any]:
    return {
        "id": admin.id,
        "cloud": admin.cloud.value,
        "scope": admin.scope,
        "why": admin.why,
        "answer": None if admin.answer is None else _answer_out(admin.answer, tables),
    }


def _answer_out(answer: Answer, tables: _Interner) -> dict[str, Any]:
    ask = answer.ask
    principal: Any = tables.s(ask.principal) if isinstance(ask.principal, str) else ask.principal
    if isinstance(principal, ExternalToken):
        principal = {"issuer": principal.issuer, "subject": principal.subject, "audiences": list(principal.audiences)}
    w = answer.witness
    return {
        "ask": [
            principal,
            tables.s(ask.action),
            tables.s(ask.resource),
            tables.put("at", ask.at, ask.at.isoformat()),
            _context_out(ask.context),
            ask.free_context,
            ask.method.value,
        ],
        "principal": tables.s(answer.principal),
        "decision": answer.decision.value,
        "witness": None
        if w is None
        else [
            tables.s(w.principal),
            tables.s(w.action),
            tables.s(w.resource),
            _context_out(w.context),
            w.plane,
            w.sub_operation,
        ],
        "reasons": tables.put("reasons", answer.reasons, lambda: [_reason_out(r) for r in answer.reasons]),
        "considered": tables.put(
            "considered", answer.considered, lambda: [[c.policy, c.applies_as, c.digest] for c in answer.considered]
        ),
        "depends_on": tables.put("depends_on", answer.depends_on, list(answer.depends_on)),
        "notes": list(answer.notes),
    }


def _context_out(context: Mapping[str, tuple[str, ...]]) -> dict[str, list[str]]:
    return {k: list(v) for k, v in context.items()}


def _reason_out(reason: Reason) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": reason.kind.value}
    for name in _REASON_FIELDS:
        value = getattr(reason, name)
        if value is not None and value != "":
            out[name] = value
    return out


# --- in -------------------------------------------------------------------------------------


def _tables_in(raw: Mapping[str, list[Any]]) -> dict[str, list[Any]]:
    """Each table's values decoded once."""
    return {
        "strings": [str(value) for value in raw["strings"]],
        "reasons": [tuple(_reason_in(r) for r in value) for value in raw["reasons"]],
        "considered": [
            tuple(Considered(policy=p, applies_as=a, digest=d) for p, a, d in value) for value in raw["considered"]
        ],
        "depends_on": [tuple(str(d) for d in value) for value in raw["depends_on"]],
        "at": [datetime.fromisoformat(value) for value in raw["at"]],
    }


def _reason_in(raw: Mapping[str, Any]) -> Reason:
    extra = set(raw) - {"kind", *_REASON_FIELDS}
    if extra:
        raise ValueError(f"Reason: unknown fields {sorted(extra)}")
    return Reason(kind=ReasonKind(raw["kind"]), **{k: v for k, v in raw.items() if k != "kind"})


def _edge_in(raw: Mapping[str, Any], tables: Mapping[str, list[Any]]) -> Edge:
    strings = tables["strings"]
    return Edge(
        source=strings[raw["source"]],
        target=strings[raw["target"]],
        cloud=Cloud(raw["cloud"]),
        mechanism=strings[raw["mechanism"]],
        answers=tuple(_answer_in(a, tables) for a in raw["answers"]),
        facts=tuple(Fact(what=what, source=source) for what, source in raw["facts"]),
        condition=raw["condition"],
        escalates=bool(raw["escalates"]),
    )


def _admin_in(raw: Mapping[str, Any], tables: Mapping[str, list[Any]]) -> Admin:
    answer = raw["answer"]
    return Admin(
        id=raw["id"],
        cloud=Cloud(raw["cloud"]),
        scope=raw["scope"],
        why=raw["why"],
        answer=None if answer is None else _answer_in(answer, tables),
    )


def _answer_in(raw: Mapping[str, Any], tables: Mapping[str, list[Any]]) -> Answer:
    strings = tables["strings"]
    principal, action, resource, at, context, free_context, method = raw["ask"]
    if isinstance(principal, int):
        principal = strings[principal]
    elif principal is not None:
        principal = ExternalToken(
            issuer=principal["issuer"], subject=principal["subject"], audiences=tuple(principal["audiences"])
        )
    ask = Ask(
        principal=principal,
        action=strings[action],
        resource=strings[resource],
        at=tables["at"][at],
        context=_context_in(context),
        free_context=bool(free_context),
        method=Method(method),
    )
    w = raw["witness"]
    witness = (
        None
        if w is None
        else Witness(
            principal=strings[w[0]],
            action=strings[w[1]],
            resource=strings[w[2]],
            context=_context_in(w[3]),
            plane=w[4],
            sub_operation=w[5],
        )
    )
    return Answer(
        ask=ask,
        principal=strings[raw["principal"]],
        decision=Decision(raw["decision"]),
        witness=witness,
        reasons=tables["reasons"][raw["reasons"]],
        considered=tables["considered"][raw["considered"]],
        depends_on=tables["depends_on"][raw["depends_on"]],
        notes=tuple(raw["notes"]),
    )


def _context_in(raw: Mapping[str, list[str]]) -> dict[str, tuple[str, ...]]:
    return {k: tuple(v) for k, v in raw.items()}


__all__ = ["FORMAT", "KIND", "GraphFormatError", "dumps", "loads"]
