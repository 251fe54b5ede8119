"""The answer types: invariants, the gap rule, the estate's routing and refusals."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from models import Cloud, Snapshot
from simulator.core import (
    Answer,
    Ask,
    Decision,
    Estate,
    ExternalToken,
    Gap,
    QueryError,
    Reason,
    ReasonKind,
    Witness,
    weigh,
)

AT = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
ASK = Ask(principal="arn:aws:iam::1:role/r", action="s3:GetObject", resource="arn:aws:s3:::b/k", at=AT)
WITNESS = Witness(principal="arn:aws:iam::1:role/r", action="s3:GetObject", resource="arn:aws:s3:::b/k")


def answer(decision: Decision) -> Answer:
    return Answer(
        ask=ASK,
        principal="arn:aws:iam::1:role/r",
        decision=decision,
        witness=WITNESS if decision is Decision.ALLOWED else None,
        reasons=(Reason(kind=ReasonKind.STATEMENT, policy="p", statement=0),),
    )


def test_an_allowed_answer_needs_a_witness_and_only_it_has_one() -> None:
    with pytest.raises(ValueError, match="witness"):
        Answer(ask=ASK, principal="p", decision=Decision.ALLOWED)
    with pytest.raises(ValueError, match="witness"):
        Answer(ask=ASK, principal="p", decision=Decision.IMPLICIT_DENY, witness=WITNESS)


@pytest.mark.parametrize(
    ("decision", "gap", "blocked"),
    [
        (Decision.ALLOWED, Gap(detail="deny policies not read", could_deny=True), True),
        (Decision.ALLOWED, Gap(detail="an allow-only policy not read", could_allow=True), False),
        (Decision.IMPLICIT_DENY, Gap(detail="ancestor policy not read", could_allow=True), True),
        (Decision.IMPLICIT_DENY, Gap(detail="deny policies not read", could_deny=True), False),
        (Decision.EXPLICIT_DENY, Gap(detail="resource policy not read", could_allow=True, could_deny=True), False),
        (Decision.EXPLICIT_DENY, Gap(detail="excluded group unread", could_lift=True), True),
    ],
)
def test_a_gap_leaves_unproven_only_what_it_could_change(decision: Decision, gap: Gap, blocked: bool) -> None:
    weighed = weigh(answer(decision), [gap])
    if blocked:
        assert weighed.decision is Decision.UNKNOWN and weighed.witness is None
        kinds = [r.kind for r in weighed.reasons]
        assert ReasonKind.COVERAGE in kinds and ReasonKind.UNPROVEN in kinds
        assert any(decision.value in r.detail for r in weighed.reasons if r.kind is ReasonKind.UNPROVEN)
    else:
        assert weighed.decision is decision


def test_a_hidden_deny_leaves_an_implicit_deny_denied_and_says_so() -> None:
    weighed = weigh(answer(Decision.IMPLICIT_DENY), [Gap(detail="SCPs not read", could_deny=True)])
    assert weighed.decision is Decision.IMPLICIT_DENY
    assert any("SCPs not read" in n for n in weighed.notes)


def test_reasons_from_legacy_dicts_keep_their_pointers() -> None:
    r = Reason.of({"policy": "arn:aws:iam::1:policy/p", "statement": 2, "sid": "S", "effect": "Allow"})
    assert (r.kind, r.policy, r.statement, r.sid) == (ReasonKind.STATEMENT, "arn:aws:iam::1:policy/p", 2, "S")
    assert r.where == "arn:aws:iam::1:policy/p #2 (S)"
    odd = Reason.of({"kind": "mystery", "detail": "x"})
    assert odd.kind is ReasonKind.UNKNOWN and "mystery" in odd.detail


def test_external_token_ids_round_trip() -> None:
    token = ExternalToken.parse(
        "https://token.actions.githubusercontent.com|repo:acme/app:ref:refs/heads/main|sts.amazonaws.com"
    )
    assert token is not None
    assert token.id == "https://token.actions.githubusercontent.com|repo:acme/app:ref:refs/heads/main"
    assert token.audiences == ("sts.amazonaws.com",)
    assert ExternalToken.parse("arn:aws:iam::1:role/r") is None


class Recording:
    """An engine that answers implicit deny and remembers what it was asked."""

    def __init__(self, cloud: Cloud) -> None:
        self.cloud = cloud
        self.asked: list[Ask] = []

    def principals(self) -> tuple[str, ...]:
        return ()

    def can(self, ask: Ask) -> Answer:
        self.asked.append(ask)
        return Answer(ask=ask, principal=str(ask.principal_id), decision=Decision.IMPLICIT_DENY)

    def who_can(self, ask: Ask) -> tuple[Answer, ...]:
        self.asked.append(ask)
        return ()


def test_the_estate_routes_by_resource_and_fixes_the_time() -> None:
    engines = {c: Recording(c) for c in Cloud}
    built: list[Cloud] = []

    def factory(cloud: Cloud):  # type: ignore[no-untyped-def]
        def make(snapshot: Snapshot, at: datetime) -> Recording:
            built.append(cloud)
            assert at == AT
            return engines[cloud]

        return make

    estate = Estate(None, {c: factory(c) for c in Cloud}, AT)  # type: ignore[arg-type]  # no snapshot needed
    estate.can(estate.ask("serviceAccount:a@p.iam.gserviceaccount.com", "iam.roles.get", "projects/p"))
    estate.can(estate.ask("0000", "Microsoft.Storage/storageAccounts/read", "/subscriptions/s"))
    estate.can(estate.ask("r", "s3:GetObject", "arn:aws:s3:::b", context={"aws:SourceIp": "10.0.0.1", "k": ["a", "b"]}))
    assert built == [Cloud.GCP, Cloud.AZURE, Cloud.AWS]
    assert engines[Cloud.AWS].asked[0].context == {"aws:SourceIp": ("10.0.0.1",), "k": ("a", "b")}
    assert all(a.at == AT for e in engines.values() for a in e.asked)
    estate.can(estate.ask("r2", "s3:PutObject", "arn:aws:s3:::b"))
    assert built.count(Cloud.AWS) == 1  # engines are built once


@pytest.mark.parametrize("action", ["*", "s3:*", "Microsoft.Storage/*", "iam.roles.*", " "])
def test_a_pattern_is_no_action(action: str) -> None:
    estate = Estate(None, {c: (lambda s, a, c=c: Recording(c)) for c in Cloud}, AT)  # type: ignore[arg-type, misc]
    with pytest.raises(QueryError, match="action"):
        estate.can(estate.ask("r", action, "arn:aws:s3:::b"))
    with pytest.raises(QueryError, match="action"):
        estate.who_can(estate.ask(None, action, "*"))


def test_who_can_lists_those_who_can_before_those_who_might() -> None:
    class Mixed(Recording):
        def who_can(self, ask: Ask) -> tuple[Answer, ...]:
            def one(name: str, decision: Decision) -> Answer:
                witness = WITNESS if decision is Decision.ALLOWED else None
                return Answer(ask=ask, principal=name, decision=decision, witness=witness)

            return (one("a", Decision.UNKNOWN), one("b", Decision.ALLOWED), one("c", Decision.UNKNOWN),
                    one("d", Decision.ALLOWED))  # fmt: skip

    estate = Estate(None, {Cloud.AWS: lambda s, a: Mixed(Cloud.AWS)}, AT)  # type: ignore[arg-type]
    order = [a.principal for a in estate.who_can(estate.ask(None, "s3:GetObject", "*"))]
    assert order == ["b", "d", "a", "c"]
