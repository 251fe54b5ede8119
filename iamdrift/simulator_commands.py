"""``simulate``, ``compare``, ``can`` and ``who-can``: the simulator on the command line.

Formats (a contract other tools script against) are documented in the README and in
:mod:`simulator.aws.request` (cases) and :mod:`simulator.aws.compare` (relations).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from iamdrift import exit_codes
from simulator.aws.compare import TYPES, compare
from simulator.aws.encode import Z3Session
from simulator.aws.policy import PolicyError, parse_policy
from simulator.aws.request import CaseError, parse_case
from simulator.aws.simulate import DEFAULT_TIMEOUT_MS, decide
from simulator.aws.snapshot_queries import CanAnswer, QueryError, SnapshotIndex, can, who_can
from simulator.clouds import UnknownCloud, cloud_of, single_values

GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def read_records(path: Path) -> list[tuple[int, Any]]:
    """One JSON object, or JSON Lines; returns (line number, parsed) pairs. Raises click errors
    naming the file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise click.ClickException(f"{path}: {exc.strerror}") from exc
    stripped = text.strip()
    if not stripped:
        raise click.ClickException(f"{path}: empty file")
    try:
        return [(1, json.loads(stripped))] if stripped.startswith("{") and "\n{" not in stripped else _lines(path, text)
    except json.JSONDecodeError:
        return _lines(path, text)


def _lines(path: Path, text: str) -> list[tuple[int, Any]]:
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append((number, json.loads(line)))
        except json.JSONDecodeError as exc:
            raise click.ClickException(f"{path}:{number}: not valid JSON ({exc.msg}, column {exc.colno})") from exc
    return records


def load_policy(path: Path, label: str) -> Any:
    try:
        return parse_policy(path.read_text(encoding="utf-8"), label)
    except OSError as exc:
        raise click.ClickException(f"{path}: {exc.strerror}") from exc
    except PolicyError as exc:
        raise click.ClickException(str(exc)) from exc


def parse_context_options(pairs: tuple[str, ...]) -> dict[str, list[str]]:
    context: dict[str, list[str]] = {}
    for pair in pairs:
        if "=" not in pair:
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="--context")
        key, value = pair.split("=", 1)
        context.setdefault(key, []).append(value)
    return context


def snapshot_question_options(fn: Any) -> Any:
    """The options ``can`` and ``who-can`` share (and the click context they take)."""
    for option in reversed(
        [
            click.option("--snapshot", "snapshot_ref", default="latest", show_default=True),
            click.option(
                "--context", "context_pairs", multiple=True, metavar="KEY=VALUE", help="Request context. Repeatable."
            ),
            click.option("--any-context", is_flag=True, help="Context keys not given are free."),
            click.option("--engine", type=click.Choice(["smt", "reference"]), default="smt", show_default=True),
            click.option("--json", "as_json", is_flag=True),
        ]
    ):
        fn = option(fn)
    return click.pass_context(fn)


