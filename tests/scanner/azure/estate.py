"""The small Azure estate under fixtures/azure-exports, and helpers to read export files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from scanner.azure.exports import assemble, detect
from scanner.azure.normalize import normalize_azure
from scanner.normalized import Normalized
from tests.conftest import SHARED_DATA

REPO = Path(__file__).resolve().parents[3]
EXPORTS = REPO / "fixtures" / "azure-exports"
BUILT_IN_ROLES = SHARED_DATA / "azure-built-in-roles.json.gz"

TENANT = "8f3e1c2a-5b6d-4e7f-9a0b-1c2d3e4f5a6b"
SUB_PLATFORM = "a1b2c3d4-0000-4000-8000-000000000001"
SUB_PAYMENTS = "b1b2c3d4-0000-4000-8000-000000000002"
ALICE = "5d1c3a9e-2f4b-4c8d-9e6f-7a8b9c0d1e2f"
ADMINS = "0c9d8e7f-6a5b-4c3d-2e1f-0a9b8c7d6e5f"
DEPLOYER_PID = "3b2a1c0d-9e8f-4a7b-8c6d-5e4f3a2b1c0d"
SHARED_PID = "9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d"
VM_SYSTEM_PID = "4c5d6e7f-8a9b-4c0d-1e2f-3a4b5c6d7e8f"
FUNC_SYSTEM_PID = "7e8f9a0b-1c2d-4e3f-4a5b-6c7d8e9f0a1b"
CI_SP = "2d3e4f5a-6b7c-4d8e-9f0a-1b2c3d4e5f6a"
PAYMENTS = f"/subscriptions/{SUB_PAYMENTS}"
PLATFORM = f"/subscriptions/{SUB_PLATFORM}"
RG_APP = f"{PAYMENTS}/resourcegroups/rg-app"
RG_DATA = f"{PAYMENTS}/resourcegroups/rg-data"
SHARED_IDENTITY = f"{RG_APP}/providers/microsoft.managedidentity/userassignedidentities/id-app-shared"
DEPLOYER_IDENTITY = (
    f"{PLATFORM}/resourcegroups/rg-identity/providers/microsoft.managedidentity/userassignedidentities/id-deployer"
)
MG = "/providers/microsoft.management/managementgroups/"


def load(name: str) -> Any:
    return json.loads((EXPORTS / name).read_text())


def read_dir(directory: Path) -> Normalized:
    """Detect every ``*.json`` file under ``directory`` (each must be an Azure export) and normalize."""
    detected = []
    for path in sorted(directory.rglob("*.json")):
        found = detect(path, path.read_text())
        assert found is not None, f"{path} not recognised as an Azure export"
        detected.append(found)
    return normalize_azure(assemble(detected))


def by_id(items: list[Any]) -> dict[str, Any]:
    return {item.id: item for item in items}
