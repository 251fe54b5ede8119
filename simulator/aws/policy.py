"""AWS policy documents parsed into typed statements, checked against the IAM policy grammar.

A document that breaks the grammar raises :class:`PolicyError` naming the document, the statement
(index and Sid) and the element, as AWS's policy validation would reject it:

- an element that is not part of the grammar (``Resources``, ``Efect``: with the nearest real
  name), at the top level or in a statement;
- not an object, no Statement, an Effect that is neither Allow nor Deny, both or neither of
  Action and NotAction, both Resource and NotResource, both Principal and NotPrincipal;
- an unknown condition operator or set qualifier (``StringEqulas``: "did you mean StringEquals?"),
  ``IfExists`` on ``Null``, a condition value that is not a string, number or boolean (or a list
  of them);
- rules of the policy's *kind* (see :data:`KINDS`; ``None``: the kind is not known, and only the
  rules above apply):

  ========  ====================================  ==========================================
  kind      Principal / NotPrincipal              Resource or NotResource
  ========  ====================================  ==========================================
  identity  not allowed                           required
  boundary  not allowed                           required
  session   not allowed                           required
  scp       not allowed                           required in Deny statements
  resource  one of them required                  optional (ECR repository policies omit it)
  rcp       Principal required (no NotPrincipal)  required in Deny statements
  trust     Principal required (no NotPrincipal)  optional (a trust policy's resource is its role)
  ========  ====================================  ==========================================

A statement the encoding cannot decide carries an ``unsupported`` reason instead (see
:mod:`simulator.aws.statement_matcher`); any answer that depends on it is *unknown*, never allowed or denied.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from typing import Any

from simulator.aws.values import Pattern, Var, parse_pattern

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
VERSIONS = ("2012-10-17", "2008-10-17")

#: Policy kinds parse_policy knows: where the document applies decides which elements it needs.
KINDS = ("identity", "boundary", "session", "scp", "resource", "rcp", "trust")
#: Kinds whose statements must not name a principal (the principal is whoever the policy is attached to).
PRINCIPAL_FORBIDDEN = frozenset({"identity", "boundary", "session", "scp"})
#: Kinds whose statements must name a principal.
PRINCIPAL_REQUIRED = frozenset({"resource", "rcp", "trust"})
#: Kinds that may not use NotPrincipal (AWS: not in identity policies, trust policies, SCPs or RCPs).
NOT_PRINCIPAL_FORBIDDEN = frozenset({"identity", "boundary", "session", "scp", "rcp", "trust"})
#: Kinds whose every statement needs Resource or NotResource; SCPs and RCPs need one in Deny statements.
RESOURCE_REQUIRED = frozenset({"identity", "boundary", "session"})
RESOURCE_REQUIRED_IN_DENY = frozenset({"scp", "rcp"})

TOP_LEVEL_ELEMENTS = ("Version", "Id", "Statement")
STATEMENT_ELEMENTS = (
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
)
SET_QUALIFIERS = {"ForAnyValue": "any", "ForAllValues": "all"}


def operator_names() -> list[str]:
    """Every valid condition operator name without a set qualifier (``...IfExists`` too, but not
    ``NullIfExists``)."""
    return [*OPERATORS, *(f"{name}IfExists" for name in OPERATORS if name != "Null")]


def did_you_mean(word: str, choices: list[str] | tuple[str, ...]) -> str:
    """``"; did you mean 'X'?"`` for the nearest choice (difflib, case-insensitive), or ``""``."""
    lowered = {c.lower(): c for c in choices}
    near = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
    return f"; did you mean {lowered[near[0]]!r}?" if near else ""


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

    @property
    def variables(self) -> tuple[Var, ...]:
        """Every policy variable in the statement (Resource / NotResource and condition values),
        in order of appearance. AWS: a variable that does not resolve makes the statement invalid."""
        patterns = [*(self.resources or ()), *(self.not_resources or ())]
        patterns += [p for c in self.conditions for p in c.patterns]
        return tuple(part for pattern in patterns for part in pattern if isinstance(part, Var))


@dataclass(frozen=True)
class PolicyDocument:
    label: str
    version: str | None
    statements: tuple[Statement, ...]
    source: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def unsupported(self) -> list[str]:
        return [f"{self.label} {s.label}: {r}" for s in self.statements for r in s.unsupported]


#: The largest document AWS accepts per kind, in characters without whitespace (IAM and
#: Organizations quotas: inline role policies 10,240, managed policies 6,144, role trust policies
#: 8,192 at the raised quota, SCPs and RCPs 5,120; resource policies vary by service, the largest
#: (KMS key policies) 32,768).
SIZE_LIMITS = {
    "identity": 10_240,
    "boundary": 6_144,
    "session": 2_048,
    "scp": 5_120,
    "rcp": 5_120,
    "trust": 8_192,
    "resource": 32_768,
}


def size_warning(policy: PolicyDocument, kind: str) -> str | None:
    """A warning when the document is larger than AWS accepts for its kind (its JSON without
    whitespace outside strings), else None. Such a policy cannot exist in AWS as written."""
    limit = SIZE_LIMITS.get(kind)
    if limit is None or not policy.source:
        return None
    size = len(json.dumps(policy.source, separators=(",", ":"), ensure_ascii=False))
    if size <= limit:
        return None
    return (
        f"{policy.label}: {size:,} characters and {len(policy.statements):,} statements, past AWS's size limit "
        f"for {'an' if kind[0] in 'aeiou' else 'a'} {kind} policy ({limit:,} characters): AWS would reject it"
    )


def parse_policy(document: Any, label: str, *, kind: str | None = None) -> PolicyDocument:
    """Parse a policy document (a JSON object or its text) of the given ``kind`` (one of
    :data:`KINDS`, or ``None`` when it is not known: the kind's rules are then not checked)."""
    if kind is not None and kind not in KINDS:
        raise ValueError(f"unknown policy kind {kind!r} ({', '.join(KINDS)})")
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except json.JSONDecodeError as exc:
            raise PolicyError(f"{label}: not valid JSON ({exc.msg} at char {exc.pos})") from exc
    if not isinstance(document, dict):
        raise PolicyError(f"{label}: a policy document must be a JSON object")
    for name in document:
        if name not in TOP_LEVEL_ELEMENTS:
            hint = did_you_mean(str(name), TOP_LEVEL_ELEMENTS)
            raise PolicyError(f"{label}: element {name!r} is not a policy element{hint}")
    version = document.get("Version")
    if version is not None and version not in VERSIONS:
        raise PolicyError(f"{label}: Version must be one of {', '.join(VERSIONS)}, found {version!r}")
    if "Statement" not in document:
        raise PolicyError(f"{label}: no Statement element")
    raw = document["Statement"]
    items = raw if isinstance(raw, list) else [raw]
    statements = tuple(_statement(item, i, label, version == VARIABLES_VERSION, kind) for i, item in enumerate(items))
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


def _statement(item: Any, index: int, label: str, variables: bool, kind: str | None) -> Statement:
    where = f"{label} statement {index}"
    if not isinstance(item, dict):
        raise PolicyError(f"{where}: a statement must be a JSON object")
    sid = item.get("Sid")
    if sid is not None:
        where += f" ({sid})"
    for name in item:
        if name not in STATEMENT_ELEMENTS:
            hint = did_you_mean(str(name), STATEMENT_ELEMENTS)
            raise PolicyError(f"{where}: element {name!r} is not a statement element{hint}")
    effect = item.get("Effect")
    if effect not in ("Allow", "Deny"):
        raise PolicyError(f"{where}: element 'Effect' must be Allow or Deny, found {effect!r}")
    if ("Action" in item) == ("NotAction" in item):
        raise PolicyError(f"{where}: exactly one of the elements 'Action' and 'NotAction' is required")
    if "Resource" in item and "NotResource" in item:
        raise PolicyError(f"{where}: the elements 'Resource' and 'NotResource' cannot both be present")
    if "Principal" in item and "NotPrincipal" in item:
        raise PolicyError(f"{where}: the elements 'Principal' and 'NotPrincipal' cannot both be present")
    _check_kind(item, where, kind, effect)
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
    conditions = _conditions(item.get("Condition"), where, variables)
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
    )


