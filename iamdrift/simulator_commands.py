"""``simulate`` and ``compare``: the AWS policy simulator on the command line (``can`` and
``who-can``, for every cloud, are in :mod:`iamdrift.ask_commands`).

Text output goes through :func:`iamdrift.render.console`: nothing from a policy or an id is read as
markup or emoji, and piped output is never wrapped or cut.

Formats (a contract other tools script against) are documented in the README and in
:mod:`simulator.aws.request` (cases) and :mod:`simulator.aws.compare` (relations).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from iamdrift import exit_codes, render
from simulator.aws.compare import TYPES, compare
from simulator.aws.policy import PolicyError, parse_policy
from simulator.aws.request import Case, CaseError, parse_case
from simulator.aws.simulate import DEFAULT_TIMEOUT_MS, decide
from simulator.aws.z3_session import Z3Session


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


def load_policy(path: Path, label: str, kind: str) -> Any:
    """The policy document in ``path``, checked against the grammar of its ``kind``."""
    try:
        return parse_policy(path.read_text(encoding="utf-8"), label, kind=kind)
    except OSError as exc:
        raise click.ClickException(f"{path}: {exc.strerror}") from exc
    except PolicyError as exc:
        raise click.ClickException(str(exc)) from exc


def register(cli: click.Group) -> None:
    """Add the simulator commands to the ``iamdrift`` group."""
    for command in (simulate_command, compare_command):
        cli.add_command(command)


@click.command("simulate")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--engine", type=click.Choice(["smt", "reference"]), default="smt", show_default=True)
@click.option("--any-context", is_flag=True, help="Context keys a case does not give are free.")
@click.option(
    "--timeout", "timeout_ms", default=DEFAULT_TIMEOUT_MS, show_default=True, help="Solver timeout (ms) per case."
)
@click.option(
    "--json/--text",
    "as_json",
    default=None,
    help="One JSON line per case, or text for people. Default: JSON when stdout is not a terminal.",
)
def simulate_command(file: Path, engine: str, any_context: bool, timeout_ms: int, as_json: bool | None) -> None:
    """Decide the request(s) in FILE: one case (a JSON object), a JSON array of cases, or JSON Lines.

    A case that cannot be read (not JSON, unknown or missing fields) is that case's error, on
    stderr and, as JSON, {"id", "line", "error"} on stdout; the other cases are still decided and
    the exit code is then 1."""
    if as_json is None:
        as_json = not sys.stdout.isatty()
    session = Z3Session()
    records = read_cases(file)
    failed = 0
    for record in records:
        case = _parse_record(file, record)
        if isinstance(case, str):
            failed += 1
            _report_case_error(record, case, as_json=as_json)
            continue
        answer = decide(case, engine=engine, any_context=any_context, timeout_ms=timeout_ms, session=session)
        if as_json:
            click.echo(json.dumps(answer.to_json(), separators=(",", ":")))
        else:
            _print_answer(case, answer)
    if failed:
        click.echo(f"iamdrift: error: {failed} of {len(records)} case(s) in {file} could not be read", err=True)
        raise SystemExit(exit_codes.FAILED)


@dataclass(frozen=True)
class CaseRecord:
    """One case as read from a file: its line, and its JSON value or why it is not JSON."""

    line: int
    data: Any = None
    error: str | None = None

    @property
    def case_id(self) -> Any:
        return self.data.get("id", self.line) if isinstance(self.data, dict) else self.line


def _parse_record(file: Path, record: CaseRecord) -> Case | str:
    """The case, or the one-line error that says why it is none."""
    if record.error is not None:
        return record.error
    try:
        return parse_case(record.data, record.line)
    except (CaseError, PolicyError) as exc:
        return f"{file}: {exc}"


def _report_case_error(record: CaseRecord, message: str, *, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps({"id": record.case_id, "line": record.line, "error": message}, separators=(",", ":")))
    click.echo(f"iamdrift: error: {message}", err=True)


def read_cases(path: Path) -> list[CaseRecord]:
    """The cases of ``path``: a JSON array (one record per element, at the line it starts on), one
    JSON document, or JSON Lines, where a line that is not JSON is that line's error. A file that is
    none of these is a :class:`click.ClickException` naming the file and line."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"{path}: {getattr(exc, 'strerror', None) or exc}") from exc
    stripped = text.strip()
    if not stripped:
        raise click.ClickException(f"{path}: empty file")
    if stripped.startswith("["):
        return _array_records(path, text)
    try:
        return [CaseRecord(line=_line_of(text, len(text) - len(text.lstrip())), data=json.loads(text))]
    except json.JSONDecodeError as whole:
        records = _line_records(path, text)
        if any(r.error is None for r in records) or len(records) == 1:
            return records
        # No line is JSON on its own: one document spread over lines, broken somewhere.
        raise click.ClickException(
            f"{path}:{whole.lineno}: not valid JSON ({whole.msg}, column {whole.colno})"
        ) from whole


