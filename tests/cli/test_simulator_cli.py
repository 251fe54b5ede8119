"""simulate, compare, can and who-can as scripts use them: subprocesses, JSON Lines, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.test_cli import run
from tests.conftest import DEMO_AWS

ROLE = "arn:aws:iam::111111111111:role/app"
ALLOW_GET = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}],
}
ALLOW_GET_FROM_VPN = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::b/*",
            "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
        }
    ],
}


def case(i: int, **fields: object) -> dict[str, object]:
    return {"id": i, "principal": ROLE, "action": "s3:GetObject", "resource": "arn:aws:s3:::b/k", **fields}


def test_simulate_json_lines_with_both_engines_and_any_context(tmp_path: Path) -> None:
    cases = [
        case(1, identityPolicies=[ALLOW_GET_FROM_VPN], context={"aws:SourceIp": "10.1.2.3"}),
        case(2, identityPolicies=[ALLOW_GET_FROM_VPN], context={"aws:SourceIp": "8.8.8.8"}),
        case(3, identityPolicies=[ALLOW_GET_FROM_VPN]),
        case(4, identityPolicies=[ALLOW_GET], permissionBoundary={"Version": "2012-10-17", "Statement": [
            {"Effect": "Deny", "Action": "s3:*", "Resource": "*"}]}),
    ]  # fmt: skip
    path = tmp_path / "cases.jsonl"
    path.write_text("".join(json.dumps(c) + "\n" for c in cases))
    for engine in ("smt", "reference"):
        result = run("simulate", "--engine", engine, "--json", str(path))
        assert result.returncode == 0, result.stderr
        answers = [json.loads(line) for line in result.stdout.splitlines()]
        assert [(a["id"], a["decision"]) for a in answers] == [
            (1, "allowed"), (2, "implicit_deny"), (3, "implicit_deny"), (4, "explicit_deny")
        ]  # fmt: skip
        assert answers[0]["witness"]["context"] == {"aws:sourceip": "10.1.2.3"}
        assert answers[3]["reasons"][0]["policy"] == "permissionBoundary"
    free = run("simulate", "--any-context", "--json", str(path))
    answers = [json.loads(line) for line in free.stdout.splitlines()]
    assert answers[2]["decision"] == "allowed"  # some context (a 10/8 address) allows case 3
    assert answers[2]["witness"]["context"]["aws:sourceip"].startswith("10.")


def test_simulate_reports_bad_cases_and_exits_1(tmp_path: Path) -> None:
    path = tmp_path / "cases.jsonl"
    path.write_text(
        json.dumps(case(1, identityPolicies=[ALLOW_GET]))
        + "\n"
        + json.dumps({"id": 2, "action": "s3:GetObject"})
        + "\n"
    )
    result = run("simulate", "--json", str(path))
    assert result.returncode == 1
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines[0]["decision"] == "allowed"
    assert lines[1]["id"] == 2 and "principal must be a non-empty string" in lines[1]["error"]
    broken = tmp_path / "broken.jsonl"
    broken.write_text("{not json\n")
    failed = run("simulate", str(broken))
    assert failed.returncode == 1 and failed.stderr.startswith(f"iamdrift: error: {broken}:1: not valid JSON")


def test_compare_files_and_batch(tmp_path: Path) -> None:
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    old.write_text(json.dumps(ALLOW_GET))
    new.write_text(json.dumps(ALLOW_GET_FROM_VPN))
    result = run("compare", str(old), str(new), "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["relation"] == "less" and data["gained"] == []
    lost = data["lost"][0]
    assert lost["action"] == "s3:GetObject" and lost["resource"].startswith("arn:aws:s3:::b/")
    assert "10." not in lost["context"].get("aws:sourceip", "")  # outside the VPN range, or absent
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text(
        json.dumps({"id": "a", "old": ALLOW_GET, "new": ALLOW_GET})
        + "\n"
        + json.dumps({"id": "b", "old": ALLOW_GET_FROM_VPN, "new": ALLOW_GET})
        + "\n"
        + json.dumps({"id": "c", "old": {"Statement": "nope"}, "new": ALLOW_GET})
        + "\n"
    )
    batch = run("compare", "--batch", str(pairs), "--json")
    assert batch.returncode == 1  # one pair was malformed
    lines = {line["id"]: line for line in map(json.loads, batch.stdout.splitlines())}
    assert lines["a"]["relation"] == "equivalent" and lines["b"]["relation"] == "more"
    assert "error" in lines["c"]
    usage = run("compare", str(old))
    assert usage.returncode == 2


def test_can_and_who_can_on_the_demo_estate(sqlite_url: str) -> None:
    assert run("scan", "--from", str(DEMO_AWS), db=sqlite_url).returncode == 0
    result = run(
        "can",
        "github-ci-any-repo",
        "sts:AssumeRole",
        "arn:aws:iam::222222222222:role/lambda-deployer",
        "--json",
        db=sqlite_url,
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["decision"] == "allowed"
    assert {r["policy"] for r in data["reasons"]} >= {
        "arn:aws:iam::222222222222:role/github-ci-any-repo#inline:ci-artifacts",
        "arn:aws:iam::222222222222:role/lambda-deployer#trust",
    }
    denied = run(
        "can", "legacy-batch", "s3:GetObject", "arn:aws:s3:::acme-public-assets/x",
        "--context", "aws:RequestedRegion=ap-south-1", "--json", db=sqlite_url,
    )  # fmt: skip
    assert json.loads(denied.stdout)["decision"] == "explicit_deny"  # the region-lock SCP
    unknown = run(
        "can",
        "legacy-batch",
        "dynamodb:GetItem",
        "arn:aws:dynamodb:us-east-1:222222222222:table/t",
        "--json",
        db=sqlite_url,
    )
    assert json.loads(unknown.stdout)["decision"] == "unknown"  # DynamoDB resource policies are not collected
    who = run("who-can", "iam:PassRole", "arn:aws:iam::222222222222:role/admin-lambda-exec", "--json", db=sqlite_url)
    principals = json.loads(who.stdout)["principals"]
    direct = {p["principal"].rsplit("/", 1)[-1] for p in principals if p["direct"]}
    assert "lambda-deployer" in direct and "legacy-batch" not in direct
    through = [p for p in principals if not p["direct"]]
    assert all(p["chain"] and p["chain"][-1]["to"] == p["via"] for p in through)
    assert {p["principal"] for p in through}.isdisjoint(p["principal"] for p in principals if p["direct"])
    missing = run("can", "nobody", "s3:GetObject", "arn:aws:s3:::acme-public-assets/x", db=sqlite_url)
    assert missing.returncode == 1 and missing.stderr.startswith("iamdrift: error: no AWS user or role 'nobody'")


def test_simulate_decides_every_case_it_can_read_and_names_each_it_cannot(tmp_path: Path) -> None:
    path = tmp_path / "cases.jsonl"
    path.write_text(
        json.dumps(case(1, identityPolicies=[ALLOW_GET]))
        + "\n{not json\n"
        + json.dumps(case(3, contxt={"aws:SourceIp": "10.0.0.1"}))
        + "\n"
        + json.dumps(case(4))
        + "\n"
    )
    result = run("simulate", str(path))  # piped: JSON without asking
    assert result.returncode == 1
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(line["id"], line.get("decision"), line.get("line")) for line in lines] == [
        (1, "allowed", None), (2, None, 2), (3, None, 3), (4, "implicit_deny", None)
    ]  # fmt: skip
    assert lines[1]["error"].startswith(f"{path}:2: not valid JSON")
    assert "unknown field 'contxt'" in lines[2]["error"] and "'context'" in lines[2]["error"]
    errors = result.stderr.splitlines()
    assert errors[-1] == f"iamdrift: error: 2 of 4 case(s) in {path} could not be read"
    assert all(line.startswith("iamdrift: error: ") for line in errors) and len(errors) == 3


def test_simulate_reads_a_json_array_of_cases(tmp_path: Path) -> None:
    path = tmp_path / "cases.json"
    items = [case("a", identityPolicies=[ALLOW_GET]), case("b"), {"id": "c"}]
    path.write_text("[\n" + ",\n".join(json.dumps(item) for item in items) + "\n]\n")  # element i on line i + 2
    result = run("simulate", str(path))
    assert result.returncode == 1
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(line["id"], line.get("decision")) for line in lines] == [
        ("a", "allowed"), ("b", "implicit_deny"), ("c", None)
    ]  # fmt: skip
    assert lines[2]["line"] == 4 and "case on line 4: principal must be a non-empty string" in lines[2]["error"]
    text = run("simulate", "--text", str(path))
    assert text.stdout.splitlines()[0].startswith(f"allowed  {ROLE}  s3:GetObject")
