"""Shared fixtures. AWS tests run against moto; nothing here reaches a real cloud."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DEMO_AWS = REPO / "fixtures" / "demo" / "aws"
#: The reference data beside the repository (GCP predefined roles, Azure built-in roles): read, never copied.
SHARED_DATA = Path(os.environ.get("IAMDRIFT_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(autouse=True)
def _no_real_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Fake credentials and an empty config, so no test can reach or use a real account."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("IAMDRIFT_DB", raising=False)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store.db'}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A real PostgreSQL server (``.ci/run`` starts one and sets IAMDRIFT_TEST_PG_URL)."""
    url = os.environ.get("IAMDRIFT_TEST_PG_URL")
    if not url:
        if os.environ.get("CI"):
            pytest.fail("CI must provide IAMDRIFT_TEST_PG_URL (see .ci/run)")
        pytest.skip("no PostgreSQL server: set IAMDRIFT_TEST_PG_URL (run .ci/run to get one)")
    from sqlalchemy import create_engine, text

    from models.store import normalize_url

    engine = create_engine(normalize_url(url))
    with engine.begin() as conn:  # each test starts from an empty store
        for table in ("snapshot_objects", "snapshots", "iamdrift_schema"):
            conn.execute(text(f"DROP TABLE IF EXISTS {table} CASCADE"))
    engine.dispose()
    yield url
