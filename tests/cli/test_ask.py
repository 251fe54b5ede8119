"""``can`` and ``who-can`` on the core's Estate, as scripts use them: batches, the request time,
refusals, outside principals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.test_cli import run

ADMIN_EXEC = "arn:aws:iam::222222222222:role/admin-lambda-exec"
GITHUB_ROLE = "arn:aws:iam::222222222222:role/github-ci-any-repo"
GCP_SA = "serviceAccount:ci-runner@shop-dev.iam.gserviceaccount.com"
PROD_SA = "//iam.googleapis.com/projects/shop-prod/serviceAccounts/payments-api@shop-prod.iam.gserviceaccount.com"


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('ask') / 'demo.db'}"
    result = run("demo", "--json", db=url)
    assert result.returncode == 0, result.stderr
    return url


def test_batch_answers_every_good_line_and_names_each_bad_one(demo_db: str, tmp_path: Path) -> None:
    questions = [
        {"id": "gh", "principal": "github-ci-any-repo", "action": "s3:GetObject",
         "resource": "arn:aws:s3:::acme-public-assets/index.html", "context": {"aws:SecureTransport": "false"}},
        {"id": "pattern", "principal": "github-ci-any-repo", "action": "s3:*", "resource": "*"},
        {"id": "typo", "principal": "github-ci-any-repo", "actoin": "s3:GetObject", "resource": "*"},
        {"id": "gcp", "principal": GCP_SA, "action": "iam.serviceAccounts.getAccessToken", "resource": PROD_SA},
    ]  # fmt: skip
    path = tmp_path / "q.jsonl"
    path.write_text("\n".join(json.dumps(q) for q in questions) + "\nnot json\n")
    result = run("can", "--batch", str(path), "--at", "2026-11-30T10:00:00Z", db=demo_db)
    assert result.returncode == 1, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["id"] for line in lines] == ["gh", "pattern", "typo", "gcp", 5]
    by_id = {line["id"]: line for line in lines}
    # The organization's RCP denies plain-HTTP reads of the bucket, whoever asks.
    assert by_id["gh"]["decision"] == "explicit_deny"
    assert by_id["gh"]["at"] == "2026-11-30T10:00:00Z"
    assert "pattern" in by_id["pattern"]["error"]
    assert "actoin" in by_id["typo"]["error"]
    # The demo's dev CI account may mint the prod payments account's tokens.
    assert by_id["gcp"]["decision"] == "allowed"
    assert by_id["gcp"]["witness"]["principal"] == GCP_SA
    assert by_id["gcp"]["at"] == "2026-11-30T10:00:00Z"
    assert "not valid JSON" in by_id[5]["error"]


def test_one_question_and_its_batch_line_agree(demo_db: str, tmp_path: Path) -> None:
    args = ["github-ci-any-repo", "iam:PassRole", ADMIN_EXEC]
    single = json.loads(run("can", *args, "--json", "--at", "2026-11-30T10:00:00Z", db=demo_db).stdout)
    path = tmp_path / "one.jsonl"
    path.write_text(json.dumps({"principal": args[0], "action": args[1], "resource": args[2]}) + "\n")
    batch = run("can", "--batch", str(path), "--at", "2026-11-30T10:00:00Z", db=demo_db)
    assert batch.returncode == 0, batch.stderr
    line = json.loads(batch.stdout)
    assert line["decision"] == single["decision"] and line["reasons"] == single["reasons"]
    assert line["depends_on"] == single["depends_on"]


def test_the_request_time_is_stated_and_fixed_by_at(demo_db: str) -> None:
    out = run("can", "github-ci-any-repo", "s3:GetObject", "arn:aws:s3:::acme-public-assets/index.html",
              "--at", "2031-01-02T03:04:05Z", db=demo_db)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "at 2031-01-02T03:04:05Z" in out.stdout
    bad = run("can", "x", "s3:GetObject", "*", "--at", "yesterday", db=demo_db)
    assert bad.returncode == 2 and "ISO 8601" in bad.stderr


@pytest.mark.parametrize("command", [["who-can", "*", "*"], ["can", "github-ci-any-repo", "iam:*", "*"]])
def test_a_pattern_as_the_action_is_refused_with_a_hint(demo_db: str, command: list[str]) -> None:
    result = run(*command, db=demo_db)
    assert result.returncode == 1
    assert "pattern, not an action" in result.stderr and "RESOURCE" in result.stderr
    assert result.stderr.count("\n") == 1


def test_batch_replaces_the_positional_question(demo_db: str, tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text("{}\n")
    result = run("can", "--batch", str(path), "someone", db=demo_db)
    assert result.returncode == 2 and "--batch replaces" in result.stderr
    assert run("can", "someone", db=demo_db).returncode == 2


def test_who_can_names_outside_token_holders_a_trust_admits(demo_db: str) -> None:
    result = run("who-can", "sts:AssumeRoleWithWebIdentity", GITHUB_ROLE, "--direct", "--json", db=demo_db)
    assert result.returncode == 0, result.stderr
    allowed = [p for p in json.loads(result.stdout)["principals"] if p["decision"] == "allowed"]
    issuers = {p["principal"].split("|")[0] for p in allowed}
    assert "https://token.actions.githubusercontent.com" in issuers or "token.actions.githubusercontent.com" in issuers
    for p in allowed:
        assert "aws:PrincipalOrgID" not in p["witness"]["context"]
