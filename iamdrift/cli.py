"""The ``iamdrift`` command line.

Every command takes ``--json`` (machine output on stdout) and prints one line on error,
``iamdrift: error: ...``, to stderr; ``--debug`` adds the traceback. Exit codes are in
:mod:`iamdrift.exit_codes`. The store is ``--db URL``, else ``$IAMDRIFT_DB``, else SQLite in the
per-user data directory.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from iamdrift import __version__, exit_codes, render
from models import Snapshot
from models.store import Store, StoreError
from scanner.errors import ScanError

DEMO_DIR = Path(__file__).resolve().parent.parent / "fixtures" / "demo"


class Failure(click.ClickException):
    """A command failed; the message is the one line the user sees."""

    exit_code = exit_codes.FAILED

    def show(self, file: Any = None) -> None:
        click.echo(f"iamdrift: error: {self.format_message()}", err=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="iamdrift")
@click.option("--db", "db_url", envvar="IAMDRIFT_DB", help="Store URL or SQLite path (default: per-user SQLite).")
@click.option("--debug", is_flag=True, help="Show tracebacks on errors.")
@click.pass_context
def cli(ctx: click.Context, db_url: str | None, debug: bool) -> None:
    """iamdrift: multi-cloud IAM drift scanner and simulator."""
    ctx.obj = {"db_url": db_url, "debug": debug}


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


def open_store(ctx: click.Context) -> Store:
    return Store.open(ctx.obj.get("db_url"))


def stdout_console() -> Console:
    console = Console(highlight=False)
    if not console.is_terminal:
        # Piped or redirected output is read by people in logs and by grep: do not truncate ids.
        console = Console(highlight=False, width=200)
    return console


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=False))


@contextmanager
def progress_display(enabled: bool) -> Iterator[Callable[[str], None] | None]:
    """A spinner on stderr while a long scan runs (only on a terminal)."""
    console = Console(stderr=True)
    if not enabled or not console.is_terminal:
        yield None
        return
    with console.status("scanning") as status:
        yield lambda message: status.update(f"scanning: {message}")


def store_and_report(ctx: click.Context, snapshot: Snapshot, *, as_json: bool, strict: bool) -> None:
    with open_store(ctx) as store:
        store.save(snapshot)
        where = store.url
    if as_json:
        data = render.snapshot_summary_dict(snapshot)
        data["store"] = where
        emit_json(data)
    else:
        console = stdout_console()
        render.print_snapshot(console, snapshot)
        console.print(f"stored in {where}")
    if strict and snapshot.gaps:
        ctx.exit(exit_codes.GAPS)


@cli.command()
@click.option(
    "--from",
    "from_paths",
    multiple=True,
    type=click.Path(path_type=Path),
    metavar="PATH",
    help="Read export files (or directories of them) instead of calling the cloud. Repeatable.",
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
@click.option("--strict", is_flag=True, help="Exit 3 when the snapshot has coverage gaps.")
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
    strict: bool,
    as_json: bool,
) -> None:
    """Scan AWS, Google Cloud and Azure (live, or --from export files) and store one snapshot.

    Live: AWS unless only Google Cloud / Azure options are given (then AWS too only with an AWS
    option); Google Cloud with --organization / --project; Azure with --subscription /
    --all-subscriptions."""
    aws_options = bool(profile or regions or assume_role or accounts or save_raw)
    gcp = bool(gcp_organization or gcp_projects)
    azure = bool(azure_subscriptions or azure_all_subscriptions)
    with failures(ctx), progress_display(not as_json) as progress:
        if from_paths:
            if aws_options or gcp or azure:
                raise click.UsageError("--from reads files; the cloud options are for live scans")
            from scanner.files import scan_files

            snapshot = scan_files(from_paths, label=label, progress=progress)
        else:
            snapshots = []
            if aws_options or not (gcp or azure):
                from scanner.aws import AwsClients, scan_live

                clients = AwsClients.from_profile(profile, regions[0] if regions else None)
                snapshots.append(
                    scan_live(
                        clients,
                        regions=list(regions) or None,
                        assume_role=assume_role,
                        accounts=list(accounts) or None,
                        parallel=parallel,
                        label=label,
                        progress=progress,
                        save_raw=save_raw,
                    )
                )
            if gcp:
                from scanner.gcp.live import default_clients, scan_gcp

                snapshots.append(
                    scan_gcp(
                        default_clients(),
                        organization=gcp_organization,
                        projects=gcp_projects,
                        label=label,
                        progress=progress,
                    )
                )
            if azure:
                from scanner.azure.clients import AzureClients
                from scanner.azure.live import scan_live as scan_azure

                azure_clients = AzureClients()
                try:
                    snapshots.append(
                        scan_azure(
                            azure_clients,
                            subscriptions=list(azure_subscriptions) or None,
                            all_subscriptions=azure_all_subscriptions,
                            label=label,
                            progress=progress,
                        )
                    )
                finally:
                    azure_clients.close()
            snapshot = combine(snapshots, label)
    with failures(ctx):
        store_and_report(ctx, snapshot, as_json=as_json, strict=strict)


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
        render.print_snapshot_list(stdout_console(), items)


@cli.command()
@click.argument("snapshot_ref", default="latest", metavar="[SNAPSHOT]")
@click.option("--coverage", is_flag=True, help="List every read, not only the gaps.")
@json_option
@click.pass_context
def show(ctx: click.Context, snapshot_ref: str, coverage: bool, as_json: bool) -> None:
    """Counts, coverage and gaps of a snapshot (id, id prefix, latest or latest~N)."""
    with failures(ctx), open_store(ctx) as store:
        snapshot = store.load(snapshot_ref)
    if as_json:
        data = render.snapshot_summary_dict(snapshot)
        if coverage:
            data["coverage"] = [render.gap_dict(e) | {"items": e.items, "source": e.source} for e in snapshot.coverage]
        emit_json(data)
    else:
        render.print_snapshot(stdout_console(), snapshot, coverage=coverage)


@cli.command()
@click.argument("snapshot_ref", default="latest", metavar="[SNAPSHOT]")
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), help="Write to a file, not stdout.")
@json_option
@click.pass_context
def export(ctx: click.Context, snapshot_ref: str, output: Path | None, as_json: bool) -> None:
    """The whole snapshot as JSON (format iamdrift.snapshot/1). Always JSON; --json is accepted."""
    with failures(ctx), open_store(ctx) as store:
        snapshot = store.load(snapshot_ref)
    text = json.dumps(snapshot.to_json_dict(), indent=2)
    if output is None:
        click.echo(text)
        return
    temporary = output.with_name(output.name + ".partial")
    temporary.write_text(text + "\n")
    temporary.replace(output)  # whole or not at all
    if not as_json:
        click.echo(f"wrote snapshot {snapshot.id} to {output}", err=True)


@cli.command()
@json_option
@click.pass_context
def demo(ctx: click.Context, as_json: bool) -> None:
    """Scan the bundled demo estate (fixtures/demo) and store it as a snapshot."""
    if not DEMO_DIR.is_dir():
        raise Failure(f"the demo estate is not at {DEMO_DIR}; run the demo from a source checkout")
    from scanner.files import scan_files

    with failures(ctx):
        clouds = [DEMO_DIR / cloud for cloud in ("aws", "gcp", "azure") if (DEMO_DIR / cloud).is_dir()]
        snapshot = scan_files(clouds, label="demo estate")
        store_and_report(ctx, snapshot, as_json=as_json, strict=False)
    if not as_json:
        Console(stderr=True).print(
            "next: `iamdrift show latest --coverage`, `iamdrift export latest`, `iamdrift snapshots`", highlight=False
        )


def main() -> None:
    try:
        # Without standalone mode click returns ctx.exit()'s code instead of exiting.
        code = cli.main(standalone_mode=False, prog_name="iamdrift")
    except click.UsageError as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        click.echo(f"iamdrift: error: {exc.format_message()}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("iamdrift: aborted", err=True)
        sys.exit(exit_codes.FAILED)
    except Exception as exc:
        if "--debug" in sys.argv:
            raise
        click.echo(
            f"iamdrift: internal error: {type(exc).__name__}: {exc} (rerun with --debug for the traceback)", err=True
        )
        sys.exit(exit_codes.FAILED)
    sys.exit(code if isinstance(code, int) else exit_codes.OK)


def _register_simulator() -> None:
    from iamdrift import simulator_commands

    simulator_commands.register(cli, open_store, failures)


_register_simulator()
