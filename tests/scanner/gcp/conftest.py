"""Helpers for the Google Cloud reader tests: read export files the way ``scan --from`` does."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from models.codec import to_json_dict
from scanner.gcp import exports
from scanner.gcp.normalize import normalize_gcp
from scanner.normalized import Normalized

REPO = Path(__file__).resolve().parents[3]
FIXTURES = REPO / "fixtures" / "gcp-exports"
ORG = "organizations/123456789012"
APP = "projects/acme-prod-app"
OPS = "projects/acme-shared-ops"
DEPLOYER = "serviceAccount:deployer@acme-prod-app.iam.gserviceaccount.com"
CI = "serviceAccount:ci-builder@acme-shared-ops.iam.gserviceaccount.com"
COMPUTE = "serviceAccount:100000000001-compute@developer.gserviceaccount.com"


def read(paths: Iterable[Path]) -> Normalized:
    """Detect, assemble and normalize the files (every one must be a Google Cloud export)."""
    detected = []
    for path in paths:
        found = exports.detect(path, path.read_text(encoding="utf-8"))
        assert found is not None, f"{path} not recognised"
        detected.append(found)
    return normalize_gcp(exports.assemble(detected))


def fixture_files(*names: str) -> list[Path]:
    return [FIXTURES / n for n in names] if names else sorted(FIXTURES.iterdir())


def write(tmp_path: Path, name: str, data: object, *, ndjson: bool = False) -> Path:
    path = tmp_path / name
    if ndjson:
        assert isinstance(data, list)
        path.write_text("".join(json.dumps(d) + "\n" for d in data))
    else:
        path.write_text(json.dumps(data, indent=2))
    return path


def serialised(parts: Normalized) -> str:
    """Every collection of the normalized output as JSON text (what a store would write)."""
    return json.dumps(
        {name: [to_json_dict(obj) for obj in getattr(parts, name)] for name in vars(parts)}, sort_keys=True
    )


def by_id(items: Iterable[object]) -> dict[str, object]:
    return {item.id: item for item in items}  # type: ignore[attr-defined]
