"""AWS export files -> raw answers. Formats are told apart by content, never by file name.

What is read (see README, "Offline scans"):

- ``aws iam get-account-authorization-details`` JSON: keys ``UserDetailList``, ``GroupDetailList``,
  ``RoleDetailList``, ``Policies``. The account is the one its ARNs name.
- ``aws iam get-credential-report`` JSON (``Content`` base64) or the decoded CSV.
- ``iamdrift.aws.account-extras/1`` JSON (OIDC/SAML providers, access keys, resource policies,
  workloads), written by ``iamdrift scan --save-raw``.
- ``iamdrift.aws.organization/1`` JSON (the ``aws organizations`` answers), likewise.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from models import Cloud, CoverageEntry, CoverageStatus, Covers
from scanner.aws.credential_report import HEADER_START, decode_report_content, report_rows
from scanner.aws.raw import EXTRAS_FORMAT, ORGANIZATION_FORMAT, RawAccount, RawOrganization
from scanner.errors import BadInputError

AUTH_DETAILS_KEYS = ("UserDetailList", "GroupDetailList", "RoleDetailList")
ACCOUNT_IN_ARN = re.compile(r"^arn:aws[\w-]*:iam::(\d{12}):")


@dataclass(frozen=True)
class Detected:
    """One file, its format and the account it describes (``None`` for an organization)."""

    path: Path
    kind: str  # authorization_details | credential_report | extras | organization
    account_id: str | None
    content: Any


def is_aws_document(data: Any) -> bool:
    return _kind_of(data) is not None


def _kind_of(data: Any) -> str | None:
    if isinstance(data, dict):
        if any(k in data for k in AUTH_DETAILS_KEYS):
            return "authorization_details"
        if data.get("Format") == EXTRAS_FORMAT:
            return "extras"
        if data.get("Format") == ORGANIZATION_FORMAT or ("Organization" in data and "Accounts" in data):
            return "organization"
        if "Content" in data and "ReportFormat" in data:
            return "credential_report"
    if isinstance(data, str) and data.lstrip().startswith(HEADER_START):
        return "credential_report"
    return None


def detect(path: Path, data: Any) -> Detected | None:
    """Classify parsed file content; ``None`` if it is no AWS format iamdrift reads."""
    kind = _kind_of(data)
    if kind is None:
        return None
    if kind == "authorization_details":
        return Detected(path, kind, _auth_details_account(path, data), data)
    if kind == "extras":
        account = str(data.get("AccountId", ""))
        if not re.fullmatch(r"\d{12}", account):
            raise BadInputError(f"{path}: {EXTRAS_FORMAT} needs AccountId, a 12-digit account id")
        return Detected(path, kind, account, data)
    if kind == "organization":
        if not isinstance(data.get("Organization"), dict) or "Id" not in data["Organization"]:
            raise BadInputError(f"{path}: organization export lacks Organization.Id")
        return Detected(path, kind, None, data)
    try:
        text = decode_report_content(data["Content"] if isinstance(data, dict) else data)
        rows = report_rows(text)
    except (ValueError, KeyError) as exc:
        raise BadInputError(f"{path}: unreadable credential report ({exc})") from exc
    accounts = {m.group(1) for row in rows if (m := ACCOUNT_IN_ARN.match(row.get("arn", "")))}
    named = re.search(r"\d{12}", path.name)
    if not accounts and named:  # a report with no rows names no account; its file name may
        accounts = {named.group(0)}
    if len(accounts) != 1:
        raise BadInputError(f"{path}: a credential report must describe exactly one account, found {sorted(accounts)}")
    return Detected(path, kind, accounts.pop(), text)


def _auth_details_account(path: Path, data: dict[str, Any]) -> str:
    accounts = set()
    for key in (*AUTH_DETAILS_KEYS, "Policies"):
        items = data.get(key, [])
        if not isinstance(items, list):
            raise BadInputError(f"{path}: {key} must be a list")
        for item in items:
            match = ACCOUNT_IN_ARN.match(str(item.get("Arn", ""))) if isinstance(item, dict) else None
            if match:
                accounts.add(match.group(1))
    if len(accounts) > 1:
        raise BadInputError(
            f"{path}: authorization details name several accounts {sorted(accounts)}; export one file per account"
        )
    if accounts:
        return accounts.pop()
    named = re.search(r"\d{12}", path.name)
    if named:
        return named.group(0)
    raise BadInputError(f"{path}: no ARN names the account; put the 12-digit account id in the file name")


def assemble(detected: list[Detected]) -> tuple[list[RawAccount], RawOrganization | None]:
    """Group detected files by account. Two files of one kind for one account is an error."""
    accounts: dict[str, RawAccount] = {}
    sources: dict[tuple[str, str], Path] = {}
    organization: RawOrganization | None = None
    for item in detected:
        if item.kind == "organization":
            if organization is not None:
                raise BadInputError(f"{item.path}: a second organization export (the first is {organization.origin})")
            organization = RawOrganization(export=item.content, origin=str(item.path))
            organization.coverage.append(_file_entry(item, item.content["Organization"]["Id"], "organizations"))
            continue
        assert item.account_id is not None
        key = (item.account_id, item.kind)
        if key in sources:
            raise BadInputError(
                f"{item.path}: account {item.account_id} already has its "
                f"{item.kind.replace('_', ' ')} from {sources[key]}"
            )
        sources[key] = item.path
        raw = accounts.setdefault(item.account_id, RawAccount(account_id=item.account_id, origin=str(item.path)))
        if item.kind == "authorization_details":
            raw.authorization_details = item.content
            raw.origin = str(item.path)
        elif item.kind == "credential_report":
            raw.credential_report = item.content
            raw.report_origin = str(item.path)
        else:
            raw.extras = item.content
            raw.extras_origin = str(item.path)
            raw.coverage.extend(extras_entries(item))
        raw.coverage.append(_file_entry(item, item.account_id, "iam"))
    for raw in accounts.values():
        if raw.authorization_details is None:
            others = ", ".join(str(p) for (a, _), p in sources.items() if a == raw.account_id)
            raise BadInputError(
                f"{others}: account {raw.account_id} has no get-account-authorization-details export among the inputs"
            )
    return sorted(accounts.values(), key=lambda r: r.account_id), organization


#: What each file kind yields.
FILE_COVERS = {
    "authorization_details": (Covers.PRINCIPALS, Covers.IDENTITY_POLICIES, Covers.TRUST_POLICIES, Covers.BOUNDARIES),
    "credential_report": (Covers.CREDENTIALS,),
    "extras": (Covers.CREDENTIALS, Covers.PRINCIPALS),
    "organization": (Covers.ORGANIZATION, Covers.ORG_POLICIES),
}
#: Services whose resource policies an account-extras file holds (scanner/aws/fetch_resources.py).
EXTRAS_SERVICES = ("s3", "kms", "sqs", "sns", "secretsmanager", "lambda", "codebuild")
#: The services a file's ``Regions`` covers when it has no ``RegionServices`` (files written before
#: CodeBuild project policies were read): such a file says nothing about the others.
LEGACY_REGION_SERVICES = ("s3", "kms", "sqs", "sns", "secretsmanager", "lambda")
#: The service that lists each kind of workload an account-extras file holds (the ``service`` of
#: the live reads: scanner/aws/fetch_resources.py, scanner/aws/fetch_workloads.py).
WORKLOAD_SERVICES = {
    "ec2_instance": "ec2",
    "ec2_launch_template": "ec2",
    "lambda_function": "lambda",
    "ecs_task_definition": "ecs",
    "ecs_service": "ecs",
    "ecs_task": "ecs",
    "glue_dev_endpoint": "glue",
    "glue_job": "glue",
    "cloudformation_stack": "cloudformation",
    "cloudformation_stack_set": "cloudformation",
    "codebuild_project": "codebuild",
    "sagemaker_notebook": "sagemaker",
    "sagemaker_job": "sagemaker",
    "app_runner_service": "apprunner",
    "step_functions_state_machine": "stepfunctions",
    "bedrock_agent": "bedrock-agent",
}


def _file_entry(item: Detected, scope_id: str, service: str) -> CoverageEntry:
    return CoverageEntry(
        scope_id=scope_id,
        source="file",
        service=service,
        operation=f"{item.kind}:{item.path}",
        status=CoverageStatus.OK,
        items=_count(item),
        cloud=Cloud.AWS,
        covers=FILE_COVERS.get(item.kind, ()),
    )


def extras_entries(item: Detected) -> list[CoverageEntry]:
    """What an account-extras file covers: the resource policies (and workloads) of each service
    in each region it lists — every resource of that service there, with its policy or without
    one. ``Regions`` (written by ``scan --save-raw``) names regions read in full even where they
    held nothing, for the services ``RegionServices`` names (without it, the six read before
    CodeBuild); without ``Regions``, the regions its entries name."""
    data = item.content
    assert item.account_id is not None
    listed: dict[tuple[str, str | None], int] = {}
    for entry in data.get("ResourcePolicies") or []:
        if isinstance(entry, dict) and entry.get("Service") in EXTRAS_SERVICES:
            key = (str(entry["Service"]), entry.get("Region"))
            listed[key] = listed.get(key, 0) + 1
    regions = data.get("Regions")
    region_services = data.get("RegionServices")
    if not isinstance(region_services, list):
        region_services = list(LEGACY_REGION_SERVICES)
    if isinstance(regions, list):
        for region in regions:
            for service in EXTRAS_SERVICES:
                if service in region_services:
                    listed.setdefault((service, str(region)), 0)
    workloads: dict[tuple[str, str | None], int] = {}
    for entry in data.get("Workloads") or []:
        workload_service = WORKLOAD_SERVICES.get(str(entry.get("Kind"))) if isinstance(entry, dict) else None
        if workload_service:
            key = (workload_service, entry.get("Region"))
            workloads[key] = workloads.get(key, 0) + 1
    kinds = (
        ("ResourcePolicies", listed, (Covers.RESOURCE_POLICIES, Covers.RESOURCES)),
        ("Workloads", workloads, (Covers.WORKLOADS,)),
    )
    return [
        CoverageEntry(
            scope_id=item.account_id,
            source="file",
            service=service,
            operation=f"extras:{section}:{item.path}",
            status=CoverageStatus.OK,
            region=region,
            items=count,
            cloud=Cloud.AWS,
            covers=covers,
        )
        for section, counts, covers in kinds
        for (service, region), count in sorted(counts.items(), key=lambda kv: (kv[0][0], kv[0][1] or ""))
    ]


def _count(item: Detected) -> int:
    data = item.content
    if item.kind == "authorization_details":
        return sum(len(data.get(k, [])) for k in (*AUTH_DETAILS_KEYS, "Policies"))
    if item.kind == "credential_report":
        return max(0, len(str(data).strip().splitlines()) - 1)
    if item.kind == "organization":
        return len(data.get("Accounts", []))
    return sum(len(v) for v in data.values() if isinstance(v, list))


def load_json_text(path: Path, text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadInputError(f"{path}: malformed JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from exc
