"""Offline scans: export files and directories of them -> a snapshot.

Every file named is read; a directory is read recursively for ``*.json``, ``*.jsonl`` and ``*.csv`` files
(other files in it, such as a README, are passed over). A file of no known format, or a malformed
one, stops the scan with a message naming it: a silently skipped export would look like an estate
with fewer identities than it has.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from models import Snapshot
from scanner.aws import exports
from scanner.aws.credential_report import HEADER_START as REPORT_HEADER_START
from scanner.aws.normalize import normalize
from scanner.errors import BadInputError
from scanner.normalized import Normalized, merge

DIRECTORY_SUFFIXES = (".json", ".jsonl", ".ndjson", ".csv")
MAX_FILE_BYTES = 2 * 1024**3


def expand(paths: Iterable[str | Path]) -> list[Path]:
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in DIRECTORY_SUFFIXES)
            if not found:
                raise BadInputError(f"{path}: directory holds no .json, .jsonl or .csv export files")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise BadInputError(f"{path}: no such file or directory")
    return files


def read_text(path: Path) -> str:
    if path.stat().st_size > MAX_FILE_BYTES:
        raise BadInputError(f"{path}: larger than {MAX_FILE_BYTES // 1024**3} GiB; split the export per account")
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadInputError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc


def read_file(path: Path) -> tuple[str, Any]:
    """(cloud, that cloud's detected file). Each cloud's reader recognises its formats by content
    (Google Cloud and Azure first: a CAI export is JSON Lines, which the AWS reader rejects)."""
    text = read_text(path)
    from scanner.azure import exports as azure_exports
    from scanner.gcp import exports as gcp_exports

    for cloud, reader in (("gcp", gcp_exports), ("azure", azure_exports)):
        found = reader.detect(path, text)
        if found is not None:
            return cloud, found
    data = text if text.lstrip().startswith(REPORT_HEADER_START) else exports.load_json_text(path, text)
    detected = exports.detect(path, data)
    if detected is None:
        raise BadInputError(
            f"{path}: not an export iamdrift reads (expected an AWS, Google Cloud or Azure export named in the "
            'README\'s "Export files" section, or an iamdrift account-extras / organization export)'
        )
    return "aws", detected


def scan_files(
    paths: Iterable[str | Path], *, label: str = "", progress: Callable[[str], None] | None = None
) -> Snapshot:
    """Read export files of any of the three clouds into one snapshot (not stored: the caller
    stores it)."""
    detected: dict[str, list[Any]] = {"aws": [], "gcp": [], "azure": []}
    for path in expand(paths):
        if progress:
            progress(f"reading {path}")
        cloud, found = read_file(path)
        detected[cloud].append(found)
    if progress:
        progress("normalizing")
    parts: list[Normalized] = []
    if detected["aws"]:
        accounts, organization = exports.assemble(detected["aws"])
        parts.append(normalize(accounts, organization))
    if detected["gcp"]:
        from scanner.gcp.exports import assemble as assemble_gcp
        from scanner.gcp.normalize import normalize_gcp

        parts.append(normalize_gcp(assemble_gcp(detected["gcp"])))
    if detected["azure"]:
        from scanner.azure.exports import assemble as assemble_azure
        from scanner.azure.normalize import normalize_azure

        parts.append(normalize_azure(assemble_azure(detected["azure"])))
    inputs = sum(len(v) for v in detected.values())
    return merge(parts).to_snapshot(source="files", label=label, meta={"inputs": str(inputs)})
