"""Coverage recording around AWS calls: a failed read becomes a gap, never an empty answer."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError

from models import Cloud, CoverageEntry, CoverageStatus, Covers
from scanner.errors import ScanError

T = TypeVar("T")

DENIED = {
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "AuthorizationError",
    "AuthorizationErrorException",
    "UnauthorizedAccess",
    "Forbidden",
}
NOT_ENABLED = {
    "AWSOrganizationsNotInUseException",
    "OptInRequired",
    "SubscriptionRequiredException",
    "PolicyTypeNotEnabledException",
}
THROTTLED = {
    "Throttling",
    "ThrottlingException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "SlowDown",
    "RequestThrottled",
}
#: The credentials themselves are unusable: no later call can succeed, so the scan stops.
FATAL = {
    "ExpiredToken",
    "ExpiredTokenException",
    "RequestExpired",
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "UnrecognizedClientException",
}


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", "Unknown"))


def classify(code: str) -> CoverageStatus:
    if code in DENIED:
        return CoverageStatus.DENIED
    if code in NOT_ENABLED:
        return CoverageStatus.NOT_ENABLED
    if code in THROTTLED:
        return CoverageStatus.THROTTLED
    return CoverageStatus.ERROR


_SEVERITY = [
    CoverageStatus.OK,
    CoverageStatus.NOT_ENABLED,
    CoverageStatus.THROTTLED,
    CoverageStatus.ERROR,
    CoverageStatus.DENIED,
]


#: What each read yields, by (service, operation); an operation not listed yields by service.
OPERATION_COVERS: dict[tuple[str, str], tuple[Covers, ...]] = {
    ("iam", "GetAccountAuthorizationDetails"): (
        Covers.PRINCIPALS,
        Covers.IDENTITY_POLICIES,
        Covers.TRUST_POLICIES,
        Covers.BOUNDARIES,
    ),
    ("iam", "GetCredentialReport"): (Covers.CREDENTIALS,),
    ("iam", "GenerateCredentialReport"): (Covers.CREDENTIALS,),
    ("iam", "ListAccessKeys"): (Covers.CREDENTIALS,),
    ("iam", "GetAccessKeyLastUsed"): (Covers.CREDENTIALS,),
    ("iam", "ListOpenIDConnectProviders"): (Covers.PRINCIPALS,),
    ("iam", "GetOpenIDConnectProvider"): (Covers.PRINCIPALS,),
    ("iam", "ListSAMLProviders"): (Covers.PRINCIPALS,),
    ("sts", "AssumeRole"): (Covers.PRINCIPALS, Covers.IDENTITY_POLICIES, Covers.RESOURCE_POLICIES, Covers.WORKLOADS),
    ("s3", "ListBuckets"): (Covers.RESOURCES, Covers.RESOURCE_POLICIES),
    ("s3", "GetBucketLocation"): (Covers.RESOURCES, Covers.RESOURCE_POLICIES),
    ("s3", "GetBucketPolicy"): (Covers.RESOURCE_POLICIES,),
    ("kms", "ListKeys"): (Covers.RESOURCES, Covers.RESOURCE_POLICIES),
    ("kms", "GetKeyPolicy"): (Covers.RESOURCE_POLICIES,),
    ("sqs", "ListQueues"): (Covers.RESOURCES, Covers.RESOURCE_POLICIES),
    ("sqs", "GetQueueAttributes"): (Covers.RESOURCE_POLICIES,),
    ("sns", "ListTopics"): (Covers.RESOURCES, Covers.RESOURCE_POLICIES),
    ("sns", "GetTopicAttributes"): (Covers.RESOURCE_POLICIES,),
    ("secretsmanager", "ListSecrets"): (Covers.RESOURCES, Covers.RESOURCE_POLICIES),
    ("secretsmanager", "GetResourcePolicy"): (Covers.RESOURCE_POLICIES,),
    ("lambda", "ListFunctions"): (Covers.RESOURCES, Covers.RESOURCE_POLICIES, Covers.WORKLOADS),
    ("lambda", "GetPolicy"): (Covers.RESOURCE_POLICIES,),
    ("ec2", "DescribeInstances"): (Covers.WORKLOADS,),
    ("ec2", "DescribeRegions"): (Covers.RESOURCES,),
    ("ecs", "ListTaskDefinitionFamilies"): (Covers.WORKLOADS,),
    ("ecs", "ListTaskDefinitions"): (Covers.WORKLOADS,),
    ("ecs", "DescribeTaskDefinition"): (Covers.WORKLOADS,),
    **{
        (service, operation): (Covers.WORKLOADS,)
        for service, operations in {
            "ecs": "ListClusters ListServices DescribeServices ListTasks DescribeTasks",
            "ec2": "DescribeLaunchTemplates DescribeLaunchTemplateVersions",
            "glue": "GetDevEndpoints GetJobs",
            "cloudformation": "DescribeStacks ListStackSets DescribeStackSet ListStackInstances",
            "sagemaker": "ListNotebookInstances DescribeNotebookInstance ListTrainingJobs DescribeTrainingJob "
            "ListProcessingJobs DescribeProcessingJob",
            "apprunner": "ListServices DescribeService",
            "stepfunctions": "ListStateMachines DescribeStateMachine",
            "bedrock-agent": "ListAgents GetAgent",
        }.items()
        for operation in operations.split()
    },
    ("codebuild", "ListProjects"): (Covers.WORKLOADS, Covers.RESOURCES, Covers.RESOURCE_POLICIES),
    ("codebuild", "BatchGetProjects"): (Covers.WORKLOADS, Covers.RESOURCES, Covers.RESOURCE_POLICIES),
    ("codebuild", "GetResourcePolicy"): (Covers.RESOURCE_POLICIES,),
}
SERVICE_COVERS: dict[str, tuple[Covers, ...]] = {
    "organizations": (Covers.ORGANIZATION, Covers.ORG_POLICIES),
    "iam": (Covers.PRINCIPALS, Covers.IDENTITY_POLICIES),
}


def covers_of(service: str, operation: str) -> tuple[Covers, ...]:
    """What a read of ``service`` ``operation`` yields (for matching gaps by structure)."""
    return OPERATION_COVERS.get((service, operation)) or SERVICE_COVERS.get(service, ())


@dataclass
class _Tally:
    ok: int = 0
    failed: int = 0
    items: int = 0
    status: CoverageStatus = CoverageStatus.OK
    detail: str = ""


@dataclass
class Recorder:
    """Runs calls for one account and tallies them per (service, operation, region).

    Many calls of one operation (a GetBucketPolicy per bucket) make one coverage entry whose
    status is the worst seen and whose detail says how many failed and the first error.
    """

    scope_id: str
    _tallies: dict[tuple[str, str, str | None], _Tally] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def call(
        self,
        service: str,
        operation: str,
        fn: Callable[[], T],
        *,
        region: str | None = None,
        absent: frozenset[str] = frozenset(),
        count: Callable[[T], int] | None = None,
    ) -> T | None:
        """``fn()``, or ``None`` if it failed (recorded) or raised an ``absent`` code (the thing
        asked for does not exist, e.g. NoSuchBucketPolicy: not a gap)."""
        key = (service, operation, region)
        try:
            result = fn()
        except ClientError as exc:
            code = error_code(exc)
            if code in absent:
                self._ok(key, 0)
                return None
            if code in FATAL:
                raise ScanError(
                    f"AWS rejected the credentials ({code}) calling {service}:{operation} for account "
                    f"{self.scope_id}: {exc.response.get('Error', {}).get('Message', '')}. "
                    "Refresh them (e.g. `aws sso login`) and scan again."
                ) from exc
            self._fail(key, classify(code), f"{code}: {exc.response.get('Error', {}).get('Message', '')}".strip())
            return None
        except NoCredentialsError as exc:
            raise ScanError("no AWS credentials found; set a profile (--profile), AWS_* variables or SSO") from exc
        except EndpointConnectionError as exc:
            self._fail(key, CoverageStatus.ERROR, f"cannot reach the endpoint: {exc}")
            return None
        except BotoCoreError as exc:
            self._fail(key, CoverageStatus.ERROR, f"{type(exc).__name__}: {exc}")
            return None
        self._ok(key, count(result) if count else 1)
        return result

    def nothing_there(self, service: str, operation: str, region: str | None, detail: str) -> None:
        """Record a read not made because there is nothing to read (the service is not offered in
        the region): a successful read of no items, with ``detail`` saying why."""
        with self._lock:
            tally = self._tallies.setdefault((service, operation, region), _Tally())
            tally.ok += 1
            tally.detail = tally.detail or detail

    def gap(self, service: str, operation: str, status: CoverageStatus, detail: str, region: str | None = None) -> None:
        self._fail((service, operation, region), status, detail)

    def _ok(self, key: tuple[str, str, str | None], items: int) -> None:
        with self._lock:
            tally = self._tallies.setdefault(key, _Tally())
            tally.ok += 1
            tally.items += items

    def _fail(self, key: tuple[str, str, str | None], status: CoverageStatus, detail: str) -> None:
        with self._lock:
            tally = self._tallies.setdefault(key, _Tally())
            tally.failed += 1
            if _SEVERITY.index(status) > _SEVERITY.index(tally.status):
                tally.status = status
            if not tally.detail:
                tally.detail = detail

    def entries(self) -> list[CoverageEntry]:
        out = []
        for (service, operation, region), tally in sorted(
            self._tallies.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2] or "")
        ):
            detail = tally.detail
            if tally.failed and tally.ok:
                detail = f"{tally.failed} of {tally.failed + tally.ok} calls failed; first: {detail}"
            out.append(
                CoverageEntry(
                    scope_id=self.scope_id,
                    source="api",
                    service=service,
                    operation=operation,
                    region=region,
                    status=tally.status,
                    items=tally.items,
                    detail=detail,
                    cloud=Cloud.AWS,
                    covers=covers_of(service, operation),
                )
            )
        return out
