"""Suppressions: findings someone has looked at and accepted, for a while.

The file is TOML (read with the standard library), one ``[[suppress]]`` table per entry::

    [[suppress]]
    rule = "risky-trust/*"            # a rule id, or a glob over rule ids (fnmatch: *, ?, [...])
    principal = "arn:aws:iam::222222222222:role/ci-*"   # a glob over the finding's principal; default "*"
    reason = "CI roles are reviewed by the platform team (TICKET-123)"
    expires = 2027-01-31              # a TOML date: the suppression holds through that day (UTC)

``rule``, ``reason`` and ``expires`` are required: a suppression nobody can explain, or that never
ends, is how findings get lost. Matching is case-sensitive. A suppression whose ``expires`` is
before the day of the run is *expired*: it is not honoured (its findings are reported as usual)
and it is listed, with the findings it would have hidden, so someone renews or removes it.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from simulator.findings import Finding

KEYS = frozenset({"rule", "principal", "reason", "expires"})


class SuppressionError(ValueError):
    """The suppressions file cannot be used; the message names the file and the entry."""


@dataclass(frozen=True, kw_only=True)
class Suppression:
    """One entry of the file (``index``: its position, from 1, for messages)."""

    rule: str
    principal: str
    reason: str
    expires: date
    index: int = 0

    def matches(self, finding: Finding) -> bool:
        return fnmatchcase(finding.rule.id, self.rule) and fnmatchcase(finding.principal, self.principal)

    def expired(self, today: date) -> bool:
        return self.expires < today

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "principal": self.principal,
            "reason": self.reason,
            "expires": self.expires.isoformat(),
        }


@dataclass(frozen=True, kw_only=True)
class Suppressed:
    """A finding hidden by an (unexpired) suppression: the first entry of the file that matches."""

    finding: Finding
    by: Suppression


@dataclass(frozen=True, kw_only=True)
class Expired:
    """An expired suppression and the findings it would have hidden (reported, not hidden)."""

    suppression: Suppression
    findings: tuple[Finding, ...]


@dataclass(frozen=True, kw_only=True)
class Applied:
    """Findings after suppression: ``kept`` (reported), ``suppressed``, and the ``expired`` entries."""

    kept: tuple[Finding, ...]
    suppressed: tuple[Suppressed, ...]
    expired: tuple[Expired, ...]


def load_suppressions(path: Path) -> tuple[Suppression, ...]:
    """The entries of the TOML file at ``path`` (see the module docstring), checked; any problem is
    one :class:`SuppressionError` naming the file."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SuppressionError(f"cannot read the suppressions file {path}: {exc.strerror or exc}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SuppressionError(f"the suppressions file {path} is not valid TOML: {exc}") from exc
    unknown = set(data) - {"suppress"}
    if unknown:
        raise SuppressionError(f"the suppressions file {path} has unknown tables {sorted(unknown)}: use [[suppress]]")
    entries = data.get("suppress", [])
    if not isinstance(entries, list):
        raise SuppressionError(f"the suppressions file {path}: `suppress` must be an array of tables ([[suppress]])")
    return tuple(_entry(path, index, entry) for index, entry in enumerate(entries, start=1))


def _entry(path: Path, index: int, entry: Any) -> Suppression:
    where = f"the suppressions file {path}, entry {index}"
    if not isinstance(entry, Mapping):
        raise SuppressionError(f"{where}: must be a table")
    problems = [f"unknown key {key!r}" for key in sorted(set(entry) - KEYS)]
    for key in ("rule", "reason"):
        value = entry.get(key)
        if not isinstance(value, str) or not value.strip():
            problems.append(f"{key} must be a non-empty string")
    principal = entry.get("principal", "*")
    if not isinstance(principal, str) or not principal:
        problems.append("principal must be a non-empty string (a glob)")
    expires = entry.get("expires")
    if not isinstance(expires, date) or hasattr(expires, "hour"):
        problems.append("expires must be a TOML date such as 2027-01-31 (not quoted, no time)")
    if problems:
        raise SuppressionError(f"{where}: " + "; ".join(problems))
    assert isinstance(expires, date)
    return Suppression(rule=entry["rule"], principal=principal, reason=entry["reason"], expires=expires, index=index)


def apply_suppressions(findings: Iterable[Finding], suppressions: Iterable[Suppression], today: date) -> Applied:
    """Split ``findings`` (order kept) by the unexpired suppressions; expired ones are listed with
    the findings they match, and hide nothing."""
    entries = tuple(suppressions)
    active = [s for s in entries if not s.expired(today)]
    kept: list[Finding] = []
    suppressed: list[Suppressed] = []
    all_findings = tuple(findings)
    for finding in all_findings:
        by = next((s for s in active if s.matches(finding)), None)
        if by is None:
            kept.append(finding)
        else:
            suppressed.append(Suppressed(finding=finding, by=by))
    expired = tuple(
        Expired(suppression=s, findings=tuple(f for f in all_findings if s.matches(f)))
        for s in entries
        if s.expired(today)
    )
    return Applied(kept=tuple(kept), suppressed=tuple(suppressed), expired=expired)


__all__ = [
    "Applied",
    "Expired",
    "Suppressed",
    "Suppression",
    "SuppressionError",
    "apply_suppressions",
    "load_suppressions",
]
