"""The cloud-neutral question and the concrete request that answers it.

An :class:`Ask` is "can PRINCIPAL do ACTION on RESOURCE, with this CONTEXT?". The principal is an
identity id (an AWS ARN, a Google Cloud member such as ``serviceAccount:EMAIL``, an Azure object id)
or an :class:`ExternalToken`: a token some outside issuer signs (GitHub Actions OIDC, a SAML
assertion) whose issuer, subject and audiences are what the trust policy tests. ``None`` asks
"who can": every principal the snapshot names, and those outside it that the policies admit.

``context`` is what the caller fixes (keys as the cloud spells them: ``aws:SourceIp``,
``request.time``, ``@Resource[...]``), each key with its values. With ``free_context`` every key
the caller did not give is free: allowed then means "for some values" (the witness names them),
denied "for all values". ``at`` is the request time, fixed once per command so that an answer
never depends on when it was computed; it is stated in the answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from simulator.core.decision import ReasonKind


class Method(StrEnum):
    """How to decide: the z3 encoding (any question) or the reference evaluator (concrete requests)."""

    SMT = "smt"
    REFERENCE = "reference"


@dataclass(frozen=True, kw_only=True)
class ExternalToken:
    """A credential minted outside every scanned cloud, presented to a federation trust.

    ``issuer``: the OIDC issuer URL (``https://token.actions.githubusercontent.com``) or the SAML
    provider's ARN; ``subject``: the token's ``sub`` (a pattern such as ``repo:acme/*`` when the
    question is about any matching subject); ``audiences``: its ``aud`` values. ``id`` is
    ``ISSUER|SUBJECT``, the node id the mint graph uses.
    """

    issuer: str
    subject: str
    audiences: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.issuer:
            raise ValueError("ExternalToken.issuer must not be empty")

    @property
    def id(self) -> str:
        return f"{self.issuer}|{self.subject}"

    @staticmethod
    def parse(text: str) -> ExternalToken | None:
        """``ISSUER|SUBJECT`` (audiences after a second ``|``, comma-separated), else None."""
        if "|" not in text:
            return None
        issuer, _, rest = text.partition("|")
        subject, _, audiences = rest.partition("|")
        return ExternalToken(issuer=issuer, subject=subject, audiences=tuple(a for a in audiences.split(",") if a))


PrincipalRef = str | ExternalToken


@dataclass(frozen=True, kw_only=True)
class Ask:
    """One question (see the module docstring)."""

    principal: PrincipalRef | None
    action: str
    resource: str
    at: datetime
    context: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    free_context: bool = False
    method: Method = Method.SMT

    def __post_init__(self) -> None:
        if self.at.tzinfo is None:
            raise ValueError("Ask.at must be timezone-aware")
        for key, values in self.context.items():
            if not isinstance(values, tuple):
                raise ValueError(f"Ask.context[{key!r}] must be a tuple of strings")

    @property
    def principal_id(self) -> str | None:
        p = self.principal
        return p.id if isinstance(p, ExternalToken) else p

    def to_json(self) -> dict[str, Any]:
        return {
            "principal": self.principal_id,
            "action": self.action,
            "resource": self.resource,
            "at": self.at.isoformat().replace("+00:00", "Z"),
            "context": flat_context(self.context),
            "free_context": self.free_context,
        }


def flat_context(context: Mapping[str, tuple[str, ...]]) -> dict[str, Any]:
    """Context as JSON shows it: a key's one value alone, several as a list."""
    return {k: (v[0] if len(v) == 1 else list(v)) for k, v in sorted(context.items())}


@dataclass(frozen=True, kw_only=True)
class Witness:
    """A concrete request the reference evaluator allowed: the proof of an ``allowed`` answer.

    ``context`` holds every key the decision read, with the values that make it allowed (request
    attributes for Google Cloud and Azure, such as ``request.time`` or ``@Resource[...]``).
    ``plane`` is Azure's ``control`` or ``data`` (None elsewhere); ``sub_operation`` an Azure
    sub-operation when one was chosen.
    """

    principal: str
    action: str
    resource: str
    context: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    plane: str | None = None
    sub_operation: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "principal": self.principal,
            "action": self.action,
            "resource": self.resource,
            "context": flat_context(self.context),
        }
        if self.plane is not None:
            out["plane"] = self.plane
            out["data_action"] = self.plane == "data"
        if self.sub_operation:
            out["sub_operation"] = self.sub_operation
        return out


__all__ = ["Ask", "ExternalToken", "Method", "PrincipalRef", "ReasonKind", "Witness", "flat_context"]
