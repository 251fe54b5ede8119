"""The ``iamdrift`` command line.

Every command takes ``--json`` (machine output on stdout) and prints one line on error,
``iamdrift: error: ...``, to stderr; ``--debug`` adds the traceback. Exit codes are in
:mod:`iamdrift.exit_codes`. The store is ``--db URL``, else ``$IAMDRIFT_DB``, else SQLite in the
per-user data directory. Only ``scan`` and ``demo`` create a store; every other command reads one
and says so when there is none.

Ctrl-C ends any command with exit code 130 and one line saying whether a snapshot was stored: the
commands that write record what they are writing in a :class:`WriteLog`, and an interrupt during
the write asks the store whether the transaction committed.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from click.core import ParameterSource
from rich.text import Text

from iamdrift import __version__, exit_codes, render
from iamdrift.output import write_whole
from models import Snapshot
from models.store import Store, StoreError
from scanner import SKIPPED_FILES_META
from scanner.errors import ScanError

if TYPE_CHECKING:
    from iamdrift.config import RunConfig
    from iamdrift.reports.suppressions import Suppression

DEMO_DIR = Path(__file__).resolve().parent.parent / "fixtures" / "demo"


class Failure(click.ClickException):
    """A command failed; the message is the one line the user sees."""

    exit_code = exit_codes.FAILED

    def show(self, file: Any = None) -> None:
        click.echo(f"iamdrift: error: {self.format_message()}", err=True)


class Interrupted(click.ClickException):
    """Ctrl-C: the message says whether a snapshot was stored."""

    exit_code = exit_codes.INTERRUPTED

    def show(self, file: Any = None) -> None:
        click.echo(f"iamdrift: {self.format_message()}", err=True)


@dataclass
class WriteLog:
    """What the running command has written to the store (one per command, in ``ctx.obj``).

    ``snapshot_id`` is set just before the write starts and ``committed`` once it has returned; an
    interrupt in between is settled by asking the store (:meth:`Store.contains`)."""

    db_url: str | None = None
    store: str = ""
    snapshot_id: str | None = None
    committed: bool = False

    def interrupted(self) -> str:
        """The line an interrupt prints: whether (and which) snapshot was stored."""
        if self.snapshot_id is None:
            return "interrupted; nothing was stored"
        stored = True if self.committed else self._stored()
        if stored is None:
            return (
                f"interrupted while writing snapshot {self.snapshot_id} to {self.store}; whether it was stored "
                "could not be checked: see `iamdrift snapshots`"
            )
        if stored:
            return f"interrupted; snapshot {self.snapshot_id} was stored, whole, in {self.store}"
        return f"interrupted; snapshot {self.snapshot_id} was not stored (nothing was written to {self.store})"

    def _stored(self) -> bool | None:
        assert self.snapshot_id is not None
        try:
            with Store.open(self.db_url, create=False) as store:
                return store.contains(self.snapshot_id)
        except (StoreError, KeyboardInterrupt):
            return None


#: The commands defined outside this module, by the module that registers them: imported only
#: when one of its commands runs (or ``--help`` lists them), so a command starts without the
#: others' imports (the solver, the findings catalogue).
LAZY_COMMANDS = {
    "simulate": "simulator_commands",
    "compare": "simulator_commands",
    "can": "ask_commands",
    "who-can": "ask_commands",
    "graph": "graph_commands",
    "reach": "graph_commands",
    "paths": "graph_commands",
    "findings": "findings_commands",
    "drift": "drift_commands",
    "baseline": "drift_commands",
    "compare-identities": "drift_commands",
}


class IamdriftGroup(click.Group):
    """The ``iamdrift`` group: turns Ctrl-C inside any command into :class:`Interrupted`, and
    registers the commands of :data:`LAZY_COMMANDS` when one of them is asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *LAZY_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in LAZY_COMMANDS:
            _register(LAZY_COMMANDS[cmd_name])
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt as exc:
            writes = ctx.obj.get("writes") if isinstance(ctx.obj, dict) else None
            raise Interrupted((writes or WriteLog()).interrupted()) from exc


