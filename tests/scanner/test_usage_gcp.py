"""Google Cloud Activity Analyzer: gcloud / REST files, and live queries against a local Policy
Analyzer that speaks its REST API (JSON over http, Google's error format)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import requests

from models import Cloud, CoverageStatus, Covers, UsageKind
from scanner.errors import BadInputError, ScanError
from scanner.files import scan_files
from scanner.gcp.rest import RestReader
from scanner.gcp.usage import ACCOUNT_ACTIVITY, KEY_ACTIVITY, collect
from tests.conftest import REPO

FILES = REPO / "fixtures" / "usage" / "gcp"
DEMO = REPO / "fixtures" / "demo" / "gcp"
ACCOUNTS_FILE = FILES / "shop-prod-service-account-last-authentication.json"
KEYS_FILE = FILES / "shop-prod-service-account-key-last-authentication.json"
LEGACY = "serviceAccount:legacy-exporter@shop-prod.iam.gserviceaccount.com"
KEY = (
    "projects/shop-prod/serviceAccounts/legacy-exporter@shop-prod.iam.gserviceaccount.com/keys/"
    "97a955ebaaf766e1b42b2cd03f178227703d11d1"
)


def test_activity_files_name_demo_accounts_and_keys_with_their_window() -> None:
    snapshot = scan_files([DEMO, FILES])
    by_id = {u.id: u for u in snapshot.usage}
    account = by_id[f"{LEGACY}|authentication|serviceAccount"]
    assert account.cloud is Cloud.GCP and account.scope_id == "projects/shop-prod" and account.source == "file"
    assert account.last_used == datetime(2024, 8, 19, 7, tzinfo=UTC)
    assert account.tracked_since == datetime(2023, 3, 15, 7, tzinfo=UTC)
    assert account.observed_at == datetime(2025, 6, 2, 7, tzinfo=UTC)
    assert account.native_id == "151475277454112034926"
    key = by_id[f"{LEGACY}|credential|{KEY}"]
    assert key.kind is UsageKind.CREDENTIAL and key.used is True
    # the names match the model's: principals and the key's Credential.id
    assert {u.principal_id for u in snapshot.usage} <= {p.id for p in snapshot.principals}
    assert KEY in {c.id for c in snapshot.credentials}
    read = sorted((e.scope_id, Path(e.operation).name, e.items) for e in snapshot.coverage if e.yields(Covers.USAGE))
    assert read == [("projects/shop-prod", KEYS_FILE.name, 1), ("projects/shop-prod", ACCOUNTS_FILE.name, 2)]


def test_an_account_the_answer_does_not_list_has_no_record() -> None:
    snapshot = scan_files([DEMO, FILES])
    assert not [u for u in snapshot.usage if "deployer@shop-prod" in u.principal_id]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"fullResourceName": "//iam.googleapis.com/projects/shop-prod/roles/x"}, "does not name a service account"),
        ({"fullResourceName": "payments-api"}, "fullResourceName is not"),
        ({"observationPeriod": {"startTime": "last year"}}, "startTime is not an ISO 8601 timestamp"),
        ({"activity": {"lastAuthenticatedTime": 17}}, "not a timestamp"),
    ],
)
def test_malformed_activities_are_one_clear_error_naming_the_file(
    tmp_path: Path, change: dict[str, Any], message: str
) -> None:
    activities = json.loads(ACCOUNTS_FILE.read_text())
    activities[1] = {**activities[1], **change}
    path = tmp_path / "activities.json"
    path.write_text(json.dumps(activities))
    with pytest.raises(BadInputError, match=message) as caught:
        scan_files([path])
    assert str(path) in str(caught.value) and "activities[1]" in str(caught.value)


def test_one_file_of_another_activity_type_is_refused(tmp_path: Path) -> None:
    activities = json.loads(ACCOUNTS_FILE.read_text())
    activities.append({**activities[0], "activityType": "dailyAuthorization"})
    path = tmp_path / "mixed.json"
    path.write_text(json.dumps(activities))
    with pytest.raises(BadInputError, match=r"activities\[2\]\.activityType"):
        scan_files([path])


# --- live ---------------------------------------------------------------------------------------


class PolicyAnalyzerFake:
    """``activities:query`` for some projects, one activity per page. ``shop-prod`` answers the
    fixtures; ``data-prod`` denies; ``shop-dev`` has the API disabled; ``sandbox-dev`` is out of
    quota; ``expired`` rejects the credentials."""

    def __init__(self) -> None:
        self.activities = {
            ACCOUNT_ACTIVITY: json.loads(ACCOUNTS_FILE.read_text()),
            KEY_ACTIVITY: json.loads(KEYS_FILE.read_text())["activities"],
        }
        self.requests: list[str] = []

    def answer(self, path: str, query: dict[str, str]) -> tuple[int, dict[str, Any]]:
        self.requests.append(path)
        parts = path.strip("/").split("/")  # v1 projects P locations global activityTypes T activities:query
        if len(parts) != 8 or parts[7] != "activities:query":
            return 404, _error(404, "NOT_FOUND", f"no such method {path}")
        project, kind = parts[2], parts[6]
        if project == "data-prod":
            message = f"Permission 'policyanalyzer.{kind}Activities.query' denied on resource"
            return 403, _error(403, "PERMISSION_DENIED", message)
        if project == "shop-dev":
            error = _error(
                403,
                "PERMISSION_DENIED",
                "Policy Analyzer API has not been used in project 902615473829 before or it is disabled.",
            )
            error["error"]["details"] = [
                {
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "SERVICE_DISABLED",
                    "domain": "googleapis.com",
                }
            ]
            return 403, error
        if project == "sandbox-dev":
            return 429, _error(429, "RESOURCE_EXHAUSTED", "Quota exceeded")
        if project == "expired":
            return 401, _error(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.")
        items = self.activities[kind] if project == "shop-prod" else []
        index = int(query.get("pageToken") or 0)
        body: dict[str, Any] = {"activities": items[index : index + 1]}
        if index + 1 < len(items):
            body["nextPageToken"] = str(index + 1)
        return 200, body


def _error(code: int, status: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "status": status}}


@pytest.fixture
def analyzer() -> Iterator[tuple[PolicyAnalyzerFake, RestReader]]:
    fake = PolicyAnalyzerFake()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlparse(self.path)
            status, body = fake.answer(url.path, {k: v[0] for k, v in parse_qs(url.query).items()})
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    session = requests.Session()  # what AuthorizedSession is, less the token (refreshing it is google-auth's)
    try:
        yield fake, RestReader(session=session, policyanalyzer_endpoint=f"http://127.0.0.1:{server.server_address[1]}")
    finally:
        session.close()
        server.shutdown()
        server.server_close()


def test_live_queries_read_every_page_of_both_activity_types(
    analyzer: tuple[PolicyAnalyzerFake, RestReader],
) -> None:
    fake, rest = analyzer
    read = collect(rest, ["shop-prod"])
    from_files = scan_files([FILES])
    assert sorted((u.id, u.last_used, u.tracked_since) for u in read.usage) == sorted(
        (u.id, u.last_used, u.tracked_since) for u in from_files.usage
    )
    assert {u.source for u in read.usage} == {"api"}
    entries = {e.operation: e for e in read.coverage}
    assert {op: (e.status, e.items) for op, e in entries.items()} == {
        f"activities.query {ACCOUNT_ACTIVITY}": (CoverageStatus.OK, 2),
        f"activities.query {KEY_ACTIVITY}": (CoverageStatus.OK, 1),
    }
    assert len(fake.requests) == 3  # two pages of accounts, one of keys


def test_failed_queries_are_gaps_saying_why_not_unused_accounts(
    analyzer: tuple[PolicyAnalyzerFake, RestReader],
) -> None:
    _, rest = analyzer
    read = collect(rest, ["shop-prod", "data-prod", "shop-dev", "sandbox-dev"])
    assert {u.scope_id for u in read.usage} == {"projects/shop-prod"}
    status = {(e.scope_id, e.operation.split()[-1]): e for e in read.coverage}
    assert len(status) == 8 and all(e.covers == (Covers.USAGE,) for e in status.values())
    denied = status[("projects/data-prod", ACCOUNT_ACTIVITY)]
    assert denied.status is CoverageStatus.DENIED and "roles/policyanalyzer.activityAnalysisViewer" in denied.detail
    disabled = status[("projects/shop-dev", KEY_ACTIVITY)]
    assert disabled.status is CoverageStatus.NOT_ENABLED and "enable the Policy Analyzer API" in disabled.detail
    assert status[("projects/sandbox-dev", ACCOUNT_ACTIVITY)].status is CoverageStatus.THROTTLED


def test_no_session_is_a_gap_and_rejected_credentials_stop_the_scan(
    analyzer: tuple[PolicyAnalyzerFake, RestReader],
) -> None:
    _, rest = analyzer
    read = collect(None, ["shop-prod"])
    assert read.usage == [] and len(read.coverage) == 2 and all(e.is_gap for e in read.coverage)
    with pytest.raises(ScanError, match="rejected the credentials"):
        collect(rest, ["expired"])


def test_scan_gcp_queries_every_project_it_scanned_only_when_asked(
    analyzer: tuple[PolicyAnalyzerFake, RestReader],
) -> None:
    from dataclasses import replace

    from scanner.gcp.live import scan_gcp
    from tests.scanner.gcp.test_live import fixture_estate, live_clients

    _, fake_rest = analyzer
    with live_clients(fixture_estate()) as clients:
        assert clients.rest is not None
        clients.rest = replace(clients.rest, policyanalyzer_endpoint=fake_rest.policyanalyzer_endpoint)
        without = scan_gcp(clients, organization="123456789012", projects=[])
        snapshot = scan_gcp(clients, organization="123456789012", projects=[], usage=True)
    assert not [e for e in without.coverage if e.yields(Covers.USAGE)]
    projects = {s.id for s in snapshot.scopes if s.id.startswith("projects/")}
    read = [e for e in snapshot.coverage if e.yields(Covers.USAGE)]
    assert projects and {e.scope_id for e in read} == projects
    assert len(read) == 2 * len(projects) and not [e for e in read if e.is_gap]
    assert snapshot.usage == ()  # the fake's activities are shop-prod's, a project this estate does not have
