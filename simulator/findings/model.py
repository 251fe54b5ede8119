"""What a finding is: a rule's validated metadata, its evidence, and its stable id.

A **rule** is one module under :mod:`simulator.findings.rules` with ``META`` (a :class:`RuleMeta`,
checked when the catalogue loads) and ``check(context) -> Iterable[Finding]``. A rule speaks core
types only: the snapshot (``models``), the estate's answers, the mint graph's edges and chains.

A **finding** says in one sentence what is wrong with one ``subject`` (a node id: a principal, a
workload, a policy, a credential) and carries its evidence: the documents involved, the chain, the
witness request. Its ``id`` is a fingerprint of the rule, the subject and the *decisive* evidence
(``key``): the same problem found in two scans has the same id, so it can be followed, baselined and
suppressed; a different problem of the same subject (another key, another chain's mechanisms) has
another id. Nothing time-dependent (ages, dates of the scan) may go into ``key``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from models import Cloud
from simulator.core import Answer, Witness
from simulator.graph import Chain


class Severity(StrEnum):
    """How bad, most severe first; ``rank`` orders them (0 is the most severe)."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        return list(Severity).index(self)

    def at_least(self, other: Severity) -> bool:
        """This severity is ``other`` or more severe."""
        return self.rank <= other.rank


class Category(StrEnum):
    ESCALATION_PATH = "escalation-path"
    EXCESS_PRIVILEGE = "excess-privilege"
    RISKY_TRUST = "risky-trust"
    SHARED_IDENTITY = "shared-identity"
    STALE_CREDENTIAL = "stale-credential"
    OWNERSHIP = "ownership"
    INSECURE_AUTHENTICATION = "insecure-authentication"
    DRIFT = "drift"


class Nhi(StrEnum):
    """The OWASP Non-Human Identities Top 10 (2025)."""

    NHI1 = "NHI1"
    NHI2 = "NHI2"
    NHI3 = "NHI3"
    NHI4 = "NHI4"
    NHI5 = "NHI5"
    NHI6 = "NHI6"
    NHI7 = "NHI7"
    NHI8 = "NHI8"
    NHI9 = "NHI9"
    NHI10 = "NHI10"

    @property
    def label(self) -> str:
        """The item's name: ``Improper Offboarding`` for NHI1."""
        return NHI_TITLES[self]


NHI_TITLES: Mapping[Nhi, str] = {
    Nhi.NHI1: "Improper Offboarding",
    Nhi.NHI2: "Secret Leakage",
    Nhi.NHI3: "Vulnerable Third-Party NHI",
    Nhi.NHI4: "Insecure Authentication",
    Nhi.NHI5: "Overprivileged NHI",
    Nhi.NHI6: "Insecure Cloud Deployment Configurations",
    Nhi.NHI7: "Long-Lived Secrets",
    Nhi.NHI8: "Environment Isolation",
    Nhi.NHI9: "NHI Reuse",
    Nhi.NHI10: "Human Use of NHI",
}

RULE_ID = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*/[a-z][a-z0-9]*(-[a-z0-9]+)*$")


class RuleError(ValueError):
    """A rule's metadata is not valid (raised when the catalogue loads)."""


@dataclass(frozen=True, kw_only=True)
class RuleMeta:
    """A rule's metadata. ``id``: ``CATEGORY/NAME`` in lower-case kebab case, its category first
    (``risky-trust/oidc-subject-not-pinned``); ``title``: what the rule finds, one line;
    ``rationale``: why it matters; ``remediation``: what to do; ``nhi``: the OWASP NHI Top 10
    items it falls under (at least one); ``clouds``: the clouds it looks at (empty: all)."""

    id: str
    title: str
    severity: Severity
    category: Category
    nhi: tuple[Nhi, ...]
    rationale: str
    remediation: str
    clouds: tuple[Cloud, ...] = ()

    def __post_init__(self) -> None:
        problems = []
        if not RULE_ID.fullmatch(self.id):
            problems.append("id must be CATEGORY/NAME in lower-case kebab case")
        elif self.id.split("/", 1)[0] != self.category.value:
            problems.append(f"id must start with its category {self.category.value!r}")
        for name in ("title", "rationale", "remediation"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                problems.append(f"{name} must be a non-empty string")
        if not isinstance(self.severity, Severity):
            problems.append("severity must be a Severity")
        if not isinstance(self.category, Category):
            problems.append("category must be a Category")
        if not self.nhi or not all(isinstance(n, Nhi) for n in self.nhi):
            problems.append("nhi must name at least one OWASP NHI Top 10 item")
        if problems:
            raise RuleError(f"rule {self.id!r}: " + "; ".join(problems))

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "severity": self.severity.value,
            "category": self.category.value,
            "nhi": [{"id": n.value, "title": n.label} for n in self.nhi],
            "rationale": self.rationale,
            "remediation": self.remediation,
        }


