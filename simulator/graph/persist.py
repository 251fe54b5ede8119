"""The mint graph as it is kept with its snapshot in the store (``iamdrift.graph/3``).

Two layers, so a command reads only what it shows:

- the *document* (the artifact's payload): the edges as columns — source, target, mechanism
  (positions in ``strings``), cloud (in ``clouds``), and flags (1 proven, 2 escalates) —, every
  admin whole, the chains to admin of the default depth as edge positions (``paths``, the closure
  the build found), the request time and a ``build`` token;
- one *part* per edge (the artifact's parts, by edge position): ``[build, answers, facts,
  condition]``, each answer whole (request, decision, witness, reasons, the documents considered
  and the digests it depends on, notes), decoded only when a chain through the edge is shown;
  then one per admin, ``[build, answer]`` (the document lists the admins: id, cloud, scope,
  why), read when an admin is first looked at.

The documents' digests and the documents considered repeat across most answers: the document
holds each once per work unit that found the edges (``units``: ``digests``; ``considered``, as
``[policy, applies_as, digest]``; the edges' ``unit`` column and the admins' last field say
whose) and the parts their positions — so a worker process encodes what it found, and the
graph is kept without encoding it again. A part of another build (the graph was rebuilt while being read) is a
:class:`GraphFormatError`, never mixed in.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from models import Cloud
from simulator.core import (
    Admin,
    Answer,
    Ask,
    Considered,
    Decision,
    Edge,
    EdgeStatus,
    ExternalToken,
    Fact,
    Method,
    Reason,
    Witness,
)
from simulator.core.decision import ReasonKind
from simulator.graph.table import EdgeTable
from simulator.graph.walk import MintGraph

FORMAT = "iamdrift.graph/3"
#: The store's artifact kind for a snapshot's graph.
KIND = "graph"
#: The depth of the chains to admin the document keeps (the commands' default).
KEPT_DEPTH = 6
_PROVEN, _ESCALATES = 1, 2
_DECISIONS = {d.value: d for d in Decision}
_METHODS = {m.value: m for m in Method}
_REASON_KINDS = {k.value: k for k in ReasonKind}
_REASON_FIELDS = ("detail", "policy", "statement", "sid", "effect", "role", "member", "scope", "level")
_REASON_FIELD_SET = frozenset(_REASON_FIELDS)

#: Reads the stored parts at the given edge positions, in that order.
PartReader = Callable[[Sequence[int]], Sequence[str]]


class GraphFormatError(ValueError):
    """A stored graph this iamdrift cannot read (another format, or damaged)."""


@dataclass(frozen=True)
class StoredGraph:
    """The document and the parts (one per edge, by position) of a graph to keep."""

    document: str
    parts: list[str]


def new_build() -> str:
    """A token naming one build of a graph, written into its document and each of its parts."""
    return secrets.token_hex(8)


@dataclass(frozen=True)
class EncodedUnit:
    """One work unit's edges and admins as the kept graph holds them, encoded where they were
    found (a worker process): the columns of its edges (clouds by value), a part per edge and per
    admin (``[id, cloud, scope, why]`` beside), and the tables its parts refer to."""

    source: list[str]
    target: list[str]
    mechanism: list[str]
    cloud: list[str]
    proven: list[bool]
    escalates: list[bool]
    parts: list[str]
    admins: list[list[str]]
    admin_parts: list[str]
    digests: list[str]
    considered: list[list[Any]]


def encode_unit(edges: Sequence[Edge], admins: Sequence[Admin], build: str) -> EncodedUnit:
    """``edges`` and ``admins`` of one unit, encoded for build ``build``."""
    tables = _Tables()
    return EncodedUnit(
        source=[e.source for e in edges],
        target=[e.target for e in edges],
        mechanism=[e.mechanism for e in edges],
        cloud=[e.cloud.value for e in edges],
        proven=[e.status is EdgeStatus.PROVEN for e in edges],
        escalates=[e.escalates for e in edges],
        parts=[_edge_out(e, build, tables) for e in edges],
        admins=[[a.id, a.cloud.value, a.scope, a.why] for a in admins],
        admin_parts=[_admin_out(a, build, tables) for a in admins],
        digests=list(tables.digests),
        considered=list(tables.considered.values()),
    )


@dataclass(frozen=True)
class EncodedGraph:
    """A graph joined from encoded units: the graph (its edges and admins decoded when looked
    at) and what :func:`dumps` keeps of it — which unit and position each of its edges and
    admins comes from."""

    graph: MintGraph
    build: str
    units: tuple[EncodedUnit, ...]
    edges: tuple[tuple[int, int], ...]
    admins: tuple[tuple[int, int], ...]


def join_units(units: Sequence[EncodedUnit], build: str) -> EncodedGraph:
    """The graph of ``units``, in unit order: each (source, target, mechanism) once — the proven
    edge when units found both —, each admin once (the first)."""
    kept: dict[tuple[str, str, str], tuple[int, int]] = {}
    for u, unit in enumerate(units):
        for i, key in enumerate(zip(unit.source, unit.target, unit.mechanism, strict=True)):
            there = kept.get(key)
            if there is None or (not units[there[0]].proven[there[1]] and unit.proven[i]):
                kept[key] = (u, i)
    edges = tuple(kept.values())
    admins: dict[str, tuple[int, int]] = {}
    for u, unit in enumerate(units):
        for j, row in enumerate(unit.admins):
            admins.setdefault(row[0], (u, j))
    tables = [_TablesIn(unit.digests, unit.considered) for unit in units]
    clouds = {c.value: c for c in Cloud}
    source = [units[u].source[i] for u, i in edges]
    target = [units[u].target[i] for u, i in edges]
    mechanism = [units[u].mechanism[i] for u, i in edges]
    cloud = [clouds[units[u].cloud[i]] for u, i in edges]
    escalates = [units[u].escalates[i] for u, i in edges]

    def load(positions: Sequence[int]) -> list[Edge]:
        return [
            _edge_in(
                at,
                units[edges[at][0]].parts[edges[at][1]],
                build,
                tables[edges[at][0]],
                source[at],
                target[at],
                cloud[at],
                mechanism[at],
                escalates[at],
            )
            for at in positions
        ]

    table = EdgeTable(
        source=source,
        target=target,
        mechanism=mechanism,
        cloud=cloud,
        proven=[units[u].proven[i] for u, i in edges],
        escalates=escalates,
        load=load,
    )
    rows = [[*units[u].admins[j], u] for u, j in admins.values()]
    first = len(edges)
    places = list(admins.values())

    def read_admins(positions: Sequence[int]) -> list[str]:
        return [units[places[at - first][0]].admin_parts[places[at - first][1]] for at in positions]

    graph = MintGraph(table, StoredAdmins(rows, first, build, read_admins, tables))
    return EncodedGraph(graph, build, tuple(units), edges, tuple(places))


def dumps(
    graph: MintGraph | EncodedGraph,
    snapshot_id: str,
    at: datetime,
    *,
    build: str | None = None,
    notes: Mapping[str, Any] | None = None,
) -> StoredGraph:
    """``graph`` as the stored document and its parts (an :class:`EncodedGraph` as its units
    encoded it; a graph of whole edges encoded now, for ``build``); ``notes``: what the caller
    keeps with it (JSON values, given back by :func:`loads`)."""
    if isinstance(graph, MintGraph):
        token = build or new_build()
        whole = graph
        graph = join_units([encode_unit(whole.edges, list(whole.admins.values()), token)], token)
        paths = whole.path_positions(KEPT_DEPTH)  # the same positions: one unit keeps the edges' order
    else:
        paths = graph.graph.path_positions(KEPT_DEPTH)
    table = graph.graph.table
    strings: dict[str, int] = {}

    def s(text: str) -> int:
        return strings.setdefault(text, len(strings))

    clouds = [c.value for c in Cloud]
    units = graph.units
    document = {
        "format": FORMAT,
        "snapshot": snapshot_id,
        "at": at.isoformat(),
        "build": graph.build,
        "edges": {
            "source": [s(x) for x in table.source],
            "target": [s(x) for x in table.target],
            "mechanism": [s(x) for x in table.mechanism],
            "cloud": [clouds.index(c.value) for c in table.cloud],
            "flags": [
                (_PROVEN if p else 0) | (_ESCALATES if e else 0)
                for p, e in zip(table.proven, table.escalates, strict=True)
            ],
            "unit": [u for u, _ in graph.edges],
        },
        "clouds": clouds,
        "strings": list(strings),
        "units": [{"digests": unit.digests, "considered": unit.considered} for unit in units],
        "admins": [[*units[u].admins[j], u] for u, j in graph.admins],
        "paths": {str(KEPT_DEPTH): [list(p) for p in paths]},
        "notes": dict(notes or {}),
    }
    parts = [units[u].parts[i] for u, i in graph.edges] + [units[u].admin_parts[j] for u, j in graph.admins]
    return StoredGraph(orjson.dumps(document).decode(), parts)


class _Tables:
    """The digests and documents considered of the answers written so far, each by position."""

    def __init__(self) -> None:
        self.digests: dict[str, int] = {}
        self.considered: dict[Considered, list[Any]] = {}
        self._considered_at: dict[Considered, int] = {}

    def digest(self, digest: str) -> int:
        return self.digests.setdefault(digest, len(self.digests))

    def consider(self, considered: Considered) -> int:
        at = self._considered_at.get(considered)
        if at is None:
            at = self._considered_at[considered] = len(self.considered)
            digest = None if considered.digest is None else self.digest(considered.digest)
            self.considered[considered] = [considered.policy, considered.applies_as, digest]
        return at


def _edge_out(edge: Edge, build: str, tables: _Tables) -> str:
    """One edge's part: what the document's columns do not hold."""
    answers = [_answer_out(a, tables) for a in edge.answers]
    return orjson.dumps([build, answers, [[f.what, f.source] for f in edge.facts], edge.condition]).decode()


def _admin_out(admin: Admin, build: str, tables: _Tables) -> str:
    """One admin's part: the answer that shows it (the document holds the rest)."""
    return orjson.dumps([build, None if admin.answer is None else _answer_out(admin.answer, tables)]).decode()


