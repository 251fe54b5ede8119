"""Coverage recording around Google Cloud API calls: a failed read becomes a gap, never an empty answer.

Unusable credentials (no Application Default Credentials, a refresh that fails, UNAUTHENTICATED)
stop the scan with :class:`ScanError`: no later call could succeed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from google.api_core import exceptions as api
from google.auth import exceptions as auth

from models import Cloud, CoverageEntry, CoverageStatus
from scanner.errors import ScanError
from scanner.gcp.shapes import covers_of

T = TypeVar("T")

_SEVERITY = [
    CoverageStatus.OK,
    CoverageStatus.NOT_ENABLED,
    CoverageStatus.THROTTLED,
    CoverageStatus.ERROR,
    CoverageStatus.DENIED,
]
#: ErrorInfo reasons and message fragments of an API that is off in the project.
NOT_ENABLED_REASONS = {"SERVICE_DISABLED", "API_DISABLED"}
NOT_ENABLED_TEXT = ("has not been used in project", "it is disabled", "API is not enabled")
#: How gRPC reports a credentials refresh that failed inside its auth plugin.
AUTH_PLUGIN_TEXT = "Getting metadata from plugin failed"

LOGIN_HINT = "run `gcloud auth application-default login`, or set GOOGLE_APPLICATION_CREDENTIALS to a credentials file"


def classify(exc: api.GoogleAPICallError) -> CoverageStatus:
    """The coverage status of an API error (the caller has already ruled out unusable credentials)."""
    text = str(exc.message or "")
    if getattr(exc, "reason", None) in NOT_ENABLED_REASONS or any(t in text for t in NOT_ENABLED_TEXT):
        return CoverageStatus.NOT_ENABLED
    if isinstance(exc, api.PermissionDenied | api.Forbidden):
        return CoverageStatus.DENIED
    if isinstance(exc, api.ResourceExhausted | api.TooManyRequests):
        return CoverageStatus.THROTTLED
    return CoverageStatus.ERROR


def fatal(exc: BaseException, where: str) -> ScanError | None:
    """A :class:`ScanError` when ``exc`` means the credentials are unusable, else ``None``."""
    if isinstance(exc, auth.DefaultCredentialsError):
        return ScanError(f"no Google Cloud credentials found ({where}): {LOGIN_HINT}")
    if isinstance(exc, auth.RefreshError):
        return ScanError(f"Google Cloud credentials could not be refreshed ({where}: {exc}); {LOGIN_HINT}")
    if isinstance(exc, api.Unauthenticated | api.Unauthorized):
        return ScanError(f"Google Cloud rejected the credentials ({where}: {exc.message}); {LOGIN_HINT}")
    if isinstance(exc, api.GoogleAPICallError) and AUTH_PLUGIN_TEXT in str(exc.message or ""):
        return ScanError(f"Google Cloud credentials could not be used ({where}: {exc.message}); {LOGIN_HINT}")
    return None


@dataclass
class _Tally:
    ok: int = 0
    failed: int = 0
    items: int = 0
    status: CoverageStatus = CoverageStatus.OK
    detail: str = ""


@dataclass
class Recorder:
    """Runs calls and tallies them per (scope, service, operation).

    Many calls of one operation in one scope (a keys list per service account of a project) make one
    coverage entry whose status is the worst seen and whose detail counts the failures and names the first.
    """

    _tallies: dict[tuple[str, str, str], _Tally] = field(default_factory=dict)

    def call(
        self,
        scope_id: str,
        service: str,
        operation: str,
        fn: Callable[[], T],
        *,
        target: str = "",
        count: Callable[[T], int] | None = None,
        fail_as: str | None = None,
    ) -> T | None:
        """``fn()``, or ``None`` if it failed (recorded as a gap naming ``target``, under the operation
        ``fail_as`` when given: a role that could not be read is a gap of its own)."""
        key = (scope_id, service, operation)
        fail_key = (scope_id, service, fail_as or operation)
        where = f"{service} {operation} {target or scope_id}"
        try:
            result = fn()
        except (auth.DefaultCredentialsError, auth.RefreshError) as exc:
            raise fatal(exc, where) from exc  # type: ignore[misc]
        except api.GoogleAPICallError as exc:
            stop = fatal(exc, where)
            if stop is not None:
                raise stop from exc
            self.fail(fail_key, classify(exc), f"{target or scope_id}: {type(exc).__name__}: {exc.message}")
            return None
        except (api.RetryError, auth.TransportError) as exc:
            self.fail(fail_key, CoverageStatus.ERROR, f"{target or scope_id}: {type(exc).__name__}: {exc}")
            return None
        tally = self._tallies.setdefault(key, _Tally())
        tally.ok += 1
        tally.items += count(result) if count else 1
        return result

    def fail(self, key: tuple[str, str, str], status: CoverageStatus, detail: str) -> None:
        tally = self._tallies.setdefault(key, _Tally())
        tally.failed += 1
        if _SEVERITY.index(status) > _SEVERITY.index(tally.status):
            tally.status = status
        if not tally.detail:
            tally.detail = detail

    def entries(self) -> list[CoverageEntry]:
        out = []
        for (scope_id, service, operation), tally in sorted(self._tallies.items()):
            detail = tally.detail
            if tally.failed and tally.ok:
                detail = f"{tally.failed} of {tally.failed + tally.ok} calls failed; first: {detail}"
            # an operation kept apart per object (``roles.get ROLE``) is about that object
            _, _, target = operation.partition(" ")
            out.append(
                CoverageEntry(
                    scope_id=scope_id,
                    source="api",
                    service=service,
                    operation=operation,
                    status=tally.status,
                    items=tally.items,
                    detail=detail,
                    cloud=Cloud.GCP,
                    covers=covers_of(service, operation),
                    target=target or None,
                )
            )
        return out
