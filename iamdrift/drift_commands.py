"""``drift``, ``baseline`` and ``compare-identities``: what changed in access between two snapshots.

``drift [--from REF] [--to REF] [--baseline] [--json]`` compares two stored snapshots (default:
the last two; ``--baseline``: from the baseline to the latest, or to ``--to``). JSON::

    {"from", "to",
     "changes": [{"id", "cloud", "kind", "change", "access", "gained": [WITNESS], "lost": [WITNESS],
                  "principals": [ID]}],
     "chains": {"opened": [CHAIN], "closed": [CHAIN]},
     "findings": {"new": [FINDING], "resolved": [FINDING]}}

with CHAIN as ``paths --json`` writes one, WITNESS as ``can --json`` writes a witness and FINDING as
``findings --format json`` writes one (see :mod:`simulator.findings.drift_model` for what each
``access`` value proves). Text output is a summary, most telling first, with the reasons behind
every ``unknown``.

``baseline set REF`` marks a snapshot as the baseline (kept in the store as an artifact of that
snapshot, so SQLite and PostgreSQL stores need nothing new); ``baseline show`` names it.

``compare-identities A B [--snapshot REF]`` says whether two identities' permissions grant the
same access once the account / project / subscription part of resources is abstracted (prod's
role vs staging's). JSON: ``{"a", "b", "relation", "only_a": [WITNESS], "only_b": [WITNESS],
"reasons"}``, ``relation`` being B's access relative to A's (see
:mod:`simulator.findings.drift_identities`).

Text output also gives the reasons behind every ``unknown`` (the JSON keeps to the shape above).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import click

from iamdrift import render
from iamdrift.ask_commands import parse_at
from iamdrift.graph_commands import LoadSnapshot, OpenStore, describe_chain, graph_of
from iamdrift.node_labels import node_labeller
from models import Snapshot
from models.store import Store, StoreError
from simulator.core import flat_context
from simulator.engines import open_estate
from simulator.findings import Context, Settings, load_rules, run_rules
from simulator.findings.drift import drift
from simulator.findings.drift_aws import DocumentDiff, DocumentRequest
from simulator.findings.drift_identities import compare_identities
from simulator.findings.drift_model import Access, Change, Drift
from simulator.graph import MintGraph

BASELINE_KIND = "baseline"
BASELINE_KEY = "baseline"
#: Seconds one AWS document comparison may take (a slower one is ``unknown``, with its reason).
COMPARE_TIMEOUT_MS = 5_000


class AwsComparer:
    """The AWS simulator's ``compare`` as a :class:`~simulator.findings.drift_aws.DocumentComparer`
    (one z3 session for every comparison of a command)."""

    def __init__(self, timeout_ms: int = COMPARE_TIMEOUT_MS) -> None:
        from simulator.aws.z3_session import Z3Session

        self._session = Z3Session()
        self._timeout_ms = timeout_ms

    def __call__(self, old: dict[str, Any], new: dict[str, Any], *, kind: str) -> DocumentDiff:
        from simulator.aws.compare import compare
        from simulator.aws.policy import PolicyError, parse_policy

        try:
            result = compare(
                parse_policy(old, "old", kind=None),
                parse_policy(new, "new", kind=None),
                kind=kind,
                timeout_ms=self._timeout_ms,
                session=self._session,
            )
        except (PolicyError, ValueError) as exc:
            return DocumentDiff(relation="unknown", reasons=(f"the documents could not be compared: {exc}",))
        return DocumentDiff(
            relation=result.relation,
            gained=tuple(_request(w) for w in result.gained),
            lost=tuple(_request(w) for w in result.lost),
            reasons=tuple(result.reasons),
        )


def aws_comparer(timeout_ms: int = COMPARE_TIMEOUT_MS) -> AwsComparer:
    return AwsComparer(timeout_ms)


def _request(witness: dict[str, Any]) -> DocumentRequest:
    context = {
        str(k): tuple(str(x) for x in v) if isinstance(v, list) else (str(v),)
        for k, v in (witness.get("context") or {}).items()
    }
    return DocumentRequest(
        principal=witness.get("principal"), action=witness["action"], resource=witness["resource"], context=context
    )


def register(cli: click.Group, load_snapshot: LoadSnapshot, open_store: OpenStore) -> None:
    """Add ``drift``, ``baseline`` and ``compare-identities`` to ``cli``."""
    cli.add_command(_drift_command(load_snapshot, open_store))
    cli.add_command(_baseline_group(load_snapshot, open_store))
    cli.add_command(_compare_identities_command(load_snapshot))


@contextmanager
def _store_errors() -> Iterator[None]:
    try:
        yield
    except StoreError as exc:
        raise click.ClickException(str(exc)) from exc


def baseline_id(ctx: click.Context, open_store: OpenStore) -> str | None:
    """The snapshot last set as the baseline (None when none is)."""
    best: tuple[str, str] | None = None
    with _store_errors(), open_store(ctx) as store:
        for summary in store.list():
            kept = store.load_artifact(summary.id, BASELINE_KIND, BASELINE_KEY)
            if kept is None:
                continue
            set_at = str(json.loads(kept[1]).get("set_at", ""))
            if best is None or set_at >= best[0]:
                best = (set_at, summary.id)
    return None if best is None else best[1]


def _endpoints(
    ctx: click.Context, open_store: OpenStore, from_ref: str | None, to_ref: str | None, baseline: bool
) -> tuple[str, str]:
    if baseline and from_ref is not None:
        raise click.UsageError("--baseline is where drift starts: give --baseline or --from, not both")
    with _store_errors(), open_store(ctx) as store:
        held = store.list()
        if baseline:
            start = baseline_id(ctx, open_store)
            if start is None:
                raise click.ClickException("no baseline is set: `iamdrift baseline set SNAPSHOT` sets one")
            end = store.resolve(to_ref or "latest")
            return start, end
        if from_ref is None and to_ref is None and len(held) < 2:
            raise click.ClickException(
                f"drift compares two snapshots and the store at {store.url} holds {len(held)}: scan again, "
                "or give --from and --to"
            )
        end = store.resolve(to_ref or "latest")
        if from_ref is not None:
            return store.resolve(from_ref), end
        start = snapshot_before(store, end)
        if start is None:
            raise click.ClickException(f"snapshot {end} is the oldest in {store.url}: there is nothing to drift from")
        return start, end


def snapshot_before(store: Store, snapshot_id: str) -> str | None:
    """The id of the snapshot stored just before ``snapshot_id``; None for the oldest (or unknown) one."""
    ids = [s.id for s in store.list()]
    before = ids[: ids.index(snapshot_id)] if snapshot_id in ids else []
    return before[-1] if before else None


def drift_between(
    ctx: click.Context,
    load: LoadSnapshot,
    open_store: OpenStore,
    start: str,
    end: str,
    *,
    at: datetime | None = None,
    settings: Settings | None = None,
) -> tuple[Snapshot, Snapshot, Drift, tuple[MintGraph, MintGraph]]:
    """The drift from snapshot ``start`` to ``end`` (ids), every question asked at ``at``
    (default: now), the findings of both with ``settings``; and the two snapshots and graphs."""
    old, new = load(ctx, start), load(ctx, end)
    when = at or datetime.now(UTC).replace(microsecond=0)
    old_estate, new_estate = open_estate(old, at=when), open_estate(new, at=when)
    with _store_errors():
        old_graph, _ = graph_of(ctx, old, open_store, at=None)
        new_graph, _ = graph_of(ctx, new, open_store, at=None)
    rules = load_rules()
    findings = (
        run_rules(Context(old_estate, lambda: old_graph, settings), rules),
        run_rules(Context(new_estate, lambda: new_graph, settings), rules),
    )
    result = drift(old_estate, new_estate, comparer=aws_comparer(), graphs=(old_graph, new_graph), findings=findings)
    return old, new, result, (old_graph, new_graph)


def _drift_command(load: LoadSnapshot, open_store: OpenStore) -> click.Command:
    @click.command("drift")
    @click.option("--from", "from_ref", metavar="SNAPSHOT", help="Start (default: the snapshot before --to).")
    @click.option("--to", "to_ref", metavar="SNAPSHOT", help="End (default: latest).")
    @click.option("--baseline", is_flag=True, help="Start from the baseline (`iamdrift baseline set`).")
    @click.option("--at", "at_text", metavar="TIME", help="Request time of every question, ISO 8601 (default: now).")
    @click.option("--json", "as_json", is_flag=True, help="Machine-readable JSON on stdout.")
    @click.pass_context
    def drift_command(
        ctx: click.Context,
        from_ref: str | None,
        to_ref: str | None,
        baseline: bool,
        at_text: str | None,
        as_json: bool,
    ) -> None:
        """What changed between two snapshots, in access: identities, credentials and policies added,
        removed and changed, the access each gained and lost (with witnesses), chains to admin opened
        and closed, findings new and resolved."""
        start, end = _endpoints(ctx, open_store, from_ref, to_ref, baseline)
        ctx.obj["quiet_graph"] = as_json
        old, new, result, (old_graph, new_graph) = drift_between(
            ctx, load, open_store, start, end, at=parse_at(at_text)
        )
        if as_json:
            click.echo(json.dumps(result.to_json(), indent=2))
            for note in result.notes:
                click.echo(f"iamdrift: note: {note}", err=True)
            return
        print_drift(old, new, result, (old_graph, new_graph))

    return drift_command


#: The order rows are shown in: what a reviewer must look at first.
_ACCESS_ORDER = (Access.GAINED, Access.BOTH, Access.UNKNOWN, Access.LOST, Access.EQUIVALENT, Access.NONE)


def print_drift(old: Snapshot, new: Snapshot, result: Drift, graphs: tuple[MintGraph, MintGraph]) -> None:
    """The drift as text: a summary line, then each change (access gained first), chains, findings."""
    out = render.console()
    label = node_labeller(new)
    old_label = node_labeller(old)
    kinds = Counter(c.change.value for c in result.changes)
    access = Counter(c.access.value for c in result.changes)
    out.print(
        f"drift from snapshot {old.id} ({old.created_at:%Y-%m-%d %H:%M}) "
        f"to {new.id} ({new.created_at:%Y-%m-%d %H:%M}): {len(result.changes)} changes "
        f"({kinds['added']} added, {kinds['removed']} removed, {kinds['changed']} changed); "
        f"access {access['gained']} gained, {access['lost']} lost, {access['both']} both, "
        f"{access['equivalent']} equivalent (text only), {access['unknown']} unknown"
    )
    for change in sorted(result.changes, key=lambda c: (_ACCESS_ORDER.index(c.access), c.cloud, c.kind, c.id)):
        out.print(_change_line(change, label))
        for direction, witnesses in (("+", change.gained), ("-", change.lost)):
            for w in witnesses:
                context = f" with {json.dumps(flat_context(w.context))}" if w.context else ""
                out.print(
                    f"      {direction} {label(w.principal)} can{'' if direction == '+' else ' no longer'} "
                    f"{w.action} on {w.resource}{context}"
                )
        for reason in change.reasons:
            out.print(f"      why: {reason}")
    out.print(f"chains to admin opened: {len(result.opened)}")
    for chain in result.opened:
        out.print(describe_chain(chain, graphs[1], label))
    out.print(f"chains to admin closed: {len(result.closed)}")
    for chain in result.closed:
        out.print(describe_chain(chain, graphs[0], old_label))
    if result.new_admins:
        out.print(f"newly admin-equivalent: {', '.join(label(a) for a in result.new_admins)}")
    if result.former_admins:
        out.print(f"no longer admin-equivalent: {', '.join(label(a) for a in result.former_admins)}")
    out.print(f"findings new: {len(result.findings_new)}, resolved: {len(result.findings_resolved)}")
    for sign, found in (("new", result.findings_new), ("resolved", result.findings_resolved)):
        for f in found:
            out.print(f"  {sign:8} [{f.severity.value}] {f.rule.id}: {f.sentence}")
    for note in result.notes:
        out.print(f"note: {note}")


def _change_line(change: Change, label: Any) -> str:
    text = "text changed, access equivalent" if change.access is Access.EQUIVALENT else f"access {change.access.value}"
    who = ""
    if change.principals:
        shown = ", ".join(label(p) for p in change.principals[:3])
        more = f" +{len(change.principals) - 3} more" if len(change.principals) > 3 else ""
        who = f"  (for {shown}{more})"
    return f"  {change.cloud.value:5} {change.kind.value:10} {change.change.value:7} {change.id}: {text}{who}"


def _baseline_group(load: LoadSnapshot, open_store: OpenStore) -> click.Group:
    @click.group("baseline")
    def baseline_group() -> None:
        """The snapshot drift starts from with --baseline."""

    @baseline_group.command("set")
    @click.argument("snapshot_ref", metavar="SNAPSHOT")
    @click.option("--json", "as_json", is_flag=True, help="Machine-readable JSON on stdout.")
    @click.pass_context
    def baseline_set(ctx: click.Context, snapshot_ref: str, as_json: bool) -> None:
        """Make SNAPSHOT (id, id prefix, latest, latest~N) the baseline."""
        now = datetime.now(UTC)
        with _store_errors(), open_store(ctx) as store:
            snapshot_id = store.resolve(snapshot_ref)
            payload = json.dumps({"set_at": now.isoformat()})
            store.save_artifact(snapshot_id, BASELINE_KIND, BASELINE_KEY, payload, at=now)
        if as_json:
            click.echo(json.dumps({"baseline": snapshot_id, "set_at": now.isoformat().replace("+00:00", "Z")}))
        else:
            click.echo(f"baseline: snapshot {snapshot_id}")

    @baseline_group.command("show")
    @click.option("--json", "as_json", is_flag=True, help="Machine-readable JSON on stdout.")
    @click.pass_context
    def baseline_show(ctx: click.Context, as_json: bool) -> None:
        """The baseline snapshot's id."""
        current = baseline_id(ctx, open_store)
        if as_json:
            click.echo(json.dumps({"baseline": current}))
        elif current is None:
            click.echo("no baseline is set: `iamdrift baseline set SNAPSHOT` sets one")
        else:
            click.echo(f"baseline: snapshot {current}")

    return baseline_group


