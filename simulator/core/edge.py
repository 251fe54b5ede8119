"""Mint-graph edges: one identity or workload can obtain the credentials of, or act as, another.

An :class:`Edge` is made of the :class:`~simulator.core.answer.Answer`\\ s that prove it: every
step the mechanism needs (``iam:PassRole`` *and* ``lambda:CreateFunction`` *and* the trust that
lets Lambda assume the role) is one answer. The edge is ``proven`` when every answer is allowed
(each with its witness request), ``unknown`` when none is denied and some are unknown (the
reasons say why); an answer proven denied means no edge at all — an edge a deny, boundary, SCP,
condition or missing second permission blocks is not an edge.

Some steps are facts of the snapshot rather than requests: a workload runs as its identity, a
federated credential names the issuer and subject it trusts. Those are :class:`Fact`\\ s (what the
snapshot says, and where), kept next to the answers as the edge's evidence.

Node ids are the clouds' own: AWS ARNs, ``serviceAccount:EMAIL`` and the other Google Cloud
member forms, Azure object ids, a workload's ARN / full resource name / resource id, and an
external identity as ``ISSUER|SUBJECT`` (:attr:`simulator.core.ask.ExternalToken.id`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from models import Cloud
from simulator.core.answer import Answer
from simulator.core.decision import Decision, Reason


class EdgeStatus(StrEnum):
    """``proven``: every step allowed, with witnesses. ``unknown``: no step denied, some not decided."""

    PROVEN = "proven"
    UNKNOWN = "unknown"


@dataclass(frozen=True, kw_only=True)
class Fact:
    """A step the snapshot states rather than a request decides: ``what`` happens (``runs as``,
    ``federated credential trusts``), and ``source``, where the snapshot says so."""

    what: str
    source: str

    def to_json(self) -> dict[str, str]:
        return {"fact": self.what, "source": self.source}


@dataclass(frozen=True, kw_only=True)
class Edge:
    """``source`` can obtain the credentials of, or act as, ``target`` by ``mechanism`` (the actions
    or permissions used, joined by ``+``).

    ``answers``: the requests that prove it, in the order the mechanism uses them; ``facts``: the
    snapshot facts it also rests on; ``condition``: what must hold of the request for the edge to
    exist ("only with MFA", "only for subjects repo:acme/*"), None when nothing beyond the witness
    does; ``status`` follows from the answers (see the module docstring). ``escalates``: taking the
    edge rewrites the target's permissions, so the target is admin-equivalent afterwards (a
    principal that can attach any policy to itself has ``P -> P`` with ``escalates``; one that can
    rewrite another role's policies and assume it, ``P -> ROLE``).
    """

    source: str
    target: str
    cloud: Cloud
    mechanism: str
    answers: tuple[Answer, ...] = ()
    facts: tuple[Fact, ...] = ()
    condition: str | None = None
    escalates: bool = False

    def __post_init__(self) -> None:
        if not self.answers and not self.facts:
            raise ValueError(f"Edge {self.source} -> {self.target}: an edge rests on answers or facts")
        if any(a.decision in (Decision.EXPLICIT_DENY, Decision.IMPLICIT_DENY) for a in self.answers):
            raise ValueError(f"Edge {self.source} -> {self.target}: a denied step means there is no edge")

    @property
    def status(self) -> EdgeStatus:
        if all(a.decision is Decision.ALLOWED for a in self.answers):
            return EdgeStatus.PROVEN
        return EdgeStatus.UNKNOWN

    @property
    def reasons(self) -> tuple[Reason, ...]:
        """Why the undecided steps are undecided (empty for a proven edge)."""
        return tuple(r for a in self.answers if a.decision is Decision.UNKNOWN for r in a.reasons)

    @property
    def depends_on(self) -> tuple[str, ...]:
        """The content digests of every document that decided a step."""
        return tuple(dict.fromkeys(d for a in self.answers for d in a.depends_on))

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "from": self.source,
            "to": self.target,
            "cloud": self.cloud.value,
            "mechanism": self.mechanism,
            "status": self.status.value,
            "witness": [a.witness.to_json() for a in self.answers if a.witness is not None],
            "condition": self.condition,
        }
        if self.escalates:
            out["escalates"] = True
        if self.facts:
            out["facts"] = [f.to_json() for f in self.facts]
        if self.status is EdgeStatus.UNKNOWN:
            out["reasons"] = [r.to_json() for r in self.reasons]
        out["depends_on"] = list(self.depends_on)
        return out


def edge_from(
    source: str,
    target: str,
    cloud: Cloud,
    mechanism: str,
    answers: Sequence[Answer],
    *,
    facts: Iterable[Fact] = (),
    condition: str | None = None,
    escalates: bool = False,
) -> Edge | None:
    """The edge the answers make, or None when a step is denied (no edge)."""
    if any(a.decision in (Decision.EXPLICIT_DENY, Decision.IMPLICIT_DENY) for a in answers):
        return None
    return Edge(
        source=source,
        target=target,
        cloud=cloud,
        mechanism=mechanism,
        answers=tuple(answers),
        facts=tuple(facts),
        condition=condition,
        escalates=escalates,
    )


@dataclass(frozen=True, kw_only=True)
class Admin:
    """A node that is admin-equivalent in ``scope``, and ``why`` (the proof, in words, with the
    answer that shows it when one does)."""

    id: str
    cloud: Cloud
    scope: str
    why: str
    answer: Answer | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "cloud": self.cloud.value, "scope": self.scope, "why": self.why}
        if self.answer is not None and self.answer.witness is not None:
            out["witness"] = self.answer.witness.to_json()
        return out


__all__ = ["Admin", "Edge", "EdgeStatus", "Fact", "edge_from"]
