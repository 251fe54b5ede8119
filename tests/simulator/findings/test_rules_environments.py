"""``risky-trust/cross-environment-mint`` on the Google Cloud demo estate (planted #6: the dev
``ci-runner`` may mint ``payments-api``'s tokens in prod) and variants of it."""

from __future__ import annotations

import functools
from dataclasses import replace
from datetime import UTC, datetime

from models import Snapshot
from scanner.files import scan_files
from simulator.engines import open_estate
from simulator.findings import Context, Finding
from simulator.findings.rules import risky_trust_environments as rule
from simulator.graph.build import build
from tests.conftest import REPO

AT = datetime(2025, 6, 2, 12, tzinfo=UTC)
CI_RUNNER = "serviceAccount:ci-runner@shop-dev.iam.gserviceaccount.com"
PAYMENTS = "serviceAccount:payments-api@shop-prod.iam.gserviceaccount.com"


@functools.cache
def demo() -> Snapshot:
    return scan_files([REPO / "fixtures" / "demo" / "gcp"])


def findings(snapshot: Snapshot) -> list[Finding]:
    estate = open_estate(snapshot, at=AT)
    graph = build(estate)
    return list(rule.check(Context(estate, lambda: graph)))


def relabel(snapshot: Snapshot, project: str, tags: dict[str, str], name: str | None = None) -> Snapshot:
    scopes = tuple(
        replace(s, tags=tags, name=name or s.name) if s.id == f"projects/{project}" else s for s in snapshot.scopes
    )
    return replace(snapshot, scopes=scopes)


def test_a_dev_identity_minting_a_prod_one_is_found_once_per_pair() -> None:
    [finding] = [f for f in findings(demo()) if f.principal == CI_RUNNER]
    assert finding.subject == PAYMENTS and not finding.unknown
    assert "getAccessToken" in finding.sentence and finding.shown_witness is not None


def test_no_finding_within_one_environment_or_where_it_cannot_be_read() -> None:
    same = relabel(demo(), "shop-dev", {"env": "prod"})
    assert not [f for f in findings(same) if f.principal == CI_RUNNER]
    # No env label and no environment word in its name nor its folder's: not judged.
    unreadable = relabel(demo(), "shop-dev", {}, name="shop-ci")
    unreadable = replace(
        unreadable, scopes=tuple(replace(s, name="engineering") if s.name == "dev" else s for s in unreadable.scopes)
    )
    assert not [f for f in findings(unreadable) if f.principal == CI_RUNNER]


def test_the_environment_is_read_from_labels_before_names() -> None:
    from simulator.findings.rules.ownership import Index

    labelled = relabel(demo(), "shop-dev", {"environment": "Production"})
    assert rule.environment(Index(labelled), "projects/shop-dev") == "prod"
    named = relabel(demo(), "shop-dev", {}, name="shop-staging")
    assert rule.environment(Index(named), "projects/shop-dev") == "non-prod"
