"""The one rule for what a coverage gap does to an answer.

A gap is something the snapshot does not hold: a read that failed, a kind of resource policy the
collector does not read, a document an attachment names, a group whose members were not read. Each
gap is weighed by what the missing data *could* do, never by a blanket "unknown":

- ``could_allow``: it could add an allow (an unread IAM policy of an ancestor, an unread resource
  policy of a service whose policies grant): a proven **implicit deny** becomes unknown.
- ``could_deny``: it could add an explicit deny (unread deny policies, SCPs, a resource policy of a
  service whose policies can deny): a proven **allowed** becomes unknown. An implicit deny stays a
  deny — a hidden deny can only make it explicit — and says so in a note.
- ``could_lift``: it could remove an explicit deny that was found (a deny assignment excluding a
  group whose members are unknown): a proven **explicit deny** becomes unknown. Nothing a scan
  failed to read can lift an explicit deny it did read, so most gaps never touch one.

An answer that is already unknown keeps its reasons and gains the gaps' reasons.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from simulator.core.answer import Answer
from simulator.core.decision import Decision, Reason, ReasonKind


@dataclass(frozen=True, kw_only=True)
class Gap:
    """Something the snapshot lacks and what it could change (module docstring)."""

    detail: str
    could_allow: bool = False
    could_deny: bool = False
    could_lift: bool = False
    kind: ReasonKind = ReasonKind.COVERAGE
    scope: str | None = None

    def blocks(self, decision: Decision) -> bool:
        """Whether this gap leaves ``decision`` unproven."""
        return (
            (decision is Decision.ALLOWED and self.could_deny)
            or (decision is Decision.IMPLICIT_DENY and self.could_allow)
            or (decision is Decision.EXPLICIT_DENY and self.could_lift)
        )

    def reason(self) -> Reason:
        return Reason(kind=self.kind, detail=self.detail, scope=self.scope)


def weigh(answer: Answer, gaps: Iterable[Gap]) -> Answer:
    """``answer`` with the gaps applied by the rule above."""
    gaps = list(dict.fromkeys(gaps))
    if answer.decision is Decision.UNKNOWN:
        relevant = [g.reason() for g in gaps if g.could_allow or g.could_deny or g.could_lift]
        return answer.unknown(relevant) if relevant else answer
    blocking = [g for g in gaps if g.blocks(answer.decision)]
    if blocking:
        return answer.unknown(g.reason() for g in blocking)
    if answer.decision is Decision.IMPLICIT_DENY:
        hidden = [g.detail for g in gaps if g.could_deny]
        if hidden:
            return answer.with_notes(
                f"denied either way; a deny the snapshot lacks could make it explicit: {d}" for d in hidden
            )
    return answer
