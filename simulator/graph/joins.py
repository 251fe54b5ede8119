"""Joins between clouds: where the credential one cloud mints is what another cloud's trust admits.

The finders name an external identity the way its trust does: ``ISSUER|SUBJECT-PATTERN`` for an
OIDC or SAML trust (AWS spells the issuer without ``https://``, Google Cloud and Azure with it),
``arn:aws:iam::ACCOUNT:root`` for "any identity of that AWS account" (a Google Cloud workload
identity provider for AWS). The walk joins:

- a token node ``ISSUER|SUBJECT`` to every trust node of the same issuer (compared without scheme
  and trailing ``/``) whose subject pattern admits it: a concrete subject that the pattern's
  ``*`` / ``?`` match, or a pattern every subject of which the other admits (the same pattern, or
  a prefix pattern ``P*`` that covers it, or ``*``);
- an AWS role or user of account A to ``arn:aws:iam::A:root`` when a trust outside AWS names that
  root (any identity of the account can sign the ``sts:GetCallerIdentity`` request such a
  provider checks).

Each join is an :class:`~simulator.core.Edge` resting on a :class:`~simulator.core.Fact`: the
trust states it, no request decides it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from functools import cache

from models import Cloud
from simulator.core import Edge, ExternalToken, Fact

TOKEN_JOIN = "token-match"
ACCOUNT_JOIN = "sts:GetCallerIdentity"
_AWS_PRINCIPAL = re.compile(r"arn:aws[a-z-]*:(?:iam::(\d{12}):(?:role|user)/|sts::(\d{12}):assumed-role/).+")


def issuer_key(issuer: str) -> str:
    """An issuer as every cloud means it: without ``https://`` and a trailing ``/``, lower case."""
    return issuer.removeprefix("https://").removeprefix("http://").rstrip("/").lower()


@cache
def _glob(pattern: str) -> re.Pattern[str]:
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern), re.S)


def admits(pattern: str, subject: str) -> bool:
    """Whether the trust's subject ``pattern`` admits every token of ``subject`` (itself a
    concrete subject or a pattern; see the module docstring)."""
    if pattern == "*" or pattern == subject:
        return True
    if "*" not in subject and "?" not in subject:
        return _glob(pattern).fullmatch(subject) is not None
    prefix = pattern[:-1]
    return pattern.endswith("*") and "*" not in prefix and "?" not in prefix and subject.startswith(prefix)


class Joins:
    """The joins out of each node, over the trust nodes: the sources of edges, ``out`` giving the
    cloud of each edge out of each (in edge order)."""

    def __init__(self, out: Mapping[str, Sequence[Cloud]]) -> None:
        self._trusts: dict[str, list[tuple[str, ExternalToken, Cloud]]] = {}
        self._roots: dict[str, str] = {}
        for node, clouds in out.items():
            token = ExternalToken.parse(node)
            if token is not None:
                self._trusts.setdefault(issuer_key(token.issuer), []).append((node, token, clouds[0]))
            elif node.endswith(":root") and any(c is not Cloud.AWS for c in clouds):
                self._roots[node.split(":")[4]] = node
        self._cache: dict[str, list[Edge]] = {}

    def out_of(self, node: str) -> list[Edge]:
        if node not in self._cache:
            self._cache[node] = [*self._token_joins(node), *self._account_joins(node)]
        return self._cache[node]

    def all_joins(self, nodes: Iterable[str]) -> list[Edge]:
        """The joins out of each of ``nodes``, in their order."""
        if not self._trusts and not self._roots:
            return []
        return [e for node in nodes if "|" in node or node.startswith("arn:aws") for e in self.out_of(node)]

    def _token_joins(self, node: str) -> list[Edge]:
        token = ExternalToken.parse(node)
        if token is None:
            return []
        out = []
        for trust_node, trust, cloud in self._trusts.get(issuer_key(token.issuer), ()):
            if trust_node == node or not admits(trust.subject, token.subject):
                continue
            what = f"a token of {token.issuer} for subject {token.subject} is one the trust of {trust.subject!r} admits"
            out.append(
                Edge(
                    source=node,
                    target=trust_node,
                    cloud=cloud,
                    mechanism=TOKEN_JOIN,
                    facts=(Fact(what=what, source="issuer and subject pattern"),),
                )
            )
        return out

    def _account_joins(self, node: str) -> list[Edge]:
        m = _AWS_PRINCIPAL.fullmatch(node)
        if m is None:
            return []
        root = self._roots.get(m.group(1) or m.group(2))
        if root is None or root == node:
            return []
        account = root.split(":")[4]
        what = f"any identity of AWS account {account} can sign the sts:GetCallerIdentity request its trust checks"
        return [
            Edge(
                source=node,
                target=root,
                cloud=Cloud.AWS,
                mechanism=ACCOUNT_JOIN,
                facts=(Fact(what=what, source="federation with an AWS account"),),
            )
        ]


__all__ = ["ACCOUNT_JOIN", "TOKEN_JOIN", "Joins", "admits", "issuer_key"]
