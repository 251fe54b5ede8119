"""What an answer says, and why: the decision and its typed reasons.

A :class:`Decision` is one of four values, and only two of them are proofs of denial:

- ``allowed``: some request of the asked shape is allowed; the answer carries a witness request that
  the cloud's reference evaluator replayed and allowed.
- ``explicit_deny``: proven: every such request is refused, and by an explicit deny (an AWS
  ``Deny`` statement, a Google Cloud deny rule, an Azure deny assignment).
- ``implicit_deny``: proven: no such request is allowed, and it is not proven that every one is
  explicitly denied.
- ``unknown``: neither was proven (a solver timeout, a construct iamdrift does not decide, a
  coverage gap that could change the answer); the reasons say which. Never read it as a deny.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Decision(StrEnum):
    ALLOWED = "allowed"
    EXPLICIT_DENY = "explicit_deny"
    IMPLICIT_DENY = "implicit_deny"
    UNKNOWN = "unknown"

    @property
    def denied(self) -> bool:
        """Proven denied, explicitly or implicitly."""
        return self in (Decision.EXPLICIT_DENY, Decision.IMPLICIT_DENY)


class ReasonKind(StrEnum):
    """Why an answer is what it is.

    Deciding documents: ``statement`` (an AWS policy statement), ``binding`` (a Google Cloud role
    binding for a member), ``deny_rule`` (a Google Cloud deny rule), ``assignment`` /
    ``deny_assignment`` (Azure). Why nothing allowed: ``no_allow``, ``condition`` (a condition does
    not hold), ``scp_level`` / ``rcp_level`` (an organization level allows nothing), ``boundary`` /
    ``session`` (the permission boundary or session policy does not allow), ``cross_account``,
    ``resource_policy_required``, ``disabled`` (the principal or role cannot act). Why no proof:
    ``coverage`` (a gap in what the scan read), ``group_membership`` (a group whose members are not
    known), ``unsupported`` (a construct not decided), ``missing`` (a document an attachment names
    is not in the snapshot), ``solver`` (timeout or resource limit), ``engine`` (the chosen engine
    cannot decide this question), ``ambiguous_plane`` (Azure control or data plane not known),
    ``internal`` (the two evaluators disagreed: a bug), ``unproven`` (what the answer would be with
    only what the snapshot holds). ``proven``: a deny proven over every free value.
    """

    STATEMENT = "statement"
    BINDING = "binding"
    DENY_RULE = "deny_rule"
    ASSIGNMENT = "assignment"
    DENY_ASSIGNMENT = "deny_assignment"
    NO_ALLOW = "no_allow"
    CONDITION = "condition"
    SCP_LEVEL = "scp_level"
    RCP_LEVEL = "rcp_level"
    BOUNDARY = "boundary"
    SESSION = "session"
    CROSS_ACCOUNT = "cross_account"
    RESOURCE_POLICY_REQUIRED = "resource_policy_required"
    DISABLED = "disabled"
    COVERAGE = "coverage"
    GROUP_MEMBERSHIP = "group_membership"
    UNSUPPORTED = "unsupported"
    MISSING = "missing"
    SOLVER = "solver"
    ENGINE = "engine"
    AMBIGUOUS_PLANE = "ambiguous_plane"
    INTERNAL = "internal"
    UNPROVEN = "unproven"
    PROVEN = "proven"
    UNKNOWN = "unknown"


_LEGACY = {"effect": "effect", "sid": "sid", "role": "role", "member": "member", "scope": "scope", "node": "scope"}


@dataclass(frozen=True, kw_only=True)
class Reason:
    """One reason, pointing at what it is about where there is such a thing.

    ``policy``: the document's id (an AWS policy ARN or label, a Google Cloud policy or node, an
    Azure role or deny assignment id). ``statement``: the statement's index in an AWS document, or
    a Google Cloud deny rule's index. ``sid``, ``effect``: the AWS statement's Sid and Effect.
    ``role``, ``member``: a Google Cloud binding's role and member, an Azure assignment's role.
    ``scope``: where the document applies (a Google Cloud node, an Azure scope). ``level``: an
    organization level (0 is the root) for ``scp_level`` / ``rcp_level``.
    """

    kind: ReasonKind
    detail: str = ""
    policy: str | None = None
    statement: int | None = None
    sid: str | None = None
    effect: str | None = None
    role: str | None = None
    member: str | None = None
    scope: str | None = None
    level: int | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind.value}
        for name in ("policy", "statement", "sid", "effect", "role", "member", "scope", "level"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        if self.detail:
            out["detail"] = self.detail
        return out

    @property
    def where(self) -> str:
        """A short pointer to the document part: ``POLICY #N (SID)``, ``NODE#ROLE MEMBER``, or ``""``."""
        if self.policy is not None and self.statement is not None and self.kind is ReasonKind.STATEMENT:
            return f"{self.policy} #{self.statement}" + (f" ({self.sid})" if self.sid else "")
        return self.policy or ""

    @staticmethod
    def of(data: dict[str, Any], default: ReasonKind = ReasonKind.UNKNOWN) -> Reason:
        """A reason from the loose dicts older evaluator code builds (``kind`` plus any of the
        fields above, ``node`` for ``scope``); unknown keys go into ``detail``."""
        raw_kind = data.get("kind")
        if raw_kind is None and "statement" in data and "policy" in data:
            kind = ReasonKind.STATEMENT
        else:
            kind = ReasonKind(str(raw_kind)) if raw_kind in ReasonKind._value2member_map_ else default
        fields: dict[str, Any] = {}
        for key, name in _LEGACY.items():
            if data.get(key) is not None:
                fields[name] = str(data[key])
        for key in ("statement", "level", "rule"):
            if isinstance(data.get(key), int):
                fields["statement" if key == "rule" else key] = data[key]
        detail = data.get("detail", "")
        if isinstance(detail, list | tuple):
            detail = "; ".join(str(d) for d in detail)
        if raw_kind is not None and kind is default and raw_kind != default.value:
            detail = f"{raw_kind}: {detail}" if detail else str(raw_kind)
        policy = data.get("policy")
        return Reason(kind=kind, detail=str(detail), policy=str(policy) if policy else None, **fields)
