"""The CEL subset of IAM conditions: what parses to what, what is opaque, and concrete values."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from simulator.gcp import cel
from simulator.gcp.cel import And, Attr, Const, Env, Extract, Not, Opaque, Or, StrCall, StrEq, TimeCmp

T2025 = datetime(2025, 1, 1, tzinfo=UTC)
ENV = Env(
    time=datetime(2024, 6, 1, 12, tzinfo=UTC),
    name="projects/_/buckets/acme-logs/objects/2024/a.txt",
    type="storage.googleapis.com/Object",
    service="storage.googleapis.com",
)


@pytest.mark.parametrize(
    ("text", "ast"),
    [
        ('request.time < timestamp("2025-01-01T00:00:00Z")', TimeCmp("<", T2025)),
        ('timestamp("2025-01-01T00:00:00Z") <= request.time', TimeCmp(">=", T2025)),
        ('request.time != timestamp("2025-01-01T01:00:00+01:00")', TimeCmp("!=", T2025)),
        ('request.time == timestamp("2025-01-01T00:00:00.000000000Z")', TimeCmp("==", T2025)),
        ('resource.name == "projects/p"', StrEq(Attr("resource.name"), "projects/p")),
        ("'projects/p' != resource.name", StrEq(Attr("resource.name"), "projects/p", negated=True)),
        (
            'resource.type == "storage.googleapis.com/Bucket"',
            StrEq(Attr("resource.type"), "storage.googleapis.com/Bucket"),
        ),
        ('resource.service == "storage.googleapis.com"', StrEq(Attr("resource.service"), "storage.googleapis.com")),
        (
            'resource.name.startsWith("projects/_/buckets/acme-")',
            StrCall("startsWith", "resource.name", "projects/_/buckets/acme-"),
        ),
        ('resource.name.endsWith(".txt")', StrCall("endsWith", "resource.name", ".txt")),
        (
            'resource.name.extract("/buckets/{b}/") == "acme-logs"',
            StrEq(Extract("/buckets/", "/"), "acme-logs"),
        ),
        ("true", Const(True)),
        ("!(false)", Not(Const(False))),
        ("true && false || true", Or((And((Const(True), Const(False))), Const(True)))),
        ("true && (false || true) && false", And((Const(True), Or((Const(False), Const(True))), Const(False)))),
        ('"a" == "a"', Const(True)),
    ],
)
def test_supported_constructs_parse_exactly(text: str, ast: cel.Cond) -> None:
    assert cel.parse(text) == ast


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ('api.getAttribute("iam.googleapis.com/modifiedGrantsByRole", []).hasOnly(["roles/x"])', "api.getAttribute"),
        ('request.auth.claims.email == "a@b"', "request.auth.claims.email"),
        ('request.time.getHours("Europe/Berlin") >= 9', "getHours"),
        ('resource.matchTag("123/env", "prod")', "resource.matchTag()"),
        ('"a" in ["a", "b"]', "operator in"),
        ('request.time < timestamp("2025-01-01")', "RFC 3339"),
        ('request.time < duration("3600s")', "duration()"),
        ('resource.name < "b"', "operator <"),
        ('resource.name.matches("^a")', "matches()"),
        ('resource.name.extract("no-placeholder") == "x"', "exactly one"),
        ("resource.name.startsWith(resource.type)", "string literal"),
        ("1 + 1 == 2", "operator +"),
        ("has(request.auth) ? true : false", "?:"),
    ],
)
def test_unsupported_constructs_are_opaque_with_their_name(text: str, named: str) -> None:
    cond = cel.parse(text)
    reasons: list[str] = []
    assert cel.evaluate(cond, ENV, reasons) is None
    assert any(named in r for r in reasons), reasons


@pytest.mark.parametrize("text", ["", "request.time <", "(true", "a = b", "resource.name == 'x", "true false", "#"])
def test_text_that_is_not_cel_raises_and_becomes_opaque(text: str) -> None:
    with pytest.raises(cel.Unsupported):
        cel.parse(text)
    assert isinstance(cel.parse_or_opaque(text), Opaque)


def test_an_unsupported_part_does_not_spread_when_it_cannot_matter() -> None:
    assert cel.evaluate(cel.parse('false && api.getAttribute("x", "") == "y"'), ENV) is False
    assert cel.evaluate(cel.parse('true || request.auth.claims.x == "y"'), ENV) is True
    assert cel.evaluate(cel.parse('!(true && request.auth.claims.x == "y")'), ENV) is None


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ('request.time < timestamp("2025-01-01T00:00:00Z")', True),
        ('request.time >= timestamp("2024-06-01T12:00:00Z")', True),
        ('request.time > timestamp("2024-06-01T12:00:00Z")', False),
        ('request.time == timestamp("2024-06-01T14:00:00+02:00")', True),
        ('resource.name.startsWith("projects/_/buckets/acme-logs/")', True),
        ('resource.name.endsWith(".csv")', False),
        ('resource.type == "storage.googleapis.com/Object"', True),
        ('resource.service != "storage.googleapis.com"', False),
        ('resource.name.extract("/buckets/{b}/") == "acme-logs"', True),
        ('resource.name.extract("/objects/{o}") == "2024/a.txt"', True),
        ('resource.name.extract("projects/{p}/") == "_"', True),
        ('resource.name.extract("/datasets/{d}/") == ""', True),
        ('resource.name.extract("/datasets/{d}/") != ""', False),
    ],
)
def test_concrete_evaluation(text: str, value: bool) -> None:
    assert cel.evaluate(cel.parse(text), ENV) is value


def test_unknown_attributes_give_unknown_with_a_reason() -> None:
    reasons: list[str] = []
    env = Env(time=None, name="projects/p")
    cond = cel.parse('resource.type == "x" || request.time < timestamp("2025-01-01T00:00:00Z")')
    assert cel.evaluate(cond, env, reasons) is None
    assert reasons == ["resource.type is not known", "request.time is not known"]


def test_sub_microsecond_timestamps_are_opaque() -> None:
    cond = cel.parse('request.time < timestamp("2025-01-01T00:00:00.0000001Z")')
    assert isinstance(cond, Opaque)