class StoredAdmins(Mapping[str, Admin]):
    """The admins of a stored graph, by id: which nodes are admins is in the document; the first
    look at any admin reads every admin's part (their answers) at once."""

    def __init__(
        self,
        rows: Sequence[Sequence[Any]],
        first_part: int,
        build: str,
        read_parts: PartReader,
        tables: Sequence[_TablesIn],
    ) -> None:
        self._rows = {str(r[0]): (Cloud(r[1]), str(r[2]), str(r[3]), int(r[4])) for r in rows}
        self._first = first_part
        self._build = build
        self._read = read_parts
        self._tables = tables
        self._made: dict[str, Admin] | None = None

    def __getitem__(self, node: str) -> Admin:
        if node not in self._rows:
            raise KeyError(node)
        if self._made is None:
            parts = self._read(range(self._first, self._first + len(self._rows)))
            self._made = {
                node: _admin_in(node, cloud, scope, why, part, self._build, self._tables[unit])
                for (node, (cloud, scope, why, unit)), part in zip(self._rows.items(), parts, strict=True)
            }
        return self._made[node]

    def __contains__(self, node: object) -> bool:
        return node in self._rows

    def __iter__(self) -> Iterator[str]:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)


@dataclass(frozen=True)
class LoadedGraph:
    """A stored graph, the request time it was built for, and the notes kept with it."""

    graph: MintGraph
    at: datetime
    notes: Mapping[str, Any]


