"""Entra service principal sign-in activity: ``az rest`` files, and live reads against a local
Microsoft Graph (TLS, bearer tokens, ``@odata.nextLink`` pages, Graph's error format)."""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import trustme
from azure.core.credentials import AccessToken

from models import Cloud, CoverageStatus, Covers, PrincipalKind, UsageKind
from scanner.azure.clients import AzureClients
from scanner.azure.usage import APP_PREFIX, PATH, collect
from scanner.errors import BadInputError, ScanError
from scanner.files import scan_files
from tests.conftest import REPO

FILE = REPO / "fixtures" / "usage" / "azure" / "service-principal-sign-in-activities.json"
DEMO = REPO / "fixtures" / "demo" / "azure"
TENANT = "6f1d3b2a-8c4e-4b7a-9e21-3d5c7f9a1b2e"
TERRAFORM = "ac4609f8-70c1-4f49-bd09-cffdfba0ab09"  # sp-terraform's object id; appId e257c973-...
TERRAFORM_APP = "e257c973-9038-42d6-86d1-50f365c7c1c3"
UNKNOWN_APP = "00000000-1b2c-3d4e-5f6a-7b8c9d0e1f2a"
TOKEN = "usage-test-token"


def test_sign_in_files_are_named_by_the_demo_service_principals_and_tenant() -> None:
    snapshot = scan_files([DEMO, FILE])
    by_id = {u.id: u for u in snapshot.usage}
    last = by_id[f"{TERRAFORM}|authentication|lastSignInActivity"]
    assert last.cloud is Cloud.AZURE and last.kind is UsageKind.AUTHENTICATION and last.scope_id == TENANT
    assert last.last_used == datetime(2025, 6, 1, 21, 40, 12, tzinfo=UTC) and last.native_id == TERRAFORM_APP
    delegated = by_id[f"{TERRAFORM}|authentication|delegatedClientSignInActivity"]
    assert delegated.last_used is None and delegated.used is None  # no window stated: not "unused"
    # an app whose service principal the scan did not read keeps its appId, marked as such
    assert f"{APP_PREFIX}{UNKNOWN_APP}|authentication|lastSignInActivity" in by_id
    service_principals = {p.id for p in snapshot.principals if p.kind is PrincipalKind.AZURE_SERVICE_PRINCIPAL}
    assert {u.principal_id for u in snapshot.usage if not u.principal_id.startswith(APP_PREFIX)} <= service_principals
    [read] = [e for e in snapshot.coverage if e.yields(Covers.USAGE)]
    assert (read.scope_id, read.source, read.status, read.items) == (TENANT, "file", CoverageStatus.OK, 3)
    assert "lastSignInRequestId" not in json.dumps(snapshot.to_json_dict())  # request ids are not kept


def test_without_the_tenant_files_records_keep_app_ids_and_an_unknown_tenant() -> None:
    snapshot = scan_files([FILE])
    assert {u.scope_id for u in snapshot.usage} == {"/"}
    assert all(u.principal_id.startswith(APP_PREFIX) for u in snapshot.usage)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"appId": None}, r"value\[1\] has no appId"),
        ({"lastSignInActivity": "yesterday"}, r"value\[1\]\.lastSignInActivity is not an object"),
        ({"lastSignInActivity": {"lastSignInDateTime": "2024-02-27"}}, "has no time zone"),
        ({"lastSignInActivity": {"lastSignInDateTime": "soon"}}, "not an ISO 8601 timestamp"),
    ],
)
def test_malformed_items_are_one_clear_error_naming_the_file(
    tmp_path: Path, change: dict[str, Any], message: str
) -> None:
    data = json.loads(FILE.read_text())
    data["value"][1] = {**data["value"][1], **change}
    path = tmp_path / "sign-ins.json"
    path.write_text(json.dumps(data))
    with pytest.raises(BadInputError, match=message) as caught:
        scan_files([path])
    assert str(path) in str(caught.value)


# --- live ---------------------------------------------------------------------------------------


class StaticToken:
    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken(TOKEN, int(time.time()) + 3600)


