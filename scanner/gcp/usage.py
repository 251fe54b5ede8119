"""Google Cloud Activity Analyzer: when each service account and service-account key last
authenticated (Policy Analyzer ``activities.query``, activity types
``serviceAccountLastAuthentication`` and ``serviceAccountKeyLastAuthentication``).

Semantics (IAM docs, "View recent usage for service accounts and keys"): an authentication
activity is any call of a Google API made with the account or key, failed calls included; the date
is reported by day (in Pacific time); requests authenticated with API keys bound to a service
account are not counted. Each activity carries its ``observationPeriod`` (``startTime`` ..
``endTime``), the window the date is vouched for. An account or key the answer does not list has
no record here: nothing is concluded from its absence, only the coverage entry (``Covers.USAGE``)
says which projects were read.

Files: what ``gcloud policy-intelligence query-activity --activity-type=TYPE --project=P
--format=json`` prints (a JSON list of activities), or the REST answer (``{"activities": [...]}``).
Each activity names its account or key in ``fullResourceName``
(``//iam.googleapis.com/projects/P/serviceAccounts/EMAIL[/keys/KEY]``), so the file needs no wrapper.

Live: the REST API (``GET https://policyanalyzer.googleapis.com/v1/projects/P/locations/global/
activityTypes/TYPE/activities:query``, at ``RestReader.policyanalyzer_endpoint``) through the scan's
authorized session; there is no Python client library for it here. Needs
``policyanalyzer.serviceAccount[Key]LastAuthenticationActivities.query`` (role
``roles/policyanalyzer.activityAnalysisViewer``) and the Policy Analyzer API enabled.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

from google.api_core import exceptions as api
from google.auth import exceptions as auth

from models import Cloud, CoverageStatus, Usage, UsageKind
from scanner.errors import BadInputError
from scanner.gcp.recorder import classify, fatal
from scanner.gcp.rest import RestReader
from scanner.normalized import Normalized, usage_coverage

SERVICE = "policyanalyzer"
ACCOUNT_ACTIVITY = "serviceAccountLastAuthentication"
KEY_ACTIVITY = "serviceAccountKeyLastAuthentication"
ACTIVITY_TYPES = (ACCOUNT_ACTIVITY, KEY_ACTIVITY)
RESOURCE_PREFIX = "//iam.googleapis.com/"
WHAT_COUNTS = "last authentication, by day (failed API calls count; API keys bound to the account do not)"


def _time(value: Any, where: str) -> datetime | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise ValueError(f"{where} is not a timestamp: {value!r}")
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{where} is not an ISO 8601 timestamp: {value!r}") from None


_coverage = partial(usage_coverage, Cloud.GCP, SERVICE)


def normalize_activity(activity: Any, *, source: str, origin: str, where: str) -> Usage:
    """One activity as a usage record; ``ValueError`` (naming ``where``) when it is not of the shape."""
    if not isinstance(activity, dict):
        raise ValueError(f"{where} is not an object")
    kind = activity.get("activityType")
    name = activity.get("fullResourceName")
    if kind not in ACTIVITY_TYPES:
        raise ValueError(f"{where}.activityType is {kind!r}, not one of {', '.join(ACTIVITY_TYPES)}")
    if not isinstance(name, str) or not name.startswith(RESOURCE_PREFIX):
        raise ValueError(f"{where}.fullResourceName is not //iam.googleapis.com/projects/P/serviceAccounts/...")
    path = name.removeprefix(RESOURCE_PREFIX)
    parts = path.split("/")
    is_key = kind == KEY_ACTIVITY
    if len(parts) != (6 if is_key else 4) or parts[0] != "projects" or parts[2] != "serviceAccounts":
        raise ValueError(f"{where}.fullResourceName {name!r} does not name a service account{' key' if is_key else ''}")
    body = activity.get("activity") or {}
    if not isinstance(body, dict):
        raise ValueError(f"{where}.activity is not an object")
    account = body.get("serviceAccountKey" if is_key else "serviceAccount") or {}
    period = activity.get("observationPeriod") or {}
    project = parts[1]
    if project == "-" and isinstance(account, dict) and account.get("projectNumber"):
        project = str(account["projectNumber"])
    email = parts[3]
    return Usage(
        principal_id=f"serviceAccount:{email}" if "@" in email else name,
        cloud=Cloud.GCP,
        kind=UsageKind.CREDENTIAL if is_key else UsageKind.AUTHENTICATION,
        subject=path if is_key else "serviceAccount",
        scope_id=f"projects/{project}",
        source=source,
        origin=origin,
        last_used=_time(body.get("lastAuthenticatedTime"), f"{where}.activity.lastAuthenticatedTime"),
        tracked_since=_time(period.get("startTime"), f"{where}.observationPeriod.startTime"),
        observed_at=_time(period.get("endTime"), f"{where}.observationPeriod.endTime"),
        native_id=str(account.get("serviceAccountId"))
        if isinstance(account, dict) and account.get("serviceAccountId")
        else None,
        detail=f"{kind}: {WHAT_COUNTS}",
    )


def normalize_activities(activities: Sequence[Any], *, source: str, origin: str) -> list[Usage]:
    """Every activity of a ``query-activity`` answer, in order."""
    return [
        normalize_activity(a, source=source, origin=origin, where=f"activities[{i}]") for i, a in enumerate(activities)
    ]


# --- files ------------------------------------------------------------------------------------


def detect(path: Path, text: str) -> Normalized | None:
    """The records of an Activity Analyzer file, ``None`` if it is not one; a malformed one raises
    :class:`BadInputError` naming the file and the activity."""
    if not any(f'"{kind}"' in text for kind in ACTIVITY_TYPES):
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    activities = data.get("activities") if isinstance(data, dict) else data
    if not isinstance(activities, list) or not activities:
        return None
    first = activities[0]
    if not isinstance(first, dict) or ("observationPeriod" not in first and "activityType" not in first):
        return None
    try:
        records = normalize_activities(activities, source="file", origin=str(path))
    except ValueError as exc:
        raise BadInputError(f"{path}: not a usable Activity Analyzer export ({exc})") from exc
    out = Normalized(usage=records)
    counts: dict[str, int] = {}
    for record in records:
        counts[record.scope_id] = counts.get(record.scope_id, 0) + 1
    for scope, items in sorted(counts.items()):
        out.coverage.append(_coverage(scope, "file", str(path), CoverageStatus.OK, items=items))
    return out


# --- live -------------------------------------------------------------------------------------


def collect(rest: RestReader | None, project_ids: Sequence[str]) -> Normalized:
    """Both activity types of every project. A read that fails (permission denied, API not
    enabled, throttled), or cannot be made (no REST session), is a gap of that project and activity
    type; unusable credentials raise :class:`scanner.errors.ScanError`."""
    out = Normalized()
    for project in project_ids:
        scope = f"projects/{project.removeprefix('projects/')}"
        for kind in ACTIVITY_TYPES:
            operation = f"activities.query {kind}"
            if rest is None:
                out.coverage.append(
                    _coverage(
                        scope, "api", operation, CoverageStatus.ERROR, detail="no REST session to query activities"
                    )
                )
                continue
            base = rest.policyanalyzer_endpoint.rstrip("/")
            url = f"{base}/v1/{scope}/locations/global/activityTypes/{kind}/activities:query"
            try:
                activities = [
                    a for page in rest.each_page(url, {"pageSize": "1000"}) for a in page.get("activities") or []
                ]
            except (auth.DefaultCredentialsError, auth.RefreshError) as exc:
                raise fatal(exc, f"{SERVICE} {operation} {scope}") from exc  # type: ignore[misc]
            except auth.TransportError as exc:
                out.coverage.append(
                    _coverage(scope, "api", operation, CoverageStatus.ERROR, detail=f"TransportError: {exc}")
                )
                continue
            except api.GoogleAPICallError as exc:
                stop = fatal(exc, f"{SERVICE} {operation} {scope}")
                if stop is not None:
                    raise stop from exc
                status = classify(exc)
                why = _why(status)
                out.coverage.append(
                    _coverage(scope, "api", operation, status, detail=f"{type(exc).__name__}: {exc.message}{why}")
                )
                continue
            try:
                records = normalize_activities(activities, source="api", origin=operation)
            except ValueError as exc:
                out.coverage.append(
                    _coverage(scope, "api", operation, CoverageStatus.ERROR, detail=f"unexpected answer: {exc}")
                )
                continue
            out.usage.extend(records)
            out.coverage.append(_coverage(scope, "api", operation, CoverageStatus.OK, items=len(records)))
    return out


def _why(status: CoverageStatus) -> str:
    if status is CoverageStatus.DENIED:
        return (
            " (needs policyanalyzer.serviceAccountLastAuthenticationActivities.query and "
            "policyanalyzer.serviceAccountKeyLastAuthenticationActivities.query: "
            "roles/policyanalyzer.activityAnalysisViewer)"
        )
    if status is CoverageStatus.NOT_ENABLED:
        return " (enable the Policy Analyzer API, policyanalyzer.googleapis.com, in the project)"
    return ""