def loads(text: str, read_parts: PartReader) -> LoadedGraph:
    """The stored graph; its edges are read with ``read_parts`` when a chain through them is
    shown, its admins' answers when an admin is first looked at."""
    try:
        data: Any = orjson.loads(text)
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            found = data.get("format") if isinstance(data, dict) else type(data).__name__
            raise GraphFormatError(f"a stored graph of format {found!r}, this iamdrift reads {FORMAT}")
        strings = [str(x) for x in data["strings"]]
        clouds = [Cloud(c) for c in data["clouds"]]
        columns = data["edges"]
        source = [strings[i] for i in columns["source"]]
        target = [strings[i] for i in columns["target"]]
        mechanism = [strings[i] for i in columns["mechanism"]]
        cloud = [clouds[i] for i in columns["cloud"]]
        flags = [int(f) for f in columns["flags"]]
        build = str(data["build"])
        tables = [_TablesIn(u["digests"], u["considered"]) for u in data["units"]]
        unit = [int(u) for u in columns["unit"]]

        def load(positions: Sequence[int]) -> list[Edge]:
            parts = read_parts(positions)
            return [
                _edge_in(
                    i,
                    part,
                    build,
                    tables[unit[i]],
                    source[i],
                    target[i],
                    cloud[i],
                    mechanism[i],
                    bool(flags[i] & _ESCALATES),
                )
                for i, part in zip(positions, parts, strict=True)
            ]

        table = EdgeTable(
            source=source,
            target=target,
            mechanism=mechanism,
            cloud=cloud,
            proven=[bool(f & _PROVEN) for f in flags],
            escalates=[bool(f & _ESCALATES) for f in flags],
            load=load,
        )
        admins = StoredAdmins(data["admins"], len(source), build, read_parts, tables)
        paths = {int(d): [tuple(int(i) for i in p) for p in found] for d, found in data["paths"].items()}
        graph = MintGraph(table, admins, known_paths=paths)
        return LoadedGraph(graph, datetime.fromisoformat(data["at"]), dict(data["notes"]))
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        if isinstance(exc, GraphFormatError):
            raise
        raise GraphFormatError(f"the stored graph cannot be read ({exc}); rebuild it with `iamdrift graph`") from exc


# --- out ------------------------------------------------------------------------------------


