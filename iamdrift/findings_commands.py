"""``findings``: the rules' findings of a snapshot, in the report formats (table, JSON, SARIF,
Markdown, HTML; see :mod:`iamdrift.reports`).

The snapshot's mint graph is the kept one (built and kept when there is none), and the estate is
opened at that graph's request time, so the rules' direct answers and chains agree. Every rule of
the catalogue runs; each run keeps its finding ids in the store (``first_seen`` / ``last_seen``,
:mod:`iamdrift.reports.history`). ``--category`` / ``--cloud`` / ``--severity`` narrow the report
(and ``--fail-on``), then the suppressions file (:mod:`iamdrift.reports.suppressions`) hides what
it matches.

Exit codes: 0; 1 (:data:`exit_codes.FAILED`) with ``--fail-on SEVERITY`` when a finding at or
above it stands (unsuppressed, within the filters; an *unknown* finding counts: it is not shown
to be fine) or a rule failed (its findings are missing, so nothing can be promised), and for any
error (a bad suppressions file, no store); 2 for a wrong command line (an unknown format).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import click

from iamdrift import exit_codes, render
from iamdrift.graph_commands import LoadSnapshot, OpenStore, graph_of
from iamdrift.output import write_whole
from iamdrift.reports import FORMATS, NO_OWNER, Report, history, html, json_report, markdown, sarif, table
from iamdrift.reports.suppressions import Suppression, SuppressionError, apply_suppressions, load_suppressions
from models import Cloud, Snapshot
from models.store import StoreError
from simulator.engines import open_estate
from simulator.findings import Category, Context, Finding, Rule, RuleError, Settings, Severity, load_rules, run_rules

RENDERERS = {
    "json": json_report.render,
    "sarif": sarif.render,
    "markdown": markdown.render,
    "html": html.render,
    "table": table.render,
}


@dataclass(frozen=True, kw_only=True)
class Filters:
    """What the report is narrowed to: any of ``categories`` / ``clouds`` (empty: all; a finding
    across clouds counts as in each cloud its chain passes through), and ``severity`` or more
    severe (None: all)."""

    categories: tuple[Category, ...] = ()
    clouds: tuple[Cloud, ...] = ()
    severity: Severity | None = None
    owners: tuple[str, ...] = ()

    def keep(self, finding: Finding) -> bool:
        if self.categories and finding.rule.category not in self.categories:
            return False
        if self.owners and (finding.owner or NO_OWNER) not in self.owners:
            return False
        if self.clouds and not self._in_clouds(finding):
            return False
        return self.severity is None or finding.severity.at_least(self.severity)

    def _in_clouds(self, finding: Finding) -> bool:
        """A finding of one cloud is in it; one across clouds (``cloud`` None) is in every cloud its
        chain passes through, and in every cloud when it has no chain (it is not hidden by a guess)."""
        if finding.cloud is not None:
            return finding.cloud in self.clouds
        if finding.chain is None:
            return True
        return any(edge.cloud in self.clouds for edge in finding.chain.edges)

    def describe(self) -> dict[str, tuple[str, ...]]:
        out: dict[str, tuple[str, ...]] = {}
        if self.categories:
            out["category"] = tuple(c.value for c in self.categories)
        if self.clouds:
            out["cloud"] = tuple(c.value for c in self.clouds)
        if self.severity is not None:
            out["severity"] = (self.severity.value,)
        if self.owners:
            out["owner"] = self.owners
        return out


def evaluate(
    ctx: click.Context,
    snapshot: Snapshot,
    open_store: OpenStore,
    *,
    rules: Sequence[Rule] | None = None,
    suppressions: Sequence[Suppression] = (),
    filters: Filters | None = None,
    today: date | None = None,
    settings: Settings | None = None,
) -> Report:
    """Run ``rules`` (default: the whole catalogue) over ``snapshot``, record the run, and make the
    report (``today``: the day suppressions expire against, default the current UTC date;
    ``settings``: the rules' thresholds, default :class:`Settings`'s)."""
    graph, at = graph_of(ctx, snapshot, open_store, at=None)
    estate = open_estate(snapshot, at=at)
    chosen = tuple(load_rules() if rules is None else rules)
    outcome = run_rules(Context(estate, lambda: graph, settings), chosen)
    with open_store(ctx) as store:
        history.record(store, snapshot, at, outcome.findings, (r.meta.id for r in chosen))
        seen = history.history(store, (f.id for f in outcome.findings))
    narrowed = filters or Filters()
    applied = apply_suppressions(
        (f for f in outcome.findings if narrowed.keep(f)), suppressions, today or datetime.now(UTC).date()
    )
    return Report(
        snapshot=snapshot,
        at=at,
        rules=tuple(r.meta for r in chosen),
        findings=applied.kept,
        suppressed=applied.suppressed,
        expired=applied.expired,
        failures=outcome.failures,
        history=seen,
        filters=narrowed.describe(),
    )


def register(cli: click.Group, load_snapshot: LoadSnapshot, open_store: OpenStore) -> None:
    """Add ``findings`` to ``cli``."""

    @cli.command("findings")
    @click.option(
        "--snapshot", "snapshot_ref", default="latest", show_default=True, metavar="REF", help="id, prefix, latest~N."
    )
    @click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
    @click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), help="Write the report here.")
    @click.option(
        "--fail-on",
        type=click.Choice([s.value for s in Severity]),
        help="Exit 1 when an unsuppressed finding at or above this severity stands (or a rule failed).",
    )
    @click.option(
        "--suppressions",
        "suppressions_path",
        type=click.Path(path_type=Path, dir_okay=False),
        metavar="FILE",
        help="TOML file of [[suppress]] entries: rule (id or glob), principal (glob), reason, expires (date).",
    )
    @click.option(
        "--category",
        "categories",
        multiple=True,
        type=click.Choice([c.value for c in Category]),
        help="Only this category. Repeatable.",
    )
    @click.option(
        "--cloud",
        "clouds",
        multiple=True,
        type=click.Choice([c.value for c in Cloud]),
        help="Only this cloud (a chain across clouds: each it passes through). Repeatable.",
    )
    @click.option("--severity", type=click.Choice([s.value for s in Severity]), help="Only this severity or worse.")
    @click.option(
        "--owner",
        "owners",
        multiple=True,
        metavar="OWNER",
        help=f"Only findings of this owner (its tag / label / Entra owner; {NO_OWNER!r}: nobody named). Repeatable.",
    )
    @click.pass_context
    def findings_command(
        ctx: click.Context,
        snapshot_ref: str,
        fmt: str,
        output: Path | None,
        fail_on: str | None,
        suppressions_path: Path | None,
        categories: tuple[str, ...],
        clouds: tuple[str, ...],
        severity: str | None,
        owners: tuple[str, ...],
    ) -> None:
        """The findings of a snapshot: every rule of the catalogue over its proofs and mint graph,
        most severe first."""
        if output is not None and not output.parent.is_dir():
            raise click.ClickException(f"cannot write {output}: the folder {output.parent} does not exist")
        try:
            suppressions = load_suppressions(suppressions_path) if suppressions_path is not None else ()
        except SuppressionError as exc:
            raise click.ClickException(str(exc)) from exc
        snapshot = load_snapshot(ctx, snapshot_ref)
        filters = Filters(
            categories=tuple(Category(c) for c in categories),
            clouds=tuple(Cloud(c) for c in clouds),
            severity=Severity(severity) if severity else None,
            owners=owners,
        )
        try:
            report = evaluate(ctx, snapshot, open_store, suppressions=suppressions, filters=filters)
        except StoreError as exc:
            raise click.ClickException(str(exc)) from exc
        except (RuleError, ImportError) as exc:
            raise click.ClickException(f"the rule catalogue cannot be loaded: {exc}") from exc
        if output is not None:
            write_whole(output, RENDERERS[fmt](report))
            click.echo(f"iamdrift: wrote the {fmt} report to {output}: {report.summary_line()}", err=True)
        elif fmt == "table":
            table.print_report(render.console(), report)
        else:
            click.echo(RENDERERS[fmt](report), nl=False)
        if report.all_suppressed:
            click.echo(f"iamdrift: every finding of this run ({len(report.suppressed)}) is suppressed", err=True)
        elif suppressions and fmt != "table":
            click.echo(f"iamdrift: {len(report.suppressed)} findings suppressed by {suppressions_path}", err=True)
        if fail_on is not None:
            exit_for(ctx, report, Severity(fail_on))


def standing_at_or_above(report: Report, severity: Severity) -> list[Finding]:
    """The report's unsuppressed findings at or above ``severity`` (unknown ones included)."""
    return [f for f in report.findings if f.severity.at_least(severity)]


def exit_for(ctx: click.Context, report: Report, fail_on: Severity) -> None:
    """Exit 1 (after saying why) when a finding at or above ``fail_on`` stands or a rule failed."""
    at_or_above = standing_at_or_above(report, fail_on)
    hidden = sum(s.finding.severity.at_least(fail_on) for s in report.suppressed)
    said = f" ({hidden} more at or above it suppressed)" if hidden else ""
    if report.failures:
        click.echo(
            f"iamdrift: {len(report.failures)} rules failed, so findings at or above {fail_on.value} may be missing",
            err=True,
        )
    if at_or_above or report.failures:
        click.echo(f"iamdrift: {len(at_or_above)} findings at or above {fail_on.value}{said}: failing", err=True)
        ctx.exit(exit_codes.FAILED)
    click.echo(f"iamdrift: no finding at or above {fail_on.value} stands{said}", err=True)


__all__ = ["RENDERERS", "Filters", "evaluate", "exit_for", "register", "standing_at_or_above"]
