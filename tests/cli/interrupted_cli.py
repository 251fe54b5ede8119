"""Run as a child process by the Ctrl-C tests.

``python -m tests.cli.interrupted_cli POINT ARGS...`` runs ``iamdrift ARGS...`` and, when it reaches
POINT, prints ``STALLED`` on stderr and sleeps until the test interrupts it with a real SIGINT:

- ``writing``: inside the store's transaction, once the snapshot's objects are being inserted;
- ``committed``: after that transaction committed, before the command has seen ``save`` return;
- ``reading``: when a command reads the list of snapshots.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import Pool


def stall(stalled: list[bool]) -> None:
    """Once per process (what the command does after the interrupt must run on)."""
    if not stalled:
        stalled.append(True)
        print("STALLED", file=sys.stderr, flush=True)
        time.sleep(120)


def main() -> None:
    point, args = sys.argv[1], sys.argv[2:]
    inserted: list[bool] = []
    stalled: list[bool] = []

    @event.listens_for(Engine, "after_cursor_execute")
    def on_execute(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        if point == "reading" and statement.lstrip().upper().startswith("SELECT") and "FROM snapshots" in statement:
            stall(stalled)
        if "snapshot_objects" in statement and statement.lstrip().upper().startswith("INSERT"):
            if point == "writing":
                stall(stalled)
            inserted.append(True)

    @event.listens_for(Pool, "checkin")
    def on_checkin(dbapi_connection: Any, record: Any) -> None:
        if point == "committed" and inserted:
            stall(stalled)

    from iamdrift.cli import main as iamdrift_main

    sys.argv = ["iamdrift", *args]
    iamdrift_main()


if __name__ == "__main__":
    main()
