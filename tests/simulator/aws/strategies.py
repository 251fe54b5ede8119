"""Hypothesis strategies for AWS simulate cases, policies and requests.

Everything is drawn from small pools so that policies and requests actually meet: a handful of
actions, resources, principals and context keys, with patterns, policy variables and condition
values chosen next to the values requests carry (IPs inside and outside the CIDRs, dates around
the policy's dates, numbers around the policy's numbers, ...).

Main entry points:

- :func:`cases`: simulate cases (dicts for :func:`simulator.aws.request.parse_case`).
- :func:`policies`: one policy document (``kind`` "identity": also boundaries, session policies,
  SCPs and RCPs; or "resource": statements carry a Principal or NotPrincipal).
- :func:`policy_pairs`: (old, new) documents, often related (new is old edited).
- :func:`typed_requests`: concrete requests inside the domain ``compare`` ranges over (a real
  action with a resource of a type it takes, context values of the key's documented type, at
  most one value for single-valued keys).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

ACCOUNT = "111111111111"
OTHER = "222222222222"

USER = f"arn:aws:iam::{ACCOUNT}:user/alice"
OTHER_USER = f"arn:aws:iam::{OTHER}:user/carol"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/app"
OTHER_ROLE = f"arn:aws:iam::{OTHER}:role/app"
SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/app/s"
SERVICE_LINKED = f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/x.amazonaws.com/AWSServiceRoleForX"
ROOT = f"arn:aws:iam::{ACCOUNT}:root"
OTHER_ROOT = f"arn:aws:iam::{OTHER}:root"
SERVICE = "lambda.amazonaws.com"
OTHER_SERVICE = "sns.amazonaws.com"
WEB_PROVIDER = "accounts.google.com"
OIDC_PROVIDER = f"arn:aws:iam::{ACCOUNT}:oidc-provider/example.com"

#: Request principals: every kind (user, role, role session, service-linked role, root, service,
#: federated provider), in the resource's account and in another one.
PRINCIPALS = (
    USER,
    OTHER_USER,
    ROLE,
    OTHER_ROLE,
    SESSION,
    SERVICE_LINKED,
    ROOT,
    SERVICE,
    WEB_PROVIDER,
    OIDC_PROVIDER,
)

# --- Actions and resources ------------------------------------------------------------------

TARGET_ROLE = f"arn:aws:iam::{ACCOUNT}:role/target"
KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/k1"
OTHER_KEY = f"arn:aws:kms:us-east-1:{OTHER}:key/k2"
OBJECTS = (
    "arn:aws:s3:::b/k",
    "arn:aws:s3:::b/alice/x",
    "arn:aws:s3:::b/d/k",
    "arn:aws:s3:::b1/k",
    "arn:aws:s3:::c/k",
    "arn:aws:s3:::b/home/alice/x",
    "arn:aws:s3:::b/red/k",
)
BUCKETS = ("arn:aws:s3:::b", "arn:aws:s3:::c")
ROLES = (TARGET_ROLE, ROLE, OTHER_ROLE, f"arn:aws:iam::{ACCOUNT}:role/alice")
INSTANCES = (f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/i-1", f"arn:aws:ec2:us-east-1:{OTHER}:instance/i-2")

#: Each action with resources of a type it takes (what a real request would name).
RESOURCES_FOR_ACTION: dict[str, tuple[str, ...]] = {
    "s3:GetObject": OBJECTS,
    "s3:PutObject": OBJECTS,
    "s3:ListBucket": BUCKETS,
    "iam:PassRole": ROLES,
    "sts:AssumeRole": ROLES,
    "kms:Decrypt": (KEY, OTHER_KEY),
    "ec2:RunInstances": INSTANCES,
}
ACTIONS = tuple(RESOURCES_FOR_ACTION)
#: Resources a request may name regardless of the action (``arn:aws:s3:::b/*`` is a literal star,
#: for ``${*}``; a backslash is literal too).
RESOURCES = (
    *sorted({r for rs in RESOURCES_FOR_ACTION.values() for r in rs}),
    "*",
    "arn:aws:s3:::b/*",
    "arn:aws:s3:::b/\\u{6b}",  # not "arn:aws:s3:::b/k": z3 string literals read \u{..} escapes
)

ACTION_PATTERNS = (
    *ACTIONS,
    *("s3:*", "s3:Get*", "*", "iam:Pass?ole", "S3:getobject", "kms:*", "sts:Assume*"),
    "s3:[G]etObject",  # brackets are literal (no character classes)
)
RESOURCE_PATTERNS = (
    "*",
    "arn:aws:s3:::b/*",
    "arn:aws:s3:::b?/k",
    "arn:aws:s3:::b/k",
    "arn:aws:s3:::b",
    "arn:aws:s3:::b/${aws:username}/*",
    "arn:aws:s3:::*/home/${aws:username}/*",
    "arn:aws:s3:::b/${aws:PrincipalTag/team}/*",
    "arn:aws:iam::111111111111:role/${aws:username}",
    "arn:aws:s3:::b/${aws:x, 'd'}/*",
    "arn:aws:s3:::b/${*}",
    "arn:aws:s3:::b/\\u{6b}",
    "arn:aws:iam::*:role/*",
    "arn:aws:kms:*:111111111111:key/*",
    "arn:aws:ec2:*:*:instance/*",
)

#: Ways a request may spell its action: as AWS does, in capitals (names are compared
#: ASCII-case-insensitively), with a KELVIN SIGN for "k" (which is not "k": no Unicode folding).
ACTION_SPELLINGS = (str, str.upper, lambda action: action.replace("k", "\u212a").replace("K", "\u212a"))

# --- Principal elements -------------------------------------------------------------------------

AWS_PRINCIPAL_NAMES = (ACCOUNT, OTHER, ROOT, OTHER_ROOT, USER, OTHER_USER, ROLE, OTHER_ROLE, SESSION, "*")

# --- Context keys and condition values ----------------------------------------------------------

#: Policy values per operator family, next to the request values below.
POLICY_VALUES: dict[str, tuple[Any, ...]] = {
    "string": (
        "a",
        "b",
        "A",
        "prod",
        "alice",
        "a*",
        "*",
        "?",
        "${aws:username}",
        "${aws:PrincipalTag/team}",
        "${aws:x, 'd'}",
        "a${*}",
        "\\u{61}",
    ),
    "numeric": ("0", "5", "10", "1.5", "-3", 5),
    "date": ("2024-01-01T00:00:00Z", "2024-01-01", "1704067200", "2024-06-30T12:00:00Z"),
    "bool": ("true", "false", True),
    "binary": ("QmluYXJ5", "YQ=="),
    "ip": ("10.0.0.0/8", "10.1.2.3/32", "10.1.2.3", "192.168.0.0/16", "0.0.0.0/0", "2001:db8::/32", "::/0"),
    "arn": (
        f"arn:aws:iam::{ACCOUNT}:role/*",
        "arn:aws:iam::*:user/alice",
        "arn:aws:iam::*:*",
        "arn:*",
        f"arn:aws:iam::{ACCOUNT}:user/${{aws:username}}",
    ),
}

#: Request values per family: ``valid`` ones parse as the family's type, ``junk`` ones do not.
REQUEST_VALUES: dict[str, tuple[str, ...]] = {
    "string": ("a", "b", "A", "ab", "prod", "alice", "*", "a*", "d", "", "\\u{61}"),
    "numeric": ("-3", "0", "1.4", "1.5", "4", "5", "5.0", "6", "10", "11"),
    "date": (
        "2023-12-31T23:59:59Z",
        "2024-01-01T00:00:00Z",
        "2024-01-01T00:00:01Z",
        "1704067200",
        "2024-06-30T12:00:00Z",
        "2025-06-01",
    ),
    "bool": ("true", "false", "TRUE"),
    "binary": ("QmluYXJ5", "YQ==", "qmluyxj5"),
    "ip": ("10.1.2.3", "10.200.0.1", "11.0.0.1", "192.168.4.5", "2001:db8::1", "2001:db9::1", "::1"),
    "arn": (USER, OTHER_USER, ROLE, SESSION, "arn:aws:iam::1:2:role/x"),
}
JUNK_VALUES: dict[str, tuple[str, ...]] = {
    "string": (),
    "numeric": ("x", "1e3"),
    "date": ("soon",),
    "bool": ("yes",),
    "binary": (),
    "ip": ("not-an-ip", "10.0.0.0/8"),
    "arn": ("not-an-arn",),
}

OPERATORS: dict[str, tuple[str, ...]] = {
    "string": (
        "StringEquals",
        "StringNotEquals",
        "StringEqualsIgnoreCase",
        "StringNotEqualsIgnoreCase",
        "StringLike",
        "StringNotLike",
    ),
    "numeric": (
        "NumericEquals",
        "NumericNotEquals",
        "NumericLessThan",
        "NumericLessThanEquals",
        "NumericGreaterThan",
        "NumericGreaterThanEquals",
    ),
    "date": (
        "DateEquals",
        "DateNotEquals",
        "DateLessThan",
        "DateLessThanEquals",
        "DateGreaterThan",
        "DateGreaterThanEquals",
    ),
    "bool": ("Bool",),
    "binary": ("BinaryEquals",),
    "ip": ("IpAddress", "NotIpAddress"),
    "arn": ("ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike"),
}
FAMILIES = tuple(OPERATORS)


@dataclass(frozen=True)
class Key:
    """A context key: its name, the operator family that suits it (``None``: untyped, any family
    suits it), whether AWS documents its type, and whether it is multi-valued."""

    name: str
    family: str | None
    documented: bool = True
    multi: bool = False
    values: tuple[str, ...] = ()  # request values, when the family's pool does not fit


KEYS = (
    Key("aws:SourceIp", "ip"),
    Key("aws:CurrentTime", "date"),
    Key("aws:MultiFactorAuthAge", "numeric"),
    Key("aws:SecureTransport", "bool"),
    Key("aws:TagKeys", "string", multi=True, values=("env", "team", "owner", "a")),
    Key("aws:PrincipalTag/team", "string", values=("red", "a", "alice")),
    Key("aws:EpochTime", "epoch", values=("-3", "0", "5", "6", "10", "1704067199", "1704067200", "1719748800")),
    Key("aws:username", "string", values=("alice", "bob", "a", "*")),
    Key("aws:x", "string", documented=False, values=("d", "v")),
    Key("aws:PrincipalArn", "arn"),
    Key("custom:k", None, documented=False),
)


def keys_for(family: str) -> list[Key]:
    """Keys whose values suit ``family`` (ARN keys also suit string operators; aws:EpochTime both
    numeric and date ones)."""
    return [
        k
        for k in KEYS
        if k.family in (family, None)
        or (family == "string" and k.family == "arn")
        or (family in ("numeric", "date") and k.family == "epoch")
    ]


# --- Small helpers ------------------------------------------------------------------------------


def one_or_list(items: st.SearchStrategy[Any], max_size: int = 2) -> st.SearchStrategy[Any]:
    """One item, or a list of 1..max_size items (JSON policies allow both)."""
    return st.one_of(items, st.lists(items, min_size=1, max_size=max_size))


def sometimes(draw: st.DrawFn, tenths: int) -> bool:
    """True in about ``tenths`` out of ten draws."""
    return draw(st.integers(0, 9)) < tenths


# --- Conditions -----------------------------------------------------------------------------------


@st.composite
def condition_operator(draw: st.DrawFn, *, exotic: bool = True) -> tuple[str, dict[str, Any]]:
    """One operator of the Condition block with 1-2 keys, each with 1-3 values. With ``exotic``,
    rarely a key of another type than the operator's. (Unknown operators are grammar errors, not
    generated here: see test_reference_rules.)"""
    if draw(st.integers(0, 11)) == 0:
        keys = draw(st.lists(st.sampled_from(KEYS), min_size=1, max_size=2, unique=True))
        wants = draw(st.sampled_from(["true", "false", True, ["true", "false"]]))
        return "Null", {k.name: wants for k in keys}
    family = draw(st.sampled_from(FAMILIES))
    operator = draw(st.sampled_from(OPERATORS[family]))
    if draw(st.integers(0, 3)) == 0:
        operator += "IfExists"
    qualifier = draw(st.sampled_from(["", "", "", "ForAnyValue:", "ForAllValues:"]))
    candidates = list(KEYS) if exotic and draw(st.integers(0, 15)) == 0 else keys_for(family)
    keys = draw(st.lists(st.sampled_from(candidates), min_size=1, max_size=2, unique=True))
    block = {k.name: draw(one_or_list(st.sampled_from(POLICY_VALUES[family]), max_size=3)) for k in keys}
    return qualifier + operator, block


@st.composite
def conditions(draw: st.DrawFn, *, exotic: bool = True) -> dict[str, Any]:
    """A Condition block of 1-2 operators (a repeated operator merges its keys)."""
    block: dict[str, Any] = {}
    for _ in range(draw(st.integers(1, 2))):
        operator, keys = draw(condition_operator(exotic=exotic))
        block.setdefault(operator, {}).update(keys)
    return block


# --- Principal elements ---------------------------------------------------------------------------


def principal_elements(*, sessions: bool = True) -> st.SearchStrategy[Any]:
    """A Principal / NotPrincipal element: ``"*"`` or an object of AWS / Service / Federated."""
    names = [n for n in AWS_PRINCIPAL_NAMES if sessions or n != SESSION]
    parts = {
        "AWS": one_or_list(st.sampled_from(names)),
        "Service": one_or_list(st.sampled_from([SERVICE, OTHER_SERVICE])),
        "Federated": st.sampled_from([WEB_PROVIDER, OIDC_PROVIDER]),
    }
    mixed = st.sets(st.sampled_from(sorted(parts)), min_size=1).flatmap(
        lambda types: st.fixed_dictionaries({t: parts[t] for t in sorted(types)})
    )
    return st.one_of(st.just("*"), st.fixed_dictionaries({"AWS": parts["AWS"]}), mixed)


# --- Statements and policies ------------------------------------------------------------------------


@st.composite
def statements(draw: st.DrawFn, kind: str = "identity", *, sessions: bool = True, exotic: bool = True) -> dict:
    """One statement. ``kind``: "identity" (also boundaries, session policies and SCPs: no
    Principal, a Resource or NotResource), "rcp" (the same with ``"Principal": "*"``) or
    "resource" (a Principal or NotPrincipal element, sometimes no Resource)."""
    out: dict[str, Any] = {"Effect": draw(st.sampled_from(["Allow", "Allow", "Deny"]))}
    actions = one_or_list(st.sampled_from(ACTION_PATTERNS))
    out["NotAction" if draw(st.integers(0, 6)) == 0 else "Action"] = draw(actions)
    where = draw(st.sampled_from(["Resource"] * 6 + ["NotResource"] * 3 + (["none"] if kind == "resource" else [])))
    if where != "none":
        out[where] = draw(one_or_list(st.sampled_from(RESOURCE_PATTERNS)))
    if kind == "resource":
        element = "NotPrincipal" if draw(st.integers(0, 6)) == 0 else "Principal"
        out[element] = draw(principal_elements(sessions=sessions))
    elif kind == "rcp":
        out["Principal"] = "*"
    if draw(st.booleans()):
        out["Condition"] = draw(conditions(exotic=exotic))
    return out


VERSIONS = ("2012-10-17", "2012-10-17", "2012-10-17", "2008-10-17", None)
ALLOW_ALL = {"Effect": "Allow", "Action": "*", "Resource": "*"}


@st.composite
def policies(
    draw: st.DrawFn, kind: str = "identity", *, max_statements: int = 3, sessions: bool = True, exotic: bool = True
) -> dict:
    """A policy document of 1..max_statements statements (sometimes a lone statement object)."""
    items = draw(st.lists(statements(kind, sessions=sessions, exotic=exotic), min_size=1, max_size=max_statements))
    out: dict[str, Any] = {"Statement": items[0] if len(items) == 1 and draw(st.booleans()) else items}
    version = draw(st.sampled_from(VERSIONS))
    if version is not None:
        out["Version"] = version
    return out


@st.composite
def org_level(draw: st.DrawFn, kind: str = "scp") -> list[dict]:
    """One SCP or RCP level (``kind`` "scp" or "rcp"): 1-2 documents, often with a full Allow (as
    real organizations have)."""
    docs = draw(st.lists(policies("rcp" if kind == "rcp" else "identity", max_statements=2), min_size=1, max_size=2))
    if draw(st.booleans()):
        full = {**ALLOW_ALL, "Principal": "*"} if kind == "rcp" else ALLOW_ALL
        docs.insert(0, {"Version": "2012-10-17", "Statement": [full]})
    return docs


@st.composite
def policy_pairs(draw: st.DrawFn, kind: str = "identity") -> tuple[dict, dict]:
    """(old, new): new is old unchanged, with a statement added, removed, flipped or rewritten,
    or an unrelated policy. No exotic conditions (they only make answers unknown)."""
    options = {"exotic": False}
    old = draw(policies(kind, max_statements=2, **options))
    items = old["Statement"] if isinstance(old["Statement"], list) else [old["Statement"]]
    items = [dict(s) for s in items]
    edit = draw(st.sampled_from(["same", "add", "remove", "flip", "rewrite", "unrelated"]))
    if edit == "unrelated":
        return old, draw(policies(kind, max_statements=2, **options))
    index = draw(st.integers(0, len(items) - 1))
    if edit == "add":
        items.append(draw(statements(kind, **options)))
    elif edit == "remove" and len(items) > 1:
        items.pop(index)
    elif edit == "flip":
        items[index]["Effect"] = "Deny" if items[index]["Effect"] == "Allow" else "Allow"
    elif edit == "rewrite":
        items[index] = draw(statements(kind, **options))
    new = {**old, "Statement": items}
    return old, new


# --- Context ------------------------------------------------------------------------------------


def request_values(key: Key, *, junk: bool = True) -> list[str]:
    if key.values:
        return list(key.values)
    families = [key.family] if key.family in FAMILIES else list(FAMILIES)
    values = [v for f in families for v in REQUEST_VALUES[f]]
    if junk or not key.documented:
        values += [v for f in families for v in JUNK_VALUES[f]]
    return list(dict.fromkeys(values))


@st.composite
def contexts(draw: st.DrawFn, *, typed: bool = False) -> dict[str, Any]:
    """A request context: each key absent, or present with 0-3 values (a lone string or a list).

    With ``typed``: the domain compare ranges over: values of a key's documented type, at most
    one value for single-valued keys."""
    out: dict[str, Any] = {}
    for key in KEYS:
        if draw(st.integers(0, 2)) == 0:
            continue
        pool = st.sampled_from(request_values(key, junk=not typed))
        most = 3 if key.multi or not typed else 1
        values = draw(st.lists(pool, min_size=0 if not typed else 1, max_size=most))
        out[key.name] = values[0] if len(values) == 1 and draw(st.booleans()) else values
    return out


# --- Cases and requests ---------------------------------------------------------------------------


@st.composite
def resources_for(draw: st.DrawFn, action: str) -> str:
    """Mostly a resource of a type the action takes, sometimes any resource."""
    typed = RESOURCES_FOR_ACTION[action]
    return draw(st.sampled_from(typed)) if draw(st.integers(0, 4)) else draw(st.sampled_from(RESOURCES))


def principal_names(principal: str) -> list[Any]:
    """Ways a Principal element can name ``principal``: itself, its account (id or root ARN), its
    role (for a role session), everyone."""
    names: list[Any] = ["*"]
    if principal in (SERVICE, OTHER_SERVICE):
        return [*names, {"Service": principal}]
    if principal in (WEB_PROVIDER, OIDC_PROVIDER):
        return [*names, {"Federated": principal}]
    account = principal.split(":")[4]
    names += [{"AWS": principal}, {"AWS": account}, {"AWS": f"arn:aws:iam::{account}:root"}]
    if principal == SESSION:
        names.append({"AWS": ROLE})
    return names


@st.composite
def grants(draw: st.DrawFn, action: str, resource: str, principal: str | None = None) -> dict:
    """An Allow statement aimed at the request (so that cases are allowed often enough), with a
    random condition now and then; with ``principal``, a resource-policy statement naming it."""
    out: dict[str, Any] = {
        "Effect": "Allow",
        "Action": draw(st.sampled_from([action, "*", action.split(":")[0] + ":*"])),
        "Resource": draw(st.sampled_from(["*", resource])),
    }
    if principal is not None:
        out["Principal"] = draw(st.sampled_from(principal_names(principal)))
    if sometimes(draw, 3):
        out["Condition"] = draw(conditions())
    return out


@st.composite
def with_grant(draw: st.DrawFn, documents: st.SearchStrategy[dict], grant: st.SearchStrategy[dict]) -> dict:
    """A document from ``documents``, with the ``grant`` statement added about half the time."""
    document = draw(documents)
    if sometimes(draw, 5):
        items = document["Statement"] if isinstance(document["Statement"], list) else [document["Statement"]]
        document = {**document, "Statement": [*items, draw(grant)]}
    return document


@st.composite
def cases(draw: st.DrawFn) -> dict[str, Any]:
    """A simulate case exercising every part of the evaluation: identity policies, a resource
    policy, a boundary, a session policy, SCP and RCP levels, any principal, same or cross
    account, and a context."""
    action = draw(st.sampled_from(ACTIONS))
    principal = draw(st.sampled_from(PRINCIPALS))
    resource = draw(resources_for(action))
    spelling = draw(st.sampled_from(ACTION_SPELLINGS)) if sometimes(draw, 1) else ACTION_SPELLINGS[0]
    out: dict[str, Any] = {"principal": principal, "action": spelling(action), "resource": resource}
    account = draw(st.sampled_from([None, None, ACCOUNT, OTHER]))
    if account:
        out["resourceAccount"] = account
    grant = grants(action, resource)
    identity = draw(st.lists(with_grant(policies("identity"), grant), max_size=2))
    if identity:
        out["identityPolicies"] = identity
    capping = with_grant(policies("identity"), grant)
    optional = {
        "resourcePolicy": (with_grant(policies("resource"), grants(action, resource, principal)), 5),
        "permissionBoundary": (capping, 2),
        "sessionPolicy": (capping, 2),
        "scps": (st.lists(org_level("scp"), min_size=1, max_size=2), 3),
        "rcps": (st.lists(org_level("rcp"), min_size=1, max_size=2), 2),
    }
    for field, (strategy, tenths) in optional.items():
        if sometimes(draw, tenths):
            out[field] = draw(strategy)
    context = draw(contexts())
    if context:
        out["context"] = context
    return out


@st.composite
def typed_requests(draw: st.DrawFn, *, principals: bool = False) -> dict[str, Any]:
    """A concrete request in the domain compare ranges over: {"action", "resource", "context"}
    and, with ``principals``, a "principal"."""
    action = draw(st.sampled_from(ACTIONS))
    out: dict[str, Any] = {
        "action": action,
        "resource": draw(st.sampled_from(RESOURCES_FOR_ACTION[action])),
        "context": draw(contexts(typed=True)),
    }
    if principals:
        out["principal"] = draw(st.sampled_from(PRINCIPALS))
    return out
