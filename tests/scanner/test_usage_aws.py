"""AWS service last accessed data: CLI files (with the Arn they must carry), and live collection
against a local IAM that speaks the Query protocol over http (moto has neither operation)."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from botocore.parsers import create_parser
from moto import mock_aws

from models import Cloud, CoverageStatus, Covers, UsageKind
from scanner.aws import AwsClients, scan_live
from scanner.aws.usage import TRACKING_PERIOD, collect
from scanner.errors import BadInputError, ScanError
from scanner.files import scan_files
from tests.conftest import REPO

FILES = REPO / "fixtures" / "usage" / "aws"
DEMO = REPO / "fixtures" / "demo" / "aws"
ACCOUNT = "222222222222"
NS = "https://iam.amazonaws.com/doc/2010-05-08/"


def role(name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/{name}"


# --- files ------------------------------------------------------------------------------------


def test_cli_reports_with_their_arn_become_one_record_per_allowed_service() -> None:
    snapshot = scan_files([DEMO, FILES])
    by_id = {u.id: u for u in snapshot.usage}
    s3 = by_id[f"{role('admin-lambda-exec')}|service|s3"]
    assert s3.cloud is Cloud.AWS and s3.kind is UsageKind.SERVICE and s3.scope_id == ACCOUNT
    assert s3.last_used == datetime(2024, 11, 20, 22, 41, tzinfo=UTC) and s3.region == "us-east-1" and s3.count == 1
    completed = datetime(2025, 6, 2, 7, 59, 33, 871000, tzinfo=UTC)
    assert s3.observed_at == completed and s3.tracked_since == completed - TRACKING_PERIOD
    iam = by_id[f"{role('admin-lambda-exec')}|service|iam"]
    assert iam.last_used is None and iam.used is False  # granted, not used in at least 400 days
    assert by_id[f"arn:aws:iam::{ACCOUNT}:user/legacy-batch|service|dynamodb"].used is False
    assert by_id[f"{role('legacy-open-trust')}|service|s3"].used is False
    # every record names a principal the demo estate has
    principals = {p.id for p in snapshot.principals}
    assert {u.principal_id for u in snapshot.usage} <= principals
    read = [e for e in snapshot.coverage if e.yields(Covers.USAGE)]
    assert {(e.scope_id, e.source, e.status, e.items) for e in read} == {
        (ACCOUNT, "file", CoverageStatus.OK, 5),
        (ACCOUNT, "file", CoverageStatus.OK, 3),
    }


def test_a_principal_without_a_report_has_no_record() -> None:
    snapshot = scan_files([DEMO, FILES])
    assert not [u for u in snapshot.usage if u.principal_id == role("github-ci-any-repo")]


def _write(tmp_path: Path, name: str, data: Any) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return path


def _cli_output() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FILES / "222222222222-admin-lambda-exec-service-last-accessed.json").read_text())
    del data["Arn"]
    return data


def test_a_report_that_does_not_name_its_principal_is_an_error_saying_how(tmp_path: Path) -> None:
    path = _write(tmp_path, "report.json", _cli_output())
    with pytest.raises(BadInputError) as caught:
        scan_files([path])
    assert str(path) in str(caught.value) and '"Arn"' in str(caught.value)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"JobStatus": "IN_PROGRESS"}, "JobStatus is 'IN_PROGRESS'"),
        ({"Arn": "role/admin"}, "not an IAM ARN"),
        ({"ServicesLastAccessed": [{"ServiceName": "Amazon S3"}]}, "has no ServiceNamespace"),
        ({"JobCompletionDate": "yesterday"}, "JobCompletionDate is not an ISO 8601 timestamp"),
    ],
)
def test_malformed_reports_are_one_clear_error_naming_the_file(
    tmp_path: Path, change: dict[str, Any], message: str
) -> None:
    path = _write(tmp_path, "bad.json", {**_cli_output(), "Arn": role("x"), **change})
    with pytest.raises(BadInputError, match=message) as caught:
        scan_files([path])
    assert str(path) in str(caught.value)


def test_truncated_json_is_an_error_naming_the_file(tmp_path: Path) -> None:
    text = (FILES / "222222222222-service-last-accessed.json").read_text()
    path = _write(tmp_path, "cut.json", text[: len(text) // 2])
    with pytest.raises(BadInputError, match="malformed JSON") as caught:
        scan_files([path])
    assert str(path) in str(caught.value)


# --- live: a local IAM over the Query protocol -----------------------------------------------


def _xml(action: str, result: str) -> str:
    return (
        f'<{action}Response xmlns="{NS}"><{action}Result>{result}</{action}Result>'
        f"<ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></{action}Response>"
    )


def _error(code: str, message: str) -> str:
    return (
        f'<ErrorResponse xmlns="{NS}"><Error><Type>Sender</Type><Code>{code}</Code>'
        f"<Message>{escape(message)}</Message></Error><RequestId>r-1</RequestId></ErrorResponse>"
    )


def _service(namespace: str, last: str | None) -> str:
    used = f"<LastAuthenticated>{last}</LastAuthenticated><LastAuthenticatedRegion>eu-west-1</LastAuthenticatedRegion>"
    return (
        f"<member><ServiceName>{namespace} service</ServiceName><ServiceNamespace>{namespace}</ServiceNamespace>"
        f"{used if last else ''}<TotalAuthenticatedEntities>{1 if last else 0}</TotalAuthenticatedEntities></member>"
    )


class FakeIam:
    """IAM's two last-accessed operations, scripted per principal by the role's name:

    ``ok-*``: IN_PROGRESS on the first poll, then COMPLETED in two pages (Marker); ``failed``: the
    job FAILS; ``throttled``: Generate is throttled; ``hidden``: Get is denied; ``stuck``: never done.
    ``deny_all`` denies every Generate; ``expired`` rejects the credentials."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, str]]] = []
        self.polls: dict[str, int] = {}
        self.jobs: dict[str, str] = {}
        self.deny_all = False
        self.expired = False
        self.lock = threading.Lock()

    def answer(self, action: str, params: dict[str, str]) -> tuple[int, str]:
        with self.lock:
            self.calls.append((action, params))
        if self.expired:
            return 403, _error("ExpiredToken", "The security token included in the request is expired")
        if action == "GenerateServiceLastAccessedDetails":
            name = params["Arn"].rsplit("/", 1)[-1]
            if self.deny_all:
                return 403, _error(
                    "AccessDenied",
                    f"not authorized to perform iam:GenerateServiceLastAccessedDetails on {params['Arn']}",
                )
            if name == "throttled":
                return 400, _error("Throttling", "Rate exceeded")
            job = str(uuid.uuid5(uuid.NAMESPACE_URL, params["Arn"]))  # JobIds are 36 characters
            with self.lock:
                self.jobs[job] = name
            return 200, _xml(action, f"<JobId>{job}</JobId>")
        if action == "GetServiceLastAccessedDetails":
            with self.lock:
                name = self.jobs.get(params["JobId"], "")
                self.polls[name] = self.polls.get(name, 0) + 1
                polls = self.polls[name]
            head = "<JobType>SERVICE_LEVEL</JobType><JobCreationDate>2025-06-02T08:00:00Z</JobCreationDate>"
            if name == "hidden":
                return 403, _error("AccessDenied", "not authorized to perform iam:GetServiceLastAccessedDetails")
            if name == "stuck" or (name.startswith("ok") and polls == 1):
                return 200, _xml(action, f"<JobStatus>IN_PROGRESS</JobStatus>{head}<ServicesLastAccessed/>")
            if name == "failed":
                error = "<Error><Message>internal</Message><Code>ServiceFailure</Code></Error>"
                return 200, _xml(action, f"<JobStatus>FAILED</JobStatus>{head}<ServicesLastAccessed/>{error}")
            done = f"<JobStatus>COMPLETED</JobStatus>{head}<JobCompletionDate>2025-06-02T08:00:05Z</JobCompletionDate>"
            if "Marker" not in params:
                page = _service("s3", "2025-05-01T10:00:00Z") + _service("sqs", None)
                return 200, _xml(
                    action,
                    f"{done}<ServicesLastAccessed>{page}</ServicesLastAccessed><IsTruncated>true</IsTruncated><Marker>m2</Marker>",
                )
            page = _service("kms", None)
            return 200, _xml(
                action, f"{done}<ServicesLastAccessed>{page}</ServicesLastAccessed><IsTruncated>false</IsTruncated>"
            )
        return 400, _error("InvalidAction", action)


