"""Ctrl-C: a real SIGINT at a controlled point of a real command; exit 130 and one line that says
whether a snapshot was stored."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys

import pytest

from tests.cli.test_cli import run
from tests.conftest import REPO

pytestmark = pytest.mark.slow


def interrupt_at(point: str, *args: str, db: str) -> subprocess.CompletedProcess[str]:
    """Run ``iamdrift ARGS`` until it stalls at ``point`` (tests/cli/interrupted_cli.py), then SIGINT it."""
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.cli.interrupted_cli", point, *args],
        cwd=REPO,
        env={**os.environ, "IAMDRIFT_DB": db},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stderr is not None
        assert child.stderr.readline().strip() == "STALLED"
        child.send_signal(signal.SIGINT)
        stdout, stderr = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
    return subprocess.CompletedProcess(child.args, child.returncode, stdout, stderr)


def stored_ids(db: str) -> list[str]:
    return [s["id"] for s in json.loads(run("snapshots", "--json", db=db).stdout)]


def test_ctrl_c_while_writing_says_the_snapshot_was_not_stored(sqlite_url: str) -> None:
    result = interrupt_at("writing", "demo", db=sqlite_url)
    assert result.returncode == 130
    [line] = result.stderr.splitlines()
    match = re.fullmatch(r"iamdrift: interrupted; snapshot (\w+) was not stored \(nothing was written to (.+)\)", line)
    assert match is not None, line
    assert match.group(2) == sqlite_url
    assert stored_ids(sqlite_url) == []


def test_ctrl_c_after_the_commit_names_the_stored_snapshot(sqlite_url: str) -> None:
    result = interrupt_at("committed", "demo", "--json", db=sqlite_url)
    assert result.returncode == 130
    [line] = result.stderr.splitlines()
    match = re.fullmatch(r"iamdrift: interrupted; snapshot (\w+) was stored, whole, in (.+)", line)
    assert match is not None, line
    assert stored_ids(sqlite_url) == [match.group(1)]


def test_ctrl_c_in_a_command_that_only_reads(sqlite_url: str) -> None:
    assert run("demo", "--json", db=sqlite_url).returncode == 0
    result = interrupt_at("reading", "snapshots", db=sqlite_url)
    assert result.returncode == 130
    assert result.stderr.splitlines() == ["iamdrift: interrupted; nothing was stored"]