def _answer_out(answer: Answer, tables: _Tables) -> list[Any]:
    ask = answer.ask
    principal: Any = ask.principal
    if isinstance(principal, ExternalToken):
        principal = {"issuer": principal.issuer, "subject": principal.subject, "audiences": list(principal.audiences)}
    w = answer.witness
    return [
        [
            principal,
            ask.action,
            ask.resource,
            ask.at.isoformat(),
            _context_out(ask.context),
            ask.free_context,
            ask.method.value,
        ],
        answer.principal,
        answer.decision.value,
        None if w is None else [w.principal, w.action, w.resource, _context_out(w.context), w.plane, w.sub_operation],
        [_reason_out(r) for r in answer.reasons],
        [tables.consider(c) for c in answer.considered],
        [tables.digest(d) for d in answer.depends_on],
        list(answer.notes),
    ]


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


class _TablesIn:
    """The document's digests and documents considered, each made once when first needed."""

    def __init__(self, digests: Sequence[Any], considered: Sequence[Sequence[Any]]) -> None:
        self.digests = [str(d) for d in digests]
        self._considered = considered
        self._made: dict[int, Considered] = {}

    def considered(self, at: int) -> Considered:
        made = self._made.get(at)
        if made is None:
            policy, applies_as, digest = self._considered[at]
            text = None if digest is None else self.digests[digest]
            made = self._made[at] = Considered(policy=policy, applies_as=applies_as, digest=text)
        return made


def _edge_in(
    position: int,
    part: str,
    build: str,
    tables: _TablesIn,
    source: str,
    target: str,
    cloud: Cloud,
    mechanism: str,
    escalates: bool,
) -> Edge:
    try:
        token, answers, facts, condition = orjson.loads(part)
        if token != build:
            raise GraphFormatError(
                "the stored graph was rebuilt while it was being read (an edge of another build): run the command again"
            )
        return Edge(
            source=source,
            target=target,
            cloud=cloud,
            mechanism=mechanism,
            answers=tuple(_answer_in(a, tables) for a in answers),
            facts=tuple(Fact(what=what, source=where) for what, where in facts),
            condition=condition,
            escalates=escalates,
        )
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        if isinstance(exc, GraphFormatError):
            raise
        raise GraphFormatError(
            f"edge {position} of the stored graph cannot be read ({exc}); rebuild it with `iamdrift graph`"
        ) from exc


def _admin_in(node: str, cloud: Cloud, scope: str, why: str, part: str, build: str, tables: _TablesIn) -> Admin:
    try:
        token, answer = orjson.loads(part)
        if token != build:
            raise GraphFormatError(
                "the stored graph was rebuilt while it was being read (an admin of another build): "
                "run the command again"
            )
        return Admin(
            id=node, cloud=cloud, scope=scope, why=why, answer=None if answer is None else _answer_in(answer, tables)
        )
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        if isinstance(exc, GraphFormatError):
            raise
        raise GraphFormatError(
            f"admin {node} of the stored graph cannot be read ({exc}); rebuild it with `iamdrift graph`"
        ) from exc


def _reason_in(raw: Mapping[str, Any]) -> Reason:
    fields = dict(raw)
    kind = _REASON_KINDS[fields.pop("kind")]
    if not fields.keys() <= _REASON_FIELD_SET:
        raise ValueError(f"Reason: unknown fields {sorted(set(fields) - _REASON_FIELD_SET)}")
    return Reason(kind=kind, **fields)


def _answer_in(raw: Sequence[Any], tables: _TablesIn) -> Answer:
    ask, principal_of, decision, w, reasons, considered, depends_on, notes = raw
    principal, action, resource, at, context, free_context, method = ask
    if isinstance(principal, dict):
        principal = ExternalToken(
            issuer=principal["issuer"], subject=principal["subject"], audiences=tuple(principal["audiences"])
        )
    return Answer(
        ask=Ask(
            principal=principal,
            action=action,
            resource=resource,
            at=datetime.fromisoformat(at),
            context=_context_in(context),
            free_context=bool(free_context),
            method=_METHODS[method],
        ),
        principal=principal_of,
        decision=_DECISIONS[decision],
        witness=None
        if w is None
        else Witness(
            principal=w[0], action=w[1], resource=w[2], context=_context_in(w[3]), plane=w[4], sub_operation=w[5]
        ),
        reasons=tuple(_reason_in(r) for r in reasons),
        considered=tuple(tables.considered(c) for c in considered),
        depends_on=tuple(tables.digests[d] for d in depends_on),
        notes=tuple(notes),
    )


def _context_in(raw: Mapping[str, list[str]]) -> dict[str, tuple[str, ...]]:
    return {k: tuple(v) for k, v in raw.items()}


__all__ = [
    "FORMAT",
    "KEPT_DEPTH",
    "KIND",
    "EncodedGraph",
    "EncodedUnit",
    "GraphFormatError",
    "LoadedGraph",
    "PartReader",
    "StoredAdmins",
    "StoredGraph",
    "dumps",
    "encode_unit",
    "join_units",
    "loads",
    "new_build",
]