def register(cli: click.Group, open_store: Any, failures: Any) -> None:
    """Add the simulator commands to the ``iamdrift`` group."""

    @cli.command()
    @click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
    @click.option("--engine", type=click.Choice(["smt", "reference"]), default="smt", show_default=True)
    @click.option("--any-context", is_flag=True, help="Context keys a case does not give are free.")
    @click.option(
        "--timeout", "timeout_ms", default=DEFAULT_TIMEOUT_MS, show_default=True, help="Solver timeout (ms) per case."
    )
    @click.option("--json", "as_json", is_flag=True, help="One JSON line per case (the default when piped).")
    def simulate(file: Path, engine: str, any_context: bool, timeout_ms: int, as_json: bool) -> None:
        """Decide the request(s) in FILE: one case (a JSON object) or many (JSON Lines)."""
        session = Z3Session()
        failed = 0
        rows = []
        for line, data in read_records(file):
            try:
                case = parse_case(data, line)
            except CaseError as exc:
                failed += 1
                error = {"id": data.get("id", line) if isinstance(data, dict) else line, "error": str(exc)}
                click.echo(json.dumps(error), err=not as_json)
                continue
            answer = decide(case, engine=engine, any_context=any_context, timeout_ms=timeout_ms, session=session)
            if as_json:
                click.echo(json.dumps(answer.to_json(), separators=(",", ":")))
            else:
                rows.append((case, answer))
        if not as_json:
            _print_answers(rows)
        if failed:
            raise SystemExit(exit_codes.FAILED)

    @cli.command("compare")
    @click.argument("old", type=click.Path(path_type=Path, dir_okay=False, exists=True), required=False)
    @click.argument("new", type=click.Path(path_type=Path, dir_okay=False, exists=True), required=False)
    @click.option("--type", "kind", type=click.Choice(TYPES), default="identity", show_default=True)
    @click.option(
        "--batch",
        type=click.Path(path_type=Path, dir_okay=False, exists=True),
        help='JSON Lines of {"id", "old", "new"}.',
    )
    @click.option(
        "--timeout", "timeout_ms", default=DEFAULT_TIMEOUT_MS, show_default=True, help="Solver timeout (ms) per check."
    )
    @click.option("--json", "as_json", is_flag=True)
    def compare_command(
        old: Path | None, new: Path | None, kind: str, batch: Path | None, timeout_ms: int, as_json: bool
    ) -> None:
        """Relation of NEW to OLD: equivalent, more, less, incomparable (or unknown), with witnesses."""
        if batch is None and (old is None or new is None):
            raise click.UsageError("give OLD and NEW, or --batch PAIRS.jsonl")
        if batch is not None and (old is not None or new is not None):
            raise click.UsageError("--batch replaces OLD and NEW")
        session = Z3Session()
        if batch is None:
            assert old is not None and new is not None
            result = compare(
                load_policy(old, str(old)),
                load_policy(new, str(new)),
                kind=kind,
                timeout_ms=timeout_ms,
                session=session,
            )
            if as_json:
                click.echo(json.dumps(result.to_json(), indent=2))
            else:
                _print_comparison(result.to_json())
            return
        failed = 0
        for line, data in read_records(batch):
            pair_id = data.get("id", line) if isinstance(data, dict) else line
            try:
                if not isinstance(data, dict) or "old" not in data or "new" not in data:
                    raise PolicyError('each line needs "old" and "new" policy documents')
                result = compare(
                    parse_policy(data["old"], f"{batch}:{line} old"),
                    parse_policy(data["new"], f"{batch}:{line} new"),
                    kind=data.get("type", kind),
                    timeout_ms=timeout_ms,
                    session=session,
                )
                click.echo(json.dumps({"id": pair_id, **result.to_json()}, separators=(",", ":")))
            except (PolicyError, ValueError) as exc:
                failed += 1
                click.echo(json.dumps({"id": pair_id, "error": str(exc)}))
        if failed:
            raise SystemExit(exit_codes.FAILED)

    @cli.command("can")
    @click.argument("principal")
    @click.argument("action")
    @click.argument("resource")
    @snapshot_question_options
    def can_command(
        ctx: click.Context,
        principal: str,
        action: str,
        resource: str,
        snapshot_ref: str,
        context_pairs: tuple[str, ...],
        any_context: bool,
        engine: str,
        as_json: bool,
    ) -> None:
        """Can PRINCIPAL perform ACTION on RESOURCE, in a stored snapshot? (AWS, Google Cloud or Azure, by RESOURCE.)"""
        context = parse_context_options(context_pairs)
        cloud = _cloud(resource)
        with failures(ctx), open_store(ctx) as store:
            snapshot = store.load(snapshot_ref)
        try:
            if cloud == "aws":
                result = can(
                    SnapshotIndex(snapshot),
                    principal,
                    action,
                    resource,
                    context=context,
                    any_context=any_context,
                    engine=engine,
                )
            else:
                module = _queries(cloud)
                result = module.can(
                    snapshot,
                    principal,
                    action,
                    resource,
                    context=single_values(context),
                    any_context=any_context,
                    engine=engine,
                )
        except (QueryError, CaseError, ValueError) as exc:
            raise click.ClickException(str(exc)) from exc
        if as_json:
            click.echo(json.dumps({"snapshot": snapshot.id, **result.to_json()}, indent=2))
        else:
            _print_can(result, _labeller(snapshot))

    @cli.command("who-can")
    @click.argument("action")
    @click.argument("resource")
    @snapshot_question_options
    def who_can_command(
        ctx: click.Context,
        action: str,
        resource: str,
        snapshot_ref: str,
        context_pairs: tuple[str, ...],
        any_context: bool,
        engine: str,
        as_json: bool,
    ) -> None:
        """Which principals of a snapshot can perform ACTION on RESOURCE (and which might), in any cloud."""
        context = parse_context_options(context_pairs)
        cloud = _cloud(resource)
        with failures(ctx), open_store(ctx) as store:
            snapshot = store.load(snapshot_ref)
        try:
            if cloud == "aws":
                results = who_can(
                    SnapshotIndex(snapshot), action, resource, context=context, any_context=any_context, engine=engine
                )
            else:
                results = _queries(cloud).who_can(
                    snapshot, action, resource, context=single_values(context), any_context=any_context, engine=engine
                )
        except (QueryError, CaseError, ValueError) as exc:
            raise click.ClickException(str(exc)) from exc
        if as_json:
            click.echo(json.dumps({"snapshot": snapshot.id, "principals": [r.to_json() for r in results]}, indent=2))
            return
        console = _console()
        if not results:
            console.print(escape(f"no principal of snapshot {snapshot.id} can {action} on {resource}"))
            return
        label = _labeller(snapshot)
        table = Table(box=None, header_style="bold")
        for column in ("principal", "decision", "because"):
            table.add_column(column)
        for r in results:
            table.add_row(escape(label(r.principal)), r.answer.decision, escape(_because(r.answer.reasons)))
        console.print(table)


