"""``can`` and ``who-can``: questions about a stored snapshot, in any cloud, on the core's Estate.

Each command fixes the request time once (``--at``, default now) and states it in every answer.
``can --batch QUESTIONS.jsonl`` answers one question per line in one process: each line is
``{"principal", "action", "resource", "context"?, "any_context"?, "id"?}``; each answer is one
JSON line (``{"id", ...answer}``), a line that cannot be asked is ``{"id", "line", "error"}`` and
the exit code is then non-zero, while the other lines are still answered.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from iamdrift import exit_codes, render
from models import Snapshot
from simulator.core import Answer, Ask, Estate, ExternalToken, QueryError, Reason, UnknownCloud, cloud_of
from simulator.engines import open_estate

BATCH_KEYS = frozenset({"id", "principal", "action", "resource", "context", "any_context"})
#: Reasons about organization policies (which allow by default) are the least telling; shown last.
ORG_MARKER = ":organizations:"


def parse_context_options(pairs: tuple[str, ...]) -> dict[str, list[str]]:
    """``--context KEY=VALUE`` options (a key given twice has two values)."""
    context: dict[str, list[str]] = {}
    for pair in pairs:
        if "=" not in pair:
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="--context")
        key, value = pair.split("=", 1)
        context.setdefault(key, []).append(value)
    return context


def principal_ref(text: str) -> str | ExternalToken:
    """A principal as given on the command line: ``ISSUER|SUBJECT[|AUD,...]`` is an external token
    (an OIDC or SAML identity outside every scanned cloud), anything else an identity id or name."""
    token = ExternalToken.parse(text) if not text.startswith("arn:") else None
    return token if token is not None else text


def parse_at(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 time (e.g. 2026-12-01T12:00:00Z)") from exc
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def question_options(fn: Any) -> Any:
    """The options ``can`` and ``who-can`` share."""
    for option in reversed(
        [
            click.option("--snapshot", "snapshot_ref", default="latest", show_default=True),
            click.option(
                "--context", "context_pairs", multiple=True, metavar="KEY=VALUE", help="Request context. Repeatable."
            ),
            click.option("--any-context", is_flag=True, help="Context keys not given are free."),
            click.option("--engine", type=click.Choice(["smt", "reference"]), default="smt", show_default=True),
            click.option("--at", "at_text", metavar="TIME", help="Request time, ISO 8601 (default: now)."),
            click.option("--json", "as_json", is_flag=True),
        ]
    ):
        fn = option(fn)
    return click.pass_context(fn)


#: Who reaches the direct answers' principals through the mint graph: ``(ctx, estate, answers, at)``
#: to one JSON object per principal reached (``principal``, ``decision``, ``direct`` false, ``via``,
#: ``chain``), for ``who-can`` (see :func:`iamdrift.graph_commands.who_can_chains`).
ChainLister = Callable[[click.Context, Estate, tuple[Answer, ...], datetime | None], list[dict[str, Any]]]


def register(
    cli: click.Group, load_snapshot: Callable[[click.Context, str], Snapshot], chains: ChainLister | None = None
) -> None:
    """Add ``can`` and ``who-can`` to the ``iamdrift`` group; ``who-can`` lists chains through
    ``chains`` unless asked for direct answers only."""
    cli.add_command(_can_command(load_snapshot))
    cli.add_command(_who_can_command(load_snapshot, chains))


def _estate(ctx: click.Context, load: Callable[[click.Context, str], Snapshot], ref: str, at: str | None) -> Estate:
    return open_estate(load(ctx, ref), at=parse_at(at))


def _can_command(load: Callable[[click.Context, str], Snapshot]) -> click.Command:
    @click.command("can")
    @click.argument("principal", required=False)
    @click.argument("action", required=False)
    @click.argument("resource", required=False)
    @click.option(
        "--batch",
        type=click.Path(path_type=Path, dir_okay=False, exists=True),
        help='JSON Lines of {"principal", "action", "resource", "context"}: one JSON answer per line.',
    )
    @question_options
    def can_command(
        ctx: click.Context,
        principal: str | None,
        action: str | None,
        resource: str | None,
        batch: Path | None,
        snapshot_ref: str,
        context_pairs: tuple[str, ...],
        any_context: bool,
        engine: str,
        at_text: str | None,
        as_json: bool,
    ) -> None:
        """Can PRINCIPAL perform ACTION on RESOURCE, in a stored snapshot? (AWS, Google Cloud or Azure, by
        RESOURCE.) PRINCIPAL is an identity id or name, or ISSUER|SUBJECT for an outside token."""
        if batch is not None:
            if principal or action or resource or context_pairs:
                raise click.UsageError("--batch replaces PRINCIPAL ACTION RESOURCE and --context")
            estate = _estate(ctx, load, snapshot_ref, at_text)
            failed = _answer_batch(estate, batch, any_context=any_context, engine=engine)
            if failed:
                ctx.exit(exit_codes.FAILED)
            return
        if not (principal and action and resource):
            raise click.UsageError("give PRINCIPAL ACTION RESOURCE, or --batch QUESTIONS.jsonl")
        _check_resource(resource)
        context = parse_context_options(context_pairs)
        estate = _estate(ctx, load, snapshot_ref, at_text)
        try:
            answer = estate.can(
                estate.ask(
                    principal_ref(principal),
                    action,
                    resource,
                    context=context,
                    free_context=any_context,
                    method=engine,
                )
            )
        except (QueryError, ValueError) as exc:
            raise click.ClickException(str(exc)) from exc
        if as_json:
            click.echo(json.dumps({"snapshot": estate.snapshot.id, **answer.to_json()}, indent=2))
        else:
            print_answer(render.console(), answer, labeller(estate.snapshot))

    return can_command


def _who_can_command(load: Callable[[click.Context, str], Snapshot], chains: ChainLister | None) -> click.Command:
    @click.command("who-can")
    @click.argument("action")
    @click.argument("resource")
    @click.option("--direct", is_flag=True, help="Only those whose own permissions decide (no chains).")
    @question_options
    def who_can_command(
        ctx: click.Context,
        action: str,
        resource: str,
        direct: bool,
        snapshot_ref: str,
        context_pairs: tuple[str, ...],
        any_context: bool,
        engine: str,
        at_text: str | None,
        as_json: bool,
    ) -> None:
        """Which principals can perform ACTION on RESOURCE (and which might), in any cloud — those of the
        snapshot, and those outside it that the policies admit (an OIDC issuer's subjects, other accounts,
        anyone) — and, unless --direct, those who reach one of them through the mint graph, each with
        its chain."""
        _check_resource(resource)
        context = parse_context_options(context_pairs)
        estate = _estate(ctx, load, snapshot_ref, at_text)
        try:
            answers = estate.who_can(
                estate.ask(None, action, resource, context=context, free_context=any_context, method=engine)
            )
        except (QueryError, ValueError) as exc:
            raise click.ClickException(str(exc)) from exc
        through = [] if direct or chains is None else chains(ctx, estate, answers, parse_at(at_text))
        if as_json:
            data = {
                "snapshot": estate.snapshot.id,
                "at": estate.at.isoformat().replace("+00:00", "Z"),
                "principals": [{**a.to_json(), "direct": True} for a in answers] + through,
            }
            click.echo(json.dumps(data, indent=2))
            return
        out = render.console()
        if not answers:
            out.print(f"no principal of snapshot {estate.snapshot.id} can {action} on {resource}")
            return
        label = labeller(estate.snapshot)
        rows = [(label(a.principal), a.decision.value, because(a.reasons)) for a in answers]
        render.print_table(out, ("principal", "decision", "because"), rows)
        if through:
            out.print(f"through a chain to one of them ({len(through)}):")
            for item in through:
                out.print(f"  {item['decision']}: {label(item['principal'])}  {item['summary']}")

    return who_can_command


def _check_resource(resource: str) -> None:
    try:
        cloud_of(resource)
    except UnknownCloud as exc:
        raise click.UsageError(str(exc)) from exc


def _answer_batch(estate: Estate, path: Path, *, any_context: bool, engine: str) -> int:
    """Answer each line of ``path``; returns how many lines could not be asked."""
    failed = 0
    for number, item in _batch_lines(path):
        qid = item.get("id", number) if isinstance(item, dict) else number
        try:
            ask = _batch_ask(estate, item, any_context=any_context, engine=engine)
            out = {"id": qid, **estate.can(ask).to_json()}
        except (QueryError, UnknownCloud, ValueError, TypeError) as exc:
            failed += 1
            out = {"id": qid, "line": number, "error": str(exc)}
        click.echo(json.dumps(out, separators=(",", ":")))
    return failed


def _batch_lines(path: Path) -> Iterable[tuple[int, Any]]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise click.ClickException(f"{path}: {exc.strerror}") from exc
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as exc:
            yield number, ValueError(f"{path}:{number}: not valid JSON ({exc.msg}, column {exc.colno})")


def _batch_ask(estate: Estate, item: Any, *, any_context: bool, engine: str) -> Ask:
    if isinstance(item, ValueError):
        raise item
    if not isinstance(item, dict):
        raise ValueError("each line must be a JSON object")
    unknown = sorted(set(item) - BATCH_KEYS)
    if unknown:
        raise ValueError(f"unknown fields {unknown}: a question has {sorted(BATCH_KEYS)}")
    missing = [k for k in ("principal", "action", "resource") if not isinstance(item.get(k), str) or not item[k]]
    if missing:
        raise ValueError(f"missing or not a string: {', '.join(missing)}")
    context = item.get("context") or {}
    if not isinstance(context, dict):
        raise ValueError('"context" must be an object of KEY: value or [values]')
    free = item.get("any_context", any_context)
    if not isinstance(free, bool):
        raise ValueError('"any_context" must be true or false')
    return estate.ask(
        principal_ref(item["principal"]),
        item["action"],
        item["resource"],
        context=context,
        free_context=free,
        method=engine,
    )


def ordered(reasons: Iterable[Reason]) -> list[Reason]:
    """Each reason once, organization policies (which allow by default) after the rest."""
    unique = list(dict.fromkeys(reasons))
    return sorted(unique, key=lambda r: ORG_MARKER in (r.policy or ""))


def because(reasons: Iterable[Reason], limit: int = 3) -> str:
    """The deciding reasons, most telling first, in one line."""
    items = ordered(reasons)
    parts = [describe(r) for r in items[:limit]]
    more = f" +{len(items) - limit} more" if len(items) > limit else ""
    return "; ".join(parts) + more


def describe(r: Reason) -> str:
    where = r.where
    # A detail that already names the document (a binding's "NODE#ROLE MEMBER") needs no prefix.
    if where and r.detail and where.split("#", 1)[0] not in r.detail:
        return f"{where}: {r.detail}"
    return r.detail or where or r.kind.value


def labeller(snapshot: Snapshot) -> Callable[[str], str]:
    """``name (object id)`` for principals known by an opaque id (Azure object ids); others as they are."""
    names = {p.id: p.name for p in snapshot.principals if p.name and p.name != p.id and _opaque(p.id)}
    return lambda principal: f"{names[principal]} ({principal})" if principal in names else principal


def _opaque(ident: str) -> bool:
    return len(ident) == 36 and ident.count("-") == 4


def print_answer(out: Console, answer: Answer, label: Callable[[str], str] = str) -> None:
    """One answer for people: the decision, each reason, the witness, the notes, the time."""
    out.print(render.styled((answer.decision.value, "bold"), f": {label(answer.principal)}"))
    for reason in ordered(answer.reasons):
        out.print(f"  because {describe(reason)}")
    if answer.witness is not None:
        out.print(f"  witness: {json.dumps(answer.witness.to_json())}")
    for note in answer.notes:
        out.print(f"  note: {note}")
    at = answer.ask.at.isoformat().replace("+00:00", "Z")
    out.print(f"  at {at}; policies considered: {len(answer.considered)}")
