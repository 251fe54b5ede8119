"""``make bench``: measure against the issues' targets and write the figures to a file.

Each group's targets are in its function's docstring (``sim_bench`` for the simulator). Offline
scan of a 2,000-role account export: the whole ``iamdrift scan --from`` command, from
process start until the snapshot is written to a fresh SQLite store. Target: <= 3 s and
<= 500 MiB peak resident memory on the 2-core machine. Each figure is the median (time) or the
maximum (memory) over several runs; the file records the machine too.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO))

from gen_aws_export import generate  # noqa: E402


def child_peak_rss_mib(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one child process, measured with wait4."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"benchmark command failed: {' '.join(command)}\n{process.stderr.read().decode()}")  # type: ignore[union-attr]
    process.stderr.close()  # type: ignore[union-attr]
    return elapsed, usage.ru_maxrss / 1024  # ru_maxrss is KiB on Linux


def offline_scan(runs: int) -> dict:
    with tempfile.TemporaryDirectory() as work:
        export = Path(work) / "export"
        generate(export, 2000)
        size = sum(p.stat().st_size for p in export.iterdir())
        times, peaks, objects = [], [], None
        for n in range(runs):
            db = Path(work) / f"bench-{n}.db"
            env = {**os.environ, "IAMDRIFT_DB": f"sqlite:///{db}"}
            seconds, peak = child_peak_rss_mib([sys.executable, "-m", "iamdrift", "scan", "--from", str(export)], env)
            times.append(seconds)
            peaks.append(peak)
            if objects is None:
                out = subprocess.run(
                    [sys.executable, "-m", "iamdrift", "show", "latest", "--json"],
                    cwd=REPO,
                    env=env,
                    capture_output=True,
                    text=True,
                    check=True,
                )
                objects = json.loads(out.stdout)["counts"]
    return {
        "name": "offline scan, 2,000-role account export, snapshot written (SQLite)",
        "command": "iamdrift scan --from <export dir>",
        "input_bytes": size,
        "snapshot_counts": objects,
        "runs": runs,
        "seconds_median": round(statistics.median(times), 3),
        "seconds_all": [round(t, 3) for t in times],
        "peak_rss_mib_max": round(max(peaks), 1),
        "targets": {"seconds": 3.0, "peak_rss_mib": 500},
        "meets_targets": statistics.median(times) <= 3.0 and max(peaks) <= 500,
    }


def cloud_scan(runs: int) -> dict:
    """Offline scan of a generated Google Cloud + Azure estate (issue 4): 500 projects, 5,000
    service accounts, 20,000 bindings, 50 subscriptions, 20,000 role assignments. Target: <= 10 s
    and <= 1 GiB; then who-can over it (<= 10 s)."""
    from gen_cloud_exports import generate as generate_clouds

    with tempfile.TemporaryDirectory() as work:
        export = Path(work) / "clouds"
        facts = generate_clouds(export)
        size = sum(p.stat().st_size for p in export.rglob("*") if p.is_file())
        times, peaks = [], []
        env: dict[str, str] = {}
        for n in range(runs):
            db = Path(work) / f"clouds-{n}.db"
            env = {**os.environ, "IAMDRIFT_DB": f"sqlite:///{db}"}
            seconds, peak = child_peak_rss_mib([sys.executable, "-m", "iamdrift", "scan", "--from", str(export)], env)
            times.append(seconds)
            peaks.append(peak)
        out = subprocess.run(
            [sys.executable, "-m", "iamdrift", "show", "latest", "--json"],
            cwd=REPO, env=env, capture_output=True, text=True, check=True,
        )  # fmt: skip
        counts = json.loads(out.stdout)["counts"]
        who = {}
        for cloud, (permission, resource) in (facts.get("who_can") or {}).items():
            start = time.perf_counter()
            result = subprocess.run(
                [sys.executable, "-m", "iamdrift", "who-can", permission, resource, "--direct", "--json"],
                cwd=REPO, env=env, capture_output=True, text=True, check=False,
            )  # fmt: skip
            elapsed = time.perf_counter() - start
            if result.returncode != 0:
                raise SystemExit(f"who-can failed: {result.stderr}")
            found = json.loads(result.stdout)["principals"]
            who[cloud] = {"permission": permission, "resource": resource, "seconds": round(elapsed, 2),
                          "principals": len(found)}  # fmt: skip
        batch = can_batch(Path(work), env, facts)
    median = statistics.median(times)
    return {
        "name": "offline scan of a generated Google Cloud + Azure estate, then who-can (SQLite)",
        "command": "iamdrift scan --from <export dir>; iamdrift who-can PERMISSION RESOURCE",
        "input_bytes": size,
        "snapshot_counts": counts,
        "runs": runs,
        "seconds_median": round(median, 3),
        "seconds_all": [round(t, 3) for t in times],
        "peak_rss_mib_max": round(max(peaks), 1),
        "who_can": who,
        "can_batch": batch,
        "targets": {"seconds": 10.0, "peak_rss_mib": 1024, "who_can_seconds": 10.0, "can_batch_seconds": 10.0},
        "meets_targets": median <= 10.0
        and max(peaks) <= 1024
        and bool(who)
        and all(w["seconds"] <= 10.0 for w in who.values())
        and batch["seconds"] <= 10.0
        and batch["errors"] == 0,
    }


def can_batch(work: Path, env: dict[str, str], facts: dict, count: int = 300) -> dict:
    """``iamdrift can --batch`` of ``count`` questions over the stored Google Cloud + Azure estate:
    half each cloud, principals drawn from the snapshot, the permissions and resources of the
    who-can questions; the whole process timed (issue 8: <= 10 s)."""
    import random

    from models import Cloud
    from models.store import Store

    with Store.open(env["IAMDRIFT_DB"]) as store:
        snapshot = store.load("latest")
    rng = random.Random(8)
    lines = []
    for cloud, (permission, resource) in sorted((facts.get("who_can") or {}).items()):
        people = sorted(p.id for p in snapshot.principals if p.cloud is Cloud(cloud))
        for principal in rng.sample(people, min(len(people), count // 2)):
            lines.append({"principal": principal, "action": permission, "resource": resource})
    path = work / "questions.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "iamdrift", "can", "--batch", str(path)],
        cwd=REPO, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    elapsed = time.perf_counter() - start
    answers = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    decisions: dict[str, int] = {}
    for a in answers:
        key = a.get("decision", "error")
        decisions[key] = decisions.get(key, 0) + 1
    return {
        "questions": len(lines),
        "answers": len(answers),
        "errors": decisions.get("error", 0) + (0 if result.returncode == 0 else 1),
        "decisions": decisions,
        "seconds": round(elapsed, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=HERE / "results.json")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--only",
        choices=["aws", "clouds", "graph", "findings", "drift"],
        help="Run one group of benchmarks (figures not written).",
    )
    args = parser.parse_args()
    import sim_bench

    benchmarks = []
    if args.only in (None, "aws"):
        benchmarks += [offline_scan(args.runs), sim_bench.bench_compare()]
        with tempfile.TemporaryDirectory() as work:
            env = {**os.environ, "IAMDRIFT_DB": f"sqlite:///{Path(work) / 'bench.db'}"}
            benchmarks.append(sim_bench.bench_compare_batch(Path(work), env))
            benchmarks.append(sim_bench.bench_compare_hard(Path(work), env))
            benchmarks.append(sim_bench.bench_simulate(Path(work), env))
            benchmarks.append(sim_bench.bench_can(Path(work), env))
    if args.only in (None, "clouds"):
        benchmarks.append(cloud_scan(min(args.runs, 3)))
    if args.only in (None, "graph"):
        import graph_bench

        with tempfile.TemporaryDirectory() as work:
            benchmarks.append(graph_bench.bench_graph(Path(work)))
    if args.only in (None, "findings"):
        import findings_bench

        with tempfile.TemporaryDirectory() as work:
            benchmarks.append(findings_bench.bench_findings(Path(work)))
    if args.only in (None, "drift"):
        import drift_bench

        with tempfile.TemporaryDirectory() as work:
            benchmarks += drift_bench.bench_drift(Path(work))["benchmarks"]
    _report(benchmarks, None if args.only else args.out)


def _report(benchmarks: list[dict], out: Path | None) -> None:
    results = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "benchmarks": benchmarks,
    }
    if out is not None:
        out.write_text(json.dumps(results, indent=2) + "\n")
    for bench in results["benchmarks"]:
        verdict = "meets" if bench["meets_targets"] else "MISSES"
        figures = {
            k: v for k, v in bench.items() if k not in ("name", "targets", "meets_targets", "unknown", "seconds_all")
        }
        print(f"{bench['name']} ({verdict} targets): {json.dumps(figures)}")
    if out is not None:
        print(f"figures written to {out}")
    if not all(b["meets_targets"] for b in results["benchmarks"]):
        sys.exit(1)


if __name__ == "__main__":
    main()
