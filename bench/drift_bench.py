"""Drift (issue 10): access drift between two snapshots of the 2,000-role AWS account with 5% of
its policies changed, and of the Google Cloud + Azure bench estate with 5% of its bindings and
assignments changed (target: <= 10 s each on the 2-core machine).

The second snapshot is the first with every 20th document edited, in turn: a statement (binding,
assignment's role) added, one removed, and a rewrite that grants the same (statements or bindings
reversed). What is timed is :func:`simulator.findings.drift.access_changes` — matching the objects,
comparing each changed document and confirming every difference on both estates — plus the
comparison of the two mint graphs' chains to admin (the graphs are built beforehand, as ``scan``
users have them kept in the store; their build time is reported apart).

``python bench/drift_bench.py WORK_DIR`` prints the figures as JSON.
"""

from __future__ import annotations

import copy
import json
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
TARGET_SECONDS = 10.0
SHARE = 20  # one document in SHARE is changed: 5%
AT = datetime(2025, 6, 2, 12, tzinfo=UTC)


class Editor:
    """Edits every SHARE-th unit (a policy; for Google Cloud, a binding) of the kinds it knows, in
    turn adding access, removing some and rewriting without changing it."""

    def __init__(self) -> None:
        self.seen = 0
        self.edits = 0

    def _due(self) -> int | None:
        """The edit to make to the unit just seen (0 add, 1 remove, 2 rewrite), or None."""
        self.seen += 1
        if self.seen % SHARE:
            return None
        self.edits += 1
        return (self.edits - 1) % 3

    def aws(self, document: dict[str, Any]) -> bool:
        statements = document.get("Statement")
        if not isinstance(statements, list) or not statements:
            return False
        due = self._due()
        if due == 0:
            # An action on a service without resource policies (S3 buckets'
            # policies are not in the export, which makes S3 answers unknown).
            statements.append({"Effect": "Allow", "Action": "ec2:TerminateInstances", "Resource": "*"})
        elif due == 1 and len(statements) > 1:
            statements.pop()
        elif due is not None:
            statements.reverse()
        return due is not None

    def gcp(self, document: dict[str, Any]) -> bool:
        out: list[Any] = []
        touched = False
        for binding in document.get("bindings") or []:
            due = self._due()
            members = list(binding.get("members") or [])
            touched = touched or due is not None
            if due == 0 and members:
                out += [binding, {"role": "roles/storage.objectViewer", "members": members[:1]}]
            elif due == 1:
                continue
            elif due == 2:
                out.append({**binding, "members": members[::-1]})
            else:
                out.append(binding)
        document["bindings"] = out
        return touched

    def azure(self, document: dict[str, Any]) -> bool:
        if "roleDefinitionId" not in document:
            return False
        due = self._due()
        if due == 2:
            document["description"] = f"rewritten {self.seen}"  # the same grant
        elif due is not None:
            document["roleDefinitionId"] = READER if due == 0 else OWNER
        return due is not None


READER = "/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7"
OWNER = "/providers/Microsoft.Authorization/roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635"


def changed(snapshot: Any, editor: Editor, kinds: dict[str, Callable[[dict[str, Any]], bool]]) -> Any:
    """``snapshot`` with the policies of ``kinds`` passed through their editor."""
    policies = []
    for policy in snapshot.policies:
        edit = kinds.get(policy.kind.value)
        if edit is not None:
            document = copy.deepcopy(policy.document)
            if edit(document):
                policies.append(replace(policy, document=document))
                continue
        policies.append(policy)
    return replace(snapshot, id=snapshot.id + "x", policies=tuple(policies))


def _time(old: Any, new: Any, comparer: Any) -> dict[str, Any]:
    from simulator.engines import open_estate
    from simulator.findings.drift import access_changes, chain_changes
    from simulator.graph.build import build

    started = time.perf_counter()
    graphs = tuple(build(open_estate(s, at=AT), jobs=2) for s in (old, new))
    graph_seconds = time.perf_counter() - started
    started, cpu = time.perf_counter(), time.process_time()
    changes = access_changes(open_estate(old, at=AT), open_estate(new, at=AT), comparer=comparer)
    access_seconds, access_cpu = time.perf_counter() - started, time.process_time() - cpu
    started = time.perf_counter()
    opened, closed = chain_changes(graphs[0], graphs[1])
    chain_seconds = time.perf_counter() - started
    seconds = access_seconds + chain_seconds
    return {
        "seconds": round(seconds, 2),
        "access_seconds": round(access_seconds, 2),
        "access_cpu_seconds": round(access_cpu, 2),
        "chains_seconds": round(chain_seconds, 2),
        "graph_build_seconds_both": round(graph_seconds, 2),
        "changes": len(changes),
        "access": dict(Counter(c.access.value for c in changes)),
        "chains": {"opened": len(opened), "closed": len(closed)},
        "targets": {"seconds": TARGET_SECONDS},
        "meets_targets": seconds <= TARGET_SECONDS,
    }


def bench_drift(work: Path) -> dict[str, Any]:
    """Both drift figures (see the module docstring)."""
    sys.path.insert(0, str(HERE))
    sys.path.insert(0, str(REPO))
    from gen_aws_export import generate as generate_aws
    from gen_cloud_exports import generate as generate_clouds

    from iamdrift.drift_commands import aws_comparer
    from scanner.files import scan_files

    generate_aws(work / "aws", 2000)
    generate_clouds(work / "clouds")
    aws = scan_files([work / "aws"])
    aws_editor, cloud_editor = Editor(), Editor()
    aws_new = changed(aws, aws_editor, {"customer_managed": aws_editor.aws, "inline": aws_editor.aws})
    clouds = scan_files([work / "clouds"])
    clouds_new = changed(
        clouds, cloud_editor, {"gcp_bindings": cloud_editor.gcp, "azure_assignment": cloud_editor.azure}
    )
    return {
        "benchmarks": [
            {
                "name": "drift, 2,000-role AWS account, 5% of its policies changed",
                "policies_changed": aws_editor.edits,
                "policies": aws_editor.seen,
                **_time(aws, aws_new, aws_comparer()),
            },
            {
                "name": "drift, Google Cloud + Azure bench estate, 5% of bindings and assignments changed",
                "bindings_and_assignments_changed": cloud_editor.edits,
                "bindings_and_assignments": cloud_editor.seen,
                **_time(clouds, clouds_new, None),
            },
        ]
    }


if __name__ == "__main__":
    print(json.dumps(bench_drift(Path(sys.argv[1])), indent=2))
