"""Confirming a difference in access on two estates: the proof step of drift.

A :class:`Probe` is a request a change could affect: a principal, an action and a resource, with
the context values that matter when they are known (a witness another comparison found), else
none. :func:`confirm` asks it of the old and of the new estate:

- *gained*: the new estate allows it (its witness, with every context value the decision read)
  and the old estate, asked that very witness request, denies it (proven);
- *lost*: the same the other way round;
- an unknown answer on a side that matters makes the direction unknown, never "no change".

A probe with ``context`` fixes those values and asks that one request (a concrete witness); one
without asks the allowing side with every context key free (allowed for some values) and replays
the witness it gives on the other side. A principal that exists only on one side (a role created
or deleted between the scans) is denied everything on the other.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from simulator.core import Answer, Decision, Estate, Method, Witness


@dataclass(frozen=True, kw_only=True)
class Probe:
    """One request to ask of both estates (see the module docstring)."""

    principal: str
    action: str
    resource: str
    context: tuple[tuple[str, tuple[str, ...]], ...] | None = None

    @staticmethod
    def fixed(principal: str, action: str, resource: str, context: Mapping[str, tuple[str, ...]]) -> Probe:
        """A probe of one concrete request: ``context`` fixed (keys it does not give are absent)."""
        return Probe(principal=principal, action=action, resource=resource, context=tuple(sorted(context.items())))


@dataclass(frozen=True, kw_only=True)
class Confirmed:
    """The outcome of probes: the witnesses of access gained and lost, and the probes whose answer
    was unknown on a side that mattered (with why)."""

    gained: tuple[Witness, ...] = ()
    lost: tuple[Witness, ...] = ()
    unknown: tuple[str, ...] = ()
    asked: int = 0


@dataclass
class Prober:
    """Asks probes of an old and a new estate; ``absent_old`` / ``absent_new``: principals the
    snapshot of that side does not hold although it holds their cloud's identities (denied
    everything there). ``limit``: witnesses kept per direction."""

    old: Estate
    new: Estate
    absent_old: frozenset[str] = frozenset()
    absent_new: frozenset[str] = frozenset()
    limit: int = 2
    _cache: dict[tuple[int, Probe], tuple[Witness | None, str | None]] = field(default_factory=dict)

    def confirm(
        self, probes: Iterable[Probe], *, only: str | None = None, settled: bool = False, ask_all: bool = False
    ) -> Confirmed:
        """Ask ``probes`` in order. ``only`` (``gained`` / ``lost``): the change can only move access
        that way, so the other direction is not asked. Asking stops early once nothing more can be
        learnt that changes the verdict much: ``limit`` witnesses in every direction asked, or a
        witness in both; with no witness yet, after ``limit`` undecided probes, or (``settled``
        false: the caller cannot prove "no difference" anyway — too many requests, a condition)
        after ``3 * limit`` probes — unless ``ask_all`` (a short list of candidate witnesses).
        Stopping early can only leave a change ``unknown``, never make it ``none``."""
        gained: dict[tuple[str, str, str], Witness] = {}
        lost: dict[tuple[str, str, str], Witness] = {}
        unknown: list[str] = []
        asked = 0
        directions = [
            (gained, self.new, self.old, self.absent_new, self.absent_old),
            (lost, self.old, self.new, self.absent_old, self.absent_new),
        ]
        if only is not None:
            directions = [directions[0] if only == "gained" else directions[1]]
        for probe in dict.fromkeys(probes):
            if all(len(d[0]) >= self.limit for d in directions) or (gained and lost):
                break
            stuck = len(unknown) >= self.limit or (not settled and asked >= 3 * self.limit)
            if not ask_all and not (gained or lost) and stuck:
                break  # nothing proven so far, and "no difference" can no longer be: stop asking
            asked += 1
            for found, yes, no, absent_yes, absent_no in directions:
                if len(found) >= self.limit:
                    continue
                witness, why = self._direction(probe, yes, no, absent_yes, absent_no)
                if witness is not None:
                    found.setdefault((witness.principal, witness.action, witness.resource), witness)
                elif why is not None:
                    unknown.append(why)
        return Confirmed(
            gained=tuple(gained.values()), lost=tuple(lost.values()), unknown=tuple(dict.fromkeys(unknown)), asked=asked
        )

    def _direction(
        self, probe: Probe, yes: Estate, no: Estate, absent_yes: frozenset[str], absent_no: frozenset[str]
    ) -> tuple[Witness | None, str | None]:
        """(witness, None): ``yes`` allows what ``no`` denies; (None, None): proven not; (None,
        why): not decided."""
        if probe.principal in absent_yes:
            return None, None
        allowed, why = self._allowing(probe, yes)
        if allowed is None:
            return None, why
        if probe.principal in absent_no:
            return allowed, None
        other = _ask(no, probe.principal, allowed, exact=True)
        if other is None or other.decision is Decision.UNKNOWN:
            return None, _why(probe, other, "the other side")
        return (allowed, None) if other.decision.denied else (None, None)

    def _allowing(self, probe: Probe, estate: Estate) -> tuple[Witness | None, str | None]:
        key = (id(estate), probe)
        if key not in self._cache:
            answer = _ask(estate, probe.principal, probe, exact=probe.context is not None)
            if answer is not None and answer.decision is Decision.ALLOWED:
                self._cache[key] = (answer.witness, None)
            elif answer is not None and answer.decision.denied:
                self._cache[key] = (None, None)
            else:
                self._cache[key] = (None, _why(probe, answer, "one side"))
        return self._cache[key]


def _ask(estate: Estate, principal: str, request: Probe | Witness, *, exact: bool) -> Answer | None:
    """``estate``'s answer to ``request`` (with its context fixed when ``exact``, else every key
    free); None when the question cannot be asked there (a resource of a cloud it has no engine
    for, a name the engine cannot read)."""
    context = dict(request.context or {}) if exact else {}
    try:
        ask = estate.ask(
            principal,
            request.action,
            request.resource,
            context=context,
            free_context=not exact,
            method=Method.SMT,
        )
        return estate.can(ask)
    except ValueError:  # QueryError, or a principal the cloud's engine cannot read (an AWS group)
        return None


def _why(probe: Probe, answer: Answer | None, side: str) -> str:
    what = f"{probe.principal} {probe.action} {probe.resource}"
    if answer is None:
        return f"{what}: the question cannot be asked of {side}"
    detail = "; ".join(r.detail for r in answer.reasons if r.detail)[:200]
    return f"{what}: unknown on {side}" + (f" ({detail})" if detail else "")


def summarize(unknown: tuple[str, ...], shown: int = 2) -> tuple[str, ...]:
    """The first ``shown`` reasons of unknown answers, and how many more there were."""
    if len(unknown) <= shown:
        return unknown
    return (*unknown[:shown], f"and {len(unknown) - shown} more requests not decided")


__all__ = ["Confirmed", "Probe", "Prober", "summarize"]
