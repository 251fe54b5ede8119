"""The demo estate's Azure export files (fixtures/demo/azure) read cleanly with this reader."""

from __future__ import annotations

import pytest

from models import AttachmentKind, PolicyKind
from tests.scanner.azure.estate import REPO, read_dir

DEMO = REPO / "fixtures" / "demo" / "azure"


@pytest.mark.skipif(not DEMO.is_dir(), reason="no demo Azure estate in this checkout")
def test_demo_estate_reads_without_gaps() -> None:
    parts = read_dir(DEMO)
    snapshot = parts.to_snapshot(source="files", label="demo", meta={})
    assert not snapshot.gaps, [g.operation for g in snapshot.gaps]
    scope_ids = {s.id for s in snapshot.scopes}
    assert all(s.parent_id is None or s.parent_id in scope_ids for s in snapshot.scopes)
    principal_ids = {p.id for p in snapshot.principals}
    # RBAC grants attach to scopes, Entra grants (directory roles, app roles) to principals.
    assert all(
        a.target_id in (principal_ids if a.kind is AttachmentKind.ENTRA else scope_ids) for a in snapshot.attachments
    )
    assert all(c.principal_id in principal_ids for c in snapshot.credentials)
    assert all(set(w.principal_ids) <= principal_ids and w.principal_ids for w in snapshot.workloads)
    assignments = [p for p in snapshot.policies if p.kind is PolicyKind.AZURE_ASSIGNMENT]
    assert assignments and all("roleDefinitionPolicyId" in p.attributes for p in assignments)
