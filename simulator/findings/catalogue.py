"""The rule catalogue: every rule module, loaded and checked, and one run of them.

A rule module (``simulator.findings.rules.<name>``) has ``META`` (a :class:`RuleMeta`) and
``check(context) -> Iterable[Finding]``; one module may hold several rules as ``RULES``, a tuple
of ``(META, check)`` pairs. Loading checks each rule's metadata and that ids are unique. A rule
that fails while running is reported as a failure of that rule, never as "no findings"."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

from simulator.findings.context import Context
from simulator.findings.model import Finding, RuleError, RuleMeta
from simulator.findings.rules.ownership import owner_lookup

Check = Callable[[Context], Iterable[Finding]]


def rule_modules() -> tuple[str, ...]:
    """Every module of the rules package, by name."""
    import simulator.findings.rules as package

    return tuple(sorted(m.name for m in pkgutil.iter_modules(package.__path__) if not m.name.startswith("_")))


@dataclass(frozen=True)
class Rule:
    meta: RuleMeta
    check: Check


@dataclass(frozen=True)
class RuleFailure:
    """A rule that raised while running: what it could not check."""

    rule: str
    error: str

    def to_json(self) -> dict[str, str]:
        return {"rule": self.rule, "error": self.error}


@dataclass(frozen=True)
class Outcome:
    """The findings of one run, most severe first, and the rules that failed."""

    findings: tuple[Finding, ...]
    failures: tuple[RuleFailure, ...]


def load_rules(modules: Sequence[str] | None = None) -> tuple[Rule, ...]:
    """Every rule of ``modules`` (names under ``simulator.findings.rules``; default: all), checked."""
    rules: list[Rule] = []
    for name in rule_modules() if modules is None else modules:
        module = importlib.import_module(f"simulator.findings.rules.{name}")
        pairs = getattr(module, "RULES", None)
        if pairs is None:
            pairs = ((getattr(module, "META", None), getattr(module, "check", None)),)
        for meta, check in pairs:
            if not isinstance(meta, RuleMeta) or not callable(check):
                raise RuleError(f"rule module {name}: needs META (a RuleMeta) and check(context), or RULES")
            rules.append(Rule(meta, check))
    seen: set[str] = set()
    for rule in rules:
        if rule.meta.id in seen:
            raise RuleError(f"rule id {rule.meta.id!r} is defined twice")
        seen.add(rule.meta.id)
    return tuple(rules)


def run_rules(context: Context, rules: Iterable[Rule]) -> Outcome:
    """Each rule over ``context``; findings of one id once, each with its owner where a tag, label
    or Entra owner names one (of its principal, else its subject: see the ownership rule); most
    severe first, then by category, cloud and subject."""
    found: dict[str, Finding] = {}
    failures = []
    for rule in rules:
        try:
            for finding in rule.check(context):
                found.setdefault(finding.id, finding)
        except Exception as exc:  # one broken rule must not hide the others' findings
            failures.append(RuleFailure(rule.meta.id, f"{type(exc).__name__}: {exc}"))
    owner = owner_lookup(context.snapshot, context.settings.owner_keys)
    owned = (
        f if f.owner is not None else replace(f, owner=owner(f.principal) or owner(f.subject)) for f in found.values()
    )
    ordered = sorted(
        owned,
        key=lambda f: (f.rule.severity.rank, f.unknown, f.rule.category.value, f.rule.id, f.subject),
    )
    return Outcome(tuple(ordered), tuple(failures))


__all__ = ["Check", "Outcome", "Rule", "RuleFailure", "load_rules", "rule_modules", "run_rules"]