@click.group(cls=IamdriftGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="iamdrift")
@click.option("--db", "db_url", envvar="IAMDRIFT_DB", help="Store URL or SQLite path (default: per-user SQLite).")
@click.option("--debug", is_flag=True, help="Show tracebacks on errors.")
@click.pass_context
def cli(ctx: click.Context, db_url: str | None, debug: bool) -> None:
    """iamdrift: multi-cloud IAM drift scanner and simulator."""
    ctx.obj = {"db_url": db_url, "debug": debug, "writes": WriteLog(db_url=db_url)}


def json_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--json", "as_json", is_flag=True, help="Machine-readable JSON on stdout.")(fn)


@contextmanager
def failures(ctx: click.Context) -> Iterator[None]:
    """Turn expected failures into one clear line (and a traceback only with --debug)."""
    try:
        yield
    except (ScanError, StoreError) as exc:
        if ctx.obj.get("debug"):
            raise
        raise Failure(str(exc)) from exc


def open_store(ctx: click.Context, *, create: bool = False) -> Store:
    """The store of ``--db`` / ``$IAMDRIFT_DB``; only the commands that write pass ``create``."""
    return Store.open(ctx.obj.get("db_url"), create=create)


def load_snapshot(ctx: click.Context, ref: str) -> Snapshot:
    """The snapshot ``ref`` names (id, id prefix, latest, latest~N) from the read-only store; failures
    are one line."""
    with failures(ctx), open_store(ctx) as store:
        return store.load(ref)


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=False))


def warn(message: str) -> None:
    click.echo(f"iamdrift: warning: {message}", err=True)


@contextmanager
def progress_display(enabled: bool) -> Iterator[Callable[[str], None] | None]:
    """A spinner on stderr while a long scan runs (only on a terminal)."""
    console = render.console(stderr=True)
    if not enabled or not console.is_terminal:
        yield None
        return
    with console.status(Text("scanning")) as status:
        yield lambda message: status.update(Text(f"scanning: {message}"))


def store_and_report(ctx: click.Context, snapshot: Snapshot, *, as_json: bool, strict: bool) -> None:
    writes: WriteLog = ctx.obj["writes"]
    with open_store(ctx, create=True) as store:
        writes.store, writes.snapshot_id = store.url, snapshot.id
        store.save(snapshot)
        writes.committed = True
        where = store.url
    if as_json:
        data = render.snapshot_summary_dict(snapshot)
        data["store"] = where
        emit_json(data)
    else:
        console = render.console()
        render.print_snapshot(console, snapshot)
        console.print(f"stored in {where}")
    if strict and snapshot.gaps:
        ctx.exit(exit_codes.GAPS)


#: Options only a live scan takes (parameter name -> how the user writes it).
LIVE_OPTIONS = {
    "profile": "--profile",
    "regions": "--region",
    "assume_role": "--assume-role",
    "accounts": "--account",
    "parallel": "--parallel",
    "gcp_organization": "--organization",
    "gcp_projects": "--project",
    "azure_subscriptions": "--subscription",
    "azure_all_subscriptions": "--all-subscriptions",
    "save_raw": "--save-raw",
}


def given_options(ctx: click.Context, names: dict[str, str]) -> list[str]:
    """The options of ``names`` the user gave (on the command line or through the environment)."""
    given = (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT)
    return [flag for name, flag in names.items() if ctx.get_parameter_source(name) in given]


def refuse_conflicts(ctx: click.Context, *, from_paths: tuple[Path, ...]) -> None:
    live = given_options(ctx, LIVE_OPTIONS)
    if from_paths and live:
        verb = "is" if len(live) == 1 else "are"
        raise click.UsageError(f"--from reads files; {', '.join(live)} {verb} for live scans: give one or the other")
    if {"--subscription", "--all-subscriptions"} <= set(live):
        raise click.UsageError(
            "--subscription names the Azure subscriptions to scan and --all-subscriptions scans every one: give one"
        )


