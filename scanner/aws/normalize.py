"""Raw AWS answers -> model objects. Pure: no network, no clock, no files.

Ids: principals, managed policies, resources and workloads by ARN; documents that have no ARN of
their own by their owner's ARN and a suffix: ``<principal>#inline:<name>``, ``<role>#trust``,
``<resource>#policy``; credentials ``<user>#password``, ``<user>#access-key-<slot>`` (slot 1 is
the older key, as in the credential report) and ``<role>#federated-<n>``. AWS managed policies
belong to no account: their ``scope_id`` is ``aws``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from models import (
    Attachment,
    AttachmentKind,
    Cloud,
    Credential,
    CredentialKind,
    Policy,
    PolicyKind,
    PolicyVersion,
    Principal,
    PrincipalKind,
    Resource,
    Scope,
    ScopeKind,
    Workload,
    WorkloadKind,
)
from scanner.aws.credential_report import report_rows, report_time, report_value
from scanner.aws.dates import parse_time
from scanner.aws.policy_text import PolicyTextError, as_list, parse_policy_document, statements
from scanner.aws.raw import RawAccount, RawOrganization
from scanner.errors import BadInputError
from scanner.normalized import Normalized

AWS_MANAGED_SCOPE = "aws"

RESOURCE_KINDS = {
    "s3": "s3:bucket",
    "kms": "kms:key",
    "sqs": "sqs:queue",
    "sns": "sns:topic",
    "secretsmanager": "secretsmanager:secret",
    "lambda": "lambda:function",
    "codebuild": "codebuild:project",
}

FEDERATION_ACTIONS = {
    "sts:assumerolewithwebidentity": "oidc",
    "sts:assumerolewithsaml": "saml",
}


def normalize(accounts: Iterable[RawAccount], organization: RawOrganization | None) -> Normalized:
    """Normalize every account and the organization into one set of collections.

    Raises :class:`BadInputError` naming the origin (file or API) of an answer that does not have
    the shape AWS gives it.
    """
    out = Normalized()
    seen_policies: set[str] = set()
    org_account_ids: set[str] = set()
    if organization is not None:
        org_account_ids = _with_origin(organization.origin, _organization, organization.export, out)
        out.coverage.extend(organization.coverage)
    for raw in accounts:
        if raw.account_id not in org_account_ids:
            out.scopes.append(Scope(id=raw.account_id, cloud=Cloud.AWS, kind=ScopeKind.ACCOUNT, name=raw.account_id))
        _with_origin(raw.origin, _account, raw, out, seen_policies)
        out.coverage.extend(raw.coverage)
    return out


def _with_origin(origin: str, fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except BadInputError:
        raise
    except PolicyTextError as exc:
        raise BadInputError(f"{origin}: {exc}") from exc
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        what = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
        raise BadInputError(f"{origin}: not the shape AWS returns ({what})") from exc


# --- Organizations -----------------------------------------------------------------------------


def _organization(export: dict[str, Any], out: Normalized) -> set[str]:
    org = export["Organization"]
    org_id = org["Id"]
    out.scopes.append(
        Scope(
            id=org_id,
            cloud=Cloud.AWS,
            kind=ScopeKind.ORGANIZATION,
            name=org_id,
            management_account_id=str(org.get("MasterAccountId", "")) or None,
            attributes={
                "management_account_id": str(org.get("MasterAccountId", "")),
                "feature_set": str(org.get("FeatureSet", "")),
            },
        )
    )
    for root in export.get("Roots", []):
        out.scopes.append(
            Scope(id=root["Id"], cloud=Cloud.AWS, kind=ScopeKind.ROOT, name=root.get("Name", "Root"), parent_id=org_id)
        )
    for ou in export.get("OrganizationalUnits", []):
        out.scopes.append(
            Scope(
                id=ou["Id"],
                cloud=Cloud.AWS,
                kind=ScopeKind.ORGANIZATIONAL_UNIT,
                name=ou.get("Name") or ou["Id"],
                parent_id=ou["ParentId"],
            )
        )
    account_ids = set()
    management = str(org.get("MasterAccountId", ""))
    for account in export.get("Accounts", []):
        account_ids.add(account["Id"])
        attributes = {"email": str(account.get("Email", "")), "status": str(account.get("Status", ""))}
        if account["Id"] == management:
            attributes["management"] = "true"
        out.scopes.append(
            Scope(
                id=account["Id"],
                cloud=Cloud.AWS,
                kind=ScopeKind.ACCOUNT,
                name=account.get("Name") or account["Id"],
                parent_id=account.get("ParentId"),
                attributes=attributes,
            )
        )
    for item in export.get("Policies", []):
        summary = item["PolicySummary"]
        kind = PolicyKind.RCP if summary.get("Type") == "RESOURCE_CONTROL_POLICY" else PolicyKind.SCP
        policy = Policy(
            id=summary["Arn"],
            cloud=Cloud.AWS,
            kind=kind,
            name=summary.get("Name") or summary["Id"],
            scope_id=org_id,
            document=parse_policy_document(item["Content"]),
            native_id=summary["Id"],
            description=summary.get("Description") or None,
            attributes={"aws_managed": "true" if summary.get("AwsManaged") else "false"},
        )
        out.policies.append(policy)
        attach_kind = AttachmentKind.RCP if kind is PolicyKind.RCP else AttachmentKind.SCP
        for target in item.get("Targets", []):
            out.attachments.append(Attachment(policy_id=policy.id, target_id=target["TargetId"], kind=attach_kind))
    return account_ids


# --- One account --------------------------------------------------------------------------------


def _account(raw: RawAccount, out: Normalized, seen_policies: set[str]) -> None:
    account = raw.account_id
    root_arn = f"arn:aws:iam::{account}:root"
    out.principals.append(
        Principal(
            id=root_arn,
            cloud=Cloud.AWS,
            kind=PrincipalKind.AWS_ROOT,
            name=f"root ({account})",
            scope_id=account,
            attributes=_root_attributes(raw),
        )
    )
    details = raw.authorization_details
    instance_profile_roles: dict[str, tuple[str, ...]] = {}
    profile_names: dict[str, str] = {}
    trust_policies: list[Policy] = []
    if details is not None:
        group_arns = {g["GroupName"]: g["Arn"] for g in details.get("GroupDetailList", [])}
        for policy in details.get("Policies", []):
            out.add_policy(_managed_policy(policy, account), seen_policies)
        for group in details.get("GroupDetailList", []):
            _principal_entry(group, PrincipalKind.AWS_GROUP, "GroupName", "GroupId", account, out, group_arns)
            _attached(group, group["Arn"], "GroupPolicyList", out)
        for user in details.get("UserDetailList", []):
            _principal_entry(user, PrincipalKind.AWS_USER, "UserName", "UserId", account, out, group_arns)
            _attached(user, user["Arn"], "UserPolicyList", out)
        for role in details.get("RoleDetailList", []):
            _principal_entry(role, PrincipalKind.AWS_ROLE, "RoleName", "RoleId", account, out, group_arns)
            _attached(role, role["Arn"], "RolePolicyList", out)
            trust = Policy(
                id=f"{role['Arn']}#trust",
                cloud=Cloud.AWS,
                kind=PolicyKind.TRUST,
                name=f"{role['RoleName']} trust policy",
                scope_id=account,
                document=parse_policy_document(role["AssumeRolePolicyDocument"]),
            )
            out.policies.append(trust)
            trust_policies.append(trust)
            out.attachments.append(Attachment(policy_id=trust.id, target_id=role["Arn"], kind=AttachmentKind.TRUST))
            for profile in role.get("InstanceProfileList", []):
                instance_profile_roles[profile["Arn"]] = tuple(r["Arn"] for r in profile.get("Roles", [])) or (
                    role["Arn"],
                )
                profile_names[profile.get("InstanceProfileName") or _resource_name(profile["Arn"])] = profile["Arn"]
    extras = raw.extras or {}
    extras_origin = raw.extras_origin or raw.origin
    providers = _with_origin(extras_origin, _identity_providers, extras, account, out)
    for trust in trust_policies:
        out.credentials.extend(_federated_credentials(trust, providers))
    origin = ", ".join(o for o in (raw.report_origin, raw.extras_origin) if o) or raw.origin
    out.credentials.extend(_with_origin(origin, _static_credentials, raw, account))
    _with_origin(extras_origin, _resource_policies, extras, account, out)
    names = _IamNames(
        roles={r["RoleName"]: r["Arn"] for r in (details or {}).get("RoleDetailList", [])},
        profiles=profile_names,
        profile_roles=instance_profile_roles,
    )
    _with_origin(extras_origin, _workloads, extras, account, names, out)


def _principal_entry(
    item: dict[str, Any],
    kind: PrincipalKind,
    name_key: str,
    id_key: str,
    account: str,
    out: Normalized,
    group_arns: dict[str, str],
) -> None:
    last_used = item.get("RoleLastUsed") or {}
    member_of = tuple(group_arns.get(g, f"arn:aws:iam::{account}:group/{g}") for g in item.get("GroupList", []))
    attributes = {}
    if "MaxSessionDuration" in item:
        attributes["max_session_duration"] = str(item["MaxSessionDuration"])
    if item.get("Description"):
        attributes["description"] = str(item["Description"])
    out.principals.append(
        Principal(
            id=item["Arn"],
            cloud=Cloud.AWS,
            kind=kind,
            name=item[name_key],
            scope_id=account,
            native_id=item.get(id_key),
            path=item.get("Path", "/"),
            created=parse_time(item.get("CreateDate")),
            last_used=parse_time(last_used.get("LastUsedDate")),
            last_used_region=last_used.get("Region"),
            member_of=member_of,
            tags={t["Key"]: t["Value"] for t in item.get("Tags", [])},
            attributes=attributes,
        )
    )


def _attached(item: dict[str, Any], arn: str, inline_key: str, out: Normalized) -> None:
    for managed in item.get("AttachedManagedPolicies", []):
        out.attachments.append(Attachment(policy_id=managed["PolicyArn"], target_id=arn, kind=AttachmentKind.IDENTITY))
    for inline in item.get(inline_key, []):
        policy = Policy(
            id=f"{arn}#inline:{inline['PolicyName']}",
            cloud=Cloud.AWS,
            kind=PolicyKind.INLINE,
            name=inline["PolicyName"],
            scope_id=arn.split(":")[4],
            document=parse_policy_document(inline["PolicyDocument"]),
        )
        out.policies.append(policy)
        out.attachments.append(Attachment(policy_id=policy.id, target_id=arn, kind=AttachmentKind.IDENTITY))
    boundary = item.get("PermissionsBoundary") or {}
    if boundary.get("PermissionsBoundaryArn"):
        out.attachments.append(
            Attachment(policy_id=boundary["PermissionsBoundaryArn"], target_id=arn, kind=AttachmentKind.BOUNDARY)
        )


def _managed_policy(item: dict[str, Any], account: str) -> Policy:
    arn = item["Arn"]
    aws_managed = arn.startswith("arn:aws:iam::aws:") or ":iam::aws:policy" in arn
    versions = tuple(
        PolicyVersion(
            version_id=v["VersionId"],
            is_default=bool(v.get("IsDefaultVersion")),
            document=parse_policy_document(v["Document"]),
            created=parse_time(v.get("CreateDate")),
        )
        for v in item.get("PolicyVersionList", [])
    )
    defaults = [v for v in versions if v.is_default]
    if not defaults:
        raise ValueError(f"managed policy {arn} has no default version in PolicyVersionList")
    return Policy(
        id=arn,
        cloud=Cloud.AWS,
        kind=PolicyKind.AWS_MANAGED if aws_managed else PolicyKind.CUSTOMER_MANAGED,
        name=item.get("PolicyName") or arn.rsplit("/", 1)[-1],
        scope_id=AWS_MANAGED_SCOPE if aws_managed else account,
        document=defaults[0].document,
        versions=versions,
        native_id=item.get("PolicyId"),
        description=item.get("Description") or None,
        created=parse_time(item.get("CreateDate")),
        updated=parse_time(item.get("UpdateDate")),
        attributes={"path": item.get("Path", "/")},
    )


# --- Credentials --------------------------------------------------------------------------------


def _identity_providers(extras: dict[str, Any], account: str, out: Normalized) -> dict[str, str]:
    """Add OIDC and SAML providers as principals; return provider ARN -> issuer."""
    issuers: dict[str, str] = {}
    for provider in extras.get("OpenIDConnectProviders", []):
        url = str(provider.get("Url") or provider["Arn"].split("oidc-provider/", 1)[-1])
        issuers[provider["Arn"]] = url
        out.principals.append(
            Principal(
                id=provider["Arn"],
                cloud=Cloud.AWS,
                kind=PrincipalKind.AWS_OIDC_PROVIDER,
                name=url,
                scope_id=account,
                created=parse_time(provider.get("CreateDate")),
                attributes={
                    "client_ids": ",".join(provider.get("ClientIDList", [])),
                    "thumbprints": ",".join(provider.get("ThumbprintList", [])),
                },
            )
        )
    for provider in extras.get("SAMLProviders", []):
        issuers[provider["Arn"]] = provider["Arn"]
        valid_until = parse_time(provider.get("ValidUntil"))
        out.principals.append(
            Principal(
                id=provider["Arn"],
                cloud=Cloud.AWS,
                kind=PrincipalKind.AWS_SAML_PROVIDER,
                name=provider["Arn"].split("saml-provider/", 1)[-1],
                scope_id=account,
                created=parse_time(provider.get("CreateDate")),
                attributes={"valid_until": valid_until.isoformat() if valid_until else ""},
            )
        )
    return issuers


def _federated_credentials(trust: Policy, providers: dict[str, str]) -> list[Credential]:
    """The federated trusts a role's trust policy grants.

    This is a description of the trust (issuer, subject and audience patterns), read from
    ``StringEquals`` / ``StringLike`` conditions on the issuer's ``sub`` / ``aud`` keys; whether a
    given token may assume the role is for the simulator to decide.
    """
    role_arn = trust.id.removesuffix("#trust")
    found: list[Credential] = []
    for statement in statements(trust.document):
        if statement.get("Effect") != "Allow":
            continue
        actions = {str(a).lower() for a in as_list(statement.get("Action"))}
        kinds = {k for a, k in FEDERATION_ACTIONS.items() if a in actions or "sts:*" in actions or "*" in actions}
        principal = statement.get("Principal")
        federated = as_list(principal.get("Federated")) if isinstance(principal, dict) else []
        for provider in federated:
            provider = str(provider)
            is_saml = ":saml-provider/" in provider
            if ("saml" if is_saml else "oidc") not in kinds:
                continue
            issuer = providers.get(provider) or (provider if is_saml else provider.split("oidc-provider/", 1)[-1])
            sub_key, aud_key = ("saml:sub", "saml:aud") if is_saml else (f"{issuer}:sub", f"{issuer}:aud")
            subjects = _condition_values(statement, sub_key)
            audiences = _condition_values(statement, aud_key) or ()
            found.append(
                Credential(
                    id=f"{role_arn}#federated-{len(found) + 1}",
                    principal_id=role_arn,
                    kind=CredentialKind.FEDERATED,
                    issuer=issuer,
                    subjects=subjects,
                    audiences=audiences,
                    source_policy_id=trust.id,
                )
            )
    return found


def _condition_values(statement: dict[str, Any], key: str) -> tuple[str, ...] | None:
    """Values a StringEquals/StringLike condition (any set qualifier) allows for ``key``."""
    values: list[str] = []
    matched = False
    for operator, block in (statement.get("Condition") or {}).items():
        base = operator.split(":")[-1].removesuffix("IfExists")
        if base not in ("StringEquals", "StringLike") or not isinstance(block, dict):
            continue
        for k, v in block.items():
            if k.lower() == key.lower():
                matched = True
                values.extend(str(x) for x in as_list(v))
    return tuple(values) if matched else None


def _static_credentials(raw: RawAccount, account: str) -> list[Credential]:
    """Passwords and access keys, merged from the credential report and the listed access keys.

    The report names keys by slot (1 = the older); listed keys are given slots by creation time,
    so both sources describe the same credential under the same id.
    """
    by_id: dict[str, Credential] = {}
    if raw.credential_report:
        for row in report_rows(raw.credential_report):
            for credential in _report_credentials(row):
                by_id[credential.id] = credential
    user_arns = _user_arns(raw, account)
    keys_by_user: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for key in (raw.extras or {}).get("AccessKeys", []):
        keys_by_user[key["UserName"]].append(key)
    for user_name, keys in keys_by_user.items():
        user_arn = user_arns.get(user_name, f"arn:aws:iam::{account}:user/{user_name}")
        keys.sort(key=lambda k: (parse_time(k.get("CreateDate")) or parse_time("1970-01-01"), k["AccessKeyId"]))
        for slot, key in enumerate(keys, start=1):
            cid = f"{user_arn}#access-key-{slot}"
            listed = Credential(
                id=cid,
                principal_id=user_arn,
                kind=CredentialKind.ACCESS_KEY,
                active=key.get("Status", "Active") == "Active",
                key_id=key["AccessKeyId"],
                created=_to_second(parse_time(key.get("CreateDate"))),
                last_used=_to_second(parse_time(key.get("LastUsedDate"))),
                last_used_service=key.get("LastUsedService") or None,
                last_used_region=key.get("LastUsedRegion") or None,
            )
            reported = by_id.get(cid)
            if reported is not None:
                listed = replace(
                    listed,
                    mfa=reported.mfa,
                    last_used=listed.last_used or reported.last_used,
                    last_used_service=listed.last_used_service or reported.last_used_service,
                    last_used_region=listed.last_used_region or reported.last_used_region,
                )
            by_id[cid] = listed
    return sorted(by_id.values(), key=lambda c: c.id)


def _to_second(value: datetime | None) -> datetime | None:
    """AWS keeps credential times to the second (the report's precision); so do we."""
    return value.replace(microsecond=0) if value else None


def _user_arns(raw: RawAccount, account: str) -> dict[str, str]:
    details = raw.authorization_details or {}
    return {u["UserName"]: u["Arn"] for u in details.get("UserDetailList", [])}


def _root_attributes(raw: RawAccount) -> dict[str, str]:
    """What the credential report's ``<root_account>`` row says of the root user: ``mfaActive``
    (``true`` / ``false``), absent when the account has no report."""
    if not raw.credential_report:
        return {}
    for row in report_rows(raw.credential_report):
        if row.get("user") == "<root_account>" and row.get("mfa_active") in ("true", "false"):
            return {"mfaActive": row["mfa_active"]}
    return {}


def _report_credentials(row: dict[str, str]) -> list[Credential]:
    arn = row["arn"]
    mfa = row.get("mfa_active") == "true"
    found = []
    if row.get("password_enabled") == "true":
        found.append(
            Credential(
                id=f"{arn}#password",
                principal_id=arn,
                kind=CredentialKind.PASSWORD,
                created=report_time(row.get("password_last_changed")) or report_time(row.get("user_creation_time")),
                last_used=report_time(row.get("password_last_used")),
                expires=report_time(row.get("password_next_rotation")),
                mfa=mfa,
            )
        )
    for slot in (1, 2):
        prefix = f"access_key_{slot}_"
        created = report_time(row.get(prefix + "last_rotated"))
        if created is None:
            continue
        found.append(
            Credential(
                id=f"{arn}#access-key-{slot}",
                principal_id=arn,
                kind=CredentialKind.ACCESS_KEY,
                active=row.get(prefix + "active") == "true",
                created=created,
                last_used=report_time(row.get(prefix + "last_used_date")),
                last_used_service=report_value(row.get(prefix + "last_used_service")),
                last_used_region=report_value(row.get(prefix + "last_used_region")),
                mfa=mfa,
            )
        )
    return found


# --- Resources and workloads --------------------------------------------------------------------


def _resource_policies(extras: dict[str, Any], account: str, out: Normalized) -> None:
    for item in extras.get("ResourcePolicies", []):
        arn = item["Arn"]
        service = item["Service"]
        kind = RESOURCE_KINDS.get(service)
        if kind is None:
            raise ValueError(f"resource policy for {arn}: unknown Service {service!r}")
        out.resources.append(
            Resource(
                id=arn,
                cloud=Cloud.AWS,
                kind=kind,
                name=item.get("Name") or _resource_name(arn),
                scope_id=account,
                region=item.get("Region"),
            )
        )
        if item.get("Policy") in (None, "", {}):
            continue
        try:
            document = parse_policy_document(item["Policy"])
        except PolicyTextError as exc:
            raise PolicyTextError(f"resource policy of {arn}: {exc}") from exc
        policy = Policy(
            id=f"{arn}#policy",
            cloud=Cloud.AWS,
            kind=PolicyKind.RESOURCE,
            name=f"{_resource_name(arn)} resource policy",
            scope_id=account,
            document=document,
        )
        out.policies.append(policy)
        out.attachments.append(Attachment(policy_id=policy.id, target_id=arn, kind=AttachmentKind.RESOURCE))


def _resource_name(arn: str) -> str:
    tail = arn.split(":", 5)[-1]
    return tail.rsplit("/", 1)[-1].rsplit(":", 1)[-1] or arn


@dataclass(frozen=True)
class _IamNames:
    """What the account's authorization details say names refer to: role name -> ARN, instance
    profile name -> ARN, instance profile ARN -> the roles in it. Role and instance profile names
    are unique in an account, whatever their path."""

    roles: dict[str, str]
    profiles: dict[str, str]
    profile_roles: dict[str, tuple[str, ...]]

    def role(self, ref: str, account: str) -> str:
        """A role ARN for ``ref``, an ARN or a name (``name`` or ``path/name``, as Glue takes it)."""
        if ref.startswith("arn:"):
            return ref
        return self.roles.get(ref.rsplit("/", 1)[-1]) or f"arn:aws:iam::{account}:role/{ref.lstrip('/')}"

    def profile(self, spec: dict[str, Any], account: str) -> str:
        """An instance profile ARN for ``{"Arn": ...}`` or ``{"Name": ...}``."""
        if spec.get("Arn"):
            return str(spec["Arn"])
        name = str(spec["Name"])
        return self.profiles.get(name) or f"arn:aws:iam::{account}:instance-profile/{name}"


def _workloads(extras: dict[str, Any], account: str, names: _IamNames, out: Normalized) -> None:
    """Each ``Workloads`` entry (shape: scanner/aws/workload_entry.py) runs as its ``RoleArns`` and
    the roles of its instance profiles. A profile the authorization details do not list adds no
    role (its ARN stays in the ``instance_profile`` attribute)."""
    for item in extras.get("Workloads", []):
        profiles = [item["InstanceProfileArn"]] if item.get("InstanceProfileArn") else []
        profiles += [names.profile(spec, account) for spec in item.get("InstanceProfiles") or []]
        profiles = list(dict.fromkeys(profiles))
        roles = [names.role(str(r), account) for r in item.get("RoleArns") or ()]
        roles += [r for p in profiles for r in names.profile_roles.get(p, ())]
        attributes = {str(k): str(v) for k, v in (item.get("Attributes") or {}).items()}
        if profiles:
            attributes["instance_profile"] = ",".join(profiles)
        out.workloads.append(
            Workload(
                id=item["Arn"],
                cloud=Cloud.AWS,
                kind=WorkloadKind(item["Kind"]),
                name=item.get("Name") or _resource_name(item["Arn"]),
                scope_id=account,
                principal_ids=tuple(dict.fromkeys(roles)),
                region=item.get("Region"),
                attributes=attributes,
            )
        )
