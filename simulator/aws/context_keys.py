"""Context keys: how a question's policies use each key, and the value slots a key holds.

Per key, up to N value slots (N = the number of conditions on the key for multi-valued keys, 1
otherwise: enough for every ForAnyValue to find its own value), each with a string view and a
typed view (numeric, date, bool, IP) that is either a valid value or marks the text as
unparseable. A free key's values take its documented type (catalog), or the type its operators
imply (:func:`key_usage` collects them). **aws:EpochTime** (documented as Date and Numeric) is one
integer of seconds that Numeric operators read as a number and Date operators as a time. The
slots themselves are made by :meth:`simulator.aws.question.Question.key`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from simulator.aws.policy import PolicyDocument
from simulator.aws.values import (
    Pattern,
    Var,
)

TYPED = ("numeric", "date", "bool", "ip")
MAX_SLOTS = 4


@dataclass
class Slot:
    text: Any  # z3 string term
    typed: dict[str, tuple[Any, Any]] = field(default_factory=dict)  # family -> (valid, value)


@dataclass
class KeyVar:
    key: str
    free: bool
    sort: str  # the value sort of a free key: string | numeric | date | bool | ip
    count: Any  # z3 Int term (or constant)
    slots: list[Slot]
    multi: bool


@dataclass
class KeyUsage:
    families: set[str] = field(default_factory=set)
    clauses: int = 0
    qualified: bool = False
    in_patterns: bool = False
    in_values: bool = False  # a variable in some condition's values
    ignore_case_vars: bool = False


def key_usage(documents: Sequence[PolicyDocument]) -> dict[str, KeyUsage]:
    usage: dict[str, KeyUsage] = {}

    def note_vars(patterns: Iterable[Pattern], ignore_case: bool = False, value: bool = False) -> None:
        for pattern in patterns:
            for part in pattern:
                if isinstance(part, Var):
                    u = usage.setdefault(part.key, KeyUsage())
                    u.in_patterns = True
                    u.in_values |= value
                    u.ignore_case_vars |= ignore_case

    for doc in documents:
        for s in doc.statements:
            note_vars(s.resources or s.not_resources or ())
            for c in s.conditions:
                u = usage.setdefault(c.key, KeyUsage())
                u.clauses += 1
                u.qualified |= c.qualifier is not None
                if c.family != "null":
                    u.families.add("string" if c.family in ("string", "arn", "binary") else c.family)
                note_vars(c.patterns, ignore_case=c.test == "equals_ignore_case", value=True)
    return usage