@cli.command()
@click.option(
    "--from",
    "from_paths",
    multiple=True,
    type=click.Path(path_type=Path),
    metavar="PATH",
    help="Read export files, directories of them (hidden folders passed over) or a snapshot `export` wrote, "
    "instead of calling the cloud. Repeatable.",
)
@click.option("--profile", help="AWS named profile (default: the standard credential chain).")
@click.option(
    "--region",
    "regions",
    multiple=True,
    metavar="REGION",
    help="Region to read resource policies and workloads in. Repeatable. Default: all enabled regions.",
)
@click.option(
    "--assume-role", metavar="ROLE_NAME", help="Assume this role in every organization account (or --account)."
)
@click.option(
    "--account", "accounts", multiple=True, metavar="ACCOUNT_ID", help="Scan only these accounts. Repeatable."
)
@click.option("--parallel", default=4, show_default=True, type=click.IntRange(1, 32), help="Accounts scanned at once.")
@click.option(
    "--organization", "gcp_organization", metavar="ID", help="Google Cloud: scan this organization (ADC credentials)."
)
@click.option(
    "--project", "gcp_projects", multiple=True, metavar="ID", help="Google Cloud: scan this project. Repeatable."
)
@click.option(
    "--subscription",
    "azure_subscriptions",
    multiple=True,
    metavar="ID",
    help="Azure: scan this subscription (DefaultAzureCredential). Repeatable.",
)
@click.option(
    "--all-subscriptions", "azure_all_subscriptions", is_flag=True, help="Azure: scan every subscription visible."
)
@click.option("--label", default="", help="Free text stored with the snapshot.")
@click.option(
    "--save-raw",
    type=click.Path(path_type=Path, file_okay=False),
    metavar="DIR",
    help="Also write the raw answers as export files that `scan --from` reads.",
)
@click.option(
    "--usage",
    is_flag=True,
    help="Live: also read last-use evidence (AWS service last accessed, Google Cloud Activity Analyzer, Entra "
    "service principal sign-ins); slower, and needs the read permissions the README lists.",
)
@click.option("--strict", is_flag=True, help="Exit 3 when the snapshot has coverage gaps.")
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    metavar="FILE",
    help="A scheduled run as FILE (iamdrift.toml) describes: what to scan, then the findings, the drift and "
    "their reports, with one exit code.",
)
@json_option
@click.pass_context
def scan(
    ctx: click.Context,
    from_paths: tuple[Path, ...],
    profile: str | None,
    regions: tuple[str, ...],
    assume_role: str | None,
    accounts: tuple[str, ...],
    parallel: int,
    gcp_organization: str | None,
    gcp_projects: tuple[str, ...],
    azure_subscriptions: tuple[str, ...],
    azure_all_subscriptions: bool,
    label: str,
    save_raw: Path | None,
    usage: bool,
    strict: bool,
    config_path: Path | None,
    as_json: bool,
) -> None:
    """Scan AWS, Google Cloud and Azure (live, or --from export files) and store one snapshot.

    Live: AWS unless only Google Cloud / Azure options are given (then AWS too only with an AWS
    option); Google Cloud with --organization / --project; Azure with --subscription /
    --all-subscriptions. With --config, the file says what to scan and what to do after."""
    config: RunConfig | None = None
    suppressions: tuple[Suppression, ...] = ()
    if config_path is not None:
        config, suppressions = read_config(ctx, config_path)
        targets = config.scan
        from_paths, label = targets.from_paths, config.label
        profile, regions, assume_role = targets.profile, targets.regions, targets.assume_role
        accounts, parallel = targets.accounts, targets.parallel
        gcp_organization, gcp_projects = targets.gcp_organization, targets.gcp_projects
        azure_subscriptions, azure_all_subscriptions = targets.azure_subscriptions, targets.azure_all_subscriptions
    refuse_conflicts(ctx, from_paths=from_paths)
    with failures(ctx), progress_display(not as_json) as progress:
        if from_paths:
            from scanner.files import scan_files

            snapshot = scan_files(from_paths, label=label, progress=progress)
            skipped = snapshot.meta.get(SKIPPED_FILES_META)
            if skipped:
                warn(f"not read, not an export iamdrift recognises: {skipped}")
        else:
            live = LiveScan(
                profile=profile,
                regions=regions,
                assume_role=assume_role,
                accounts=accounts,
                parallel=parallel,
                save_raw=save_raw,
                gcp_organization=gcp_organization,
                gcp_projects=gcp_projects,
                azure_subscriptions=azure_subscriptions,
                azure_all_subscriptions=azure_all_subscriptions,
                usage=usage,
            )
            snapshot = live.run(label=label, progress=progress, debug=bool(ctx.obj.get("debug")))
    with failures(ctx):
        store_and_report(ctx, snapshot, as_json=as_json, strict=strict and config is None)
    if config is not None:
        from iamdrift.scheduled import run_after_scan

        with failures(ctx):
            code = run_after_scan(ctx, config, snapshot, load_snapshot, open_store, suppressions)
        if code == exit_codes.OK and strict and snapshot.gaps:
            code = exit_codes.GAPS
        ctx.exit(code)


