"""Offline scans: export files and directories of them -> a snapshot.

Every file named is read; a directory is read recursively for ``*.json`` and ``*.csv`` files
(other files in it, such as a README, are passed over). A file of no known format, or a malformed
one, stops the scan with a message naming it: a silently skipped export would look like an estate
with fewer identities than it has.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from models import Snapshot
from scanner.aws import exports
from scanner.aws.credential_report import HEADER_START as REPORT_HEADER_START
from scanner.aws.normalize import normalize
from scanner.errors import BadInputError

DIRECTORY_SUFFIXES = (".json", ".csv")
MAX_FILE_BYTES = 2 * 1024**3


def expand(paths: Iterable[str | Path]) -> list[Path]:
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in DIRECTORY_SUFFIXES)
            if not found:
                raise BadInputError(f"{path}: directory holds no .json or .csv export files")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise BadInputError(f"{path}: no such file or directory")
    return files


def read_file(path: Path) -> exports.Detected:
    if path.stat().st_size > MAX_FILE_BYTES:
        raise BadInputError(f"{path}: larger than {MAX_FILE_BYTES // 1024**3} GiB; split the export per account")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadInputError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    data = text if text.lstrip().startswith(REPORT_HEADER_START) else exports.load_json_text(path, text)
    detected = exports.detect(path, data)
    if detected is None:
        raise BadInputError(
            f"{path}: not an export iamdrift reads (expected `aws iam get-account-authorization-details`, "
            "`aws iam get-credential-report`, or an iamdrift account-extras / organization export)"
        )
    return detected


def scan_files(
    paths: Iterable[str | Path], *, label: str = "", progress: Callable[[str], None] | None = None
) -> Snapshot:
    """Read export files into one snapshot (not stored: the caller stores it)."""
    detected = []
    for path in expand(paths):
        if progress:
            progress(f"reading {path}")
        detected.append(read_file(path))
    accounts, organization = exports.assemble(detected)
    if progress:
        progress("normalizing")
    parts = normalize(accounts, organization)
    return parts.to_snapshot(source="files", label=label, meta={"inputs": str(len(detected))})
