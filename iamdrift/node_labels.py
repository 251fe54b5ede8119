"""Short names for the mint graph's nodes, for people (JSON keeps the ids).

- a federated token ``ISSUER|SUBJECT``: ``github:SUBJECT`` for GitHub Actions, ``google-id:SUBJECT``
  for a Google ID token, else ``HOST:SUBJECT``;
- an AWS role or user: its name, with ``@ACCOUNT`` when two accounts hold the name;
- a Google Cloud service account: its email without ``.iam.gserviceaccount.com``;
- an Azure object id: the principal's name; a workload: its kind and name;
- anything else as it is.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Protocol

from models import Principal, Workload
from simulator.core import ExternalToken

_AWS_NAMED = re.compile(r"arn:aws[a-z-]*:iam::(\d{12}):(?:role|user)/(?:.*/)?([^/]+)")
_SHORT_ISSUERS = {
    "token.actions.githubusercontent.com": "github",
    "accounts.google.com": "google-id",
}


class Nodes(Protocol):
    """What names the nodes: a snapshot's principals and workloads (a snapshot, or just those)."""

    @property
    def principals(self) -> Sequence[Principal]: ...

    @property
    def workloads(self) -> Sequence[Workload]: ...


def node_labeller(snapshot: Nodes) -> Callable[[str], str]:
    """A function from node id to its short label (see the module docstring)."""
    names: dict[str, str] = {}
    aws_names = Counter(m.group(2) for p in snapshot.principals if (m := _AWS_NAMED.fullmatch(p.id)))
    for p in snapshot.principals:
        m = _AWS_NAMED.fullmatch(p.id)
        if m is not None:
            names[p.id] = m.group(2) if aws_names[m.group(2)] == 1 else f"{m.group(2)}@{m.group(1)}"
        elif p.id.startswith("serviceAccount:"):
            names[p.id] = p.id.removeprefix("serviceAccount:").removesuffix(".iam.gserviceaccount.com")
        elif p.name and p.name != p.id and _opaque(p.id):
            names[p.id] = p.name
    for w in snapshot.workloads:
        names[w.id] = f"{w.kind.value.replace('_', ' ')} {w.name}"

    def label(node: str) -> str:
        if node in names:
            return names[node]
        token = ExternalToken.parse(node)
        if token is not None:
            host = token.issuer.removeprefix("https://").rstrip("/")
            return f"{_SHORT_ISSUERS.get(host, host)}:{token.subject}"
        return node

    return label


def _opaque(ident: str) -> bool:
    return len(ident) == 36 and ident.count("-") == 4


__all__ = ["Nodes", "node_labeller"]
