"""Findings: rules over the proofs and the mint graph, and drift between snapshots."""

from simulator.findings.catalogue import Outcome, Rule, RuleFailure, load_rules, run_rules
from simulator.findings.context import Context, Settings
from simulator.findings.model import Category, Evidence, Finding, Nhi, RuleError, RuleMeta, Severity

__all__ = [
    "Category",
    "Context",
    "Evidence",
    "Finding",
    "Nhi",
    "Outcome",
    "Rule",
    "RuleError",
    "RuleFailure",
    "RuleMeta",
    "Settings",
    "Severity",
    "load_rules",
    "run_rules",
]
