"""``scan --config iamdrift.toml``: after the scan is stored, the findings and the drift the file
asks for, their reports written, and one exit code for the whole run.

Order: the findings (with the file's thresholds and suppressions) are evaluated and each report
written; then the drift from the baseline (or the snapshot before this one) to this snapshot,
its reports written and its summary printed. A run with no baseline yet (or no earlier snapshot)
says so and skips the drift: that is the first run, not a failure. Exit code: 1 when the findings
reach ``findings.fail_on`` (or a rule failed), or the drift shows what ``drift.fail_on`` names
(``new-admin-path``: a chain to admin opened; ``new-access``: a change that gained access, or
whose access is unknown — not shown to be harmless); 0 otherwise.
"""

from __future__ import annotations

import json

import click

from iamdrift import exit_codes
from iamdrift.config import RunConfig
from iamdrift.drift_commands import baseline_id, drift_between, print_drift, snapshot_before
from iamdrift.findings_commands import RENDERERS, evaluate, standing_at_or_above
from iamdrift.graph_commands import LoadSnapshot, OpenStore
from iamdrift.output import write_whole
from iamdrift.reports.suppressions import Suppression
from models import Snapshot
from simulator.findings.drift_model import Access, Drift


def run_after_scan(
    ctx: click.Context,
    config: RunConfig,
    snapshot: Snapshot,
    load: LoadSnapshot,
    open_store: OpenStore,
    suppressions: tuple[Suppression, ...],
) -> int:
    """The findings and drift of ``config`` for the stored ``snapshot``; the exit code."""
    failing: list[str] = []
    ctx.obj["quiet_graph"] = True
    report = evaluate(ctx, snapshot, open_store, suppressions=suppressions, settings=config.settings)
    for output in config.finding_outputs:
        write_whole(output.path, RENDERERS[output.format](report))
        click.echo(f"iamdrift: wrote the {output.format} findings report to {output.path}", err=True)
    click.echo(f"findings: {report.summary_line()}")
    if config.fail_on is not None:
        standing = standing_at_or_above(report, config.fail_on)
        if standing or report.failures:
            failing.append(f"{len(standing)} findings at or above {config.fail_on.value}")
            if report.failures:
                failing.append(f"{len(report.failures)} rules failed")
    if config.drift_against is not None:
        start = _drift_start(ctx, config.drift_against, snapshot, open_store)
        if start is None:
            click.echo(f"drift: skipped, there is no {config.drift_against} snapshot yet (the first run)")
        else:
            old, new, result, graphs = drift_between(
                ctx, load, open_store, start, snapshot.id, settings=config.settings
            )
            for output in config.drift_outputs:
                write_whole(output.path, json.dumps(result.to_json(), indent=2) + "\n")
                click.echo(f"iamdrift: wrote the drift from {start} to {output.path}", err=True)
            print_drift(old, new, result, graphs)
            why = _drift_fails(result, config.drift_fail_on)
            if why:
                failing.append(why)
    if failing:
        click.echo(f"iamdrift: failing: {'; '.join(failing)}", err=True)
        return exit_codes.FAILED
    return exit_codes.OK


def _drift_start(ctx: click.Context, against: str, snapshot: Snapshot, open_store: OpenStore) -> str | None:
    if against == "baseline":
        start = baseline_id(ctx, open_store)
        return None if start == snapshot.id else start
    with open_store(ctx) as store:
        return snapshot_before(store, snapshot.id)


def _drift_fails(result: Drift, fail_on: str | None) -> str | None:
    if fail_on == "new-admin-path" and result.opened:
        return f"{len(result.opened)} chains to admin opened"
    if fail_on == "new-access":
        risky = [c for c in result.changes if c.access in (Access.GAINED, Access.BOTH, Access.UNKNOWN)]
        if risky:
            return f"{len(risky)} changes gained access (or could not be shown not to)"
    return None


__all__ = ["run_after_scan"]
