"""Offline scans: export files and directories of them -> a snapshot.

Every file named is read, and one of no known format stops the scan with a message naming it. A
directory is read recursively for ``*.json``, ``*.jsonl``, ``*.ndjson`` and ``*.csv`` files, passing
over hidden files and folders (``.git``, ``.terraform``, ...) and files of other kinds (a README); a
file in it of no known format is not read, and the scan says which (the snapshot's meta lists them
under ``skipped_files``). A malformed file of a known format stops the scan wherever it is: a
half-read export would look like an estate with fewer identities than it has.

A snapshot written by ``iamdrift export`` (``iamdrift.snapshot/1``) is read back as it is: given
alone, the new snapshot holds the same objects, coverage, source, label and meta (with a new id and
time); given with export files, its objects join theirs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from models import Snapshot
from models._checks import ModelError
from models.snapshot import COLLECTIONS
from models.snapshot import FORMAT as SNAPSHOT_FORMAT
from scanner import SKIPPED_FILES_META
from scanner.aws import exports
from scanner.aws import usage as aws_usage
from scanner.aws.credential_report import HEADER_START as REPORT_HEADER_START
from scanner.aws.normalize import normalize
from scanner.errors import BadInputError, UnrecognisedFileError
from scanner.normalized import Normalized, merge

DIRECTORY_SUFFIXES = (".json", ".jsonl", ".ndjson", ".csv")
MAX_FILE_BYTES = 2 * 1024**3
#: How ``export`` starts a snapshot file; other files skip the readers' full parse for this check.
_SNAPSHOT_START = re.compile(r'\A\s*\{\s*"format"\s*:\s*"iamdrift\.snapshot/')


@dataclass(frozen=True)
class Input:
    """One file to read; ``named`` when the user named it (not found by walking a directory)."""

    path: Path
    named: bool


def expand(paths: Iterable[str | Path]) -> list[Input]:
    files: list[Input] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if _wanted(path, p))
            if not found:
                raise BadInputError(f"{path}: directory holds no .json, .jsonl or .csv export files")
            files.extend(Input(p, named=False) for p in found)
        elif path.is_file():
            files.append(Input(path, named=True))
        else:
            raise BadInputError(f"{path}: no such file or directory")
    return files


def _wanted(root: Path, path: Path) -> bool:
    """A file under ``root`` worth reading: an export's suffix, and nothing hidden on the way to it."""
    hidden = any(part.startswith(".") for part in path.relative_to(root).parts)
    return not hidden and path.suffix.lower() in DIRECTORY_SUFFIXES and path.is_file()


def read_text(path: Path) -> str:
    if path.stat().st_size > MAX_FILE_BYTES:
        raise BadInputError(f"{path}: larger than {MAX_FILE_BYTES // 1024**3} GiB; split the export per account")
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadInputError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc


def read_file(path: Path) -> tuple[str, Any]:
    """(cloud, that cloud's detected file), or ("snapshot", a :class:`Snapshot`) for an ``export``.

    Each cloud's reader recognises its formats by content (Google Cloud and Azure first: a CAI
    export is JSON Lines, which the AWS reader rejects). A file of no known format raises
    :class:`UnrecognisedFileError`; a malformed one of a known format :class:`BadInputError`."""
    text = read_text(path)
    if _SNAPSHOT_START.match(text[:256]):
        return "snapshot", read_snapshot(path, exports.load_json_text(path, text))
    from scanner.azure import exports as azure_exports
    from scanner.azure import usage as azure_usage
    from scanner.gcp import exports as gcp_exports
    from scanner.gcp import usage as gcp_usage

    for usage_reader in (aws_usage, gcp_usage, azure_usage):  # usage reports, by content (scanner/*/usage.py)
        used = usage_reader.detect(path, text)
        if used is not None:
            return "usage", used
    for cloud, reader in (("gcp", gcp_exports), ("azure", azure_exports)):
        found = reader.detect(path, text)
        if found is not None:
            return cloud, found
    if text.lstrip().startswith(REPORT_HEADER_START):
        data: Any = text
    elif path.suffix.lower() == ".csv":
        raise _unrecognised(path)
    else:
        data = exports.load_json_text(path, text)
        if isinstance(data, dict) and str(data.get("format", "")).startswith("iamdrift.snapshot/"):
            return "snapshot", read_snapshot(path, data)
    detected = exports.detect(path, data)
    if detected is None:
        raise _unrecognised(path)
    return "aws", detected


