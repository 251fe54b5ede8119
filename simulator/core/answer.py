"""The answer to one :class:`~simulator.core.ask.Ask`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from simulator.core.ask import Ask, Witness
from simulator.core.decision import Decision, Reason, ReasonKind


@dataclass(frozen=True, kw_only=True)
class Considered:
    """A document that took part in the decision: its id (or label), how it applied (``identity``,
    ``boundary``, ``scp``, ``trust``, ``binding``, ``assignment``, ...) and its content digest."""

    policy: str
    applies_as: str
    digest: str | None = None

    def to_json(self) -> dict[str, Any]:
        out = {"policy": self.policy, "applies_as": self.applies_as}
        if self.digest:
            out["digest"] = self.digest
        return out


@dataclass(frozen=True, kw_only=True)
class Answer:
    """What the simulator proved about ``ask``.

    ``principal``: the principal decided (the ask's, resolved to its id; for who-can, each one).
    ``decision``: see :class:`Decision`. ``witness``: for ``allowed``, the concrete request that
    proves it (replayed through the reference evaluator); None otherwise. ``reasons``: the deciding
    statements, bindings or assignments, or why nothing was proven. ``considered``: every document
    that applied. ``depends_on``: the content digests of the documents that decided it — the answer
    stays valid while none of them changes (and no coverage gap is filled). ``notes``: what the
    caller should know that does not change the decision (a context key the action cannot carry
    was left out, a resource the scan did not see was taken as having no policy).
    """

    ask: Ask
    principal: str
    decision: Decision
    witness: Witness | None = None
    reasons: tuple[Reason, ...] = ()
    considered: tuple[Considered, ...] = ()
    depends_on: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if (self.decision is Decision.ALLOWED) != (self.witness is not None):
            raise ValueError(f"Answer({self.decision}): an allowed answer has a witness, and only it")
        if not isinstance(self.reasons, tuple) or not isinstance(self.notes, tuple):
            raise ValueError("Answer.reasons and Answer.notes must be tuples")

    def with_notes(self, notes: Iterable[str]) -> Answer:
        extra = tuple(n for n in notes if n not in self.notes)
        return replace(self, notes=self.notes + extra) if extra else self

    def said_of(self, resource: str, ask: Ask | None = None) -> Answer:
        """This answer said of ``resource``, one the caller knows the same rules decide alike (of
        ``ask``, when given, else of this ask with ``resource`` in it): the witness names it too."""
        witness = replace(self.witness, resource=resource) if self.witness is not None else None
        return replace(self, ask=ask or replace(self.ask, resource=resource), witness=witness)

    def unknown(self, reasons: Iterable[Reason]) -> Answer:
        """This answer made unknown by ``reasons``; what it would have been is kept as an
        ``unproven`` reason (the evidence stays visible, but it is not a proof)."""
        extra = tuple(reasons)
        if self.decision is Decision.UNKNOWN:
            return replace(self, reasons=self.reasons + tuple(r for r in extra if r not in self.reasons))
        detail = f"with what the snapshot holds the answer would be {self.decision}"
        would = (Reason(kind=ReasonKind.UNPROVEN, detail=detail),)
        return replace(self, decision=Decision.UNKNOWN, witness=None, reasons=extra + would + self.reasons)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "principal": self.principal,
            "action": self.ask.action,
            "resource": self.ask.resource,
            "decision": self.decision.value,
            "reasons": [r.to_json() for r in self.reasons],
        }
        if self.witness is not None:
            out["witness"] = self.witness.to_json()
        out["at"] = self.ask.at.isoformat().replace("+00:00", "Z")
        out["policies"] = [c.to_json() for c in self.considered]
        out["depends_on"] = list(self.depends_on)
        if self.notes:
            out["notes"] = list(self.notes)
        return out
