"""Run as a child process by the store tests.

``python -m tests.models.store_writer URL N PRINCIPALS [--stall]`` saves N snapshots of PRINCIPALS
principals each. With ``--stall`` it announces ``WRITING`` once the first objects are inserted
inside the transaction, then sleeps until killed.
"""

from __future__ import annotations

import sys
import time

from sqlalchemy import event
from sqlalchemy.engine import Engine

from models import Cloud, Principal, PrincipalKind, Scope, ScopeKind, Snapshot
from models.store import Store


def make_snapshot(principals: int, label: str) -> Snapshot:
    return Snapshot(
        label=label,
        scopes=(Scope(id="111111111111", cloud=Cloud.AWS, kind=ScopeKind.ACCOUNT, name="acct"),),
        principals=tuple(
            Principal(
                id=f"arn:aws:iam::111111111111:role/r{i}",
                cloud=Cloud.AWS,
                kind=PrincipalKind.AWS_ROLE,
                name=f"r{i}",
                scope_id="111111111111",
            )
            for i in range(principals)
        ),
    )


def main() -> None:
    url, count, principals = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    if "--stall" in sys.argv:

        @event.listens_for(Engine, "after_cursor_execute")
        def stall(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
            if "snapshot_objects" in statement and statement.lstrip().upper().startswith("INSERT"):
                print("WRITING", flush=True)
                time.sleep(120)

    with Store.open(url) as store:
        for n in range(count):
            store.save(make_snapshot(principals, f"writer {n}"))


if __name__ == "__main__":
    main()
