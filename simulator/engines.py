"""The explicit registry of engines: one factory per cloud, filled in here and nowhere else.

Each cloud's engine is imported when its factory first runs, so a question about one cloud does
not load the others' code.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from models import Cloud, Snapshot
from simulator.core import Engine, Estate


def _aws(snapshot: Snapshot, at: datetime) -> Engine:
    from simulator.aws.engine import AwsEngine

    engine: Engine = AwsEngine(snapshot, at)
    return engine


def _gcp(snapshot: Snapshot, at: datetime) -> Engine:
    from simulator.gcp.engine import GcpEngine

    engine: Engine = GcpEngine(snapshot, at)
    return engine


def _azure(snapshot: Snapshot, at: datetime) -> Engine:
    from simulator.azure.engine import AzureEngine

    engine: Engine = AzureEngine(snapshot, at)
    return engine


FACTORIES = {Cloud.AWS: _aws, Cloud.GCP: _gcp, Cloud.AZURE: _azure}


def open_estate(
    snapshot: Snapshot, *, at: datetime | None = None, clock: Callable[[], datetime] | None = None
) -> Estate:
    """The estate of ``snapshot`` at request time ``at`` (default: the clock's now, to the second)."""
    if at is None:
        at = (clock or (lambda: datetime.now(UTC)))().replace(microsecond=0)
    return Estate(snapshot, FACTORIES, at)