@pytest.fixture
def fake_iam() -> Iterator[tuple[FakeIam, Any]]:
    fake = FakeIam()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"])).decode()
            params = {k: v[0] for k, v in parse_qs(body).items()}
            status, text = fake.answer(params.pop("Action"), params)
            data = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/xml")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    client = boto3.client(
        "iam",
        endpoint_url=f"http://127.0.0.1:{server.server_address[1]}",
        region_name="us-east-1",
        config=Config(retries={"mode": "standard", "max_attempts": 1}),
    )
    try:
        yield fake, client
    finally:
        server.shutdown()
        server.server_close()


class Clock:
    """An injected clock that only ``sleep`` moves."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_live_reports_are_polled_paged_and_every_failure_is_a_gap_naming_its_principal(
    fake_iam: tuple[FakeIam, Any],
) -> None:
    fake, client = fake_iam
    clock = Clock()
    arns = [role(n) for n in ("ok-app", "failed", "throttled", "hidden", "stuck")]
    read, answers = collect(client, ACCOUNT, arns, wait_seconds=10, poll_seconds=2, clock=clock, sleep=clock.sleep)
    records = {u.subject: u for u in read.usage}
    assert set(records) == {"s3", "sqs", "kms"}  # both pages of the one report that completed
    assert {u.principal_id for u in read.usage} == {role("ok-app")}
    assert records["s3"].last_used == datetime(2025, 5, 1, 10, tzinfo=UTC) and records["s3"].source == "api"
    assert records["sqs"].used is False and records["kms"].used is False
    assert records["s3"].tracked_since == datetime(2025, 6, 2, 8, 0, 5, tzinfo=UTC) - timedelta(days=400)
    gaps = {e.target: e for e in read.coverage if e.is_gap}
    assert set(gaps) == {role("failed"), role("throttled"), role("hidden"), role("stuck")}
    assert gaps[role("throttled")].status is CoverageStatus.THROTTLED
    assert gaps[role("hidden")].status is CoverageStatus.DENIED
    assert "ServiceFailure" in gaps[role("failed")].detail
    assert "not ready after 10s" in gaps[role("stuck")].detail
    assert all(e.covers == (Covers.USAGE,) and e.cloud is Cloud.AWS for e in read.coverage)
    [summary] = [e for e in read.coverage if not e.is_gap]
    assert summary.items == 3 and "1 of 5" in summary.detail
    assert clock.sleeps and sum(clock.sleeps) <= 12  # bounded by wait_seconds, not by the stuck job
    assert [a["Arn"] for a in answers] == [role("ok-app")]
    assert [p for a, p in fake.calls if a == "GetServiceLastAccessedDetails" and p.get("Marker") == "m2"]


def test_the_answers_kept_are_the_file_format(fake_iam: tuple[FakeIam, Any], tmp_path: Path) -> None:
    _, client = fake_iam
    clock = Clock()
    live, answers = collect(client, ACCOUNT, [role("ok-app")], clock=clock, sleep=clock.sleep)
    path = _write(tmp_path, "kept.json", answers)
    from_file = scan_files([path])
    assert [(u.id, u.last_used, u.tracked_since) for u in from_file.usage] == [
        (u.id, u.last_used, u.tracked_since) for u in live.usage
    ]


def test_a_denied_account_is_one_gap_not_unused_principals(fake_iam: tuple[FakeIam, Any]) -> None:
    fake, client = fake_iam
    fake.deny_all = True
    read, _ = collect(client, ACCOUNT, [role("ok-a"), role("ok-b")], clock=Clock(), sleep=lambda _s: None)
    assert read.usage == []
    [gap] = read.coverage
    assert gap.status is CoverageStatus.DENIED and gap.target is None and gap.yields(Covers.USAGE)
    assert "AccessDenied" in gap.detail
    assert [a for a, _ in fake.calls] == ["GenerateServiceLastAccessedDetails"]  # no call per principal after that


def test_unknown_principals_are_a_gap_and_expired_credentials_stop_the_scan(fake_iam: tuple[FakeIam, Any]) -> None:
    fake, client = fake_iam
    read, _ = collect(client, ACCOUNT, None)
    [gap] = read.coverage
    assert gap.is_gap and "could not be read" in gap.detail
    fake.expired = True
    with pytest.raises(ScanError, match="ExpiredToken"):
        collect(client, ACCOUNT, [role("ok-a")])


# --- live: the scan's hook --------------------------------------------------------------------


def _answer_from(fake: FakeIam) -> Any:
    """A botocore before-call handler for IAM's two last-accessed operations (moto answers every
    IAM operation at before-send, so nothing later is reached): the fake's Query-protocol XML,
    parsed by botocore's own query parser against the operation's output shape."""

    def handler(model: Any, params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        body = params["body"]
        query = (
            {k: str(v) for k, v in body.items()}
            if isinstance(body, dict)
            else {k: v[0] for k, v in parse_qs(body).items()}
        )
        query.pop("Version", None)
        status, text = fake.answer(query.pop("Action"), query)
        headers = {"Content-Type": "text/xml"}
        raw = {"status_code": status, "headers": headers, "body": text.encode()}
        parsed = create_parser("query").parse(raw, model.output_shape)
        return AWSResponse("https://iam.amazonaws.com/", status, headers, None), parsed

    return handler


def test_scan_live_with_usage_reads_every_user_and_role(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "false")
    fake = FakeIam()
    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        session.client("iam").create_role(RoleName="ok-app", AssumeRolePolicyDocument='{"Version":"2012-10-17"}')
        session.client("iam").create_user(UserName="hidden")
        hooks = [(f"before-call.iam.{op}ServiceLastAccessedDetails", _answer_from(fake)) for op in ("Generate", "Get")]
        clients = AwsClients(session=session, hooks=hooks)
        without = scan_live(clients, regions=["us-east-1"])
        assert without.usage == () and not [e for e in without.coverage if e.yields(Covers.USAGE)]
        snapshot = scan_live(clients, regions=["us-east-1"], usage=True)
    account = snapshot.scopes[0].id
    assert {u.principal_id for u in snapshot.usage} == {f"arn:aws:iam::{account}:role/ok-app"}
    [gap] = [e for e in snapshot.gaps if e.yields(Covers.USAGE)]
    assert gap.target == f"arn:aws:iam::{account}:user/hidden" and gap.status is CoverageStatus.DENIED
