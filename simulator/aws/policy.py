"""AWS policy documents parsed into typed statements.

A malformed document (not an object, no Statement, an Effect that is neither Allow nor Deny, both
Action and NotAction, ...) raises :class:`PolicyError` naming the document and statement. A
well-formed construct the simulator does not decide (an unknown condition operator, a condition
value of the wrong shape) does not raise: the statement carries an ``unsupported`` reason, and any
answer that depends on it is *unknown*, never allowed or denied.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from simulator.aws.values import Pattern, parse_pattern

#: operator name (without qualifier and IfExists) -> (family, test, negated)
OPERATORS: dict[str, tuple[str, str, bool]] = {
    "StringEquals": ("string", "equals", False),
    "StringNotEquals": ("string", "equals", True),
    "StringEqualsIgnoreCase": ("string", "equals_ignore_case", False),
    "StringNotEqualsIgnoreCase": ("string", "equals_ignore_case", True),
    "StringLike": ("string", "like", False),
    "StringNotLike": ("string", "like", True),
    "NumericEquals": ("numeric", "eq", False),
    "NumericNotEquals": ("numeric", "eq", True),
    "NumericLessThan": ("numeric", "lt", False),
    "NumericLessThanEquals": ("numeric", "le", False),
    "NumericGreaterThan": ("numeric", "gt", False),
    "NumericGreaterThanEquals": ("numeric", "ge", False),
    "DateEquals": ("date", "eq", False),
    "DateNotEquals": ("date", "eq", True),
    "DateLessThan": ("date", "lt", False),
    "DateLessThanEquals": ("date", "le", False),
    "DateGreaterThan": ("date", "gt", False),
    "DateGreaterThanEquals": ("date", "ge", False),
    "Bool": ("bool", "eq", False),
    "BinaryEquals": ("binary", "eq", False),
    "IpAddress": ("ip", "in", False),
    "NotIpAddress": ("ip", "in", True),
    "ArnEquals": ("arn", "like", False),
    "ArnLike": ("arn", "like", False),
    "ArnNotEquals": ("arn", "like", True),
    "ArnNotLike": ("arn", "like", True),
    "Null": ("null", "null", False),
}

VARIABLES_VERSION = "2012-10-17"


class PolicyError(ValueError):
    """The document is not a well-formed AWS policy; the message says where."""


@dataclass(frozen=True)
class Condition:
    """One key under one operator. ``values`` are strings as written (JSON true/false/numbers are
    turned into their JSON text). ``patterns`` are the parsed values for string and ARN operators
    (with variables when the document allows them)."""

    operator: str
    family: str
    test: str
    negated: bool
    if_exists: bool
    qualifier: str | None  # "any" (ForAnyValue), "all" (ForAllValues) or None
    key: str  # lower-cased
    values: tuple[str, ...]
    patterns: tuple[Pattern, ...] = ()


@dataclass(frozen=True)
class PrincipalSpec:
    """A Principal or NotPrincipal element. ``everyone``: ``"*"`` or ``{"AWS": "*"}``."""

    everyone: bool = False
    aws: tuple[str, ...] = ()
    service: tuple[str, ...] = ()
    federated: tuple[str, ...] = ()
    canonical: tuple[str, ...] = ()


@dataclass(frozen=True)
class Statement:
    """``actions``/``not_actions`` are lower-cased patterns (exactly one is set). ``resources`` /
    ``not_resources``: parsed patterns, both ``None`` where the element is absent (trust policies),
    which matches every resource. ``principal``/``not_principal`` likewise (identity policies)."""

    index: int
    sid: str | None
    effect: str
    actions: tuple[str, ...] | None
    not_actions: tuple[str, ...] | None
    resources: tuple[Pattern, ...] | None
    not_resources: tuple[Pattern, ...] | None
    resource_texts: tuple[str, ...] = ()
    principal: PrincipalSpec | None = None
    not_principal: PrincipalSpec | None = None
    conditions: tuple[Condition, ...] = ()
    unsupported: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return f"statement {self.index}" + (f" ({self.sid})" if self.sid else "")

    @property
    def action_patterns(self) -> tuple[str, ...]:
        return self.actions if self.actions is not None else self.not_actions or ()


@dataclass(frozen=True)
class PolicyDocument:
    label: str
    version: str | None
    statements: tuple[Statement, ...]
    source: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def unsupported(self) -> list[str]:
        return [f"{self.label} {s.label}: {r}" for s in self.statements for r in s.unsupported]


def parse_policy(document: Any, label: str) -> PolicyDocument:
    """Parse a policy document (a JSON object or its text)."""
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except json.JSONDecodeError as exc:
            raise PolicyError(f"{label}: not valid JSON ({exc.msg} at char {exc.pos})") from exc
    if not isinstance(document, dict):
        raise PolicyError(f"{label}: a policy document must be a JSON object")
    version = document.get("Version")
    if "Statement" not in document:
        raise PolicyError(f"{label}: no Statement element")
    raw = document["Statement"]
    items = raw if isinstance(raw, list) else [raw]
    statements = tuple(_statement(item, i, label, version == VARIABLES_VERSION) for i, item in enumerate(items))
    return PolicyDocument(label=label, version=version, statements=statements, source=document)


def _strings(value: Any, what: str) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    out = []
    for item in items:
        if isinstance(item, bool):
            out.append("true" if item else "false")
        elif isinstance(item, int | float | str):
            out.append(str(item))
        else:
            raise PolicyError(f"{what} must hold strings, found {type(item).__name__}")
    return tuple(out)


def _statement(item: Any, index: int, label: str, variables: bool) -> Statement:
    where = f"{label} statement {index}"
    if not isinstance(item, dict):
        raise PolicyError(f"{where}: a statement must be a JSON object")
    effect = item.get("Effect")
    if effect not in ("Allow", "Deny"):
        raise PolicyError(f"{where}: Effect must be Allow or Deny, found {effect!r}")
    if ("Action" in item) == ("NotAction" in item):
        raise PolicyError(f"{where}: exactly one of Action and NotAction is required")
    if "Resource" in item and "NotResource" in item:
        raise PolicyError(f"{where}: Resource and NotResource cannot both be present")
    if "Principal" in item and "NotPrincipal" in item:
        raise PolicyError(f"{where}: Principal and NotPrincipal cannot both be present")
    actions = tuple(a.lower() for a in _strings(item["Action"], f"{where} Action")) if "Action" in item else None
    not_actions = (
        tuple(a.lower() for a in _strings(item["NotAction"], f"{where} NotAction")) if "NotAction" in item else None
    )
    resource_key = "Resource" if "Resource" in item else "NotResource" if "NotResource" in item else None
    patterns = None
    texts: tuple[str, ...] = ()
    if resource_key:
        texts = _strings(item[resource_key], f"{where} {resource_key}")
        patterns = tuple(parse_pattern(t, wildcards=True, variables=variables) for t in texts)
    unsupported: list[str] = []
    conditions = _conditions(item.get("Condition"), where, variables, unsupported)
    sid = item.get("Sid")
    return Statement(
        index=index,
        sid=str(sid) if sid is not None else None,
        effect=effect,
        actions=actions,
        not_actions=not_actions,
        resources=patterns if resource_key == "Resource" else None,
        not_resources=patterns if resource_key == "NotResource" else None,
        resource_texts=texts,
        principal=_principal(item["Principal"], where) if "Principal" in item else None,
        not_principal=_principal(item["NotPrincipal"], where) if "NotPrincipal" in item else None,
        conditions=conditions,
        unsupported=tuple(unsupported),
    )


def _principal(value: Any, where: str) -> PrincipalSpec:
    if value == "*":
        return PrincipalSpec(everyone=True)
    if not isinstance(value, dict):
        raise PolicyError(f'{where}: Principal must be "*" or an object')
    unknown = set(value) - {"AWS", "Service", "Federated", "CanonicalUser"}
    if unknown:
        raise PolicyError(f"{where}: unknown principal type(s) {sorted(unknown)}")
    aws = _strings(value.get("AWS", []), f"{where} Principal.AWS")
    return PrincipalSpec(
        everyone="*" in aws,
        aws=tuple(a for a in aws if a != "*"),
        service=tuple(s.lower() for s in _strings(value.get("Service", []), f"{where} Principal.Service")),
        federated=_strings(value.get("Federated", []), f"{where} Principal.Federated"),
        canonical=_strings(value.get("CanonicalUser", []), f"{where} Principal.CanonicalUser"),
    )


def _conditions(block: Any, where: str, variables: bool, unsupported: list[str]) -> tuple[Condition, ...]:
    if block is None:
        return ()
    if not isinstance(block, dict):
        raise PolicyError(f"{where}: Condition must be an object")
    out = []
    for operator, keys in block.items():
        qualifier = None
        name = operator
        if ":" in operator:
            prefix, name = operator.split(":", 1)
            qualifier = {"ForAnyValue": "any", "ForAllValues": "all"}.get(prefix)
            if qualifier is None:
                unsupported.append(f"unknown set operator {prefix!r} in {operator!r}")
                continue
        if_exists = name.endswith("IfExists") and name != "IfExists"
        base = name.removesuffix("IfExists") if if_exists else name
        if base not in OPERATORS or (base == "Null" and if_exists):
            unsupported.append(f"unsupported condition operator {operator!r}")
            continue
        if not isinstance(keys, dict):
            raise PolicyError(f"{where}: Condition operator {operator} must map keys to values")
        family, test, negated = OPERATORS[base]
        for key, raw_values in keys.items():
            try:
                values = _strings(raw_values, f"{where} Condition {operator} {key}")
            except PolicyError as exc:
                unsupported.append(str(exc))
                continue
            patterns: tuple[Pattern, ...] = ()
            if family in ("string", "arn"):
                patterns = tuple(parse_pattern(v, wildcards=test == "like", variables=variables) for v in values)
            out.append(
                Condition(
                    operator=operator,
                    family=family,
                    test=test,
                    negated=negated,
                    if_exists=if_exists,
                    qualifier=qualifier,
                    key=key.lower(),
                    values=values,
                    patterns=patterns,
                )
            )
    return tuple(out)
