"""The mint graph (issue 9): the 2,000-role AWS account plus the Google Cloud + Azure bench
estate in one snapshot; ``iamdrift graph`` builds it and its closure (target: <= 20 s on the
2-core machine, <= 2 GiB peak resident memory, the whole process, worker processes included), then
``paths --to-admin`` and ``reach`` read the kept graph (target: <= 1 s each, process start
included)."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


def _run(args: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (MiB) of the process and its children, and stdout."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "iamdrift", *args], cwd=REPO, env=env, capture_output=True, text=True
    )
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"iamdrift {' '.join(args)} failed:\n{result.stderr}")
    peak = max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
    return elapsed, peak, result.stdout


def bench_graph(work: Path) -> dict[str, Any]:
    sys.path.insert(0, str(HERE))
    from gen_aws_export import generate as generate_aws
    from gen_cloud_exports import generate as generate_clouds

    generate_aws(work / "aws", 2000)
    generate_clouds(work / "clouds")
    env = {**os.environ, "IAMDRIFT_DB": f"sqlite:///{work / 'graph.db'}"}
    _run(["scan", "--from", str(work / "aws"), "--from", str(work / "clouds")], env)
    seconds, _, out = _run(["graph", "--json"], env)
    # ru_maxrss of the children is the largest single process: the command or one of its workers.
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    summary = json.loads(out)
    paths_seconds, _, paths_out = _run(["paths", "--to-admin", "--json"], env)
    paths = json.loads(paths_out)["paths"]
    start = paths[0]["from"] if paths else "arn:aws:iam::123456789012:role/app/role-1"
    reach_seconds, _, reach_out = _run(["reach", start, "--json"], env)
    return {
        "name": "mint graph of the 2,000-role account + the Google Cloud and Azure bench estate",
        "command": "iamdrift graph --json; iamdrift paths --to-admin --json; iamdrift reach ID --json",
        "graph_seconds": round(seconds, 2),
        "peak_rss_mib_max_process": round(peak, 1),
        "nodes": summary["nodes"],
        "edges": summary["edges"],
        "admins": summary["admins"],
        "mechanisms": summary["mechanisms"],
        "paths_to_admin": len(paths),
        "paths_seconds": round(paths_seconds, 2),
        "reach_seconds": round(reach_seconds, 2),
        "reach_from": start,
        "reaches": len(json.loads(reach_out)["reaches"]),
        "targets": {"graph_seconds": 20, "peak_rss_mib": 2048, "paths_seconds": 1, "reach_seconds": 1},
        "meets_targets": seconds <= 20 and peak <= 2048 and paths_seconds <= 1 and reach_seconds <= 1,
    }