def _check_kind(item: dict[str, Any], where: str, kind: str | None, effect: str) -> None:
    """The element rules of the policy's kind (the table in the module docstring)."""
    if kind is None:
        return
    named = "Principal" in item or "NotPrincipal" in item
    if kind in PRINCIPAL_FORBIDDEN and named:
        element = "Principal" if "Principal" in item else "NotPrincipal"
        raise PolicyError(f"{where}: element {element!r} is not allowed in a {kind} policy")
    if kind in NOT_PRINCIPAL_FORBIDDEN and "NotPrincipal" in item:
        raise PolicyError(f"{where}: element 'NotPrincipal' is not allowed in a {kind} policy")
    if kind in PRINCIPAL_REQUIRED and not named:
        raise PolicyError(f"{where}: element 'Principal' is required in a {kind} policy")
    needs_resource = kind in RESOURCE_REQUIRED or (kind in RESOURCE_REQUIRED_IN_DENY and effect == "Deny")
    if needs_resource and "Resource" not in item and "NotResource" not in item:
        which = "a Deny statement of " if kind in RESOURCE_REQUIRED_IN_DENY else ""
        raise PolicyError(f"{where}: element 'Resource' (or 'NotResource') is required in {which}a {kind} policy")


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


def _conditions(block: Any, where: str, variables: bool) -> tuple[Condition, ...]:
    if block is None:
        return ()
    if not isinstance(block, dict):
        raise PolicyError(f"{where}: element 'Condition' must be an object")
    out = []
    for operator, keys in block.items():
        qualifier = None
        name = operator
        if ":" in operator:
            prefix, name = operator.split(":", 1)
            qualifier = SET_QUALIFIERS.get(prefix)
            if qualifier is None:
                hint = did_you_mean(prefix, list(SET_QUALIFIERS))
                raise PolicyError(
                    f"{where}: element 'Condition': unknown set operator {prefix!r} in {operator!r}{hint}"
                )
        if_exists = name.endswith("IfExists") and name != "IfExists"
        base = name.removesuffix("IfExists") if if_exists else name
        if base not in OPERATORS or (base == "Null" and if_exists):
            hint = did_you_mean(name, operator_names())
            if base == "Null" and if_exists:
                hint = " (IfExists does not apply to Null)"
            raise PolicyError(f"{where}: element 'Condition': unknown condition operator {operator!r}{hint}")
        if not isinstance(keys, dict):
            raise PolicyError(f"{where}: element 'Condition': operator {operator} must map keys to values")
        family, test, negated = OPERATORS[base]
        for key, raw_values in keys.items():
            values = _strings(raw_values, f"{where}: element 'Condition': {operator} {key}")
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