def _compare_identities_command(load: LoadSnapshot) -> click.Command:
    @click.command("compare-identities")
    @click.argument("first", metavar="A")
    @click.argument("second", metavar="B")
    @click.option("--snapshot", "snapshot_ref", default="latest", show_default=True)
    @click.option("--at", "at_text", metavar="TIME", help="Request time, ISO 8601 (default: now).")
    @click.option("--json", "as_json", is_flag=True, help="Machine-readable JSON on stdout.")
    @click.pass_context
    def compare_identities_command(
        ctx: click.Context, first: str, second: str, snapshot_ref: str, at_text: str | None, as_json: bool
    ) -> None:
        """Do A's and B's permissions grant the same access, with the account / project / subscription
        part of resources abstracted? Witnesses of what one has and the other lacks."""
        snapshot = load(ctx, snapshot_ref)
        estate = open_estate(snapshot, at=parse_at(at_text))
        try:
            result = compare_identities(estate, first, second, comparer=aws_comparer())
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
        if as_json:
            click.echo(json.dumps(result.to_json(), indent=2))
            return
        out = render.console()
        out.print(render.styled((result.relation, "bold"), f"  {first} vs {second} (snapshot {snapshot.id})"))
        for name, witnesses in (("only A", result.only_first), ("only B", result.only_second)):
            for w in witnesses:
                context = f" with {json.dumps(flat_context(w.context))}" if w.context else ""
                out.print(f"  {name}: {w.principal} can {w.action} on {w.resource}{context}")
        for reason in result.reasons:
            out.print(f"  why: {reason}")

    return compare_identities_command


__all__ = ["AwsComparer", "aws_comparer", "baseline_id", "print_drift", "register"]