def read_config(ctx: click.Context, path: Path) -> tuple[RunConfig, tuple[Suppression, ...]]:
    """The run ``path`` describes and its suppressions, checked before anything is scanned: a
    scan option given beside it is a usage error; a bad file, or a report folder that does not
    exist, one clear error."""
    given = given_options(ctx, {**LIVE_OPTIONS, "from_paths": "--from", "label": "--label"})
    if given:
        raise click.UsageError(f"--config says what to scan; {', '.join(given)} cannot be given with it")
    from iamdrift.config import ConfigError, load_config
    from iamdrift.reports.suppressions import SuppressionError, load_suppressions

    try:
        config = load_config(path)
        suppressions = tuple(load_suppressions(config.suppressions)) if config.suppressions else ()
    except (ConfigError, SuppressionError) as exc:
        raise Failure(str(exc)) from exc
    for output in (*config.finding_outputs, *config.drift_outputs):
        if not output.path.parent.is_dir():
            raise Failure(f"{path}: cannot write {output.path}: the folder {output.path.parent} does not exist")
    return config, suppressions


@dataclass(frozen=True, kw_only=True)
class LiveScan:
    """The live-scan options of ``scan``; :meth:`run` scans each cloud they name into one snapshot.

    AWS is scanned unless only Google Cloud / Azure options are given (then only with an AWS option)."""

    profile: str | None
    regions: tuple[str, ...]
    assume_role: str | None
    accounts: tuple[str, ...]
    parallel: int
    save_raw: Path | None
    gcp_organization: str | None
    gcp_projects: tuple[str, ...]
    azure_subscriptions: tuple[str, ...]
    azure_all_subscriptions: bool
    usage: bool = False

    def run(self, *, label: str, progress: Callable[[str], None] | None, debug: bool) -> Snapshot:
        aws = bool(self.profile or self.regions or self.assume_role or self.accounts or self.save_raw)
        gcp = bool(self.gcp_organization or self.gcp_projects)
        azure = bool(self.azure_subscriptions or self.azure_all_subscriptions)
        snapshots = []
        if aws or not (gcp or azure):
            snapshots.append(self._aws(label, progress))
        if gcp:
            snapshots.append(self._gcp(label, progress))
        if azure:
            snapshots.append(self._azure(label, progress, debug=debug))
        return combine(snapshots, label)

    def _aws(self, label: str, progress: Callable[[str], None] | None) -> Snapshot:
        from scanner.aws import AwsClients, scan_live

        clients = AwsClients.from_profile(self.profile, self.regions[0] if self.regions else None)
        return scan_live(
            clients,
            regions=list(self.regions) or None,
            assume_role=self.assume_role,
            accounts=list(self.accounts) or None,
            parallel=self.parallel,
            label=label,
            progress=progress,
            save_raw=self.save_raw,
            usage=self.usage,
        )

    def _gcp(self, label: str, progress: Callable[[str], None] | None) -> Snapshot:
        from scanner.gcp.live import default_clients, scan_gcp

        return scan_gcp(
            default_clients(),
            organization=self.gcp_organization,
            projects=self.gcp_projects,
            label=label,
            progress=progress,
            usage=self.usage,
        )

    def _azure(self, label: str, progress: Callable[[str], None] | None, *, debug: bool) -> Snapshot:
        from scanner.azure.clients import AzureClients, quiet_credential_logs
        from scanner.azure.live import scan_live as scan_azure

        if not debug:
            quiet_credential_logs()  # azure-identity logs each credential it tried; the error says it in one line
        azure_clients = AzureClients()
        try:
            return scan_azure(
                azure_clients,
                subscriptions=list(self.azure_subscriptions) or None,
                all_subscriptions=self.azure_all_subscriptions,
                label=label,
                progress=progress,
                usage=self.usage,
            )
        finally:
            azure_clients.close()