def _unrecognised(path: Path) -> UnrecognisedFileError:
    return UnrecognisedFileError(
        f"{path}: not an export iamdrift reads (expected an AWS, Google Cloud or Azure export named in the "
        'README\'s "Export files" section, an iamdrift account-extras / organization export, or a snapshot '
        "written by `iamdrift export`)"
    )


def read_snapshot(path: Path, data: Any) -> Snapshot:
    """A snapshot ``iamdrift export`` wrote."""
    if data.get("format") != SNAPSHOT_FORMAT:
        raise BadInputError(f"{path}: snapshot format {data.get('format')!r}; this iamdrift reads {SNAPSHOT_FORMAT}")
    try:
        return Snapshot.from_json_dict(data)
    except (ModelError, KeyError, TypeError, ValueError) as exc:
        raise BadInputError(f"{path}: not a valid iamdrift snapshot ({exc})") from exc


@dataclass
class _Found:
    """What the files held, per cloud, and the files of a directory that were not read."""

    by_cloud: dict[str, list[Any]] = field(
        default_factory=lambda: {"aws": [], "gcp": [], "azure": [], "snapshot": [], "usage": []}
    )
    skipped: list[Path] = field(default_factory=list)

    def count(self) -> int:
        return sum(len(v) for v in self.by_cloud.values())


def scan_files(
    paths: Iterable[str | Path], *, label: str = "", progress: Callable[[str], None] | None = None
) -> Snapshot:
    """Read export files of any of the three clouds (and snapshot exports) into one snapshot (not
    stored: the caller stores it). An empty ``label`` keeps the label of a snapshot read back."""
    paths = list(paths)
    found = _Found()
    for item in expand(paths):
        if progress:
            progress(f"reading {item.path}")
        try:
            cloud, detected = read_file(item.path)
        except UnrecognisedFileError:
            if item.named:
                raise
            found.skipped.append(item.path)
            continue
        found.by_cloud[cloud].append(detected)
    skipped = ", ".join(map(str, found.skipped))
    if not found.count():
        raise BadInputError(
            f"{', '.join(map(str, paths))}: no export iamdrift reads (not recognised: {skipped}); see the README's "
            '"Export files" section'
        )
    meta = {SKIPPED_FILES_META: skipped} if skipped else {}
    snapshots: list[Snapshot] = found.by_cloud["snapshot"]
    if len(snapshots) == found.count() == 1:
        return _read_back(snapshots[0], label=label, meta=meta)
    if progress:
        progress("normalizing")
    parts = _normalize(found.by_cloud) + [_collections(s) for s in snapshots] + found.by_cloud["usage"]
    merged = merge(parts)
    from scanner.azure.usage import resolve as resolve_azure_usage

    resolve_azure_usage(merged)
    return merged.to_snapshot(source="files", label=label, meta={"inputs": str(found.count()), **meta})


def _normalize(by_cloud: dict[str, list[Any]]) -> list[Normalized]:
    parts: list[Normalized] = []
    if by_cloud["aws"]:
        accounts, organization = exports.assemble(by_cloud["aws"])
        parts.append(normalize(accounts, organization))
    if by_cloud["gcp"]:
        from scanner.gcp.exports import assemble as assemble_gcp
        from scanner.gcp.normalize import normalize_gcp

        parts.append(normalize_gcp(assemble_gcp(by_cloud["gcp"])))
    if by_cloud["azure"]:
        from scanner.azure.exports import assemble as assemble_azure
        from scanner.azure.normalize import normalize_azure

        parts.append(normalize_azure(assemble_azure(by_cloud["azure"])))
    return parts


def _collections(snapshot: Snapshot) -> Normalized:
    return Normalized(**{name: list(getattr(snapshot, name)) for name in COLLECTIONS})


def _read_back(snapshot: Snapshot, *, label: str, meta: dict[str, str]) -> Snapshot:
    """A snapshot read back alone: the same objects and provenance, a new id and time."""
    collections = {name: getattr(snapshot, name) for name in COLLECTIONS}
    return Snapshot(
        source=snapshot.source, label=label or snapshot.label, meta={**snapshot.meta, **meta}, **collections
    )
