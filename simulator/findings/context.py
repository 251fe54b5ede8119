"""What a rule is given: the snapshot, its estate, its mint graph (built on first use) and the
thresholds of the run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from models import Snapshot
from simulator.core import Estate
from simulator.graph import MintGraph


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Thresholds of a run (``iamdrift.toml`` ``[thresholds]`` sets them).

    ``key_max_age_days``: a static credential (access key, service-account key, client secret)
    older than this is long-lived; ``unused_days``: an identity, key or service not used for this
    long is unused; ``secret_max_lifetime_days``: a secret that expires further than this after
    its creation (or never) does not really expire; ``shared_workloads``: an identity that this
    many workloads or more run as is shared; ``many_trusted``: an identity this many unrelated
    principals or more may assume is widely trusted; ``owner_keys``: the tag / label keys that
    name an owner, first match wins."""

    key_max_age_days: int = 90
    unused_days: int = 90
    secret_max_lifetime_days: int = 730
    shared_workloads: int = 2
    many_trusted: int = 5
    owner_keys: tuple[str, ...] = ("owner",)


class Context:
    """One run of the rules over one snapshot at one request time (``estate.at``, also the
    "now" that ages are measured against)."""

    def __init__(
        self,
        estate: Estate,
        graph: Callable[[], MintGraph],
        settings: Settings | None = None,
    ) -> None:
        self.estate = estate
        self.settings = settings or Settings()
        self._graph_of = graph
        self._graph: MintGraph | None = None

    @property
    def snapshot(self) -> Snapshot:
        return self.estate.snapshot

    @property
    def now(self) -> datetime:
        return self.estate.at

    @property
    def graph(self) -> MintGraph:
        """The snapshot's mint graph, built (or loaded) the first time a rule asks for it."""
        if self._graph is None:
            self._graph = self._graph_of()
        return self._graph


__all__ = ["Context", "Settings"]
