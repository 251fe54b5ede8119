"""AWS service last accessed data: which services a user's or role's policies allow, and when each
was last used (``iam:GenerateServiceLastAccessedDetails`` then ``iam:GetServiceLastAccessedDetails``).

Semantics (IAM User Guide, "Refining permissions using last accessed information"): the report
lists every service the principal's policies allow; ``LastAuthenticated`` is the most recent
*authenticated attempt*, denied attempts included; a service with no ``LastAuthenticated`` was not
attempted within the tracking period, at least the last 400 days (less in a Region that began
tracking within the last year). So a listed service without a date is granted-but-unused evidence
over ``[JobCompletionDate - 400 days, JobCompletionDate]``; a principal whose report could not be
made has no records and a coverage gap (``Covers.USAGE``) naming it.

Files: the JSON ``aws iam get-service-last-accessed-details --job-id ID`` prints does not say which
principal it is about, so the reader takes it with the principal's ARN added as a top-level
``"Arn"`` key (``... | jq --arg arn ARN '. + {Arn: $arn}'``), one such object per file or a JSON
list of them. A report without ``Arn`` is an error naming the file.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from models import Cloud, CoverageEntry, CoverageStatus, Usage, UsageKind
from scanner.aws.dates import parse_time
from scanner.aws.recorder import FATAL, classify, error_code
from scanner.errors import BadInputError, ScanError
from scanner.normalized import Normalized, usage_coverage

#: How far back IAM tracks service access (at least; less in Regions that began tracking later).
TRACKING_PERIOD = timedelta(days=400)
MARKER = '"ServicesLastAccessed"'
SERVICE = "iam"
OPERATION = "GetServiceLastAccessedDetails"
WHAT_COUNTS = "last authenticated attempt (denied attempts count); tracked at least 400 days"


_coverage = partial(usage_coverage, Cloud.AWS, SERVICE)


def account_of(arn: str) -> str:
    """The account id of an IAM ARN (``arn:aws:iam::123456789012:role/x``)."""
    parts = arn.split(":")
    if len(parts) < 6 or parts[0] != "arn" or parts[2] != "iam" or not parts[4].isdigit():
        raise ValueError(f"{arn!r} is not an IAM ARN")
    return parts[4]


def _time(value: Any, where: str) -> datetime | None:
    try:
        return parse_time(value)
    except ValueError:
        raise ValueError(f"{where} is not an ISO 8601 timestamp: {value!r}") from None


def normalize_report(arn: str, report: dict[str, Any], *, source: str, origin: str) -> list[Usage]:
    """Usage records (one per service) from one COMPLETED ``GetServiceLastAccessedDetails`` answer
    about ``arn``. Raises ``ValueError`` on a report that is not complete or not of this shape."""
    if report.get("JobStatus") != "COMPLETED":
        raise ValueError(f"the report's JobStatus is {report.get('JobStatus')!r}, not COMPLETED")
    services = report.get("ServicesLastAccessed")
    if not isinstance(services, list):
        raise ValueError("ServicesLastAccessed is not a list")
    observed = _time(report.get("JobCompletionDate"), "JobCompletionDate")
    since = observed - TRACKING_PERIOD if observed else None
    scope = account_of(arn)
    out = []
    for i, item in enumerate(services):
        if not isinstance(item, dict) or not isinstance(item.get("ServiceNamespace"), str):
            raise ValueError(f"ServicesLastAccessed[{i}] has no ServiceNamespace")
        count = item.get("TotalAuthenticatedEntities")
        out.append(
            Usage(
                principal_id=arn,
                cloud=Cloud.AWS,
                kind=UsageKind.SERVICE,
                subject=item["ServiceNamespace"],
                scope_id=scope,
                source=source,
                origin=origin,
                last_used=_time(item.get("LastAuthenticated"), f"ServicesLastAccessed[{i}].LastAuthenticated"),
                tracked_since=since,
                observed_at=observed,
                native_id=arn,
                entity=item.get("LastAuthenticatedEntity") or None,
                region=item.get("LastAuthenticatedRegion") or None,
                count=count if isinstance(count, int) else None,
                detail=f"{item.get('ServiceName') or item['ServiceNamespace']}: {WHAT_COUNTS}",
            )
        )
    return out


# --- files ------------------------------------------------------------------------------------


def detect(path: Path, text: str) -> Normalized | None:
    """The usage records of a service-last-accessed file, or ``None`` if it is not one. A file
    that is one but malformed, or that does not name its principal, raises :class:`BadInputError`."""
    if MARKER not in text:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    reports = data if isinstance(data, list) else [data]
    if not reports or not all(isinstance(r, dict) and "ServicesLastAccessed" in r for r in reports):
        return None
    out = Normalized()
    counts: dict[str, int] = {}
    for i, report in enumerate(reports):
        where = f"{path}" + (f" [{i}]" if isinstance(data, list) else "")
        arn = report.get("Arn")
        if not isinstance(arn, str) or not arn:
            raise BadInputError(
                f"{where}: a service last accessed report that does not say which principal it is about; add the "
                "user's or role's ARN as a top-level \"Arn\" key (aws iam get-service-last-accessed-details "
                "--job-id ID | jq --arg arn ARN '. + {Arn: $arn}')"
            )
        try:
            records = normalize_report(arn, report, source="file", origin=str(path))
        except ValueError as exc:
            raise BadInputError(f"{where}: not a usable service last accessed report for {arn} ({exc})") from exc
        out.usage.extend(records)
        counts[account_of(arn)] = counts.get(account_of(arn), 0) + len(records)
    for account, items in sorted(counts.items()):
        out.coverage.append(_coverage(account, "file", str(path), CoverageStatus.OK, items=items))
    return out


# --- live -------------------------------------------------------------------------------------


def principal_arns(details: dict[str, Any] | None) -> list[str] | None:
    """The users and roles of ``get-account-authorization-details``: whom to ask about (``None``
    when the details could not be read: then nobody is known)."""
    if details is None:
        return None
    users = [u["Arn"] for u in details.get("UserDetailList", []) if u.get("Arn")]
    roles = [r["Arn"] for r in details.get("RoleDetailList", []) if r.get("Arn")]
    return sorted(set(users + roles))


def collect(
    iam: Any,
    account_id: str,
    arns: Sequence[str] | None,
    *,
    wait_seconds: float = 300.0,
    poll_seconds: float = 2.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[Normalized, list[dict[str, Any]]]:
    """Ask IAM for the service last accessed report of every ARN and wait for them (at most
    ``wait_seconds`` in all, polling every ``poll_seconds``).

    Returns the records with their coverage, and the completed answers with their ``Arn`` (the
    file format :func:`detect` reads). A principal whose report could not be generated, failed
    (``JobStatus`` ``FAILED``) or was not ready in time has no records and a gap naming it; a
    denial of the first request is one gap for the whole account (the caller lacks
    ``iam:GenerateServiceLastAccessedDetails``), as is ``arns`` None (the principals are unknown).
    Unusable credentials raise :class:`ScanError`."""
    out = Normalized()
    answers: list[dict[str, Any]] = []
    jobs: dict[str, str] = {}
    if arns is None:
        detail = "the account's users and roles could not be read, so no service last accessed report was asked for"
        out.coverage.append(_coverage(account_id, "api", OPERATION, CoverageStatus.ERROR, detail=detail))
        return out, answers
    for arn in arns:
        started = _call(iam.generate_service_last_accessed_details, Arn=arn)
        if isinstance(started, _Failure):
            if started.status is CoverageStatus.DENIED and not jobs:
                out.coverage.append(
                    _coverage(
                        account_id,
                        "api",
                        "GenerateServiceLastAccessedDetails",
                        started.status,
                        detail=f"{started.detail}; no principal's service last accessed data was read",
                    )
                )
                return out, answers
            out.coverage.append(_gap(account_id, "GenerateServiceLastAccessedDetails", arn, started))
            continue
        jobs[arn] = str(started["JobId"])
    deadline = clock() + wait_seconds
    pending = dict(jobs)
    while pending:
        for arn, job in list(pending.items()):
            answer = _report(iam, job)
            if isinstance(answer, _Failure):
                out.coverage.append(_gap(account_id, OPERATION, arn, answer))
                del pending[arn]
            elif answer.get("JobStatus") == "COMPLETED":
                out.usage.extend(normalize_report(arn, answer, source="api", origin=OPERATION))
                answers.append({"Arn": arn, **answer})
                del pending[arn]
            elif answer.get("JobStatus") == "FAILED":
                error = answer.get("Error") or {}
                failure = _Failure(
                    CoverageStatus.ERROR, f"job failed: {error.get('Code', '')}: {error.get('Message', '')}"
                )
                out.coverage.append(_gap(account_id, OPERATION, arn, failure))
                del pending[arn]
        if not pending:
            break
        if clock() >= deadline:
            for arn in pending:
                failure = _Failure(CoverageStatus.ERROR, f"report not ready after {wait_seconds:.0f}s (IN_PROGRESS)")
                out.coverage.append(_gap(account_id, OPERATION, arn, failure))
            break
        sleep(poll_seconds)
    if answers or not arns:
        read = f"{len(answers)} of {len(arns)} principals read (the others are gaps naming them)"
        out.coverage.append(
            _coverage(account_id, "api", OPERATION, CoverageStatus.OK, items=len(out.usage), detail=read)
        )
    return out, answers


@dataclass(frozen=True)
class _Failure:
    """A read that failed: its coverage status and what the API said."""

    status: CoverageStatus
    detail: str


def _gap(account_id: str, operation: str, arn: str, failure: _Failure) -> CoverageEntry:
    return _coverage(account_id, "api", f"{operation} {arn}", failure.status, detail=failure.detail, target=arn)


def _call(fn: Callable[..., Any], **kwargs: Any) -> dict[str, Any] | _Failure:
    try:
        return dict(fn(**kwargs))
    except ClientError as exc:
        code = error_code(exc)
        message = exc.response.get("Error", {}).get("Message", "")
        if code in FATAL:
            raise ScanError(
                f"AWS rejected the credentials ({code}) reading service last accessed data: {message}"
            ) from exc
        return _Failure(classify(code), f"{code}: {message}".strip())
    except BotoCoreError as exc:
        return _Failure(CoverageStatus.ERROR, f"{type(exc).__name__}: {exc}")


def _report(iam: Any, job: str) -> dict[str, Any] | _Failure:
    """Every page of one job's answer (``Marker`` / ``IsTruncated``), merged."""
    merged: dict[str, Any] | None = None
    marker = ""
    while True:
        page = _call(iam.get_service_last_accessed_details, JobId=job, **({"Marker": marker} if marker else {}))
        if isinstance(page, _Failure):
            return page
        if merged is None:
            merged = {k: v for k, v in page.items() if k not in ("ResponseMetadata", "IsTruncated", "Marker")}
            merged["ServicesLastAccessed"] = list(page.get("ServicesLastAccessed") or [])
        else:
            merged["ServicesLastAccessed"].extend(page.get("ServicesLastAccessed") or [])
        if page.get("JobStatus") != "COMPLETED" or not page.get("IsTruncated"):
            break
        marker = str(page.get("Marker") or "")
    for key in ("JobCreationDate", "JobCompletionDate"):
        if isinstance(merged.get(key), datetime):
            merged[key] = merged[key].isoformat()
    for item in merged["ServicesLastAccessed"]:
        if isinstance(item.get("LastAuthenticated"), datetime):
            item["LastAuthenticated"] = item["LastAuthenticated"].isoformat()
    return merged