@dataclass(frozen=True, kw_only=True)
class Evidence:
    """One piece of evidence: ``what`` it shows (one line); ``source``: where it is (a policy id
    and statement, a binding, an assignment, a credential, a snapshot object); ``document``: the
    relevant part of the native document (an AWS statement, a binding, an assignment), JSON."""

    what: str
    source: str | None = None
    document: Mapping[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"what": self.what}
        if self.source is not None:
            out["source"] = self.source
        if self.document is not None:
            out["document"] = self.document
        return out


@dataclass(frozen=True, kw_only=True)
class Finding:
    """One problem of one subject (see the module docstring). ``principal``: the identity (or
    workload) it is about, for grouping; ``cloud``: None for a finding across clouds (a chain that
    crosses them); ``answers``: the simulator's answers it rests on; ``chain``: the mint-graph
    chain, when it is one; ``witness``: the request that shows it (a chain's first witness when
    not given); ``key``: the decisive evidence for the fingerprint; ``owner``: who owns the
    subject, where known; ``unknown``: the finding rests on an unproven answer or edge (said so,
    never dropped)."""

    rule: RuleMeta
    subject: str
    principal: str
    cloud: Cloud | None
    sentence: str
    evidence: tuple[Evidence, ...] = ()
    answers: tuple[Answer, ...] = ()
    chain: Chain | None = None
    witness: Witness | None = None
    key: tuple[str, ...] = ()
    owner: str | None = None
    unknown: bool = False
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def id(self) -> str:
        """The fingerprint: stable across scans for the same rule, subject and decisive evidence."""
        text = "\x1f".join((self.rule.id, self.subject, *self.key))
        return hashlib.sha256(text.encode()).hexdigest()[:20]

    @property
    def severity(self) -> Severity:
        return self.rule.severity

    @property
    def shown_witness(self) -> Witness | None:
        if self.witness is not None:
            return self.witness
        for answer in self.answers:
            if answer.witness is not None:
                return answer.witness
        if self.chain is not None:
            for edge in self.chain.edges:
                for answer in edge.answers:
                    if answer.witness is not None:
                        return answer.witness
        return None

    def to_json(self) -> dict[str, Any]:
        witness = self.shown_witness
        out: dict[str, Any] = {
            "id": self.id,
            "rule": self.rule.id,
            "category": self.rule.category.value,
            "severity": self.rule.severity.value,
            "cloud": self.cloud.value if self.cloud is not None else None,
            "principal": self.principal,
            "subject": self.subject,
            "title": self.sentence,
            "rule_title": self.rule.title,
            "status": "unknown" if self.unknown else "proven",
            "evidence": [e.to_json() for e in self.evidence],
            "witness": witness.to_json() if witness is not None else None,
            "chain": self.chain.to_json() if self.chain is not None else None,
            "nhi": [n.value for n in self.rule.nhi],
            "owner": self.owner,
            "remediation": self.rule.remediation,
        }
        if self.answers:
            out["answers"] = [a.to_json() for a in self.answers]
        if self.notes:
            out["notes"] = list(self.notes)
        return out


__all__ = [
    "NHI_TITLES",
    "Category",
    "Evidence",
    "Finding",
    "Nhi",
    "RuleError",
    "RuleMeta",
    "Severity",
]