def combine(snapshots: list[Snapshot], label: str) -> Snapshot:
    """One snapshot holding every cloud's collections (a live scan of several clouds)."""
    if len(snapshots) == 1:
        return snapshots[0]
    from models.snapshot import COLLECTIONS

    collections: dict[str, Any] = {
        name: tuple(item for s in snapshots for item in getattr(s, name)) for name in COLLECTIONS
    }
    meta = {key: value for s in snapshots for key, value in s.meta.items()}
    return Snapshot(source="live", label=label, meta=meta, **collections)


@cli.command()
@json_option
@click.pass_context
def snapshots(ctx: click.Context, as_json: bool) -> None:
    """List stored snapshots, oldest first."""
    with failures(ctx), open_store(ctx) as store:
        items = store.list()
    if as_json:
        emit_json([render.summary_list_dict(i) for i in items])
    else:
        render.print_snapshot_list(render.console(), items)


@cli.command()
@click.argument("snapshot_ref", default="latest", metavar="[SNAPSHOT]")
@click.option("--coverage", is_flag=True, help="List every read, not only the gaps.")
@json_option
@click.pass_context
def show(ctx: click.Context, snapshot_ref: str, coverage: bool, as_json: bool) -> None:
    """Counts, coverage and gaps of a snapshot (id, id prefix, latest or latest~N)."""
    snapshot = load_snapshot(ctx, snapshot_ref)
    if as_json:
        data = render.snapshot_summary_dict(snapshot)
        if coverage:
            data["coverage"] = [render.gap_dict(e) | {"items": e.items, "source": e.source} for e in snapshot.coverage]
        emit_json(data)
    else:
        render.print_snapshot(render.console(), snapshot, coverage=coverage)


@cli.command()
@click.argument("snapshot_ref", default="latest", metavar="[SNAPSHOT]")
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), help="Write to a file, not stdout.")
@json_option
@click.pass_context
def export(ctx: click.Context, snapshot_ref: str, output: Path | None, as_json: bool) -> None:
    """The whole snapshot as JSON (format iamdrift.snapshot/1), which `scan --from` reads back.
    Always JSON; --json is accepted."""
    if output is not None and not output.parent.is_dir():
        raise Failure(f"cannot write {output}: the folder {output.parent} does not exist; create it first")
    snapshot = load_snapshot(ctx, snapshot_ref)
    text = json.dumps(snapshot.to_json_dict(), indent=2)
    if output is None:
        click.echo(text)
        return
    write_whole(output, text + "\n")
    if not as_json:
        click.echo(f"wrote snapshot {snapshot.id} to {output}", err=True)


