"""``insecure-authentication``: console passwords without MFA, root users without MFA, root keys —
on the AWS demo estate (planted #7, #15, #16, #17) and variants of it."""

from __future__ import annotations

import functools
from dataclasses import replace
from datetime import UTC, datetime

from models import Credential, CredentialKind, Snapshot
from scanner.files import scan_files
from simulator.engines import open_estate
from simulator.findings import Context, Finding
from simulator.findings.rules import insecure_authentication as rules
from simulator.graph import MintGraph
from tests.conftest import REPO

AT = datetime(2025, 6, 2, 12, tzinfo=UTC)


@functools.cache
def demo() -> Snapshot:
    return scan_files([REPO / "fixtures" / "demo" / "aws"])


def run(snapshot: Snapshot, rule: str) -> list[Finding]:
    context = Context(open_estate(snapshot, at=AT), lambda: MintGraph([]))
    check = next(check for meta, check in rules.RULES if meta.id == rule)
    return list(check(context))


def test_console_passwords_without_mfa_are_found_and_those_with_mfa_are_not() -> None:
    found = {f.subject.rsplit("/", 1)[-1] for f in run(demo(), "insecure-authentication/console-without-mfa")}
    assert found == {"carol.finance", "legacy-batch", "ivan.contractor"}  # planted #15, #7, #16


def test_root_users_without_mfa() -> None:
    found = {f.subject for f in run(demo(), "insecure-authentication/root-without-mfa")}
    # planted #17: prod and dev; the management account's root has MFA
    assert found == {"arn:aws:iam::222222222222:root", "arn:aws:iam::333333333333:root"}
    unread = replace(
        demo(), principals=tuple(replace(p, attributes={}) if p.id.endswith(":root") else p for p in demo().principals)
    )
    assert run(unread, "insecure-authentication/root-without-mfa") == []  # no report row: nothing claimed


def test_an_active_root_access_key_is_critical_and_an_inactive_one_is_not() -> None:
    root = "arn:aws:iam::222222222222:root"
    key = Credential(id=f"{root}#access-key-1", principal_id=root, kind=CredentialKind.ACCESS_KEY, active=True)
    with_key = replace(demo(), credentials=(*demo().credentials, key))
    [finding] = run(with_key, "insecure-authentication/root-access-key")
    assert finding.principal == root and finding.severity == "critical"
    inactive = replace(demo(), credentials=(*demo().credentials, replace(key, active=False)))
    assert run(inactive, "insecure-authentication/root-access-key") == []
