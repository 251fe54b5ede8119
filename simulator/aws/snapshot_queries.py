"""``can`` and ``who-can`` on a stored snapshot (AWS), in the older shape the CLI prints.

The semantics live in :class:`simulator.aws.engine.AwsEngine` (the core engine); this module
turns its :class:`simulator.core.Answer` into :class:`CanAnswer` for callers that still read
that shape. An index fixes the request time once, when it is built (or as given), so every
answer it gives shares it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from models import Snapshot
from simulator.aws.engine import AwsEngine
from simulator.aws.simulate import Answer
from simulator.core import Answer as CoreAnswer
from simulator.core import Ask, Method, context_tuples
from simulator.core import QueryError as QueryError  # re-exported: callers catch it from here

__all__ = ["CanAnswer", "QueryError", "SnapshotIndex", "can", "legacy", "who_can"]


@dataclass
class CanAnswer:
    principal: str
    answer: Answer
    policies: list[dict[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        out = {"principal": self.principal, **self.answer.to_json(), "policies": self.policies}
        out.pop("id", None)
        if self.notes:
            out["notes"] = self.notes
        return out


class SnapshotIndex:
    """An :class:`AwsEngine` over ``snapshot`` at request time ``at`` (default: now, once)."""

    def __init__(self, snapshot: Snapshot, at: datetime | None = None) -> None:
        self.snapshot = snapshot
        self.at = at or datetime.now(UTC).replace(microsecond=0)
        self.engine = AwsEngine(snapshot, self.at)


def legacy(answer: CoreAnswer) -> CanAnswer:
    """A core answer in the older shape."""
    witness = answer.witness.to_json() if answer.witness is not None else None
    return CanAnswer(
        principal=answer.principal,
        answer=Answer(None, answer.decision.value, [r.to_json() for r in answer.reasons], witness),
        policies=[c.to_json() for c in answer.considered],
        notes=list(answer.notes),
    )


def _ask(
    index: SnapshotIndex,
    principal: str | None,
    action: str,
    resource: str,
    context: dict[str, Any] | None,
    any_context: bool,
    engine: str,
) -> Ask:
    return Ask(
        principal=principal,
        action=action,
        resource=resource,
        at=index.at,
        context=context_tuples(context or {}),
        free_context=any_context,
        method=Method(engine),
    )


def can(
    index: SnapshotIndex,
    principal_ref: str,
    action: str,
    resource: str,
    *,
    context: dict[str, Any] | None = None,
    any_context: bool = False,
    engine: str = "smt",
) -> CanAnswer:
    ask = _ask(index, principal_ref, action, resource, context, any_context, engine)
    return legacy(index.engine.can(ask))


def who_can(
    index: SnapshotIndex,
    action: str,
    resource: str,
    *,
    context: dict[str, Any] | None = None,
    any_context: bool = False,
    engine: str = "smt",
) -> list[CanAnswer]:
    """Every AWS principal that can (allowed), or might (unknown): the snapshot's users and
    roles, and those outside it that the resource's policy admits."""
    ask = _ask(index, None, action, resource, context, any_context, engine)
    return [legacy(a) for a in index.engine.who_can(ask)]
