"""Findings on the 2,000-role AWS account (issue 10): ``iamdrift scan --from`` then ``iamdrift
findings --format json`` (the graph is built by ``findings`` itself, as a user's first run does),
timed side by side with cloudsplaining (``cloudsplaining scan --input-file``, PyPI) on the same
authorization-details file, in one run. Target: iamdrift's two commands together take no longer
than half of cloudsplaining's time.

``python bench/findings_bench.py [WORK_DIR]`` prints the figures as JSON."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


def _timed(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[float, str]:
    """Wall seconds and stdout of ``argv``; a failure stops the bench with its stderr."""
    start = time.perf_counter()
    result = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({result.returncode}):\n{result.stderr[-4000:]}")
    return elapsed, result.stdout


def _cloudsplaining() -> str:
    """The cloudsplaining command beside this Python (the venv's), else on PATH."""
    beside = Path(sys.executable).with_name("cloudsplaining")
    found = str(beside) if beside.exists() else shutil.which("cloudsplaining")
    if found is None:
        raise SystemExit("cloudsplaining is not installed: pip install cloudsplaining (a dev dependency)")
    return found


def bench_findings(work: Path) -> dict[str, Any]:
    sys.path.insert(0, str(HERE))
    from gen_aws_export import generate

    export = work / "aws-2000"
    generate(export, 2000)
    (details,) = sorted(export.glob("*-authorization-details.json"))
    env = {**os.environ, "IAMDRIFT_DB": f"sqlite:///{work / 'findings.db'}"}
    python = [sys.executable, "-m", "iamdrift"]
    scan_seconds, _ = _timed([*python, "scan", "--from", str(export), "--json"], env, REPO)
    findings_seconds, out = _timed([*python, "findings", "--format", "json"], env, REPO)
    report = json.loads(out)
    again_seconds, _ = _timed([*python, "findings", "--format", "json"], env, REPO)  # the kept graph
    peer_out = work / "cloudsplaining"
    peer_out.mkdir(exist_ok=True)
    peer_seconds, _ = _timed(
        [_cloudsplaining(), "scan", "--input-file", str(details), "--output", str(peer_out), "--skip-open-report"],
        {**os.environ, "HOME": str(work)},
        work,
    )
    ours = scan_seconds + findings_seconds
    return {
        "name": "findings of the 2,000-role AWS account, side by side with cloudsplaining",
        "command": "iamdrift scan --from DIR; iamdrift findings --format json | cloudsplaining scan --input-file FILE",
        "scan_seconds": round(scan_seconds, 2),
        "findings_seconds": round(findings_seconds, 2),
        "findings_kept_graph_seconds": round(again_seconds, 2),
        "iamdrift_seconds": round(ours, 2),
        "cloudsplaining_seconds": round(peer_seconds, 2),
        "ratio": round(ours / peer_seconds, 3) if peer_seconds else None,
        "findings": report["summary"]["findings"],
        "by_rule": dict(Counter(f["rule"] for f in report["findings"]).most_common()),
        "failures": report["failures"],
        "unknown": report["summary"]["unknown"],
        "targets": {"iamdrift_seconds": "<= cloudsplaining_seconds / 2"},
        "meets_targets": ours <= peer_seconds / 2,
    }


if __name__ == "__main__":
    if len(sys.argv) > 1:
        print(json.dumps(bench_findings(Path(sys.argv[1])), indent=2))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            print(json.dumps(bench_findings(Path(tmp)), indent=2))