class GraphFake:
    """``GET /beta/reports/servicePrincipalSignInActivities`` over TLS, two items a page; ``mode``
    ``forbidden`` answers as a tenant without Entra ID P1/P2, ``throttled`` 429, ``expired`` 401."""

    def __init__(self, tmp_path: Path) -> None:
        self.items = json.loads(FILE.read_text())["value"]
        self.mode = "ok"
        self.requests: list[str] = []
        ca = trustme.CA()
        self.ca_bundle = str(tmp_path / "ca.pem")
        ca.cert_pem.write_to_path(self.ca_bundle)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1").configure_cert(context)
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status, body = fake.answer(self.path, self.headers.get("Authorization", ""))
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.server.server_address[1]}"

    def answer(self, raw: str, authorization: str) -> tuple[int, dict[str, Any]]:
        self.requests.append(raw)
        url = urlsplit(raw)
        if authorization != f"Bearer {TOKEN}" or self.mode == "expired":
            return 401, {"error": {"code": "InvalidAuthenticationToken", "message": "Access token has expired."}}
        if url.path != PATH:
            return 404, {"error": {"code": "BadRequest", "message": f"Resource not found for the segment {url.path}"}}
        if self.mode == "forbidden":
            message = "Neither tenant is B2C or tenant doesn't have premium license"
            return 403, {"error": {"code": "Authentication_RequestFromNonPremiumTenantOrB2CTenant", "message": message}}
        if self.mode == "throttled":
            return 429, {"error": {"code": "TooManyRequests", "message": "Too many requests"}}
        start = int(parse_qs(url.query).get("$skiptoken", ["0"])[0])
        body: dict[str, Any] = {
            "@odata.context": "https://graph.microsoft.com/beta/$metadata#reports/servicePrincipalSignInActivities",
            "value": self.items[start : start + 2],
        }
        if start + 2 < len(self.items):
            body["@odata.nextLink"] = f"{self.url}{PATH}?$skiptoken={start + 2}"
        return 200, body


@pytest.fixture
def graph(tmp_path: Path) -> Iterator[tuple[GraphFake, AzureClients]]:
    fake = GraphFake(tmp_path)
    thread = threading.Thread(target=fake.server.serve_forever, daemon=True)
    thread.start()
    clients = AzureClients(
        credential=StaticToken(), graph_url=fake.url, connection_verify=fake.ca_bundle, retry_total=0
    )
    try:
        yield fake, clients
    finally:
        clients.close()
        fake.server.shutdown()
        fake.server.server_close()


def test_live_reads_every_page_and_names_service_principals_by_object_id(
    graph: tuple[GraphFake, AzureClients],
) -> None:
    fake, clients = graph
    read = collect(clients, TENANT, [{"id": TERRAFORM, "appId": TERRAFORM_APP.upper()}])
    assert len(fake.requests) == 2
    principals = {u.principal_id for u in read.usage}
    assert principals == {TERRAFORM, f"{APP_PREFIX}9d0c40b1-3baa-40b7-abff-19d433a5b6e1", f"{APP_PREFIX}{UNKNOWN_APP}"}
    assert {u.source for u in read.usage} == {"api"} and {u.scope_id for u in read.usage} == {TENANT}
    [entry] = read.coverage
    assert (entry.status, entry.items, entry.covers) == (CoverageStatus.OK, 3, (Covers.USAGE,))


def test_a_tenant_without_the_license_or_permission_is_a_gap_saying_exactly_that(
    graph: tuple[GraphFake, AzureClients],
) -> None:
    fake, clients = graph
    fake.mode = "forbidden"
    read = collect(clients, TENANT)
    assert read.usage == []
    [gap] = read.coverage
    assert gap.status is CoverageStatus.DENIED and gap.scope_id == TENANT and gap.yields(Covers.USAGE)
    assert "AuditLog.Read.All" in gap.detail and "Entra ID P1 or P2" in gap.detail and "HTTP 403" in gap.detail
    fake.mode = "throttled"
    [gap] = collect(clients, TENANT).coverage
    assert gap.status is CoverageStatus.THROTTLED


def test_rejected_credentials_stop_the_scan(graph: tuple[GraphFake, AzureClients]) -> None:
    fake, clients = graph
    fake.mode = "expired"
    with pytest.raises(ScanError, match="rejected the credentials"):
        collect(clients, TENANT)


def test_scan_live_reads_sign_ins_only_when_asked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Through the scan: the shared Azure fake serves Graph v1.0 only, so the beta report's read
    fails there (HTTP 400) and the snapshot says so; without ``usage`` it holds no usage coverage."""
    from scanner.azure.live import scan_live
    from tests.scanner.azure.estate import SUB_PAYMENTS
    from tests.scanner.azure.estate import TENANT as FAKE_TENANT
    from tests.scanner.azure.fake_azure import VALID_TOKEN, FakeAzure, estate_from_exports

    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    with FakeAzure(estate_from_exports(), tmp_path) as fake:

        class Token:
            def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
                return AccessToken(VALID_TOKEN, int(time.time()) + 3600)

        clients = AzureClients(
            credential=Token(),
            base_url=fake.base_url,
            graph_url=fake.base_url,
            connection_verify=fake.ca_bundle,
            retry_total=0,
        )
        without = scan_live(clients, subscriptions=[SUB_PAYMENTS])
        snapshot = scan_live(clients, subscriptions=[SUB_PAYMENTS], usage=True)
    assert not [e for e in without.coverage if e.yields(Covers.USAGE)]
    [gap] = [e for e in snapshot.coverage if e.yields(Covers.USAGE)]
    assert gap.is_gap and gap.scope_id == FAKE_TENANT and "HTTP 400" in gap.detail and snapshot.usage == ()
