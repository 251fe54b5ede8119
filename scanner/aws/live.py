"""Live AWS scans: one account, or every account of an organization through an assumed role.

Order: check the credentials (sts:GetCallerIdentity; unusable credentials stop the scan), read
the organization when readable, pick the accounts, then scan them in parallel (bounded). In each
account: IAM (authorization details, credential report, access keys, identity providers), then
every region asked for (resource policies, workloads). Every failed read is a coverage gap; the
scan goes on. Only List/Get/Describe/BatchGet/Generate-report operations are called, plus sts:AssumeRole
for other accounts.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from models import CoverageStatus, Snapshot, Usage
from scanner.aws.clients import AwsClients
from scanner.aws.exports import EXTRAS_SERVICES
from scanner.aws.fetch_iam import fetch_account_iam
from scanner.aws.fetch_org import fetch_organization
from scanner.aws.fetch_resources import fetch_region, s3_policies
from scanner.aws.normalize import normalize
from scanner.aws.raw import RawAccount, RawOrganization, empty_extras
from scanner.aws.recorder import Recorder, error_code
from scanner.aws.usage import collect as collect_usage
from scanner.aws.usage import principal_arns
from scanner.errors import ScanError

Progress = Callable[[str], None]


def caller_identity(clients: AwsClients) -> dict[str, Any]:
    try:
        return dict(clients.client("sts").get_caller_identity())
    except NoCredentialsError as exc:
        raise ScanError(
            "no AWS credentials found: set --profile, AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, "
            "or log in with `aws sso login`"
        ) from exc
    except ClientError as exc:
        code = error_code(exc)
        message = exc.response.get("Error", {}).get("Message", "")
        raise ScanError(
            f"AWS rejected the credentials at sts:GetCallerIdentity ({code}: {message}); "
            "refresh or fix them and scan again"
        ) from exc
    except BotoCoreError as exc:
        raise ScanError(f"cannot reach AWS STS: {exc}") from exc


def enabled_regions(clients: AwsClients, rec: Recorder) -> list[str]:
    answer = rec.call(
        "ec2", "DescribeRegions", lambda: clients.client("ec2").describe_regions(AllRegions=False)["Regions"], count=len
    )
    if not answer:
        return [clients.default_region]
    return sorted(r["RegionName"] for r in answer if r.get("OptInStatus") != "not-opted-in")


def scan_account(
    clients: AwsClients,
    account_id: str,
    regions: Sequence[str],
    partition: str,
    progress: Progress | None,
    usage: list[Usage] | None = None,
) -> RawAccount:
    """One account's answers; with ``usage``, its principals' service last accessed data is read
    too (records appended there, their coverage kept with the account's)."""
    rec = Recorder(account_id)
    if progress:
        progress(f"account {account_id}: IAM")
    details, report, iam_extras = fetch_account_iam(clients, rec)
    used = collect_usage(clients.client("iam"), account_id, principal_arns(details))[0] if usage is not None else None
    extras = empty_extras(account_id)
    extras.update(iam_extras)
    extras["ResourcePolicies"].extend(s3_policies(clients, rec, set(regions), partition))
    for region in regions:
        if progress:
            progress(f"account {account_id}: {region}")
        policies, workloads = fetch_region(clients, rec, region, account_id, partition)
        extras["ResourcePolicies"].extend(policies)
        extras["Workloads"].extend(workloads)
    entries = rec.entries()
    # What a file written from this scan covers in full: the regions where every resource read of
    # the services in RegionServices succeeded. CodeBuild project policies (which ReadOnlyAccess
    # does not allow reading) are left out of RegionServices when any of their reads failed,
    # rather than taking every region's other services down with them.
    gaps = [e for e in entries if e.is_gap and e.service in EXTRAS_SERVICES]
    services = [s for s in EXTRAS_SERVICES if s != "codebuild" or not any(e.service == s for e in gaps)]
    failed = {e.region for e in gaps if e.service in services}
    extras["Regions"] = [r for r in regions if r not in failed and None not in failed]
    extras["RegionServices"] = services
    if "codebuild" not in services:
        # A project whose policy read failed is not a project without a policy: keep only the
        # policies read, so the file claims nothing about the others.
        extras["ResourcePolicies"] = [
            p for p in extras["ResourcePolicies"] if p.get("Service") != "codebuild" or p.get("Policy")
        ]
    raw = RawAccount(
        account_id=account_id,
        origin=f"AWS account {account_id} (live)",
        authorization_details=details,
        credential_report=report,
        extras=extras,
    )
    raw.coverage.extend(entries)
    if usage is not None and used is not None:
        usage.extend(used.usage)
        raw.coverage.extend(used.coverage)
    return raw


def scan_live(
    clients: AwsClients,
    *,
    regions: Sequence[str] | None = None,
    assume_role: str | None = None,
    accounts: Sequence[str] | None = None,
    parallel: int = 4,
    label: str = "",
    progress: Progress | None = None,
    save_raw: Path | None = None,
    usage: bool = False,
) -> Snapshot:
    """Scan AWS and return the snapshot (not stored: the caller stores it).

    ``assume_role`` names a role (e.g. ``OrganizationAccountAccessRole`` or a read-only audit
    role) assumed in every account of the organization, or in ``accounts`` if given; the caller's
    own account is scanned with the caller's credentials. Without it only the caller's account is
    scanned. ``save_raw`` writes the raw answers as export files that ``scan --from`` reads.
    ``usage`` also reads every user's and role's service last accessed data
    (:mod:`scanner.aws.usage`); without it the snapshot has no usage coverage (usage unknown).
    """
    identity = caller_identity(clients)
    caller_account = identity["Account"]
    partition = str(identity["Arn"]).split(":")[1]
    base = Recorder(caller_account)
    if progress:
        progress("organization")
    export = fetch_organization(clients.client("organizations"), base)
    organization = None
    if export is not None:
        organization = RawOrganization(export=export, origin="AWS Organizations (live)")
    if accounts:
        targets = list(dict.fromkeys(accounts))
    elif assume_role:
        if export is None:
            raise ScanError(
                "--assume-role needs the organization's account list, which these credentials cannot read "
                "(see the organizations gap); name the accounts with --account"
            )
        targets = sorted(a["Id"] for a in export["Accounts"] if a.get("Status", "ACTIVE") == "ACTIVE")
    else:
        targets = [caller_account]
    if any(t != caller_account for t in targets) and not assume_role:
        raise ScanError("scanning other accounts needs --assume-role ROLE_NAME")
    scan_regions = list(regions) if regions else enabled_regions(clients, base)
    used: list[Usage] | None = [] if usage else None

    def one(account_id: str) -> RawAccount:
        if account_id == caller_account:
            return scan_account(clients, account_id, scan_regions, partition, progress, used)
        role_arn = f"arn:{partition}:iam::{account_id}:role/{assume_role}"
        try:
            assumed = clients.assume(role_arn)
        except ClientError as exc:
            rec = Recorder(account_id)
            code = error_code(exc)
            status = CoverageStatus.DENIED if code == "AccessDenied" else CoverageStatus.ERROR
            rec.gap(
                "sts", "AssumeRole", status, f"{role_arn}: {code}: {exc.response.get('Error', {}).get('Message', '')}"
            )
            raw = RawAccount(account_id=account_id, origin=f"AWS account {account_id} (live)")
            raw.coverage.extend(rec.entries())
            return raw
        return scan_account(assumed, account_id, scan_regions, partition, progress, used)

    with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        raws = list(pool.map(one, targets))
    if save_raw is not None:
        write_raw(save_raw, raws, organization)
    parts = normalize(raws, organization)
    parts.coverage.extend(base.entries())
    parts.usage.extend(used or ())
    meta = {"caller": str(identity["Arn"]), "regions": ",".join(scan_regions), "accounts": ",".join(targets)}
    return parts.to_snapshot(source="live", label=label, meta=meta)


def write_raw(directory: Path, raws: Sequence[RawAccount], organization: RawOrganization | None) -> None:
    """Write the raw answers in the export formats ``scan --from`` reads."""
    directory.mkdir(parents=True, exist_ok=True)

    def dump(name: str, data: Any) -> None:
        (directory / name).write_text(json.dumps(data, indent=2, default=_json_default) + "\n")

    if organization is not None:
        dump("organization.json", organization.export)
    for raw in raws:
        if raw.authorization_details is None:
            continue
        dump(f"{raw.account_id}-authorization-details.json", raw.authorization_details)
        if raw.credential_report is not None:
            (directory / f"{raw.account_id}-credential-report.csv").write_text(raw.credential_report)
        dump(f"{raw.account_id}-extras.json", raw.extras)


def _json_default(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")