def _cloud(resource: str) -> str:
    try:
        return cloud_of(resource)
    except UnknownCloud as exc:
        raise click.UsageError(str(exc)) from exc


def _queries(cloud: str) -> Any:
    """The cloud's ``can`` / ``who_can`` module (imported on demand: each pulls in its own code)."""
    if cloud == "gcp":
        from simulator.gcp import snapshot_queries as gcp_queries

        return gcp_queries
    from simulator.azure import snapshot_queries as azure_queries

    return azure_queries


def _because(reasons: list[dict[str, Any]]) -> str:
    """The deciding statements, most telling first: organization policies (which allow by
    default) after identity and resource policies; each statement once."""
    unique = list({json.dumps(r, sort_keys=True): r for r in reasons}.values())
    reasons = sorted(unique, key=lambda r: ":organizations:" in str(r.get("policy", "")))
    parts = []
    for r in reasons[:3]:
        if "policy" in r and "statement" in r:
            sid = f" ({r['sid']})" if r.get("sid") else ""
            parts.append(f"{r['policy']} #{r['statement']}{sid}")
        elif "policy" in r:
            detail = str(r.get("detail") or r.get("binding") or r.get("rule") or "")
            parts.append(detail if r["policy"] and r["policy"] in detail else f"{r['policy']} {detail}".strip())
        else:
            parts.append(str(r.get("detail", r.get("kind", ""))))
    more = f" +{len(reasons) - 3} more" if len(reasons) > 3 else ""
    return "; ".join(parts) + more


def _console() -> Console:
    console = Console(highlight=False)
    return console if console.is_terminal else Console(highlight=False, width=200)


def _print_answers(rows: list[tuple[Any, Any]]) -> None:
    console = _console()
    for case, answer in rows:
        req = case.request
        console.print(
            f"[bold]{answer.decision}[/bold]  "
            + escape(f"{req.principal.arn}  {req.action}  {req.resource}  (case {case.id})")
        )
        for reason in answer.reasons:
            console.print(escape(f"    {_because([reason])}"))
        if answer.witness and answer.witness.get("context"):
            console.print(escape(f"    witness context: {json.dumps(answer.witness['context'])}"))


def _print_comparison(result: dict[str, Any]) -> None:
    console = _console()
    console.print(f"[bold]{result['relation']}[/bold]")
    for direction in ("gained", "lost"):
        for w in result[direction]:
            who = f" as {w['principal']}" if "principal" in w else ""
            console.print(
                escape(f"  {direction}: {w['action']} on {w['resource']}{who} with context {json.dumps(w['context'])}")
            )
    for reason in result.get("reasons", []):
        console.print(escape(f"  reason: {reason}"))
    if result.get("unknown_actions"):
        console.print(escape(f"  actions the catalog does not know: {', '.join(result['unknown_actions'])}"))


def _labeller(snapshot: Any) -> Any:
    """``name (object id)`` for principals known by an opaque id (Azure object ids); other ids as they are."""
    names = {p.id: p.name for p in snapshot.principals if p.name and GUID.match(p.id)}
    return lambda principal: f"{names[principal]} ({principal})" if principal in names else principal


def _print_can(result: CanAnswer, label: Any = str) -> None:
    console = _console()
    answer = result.answer
    console.print(f"[bold]{answer.decision}[/bold]: " + escape(label(result.principal)))
    for reason in sorted(
        {json.dumps(r, sort_keys=True): r for r in answer.reasons}.values(),
        key=lambda r: ":organizations:" in str(r.get("policy", "")),
    ):
        console.print(escape(f"  because {_because([reason])}"))
    if answer.witness:
        console.print(escape(f"  witness: {json.dumps(answer.witness)}"))
    for note in result.notes:
        console.print(escape(f"  note: {note}"))
    console.print(f"  policies considered: {len(result.policies)}")