#: How many chains to admin ``demo`` prints (``paths --to-admin`` lists them all).
DEMO_CHAINS = 12
#: How many findings ``demo`` prints, most severe first (``findings`` lists them all).
DEMO_FINDINGS = 40


@cli.command()
@json_option
@click.pass_context
def demo(ctx: click.Context, as_json: bool) -> None:
    """Scan the bundled demo estate (fixtures/demo), store it as a snapshot, build its mint graph,
    show the chains to admin and the findings, most severe first."""
    if not DEMO_DIR.is_dir():
        raise Failure(f"the demo estate is not at {DEMO_DIR}; run the demo from a source checkout")
    from scanner.files import scan_files

    with failures(ctx):
        clouds = [DEMO_DIR / cloud for cloud in ("aws", "gcp", "azure") if (DEMO_DIR / cloud).is_dir()]
        snapshot = scan_files(clouds, label="demo estate")
        store_and_report(ctx, snapshot, as_json=as_json, strict=False)
    if as_json:
        return
    from iamdrift import findings_commands, graph_commands
    from iamdrift.reports import table

    with failures(ctx):
        graph, _ = graph_commands.graph_of(ctx, snapshot, open_store, at=None)
    out = render.console()
    graph_commands.print_paths(out, snapshot, graph, limit=DEMO_CHAINS)
    with failures(ctx):
        report = findings_commands.evaluate(ctx, snapshot, open_store)
    out.print()
    table.print_report(out, report, limit=DEMO_FINDINGS, compact=True)
    render.console(stderr=True).print(
        "next: `iamdrift findings --format html -o report.html`, `iamdrift paths --to-admin`, `iamdrift reach ID`, "
        "`iamdrift who-can ACTION RESOURCE`, `iamdrift show latest --coverage`"
    )


def main() -> None:
    try:
        # Without standalone mode click returns ctx.exit()'s code instead of exiting.
        code = cli.main(standalone_mode=False, prog_name="iamdrift")
    except click.UsageError as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except Interrupted as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        click.echo(f"iamdrift: error: {exc.format_message()}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort as exc:
        # Ctrl-C outside a command (while the command line is parsed): nothing was written yet.
        if isinstance(exc.__cause__, KeyboardInterrupt):
            click.echo(f"iamdrift: {WriteLog().interrupted()}", err=True)
            sys.exit(exit_codes.INTERRUPTED)
        click.echo("iamdrift: aborted", err=True)
        sys.exit(exit_codes.FAILED)
    except KeyboardInterrupt:
        click.echo(f"iamdrift: {WriteLog().interrupted()}", err=True)
        sys.exit(exit_codes.INTERRUPTED)
    except Exception as exc:
        if "--debug" in sys.argv:
            raise
        click.echo(
            f"iamdrift: internal error: {type(exc).__name__}: {exc} (rerun with --debug for the traceback)", err=True
        )
        sys.exit(exit_codes.FAILED)
    sys.exit(code if isinstance(code, int) else exit_codes.OK)


def _register(module: str) -> None:
    """Add the commands of ``iamdrift.<module>`` (one of :data:`LAZY_COMMANDS`') to ``cli``."""
    if module == "simulator_commands":
        from iamdrift import simulator_commands

        simulator_commands.register(cli)
    elif module == "ask_commands":
        from iamdrift import ask_commands, graph_commands

        ask_commands.register(cli, load_snapshot, graph_commands.who_can_chains(open_store))
    elif module == "graph_commands":
        from iamdrift import graph_commands

        graph_commands.register(cli, load_snapshot, open_store)
    elif module == "findings_commands":
        from iamdrift import findings_commands

        findings_commands.register(cli, load_snapshot, open_store)
    elif module == "drift_commands":
        from iamdrift import drift_commands

        drift_commands.register(cli, load_snapshot, open_store)
    else:
        raise ValueError(f"no command module {module!r}")