def _line_records(path: Path, text: str) -> list[CaseRecord]:
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(CaseRecord(line=number, data=json.loads(line)))
        except json.JSONDecodeError as exc:
            records.append(
                CaseRecord(line=number, error=f"{path}:{number}: not valid JSON ({exc.msg}, column {exc.colno})")
            )
    return records


def _array_records(path: Path, text: str) -> list[CaseRecord]:
    """Each element of a JSON array, with the line it starts on (so errors name it)."""
    decoder = json.JSONDecoder()
    records = []
    position = _skip_space(text, text.index("[") + 1)
    try:
        while position < len(text) and text[position] != "]":
            value, end = decoder.raw_decode(text, position)
            records.append(CaseRecord(line=_line_of(text, position), data=value))
            position = _skip_space(text, end)
            if position < len(text) and text[position] == ",":
                position = _skip_space(text, position + 1)
            elif position >= len(text) or text[position] != "]":
                raise json.JSONDecodeError("Expecting ',' delimiter", text, position)
    except json.JSONDecodeError as exc:
        raise click.ClickException(f"{path}:{exc.lineno}: not valid JSON ({exc.msg}, column {exc.colno})") from exc
    if position >= len(text):
        raise click.ClickException(f"{path}: not valid JSON (the array is not closed)")
    return records


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position] in " \t\r\n":
        position += 1
    return position


def _line_of(text: str, position: int) -> int:
    return text.count("\n", 0, position) + 1


@click.command("compare")
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
            load_policy(old, str(old), kind),
            load_policy(new, str(new), kind),
            kind=kind,
            timeout_ms=timeout_ms,
            session=session,
        )
        if as_json:
            click.echo(json.dumps(result.to_json(), indent=2))
        else:
            _print_comparison(result.to_json())
        return
    if _compare_batch(batch, kind=kind, timeout_ms=timeout_ms, session=session):
        raise SystemExit(exit_codes.FAILED)


def _compare_batch(batch: Path, *, kind: str, timeout_ms: int, session: Z3Session) -> int:
    """Compare each pair of ``batch``, one JSON line each; returns how many pairs failed."""
    failed = 0
    for line, data in read_records(batch):
        pair_id = data.get("id", line) if isinstance(data, dict) else line
        try:
            if not isinstance(data, dict) or "old" not in data or "new" not in data:
                raise PolicyError('each line needs "old" and "new" policy documents')
            pair_kind = data.get("type", kind)
            result = compare(
                parse_policy(data["old"], f"{batch}:{line} old", kind=pair_kind),
                parse_policy(data["new"], f"{batch}:{line} new", kind=pair_kind),
                kind=pair_kind,
                timeout_ms=timeout_ms,
                session=session,
            )
            click.echo(json.dumps({"id": pair_id, **result.to_json()}, separators=(",", ":")))
        except (PolicyError, ValueError) as exc:
            failed += 1
            click.echo(json.dumps({"id": pair_id, "error": str(exc)}))
    return failed


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


def _print_answer(case: Case, answer: Any) -> None:
    console = render.console()
    req = case.request
    console.print(
        render.styled(
            (str(answer.decision), "bold"), f"  {req.principal.arn}  {req.action}  {req.resource}  (case {case.id})"
        )
    )
    for reason in answer.reasons:
        console.print(f"    {_because([reason])}")
    if answer.witness and answer.witness.get("context"):
        console.print(f"    witness context: {json.dumps(answer.witness['context'])}")


def _print_comparison(result: dict[str, Any]) -> None:
    console = render.console()
    console.print(render.styled((str(result["relation"]), "bold")))
    for direction in ("gained", "lost"):
        for w in result[direction]:
            who = f" as {w['principal']}" if "principal" in w else ""
            console.print(
                f"  {direction}: {w['action']} on {w['resource']}{who} with context {json.dumps(w['context'])}"
            )
    for reason in result.get("reasons", []):
        console.print(f"  reason: {reason}")
    if result.get("unknown_actions"):
        console.print(f"  actions the catalog does not know: {', '.join(result['unknown_actions'])}")
