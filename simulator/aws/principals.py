"""Principals: how a statement's Principal / NotPrincipal element matches a principal, and the
representatives a free principal ranges over.

A principal is concrete, or free over representatives: every principal a Principal element names,
a role in each account named, a role in an account nobody names, a service nobody names.
Principal matching depends only on those equalities, so the representatives are complete. Plain
Python: the z3 terms are built by :mod:`simulator.aws.statement_matcher`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from simulator.aws.policy import PolicyDocument, Statement
from simulator.aws.request import Principal, classify_principal

UNKNOWN_ACCOUNT = "999999999999"


def principal_match(p: Principal, stmt: Statement) -> tuple[bool, bool, bool, bool]:
    """(exact, wildcard, capped, account): how the statement's Principal / NotPrincipal matches
    ``p`` (see :class:`semantics.PrincipalMatch`)."""
    spec = stmt.principal or stmt.not_principal
    if spec is None:
        return False, False, False, False
    values = {"aws": spec.aws, "service": spec.service, "federated": spec.federated, "canonical": spec.canonical}
    exact = p.arn in values[p.kind]
    partition = p.arn.split(":")[1] if p.arn.startswith("arn:") else "aws"
    roots = {p.account, f"arn:{partition}:iam::{p.account}:root"} if p.kind == "aws" and p.account else set()
    account = any(v in roots for v in spec.aws)
    session_role = p.is_session and p.identity_arn in spec.aws  # a session named by its role: capped
    if stmt.not_principal is not None:
        return False, False, not (spec.everyone or exact or account or session_role), False
    return exact, spec.everyone, session_role, account


def principal_representatives(documents: Sequence[PolicyDocument]) -> list[Principal]:
    """One principal per way Principal elements can tell principals apart (see module doc)."""
    named: list[str] = []
    accounts: set[str] = set()
    for doc in documents:
        for s in doc.statements:
            spec = s.principal or s.not_principal
            if spec is None:
                continue
            for value in spec.aws:
                if re.fullmatch(r"\d{12}", value):
                    accounts.add(value)
                    continue
                match = re.match(r"^arn:[\w-]+:(?:iam|sts)::(\d{12}):", value)
                if match:
                    accounts.add(match.group(1))
                named.append(value)
            named += list(spec.service) + list(spec.federated) + list(spec.canonical)
    candidates = []
    for value in dict.fromkeys(named):
        try:
            candidates.append(classify_principal(value))
        except ValueError:
            continue
    for account in sorted(accounts):
        candidates.append(classify_principal(f"arn:aws:iam::{account}:role/iamdrift-witness"))
    outsider = next(a for a in (UNKNOWN_ACCOUNT, "999999999998", "999999999997") if a not in accounts)
    candidates.append(classify_principal(f"arn:aws:iam::{outsider}:role/iamdrift-witness"))
    candidates.append(classify_principal("iamdrift-witness.amazonaws.com"))
    unique = {p.arn: p for p in candidates}
    return [p for p in unique.values() if p.kind != "aws" or p.account is not None]
