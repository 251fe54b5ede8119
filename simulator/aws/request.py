"""Requests and simulate cases (the JSON contract of ``iamdrift simulate``).

A case::

    {"id": 7, "principal": "arn:aws:iam::111111111111:role/app", "action": "s3:GetObject",
     "resource": "arn:aws:s3:::bkt/k", "resourceAccount": "111111111111",
     "context": {"aws:SourceIp": "10.1.2.3", "aws:TagKeys": ["env", "owner"]},
     "identityPolicies": [{...}], "resourcePolicy": {...}, "permissionBoundary": {...},
     "sessionPolicy": {...}, "scps": [[{...}], [{...}]], "rcps": [[{...}]]}

Every field but principal, action and resource may be absent; any other field is an error (naming
the field, with the nearest known name). Each policy is checked against the grammar of its kind
(identity, resource, boundary, session, scp, rcp: see :mod:`simulator.aws.policy`). Context keys are case-insensitive;
values are strings or lists of strings. The principal is an IAM ARN (user, role, role session,
root), an AWS service (``lambda.amazonaws.com``), a federated provider (an OIDC/SAML provider
ARN, or a web identity domain such as ``accounts.google.com``) or a canonical user id.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from simulator.aws.policy import PolicyDocument, PolicyError, did_you_mean, parse_policy
from simulator.aws.semantics import PolicySet, RequestFacts, requires_resource_side

WEB_IDENTITY_PROVIDERS = frozenset(
    {"accounts.google.com", "graph.facebook.com", "www.amazon.com", "cognito-identity.amazonaws.com"}
)
_ARN = re.compile(r"^arn:(?P<partition>[\w-]+):(?P<service>[\w-]*):(?P<region>[\w-]*):(?P<account>[^:]*):(?P<rest>.*)$")
_CANONICAL = re.compile(r"^[0-9a-f]{64}$")


#: The fields of a simulate case.
CASE_FIELDS = (
    "id",
    "principal",
    "action",
    "resource",
    "resourceAccount",
    "context",
    "identityPolicies",
    "resourcePolicy",
    "permissionBoundary",
    "sessionPolicy",
    "scps",
    "rcps",
)


class CaseError(ValueError):
    """A simulate case (or request) is malformed; the message names the field."""


@dataclass(frozen=True)
class Principal:
    """The request's principal, classified. ``arn`` is as given; ``identity_arn`` is the IAM ARN
    its identity policies belong to (a role session's role)."""

    arn: str
    kind: str  # aws | service | federated | canonical
    account: str | None = None
    identity_arn: str | None = None
    is_user: bool = False
    is_session: bool = False
    is_service_linked: bool = False


def classify_principal(text: str) -> Principal:
    if not isinstance(text, str) or not text:
        raise CaseError("principal must be a non-empty string")
    match = _ARN.match(text)
    if match:
        service, account, rest = match["service"], match["account"], match["rest"]
        if service == "iam" and rest.startswith(("oidc-provider/", "saml-provider/")):
            return Principal(arn=text, kind="federated", account=account)
        if service == "iam" and (rest == "root" or rest.startswith(("user/", "role/"))):
            return Principal(
                arn=text,
                kind="aws",
                account=account,
                identity_arn=text,
                is_user=rest.startswith("user/"),
                is_service_linked=rest.startswith("role/aws-service-role/"),
            )
        if service == "sts" and rest.startswith("assumed-role/"):
            parts = rest.split("/")
            if len(parts) < 3:
                raise CaseError(f"principal {text!r}: an assumed-role ARN is assumed-role/ROLE/SESSION")
            return Principal(
                arn=text,
                kind="aws",
                account=account,
                identity_arn=f"arn:{match['partition']}:iam::{account}:role/{parts[1]}",
                is_session=True,
            )
        raise CaseError(f"principal {text!r} is not an IAM user, role, role session, root or provider ARN")
    if text.lower() in WEB_IDENTITY_PROVIDERS:
        return Principal(arn=text, kind="federated")
    if text.endswith((".amazonaws.com", ".amazonaws.com.cn")):
        return Principal(arn=text.lower(), kind="service")
    if _CANONICAL.match(text):
        return Principal(arn=text, kind="canonical")
    raise CaseError(f"principal {text!r} is not an ARN, an AWS service, a web identity provider or a canonical user id")


def arn_account(arn: str) -> str | None:
    match = _ARN.match(arn)
    if match and re.fullmatch(r"\d{12}", match["account"]):
        return match["account"]
    return None


Context = dict[str, tuple[str, ...]]


def normalize_context(raw: Any, where: str = "context") -> Context:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise CaseError(f"{where} must be an object of key -> string or list of strings")
    out: Context = {}
    for key, value in raw.items():
        items = value if isinstance(value, list) else [value]
        values = []
        for item in items:
            if isinstance(item, bool):
                values.append("true" if item else "false")
            elif isinstance(item, str | int | float):
                values.append(str(item))
            else:
                raise CaseError(f"{where}[{key!r}] must be a string or a list of strings")
        out[str(key).lower()] = tuple(values)
    return out


@dataclass(frozen=True)
class Request:
    principal: Principal
    action: str
    resource: str
    resource_account: str | None = None
    context: Context = field(default_factory=dict)


@dataclass(frozen=True)
class Case:
    id: Any
    request: Request
    policies: PolicySet


def facts_for(request: Request, policies: PolicySet, *, scps_apply: bool | None = None) -> RequestFacts:
    """Derive :class:`RequestFacts`. By default SCPs apply when the case gives some and the
    principal is an IAM identity that is not a service-linked role; RCPs when given, except for
    service-linked roles."""
    p = request.principal
    resource_account = request.resource_account or arn_account(request.resource)
    same = resource_account is None or p.account is None or resource_account == p.account
    if scps_apply is None:
        scps_apply = bool(policies.scps) and p.kind == "aws" and not p.is_service_linked
    return RequestFacts(
        principal_kind=p.kind,
        same_account=same if p.kind == "aws" else False,
        exact_uncapped=p.is_user or p.is_session,
        scps_apply=scps_apply,
        rcps_apply=bool(policies.rcps) and not p.is_service_linked,
        resource_side_required=requires_resource_side(request.action),
    )


def parse_case(data: Any, line: int | None = None) -> Case:
    where = f"case on line {line}" if line is not None else "case"
    if not isinstance(data, dict):
        raise CaseError(f"{where}: must be a JSON object")
    for name in data:
        if name not in CASE_FIELDS:
            hint = did_you_mean(str(name), CASE_FIELDS)
            raise CaseError(f"{where}: unknown field {name!r}{hint} (fields: {', '.join(CASE_FIELDS)})")
    for required in ("principal", "action", "resource"):
        if not isinstance(data.get(required), str) or not data[required]:
            raise CaseError(f"{where}: {required} must be a non-empty string")
    if ":" not in data["action"]:
        raise CaseError(f"{where}: action {data['action']!r} is not service:Action")
    case_id = data.get("id", line)
    try:
        request = Request(
            principal=classify_principal(data["principal"]),
            action=data["action"],
            resource=data["resource"],
            resource_account=data.get("resourceAccount"),
            context=normalize_context(data.get("context"), f"{where}: context"),
        )
        policies = PolicySet(
            identity=tuple(
                _doc(d, f"identityPolicies[{i}]", "identity") for i, d in enumerate(_list(data, "identityPolicies"))
            ),
            resource=_optional(data, "resourcePolicy", "resource"),
            boundary=_optional(data, "permissionBoundary", "boundary"),
            session=_optional(data, "sessionPolicy", "session"),
            scps=_levels(data, "scps", "scp"),
            rcps=_levels(data, "rcps", "rcp"),
        )
    except (CaseError, PolicyError) as exc:
        raise CaseError(f"{where}: {exc}") from exc
    return Case(id=case_id, request=request, policies=policies)


def _doc(value: Any, label: str, kind: str) -> PolicyDocument:
    return parse_policy(value, label, kind=kind)


def _list(data: dict[str, Any], key: str) -> list[Any]:
    value = data.get(key) or []
    if not isinstance(value, list):
        raise CaseError(f"{key} must be a list of policy documents")
    return value


def _optional(data: dict[str, Any], key: str, kind: str) -> PolicyDocument | None:
    return None if data.get(key) is None else _doc(data[key], key, kind)


def _levels(data: dict[str, Any], key: str, kind: str) -> tuple[tuple[PolicyDocument, ...], ...]:
    levels = _list(data, key)
    out = []
    for i, level in enumerate(levels):
        if not isinstance(level, list):
            raise CaseError(f"{key}[{i}] must be a list of policy documents (one level)")
        out.append(tuple(_doc(d, f"{key}[{i}][{j}]", kind) for j, d in enumerate(level)))
    return tuple(out)
