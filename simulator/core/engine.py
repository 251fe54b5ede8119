"""One engine per cloud behind one protocol, and the estate that routes questions to them."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, Protocol

from models import Cloud, Snapshot
from simulator.core.answer import Answer
from simulator.core.ask import Ask, ExternalToken, Method
from simulator.core.decision import Decision
from simulator.core.route import cloud_of


class QueryError(ValueError):
    """The question is malformed (``*`` as an action, a principal written in no cloud's form).

    A principal the snapshot does not list is *not* an error: it is answered (its own policies
    are unknown to the snapshot, so usually an implicit deny or unknown, with the reason)."""


class Engine(Protocol):
    """A cloud's semantics over one snapshot, at one request time.

    - ``principals()``: the ids of the snapshot's principals this engine answers for.
    - ``can(ask)``: the answer for ``ask.principal`` (an id, or an external token).
    - ``who_can(ask)`` (``ask.principal`` is None): one answer per principal that is allowed or
      might be (unknown) — the snapshot's principals, and those outside it that the policies admit
      (an OIDC issuer's subjects, another account, anyone); principals proven denied are left out.
    """

    cloud: Cloud

    def principals(self) -> tuple[str, ...]: ...

    def can(self, ask: Ask) -> Answer: ...

    def who_can(self, ask: Ask) -> tuple[Answer, ...]: ...


EngineFactory = Callable[[Snapshot, datetime], Engine]


class Estate:
    """A snapshot, its engines (built on first use from an explicit factory per cloud) and the
    request time every answer of one command shares."""

    def __init__(self, snapshot: Snapshot, factories: Mapping[Cloud, EngineFactory], at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("Estate: the request time must be timezone-aware")
        self.snapshot = snapshot
        self.at = at
        self._factories = dict(factories)
        self._engines: dict[Cloud, Engine] = {}

    def engine(self, cloud: Cloud) -> Engine:
        if cloud not in self._engines:
            if cloud not in self._factories:
                raise QueryError(f"no engine for {cloud}")
            self._engines[cloud] = self._factories[cloud](self.snapshot, self.at)
        return self._engines[cloud]

    def ask(
        self,
        principal: str | ExternalToken | None,
        action: str,
        resource: str,
        *,
        context: Mapping[str, Any] | None = None,
        free_context: bool = False,
        method: Method | str = Method.SMT,
    ) -> Ask:
        """An :class:`Ask` at this estate's time; ``context`` values may be a string or a list."""
        return Ask(
            principal=principal,
            action=action,
            resource=resource,
            at=self.at,
            context=context_tuples(context or {}),
            free_context=free_context,
            method=Method(method),
        )

    def can(self, ask: Ask) -> Answer:
        check_action(ask.action)
        return self.engine(cloud_of(ask.resource)).can(ask)

    def who_can(self, ask: Ask) -> tuple[Answer, ...]:
        if ask.principal is not None:
            raise QueryError("who-can takes no principal")
        check_action(ask.action)
        return allowed_first(self.engine(cloud_of(ask.resource)).who_can(ask))


def allowed_first(answers: Iterable[Answer]) -> tuple[Answer, ...]:
    """Who-can answers as every consumer lists them: those who can first, then those who might;
    each group in the engine's order."""
    return tuple(sorted(answers, key=lambda a: a.decision is not Decision.ALLOWED))


def check_action(action: str) -> None:
    """A request names one action: a pattern (``*``, ``s3:*``, ``Microsoft.Storage/*``) is no
    request, and answering it would say nothing about any real call."""
    if not action.strip():
        raise QueryError("the action is empty: name one action, e.g. s3:GetObject")
    if "*" in action or "?" in action:
        raise QueryError(
            f"{action!r} is a pattern, not an action: a request names one action (e.g. s3:GetObject, "
            "iam.serviceAccounts.getAccessToken, Microsoft.Storage/storageAccounts/read); to ask about any "
            "resource, give * as the RESOURCE instead"
        )


def context_tuples(context: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    """``{key: value or [values]}`` as ``{key: (values,)}``; values must be strings (or numbers and
    booleans, taken as the JSON text a request would carry)."""
    out: dict[str, tuple[str, ...]] = {}
    for key, value in context.items():
        values = value if isinstance(value, list | tuple) else [value]
        items = []
        for v in values:
            if isinstance(v, bool):
                items.append("true" if v else "false")
            elif isinstance(v, str | int | float):
                items.append(str(v))
            else:
                raise QueryError(f"context key {key!r}: values must be strings, got {type(v).__name__}")
        out[str(key)] = tuple(items)
    return out
